#include "sfu/engine/stream.h"

#include <stdlib.h>
#include <string.h>

#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"

void sc_rewriter_init(sc_rewriter *rw, uint32_t clock, bool vp8)
{
    memset(rw, 0, sizeof(*rw));
    rw->clock = clock ? clock : 90000;
    rw->vp8 = vp8;
    /* RFC 3550: random initial values make known-plaintext attacks harder. */
    rw->last_seq = (uint16_t)sc_random_u32();
    rw->last_ts = sc_random_u32();
    rw->last_pid = (uint16_t)(sc_random_u32() & 0x7fff);
    rw->last_tl0 = (uint8_t)sc_random_u32();
    rw->dropped_pid = -1;
}

struct sc_rw_shift {
    uint16_t src_seq;       /* from this source seq on ... */
    uint16_t seq_offset;    /* ... these offsets */
    uint16_t pid_offset;
};

void sc_rewriter_reset_source(sc_rewriter *rw)
{
    rw->anchored = false;
    rw->pid_anchored = false;
    rw->n_shifts = rw->shift_next = 0;
    rw->base_limited = false;
    rw->have_max = false;
    rw->dropped_pid = -1;
}

void sc_rewriter_release(sc_rewriter *rw)
{
    free(rw->shifts);
    rw->shifts = NULL;
    rw->n_shifts = rw->shift_next = 0;
}

static const struct sc_rw_shift *shift_at(const sc_rewriter *rw, int back)
{
    return &rw->shifts[(rw->shift_next + SC_RW_SHIFTS - 1 - back) % SC_RW_SHIFTS];
}

/* The offsets that applied to source seq `seq`: the newest shift at or
 * before it, else the base.  False when it is older than what is known. */
static bool offsets_for(const sc_rewriter *rw, uint16_t seq, uint16_t *so, uint16_t *po)
{
    for (int i = 0; i < rw->n_shifts; i++) {
        const struct sc_rw_shift *e = shift_at(rw, i);
        if (seq == e->src_seq || sc_seq_newer(seq, e->src_seq)) {
            *so = e->seq_offset;
            *po = e->pid_offset;
            return true;
        }
    }
    if (!rw->n_shifts) {
        *so = rw->seq_offset;
        *po = rw->pid_offset;
        return true;
    }
    if (rw->base_limited && seq != rw->base_from && !sc_seq_newer(seq, rw->base_from))
        return false;
    *so = rw->base_seq_offset;
    *po = rw->base_pid_offset;
    return true;
}

/* Late packets and NACKs are told from those before the anchor by
 * half-range comparisons of 16-bit sequence numbers, which hold only within
 * 32768 of each other: so the anchor trails the newest source seq by at
 * most SC_RW_HORIZON (anything older is too late to forward or resend), and
 * drop eras that begin at or before it fold into the base. */
static void trail_anchor(sc_rewriter *rw)
{
    if ((uint16_t)(rw->max_src_seq - rw->anchor_seq) <= SC_RW_HORIZON)
        return;
    rw->anchor_seq = (uint16_t)(rw->max_src_seq - SC_RW_HORIZON);
    while (rw->n_shifts) {
        const struct sc_rw_shift *oldest = shift_at(rw, rw->n_shifts - 1);
        if (sc_seq_newer(oldest->src_seq, rw->anchor_seq))
            break;
        rw->base_seq_offset = oldest->seq_offset;
        rw->base_pid_offset = oldest->pid_offset;
        rw->n_shifts--;
    }
    if (rw->base_limited && !sc_seq_newer(rw->base_from, rw->anchor_seq))
        rw->base_limited = false;
}

void sc_rewriter_drop(sc_rewriter *rw, uint16_t seq, int32_t picture_id)
{
    if (!rw->anchored || (seq != rw->anchor_seq && !sc_seq_newer(seq, rw->anchor_seq)))
        return;
    if (rw->have_max && !sc_seq_newer(seq, rw->max_src_seq))
        return; /* late: the gap it leaves was closed already */
    if (!rw->shifts && !(rw->shifts = calloc(SC_RW_SHIFTS, sizeof(*rw->shifts))))
        return; /* out of memory: the viewer sees a gap, NACKs find nothing */
    rw->have_max = true;
    rw->max_src_seq = seq;
    trail_anchor(rw); /* before the new era, which begins after it */
    if (!rw->n_shifts) {
        rw->base_seq_offset = rw->seq_offset;
        rw->base_pid_offset = rw->pid_offset;
    }
    rw->seq_offset--;
    if (picture_id >= 0 && rw->pid_anchored && picture_id != rw->dropped_pid) {
        rw->pid_offset--;
        rw->dropped_pid = picture_id;
    }
    struct sc_rw_shift *last = rw->n_shifts ? &rw->shifts[(rw->shift_next + SC_RW_SHIFTS - 1) %
                                                          SC_RW_SHIFTS]
                                            : NULL;
    if (last && last->src_seq == seq) { /* consecutive drops: one shift */
        last->src_seq = (uint16_t)(seq + 1);
        last->seq_offset = rw->seq_offset;
        last->pid_offset = rw->pid_offset;
        return;
    }
    if (rw->n_shifts == SC_RW_SHIFTS) { /* the oldest becomes the base */
        const struct sc_rw_shift *old = &rw->shifts[rw->shift_next];
        rw->base_seq_offset = old->seq_offset;
        rw->base_pid_offset = old->pid_offset;
        rw->base_from = old->src_seq;
        rw->base_limited = true;
        rw->n_shifts--;
    }
    rw->shifts[rw->shift_next] = (struct sc_rw_shift){
        .src_seq = (uint16_t)(seq + 1), .seq_offset = rw->seq_offset,
        .pid_offset = rw->pid_offset};
    rw->shift_next = (uint8_t)((rw->shift_next + 1) % SC_RW_SHIFTS);
    rw->n_shifts++;
}

bool sc_rewriter_map(sc_rewriter *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now_us,
                     uint16_t *out_seq, uint32_t *out_ts)
{
    if (rw->anchored && ssrc != rw->src_ssrc)
        sc_rewriter_reset_source(rw);
    if (!rw->anchored) {
        /* Continue right after what the viewer last saw: one sequence number
         * later and the elapsed wall-clock time later (at least one tick), so
         * its jitter buffer sees neither a gap nor time going backwards. */
        uint32_t gap_ts = 1;
        if (rw->started) {
            uint64_t elapsed = now_us - rw->last_us;
            uint64_t ticks = elapsed * rw->clock / 1000000u;
            if (ticks > 1 && ticks < 0x7fffffffu)
                gap_ts = (uint32_t)ticks;
        }
        rw->src_ssrc = ssrc;
        rw->anchor_seq = seq;
        rw->seq_offset = (uint16_t)(rw->last_seq + 1 - seq);
        rw->ts_offset = rw->last_ts + gap_ts - ts;
        rw->anchored = true;
    } else if (seq != rw->anchor_seq && !sc_seq_newer(seq, rw->anchor_seq)) {
        return false; /* late packet from before the switch */
    }
    uint16_t so = rw->seq_offset, po = rw->pid_offset;
    if (rw->n_shifts && !offsets_for(rw, seq, &so, &po))
        return false; /* older than the drops we remember */
    rw->cur_pid_offset = po;
    if (!rw->have_max || sc_seq_newer(seq, rw->max_src_seq)) {
        rw->have_max = true;
        rw->max_src_seq = seq;
        trail_anchor(rw);
    }
    uint16_t s = (uint16_t)(seq + so);
    uint32_t t = ts + rw->ts_offset;
    if (!rw->started || sc_seq_newer(s, rw->last_seq)) {
        rw->last_seq = s;
        rw->last_ts = t;
        rw->last_us = now_us;
    }
    rw->started = true;
    *out_seq = s;
    *out_ts = t;
    return true;
}

bool sc_rewriter_unmap(const sc_rewriter *rw, uint16_t out_seq, uint16_t *src_seq,
                       uint16_t *pid_offset)
{
    if (!rw->anchored)
        return false;
    uint16_t so = rw->seq_offset, po = rw->pid_offset;
    if (rw->n_shifts) {
        /* The newest era whose first output seq is at or before out_seq. */
        bool found = false;
        for (int i = 0; i < rw->n_shifts && !found; i++) {
            const struct sc_rw_shift *e = shift_at(rw, i);
            uint16_t first_out = (uint16_t)(e->src_seq + e->seq_offset);
            if (out_seq == first_out || sc_seq_newer(out_seq, first_out)) {
                so = e->seq_offset;
                po = e->pid_offset;
                found = true;
            }
        }
        if (!found) {
            so = rw->base_seq_offset;
            po = rw->base_pid_offset;
            uint16_t s = (uint16_t)(out_seq - so);
            if (rw->base_limited && s != rw->base_from && !sc_seq_newer(s, rw->base_from))
                return false;
        }
    }
    uint16_t s = (uint16_t)(out_seq - so);
    if (s != rw->anchor_seq && !sc_seq_newer(s, rw->anchor_seq))
        return false;
    *src_seq = s;
    if (pid_offset)
        *pid_offset = po;
    return true;
}

bool sc_rewriter_unmap_seq(const sc_rewriter *rw, uint16_t out_seq, uint16_t *src_seq)
{
    return sc_rewriter_unmap(rw, out_seq, src_seq, NULL);
}

void sc_rewriter_vp8(sc_rewriter *rw, uint8_t *payload, const sc_vp8 *desc)
{
    if (desc->picture_id < 0)
        return;
    uint16_t mask = desc->picture_id_bits == 15 ? 0x7fff : 0x7f;
    uint16_t pid = (uint16_t)desc->picture_id;
    uint8_t tl0 = desc->tl0picidx >= 0 ? (uint8_t)desc->tl0picidx : 0;
    if (!rw->pid_anchored) {
        rw->pid_offset = (uint16_t)(rw->last_pid + 1 - pid);
        rw->tl0_offset = (uint8_t)(rw->last_tl0 + 1 - tl0);
        rw->pid_anchored = true;
        rw->cur_pid_offset = rw->pid_offset;
    }
    /* The offset of this packet's era (sc_rewriter_map found it): a late
     * packet keeps the picture id it would have had. */
    uint16_t out_pid = (uint16_t)((pid + rw->cur_pid_offset) & mask);
    uint8_t out_tl0 = (uint8_t)(tl0 + rw->tl0_offset);
    rw->last_pid = out_pid;
    rw->last_tl0 = out_tl0;
    sc_vp8_rewrite(payload, desc, out_pid, out_tl0);
}

struct sc_rtx_buffer {
    uint32_t max_age_ms;
    uint32_t n_slots;            /* a power of two, so seq % n_slots survives wrap */
    sc_media_pkt **slots;
};

sc_rtx_buffer *sc_rtx_buffer_new(uint32_t max_age_ms)
{
    sc_rtx_buffer *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->max_age_ms = max_age_ms;
    b->n_slots = SC_RTX_MIN_SLOTS;
    b->slots = calloc(b->n_slots, sizeof(*b->slots));
    if (!b->slots) {
        free(b);
        return NULL;
    }
    return b;
}

void sc_rtx_buffer_free(sc_rtx_buffer *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_slots; i++)
        sc_media_pkt_unref(b->slots[i]);
    free(b->slots);
    free(b);
}

uint32_t sc_rtx_buffer_slots(const sc_rtx_buffer *b)
{
    return b->n_slots;
}

/* Twice the slots, each packet moved to its new place (none collide: two
 * packets that shared a slot of 2n would have shared one of n). */
static bool grow(sc_rtx_buffer *b)
{
    uint32_t n = b->n_slots * 2;
    sc_media_pkt **slots = calloc(n, sizeof(*slots));
    if (!slots)
        return false;
    for (uint32_t i = 0; i < b->n_slots; i++)
        if (b->slots[i])
            slots[b->slots[i]->rtp.seq % n] = b->slots[i];
    free(b->slots);
    b->slots = slots;
    b->n_slots = n;
    return true;
}

void sc_rtx_buffer_put(sc_rtx_buffer *b, sc_media_pkt *pkt)
{
    sc_media_pkt *old = b->slots[pkt->rtp.seq % b->n_slots];
    /* Sized by time: a slot still holding a packet young enough to be
     * asked for means the stream sends more per max_age than we keep. */
    if (old && old->rtp.seq != pkt->rtp.seq && pkt->recv_ms - old->recv_ms < b->max_age_ms &&
        b->n_slots < SC_RTX_MAX_SLOTS)
        grow(b);
    sc_media_pkt **slot = &b->slots[pkt->rtp.seq % b->n_slots];
    sc_media_pkt_ref(pkt);
    sc_media_pkt_unref(*slot);
    *slot = pkt;
}

sc_media_pkt *sc_rtx_buffer_get(const sc_rtx_buffer *b, uint16_t seq, uint64_t now_ms)
{
    sc_media_pkt *p = b->slots[seq % b->n_slots];
    if (!p || p->rtp.seq != seq || now_ms - p->recv_ms > b->max_age_ms)
        return NULL;
    return p;
}
