#include "recorder/ebml.h"

#include <errno.h>
#include <string.h>

/* The length of a vint from its first byte: the position of the first set
 * bit, 1..8, or 0 for a zero byte. */
static size_t vint_length(uint8_t first)
{
    for (size_t i = 0; i < 8; i++)
        if (first & (0x80u >> i))
            return i + 1;
    return 0;
}

int sc_ebml_header(const uint8_t *p, size_t len, uint32_t *id, uint64_t *size, size_t *hlen)
{
    if (len == 0)
        return -ENODATA;
    size_t il = vint_length(p[0]);
    if (!il || il > 4)
        return -EINVAL;
    if (len < il + 1)
        return -ENODATA;
    uint32_t v = 0;
    for (size_t i = 0; i < il; i++)
        v = v << 8 | p[i];
    uint8_t s0 = p[il];
    size_t sl = vint_length(s0);
    if (!sl)
        return -EINVAL;
    if (len - il < sl)
        return -ENODATA;
    uint64_t s = s0 & (0xFFu >> sl);
    bool ones = s == (0xFFu >> sl);
    for (size_t i = 1; i < sl; i++) {
        s = s << 8 | p[il + i];
        ones = ones && p[il + i] == 0xFF;
    }
    *id = v;
    *size = ones ? SC_EBML_UNKNOWN : s;
    *hlen = il + sl;
    return 0;
}

size_t sc_ebml_vint(const uint8_t *p, size_t len, uint64_t *v)
{
    if (len == 0)
        return 0;
    size_t l = vint_length(p[0]);
    if (!l || l > len)
        return 0;
    uint64_t s = p[0] & (0xFFu >> l);
    for (size_t i = 1; i < l; i++)
        s = s << 8 | p[i];
    *v = s;
    return l;
}

bool sc_ebml_uint(const uint8_t *d, uint64_t n, uint64_t *v)
{
    if (n > 8)
        return false;
    uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++)
        x = x << 8 | d[i];
    *v = x;
    return true;
}

bool sc_ebml_float(const uint8_t *d, uint64_t n, double *v)
{
    uint64_t x;
    if ((n != 4 && n != 8) || !sc_ebml_uint(d, n, &x))
        return false;
    if (n == 4) {
        uint32_t x32 = (uint32_t)x;
        float f;
        memcpy(&f, &x32, 4);
        *v = f;
    } else {
        memcpy(v, &x, 8);
    }
    return true;
}
