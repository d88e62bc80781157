/* The connections each client address holds (--max-connections-per-ip),
 * kept by the connection budget (conns.h): a connection is entered under
 * its peer's address when lws creates it and taken out when lws destroys
 * it (the socket is closed by then, so its address is kept here).  An IPv4
 * address counts alone; an IPv6 address counts by its /64, the block a
 * subscriber line or a machine is given, so that a host taking a new
 * address of its /64 for each connection (privacy addresses, or on
 * purpose) is still one.  Bookkeeping only: no I/O, no lws. */
#ifndef SC_HTTP_PEERS_H
#define SC_HTTP_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address as counted: IPv4 as ::ffff:a.b.c.d, IPv6 its /64 (the rest
 * zero). */
typedef struct sc_peer_key {
    uint8_t b[16];
} sc_peer_key;

/* The key of a peer's address (IPv4-mapped IPv6 counts as the IPv4
 * address): 0, or -EAFNOSUPPORT for another family or a short address. */
int sc_peer_key_of(const struct sockaddr *sa, socklen_t len, sc_peer_key *key);
/* For log lines: "192.0.2.7" or "2001:db8:1:2::/64". */
void sc_peer_key_format(const sc_peer_key *key, char *buf, size_t cap);

typedef struct sc_peers sc_peers;

/* NULL when out of memory. */
sc_peers *sc_peers_new(void);
void sc_peers_free(sc_peers *p);
/* The connections key holds now, and in *reserve (if not NULL) how many of
 * them hold a place of the reserve. */
unsigned sc_peers_held(const sc_peers *p, const sc_peer_key *key, unsigned *reserve);
/* Enters conn (any pointer, unique while it is held) under key, holding a
 * place of the reserve or not; an entry of the same conn is replaced.  0 or
 * -ENOMEM (nothing entered). */
int sc_peers_add(sc_peers *p, const void *conn, const sc_peer_key *key, bool reserve);
/* Takes conn out: true when it was entered, *reserve (if not NULL) then
 * saying whether it held a place of the reserve. */
bool sc_peers_remove(sc_peers *p, const void *conn, bool *reserve);
/* Whether conn is entered holding a place of the reserve. */
bool sc_peers_reserve(const sc_peers *p, const void *conn);
/* Addresses holding at least one connection, and the connections entered. */
size_t sc_peers_addresses(const sc_peers *p);
size_t sc_peers_connections(const sc_peers *p);

#endif
