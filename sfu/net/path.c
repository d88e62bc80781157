#include "sfu/net/path.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "sfu/proto/bytes.h"

void sc_path_set(sc_path *p, const struct sockaddr *addr, socklen_t len)
{
    memcpy(&p->addr, addr, len);
    p->len = len;
    p->tcp = NULL;
}

int sc_path_parse(sc_path *p, const char *ip, uint16_t port)
{
    memset(p, 0, sizeof(*p));
    struct sockaddr_in *in = (struct sockaddr_in *)&p->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->addr;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        p->len = sizeof(*in);
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        p->len = sizeof(*in6);
        return 0;
    }
    return -1;
}

bool sc_path_equal(const sc_path *a, const sc_path *b)
{
    if (a->tcp || b->tcp)
        return a->tcp == b->tcp;
    const struct sockaddr *x = sc_path_sockaddr(a), *y = sc_path_sockaddr(b);
    if (x->sa_family != y->sa_family)
        return false;
    if (x->sa_family == AF_INET) {
        const struct sockaddr_in *i = (const void *)x, *j = (const void *)y;
        return i->sin_port == j->sin_port && i->sin_addr.s_addr == j->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *i = (const void *)x, *j = (const void *)y;
    return i->sin6_port == j->sin6_port && memcmp(&i->sin6_addr, &j->sin6_addr, 16) == 0;
}

uint64_t sc_path_hash(const sc_path *p)
{
    if (p->tcp)
        return (uint64_t)(uintptr_t)p->tcp * 0x9E3779B97F4A7C15ull >> 20;
    const struct sockaddr *a = sc_path_sockaddr(p);
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        uint64_t k = (uint64_t)in->sin_addr.s_addr << 16 | in->sin_port;
        return k * 0x9E3779B97F4A7C15ull >> 20;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    return sc_fnv1a(&in6->sin6_addr, 16) ^ in6->sin6_port;
}
