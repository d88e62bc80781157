/* A worker's UDP port: its sockets, the kernel-side split of control from
 * media, batched receiving, and batched sending with UDP GSO.  One thread
 * uses a socket set (its worker); nothing here locks. */
#ifndef SC_UDP_H
#define SC_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/net/path.h"

#define SC_MTU 1500
/* Datagrams queued before they leave in one sendmmsg. */
#define SC_SEND_BATCH 128
/* Datagrams read per recvmmsg. */
#define SC_RECV_BATCH 32
/* Linux's UDP_MAX_SEGMENTS is 64 (128 from 6.2 on). */
#define SC_GSO_MAX_SEGS 64

typedef struct sc_udp sc_udp;

/* Binds ip:port (IPv4 or IPv6).  With the BPF program available the port is
 * two sockets, media and control (see sc_udp_control_fd).  gso: try UDP GSO
 * (it is off where the kernel does not know it).  NULL with a reason in err. */
sc_udp *sc_udp_open(const char *ip, uint16_t port, bool gso, char *err, size_t errlen);
/* Closes the sockets; queued datagrams are dropped.  Accepts NULL. */
void sc_udp_close(sc_udp *u);

/* The socket RTP arrives on (everything, without the control socket). */
int sc_udp_media_fd(const sc_udp *u);
/* The socket STUN, DTLS and RTCP arrive on, or -1 when one socket takes all. */
int sc_udp_control_fd(const sc_udp *u);

/* Where GSO sends and the datagrams in them are counted (the caller's
 * counters, written with relaxed atomic stores; NULL: not counted). */
void sc_udp_count_gso(sc_udp *u, uint64_t *sends, uint64_t *segments);

/* A buffer of SC_MTU + 64 bytes for the next datagram (a full batch is sent
 * first), then commit len bytes of it to go to `to`.  `to` must stay valid
 * until the next sc_udp_flush. */
uint8_t *sc_udp_out_buf(sc_udp *u);
void sc_udp_out_commit(sc_udp *u, size_t len, const sc_path *to);
/* Sends every queued datagram: runs to one path of one length (the last may
 * be shorter) as one GSO send.  A datagram the kernel refuses is lost, as on
 * the wire. */
void sc_udp_flush(sc_udp *u);

/* One received datagram; len is SC_MTU + 1 for one that was truncated. */
typedef void (*sc_udp_recv_fn)(void *ud, uint8_t *buf, size_t len, const sc_path *from);
/* Reads up to `rounds` batches of at most `max` (<= SC_RECV_BATCH)
 * datagrams from fd (one of u's sockets) and hands each to fn; queued
 * output is flushed after each batch.  Returns how many were read. */
int sc_udp_recv(sc_udp *u, int fd, int rounds, int max, sc_udp_recv_fn fn, void *ud);

/* SO_MEMINFO of a socket: bytes waiting in its receive queue and the
 * kernel's count of datagrams dropped there (0 and 0 where unknown, or for
 * fd -1). */
void sc_udp_meminfo(int fd, uint64_t *queued, uint64_t *drops);

#endif
