/* Unit tests for sfu/proto/rtcp.c: compound walking, SR/RR/NACK/PLI/FIR/REMB
 * parsing and building, and RELIABILITY items 1, 2 and 4. */
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"
#include "sfu/proto/rtcp.h"

#include "tests/unit/sc_test.h"

#include <errno.h>
#include <stdlib.h>

static int next_ok(const uint8_t *buf, size_t len, sc_rtcp_pkt *pkt)
{
    const uint8_t *p = buf;
    size_t left = len;
    return sc_rtcp_next(&p, &left, pkt);
}

/* An SR with 2 report blocks, built by hand byte by byte. */
static const uint8_t sr2[] = {
    0x82, 200, 0x00, 0x12,                          /* RC=2, length 18 words */
    0x11, 0x22, 0x33, 0x44,                         /* sender SSRC */
    0xE8, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, /* NTP */
    0x00, 0x0F, 0x42, 0x40,                         /* RTP ts 1000000 */
    0x00, 0x00, 0x03, 0xE8,                         /* 1000 packets */
    0x00, 0x0F, 0x42, 0x40,                         /* 1000000 octets */
    /* block 1 */
    0xAA, 0xAA, 0xAA, 0xAA, 0x40, 0x00, 0x00, 0x05, 0x00, 0x01, 0xFF, 0xFF,
    0x00, 0x00, 0x00, 0x20, 0x12, 0x34, 0x56, 0x78, 0x00, 0x01, 0x00, 0x00,
    /* block 2: cumulative lost -1 (duplicates) */
    0xBB, 0xBB, 0xBB, 0xBB, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x10, 0x00,
    0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_sr_two_blocks(void)
{
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(sr2, sizeof(sr2), &pkt), 1);
    SC_CHECK_INT(pkt.pt, SC_RTCP_SR);
    SC_CHECK_INT(pkt.count, 2);
    SC_CHECK_INT(pkt.len, sizeof(sr2));
    sc_rtcp_sr sr;
    sc_rtcp_report_block rb[4];
    int n = -1;
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &sr, rb, 4, &n), 0);
    SC_CHECK_INT(n, 2);
    SC_CHECK_INT(sr.ssrc, 0x11223344);
    SC_CHECK(sr.ntp == 0xE800000180000000ull);
    SC_CHECK_INT(sr.rtp_ts, 1000000);
    SC_CHECK_INT(sr.packet_count, 1000);
    SC_CHECK_INT(sr.octet_count, 1000000);
    SC_CHECK_INT(rb[0].ssrc, 0xAAAAAAAA);
    SC_CHECK_INT(rb[0].fraction_lost, 0x40);
    SC_CHECK_INT(rb[0].cumulative_lost, 5);
    SC_CHECK_INT(rb[0].highest_seq, 0x0001FFFF);
    SC_CHECK_INT(rb[0].jitter, 32);
    SC_CHECK_INT(rb[0].lsr, 0x12345678);
    SC_CHECK_INT(rb[0].dlsr, 65536);
    SC_CHECK_INT(rb[1].ssrc, 0xBBBBBBBB);
    SC_CHECK_INT(rb[1].cumulative_lost, -1);
    SC_CHECK_INT(rb[1].highest_seq, 4096);

    /* max smaller than the count: only max written, not an error. */
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &sr, rb, 1, &n), 0);
    SC_CHECK_INT(n, 1);
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &sr, NULL, 0, &n), 0);
    SC_CHECK_INT(n, 0);
    /* Wrong type for the parser. */
    uint32_t ssrc;
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 4, &n), -EINVAL);
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &ssrc, &ssrc), -EINVAL);
}

/* RELIABILITY 2: report counts that overrun the packet. */
static void test_report_count_overrun(void)
{
    uint8_t b[sizeof(sr2)];
    memcpy(b, sr2, sizeof(b));
    b[0] = 0x83; /* RC=3 but only 2 blocks */
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(b, sizeof(b), &pkt), 1);
    sc_rtcp_sr sr;
    sc_rtcp_report_block rb[31];
    int n = 0;
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &sr, rb, 31, &n), -EINVAL);
    b[0] = 0x9F; /* RC=31 */
    SC_CHECK_INT(next_ok(b, sizeof(b), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &sr, rb, 31, &n), -EINVAL);
    /* SR shorter than its sender info. */
    uint8_t s[] = {0x80, 200, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8};
    SC_CHECK_INT(next_ok(s, sizeof(s), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &sr, rb, 31, &n), -EINVAL);

    /* RR with RC=1 and no block; RR with RC=0 is fine. */
    uint8_t rr[] = {0x81, 201, 0, 1, 0, 0, 0, 9};
    uint32_t ssrc = 0;
    SC_CHECK_INT(next_ok(rr, sizeof(rr), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 31, &n), -EINVAL);
    rr[0] = 0x80;
    SC_CHECK_INT(next_ok(rr, sizeof(rr), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 31, &n), 0);
    SC_CHECK_INT(ssrc, 9);
    SC_CHECK_INT(n, 0);

    /* Padding: the pad must not be counted as report-block bytes. */
    uint8_t rp[8 + 24 + 4];
    memset(rp, 0, sizeof(rp));
    rp[0] = 0xA1, rp[1] = 201, rp[3] = 8;
    rp[35] = 4;
    SC_CHECK_INT(next_ok(rp, sizeof(rp), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 31, &n), 0);
    SC_CHECK_INT(n, 1);
    rp[35] = 8; /* pad eats into the block */
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 31, &n), -EINVAL);
    rp[35] = 0;
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 31, &n), -EINVAL);
    rp[35] = 200;
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 31, &n), -EINVAL);
}

/* A compound RR + REMB as Chrome sends it. */
static void test_compound_rr_remb(void)
{
    static const uint8_t c[] = {
        0x81, 201, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01,       /* RR, 1 block */
        0x12, 0x34, 0x56, 0x78, 0x05, 0x00, 0x00, 0x10, 0x00, 0x00, 0x27, 0x10,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x8F, 206, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        'R', 'E', 'M', 'B', 0x01, 0x0A, 0x3D, 0x09,           /* exp 2, mant 0x23D09 */
        0x12, 0x34, 0x56, 0x78,
    };
    SC_CHECK_INT(sc_rtcp_validate(c, sizeof(c)), 0);
    const uint8_t *p = c;
    size_t left = sizeof(c);
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), 1);
    SC_CHECK_INT(pkt.pt, SC_RTCP_RR);
    SC_CHECK_INT(pkt.len, 32);
    uint32_t ssrc = 0;
    sc_rtcp_report_block rb[2];
    int n = 0;
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, rb, 2, &n), 0);
    SC_CHECK_INT(ssrc, 1);
    SC_CHECK_INT(n, 1);
    SC_CHECK_INT(rb[0].ssrc, 0x12345678);
    SC_CHECK_INT(rb[0].fraction_lost, 5);
    SC_CHECK_INT(rb[0].cumulative_lost, 16);
    SC_CHECK_INT(rb[0].highest_seq, 10000);
    SC_CHECK_INT(rb[0].jitter, 2);

    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), 1);
    SC_CHECK_INT(pkt.pt, SC_RTCP_PSFB);
    SC_CHECK_INT(pkt.count, 15);
    uint32_t snd = 0, media = 7;
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &snd, &media), 0);
    SC_CHECK_INT(snd, 1);
    SC_CHECK_INT(media, 0);
    uint64_t br = 0;
    uint32_t ssrcs[4];
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, ssrcs, 4, &n), 0);
    SC_CHECK(br == (uint64_t)0x23D09 << 2);
    SC_CHECK_INT(n, 1);
    SC_CHECK_INT(ssrcs[0], 0x12345678);
    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), 0);
    SC_CHECK_INT(left, 0);

    /* The REMB parser refuses other packet types and formats. */
    SC_CHECK_INT(next_ok(c, sizeof(c), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, ssrcs, 4, &n), -EINVAL);
}

/* RELIABILITY 1: length 0 or beyond the bytes left. */
static void test_bad_lengths(void)
{
    sc_rtcp_pkt pkt;
    const uint8_t *p;
    size_t left;
    uint8_t zero[] = {0x80, 201, 0, 0, 0, 0, 0, 1};
    p = zero, left = sizeof(zero);
    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), -EINVAL);
    SC_CHECK_INT(sc_rtcp_validate(zero, sizeof(zero)), -EINVAL);
    /* Second packet of a compound with length 0: the walk must end, not spin. */
    uint8_t c2[] = {0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201, 0, 0};
    SC_CHECK_INT(sc_rtcp_validate(c2, sizeof(c2)), -EINVAL);
    p = c2, left = sizeof(c2);
    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), 1);
    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), -EINVAL);

    uint8_t over[] = {0x80, 201, 0, 2, 0, 0, 0, 1};
    SC_CHECK_INT(sc_rtcp_validate(over, sizeof(over)), -EINVAL);
    uint8_t huge[] = {0x80, 201, 0xFF, 0xFF, 0, 0, 0, 1};
    SC_CHECK_INT(sc_rtcp_validate(huge, sizeof(huge)), -EINVAL);
    /* Truncated header, trailing garbage shorter than a header, version 1. */
    SC_CHECK_INT(sc_rtcp_validate(zero, 3), -EINVAL);
    uint8_t trail[] = {0x80, 201, 0, 1, 0, 0, 0, 1, 0x80};
    SC_CHECK_INT(sc_rtcp_validate(trail, sizeof(trail)), -EINVAL);
    uint8_t v1[] = {0x40, 201, 0, 1, 0, 0, 0, 1};
    SC_CHECK_INT(sc_rtcp_validate(v1, sizeof(v1)), -EINVAL);
    SC_CHECK_INT(sc_rtcp_validate(v1, 0), -EINVAL);
    v1[0] = 0x80;
    SC_CHECK_INT(sc_rtcp_validate(v1, sizeof(v1)), 0);
    /* End of input is 0, not an error. */
    p = v1, left = 0;
    SC_CHECK_INT(sc_rtcp_next(&p, &left, &pkt), 0);
}

static void test_nack(void)
{
    /* NACK: PID 1000 with BLP bits 0 and 15 -> 1000, 1001, 1016; and PID 65535
     * with BLP bit 0 -> 65535, 0. */
    static const uint8_t nk[] = {
        0x81, 205, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2,
        0x03, 0xE8, 0x80, 0x01, 0xFF, 0xFF, 0x00, 0x01,
    };
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(nk, sizeof(nk), &pkt), 1);
    uint32_t snd = 0, media = 0;
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &snd, &media), 0);
    SC_CHECK_INT(snd, 1);
    SC_CHECK_INT(media, 2);
    uint16_t seqs[64];
    int n = 0;
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, seqs, 64, &n), 0);
    SC_CHECK_INT(n, 5);
    SC_CHECK_INT(seqs[0], 1000);
    SC_CHECK_INT(seqs[1], 1001);
    SC_CHECK_INT(seqs[2], 1016);
    SC_CHECK_INT(seqs[3], 65535);
    SC_CHECK_INT(seqs[4], 0);
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, seqs, 2, &n), 0);
    SC_CHECK_INT(n, 2);

    /* RELIABILITY 2/4: a NACK with no FCI; a NACK as a PSFB; a wrong FMT. */
    uint8_t empty[] = {0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2};
    SC_CHECK_INT(next_ok(empty, sizeof(empty), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, seqs, 64, &n), -EINVAL);
    uint8_t b[sizeof(nk)];
    memcpy(b, nk, sizeof(b));
    b[1] = 206;
    SC_CHECK_INT(next_ok(b, sizeof(b), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, seqs, 64, &n), -EINVAL);
    b[1] = 205, b[0] = 0x8F;
    SC_CHECK_INT(next_ok(b, sizeof(b), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, seqs, 64, &n), -EINVAL);
    /* A feedback header that stops before the media SSRC. */
    uint8_t shortfb[] = {0x81, 205, 0, 1, 0, 0, 0, 1};
    SC_CHECK_INT(next_ok(shortfb, sizeof(shortfb), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &snd, &media), -EINVAL);
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, seqs, 64, &n), -EINVAL);

    /* The largest NACK a packet can describe parses in one linear pass and
     * yields exactly 17 seqs per entry. */
    size_t entries = 2000;
    size_t len = 12 + 4 * entries;
    uint8_t *big = calloc(1, len);
    big[0] = 0x81, big[1] = 205;
    sc_wr16(big + 2, (uint16_t)(len / 4 - 1));
    for (size_t i = 0; i < entries; i++) {
        sc_wr16(big + 12 + 4 * i, (uint16_t)(i * 17));
        sc_wr16(big + 14 + 4 * i, 0xFFFF);
    }
    SC_CHECK_INT(next_ok(big, len, &pkt), 1);
    static uint16_t all[40000];
    SC_CHECK_INT(sc_rtcp_parse_nack(&pkt, all, 40000, &n), 0);
    SC_CHECK_INT(n, 2000 * 17);
    int seq_ok = 1;
    for (int i = 0; i < n; i++)
        seq_ok &= all[i] == (uint16_t)i;
    SC_CHECK(seq_ok);
    free(big);
}

static int nack_roundtrip(const uint16_t *in, int n_in, uint16_t *out, int max)
{
    uint8_t buf[1500];
    int len = sc_rtcp_build_nack(buf, sizeof(buf), 0x1111, 0x2222, in, n_in);
    if (len < 0)
        return len;
    sc_rtcp_pkt pkt;
    if (sc_rtcp_validate(buf, (size_t)len) < 0 || next_ok(buf, (size_t)len, &pkt) != 1)
        return -100;
    if (pkt.len != (size_t)len)
        return -101;
    uint32_t s, m;
    if (sc_rtcp_parse_fb(&pkt, &s, &m) < 0 || s != 0x1111 || m != 0x2222)
        return -102;
    int n = 0;
    if (sc_rtcp_parse_nack(&pkt, out, max, &n) < 0)
        return -103;
    return n;
}

static int contains(const uint16_t *a, int n, uint16_t v)
{
    for (int i = 0; i < n; i++)
        if (a[i] == v)
            return 1;
    return 0;
}

static void test_nack_build(void)
{
    uint16_t out[256];
    /* Unsorted, spread further than 16 apart, with a duplicate. */
    uint16_t a[] = {500, 100, 116, 117, 101, 300, 100};
    int n = nack_roundtrip(a, 7, out, 256);
    SC_CHECK_INT(n, 6);
    for (int i = 0; i < 7; i++)
        SC_CHECK(contains(out, n, a[i]));
    /* Oldest first: PID 100 covers 101 and 116; 117 needs its own pair. */
    SC_CHECK_INT(out[0], 100);
    SC_CHECK_INT(out[1], 101);
    SC_CHECK_INT(out[2], 116);
    SC_CHECK_INT(out[3], 117);
    SC_CHECK_INT(out[4], 300);
    SC_CHECK_INT(out[5], 500);
    uint8_t buf[1500];
    SC_CHECK_INT(sc_rtcp_build_nack(buf, sizeof(buf), 1, 2, a, 7), 12 + 4 * 4);

    /* Across the 65535 -> 0 wrap: one pair covers 65530..9. */
    uint16_t w[] = {3, 65534, 65530, 0, 9, 65535};
    n = nack_roundtrip(w, 6, out, 256);
    SC_CHECK_INT(n, 6);
    SC_CHECK_INT(out[0], 65530);
    SC_CHECK_INT(out[1], 65534);
    SC_CHECK_INT(out[2], 65535);
    SC_CHECK_INT(out[3], 0);
    SC_CHECK_INT(out[4], 3);
    SC_CHECK_INT(out[5], 9);
    SC_CHECK_INT(sc_rtcp_build_nack(buf, sizeof(buf), 1, 2, w, 6), 16);

    /* Every one of 100 consecutive seqs across the wrap. */
    uint16_t run[100];
    for (int i = 0; i < 100; i++)
        run[i] = (uint16_t)(65500 + i);
    n = nack_roundtrip(run, 100, out, 256);
    SC_CHECK_INT(n, 100);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= out[i] == run[i];
    SC_CHECK(same);
    SC_CHECK_INT(sc_rtcp_build_nack(buf, sizeof(buf), 1, 2, run, 100), 12 + 4 * 6);

    /* Errors: nothing to NACK, no room. */
    SC_CHECK_INT(sc_rtcp_build_nack(buf, sizeof(buf), 1, 2, run, 0), -EINVAL);
    SC_CHECK_INT(sc_rtcp_build_nack(buf, 15, 1, 2, run, 1), -ENOSPC);
    SC_CHECK_INT(sc_rtcp_build_nack(buf, 16, 1, 2, run, 1), 16);
    SC_CHECK_INT(sc_rtcp_build_nack(buf, 16, 1, 2, a, 7), -ENOSPC);
}

static void test_pli_fir(void)
{
    uint8_t buf[64];
    int len = sc_rtcp_build_pli(buf, sizeof(buf), 0xAAAA, 0xBBBB);
    SC_CHECK_INT(len, 12);
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    SC_CHECK_INT(pkt.pt, SC_RTCP_PSFB);
    SC_CHECK_INT(pkt.count, 1);
    uint32_t s = 0, m = 0;
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &s, &m), 0);
    SC_CHECK_INT(s, 0xAAAA);
    SC_CHECK_INT(m, 0xBBBB);
    SC_CHECK_INT(sc_rtcp_build_pli(buf, 11, 1, 2), -ENOSPC);

    len = sc_rtcp_build_fir(buf, sizeof(buf), 0xAAAA, 0xCCCC, 42);
    SC_CHECK_INT(len, 20);
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    SC_CHECK_INT(pkt.count, 4);
    uint32_t target = 0;
    uint8_t seq = 0;
    SC_CHECK_INT(sc_rtcp_parse_fir(&pkt, &target, &seq), 0);
    SC_CHECK_INT(target, 0xCCCC);
    SC_CHECK_INT(seq, 42);
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &s, &m), 0);
    SC_CHECK_INT(s, 0xAAAA);
    SC_CHECK_INT(sc_rtcp_build_fir(buf, 19, 1, 2, 3), -ENOSPC);

    /* RELIABILITY 4: a FIR without an FCI entry, or a half entry. */
    uint8_t fir[] = {0x84, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
    SC_CHECK_INT(next_ok(fir, sizeof(fir), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_fir(&pkt, &target, &seq), -EINVAL);
    uint8_t fir2[] = {0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5};
    SC_CHECK_INT(next_ok(fir2, sizeof(fir2), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_fir(&pkt, &target, &seq), -EINVAL);
    /* A PLI handed to the FIR parser. */
    len = sc_rtcp_build_pli(buf, sizeof(buf), 1, 2);
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_fir(&pkt, &target, &seq), -EINVAL);
    /* A PLI with length 1 (no media SSRC). */
    uint8_t pli[] = {0x81, 206, 0, 1, 0, 0, 0, 1};
    SC_CHECK_INT(next_ok(pli, sizeof(pli), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &s, &m), -EINVAL);
}

static void test_remb(void)
{
    uint8_t buf[1500];
    uint32_t ssrcs[3] = {0x1, 0x22, 0x333};
    const uint64_t rates[] = {0, 1, 262143, 262144, 300000, 2500000, 1000000007ull,
                              123456789012345ull, UINT64_MAX};
    for (size_t i = 0; i < SC_ARRAY_SIZE(rates); i++) {
        int len = sc_rtcp_build_remb(buf, sizeof(buf), 0x77, rates[i], ssrcs, 3);
        SC_CHECK_INT(len, 32);
        sc_rtcp_pkt pkt;
        SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
        uint64_t br = 0;
        uint32_t got[3];
        int n = 0;
        SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 3, &n), 0);
        SC_CHECK_INT(n, 3);
        SC_CHECK(memcmp(got, ssrcs, sizeof(got)) == 0);
        /* Never above the estimate, and within the 18-bit mantissa's
         * precision (relative error under 2^-17). */
        SC_CHECK(br <= rates[i]);
        SC_CHECK(rates[i] - br <= rates[i] >> 17);
        if (rates[i] < 262144)
            SC_CHECK(br == rates[i]);
        uint32_t s = 0, m = 1;
        SC_CHECK_INT(sc_rtcp_parse_fb(&pkt, &s, &m), 0);
        SC_CHECK_INT(s, 0x77);
        SC_CHECK_INT(m, 0);
    }
    SC_CHECK_INT(sc_rtcp_build_remb(buf, 31, 1, 1000, ssrcs, 3), -ENOSPC);
    SC_CHECK_INT(sc_rtcp_build_remb(buf, sizeof(buf), 1, 1000, NULL, 0), 20);

    sc_rtcp_pkt pkt;
    uint64_t br;
    uint32_t got[8];
    int n;
    /* RELIABILITY 2: SSRC count past the packet. */
    int len = sc_rtcp_build_remb(buf, sizeof(buf), 1, 1000, ssrcs, 3);
    buf[16] = 4;
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), -EINVAL);
    buf[16] = 255;
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), -EINVAL);
    buf[16] = 2; /* fewer than present is fine */
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), 0);
    SC_CHECK_INT(n, 2);
    /* Exponent 63 with a full mantissa saturates instead of wrapping. */
    buf[17] = 0xFF, buf[18] = 0xFF, buf[19] = 0xFF;
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), 0);
    SC_CHECK(br == UINT64_MAX);
    /* RELIABILITY 4: an AFB that is not REMB, an empty AFB, REMB cut short. */
    memcpy(buf + 12, "XXXX", 4);
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), -ENOENT);
    uint8_t afb[] = {0x8F, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0};
    SC_CHECK_INT(next_ok(afb, sizeof(afb), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), -EINVAL);
    uint8_t cut[] = {0x8F, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B'};
    SC_CHECK_INT(next_ok(cut, sizeof(cut), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_remb(&pkt, &br, got, 8, &n), -EINVAL);
}

static void test_sr_rr_build(void)
{
    uint8_t buf[1500];
    sc_rtcp_sr sr = {.ssrc = 0xCAFEBABE, .ntp = 0xE1234567890ABCDEull, .rtp_ts = 4000000000u,
                     .packet_count = 77, .octet_count = 123456};
    int len = sc_rtcp_build_sr(buf, sizeof(buf), &sr);
    SC_CHECK_INT(len, 28);
    SC_CHECK_INT(sc_rtcp_validate(buf, (size_t)len), 0);
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    sc_rtcp_sr got;
    int n = -1;
    SC_CHECK_INT(sc_rtcp_parse_sr(&pkt, &got, NULL, 0, &n), 0);
    SC_CHECK_INT(n, 0);
    SC_CHECK_INT(got.ssrc, sr.ssrc);
    SC_CHECK(got.ntp == sr.ntp);
    SC_CHECK_INT(got.rtp_ts, sr.rtp_ts);
    SC_CHECK_INT(got.packet_count, sr.packet_count);
    SC_CHECK_INT(got.octet_count, sr.octet_count);
    SC_CHECK_INT(sc_rtcp_build_sr(buf, 27, &sr), -ENOSPC);

    sc_rtcp_report_block rb[3] = {
        {.ssrc = 1, .fraction_lost = 255, .cumulative_lost = 0x7FFFFF, .highest_seq = 0x10005,
         .jitter = 9, .lsr = 10, .dlsr = 11},
        {.ssrc = 2, .cumulative_lost = -5},
        {.ssrc = 3, .cumulative_lost = 50000000}, /* clamped to 24 bits */
    };
    len = sc_rtcp_build_rr(buf, sizeof(buf), 0x42, rb, 3);
    SC_CHECK_INT(len, 8 + 3 * 24);
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    SC_CHECK_INT(pkt.count, 3);
    uint32_t ssrc = 0;
    sc_rtcp_report_block out[3];
    SC_CHECK_INT(sc_rtcp_parse_rr(&pkt, &ssrc, out, 3, &n), 0);
    SC_CHECK_INT(ssrc, 0x42);
    SC_CHECK_INT(n, 3);
    SC_CHECK_INT(out[0].ssrc, 1);
    SC_CHECK_INT(out[0].fraction_lost, 255);
    SC_CHECK_INT(out[0].cumulative_lost, 0x7FFFFF);
    SC_CHECK_INT(out[0].highest_seq, 0x10005);
    SC_CHECK_INT(out[0].jitter, 9);
    SC_CHECK_INT(out[0].lsr, 10);
    SC_CHECK_INT(out[0].dlsr, 11);
    SC_CHECK_INT(out[1].cumulative_lost, -5);
    SC_CHECK_INT(out[2].cumulative_lost, 0x7FFFFF);
    SC_CHECK_INT(sc_rtcp_build_rr(buf, sizeof(buf), 1, NULL, 0), 8);
    SC_CHECK_INT(sc_rtcp_build_rr(buf, 8 + 3 * 24 - 1, 1, rb, 3), -ENOSPC);
    SC_CHECK_INT(sc_rtcp_build_rr(buf, sizeof(buf), 1, rb, 32), -EINVAL);

    /* A compound built from the builders validates and walks. */
    size_t off = 0;
    off += (size_t)sc_rtcp_build_rr(buf + off, sizeof(buf) - off, 1, rb, 2);
    off += (size_t)sc_rtcp_build_pli(buf + off, sizeof(buf) - off, 1, 2);
    off += (size_t)sc_rtcp_build_fir(buf + off, sizeof(buf) - off, 1, 2, 3);
    SC_CHECK_INT(sc_rtcp_validate(buf, off), 0);
    const uint8_t *p = buf;
    size_t left = off;
    int count = 0;
    while (sc_rtcp_next(&p, &left, &pkt) == 1)
        count++;
    SC_CHECK_INT(count, 3);
}

/* Every prefix of a valid compound: the walk fails cleanly, never over-reads
 * (exact-size copies for ASan). */
static void test_truncations(void)
{
    uint8_t c[200];
    size_t off = 0;
    sc_rtcp_sr sr = {.ssrc = 5};
    off += (size_t)sc_rtcp_build_sr(c + off, sizeof(c) - off, &sr);
    uint16_t seqs[] = {1, 2, 40};
    off += (size_t)sc_rtcp_build_nack(c + off, sizeof(c) - off, 1, 2, seqs, 3);
    uint32_t ss = 9;
    off += (size_t)sc_rtcp_build_remb(c + off, sizeof(c) - off, 1, 5000, &ss, 1);
    int valid = 0;
    for (size_t n = 0; n <= off; n++) {
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, c, n);
        if (sc_rtcp_validate(b, n) == 0)
            valid++;
        free(b);
    }
    SC_CHECK_INT(valid, 3); /* exactly at each packet boundary */
}

/* Transport-cc feedback written by hand: base 100, 5 statuses as one
 * run-length chunk (2 received, small deltas) and a one-bit vector
 * (received, lost, received), reference time 2 (128 ms). */
static void test_twcc_hand(void)
{
    static const uint8_t fb[] = {
        0x8f, 205, 0x00, 0x06,            /* FMT 15, 7 words */
        0, 0, 0, 1, 0, 0, 0, 2,           /* sender, media SSRC */
        0x00, 100, 0x00, 5,               /* base seq 100, 5 statuses */
        0x00, 0x00, 0x02, 9,              /* reference time 2, fb count 9 */
        0x20, 0x02,                       /* run: symbol 1 (small), length 2 */
        0xa8, 0x00,                       /* vector (1 bit): 1 0 1, rest unused */
        4, 8, 8, 4,                       /* deltas: 1, 2, 2, 1 ms */
    };
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(fb, sizeof(fb), &pkt), 1);
    sc_twcc_fb f;
    int64_t at[8];
    SC_CHECK_INT(sc_rtcp_parse_twcc(&pkt, &f, at, 8), 0);
    SC_CHECK_INT(f.base_seq, 100);
    SC_CHECK_INT(f.count, 5);
    SC_CHECK_INT(f.fb_count, 9);
    SC_CHECK(f.ref_us == 128000);
    SC_CHECK(at[0] == 129000);
    SC_CHECK(at[1] == 131000);
    SC_CHECK(at[2] == 133000);
    SC_CHECK(at[3] == SC_TWCC_LOST);
    SC_CHECK(at[4] == 134000);
    /* One delta byte short. */
    uint8_t cut[28];
    memcpy(cut, fb, sizeof(cut));
    cut[15] = 6;    /* six statuses ... */
    cut[22] = 0xac; /* ... the sixth received too: five deltas, four present */
    SC_CHECK_INT(next_ok(cut, sizeof(cut), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_twcc(&pkt, &f, at, 8), -EINVAL);
}

static void test_twcc_roundtrip(void)
{
    int64_t in[40];
    for (int i = 0; i < 40; i++)
        in[i] = i % 9 == 4 ? SC_TWCC_LOST : 5000000 + i * 1250 + (i == 20 ? 90000 : 0);
    in[30] = in[29] - 500; /* reordered: a negative delta (large symbol) */
    uint8_t buf[512];
    int len = sc_rtcp_build_twcc(buf, sizeof(buf), 7, 8, 65530, 3, in, 40);
    SC_CHECK(len > 0 && len % 4 == 0);
    sc_rtcp_pkt pkt;
    SC_CHECK_INT(next_ok(buf, (size_t)len, &pkt), 1);
    sc_twcc_fb f;
    int64_t out[40];
    SC_CHECK_INT(sc_rtcp_parse_twcc(&pkt, &f, out, 40), 0);
    SC_CHECK_INT(f.base_seq, 65530);
    SC_CHECK_INT(f.count, 40);
    int same = 0;
    for (int i = 0; i < 40; i++)
        same += out[i] == in[i];
    SC_CHECK_INT(same, 40);
    /* A caller with room for 10 gets the first 10. */
    SC_CHECK_INT(sc_rtcp_parse_twcc(&pkt, &f, out, 10), 0);
    SC_CHECK_INT(f.count, 10);
    SC_CHECK(out[9] == in[9]);
    /* Every truncation is refused, never read past. */
    int ok = 0;
    for (int n = 16; n < len; n += 4) {
        uint8_t *b = malloc((size_t)n);
        memcpy(b, buf, (size_t)n);
        sc_wr16(b + 2, (uint16_t)(n / 4 - 1));
        sc_rtcp_pkt tp;
        if (next_ok(b, (size_t)n, &tp) == 1 && sc_rtcp_parse_twcc(&tp, &f, out, 40) == 0)
            ok++;
        free(b);
    }
    SC_CHECK_INT(ok, 0);
    /* A zero-length run (cannot advance) and the reserved symbol. */
    uint8_t bad[24] = {0x8f, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
    SC_CHECK_INT(next_ok(bad, sizeof(bad), &pkt), 1);
    SC_CHECK_INT(sc_rtcp_parse_twcc(&pkt, &f, out, 40), -EINVAL);
    bad[20] = 0x60; /* run of symbol 3 */
    bad[21] = 0x03;
    SC_CHECK_INT(sc_rtcp_parse_twcc(&pkt, &f, out, 40), -EINVAL);
}

int main(void)
{
    test_twcc_hand();
    test_twcc_roundtrip();
    test_sr_two_blocks();
    test_report_count_overrun();
    test_compound_rr_remb();
    test_bad_lengths();
    test_nack();
    test_nack_build();
    test_pli_fir();
    test_remb();
    test_sr_rr_build();
    test_truncations();
    SC_TEST_END();
}
