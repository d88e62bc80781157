/* RTP (RFC 3550) header parsing, RFC 8285 header-extension lookup and the
 * in-place field writers the forwarder uses.  Everything here runs once per
 * packet, so it never allocates, never logs, and checks every length against
 * the bytes actually present before it reads them. */
#include "sfu/proto/rtp.h"

#include "sfu/proto/bytes.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define RTP_FIXED_HEADER 12
#define RTP_EXT_HEADER 4

#define RTP_EXT_ONE_BYTE 0xBEDE
/* RFC 8285 4.3: 0x100 in the top 12 bits, 4 "appbits" below. */
#define RTP_EXT_TWO_BYTE_MASK 0xFFF0
#define RTP_EXT_TWO_BYTE 0x1000

bool sc_rtp_is_rtcp(const uint8_t *buf, size_t len)
{
    /* RFC 5761 4: RTP payload types 64-95 are avoided on a muxed port because
     * with the marker bit they collide with RTCP types 192-223; so the whole
     * second byte, not just its low 7 bits, is what tells the two apart. */
    if (!buf || len < 2)
        return false;
    return buf[1] >= 192 && buf[1] <= 223;
}

int sc_rtp_parse(const uint8_t *buf, size_t len, sc_rtp *out)
{
    if (len > SC_RTP_MAX_PACKET)
        return -EMSGSIZE;
    if (!buf || len < RTP_FIXED_HEADER || (buf[0] >> 6) != 2)
        return -EINVAL;

    bool has_padding = buf[0] & 0x20;
    bool has_ext = buf[0] & 0x10;
    uint8_t cc = buf[0] & 0x0F;
    /* len is at most SC_RTP_MAX_PACKET, so none of these sums can wrap. */
    size_t hlen = RTP_FIXED_HEADER + 4u * cc;
    if (hlen > len)
        return -EINVAL; /* RELIABILITY 5: CSRC list past the packet */

    uint16_t ext_profile = 0;
    const uint8_t *ext = NULL;
    size_t ext_len = 0;
    if (has_ext) {
        if (hlen + RTP_EXT_HEADER > len)
            return -EINVAL;
        ext_profile = sc_rd16(buf + hlen);
        ext_len = 4u * sc_rd16(buf + hlen + 2);
        hlen += RTP_EXT_HEADER;
        if (ext_len > len - hlen)
            return -EINVAL; /* RELIABILITY 5: extension past the packet */
        ext = buf + hlen;
        hlen += ext_len;
    }

    size_t padding = 0;
    if (has_padding) {
        /* RELIABILITY 6 (pion CVE-2025-49140): the count includes itself, so
         * 0 is malformed, and it may eat the payload but not the header. */
        if (len == hlen)
            return -EINVAL;
        padding = buf[len - 1];
        if (padding == 0 || padding > len - hlen)
            return -EINVAL;
    }

    out->marker = buf[1] >> 7;
    out->pt = buf[1] & 0x7F;
    out->seq = sc_rd16(buf + 2);
    out->ts = sc_rd32(buf + 4);
    out->ssrc = sc_rd32(buf + 8);
    out->csrc_count = cc;
    out->ext_profile = ext_profile;
    out->ext = ext;
    out->ext_len = ext_len;
    out->header_len = hlen;
    out->payload = buf + hlen;
    out->payload_len = len - hlen - padding;
    out->padding_len = (uint8_t)padding;
    return 0;
}

static int find_one_byte(const uint8_t *ext, size_t ext_len, uint8_t id, const uint8_t **data,
                         size_t *len)
{
    if (id < 1 || id > 14)
        return -ENOENT;
    size_t i = 0;
    while (i < ext_len) {
        uint8_t b = ext[i];
        if (b == 0) { /* padding between elements */
            i++;
            continue;
        }
        uint8_t eid = b >> 4;
        size_t elen = (size_t)(b & 0x0F) + 1;
        /* RFC 8285 4.2: ID 15 is reserved; a parser must stop at it rather
         * than guess how long it is. */
        if (eid == 15)
            return -ENOENT;
        if (elen > ext_len - i - 1)
            return -EINVAL; /* RELIABILITY 7 */
        if (eid == id) {
            *data = ext + i + 1;
            *len = elen;
            return 0;
        }
        i += 1 + elen;
    }
    return -ENOENT;
}

static int find_two_byte(const uint8_t *ext, size_t ext_len, uint8_t id, const uint8_t **data,
                         size_t *len)
{
    if (id < 1)
        return -ENOENT;
    size_t i = 0;
    while (i < ext_len) {
        uint8_t eid = ext[i];
        if (eid == 0) {
            i++;
            continue;
        }
        if (ext_len - i < 2)
            return -EINVAL; /* an ID with no room for its length byte */
        size_t elen = ext[i + 1];
        if (elen > ext_len - i - 2)
            return -EINVAL; /* RELIABILITY 7 */
        if (eid == id) {
            /* Two-byte elements may be empty; point at where data would be. */
            *data = ext + i + 2;
            *len = elen;
            return 0;
        }
        i += 2 + elen;
    }
    return -ENOENT;
}

int sc_rtp_find_ext(const sc_rtp *rtp, uint8_t id, const uint8_t **data, size_t *len)
{
    if (!rtp->ext || rtp->ext_len == 0)
        return -ENOENT;
    if (rtp->ext_profile == RTP_EXT_ONE_BYTE)
        return find_one_byte(rtp->ext, rtp->ext_len, id, data, len);
    if ((rtp->ext_profile & RTP_EXT_TWO_BYTE_MASK) == RTP_EXT_TWO_BYTE)
        return find_two_byte(rtp->ext, rtp->ext_len, id, data, len);
    return -ENOENT; /* a profile-specific extension we do not interpret */
}

void sc_rtp_set_seq(uint8_t *buf, uint16_t seq) { sc_wr16(buf + 2, seq); }

void sc_rtp_set_ts(uint8_t *buf, uint32_t ts) { sc_wr32(buf + 4, ts); }

void sc_rtp_set_ssrc(uint8_t *buf, uint32_t ssrc) { sc_wr32(buf + 8, ssrc); }

void sc_rtp_set_pt(uint8_t *buf, uint8_t pt) { buf[1] = (uint8_t)((buf[1] & 0x80) | (pt & 0x7F)); }

void sc_rtp_set_marker(uint8_t *buf, bool marker)
{
    buf[1] = (uint8_t)((buf[1] & 0x7F) | (marker ? 0x80 : 0));
}

int sc_rtp_copy_stripped(const sc_rtp *rtp, const uint8_t *buf, const uint8_t *prefix,
                         size_t prefix_len, uint8_t *out, size_t cap)
{
    return sc_rtp_copy_ext(rtp, buf, prefix, prefix_len, 0, out, cap);
}

#define TWCC_EXT_LEN 8 /* 0xBEDE, one word: id/len, two bytes, one pad */

int sc_rtp_copy_ext(const sc_rtp *rtp, const uint8_t *buf, const uint8_t *prefix,
                    size_t prefix_len, uint8_t twcc_id, uint8_t *out, size_t cap)
{
    size_t payload_len = rtp->payload_len;
    size_t ext = twcc_id ? TWCC_EXT_LEN : 0;
    if (twcc_id > 14)
        return -EINVAL; /* one-byte header extension ids are 1..14 */
    if (prefix_len > SIZE_MAX - RTP_FIXED_HEADER - ext - payload_len)
        return -ENOSPC;
    size_t hdr_len = RTP_FIXED_HEADER + ext;
    size_t total = hdr_len + prefix_len + payload_len;
    if (total > cap || total > INT_MAX)
        return -ENOSPC;

    /* The marker, PT, seq, ts and SSRC come from buf rather than the parsed
     * view, so rewrites made with sc_rtp_set_* after parsing are kept.  The
     * header is taken into a local first and the payload moved with memmove,
     * so out may be buf itself (stripping in place) as long as the new
     * header is not longer than the old one. */
    uint8_t hdr[RTP_FIXED_HEADER + TWCC_EXT_LEN];
    memcpy(hdr, buf, RTP_FIXED_HEADER);
    hdr[0] = 0x80; /* V=2, no padding, no CSRCs */
    if (ext) {
        hdr[0] |= 0x10; /* X: one RFC 8285 one-byte extension block */
        hdr[12] = 0xBE;
        hdr[13] = 0xDE;
        hdr[14] = 0;
        hdr[15] = 1;                          /* one 32-bit word */
        hdr[16] = (uint8_t)(twcc_id << 4 | 1); /* id, length - 1 */
        hdr[17] = hdr[18] = 0;                /* sc_rtp_set_twcc_seq fills it */
        hdr[19] = 0;                          /* padding */
    }

    memmove(out + hdr_len + prefix_len, buf + rtp->header_len, payload_len);
    if (prefix_len)
        memmove(out + hdr_len, prefix, prefix_len);
    memcpy(out, hdr, hdr_len);
    return (int)total;
}

void sc_rtp_set_twcc_seq(uint8_t *buf, uint16_t seq)
{
    buf[RTP_FIXED_HEADER + 5] = (uint8_t)(seq >> 8);
    buf[RTP_FIXED_HEADER + 6] = (uint8_t)seq;
}
