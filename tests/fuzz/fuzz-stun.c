/* libFuzzer target for sfu/proto/stun.c: the ufrag lookup that runs on every
 * unauthenticated datagram, then the full answer with the credentials the
 * seed corpus was made with (tests/unit/sfu/proto/test-stun.c --write-corpus), so
 * valid requests reach the reply path.  Aborts on broken invariants. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/proto/stun.h"

#define LOCAL_UFRAG "LOCAL"
#define PWD "0123456789abcdefghijkl"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char uf[300];
    uint8_t out[512];
    sc_stun_request req;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;

    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    a4.sin_port = htons(5000);
    a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(&a6, 0, sizeof(a6));
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(5001);
    a6.sin6_addr = in6addr_loopback;

    (void)sc_stun_is_stun(data, size);
    int u = sc_stun_local_ufrag(data, size, uf, sizeof(uf));
    if (u == 0 && strlen(uf) >= sizeof(uf))
        abort();

    int n = sc_stun_answer_binding(data, size, LOCAL_UFRAG, PWD, (struct sockaddr *)&a4,
                                   sizeof(a4), out, sizeof(out), &req);
    if (n > 0) {
        /* Answered means it named us, and the reply is a STUN response
         * that is not itself a request. */
        if (u != 0 || strcmp(uf, LOCAL_UFRAG) != 0 || (size_t)n > sizeof(out) ||
            !sc_stun_is_stun(out, (size_t)n) ||
            sc_stun_local_ufrag(out, (size_t)n, uf, sizeof(uf)) != -ENOENT)
            abort();
        if (strlen(req.remote_ufrag) >= sizeof(req.remote_ufrag))
            abort();
    }
    (void)sc_stun_answer_binding(data, size, LOCAL_UFRAG, PWD, (struct sockaddr *)&a6,
                                 sizeof(a6), out, 64, &req);
    (void)sc_stun_answer_binding(data, size, "", "", (struct sockaddr *)&a6, sizeof(a6), out,
                                 sizeof(out), NULL);
    return 0;
}
