/* sfu/engine/stream.c: the rewriter keeps each viewer's stream continuous across
 * source changes; the retransmission buffer finds what it holds and nothing
 * else. */
#include <stdlib.h>
#include <string.h>

#include "sfu/engine/stream.h"
#include "sfu/proto/bytes.h"
#include "tests/unit/sc_test.h"

static void test_continuous_within_source(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 90000, false);
    uint16_t s1, s2;
    uint32_t t1, t2;
    SC_CHECK(sc_rewriter_map(&rw, 1111, 100, 5000, 1000000, &s1, &t1));
    SC_CHECK(sc_rewriter_map(&rw, 1111, 101, 8000, 1033000, &s2, &t2));
    SC_CHECK_INT((uint16_t)(s2 - s1), 1);
    SC_CHECK_INT(t2 - t1, 3000);
    /* a gap upstream stays a gap (the viewer NACKs it) */
    uint16_t s3;
    uint32_t t3;
    SC_CHECK(sc_rewriter_map(&rw, 1111, 105, 11000, 1066000, &s3, &t3));
    SC_CHECK_INT((uint16_t)(s3 - s1), 5);
    /* the NACK maps back to the source's numbering */
    uint16_t src;
    SC_CHECK(sc_rewriter_unmap_seq(&rw, (uint16_t)(s1 + 3), &src));
    SC_CHECK_INT(src, 103);
}

static void test_source_switch(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 48000, false);
    uint16_t s, last_s = 0;
    uint32_t t, last_t = 0;
    for (int i = 0; i < 50; i++) {
        SC_CHECK(sc_rewriter_map(&rw, 0xAAAA, (uint16_t)(65500 + i), 960u * (uint32_t)i,
                                 1000000u + 20000u * (uint64_t)i, &s, &t));
        last_s = s;
        last_t = t;
    }
    /* The publisher reconnects: new SSRC, unrelated seq/ts, 500 ms later. */
    SC_CHECK(sc_rewriter_map(&rw, 0xBBBB, 7, 123456789, 1000000u + 20000u * 49 + 500000, &s, &t));
    SC_CHECK_INT((uint16_t)(s - last_s), 1);
    SC_CHECK_INT(t - last_t, 24000); /* 500 ms at 48 kHz */
    uint16_t s2;
    uint32_t t2;
    SC_CHECK(sc_rewriter_map(&rw, 0xBBBB, 8, 123456789 + 960, 1000000u + 20000u * 50 + 500000, &s2, &t2));
    SC_CHECK_INT((uint16_t)(s2 - s), 1);
    SC_CHECK_INT(t2 - t, 960);
    /* A late packet of the new source from before its anchor is dropped,
     * and so is its NACK. */
    SC_CHECK(!sc_rewriter_map(&rw, 0xBBBB, 6, 123456789 - 960, 1000000u + 20000u * 51 + 500000, &s2, &t2));
    uint16_t src;
    SC_CHECK(!sc_rewriter_unmap_seq(&rw, (uint16_t)(s - 1), &src));
    /* The same SSRC after an explicit reset (new publisher, same SSRC) re-anchors too. */
    sc_rewriter_reset_source(&rw);
    SC_CHECK(sc_rewriter_map(&rw, 0xBBBB, 30000, 5, 1000000u + 20000u * 52 + 500000, &s, &t));
    SC_CHECK_INT((uint16_t)(s - s2), 1);
}

static void test_wraparound(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 90000, false);
    uint16_t s, first;
    uint32_t t;
    SC_CHECK(sc_rewriter_map(&rw, 9, 65534, 0, 0, &first, &t));
    for (uint16_t q = 65535, i = 1; i < 10; q++, i++) {
        SC_CHECK(sc_rewriter_map(&rw, 9, q, 0, 0, &s, &t));
        SC_CHECK_INT((uint16_t)(s - first), i);
    }
}

/* A stream far longer than half the sequence space: every packet is
 * forwarded, numbered one after the other, and NACKs of recent packets
 * still map.  (The check against the anchor is a half-range comparison of
 * 16-bit numbers: an anchor that stayed where the stream began would turn
 * every packet from 32768 on into a "late packet from before the switch",
 * and the viewer would get nothing for the next 32768.) */
static void test_long_stream(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 48000, false);
    uint16_t s, first = 0, src;
    uint32_t t;
    int mapped = 0, contiguous = 0;
    for (uint32_t i = 0; i < 3 * 65536u; i++) {
        uint16_t seq = (uint16_t)(1000 + i);
        if (!sc_rewriter_map(&rw, 7, seq, 960u * i, 20000ull * i, &s, &t))
            continue;
        if (i == 0)
            first = s;
        mapped++;
        contiguous += s == (uint16_t)(first + i);
    }
    SC_CHECK_INT(mapped, 3 * 65536);
    SC_CHECK_INT(contiguous, 3 * 65536);
    SC_CHECK(sc_rewriter_unmap_seq(&rw, (uint16_t)(s - 100), &src));
    SC_CHECK_INT(src, (uint16_t)(1000 + 3 * 65536 - 101));
    /* A packet from further back than any reordering is too late. */
    SC_CHECK(!sc_rewriter_map(&rw, 7, (uint16_t)(1000 + 3 * 65536 - 30000), 0, 0, &s, &t));
}

static void test_vp8_picture_id(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 90000, true);
    /* X=1, S=1, PID=0; I=1 L=1; M=1 15-bit picture id 0x1234; TL0PICIDX 7 */
    uint8_t p[] = {0x90, 0xC0, 0x92, 0x34, 0x07, 0x00, 0x00, 0x00};
    sc_vp8 d;
    SC_CHECK_INT(sc_vp8_parse(p, sizeof(p), &d), 0);
    sc_rewriter_vp8(&rw, p, &d);
    SC_CHECK_INT(sc_vp8_parse(p, sizeof(p), &d), 0);
    int first = d.picture_id, tl0 = d.tl0picidx;
    /* next picture of a NEW source with an unrelated picture id */
    sc_rewriter_reset_source(&rw);
    uint8_t q[] = {0x90, 0xC0, 0x80, 0x05, 0x42, 0x00, 0x00, 0x00};
    SC_CHECK_INT(sc_vp8_parse(q, sizeof(q), &d), 0);
    sc_rewriter_vp8(&rw, q, &d);
    SC_CHECK_INT(sc_vp8_parse(q, sizeof(q), &d), 0);
    SC_CHECK_INT(d.picture_id, (first + 1) & 0x7fff);
    SC_CHECK_INT(d.tl0picidx, (tl0 + 1) & 0xff);
}

static sc_media_pkt *make_pkt(uint16_t seq, uint64_t recv_ms)
{
    uint8_t buf[112] = {0x80, 96};
    sc_wr16(buf + 2, seq);
    sc_wr32(buf + 8, 0x1234);
    memset(buf + 12, (uint8_t)seq, 100);
    sc_media_pkt *p = sc_media_pkt_new_rtp(buf, sizeof(buf));
    if (p)
        p->recv_ms = recv_ms;
    return p;
}

static void test_rtx_buffer(void)
{
    sc_rtx_buffer *b = sc_rtx_buffer_new(1000);
    SC_CHECK(b != NULL);
    sc_media_pkt *kept = NULL;
    for (uint16_t s = 65000; s != 1000; s++) {
        sc_media_pkt *p = make_pkt(s, 5000);
        sc_rtx_buffer_put(b, p);
        if (s == 999) {
            kept = p; /* our reference outlives the buffer's */
        } else {
            sc_media_pkt_unref(p);
        }
    }
    SC_CHECK_INT(kept->refs, 2);
    sc_media_pkt *out = sc_rtx_buffer_get(b, 999, 5100);
    SC_CHECK(out == kept);
    SC_CHECK(out && out->rtp.payload[0] == (uint8_t)999);
    out = sc_rtx_buffer_get(b, 2, 5100); /* across the wrap */
    SC_CHECK(out && out->rtp.seq == 2);
    /* 1,536 packets within one max_age: the buffer grew to keep them all */
    SC_CHECK(sc_rtx_buffer_slots(b) >= 2048);
    SC_CHECK(sc_rtx_buffer_get(b, 65000, 5100) != NULL);
    /* RELIABILITY 10: 65,535 back finds nothing */
    SC_CHECK(sc_rtx_buffer_get(b, (uint16_t)(999 - 65535), 5100) == NULL);
    /* too old */
    SC_CHECK(sc_rtx_buffer_get(b, 999, 6100) == NULL);
    /* never seen */
    SC_CHECK(sc_rtx_buffer_get(b, 30000, 5100) == NULL);
    /* replacing a slot releases the old packet */
    uint32_t n = sc_rtx_buffer_slots(b);
    sc_media_pkt *p = make_pkt((uint16_t)(999 + n), 7000); /* 999 is stale by then */
    sc_rtx_buffer_put(b, p);
    sc_media_pkt_unref(p);
    SC_CHECK_INT(kept->refs, 1);
    SC_CHECK_INT(sc_rtx_buffer_slots(b), n); /* no growth for a stale neighbour */
    sc_rtx_buffer_free(b);
    sc_media_pkt_unref(kept); /* LeakSanitizer checks the rest were freed */

    /* A slow stream (50 packets a second) stays small, and what is older
     * than the buffer holds is gone, not confused with a newer packet. */
    b = sc_rtx_buffer_new(1000);
    for (int i = 0; i < 3000; i++) {
        p = make_pkt((uint16_t)i, 10000 + (uint64_t)i * 20);
        sc_rtx_buffer_put(b, p);
        sc_media_pkt_unref(p);
    }
    SC_CHECK_INT(sc_rtx_buffer_slots(b), SC_RTX_MIN_SLOTS);
    SC_CHECK(sc_rtx_buffer_get(b, 2999, 10000 + 2999 * 20) != NULL);
    SC_CHECK(sc_rtx_buffer_get(b, 2990, 10000 + 2999 * 20) != NULL);
    SC_CHECK(sc_rtx_buffer_get(b, 2999 - SC_RTX_MIN_SLOTS, 10000 + 2999 * 20) == NULL);
    sc_rtx_buffer_free(b);

    /* A fast one (10,000 a second) is capped at SC_RTX_MAX_SLOTS. */
    b = sc_rtx_buffer_new(1000);
    for (int i = 0; i < 20000; i++) {
        p = make_pkt((uint16_t)i, 10000 + (uint64_t)i / 10);
        sc_rtx_buffer_put(b, p);
        sc_media_pkt_unref(p);
    }
    SC_CHECK_INT(sc_rtx_buffer_slots(b), SC_RTX_MAX_SLOTS);
    SC_CHECK(sc_rtx_buffer_get(b, 19999 - SC_RTX_MAX_SLOTS + 1, 12000) != NULL);
    sc_rtx_buffer_free(b);
}

static void test_ring(void)
{
    sc_ring *r = sc_ring_new();
    SC_CHECK(r != NULL);
    SC_CHECK(sc_ring_pop(r) == NULL);
    sc_media_pkt *p = make_pkt(1, 0);
    int pushed = 0;
    for (int i = 0; i < SC_RING_SIZE + 5; i++) {
        sc_media_pkt_ref(p);
        if (sc_ring_push(r, p))
            pushed++;
        else
            sc_media_pkt_unref(p);
    }
    SC_CHECK_INT(pushed, SC_RING_SIZE); /* full: refused, not overwritten */
    SC_CHECK(sc_ring_pop(r) == p);
    sc_media_pkt_unref(p);
    SC_CHECK(sc_ring_push(r, p)); /* room again; this moves our own reference */
    sc_ring_free(r);               /* releases every queued reference */
}

/* One VP8 packet through the rewriter: returns its output seq and picture
 * id (the payload is a descriptor with a 15-bit picture id). */
static void fwd(sc_rewriter *rw, uint16_t seq, uint16_t pid, uint16_t *oseq, int *opid)
{
    uint8_t p[] = {0x90, 0x80, (uint8_t)(0x80 | pid >> 8), (uint8_t)pid, 0, 0, 0, 0};
    sc_vp8 d;
    uint32_t ts;
    SC_CHECK(sc_rewriter_map(rw, 0xabc, seq, seq * 10u, 1000, oseq, &ts));
    SC_CHECK_INT(sc_vp8_parse(p, sizeof(p), &d), 0);
    sc_rewriter_vp8(rw, p, &d);
    SC_CHECK_INT(sc_vp8_parse(p, sizeof(p), &d), 0);
    *opid = d.picture_id;
}

/* Frames of a higher temporal layer dropped: what the viewer gets has no
 * gap in sequence numbers or picture ids; late packets and NACKs find the
 * offsets of their time. */
static void test_temporal_drops(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 90000, true);
    uint16_t o[8];
    int pid[8];
    fwd(&rw, 1000, 50, &o[0], &pid[0]);
    fwd(&rw, 1001, 50, &o[1], &pid[1]);
    sc_rewriter_drop(&rw, 1002, 51); /* a two-packet frame dropped */
    sc_rewriter_drop(&rw, 1003, 51);
    fwd(&rw, 1004, 52, &o[2], &pid[2]);
    sc_rewriter_drop(&rw, 1005, 53);
    fwd(&rw, 1006, 54, &o[3], &pid[3]);
    SC_CHECK_INT(o[1], (uint16_t)(o[0] + 1));
    SC_CHECK_INT(o[2], (uint16_t)(o[0] + 2));
    SC_CHECK_INT(o[3], (uint16_t)(o[0] + 3));
    SC_CHECK_INT(pid[2], (pid[0] + 1) & 0x7fff);
    SC_CHECK_INT(pid[3], (pid[0] + 2) & 0x7fff);
    SC_CHECK_INT(rw.n_shifts, 2); /* consecutive drops coalesce */
    /* A late copy of 1001 keeps its output seq and picture id. */
    uint16_t late;
    int late_pid;
    fwd(&rw, 1001, 50, &late, &late_pid);
    SC_CHECK_INT(late, o[1]);
    SC_CHECK_INT(late_pid, pid[1]);
    /* NACKs map back to the right source packets and picture id offsets. */
    uint16_t src, po;
    SC_CHECK(sc_rewriter_unmap(&rw, o[3], &src, &po));
    SC_CHECK_INT(src, 1006);
    SC_CHECK_INT((54 + po) & 0x7fff, pid[3]);
    SC_CHECK(sc_rewriter_unmap(&rw, o[2], &src, &po));
    SC_CHECK_INT(src, 1004);
    SC_CHECK_INT((52 + po) & 0x7fff, pid[2]);
    SC_CHECK(sc_rewriter_unmap(&rw, o[1], &src, &po));
    SC_CHECK_INT(src, 1001);
    SC_CHECK_INT((50 + po) & 0x7fff, pid[1]);
    /* A late packet of a dropped frame changes nothing. */
    sc_rewriter_drop(&rw, 1003, 51);
    uint16_t o4;
    int p4;
    fwd(&rw, 1007, 54, &o4, &p4);
    SC_CHECK_INT(o4, (uint16_t)(o[3] + 1));
    SC_CHECK_INT(p4, pid[3]);
    /* Many drops: the ring wraps, the oldest eras are forgotten (a NACK
     * that old finds nothing rather than the wrong packet), recent ones
     * still map. */
    uint16_t seq = 1008, pic = 55, last_o = o4;
    for (int i = 0; i < 3 * SC_RW_SHIFTS; i++) {
        sc_rewriter_drop(&rw, seq++, pic++);
        int pp;
        fwd(&rw, seq++, pic++, &last_o, &pp);
    }
    SC_CHECK(rw.base_limited);
    SC_CHECK(!sc_rewriter_unmap(&rw, o[1], &src, &po));
    SC_CHECK(sc_rewriter_unmap(&rw, last_o, &src, &po));
    SC_CHECK_INT(src, (uint16_t)(seq - 1));
    SC_CHECK(sc_rewriter_unmap(&rw, (uint16_t)(last_o - 1), &src, &po));
    SC_CHECK_INT(src, (uint16_t)(seq - 3)); /* seq - 2 was dropped */
    /* A new source forgets the drops. */
    sc_rewriter_reset_source(&rw);
    SC_CHECK_INT(rw.n_shifts, 0);
    sc_rewriter_release(&rw);
}

/* The same with frames dropped for the temporal layer now and then: the
 * output has no gap and no step back, however long the stream. */
static void test_long_stream_with_drops(void)
{
    sc_rewriter rw;
    sc_rewriter_init(&rw, 90000, true);
    uint16_t o = 0, prev = 0, src, po;
    uint32_t ts;
    int p = -1, bad = 0, dropped = 0;
    uint16_t pid = 10;
    for (uint32_t i = 0; i < 3 * 65536u; i++) {
        uint16_t seq = (uint16_t)(500 + i);
        if (i % 4 == 0)
            pid++; /* a frame of four packets */
        if (i % 5000 >= 4 && i % 5000 < 8) { /* one frame in ~1,250 dropped */
            sc_rewriter_drop(&rw, seq, pid);
            dropped++;
            continue;
        }
        /* fwd() without a check per packet: one line per failure would
         * be tens of thousands. */
        uint8_t d[] = {0x90, 0x80, (uint8_t)(0x80 | pid >> 8), (uint8_t)pid, 0, 0, 0, 0};
        sc_vp8 desc;
        if (!sc_rewriter_map(&rw, 0xabc, seq, seq * 10u, 1000, &o, &ts) ||
            sc_vp8_parse(d, sizeof(d), &desc) < 0) {
            bad++;
            continue;
        }
        sc_rewriter_vp8(&rw, d, &desc);
        if (sc_vp8_parse(d, sizeof(d), &desc) == 0)
            p = desc.picture_id;
        if (i > 0 && o != (uint16_t)(prev + 1))
            bad++;
        prev = o;
    }
    SC_CHECK(dropped > 100);
    SC_CHECK_INT(bad, 0);
    SC_CHECK(rw.n_shifts < SC_RW_SHIFTS);
    SC_CHECK(sc_rewriter_unmap(&rw, o, &src, &po));
    SC_CHECK_INT(src, (uint16_t)(500 + 3 * 65536 - 1));
    SC_CHECK_INT((pid + po) & 0x7fff, p);
    sc_rewriter_release(&rw);
}

int main(void)
{
    test_temporal_drops();
    test_continuous_within_source();
    test_source_switch();
    test_wraparound();
    test_long_stream();
    test_long_stream_with_drops();
    test_vp8_picture_id();
    test_rtx_buffer();
    test_ring();
    SC_TEST_END();
}
