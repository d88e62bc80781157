/* A room on one worker: its publishers (one per stage slot) and its
 * subscribers, and what happens to each packet: fan-out with per-viewer
 * rewriting, NACKs served from the retransmission buffer, keyframe requests
 * collapsed per publisher, sender reports translated for lip sync. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "private.h"
#include "rtcp.h"
#include "rtp.h"
#include "util.h"
#include "vp8.h"

#define MAX_NACK_SEQS 64

static size_t room_bucket(const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % 256;
}

sc_room *sc__room_get(sc_worker *w, const char *name, bool create)
{
    size_t b = room_bucket(name);
    for (sc_room *r = w->rooms[b]; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    if (!create)
        return NULL;
    sc_room *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->next = w->rooms[b];
    w->rooms[b] = r;
    return r;
}

void sc__room_free_if_empty(sc_worker *w, sc_room *r)
{
    if (r->n_subs)
        return;
    for (int s = 0; s < SC_MAX_SLOTS; s++)
        if (r->slots[s])
            return;
    for (sc_room **pp = &w->rooms[room_bucket(r->name)]; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    for (int s = 0; s < SC_MAX_SLOTS; s++)
        sc_rtx_buffer_free(r->mirrors[s].rtx);
    free(r->subs);
    free(r);
}

/* Ask a publisher for a keyframe, at most once per SC_KEYFRAME_INTERVAL_MS:
 * a thousand viewers joining at once cost the presenter one PLI. */
static void request_keyframe(sc_transport *pub, uint64_t now_ms)
{
    sc_pub_track *v = &pub->video;
    if (v->map < 0)
        return;
    if (!pub->connected || v->ssrc == 0 || now_ms - v->last_pli_ms < SC_KEYFRAME_INTERVAL_MS) {
        v->kf_wanted = true;
        return;
    }
    const sc_track_map *m = &pub->neg.tracks[v->map];
    uint8_t buf[64 + SC_SRTCP_MAX_TRAILER];
    int n = (m->pli || !m->fir) ? sc_rtcp_build_pli(buf, 64, pub->rtcp_ssrc, v->ssrc)
                                : sc_rtcp_build_fir(buf, 64, pub->rtcp_ssrc, v->ssrc, pub->fir_seq++);
    if (n < 0)
        return;
    v->last_pli_ms = now_ms;
    v->kf_wanted = false;
    SC_COUNT(pub->w, plis_sent, 1);
    sc__transport_send_rtcp(pub, buf, (size_t)n);
}

/* Ask for a keyframe from a slot's source, wherever it lives; collapsed per
 * worker so a thousand waiting viewers cost one message. */
static void request_slot_keyframe(sc_worker *w, sc_room *r, int slot, uint64_t now_ms)
{
    sc_slot_mirror *m = &r->mirrors[slot];
    if (!m->generation || now_ms - m->last_kf_request_ms < SC_KEYFRAME_INTERVAL_MS)
        return;
    m->last_kf_request_ms = now_ms;
    if (m->src_worker == w->index) {
        if (r->slots[slot])
            request_keyframe(r->slots[slot], now_ms);
    } else {
        sc__worker_request_keyframe(w, m->src_worker, r->name, slot);
    }
}

void sc__room_keyframe_for_slot(sc_worker *w, const char *room, int slot)
{
    sc_room *r = sc__room_get(w, room, false);
    if (r && slot >= 0 && slot < SC_MAX_SLOTS && r->slots[slot])
        request_keyframe(r->slots[slot], sc_now_ms());
}

void sc__room_add(sc_room *r, sc_transport *t)
{
    if (t->kind == SC_SESSION_PUBLISH) {
        sc_transport *old = r->slots[t->slot];
        if (old && old != t) {
            old->room = NULL; /* it no longer owns the slot */
            sc__transport_close(old, "replaced");
            sc__room_free_if_empty(t->w, r); /* no-op: r is not empty */
        }
        /* Viewers (on every worker) switch to it when its first packet,
         * of a newer generation, reaches them: see sc__room_deliver. */
        r->slots[t->slot] = t;
        return;
    }
    if (r->n_subs == r->cap_subs) {
        int cap = r->cap_subs ? r->cap_subs * 2 : 16;
        sc_transport **subs = realloc(r->subs, (size_t)cap * sizeof(*subs));
        if (!subs) {
            t->room = NULL;
            sc__transport_close(t, "closed");
            return;
        }
        r->subs = subs;
        r->cap_subs = cap;
    }
    t->sub_index = r->n_subs;
    r->subs[r->n_subs++] = t;
}

void sc__room_remove(sc_room *r, sc_transport *t)
{
    if (t->kind == SC_SESSION_PUBLISH) {
        if (r->slots[t->slot] == t)
            r->slots[t->slot] = NULL;
        return;
    }
    int i = t->sub_index;
    if (i < 0 || i >= r->n_subs || r->subs[i] != t)
        return;
    r->subs[i] = r->subs[--r->n_subs];
    r->subs[i]->sub_index = i;
    t->sub_index = -1;
}

void sc__room_on_connected(sc_transport *t)
{
    sc_room *r = t->room;
    uint64_t now = sc_now_ms();
    if (!r)
        return;
    if (t->kind == SC_SESSION_PUBLISH) {
        request_keyframe(t, now);
        return;
    }
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        t->sub_video[s].waiting_since_ms = now;
        if (t->sub_video[s].map >= 0) {
            r->mirrors[s].last_kf_request_ms = 0; /* a new viewer must not wait */
            request_slot_keyframe(t->w, r, s, now);
        }
    }
}

static void update_reception(sc_pub_track *pt, uint16_t seq)
{
    if (!pt->seq_init) {
        pt->seq_init = true;
        pt->base_seq = seq;
        pt->max_seq = seq;
        pt->received = 1;
        return;
    }
    if (sc_seq_newer(seq, pt->max_seq)) {
        if (seq < pt->max_seq)
            pt->cycles += 65536;
        pt->max_seq = seq;
    }
    pt->received++;
}

static sc_pub_track *classify(sc_transport *t, const sc_rtp *rtp, bool *is_rtx)
{
    *is_rtx = false;
    if (t->audio.map >= 0 && rtp->ssrc == t->audio.ssrc)
        return &t->audio;
    if (t->video.map >= 0 && rtp->ssrc == t->video.ssrc)
        return &t->video;
    if (t->video.rtx_ssrc && rtp->ssrc == t->video.rtx_ssrc) {
        *is_rtx = true;
        return &t->video;
    }
    /* Not announced in the SDP: latch the first SSRC that uses a track's
     * payload type. */
    if (t->audio.map >= 0 && !t->audio.ssrc && rtp->pt == t->neg.tracks[t->audio.map].pt) {
        t->audio.ssrc = rtp->ssrc;
        return &t->audio;
    }
    if (t->video.map >= 0) {
        const sc_track_map *m = &t->neg.tracks[t->video.map];
        if (!t->video.ssrc && rtp->pt == m->pt) {
            t->video.ssrc = rtp->ssrc;
            return &t->video;
        }
        if (!t->video.rtx_ssrc && m->rtx_pt >= 0 && rtp->pt == m->rtx_pt) {
            t->video.rtx_ssrc = rtp->ssrc;
            *is_rtx = true;
            return &t->video;
        }
    }
    return NULL;
}

static void fan_out(sc_worker *w, sc_room *r, const sc_media_pkt *pkt)
{
    uint64_t now_us = sc_now_us();
    int slot = pkt->slot;
    bool video = pkt->video;
    const sc_rtp *rtp = &pkt->rtp;
    for (int i = 0; i < r->n_subs; i++) {
        sc_transport *sub = r->subs[i];
        sc_sub_track *st = video ? &sub->sub_video[slot] : &sub->sub_audio[slot];
        if (st->map < 0 || !sub->connected || !sub->selected || sub->closing)
            continue;
        if (video && st->need_keyframe) {
            if (!pkt->keyframe) {
                request_slot_keyframe(w, r, slot, now_us / 1000);
                continue;
            }
            st->need_keyframe = false;
        }
        uint16_t seq;
        uint32_t ts;
        if (!sc_rewriter_map(&st->rw, rtp->ssrc, rtp->seq, rtp->ts, now_us, &seq, &ts))
            continue;
        const sc_track_map *m = &sub->neg.tracks[st->map];
        uint8_t *out = sc__worker_out_buf(w);
        int n = sc_rtp_copy_stripped(rtp, pkt->data, NULL, 0, out, SC_MTU);
        if (n < 0)
            continue;
        sc_rtp_set_seq(out, seq);
        sc_rtp_set_ts(out, ts);
        sc_rtp_set_ssrc(out, m->local_ssrc);
        sc_rtp_set_pt(out, m->pt);
        if (video)
            sc_rewriter_vp8(&st->rw, out + 12, &pkt->desc);
        size_t len = (size_t)n;
        if (sc_srtp_protect_rtp(sub->srtp, out, &len, SC_MTU + 64) < 0)
            continue;
        sc__worker_out_commit(w, len, sub->selected);
        st->packets++;
        st->octets += (uint32_t)rtp->payload_len;
        SC_COUNT(w, forwarded_packets, 1);
    }
}

/* Translate a publisher's SR into each viewer's timeline so the browser can
 * lip-sync the slot's audio and video. */
static void forward_sr(sc_room *r, const sc_media_pkt *pkt)
{
    uint8_t buf[64 + SC_SRTCP_MAX_TRAILER];
    const sc_rtcp_sr *sr = &pkt->sr;
    for (int i = 0; i < r->n_subs; i++) {
        sc_transport *sub = r->subs[i];
        sc_sub_track *st = pkt->video ? &sub->sub_video[pkt->slot] : &sub->sub_audio[pkt->slot];
        if (st->map < 0 || !sub->connected || !st->rw.anchored || st->rw.src_ssrc != sr->ssrc)
            continue;
        sc_rtcp_sr out = {
            .ssrc = sub->neg.tracks[st->map].local_ssrc,
            .ntp = sr->ntp,
            .rtp_ts = sr->rtp_ts + st->rw.ts_offset,
            .packet_count = st->packets,
            .octet_count = st->octets,
        };
        int n = sc_rtcp_build_sr(buf, 64, &out);
        if (n > 0)
            sc__transport_send_rtcp(sub, buf, (size_t)n);
    }
}

void sc__room_deliver(sc_worker *w, sc_media_pkt *pkt)
{
    sc_room *r = sc__room_get(w, pkt->room, false);
    if (!r || !r->n_subs)
        return;
    sc_slot_mirror *m = &r->mirrors[pkt->slot];
    if (pkt->generation < m->generation)
        return; /* from a publisher this slot has since replaced */
    if (pkt->generation > m->generation) {
        /* A new source on the slot.  Viewers continue on the same SSRCs:
         * their rewriters re-anchor on it and video waits for its first
         * keyframe. */
        uint64_t now = sc_now_ms();
        m->generation = pkt->generation;
        m->src_worker = pkt->src_worker;
        m->last_kf_request_ms = 0;
        sc_rtx_buffer_free(m->rtx);
        m->rtx = NULL;
        for (int i = 0; i < r->n_subs; i++) {
            sc_transport *s = r->subs[i];
            sc_rewriter_reset_source(&s->sub_audio[pkt->slot].rw);
            sc_rewriter_reset_source(&s->sub_video[pkt->slot].rw);
            s->sub_video[pkt->slot].need_keyframe = true;
            s->sub_video[pkt->slot].waiting_since_ms = now;
        }
    }
    if (pkt->is_sr) {
        forward_sr(r, pkt);
        return;
    }
    if (pkt->video) {
        if (!m->rtx)
            m->rtx = sc_rtx_buffer_new(SC_RTX_MAX_AGE_MS);
        if (m->rtx)
            sc_rtx_buffer_put(m->rtx, pkt);
    }
    fan_out(w, r, pkt);
}

static void stamp(sc_media_pkt *pkt, const sc_transport *t, bool video)
{
    pkt->video = video;
    pkt->slot = t->slot;
    pkt->src_worker = t->w->index;
    pkt->generation = t->generation;
    pkt->recv_ms = sc_now_ms();
    memcpy(pkt->room, t->room_name, sizeof(pkt->room));
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
    uint64_t now = sc_now_ms();
    if (now - a->level_window_ms < SC_AUDIO_LEVEL_WINDOW_MS)
        return;
    sc_sfu_event ev = {.type = SC_EVENT_AUDIO_LEVEL, .session_id = t->id, .kind = t->kind,
                       .slot = t->slot, .level = (int)(a->level_sum / a->level_count)};
    snprintf(ev.room, sizeof(ev.room), "%s", t->room_name);
    sc__sfu_emit(t->w->sfu, &ev);
    a->level_sum = a->level_count = 0;
    a->level_window_ms = now;
}

static void publisher_rtp(sc_transport *t, uint8_t *buf, size_t len, const sc_rtp *rtp)
{
    sc_worker *w = t->w;
    bool is_rtx;
    sc_pub_track *pt = classify(t, rtp, &is_rtx);
    if (!pt) {
        SC_COUNT(w, drop_unknown_ssrc, 1);
        return;
    }
    /* RTX from the publisher answers NACKs we do not send, or is bandwidth
     * probing; padding-only packets carry nothing for viewers. */
    if (is_rtx || rtp->payload_len == 0)
        return;
    update_reception(pt, rtp->seq);
    if (!t->room)
        return;
    bool video = pt == &t->video;
    if (!video)
        note_audio_level(t, rtp);
    sc_vp8 desc;
    if (video && sc_vp8_parse(rtp->payload, rtp->payload_len, &desc) < 0) {
        SC_COUNT(w, drop_rtp_invalid, 1);
        return;
    }
    sc_media_pkt *pkt = sc_media_pkt_new_rtp(buf, len);
    if (!pkt)
        return;
    stamp(pkt, t, video);
    if (video) {
        pkt->desc = desc;
        pkt->keyframe = desc.is_keyframe;
    }
    sc__worker_dispatch(w, pkt);
    sc_media_pkt_unref(pkt);
}

void sc__room_on_rtp(sc_transport *t, uint8_t *buf, size_t len)
{
    sc_rtp rtp;
    if (sc_rtp_parse(buf, len, &rtp) < 0) {
        SC_COUNT(t->w, drop_rtp_invalid, 1);
        return;
    }
    if (t->kind != SC_SESSION_PUBLISH) {
        SC_COUNT(t->w, drop_unknown_ssrc, 1); /* viewers send no media */
        return;
    }
    publisher_rtp(t, buf, len, &rtp);
}

/* Packets we do not act on are still parsed, so a malformed one is counted
 * like any other bad input. */
static bool rtcp_well_formed(const sc_rtcp_pkt *pkt)
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

static void publisher_rtcp(sc_transport *t, const sc_rtcp_pkt *pkt)
{
    if (pkt->pt != SC_RTCP_SR) {
        if (!rtcp_well_formed(pkt))
            SC_COUNT(t->w, drop_rtcp_invalid, 1);
        return;
    }
    sc_rtcp_sr sr;
    int nblocks;
    if (sc_rtcp_parse_sr(pkt, &sr, NULL, 0, &nblocks) < 0) {
        SC_COUNT(t->w, drop_rtcp_invalid, 1);
        return;
    }
    sc_pub_track *pt = NULL;
    if (t->audio.map >= 0 && sr.ssrc == t->audio.ssrc)
        pt = &t->audio;
    else if (t->video.map >= 0 && sr.ssrc == t->video.ssrc)
        pt = &t->video;
    if (!pt)
        return;
    pt->have_sr = true;
    pt->last_sr_mid = (uint32_t)(sr.ntp >> 16);
    pt->last_sr_ms = sc_now_ms();
    if (!t->room)
        return;
    sc_media_pkt *mp = sc_media_pkt_new_sr(&sr);
    if (!mp)
        return;
    stamp(mp, t, pt == &t->video);
    sc__worker_dispatch(t->w, mp);
    sc_media_pkt_unref(mp);
}

static int slot_of_ssrc(const sc_transport *sub, uint32_t ssrc, bool *video)
{
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        const sc_sub_track *v = &sub->sub_video[s], *a = &sub->sub_audio[s];
        if (v->map >= 0 && sub->neg.tracks[v->map].local_ssrc == ssrc) {
            *video = true;
            return s;
        }
        if (a->map >= 0 && sub->neg.tracks[a->map].local_ssrc == ssrc) {
            *video = false;
            return s;
        }
    }
    return -1;
}

static void retransmit(sc_transport *sub, sc_sub_track *st, const sc_slot_mirror *m,
                       uint16_t out_seq, uint64_t now_ms)
{
    uint16_t src_seq;
    if (!m->rtx || !sc_rewriter_unmap_seq(&st->rw, out_seq, &src_seq))
        return;
    const sc_media_pkt *pkt = sc_rtx_buffer_get(m->rtx, src_seq, now_ms);
    if (!pkt || pkt->rtp.ssrc != st->rw.src_ssrc)
        return;
    const sc_rtp *rtp = &pkt->rtp;
    const sc_vp8 *desc = &pkt->desc;
    const sc_track_map *map = &sub->neg.tracks[st->map];
    bool use_rtx = map->rtx_pt >= 0 && map->local_rtx_ssrc;
    uint8_t osn[2];
    sc_wr16(osn, out_seq);
    uint8_t *out = sc__worker_out_buf(sub->w);
    int n = sc_rtp_copy_stripped(rtp, pkt->data, use_rtx ? osn : NULL, use_rtx ? 2 : 0, out,
                                 SC_MTU + 2);
    if (n < 0)
        return;
    sc_rtp_set_ts(out, rtp->ts + st->rw.ts_offset);
    if (use_rtx) {
        sc_rtp_set_seq(out, st->rtx_seq++);
        sc_rtp_set_ssrc(out, map->local_rtx_ssrc);
        sc_rtp_set_pt(out, (uint8_t)map->rtx_pt);
    } else {
        sc_rtp_set_seq(out, out_seq);
        sc_rtp_set_ssrc(out, map->local_ssrc);
        sc_rtp_set_pt(out, map->pt);
    }
    if (desc->picture_id >= 0 && st->rw.pid_anchored) {
        uint16_t mask = desc->picture_id_bits == 15 ? 0x7fff : 0x7f;
        uint8_t tl0 = desc->tl0picidx >= 0 ? (uint8_t)desc->tl0picidx : 0;
        sc_vp8_rewrite(out + 12 + (use_rtx ? 2 : 0), desc,
                       (uint16_t)((desc->picture_id + st->rw.pid_offset) & mask),
                       (uint8_t)(tl0 + st->rw.tl0_offset));
    }
    size_t olen = (size_t)n;
    if (sc_srtp_protect_rtp(sub->srtp, out, &olen, SC_MTU + 64) < 0)
        return;
    sc__worker_out_commit(sub->w, olen, sub->selected);
    SC_COUNT(sub->w, retransmits_sent, 1);
}

static void subscriber_rtcp(sc_transport *sub, const sc_rtcp_pkt *pkt)
{
    sc_room *r = sub->room;
    uint32_t sender, media;
    bool video;
    if (!r)
        return;
    if (pkt->pt != SC_RTCP_RTPFB && pkt->pt != SC_RTCP_PSFB) {
        if (!rtcp_well_formed(pkt))
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
        return;
    }
    if (sc_rtcp_parse_fb(pkt, &sender, &media) < 0) {
        SC_COUNT(sub->w, drop_rtcp_invalid, 1);
        return;
    }
    uint64_t now = sc_now_ms();
    if (pkt->pt == SC_RTCP_PSFB && pkt->count == 4) {
        uint8_t fir_seq; /* FIR names the stream in its FCI, not in media */
        if (sc_rtcp_parse_fir(pkt, &media, &fir_seq) < 0) {
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
            return;
        }
    }
    int slot = slot_of_ssrc(sub, media, &video);
    if (slot < 0 || !video)
        return;
    if (pkt->pt == SC_RTCP_PSFB && (pkt->count == 1 || pkt->count == 4)) {
        request_slot_keyframe(sub->w, r, slot, now);
        return;
    }
    if (pkt->pt == SC_RTCP_RTPFB && pkt->count == 1) {
        uint16_t seqs[MAX_NACK_SEQS];
        int n;
        if (sc_rtcp_parse_nack(pkt, seqs, MAX_NACK_SEQS, &n) < 0) {
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
            return;
        }
        SC_COUNT(sub->w, nacks_received, 1);
        for (int i = 0; i < n; i++)
            retransmit(sub, &sub->sub_video[slot], &r->mirrors[slot], seqs[i], now);
    }
}

void sc__room_on_rtcp(sc_transport *t, uint8_t *buf, size_t len)
{
    if (sc_rtcp_validate(buf, len) < 0) {
        SC_COUNT(t->w, drop_rtcp_invalid, 1);
        return;
    }
    const uint8_t *p = buf;
    size_t left = len;
    sc_rtcp_pkt pkt;
    while (sc_rtcp_next(&p, &left, &pkt) > 0) {
        if (t->kind == SC_SESSION_PUBLISH)
            publisher_rtcp(t, &pkt);
        else
            subscriber_rtcp(t, &pkt);
    }
}

static void report_block(const sc_pub_track *pt, uint64_t now_ms, sc_rtcp_report_block *rb,
                         sc_pub_track *mut)
{
    uint32_t ext_max = pt->cycles + pt->max_seq;
    uint32_t expected = ext_max - pt->base_seq + 1;
    int64_t lost = (int64_t)expected - pt->received;
    uint32_t exp_int = expected - pt->expected_prior;
    uint32_t rcv_int = pt->received - pt->received_prior;
    int64_t lost_int = (int64_t)exp_int - rcv_int;
    memset(rb, 0, sizeof(*rb));
    rb->ssrc = pt->ssrc;
    rb->fraction_lost = (exp_int == 0 || lost_int <= 0) ? 0 : (uint8_t)((lost_int << 8) / exp_int);
    rb->cumulative_lost = (int32_t)SC_MAX(SC_MIN(lost, 0x7fffff), -0x800000);
    rb->highest_seq = ext_max;
    if (pt->have_sr) {
        rb->lsr = pt->last_sr_mid;
        rb->dlsr = (uint32_t)((now_ms - pt->last_sr_ms) * 65536 / 1000);
    }
    mut->expected_prior = expected;
    mut->received_prior = pt->received;
}

/* Once a second: receiver reports and REMB to publishers (Chrome grows its
 * send rate from them), keyframe requests for viewers still waiting. */
void sc__room_tick(sc_transport *t, uint64_t now_ms)
{
    if (t->kind == SC_SESSION_PUBLISH) {
        sc_rtcp_report_block blocks[2];
        uint32_t ssrcs[2];
        int n = 0;
        if (t->audio.map >= 0 && t->audio.seq_init)
            report_block(&t->audio, now_ms, &blocks[n++], &t->audio);
        if (t->video.map >= 0 && t->video.seq_init)
            report_block(&t->video, now_ms, &blocks[n++], &t->video);
        uint8_t buf[256 + SC_SRTCP_MAX_TRAILER];
        int len = sc_rtcp_build_rr(buf, 256, t->rtcp_ssrc, blocks, n);
        if (len < 0)
            return;
        int ns = 0;
        if (t->video.ssrc)
            ssrcs[ns++] = t->video.ssrc;
        if (t->audio.ssrc)
            ssrcs[ns++] = t->audio.ssrc;
        bool remb = t->video.map >= 0 && t->neg.tracks[t->video.map].remb;
        if (remb && ns) {
            int m = sc_rtcp_build_remb(buf + len, 256 - (size_t)len, t->rtcp_ssrc,
                                       sc__sfu_config(t->w->sfu)->publisher_max_bitrate, ssrcs, ns);
            if (m > 0)
                len += m;
        }
        sc__transport_send_rtcp(t, buf, (size_t)len);
        if (t->video.kf_wanted)
            request_keyframe(t, now_ms);
        return;
    }
    sc_room *r = t->room;
    for (int s = 0; r && s < SC_MAX_SLOTS; s++) {
        sc_sub_track *st = &t->sub_video[s];
        if (st->map >= 0 && st->need_keyframe &&
            now_ms - st->waiting_since_ms >= SC_KEYFRAME_INTERVAL_MS)
            request_slot_keyframe(t->w, r, s, now_ms);
    }
}

void sc__room_request_pending_keyframe(sc_transport *pub, uint64_t now_ms)
{
    if (pub->kind == SC_SESSION_PUBLISH && pub->video.kf_wanted)
        request_keyframe(pub, now_ms);
}
