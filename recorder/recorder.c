#include "recorder/recorder.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Paths are bounded by PATH_MAX and checked where it matters; a cut
 * message is fine. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "common/clock.h"
#include "recorder/depack.h"
#include "recorder/webm.h"
#include "sfu/engine/answer.h"

typedef struct rec_track {
    uint32_t ssrc;            /* 0 until locked */
    sc_depack *dp;
    int index;                /* in the file, -1 until added */
    uint32_t clock;
    bool anchored;
    int64_t anchor_ts, anchor_ms;
    int64_t last_ts64;
    double last_time;         /* ms, unrounded: the last frame written */
    bool wrote;
    bool have_sr;
    uint64_t sr_ntp;
    uint32_t sr_rtp;
} rec_track;

typedef struct rec_stream {
    struct rec_stream *next;
    char room[65];
    int slot;
    uint64_t generation;
    int codec;                /* sc_video_codec of the video track */
    sc_webm *w;
    char part[PATH_MAX], final[PATH_MAX];
    uint64_t start_recv_ms;
    int64_t start_unix_ms;
    uint64_t last_pkt_mono;
    uint64_t counted_bytes;   /* already added to the quota usage */
    bool failed;
    sc_recording_stop stop;   /* why it failed */
    char why[160];
    rec_track audio, video;
} rec_stream;

typedef struct stop_cmd {
    struct stop_cmd *next;
    char room[65];
    uint64_t after;            /* applies once this many packets are taken */
} stop_cmd;

struct sc_recorder {
    char dir[PATH_MAX];
    uint64_t quota;
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sc_media_pkt **q;          /* ring under mu */
    uint32_t qhead, qlen;
    stop_cmd *stops;
    uint64_t pushed;           /* packets ever queued, under mu */
    bool quit;
    /* writer-thread state */
    rec_stream *streams;
    sc_recorder_done_fn done_fn;
    void *done_ud;
    sc_recorder_events ev;
    void *ev_ud;
    /* stats under mu */
    sc_recorder_stats st;
};

static void record_error(sc_recorder *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&r->mu);
    r->st.errors++;
    r->st.error = true;
    snprintf(r->st.last_error, sizeof(r->st.last_error), "%s", msg);
    pthread_mutex_unlock(&r->mu);
}

static void stat_add(sc_recorder *r, uint64_t *field, int64_t v)
{
    pthread_mutex_lock(&r->mu);
    *field += (uint64_t)v;
    pthread_mutex_unlock(&r->mu);
}

/* ---- start: usage and repair ---- */

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Walk DIR/<room>/ files: repair .part files, add up sizes. */
static void scan_dir(sc_recorder *r)
{
    DIR *top = opendir(r->dir);
    if (!top)
        return;
    struct dirent *e;
    while ((e = readdir(top))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof(sub), "%s/%s", r->dir, e->d_name) >= (int)sizeof(sub))
            continue;
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *f;
        while ((f = readdir(d))) {
            char path[PATH_MAX];
            if (f->d_name[0] == '.' ||
                snprintf(path, sizeof(path), "%s/%s", sub, f->d_name) >= (int)sizeof(path))
                continue;
            if (has_suffix(f->d_name, ".webm.part")) {
                char err[256], final[PATH_MAX];
                snprintf(final, sizeof(final), "%s", path);
                final[strlen(final) - 5] = 0;
                if (sc_webm_repair(path, NULL, err, sizeof(err)) == 0 &&
                    rename(path, final) == 0) {
                    r->st.files_repaired++;
                    r->st.files_done++;
                    snprintf(path, sizeof(path), "%s", final);
                } else {
                    r->st.errors++;
                    r->st.error = true;
                    snprintf(r->st.last_error, sizeof(r->st.last_error), "repair: %s", err);
                }
            }
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
                r->st.bytes_used += (uint64_t)st.st_size;
        }
        closedir(d);
    }
    closedir(top);
}

/* ---- streams ---- */

static void sanitize(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++) {
        char c = in[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        out[i] = ok ? c : '_';
    }
    out[i] = 0;
}

const char *sc_recording_stop_name(sc_recording_stop s)
{
    switch (s) {
    case SC_RECORDING_STOP_DISK_FULL:
        return "disk-full";
    case SC_RECORDING_STOP_QUOTA:
        return "quota";
    case SC_RECORDING_STOP_DISK_ERROR:
        return "disk-error";
    default:
        return "";
    }
}

static sc_recording_info stream_info(const rec_stream *s, const char *path)
{
    sc_recording_info info;
    memset(&info, 0, sizeof(info));
    info.path = path;
    info.room = s->room;
    info.slot = s->slot;
    info.generation = s->generation;
    info.start_unix_ms = s->start_unix_ms;
    info.error = s->failed;
    info.stop = s->failed ? s->stop : SC_RECORDING_STOP_NONE;
    info.message = s->failed && s->why[0] ? s->why : NULL;
    info.has_audio = s->audio.index >= 0;
    info.has_video = s->video.index >= 0;
    return info;
}

/* The stream cannot go on (or start): tell the listener; the file, if
 * any, is finished (done) by the caller. */
static void stream_failed(sc_recorder *r, rec_stream *s, sc_recording_stop stop, const char *why)
{
    s->failed = true;
    s->stop = stop;
    snprintf(s->why, sizeof(s->why), "%s", why);
    if (r->ev.error) {
        sc_recording_info info = stream_info(s, s->w ? s->final : NULL);
        r->ev.error(r->ev_ud, &info);
    }
}

static sc_recording_stop stop_of(int rc)
{
    if (rc == -EDQUOT)
        return SC_RECORDING_STOP_QUOTA;
    if (rc == -ENOSPC)
        return SC_RECORDING_STOP_DISK_FULL;
    return SC_RECORDING_STOP_DISK_ERROR;
}

static void finish_stream(sc_recorder *r, rec_stream *s)
{
    if (!s->w)
        return;
    int64_t dur = sc_webm_duration_ms(s->w);
    uint64_t bytes = sc_webm_bytes(s->w);
    int rc = sc_webm_close(s->w);
    s->w = NULL;
    if (rc < 0 && !s->failed)
        record_error(r, "close %s: %s", s->part, strerror(-rc));
    bool ok = rc == 0 || s->failed;
    if (ok && rename(s->part, s->final) < 0) {
        record_error(r, "rename %s: %s", s->part, strerror(errno));
        ok = false;
    }
    pthread_mutex_lock(&r->mu);
    r->st.files_open--;
    if (ok)
        r->st.files_done++;
    pthread_mutex_unlock(&r->mu);
    if (ok && r->done_fn) {
        sc_recording_info info = stream_info(s, s->final);
        info.duration_ms = dur;
        info.bytes = bytes;
        r->done_fn(r->done_ud, &info);
    }
}

static void free_stream(sc_recorder *r, rec_stream *s)
{
    finish_stream(r, s);
    sc_depack_free(s->audio.dp);
    sc_depack_free(s->video.dp);
    free(s);
}

static void remove_stream(sc_recorder *r, rec_stream *s)
{
    for (rec_stream **pp = &r->streams; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free_stream(r, s);
}

static int open_file(sc_recorder *r, rec_stream *s)
{
    char room[65], sub[PATH_MAX];
    sanitize(s->room, room, sizeof(room));
    if (!room[0] || !strcmp(room, ".") || !strcmp(room, ".."))
        return -EINVAL;
    snprintf(sub, sizeof(sub), "%s/%s", r->dir, room);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
        int e = -errno;
        record_error(r, "mkdir %s: %s", sub, strerror(-e));
        stream_failed(r, s, stop_of(e), strerror(-e));
        return e;
    }
    time_t t = (time_t)(s->start_unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (int k = 1; k < 1000; k++) {
        char suffix[16] = "";
        if (k > 1)
            snprintf(suffix, sizeof(suffix), "-%d", k);
        snprintf(s->final, sizeof(s->final), "%s/%s-slot%d%s.webm", sub, stamp, s->slot, suffix);
        snprintf(s->part, sizeof(s->part), "%s.part", s->final);
        if (access(s->final, F_OK) < 0 && access(s->part, F_OK) < 0)
            break;
    }
    char err[256];
    errno = 0;
    s->w = sc_webm_open(s->part, NULL, 0, err, sizeof(err));
    if (!s->w) {
        int e = errno ? -errno : -EIO;
        record_error(r, "%s", err);
        stream_failed(r, s, stop_of(e), err);
        return -EIO;
    }
    stat_add(r, &r->st.files_open, 1);
    if (r->ev.started) {
        sc_recording_info info = stream_info(s, s->final);
        r->ev.started(r->ev_ud, &info);
    }
    return 0;
}

static rec_stream *find_stream(sc_recorder *r, const sc_media_pkt *p, bool create)
{
    for (rec_stream *s = r->streams; s; s = s->next) {
        if (s->slot != p->slot || strcmp(s->room, p->room))
            continue;
        if (p->generation < s->generation)
            return NULL; /* an older publisher's late packets */
        if (p->generation == s->generation)
            return s;
        if (!create)
            return NULL;
        remove_stream(r, s); /* a newer publisher took the slot */
        break;
    }
    if (!create)
        return NULL;
    rec_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->room, sizeof(s->room), "%s", p->room);
    s->slot = p->slot;
    s->generation = p->generation;
    s->audio.index = s->video.index = -1;
    s->audio.clock = 48000;
    s->video.clock = 90000;
    s->start_recv_ms = p->recv_ms;
    s->start_unix_ms = sc_wall_ms();
    s->next = r->streams;
    r->streams = s;
    if (r->quota && r->st.bytes_used >= r->quota) {
        record_error(r, "recording quota reached (%llu bytes)", (unsigned long long)r->quota);
        stream_failed(r, s, SC_RECORDING_STOP_QUOTA, "the recordings quota is used up");
    } else if (open_file(r, s) < 0) {
        s->failed = true;
    }
    return s;
}

static double ntp_ms(uint64_t ntp)
{
    return (double)(ntp >> 32) * 1000.0 + (double)(ntp & 0xFFFFFFFFu) * 1000.0 / 4294967296.0;
}

/* A frame's time in the file.  Audio is the reference; once both tracks
 * have a sender report, video follows audio through the NTP clock. */
static double frame_time(rec_stream *s, rec_track *t, int64_t ts)
{
    double ms = (double)t->anchor_ms + (double)(ts - t->anchor_ts) * 1000.0 / t->clock;
    rec_track *a = &s->audio;
    if (t == &s->video && t->have_sr && a->have_sr && a->anchored) {
        int64_t a_sr = a->last_ts64 + (int32_t)(a->sr_rtp - (uint32_t)a->last_ts64);
        int64_t v_sr = ts + (int32_t)(t->sr_rtp - (uint32_t)ts);
        ms = (double)a->anchor_ms + (double)(a_sr - a->anchor_ts) * 1000.0 / a->clock +
             (ntp_ms(t->sr_ntp) - ntp_ms(a->sr_ntp)) + (double)(ts - v_sr) * 1000.0 / t->clock;
    }
    return ms < 0 ? 0 : ms;
}

static void fail_stream(sc_recorder *r, rec_stream *s, int rc)
{
    const char *why = rc == -EDQUOT ? "recording quota reached" : strerror(-rc);
    record_error(r, "%s: %s", s->part, why);
    stream_failed(r, s, stop_of(rc), why);
    finish_stream(r, s);
}

static int add_track(rec_stream *s, rec_track *t, const sc_frame *f)
{
    sc_webm_track wt;
    memset(&wt, 0, sizeof(wt));
    if (t == &s->audio) {
        wt.codec = SC_WEBM_OPUS;
        wt.channels = 2;
        wt.sample_rate = 48000;
    } else if (s->codec == SC_CODEC_H264) {
        const uint8_t *sps, *pps;
        size_t sl, pl;
        if (!f->width || sc_depack_h264_params(t->dp, &sps, &sl, &pps, &pl) < 0)
            return -EAGAIN;
        int n = sc_webm_avcc(sps, sl, pps, pl, wt.codec_private, sizeof(wt.codec_private));
        if (n < 0)
            return -EAGAIN;
        wt.codec_private_len = (size_t)n;
        wt.codec = SC_WEBM_H264;
        wt.width = f->width;
        wt.height = f->height;
    } else {
        if (!f->width)
            return -EAGAIN;
        wt.codec = SC_WEBM_VP8;
        wt.width = f->width;
        wt.height = f->height;
    }
    int rc = sc_webm_add_track(s->w, &wt);
    if (rc >= 0)
        t->index = rc;
    return rc < 0 ? rc : 0;
}

static void write_frame(sc_recorder *r, rec_stream *s, rec_track *t, const sc_frame *f)
{
    int64_t prev_ts = t->last_ts64;
    t->last_ts64 = f->ts;
    if (t->index < 0) {
        if (t == &s->video && !f->keyframe)
            return;
        int rc = add_track(s, t, f);
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            fail_stream(r, s, rc);
            return;
        }
    }
    double time = frame_time(s, t, f->ts);
    /* A sender report can move the RTP-to-media-time mapping back by a few
     * ms (the first one that syncs video to audio, or a jittery one), and a
     * frame completed by a retransmission arrives after a newer one: a
     * frame still follows the last one by at least its RTP distance (1 ms
     * if it has none).  Closer frames overlap, and ffmpeg's rescaled
     * timestamps collide (two frames of a 30 fps track 18 ms apart, or two
     * Opus frames 1 ms apart).  A move back is thus kept as a lag of at
     * most the largest such move; a move forward applies at once.  Kept
     * unrounded, so that 30 fps frames stay 33 or 34 ms apart, on average
     * 33.3, and do not drift off the frame grid. */
    if (t->wrote) {
        double step = (double)(f->ts - prev_ts) * 1000.0 / t->clock;
        if (time < t->last_time + (step > 0 ? step : 1))
            time = t->last_time + (step > 0 ? step : 1);
    }
    int64_t ms = (int64_t)(time + 0.5);
    uint64_t before = sc_webm_bytes(s->w);
    if (r->quota && r->st.bytes_used + f->len > r->quota) {
        fail_stream(r, s, -EDQUOT);
        return;
    }
    int rc = sc_webm_write(s->w, t->index, ms, f->keyframe, f->data, f->len);
    if (rc < 0) {
        fail_stream(r, s, rc);
        return;
    }
    t->wrote = true;
    t->last_time = time;
    uint64_t grown = sc_webm_bytes(s->w) - before;
    pthread_mutex_lock(&r->mu);
    r->st.bytes_written += grown;
    r->st.bytes_used += grown;
    pthread_mutex_unlock(&r->mu);
}

static void handle_rtp(sc_recorder *r, rec_stream *s, const sc_media_pkt *p)
{
    rec_track *t = p->video ? &s->video : &s->audio;
    if (!t->ssrc) {
        /* Video: lock to the first stream (simulcast layer) that shows a
         * keyframe; audio: to the first. */
        if (p->video && !p->keyframe)
            return;
        t->ssrc = p->rtp.ssrc;
        if (p->video)
            s->codec = p->codec;
        t->dp = sc_depack_new(!p->video ? SC_DEPACK_OPUS
                              : p->codec == SC_CODEC_H264 ? SC_DEPACK_H264
                                                          : SC_DEPACK_VP8);
        if (!t->dp) {
            fail_stream(r, s, -ENOMEM);
            return;
        }
    }
    if (p->rtp.ssrc != t->ssrc)
        return;
    if (!t->anchored) {
        t->anchored = true;
        t->anchor_ms = (int64_t)(p->recv_ms - s->start_recv_ms);
        t->anchor_ts = p->rtp.ts; /* the depacketizer unwraps from this value */
        t->last_ts64 = p->rtp.ts;
    }
    sc_frame f;
    sc_depack_stats before, after;
    sc_depack_get_stats(t->dp, &before);
    int rc = sc_depack_push(t->dp, &p->rtp, &f);
    sc_depack_get_stats(t->dp, &after);
    if (after.frames_dropped > before.frames_dropped)
        stat_add(r, &r->st.frames_dropped,
                 (int64_t)(after.frames_dropped - before.frames_dropped));
    if (rc == 1)
        write_frame(r, s, t, &f);
}

static void handle_sr(rec_stream *s, const sc_media_pkt *p)
{
    rec_track *t = p->sr.ssrc == s->audio.ssrc   ? &s->audio
                   : p->sr.ssrc == s->video.ssrc ? &s->video
                                                 : NULL;
    if (!t)
        return;
    t->have_sr = true;
    t->sr_ntp = p->sr.ntp;
    t->sr_rtp = p->sr.rtp_ts;
}

static void handle_packet(sc_recorder *r, sc_media_pkt *p)
{
    rec_stream *s = find_stream(r, p, !p->is_sr);
    if (!s)
        return;
    s->last_pkt_mono = sc_mono_ms();
    if (s->failed || !s->w)
        return;
    if (p->is_sr)
        handle_sr(s, p);
    else
        handle_rtp(r, s, p);
}

static void close_where(sc_recorder *r, const char *room, uint64_t idle_before)
{
    rec_stream **pp = &r->streams;
    while (*pp) {
        rec_stream *s = *pp;
        bool match = room ? strcmp(s->room, room) == 0 : s->last_pkt_mono < idle_before;
        if (match) {
            *pp = s->next;
            free_stream(r, s);
        } else {
            pp = &s->next;
        }
    }
}

static void *writer_main(void *arg)
{
    sc_recorder *r = arg;
    enum { BATCH = 256 };
    sc_media_pkt *batch[BATCH];
    uint64_t last_idle_check = sc_mono_ms();
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (!r->qlen && !r->stops && !r->quit) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 250 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
        int n = 0;
        while (r->qlen && n < BATCH) {
            batch[n++] = r->q[r->qhead];
            r->qhead = (r->qhead + 1) % SC_RECORDER_QUEUE;
            r->qlen--;
        }
        /* A stop applies once every packet queued before it is written: a
         * writer behind by more than a batch would otherwise close the
         * file, then open a second one for the rest of the same session. */
        uint64_t taken = r->pushed - r->qlen;
        stop_cmd *stops = NULL;
        for (stop_cmd **pc = &r->stops; *pc;) {
            stop_cmd *c = *pc;
            if (c->after <= taken) {
                *pc = c->next;
                c->next = stops;
                stops = c;
            } else {
                pc = &c->next;
            }
        }
        bool quit = r->quit && !r->qlen;
        pthread_mutex_unlock(&r->mu);
        for (int i = 0; i < n; i++) {
            handle_packet(r, batch[i]);
            sc_media_pkt_unref(batch[i]);
        }
        while (stops) {
            stop_cmd *c = stops;
            stops = c->next;
            close_where(r, c->room, 0);
            free(c);
        }
        uint64_t now = sc_mono_ms();
        if (now - last_idle_check >= 250) {
            last_idle_check = now;
            if (now > SC_RECORDER_IDLE_MS)
                close_where(r, NULL, now - SC_RECORDER_IDLE_MS);
        }
        if (quit)
            break;
    }
    while (r->streams) {
        rec_stream *s = r->streams;
        r->streams = s->next;
        free_stream(r, s);
    }
    return NULL;
}

/* ---- public ---- */

sc_recorder *sc_recorder_new(const char *dir, uint64_t quota_bytes, char *err, size_t errlen)
{
    sc_recorder *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (!dir || snprintf(r->dir, sizeof(r->dir), "%s", dir) >= (int)sizeof(r->dir)) {
        snprintf(err, errlen, "bad recordings directory");
        goto fail;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        goto fail;
    }
    r->quota = quota_bytes;
    r->q = calloc(SC_RECORDER_QUEUE, sizeof(*r->q));
    if (!r->q) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    scan_dir(r);
    if (pthread_create(&r->thread, NULL, writer_main, r) != 0) {
        snprintf(err, errlen, "cannot start the writer thread");
        goto fail;
    }
    r->thread_started = true;
    return r;
fail:
    sc_recorder_free(r);
    return NULL;
}

void sc_recorder_set_done_callback(sc_recorder *r, sc_recorder_done_fn fn, void *ud)
{
    pthread_mutex_lock(&r->mu);
    r->done_fn = fn;
    r->done_ud = ud;
    pthread_mutex_unlock(&r->mu);
}

void sc_recorder_set_events(sc_recorder *r, const sc_recorder_events *ev, void *ud)
{
    pthread_mutex_lock(&r->mu);
    memset(&r->ev, 0, sizeof(r->ev));
    if (ev && ev->version >= 1) {
        r->ev.version = SC_RECORDER_EVENTS_VERSION;
        r->ev.started = ev->started;
        r->ev.error = ev->error;
    }
    r->ev_ud = ud;
    pthread_mutex_unlock(&r->mu);
}

void sc_recorder_push(sc_recorder *r, sc_media_pkt *pkt)
{
    if (!r || !pkt)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->qlen == SC_RECORDER_QUEUE || r->quit) {
        r->st.drops_queue_full++;
        pthread_mutex_unlock(&r->mu);
        return;
    }
    sc_media_pkt_ref(pkt);
    r->q[(r->qhead + r->qlen) % SC_RECORDER_QUEUE] = pkt;
    r->pushed++;
    /* Wake the writer only when it may be sleeping on an empty queue. */
    if (r->qlen++ == 0)
        pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

int sc_recorder_stop_room(sc_recorder *r, const char *room)
{
    if (!r || !room || strlen(room) >= 65)
        return -EINVAL;
    stop_cmd *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    snprintf(c->room, sizeof(c->room), "%s", room);
    pthread_mutex_lock(&r->mu);
    c->after = r->pushed;
    c->next = r->stops;
    r->stops = c;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

void sc_recorder_stats_get(sc_recorder *r, sc_recorder_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}

void sc_recorder_free(sc_recorder *r)
{
    if (!r)
        return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->mu);
        r->quit = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    while (r->stops) {
        stop_cmd *c = r->stops;
        r->stops = c->next;
        free(c);
    }
    while (r->q && r->qlen) {
        sc_media_pkt_unref(r->q[r->qhead]);
        r->qhead = (r->qhead + 1) % SC_RECORDER_QUEUE;
        r->qlen--;
    }
    free(r->q);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
