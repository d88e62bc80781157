/* libvpx + libopus encoders for the load publisher. */
#include "media.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#define LG_AUDIO_RATE 48000
#define LG_AUDIO_FRAME 960    /* 20 ms at 48 kHz */

typedef struct lg_coded {
    uint8_t *data;
    size_t len, cap;
    bool key;
} lg_coded;

struct lg_media {
    vpx_codec_ctx_t vpx;
    bool vpx_ok;
    vpx_image_t img;
    uint8_t *planes;
    uint8_t *texture;         /* 2*width x height luma noise, scrolled */
    int width, height, fps;
    int64_t frame_no;
    bool force_kf;
    uint16_t picture_id;
    uint32_t rng;
    /* Clip mode: frames encoded up front and sent in a loop, so the run's
     * CPU goes to sending, not encoding; a keyframe (encoded in the same
     * steady state) answers keyframe requests. */
    lg_coded *clip;
    int clip_n, clip_pos;
    int last_pos;             /* the clip frame sent last; -1: the keyframe */
    lg_coded clip_key;
    lg_coded live;            /* live mode: the frame just encoded */
    OpusEncoder *opus;
    int16_t pcm[LG_AUDIO_FRAME * 2];
    double phase;
};

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

void lg_media_free(lg_media *m)
{
    if (!m)
        return;
    if (m->vpx_ok)
        vpx_codec_destroy(&m->vpx);
    if (m->opus)
        opus_encoder_destroy(m->opus);
    for (int i = 0; i < m->clip_n; i++)
        free(m->clip[i].data);
    free(m->clip);
    free(m->clip_key.data);
    free(m->live.data);
    free(m->planes);
    free(m->texture);
    free(m);
}

static int video_init(lg_media *m, int video_kbps)
{
    vpx_codec_enc_cfg_t cfg;
    size_t ysz = (size_t)m->width * m->height;

    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0))
        return -EINVAL;
    cfg.g_w = (unsigned)m->width;
    cfg.g_h = (unsigned)m->height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = m->fps;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = (unsigned)video_kbps;
    cfg.rc_min_quantizer = 2;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 100;
    cfg.rc_overshoot_pct = 15;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    cfg.rc_dropframe_thresh = 0;
    /* Like a browser: keyframes only when asked (the server's PLI). */
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_max_dist = 3000;
    if (vpx_codec_enc_init(&m->vpx, vpx_codec_vp8_cx(), &cfg, 0))
        return -EINVAL;
    m->vpx_ok = true;
    vpx_codec_control(&m->vpx, VP8E_SET_CPUUSED, 8);
    vpx_codec_control(&m->vpx, VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(&m->vpx, VP8E_SET_NOISE_SENSITIVITY, 0);
    vpx_codec_control(&m->vpx, VP8E_SET_TOKEN_PARTITIONS, 0);
    /* As libwebrtc does: a keyframe may take at most half the optimal
     * buffer (600 ms), in percent of an average frame (900 % at 30 fps). */
    vpx_codec_control(&m->vpx, VP8E_SET_MAX_INTRA_BITRATE_PCT,
                      (unsigned)(cfg.rc_buf_optimal_sz / 2 * m->fps / 10));

    m->planes = malloc(ysz * 3 / 2);
    m->texture = malloc(ysz * 2);
    if (!m->planes || !m->texture)
        return -ENOMEM;
    /* Rows twice the picture's width whose right half repeats the left, so
     * the scroll wraps without a seam: a camera pans, it does not cut.  (A
     * texture that jumped back every w / 3 frames made a scene cut every
     * 7 s, a 48-packet inter frame each time.) */
    for (int r = 0; r < m->height; r++) {
        uint8_t *row = m->texture + (size_t)r * 2 * m->width;
        for (int c = 0; c < m->width; c++)
            row[c] = (uint8_t)(xorshift(&m->rng) & 0xff);
        /* Smooth the noise a little so motion search finds the scroll. */
        for (int c = 1; c < m->width; c++)
            row[c] = (uint8_t)((row[c] + row[c - 1]) / 2);
        memcpy(row + m->width, row, (size_t)m->width);
    }
    vpx_img_wrap(&m->img, VPX_IMG_FMT_I420, (unsigned)m->width, (unsigned)m->height, 1,
                 m->planes);
    return 0;
}

lg_media *lg_media_new(int width, int height, int fps, int video_kbps, int audio_kbps)
{
    lg_media *m = calloc(1, sizeof(*m));
    int err;

    if (!m)
        return NULL;
    m->width = width;
    m->height = height;
    m->fps = fps;
    m->rng = 0x9e3779b9u;
    m->picture_id = (uint16_t)(xorshift(&m->rng) & 0x7fff);
    if (video_init(m, video_kbps) < 0)
        goto fail;
    m->opus = opus_encoder_create(LG_AUDIO_RATE, 2, OPUS_APPLICATION_AUDIO, &err);
    if (!m->opus || err != OPUS_OK)
        goto fail;
    opus_encoder_ctl(m->opus, OPUS_SET_BITRATE(audio_kbps * 1000));
    opus_encoder_ctl(m->opus, OPUS_SET_COMPLEXITY(3));
    return m;
fail:
    lg_media_free(m);
    return NULL;
}

void lg_media_force_keyframe(lg_media *m)
{
    m->force_kf = true;
}

/* pos folded into [0, span): back and forth, no jumps. */
static int bounce(int64_t pos, int span)
{
    int p = (int)(pos % (2 * span));
    return p < span ? p : 2 * span - 1 - p;
}

/* A scrolling textured background, a bright box moving across it and a
 * sprinkle of fresh noise each frame: enough change that the encoder spends
 * its whole budget, as a camera picture would. */
static void draw(lg_media *m)
{
    int w = m->width, h = m->height;
    int64_t f = m->frame_no;
    int shift = (int)((f * 3) % w);
    uint8_t *y = m->img.planes[0], *u = m->img.planes[1], *v = m->img.planes[2];
    int bx = bounce(f * 5, w - 64), by = bounce(f * 2, h - 64);

    for (int r = 0; r < h; r++) {
        memcpy(y + (size_t)r * m->img.stride[0], m->texture + (size_t)r * 2 * w + shift,
               (size_t)w);
    }
    for (int i = 0; i < w * h / 2048; i++) {
        uint32_t p = xorshift(&m->rng) % (uint32_t)(w * h);
        y[(p / w) * m->img.stride[0] + p % w] = (uint8_t)(xorshift(&m->rng) & 0xff);
    }
    for (int r = by; r < by + 64; r++)
        memset(y + (size_t)r * m->img.stride[0] + bx, 235, 64);
    for (int r = 0; r < h / 2; r++) {
        memset(u + (size_t)r * m->img.stride[1], (int)(128 + 60 * sin((double)(f + r) / 40)),
               (size_t)w / 2);
        memset(v + (size_t)r * m->img.stride[2], (int)(128 + 60 * cos((double)(f - r) / 50)),
               (size_t)w / 2);
    }
}

/* RFC 7741 descriptor: X, S on the first packet, PID 0; I with a 15-bit
 * picture id.  The frame is split about equally, as libwebrtc does (its
 * last len % n packets one byte larger), not into full packets and a short
 * last one: the sizes a browser's packets have. */
static void packetize(uint16_t picture_id, const uint8_t *data, size_t len, lg_frame *out)
{
    const size_t hdr = 4, room = LG_MAX_PAYLOAD - hdr;
    size_t n = (len + room - 1) / room, off = 0;
    if (n > LG_MAX_FRAME_PKTS)
        n = LG_MAX_FRAME_PKTS;
    if (!n)
        return;
    size_t each = len / n, larger = len % n;

    for (size_t i = 0; i < n && off < len; i++) {
        lg_payload *p = &out->pkts[out->n++];
        size_t take = each + (i >= n - larger ? 1 : 0);
        if (take > room || off + take > len)
            take = len - off < room ? len - off : room;
        p->data[0] = (uint8_t)(0x80 | (off == 0 ? 0x10 : 0));
        p->data[1] = 0x80;
        p->data[2] = (uint8_t)(0x80 | (picture_id >> 8));
        p->data[3] = (uint8_t)(picture_id & 0xff);
        memcpy(p->data + hdr, data + off, take);
        p->len = (uint16_t)(hdr + take);
        off += take;
        p->marker = off >= len;
    }
    if (out->n)
        out->pkts[out->n - 1].marker = true;
}

/* Draw and encode the next picture into c (its buffer grows as needed). */
static int encode(lg_media *m, bool key, lg_coded *c)
{
    const vpx_codec_cx_pkt_t *pkt;
    vpx_codec_iter_t it = NULL;

    draw(m);
    c->len = 0;
    c->key = false;
    if (vpx_codec_encode(&m->vpx, &m->img, m->frame_no, 1, key ? VPX_EFLAG_FORCE_KF : 0,
                         VPX_DL_REALTIME))
        return -EIO;
    m->frame_no++;
    while ((pkt = vpx_codec_get_cx_data(&m->vpx, &it))) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        size_t sz = pkt->data.frame.sz;
        if (c->len + sz > c->cap) {
            size_t cap = (c->len + sz) * 2;
            uint8_t *d = realloc(c->data, cap);
            if (!d)
                return -ENOMEM;
            c->data = d;
            c->cap = cap;
        }
        memcpy(c->data + c->len, pkt->data.frame.buf, sz);
        c->len += sz;
        c->key |= (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    }
    return 0;
}

int lg_media_make_clip(lg_media *m, int frames)
{
    lg_coded scratch = { 0 };
    int rc = 0;

    if (frames <= 0 || m->clip)
        return -EINVAL;
    m->clip = calloc((size_t)frames, sizeof(*m->clip));
    if (!m->clip)
        return -ENOMEM;
    /* Two seconds for the rate control to settle after the first
     * keyframe; then the keyframe kept for requests; one more second for
     * the debt it leaves to be paid; then the loop. */
    for (int i = 0; i < 2 * m->fps && rc == 0; i++)
        rc = encode(m, false, &scratch);
    if (rc == 0)
        rc = encode(m, true, &m->clip_key);
    for (int i = 0; i < m->fps && rc == 0; i++)
        rc = encode(m, false, &scratch);
    for (; m->clip_n < frames && rc == 0; m->clip_n++)
        rc = encode(m, false, &m->clip[m->clip_n]);
    free(scratch.data);
    m->frame_no = 0;        /* timestamps start from 0 as in live mode */
    m->force_kf = true;     /* the first frame sent is a keyframe, as live */
    return rc;
}

int lg_media_video_frame(lg_media *m, lg_frame *out)
{
    const lg_coded *c;

    out->n = 0;
    out->ts90k = (uint32_t)(m->frame_no * 90000 / m->fps);
    if (m->clip) {
        if (m->force_kf) {
            c = &m->clip_key;
            m->last_pos = -1;
        } else {
            c = &m->clip[m->clip_pos];
            m->last_pos = m->clip_pos;
            m->clip_pos = (m->clip_pos + 1) % m->clip_n;
        }
        m->frame_no++;
    } else {
        int rc = encode(m, m->force_kf, &m->live);
        if (rc < 0)
            return rc;
        c = &m->live;
    }
    m->force_kf = false;
    out->keyframe = c->key;
    out->bytes = c->len;
    packetize(m->picture_id, c->data, c->len, out);
    m->picture_id = (uint16_t)((m->picture_id + 1) & 0x7fff);
    return 0;
}

int lg_media_clip_frames(const lg_media *m)
{
    return m->clip ? m->clip_n : 0;
}

/* Clip frame c at the instant of the frame sent last: its timestamp and
 * picture id. */
static void clip_frame_now(const lg_media *m, const lg_coded *c, lg_frame *out)
{
    out->n = 0;
    out->ts90k = (uint32_t)((m->frame_no - 1) * 90000 / m->fps);
    out->keyframe = c->key;
    out->bytes = c->len;
    packetize((uint16_t)((m->picture_id + 0x7fff) & 0x7fff), c->data, c->len, out);
}

int lg_media_video_frame_shifted(const lg_media *m, int shift, lg_frame *out)
{
    if (!m->clip || m->frame_no == 0)
        return -EINVAL;
    clip_frame_now(m,
                   m->last_pos < 0 ? &m->clip_key
                                   : &m->clip[(m->last_pos + shift % m->clip_n) % m->clip_n],
                   out);
    return 0;
}

int lg_media_clip_keyframe(const lg_media *m, lg_frame *out)
{
    if (!m->clip || m->frame_no == 0)
        return -EINVAL;
    clip_frame_now(m, &m->clip_key, out);
    return 0;
}

int lg_media_audio_frame(lg_media *m, uint8_t *out, size_t cap)
{
    const double step = 2 * M_PI * 440.0 / LG_AUDIO_RATE;
    int n;

    for (int i = 0; i < LG_AUDIO_FRAME; i++) {
        int16_t s = (int16_t)(8000 * sin(m->phase));
        m->pcm[2 * i] = s;
        m->pcm[2 * i + 1] = s;
        m->phase += step;
    }
    if (m->phase > 2 * M_PI * 1000)
        m->phase = fmod(m->phase, 2 * M_PI);
    n = opus_encode(m->opus, m->pcm, LG_AUDIO_FRAME, out, (opus_int32)cap);
    return n < 0 ? -EIO : n;
}
