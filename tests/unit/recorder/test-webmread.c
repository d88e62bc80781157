/* The WebM demuxer on files our writer made: tracks, every frame (track,
 * timestamp, keyframe flag, bytes), a truncated copy, unknown sizes, a
 * corrupt cluster, a hand-made BlockGroup file and garbage. */
#include "recorder/webmread.h"

#include <errno.h>
#include <unistd.h>

#include "recorder/webm.h"
#include "tests/unit/recorder/media.h"
#include "tests/unit/sc_test.h"

typedef struct rec_frame {
    int track;
    int64_t ts;
    bool key;
    uint8_t *data;
    size_t len;
} rec_frame;

static rec_frame frames[1000];
static int n_frames;
static uint8_t *file;
static size_t file_len;

/* 3 s of 30 fps VP8 (a keyframe every 30 frames) and 20 ms Opus, written
 * with sc_webm; every frame written is remembered. */
static int make_file(const char *path)
{
    sc_webm_track t[2];
    memset(t, 0, sizeof(t));
    t[0].codec = SC_WEBM_VP8;
    t[0].width = 160;
    t[0].height = 120;
    t[1].codec = SC_WEBM_OPUS;
    t[1].channels = 2;
    t[1].sample_rate = 48000;
    t[1].opus_pre_skip = 312;
    char err[256];
    sc_webm *w = sc_webm_open(path, t, 2, err, sizeof(err));
    if (!w)
        return -1;
    test_vp8 v;
    test_opus o;
    static uint8_t buf[256 * 1024];
    if (test_vp8_init(&v, 160, 120, 30) < 0 || test_opus_init(&o) < 0)
        return -1;
    for (int vi = 0, ai = 0;;) {
        int64_t vts = (int64_t)vi * 1000 / 30, ats = (int64_t)ai * 20;
        if (vts >= 3000 && ats >= 3000)
            break;
        rec_frame *f = &frames[n_frames];
        bool key = true;
        size_t n;
        if (vts <= ats) {
            n = test_vp8_frame(&v, buf, sizeof(buf), &key);
            f->track = 0;
            f->ts = vts;
            vi++;
        } else {
            int k = test_opus_frame(&o, buf, 4000);
            n = k > 0 ? (size_t)k : 0;
            f->track = 1;
            f->ts = ats;
            ai++;
        }
        if (!n || sc_webm_write(w, f->track, f->ts, key, buf, n) < 0)
            continue;
        f->key = key;
        f->len = n;
        f->data = malloc(n);
        memcpy(f->data, buf, n);
        n_frames++;
    }
    test_vp8_free(&v);
    test_opus_free(&o);
    return sc_webm_close(w);
}

static int load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    file_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    file = malloc(file_len);
    size_t got = fread(file, 1, file_len, f);
    fclose(f);
    return got == file_len ? 0 : -1;
}

/* Read all frames of buf and check them against the first `expect` frames
 * written.  Returns the number read. */
static int read_all(const uint8_t *buf, size_t len, sc_webmr *r, int expect)
{
    SC_CHECK_INT(sc_webmr_open(r, buf, len), 0);
    sc_webmr_frame f;
    int n = 0, mismatches = 0;
    while (sc_webmr_next(r, &f) == 1) {
        if (n < expect) {
            const rec_frame *w = &frames[n];
            if (f.track != w->track || f.ts_ms != w->ts || f.keyframe != w->key ||
                f.len != w->len || memcmp(f.data, w->data, f.len)) {
                if (mismatches++ < 5)
                    fprintf(stderr, "frame %d: track %d ts %lld key %d len %zu, wrote %d %lld %d %zu\n",
                            n, f.track, (long long)f.ts_ms, f.keyframe, f.len, w->track,
                            (long long)w->ts, w->key, w->len);
            }
        }
        n++;
    }
    SC_CHECK_INT(mismatches, 0);
    SC_CHECK_INT(sc_webmr_next(r, &f), 0); /* stays at the end */
    return n;
}

static void test_tracks_and_frames(void)
{
    sc_webmr r;
    SC_CHECK_INT(read_all(file, file_len, &r, n_frames), n_frames);
    SC_CHECK(n_frames > 200); /* 90 video + 150 audio, give or take */
    SC_CHECK_INT(r.n_tracks, 2);
    SC_CHECK_STR(r.tracks[0].codec_id, "V_VP8");
    SC_CHECK_INT(r.tracks[0].type, SC_WEBMR_VIDEO);
    SC_CHECK_INT(r.tracks[0].width, 160);
    SC_CHECK_INT(r.tracks[0].height, 120);
    SC_CHECK_STR(r.tracks[1].codec_id, "A_OPUS");
    SC_CHECK_INT(r.tracks[1].type, SC_WEBMR_AUDIO);
    SC_CHECK_INT(r.tracks[1].channels, 2);
    SC_CHECK(r.tracks[1].sample_rate == 48000.0);
    SC_CHECK_INT(r.tracks[1].codec_private_len, 19);
    SC_CHECK(r.tracks[1].codec_private && !memcmp(r.tracks[1].codec_private, "OpusHead", 8));
    SC_CHECK_INT(r.tracks[1].codec_delay_ns, 312ull * 1000000000ull / 48000);
    SC_CHECK_INT(sc_webmr_find(&r, SC_WEBMR_AUDIO), 1);
    SC_CHECK_INT(r.timecode_scale, 1000000);
    SC_CHECK(r.duration_ms >= 2990 && r.duration_ms <= 3040);
    SC_CHECK(!r.truncated);
    SC_CHECK_INT(r.bad_clusters, 0);
    SC_CHECK_INT(r.skipped_blocks, 0);
    int keys = 0;
    for (int i = 0; i < n_frames; i++)
        keys += frames[i].track == 0 && frames[i].key;
    SC_CHECK(keys >= 3); /* the keyframe flags were really exercised */
}

/* Cut the file at several points: the frames read are exactly those whose
 * bytes lie wholly before the cut, and the reader says it was truncated. */
static void test_truncated(void)
{
    sc_webmr r;
    SC_CHECK_INT(sc_webmr_open(&r, file, file_len), 0);
    size_t ends[1000];
    sc_webmr_frame f;
    int n = 0;
    while (n < 1000 && sc_webmr_next(&r, &f) == 1)
        ends[n++] = (size_t)(f.data - file) + f.len;
    size_t cuts[] = {file_len / 3, file_len / 2 + 7, file_len * 4 / 5 + 1};
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        uint8_t *cut = malloc(cuts[c]);
        memcpy(cut, file, cuts[c]);
        int expect = 0;
        while (expect < n && ends[expect] <= cuts[c])
            expect++;
        SC_CHECK(expect > 0 && expect < n);
        SC_CHECK_INT(read_all(cut, cuts[c], &r, expect), expect);
        SC_CHECK(r.truncated);
        free(cut);
    }
    /* Cut inside the headers: not a file we can read. */
    SC_CHECK_INT(sc_webmr_open(&r, file, 60), -EINVAL);
}

/* Find the first occurrence of a 4-byte id at or after `from`. */
static size_t find_id(const uint8_t *b, size_t len, size_t from, uint32_t id)
{
    for (size_t i = from; i + 4 <= len; i++)
        if (b[i] == (uint8_t)(id >> 24) && b[i + 1] == (uint8_t)(id >> 16) &&
            b[i + 2] == (uint8_t)(id >> 8) && b[i + 3] == (uint8_t)id)
            return i;
    return len;
}

static void test_unknown_sizes(void)
{
    uint8_t *c = malloc(file_len);
    memcpy(c, file, file_len);
    /* Segment and first two clusters of unknown size (what a live writer
     * or another muxer leaves): all frames still come out, in order. */
    size_t seg = find_id(c, file_len, 0, 0x18538067u);
    size_t cl1 = find_id(c, file_len, seg, 0x1F43B675u);
    size_t cl2 = find_id(c, file_len, cl1 + 4, 0x1F43B675u);
    SC_CHECK(cl2 < file_len);
    static const uint8_t unknown[8] = {0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    memcpy(c + seg + 4, unknown, 8);
    memcpy(c + cl1 + 4, unknown, 8);
    memcpy(c + cl2 + 4, unknown, 8);
    sc_webmr r;
    SC_CHECK_INT(read_all(c, file_len, &r, n_frames), n_frames);
    SC_CHECK(!r.truncated);
    free(c);
}

static void test_corrupt_cluster(void)
{
    uint8_t *c = malloc(file_len);
    memcpy(c, file, file_len);
    size_t cl1 = find_id(c, file_len, 0, 0x1F43B675u);
    size_t cl2 = find_id(c, file_len, cl1 + 4, 0x1F43B675u);
    /* The first block of cluster 2 gets an impossible id byte. */
    size_t first_block = cl2 + 12 + 3 + 1; /* header, Timecode (E7 81 xx)... */
    while (first_block < file_len && c[first_block] != 0xA3)
        first_block++;
    c[first_block] = 0x00;
    sc_webmr r;
    SC_CHECK_INT(sc_webmr_open(&r, c, file_len), 0);
    sc_webmr_frame f;
    int n = 0;
    while (sc_webmr_next(&r, &f) == 1)
        n++;
    SC_CHECK_INT(r.bad_clusters, 1);
    SC_CHECK(n > n_frames / 2 && n < n_frames); /* one cluster lost, the rest read */
    SC_CHECK(!r.truncated);
    free(c);
}

/* A minimal file by hand: a TrackEntry of another muxer's shape and a
 * Cluster with two BlockGroups (one with a ReferenceBlock), a laced
 * SimpleBlock and a block of an unknown track. */
static void test_handmade(void)
{
    static const uint8_t f[] = {
        0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, 'w', 'e', 'b', 'm',       /* EBML */
        0x18, 0x53, 0x80, 0x67, 0xFF,                                           /* Segment ? */
        0x15, 0x49, 0xA9, 0x66, 0x87, 0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40, /* scale 1e6 */
        0x16, 0x54, 0xAE, 0x6B, 0x8D,                                           /* Tracks */
        0xAE, 0x8B, 0xD7, 0x81, 0x05, 0x83, 0x81, 0x01, 0x86, 0x83, 'V', '_', '8',
        0x1F, 0x43, 0xB6, 0x75, 0xA8,                                           /* Cluster */
        0xE7, 0x82, 0x03, 0xE8,                                                 /* tc 1000 */
        0xA0, 0x88, 0xA1, 0x86, 0x85, 0x00, 0x0A, 0x00, 0xAA, 0xBB,             /* key +10 */
        0xA0, 0x8A, 0xA1, 0x85, 0x85, 0x00, 0x14, 0x00, 0xCC, 0xFB, 0x81, 0xF6, /* +20 ref */
        0xA3, 0x85, 0x85, 0x00, 0x1E, 0x82, 0x00,                               /* laced */
        0xA3, 0x85, 0x87, 0x00, 0x28, 0x80, 0xDD,                               /* track 7 */
    };
    sc_webmr r;
    SC_CHECK_INT(sc_webmr_open(&r, f, sizeof(f)), 0);
    SC_CHECK_INT(r.n_tracks, 1);
    SC_CHECK_INT(r.tracks[0].number, 5);
    SC_CHECK_STR(r.tracks[0].codec_id, "V_8");
    sc_webmr_frame fr;
    SC_CHECK_INT(sc_webmr_next(&r, &fr), 1);
    SC_CHECK_INT(fr.ts_ms, 1010);
    SC_CHECK(fr.keyframe);
    SC_CHECK_INT(fr.len, 2);
    SC_CHECK(fr.len == 2 && fr.data[0] == 0xAA && fr.data[1] == 0xBB);
    SC_CHECK_INT(sc_webmr_next(&r, &fr), 1);
    SC_CHECK_INT(fr.ts_ms, 1020);
    SC_CHECK(!fr.keyframe);
    SC_CHECK(fr.len == 1 && fr.data[0] == 0xCC);
    SC_CHECK_INT(sc_webmr_next(&r, &fr), 0);
    SC_CHECK_INT(r.skipped_blocks, 2);
    SC_CHECK(!r.truncated);
}

static void test_garbage(void)
{
    sc_webmr r;
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(junk); i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    SC_CHECK_INT(sc_webmr_open(&r, junk, sizeof(junk)), -EINVAL);
    SC_CHECK_INT(sc_webmr_open(&r, junk, 0), -EINVAL);
    SC_CHECK_INT(sc_webmr_open(&r, NULL, 0), -EINVAL);
    /* An EBML header that claims more than there is. */
    static const uint8_t big[] = {0x1A, 0x45, 0xDF, 0xA3, 0x01, 0x00, 0x00, 0x00,
                                  0x00, 0x00, 0x10, 0x00};
    SC_CHECK_INT(sc_webmr_open(&r, big, sizeof(big)), -EINVAL);
    /* A Matroska file of another DocType. */
    uint8_t other[64];
    memcpy(other, file, sizeof(other));
    for (size_t i = 0; i + 4 <= sizeof(other); i++)
        if (!memcmp(other + i, "webm", 4))
            memcpy(other + i, "wxbm", 4);
    SC_CHECK_INT(sc_webmr_open(&r, other, sizeof(other)), -EINVAL);
}

int main(void)
{
    char dir[] = "/tmp/sc-webmread-XXXXXX", path[256];
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/in.webm", dir);
    SC_CHECK_INT(make_file(path), 0);
    SC_CHECK_INT(load(path), 0);
    if (file) {
        test_tracks_and_frames();
        test_truncated();
        test_unknown_sizes();
        test_corrupt_cluster();
    }
    test_handmade();
    test_garbage();
    for (int i = 0; i < n_frames; i++)
        free(frames[i].data);
    free(file);
    unlink(path);
    rmdir(dir);
    SC_TEST_END();
}
