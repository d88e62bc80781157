/* Where a peer is reached: a UDP address (IPv4 or IPv6) on a worker's
 * socket, or an ICE-TCP connection (sfu/net/tcp.c) with the peer's address.
 * The engine binds paths to transports and sends to them; only sfu/net/
 * looks inside one. */
#ifndef SC_PATH_H
#define SC_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sc_tcp_conn;

typedef struct sc_path {
    struct sockaddr_storage addr;
    socklen_t len;
    struct sc_tcp_conn *tcp; /* NULL: UDP to addr */
} sc_path;

/* A UDP path: copies len bytes of a socket address (len <= sizeof(struct
 * sockaddr_storage)). */
void sc_path_set(sc_path *p, const struct sockaddr *addr, socklen_t len);
/* A UDP path to a numeric IPv4 or IPv6 address and port: 0, or -1 when ip
 * is not one. */
int sc_path_parse(sc_path *p, const char *ip, uint16_t port);
/* Two UDP paths are equal by address and port; a TCP path only to itself
 * (its connection). */
bool sc_path_equal(const sc_path *a, const sc_path *b);
/* Spreads paths over hash buckets (the address and port, or the connection). */
uint64_t sc_path_hash(const sc_path *p);

static inline const struct sockaddr *sc_path_sockaddr(const sc_path *p)
{
    return (const struct sockaddr *)&p->addr;
}

static inline bool sc_path_is_tcp(const sc_path *p) { return p->tcp != NULL; }

#endif
