/* A room on one worker: its publishers (one per stage slot) and its
 * subscribers, and what happens to each packet here: the switch to a
 * viewer's layer at a keyframe, fan-out with per-viewer rewriting,
 * keyframe requests collapsed per layer, sender reports translated for lip
 * sync, dynacast demand.  The publisher side is publisher.c; what a
 * viewer's feedback means (layer choice and allocation, NACKs) is
 * subscriber.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "sfu/engine/private.h"
#include "sfu/proto/rtcp.h"
#include "sfu/proto/rtp.h"
#include "sfu/proto/vp8.h"

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
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        r->mirrors[s].demand_sent = -1;
        memset(r->mirrors[s].max_tid, -1, sizeof(r->mirrors[s].max_tid));
    }
    r->next = w->rooms[b];
    w->rooms[b] = r;
    return r;
}

static void report_demand(sc_worker *w, sc_room *r, int slot, int mask)
{
    sc_sfu_event ev = {.type = SC_EVENT_LAYER_DEMAND, .slot = slot, .layers = mask,
                       .worker = w->index};
    snprintf(ev.room, sizeof(ev.room), "%s", r->name);
    r->mirrors[slot].demand_sent = (int16_t)mask;
    sc__sfu_emit(w->sfu, &ev);
}

void sc__room_free_if_empty(sc_worker *w, sc_room *r)
{
    if (r->n_subs)
        return;
    for (int s = 0; s < SC_MAX_SLOTS; s++)
        if (r->slots[s])
            return;
    for (int s = 0; s < SC_MAX_SLOTS; s++)
        if (r->mirrors[s].demand_sent > 0)
            report_demand(w, r, s, 0); /* nobody here wants anything now */
    for (sc_room **pp = &w->rooms[room_bucket(r->name)]; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    }
    for (int s = 0; s < SC_MAX_SLOTS; s++)
        for (int l = 0; l < SC_MAX_LAYERS; l++)
            sc_rtx_buffer_free(r->mirrors[s].rtx[l]);
    free(r->subs);
    free(r);
}


/* Ask for a keyframe of one layer of a slot's source, wherever the
 * publisher lives; collapsed per worker and layer so a thousand waiting
 * viewers cost one message. */
void sc__room_request_keyframe(sc_worker *w, sc_room *r, int slot, int layer, uint64_t now_ms)
{
    sc_slot_mirror *m = &r->mirrors[slot];
    if (!m->generation || layer < 0 || layer >= SC_MAX_LAYERS ||
        now_ms - m->last_kf_request_ms[layer] < SC_KEYFRAME_INTERVAL_MS)
        return;
    m->last_kf_request_ms[layer] = now_ms;
    if (m->src_worker == w->index) {
        if (r->slots[slot])
            sc__pub_request_keyframe(r->slots[slot], layer, now_ms);
    } else {
        sc__worker_request_keyframe(w, m->src_worker, r->name, slot, layer);
    }
}

void sc__room_keyframe_for_slot(sc_worker *w, const char *room, int slot, int layer)
{
    sc_room *r = sc__room_get(w, room, false);
    if (r && slot >= 0 && slot < SC_MAX_SLOTS && r->slots[slot])
        sc__pub_request_keyframe(r->slots[slot], layer, sc_mono_ms());
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


/* Dynacast: the layer classes this worker's viewers of a slot would take
 * if they were flowing (their fixed choice, or on Auto what their rendered size
 * calls for: not their bandwidth, which changes faster than a paused
 * encoder restarts), always the lowest (a new viewer starts at once), held
 * SC_DYNACAST_HOLD_MS after the last viewer stops wanting them.  Reported
 * to the control thread when it changes. */
void sc__room_demand_tick(sc_worker *w, sc_room *r, uint64_t now_ms)
{
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        sc_slot_mirror *m = &r->mirrors[s];
        if (!m->generation || !m->known)
            continue;
        int order[SC_MAX_LAYERS];
        int n = sc__sub_rank_mask(m, m->known, order);
        bool viewers = false;
        for (int i = 0; i < r->n_subs; i++) {
            const sc_sub_track *st = &r->subs[i]->sub_video[s];
            if (st->map < 0)
                continue;
            viewers = true;
            /* Reported as a class (low / medium / high), not a layer:
             * this worker may never have seen a layer that is paused, and
             * the control thread maps classes onto the publisher's rids. */
            int cls;
            switch (st->choice) {
            case SC_CHOICE_LOW: cls = 0; break;
            case SC_CHOICE_MEDIUM: cls = 1; break;
            case SC_CHOICE_HIGH: cls = 2; break;
            default: {
                int rank = sc__sub_viewport_rank(m, order, n, st->max_width);
                cls = rank == n - 1 ? 2 : rank == 0 ? 0 : 1;
                break;
            }
            }
            m->wanted_ms[cls] = now_ms;
        }
        if (viewers)
            m->wanted_ms[0] = now_ms;
        int mask = 0;
        for (int l = 0; l < SC_MAX_LAYERS; l++)
            if (m->wanted_ms[l] && now_ms - m->wanted_ms[l] < SC_DYNACAST_HOLD_MS)
                mask |= 1 << l;
        if (mask != m->demand_sent)
            report_demand(w, r, s, mask);
    }
}

void sc__room_on_connected(sc_transport *t)
{
    sc_room *r = t->room;
    uint64_t now = sc_mono_ms();
    if (!r)
        return;
    if (t->kind == SC_SESSION_PUBLISH) {
        sc__pub_request_keyframe(t, -1, now);
        return;
    }
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        sc_sub_track *st = &t->sub_video[s];
        st->waiting_since_ms = now;
        if (st->map < 0)
            continue;
        int l = sc__sub_choose_layer(t, &r->mirrors[s], st);
        if (l >= 0) {
            r->mirrors[s].last_kf_request_ms[l] = 0; /* a new viewer must not wait */
            sc__room_request_keyframe(t->w, r, s, l, now);
        }
    }
}

/* Video: forward the current layer; switch to the target layer at its next
 * keyframe (asking for one), so the decoder never sees a stream change
 * mid-picture.  Returns false when this packet is not for this viewer. */
static bool video_gate(sc_worker *w, sc_room *r, sc_transport *sub, sc_sub_track *st,
                       const sc_media_pkt *pkt, uint64_t now_ms)
{
    const sc_slot_mirror *m = &r->mirrors[pkt->slot];
    if (st->epoch != m->epoch || st->target_layer < 0) {
        st->target_layer = (int8_t)sc__sub_choose_layer(sub, m, st);
        st->epoch = m->epoch;
    }
    int l = pkt->layer;
    if (l == st->current_layer) {
        if (st->target_layer != l && st->target_layer >= 0)
            sc__room_request_keyframe(w, r, pkt->slot, st->target_layer, now_ms);
        return true;
    }
    if (l != st->target_layer)
        return false;
    if (!pkt->keyframe) {
        sc__room_request_keyframe(w, r, pkt->slot, l, now_ms);
        return false;
    }
    /* The layer's own SSRC, sequence numbers and timestamps: the rewriter
     * re-anchors on them and the viewer sees one continuous stream. */
    sc_rewriter_reset_source(&st->rw);
    st->current_layer = (int8_t)l;
    return true;
}

/* VP8 temporal layers: a frame is forwarded when its temporal layer id is
 * at most the viewer's.  The verdict is taken at a frame's first packet
 * and kept for the rest of it.  Going down takes effect at the next frame;
 * going up waits for a base-layer frame (every later frame references
 * only frames from there on, all forwarded), a keyframe, or a frame of the
 * new layer with the layer-sync bit (it references only the base layer),
 * so the decoder never misses a reference. */
static bool temporal_pass(sc_sub_track *st, const sc_vp8 *d)
{
    if (d->tid < 0 || d->picture_id < 0)
        return true;
    if (d->picture_id != st->frame_pid) {
        st->frame_pid = d->picture_id;
        int want = st->user_tid < st->bwe_tid ? st->user_tid : st->bwe_tid;
        if (want < st->fwd_tid)
            st->fwd_tid = (int8_t)want;
        else if (want > st->fwd_tid && (d->is_keyframe || d->tid == 0))
            st->fwd_tid = (int8_t)want;
        else if (want > st->fwd_tid && d->layer_sync && d->tid <= want)
            st->fwd_tid = d->tid;
        st->frame_pass = d->tid <= st->fwd_tid;
    }
    return st->frame_pass;
}

/* One packet to one viewer: gate, rewrite, protect, queue. */
static void send_to(sc_worker *w, sc_room *r, sc_transport *sub, const sc_media_pkt *pkt,
                    int pad, uint64_t now_us)
{
    int slot = pkt->slot;
    bool video = pkt->video;
    const sc_rtp *rtp = &pkt->rtp;
    sc_sub_track *st = video ? &sub->sub_video[slot] : &sub->sub_audio[slot];
    if (st->map < 0)
        return;
    const sc_track_map *m = &sub->neg.tracks[st->map];
    int pt = video ? m->pt_for[pkt->codec] : m->pt;
    if (pt < 0) /* this viewer cannot decode what the publisher sends */
        return;
    if (video && !video_gate(w, r, sub, st, pkt, now_us / 1000))
        return;
    if (video && pkt->codec == SC_CODEC_VP8 && !temporal_pass(st, &pkt->desc)) {
        sc_rewriter_drop(&st->rw, rtp->seq, pkt->desc.picture_id);
        SC_COUNT(w, temporal_dropped, 1);
        return;
    }
    uint16_t seq;
    uint32_t ts;
    if (!sc_rewriter_map(&st->rw, rtp->ssrc, rtp->seq, rtp->ts, now_us, &seq, &ts))
        return;
    uint8_t *out = sc__worker_out_buf(w);
    uint8_t twcc = m->twcc ? sub->neg.twcc_id : 0;
    int n = sc_rtp_copy_ext(rtp, pkt->data, NULL, 0, twcc, out, SC_MTU);
    if (n < 0)
        return;
    if (pad > 0 && n + pad <= SC_MTU) {
        /* RFC 3550 padding (the receiver drops it): see pad_runs */
        memset(out + n, 0, (size_t)pad - 1);
        out[n + pad - 1] = (uint8_t)pad;
        out[0] |= 0x20;
        n += pad;
    }
    if (twcc)
        sc_rtp_set_twcc_seq(out, sc_bwe_on_send(sub->bwe, (size_t)n + 16, now_us));
    sc_rtp_set_seq(out, seq);
    sc_rtp_set_ts(out, ts);
    sc_rtp_set_ssrc(out, m->local_ssrc);
    sc_rtp_set_pt(out, (uint8_t)pt);
    if (video && pkt->codec == SC_CODEC_VP8)
        sc_rewriter_vp8(&st->rw, out + 12 + (twcc ? 8 : 0), &pkt->desc);
    size_t len = (size_t)n;
    if (sc_srtp_protect_rtp(sub->srtp, out, &len, SC_MTU + 64) < 0)
        return;
    sc__worker_out_commit(w, len, sub->selected);
    st->packets++;
    st->octets += (uint32_t)rtp->payload_len;
    SC_COUNT(w, forwarded_packets, 1);
}

/* The order a viewer gets a batch in: video first, then audio (each in
 * arrival order; the two are separate streams, so nothing is reordered
 * within one).  A frame's packets then sit together, with the audio after
 * them: shorter, it may end the same GSO run. */
static int viewer_order(sc_media_pkt *const *pkts, int n, int *order)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (pkts[i]->video)
            order[k++] = i;
    for (int i = 0; i < n; i++)
        if (!pkts[i]->video)
            order[k++] = i;
    return k;
}

/* A frame split "about equally" (libwebrtc makes its last packets one byte
 * longer) would leave as two GSO sends: a run may only end shorter.  Within
 * a run of one slot and layer whose payloads differ by at most
 * SC_GSO_MAX_PAD bytes, every packet but the last is padded to the longest
 * (RFC 3550 padding), so the run leaves as one. */
#define SC_GSO_MAX_PAD 4
static void pad_runs(sc_media_pkt *const *pkts, const int *order, int n, int *pad)
{
    for (int i = 0; i < n; i++)
        pad[order[i]] = 0;
    for (int i = 0; i < n;) {
        const sc_media_pkt *a = pkts[order[i]];
        size_t lo = a->rtp.payload_len, hi = lo;
        int j = i + 1;
        while (a->video && j < n) {
            const sc_media_pkt *b = pkts[order[j]];
            size_t l = b->rtp.payload_len;
            size_t nlo = l < lo ? l : lo, nhi = l > hi ? l : hi;
            if (!b->video || b->slot != a->slot || b->layer != a->layer || nhi - nlo > SC_GSO_MAX_PAD)
                break;
            lo = nlo;
            hi = nhi;
            j++;
        }
        for (int k = i; k < j - 1; k++)
            pad[order[k]] = (int)(hi - pkts[order[k]]->rtp.payload_len);
        i = j;
    }
}

/* Viewer by viewer, each gets the batch's packets back to back, so that a
 * video frame's packets to one viewer leave in one GSO send. */
static void fan_out(sc_worker *w, sc_room *r, sc_media_pkt *const *pkts, int n)
{
    uint64_t now_us = sc_mono_us();
    int order[SC_DELIVER_BATCH], pad[SC_DELIVER_BATCH];
    n = viewer_order(pkts, n, order);
    pad_runs(pkts, order, n, pad);
    SC_COUNT(w, fanout_batches, 1);
    SC_COUNT(w, fanout_packets, n);
    for (int i = 0; i < r->n_subs; i++) {
        sc_transport *sub = r->subs[i];
        if (!sub->connected || !sub->selected || sub->closing)
            continue;
        for (int k = 0; k < n; k++) {
            const sc_media_pkt *p = pkts[order[k]];
            if (p->self_key && p->self_key == sub->user_key)
                continue; /* a group member's own camera: its page shows it */
            send_to(w, r, sub, pkts[order[k]], pad[order[k]], now_us);
        }
    }
}

void sc__room_flush(sc_worker *w)
{
    int n = w->n_pend;
    w->n_pend = 0;
    for (int i = 0; i < n; i++) {
        sc_room *r = w->pend_room[i];
        if (!r)
            continue;
        sc_media_pkt *batch[SC_DELIVER_BATCH];
        int k = 0;
        for (int j = i; j < n; j++) {
            if (w->pend_room[j] == r) {
                batch[k++] = w->pend[j];
                w->pend_room[j] = NULL;
            }
        }
        fan_out(w, r, batch, k);
        for (int j = 0; j < k; j++)
            sc_media_pkt_unref(batch[j]);
    }
}

/* Translate a publisher's SR into each viewer's timeline so the browser can
 * lip-sync the slot's audio and video (viewers on another simulcast layer
 * are anchored on another SSRC and skip it). */
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
        if (n > 0) {
            sc__transport_send_rtcp(sub, buf, (size_t)n);
            sc__sub_sr_sent(st, out.ntp, sc_mono_us());
        }
    }
}

/* Keep the mirror's view of the slot's layers: which are flowing, how wide
 * their pictures are.  Any change bumps the epoch so viewers choose again. */
static void track_layers(sc_slot_mirror *m, const sc_media_pkt *pkt)
{
    uint64_t now = pkt->recv_ms;
    int l = pkt->layer;
    m->last_seen_ms[l] = now;
    m->bytes[l] += (uint32_t)pkt->len;
    if (pkt->codec == SC_CODEC_VP8 && pkt->desc.tid >= 0) {
        int t = pkt->desc.tid > 2 ? 2 : pkt->desc.tid;
        m->tbytes[l][t] += (uint32_t)pkt->len;
        if (t > m->max_tid[l])
            m->max_tid[l] = (int8_t)t;
    }
    if (!m->rate_window_ms) {
        m->rate_window_ms = now;
    } else if (now - m->rate_window_ms >= 1000) {
        uint64_t dt = now - m->rate_window_ms;
        for (int o = 0; o < SC_MAX_LAYERS; o++) {
            uint32_t bps = (uint32_t)((uint64_t)m->bytes[o] * 8000 / dt);
            m->bps[o] = m->bps[o] && bps ? (m->bps[o] + bps) / 2 : bps;
            m->bytes[o] = 0;
            for (int t = 0; t < 3; t++) {
                uint32_t tb = (uint32_t)((uint64_t)m->tbytes[o][t] * 8000 / dt);
                m->tbps[o][t] = m->tbps[o][t] && tb ? (m->tbps[o][t] + tb) / 2 : tb;
                m->tbytes[o][t] = 0;
            }
        }
        m->rate_window_ms = now;
    }
    m->known |= (uint8_t)(1u << l);
    if (!(m->available & (1u << l))) {
        m->available |= (uint8_t)(1u << l);
        m->epoch++;
    }
    if (pkt->keyframe && pkt->desc.width && pkt->desc.width != m->width[l]) {
        m->width[l] = pkt->desc.width;
        m->epoch++;
    }
    for (int o = 0; o < SC_MAX_LAYERS; o++) {
        if ((m->available & (1u << o)) && now - m->last_seen_ms[o] > SC_LAYER_TIMEOUT_MS) {
            m->available &= (uint8_t) ~(1u << o); /* the publisher stopped it */
            m->epoch++;
        }
    }
}

void sc__room_deliver(sc_worker *w, sc_media_pkt *pkt)
{
    sc_room *r = sc__room_get(w, pkt->room, false);
    if (!r || !r->n_subs || pkt->layer < 0 || pkt->layer >= SC_MAX_LAYERS)
        return;
    sc_slot_mirror *m = &r->mirrors[pkt->slot];
    if (pkt->generation < m->generation)
        return; /* from a publisher this slot has since replaced */
    if (pkt->generation > m->generation || pkt->is_sr)
        sc__room_flush(w); /* held packets go out under the state they came in */
    if (pkt->generation > m->generation) {
        /* A new source on the slot.  Viewers continue on the same SSRCs:
         * their rewriters re-anchor on it and video waits for its first
         * keyframe. */
        uint64_t now = sc_mono_ms();
        for (int l = 0; l < SC_MAX_LAYERS; l++) {
            sc_rtx_buffer_free(m->rtx[l]);
            m->rtx[l] = NULL;
            m->last_kf_request_ms[l] = 0;
            m->width[l] = 0;
            m->bps[l] = m->bytes[l] = 0;
            memset(m->tbps[l], 0, sizeof(m->tbps[l]));
            memset(m->tbytes[l], 0, sizeof(m->tbytes[l]));
            m->max_tid[l] = -1;
        }
        m->generation = pkt->generation;
        m->src_worker = pkt->src_worker;
        m->available = 0;
        m->known = 0;
        /* A source's rids are fixed for its session: taken once, here. */
        int offered = pkt->n_layers < 1               ? 1
                      : pkt->n_layers > SC_MAX_LAYERS ? SC_MAX_LAYERS
                                                      : pkt->n_layers;
        m->declared = (uint8_t)((1u << offered) - 1);
        m->epoch++;
        for (int i = 0; i < r->n_subs; i++) {
            sc_transport *s = r->subs[i];
            sc_rewriter_reset_source(&s->sub_audio[pkt->slot].rw);
            sc_rewriter_reset_source(&s->sub_video[pkt->slot].rw);
            s->sub_video[pkt->slot].current_layer = -1;
            s->sub_video[pkt->slot].waiting_since_ms = now;
        }
    }
    if (pkt->is_sr) {
        forward_sr(r, pkt);
        return;
    }
    if (pkt->video) {
        track_layers(m, pkt);
        if (!m->rtx[pkt->layer])
            m->rtx[pkt->layer] = sc_rtx_buffer_new(SC_RTX_MAX_AGE_MS);
        if (m->rtx[pkt->layer])
            sc_rtx_buffer_put(m->rtx[pkt->layer], pkt);
    }
    if (w->n_pend == SC_DELIVER_BATCH)
        sc__room_flush(w);
    sc_media_pkt_ref(pkt);
    w->pend[w->n_pend] = pkt;
    w->pend_room[w->n_pend++] = r;
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
    sc__pub_on_rtp(t, buf, len, &rtp);
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
            sc__pub_on_rtcp(t, &pkt);
        else
            sc__sub_on_rtcp(t, &pkt);
    }
}

/* Once a second: publishers get receiver reports and REMB; viewers still
 * waiting for a keyframe ask again. */
void sc__room_tick(sc_transport *t, uint64_t now_ms)
{
    if (t->kind == SC_SESSION_PUBLISH) {
        sc__pub_tick(t, now_ms);
        return;
    }
    sc_room *r = t->room;
    for (int s = 0; r && s < SC_MAX_SLOTS; s++) {
        sc_sub_track *st = &t->sub_video[s];
        if (st->map >= 0 && st->current_layer < 0 && st->target_layer >= 0 &&
            now_ms - st->waiting_since_ms >= SC_KEYFRAME_INTERVAL_MS)
            sc__room_request_keyframe(t->w, r, s, st->target_layer, now_ms);
    }
}
