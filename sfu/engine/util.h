/* Small helpers of the media engine: the NTP clock, secure randomness, a
 * growable string buffer.  Byte-order access is sfu/proto/bytes.h. */
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SC_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Wall clock as NTP 64-bit fixed point (RFC 3550 SR). */
uint64_t sc_ntp_now(void);

/* Cryptographically secure random bytes (OpenSSL RAND_bytes); 0 or -EIO. */
int sc_random(void *buf, size_t len);
uint32_t sc_random_u32(void);
uint64_t sc_random_u64(void);
/* len characters from [A-Za-z0-9+/] (valid ICE ufrag/pwd chars), NUL-terminated. */
void sc_random_ice_string(char *out, size_t len);

/* A growable NUL-terminated string.  On allocation failure `failed` is set and
 * further appends are ignored, so callers check once at the end. */
typedef struct sc_strbuf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} sc_strbuf;

void sc_strbuf_init(sc_strbuf *sb);
void sc_strbuf_appendf(sc_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_strbuf_append(sc_strbuf *sb, const char *s, size_t len);
/* Hands the buffer to the caller (free() it); NULL if any append failed. */
char *sc_strbuf_steal(sc_strbuf *sb);
void sc_strbuf_free(sc_strbuf *sb);

#endif
