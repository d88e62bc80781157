/* What a publisher's packets mean: which track and simulcast layer an SSRC
 * is, reception statistics for our receiver reports, audio levels, sender
 * reports, and the keyframe requests we send it.  The packets themselves go
 * to the room's viewers through sc__worker_dispatch. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "sfu/engine/private.h"
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"
#include "sfu/proto/h264.h"
#include "sfu/proto/rtcp.h"
#include "sfu/proto/rtp.h"
#include "sfu/proto/vp8.h"

static void init_track(sc_pub_track *pt, const sc_negotiated *neg, sc_sdp_kind kind)
{
    memset(pt, 0, sizeof(*pt));
    pt->map = -1;
    pt->n_layers = 1;
    for (int i = 0; i < neg->n_tracks; i++) {
        if (neg->tracks[i].kind != kind)
            continue;
        pt->map = i;
        if (neg->tracks[i].n_rids > 1) {
            /* Simulcast: the layers' SSRCs are learned from the rid extension. */
            pt->n_layers = neg->tracks[i].n_rids;
        } else {
            pt->layers[0].ssrc = neg->tracks[i].remote_ssrc;
            pt->layers[0].rtx_ssrc = neg->tracks[i].remote_rtx_ssrc;
        }
        return;
    }
}

void sc__pub_init(sc_transport *t)
{
    init_track(&t->audio, &t->neg, SC_SDP_AUDIO);
    init_track(&t->video, &t->neg, SC_SDP_VIDEO);
}

void sc__pub_request_keyframe(sc_transport *pub, int layer, uint64_t now_ms)
{
    sc_pub_track *v = &pub->video;
    if (v->map < 0)
        return;
    if (layer < 0) {
        for (int i = 0; i < v->n_layers; i++)
            sc__pub_request_keyframe(pub, i, now_ms);
        return;
    }
    if (layer >= v->n_layers)
        return;
    sc_rx_stream *l = &v->layers[layer];
    if (!pub->connected || l->ssrc == 0 || now_ms - l->last_pli_ms < SC_KEYFRAME_INTERVAL_MS) {
        l->kf_wanted = true;
        return;
    }
    const sc_track_map *m = &pub->neg.tracks[v->map];
    uint8_t buf[64 + SC_SRTCP_MAX_TRAILER];
    int n = (m->pli || !m->fir) ? sc_rtcp_build_pli(buf, 64, pub->rtcp_ssrc, l->ssrc)
                                : sc_rtcp_build_fir(buf, 64, pub->rtcp_ssrc, l->ssrc, pub->fir_seq++);
    if (n < 0)
        return;
    l->last_pli_ms = now_ms;
    l->kf_wanted = false;
    SC_COUNT(pub->w, plis_sent, 1);
    sc__transport_send_rtcp(pub, buf, (size_t)n);
}

void sc__pub_pending_keyframes(sc_transport *pub, uint64_t now_ms)
{
    for (int i = 0; pub->kind == SC_SESSION_PUBLISH && i < pub->video.n_layers; i++)
        if (pub->video.layers[i].kf_wanted)
            sc__pub_request_keyframe(pub, i, now_ms);
}

static void update_reception(sc_rx_stream *l, uint16_t seq)
{
    if (!l->seq_init) {
        l->seq_init = true;
        l->base_seq = seq;
        l->max_seq = seq;
        l->received = 1;
        return;
    }
    if (sc_seq_newer(seq, l->max_seq)) {
        if (seq < l->max_seq)
            l->cycles += 65536;
        l->max_seq = seq;
    }
    l->received++;
}

static int rid_layer(const sc_track_map *m, const sc_rtp *rtp, uint8_t ext_id)
{
    const uint8_t *data;
    size_t len;
    if (!ext_id || sc_rtp_find_ext(rtp, ext_id, &data, &len) < 0)
        return -1;
    for (int i = 0; i < m->n_rids; i++)
        if (strlen(m->rids[i]) == len && memcmp(m->rids[i], data, len) == 0)
            return i;
    return -1;
}

/* Which track and layer a packet belongs to.  Announced SSRCs first; then
 * simulcast layers by their rid / repaired-rid extension; then, for a
 * publisher that announced nothing, the first SSRC using a track's payload
 * type. */
static sc_pub_track *classify(sc_transport *t, const sc_rtp *rtp, int *layer, bool *is_rtx)
{
    *is_rtx = false;
    *layer = 0;
    sc_pub_track *a = &t->audio, *v = &t->video;
    if (a->map >= 0 && rtp->ssrc == a->layers[0].ssrc)
        return a;
    for (int i = 0; v->map >= 0 && i < v->n_layers; i++) {
        if (rtp->ssrc == v->layers[i].ssrc) {
            *layer = i;
            return v;
        }
        if (v->layers[i].rtx_ssrc && rtp->ssrc == v->layers[i].rtx_ssrc) {
            *layer = i;
            *is_rtx = true;
            return v;
        }
    }
    if (v->map >= 0 && v->n_layers > 1) {
        const sc_track_map *m = &t->neg.tracks[v->map];
        int l = rid_layer(m, rtp, m->rid_id);
        if (l >= 0 && rtp->pt == m->pt && !v->layers[l].ssrc) {
            v->layers[l].ssrc = rtp->ssrc;
            *layer = l;
            return v;
        }
        l = rid_layer(m, rtp, m->rrid_id);
        if (l >= 0 && !v->layers[l].rtx_ssrc) {
            v->layers[l].rtx_ssrc = rtp->ssrc;
            *layer = l;
            *is_rtx = true;
            return v;
        }
        return NULL;
    }
    if (a->map >= 0 && !a->layers[0].ssrc && rtp->pt == t->neg.tracks[a->map].pt) {
        a->layers[0].ssrc = rtp->ssrc;
        return a;
    }
    if (v->map >= 0) {
        const sc_track_map *m = &t->neg.tracks[v->map];
        if (!v->layers[0].ssrc && rtp->pt == m->pt) {
            v->layers[0].ssrc = rtp->ssrc;
            return v;
        }
        if (!v->layers[0].rtx_ssrc && m->rtx_pt >= 0 && rtp->pt == m->rtx_pt) {
            v->layers[0].rtx_ssrc = rtp->ssrc;
            *is_rtx = true;
            return v;
        }
    }
    return NULL;
}

/* RFC 6464: accumulate the publisher's audio level; every window the mean
 * goes to the control thread, which picks the room's active speaker. */
static void note_audio_level(sc_transport *t, const sc_rtp *rtp)
{
    uint8_t id = t->neg.tracks[t->audio.map].audio_level_id;
    const uint8_t *data;
    size_t len;
    if (!id || sc_rtp_find_ext(rtp, id, &data, &len) < 0 || len < 1)
        return;
    sc_pub_track *a = &t->audio;
    a->level_sum += data[0] & 0x7f;
    a->level_count++;
    uint64_t now = sc_mono_ms();
    if (now - a->level_window_ms < SC_AUDIO_LEVEL_WINDOW_MS)
        return;
    sc_sfu_event ev = {.type = SC_EVENT_AUDIO_LEVEL, .session_id = t->id, .kind = t->kind,
                       .slot = t->slot, .level = (int)(a->level_sum / a->level_count)};
    snprintf(ev.room, sizeof(ev.room), "%s", t->room_name);
    sc__sfu_emit(t->w->sfu, &ev);
    a->level_sum = a->level_count = 0;
    a->level_window_ms = now;
}

static void stamp(sc_media_pkt *pkt, const sc_transport *t, bool video, int layer)
{
    pkt->video = video;
    pkt->layer = layer;
    pkt->n_layers = t->video.map >= 0 ? t->video.n_layers : 1;
    pkt->slot = t->slot;
    pkt->src_worker = t->w->index;
    pkt->generation = t->generation;
    pkt->recv_ms = sc_mono_ms();
    pkt->self_key = t->in_group ? t->user_key : 0;
    memcpy(pkt->room, t->room_name, sizeof(pkt->room));
}

/* "Talk to all" (breakout groups): the audio also reaches every room in
 * talk_rooms, in slot SC_TALK_SLOT, as a source of its own generation. */
static void talk_to_all(sc_transport *t, const uint8_t *buf, size_t len)
{
    for (int i = 0; i < t->n_talk; i++) {
        sc_media_pkt *pkt = sc_media_pkt_new_rtp(buf, len);
        if (!pkt)
            return;
        stamp(pkt, t, false, 0);
        pkt->slot = SC_TALK_SLOT;
        pkt->generation = t->talk_generation;
        memcpy(pkt->room, t->talk_rooms[i], sizeof(pkt->room));
        sc__worker_dispatch(t->w, pkt);
        sc_media_pkt_unref(pkt);
    }
}

/* Recording: the recorder sees the publisher's packets as they arrive. */
static void tap(sc_transport *t, sc_media_pkt *pkt)
{
    const sc_sfu_config *cfg = sc__sfu_config(t->w->sfu);
    /* Of a simulcast publisher, the recording keeps the top layer (the
     * offer lists its rids low to high, as our pages do). */
    if (!t->record || !cfg->tap || (pkt->video && pkt->layer != t->video.n_layers - 1))
        return;
    cfg->tap(cfg->tap_ud, pkt);
}

void sc__pub_on_rtp(sc_transport *t, uint8_t *buf, size_t len, const sc_rtp *rtp)
{
    sc_worker *w = t->w;
    bool is_rtx;
    int layer;
    sc_pub_track *pt = classify(t, rtp, &layer, &is_rtx);
    if (!pt) {
        SC_COUNT(w, drop_unknown_ssrc, 1);
        return;
    }
    /* RTX from the publisher answers NACKs we do not send, or is bandwidth
     * probing; padding-only packets carry nothing for viewers. */
    if (is_rtx || rtp->payload_len == 0)
        return;
    update_reception(&pt->layers[layer], rtp->seq);
    if (!t->room)
        return;
    bool video = pt == &t->video;
    if (video ? t->muted_video : t->muted_audio) {
        /* The host muted this co-host: nothing reaches viewers or the
         * recording, whatever the page does (nor does it speak). */
        SC_COUNT(w, muted_packets, 1);
        return;
    }
    sc_video_codec codec = video ? t->neg.tracks[pt->map].codec : SC_CODEC_VP8;
    sc_vp8 desc = {0};
    sc_h264 h264;
    bool keyframe = false;
    if (video && codec == SC_CODEC_VP8) {
        if (sc_vp8_parse(rtp->payload, rtp->payload_len, &desc) < 0) {
            SC_COUNT(w, drop_rtp_invalid, 1);
            return;
        }
        keyframe = desc.is_keyframe;
    } else if (video) {
        if (sc_h264_parse(rtp->payload, rtp->payload_len, &h264) < 0) {
            SC_COUNT(w, drop_rtp_invalid, 1);
            return;
        }
        keyframe = h264.is_keyframe;
    }
    if (!video)
        note_audio_level(t, rtp);
    sc_media_pkt *pkt = sc_media_pkt_new_rtp(buf, len);
    if (!pkt)
        return;
    stamp(pkt, t, video, layer);
    if (video) {
        pkt->codec = codec;
        pkt->desc = desc;
        pkt->keyframe = keyframe;
    }
    tap(t, pkt);
    sc__worker_dispatch(w, pkt);
    sc_media_pkt_unref(pkt);
    if (!video)
        talk_to_all(t, buf, len);
}

bool sc__rtcp_well_formed(const sc_rtcp_pkt *pkt)
{
    sc_rtcp_report_block blocks[31];
    uint32_t ssrc, ssrcs[16];
    uint64_t bitrate;
    int n;
    switch (pkt->pt) {
    case SC_RTCP_RR:
        return sc_rtcp_parse_rr(pkt, &ssrc, blocks, 31, &n) == 0;
    case SC_RTCP_RTPFB:
    case SC_RTCP_PSFB:
        if (sc_rtcp_parse_fb(pkt, &ssrc, &ssrc) < 0)
            return false;
        if (pkt->pt == SC_RTCP_PSFB && pkt->count == 15) {
            int rc = sc_rtcp_parse_remb(pkt, &bitrate, ssrcs, 16, &n);
            return rc == 0 || rc == -ENOENT;
        }
        return true;
    default:
        return true;
    }
}

void sc__pub_on_rtcp(sc_transport *t, const sc_rtcp_pkt *pkt)
{
    if (pkt->pt != SC_RTCP_SR) {
        if (!sc__rtcp_well_formed(pkt))
            SC_COUNT(t->w, drop_rtcp_invalid, 1);
        return;
    }
    sc_rtcp_sr sr;
    int nblocks;
    if (sc_rtcp_parse_sr(pkt, &sr, NULL, 0, &nblocks) < 0) {
        SC_COUNT(t->w, drop_rtcp_invalid, 1);
        return;
    }
    sc_pub_track *tracks[2] = {&t->audio, &t->video};
    for (int k = 0; k < 2; k++) {
        sc_pub_track *pt = tracks[k];
        for (int i = 0; pt->map >= 0 && i < pt->n_layers; i++) {
            sc_rx_stream *l = &pt->layers[i];
            if (!l->ssrc || sr.ssrc != l->ssrc)
                continue;
            l->have_sr = true;
            l->last_sr_mid = (uint32_t)(sr.ntp >> 16);
            l->last_sr_ms = sc_mono_ms();
            if (!t->room)
                return;
            sc_media_pkt *mp = sc_media_pkt_new_sr(&sr);
            if (!mp)
                return;
            stamp(mp, t, pt == &t->video, i);
            if (pt == &t->video)
                mp->codec = t->neg.tracks[pt->map].codec;
            tap(t, mp);
            sc__worker_dispatch(t->w, mp);
            sc_media_pkt_unref(mp);
            return;
        }
    }
}

static void report_block(sc_rx_stream *l, uint64_t now_ms, sc_rtcp_report_block *rb)
{
    uint32_t ext_max = l->cycles + l->max_seq;
    uint32_t expected = ext_max - l->base_seq + 1;
    int64_t lost = (int64_t)expected - l->received;
    uint32_t exp_int = expected - l->expected_prior;
    uint32_t rcv_int = l->received - l->received_prior;
    int64_t lost_int = (int64_t)exp_int - rcv_int;
    memset(rb, 0, sizeof(*rb));
    rb->ssrc = l->ssrc;
    rb->fraction_lost = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)((lost_int << 8) / exp_int);
    rb->cumulative_lost = (int32_t)SC_MAX(SC_MIN(lost, 0x7fffff), -0x800000);
    rb->highest_seq = ext_max;
    if (l->have_sr) {
        rb->lsr = l->last_sr_mid;
        rb->dlsr = (uint32_t)((now_ms - l->last_sr_ms) * 65536 / 1000);
    }
    l->expected_prior = expected;
    l->received_prior = l->received;
}

/* Chrome grows its send rate from our receiver reports (loss) and REMB. */
void sc__pub_tick(sc_transport *t, uint64_t now_ms)
{
    sc_rtcp_report_block blocks[1 + SC_MAX_LAYERS];
    uint32_t ssrcs[1 + SC_MAX_LAYERS];
    int n = 0, ns = 0;
    sc_pub_track *tracks[2] = {&t->audio, &t->video};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; tracks[k]->map >= 0 && i < tracks[k]->n_layers; i++) {
            sc_rx_stream *l = &tracks[k]->layers[i];
            if (l->seq_init)
                report_block(l, now_ms, &blocks[n++]);
            if (l->ssrc)
                ssrcs[ns++] = l->ssrc;
        }
    }
    uint8_t buf[512 + SC_SRTCP_MAX_TRAILER];
    int len = sc_rtcp_build_rr(buf, 512, t->rtcp_ssrc, blocks, n);
    if (len < 0)
        return;
    bool remb = t->video.map >= 0 && t->neg.tracks[t->video.map].remb;
    if (remb && ns) {
        int m = sc_rtcp_build_remb(buf + len, 512 - (size_t)len, t->rtcp_ssrc,
                                   sc__sfu_config(t->w->sfu)->publisher_max_bitrate, ssrcs, ns);
        if (m > 0)
            len += m;
    }
    sc__transport_send_rtcp(t, buf, (size_t)len);
    sc__pub_pending_keyframes(t, now_ms);
}
