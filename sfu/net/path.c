#include "sfu/net/path.h"

#include <netinet/in.h>
#include <string.h>

#include "sfu/proto/bytes.h"

void sc_path_set(sc_path *p, const struct sockaddr *addr, socklen_t len)
{
    memcpy(&p->addr, addr, len);
    p->len = len;
}

bool sc_path_equal(const sc_path *a, const sc_path *b)
{
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
    const struct sockaddr *a = sc_path_sockaddr(p);
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        uint64_t k = (uint64_t)in->sin_addr.s_addr << 16 | in->sin_port;
        return k * 0x9E3779B97F4A7C15ull >> 20;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    return sc_fnv1a(&in6->sin6_addr, 16) ^ in6->sin6_port;
}
