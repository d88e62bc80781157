/* A viewer's downlink estimate from transport-wide congestion control
 * feedback (the receiver tells us when each packet arrived), in the manner
 * of Google Congestion Control: a delay-gradient trend detects a queue
 * building before anything is lost; a loss term backs off on policed links;
 * additive-multiplicative rate control moves the estimate.  Because a
 * viewer on the low layer never sends enough to show that more would fit,
 * the estimator also asks for short padding probes toward the rate the next
 * layer needs.
 *
 * Pure state, no I/O, no clock of its own: the caller passes times.  One
 * per viewer transport that negotiated transport-cc (about 5 KiB). */
#ifndef SC_BWE_H
#define SC_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/proto/rtcp.h"

#define SC_BWE_HISTORY 512          /* sent packets remembered (a few seconds) */
#define SC_BWE_TREND_POINTS 20      /* delay samples in the trend line */
#define SC_BWE_START_BPS 1000000    /* before any feedback */
#define SC_BWE_MIN_BPS 50000
#define SC_BWE_MAX_BPS 20000000
#define SC_BWE_PROBE_MS 1200        /* one probe's length */

typedef enum sc_bwe_usage {
    SC_BWE_NORMAL,
    SC_BWE_OVERUSE,     /* a queue is building: send less */
    SC_BWE_UNDERUSE,    /* a queue is draining: hold */
} sc_bwe_usage;

typedef struct sc_bwe_sent {
    uint32_t send_us;               /* low 32 bits of the send time */
    uint16_t seq;
    uint16_t size;                  /* bytes on the wire, 0 = slot unused */
} sc_bwe_sent;

typedef struct sc_bwe {
    sc_bwe_sent hist[SC_BWE_HISTORY];
    uint16_t next_seq;
    bool have_feedback;

    uint32_t estimate_bps;
    uint32_t acked_bps;             /* what the receiver got, smoothed */
    uint32_t sent_bps;              /* what we sent (media + padding), smoothed */

    /* rate windows */
    uint64_t acked_bytes;
    int64_t acked_first_us, acked_last_us;  /* arrival times (receiver clock) */
    uint64_t sent_bytes, sent_window_us;

    /* delay-gradient trend */
    bool group_open;
    uint32_t group_first_send_us, group_last_send_us;
    int64_t group_arrival_us;
    bool have_prev_group;
    uint32_t prev_send_us;
    int64_t prev_arrival_us;
    int64_t first_arrival_us;
    double acc_delay_ms, smoothed_ms;
    double pts_t[SC_BWE_TREND_POINTS], pts_d[SC_BWE_TREND_POINTS];
    int n_pts, pt_next, n_deltas;
    double trend;                   /* modified trend, ms */
    int overuse_count;
    sc_bwe_usage usage;

    /* loss over the current window */
    uint32_t loss_received, loss_lost;
    uint64_t loss_window_us;
    double loss;                    /* last window's fraction */
    bool loss_cut;                  /* this window's loss has cut the estimate */

    uint64_t last_update_us, last_decrease_us, normal_since_us;

    /* probing */
    uint32_t want_bps;              /* what the next layer up needs */
    bool probing;
    uint64_t probe_end_us, next_probe_us, probe_backoff_us;
    uint32_t probe_target_bps;
    uint64_t probe_bytes_due;       /* budget: target accrued minus bytes sent */
    uint64_t pad_tick_us;
    uint32_t probes, probes_ok;
} sc_bwe;

void sc_bwe_init(sc_bwe *b, uint64_t now_us);

/* A packet of `bytes` goes out now: returns its transport-wide sequence
 * number (to write into the header extension). */
uint16_t sc_bwe_on_send(sc_bwe *b, size_t bytes, uint64_t now_us);

/* Feedback arrived: arrival times as sc_rtcp_parse_twcc gave them. */
void sc_bwe_on_feedback(sc_bwe *b, const sc_twcc_fb *fb, const int64_t *arrival_us,
                        uint64_t now_us);

/* The allocator's wish: the total rate that would let the viewer move up
 * (0: nothing to move up to).  Probes run only while want > estimate. */
void sc_bwe_set_want(sc_bwe *b, uint32_t want_bps);

/* Called every few tens of ms: how many bytes of padding to send now (0
 * unless a probe is running).  Starts and ends probes. */
uint32_t sc_bwe_padding(sc_bwe *b, uint64_t now_us);

uint32_t sc_bwe_estimate(const sc_bwe *b);

#endif
