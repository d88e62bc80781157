#include "recorder/webmread.h"

#include <errno.h>
#include <string.h>

#include "recorder/ebml.h"

#define ID_EBML 0x1A45DFA3u
#define ID_DOCTYPE 0x4282u
#define ID_SEGMENT 0x18538067u
#define ID_SEEKHEAD 0x114D9B74u
#define ID_INFO 0x1549A966u
#define ID_TIMECODE_SCALE 0x2AD7B1u
#define ID_DURATION 0x4489u
#define ID_TRACKS 0x1654AE6Bu
#define ID_TRACK_ENTRY 0xAEu
#define ID_TRACK_NUMBER 0xD7u
#define ID_TRACK_TYPE 0x83u
#define ID_CODEC_ID 0x86u
#define ID_CODEC_PRIVATE 0x63A2u
#define ID_CODEC_DELAY 0x56AAu
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
#define ID_REFERENCE_BLOCK 0xFBu
#define ID_CUES 0x1C53BB6Bu
#define ID_TAGS 0x1254C367u
#define ID_CHAPTERS 0x1043A770u
#define ID_ATTACHMENTS 0x1941A469u

#define UNKNOWN SC_EBML_UNKNOWN
/* Cluster timecodes beyond this (in ticks) are not ones we could place on a
 * timeline anyway; refusing them keeps the arithmetic below overflow-free. */
#define MAX_TICKS (1ll << 52)

/* One element header at b[o..end) (sc_ebml_header). */
static int read_hdr(const uint8_t *b, size_t end, size_t o, uint32_t *id, uint64_t *size,
                    size_t *hlen)
{
    if (o >= end)
        return -ENODATA;
    return sc_ebml_header(b + o, end - o, id, size, hlen);
}

/* Children of a master element whose data is b[o..end), all of known size
 * and inside it; fn sees each.  -EINVAL when any is not. */
typedef int (*child_fn)(void *ctx, uint32_t id, const uint8_t *d, uint64_t n);

static int walk(const uint8_t *b, size_t o, size_t end, child_fn fn, void *ctx)
{
    while (o < end) {
        uint32_t id;
        uint64_t sz;
        size_t hl;
        if (read_hdr(b, end, o, &id, &sz, &hl) < 0 || sz == UNKNOWN || sz > end - o - hl)
            return -EINVAL;
        int rc = fn(ctx, id, b + o + hl, sz);
        if (rc < 0)
            return rc;
        o += hl + (size_t)sz;
    }
    return 0;
}

static int on_video(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    sc_webmr_track *t = ctx;
    uint64_t v;
    if ((id == ID_PIXEL_WIDTH || id == ID_PIXEL_HEIGHT) && sc_ebml_uint(d, n, &v) && v <= 65535) {
        if (id == ID_PIXEL_WIDTH)
            t->width = (uint32_t)v;
        else
            t->height = (uint32_t)v;
    }
    return 0;
}

static int on_audio(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    sc_webmr_track *t = ctx;
    uint64_t v;
    double f;
    if (id == ID_SAMPLING_FREQ && sc_ebml_float(d, n, &f) && f > 0 && f <= 1e6)
        t->sample_rate = f;
    else if (id == ID_CHANNELS && sc_ebml_uint(d, n, &v) && v <= 255)
        t->channels = (uint32_t)v;
    return 0;
}

static int on_entry(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    sc_webmr_track *t = ctx;
    uint64_t v;
    switch (id) {
    case ID_TRACK_NUMBER:
        if (sc_ebml_uint(d, n, &v) && v <= UINT32_MAX)
            t->number = (uint32_t)v;
        break;
    case ID_TRACK_TYPE:
        if (sc_ebml_uint(d, n, &v) && v <= 255)
            t->type = (int)v;
        break;
    case ID_CODEC_ID: {
        size_t k = n < SC_WEBMR_MAX_CODEC_ID - 1 ? (size_t)n : SC_WEBMR_MAX_CODEC_ID - 1;
        memcpy(t->codec_id, d, k);
        t->codec_id[k] = '\0';
        break;
    }
    case ID_CODEC_PRIVATE:
        t->codec_private = d;
        t->codec_private_len = (size_t)n;
        break;
    case ID_CODEC_DELAY:
        if (sc_ebml_uint(d, n, &v))
            t->codec_delay_ns = v;
        break;
    case ID_VIDEO:
        return walk(d, 0, (size_t)n, on_video, t);
    case ID_AUDIO:
        return walk(d, 0, (size_t)n, on_audio, t);
    default:
        break;
    }
    return 0;
}

static int on_tracks(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    sc_webmr *r = ctx;
    if (id != ID_TRACK_ENTRY || r->n_tracks >= SC_WEBMR_MAX_TRACKS)
        return 0;
    sc_webmr_track t;
    memset(&t, 0, sizeof(t));
    int rc = walk(d, 0, (size_t)n, on_entry, &t);
    if (rc < 0)
        return rc;
    if (t.number == 0)
        return 0; /* not addressable by any block */
    for (int i = 0; i < r->n_tracks; i++)
        if (r->tracks[i].number == t.number)
            return 0; /* the first entry with a number wins */
    r->tracks[r->n_tracks++] = t;
    return 0;
}

static int on_info(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    sc_webmr *r = ctx;
    uint64_t v;
    double f;
    if (id == ID_TIMECODE_SCALE) {
        if (!sc_ebml_uint(d, n, &v) || v == 0 || v > 1000000000ull)
            return -EINVAL;
        r->timecode_scale = v;
    } else if (id == ID_DURATION && sc_ebml_float(d, n, &f) && f >= 0 && f < 1e15) {
        r->duration_ms = f; /* in ticks for now; scaled once Info is done */
    }
    return 0;
}

static int check_doctype(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    bool *ok = ctx;
    if (id == ID_DOCTYPE)
        *ok = (n == 4 && !memcmp(d, "webm", 4)) || (n == 8 && !memcmp(d, "matroska", 8));
    return 0;
}

int sc_webmr_open(sc_webmr *r, const uint8_t *buf, size_t len)
{
    if (!r || (!buf && len))
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->len = len;
    r->timecode_scale = 1000000;
    uint32_t id;
    uint64_t sz;
    size_t hl;
    if (read_hdr(buf, len, 0, &id, &sz, &hl) < 0 || id != ID_EBML || sz == UNKNOWN ||
        sz > len - hl)
        return -EINVAL;
    bool doctype_ok = true;
    if (walk(buf, hl, hl + (size_t)sz, check_doctype, &doctype_ok) < 0 || !doctype_ok)
        return -EINVAL;
    size_t o = hl + (size_t)sz;
    /* Anything (Void, say) between the header and the Segment is skipped. */
    for (;;) {
        if (read_hdr(buf, len, o, &id, &sz, &hl) < 0)
            return -EINVAL;
        if (id == ID_SEGMENT)
            break;
        if (sz == UNKNOWN || sz > len - o - hl)
            return -EINVAL;
        o += hl + (size_t)sz;
    }
    o += hl;
    r->seg_end = sz == UNKNOWN || sz > len - o ? len : o + (size_t)sz;
    bool have_tracks = false, have_info = false;
    while (o < r->seg_end) {
        if (read_hdr(buf, r->seg_end, o, &id, &sz, &hl) < 0)
            break;
        if (id == ID_CLUSTER)
            break;
        if (sz == UNKNOWN || sz > r->seg_end - o - hl)
            break;
        size_t data = o + hl, end = data + (size_t)sz;
        if (id == ID_INFO && !have_info) {
            if (walk(buf, data, end, on_info, r) < 0)
                return -EINVAL;
            have_info = true;
        } else if (id == ID_TRACKS && !have_tracks) {
            if (walk(buf, data, end, on_tracks, r) < 0)
                return -EINVAL;
            have_tracks = true;
        }
        o = end;
    }
    if (!have_tracks)
        return -EINVAL;
    r->duration_ms = r->duration_ms * (double)r->timecode_scale / 1e6;
    r->pos = o;
    return 0;
}

int sc_webmr_find(const sc_webmr *r, int type)
{
    for (int i = 0; r && i < r->n_tracks; i++)
        if (r->tracks[i].type == type)
            return i;
    return -1;
}

static bool top_level(uint32_t id)
{
    return id == ID_CLUSTER || id == ID_CUES || id == ID_TAGS || id == ID_CHAPTERS ||
           id == ID_ATTACHMENTS || id == ID_SEEKHEAD || id == ID_INFO || id == ID_TRACKS ||
           id == ID_SEGMENT || id == ID_EBML;
}

/* A Block or SimpleBlock's payload d[0..n): 1 with *f filled, 0 when it is
 * skipped (counted). */
static int parse_block(sc_webmr *r, const uint8_t *d, size_t n, bool simple, bool has_ref,
                       bool have_tc, sc_webmr_frame *f)
{
    uint8_t c = n ? d[0] : 0;
    size_t l = 0;
    for (size_t i = 0; i < 8; i++)
        if (c & (0x80u >> i)) {
            l = i + 1;
            break;
        }
    if (!l || n < l + 3 || !have_tc)
        goto skip;
    uint64_t num = c & (0xFFu >> l);
    for (size_t i = 1; i < l; i++)
        num = num << 8 | d[i];
    int16_t rel = (int16_t)((uint16_t)d[l] << 8 | d[l + 1]);
    uint8_t flags = d[l + 2];
    if (flags & 0x06)
        goto skip; /* laced */
    int idx = -1;
    for (int i = 0; i < r->n_tracks; i++)
        if (r->tracks[i].number == num) {
            idx = i;
            break;
        }
    if (idx < 0)
        goto skip;
    int64_t ticks = r->cl_tc + rel, ns;
    if (__builtin_mul_overflow(ticks, (int64_t)r->timecode_scale, &ns))
        goto skip;
    f->track = idx;
    f->ts_ms = ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
    f->keyframe = simple ? (flags & 0x80) != 0 : !has_ref;
    f->data = d + l + 3;
    f->len = n - l - 3;
    return 1;
skip:
    r->skipped_blocks++;
    return 0;
}

typedef struct group_ctx {
    const uint8_t *block;
    uint64_t block_len;
    bool has_ref;
} group_ctx;

static int on_group(void *ctx, uint32_t id, const uint8_t *d, uint64_t n)
{
    group_ctx *g = ctx;
    if (id == ID_BLOCK && !g->block) {
        g->block = d;
        g->block_len = n;
    } else if (id == ID_REFERENCE_BLOCK) {
        g->has_ref = true;
    }
    return 0;
}

/* Leave the current cluster because its inside does not parse. */
static void bad_cluster(sc_webmr *r)
{
    r->in_cluster = false;
    if (r->cl_torn || (r->cl_unknown && r->cl_end == r->len)) {
        r->truncated = true; /* the data ended inside it */
        r->done = true;
    } else if (r->cl_unknown) {
        r->done = true; /* no size to resynchronise on */
        r->bad_clusters++;
    } else {
        r->bad_clusters++;
        r->pos = r->cl_end;
    }
}

/* Step into the next Cluster at segment level: 1 when inside one, 0 when
 * the file is over. */
static int enter_cluster(sc_webmr *r)
{
    while (!r->done) {
        if (r->pos >= r->seg_end) {
            r->done = true;
            break;
        }
        uint32_t id;
        uint64_t sz;
        size_t hl;
        int rc = read_hdr(r->buf, r->seg_end, r->pos, &id, &sz, &hl);
        if (rc < 0) {
            r->truncated = rc == -ENODATA;
            r->done = true;
            break;
        }
        size_t data = r->pos + hl;
        if (id == ID_CLUSTER) {
            r->in_cluster = true;
            r->cl_unknown = sz == UNKNOWN;
            r->cl_torn = !r->cl_unknown && sz > r->seg_end - data;
            r->cl_end = r->cl_unknown || r->cl_torn ? r->seg_end : data + (size_t)sz;
            r->cl_pos = data;
            r->cl_tc = -1;
            r->pos = r->cl_end;
            return 1;
        }
        if (sz == UNKNOWN || sz > r->seg_end - data) {
            r->truncated = sz != UNKNOWN;
            r->done = true;
            break;
        }
        r->pos = data + (size_t)sz;
    }
    return 0;
}

int sc_webmr_next(sc_webmr *r, sc_webmr_frame *f)
{
    if (!r || !f || !r->buf)
        return 0;
    for (;;) {
        if (!r->in_cluster && !enter_cluster(r))
            return 0;
        if (r->cl_pos >= r->cl_end) {
            r->in_cluster = false;
            if (r->cl_torn)
                r->truncated = true;
            continue;
        }
        uint32_t id;
        uint64_t sz;
        size_t hl;
        if (read_hdr(r->buf, r->cl_end, r->cl_pos, &id, &sz, &hl) < 0) {
            bad_cluster(r);
            continue;
        }
        if (r->cl_unknown && top_level(id)) {
            r->in_cluster = false;
            r->pos = r->cl_pos;
            continue;
        }
        size_t data = r->cl_pos + hl;
        if (sz == UNKNOWN || sz > r->cl_end - data) {
            bad_cluster(r);
            continue;
        }
        r->cl_pos = data + (size_t)sz;
        const uint8_t *d = r->buf + data;
        if (id == ID_CLUSTER_TIMECODE) {
            uint64_t v;
            r->cl_tc = sc_ebml_uint(d, sz, &v) && v < (uint64_t)MAX_TICKS ? (int64_t)v : -1;
        } else if (id == ID_SIMPLE_BLOCK) {
            if (parse_block(r, d, (size_t)sz, true, false, r->cl_tc >= 0, f))
                return 1;
        } else if (id == ID_BLOCK_GROUP) {
            group_ctx g = {NULL, 0, false};
            if (walk(d, 0, (size_t)sz, on_group, &g) < 0 || !g.block) {
                r->skipped_blocks++;
                continue;
            }
            if (parse_block(r, g.block, (size_t)g.block_len, false, g.has_ref, r->cl_tc >= 0, f))
                return 1;
        }
    }
}
