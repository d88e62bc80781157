/* A worker's ICE-TCP port (RFC 6544, passive candidates only): a listener,
 * its connections, RFC 4571 framing both ways, and a bounded write queue
 * per connection, so a viewer that stops reading never stalls the worker
 * or anybody else.  A connection is a path (sc_path.tcp): the engine binds
 * and sends to it as it does to a UDP address.  One thread uses a port set
 * (its worker); nothing here locks. */
#ifndef SC_TCP_H
#define SC_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/net/path.h"

/* Bytes of media queued for one connection beyond what its socket took;
 * more media is dropped (counted).  STUN, DTLS and RTCP may use a further
 * SC_TCP_CONTROL_RESERVE; a connection that cannot take even those is
 * closed (counted). */
#define SC_TCP_QUEUE (256 * 1024)
#define SC_TCP_CONTROL_RESERVE (64 * 1024)
/* The kernel send buffer asked for each connection (Linux doubles it):
 * 20 Mbit/s at 100 ms round trip, far more than a viewer takes. */
#define SC_TCP_SNDBUF (128 * 1024)
/* A connection that no valid STUN check bound in this long is closed. */
#define SC_TCP_BIND_TIMEOUT_MS 10000

typedef struct sc_tcp sc_tcp;

/* What happens on the port, each written with relaxed atomic stores into
 * the caller's counters (a NULL pointer: not counted). */
typedef struct sc_tcp_counters {
    uint64_t *accepted;        /* connections taken */
    uint64_t *refused;         /* at the cap, or out of descriptors */
    uint64_t *unbound_closed;  /* no valid STUN check in SC_TCP_BIND_TIMEOUT_MS */
    uint64_t *overflow_closed; /* control could not be queued */
    uint64_t *media_dropped;   /* media refused: the write queue was full */
    uint64_t *oversize;        /* frames over SC_RFC4571_MAX_FRAME read past */
    uint64_t *open;            /* connections open now (a gauge) */
} sc_tcp_counters;

/* What the owner hears: each frame received (from is the connection's
 * path), and each connection that ended without the owner closing it
 * (the peer closed it, an error, a full queue) so its binding goes. */
typedef struct sc_tcp_handlers {
    void (*frame)(void *ud, uint8_t *buf, size_t len, const sc_path *from);
    void (*closed)(void *ud, const sc_path *path);
    void *ud;
} sc_tcp_handlers;

/* Listens on ip:port (IPv4 or IPv6) with at most max_conns connections
 * (further ones are accepted and closed at once: never a spinning accept).
 * NULL with a reason in err. */
sc_tcp *sc_tcp_open(const char *ip, uint16_t port, int max_conns, const sc_tcp_handlers *h,
                    const sc_tcp_counters *c, char *err, size_t errlen);
/* Closes the listener and every connection (no callbacks).  Accepts NULL. */
void sc_tcp_close(sc_tcp *t);

/* The port it listens on (what port 0 became). */
uint16_t sc_tcp_local_port(const sc_tcp *t);

/* An epoll descriptor that is readable when the port has work: the owner
 * waits on it and then calls sc_tcp_poll. */
int sc_tcp_fd(const sc_tcp *t);
/* Accepts, reads (frames go to the handler), writes what waits. */
void sc_tcp_poll(sc_tcp *t);
/* Once a second: closes connections no check bound in time, and listens
 * again after running out of descriptors. */
void sc_tcp_tick(sc_tcp *t, uint64_t now_ms);

/* Queues one packet (framed) for a connection path.  media: may be dropped
 * when the queue is full (returns false, counted).  Sent by sc_tcp_flush. */
bool sc_tcp_send(const sc_path *to, const uint8_t *buf, size_t len, bool media);
/* Writes every connection's queue as far as its socket takes it. */
void sc_tcp_flush(sc_tcp *t);

/* A valid check bound this connection to a session: no timeout from now. */
void sc_tcp_bound(const sc_path *p);
/* The owner is done with a connection (its binding went): closed without a
 * callback.  The memory stays valid until the next sc_tcp_poll. */
void sc_tcp_release(const sc_path *p);

#endif
