#include "recorder/composite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <opus/opus.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include "common/clock.h"
#include "recorder/webm.h"
#include "recorder/webmread.h"

/* Inputs are mmap'd, not copied: the page cache streams them, so this cap is
 * about refusing nonsense, not about RAM. */
#define MAX_INPUT_BYTES (8ull << 30)
#define MAX_SESSION_MS (24ll * 3600 * 1000)   /* longer: not one session */
#define MAX_PIXELS (4096 * 2304)              /* decoded input pictures */
#define MAX_OUT_DIM 4096
#define RATE 48000
#define FRAME 960                             /* 20 ms at 48 kHz */
#define MAX_OPUS_SAMPLES 5760                 /* 120 ms, the longest packet */
#define MIX_CAP RATE                          /* mix window, samples per channel */
#define Y_BLACK 16
#define UV_BLACK 128

typedef struct pic {
    uint8_t *data;
    uint8_t *plane[3];
    int stride[3];
    int w, h;
    size_t cap;
} pic;

typedef struct rect {
    int x, y, w, h;
} rect;

typedef struct layout {
    int n;
    int who[SC_COMPOSITE_MAX_INPUTS];     /* input index per tile */
    rect tile[SC_COMPOSITE_MAX_INPUTS];
} layout;

typedef struct input {
    const sc_composite_input *src;
    uint8_t *map;
    size_t map_len;
    sc_webmr vr, ar;                      /* video and audio cursors */
    int vtrack, atrack;                   /* -1 when absent */
    int64_t offset_ms;                    /* composite time of local 0 */
    int64_t first_v, stage_end;           /* local ms: on stage in [first_v, stage_end) */
    int64_t end_ms;                       /* local end of all media */
    /* video */
    vpx_codec_ctx_t vdec;
    bool vdec_open, need_key, vpend_ok, have_img, dirty;
    sc_webmr_frame vpend;
    pic img;
    /* audio */
    OpusDecoder *adec;
    int pre_skip;
    bool apend_ok;
    sc_webmr_frame apend;
    uint64_t v_bad, a_bad;
} input;

typedef struct comp {
    input in[SC_COMPOSITE_MAX_INPUTS];
    int n;
    sc_composite_opts o;
    int64_t t0, duration_ms;
    pic canvas;
    layout cur;
    bool have_layout;
    int speaker_i;
    vpx_codec_ctx_t venc;
    bool venc_open;
    vpx_image_t vimg;
    OpusEncoder *aenc;
    int aenc_lookahead;
    int32_t *mix;                         /* MIX_CAP stereo frames, a ring */
    int64_t mix_base;                     /* composite sample of the next frame out */
    sc_webm *w;
    uint8_t *pkt;
    uint64_t video_frames;
} comp;

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void sc_composite_opts_defaults(sc_composite_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->width = 1280;
    o->height = 720;
    o->fps = 25;
    o->video_kbps = 1500;
}

/* ---- pictures and the scaler ---- */

/* (Re)shape p as a contiguous I420 picture (the layout vpx_img_wrap wants
 * with align 1).  0 or -ENOMEM. */
static int pic_resize(pic *p, int w, int h)
{
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    size_t need = (size_t)w * (size_t)h + 2 * (size_t)cw * (size_t)ch;
    if (need > p->cap) {
        uint8_t *d = realloc(p->data, need);
        if (!d)
            return -ENOMEM;
        p->data = d;
        p->cap = need;
    }
    p->w = w;
    p->h = h;
    p->stride[0] = w;
    p->stride[1] = p->stride[2] = cw;
    p->plane[0] = p->data;
    p->plane[1] = p->data + (size_t)w * (size_t)h;
    p->plane[2] = p->plane[1] + (size_t)cw * (size_t)ch;
    return 0;
}

static void fill_rect(uint8_t *plane, int stride, int x, int y, int w, int h, uint8_t v)
{
    for (int r = 0; r < h; r++)
        memset(plane + (size_t)(y + r) * (size_t)stride + x, v, (size_t)w);
}

/* Bilinear resampling with pixel centres aligned (the way a picture is
 * sampled, so a 2:1 scale averages pairs instead of shifting half a pixel).
 * 8-bit fractions; dw is bounded by MAX_OUT_DIM. */
static void scale_plane(const uint8_t *src, int ss, int sw, int sh, uint8_t *dst, int ds,
                        int dw, int dh)
{
    if (sw == dw && sh == dh) {
        for (int y = 0; y < dh; y++)
            memcpy(dst + (size_t)y * (size_t)ds, src + (size_t)y * (size_t)ss, (size_t)dw);
        return;
    }
    int x0[MAX_OUT_DIM], fx[MAX_OUT_DIM];
    for (int x = 0; x < dw; x++) {
        /* position in 1/256 source pixels: (x + 0.5) * sw / dw - 0.5 */
        int64_t p = ((int64_t)(2 * x + 1) * sw * 256) / (2 * dw) - 128;
        if (p < 0)
            p = 0;
        x0[x] = (int)(p >> 8);
        fx[x] = (int)(p & 255);
        if (x0[x] >= sw - 1) {
            x0[x] = sw - 1;
            fx[x] = 0;
        }
    }
    for (int y = 0; y < dh; y++) {
        int64_t p = ((int64_t)(2 * y + 1) * sh * 256) / (2 * dh) - 128;
        if (p < 0)
            p = 0;
        int y0 = (int)(p >> 8), fy = (int)(p & 255);
        if (y0 >= sh - 1) {
            y0 = sh - 1;
            fy = 0;
        }
        const uint8_t *r0 = src + (size_t)y0 * (size_t)ss;
        const uint8_t *r1 = fy ? r0 + ss : r0;
        uint8_t *out = dst + (size_t)y * (size_t)ds;
        for (int x = 0; x < dw; x++) {
            int a = x0[x], f = fx[x];
            int b = f ? a + 1 : a;
            int top = r0[a] * (256 - f) + r0[b] * f;
            int bot = r1[a] * (256 - f) + r1[b] * f;
            out[x] = (uint8_t)((top * (256 - fy) + bot * fy + 32768) >> 16);
        }
    }
}

/* Draw src letterboxed into tile t of the canvas (black bars). */
static void draw_tile(pic *cv, const rect *t, const pic *src)
{
    fill_rect(cv->plane[0], cv->stride[0], t->x, t->y, t->w, t->h, Y_BLACK);
    for (int p = 1; p < 3; p++)
        fill_rect(cv->plane[p], cv->stride[p], t->x / 2, t->y / 2, t->w / 2, t->h / 2,
                  UV_BLACK);
    if (!src || src->w <= 0 || src->h <= 0)
        return;
    /* Fit keeping the aspect; even sizes and offsets keep chroma aligned. */
    int64_t w = t->w, h = (int64_t)src->h * t->w / src->w;
    if (h > t->h) {
        h = t->h;
        w = (int64_t)src->w * t->h / src->h;
    }
    w &= ~1;
    h &= ~1;
    if (w < 2 || h < 2)
        return;
    int x = t->x + ((t->w - (int)w) / 2 & ~1), y = t->y + ((t->h - (int)h) / 2 & ~1);
    scale_plane(src->plane[0], src->stride[0], src->w, src->h,
                cv->plane[0] + (size_t)y * (size_t)cv->stride[0] + x, cv->stride[0], (int)w,
                (int)h);
    for (int p = 1; p < 3; p++)
        scale_plane(src->plane[p], src->stride[p], (src->w + 1) / 2, (src->h + 1) / 2,
                    cv->plane[p] + (size_t)(y / 2) * (size_t)cv->stride[p] + x / 2,
                    cv->stride[p], (int)w / 2, (int)h / 2);
}

/* ---- layout ---- */

static rect even_rect(int x, int y, int w, int h)
{
    rect r = {x & ~1, y & ~1, 0, 0};
    r.w = ((x + w) & ~1) - r.x;
    r.h = ((y + h) & ~1) - r.y;
    return r;
}

/* Tiles for the inputs on stage (who[0..n), in slot order); `big` is the
 * index in who[] of the speaker for the speaker layout, or -1 for a grid. */
static void make_layout(layout *l, const int *who, int n, int big, int W, int H)
{
    memset(l, 0, sizeof(*l));
    l->n = n;
    memcpy(l->who, who, (size_t)n * sizeof(int));
    if (n == 1) {
        l->tile[0] = even_rect(0, 0, W, H);
        return;
    }
    if (big >= 0) {
        /* Speaker on top (3/4 of the height), the others in a strip of up to
         * five tiles below it, centred. */
        int sh = H / 4, cols = n - 1 < 5 ? 5 : n - 1;
        int tw = W / cols, x = (W - tw * (n - 1)) / 2;
        for (int i = 0, k = 0; i < n; i++) {
            if (i == big) {
                l->tile[i] = even_rect(0, 0, W, H - sh);
                continue;
            }
            l->tile[i] = even_rect(x + k * tw, H - sh, tw, sh);
            k++;
        }
        return;
    }
    int cols = n == 2 ? 2 : n <= 4 ? 2 : 3, rows = n == 2 ? 1 : 2;
    for (int i = 0; i < n; i++) {
        int c = i % cols, r = i / cols;
        l->tile[i] = even_rect(c * W / cols, r * H / rows, W / cols, H / rows);
    }
}

static bool same_layout(const layout *a, const layout *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->who[i] != b->who[i] || memcmp(&a->tile[i], &b->tile[i], sizeof(rect)))
            return false;
    return true;
}

/* ---- inputs ---- */

static bool next_of(sc_webmr *r, int track, sc_webmr_frame *f)
{
    while (sc_webmr_next(r, f) == 1)
        if (f->track == track)
            return true;
    return false;
}

/* Opus pre-skip from OpusHead (RFC 7845), else from CodecDelay. */
static int opus_pre_skip(const sc_webmr_track *t)
{
    if (t->codec_private_len >= 19 && !memcmp(t->codec_private, "OpusHead", 8))
        return t->codec_private[10] | t->codec_private[11] << 8;
    uint64_t s = t->codec_delay_ns / 1000 * RATE / 1000000;
    return s > (uint64_t)RATE ? RATE : (int)s;
}

/* One pass over the file's blocks (no decoding): when its video is on stage
 * and where its media ends. */
static void scan_input(input *in)
{
    sc_webmr r = in->vr;
    sc_webmr_frame f;
    int64_t last_v = INT64_MIN, v_delta = 33, end = INT64_MIN;
    in->first_v = INT64_MAX;
    while (sc_webmr_next(&r, &f) == 1) {
        if (f.track == in->vtrack) {
            if (f.ts_ms < in->first_v)
                in->first_v = f.ts_ms;
            if (last_v != INT64_MIN && f.ts_ms > last_v && f.ts_ms - last_v < 1000)
                v_delta = f.ts_ms - last_v;
            if (f.ts_ms > last_v)
                last_v = f.ts_ms;
            if (last_v + v_delta > end)
                end = last_v + v_delta;
        } else if (f.track == in->atrack) {
            int n = opus_packet_get_nb_samples(f.data, (opus_int32)f.len, RATE);
            int64_t e = f.ts_ms + (n > 0 ? n * 1000 / RATE : 20);
            if (e > end)
                end = e;
        }
    }
    in->stage_end = last_v == INT64_MIN ? INT64_MIN : last_v + v_delta;
    in->end_ms = end == INT64_MIN ? 0 : end;
}

static int open_input(input *in, const sc_composite_input *src, int i, char *err,
                      size_t errlen)
{
    in->src = src;
    in->vtrack = in->atrack = -1;
    int fd = open(src->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "input %d (%s): %s", i, src->path, strerror(errno));
        return -EINVAL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > MAX_INPUT_BYTES) {
        close(fd);
        set_err(err, errlen, "input %d (%s): not a regular file of a sane size", i, src->path);
        return -EINVAL;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        set_err(err, errlen, "input %d (%s): mmap: %s", i, src->path, strerror(errno));
        return -ENOMEM;
    }
    in->map = m;
    in->map_len = (size_t)st.st_size;
    madvise(m, in->map_len, MADV_SEQUENTIAL);
    if (sc_webmr_open(&in->vr, in->map, in->map_len) < 0) {
        set_err(err, errlen, "input %d (%s): not a WebM file with tracks", i, src->path);
        return -EINVAL;
    }
    for (int t = 0; t < in->vr.n_tracks; t++) {
        const sc_webmr_track *tr = &in->vr.tracks[t];
        if (tr->type == SC_WEBMR_VIDEO && in->vtrack < 0) {
            if (strcmp(tr->codec_id, "V_VP8")) {
                set_err(err, errlen, "input %d (%s): video codec %s not supported", i,
                        src->path, tr->codec_id);
                return -ENOTSUP;
            }
            in->vtrack = t;
        } else if (tr->type == SC_WEBMR_AUDIO && in->atrack < 0) {
            if (strcmp(tr->codec_id, "A_OPUS") || tr->channels > 2) {
                set_err(err, errlen, "input %d (%s): audio codec %s (%u ch) not supported", i,
                        src->path, tr->codec_id, tr->channels);
                return -ENOTSUP;
            }
            in->atrack = t;
        }
    }
    in->ar = in->vr;
    scan_input(in);
    if (in->vtrack >= 0) {
        vpx_codec_dec_cfg_t cfg = {.threads = 1, .w = 0, .h = 0};
        if (vpx_codec_dec_init(&in->vdec, vpx_codec_vp8_dx(), &cfg, 0)) {
            set_err(err, errlen, "input %d: VP8 decoder init failed", i);
            return -ENOMEM;
        }
        in->vdec_open = true;
        in->need_key = true;
    }
    if (in->atrack >= 0) {
        int e;
        in->adec = opus_decoder_create(RATE, 2, &e);
        if (!in->adec) {
            set_err(err, errlen, "input %d: Opus decoder init failed", i);
            return -ENOMEM;
        }
        in->pre_skip = opus_pre_skip(&in->vr.tracks[in->atrack]);
    }
    return 0;
}

static void close_input(input *in)
{
    if (in->vdec_open)
        vpx_codec_destroy(&in->vdec);
    if (in->adec)
        opus_decoder_destroy(in->adec);
    if (in->map)
        munmap(in->map, in->map_len);
    free(in->img.data);
}

static int copy_image(input *in, const vpx_image_t *img)
{
    if (img->fmt != VPX_IMG_FMT_I420 || !img->d_w || !img->d_h ||
        (uint64_t)img->d_w * img->d_h > MAX_PIXELS)
        return -EINVAL;
    int w = (int)img->d_w, h = (int)img->d_h;
    if (pic_resize(&in->img, w, h) < 0)
        return -ENOMEM;
    for (int p = 0; p < 3; p++) {
        int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
        for (int y = 0; y < ph; y++)
            memcpy(in->img.plane[p] + (size_t)y * (size_t)in->img.stride[p],
                   img->planes[p] + (size_t)y * (size_t)img->stride[p], (size_t)pw);
    }
    in->have_img = true;
    in->dirty = true;
    return 0;
}

/* Decode this input's frames up to local time t; keep a copy of the last
 * picture only (the ones before it would be overwritten unseen).  A frame
 * that does not decode is counted and the decoder waits for a keyframe. */
static int advance_video(input *in, int64_t t)
{
    for (;;) {
        if (!in->vpend_ok && !(in->vpend_ok = next_of(&in->vr, in->vtrack, &in->vpend)))
            return 0;
        if (in->vpend.ts_ms > t)
            return 0;
        sc_webmr_frame f = in->vpend;
        in->vpend_ok = false;
        if (in->need_key && !f.keyframe) {
            in->v_bad++;
            continue;
        }
        if (f.len == 0 || f.len > UINT_MAX ||
            vpx_codec_decode(&in->vdec, f.data, (unsigned)f.len, NULL, 0)) {
            in->v_bad++;
            in->need_key = true;
            continue;
        }
        in->need_key = false;
        vpx_codec_iter_t it = NULL;
        vpx_image_t *img, *last = NULL;
        while ((img = vpx_codec_get_frame(&in->vdec, &it)))
            last = img;
        in->vpend_ok = next_of(&in->vr, in->vtrack, &in->vpend);
        if (!last || (in->vpend_ok && in->vpend.ts_ms <= t))
            continue;
        int rc = copy_image(in, last);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0)
            in->v_bad++;
    }
}

/* ---- audio mix ---- */

static void mix_add(comp *c, int64_t pos, const int16_t *pcm, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t s = pos + i;
        if (s < c->mix_base || s >= c->mix_base + MIX_CAP)
            continue;
        size_t k = (size_t)(s % MIX_CAP) * 2;
        c->mix[k] += pcm[2 * i];
        c->mix[k + 1] += pcm[2 * i + 1];
    }
}

/* Decode every block of this input that starts before composite sample
 * `until`.  Sample k of a block at ts plays at ts + k - pre_skip (the
 * Matroska CodecDelay rule), so the encoder's priming never sounds. */
static void advance_audio(comp *c, input *in, int64_t until)
{
    int16_t pcm[MAX_OPUS_SAMPLES * 2];
    for (;;) {
        if (!in->apend_ok && !(in->apend_ok = next_of(&in->ar, in->atrack, &in->apend)))
            return;
        int64_t pos = (in->offset_ms + in->apend.ts_ms) * (RATE / 1000) - in->pre_skip;
        if (pos >= until)
            return;
        in->apend_ok = false;
        if (in->apend.len > INT32_MAX) {
            in->a_bad++;
            continue;
        }
        int n = opus_decode(in->adec, in->apend.data, (opus_int32)in->apend.len, pcm,
                            MAX_OPUS_SAMPLES, 0);
        if (n < 0) {
            in->a_bad++;
            continue;
        }
        mix_add(c, pos, pcm, n);
    }
}

static int put_audio_frame(comp *c, int64_t j)
{
    int16_t out[FRAME * 2];
    int64_t until = (j + 1) * FRAME;
    for (int i = 0; i < c->n; i++)
        if (c->in[i].adec)
            advance_audio(c, &c->in[i], until);
    for (int i = 0; i < FRAME; i++) {
        size_t k = (size_t)((c->mix_base + i) % MIX_CAP) * 2;
        for (int ch = 0; ch < 2; ch++) {
            int32_t v = c->mix[k + ch];
            out[2 * i + ch] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
            c->mix[k + ch] = 0;
        }
    }
    c->mix_base += FRAME;
    int n = opus_encode(c->aenc, out, FRAME, c->pkt, 4000);
    if (n < 0)
        return -EIO;
    return sc_webm_write(c->w, 1, j * 20, true, c->pkt, (size_t)n);
}

/* ---- video ---- */

static int write_packets(comp *c)
{
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *p;
    while ((p = vpx_codec_get_cx_data(&c->venc, &it))) {
        if (p->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        int64_t ts = (int64_t)p->data.frame.pts * 1000 / c->o.fps;
        int rc = sc_webm_write(c->w, 0, ts, (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0,
                               p->data.frame.buf, p->data.frame.sz);
        if (rc < 0)
            return rc;
        c->video_frames++;
    }
    return 0;
}

/* The slot speaking at composite time T, or -1. */
static int speaker_at(comp *c, int64_t T)
{
    const sc_composite_speaker *s = c->o.speakers;
    if (!c->o.speaker_layout || !s || c->o.n_speakers <= 0)
        return -1;
    int64_t unix_ms = c->t0 + T;
    while (c->speaker_i + 1 < c->o.n_speakers && s[c->speaker_i + 1].unix_ms <= unix_ms)
        c->speaker_i++;
    return s[c->speaker_i].unix_ms <= unix_ms ? s[c->speaker_i].slot : -1;
}

static int put_video_frame(comp *c, int64_t k)
{
    int64_t T = k * 1000 / c->o.fps;
    int who[SC_COMPOSITE_MAX_INPUTS], n = 0, big = -1;
    for (int i = 0; i < c->n; i++) {
        input *in = &c->in[i];
        if (!in->vdec_open)
            continue;
        int64_t t = T - in->offset_ms;
        int rc = advance_video(in, t);
        if (rc < 0)
            return rc;
        if (t >= in->first_v && t < in->stage_end)
            who[n++] = i;
    }
    /* Slot order (stable: equal slots keep input order). */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && c->in[who[b - 1]].src->slot > c->in[who[b]].src->slot; b--) {
            int x = who[b];
            who[b] = who[b - 1];
            who[b - 1] = x;
        }
    int spk = speaker_at(c, T);
    for (int i = 0; i < n && spk >= 0; i++)
        if (c->in[who[i]].src->slot == spk) {
            big = i;
            break;
        }
    layout l;
    make_layout(&l, who, n, n > 1 ? big : -1, c->o.width, c->o.height);
    bool redraw_all = !c->have_layout || !same_layout(&l, &c->cur);
    if (redraw_all) {
        rect all = {0, 0, c->o.width, c->o.height};
        draw_tile(&c->canvas, &all, NULL);
        c->cur = l;
        c->have_layout = true;
    }
    for (int i = 0; i < l.n; i++) {
        input *in = &c->in[l.who[i]];
        if (redraw_all || in->dirty)
            draw_tile(&c->canvas, &l.tile[i], in->have_img ? &in->img : NULL);
        in->dirty = false;
    }
    vpx_enc_frame_flags_t flags = k % (2 * c->o.fps) == 0 ? VPX_EFLAG_FORCE_KF : 0;
    if (vpx_codec_encode(&c->venc, &c->vimg, k, 1, flags, VPX_DL_REALTIME))
        return -EIO;
    return write_packets(c);
}

/* ---- setup and the run ---- */

static int check_args(const sc_composite_input *in, int n, sc_composite_opts *o,
                      const char *out_path, char *err, size_t errlen)
{
    if (!in || n < 1 || n > SC_COMPOSITE_MAX_INPUTS) {
        set_err(err, errlen, "need 1..%d inputs, got %d", SC_COMPOSITE_MAX_INPUTS, in ? n : 0);
        return -EINVAL;
    }
    if (!out_path || !*out_path || strlen(out_path) > 4000) {
        set_err(err, errlen, "bad output path");
        return -EINVAL;
    }
    for (int i = 0; i < n; i++)
        if (!in[i].path || !*in[i].path) {
            set_err(err, errlen, "input %d has no path", i);
            return -EINVAL;
        }
    sc_composite_opts d;
    sc_composite_opts_defaults(&d);
    if (!o->width && !o->height) {
        o->width = d.width;
        o->height = d.height;
    }
    if (!o->fps)
        o->fps = d.fps;
    if (!o->video_kbps)
        o->video_kbps = d.video_kbps;
    if (o->width < 16 || o->height < 16 || o->width > MAX_OUT_DIM || o->height > MAX_OUT_DIM ||
        (o->width | o->height) & 1) {
        set_err(err, errlen, "output size %dx%d: want even, 16..%d", o->width, o->height,
                MAX_OUT_DIM);
        return -EINVAL;
    }
    if (o->fps < 1 || o->fps > 60 || o->video_kbps < 50 || o->video_kbps > 50000) {
        set_err(err, errlen, "fps 1..60 and video_kbps 50..50000, got %d and %u", o->fps,
                o->video_kbps);
        return -EINVAL;
    }
    if (o->n_speakers < 0 || (o->n_speakers > 0 && !o->speakers)) {
        set_err(err, errlen, "bad speaker timeline");
        return -EINVAL;
    }
    return 0;
}

static int open_encoders(comp *c, char *err, size_t errlen)
{
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0))
        goto vfail;
    cfg.g_w = (unsigned)c->o.width;
    cfg.g_h = (unsigned)c->o.height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = c->o.fps;
    /* One thread: libvpx's VP8 encoder threads spin-wait on each other, and
     * on a busy 2-core machine (the SFU is running beside us) two threads
     * ran 10x slower than one. */
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.rc_end_usage = VPX_VBR;
    cfg.rc_target_bitrate = c->o.video_kbps;
    cfg.rc_dropframe_thresh = 0;
    /* A keyframe at least every 2 s (also forced by frame count) so the
     * result seeks well. */
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_max_dist = (unsigned)(2 * c->o.fps);
    if (vpx_codec_enc_init(&c->venc, vpx_codec_vp8_cx(), &cfg, 0))
        goto vfail;
    c->venc_open = true;
    /* A fixed speed (negative): a positive value lets VP8 pick its speed
     * from wall-clock time per frame, pacing us to about real time. */
    vpx_codec_control(&c->venc, VP8E_SET_CPUUSED, -8);
    vpx_codec_control(&c->venc, VP8E_SET_TOKEN_PARTITIONS, VP8_TWO_TOKENPARTITION);
    if (pic_resize(&c->canvas, c->o.width, c->o.height) < 0)
        return -ENOMEM;
    vpx_img_wrap(&c->vimg, VPX_IMG_FMT_I420, (unsigned)c->o.width, (unsigned)c->o.height, 1,
                 c->canvas.data);
    int e;
    c->aenc = opus_encoder_create(RATE, 2, OPUS_APPLICATION_AUDIO, &e);
    if (!c->aenc) {
        set_err(err, errlen, "Opus encoder init failed");
        return -ENOMEM;
    }
    opus_encoder_ctl(c->aenc, OPUS_SET_BITRATE(96000));
    opus_encoder_ctl(c->aenc, OPUS_GET_LOOKAHEAD(&c->aenc_lookahead));
    c->mix = calloc((size_t)MIX_CAP * 2, sizeof(int32_t));
    c->pkt = malloc(4000);
    if (!c->mix || !c->pkt)
        return -ENOMEM;
    return 0;
vfail:
    set_err(err, errlen, "VP8 encoder init failed");
    return -ENOMEM;
}

static int open_output(comp *c, const char *part, char *err, size_t errlen)
{
    sc_webm_track t[2];
    memset(t, 0, sizeof(t));
    t[0].codec = SC_WEBM_VP8;
    t[0].width = (uint16_t)c->o.width;
    t[0].height = (uint16_t)c->o.height;
    t[1].codec = SC_WEBM_OPUS;
    t[1].channels = 2;
    t[1].sample_rate = RATE;
    t[1].opus_pre_skip = (uint16_t)c->aenc_lookahead;
    char why[256] = "";
    errno = 0;
    c->w = sc_webm_open(part, t, 2, why, sizeof(why));
    if (!c->w) {
        int e = errno ? errno : EIO;
        set_err(err, errlen, "output: %s", why);
        return -e;
    }
    return 0;
}

/* Interleave video frames (every 1/fps) and audio frames (every 20 ms) in
 * time order up to the session's end. */
static int run_loop(comp *c)
{
    int64_t nv = (c->duration_ms * c->o.fps + 999) / 1000;
    int64_t na = (c->duration_ms + 19) / 20;
    int64_t k = 0, j = 0;
    while (k < nv || j < na) {
        int rc;
        if (k < nv && (j >= na || k * 1000 / c->o.fps <= j * 20))
            rc = put_video_frame(c, k++);
        else
            rc = put_audio_frame(c, j++);
        if (rc < 0)
            return rc;
    }
    if (vpx_codec_encode(&c->venc, NULL, 0, 1, 0, VPX_DL_REALTIME))
        return -EIO;
    return write_packets(c);
}

static int plan(comp *c, char *err, size_t errlen)
{
    c->t0 = INT64_MAX;
    for (int i = 0; i < c->n; i++)
        if (c->in[i].src->start_unix_ms < c->t0)
            c->t0 = c->in[i].src->start_unix_ms;
    c->duration_ms = 0;
    for (int i = 0; i < c->n; i++) {
        input *in = &c->in[i];
        int64_t off;
        if (__builtin_sub_overflow(in->src->start_unix_ms, c->t0, &off) ||
            off > MAX_SESSION_MS || in->end_ms > MAX_SESSION_MS) {
            set_err(err, errlen, "input %d: more than 24 h from the session start", i);
            return -EINVAL;
        }
        in->offset_ms = in->src->start_unix_ms - c->t0;
        if (in->offset_ms + in->end_ms > c->duration_ms)
            c->duration_ms = in->offset_ms + in->end_ms;
    }
    if (c->duration_ms <= 0) {
        set_err(err, errlen, "the inputs hold no media");
        return -EINVAL;
    }
    return 0;
}

static void free_comp(comp *c)
{
    for (int i = 0; i < c->n; i++)
        close_input(&c->in[i]);
    if (c->venc_open)
        vpx_codec_destroy(&c->venc);
    if (c->aenc)
        opus_encoder_destroy(c->aenc);
    free(c->canvas.data);
    free(c->mix);
    free(c->pkt);
    free(c);
}

int sc_composite_run(const sc_composite_input *in, int n, const sc_composite_opts *opts,
                     const char *out_path, sc_composite_result *res, char *err,
                     size_t errlen)
{
    uint64_t t_start = sc_mono_us();
    char part[4096 + 8];
    sc_composite_opts o;
    if (opts)
        o = *opts;
    else
        sc_composite_opts_defaults(&o);
    int rc = check_args(in, n, &o, out_path, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(part, sizeof(part), "%s.part", out_path);
    comp *c = calloc(1, sizeof(*c));
    if (!c) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->o = o;
    for (; c->n < n; c->n++)
        if ((rc = open_input(&c->in[c->n], &in[c->n], c->n, err, errlen)) < 0) {
            c->n++; /* so free_comp releases the half-open one */
            goto fail;
        }
    if ((rc = plan(c, err, errlen)) < 0 || (rc = open_encoders(c, err, errlen)) < 0 ||
        (rc = open_output(c, part, err, errlen)) < 0)
        goto fail;
    if ((rc = run_loop(c)) < 0) {
        set_err(err, errlen, "composing: %s", strerror(-rc));
        goto fail;
    }
    int64_t out_ms = sc_webm_duration_ms(c->w);
    rc = sc_webm_close(c->w);
    c->w = NULL;
    if (rc < 0) {
        set_err(err, errlen, "finishing %s: %s", part, strerror(-rc));
        goto fail;
    }
    if (rename(part, out_path) < 0) {
        rc = -errno;
        set_err(err, errlen, "rename to %s: %s", out_path, strerror(errno));
        goto fail;
    }
    uint64_t v_bad = 0, a_bad = 0, blocks = 0;
    for (int i = 0; i < c->n; i++) {
        v_bad += c->in[i].v_bad;
        a_bad += c->in[i].a_bad;
        blocks += c->in[i].vr.skipped_blocks + c->in[i].vr.bad_clusters;
    }
    /* The contract has no field for these; err carries them on success. */
    set_err(err, errlen,
            "ok: skipped %" PRIu64 " video frames, %" PRIu64 " audio packets, %" PRIu64
            " unreadable blocks/clusters",
            v_bad, a_bad, blocks);
    if (res) {
        struct stat st;
        res->duration_ms = out_ms;
        res->video_frames = c->video_frames;
        res->bytes = stat(out_path, &st) == 0 ? (uint64_t)st.st_size : 0;
        res->elapsed_s = (double)(sc_mono_us() - t_start) / 1e6;
    }
    free_comp(c);
    return 0;
fail:
    if (c->w)
        sc_webm_close(c->w);
    c->w = NULL;
    unlink(part);
    free_comp(c);
    return rc;
}
