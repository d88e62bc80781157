#include "signaling/http/peers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Two open-addressing tables (linear probing, deletion by shifting back,
 * no tombstones): addresses with their counts, and connections with the
 * address they count under.  Each holds at most half its slots; it halves
 * again once an eighth or less is in use. */
#define MIN_SLOTS 64

typedef struct addr_slot {
    sc_peer_key key;
    uint32_t held;    /* 0: the slot is free */
    uint32_t reserve; /* of held, places of the reserve */
} addr_slot;

typedef struct conn_slot {
    const void *conn; /* NULL: the slot is free */
    sc_peer_key key;
    bool reserve;
} conn_slot;

struct sc_peers {
    addr_slot *addrs;
    size_t n_addrs, addr_slots;
    conn_slot *conns;
    size_t n_conns, conn_slots;
    /* The addresses' hash is keyed with these, drawn at random: whoever
     * holds many addresses (an IPv6 /48 is 65,536 /64s) cannot pick ones
     * that fall in the same slots and make every lookup walk them all. */
    uint64_t seed[3];
};

/* ---- keys --------------------------------------------------------------- */

int sc_peer_key_of(const struct sockaddr *sa, socklen_t len, sc_peer_key *key)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    memset(key, 0, sizeof(*key));
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(key->b, mapped, sizeof(mapped));
        memcpy(key->b + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const uint8_t *a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        /* An IPv4 client of a dual-stack socket is its IPv4 address. */
        memcpy(key->b, a, memcmp(a, mapped, sizeof(mapped)) == 0 ? 16 : 8);
        return 0;
    }
    return -EAFNOSUPPORT;
}

void sc_peer_key_format(const sc_peer_key *key, char *buf, size_t cap)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char s[INET6_ADDRSTRLEN];

    if (memcmp(key->b, mapped, sizeof(mapped)) == 0) {
        inet_ntop(AF_INET, key->b + 12, s, sizeof(s));
        snprintf(buf, cap, "%s", s);
    } else {
        inet_ntop(AF_INET6, key->b, s, sizeof(s));
        snprintf(buf, cap, "%s/64", s);
    }
}

/* ---- hashing -------------------------------------------------------------- */

/* A bijective 64-bit finaliser (MurmurHash3's): every input bit moves
 * every output bit, so the low bits (the slot) depend on all of them. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static size_t addr_home(const sc_peers *p, const sc_peer_key *k, size_t slots)
{
    uint64_t w0, w1;

    memcpy(&w0, k->b, 8);
    memcpy(&w1, k->b + 8, 8);
    return (size_t)mix(w0 * p->seed[0] + w1 * p->seed[1] + p->seed[2]) & (slots - 1);
}

static size_t conn_home(const void *conn, size_t slots)
{
    return (size_t)mix((uint64_t)(uintptr_t)conn) & (slots - 1);
}

/* Whether the entry at j, whose home slot is h, may move back to the hole
 * at i: h is not in the cyclic range (i, j]. */
static bool may_fill(size_t i, size_t j, size_t h)
{
    return i <= j ? (h <= i || h > j) : (h <= i && h > j);
}

/* ---- the address table ------------------------------------------------------- */

static addr_slot *addr_find(const sc_peers *p, const sc_peer_key *k)
{
    size_t mask = p->addr_slots - 1;

    for (size_t i = addr_home(p, k, p->addr_slots);; i = (i + 1) & mask) {
        addr_slot *s = &p->addrs[i];
        if (!s->held || memcmp(&s->key, k, sizeof(*k)) == 0)
            return s; /* the address's slot, or the free one where it would go */
    }
}

static int addr_resize(sc_peers *p, size_t slots)
{
    addr_slot *old = p->addrs, *a = calloc(slots, sizeof(*a));
    size_t n = p->addr_slots;

    if (!a)
        return -ENOMEM;
    p->addrs = a;
    p->addr_slots = slots;
    for (size_t i = 0; i < n; i++)
        if (old[i].held)
            *addr_find(p, &old[i].key) = old[i];
    free(old);
    return 0;
}

static void addr_delete(sc_peers *p, addr_slot *s)
{
    size_t mask = p->addr_slots - 1, i = (size_t)(s - p->addrs);

    p->addrs[i].held = 0;
    for (size_t j = (i + 1) & mask; p->addrs[j].held; j = (j + 1) & mask) {
        if (may_fill(i, j, addr_home(p, &p->addrs[j].key, p->addr_slots))) {
            p->addrs[i] = p->addrs[j];
            p->addrs[j].held = 0;
            i = j;
        }
    }
    p->n_addrs--;
    if (p->addr_slots > MIN_SLOTS && p->n_addrs * 8 <= p->addr_slots)
        (void)addr_resize(p, p->addr_slots / 2); /* no memory: stays larger */
}

/* ---- the connection table -------------------------------------------------------- */

static conn_slot *conn_find(const sc_peers *p, const void *conn)
{
    size_t mask = p->conn_slots - 1;

    for (size_t i = conn_home(conn, p->conn_slots);; i = (i + 1) & mask) {
        conn_slot *s = &p->conns[i];
        if (!s->conn || s->conn == conn)
            return s;
    }
}

static int conn_resize(sc_peers *p, size_t slots)
{
    conn_slot *old = p->conns, *c = calloc(slots, sizeof(*c));
    size_t n = p->conn_slots;

    if (!c)
        return -ENOMEM;
    p->conns = c;
    p->conn_slots = slots;
    for (size_t i = 0; i < n; i++)
        if (old[i].conn)
            *conn_find(p, old[i].conn) = old[i];
    free(old);
    return 0;
}

static void conn_delete(sc_peers *p, conn_slot *s)
{
    size_t mask = p->conn_slots - 1, i = (size_t)(s - p->conns);

    p->conns[i].conn = NULL;
    for (size_t j = (i + 1) & mask; p->conns[j].conn; j = (j + 1) & mask) {
        if (may_fill(i, j, conn_home(p->conns[j].conn, p->conn_slots))) {
            p->conns[i] = p->conns[j];
            p->conns[j].conn = NULL;
            i = j;
        }
    }
    p->n_conns--;
    if (p->conn_slots > MIN_SLOTS && p->n_conns * 8 <= p->conn_slots)
        (void)conn_resize(p, p->conn_slots / 2);
}

/* ---- the tally ------------------------------------------------------------------ */

sc_peers *sc_peers_new(void)
{
    sc_peers *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    if (getrandom(p->seed, sizeof(p->seed), GRND_NONBLOCK) != (ssize_t)sizeof(p->seed)) {
        /* No entropy yet (early boot): a weaker seed still spreads them. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        p->seed[0] = mix((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)p);
        p->seed[1] = mix(p->seed[0] ^ (uint64_t)ts.tv_sec);
        p->seed[2] = mix(p->seed[1]);
    }
    p->seed[0] |= 1; /* odd multipliers lose no bit of the address */
    p->seed[1] |= 1;
    p->addrs = calloc(MIN_SLOTS, sizeof(*p->addrs));
    p->conns = calloc(MIN_SLOTS, sizeof(*p->conns));
    if (!p->addrs || !p->conns) {
        sc_peers_free(p);
        return NULL;
    }
    p->addr_slots = p->conn_slots = MIN_SLOTS;
    return p;
}

void sc_peers_free(sc_peers *p)
{
    if (!p)
        return;
    free(p->addrs);
    free(p->conns);
    free(p);
}

unsigned sc_peers_held(const sc_peers *p, const sc_peer_key *key, unsigned *reserve)
{
    const addr_slot *s = addr_find(p, key);

    if (reserve)
        *reserve = s->held ? s->reserve : 0;
    return s->held;
}

int sc_peers_add(sc_peers *p, const void *conn, const sc_peer_key *key, bool reserve)
{
    conn_slot *c;
    addr_slot *a;

    if (!conn)
        return -EINVAL;
    /* A connection lws destroyed without saying so: its address no longer
     * holds it. */
    sc_peers_remove(p, conn, NULL);
    if ((p->n_conns + 1) * 2 > p->conn_slots && conn_resize(p, p->conn_slots * 2) < 0)
        return -ENOMEM;
    if ((p->n_addrs + 1) * 2 > p->addr_slots && addr_resize(p, p->addr_slots * 2) < 0)
        return -ENOMEM;
    a = addr_find(p, key);
    if (!a->held) {
        a->key = *key;
        a->reserve = 0;
        p->n_addrs++;
    }
    a->held++;
    a->reserve += reserve;
    c = conn_find(p, conn);
    c->conn = conn;
    c->key = *key;
    c->reserve = reserve;
    p->n_conns++;
    return 0;
}

bool sc_peers_remove(sc_peers *p, const void *conn, bool *reserve)
{
    conn_slot *c = conn ? conn_find(p, conn) : NULL;
    addr_slot *a;

    if (!c || !c->conn)
        return false;
    if (reserve)
        *reserve = c->reserve;
    a = addr_find(p, &c->key);
    if (a->held) {
        if (c->reserve && a->reserve)
            a->reserve--;
        if (--a->held == 0)
            addr_delete(p, a);
    }
    conn_delete(p, c);
    return true;
}

bool sc_peers_reserve(const sc_peers *p, const void *conn)
{
    const conn_slot *c = conn ? conn_find(p, conn) : NULL;
    return c && c->conn && c->reserve;
}

size_t sc_peers_addresses(const sc_peers *p)
{
    return p->n_addrs;
}

size_t sc_peers_connections(const sc_peers *p)
{
    return p->n_conns;
}
