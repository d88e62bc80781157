/* RTP (RFC 3550) header parsing and in-place rewriting.  Pure functions, no
 * allocation: the parsed view points into the caller's buffer. */
#ifndef SC_RTP_H
#define SC_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_RTP_MAX_PACKET 1500 /* larger packets are refused (RELIABILITY 9) */

typedef struct sc_rtp {
    uint8_t marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t csrc_count;
    uint16_t ext_profile;  /* 0xBEDE one-byte, 0x100x two-byte, 0 when absent */
    const uint8_t *ext;    /* extension elements (after the 4-byte ext header) */
    size_t ext_len;        /* bytes of extension elements */
    size_t header_len;     /* 12 + 4*CC + extension: offset of the payload */
    const uint8_t *payload;
    size_t payload_len;    /* without padding */
    uint8_t padding_len;   /* 0 when the P bit is clear */
} sc_rtp;

/* Classify a packet received on a BUNDLE/rtcp-mux socket (RFC 5761 / 7983):
 * true when the byte after the first is an RTCP packet type (192..223). */
bool sc_rtp_is_rtcp(const uint8_t *buf, size_t len);

/* Parse and validate an RTP header.  Returns 0, or -EINVAL when the packet is
 * not RTP version 2 or any length (CSRC, extension, padding) runs past the
 * buffer, or -EMSGSIZE when len > SC_RTP_MAX_PACKET. */
int sc_rtp_parse(const uint8_t *buf, size_t len, sc_rtp *out);

/* Find header extension element `id` (1..14 for one-byte, 1..255 for two-byte
 * headers).  Returns 0 and sets data and len, -ENOENT, or -EINVAL if an element
 * length overruns (RELIABILITY 7). */
int sc_rtp_find_ext(const sc_rtp *rtp, uint8_t id, const uint8_t **data, size_t *len);

/* Field writers for a buffer that sc_rtp_parse accepted. */
void sc_rtp_set_seq(uint8_t *buf, uint16_t seq);
void sc_rtp_set_ts(uint8_t *buf, uint32_t ts);
void sc_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc);
void sc_rtp_set_pt(uint8_t *buf, uint8_t pt);
void sc_rtp_set_marker(uint8_t *buf, bool marker);

/* Write to `out` (capacity `cap`) a copy of the packet with a plain 12-byte
 * header (no CSRCs, no header extension, no padding) followed by `prefix`
 * (prefix_len bytes, may be 0, e.g. the RTX original sequence number) and the
 * payload.  Returns the new length, or -ENOSPC. */
int sc_rtp_copy_stripped(const sc_rtp *rtp, const uint8_t *buf, const uint8_t *prefix,
                         size_t prefix_len, uint8_t *out, size_t cap);
/* The same with, when twcc_id (1..14) is set, a header extension block that
 * holds the transport-wide sequence number (0 until sc_rtp_set_twcc_seq
 * writes it, on the copy).  -EINVAL for an id out of range. */
int sc_rtp_copy_ext(const sc_rtp *rtp, const uint8_t *buf, const uint8_t *prefix,
                    size_t prefix_len, uint8_t twcc_id, uint8_t *out, size_t cap);
void sc_rtp_set_twcc_seq(uint8_t *buf, uint16_t seq);

#endif
