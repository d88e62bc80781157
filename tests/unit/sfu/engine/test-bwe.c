/* Unit tests for sfu/engine/bwe.c against a simulated path: a bottleneck link with
 * a FIFO queue (and, for a policed link, random loss), feedback every
 * 100 ms the way a browser sends transport-cc, on a receiver clock that has
 * nothing to do with ours. */
#include "sfu/engine/bwe.h"

#include "tests/unit/sc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PKT 1200
#define RECV_CLOCK_OFFSET 987654321ll

typedef struct sim {
    sc_bwe bwe;
    uint64_t now_us;
    double capacity_bps;
    int loss_pct;                 /* random loss on the link (policer) */
    double link_free_us;          /* when the link finishes what it holds */
    int64_t arrival[65536];       /* by transport seq */
    bool sent[65536];
    uint16_t fb_next;
    bool fb_started;
    uint16_t last_seq;
    double media_bps;             /* what the "encoder" sends */
    double media_budget;
} sim;

static void sim_send(sim *s, size_t bytes)
{
    uint16_t seq = sc_bwe_on_send(&s->bwe, bytes, s->now_us);
    if (!s->fb_started) {
        s->fb_next = seq;
        s->fb_started = true;
    }
    s->last_seq = seq;
    s->sent[seq] = true;
    if (s->loss_pct && rand() % 100 < s->loss_pct) {
        s->arrival[seq] = SC_TWCC_LOST;
        return;
    }
    double start = s->link_free_us > (double)s->now_us ? s->link_free_us : (double)s->now_us;
    s->link_free_us = start + (double)bytes * 8e6 / s->capacity_bps;
    s->arrival[seq] = (int64_t)s->link_free_us + 10000; /* 10 ms propagation */
}

static void sim_feedback(sim *s)
{
    if (!s->fb_started)
        return;
    int64_t at[1024];
    int n = 0;
    uint16_t base = s->fb_next;
    /* Everything sent up to the newest packet that has arrived by now. */
    int upto = -1;
    for (int i = 0; i < 1024; i++) {
        uint16_t q = (uint16_t)(base + i);
        if (!s->sent[q])
            break;
        if (s->arrival[q] != SC_TWCC_LOST && s->arrival[q] <= (int64_t)s->now_us)
            upto = i;
        if (s->arrival[q] != SC_TWCC_LOST && s->arrival[q] > (int64_t)s->now_us)
            break;
    }
    if (upto < 0)
        return;
    for (int i = 0; i <= upto; i++) {
        uint16_t q = (uint16_t)(base + i);
        at[n++] = s->arrival[q] == SC_TWCC_LOST ? SC_TWCC_LOST : s->arrival[q] + RECV_CLOCK_OFFSET;
        s->sent[q] = false;
    }
    /* Through the wire format, as the browser's feedback would come. */
    uint8_t buf[4096];
    int len = sc_rtcp_build_twcc(buf, sizeof(buf), 1, 2, base, 0, at, n);
    SC_CHECK(len > 0);
    const uint8_t *p = buf;
    size_t left = (size_t)len;
    sc_rtcp_pkt pkt;
    sc_twcc_fb fb;
    int64_t back[1024];
    if (sc_rtcp_next(&p, &left, &pkt) != 1 || sc_rtcp_parse_twcc(&pkt, &fb, back, 1024) < 0) {
        SC_CHECK(0);
        return;
    }
    sc_bwe_on_feedback(&s->bwe, &fb, back, s->now_us);
    s->fb_next = (uint16_t)(base + n);
}

/* Run for ms milliseconds: media at media_bps, padding when the estimator
 * asks (every 20 ms, like the worker's tick), feedback every 100 ms. */
static void sim_run(sim *s, int ms)
{
    for (int t = 0; t < ms; t++) {
        s->now_us += 1000;
        s->media_budget += s->media_bps / 8000.0;
        while (s->media_budget >= PKT) {
            sim_send(s, PKT);
            s->media_budget -= PKT;
        }
        if (s->now_us % 20000 == 0) {
            uint32_t pad = sc_bwe_padding(&s->bwe, s->now_us);
            while (pad >= 200) {
                size_t b = pad > PKT ? PKT : pad;
                sim_send(s, b);
                pad -= (uint32_t)b;
            }
        }
        if (s->now_us % 100000 == 0)
            sim_feedback(s);
    }
}

static sim *sim_new(double capacity, double media)
{
    sim *s = calloc(1, sizeof(*s));
    s->now_us = 5000000;
    s->capacity_bps = capacity;
    s->media_bps = media;
    sc_bwe_init(&s->bwe, s->now_us);
    return s;
}

/* A wide path: the viewer on a 500 kbps layer, the next one needs 2 Mbps:
 * probes show it fits and the estimate climbs to it. */
static void test_probe_up(void)
{
    sim *s = sim_new(5e6, 500e3);
    sc_bwe_set_want(&s->bwe, 2000000);
    sim_run(s, 12000);
    printf("probe up: estimate %u bps after 12 s, %u probes (%u ok)\n",
           sc_bwe_estimate(&s->bwe), s->bwe.probes, s->bwe.probes_ok);
    SC_CHECK(sc_bwe_estimate(&s->bwe) >= 2000000);
    SC_CHECK(s->bwe.probes_ok >= 1);
    free(s);
}

/* A narrow path: 600 kbps while 1.5 Mbps is sent.  The queue grows; the
 * delay trend sees it and the estimate falls under the capacity's
 * neighbourhood without a single loss. */
static void test_overuse_down(void)
{
    sim *s = sim_new(600e3, 1500e3);
    sim_run(s, 4000);
    printf("overuse: estimate %u bps after 4 s on a 600 kbps link, trend %.1f\n",
           sc_bwe_estimate(&s->bwe), s->bwe.trend);
    SC_CHECK(sc_bwe_estimate(&s->bwe) < 700000);
    SC_CHECK(sc_bwe_estimate(&s->bwe) >= SC_BWE_MIN_BPS);
    /* The sender follows the estimate: the queue drains, the estimate
     * settles near the capacity instead of collapsing. */
    for (int i = 0; i < 20; i++) {
        s->media_bps = sc_bwe_estimate(&s->bwe);
        sim_run(s, 500);
    }
    printf("overuse: settled at %u bps\n", sc_bwe_estimate(&s->bwe));
    SC_CHECK(sc_bwe_estimate(&s->bwe) > 250000);
    SC_CHECK(sc_bwe_estimate(&s->bwe) < 900000);
    free(s);
}

/* A policer drops 25 % without queueing: the loss term cuts. */
static void test_loss_down(void)
{
    srand(7);
    sim *s = sim_new(50e6, 1000e3);
    s->loss_pct = 25;
    sim_run(s, 4000);
    printf("loss: estimate %u bps after 4 s at 25 %% loss\n", sc_bwe_estimate(&s->bwe));
    SC_CHECK(sc_bwe_estimate(&s->bwe) < 650000);
    /* The loss stops: the estimate grows again from what gets through. */
    s->loss_pct = 0;
    s->media_bps = 1000e3;
    uint32_t low = sc_bwe_estimate(&s->bwe);
    sim_run(s, 3000);
    printf("loss: %u bps 3 s after the loss stopped\n", sc_bwe_estimate(&s->bwe));
    SC_CHECK(sc_bwe_estimate(&s->bwe) > low);
    free(s);
}

/* A probe toward a rate the path cannot carry fails, backs off, and leaves
 * the estimate under the capacity. */
static void test_probe_fails(void)
{
    sim *s = sim_new(900e3, 500e3);
    sc_bwe_set_want(&s->bwe, 2500000);
    sim_run(s, 20000);
    printf("probe fails: estimate %u bps, %u probes (%u ok), backoff %llu ms\n",
           sc_bwe_estimate(&s->bwe), s->bwe.probes, s->bwe.probes_ok,
           (unsigned long long)(s->bwe.probe_backoff_us / 1000));
    SC_CHECK(s->bwe.probes >= 1);
    SC_CHECK(sc_bwe_estimate(&s->bwe) < 1400000);
    SC_CHECK(s->bwe.probes <= 4); /* backed off, not probing every second */
    free(s);
}

/* Garbage feedback (unknown sequence numbers) changes nothing. */
static void test_unknown_feedback(void)
{
    sc_bwe b;
    sc_bwe_init(&b, 1000000);
    for (int i = 0; i < 10; i++)
        sc_bwe_on_send(&b, 1000, 1000000 + (uint64_t)i * 1000);
    sc_twcc_fb fb = {.base_seq = 30000, .count = 3};
    int64_t at[3] = {1, 2, 3};
    sc_bwe_on_feedback(&b, &fb, at, 1100000);
    SC_CHECK_INT(b.loss_received + b.loss_lost, 0);
    SC_CHECK_INT((int)b.acked_bps, 0);
}

int main(void)
{
    test_probe_up();
    test_overuse_down();
    test_loss_down();
    test_probe_fails();
    test_unknown_feedback();
    SC_TEST_END();
}
