#include "sfu/engine/util.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t sc_ntp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t secs = (uint64_t)ts.tv_sec + 2208988800u; /* 1900 -> 1970 */
    uint64_t frac = ((uint64_t)ts.tv_nsec << 32) / 1000000000u;
    return secs << 32 | frac;
}

int sc_random(void *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

uint32_t sc_random_u32(void)
{
    uint32_t v = 0;
    if (sc_random(&v, sizeof(v)) < 0)
        abort(); /* no entropy: nothing safe to do */
    return v;
}

uint64_t sc_random_u64(void)
{
    uint64_t v = 0;
    if (sc_random(&v, sizeof(v)) < 0)
        abort();
    return v;
}

void sc_random_ice_string(char *out, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t rnd[256];
    if (len > sizeof(rnd))
        len = sizeof(rnd);
    if (sc_random(rnd, len) < 0)
        abort();
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[rnd[i] & 63];
    out[len] = '\0';
}

void sc_strbuf_init(sc_strbuf *sb) { memset(sb, 0, sizeof(*sb)); }

static bool strbuf_reserve(sc_strbuf *sb, size_t extra)
{
    if (sb->failed)
        return false;
    if (sb->len + extra + 1 <= sb->cap)
        return true;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    char *d = realloc(sb->data, cap);
    if (!d) {
        sb->failed = true;
        return false;
    }
    sb->data = d;
    sb->cap = cap;
    return true;
}

void sc_strbuf_append(sc_strbuf *sb, const char *s, size_t len)
{
    if (!strbuf_reserve(sb, len))
        return;
    memcpy(sb->data + sb->len, s, len);
    sb->len += len;
    sb->data[sb->len] = '\0';
}

void sc_strbuf_appendf(sc_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !strbuf_reserve(sb, (size_t)n)) {
        sb->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

char *sc_strbuf_steal(sc_strbuf *sb)
{
    if (sb->failed || !strbuf_reserve(sb, 0)) {
        sc_strbuf_free(sb);
        return NULL;
    }
    char *d = sb->data;
    sc_strbuf_init(sb);
    return d;
}

void sc_strbuf_free(sc_strbuf *sb)
{
    free(sb->data);
    sc_strbuf_init(sb);
}
