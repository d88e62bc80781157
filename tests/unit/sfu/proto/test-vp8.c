/* Unit tests for sfu/proto/vp8.c: RFC 7741 payload descriptors as Chrome and
 * Firefox send them, keyframe detection and size, in-place rewriting, and
 * RELIABILITY item 8 (truncated descriptors). */
#include "sfu/engine/util.h"
#include "sfu/proto/vp8.h"

#include "tests/unit/sc_test.h"

#include <errno.h>
#include <stdlib.h>

/* Chrome simulcast keyframe: X S PID0, I L T, 15-bit picture id 0x1234,
 * TL0PICIDX 200, TID 0 Y=1, then a keyframe header for 640x480 with the
 * horizontal-scale bits set (they are not part of the size). */
static const uint8_t chrome_key[] = {
    0x90, 0xE0, 0x92, 0x34, 0xC8, 0x20,
    0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x42, 0xE0, 0x01, 0xAA, 0xBB,
};

static int parse_exact(const uint8_t *src, size_t len, sc_vp8 *out)
{
    /* Exact-size heap copy so ASan sees any read past the end. */
    uint8_t *b = malloc(len ? len : 1);
    memcpy(b, src, len);
    int r = sc_vp8_parse(b, len, out);
    free(b);
    return r;
}

static void test_chrome_keyframe(void)
{
    sc_vp8 v;
    SC_CHECK_INT(parse_exact(chrome_key, sizeof(chrome_key), &v), 0);
    SC_CHECK(v.start_of_partition);
    SC_CHECK_INT(v.partition_id, 0);
    SC_CHECK(!v.non_reference);
    SC_CHECK_INT(v.picture_id, 0x1234);
    SC_CHECK_INT(v.picture_id_bits, 15);
    SC_CHECK_INT(v.tl0picidx, 200);
    SC_CHECK_INT(v.tid, 0);
    SC_CHECK(v.layer_sync);
    SC_CHECK_INT(v.keyidx, -1);
    SC_CHECK_INT(v.descriptor_len, 6);
    SC_CHECK(v.is_keyframe);
    SC_CHECK_INT(v.width, 640);
    SC_CHECK_INT(v.height, 480);

    /* The same frame as a delta frame (P bit set): no size. */
    uint8_t d[sizeof(chrome_key)];
    memcpy(d, chrome_key, sizeof(d));
    d[6] |= 0x01;
    SC_CHECK_INT(parse_exact(d, sizeof(d), &v), 0);
    SC_CHECK(!v.is_keyframe);
    SC_CHECK_INT(v.width, 0);
    SC_CHECK_INT(v.height, 0);
    /* Keyframe, but not the start of partition 0 (S clear, or PID 1). */
    memcpy(d, chrome_key, sizeof(d));
    d[0] = 0x80;
    SC_CHECK_INT(parse_exact(d, sizeof(d), &v), 0);
    SC_CHECK(!v.is_keyframe);
    SC_CHECK_INT(v.width, 0);
    d[0] = 0x91;
    SC_CHECK_INT(parse_exact(d, sizeof(d), &v), 0);
    SC_CHECK_INT(v.partition_id, 1);
    SC_CHECK(!v.is_keyframe);
    /* Keyframe whose size header is cut short or has a bad start code. */
    SC_CHECK_INT(parse_exact(chrome_key, 15, &v), 0);
    SC_CHECK(v.is_keyframe);
    SC_CHECK_INT(v.width, 0);
    SC_CHECK_INT(v.height, 0);
    SC_CHECK_INT(parse_exact(chrome_key, 16, &v), 0);
    SC_CHECK_INT(v.width, 640);
    memcpy(d, chrome_key, sizeof(d));
    d[9] = 0x9C;
    SC_CHECK_INT(parse_exact(d, sizeof(d), &v), 0);
    SC_CHECK(v.is_keyframe);
    SC_CHECK_INT(v.width, 0);
    /* Descriptor with no VP8 payload after it: not a keyframe. */
    SC_CHECK_INT(parse_exact(chrome_key, 6, &v), 0);
    SC_CHECK(!v.is_keyframe);
    SC_CHECK_INT(v.descriptor_len, 6);
}

static void test_variants(void)
{
    sc_vp8 v;
    /* Minimal descriptor: no X. */
    const uint8_t plain[] = {0x10, 0x00};
    SC_CHECK_INT(parse_exact(plain, 2, &v), 0);
    SC_CHECK_INT(v.descriptor_len, 1);
    SC_CHECK_INT(v.picture_id, -1);
    SC_CHECK_INT(v.picture_id_bits, 0);
    SC_CHECK_INT(v.tl0picidx, -1);
    SC_CHECK_INT(v.tid, -1);
    SC_CHECK_INT(v.keyidx, -1);
    SC_CHECK(v.is_keyframe);

    /* 7-bit picture id, N bit, K only (KEYIDX 21). */
    const uint8_t k[] = {0xA3, 0x90, 0x7F, 0x35, 0x01};
    SC_CHECK_INT(parse_exact(k, sizeof(k), &v), 0);
    SC_CHECK(v.non_reference);
    SC_CHECK(!v.start_of_partition);
    SC_CHECK_INT(v.partition_id, 3);
    SC_CHECK_INT(v.picture_id, 127);
    SC_CHECK_INT(v.picture_id_bits, 7);
    SC_CHECK_INT(v.tid, -1);
    SC_CHECK(!v.layer_sync);
    SC_CHECK_INT(v.keyidx, 21);
    SC_CHECK_INT(v.descriptor_len, 4);

    /* T and K together: TID 2, Y, KEYIDX 5. */
    const uint8_t tk[] = {0x80, 0x30, 0xA5, 0xFF};
    SC_CHECK_INT(parse_exact(tk, sizeof(tk), &v), 0);
    SC_CHECK_INT(v.tid, 2);
    SC_CHECK(v.layer_sync);
    SC_CHECK_INT(v.keyidx, 5);
    SC_CHECK_INT(v.picture_id, -1);
    SC_CHECK_INT(v.descriptor_len, 3);

    /* X with an empty extension octet. */
    const uint8_t x0[] = {0x80, 0x00, 0x01};
    SC_CHECK_INT(parse_exact(x0, sizeof(x0), &v), 0);
    SC_CHECK_INT(v.descriptor_len, 2);
}

/* RELIABILITY 8: truncated descriptors. */
static void test_truncated(void)
{
    static const struct {
        uint8_t b[6];
        size_t len;
    } bad[] = {
        {{0}, 0},                            /* empty */
        {{0x80}, 1},                         /* X with no extension octet */
        {{0x81, 0x81, 0x94}, 3},             /* 15-bit picture id cut */
        {{0x90, 0xE0}, 2},                   /* I L T with nothing after */
        {{0x90, 0x80}, 2},                   /* I with no picture id */
        {{0x90, 0xE0, 0x92, 0x34}, 4},       /* L promised, absent */
        {{0x90, 0xE0, 0x92, 0x34, 0x01}, 5}, /* T promised, absent */
        {{0x90, 0x10}, 2},                   /* K promised, absent */
        {{0x90, 0x40}, 2},                   /* L promised, absent */
        {{0x90, 0xC0, 0x05}, 3},             /* 7-bit id, L promised */
    };
    for (size_t i = 0; i < SC_ARRAY_SIZE(bad); i++) {
        sc_vp8 v;
        memset(&v, 0x5A, sizeof(v));
        SC_CHECK_INT(parse_exact(bad[i].b, bad[i].len, &v), -EINVAL);
    }
    SC_CHECK_INT(sc_vp8_parse(NULL, 0, &(sc_vp8){0}), -EINVAL);

    /* Every prefix of the Chrome packet: only those past the descriptor
     * parse, and nothing reads past the end. */
    int ok = 0;
    for (size_t n = 0; n <= sizeof(chrome_key); n++) {
        sc_vp8 v;
        int r = parse_exact(chrome_key, n, &v);
        if (r == 0) {
            ok++;
            SC_CHECK(v.descriptor_len <= n);
        } else {
            SC_CHECK_INT(r, -EINVAL);
        }
    }
    SC_CHECK_INT(ok, sizeof(chrome_key) - 6 + 1);
}

static void test_rewrite(void)
{
    uint8_t b[sizeof(chrome_key)];
    memcpy(b, chrome_key, sizeof(b));
    sc_vp8 v, w;
    SC_CHECK_INT(sc_vp8_parse(b, sizeof(b), &v), 0);
    sc_vp8_rewrite(b, &v, 0x7FFF, 7);
    SC_CHECK_INT(sc_vp8_parse(b, sizeof(b), &w), 0);
    SC_CHECK_INT(w.picture_id, 0x7FFF);
    SC_CHECK_INT(w.picture_id_bits, 15);
    SC_CHECK_INT(w.tl0picidx, 7);
    SC_CHECK_INT(w.tid, 0);
    SC_CHECK(w.layer_sync);
    SC_CHECK(w.is_keyframe);
    SC_CHECK_INT(w.width, 640);
    /* Only the two fields changed. */
    SC_CHECK(memcmp(b + 5, chrome_key + 5, sizeof(b) - 5) == 0);
    SC_CHECK_INT(b[0], chrome_key[0]);
    SC_CHECK_INT(b[1], chrome_key[1]);
    /* 16-bit values wrap into 15 bits. */
    sc_vp8_rewrite(b, &v, 0x8001, 255);
    SC_CHECK_INT(sc_vp8_parse(b, sizeof(b), &w), 0);
    SC_CHECK_INT(w.picture_id, 1);
    SC_CHECK_INT(w.tl0picidx, 255);

    /* 7-bit id, no TL0PICIDX: the width is kept, the next byte untouched. */
    uint8_t s[] = {0x90, 0x80, 0x05, 0x10, 0x02, 0x00};
    SC_CHECK_INT(sc_vp8_parse(s, sizeof(s), &v), 0);
    sc_vp8_rewrite(s, &v, 300, 99);
    SC_CHECK_INT(sc_vp8_parse(s, sizeof(s), &w), 0);
    SC_CHECK_INT(w.picture_id, 300 & 0x7F);
    SC_CHECK_INT(w.picture_id_bits, 7);
    SC_CHECK_INT(w.tl0picidx, -1);
    SC_CHECK_INT(s[3], 0x10);

    /* TL0PICIDX only (no picture id). */
    uint8_t t[] = {0x90, 0x40, 0x09, 0x11};
    SC_CHECK_INT(sc_vp8_parse(t, sizeof(t), &v), 0);
    sc_vp8_rewrite(t, &v, 1234, 42);
    SC_CHECK_INT(sc_vp8_parse(t, sizeof(t), &w), 0);
    SC_CHECK_INT(w.picture_id, -1);
    SC_CHECK_INT(w.tl0picidx, 42);
    SC_CHECK_INT(t[3], 0x11);

    /* No extension: nothing is written. */
    uint8_t n[] = {0x10, 0x33, 0x44};
    SC_CHECK_INT(sc_vp8_parse(n, sizeof(n), &v), 0);
    sc_vp8_rewrite(n, &v, 1, 2);
    SC_CHECK_INT(n[0], 0x10);
    SC_CHECK_INT(n[1], 0x33);
    SC_CHECK_INT(n[2], 0x44);
}

int main(void)
{
    test_chrome_keyframe();
    test_variants();
    test_truncated();
    test_rewrite();
    SC_TEST_END();
}
