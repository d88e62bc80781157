/* WebRTC data channels (RFC 8831/8832): one SCTP association per transport,
 * carried in DTLS application data, with usrsctp as the SCTP stack.
 *
 * Threading.  usrsctp keeps global state, and our sessions live on several
 * worker threads.  So usrsctp runs without threads of its own
 * (usrsctp_init_nothreads) and every call into it is made under ONE global
 * lock held by this module; its callbacks (packet output, received data)
 * therefore also run under that lock, on whichever thread made the call:
 * the owning worker (input, send) or any worker (the shared timer tick).
 * Callbacks never touch DTLS or the owner's state: they only append to the
 * association's queues.  The owner drains those queues at the end of each
 * of its calls, outside the lock, and when a callback ran on another thread
 * the association's `wake` hook asks the owner (through its command queue)
 * to call sc_sctp_poll.  usrsctp knows an association only by an integer
 * handle; callbacks look it up in a table under the lock, so one freed
 * meanwhile is simply not found.
 *
 * The DCEP codec at the top is pure and fuzzable. */
#ifndef SC_SCTP_H
#define SC_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- DCEP (RFC 8832) ------------------------------------------------------- */

#define SC_DCEP_ACK 0x02
#define SC_DCEP_OPEN 0x03
#define SC_DCEP_OPEN_HEADER 12

/* Channel types (RFC 8832 5.1); bit 0x80 = unordered. */
#define SC_DC_RELIABLE 0x00
#define SC_DC_PARTIAL_RELIABLE_REXMIT 0x01
#define SC_DC_PARTIAL_RELIABLE_TIMED 0x02
#define SC_DC_UNORDERED 0x80

/* Payload protocol identifiers (RFC 8831 8). */
#define SC_PPID_DCEP 50
#define SC_PPID_STRING 51
#define SC_PPID_BINARY_PARTIAL 52 /* deprecated */
#define SC_PPID_BINARY 53
#define SC_PPID_STRING_PARTIAL 54 /* deprecated */
#define SC_PPID_STRING_EMPTY 56
#define SC_PPID_BINARY_EMPTY 57

typedef struct sc_dcep_msg {
    uint8_t type;             /* SC_DCEP_OPEN or SC_DCEP_ACK */
    /* OPEN only; label/protocol point into the parsed buffer */
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability;
    const uint8_t *label;
    uint16_t label_len;
    const uint8_t *protocol;
    uint16_t protocol_len;
} sc_dcep_msg;

/* 0, -EINVAL (truncated, lengths past the end, trailing bytes, unknown
 * channel type) or -ENOTSUP (unknown message type). */
int sc_dcep_parse(const uint8_t *buf, size_t len, sc_dcep_msg *out);
/* Encode; returns the length or -ENOSPC / -EINVAL. */
int sc_dcep_build_open(const sc_dcep_msg *m, uint8_t *buf, size_t cap);
int sc_dcep_build_ack(uint8_t *buf, size_t cap);

/* ---- the association ------------------------------------------------------- */

#define SC_SCTP_PORT 5000
#define SC_SCTP_MAX_MESSAGE 65536   /* we announce and enforce this */
#define SC_SCTP_MAX_CHANNELS 8      /* per association; further OPENs are refused */
#define SC_SCTP_LABEL_MAX 128       /* longer labels/protocols are refused */

typedef struct sc_sctp sc_sctp;

typedef struct sc_sctp_events {
    /* Owner thread: one SCTP packet for DTLS. */
    void (*send)(void *ud, const uint8_t *pkt, size_t len);
    /* ANY thread, under the module lock: call sc_sctp_poll on the owner
     * thread soon.  Must only queue a request (never call back in here). */
    void (*wake)(void *ud);
    /* Owner thread, outside the lock: */
    void (*open)(void *ud, uint16_t stream, const char *label, const char *protocol);
    void (*message)(void *ud, uint16_t stream, const char *label, const uint8_t *buf,
                    size_t len, bool binary);
    void (*closed)(void *ud, uint16_t stream, const char *label);
    /* The association can take more (our queue drained after a refusal). */
    void (*writable)(void *ud);
    /* Something was refused; why is a static string (counted by the owner). */
    void (*drop)(void *ud, const char *why);
} sc_sctp_events;

/* Global setup: the first reference initialises usrsctp, the last one
 * (after every association is freed) finishes it.  0 or -ENOMEM. */
int sc_sctp_global_ref(void);
void sc_sctp_global_unref(void);
/* Any thread, often (every ~10-50 ms): drives usrsctp's timers. */
void sc_sctp_tick(uint64_t now_ms);

/* Owner thread.  remote_port from the offer's a=sctp-port; peer_max_message
 * its a=max-message-size (0 = not given).  Starts the association (we send
 * INIT; a simultaneous one from the peer is normal SCTP). */
sc_sctp *sc_sctp_new(uint16_t remote_port, size_t peer_max_message, const sc_sctp_events *ev,
                     void *ud);
/* Aborts the association.  Owner thread; accepts NULL. */
void sc_sctp_free(sc_sctp *a);
/* One SCTP packet out of DTLS. */
void sc_sctp_input(sc_sctp *a, const uint8_t *pkt, size_t len);
/* Deliver what callbacks queued (after a wake). */
void sc_sctp_poll(sc_sctp *a);
/* Send one message on the first open channel.  0, -EAGAIN (no open
 * channel, or SCTP's buffer is full: `writable` follows), -EMSGSIZE. */
int sc_sctp_send(sc_sctp *a, const uint8_t *buf, size_t len, bool binary);
bool sc_sctp_has_open_channel(const sc_sctp *a);

#endif
