/* Test helpers shared by the recorder tests: real VP8 frames from libvpx,
 * real Opus packets from libopus, and ffprobe / ffmpeg run on the result. */
#ifndef SC_TEST_MEDIA_H
#define SC_TEST_MEDIA_H

#include <math.h>
#include <opus/opus.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

typedef struct test_vp8 {
    vpx_codec_ctx_t ctx;
    vpx_image_t img;
    int w, h, n;
} test_vp8;

static inline int test_vp8_init(test_vp8 *e, int w, int h, int kf_dist)
{
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    cfg.g_w = (unsigned)w;
    cfg.g_h = (unsigned)h;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = 30;
    cfg.rc_target_bitrate = 300;
    cfg.g_lag_in_frames = 0;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_min_dist = (unsigned)kf_dist;
    cfg.kf_max_dist = (unsigned)kf_dist;
    if (vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, 16);
    if (!vpx_img_alloc(&e->img, VPX_IMG_FMT_I420, (unsigned)w, (unsigned)h, 16))
        return -1;
    e->w = w;
    e->h = h;
    e->n = 0;
    return 0;
}

/* Encode the next frame (a moving gradient); copies it into out.  Returns
 * its length (0 when the encoder produced nothing) and sets *key. */
static inline size_t test_vp8_frame(test_vp8 *e, uint8_t *out, size_t cap, bool *key)
{
    for (int y = 0; y < e->h; y++)
        for (int x = 0; x < e->w; x++)
            e->img.planes[0][y * e->img.stride[0] + x] = (uint8_t)(x + y + e->n * 3);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < e->h / 2; y++)
            memset(e->img.planes[p] + y * e->img.stride[p], 128 + p * 10, (size_t)e->w / 2);
    size_t len = 0;
    *key = false;
    if (vpx_codec_encode(&e->ctx, &e->img, e->n++, 1, 0, VPX_DL_REALTIME))
        return 0;
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    while ((pkt = vpx_codec_get_cx_data(&e->ctx, &it))) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT || pkt->data.frame.sz > cap)
            continue;
        memcpy(out, pkt->data.frame.buf, pkt->data.frame.sz);
        len = pkt->data.frame.sz;
        *key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    }
    return len;
}

static inline void test_vp8_free(test_vp8 *e)
{
    vpx_img_free(&e->img);
    vpx_codec_destroy(&e->ctx);
}

typedef struct test_opus {
    OpusEncoder *enc;
    int n;
} test_opus;

static inline int test_opus_init(test_opus *o)
{
    int err;
    o->enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_AUDIO, &err);
    o->n = 0;
    return o->enc ? 0 : -1;
}

/* 20 ms of a 440 Hz tone. */
static inline int test_opus_frame(test_opus *o, uint8_t *out, int cap)
{
    int16_t pcm[960 * 2];
    for (int i = 0; i < 960; i++) {
        double t = (double)(o->n * 960 + i) / 48000.0;
        pcm[2 * i] = pcm[2 * i + 1] = (int16_t)(8000 * sin(2 * M_PI * 440 * t));
    }
    o->n++;
    return opus_encode(o->enc, pcm, 960, out, cap);
}

static inline void test_opus_free(test_opus *o)
{
    opus_encoder_destroy(o->enc);
}

/* Run a command; its stdout (and stderr when merged by the command) into
 * out.  Returns the exit status, -1 when it could not run. */
static inline int test_run(const char *cmd, char *out, size_t cap)
{
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct test_probe {
    int n_streams;
    char codecs[4][16];
    double start[4];
    double duration;
} test_probe;

/* ffprobe's view of a file: streams (codec, start time), format duration. */
static inline int test_ffprobe(const char *path, test_probe *p)
{
    char cmd[1024], out[8192];
    memset(p, 0, sizeof(*p));
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -show_entries stream=codec_name,start_time:format=duration "
             "-of default=nw=1 '%s'",
             path);
    if (test_run(cmd, out, sizeof(out)) != 0)
        return -1;
    char *save, *line = strtok_r(out, "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "codec_name=", 11) && p->n_streams < 4)
            snprintf(p->codecs[p->n_streams++], 16, "%s", line + 11);
        else if (!strncmp(line, "start_time=", 11) && p->n_streams > 0)
            p->start[p->n_streams - 1] = atof(line + 11);
        else if (!strncmp(line, "duration=", 9))
            p->duration = atof(line + 9);
    }
    return 0;
}

/* Decode every frame; true when ffmpeg exits 0 and prints no error. */
static inline bool test_decodes(const char *path, char *errors, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -i '%s' -f null - 2>&1", path);
    int rc = test_run(cmd, errors, cap);
    if (rc != 0 || errors[0])
        fprintf(stderr, "ffmpeg on %s (exit %d): %s\n", path, rc, errors);
    return rc == 0 && errors[0] == 0;
}

/* The Cues element is present and the SeekHead at the front points to it
 * (what a browser needs to seek with range requests). */
static inline bool test_has_cues(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    static uint8_t d[16 << 20];
    size_t n = fread(d, 1, sizeof(d), f);
    fclose(f);
    static const uint8_t cues[4] = {0x1C, 0x53, 0xBB, 0x6B};
    static const uint8_t seekid[3] = {0x53, 0xAB, 0x84};
    bool have_cues = false, in_seekhead = false;
    for (size_t i = 0; i + 4 <= n; i++) {
        if (!memcmp(d + i, cues, 4)) {
            if (i < 200 && i >= 3 && !memcmp(d + i - 3, seekid, 3))
                in_seekhead = true;
            else if (i >= 200)
                have_cues = true;
        }
    }
    return have_cues && in_seekhead;
}

#endif
