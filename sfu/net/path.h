/* Where a peer is reached: today a UDP address (IPv4 or IPv6) on a worker's
 * socket.  The engine binds paths to transports and sends to them; only
 * sfu/net/ looks inside one. */
#ifndef SC_PATH_H
#define SC_PATH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct sc_path {
    struct sockaddr_storage addr;
    socklen_t len;
} sc_path;

/* Copies len bytes of a socket address (len <= sizeof(struct sockaddr_storage)). */
void sc_path_set(sc_path *p, const struct sockaddr *addr, socklen_t len);
bool sc_path_equal(const sc_path *a, const sc_path *b);
/* Spreads paths over hash buckets (the address and port, not the length). */
uint64_t sc_path_hash(const sc_path *p);

static inline const struct sockaddr *sc_path_sockaddr(const sc_path *p)
{
    return (const struct sockaddr *)&p->addr;
}

#endif
