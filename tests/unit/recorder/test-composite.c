/* The composite replay: two real recordings (solid red + 440 Hz, solid blue
 * + 880 Hz, the second starting 1 s later) made into one WebM, decoded again
 * with our reader + libvpx + libopus and checked picture by picture and
 * tone by tone; ffprobe must agree.  Then the speaker layout, corrupt and
 * truncated inputs, and the refusals. */
#include "recorder/composite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "recorder/webm.h"
#include "recorder/webmread.h"
#include "tests/unit/recorder/media.h"
#include "tests/unit/sc_test.h"

typedef struct yuv {
    int y, u, v;
} yuv;

/* BT.601 limited range. */
static const yuv RED = {81, 90, 240}, BLUE = {41, 240, 110}, GREEN = {145, 54, 34},
                 BLACK = {16, 128, 128};
static const int64_t T0 = 1700000000000ll;
static char dir[] = "/tmp/sc-composite-XXXXXX";

/* ---- making inputs ---- */

static int make_input(const char *path, int w, int h, int ms, yuv c, double hz)
{
    vpx_codec_enc_cfg_t cfg;
    vpx_codec_ctx_t enc;
    vpx_image_t img;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    cfg.g_w = (unsigned)w;
    cfg.g_h = (unsigned)h;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = 30;
    cfg.rc_target_bitrate = 300;
    cfg.g_lag_in_frames = 0;
    cfg.kf_max_dist = 30;
    if (vpx_codec_enc_init(&enc, vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    vpx_codec_control(&enc, VP8E_SET_CPUUSED, 16);
    vpx_img_alloc(&img, VPX_IMG_FMT_I420, (unsigned)w, (unsigned)h, 16);
    for (int y = 0; y < h; y++)
        memset(img.planes[0] + y * img.stride[0], c.y, (size_t)w);
    for (int y = 0; y < h / 2; y++) {
        memset(img.planes[1] + y * img.stride[1], c.u, (size_t)w / 2);
        memset(img.planes[2] + y * img.stride[2], c.v, (size_t)w / 2);
    }
    int err;
    OpusEncoder *oe = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
    int lookahead = 312;
    opus_encoder_ctl(oe, OPUS_GET_LOOKAHEAD(&lookahead));
    sc_webm_track t[2];
    memset(t, 0, sizeof(t));
    t[0].codec = SC_WEBM_VP8;
    t[0].width = (uint16_t)w;
    t[0].height = (uint16_t)h;
    t[1].codec = SC_WEBM_OPUS;
    t[1].channels = 2;
    t[1].sample_rate = 48000;
    t[1].opus_pre_skip = (uint16_t)lookahead;
    char e[256];
    sc_webm *wm = sc_webm_open(path, t, 2, e, sizeof(e));
    if (!wm)
        return -1;
    static uint8_t pkt[4000];
    int vi = 0, ai = 0;
    for (;;) {
        int64_t vts = (int64_t)vi * 1000 / 30, ats = (int64_t)ai * 20;
        if (vts >= ms && ats >= ms)
            break;
        if (vts <= ats) {
            vpx_codec_encode(&enc, &img, vi, 1, 0, VPX_DL_REALTIME);
            vpx_codec_iter_t it = NULL;
            const vpx_codec_cx_pkt_t *p;
            while ((p = vpx_codec_get_cx_data(&enc, &it)))
                if (p->kind == VPX_CODEC_CX_FRAME_PKT)
                    sc_webm_write(wm, 0, vts, (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0,
                                  p->data.frame.buf, p->data.frame.sz);
            vi++;
        } else {
            int16_t pcm[960 * 2];
            for (int i = 0; i < 960; i++) {
                double s = (double)(ai * 960 + i) / 48000.0;
                pcm[2 * i] = pcm[2 * i + 1] = (int16_t)(8000 * sin(2 * M_PI * hz * s));
            }
            int n = opus_encode(oe, pcm, 960, pkt, sizeof(pkt));
            if (n > 0)
                sc_webm_write(wm, 1, ats, true, pkt, (size_t)n);
            ai++;
        }
    }
    vpx_img_free(&img);
    vpx_codec_destroy(&enc);
    opus_encoder_destroy(oe);
    return sc_webm_close(wm);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b && fread(b, 1, *len, f) != *len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static int spit(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(b, 1, len, f);
    fclose(f);
    return n == len ? 0 : -1;
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---- checking the output ---- */

static bool near(const vpx_image_t *img, int x, int y, yuv c, int tol)
{
    int Y = img->planes[0][y * img->stride[0] + x];
    int U = img->planes[1][(y / 2) * img->stride[1] + x / 2];
    int V = img->planes[2][(y / 2) * img->stride[2] + x / 2];
    bool ok = abs(Y - c.y) <= tol && abs(U - c.u) <= tol && abs(V - c.v) <= tol;
    if (!ok)
        fprintf(stderr, "  pixel (%d,%d) = %d/%d/%d, want %d/%d/%d\n", x, y, Y, U, V, c.y, c.u,
                c.v);
    return ok;
}

/* What a phase of the output should look like at a set of points. */
typedef struct probe {
    int x, y;
    yuv c;
} probe;

typedef struct phase {
    int64_t from, to;         /* output ms */
    probe p[5];
    int n;
    int frames, bad;
} phase;

/* Goertzel: amplitude of `hz` in mono pcm[0..n). */
static double tone(const int16_t *pcm, int n, double hz)
{
    double k = 2 * cos(2 * M_PI * hz / 48000.0), s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double s0 = pcm[i] + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    double power = s1 * s1 + s2 * s2 - k * s1 * s2;
    return 2 * sqrt(power > 0 ? power : 0) / n;
}

typedef struct decoded {
    int w, h;
    int video_frames, keyframes, bad_video;
    int64_t max_key_gap, last_key;
    int16_t *mono;            /* after pre-skip, 48 kHz */
    int n_mono;
    bool audio_ok;
} decoded;

/* Decode the whole output: every picture through the phases' checks,
 * the audio into mono PCM. */
static void decode_output(const char *path, phase *ph, int nph, decoded *d)
{
    memset(d, 0, sizeof(*d));
    d->last_key = -1;
    size_t len;
    uint8_t *b = slurp(path, &len);
    sc_webmr r;
    SC_CHECK(b && sc_webmr_open(&r, b, len) == 0);
    if (!b)
        return;
    int vt = sc_webmr_find(&r, SC_WEBMR_VIDEO), at = sc_webmr_find(&r, SC_WEBMR_AUDIO);
    SC_CHECK(vt >= 0 && at >= 0);
    if (vt < 0 || at < 0) {
        free(b);
        return;
    }
    SC_CHECK_STR(r.tracks[vt].codec_id, "V_VP8");
    SC_CHECK_STR(r.tracks[at].codec_id, "A_OPUS");
    d->w = (int)r.tracks[vt].width;
    d->h = (int)r.tracks[vt].height;
    int pre_skip = r.tracks[at].codec_private[10] | r.tracks[at].codec_private[11] << 8;
    vpx_codec_ctx_t dec;
    vpx_codec_dec_init(&dec, vpx_codec_vp8_dx(), NULL, 0);
    int e;
    OpusDecoder *od = opus_decoder_create(48000, 2, &e);
    d->mono = calloc(48000 * 120, sizeof(int16_t));
    d->audio_ok = true;
    int skip = pre_skip;
    sc_webmr_frame f;
    while (sc_webmr_next(&r, &f) == 1) {
        if (f.track == at) {
            int16_t pcm[5760 * 2];
            int n = opus_decode(od, f.data, (opus_int32)f.len, pcm, 5760, 0);
            if (n < 0) {
                d->audio_ok = false;
                continue;
            }
            for (int i = 0; i < n && d->n_mono < 48000 * 120; i++) {
                if (skip > 0) {
                    skip--;
                    continue;
                }
                d->mono[d->n_mono++] = (int16_t)((pcm[2 * i] + pcm[2 * i + 1]) / 2);
            }
            continue;
        }
        if (f.track != vt)
            continue;
        if (f.keyframe) {
            d->keyframes++;
            if (d->last_key >= 0 && f.ts_ms - d->last_key > d->max_key_gap)
                d->max_key_gap = f.ts_ms - d->last_key;
            d->last_key = f.ts_ms;
        }
        if (vpx_codec_decode(&dec, f.data, (unsigned)f.len, NULL, 0)) {
            d->bad_video++;
            continue;
        }
        vpx_codec_iter_t it = NULL;
        vpx_image_t *img = vpx_codec_get_frame(&dec, &it);
        if (!img) {
            d->bad_video++;
            continue;
        }
        d->video_frames++;
        if ((int)img->d_w != d->w || (int)img->d_h != d->h)
            d->bad_video++;
        for (int p = 0; p < nph; p++) {
            if (f.ts_ms < ph[p].from || f.ts_ms > ph[p].to)
                continue;
            ph[p].frames++;
            for (int k = 0; k < ph[p].n; k++)
                if (!near(img, ph[p].p[k].x, ph[p].p[k].y, ph[p].p[k].c, 14)) {
                    fprintf(stderr, "  at %lld ms, phase %d probe %d\n", (long long)f.ts_ms, p,
                            k);
                    ph[p].bad++;
                }
        }
    }
    vpx_codec_destroy(&dec);
    opus_decoder_destroy(od);
    free(b);
}

/* Tone amplitudes over [from, to) ms of the decoded mix. */
static void tones(const decoded *d, int from, int to, double *a440, double *a880)
{
    int s = from * 48, e = to * 48;
    if (e > d->n_mono)
        e = d->n_mono;
    if (e - s < 4800) {
        *a440 = *a880 = -1;
        return;
    }
    *a440 = tone(d->mono + s, e - s, 440);
    *a880 = tone(d->mono + s, e - s, 880);
}

static void check_ffprobe(const char *path, double want_s)
{
    if (system("command -v ffprobe >/dev/null 2>&1") != 0) {
        printf("ffprobe not installed: skipping the independent check\n");
        return;
    }
    test_probe p;
    SC_CHECK_INT(test_ffprobe(path, &p), 0);
    SC_CHECK_INT(p.n_streams, 2);
    SC_CHECK_STR(p.codecs[0], "vp8");
    SC_CHECK_STR(p.codecs[1], "opus");
    SC_CHECK(fabs(p.duration - want_s) <= 0.1);
    printf("ffprobe: %d streams (%s, %s), duration %.3f s\n", p.n_streams, p.codecs[0],
           p.codecs[1], p.duration);
    char errors[4096];
    SC_CHECK(test_decodes(path, errors, sizeof(errors)));
}

/* ---- the tests ---- */

static char in_a[256], in_b[256];

static void test_grid(void)
{
    char out[256], err[256];
    snprintf(out, sizeof(out), "%s/grid.webm", dir);
    sc_composite_input in[2] = {{in_a, 0, T0}, {in_b, 1, T0 + 1000}};
    sc_composite_opts o;
    sc_composite_opts_defaults(&o);
    SC_CHECK_INT(o.width, 1280);
    SC_CHECK_INT(o.height, 720);
    sc_composite_result res;
    memset(&res, 0, sizeof(res));
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    int rc = sc_composite_run(in, 2, &o, out, &res, err, sizeof(err));
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    SC_CHECK_INT(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "composite: %s\n", err);
        return;
    }
    char part[300];
    snprintf(part, sizeof(part), "%s.part", out);
    SC_CHECK(!exists(part));
    /* A measurement, not a check: the machine may be busy.  CPU time is the
     * steadier figure when it is. */
    printf("grid 1280x720: %lld ms of media, %llu frames, %llu bytes in %.2f s wall, %.2f s "
           "CPU: speed %.1fx real time (%.1fx per CPU second) (%s)\n",
           (long long)res.duration_ms, (unsigned long long)res.video_frames,
           (unsigned long long)res.bytes, res.elapsed_s, cpu,
           res.elapsed_s > 0 ? (double)res.duration_ms / 1000.0 / res.elapsed_s : 0.0,
           cpu > 0 ? (double)res.duration_ms / 1000.0 / cpu : 0.0, err);
    SC_CHECK(llabs(res.duration_ms - 5000) <= 100);
    SC_CHECK(res.video_frames >= 124 && res.video_frames <= 126); /* 5 s at 25 fps */
    struct stat st;
    SC_CHECK(stat(out, &st) == 0 && (uint64_t)st.st_size == res.bytes);

    /* A alone (full frame), both (A left, B right, letterboxed), B alone. */
    phase ph[3] = {
        {200, 850, {{640, 360, RED}, {100, 60, RED}, {1180, 660, RED}, {1180, 60, RED}}, 4, 0, 0},
        {1300, 3700, {{320, 360, RED}, {960, 360, BLUE}, {320, 60, BLACK}, {960, 660, BLACK}},
         4, 0, 0},
        {4200, 4900, {{640, 360, BLUE}, {100, 60, BLUE}, {1180, 660, BLUE}}, 3, 0, 0},
    };
    decoded d;
    decode_output(out, ph, 3, &d);
    SC_CHECK_INT(d.w, 1280);
    SC_CHECK_INT(d.h, 720);
    SC_CHECK_INT(d.bad_video, 0);
    SC_CHECK_INT(d.video_frames, (int)res.video_frames);
    for (int p = 0; p < 3; p++) {
        SC_CHECK(ph[p].frames >= 10);
        SC_CHECK_INT(ph[p].bad, 0);
    }
    /* Seekable: a keyframe at least every 2 s, and Cues. */
    SC_CHECK(d.keyframes >= 3);
    SC_CHECK(d.max_key_gap <= 2000);
    SC_CHECK(test_has_cues(out));
    /* The mix: 440 Hz alone first, both while both are on, 880 Hz at the end. */
    SC_CHECK(d.audio_ok);
    SC_CHECK(llabs((long long)d.n_mono - 5000 * 48) <= 100 * 48);
    double a, b;
    tones(&d, 200, 900, &a, &b);
    printf("tones 0.2-0.9 s: 440 Hz %.0f, 880 Hz %.0f\n", a, b);
    SC_CHECK(a > 4000 && b < 500);
    tones(&d, 1200, 3800, &a, &b);
    printf("tones 1.2-3.8 s: 440 Hz %.0f, 880 Hz %.0f\n", a, b);
    SC_CHECK(a > 4000 && b > 4000);
    tones(&d, 4200, 4900, &a, &b);
    printf("tones 4.2-4.9 s: 440 Hz %.0f, 880 Hz %.0f\n", a, b);
    SC_CHECK(a < 500 && b > 4000);
    free(d.mono);
    check_ffprobe(out, (double)res.duration_ms / 1000.0);
    unlink(out);
}

static void test_speaker_layout(void)
{
    char out[256], err[256];
    snprintf(out, sizeof(out), "%s/speaker.webm", dir);
    sc_composite_input in[2] = {{in_a, 0, T0}, {in_b, 1, T0 + 1000}};
    sc_composite_speaker sp[3] = {{T0, 0}, {T0 + 1500, 1}, {T0 + 3000, 0}};
    sc_composite_opts o;
    sc_composite_opts_defaults(&o);
    o.width = 640;
    o.height = 360;
    o.video_kbps = 600;
    o.speaker_layout = true;
    o.speakers = sp;
    o.n_speakers = 3;
    sc_composite_result res;
    int rc = sc_composite_run(in, 2, &o, out, &res, err, sizeof(err));
    SC_CHECK_INT(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "composite: %s\n", err);
        return;
    }
    /* Speaker in the top 640x270 (a 480x270 picture at x 80), the other in a
     * 128x90 strip tile at (256, 270) holding a 128x72 picture. */
    phase ph[3] = {
        {200, 850, {{320, 180, RED}, {20, 20, RED}}, 2, 0, 0},
        {1700, 2800, {{320, 135, BLUE}, {40, 135, BLACK}, {320, 315, RED}, {100, 315, BLACK}},
         4, 0, 0},
        {3300, 3800, {{320, 135, RED}, {320, 315, BLUE}}, 2, 0, 0},
    };
    decoded d;
    decode_output(out, ph, 3, &d);
    SC_CHECK_INT(d.w, 640);
    SC_CHECK_INT(d.h, 360);
    for (int p = 0; p < 3; p++) {
        SC_CHECK(ph[p].frames >= 10);
        SC_CHECK_INT(ph[p].bad, 0);
    }
    free(d.mono);
    unlink(out);
}

/* Three on stage: a 2x2 grid in slot order (not input order), the fourth
 * tile black; green leaves after 2 s and the other two go side by side. */
static void test_grid3(void)
{
    char in_c[256], out[256], err[256];
    snprintf(in_c, sizeof(in_c), "%s/c.webm", dir);
    snprintf(out, sizeof(out), "%s/grid3.webm", dir);
    SC_CHECK_INT(make_input(in_c, 320, 180, 2000, GREEN, 660), 0);
    sc_composite_input in[3] = {{in_a, 2, T0}, {in_b, 0, T0}, {in_c, 1, T0}};
    sc_composite_opts o;
    sc_composite_opts_defaults(&o);
    o.width = 640;
    o.height = 360;
    o.video_kbps = 600;
    sc_composite_result res;
    int rc = sc_composite_run(in, 3, &o, out, &res, err, sizeof(err));
    SC_CHECK_INT(rc, 0);
    if (rc < 0) {
        fprintf(stderr, "composite: %s\n", err);
        return;
    }
    SC_CHECK(llabs(res.duration_ms - 4000) <= 100);
    phase ph[2] = {
        {200, 1800, {{160, 90, BLUE}, {480, 90, GREEN}, {160, 270, RED}, {480, 270, BLACK}},
         4, 0, 0},
        {2300, 3800, {{160, 180, BLUE}, {480, 180, RED}, {160, 40, BLACK}}, 3, 0, 0},
    };
    decoded d;
    decode_output(out, ph, 2, &d);
    for (int p = 0; p < 2; p++) {
        SC_CHECK(ph[p].frames >= 10);
        SC_CHECK_INT(ph[p].bad, 0);
    }
    free(d.mono);
    unlink(out);
    unlink(in_c);
}

/* Damage the start code of some video keyframes of A: those frames (and
 * the ones depending on them) are skipped and counted, the rest composes. */
static void test_corrupt_frames(void)
{
    char bad[256], out[256], err[256];
    snprintf(bad, sizeof(bad), "%s/corrupt.webm", dir);
    snprintf(out, sizeof(out), "%s/corrupt-out.webm", dir);
    size_t len;
    uint8_t *b = slurp(in_a, &len);
    sc_webmr r;
    SC_CHECK(b && sc_webmr_open(&r, b, len) == 0);
    if (!b)
        return;
    sc_webmr_frame f;
    int damaged = 0, keys = 0;
    while (sc_webmr_next(&r, &f) == 1)
        if (f.track == 0 && f.keyframe && keys++ % 2 == 1 && f.len > 6) {
            memset((uint8_t *)(uintptr_t)f.data + 3, 0, 3); /* 9d 01 2a */
            damaged++;
        }
    SC_CHECK(damaged >= 1);
    SC_CHECK_INT(spit(bad, b, len), 0);
    free(b);
    sc_composite_input in[1] = {{bad, 0, T0}};
    sc_composite_opts o;
    sc_composite_opts_defaults(&o);
    o.width = 320;
    o.height = 180;
    sc_composite_result res;
    SC_CHECK_INT(sc_composite_run(in, 1, &o, out, &res, err, sizeof(err)), 0);
    unsigned long long vbad = 0;
    SC_CHECK(sscanf(err, "ok: skipped %llu video", &vbad) == 1);
    printf("corrupt input: %s\n", err);
    /* Each damaged keyframe loses its GOP (30 frames), but for the very last
     * frame, which falls after the last output frame's time. */
    SC_CHECK(vbad >= (unsigned long long)damaged * 30 - 1);
    SC_CHECK(llabs(res.duration_ms - 4000) <= 100);
    unlink(out);
    unlink(bad);
}

static void expect_refused(const sc_composite_input *in, int n, const char *out, int want,
                           const char *what)
{
    char err[256] = "", part[300];
    sc_composite_opts o;
    sc_composite_opts_defaults(&o);
    o.width = 320;
    o.height = 180;
    int rc = sc_composite_run(in, n, &o, out, NULL, err, sizeof(err));
    printf("%s: %d (%s)\n", what, rc, err);
    SC_CHECK_INT(rc, want);
    SC_CHECK(err[0] != '\0');
    snprintf(part, sizeof(part), "%s.part", out);
    SC_CHECK(!exists(part));
    SC_CHECK(!exists(out));
}

static void test_bad_inputs(void)
{
    char out[256], missing[256], trunc[256], head[256], h264[256], err[256];
    snprintf(out, sizeof(out), "%s/bad.webm", dir);
    snprintf(missing, sizeof(missing), "%s/nope.webm", dir);
    snprintf(trunc, sizeof(trunc), "%s/trunc.webm", dir);
    snprintf(head, sizeof(head), "%s/head.webm", dir);
    snprintf(h264, sizeof(h264), "%s/h264.webm", dir);
    sc_composite_input in[7];
    for (int i = 0; i < 7; i++)
        in[i] = (sc_composite_input){in_a, i, T0};

    expect_refused(in, 0, out, -EINVAL, "n = 0");
    expect_refused(in, 7, out, -EINVAL, "n = 7");
    expect_refused(NULL, 1, out, -EINVAL, "no inputs");
    in[1].path = missing;
    expect_refused(in, 2, out, -EINVAL, "missing file");
    in[1].path = in_a;
    in[1].start_unix_ms = T0 + 25ll * 3600 * 1000;
    expect_refused(in, 2, out, -EINVAL, "inputs a day apart");
    in[1].start_unix_ms = INT64_MIN;
    expect_refused(in, 2, out, -EINVAL, "absurd start time");
    in[1].start_unix_ms = T0;

    /* H.264: refused, nothing to decode it with. */
    sc_webm_track t;
    memset(&t, 0, sizeof(t));
    t.codec = SC_WEBM_H264;
    t.width = 320;
    t.height = 180;
    sc_webm *w = sc_webm_open(h264, &t, 1, err, sizeof(err));
    static const uint8_t nal[] = {0, 0, 0, 2, 0x65, 0x88};
    SC_CHECK(w && sc_webm_write(w, 0, 0, true, nal, sizeof(nal)) == 0);
    SC_CHECK_INT(sc_webm_close(w), 0);
    in[1].path = h264;
    expect_refused(in, 2, out, -ENOTSUP, "H.264 input");

    /* A file cut inside its headers is not readable; one cut in its
     * clusters composes up to its last complete block. */
    size_t len;
    uint8_t *b = slurp(in_a, &len);
    SC_CHECK(b && spit(head, b, 100) == 0 && spit(trunc, b, len * 6 / 10) == 0);
    free(b);
    in[1].path = head;
    expect_refused(in, 2, out, -EINVAL, "truncated headers");
    in[0].path = trunc;
    sc_composite_opts o;
    sc_composite_opts_defaults(&o);
    o.width = 320;
    o.height = 180;
    sc_composite_result res;
    SC_CHECK_INT(sc_composite_run(in, 1, &o, out, &res, err, sizeof(err)), 0);
    printf("truncated input: %lld ms (%s)\n", (long long)res.duration_ms, err);
    SC_CHECK(res.duration_ms > 1000 && res.duration_ms < 3500);
    unlink(out);
    in[0].path = in_a;

    /* Bad options, and an output directory that does not exist. */
    o.width = 641;
    SC_CHECK_INT(sc_composite_run(in, 1, &o, out, NULL, err, sizeof(err)), -EINVAL);
    o.width = 320;
    o.fps = 1000;
    SC_CHECK_INT(sc_composite_run(in, 1, &o, out, NULL, err, sizeof(err)), -EINVAL);
    o.fps = 25;
    char nodir[300];
    snprintf(nodir, sizeof(nodir), "%s/no/such/dir/x.webm", dir);
    SC_CHECK_INT(sc_composite_run(in, 1, &o, nodir, NULL, err, sizeof(err)), -ENOENT);
    SC_CHECK(!exists(out));
    unlink(trunc);
    unlink(head);
    unlink(h264);
}

/* Every file of the demuxer's fuzz corpus (real, truncated, damaged) as an
 * input: composed or refused with -EINVAL, never a crash or a .part left. */
static void test_corpus_inputs(void)
{
    char cdir[512], path[1024], out[256], part[300], err[256];
    snprintf(cdir, sizeof(cdir), "%s/tests/fuzz/corpus/webmread", SC_TEST_SOURCE_ROOT);
    snprintf(out, sizeof(out), "%s/corpus-out.webm", dir);
    snprintf(part, sizeof(part), "%s.part", out);
    DIR *d = opendir(cdir);
    SC_CHECK(d != NULL);
    struct dirent *e;
    int files = 0, ok = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", cdir, e->d_name);
        sc_composite_input in[2] = {{path, 0, T0}, {in_b, 1, T0 + 200}};
        sc_composite_opts o;
        sc_composite_opts_defaults(&o);
        o.width = 160;
        o.height = 90;
        int rc = sc_composite_run(in, 2, &o, out, NULL, err, sizeof(err));
        if (rc != 0 && rc != -EINVAL)
            fprintf(stderr, "%s: %d (%s)\n", e->d_name, rc, err);
        SC_CHECK(rc == 0 || rc == -EINVAL);
        SC_CHECK(!exists(part));
        ok += rc == 0;
        files++;
        unlink(out);
    }
    if (d)
        closedir(d);
    printf("corpus inputs: %d files, %d composed\n", files, ok);
    SC_CHECK(files >= 5 && ok >= 3);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(in_a, sizeof(in_a), "%s/a.webm", dir);
    snprintf(in_b, sizeof(in_b), "%s/b.webm", dir);
    SC_CHECK_INT(make_input(in_a, 640, 360, 4000, RED, 440), 0);
    SC_CHECK_INT(make_input(in_b, 640, 360, 4000, BLUE, 880), 0);
    test_grid();
    test_speaker_layout();
    test_grid3();
    test_corrupt_frames();
    test_bad_inputs();
    test_corpus_inputs();
    unlink(in_a);
    unlink(in_b);
    rmdir(dir);
    SC_TEST_END();
}
