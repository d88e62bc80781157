/* A viewer's side of a room on one worker: which simulcast layer and
 * temporal layer it should get of each stage slot (its choice, its rendered
 * size, its share of the bandwidth estimate or its loss reports), bandwidth
 * probes, and what its RTCP asks for (NACKs served from the retransmission
 * buffer, keyframe requests, REMB, transport-cc feedback).  Forwarding
 * itself is room.c. */
#include <errno.h>
#include <stdlib.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/engine/private.h"
#include "sfu/proto/bytes.h"
#include "sfu/proto/rtcp.h"
#include "sfu/proto/rtp.h"

#define MAX_NACK_SEQS 64

const uint64_t sc_sfu_rtt_le_us[SC_SFU_RTT_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
};

static size_t retransmit(sc_transport *sub, sc_sub_track *st, const sc_slot_mirror *m,
                         uint16_t out_seq, uint64_t now_ms, bool probe);

/* The layers in `mask` ranked low to high by the width of their last
 * keyframes (in the publisher's rid order until those are known); returns
 * how many. */
int sc__sub_rank_mask(const sc_slot_mirror *m, unsigned mask, int order[SC_MAX_LAYERS])
{
    int n = 0;
    for (int l = 0; l < SC_MAX_LAYERS; l++)
        if (mask & (1u << l))
            order[n++] = l;
    for (int i = 1; i < n; i++) { /* insertion sort by width, stable */
        int l = order[i], j = i;
        while (j > 0 && m->width[order[j - 1]] > m->width[l] && m->width[l]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = l;
    }
    return n;
}

/* Available layers ranked low to high; returns how many. */
static int rank_layers(const sc_slot_mirror *m, int order[SC_MAX_LAYERS])
{
    return sc__sub_rank_mask(m, m->available, order);
}

/* A fixed choice (Low, Medium, High) names a layer of everything the
 * source offers, the same one dynacast asks the publisher to send
 * (tell_layers in sfu/engine/control.c): not a rank among the layers flowing now, which
 * shrink when nobody else wants the rest.  While that layer is paused or
 * not yet seen, the nearest flowing one below it (else above) stands in. */
static int fixed_layer(const sc_slot_mirror *m, sc_layer_choice choice)
{
    int order[SC_MAX_LAYERS];
    int n = sc__sub_rank_mask(m, m->declared | m->known, order);
    if (n == 0)
        return -1;
    int want = choice == SC_CHOICE_LOW ? 0 : choice == SC_CHOICE_MEDIUM ? (n - 1) / 2 : n - 1;
    for (int i = want; i >= 0; i--)
        if (m->available & (1u << order[i]))
            return order[i];
    for (int i = want + 1; i < n; i++)
        if (m->available & (1u << order[i]))
            return order[i];
    return -1;
}

/* The highest rank worth sending a viewer that renders the slot max_width
 * pixels wide: the first layer at least about that wide (all of them while
 * widths are unknown). */
int sc__sub_viewport_rank(const sc_slot_mirror *m, const int *order, int n, uint16_t max_width)
{
    if (!max_width)
        return n - 1;
    for (int i = 0; i < n; i++) {
        uint16_t w = m->width[order[i]];
        if (!w)
            return n - 1;
        if ((uint32_t)w * 10 >= (uint32_t)max_width * 9)
            return i;
    }
    return n - 1;
}

static bool has_estimate(const sc_transport *sub, uint64_t now_ms)
{
    return (sub->bwe && sub->bwe->have_feedback) ||
           (sub->remb_ms && now_ms - sub->remb_ms < SC_REMB_FRESH_MS);
}

/* A fixed choice names its layer (fixed_layer); Auto takes the widest the
 * viewer renders, capped by what its path carries: its share of the
 * estimate when it has one, else what its loss reports allow. */
int sc__sub_choose_layer(const sc_transport *sub, const sc_slot_mirror *m, const sc_sub_track *st)
{
    int order[SC_MAX_LAYERS];
    int n = rank_layers(m, order);
    if (n == 0)
        return -1;
    switch (st->choice) {
    case SC_CHOICE_LOW:
    case SC_CHOICE_MEDIUM:
    case SC_CHOICE_HIGH:
        return fixed_layer(m, st->choice);
    default: { /* auto: what the viewer renders, capped by what its path carries */
        int cap = sc__sub_viewport_rank(m, order, n, st->max_width);
        int path = has_estimate(sub, sc_mono_ms()) ? st->bwe_cap : st->auto_cap;
        if (path >= 0 && path < cap)
            cap = path;
        return order[cap];
    }
    }
}

static int rank_of(const sc_slot_mirror *m, int layer)
{
    int order[SC_MAX_LAYERS];
    int n = rank_layers(m, order);
    for (int i = 0; i < n; i++)
        if (order[i] == layer)
            return i;
    return n - 1;
}

/* Auto viewers follow their receiver reports: sustained loss steps down a
 * layer at once (RTX cannot keep up with a link that is too narrow, and a
 * stalled picture is worse than a smaller one); a long calm tries one up. */
static void adapt_to_loss(sc_room *r, int slot, sc_sub_track *st, uint8_t fraction_lost,
                          uint64_t now_ms)
{
    const sc_slot_mirror *m = &r->mirrors[slot];
    if (st->choice != SC_CHOICE_AUTO || st->current_layer < 0)
        return;
    int order[SC_MAX_LAYERS];
    int n = rank_layers(m, order);
    int rank = rank_of(m, st->current_layer);
    if (fraction_lost >= SC_LOSS_STEP_DOWN) {
        st->calm_since_ms = 0;
        if (++st->lossy_reports >= SC_LOSSY_REPORTS && rank > 0) {
            st->auto_cap = (int8_t)(rank - 1);
            st->lossy_reports = 0;
            st->last_step_ms = now_ms;
            st->epoch = 0; /* choose again */
        }
        return;
    }
    st->lossy_reports = 0;
    if (fraction_lost > SC_LOSS_CALM) {
        st->calm_since_ms = 0;
        return;
    }
    if (!st->calm_since_ms)
        st->calm_since_ms = now_ms;
    if (st->auto_cap >= 0 && st->auto_cap < n - 1 &&
        now_ms - st->calm_since_ms >= SC_STEP_UP_AFTER_MS &&
        now_ms - st->last_step_ms >= SC_STEP_UP_AFTER_MS) {
        st->auto_cap++;
        st->last_step_ms = now_ms;
        st->calm_since_ms = now_ms;
        st->epoch = 0;
    }
}

void sc__sub_set_layer(sc_transport *sub, int slot, int choice)
{
    if (sub->kind != SC_SESSION_SUBSCRIBE || slot < 0 || slot >= SC_MAX_SLOTS)
        return;
    sc_sub_track *st = &sub->sub_video[slot];
    st->choice = (uint8_t)choice;
    if (choice != SC_CHOICE_AUTO)
        st->bwe_tid = 3; /* a fixed layer is sent whole */
    st->auto_cap = -1;
    st->lossy_reports = 0;
    st->epoch = 0; /* choose again at the next packet */
}

void sc__sub_set_viewport(sc_transport *sub, int slot, int width)
{
    if (sub->kind != SC_SESSION_SUBSCRIBE || slot < 0 || slot >= SC_MAX_SLOTS)
        return;
    sub->sub_video[slot].max_width = (uint16_t)width;
    sub->sub_video[slot].epoch = 0;
    sub->last_alloc_ms = 0; /* plan again at the next tick */
}

void sc__sub_set_temporal(sc_transport *sub, int slot, int max_tid)
{
    if (sub->kind != SC_SESSION_SUBSCRIBE || slot < 0 || slot >= SC_MAX_SLOTS)
        return;
    sub->sub_video[slot].user_tid = (int8_t)max_tid;
}

void sc__sub_reanchor(sc_transport *sub)
{
    uint64_t now = sc_mono_ms();
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        /* As when a slot's source changes (sc__room_deliver): the same
         * SSRCs continue, re-anchored on the new room's streams. */
        sc_rewriter_reset_source(&sub->sub_audio[s].rw);
        sc_rewriter_reset_source(&sub->sub_video[s].rw);
        sub->sub_video[s].current_layer = -1;
        sub->sub_video[s].target_layer = -1;
        sub->sub_video[s].waiting_since_ms = now;
    }
}

/* A layer's cost in a viewer's budget: its measured rate, or a typical one
 * for its rank while it has not been measured yet. */
static int64_t layer_cost(const sc_slot_mirror *m, const int *order, int n, int rank)
{
    static const uint32_t typical[SC_MAX_LAYERS] = {150000, 500000, 1500000};
    uint32_t bps = m->bps[order[rank]];
    if (bps)
        return bps;
    return typical[SC_MAX_LAYERS - n + rank];
}

/* What a viewer on Auto may be sent of a slot, cheapest first: each
 * spatial layer (by rank) at each of its temporal layers, the full frame
 * rate last (tid 3).  Going down the list, frame rate is shaved before a
 * spatial layer is given up. */
typedef struct step {
    int8_t rank, tid;
    int64_t cost;
} step;

#define MAX_STEPS (SC_MAX_LAYERS * 3)

static int plan_steps(const sc_slot_mirror *m, const int *order, int n, int top, step *out)
{
    int k = 0;
    for (int i = 0; i <= top && i < n; i++) {
        int l = order[i];
        int64_t full = layer_cost(m, order, n, i);
        int mt = m->max_tid[l];
        uint64_t sum = 0;
        for (int t = 0; t < mt && mt > 0; t++) {
            sum += m->tbps[l][t];
            /* unmeasured yet: a share of the layer's rate */
            int64_t c = sum ? (int64_t)sum : full * (t + 1) / (mt + 1);
            out[k++] = (step){(int8_t)i, (int8_t)t, c};
        }
        out[k++] = (step){(int8_t)i, 3, full};
    }
    return k;
}

/* Share a viewer's estimate among the stage slots it receives on Auto:
 * every slot gets its cheapest step first, then slots move up a step at a
 * time, in slot order, while the budget lasts (keeping a step needs 3/4 of
 * its rate, reaching it all of it, so a viewer does not flap on a layer
 * whose rate wobbles).  What the next step would need is the estimator's
 * "want": probes find out whether the path carries it. */
static void allocate(sc_transport *sub, uint64_t now_ms)
{
    sc_room *r = sub->room;
    if (!r)
        return;
    if (!has_estimate(sub, now_ms)) { /* (no longer) planned: every frame */
        for (int s = 0; s < SC_MAX_SLOTS; s++)
            sub->sub_video[s].bwe_tid = 3;
        return;
    }
    uint32_t est = sub->bwe && sub->bwe->have_feedback ? sc_bwe_estimate(sub->bwe)
                                                       : sub->remb_bps;
    int64_t budget = est;
    step steps[SC_MAX_SLOTS][MAX_STEPS];
    int n_steps[SC_MAX_SLOTS], at[SC_MAX_SLOTS];
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        const sc_slot_mirror *m = &r->mirrors[s];
        const sc_sub_track *st = &sub->sub_video[s];
        int order[SC_MAX_LAYERS];
        at[s] = -1;
        if (sub->sub_audio[s].map >= 0 && m->generation)
            budget -= SC_AUDIO_BUDGET_BPS;
        int n = st->map >= 0 ? rank_layers(m, order) : 0;
        if (n == 0)
            continue;
        if (st->choice != SC_CHOICE_AUTO) {
            /* A fixed choice is the viewer's call: that layer, every frame
             * (its own "temporal" cap aside). */
            int l = sc__sub_choose_layer(sub, m, st);
            for (int i = 0; i < n; i++)
                if (order[i] == l)
                    budget -= layer_cost(m, order, n, i);
            sub->sub_video[s].bwe_tid = 3;
            continue;
        }
        n_steps[s] =
            plan_steps(m, order, n, sc__sub_viewport_rank(m, order, n, st->max_width), steps[s]);
        at[s] = 0;
        budget -= steps[s][0].cost;
    }
    uint32_t want = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (int s = 0; s < SC_MAX_SLOTS; s++) {
            if (at[s] < 0 || at[s] + 1 >= n_steps[s])
                continue;
            const sc_sub_track *st = &sub->sub_video[s];
            const step *cur = &steps[s][at[s]], *next = &steps[s][at[s] + 1];
            bool holding = st->bwe_cap > next->rank ||
                           (st->bwe_cap == next->rank && st->bwe_tid >= next->tid);
            int64_t need = (holding ? next->cost * 3 / 4 : next->cost) - cur->cost;
            if (need <= budget) {
                budget -= next->cost - cur->cost;
                at[s]++;
                moved = true;
            } else if (!want) {
                int64_t w = (int64_t)est + (need - budget);
                want = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
            }
        }
    }
    if (sub->bwe)
        sc_bwe_set_want(sub->bwe, want);
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        sc_sub_track *st = &sub->sub_video[s];
        if (at[s] < 0)
            continue;
        const step *got = &steps[s][at[s]];
        if (got->rank != st->bwe_cap || got->tid != st->bwe_tid) {
            SC_INFO_CTX("bwe", sub->room_name, sub->id,
                        "session %016llx: estimate %u kbit/s (%s), slot %d: rank %d tid %d "
                        "-> rank %d tid %d, want %u kbit/s",
                        (unsigned long long)sub->id, est / 1000,
                        sub->bwe && sub->bwe->have_feedback ? "transport-cc" : "remb", s,
                        st->bwe_cap, st->bwe_tid, got->rank, got->tid, want / 1000);
            if (got->rank != st->bwe_cap)
                st->epoch = 0; /* choose the spatial layer again at the next packet */
            st->bwe_cap = got->rank;
            st->bwe_tid = got->tid;
        }
    }
}

/* Padding for a running probe: recent packets of a slot the viewer
 * receives, sent again on its RTX stream (the browser drops the
 * duplicates; the feedback on them tells us whether the path carried the
 * extra rate). */
static void send_probe(sc_transport *sub, uint32_t bytes, uint64_t now_ms)
{
    sc_room *r = sub->room;
    for (int s = 0; r && s < SC_MAX_SLOTS && bytes; s++) {
        sc_sub_track *st = &sub->sub_video[s];
        if (st->map < 0 || st->current_layer < 0 || !st->rw.anchored)
            continue;
        for (int i = 0; i < 64 && bytes; i++) {
            uint16_t back = (uint16_t)(sub->probe_k++ % 16);
            size_t sent = retransmit(sub, st, &r->mirrors[s], (uint16_t)(st->rw.last_seq - back),
                                     now_ms, true);
            if (!sent)
                break;
            bytes = sent >= bytes ? 0 : bytes - (uint32_t)sent;
        }
        return;
    }
}

void sc__sub_fast_tick(sc_transport *t, uint64_t now_ms)
{
    if (t->kind != SC_SESSION_SUBSCRIBE || !t->room || !t->selected)
        return;
    if (now_ms - t->last_alloc_ms >= SC_ALLOC_EVERY_MS) {
        t->last_alloc_ms = now_ms;
        allocate(t, now_ms);
    }
    if (t->bwe) {
        uint32_t pad = sc_bwe_padding(t->bwe, sc_mono_us());
        if (pad >= 200)
            send_probe(t, pad, now_ms);
    }
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

/* Send the packet a viewer knows as out_seq again (RTX when negotiated).
 * A probe is the same thing sent to measure the path, not to repair it.
 * Returns the bytes sent, 0 when the packet is not held. */
static size_t retransmit(sc_transport *sub, sc_sub_track *st, const sc_slot_mirror *m,
                         uint16_t out_seq, uint64_t now_ms, bool probe)
{
    uint16_t src_seq, pid_offset;
    int l = st->current_layer;
    if (l < 0 || !m->rtx[l] || !sc_rewriter_unmap(&st->rw, out_seq, &src_seq, &pid_offset))
        return 0;
    const sc_media_pkt *pkt = sc_rtx_buffer_get(m->rtx[l], src_seq, now_ms);
    if (!pkt || pkt->rtp.ssrc != st->rw.src_ssrc)
        return 0;
    const sc_rtp *rtp = &pkt->rtp;
    const sc_vp8 *desc = &pkt->desc;
    const sc_track_map *map = &sub->neg.tracks[st->map];
    int media_pt = map->pt_for[pkt->codec], rtx_pt = map->rtx_for[pkt->codec];
    bool use_rtx = rtx_pt >= 0 && map->local_rtx_ssrc;
    if (media_pt < 0 || (probe && !use_rtx))
        return 0;
    uint8_t osn[2];
    sc_wr16(osn, out_seq);
    uint8_t *out = sc__worker_out_buf(sub->w);
    uint8_t twcc = map->twcc ? sub->neg.twcc_id : 0;
    int n = sc_rtp_copy_ext(rtp, pkt->data, use_rtx ? osn : NULL, use_rtx ? 2 : 0, twcc, out,
                            SC_MTU + 2);
    if (n < 0)
        return 0;
    sc_rtp_set_ts(out, rtp->ts + st->rw.ts_offset);
    if (use_rtx) {
        sc_rtp_set_seq(out, st->rtx_seq++);
        sc_rtp_set_ssrc(out, map->local_rtx_ssrc);
        sc_rtp_set_pt(out, (uint8_t)rtx_pt);
    } else {
        sc_rtp_set_seq(out, out_seq);
        sc_rtp_set_ssrc(out, map->local_ssrc);
        sc_rtp_set_pt(out, (uint8_t)media_pt);
    }
    if (pkt->codec == SC_CODEC_VP8 && desc->picture_id >= 0 && st->rw.pid_anchored) {
        uint16_t mask = desc->picture_id_bits == 15 ? 0x7fff : 0x7f;
        uint8_t tl0 = desc->tl0picidx >= 0 ? (uint8_t)desc->tl0picidx : 0;
        sc_vp8_rewrite(out + 12 + (twcc ? 8 : 0) + (use_rtx ? 2 : 0), desc,
                       (uint16_t)((desc->picture_id + pid_offset) & mask),
                       (uint8_t)(tl0 + st->rw.tl0_offset));
    }
    if (twcc)
        sc_rtp_set_twcc_seq(out, sc_bwe_on_send(sub->bwe, (size_t)n + 16, sc_mono_us()));
    size_t olen = (size_t)n;
    if (sc_srtp_protect_rtp(sub->srtp, out, &olen, SC_MTU + 64) < 0)
        return 0;
    sc__worker_out_commit(sub->w, olen, sub->selected);
    if (probe)
        SC_COUNT(sub->w, probe_packets, 1);
    else
        SC_COUNT(sub->w, retransmits_sent, 1);
    return olen;
}

void sc__sub_sr_sent(sc_sub_track *st, uint64_t ntp, uint64_t now_us)
{
    st->sr_mid[st->sr_next] = (uint32_t)(ntp >> 16);
    st->sr_sent_us[st->sr_next] = now_us;
    st->sr_next ^= 1;
}

/* A report block that answers one of the last two sender reports of the
 * track (its LSR echoes the report's NTP time): the round trip is the time
 * since that report left less the time the viewer held it (DLSR, in
 * 1/65536 s).  Older reports are not remembered; their answers are left
 * out. */
static void measure_rtt(sc_transport *sub, const sc_sub_track *st,
                        const sc_rtcp_report_block *rb)
{
    if (!rb->lsr)
        return;
    for (int i = 0; i < 2; i++) {
        if (!st->sr_sent_us[i] || st->sr_mid[i] != rb->lsr)
            continue;
        uint64_t since = sc_mono_us() - st->sr_sent_us[i];
        uint64_t held = (uint64_t)rb->dlsr * 1000000u / 65536u;
        sc_hist_observe(&sub->w->stats.rtt, sc_sfu_rtt_le_us, SC_SFU_RTT_BUCKETS,
                        since > held ? since - held : 0);
        return;
    }
}

void sc__sub_on_rtcp(sc_transport *sub, const sc_rtcp_pkt *pkt)
{
    sc_room *r = sub->room;
    uint32_t sender, media;
    bool video;
    if (!r)
        return;
    if (pkt->pt == SC_RTCP_RR || pkt->pt == SC_RTCP_SR) {
        sc_rtcp_report_block blocks[31];
        sc_rtcp_sr sr;
        int n;
        int rc = pkt->pt == SC_RTCP_RR ? sc_rtcp_parse_rr(pkt, &sender, blocks, 31, &n)
                                       : sc_rtcp_parse_sr(pkt, &sr, blocks, 31, &n);
        if (rc < 0) {
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
            return;
        }
        for (int i = 0; i < n; i++) {
            int slot = slot_of_ssrc(sub, blocks[i].ssrc, &video);
            if (slot < 0)
                continue;
            measure_rtt(sub, video ? &sub->sub_video[slot] : &sub->sub_audio[slot], &blocks[i]);
            if (video)
                adapt_to_loss(r, slot, &sub->sub_video[slot], blocks[i].fraction_lost,
                              sc_mono_ms());
        }
        return;
    }
    if (pkt->pt != SC_RTCP_RTPFB && pkt->pt != SC_RTCP_PSFB) {
        if (!sc__rtcp_well_formed(pkt))
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
        return;
    }
    if (sc_rtcp_parse_fb(pkt, &sender, &media) < 0) {
        SC_COUNT(sub->w, drop_rtcp_invalid, 1);
        return;
    }
    uint64_t now = sc_mono_ms();
    if (pkt->pt == SC_RTCP_RTPFB && pkt->count == 15) { /* transport-cc */
        sc_twcc_fb fb;
        int64_t arrival[512];
        if (sc_rtcp_parse_twcc(pkt, &fb, arrival, 512) < 0) {
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
            return;
        }
        if (sub->bwe)
            sc_bwe_on_feedback(sub->bwe, &fb, arrival, sc_mono_us());
        return;
    }
    if (pkt->pt == SC_RTCP_PSFB && pkt->count == 15) { /* the viewer's REMB */
        uint64_t bps;
        uint32_t ssrcs[8];
        int n;
        int rc = sc_rtcp_parse_remb(pkt, &bps, ssrcs, 8, &n);
        if (rc == -EINVAL)
            SC_COUNT(sub->w, drop_rtcp_invalid, 1);
        if (rc == 0) {
            sub->remb_bps = bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
            sub->remb_ms = now;
        }
        return;
    }
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
        int l = sub->sub_video[slot].current_layer;
        sc__room_request_keyframe(sub->w, r, slot, l >= 0 ? l : sub->sub_video[slot].target_layer,
                              now);
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
            retransmit(sub, &sub->sub_video[slot], &r->mirrors[slot], seqs[i], now, false);
    }
}
