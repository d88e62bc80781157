/* A viewer's UDP receive path, shared by the load generator's receiving
 * threads: recvmmsg batches with kernel receive times (SO_TIMESTAMPNS),
 * the socket's drop counter (SO_RXQ_OVFL) and UDP_GRO buffers split back
 * into datagrams, each handed to lg_peer_input. */
#ifndef LG_RX_H
#define LG_RX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"

#define LG_RX_BATCH 32

/* Read by other threads for the report while the receiving thread counts. */
typedef struct lg_rx_counters {
    atomic_uint_fast64_t packets;   /* every datagram read */
    atomic_uint_fast64_t rtp;       /* of which RTP (not RTCP, STUN, DTLS) */
    atomic_uint_fast64_t coalesced; /* datagrams that came in a GRO buffer of several */
} lg_rx_counters;

/* Count one datagram (packets, and rtp when it is RTP). */
void lg_rx_count(lg_rx_counters *c, const uint8_t *d, size_t len);

/* One recvmmsg batch from p's UDP socket into the peer: the number of
 * buffers read (LG_RX_BATCH when more may be queued), 0 when none.  The
 * buffers are static: one receiving thread per process. */
int lg_rx_udp_batch(lg_peer *p, lg_latency *lat, lg_rx_counters *c);

#endif
