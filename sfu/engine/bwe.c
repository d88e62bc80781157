#include "sfu/engine/bwe.h"

#include <string.h>

#define GROUP_US 5000               /* packets sent within 5 ms form one group */
#define RATE_WINDOW_US 250000       /* acked / sent rate windows */
#define LOSS_WINDOW_US 1000000
#define THRESHOLD_MS 12.5           /* modified trend above this: overuse */
#define TREND_GAIN 4.0
#define SMOOTHING 0.9
#define DECREASE_FACTOR 0.85
#define DECREASE_EVERY_US 300000    /* about one round trip between cuts */
#define INCREASE_PER_S 0.08
#define PROBE_FIRST_US 1000000
#define PROBE_BACKOFF_MIN_US 4000000
#define PROBE_BACKOFF_MAX_US 30000000
#define PROBE_CALM_US 2000000       /* no overuse for this long before probing */

static uint32_t clamp_bps(double v)
{
    if (v < SC_BWE_MIN_BPS)
        return SC_BWE_MIN_BPS;
    if (v > SC_BWE_MAX_BPS)
        return SC_BWE_MAX_BPS;
    return (uint32_t)v;
}

void sc_bwe_init(sc_bwe *b, uint64_t now_us)
{
    memset(b, 0, sizeof(*b));
    b->estimate_bps = SC_BWE_START_BPS;
    b->last_update_us = now_us;
    b->next_probe_us = now_us + PROBE_FIRST_US;
    b->probe_backoff_us = PROBE_BACKOFF_MIN_US;
    b->sent_window_us = now_us;
    b->loss_window_us = now_us;
}

static uint32_t smooth(uint32_t old, double sample)
{
    return old ? (uint32_t)(0.5 * old + 0.5 * sample) : (uint32_t)sample;
}

uint16_t sc_bwe_on_send(sc_bwe *b, size_t bytes, uint64_t now_us)
{
    uint16_t seq = b->next_seq++;
    sc_bwe_sent *h = &b->hist[seq % SC_BWE_HISTORY];
    h->seq = seq;
    h->send_us = (uint32_t)now_us;
    h->size = bytes > 0xffff ? 0xffff : (uint16_t)(bytes ? bytes : 1);
    b->sent_bytes += bytes;
    if (b->probing)
        b->probe_bytes_due = b->probe_bytes_due > bytes ? b->probe_bytes_due - bytes : 0;
    if (now_us - b->sent_window_us >= RATE_WINDOW_US) {
        b->sent_bps = smooth(b->sent_bps,
                             (double)b->sent_bytes * 8e6 / (double)(now_us - b->sent_window_us));
        b->sent_bytes = 0;
        b->sent_window_us = now_us;
    }
    return seq;
}

/* Least-squares slope of the smoothed accumulated delay over arrival time:
 * positive when each group takes longer to arrive than it took to send,
 * i.e. a queue grows somewhere on the path. */
static double trend_slope(const sc_bwe *b)
{
    int n = b->n_pts;
    double mt = 0, md = 0;
    for (int i = 0; i < n; i++) {
        mt += b->pts_t[i];
        md += b->pts_d[i];
    }
    mt /= n;
    md /= n;
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        num += (b->pts_t[i] - mt) * (b->pts_d[i] - md);
        den += (b->pts_t[i] - mt) * (b->pts_t[i] - mt);
    }
    return den > 0 ? num / den : 0;
}

static void detect(sc_bwe *b)
{
    if (b->trend > THRESHOLD_MS) {
        if (++b->overuse_count >= 2)
            b->usage = SC_BWE_OVERUSE;
    } else if (b->trend < -THRESHOLD_MS) {
        b->overuse_count = 0;
        b->usage = SC_BWE_UNDERUSE;
    } else {
        b->overuse_count = 0;
        b->usage = SC_BWE_NORMAL;
    }
}

/* One finished group: its last send time and its (latest) arrival. */
static void on_group(sc_bwe *b, uint32_t send_us, int64_t arrival_us)
{
    if (!b->have_prev_group) {
        b->have_prev_group = true;
        b->first_arrival_us = arrival_us;
        b->prev_send_us = send_us;
        b->prev_arrival_us = arrival_us;
        return;
    }
    int32_t send_delta = (int32_t)(send_us - b->prev_send_us);
    int64_t recv_delta = arrival_us - b->prev_arrival_us;
    if (send_delta <= 0 || recv_delta < 0)
        return; /* reordered: not a delay sample */
    b->prev_send_us = send_us;
    b->prev_arrival_us = arrival_us;
    b->acc_delay_ms += (double)(recv_delta - send_delta) / 1000.0;
    b->smoothed_ms = SMOOTHING * b->smoothed_ms + (1 - SMOOTHING) * b->acc_delay_ms;
    int i = b->pt_next;
    b->pts_t[i] = (double)(arrival_us - b->first_arrival_us) / 1000.0;
    b->pts_d[i] = b->smoothed_ms;
    b->pt_next = (i + 1) % SC_BWE_TREND_POINTS;
    if (b->n_pts < SC_BWE_TREND_POINTS)
        b->n_pts++;
    if (b->n_deltas < 60)
        b->n_deltas++;
    if (b->n_pts >= 5) {
        b->trend = trend_slope(b) * b->n_deltas * TREND_GAIN;
        detect(b);
    }
}

static void on_received(sc_bwe *b, const sc_bwe_sent *h, int64_t arrival_us)
{
    /* acked rate over arrival-time windows */
    if (!b->acked_bytes && !b->acked_first_us)
        b->acked_first_us = arrival_us;
    b->acked_bytes += h->size;
    if (arrival_us > b->acked_last_us)
        b->acked_last_us = arrival_us;
    if (b->acked_last_us - b->acked_first_us >= RATE_WINDOW_US) {
        b->acked_bps = smooth(b->acked_bps, (double)b->acked_bytes * 8e6 /
                                                (double)(b->acked_last_us - b->acked_first_us));
        b->acked_bytes = 0;
        b->acked_first_us = b->acked_last_us;
    }
    /* delay groups, in send order */
    if (b->group_open && (int32_t)(h->send_us - b->group_first_send_us) <= GROUP_US &&
        (int32_t)(h->send_us - b->group_first_send_us) >= 0) {
        b->group_last_send_us = h->send_us;
        if (arrival_us > b->group_arrival_us)
            b->group_arrival_us = arrival_us;
        return;
    }
    if (b->group_open)
        on_group(b, b->group_last_send_us, b->group_arrival_us);
    b->group_open = true;
    b->group_first_send_us = b->group_last_send_us = h->send_us;
    b->group_arrival_us = arrival_us;
}

static void end_probe(sc_bwe *b, bool ok, uint64_t now_us)
{
    b->probing = false;
    b->probe_bytes_due = 0;
    if (ok) {
        b->probes_ok++;
        b->probe_backoff_us = PROBE_BACKOFF_MIN_US;
        b->next_probe_us = now_us + PROBE_BACKOFF_MIN_US / 2;
    } else {
        b->next_probe_us = now_us + b->probe_backoff_us;
        b->probe_backoff_us *= 2;
        if (b->probe_backoff_us > PROBE_BACKOFF_MAX_US)
            b->probe_backoff_us = PROBE_BACKOFF_MAX_US;
    }
}

static void update_rate(sc_bwe *b, uint64_t now_us)
{
    double dt = (double)(now_us - b->last_update_us) / 1e6;
    if (dt > 1.0)
        dt = 1.0;
    b->last_update_us = now_us;
    bool may_cut = now_us - b->last_decrease_us >= DECREASE_EVERY_US;
    if (b->usage == SC_BWE_OVERUSE) {
        b->normal_since_us = 0;
        if (may_cut) {
            /* Just under what got through; a cut never compounds on an
             * estimate already below that (the queue needs time to drain). */
            double cut = DECREASE_FACTOR * (b->acked_bps ? b->acked_bps : b->estimate_bps);
            if (cut < b->estimate_bps)
                b->estimate_bps = clamp_bps(cut);
            b->last_decrease_us = now_us;
        }
        if (b->probing)
            end_probe(b, false, now_us);
        return;
    }
    if (b->loss > 0.10) {
        /* Lossy: cut once per measured window and grow not at all until a
         * window comes back clean (what got through says nothing then). */
        b->normal_since_us = 0;
        if (may_cut && !b->loss_cut) {
            b->estimate_bps = clamp_bps(b->estimate_bps * (1.0 - 0.5 * b->loss));
            b->last_decrease_us = now_us;
            b->loss_cut = true;
        }
        if (b->probing)
            end_probe(b, false, now_us);
        return;
    }
    if (!b->normal_since_us)
        b->normal_since_us = now_us;
    if (b->usage != SC_BWE_NORMAL || b->loss > 0.02)
        return; /* draining or a little loss: hold */
    double up = b->estimate_bps * (1.0 + INCREASE_PER_S * dt);
    /* What arrived without a queue building is a rate the path carries. */
    if (b->acked_bps > up)
        up = b->acked_bps;
    /* Never more than half again what actually got through: the estimate
     * must be earned (probes are how it grows past that). */
    if (b->acked_bps && up > 1.5 * b->acked_bps + 10000)
        up = 1.5 * b->acked_bps + 10000;
    if (up > b->estimate_bps)
        b->estimate_bps = clamp_bps(up);
}

void sc_bwe_on_feedback(sc_bwe *b, const sc_twcc_fb *fb, const int64_t *arrival_us,
                        uint64_t now_us)
{
    b->have_feedback = true;
    for (int i = 0; i < fb->count; i++) {
        uint16_t seq = (uint16_t)(fb->base_seq + i);
        sc_bwe_sent *h = &b->hist[seq % SC_BWE_HISTORY];
        if (h->seq != seq || !h->size)
            continue; /* too old, or reported already */
        if (arrival_us[i] == SC_TWCC_LOST) {
            b->loss_lost++;
            continue;
        }
        b->loss_received++;
        on_received(b, h, arrival_us[i]);
        h->size = 0;
    }
    uint32_t total = b->loss_received + b->loss_lost;
    if (now_us - b->loss_window_us >= LOSS_WINDOW_US && total >= 20) {
        b->loss = (double)b->loss_lost / total;
        b->loss_cut = false;
        b->loss_received = b->loss_lost = 0;
        b->loss_window_us = now_us;
    }
    update_rate(b, now_us);
}

void sc_bwe_set_want(sc_bwe *b, uint32_t want_bps)
{
    b->want_bps = want_bps;
}

uint32_t sc_bwe_padding(sc_bwe *b, uint64_t now_us)
{
    if (b->probing) {
        if (now_us >= b->probe_end_us) {
            /* The probe held (no overuse or loss ended it early): what got
             * through during it is a rate the path carries. */
            bool ok = b->acked_bps >= b->probe_target_bps * 8 / 10;
            if (ok) {
                uint32_t got = b->acked_bps < b->probe_target_bps ? b->acked_bps
                                                                  : b->probe_target_bps;
                if (got > b->estimate_bps)
                    b->estimate_bps = clamp_bps(got);
            }
            end_probe(b, ok, now_us);
            return 0;
        }
        /* A budget: the target rate accrues, everything sent (media and
         * padding, see sc_bwe_on_send) is taken off; capped at 100 ms worth
         * so a stalled tick does not become a burst. */
        uint64_t dt = now_us - b->pad_tick_us;
        b->pad_tick_us = now_us;
        b->probe_bytes_due += (uint64_t)b->probe_target_bps * dt / 8000000u;
        uint64_t cap = b->probe_target_bps / 80u;
        if (b->probe_bytes_due > cap)
            b->probe_bytes_due = cap;
        return (uint32_t)b->probe_bytes_due;
    }
    if (!b->have_feedback || b->want_bps <= b->estimate_bps || now_us < b->next_probe_us ||
        b->usage != SC_BWE_NORMAL || b->loss > 0.02 || !b->normal_since_us ||
        now_us - b->normal_since_us < PROBE_CALM_US)
        return 0;
    b->probing = true;
    b->probes++;
    b->probe_target_bps = clamp_bps(b->want_bps * 1.1);
    b->probe_end_us = now_us + SC_BWE_PROBE_MS * 1000ull;
    b->probe_bytes_due = 0;
    b->pad_tick_us = now_us;
    return 0;
}

uint32_t sc_bwe_estimate(const sc_bwe *b)
{
    return b->estimate_bps;
}
