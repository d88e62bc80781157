/* Small helpers shared by the media plane and the signalling: the NTP clock,
 * secure randomness, hex, a growable string buffer. */
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

/* Upper-case hex with ':' between bytes ("AB:CD:..."); out needs 3*len bytes. */
void sc_hex_colon(const uint8_t *in, size_t len, char *out);

static inline uint16_t sc_rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t sc_rd24(const uint8_t *p) { return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]; }
static inline uint32_t sc_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void sc_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void sc_wr24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline void sc_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Sequence-number arithmetic modulo 2^16: true when a comes after b. */
static inline bool sc_seq_newer(uint16_t a, uint16_t b) { return a != b && (uint16_t)(a - b) < 0x8000; }

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
