#include "recorder/depack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/webm.h"
#include "sfu/proto/h264.h"
#include "sfu/proto/vp8.h"

#define MAX_PARAM 256 /* SPS / PPS bytes kept */

struct sc_depack {
    sc_depack_codec codec;
    sc_depack_stats stats;
    /* timestamp unwrapping */
    bool have_ts;
    uint32_t last_ts32;
    int64_t last_ts;
    /* sequence tracking */
    bool have_seq;
    uint16_t last_seq;
    /* the frame in progress */
    bool assembling;
    bool broken;          /* a packet of it was lost or refused */
    int64_t frame_ts;
    bool frame_key;
    uint16_t width, height;
    bool need_key;        /* video: a frame was lost; drop until a keyframe */
    uint8_t *buf;
    size_t len, cap;
    /* H.264 */
    bool fu_active;
    size_t fu_len_at;     /* where the FU-A NAL's length prefix is */
    uint8_t sps[MAX_PARAM], pps[MAX_PARAM];
    size_t sps_len, pps_len;
};

sc_depack *sc_depack_new(sc_depack_codec codec)
{
    if (codec != SC_DEPACK_VP8 && codec != SC_DEPACK_H264 && codec != SC_DEPACK_OPUS)
        return NULL;
    sc_depack *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->codec = codec;
    d->need_key = codec != SC_DEPACK_OPUS;
    return d;
}

void sc_depack_free(sc_depack *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d);
}

static int64_t unwrap_ts(sc_depack *d, uint32_t ts)
{
    if (!d->have_ts) {
        d->have_ts = true;
        d->last_ts32 = ts;
        d->last_ts = ts;
        return ts;
    }
    /* The signed 32-bit difference survives a wrap in either direction. */
    int64_t v = d->last_ts + (int32_t)(ts - d->last_ts32);
    if (v > d->last_ts) {
        d->last_ts = v;
        d->last_ts32 = ts;
    }
    return v;
}

static bool append(sc_depack *d, const uint8_t *p, size_t n)
{
    if (d->len + n > SC_DEPACK_MAX_FRAME)
        return false;
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 16384;
        while (cap < d->len + n)
            cap *= 2;
        uint8_t *b = realloc(d->buf, cap);
        if (!b)
            return false;
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return true;
}

static void put_len(uint8_t *p, size_t n)
{
    p[0] = (uint8_t)(n >> 24);
    p[1] = (uint8_t)(n >> 16);
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
}

/* One whole NAL unit as a 4-byte length and the NAL. */
static bool append_nal(sc_depack *d, const uint8_t *nal, size_t n)
{
    uint8_t l[4];
    if (n == 0)
        return false;
    put_len(l, n);
    uint8_t type = nal[0] & 0x1F;
    if (type == SC_H264_NAL_IDR)
        d->frame_key = true;
    if (type == SC_H264_NAL_SPS && n <= MAX_PARAM) {
        memcpy(d->sps, nal, n);
        d->sps_len = n;
        uint16_t w, h;
        if (sc_webm_h264_sps_size(nal, n, &w, &h) == 0) {
            d->width = w;
            d->height = h;
        }
    }
    if (type == SC_H264_NAL_PPS && n <= MAX_PARAM) {
        memcpy(d->pps, nal, n);
        d->pps_len = n;
    }
    return append(d, l, 4) && append(d, nal, n);
}

static void drop_frame(sc_depack *d)
{
    if (d->assembling) {
        d->stats.frames_dropped++;
        if (d->codec != SC_DEPACK_OPUS)
            d->need_key = true;
    }
    d->assembling = false;
    d->broken = false;
    d->fu_active = false;
    d->len = 0;
}

static void start_frame(sc_depack *d, int64_t ts)
{
    d->assembling = true;
    d->broken = false;
    d->frame_ts = ts;
    d->frame_key = false;
    d->width = d->height = 0;
    d->fu_active = false;
    d->len = 0;
}

/* H.264 payload into the frame; false when malformed or the frame is
 * broken (an FU-A continuation without its start). */
static bool h264_payload(sc_depack *d, const uint8_t *p, size_t n)
{
    uint8_t type = p[0] & 0x1F;
    if (type == SC_H264_NAL_STAP_A) {
        size_t o = 1;
        while (o + 2 <= n) {
            size_t sz = (size_t)p[o] << 8 | p[o + 1];
            o += 2;
            if (sz == 0 || sz > n - o || !append_nal(d, p + o, sz))
                return false;
            o += sz;
        }
        return o == n;
    }
    if (type == SC_H264_NAL_FU_A) {
        if (n < 2)
            return false;
        bool s = p[1] & 0x80, e = p[1] & 0x40;
        if (s) {
            if (d->fu_active)
                return false; /* the previous FU-A lost its end */
            uint8_t hdr = (uint8_t)((p[0] & 0xE0) | (p[1] & 0x1F));
            uint8_t l[4] = {0};
            d->fu_len_at = d->len;
            if (!append(d, l, 4) || !append(d, &hdr, 1))
                return false;
            d->fu_active = true;
            if ((hdr & 0x1F) == SC_H264_NAL_IDR)
                d->frame_key = true;
        } else if (!d->fu_active) {
            return false;
        }
        if (!append(d, p + 2, n - 2))
            return false;
        if (e) {
            d->fu_active = false;
            size_t nal_len = d->len - d->fu_len_at - 4;
            put_len(d->buf + d->fu_len_at, nal_len);
            /* A fragmented SPS/PPS is rare but legal: capture it too. */
            uint8_t *nal = d->buf + d->fu_len_at + 4;
            uint8_t t = nal[0] & 0x1F;
            if ((t == SC_H264_NAL_SPS || t == SC_H264_NAL_PPS) && nal_len <= MAX_PARAM) {
                d->len = d->fu_len_at;
                uint8_t tmp[MAX_PARAM];
                memcpy(tmp, nal, nal_len);
                return append_nal(d, tmp, nal_len);
            }
        }
        return true;
    }
    return append_nal(d, p, n);
}

int sc_depack_push(sc_depack *d, const sc_rtp *rtp, sc_frame *out)
{
    if (!d || !rtp || !out)
        return -EINVAL;
    const uint8_t *p = rtp->payload;
    size_t n = rtp->payload_len;
    bool gap = d->have_seq && rtp->seq != (uint16_t)(d->last_seq + 1);
    if (d->have_seq && (int16_t)(rtp->seq - d->last_seq) <= 0) {
        /* A duplicate or a late reordered packet: its frame is gone. */
        return 0;
    }
    d->have_seq = true;
    d->last_seq = rtp->seq;
    int64_t ts = unwrap_ts(d, rtp->ts);

    if (d->codec == SC_DEPACK_OPUS) {
        if (n == 0)
            return 0;
        d->len = 0;
        if (!append(d, p, n))
            return 0;
        memset(out, 0, sizeof(*out));
        out->data = d->buf;
        out->len = d->len;
        out->ts = ts;
        out->keyframe = true;
        d->stats.frames++;
        return 1;
    }

    /* Validate before touching the frame in progress. */
    sc_vp8 vp8;
    sc_h264 h264;
    bool valid = d->codec == SC_DEPACK_VP8 ? sc_vp8_parse(p, n, &vp8) == 0 &&
                                                 vp8.descriptor_len <= n
                                           : sc_h264_parse(p, n, &h264) == 0;
    if (!valid) {
        d->stats.packets_refused++;
        if (d->assembling)
            d->broken = true;
        else
            d->need_key = true;
        return -EINVAL;
    }
    if (d->assembling && (gap || ts != d->frame_ts))
        drop_frame(d);
    else if (!d->assembling && gap)
        d->need_key = true; /* a whole frame (or its end) went missing */

    bool starts;
    if (d->codec == SC_DEPACK_VP8)
        starts = vp8.start_of_partition && vp8.partition_id == 0;
    else
        starts = h264.packet_type != SC_H264_NAL_FU_A || h264.fu_start;
    if (!d->assembling) {
        if (!starts) {
            d->need_key = true;
            return 0; /* the middle of a frame whose start we lost */
        }
        start_frame(d, ts);
    }
    bool ok;
    if (d->codec == SC_DEPACK_VP8) {
        if (starts && vp8.is_keyframe) {
            d->frame_key = true;
            d->width = vp8.width;
            d->height = vp8.height;
        }
        ok = append(d, p + vp8.descriptor_len, n - vp8.descriptor_len);
    } else {
        ok = h264_payload(d, p, n);
    }
    if (!ok)
        d->broken = true;
    if (!rtp->marker)
        return 0;
    if (d->broken || d->fu_active || d->len == 0 || (d->need_key && !d->frame_key)) {
        drop_frame(d);
        return 0;
    }
    d->need_key = false;
    d->assembling = false;
    memset(out, 0, sizeof(*out));
    out->data = d->buf;
    out->len = d->len;
    out->ts = d->frame_ts;
    out->keyframe = d->frame_key;
    out->width = d->width;
    out->height = d->height;
    d->stats.frames++;
    return 1;
}

int sc_depack_h264_params(const sc_depack *d, const uint8_t **sps, size_t *sps_len,
                          const uint8_t **pps, size_t *pps_len)
{
    if (!d || !d->sps_len || !d->pps_len)
        return -ENOENT;
    *sps = d->sps;
    *sps_len = d->sps_len;
    *pps = d->pps;
    *pps_len = d->pps_len;
    return 0;
}

void sc_depack_get_stats(const sc_depack *d, sc_depack_stats *out)
{
    if (d && out)
        *out = d->stats;
}
