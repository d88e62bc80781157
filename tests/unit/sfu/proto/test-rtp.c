/* Unit tests for sfu/proto/rtp.c: RTP header parsing, RFC 8285 extensions, field
 * writers, stripped copies, and the RELIABILITY items 5, 6, 7, 9, 10. */
#include "sfu/proto/bytes.h"
#include "sfu/proto/rtp.h"

#include "tests/unit/sc_test.h"

#include <errno.h>
#include <stdlib.h>

/* A Chrome-style VP8 packet: PT 96, marker, one-byte extension block holding
 * abs-send-time (id 2, 3 bytes), transport-wide seq (id 3, 2 bytes) and
 * padding to a 32-bit boundary, then a 7-byte payload. */
static const uint8_t chrome_vp8[] = {
    0x90, 0xE0, 0x12, 0x34,             /* V=2 X=1; M=1 PT=96; seq 0x1234 */
    0x00, 0x01, 0xE2, 0x40,             /* ts 123456 */
    0xDE, 0xAD, 0xBE, 0xEF,             /* ssrc */
    0xBE, 0xDE, 0x00, 0x02,             /* one-byte profile, 2 words */
    0x22, 0xAA, 0xBB, 0xCC,             /* id 2 len 3 */
    0x31, 0x01, 0x02, 0x00,             /* id 3 len 2, pad */
    0x90, 0x80, 0x80, 0x01, 0x10, 0x02, 0x03, /* VP8 descriptor + data */
};

static void test_is_rtcp(void)
{
    uint8_t b[2] = {0x80, 0};
    for (int v = 0; v < 256; v++) {
        b[1] = (uint8_t)v;
        SC_CHECK_INT(sc_rtp_is_rtcp(b, 2), v >= 192 && v <= 223);
    }
    /* RTP PT 96 with the marker (0xE0) and PT 100 without it are media. */
    b[1] = 0xE0;
    SC_CHECK(!sc_rtp_is_rtcp(b, 2));
    b[1] = 200;
    SC_CHECK(sc_rtp_is_rtcp(b, 2));
    SC_CHECK(!sc_rtp_is_rtcp(b, 1));
    SC_CHECK(!sc_rtp_is_rtcp(NULL, 0));
}

static void test_parse_chrome(void)
{
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(chrome_vp8, sizeof(chrome_vp8), &r), 0);
    SC_CHECK_INT(r.marker, 1);
    SC_CHECK_INT(r.pt, 96);
    SC_CHECK_INT(r.seq, 0x1234);
    SC_CHECK_INT(r.ts, 123456);
    SC_CHECK_INT(r.ssrc, 0xDEADBEEF);
    SC_CHECK_INT(r.csrc_count, 0);
    SC_CHECK_INT(r.ext_profile, 0xBEDE);
    SC_CHECK(r.ext == chrome_vp8 + 16);
    SC_CHECK_INT(r.ext_len, 8);
    SC_CHECK_INT(r.header_len, 24);
    SC_CHECK(r.payload == chrome_vp8 + 24);
    SC_CHECK_INT(r.payload_len, 7);
    SC_CHECK_INT(r.padding_len, 0);

    const uint8_t *d = NULL;
    size_t l = 0;
    SC_CHECK_INT(sc_rtp_find_ext(&r, 2, &d, &l), 0);
    SC_CHECK_INT(l, 3);
    SC_CHECK(d == chrome_vp8 + 17);
    SC_CHECK_INT(sc_rd24(d), 0xAABBCC);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 3, &d, &l), 0);
    SC_CHECK_INT(l, 2);
    SC_CHECK_INT(sc_rd16(d), 0x0102);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 4, &d, &l), -ENOENT);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 15, &d, &l), -ENOENT);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 0, &d, &l), -ENOENT);
}

static void test_parse_plain_and_csrc(void)
{
    /* PT 111 Opus, 2 CSRCs, no extension. */
    uint8_t p[12 + 8 + 3] = {0x82, 111, 0xFF, 0xFF, 0, 0, 0, 1, 0, 0, 0, 2,
                             0, 0, 0, 10, 0, 0, 0, 11, 0xA, 0xB, 0xC};
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.marker, 0);
    SC_CHECK_INT(r.pt, 111);
    SC_CHECK_INT(r.seq, 65535);
    SC_CHECK_INT(r.csrc_count, 2);
    SC_CHECK_INT(r.header_len, 20);
    SC_CHECK_INT(r.payload_len, 3);
    SC_CHECK_INT(r.payload[0], 0xA);
    SC_CHECK_INT(r.ext_profile, 0);
    SC_CHECK(r.ext == NULL);
    const uint8_t *d;
    size_t l;
    SC_CHECK_INT(sc_rtp_find_ext(&r, 1, &d, &l), -ENOENT);

    /* Not version 2, too short. */
    p[0] = 0x42;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[0] = 0x80;
    SC_CHECK_INT(sc_rtp_parse(p, 11, &r), -EINVAL);
    SC_CHECK_INT(sc_rtp_parse(p, 12, &r), 0);
    SC_CHECK_INT(r.payload_len, 0);
}

/* RELIABILITY 5: CSRC count or extension length past the packet. */
static void test_overrun_header(void)
{
    uint8_t p[32] = {0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    sc_rtp r;
    p[0] = 0x8F; /* 15 CSRCs = 72 bytes of header */
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[0] = 0x85; /* 5 CSRCs = 32 bytes: exactly fits, empty payload */
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.payload_len, 0);
    SC_CHECK_INT(sc_rtp_parse(p, 31, &r), -EINVAL);

    /* X set with no room for the extension header. */
    p[0] = 0x90;
    SC_CHECK_INT(sc_rtp_parse(p, 14, &r), -EINVAL);
    /* Extension claims 0xFFFF words. */
    p[12] = 0xBE, p[13] = 0xDE, p[14] = 0xFF, p[15] = 0xFF;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    /* Claims 5 words = 20 bytes; 16 are left. */
    p[14] = 0, p[15] = 5;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[15] = 4; /* exactly fits */
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.ext_len, 16);
    SC_CHECK_INT(r.payload_len, 0);
    /* CSRCs plus extension together overrun: with one CSRC the extension
     * header moves to offset 16 and 4 words no longer fit. */
    p[0] = 0x91;
    p[16] = 0xBE, p[17] = 0xDE, p[18] = 0, p[19] = 4;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[19] = 3;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.csrc_count, 1);
    SC_CHECK_INT(r.header_len, 32);
    /* Two CSRCs: the extension header is now read at offset 20. */
    p[0] = 0x92;
    p[20] = 0xBE, p[21] = 0xDE, p[22] = 0, p[23] = 3;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[23] = 2;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.header_len, 32);
}

/* RELIABILITY 6: padding bit with pad length 0 or beyond the payload. */
static void test_padding(void)
{
    uint8_t p[20] = {0xA0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 0, 0, 0, 4};
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.padding_len, 4);
    SC_CHECK_INT(r.payload_len, 4);
    /* Padding-only packet (bandwidth probing) is legal. */
    p[19] = 8;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.payload_len, 0);
    p[19] = 9;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[19] = 255;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    p[19] = 0;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), -EINVAL);
    /* P bit with no byte after the header at all. */
    SC_CHECK_INT(sc_rtp_parse(p, 12, &r), -EINVAL);
    /* Padding must not eat into the extension. */
    uint8_t q[20] = {0xB0, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 1, 0, 1};
    q[19] = 1;
    SC_CHECK_INT(sc_rtp_parse(q, sizeof(q), &r), -EINVAL); /* no payload bytes left */
    uint8_t q2[21];
    memcpy(q2, q, 20);
    q2[20] = 1;
    SC_CHECK_INT(sc_rtp_parse(q2, sizeof(q2), &r), 0);
    SC_CHECK_INT(r.payload_len, 0);
    q2[20] = 2;
    SC_CHECK_INT(sc_rtp_parse(q2, sizeof(q2), &r), -EINVAL);
}

/* RELIABILITY 7: extension element lengths that overrun the block. */
static void test_ext_overrun(void)
{
    uint8_t p[24] = {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 2};
    sc_rtp r;
    const uint8_t *d;
    size_t l;

    /* One-byte: id 1 len 2, then id 2 claiming 16 bytes with 4 left. */
    uint8_t e1[8] = {0x11, 0xAA, 0xBB, 0x2F, 1, 2, 3, 4};
    memcpy(p + 16, e1, 8);
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 1, &d, &l), 0);
    SC_CHECK_INT(l, 2);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 2, &d, &l), -EINVAL);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 3, &d, &l), -EINVAL); /* must walk past it */
    /* Last byte a header whose 1-byte body is missing. */
    uint8_t e2[8] = {0, 0, 0, 0, 0, 0, 0, 0x50};
    memcpy(p + 16, e2, 8);
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 5, &d, &l), -EINVAL);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 6, &d, &l), -EINVAL);
    /* An element ending exactly at the block end is fine. */
    uint8_t e3[8] = {0, 0, 0, 0x52, 7, 8, 9, 0};
    memcpy(p + 16, e3, 8);
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 5, &d, &l), 0);
    SC_CHECK_INT(l, 3);
    SC_CHECK_INT(d[2], 9);
    /* ID 15 stops the walk (RFC 8285): anything after it is not found. */
    uint8_t e4[8] = {0xF0, 0x00, 0x31, 1, 2, 3, 0, 0};
    memcpy(p + 16, e4, 8);
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 3, &d, &l), -ENOENT);

    /* Two-byte header (0x1000): id 7 len 3, id 200 len 0, id 9 len 200. */
    uint8_t t[12 + 4 + 12] = {0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0, 3,
                              7, 3, 0xA, 0xB, 0xC, 0, 200, 0, 9, 200, 0, 0};
    SC_CHECK_INT(sc_rtp_parse(t, sizeof(t), &r), 0);
    SC_CHECK_INT(r.ext_profile, 0x1000);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 7, &d, &l), 0);
    SC_CHECK_INT(l, 3);
    SC_CHECK_INT(d[0], 0xA);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 200, &d, &l), 0);
    SC_CHECK_INT(l, 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 9, &d, &l), -EINVAL);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 10, &d, &l), -EINVAL);
    /* Two-byte appbits variant and an ID byte with no length byte. */
    t[13] = 0x05;
    t[24] = 0, t[25] = 0, t[26] = 0, t[27] = 9;
    SC_CHECK_INT(sc_rtp_parse(t, sizeof(t), &r), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 7, &d, &l), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 9, &d, &l), -EINVAL);
    /* Unknown profile: nothing is interpreted. */
    t[12] = 0x12, t[13] = 0x34;
    SC_CHECK_INT(sc_rtp_parse(t, sizeof(t), &r), 0);
    SC_CHECK_INT(sc_rtp_find_ext(&r, 7, &d, &l), -ENOENT);
}

/* RELIABILITY 9: packets larger than the MTU are refused. */
static void test_max_packet(void)
{
    static uint8_t big[SC_RTP_MAX_PACKET + 1];
    big[0] = 0x80;
    big[1] = 96;
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(big, SC_RTP_MAX_PACKET, &r), 0);
    SC_CHECK_INT(r.payload_len, SC_RTP_MAX_PACKET - 12);
    SC_CHECK_INT(sc_rtp_parse(big, SC_RTP_MAX_PACKET + 1, &r), -EMSGSIZE);
    SC_CHECK_INT(sc_rtp_parse(big, 65536, &r), -EMSGSIZE);
}

/* RELIABILITY 10: sequence numbers across the wrap. */
static void test_seq_newer(void)
{
    SC_CHECK(sc_seq_newer(1, 0));
    SC_CHECK(!sc_seq_newer(0, 1));
    SC_CHECK(sc_seq_newer(0, 65535));
    SC_CHECK(sc_seq_newer(5, 65530));
    SC_CHECK(!sc_seq_newer(65530, 5));
    SC_CHECK(!sc_seq_newer(7, 7));
    SC_CHECK(sc_seq_newer(0x7FFF, 0));
    SC_CHECK(!sc_seq_newer(0x8000, 0));
    /* Asked for 65,535 back: that is one ahead, modulo 2^16. */
    SC_CHECK(sc_seq_newer(100, (uint16_t)(100 - 65535)) == false);
    SC_CHECK(sc_seq_newer((uint16_t)(100 - 65535), 100));
}

static void test_setters(void)
{
    uint8_t p[sizeof(chrome_vp8)];
    memcpy(p, chrome_vp8, sizeof(p));
    sc_rtp_set_seq(p, 65535);
    sc_rtp_set_ts(p, 0xFFFFFFF0u);
    sc_rtp_set_ssrc(p, 42);
    sc_rtp_set_pt(p, 0xFF); /* only 7 bits land */
    sc_rtp_set_marker(p, false);
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.seq, 65535);
    SC_CHECK_INT(r.ts, 0xFFFFFFF0u);
    SC_CHECK_INT(r.ssrc, 42);
    SC_CHECK_INT(r.pt, 127);
    SC_CHECK_INT(r.marker, 0);
    sc_rtp_set_pt(p, 97);
    sc_rtp_set_marker(p, true);
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.pt, 97);
    SC_CHECK_INT(r.marker, 1);
    SC_CHECK_INT(r.ext_len, 8); /* the rest of the header is untouched */
    SC_CHECK(memcmp(p + 12, chrome_vp8 + 12, sizeof(p) - 12) == 0);
}

static void test_copy_stripped(void)
{
    /* CSRC + extension + padding, all of which must go. */
    uint8_t p[] = {0xB1, 0xE0, 0xAB, 0xCD, 0, 0, 0x10, 0, 0, 0, 0, 9,
                   0, 0, 0, 77,                 /* CSRC */
                   0xBE, 0xDE, 0, 1, 0x10, 0x55, 0, 0,
                   'h', 'e', 'l', 'l', 'o', 0, 0, 3};
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    SC_CHECK_INT(r.payload_len, 5);
    uint8_t prefix[2] = {0xAB, 0xCD}; /* RTX OSN */
    uint8_t out[64];
    int n = sc_rtp_copy_stripped(&r, p, prefix, 2, out, sizeof(out));
    SC_CHECK_INT(n, 12 + 2 + 5);
    sc_rtp s;
    SC_CHECK_INT(sc_rtp_parse(out, (size_t)n, &s), 0);
    SC_CHECK_INT(out[0], 0x80);
    SC_CHECK_INT(s.csrc_count, 0);
    SC_CHECK(s.ext == NULL);
    SC_CHECK_INT(s.padding_len, 0);
    SC_CHECK_INT(s.seq, r.seq);
    SC_CHECK_INT(s.ts, r.ts);
    SC_CHECK_INT(s.ssrc, r.ssrc);
    SC_CHECK_INT(s.pt, r.pt);
    SC_CHECK_INT(s.marker, r.marker);
    SC_CHECK_INT(s.header_len, 12);
    SC_CHECK_INT(s.payload_len, 7);
    SC_CHECK(memcmp(s.payload, prefix, 2) == 0);
    SC_CHECK(memcmp(s.payload + 2, "hello", 5) == 0);

    /* No prefix, and exact / too-small capacity. */
    n = sc_rtp_copy_stripped(&r, p, NULL, 0, out, 17);
    SC_CHECK_INT(n, 17);
    SC_CHECK(memcmp(out + 12, "hello", 5) == 0);
    SC_CHECK_INT(sc_rtp_copy_stripped(&r, p, NULL, 0, out, 16), -ENOSPC);
    SC_CHECK_INT(sc_rtp_copy_stripped(&r, p, prefix, 2, out, 18), -ENOSPC);
    SC_CHECK_INT(sc_rtp_copy_stripped(&r, p, prefix, SIZE_MAX, out, sizeof(out)), -ENOSPC);

    /* Rewrites made after parsing are carried over. */
    uint8_t q[sizeof(p)];
    memcpy(q, p, sizeof(q));
    SC_CHECK_INT(sc_rtp_parse(q, sizeof(q), &r), 0);
    sc_rtp_set_seq(q, 7);
    sc_rtp_set_ssrc(q, 1234);
    n = sc_rtp_copy_stripped(&r, q, NULL, 0, out, sizeof(out));
    SC_CHECK_INT(sc_rtp_parse(out, (size_t)n, &s), 0);
    SC_CHECK_INT(s.seq, 7);
    SC_CHECK_INT(s.ssrc, 1234);

    /* In place, with a prefix longer than what was stripped is not possible
     * here (20 bytes stripped), so strip in place with a 2-byte prefix. */
    memcpy(q, p, sizeof(q));
    SC_CHECK_INT(sc_rtp_parse(q, sizeof(q), &r), 0);
    n = sc_rtp_copy_stripped(&r, q, prefix, 2, q, sizeof(q));
    SC_CHECK_INT(n, 19);
    SC_CHECK_INT(sc_rtp_parse(q, (size_t)n, &s), 0);
    SC_CHECK_INT(s.seq, 0xABCD);
    SC_CHECK(memcmp(s.payload, "\xAB\xCDhello", 7) == 0);

    /* The Chrome packet: extension dropped, payload intact. */
    SC_CHECK_INT(sc_rtp_parse(chrome_vp8, sizeof(chrome_vp8), &r), 0);
    n = sc_rtp_copy_stripped(&r, chrome_vp8, NULL, 0, out, sizeof(out));
    SC_CHECK_INT(n, 12 + 7);
    SC_CHECK_INT(sc_rtp_parse(out, (size_t)n, &s), 0);
    SC_CHECK(memcmp(s.payload, chrome_vp8 + 24, 7) == 0);
    SC_CHECK_INT(s.marker, 1);
    SC_CHECK_INT(s.pt, 96);
}

/* Every truncation of a valid packet either parses or fails cleanly; run
 * under ASan with exact-size copies so an over-read would be caught. */
static void test_truncations(void)
{
    int ok = 0;
    for (size_t n = 0; n <= sizeof(chrome_vp8); n++) {
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, chrome_vp8, n);
        sc_rtp r;
        int rc = sc_rtp_parse(b, n, &r);
        if (rc == 0) {
            ok++;
            SC_CHECK(r.header_len + r.payload_len + r.padding_len == n);
            for (uint8_t id = 1; id <= 15; id++) {
                const uint8_t *d;
                size_t l;
                if (sc_rtp_find_ext(&r, id, &d, &l) == 0)
                    SC_CHECK(d >= r.ext && d + l <= r.ext + r.ext_len);
            }
        } else {
            SC_CHECK_INT(rc, -EINVAL);
        }
        free(b);
    }
    SC_CHECK_INT(ok, sizeof(chrome_vp8) - 24 + 1); /* parses once the header is whole */
}

/* The copy with a transport-wide sequence number: the viewer's parser finds
 * the extension with its value, the payload follows intact; ids out of the
 * one-byte range are refused. */
static void test_copy_twcc(void)
{
    uint8_t p[] = {0x90, 0x60, 0x12, 0x34, 0, 0, 0, 9, 0, 0, 0, 7,
                   0xBE, 0xDE, 0, 1, 0x10, 0x55, 0, 0,
                   'h', 'e', 'l', 'l', 'o'};
    sc_rtp r;
    SC_CHECK_INT(sc_rtp_parse(p, sizeof(p), &r), 0);
    uint8_t out[64];
    uint8_t osn[2] = {1, 2};
    int n = sc_rtp_copy_ext(&r, p, osn, 2, 5, out, sizeof(out));
    SC_CHECK_INT(n, 12 + 8 + 2 + 5);
    sc_rtp_set_twcc_seq(out, 0xBEEF);
    sc_rtp s;
    SC_CHECK_INT(sc_rtp_parse(out, (size_t)n, &s), 0);
    const uint8_t *v;
    size_t vlen;
    SC_CHECK_INT(sc_rtp_find_ext(&s, 5, &v, &vlen), 0);
    SC_CHECK_INT(vlen, 2);
    SC_CHECK_INT(v[0] << 8 | v[1], 0xBEEF);
    SC_CHECK(sc_rtp_find_ext(&s, 1, &v, &vlen) != 0); /* the publisher's id 1 is gone */
    SC_CHECK_INT(s.payload_len, 7);
    SC_CHECK(memcmp(s.payload + 2, "hello", 5) == 0);
    SC_CHECK_INT(s.seq, 0x1234);
    SC_CHECK_INT(sc_rtp_copy_ext(&r, p, NULL, 0, 15, out, sizeof(out)), -EINVAL);
    SC_CHECK_INT(sc_rtp_copy_ext(&r, p, NULL, 0, 5, out, 24), -ENOSPC);
    SC_CHECK_INT(sc_rtp_copy_ext(&r, p, NULL, 0, 5, out, 25), 25);
}

int main(void)
{
    test_copy_twcc();
    test_is_rtcp();
    test_parse_chrome();
    test_parse_plain_and_csrc();
    test_overrun_header();
    test_padding();
    test_ext_overrun();
    test_max_packet();
    test_seq_newer();
    test_setters();
    test_copy_stripped();
    test_truncations();
    SC_TEST_END();
}
