#include "recorder/webm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "recorder/ebml.h"

/* Element IDs (Matroska spec), written with their marker bits. */
#define ID_EBML 0x1A45DFA3u
#define ID_EBML_VERSION 0x4286u
#define ID_EBML_READ_VERSION 0x42F7u
#define ID_EBML_MAX_ID 0x42F2u
#define ID_EBML_MAX_SIZE 0x42F3u
#define ID_DOCTYPE 0x4282u
#define ID_DOCTYPE_VERSION 0x4287u
#define ID_DOCTYPE_READ_VERSION 0x4285u
#define ID_SEGMENT 0x18538067u
#define ID_SEEKHEAD 0x114D9B74u
#define ID_SEEK 0x4DBBu
#define ID_SEEK_ID 0x53ABu
#define ID_SEEK_POS 0x53ACu
#define ID_VOID 0xECu
#define ID_INFO 0x1549A966u
#define ID_TIMECODE_SCALE 0x2AD7B1u
#define ID_DURATION 0x4489u
#define ID_MUXING_APP 0x4D80u
#define ID_WRITING_APP 0x5741u
#define ID_TRACKS 0x1654AE6Bu
#define ID_TRACK_ENTRY 0xAEu
#define ID_TRACK_NUMBER 0xD7u
#define ID_TRACK_UID 0x73C5u
#define ID_TRACK_TYPE 0x83u
#define ID_FLAG_LACING 0x9Cu
#define ID_CODEC_ID 0x86u
#define ID_CODEC_PRIVATE 0x63A2u
#define ID_CODEC_DELAY 0x56AAu
#define ID_SEEK_PREROLL 0x56BBu
#define ID_VIDEO 0xE0u
#define ID_PIXEL_WIDTH 0xB0u
#define ID_PIXEL_HEIGHT 0xBAu
#define ID_AUDIO 0xE1u
#define ID_SAMPLING_FREQ 0xB5u
#define ID_CHANNELS 0x9Fu
#define ID_CLUSTER 0x1F43B675u
#define ID_CLUSTER_TIMECODE 0xE7u
#define ID_SIMPLE_BLOCK 0xA3u
#define ID_BLOCK_GROUP 0xA0u
#define ID_BLOCK 0xA1u
#define ID_CUES 0x1C53BB6Bu
#define ID_CUE_POINT 0xBBu
#define ID_CUE_TIME 0xB3u
#define ID_CUE_TRACK_POS 0xB7u
#define ID_CUE_TRACK 0xF7u
#define ID_CUE_CLUSTER_POS 0xF1u

#define SEEKHEAD_RESERVE 96
#define TRACKS_RESERVE 3072
#define UNKNOWN_SIZE 0x01FFFFFFFFFFFFFFull
#define MAX_CLUSTER_BYTES (64u << 20) /* repair refuses larger: not ours */

typedef struct sc_buf {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} sc_buf;

typedef struct cluster_rec {
    int64_t ts;         /* cue time: the keyframe's, or the cluster's */
    uint64_t pos;       /* absolute file offset */
    bool video_key;
} cluster_rec;

/* What finishing a file needs, gathered while writing or by repair. */
typedef struct finish_info {
    uint64_t seg_size_pos;
    uint64_t seg_data;
    uint64_t seekhead_pos, seekhead_len;   /* the reserved area */
    uint64_t info_pos, tracks_pos;
    uint64_t duration_pos;                 /* of the 8-byte float; 0 when absent */
    uint64_t end;
    cluster_rec *clusters;
    size_t n_clusters, cap_clusters;
    int cue_video_track, cue_audio_track;  /* track numbers, 0 when none */
    int64_t duration_ms;
} finish_info;

struct sc_webm {
    int fd;
    int error;
    sc_webm_track tracks[SC_WEBM_MAX_TRACKS];
    int n_tracks;
    int64_t last_ts[SC_WEBM_MAX_TRACKS], last_delta[SC_WEBM_MAX_TRACKS];
    bool have_ts[SC_WEBM_MAX_TRACKS];
    finish_info fi;
    sc_buf cluster;
    bool cluster_open;
    int64_t cluster_ts;
    bool cluster_key;
    int64_t cluster_key_ts;
    uint64_t bytes;
    uint64_t last_sync_ms;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- byte buffer and EBML encoding ---- */

static void buf_put(sc_buf *b, const void *d, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_u8(sc_buf *b, uint8_t v)
{
    buf_put(b, &v, 1);
}

static void put_be(uint8_t *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        out[i] = (uint8_t)v;
}

static void buf_id(sc_buf *b, uint32_t id)
{
    uint8_t t[4];
    int n = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
    put_be(t, id, n);
    buf_put(b, t, (size_t)n);
}

/* A size as a vint of exactly n bytes (1..8). */
static void encode_vint(uint8_t *out, uint64_t v, int n)
{
    put_be(out, v | (1ull << (7 * n)), n);
}

static int vint_len(uint64_t v)
{
    int n = 1;
    while (n < 8 && v >= (1ull << (7 * n)) - 1)
        n++;
    return n;
}

static void buf_size(sc_buf *b, uint64_t v, int n)
{
    uint8_t t[8];
    if (n == 0)
        n = vint_len(v);
    encode_vint(t, v, n);
    buf_put(b, t, (size_t)n);
}

static void buf_uint(sc_buf *b, uint32_t id, uint64_t v)
{
    int n = 1;
    while (n < 8 && (v >> (8 * n)))
        n++;
    uint8_t t[8];
    put_be(t, v, n);
    buf_id(b, id);
    buf_size(b, (uint64_t)n, 0);
    buf_put(b, t, (size_t)n);
}

static void buf_float(sc_buf *b, uint32_t id, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    uint8_t t[8];
    put_be(t, v, 8);
    buf_id(b, id);
    buf_size(b, 8, 0);
    buf_put(b, t, 8);
}

static void buf_bin(sc_buf *b, uint32_t id, const void *d, size_t n)
{
    buf_id(b, id);
    buf_size(b, n, 0);
    buf_put(b, d, n);
}

static void buf_str(sc_buf *b, uint32_t id, const char *s)
{
    buf_bin(b, id, s, strlen(s));
}

/* Open a master element with an 8-byte size to patch by buf_end. */
static size_t buf_begin(sc_buf *b, uint32_t id)
{
    buf_id(b, id);
    size_t at = b->len;
    buf_size(b, 0, 8);
    return at;
}

static void buf_end(sc_buf *b, size_t at)
{
    if (!b->oom)
        encode_vint(b->p + at, b->len - at - 8, 8);
}

/* A Void element of exactly n bytes (n == 0 or n >= 2). */
static void buf_void(sc_buf *b, size_t n)
{
    if (n == 0)
        return;
    buf_id(b, ID_VOID);
    if (n <= 128) {
        buf_size(b, n - 2, 1);
        n -= 2;
    } else {
        buf_size(b, n - 9, 8);
        n -= 9;
    }
    static const uint8_t zero[256];
    while (n) {
        size_t k = n < sizeof(zero) ? n : sizeof(zero);
        buf_put(b, zero, k);
        n -= k;
    }
}

/* A master element with `content` filling exactly `total` bytes with the
 * Void after it: the size field takes 7 or 8 bytes so that the gap left is
 * never the impossible 1 byte.  -ENOSPC when it does not fit. */
static int buf_region(sc_buf *b, uint32_t id, const sc_buf *content, size_t total)
{
    int idlen = id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1;
    int szlen = 7;
    if (idlen + 7 + content->len + 1 == total)
        szlen = 8;
    size_t used = (size_t)idlen + (size_t)szlen + content->len;
    if (used > total)
        return -ENOSPC;
    buf_id(b, id);
    buf_size(b, content->len, szlen);
    buf_put(b, content->p, content->len);
    buf_void(b, total - used);
    return b->oom ? -ENOMEM : 0;
}

/* ---- file I/O ---- */

static int pwrite_all(int fd, const void *d, size_t n, uint64_t off)
{
    const uint8_t *p = d;
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

static int pread_all(int fd, void *d, size_t n, uint64_t off)
{
    uint8_t *p = d;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -ENODATA;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* ---- headers ---- */

static void build_track_entry(sc_buf *b, int number, const sc_webm_track *t)
{
    size_t e = buf_begin(b, ID_TRACK_ENTRY);
    buf_uint(b, ID_TRACK_NUMBER, (uint64_t)number);
    buf_uint(b, ID_TRACK_UID, (uint64_t)number);
    buf_uint(b, ID_FLAG_LACING, 0);
    if (t->codec == SC_WEBM_OPUS) {
        uint8_t head[19];
        const uint8_t *priv = t->codec_private;
        size_t plen = t->codec_private_len;
        uint8_t ch = t->channels ? t->channels : 2;
        uint32_t rate = t->sample_rate ? t->sample_rate : 48000;
        if (plen == 0) {
            /* OpusHead (RFC 7845 5.1), mapping family 0. */
            memcpy(head, "OpusHead", 8);
            head[8] = 1;
            head[9] = ch;
            head[10] = (uint8_t)t->opus_pre_skip;
            head[11] = (uint8_t)(t->opus_pre_skip >> 8);
            for (int i = 0; i < 4; i++)
                head[12 + i] = (uint8_t)(rate >> (8 * i));
            head[16] = head[17] = 0;
            head[18] = 0;
            priv = head;
            plen = sizeof(head);
        }
        buf_uint(b, ID_TRACK_TYPE, 2);
        buf_str(b, ID_CODEC_ID, "A_OPUS");
        buf_bin(b, ID_CODEC_PRIVATE, priv, plen);
        /* CodecDelay and SeekPreRoll are in ns; 80 ms pre-roll per the
         * WebM Opus mapping. */
        buf_uint(b, ID_CODEC_DELAY, (uint64_t)t->opus_pre_skip * 1000000000ull / 48000);
        buf_uint(b, ID_SEEK_PREROLL, 80000000ull);
        size_t a = buf_begin(b, ID_AUDIO);
        buf_float(b, ID_SAMPLING_FREQ, (double)rate);
        buf_uint(b, ID_CHANNELS, ch);
        buf_end(b, a);
    } else {
        buf_uint(b, ID_TRACK_TYPE, 1);
        buf_str(b, ID_CODEC_ID, t->codec == SC_WEBM_H264 ? "V_MPEG4/ISO/AVC" : "V_VP8");
        if (t->codec_private_len)
            buf_bin(b, ID_CODEC_PRIVATE, t->codec_private, t->codec_private_len);
        size_t v = buf_begin(b, ID_VIDEO);
        buf_uint(b, ID_PIXEL_WIDTH, t->width);
        buf_uint(b, ID_PIXEL_HEIGHT, t->height);
        buf_end(b, v);
    }
    buf_end(b, e);
}

static int write_tracks(sc_webm *w)
{
    sc_buf content = {0}, region = {0};
    for (int i = 0; i < w->n_tracks; i++)
        build_track_entry(&content, i + 1, &w->tracks[i]);
    int rc = content.oom ? -ENOMEM : buf_region(&region, ID_TRACKS, &content, TRACKS_RESERVE);
    if (rc == 0)
        rc = pwrite_all(w->fd, region.p, region.len, w->fi.tracks_pos);
    free(content.p);
    free(region.p);
    return rc;
}

static int write_headers(sc_webm *w)
{
    sc_buf b = {0};
    size_t h = buf_begin(&b, ID_EBML);
    buf_uint(&b, ID_EBML_VERSION, 1);
    buf_uint(&b, ID_EBML_READ_VERSION, 1);
    buf_uint(&b, ID_EBML_MAX_ID, 4);
    buf_uint(&b, ID_EBML_MAX_SIZE, 8);
    buf_str(&b, ID_DOCTYPE, "webm");
    buf_uint(&b, ID_DOCTYPE_VERSION, 4);
    buf_uint(&b, ID_DOCTYPE_READ_VERSION, 2);
    buf_end(&b, h);
    buf_id(&b, ID_SEGMENT);
    w->fi.seg_size_pos = b.len;
    buf_size(&b, UNKNOWN_SIZE, 8);
    w->fi.seg_data = b.len;
    w->fi.seekhead_pos = b.len;
    w->fi.seekhead_len = SEEKHEAD_RESERVE;
    buf_void(&b, SEEKHEAD_RESERVE);
    w->fi.info_pos = b.len;
    size_t info = buf_begin(&b, ID_INFO);
    buf_uint(&b, ID_TIMECODE_SCALE, 1000000);
    buf_float(&b, ID_DURATION, 0.0);
    w->fi.duration_pos = b.len - 8;
    buf_str(&b, ID_MUXING_APP, "stagecast");
    buf_str(&b, ID_WRITING_APP, "stagecast recorder");
    buf_end(&b, info);
    w->fi.tracks_pos = b.len;
    buf_void(&b, TRACKS_RESERVE);
    int rc = b.oom ? -ENOMEM : pwrite_all(w->fd, b.p, b.len, 0);
    w->fi.end = b.len;
    w->bytes = b.len;
    free(b.p);
    if (rc == 0)
        rc = write_tracks(w);
    return rc;
}

sc_webm *sc_webm_open(const char *path, const sc_webm_track *tracks, int n, char *err,
                      size_t errlen)
{
    if (n < 0 || n > SC_WEBM_MAX_TRACKS || (n > 0 && !tracks)) {
        set_err(err, errlen, "bad track count %d", n);
        return NULL;
    }
    sc_webm *w = calloc(1, sizeof(*w));
    if (!w) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        set_err(err, errlen, "open %s: %s", path, strerror(errno));
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        if (tracks[i].codec_private_len > SC_WEBM_MAX_PRIVATE) {
            set_err(err, errlen, "track %d: codec private too long", i);
            goto fail;
        }
        w->tracks[i] = tracks[i];
    }
    w->n_tracks = n;
    int rc = write_headers(w);
    if (rc < 0) {
        set_err(err, errlen, "write %s: %s", path, strerror(-rc));
        goto fail;
    }
    w->last_sync_ms = sc_mono_ms();
    return w;
fail:
    if (w->fd >= 0)
        close(w->fd);
    free(w);
    return NULL;
}

int sc_webm_set_track(sc_webm *w, int index, const sc_webm_track *t)
{
    if (!w || !t || index < 0 || index > w->n_tracks || index >= SC_WEBM_MAX_TRACKS ||
        t->codec_private_len > SC_WEBM_MAX_PRIVATE)
        return -EINVAL;
    if (w->error)
        return w->error;
    sc_webm_track old = w->tracks[index];
    int old_n = w->n_tracks;
    w->tracks[index] = *t;
    if (index == w->n_tracks)
        w->n_tracks++;
    int rc = write_tracks(w);
    if (rc == -ENOSPC) {
        /* The reserved area is full: keep the previous Tracks. */
        w->tracks[index] = old;
        w->n_tracks = old_n;
        return rc;
    }
    if (rc < 0)
        w->error = rc;
    return rc;
}

int sc_webm_add_track(sc_webm *w, const sc_webm_track *t)
{
    if (!w)
        return -EINVAL;
    if (w->n_tracks >= SC_WEBM_MAX_TRACKS)
        return -ENOSPC;
    int index = w->n_tracks;
    int rc = sc_webm_set_track(w, index, t);
    return rc < 0 ? rc : index;
}

/* ---- clusters ---- */

static int add_cluster_rec(finish_info *fi, const cluster_rec *c)
{
    if (fi->n_clusters == fi->cap_clusters) {
        size_t cap = fi->cap_clusters ? fi->cap_clusters * 2 : 256;
        cluster_rec *p = realloc(fi->clusters, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        fi->clusters = p;
        fi->cap_clusters = cap;
    }
    fi->clusters[fi->n_clusters++] = *c;
    return 0;
}

static int flush_cluster(sc_webm *w)
{
    if (!w->cluster_open)
        return 0;
    w->cluster_open = false;
    sc_buf *b = &w->cluster;
    if (b->oom) {
        b->len = 0;
        b->oom = false;
        return -ENOMEM;
    }
    encode_vint(b->p + 4, b->len - 12, 8);
    int rc = pwrite_all(w->fd, b->p, b->len, w->fi.end);
    if (rc < 0) {
        /* A torn cluster may be on disk past fi.end; close truncates it. */
        w->error = rc;
        b->len = 0;
        return rc;
    }
    cluster_rec c = {w->cluster_key ? w->cluster_key_ts : w->cluster_ts, w->fi.end,
                     w->cluster_key};
    w->fi.end += b->len;
    w->bytes += b->len;
    b->len = 0;
    add_cluster_rec(&w->fi, &c);
    uint64_t now = sc_mono_ms();
    if (now - w->last_sync_ms >= SC_WEBM_SYNC_MS) {
        w->last_sync_ms = now;
        fdatasync(w->fd);
    }
    return 0;
}

static void open_cluster(sc_webm *w, int64_t ts)
{
    sc_buf *b = &w->cluster;
    b->len = 0;
    buf_id(b, ID_CLUSTER);
    buf_size(b, 0, 8);
    buf_uint(b, ID_CLUSTER_TIMECODE, (uint64_t)ts);
    w->cluster_open = true;
    w->cluster_ts = ts;
    w->cluster_key = false;
}

int sc_webm_write(sc_webm *w, int index, int64_t ts_ms, bool keyframe, const uint8_t *frame,
                  size_t len)
{
    if (!w || index < 0 || index >= w->n_tracks || (!frame && len) || len > (64u << 20))
        return -EINVAL;
    if (w->error)
        return w->error;
    if (ts_ms < 0)
        ts_ms = 0;
    bool video = w->tracks[index].codec != SC_WEBM_OPUS;
    int64_t rel = ts_ms - w->cluster_ts;
    bool new_cluster = !w->cluster_open || (video && keyframe) ||
                       ts_ms - w->cluster_ts >= SC_WEBM_CLUSTER_MS || rel < -32768 ||
                       rel > 32767;
    if (new_cluster) {
        int rc = flush_cluster(w);
        if (rc < 0)
            return rc;
        open_cluster(w, ts_ms);
        rel = 0;
    }
    if (video && keyframe && !w->cluster_key) {
        w->cluster_key = true;
        w->cluster_key_ts = ts_ms;
    }
    sc_buf *b = &w->cluster;
    buf_id(b, ID_SIMPLE_BLOCK);
    buf_size(b, len + 4, 0);
    buf_u8(b, (uint8_t)(0x80 | (index + 1)));
    uint8_t hdr[3] = {(uint8_t)((uint16_t)rel >> 8), (uint8_t)rel,
                      (uint8_t)((keyframe || !video) ? 0x80 : 0)};
    buf_put(b, hdr, 3);
    buf_put(b, frame, len);
    if (b->oom)
        return -ENOMEM;
    if (w->have_ts[index] && ts_ms > w->last_ts[index] && ts_ms - w->last_ts[index] < 1000)
        w->last_delta[index] = ts_ms - w->last_ts[index];
    else if (!w->have_ts[index])
        w->last_delta[index] = video ? 33 : 20;
    if (!w->have_ts[index] || ts_ms > w->last_ts[index])
        w->last_ts[index] = ts_ms;
    w->have_ts[index] = true;
    if (w->last_ts[index] + w->last_delta[index] > w->fi.duration_ms)
        w->fi.duration_ms = w->last_ts[index] + w->last_delta[index];
    return 0;
}

uint64_t sc_webm_bytes(const sc_webm *w)
{
    return w ? w->bytes + w->cluster.len : 0;
}

int64_t sc_webm_duration_ms(const sc_webm *w)
{
    return w ? w->fi.duration_ms : 0;
}

/* ---- finishing: Cues, SeekHead, Duration, Segment size ---- */

static int finish(int fd, finish_info *fi)
{
    sc_buf cues = {0}, b = {0}, sh = {0};
    bool any_key = false;
    for (size_t i = 0; i < fi->n_clusters; i++)
        any_key |= fi->clusters[i].video_key;
    int track = any_key ? fi->cue_video_track : fi->cue_audio_track;
    if (!track)
        track = fi->cue_video_track ? fi->cue_video_track : 1;
    for (size_t i = 0; i < fi->n_clusters; i++) {
        const cluster_rec *c = &fi->clusters[i];
        if (any_key && !c->video_key)
            continue;
        size_t cp = buf_begin(&cues, ID_CUE_POINT);
        buf_uint(&cues, ID_CUE_TIME, (uint64_t)c->ts);
        size_t tp = buf_begin(&cues, ID_CUE_TRACK_POS);
        buf_uint(&cues, ID_CUE_TRACK, (uint64_t)track);
        buf_uint(&cues, ID_CUE_CLUSTER_POS, c->pos - fi->seg_data);
        buf_end(&cues, tp);
        buf_end(&cues, cp);
    }
    uint64_t cues_pos = fi->end;
    int rc = 0;
    if (cues.len) {
        buf_id(&b, ID_CUES);
        buf_size(&b, cues.len, 8);
        buf_put(&b, cues.p, cues.len);
        rc = b.oom ? -ENOMEM : pwrite_all(fd, b.p, b.len, cues_pos);
        if (rc < 0)
            goto out;
    }
    uint64_t total = cues_pos + b.len;
    if (ftruncate(fd, (off_t)total) < 0) {
        rc = -errno;
        goto out;
    }
    /* SeekHead into the reserved area. */
    struct {
        uint32_t id;
        uint64_t pos;
    } seeks[3] = {{ID_INFO, fi->info_pos}, {ID_TRACKS, fi->tracks_pos}, {ID_CUES, cues_pos}};
    int nseeks = cues.len ? 3 : 2;
    sc_buf content = {0};
    for (int i = 0; i < nseeks; i++) {
        if (!seeks[i].pos)
            continue;
        uint8_t id[4];
        put_be(id, seeks[i].id, 4);
        size_t s = buf_begin(&content, ID_SEEK);
        buf_bin(&content, ID_SEEK_ID, id, 4);
        buf_uint(&content, ID_SEEK_POS, seeks[i].pos - fi->seg_data);
        buf_end(&content, s);
    }
    rc = content.oom ? -ENOMEM : buf_region(&sh, ID_SEEKHEAD, &content, fi->seekhead_len);
    free(content.p);
    if (rc == 0 && fi->seekhead_len)
        rc = pwrite_all(fd, sh.p, sh.len, fi->seekhead_pos);
    if (rc < 0)
        goto out;
    if (fi->duration_pos) {
        double d = (double)fi->duration_ms;
        uint64_t v;
        uint8_t t[8];
        memcpy(&v, &d, 8);
        put_be(t, v, 8);
        if ((rc = pwrite_all(fd, t, 8, fi->duration_pos)) < 0)
            goto out;
    }
    uint8_t sz[8];
    encode_vint(sz, total - fi->seg_data, 8);
    if ((rc = pwrite_all(fd, sz, 8, fi->seg_size_pos)) < 0)
        goto out;
    if (fdatasync(fd) < 0)
        rc = -errno;
out:
    free(cues.p);
    free(b.p);
    free(sh.p);
    return rc;
}

int sc_webm_close(sc_webm *w)
{
    if (!w)
        return 0;
    int rc = flush_cluster(w);
    for (int i = 0; i < w->n_tracks; i++) {
        bool video = w->tracks[i].codec != SC_WEBM_OPUS;
        if (video && !w->fi.cue_video_track)
            w->fi.cue_video_track = i + 1;
        if (!video && !w->fi.cue_audio_track)
            w->fi.cue_audio_track = i + 1;
    }
    /* After a write error, drop whatever torn bytes lie past the last
     * complete cluster, then finish if the disk lets us. */
    int frc = finish(w->fd, &w->fi);
    if (rc == 0)
        rc = w->error ? w->error : frc;
    if (close(w->fd) < 0 && rc == 0)
        rc = -errno;
    free(w->fi.clusters);
    free(w->cluster.p);
    free(w);
    return rc;
}

/* ---- reading, for repair ---- */

/* Read an element header at off (file size fsize): id, data size (or
 * SC_EBML_UNKNOWN) and header length.  -EINVAL when malformed or past EOF. */
static int read_header(int fd, uint64_t off, uint64_t fsize, uint32_t *id, uint64_t *size,
                       int *hlen)
{
    uint8_t h[12];
    size_t avail = fsize - off < sizeof(h) ? (size_t)(fsize - off) : sizeof(h);
    size_t hl;
    if (off >= fsize || avail < 2 || pread_all(fd, h, avail, off) < 0 ||
        sc_ebml_header(h, avail, id, size, &hl) < 0)
        return -EINVAL;
    *hlen = (int)hl;
    return 0;
}

/* An element header inside [p, p + n) whose data fits there too: its
 * header length, or 0. */
static size_t mem_header(const uint8_t *p, uint64_t n, uint32_t *id, uint64_t *sz)
{
    size_t hl;
    if (sc_ebml_header(p, (size_t)n, id, sz, &hl) < 0 || *sz > n - hl)
        return 0;
    return hl;
}

/* An unsigned integer element; longer than 8 bytes reads its first 8. */
static uint64_t mem_uint(const uint8_t *p, uint64_t n)
{
    uint64_t v = 0;
    sc_ebml_uint(p, n < 8 ? n : 8, &v);
    return v;
}

typedef struct repair_track {
    int number;
    bool video;
    int64_t last_ts, last_delta;
    bool have;
} repair_track;

typedef struct repair_state {
    finish_info fi;
    repair_track tracks[16];
    int n_tracks;
} repair_state;

/* Walk the children of [p, p+n) calling fn for each. */
typedef void (*child_fn)(void *ctx, uint32_t id, const uint8_t *d, uint64_t n, uint64_t at);

static int walk(const uint8_t *p, uint64_t n, child_fn fn, void *ctx)
{
    uint64_t o = 0;
    while (o < n) {
        uint32_t id;
        uint64_t sz;
        size_t hl = mem_header(p + o, n - o, &id, &sz);
        if (!hl)
            return -EINVAL;
        fn(ctx, id, p + o + hl, sz, o);
        o += (uint64_t)hl + sz;
    }
    return 0;
}

typedef struct entry_ctx {
    int number, type;
} entry_ctx;

static void on_entry_child(void *ctx, uint32_t id, const uint8_t *d, uint64_t n, uint64_t at)
{
    entry_ctx *e = ctx;
    if (id == ID_TRACK_NUMBER)
        e->number = (int)mem_uint(d, n);
    else if (id == ID_TRACK_TYPE)
        e->type = (int)mem_uint(d, n);
}

static void on_tracks_child(void *ctx, uint32_t id, const uint8_t *d, uint64_t n, uint64_t at)
{
    repair_state *rs = ctx;
    if (id != ID_TRACK_ENTRY || rs->n_tracks >= 16)
        return;
    entry_ctx e = {0, 0};
    if (walk(d, n, on_entry_child, &e) < 0 || e.number <= 0)
        return;
    repair_track *t = &rs->tracks[rs->n_tracks++];
    memset(t, 0, sizeof(*t));
    t->number = e.number;
    t->video = e.type == 1;
    if (t->video && !rs->fi.cue_video_track)
        rs->fi.cue_video_track = e.number;
    if (e.type == 2 && !rs->fi.cue_audio_track)
        rs->fi.cue_audio_track = e.number;
}

typedef struct info_ctx {
    uint64_t base;     /* absolute offset of the Info data */
    uint64_t duration_pos;
} info_ctx;

static void on_info_child(void *ctx, uint32_t id, const uint8_t *d, uint64_t n, uint64_t at)
{
    info_ctx *ic = ctx;
    /* The header of this child is 2 (id) + 1 (size) bytes for an 8-byte
     * float: only that form is patched in place. */
    if (id == ID_DURATION && n == 8)
        ic->duration_pos = ic->base + at + 3;
}

typedef struct cluster_ctx {
    repair_state *rs;
    int64_t tc;
    bool have_tc;
    cluster_rec rec;
} cluster_ctx;

static void on_block(cluster_ctx *cc, const uint8_t *d, uint64_t n, bool simple)
{
    uint64_t tn;
    size_t l = sc_ebml_vint(d, (size_t)n, &tn);
    if (!l || n < (uint64_t)l + 3 || !cc->have_tc)
        return;
    int16_t rel = (int16_t)((uint16_t)d[l] << 8 | d[l + 1]);
    bool key = simple && (d[l + 2] & 0x80);
    int64_t ts = cc->tc + rel;
    for (int i = 0; i < cc->rs->n_tracks; i++) {
        repair_track *t = &cc->rs->tracks[i];
        if ((uint64_t)t->number != tn)
            continue;
        if (t->have && ts > t->last_ts && ts - t->last_ts < 1000)
            t->last_delta = ts - t->last_ts;
        else if (!t->have)
            t->last_delta = t->video ? 33 : 20;
        if (!t->have || ts > t->last_ts)
            t->last_ts = ts;
        t->have = true;
        if (t->video && key && !cc->rec.video_key) {
            cc->rec.video_key = true;
            cc->rec.ts = ts;
        }
    }
}

static void on_cluster_child(void *ctx, uint32_t id, const uint8_t *d, uint64_t n, uint64_t at)
{
    cluster_ctx *cc = ctx;
    if (id == ID_CLUSTER_TIMECODE) {
        cc->tc = (int64_t)mem_uint(d, n);
        cc->have_tc = true;
        if (!cc->rec.video_key)
            cc->rec.ts = cc->tc;
    } else if (id == ID_SIMPLE_BLOCK) {
        on_block(cc, d, n, true);
    } else if (id == ID_BLOCK_GROUP) {
        /* Only the Block inside matters for timing. */
        uint32_t cid;
        uint64_t sz;
        size_t hl = mem_header(d, n, &cid, &sz);
        if (hl && cid == ID_BLOCK)
            on_block(cc, d + hl, sz, false);
    }
}

static int read_element(int fd, uint64_t off, uint64_t n, uint8_t **out)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return -ENOMEM;
    int rc = pread_all(fd, p, (size_t)n, off);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Walk the Segment's children, stopping at the first incomplete element or
 * at Cues (which repair rewrites). */
static int scan_segment(int fd, uint64_t fsize, repair_state *rs)
{
    finish_info *fi = &rs->fi;
    uint64_t off = fi->seg_data;
    bool have_tracks = false;
    while (off < fsize) {
        uint32_t id;
        uint64_t sz;
        int hl;
        if (read_header(fd, off, fsize, &id, &sz, &hl) < 0 || sz == SC_EBML_UNKNOWN ||
            sz > fsize - off - (uint64_t)hl)
            break; /* torn tail */
        uint64_t data = off + (uint64_t)hl;
        if (id == ID_CUES)
            break;
        if (off == fi->seg_data && (id == ID_SEEKHEAD || id == ID_VOID)) {
            fi->seekhead_pos = off;
            fi->seekhead_len = (uint64_t)hl + sz;
        } else if (id == ID_INFO || id == ID_TRACKS || id == ID_CLUSTER) {
            if (sz > MAX_CLUSTER_BYTES)
                break;
            uint8_t *p;
            int rc = read_element(fd, data, sz, &p);
            if (rc < 0)
                return rc;
            if (id == ID_INFO) {
                info_ctx ic = {data, 0};
                walk(p, sz, on_info_child, &ic);
                fi->info_pos = off;
                fi->duration_pos = ic.duration_pos;
            } else if (id == ID_TRACKS) {
                walk(p, sz, on_tracks_child, rs);
                fi->tracks_pos = off;
                have_tracks = true;
            } else {
                cluster_ctx cc = {rs, 0, false, {0, off, false}};
                /* A cluster whose blocks do not parse is torn: stop. */
                if (walk(p, sz, on_cluster_child, &cc) < 0 || !cc.have_tc) {
                    free(p);
                    break;
                }
                rc = add_cluster_rec(fi, &cc.rec);
                if (rc < 0) {
                    free(p);
                    return rc;
                }
            }
            free(p);
        }
        off = data + sz;
    }
    fi->end = off;
    return have_tracks ? 0 : -EINVAL;
}

int sc_webm_repair(const char *path, int64_t *duration_ms, char *err, size_t errlen)
{
    repair_state rs;
    memset(&rs, 0, sizeof(rs));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_err(err, errlen, "open %s: %s", path, strerror(e));
        return -e;
    }
    int rc;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        set_err(err, errlen, "stat %s: %s", path, strerror(-rc));
        goto out;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    uint32_t id;
    uint64_t sz;
    int hl;
    if (read_header(fd, 0, fsize, &id, &sz, &hl) < 0 || id != ID_EBML ||
        sz > fsize - (uint64_t)hl) {
        rc = -EINVAL;
        set_err(err, errlen, "%s: no EBML header", path);
        goto out;
    }
    uint64_t seg = (uint64_t)hl + sz;
    if (read_header(fd, seg, fsize, &id, &sz, &hl) < 0 || id != ID_SEGMENT || hl != 12) {
        /* Our writer always uses a 4-byte id and an 8-byte size. */
        rc = -EINVAL;
        set_err(err, errlen, "%s: no Segment we can finish", path);
        goto out;
    }
    rs.fi.seg_size_pos = seg + 4;
    rs.fi.seg_data = seg + 12;
    rc = scan_segment(fd, fsize, &rs);
    if (rc < 0) {
        set_err(err, errlen, "%s: %s", path, rc == -EINVAL ? "no Tracks" : strerror(-rc));
        goto out;
    }
    for (int i = 0; i < rs.n_tracks; i++) {
        repair_track *t = &rs.tracks[i];
        if (t->have && t->last_ts + t->last_delta > rs.fi.duration_ms)
            rs.fi.duration_ms = t->last_ts + t->last_delta;
    }
    rc = finish(fd, &rs.fi);
    if (rc < 0)
        set_err(err, errlen, "finish %s: %s", path, strerror(-rc));
    else if (duration_ms)
        *duration_ms = rs.fi.duration_ms;
out:
    free(rs.fi.clusters);
    close(fd);
    return rc;
}

/* ---- H.264 helpers ---- */

int sc_webm_avcc(const uint8_t *sps, size_t sps_len, const uint8_t *pps, size_t pps_len,
                 uint8_t *out, size_t cap)
{
    if (!sps || !pps || sps_len < 4 || pps_len < 1 || sps_len > 0xFFFF || pps_len > 0xFFFF)
        return -EINVAL;
    size_t n = 6 + 2 + sps_len + 1 + 2 + pps_len;
    if (n > cap)
        return -ENOSPC;
    out[0] = 1;
    out[1] = sps[1]; /* profile */
    out[2] = sps[2]; /* constraint flags */
    out[3] = sps[3]; /* level */
    out[4] = 0xFF;   /* 4-byte NAL lengths */
    out[5] = 0xE1;   /* one SPS */
    out[6] = (uint8_t)(sps_len >> 8);
    out[7] = (uint8_t)sps_len;
    memcpy(out + 8, sps, sps_len);
    size_t o = 8 + sps_len;
    out[o++] = 1;
    out[o++] = (uint8_t)(pps_len >> 8);
    out[o++] = (uint8_t)pps_len;
    memcpy(out + o, pps, pps_len);
    return (int)n;
}

typedef struct bitreader {
    uint8_t rbsp[256];
    size_t len, pos; /* pos in bits */
    bool bad;
} bitreader;

static uint32_t br_bit(bitreader *br)
{
    if (br->pos >= br->len * 8) {
        br->bad = true;
        return 0;
    }
    uint32_t b = (br->rbsp[br->pos / 8] >> (7 - br->pos % 8)) & 1;
    br->pos++;
    return b;
}

static uint32_t br_bits(bitreader *br, int n)
{
    uint32_t v = 0;
    while (n--)
        v = v << 1 | br_bit(br);
    return v;
}

static uint32_t br_ue(bitreader *br)
{
    int zeros = 0;
    while (!br->bad && br_bit(br) == 0)
        if (++zeros > 31) {
            br->bad = true;
            return 0;
        }
    return ((1u << zeros) - 1) + br_bits(br, zeros);
}

static int32_t br_se(bitreader *br)
{
    uint32_t k = br_ue(br);
    return (k & 1) ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

int sc_webm_h264_sps_size(const uint8_t *sps, size_t len, uint16_t *width, uint16_t *height)
{
    bitreader br = {.len = 0, .pos = 0, .bad = false};
    if (!sps || len < 4 || (sps[0] & 0x1F) != 7)
        return -EINVAL;
    /* Drop emulation-prevention bytes (00 00 03). */
    int zeros = 0;
    for (size_t i = 1; i < len && br.len < sizeof(br.rbsp); i++) {
        if (zeros >= 2 && sps[i] == 3) {
            zeros = 0;
            continue;
        }
        zeros = sps[i] == 0 ? zeros + 1 : 0;
        br.rbsp[br.len++] = sps[i];
    }
    uint32_t profile = br_bits(&br, 8);
    br_bits(&br, 16); /* constraints, level */
    br_ue(&br);       /* sps id */
    uint32_t chroma = 1;
    bool separate = false;
    static const uint8_t high[] = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135};
    if (memchr(high, (int)profile, sizeof(high))) {
        chroma = br_ue(&br);
        if (chroma == 3)
            separate = br_bit(&br);
        br_ue(&br);
        br_ue(&br);
        br_bit(&br);
        if (br_bit(&br)) { /* scaling matrices */
            for (int i = 0; i < (chroma == 3 ? 12 : 8) && !br.bad; i++) {
                if (!br_bit(&br))
                    continue;
                int size = i < 6 ? 16 : 64, last = 8, next = 8;
                for (int j = 0; j < size && !br.bad; j++) {
                    if (next)
                        next = (last + br_se(&br) + 256) % 256;
                    last = next ? next : last;
                }
            }
        }
    }
    br_ue(&br); /* log2_max_frame_num */
    uint32_t poc = br_ue(&br);
    if (poc == 0) {
        br_ue(&br);
    } else if (poc == 1) {
        br_bit(&br);
        br_se(&br);
        br_se(&br);
        uint32_t n = br_ue(&br);
        for (uint32_t i = 0; i < n && !br.bad && i < 256; i++)
            br_se(&br);
    }
    br_ue(&br); /* max refs */
    br_bit(&br);
    uint32_t wmbs = br_ue(&br) + 1, hmaps = br_ue(&br) + 1;
    uint32_t frame_mbs_only = br_bit(&br);
    if (!frame_mbs_only)
        br_bit(&br);
    br_bit(&br);
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (br_bit(&br)) {
        cl = br_ue(&br);
        cr = br_ue(&br);
        ct = br_ue(&br);
        cb = br_ue(&br);
    }
    if (br.bad || chroma > 3 || wmbs > 1024 || hmaps > 1024)
        return -EINVAL;
    uint32_t cx = 1, cy = 2 - frame_mbs_only;
    if (chroma != 0 && !separate) {
        cx = chroma == 3 ? 1 : 2;
        cy *= chroma == 1 ? 2 : 1;
    }
    int64_t w = (int64_t)wmbs * 16 - (int64_t)(cl + cr) * cx;
    int64_t h = (int64_t)(2 - frame_mbs_only) * hmaps * 16 - (int64_t)(ct + cb) * cy;
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535)
        return -EINVAL;
    *width = (uint16_t)w;
    *height = (uint16_t)h;
    return 0;
}
