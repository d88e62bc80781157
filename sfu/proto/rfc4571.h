/* RFC 4571 framing: RTP, RTCP, STUN and DTLS over a byte stream (ICE-TCP,
 * RFC 6544), each packet behind a 16-bit big-endian length.  The receiving
 * side is a parser over a fixed buffer the caller reads into; no state but
 * the buffer, no allocation. */
#ifndef SC_RFC4571_H
#define SC_RFC4571_H

#include <stddef.h>
#include <stdint.h>

/* The largest frame handed on.  Browsers send packets under the path MTU
 * over TCP as well; a longer frame (up to the 65,535 the length allows) is
 * read past, counted, and never buffered. */
#define SC_RFC4571_MAX_FRAME 2048

typedef struct sc_rfc4571_rx {
    uint8_t buf[2 * SC_RFC4571_MAX_FRAME + 2];
    size_t len;    /* bytes in buf not yet framed (a partial frame) */
    uint32_t skip; /* bytes of an over-long frame still to read past */
} sc_rfc4571_rx;

/* Where the next bytes read from the stream go, and how many fit. */
static inline uint8_t *sc_rfc4571_space(sc_rfc4571_rx *rx) { return rx->buf + rx->len; }
static inline size_t sc_rfc4571_room(const sc_rfc4571_rx *rx) { return sizeof(rx->buf) - rx->len; }

/* One complete frame (len >= 1), writable in place until the next call. */
typedef void (*sc_rfc4571_fn)(void *ud, uint8_t *frame, size_t len);

/* After n more bytes were written at sc_rfc4571_space(): hands every
 * complete frame to fn in order, skips empty ones and over-long ones (each
 * over-long frame adds one to *oversize), and keeps what is left of a
 * partial frame.  Returns the number of frames handed on. */
int sc_rfc4571_consume(sc_rfc4571_rx *rx, size_t n, sc_rfc4571_fn fn, void *ud,
                       uint64_t *oversize);

/* Writes the 2-byte length prefix of a frame of len bytes (len <= 65535). */
static inline void sc_rfc4571_header(uint8_t out[2], size_t len)
{
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
}

#endif
