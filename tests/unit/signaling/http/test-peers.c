/* signaling/http/peers.c: the keys of addresses (IPv4 whole, IPv6 by /64)
 * and the tally of connections per address, through growth and shrinking. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/http/peers.h"
#include "tests/unit/sc_test.h"

/* The key of an IPv4 or IPv6 address. */
static sc_peer_key key(const char *a)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sc_peer_key k;
    socklen_t len;

    memset(&ss, 0, sizeof(ss));
    if (strchr(a, ':')) {
        sin6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, a, &sin6->sin6_addr);
        len = sizeof(*sin6);
    } else {
        sin->sin_family = AF_INET;
        inet_pton(AF_INET, a, &sin->sin_addr);
        len = sizeof(*sin);
    }
    if (sc_peer_key_of((struct sockaddr *)&ss, len, &k) != 0)
        memset(&k, 0xff, sizeof(k)); /* no key: matches none of the test's */
    return k;
}

static void test_keys(void)
{
    sc_peer_key a = key("192.0.2.7"), b;
    struct sockaddr_un_like {
        sa_family_t family;
        char path[108];
    } un = {AF_UNIX, "/tmp/x"};
    char s[64];

    sc_peer_key_format(&a, s, sizeof(s));
    SC_CHECK_STR(s, "192.0.2.7");
    /* an IPv4 client of a dual-stack socket is its IPv4 address */
    b = key("::ffff:192.0.2.7");
    SC_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    /* 10.0.0.1 and 110.0.0.1, 127.0.0.1 and 127.0.0.2 differ */
    a = key("10.0.0.1");
    b = key("110.0.0.1");
    SC_CHECK(memcmp(&a, &b, sizeof(a)) != 0);
    a = key("127.0.0.1");
    b = key("127.0.0.2");
    SC_CHECK(memcmp(&a, &b, sizeof(a)) != 0);
    /* IPv6: the /64 */
    a = key("2001:db8:1:2:3:4:5:6");
    b = key("2001:db8:1:2:ffff::1");
    SC_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    sc_peer_key_format(&a, s, sizeof(s));
    SC_CHECK_STR(s, "2001:db8:1:2::/64");
    b = key("2001:db8:1:3::1");
    SC_CHECK(memcmp(&a, &b, sizeof(a)) != 0);
    a = key("::1");
    sc_peer_key_format(&a, s, sizeof(s));
    SC_CHECK_STR(s, "::/64");
    /* no other family, no short address */
    SC_CHECK_INT(sc_peer_key_of((struct sockaddr *)&un, sizeof(un), &a), -EAFNOSUPPORT);
    SC_CHECK_INT(sc_peer_key_of((struct sockaddr *)&un, 2, &a), -EAFNOSUPPORT);
    {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        SC_CHECK_INT(sc_peer_key_of((struct sockaddr *)&sin, 4, &a), -EAFNOSUPPORT);
    }
    SC_CHECK_INT(sc_peer_key_of(NULL, 0, &a), -EAFNOSUPPORT);
}

static void test_tally(void)
{
    sc_peers *p = sc_peers_new();
    sc_peer_key a = key("192.0.2.1"), b = key("2001:db8::1");
    static int c[8];
    unsigned res;
    bool was;

    SC_CHECK(p != NULL);
    SC_CHECK_INT(sc_peers_held(p, &a, &res), 0);
    SC_CHECK_INT(res, 0);
    SC_CHECK_INT(sc_peers_add(p, &c[0], &a, false), 0);
    SC_CHECK_INT(sc_peers_add(p, &c[1], &a, true), 0);
    SC_CHECK_INT(sc_peers_add(p, &c[2], &b, false), 0);
    SC_CHECK_INT(sc_peers_held(p, &a, &res), 2);
    SC_CHECK_INT(res, 1);
    SC_CHECK_INT(sc_peers_held(p, &b, NULL), 1);
    SC_CHECK(!sc_peers_reserve(p, &c[0]) && sc_peers_reserve(p, &c[1]));
    SC_CHECK_INT(sc_peers_addresses(p), 2);
    SC_CHECK_INT(sc_peers_connections(p), 3);
    /* the same connection entered again replaces its entry (lws freed one
     * without telling, and the pointer came back) */
    SC_CHECK_INT(sc_peers_add(p, &c[1], &b, false), 0);
    SC_CHECK_INT(sc_peers_held(p, &a, &res), 1);
    SC_CHECK_INT(res, 0);
    SC_CHECK_INT(sc_peers_held(p, &b, NULL), 2);
    SC_CHECK_INT(sc_peers_connections(p), 3);
    /* out */
    SC_CHECK(sc_peers_remove(p, &c[0], &was) && !was);
    SC_CHECK(!sc_peers_remove(p, &c[0], &was));
    SC_CHECK(!sc_peers_remove(p, &c[7], NULL));
    SC_CHECK(!sc_peers_remove(p, NULL, NULL));
    SC_CHECK_INT(sc_peers_held(p, &a, NULL), 0);
    SC_CHECK_INT(sc_peers_addresses(p), 1);
    SC_CHECK_INT(sc_peers_add(p, NULL, &a, false), -EINVAL);
    SC_CHECK(sc_peers_remove(p, &c[1], NULL));
    SC_CHECK(sc_peers_remove(p, &c[2], NULL));
    SC_CHECK_INT(sc_peers_addresses(p), 0);
    SC_CHECK_INT(sc_peers_connections(p), 0);
    sc_peers_free(p);
    sc_peers_free(NULL);
}

/* Many connections over many addresses (the tables grow), out in another
 * order (entries shift back over the holes, the tables shrink): every
 * count stays right. */
static void test_many(void)
{
    enum { CONNS = 20000, ADDRS = 3001 };
    sc_peers *p = sc_peers_new();
    char *conns = calloc(CONNS, 1); /* their addresses are the connections */
    unsigned *held = calloc(ADDRS, sizeof(*held)), *reserve = calloc(ADDRS, sizeof(*reserve));
    int bad = 0;

    SC_CHECK(p && conns && held && reserve);
    if (!p || !conns || !held || !reserve)
        goto out;
    for (int i = 0; i < CONNS; i++) {
        sc_peer_key k = key("2001:db8::");
        int ad = (i * 7) % ADDRS;
        bool r = i % 5 == 0;
        k.b[6] = (uint8_t)(ad >> 8);
        k.b[7] = (uint8_t)ad;
        bad += sc_peers_add(p, conns + i, &k, r) != 0;
        held[ad]++;
        reserve[ad] += r;
    }
    SC_CHECK_INT(bad, 0);
    SC_CHECK_INT(sc_peers_connections(p), CONNS);
    SC_CHECK_INT(sc_peers_addresses(p), ADDRS);
    /* every third out, from the end */
    for (int i = CONNS - 1; i >= 0; i -= 3) {
        bool r;
        int ad = (i * 7) % ADDRS;
        bad += !sc_peers_remove(p, conns + i, &r) || r != (i % 5 == 0);
        held[ad]--;
        reserve[ad] -= i % 5 == 0;
    }
    for (int ad = 0; ad < ADDRS; ad++) {
        sc_peer_key k = key("2001:db8::");
        unsigned res;
        k.b[6] = (uint8_t)(ad >> 8);
        k.b[7] = (uint8_t)ad;
        bad += sc_peers_held(p, &k, &res) != held[ad] || res != reserve[ad];
    }
    for (int i = 0; i < CONNS; i++)
        bad += sc_peers_reserve(p, conns + i) != ((CONNS - 1 - i) % 3 != 0 && i % 5 == 0);
    SC_CHECK_INT(bad, 0);
    /* the rest out */
    for (int i = 0; i < CONNS; i++)
        if ((CONNS - 1 - i) % 3 != 0)
            bad += !sc_peers_remove(p, conns + i, NULL);
    SC_CHECK_INT(bad, 0);
    SC_CHECK_INT(sc_peers_connections(p), 0);
    SC_CHECK_INT(sc_peers_addresses(p), 0);
    /* and in again after shrinking */
    SC_CHECK_INT(sc_peers_add(p, conns, &(sc_peer_key){{1}}, false), 0);
    SC_CHECK_INT(sc_peers_held(p, &(sc_peer_key){{1}}, NULL), 1);
out:
    sc_peers_free(p);
    free(conns);
    free(held);
    free(reserve);
}

int main(void)
{
    test_keys();
    test_tally();
    test_many();
    SC_TEST_END();
}
