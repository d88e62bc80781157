/* RTCP (RFC 3550) compound walking, the feedback messages the SFU acts on
 * (RFC 4585 NACK/PLI, RFC 5104 FIR, REMB) and their builders.
 *
 * The header length field is the only thing that says where a packet ends,
 * and every count inside (report blocks, FCI entries, REMB SSRCs) is checked
 * against it before anything is read: these are the bugs that bit Janus and
 * mediasoup (RELIABILITY 1, 2, 4). */
#include "sfu/proto/rtcp.h"

#include "sfu/proto/bytes.h"

#include <errno.h>
#include <string.h>

#define RTCP_HEADER 4
#define RTCP_FB_HEADER 12     /* header + sender SSRC + media SSRC */
#define RTCP_SENDER_INFO 20   /* NTP(8) + RTP ts + packet count + octet count */
#define RTCP_REPORT_BLOCK 24
#define RTCP_MAX_COUNT 31     /* the RC field is 5 bits */

#define RTCP_FMT_NACK 1
#define RTCP_FMT_PLI 1
#define RTCP_FMT_FIR 4
#define RTCP_FMT_AFB 15

int sc_rtcp_next(const uint8_t **p, size_t *left, sc_rtcp_pkt *out)
{
    if (*left == 0)
        return 0;
    const uint8_t *b = *p;
    if (*left < RTCP_HEADER || (b[0] >> 6) != 2)
        return -EINVAL;
    uint16_t words = sc_rd16(b + 2);
    /* RELIABILITY 1 (Janus 394fc771): a length of 0 describes a header-only
     * packet, which no type the SFU understands can be, and code that forgets
     * the +1 spins on it forever; refuse it outright. */
    if (words == 0)
        return -EINVAL;
    size_t len = ((size_t)words + 1) * 4;
    if (len > *left)
        return -EINVAL;
    out->pt = b[1];
    out->count = b[0] & 0x1F;
    out->data = b;
    out->len = len;
    *p = b + len;
    *left -= len;
    return 1;
}

int sc_rtcp_validate(const uint8_t *buf, size_t len)
{
    if (!buf || len == 0)
        return -EINVAL; /* an empty datagram is not a compound */
    const uint8_t *p = buf;
    size_t left = len;
    sc_rtcp_pkt pkt;
    int r;
    while ((r = sc_rtcp_next(&p, &left, &pkt)) > 0)
        ;
    return r < 0 ? r : 0;
}

/* Bytes of the packet that carry content: the P bit means the last octet
 * counts trailing padding (RFC 3550 6.4.1), which must not be read as report
 * blocks or FCI.  Returns -EINVAL for a pad count of 0 or one that would eat
 * into the header. */
static int body_len(const sc_rtcp_pkt *pkt, size_t *len)
{
    if (!pkt || !pkt->data || pkt->len < RTCP_HEADER)
        return -EINVAL;
    size_t n = pkt->len;
    if (pkt->data[0] & 0x20) {
        uint8_t pad = pkt->data[n - 1];
        if (pad == 0 || pad > n - RTCP_HEADER)
            return -EINVAL;
        n -= pad;
    }
    *len = n;
    return 0;
}

static void read_report_block(const uint8_t *p, sc_rtcp_report_block *rb)
{
    rb->ssrc = sc_rd32(p);
    rb->fraction_lost = p[4];
    uint32_t lost = sc_rd24(p + 5);
    /* 24-bit two's complement: duplicates can make the count negative. */
    rb->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
    rb->highest_seq = sc_rd32(p + 8);
    rb->jitter = sc_rd32(p + 12);
    rb->lsr = sc_rd32(p + 16);
    rb->dlsr = sc_rd32(p + 20);
}

static void write_report_block(uint8_t *p, const sc_rtcp_report_block *rb)
{
    int32_t lost = rb->cumulative_lost;
    /* Clamp rather than wrap: a huge loss must not read back as a gain. */
    if (lost > 0x7FFFFF)
        lost = 0x7FFFFF;
    if (lost < -0x800000)
        lost = -0x800000;
    sc_wr32(p, rb->ssrc);
    p[4] = rb->fraction_lost;
    sc_wr24(p + 5, (uint32_t)lost & 0xFFFFFF);
    sc_wr32(p + 8, rb->highest_seq);
    sc_wr32(p + 12, rb->jitter);
    sc_wr32(p + 16, rb->lsr);
    sc_wr32(p + 20, rb->dlsr);
}

/* Report blocks start at `off`; RELIABILITY 2: the RC field must fit in the
 * bytes the length field gave us. */
static int read_report_blocks(const sc_rtcp_pkt *pkt, size_t off, size_t len,
                              sc_rtcp_report_block *blocks, int max, int *n)
{
    size_t count = pkt->count;
    if (off > len || count > (len - off) / RTCP_REPORT_BLOCK)
        return -EINVAL;
    int written = 0;
    for (size_t i = 0; i < count && written < max; i++)
        read_report_block(pkt->data + off + i * RTCP_REPORT_BLOCK, &blocks[written++]);
    if (n)
        *n = written;
    return 0;
}

int sc_rtcp_parse_sr(const sc_rtcp_pkt *pkt, sc_rtcp_sr *sr, sc_rtcp_report_block *blocks,
                     int max, int *n)
{
    size_t len;
    if (body_len(pkt, &len) < 0 || pkt->pt != SC_RTCP_SR)
        return -EINVAL;
    size_t off = RTCP_HEADER + 4 + RTCP_SENDER_INFO;
    if (len < off)
        return -EINVAL;
    int r = read_report_blocks(pkt, off, len, blocks, max, n);
    if (r < 0)
        return r;
    const uint8_t *d = pkt->data;
    sr->ssrc = sc_rd32(d + 4);
    sr->ntp = (uint64_t)sc_rd32(d + 8) << 32 | sc_rd32(d + 12);
    sr->rtp_ts = sc_rd32(d + 16);
    sr->packet_count = sc_rd32(d + 20);
    sr->octet_count = sc_rd32(d + 24);
    return 0;
}

int sc_rtcp_parse_rr(const sc_rtcp_pkt *pkt, uint32_t *ssrc, sc_rtcp_report_block *blocks,
                     int max, int *n)
{
    size_t len;
    if (body_len(pkt, &len) < 0 || pkt->pt != SC_RTCP_RR)
        return -EINVAL;
    size_t off = RTCP_HEADER + 4;
    if (len < off)
        return -EINVAL;
    int r = read_report_blocks(pkt, off, len, blocks, max, n);
    if (r < 0)
        return r;
    *ssrc = sc_rd32(pkt->data + 4);
    return 0;
}

/* Common checks for a feedback message of type pt (and fmt, unless -1):
 * sets *len to the content length, header included, or returns -EINVAL. */
static int fb_len(const sc_rtcp_pkt *pkt, uint8_t pt, int fmt, size_t *len)
{
    if (body_len(pkt, len) < 0 || pkt->pt != pt)
        return -EINVAL;
    if (fmt >= 0 && pkt->count != fmt)
        return -EINVAL;
    if (*len < RTCP_FB_HEADER)
        return -EINVAL; /* RELIABILITY 4: no room for the two SSRCs */
    return 0;
}

int sc_rtcp_parse_fb(const sc_rtcp_pkt *pkt, uint32_t *sender_ssrc, uint32_t *media_ssrc)
{
    size_t len;
    if (!pkt || (pkt->pt != SC_RTCP_RTPFB && pkt->pt != SC_RTCP_PSFB))
        return -EINVAL;
    if (fb_len(pkt, pkt->pt, -1, &len) < 0)
        return -EINVAL;
    *sender_ssrc = sc_rd32(pkt->data + 4);
    *media_ssrc = sc_rd32(pkt->data + 8);
    return 0;
}

int sc_rtcp_parse_nack(const sc_rtcp_pkt *pkt, uint16_t *seqs, int max, int *n)
{
    size_t len;
    if (fb_len(pkt, SC_RTCP_RTPFB, RTCP_FMT_NACK, &len) < 0)
        return -EINVAL;
    size_t entries = (len - RTCP_FB_HEADER) / 4;
    if (entries == 0)
        return -EINVAL; /* RFC 4585 6.2.1: at least one PID/BLP pair */
    int written = 0;
    const uint8_t *fci = pkt->data + RTCP_FB_HEADER;
    /* Linear in the packet: at most 17 sequence numbers per 4-byte entry. */
    for (size_t i = 0; i < entries && written < max; i++) {
        uint16_t pid = sc_rd16(fci + 4 * i);
        uint16_t blp = sc_rd16(fci + 4 * i + 2);
        seqs[written++] = pid;
        for (int bit = 0; bit < 16 && written < max; bit++) {
            if (blp & (1u << bit))
                seqs[written++] = (uint16_t)(pid + bit + 1);
        }
    }
    if (n)
        *n = written;
    return 0;
}

int sc_rtcp_parse_fir(const sc_rtcp_pkt *pkt, uint32_t *ssrc, uint8_t *seq_nr)
{
    size_t len;
    if (fb_len(pkt, SC_RTCP_PSFB, RTCP_FMT_FIR, &len) < 0)
        return -EINVAL;
    if (len - RTCP_FB_HEADER < 8)
        return -EINVAL; /* RFC 5104 4.3.1: at least one 8-byte FCI entry */
    const uint8_t *fci = pkt->data + RTCP_FB_HEADER;
    *ssrc = sc_rd32(fci);
    *seq_nr = fci[4];
    return 0;
}

int sc_rtcp_parse_remb(const sc_rtcp_pkt *pkt, uint64_t *bitrate, uint32_t *ssrcs, int max,
                       int *n)
{
    size_t len;
    if (fb_len(pkt, SC_RTCP_PSFB, RTCP_FMT_AFB, &len) < 0)
        return -EINVAL;
    const uint8_t *fci = pkt->data + RTCP_FB_HEADER;
    size_t fci_len = len - RTCP_FB_HEADER;
    if (fci_len < 4)
        return -EINVAL; /* RFC 4585 6.4: an AFB carries an application message */
    if (memcmp(fci, "REMB", 4) != 0)
        return -ENOENT;
    if (fci_len < 8)
        return -EINVAL;
    size_t num = fci[4];
    if (num > (fci_len - 8) / 4)
        return -EINVAL; /* RELIABILITY 2: SSRC count past the packet */
    uint8_t exp = fci[5] >> 2;
    uint64_t mantissa = (uint64_t)(fci[5] & 0x03) << 16 | sc_rd16(fci + 6);
    /* An 18-bit mantissa shifted by up to 63 can exceed 64 bits; saturate
     * instead of wrapping to a small (and harmful) estimate. */
    if (mantissa && exp > 0 && (mantissa >> (64 - exp)) != 0)
        *bitrate = UINT64_MAX;
    else
        *bitrate = mantissa << exp;
    int written = 0;
    for (size_t i = 0; i < num && written < max; i++)
        ssrcs[written++] = sc_rd32(fci + 8 + 4 * i);
    if (n)
        *n = written;
    return 0;
}

static void write_header(uint8_t *buf, uint8_t count, uint8_t pt, size_t len)
{
    buf[0] = (uint8_t)(0x80 | (count & 0x1F));
    buf[1] = pt;
    sc_wr16(buf + 2, (uint16_t)(len / 4 - 1));
}

int sc_rtcp_build_sr(uint8_t *buf, size_t cap, const sc_rtcp_sr *sr)
{
    size_t len = RTCP_HEADER + 4 + RTCP_SENDER_INFO;
    if (cap < len)
        return -ENOSPC;
    write_header(buf, 0, SC_RTCP_SR, len);
    sc_wr32(buf + 4, sr->ssrc);
    sc_wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    sc_wr32(buf + 12, (uint32_t)sr->ntp);
    sc_wr32(buf + 16, sr->rtp_ts);
    sc_wr32(buf + 20, sr->packet_count);
    sc_wr32(buf + 24, sr->octet_count);
    return (int)len;
}

int sc_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                     const sc_rtcp_report_block *blocks, int n)
{
    if (n < 0 || n > RTCP_MAX_COUNT || (n > 0 && !blocks))
        return -EINVAL;
    size_t len = RTCP_HEADER + 4 + (size_t)n * RTCP_REPORT_BLOCK;
    if (cap < len)
        return -ENOSPC;
    write_header(buf, (uint8_t)n, SC_RTCP_RR, len);
    sc_wr32(buf + 4, ssrc);
    for (int i = 0; i < n; i++)
        write_report_block(buf + 8 + (size_t)i * RTCP_REPORT_BLOCK, &blocks[i]);
    return (int)len;
}

int sc_rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (cap < RTCP_FB_HEADER)
        return -ENOSPC;
    write_header(buf, RTCP_FMT_PLI, SC_RTCP_PSFB, RTCP_FB_HEADER);
    sc_wr32(buf + 4, sender_ssrc);
    sc_wr32(buf + 8, media_ssrc);
    return RTCP_FB_HEADER;
}

int sc_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                      uint8_t seq_nr)
{
    size_t len = RTCP_FB_HEADER + 8;
    if (cap < len)
        return -ENOSPC;
    write_header(buf, RTCP_FMT_FIR, SC_RTCP_PSFB, len);
    sc_wr32(buf + 4, sender_ssrc);
    /* RFC 5104 4.3.1.2: the header's media SSRC is unused and set to 0; the
     * target goes in the FCI entry. */
    sc_wr32(buf + 8, 0);
    sc_wr32(buf + 12, media_ssrc);
    buf[16] = seq_nr;
    buf[17] = buf[18] = buf[19] = 0;
    return (int)len;
}

/* Oldest of the set, judged relative to the first with serial-number
 * arithmetic, so a loss run that crosses 65535 -> 0 starts before the wrap. */
static uint16_t oldest_seq(const uint16_t *seqs, int n)
{
    uint16_t ref = seqs[0];
    int16_t min = 0;
    for (int i = 1; i < n; i++) {
        int16_t d = (int16_t)(uint16_t)(seqs[i] - ref);
        if (d < min)
            min = d;
    }
    return (uint16_t)(ref + min);
}

int sc_rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       const uint16_t *seqs, int n)
{
    if (n <= 0 || !seqs)
        return -EINVAL; /* RFC 4585 requires at least one PID/BLP pair */
    if (cap < RTCP_FB_HEADER + 4)
        return -ENOSPC;

    /* A bitmap of the whole sequence space makes the packing independent of
     * the input order and of duplicates, without allocating or sorting. */
    uint64_t lost[65536 / 64];
    memset(lost, 0, sizeof(lost));
    for (int i = 0; i < n; i++)
        lost[seqs[i] >> 6] |= 1ull << (seqs[i] & 63);

    uint16_t start = oldest_seq(seqs, n);
    size_t len = RTCP_FB_HEADER;
    uint32_t pos = 0; /* offset from start, walked once round the space */
    while (pos < 65536) {
        uint16_t s = (uint16_t)(start + pos);
        uint64_t word = lost[s >> 6] >> (s & 63);
        if (word == 0) {
            pos += 64 - (s & 63); /* skip to the next word */
            continue;
        }
        if (!(word & 1)) {
            pos += (uint32_t)__builtin_ctzll(word);
            continue;
        }
        /* s is lost: it becomes the PID, the next 16 go into the BLP. */
        uint16_t blp = 0;
        for (uint32_t k = 1; k <= 16 && pos + k < 65536; k++) {
            uint16_t t = (uint16_t)(s + k);
            if (lost[t >> 6] & (1ull << (t & 63)))
                blp |= (uint16_t)(1u << (k - 1));
        }
        if (len + 4 > cap)
            return -ENOSPC;
        sc_wr16(buf + len, s);
        sc_wr16(buf + len + 2, blp);
        len += 4;
        pos += 17;
    }
    if (len / 4 - 1 > 0xFFFF)
        return -ENOSPC;
    write_header(buf, RTCP_FMT_NACK, SC_RTCP_RTPFB, len);
    sc_wr32(buf + 4, sender_ssrc);
    sc_wr32(buf + 8, media_ssrc);
    return (int)len;
}

int sc_rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                       const uint32_t *ssrcs, int n)
{
    if (n < 0 || n > 255 || (n > 0 && !ssrcs))
        return -EINVAL;
    size_t len = RTCP_FB_HEADER + 8 + 4 * (size_t)n;
    if (cap < len)
        return -ENOSPC;
    /* Smallest exponent whose mantissa fits 18 bits: rounding down keeps the
     * advertised rate at or under the real estimate. */
    uint8_t exp = 0;
    while ((bitrate >> exp) >= (1u << 18))
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate >> exp);
    write_header(buf, RTCP_FMT_AFB, SC_RTCP_PSFB, len);
    sc_wr32(buf + 4, sender_ssrc);
    sc_wr32(buf + 8, 0); /* REMB: media SSRC is unused, 0 */
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)n;
    buf[17] = (uint8_t)(exp << 2 | (mantissa >> 16));
    sc_wr16(buf + 18, (uint16_t)mantissa);
    for (int i = 0; i < n; i++)
        sc_wr32(buf + 20 + 4 * (size_t)i, ssrcs[i]);
    return (int)len;
}

#define RTCP_FMT_TWCC 15
#define TWCC_DELTA_US 250
#define TWCC_REF_US 64000

/* Symbols of the status chunks: 0 not received, 1 small delta (one byte),
 * 2 large or negative delta (two bytes, signed), 3 reserved. */
int sc_rtcp_parse_twcc(const sc_rtcp_pkt *pkt, sc_twcc_fb *fb, int64_t *arrival_us, int max)
{
    size_t len;
    if (!fb || max < 0 || fb_len(pkt, SC_RTCP_RTPFB, RTCP_FMT_TWCC, &len) < 0)
        return -EINVAL;
    const uint8_t *p = pkt->data + RTCP_FB_HEADER;
    const uint8_t *end = pkt->data + len;
    if (end - p < 8)
        return -EINVAL;
    fb->base_seq = sc_rd16(p);
    fb->status_count = sc_rd16(p + 2);
    int32_t ref = (int32_t)(sc_rd24(p + 4) << 8) >> 8; /* sign-extend 24 bits */
    fb->ref_us = (int64_t)ref * TWCC_REF_US;
    fb->fb_count = p[7];
    p += 8;

    /* The chunks come first; the receive deltas follow the last one.  Keep
     * the symbols we have room for, walk the rest only to find the end. */
    uint8_t sym[1024];
    int want = fb->status_count;
    int cap = max < (int)sizeof(sym) ? max : (int)sizeof(sym);
    int idx = 0;
    while (idx < want) {
        if (end - p < 2)
            return -EINVAL;
        uint16_t c = sc_rd16(p);
        p += 2;
        if (!(c & 0x8000)) { /* run length: one symbol repeated */
            int n = c & 0x1fff;
            if (n == 0)
                return -EINVAL; /* a run of nothing cannot advance */
            for (int i = 0; i < n && idx < want; i++, idx++)
                if (idx < cap)
                    sym[idx] = (uint8_t)((c >> 13) & 3);
        } else if (c & 0x4000) { /* status vector, seven two-bit symbols */
            for (int i = 0; i < 7 && idx < want; i++, idx++)
                if (idx < cap)
                    sym[idx] = (uint8_t)((c >> (12 - 2 * i)) & 3);
        } else { /* status vector, fourteen one-bit symbols */
            for (int i = 0; i < 14 && idx < want; i++, idx++)
                if (idx < cap)
                    sym[idx] = (uint8_t)((c >> (13 - i)) & 1);
        }
    }
    int kept = want < cap ? want : cap;
    int64_t t = fb->ref_us;
    for (int i = 0; i < kept; i++) {
        if (sym[i] == 3)
            return -EINVAL;
        if (sym[i] == 0) {
            arrival_us[i] = SC_TWCC_LOST;
            continue;
        }
        if (sym[i] == 1) {
            if (end - p < 1)
                return -EINVAL;
            t += (int64_t)p[0] * TWCC_DELTA_US;
            p += 1;
        } else {
            if (end - p < 2)
                return -EINVAL;
            t += (int64_t)(int16_t)sc_rd16(p) * TWCC_DELTA_US;
            p += 2;
        }
        arrival_us[i] = t;
    }
    fb->count = kept;
    return 0;
}

int sc_rtcp_build_twcc(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       uint16_t base_seq, uint8_t fb_count, const int64_t *arrival_us, int n)
{
    if (n <= 0 || n > 0xffff || !arrival_us)
        return -EINVAL;
    int64_t first = SC_TWCC_LOST;
    for (int i = 0; i < n && first == SC_TWCC_LOST; i++)
        first = arrival_us[i];
    int64_t ref = first == SC_TWCC_LOST ? 0 : first / TWCC_REF_US;
    if (first != SC_TWCC_LOST && first < 0 && first % TWCC_REF_US)
        ref--; /* floor, so the first delta is not negative */
    if (ref < -(1 << 23) || ref >= (1 << 23))
        return -EINVAL;
    size_t chunks = ((size_t)n + 6) / 7;
    size_t need = RTCP_FB_HEADER + 8 + 2 * chunks + 2 * (size_t)n;
    if (cap < need + 3)
        return -ENOSPC;
    uint8_t *p = buf + RTCP_FB_HEADER;
    sc_wr16(p, base_seq);
    sc_wr16(p + 2, (uint16_t)n);
    sc_wr24(p + 4, (uint32_t)ref & 0xffffff);
    p[7] = fb_count;
    uint8_t *c = p + 8;
    uint8_t *d = c + 2 * chunks;
    int64_t t = ref * TWCC_REF_US;
    for (size_t k = 0; k < chunks; k++) {
        uint16_t chunk = 0xc000; /* status vector, two-bit symbols */
        for (int i = 0; i < 7; i++) {
            size_t idx = k * 7 + (size_t)i;
            uint16_t s = 0;
            if (idx < (size_t)n && arrival_us[idx] != SC_TWCC_LOST) {
                int64_t delta = (arrival_us[idx] - t) / TWCC_DELTA_US;
                if (delta >= 0 && delta <= 255) {
                    s = 1;
                    *d++ = (uint8_t)delta;
                } else if (delta >= INT16_MIN && delta <= INT16_MAX) {
                    s = 2;
                    sc_wr16(d, (uint16_t)(int16_t)delta);
                    d += 2;
                } else {
                    return -EINVAL;
                }
                t += delta * TWCC_DELTA_US;
            }
            chunk |= (uint16_t)(s << (12 - 2 * i));
        }
        sc_wr16(c, chunk);
        c += 2;
    }
    size_t len = (size_t)(d - buf);
    while (len % 4)
        buf[len++] = 0;
    write_header(buf, RTCP_FMT_TWCC, SC_RTCP_RTPFB, len);
    sc_wr32(buf + 4, sender_ssrc);
    sc_wr32(buf + 8, media_ssrc);
    return (int)len;
}
