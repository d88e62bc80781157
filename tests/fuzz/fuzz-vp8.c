/* libFuzzer target for sfu/proto/vp8.c: parse the descriptor, then rewrite it in
 * an exact-size copy and check the rewrite reads back. */
#include "sfu/proto/vp8.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_vp8 v;
    if (sc_vp8_parse(data, size, &v) < 0)
        return 0;
    if (v.descriptor_len > size || v.descriptor_len > 6)
        abort();
    if (!v.is_keyframe && (v.width || v.height))
        abort();

    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    sc_vp8_rewrite(copy, &v, 0x4321, 0x99);
    sc_vp8 w;
    if (sc_vp8_parse(copy, size, &w) < 0)
        abort();
    if (w.descriptor_len != v.descriptor_len || w.picture_id_bits != v.picture_id_bits ||
        w.tid != v.tid || w.keyidx != v.keyidx)
        abort();
    if (v.picture_id_bits && w.picture_id != (0x4321 & (v.picture_id_bits == 15 ? 0x7FFF : 0x7F)))
        abort();
    if (v.tl0picidx >= 0 && w.tl0picidx != 0x99)
        abort();
    /* Only the descriptor may change. */
    if (memcmp(copy + v.descriptor_len, data + v.descriptor_len, size - v.descriptor_len))
        abort();
    free(copy);
    return 0;
}
