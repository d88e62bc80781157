#include "sfu/proto/rfc4571.h"

#include <string.h>

#include "sfu/proto/bytes.h"

int sc_rfc4571_consume(sc_rfc4571_rx *rx, size_t n, sc_rfc4571_fn fn, void *ud,
                       uint64_t *oversize)
{
    size_t pos = 0, end = rx->len + n;
    int frames = 0;
    for (;;) {
        if (rx->skip) {
            size_t k = end - pos < rx->skip ? end - pos : rx->skip;
            pos += k;
            rx->skip -= (uint32_t)k;
            if (rx->skip)
                break;
            continue;
        }
        if (end - pos < 2)
            break;
        size_t flen = sc_rd16(rx->buf + pos);
        if (flen > SC_RFC4571_MAX_FRAME) {
            (*oversize)++;
            rx->skip = (uint32_t)flen;
            pos += 2;
            continue;
        }
        if (end - pos - 2 < flen)
            break;
        if (flen) {
            fn(ud, rx->buf + pos + 2, flen);
            frames++;
        }
        pos += 2 + flen;
    }
    rx->len = end - pos;
    if (pos && rx->len)
        memmove(rx->buf, rx->buf + pos, rx->len);
    return frames;
}
