/* libFuzzer target for the catalog's WebM Duration reader
 * (signaling/catalog.c): any bytes; it must return 0, -EINVAL or -ENOENT
 * and never read outside the buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/recordings/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so ASan sees any overread. */
    uint8_t *buf = malloc(size ? size : 1);
    int64_t ms = -1;
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    int r = sc_catalog_webm_duration(buf, size, &ms);
    if (r != 0 && r != -EINVAL && r != -ENOENT)
        abort();
    uint64_t s, l;
    char h[64];
    size_t n = size < sizeof(h) - 1 ? size : sizeof(h) - 1;
    memcpy(h, data, n);
    h[n] = '\0';
    r = sc_catalog_range_parse(h, 1000, &s, &l);
    if (r == 0 && (l == 0 || s + l > 1000))
        abort();
    free(buf);
    return 0;
}
