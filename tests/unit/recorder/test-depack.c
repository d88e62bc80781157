/* RTP -> frames: VP8 multi-packet frames, loss, H.264 FU-A / STAP-A,
 * timestamp wrap, truncated payloads. */
#include "recorder/depack.h"

#include <errno.h>
#include "recorder/webm.h"
#include <stdlib.h>

#include "tests/unit/sc_test.h"

static uint8_t pktbuf[64][1500];
static int npkt;

/* Build and parse an RTP packet; the sc_rtp points into a static buffer. */
static sc_rtp rtp(uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload, size_t n)
{
    uint8_t *b = pktbuf[npkt++ % 64];
    b[0] = 0x80;
    b[1] = (uint8_t)((marker ? 0x80 : 0) | 96);
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    b[4] = (uint8_t)(ts >> 24);
    b[5] = (uint8_t)(ts >> 16);
    b[6] = (uint8_t)(ts >> 8);
    b[7] = (uint8_t)ts;
    memset(b + 8, 0x11, 4);
    memcpy(b + 12, payload, n);
    sc_rtp r;
    if (sc_rtp_parse(b, 12 + n, &r) < 0)
        abort();
    return r;
}

/* VP8 keyframe start: descriptor S=1, frame tag (P=0), start code, 320x240. */
static const uint8_t vp8_key[] = {0x10, 0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a,
                                  0x40, 0x01, 0xf0, 0x00, 0xAA, 0xBB};
static const uint8_t vp8_delta[] = {0x10, 0x51, 0x02, 0x00, 0xCC};
static const uint8_t vp8_cont[] = {0x00, 0xDD, 0xEE, 0xFF};

static void test_vp8(void)
{
    sc_depack *d = sc_depack_new(SC_DEPACK_VP8);
    sc_frame f;
    sc_rtp r;
    /* A delta frame before any keyframe is dropped. */
    r = rtp(10, 1000, true, vp8_delta, sizeof(vp8_delta));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    /* Three-packet keyframe. */
    r = rtp(11, 4000, false, vp8_key, sizeof(vp8_key));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(12, 4000, false, vp8_cont, sizeof(vp8_cont));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(13, 4000, true, vp8_cont, sizeof(vp8_cont));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
    SC_CHECK_INT(f.len, sizeof(vp8_key) - 1 + 2 * (sizeof(vp8_cont) - 1));
    SC_CHECK_INT(f.data[0], 0x50); /* descriptor stripped */
    SC_CHECK_INT(f.data[f.len - 1], 0xFF);
    SC_CHECK(f.keyframe);
    SC_CHECK_INT(f.width, 320);
    SC_CHECK_INT(f.height, 240);
    SC_CHECK_INT(f.ts, 4000);
    /* Two-packet delta frame. */
    r = rtp(14, 7000, false, vp8_delta, sizeof(vp8_delta));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(15, 7000, true, vp8_cont, sizeof(vp8_cont));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
    SC_CHECK(!f.keyframe);
    SC_CHECK_INT(f.len, 4 + 3);
    /* Packet 17 lost: the frame at 10000 is dropped, and so is the next
     * delta frame; the keyframe after it comes through. */
    r = rtp(16, 10000, false, vp8_delta, sizeof(vp8_delta));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(18, 10000, true, vp8_cont, sizeof(vp8_cont));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(19, 13000, true, vp8_delta, sizeof(vp8_delta));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(20, 16000, true, vp8_key, sizeof(vp8_key));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
    SC_CHECK(f.keyframe);
    /* A frame whose last packet (marker) is lost: the next timestamp
     * arrives in sequence; the incomplete frame is not output. */
    r = rtp(21, 19000, false, vp8_delta, sizeof(vp8_delta));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(23, 22000, true, vp8_delta, sizeof(vp8_delta));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    /* Truncated descriptor (RELIABILITY 8) refused. */
    static const uint8_t trunc[] = {0x81, 0x81, 0x94};
    r = rtp(24, 25000, true, trunc, sizeof(trunc));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), -EINVAL);
    /* Duplicates and late packets are ignored. */
    r = rtp(20, 16000, true, vp8_key, sizeof(vp8_key));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    sc_depack_stats st;
    sc_depack_get_stats(d, &st);
    SC_CHECK_INT(st.frames, 3);
    SC_CHECK(st.frames_dropped >= 3);
    SC_CHECK_INT(st.packets_refused, 1);
    sc_depack_free(d);
}

static void test_wrap(void)
{
    sc_depack *d = sc_depack_new(SC_DEPACK_OPUS);
    sc_frame f;
    static const uint8_t opus[] = {0xFC, 0x01, 0x02};
    uint32_t ts = 0xFFFFF000u;
    uint16_t seq = 0xFFFE;
    int64_t expect = ts;
    for (int i = 0; i < 6; i++) {
        sc_rtp r = rtp(seq++, ts, true, opus, sizeof(opus));
        SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
        SC_CHECK_INT(f.ts, expect);
        SC_CHECK_INT(f.len, sizeof(opus));
        SC_CHECK(f.keyframe);
        ts += 960;
        expect += 960;
    }
    SC_CHECK(expect > 0xFFFFFFFFll);
    /* An empty payload is no frame. */
    sc_rtp r = rtp(seq++, ts, true, opus, 0);
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    sc_depack_free(d);
}

/* x264's SPS for 320x180 High profile (cropped from 192 lines). */
static const uint8_t sps[] = {0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0x9f, 0x9f,
                              0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03,
                              0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60};
static const uint8_t pps[] = {0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0};

static void test_h264(void)
{
    sc_depack *d = sc_depack_new(SC_DEPACK_H264);
    sc_frame f;
    uint8_t p[300];
    size_t n = 0;
    /* STAP-A: SPS + PPS. */
    p[n++] = 24;
    p[n++] = 0;
    p[n++] = sizeof(sps);
    memcpy(p + n, sps, sizeof(sps));
    n += sizeof(sps);
    p[n++] = 0;
    p[n++] = sizeof(pps);
    memcpy(p + n, pps, sizeof(pps));
    n += sizeof(pps);
    sc_rtp r = rtp(100, 9000, false, p, n);
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    const uint8_t *s, *q;
    size_t sl, ql;
    SC_CHECK_INT(sc_depack_h264_params(d, &s, &sl, &q, &ql), 0);
    SC_CHECK_INT(sl, sizeof(sps));
    SC_CHECK_INT(ql, sizeof(pps));
    /* IDR (NAL header 0x65) in three FU-A fragments. */
    uint8_t fu1[] = {0x7C, 0x85, 1, 2, 3}, fu2[] = {0x7C, 0x05, 4, 5}, fu3[] = {0x7C, 0x45, 6};
    r = rtp(101, 9000, false, fu1, sizeof(fu1));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(102, 9000, false, fu2, sizeof(fu2));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(103, 9000, true, fu3, sizeof(fu3));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
    SC_CHECK(f.keyframe);
    SC_CHECK_INT(f.width, 320);
    SC_CHECK_INT(f.height, 180);
    /* Three length-prefixed NALs: SPS, PPS, IDR (0x65 1 2 3 4 5 6). */
    SC_CHECK_INT(f.len, 4 + sizeof(sps) + 4 + sizeof(pps) + 4 + 7);
    size_t o = 4 + sizeof(sps) + 4 + sizeof(pps);
    SC_CHECK_INT(f.data[o + 3], 7);
    SC_CHECK_INT(f.data[o + 4], 0x65);
    SC_CHECK_INT(f.data[o + 10], 6);
    SC_CHECK_INT(f.data[3], sizeof(sps));
    /* A single-NAL non-IDR slice. */
    uint8_t slice[] = {0x41, 0x9A, 0x01};
    r = rtp(104, 12000, true, slice, sizeof(slice));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
    SC_CHECK(!f.keyframe);
    SC_CHECK_INT(f.len, 4 + 3);
    /* FU-A whose start was lost: dropped, and the next slice too. */
    r = rtp(106, 15000, true, fu3, sizeof(fu3));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    r = rtp(107, 18000, true, slice, sizeof(slice));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 0);
    /* Truncated: STAP-A size past the end, FU-A without its header. */
    uint8_t bad1[] = {24, 0, 9, 0x67, 0x42};
    r = rtp(108, 21000, true, bad1, sizeof(bad1));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), -EINVAL);
    uint8_t bad2[] = {0x7C};
    r = rtp(109, 21000, true, bad2, sizeof(bad2));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), -EINVAL);
    /* An IDR as a single NAL recovers. */
    uint8_t idr[] = {0x65, 0x88, 0x01};
    r = rtp(110, 24000, true, idr, sizeof(idr));
    SC_CHECK_INT(sc_depack_push(d, &r, &f), 1);
    SC_CHECK(f.keyframe);
    SC_CHECK_INT(f.width, 0);
    sc_depack_stats st;
    sc_depack_get_stats(d, &st);
    SC_CHECK_INT(st.frames, 3);
    SC_CHECK_INT(st.packets_refused, 2);
    sc_depack_free(d);

    uint16_t w, h;
    SC_CHECK_INT(sc_webm_h264_sps_size(sps, sizeof(sps), &w, &h), 0);
    SC_CHECK_INT(w, 320);
    SC_CHECK_INT(h, 180);
    SC_CHECK_INT(sc_webm_h264_sps_size(sps, 8, &w, &h), -EINVAL);
}

int main(void)
{
    SC_CHECK(sc_depack_new((sc_depack_codec)9) == NULL);
    test_vp8();
    test_wrap();
    test_h264();
    SC_TEST_END();
}
