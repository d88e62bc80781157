/* libFuzzer target for sfu/proto/rfc4571.c: the input is a byte stream from
 * an ICE-TCP peer, fed in reads of the sizes its first byte picks.  Every
 * frame handed on must be 1..SC_RFC4571_MAX_FRAME bytes inside the buffer,
 * and what is kept must fit it.  Aborts on broken invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/proto/rfc4571.h"

static sc_rfc4571_rx *current;

static void on_frame(void *ud, uint8_t *frame, size_t len)
{
    size_t *total = ud;
    if (len == 0 || len > SC_RFC4571_MAX_FRAME || frame < current->buf ||
        frame + len > current->buf + sizeof(current->buf))
        abort();
    memset(frame, 0, len); /* the handler may write in place */
    *total += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sc_rfc4571_rx rx;
    memset(&rx, 0, sizeof(rx));
    current = &rx;
    size_t chunk = size ? (size_t)data[0] * 37 + 1 : 1, off = 0, total = 0;
    uint64_t oversize = 0;
    while (off < size) {
        size_t k = size - off < chunk ? size - off : chunk;
        if (k > sc_rfc4571_room(&rx))
            k = sc_rfc4571_room(&rx);
        memcpy(sc_rfc4571_space(&rx), data + off, k);
        sc_rfc4571_consume(&rx, k, on_frame, &total, &oversize);
        if (rx.len > sizeof(rx.buf) || (rx.skip && rx.len))
            abort();
        off += k;
    }
    if (total > size)
        abort();
    return 0;
}
