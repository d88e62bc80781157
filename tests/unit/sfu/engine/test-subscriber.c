/* sfu/engine/subscriber.c: which simulcast layer a viewer gets of a slot,
 * from a constructed room mirror and viewer: layers ranked by keyframe
 * width, fixed choices with stand-ins for paused layers, the rendered-size
 * cap, the REMB-driven allocation with its hold margin, and round trips
 * measured from receiver reports that answer our sender reports. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "sfu/engine/private.h"
#include "sfu/proto/rtcp.h"
#include "tests/unit/sc_test.h"

/* Three layers in rid order 0, 1, 2 that are really 1280, 320 and 640
 * wide (ranked low to high: 1, 2, 0), each measured at a typical rate. */
static void three_layers(sc_slot_mirror *m)
{
    m->generation = 1;
    m->declared = m->known = m->available = 7;
    m->width[0] = 1280, m->width[1] = 320, m->width[2] = 640;
    m->bps[0] = 1500000, m->bps[1] = 150000, m->bps[2] = 500000;
}

typedef struct fixture {
    sc_room room;
    sc_binding where;
    sc_transport *sub;
} fixture;

/* A connected viewer of slot 0 (audio and video) on Auto. */
static void setup(fixture *f)
{
    memset(&f->room, 0, sizeof(f->room));
    three_layers(&f->room.mirrors[0]);
    sc_transport *t = calloc(1, sizeof(*t));
    t->kind = SC_SESSION_SUBSCRIBE;
    t->room = &f->room;
    t->selected = &f->where;
    for (int s = 0; s < SC_MAX_SLOTS; s++) {
        t->sub_video[s].map = t->sub_audio[s].map = -1;
        t->sub_video[s].current_layer = t->sub_video[s].target_layer = -1;
        t->sub_video[s].auto_cap = t->sub_video[s].bwe_cap = -1;
        t->sub_video[s].bwe_tid = 3;
    }
    t->sub_video[0].map = 1;
    t->sub_audio[0].map = 0;
    f->sub = t;
}

/* The viewer's REMB says `bps`; one allocation runs. */
static void remb(fixture *f, uint32_t bps)
{
    uint64_t now = sc_mono_ms();
    f->sub->remb_bps = bps;
    f->sub->remb_ms = now;
    f->sub->last_alloc_ms = 0;
    sc__sub_fast_tick(f->sub, now);
}

static int choose(const fixture *f)
{
    return sc__sub_choose_layer(f->sub, &f->room.mirrors[0], &f->sub->sub_video[0]);
}

static void test_rank(void)
{
    sc_slot_mirror m = {0};
    three_layers(&m);
    int order[SC_MAX_LAYERS];
    SC_CHECK_INT(sc__sub_rank_mask(&m, 7, order), 3);
    SC_CHECK_INT(order[0], 1);
    SC_CHECK_INT(order[1], 2);
    SC_CHECK_INT(order[2], 0);
    SC_CHECK_INT(sc__sub_rank_mask(&m, 5, order), 2);
    SC_CHECK_INT(order[0], 2);
    SC_CHECK_INT(order[1], 0);

    /* Before any keyframe: the publisher's rid order. */
    sc_slot_mirror fresh = {.available = 7};
    SC_CHECK_INT(sc__sub_rank_mask(&fresh, 7, order), 3);
    SC_CHECK_INT(order[0], 0);
    SC_CHECK_INT(order[2], 2);
}

static void test_viewport(void)
{
    sc_slot_mirror m = {0};
    three_layers(&m);
    int order[SC_MAX_LAYERS];
    int n = sc__sub_rank_mask(&m, 7, order);
    SC_CHECK_INT(sc__sub_viewport_rank(&m, order, n, 0), 2);    /* no limit */
    SC_CHECK_INT(sc__sub_viewport_rank(&m, order, n, 350), 0);  /* 320 is about 350 */
    SC_CHECK_INT(sc__sub_viewport_rank(&m, order, n, 400), 1);  /* 320 is too narrow */
    SC_CHECK_INT(sc__sub_viewport_rank(&m, order, n, 700), 1);
    SC_CHECK_INT(sc__sub_viewport_rank(&m, order, n, 1400), 2);
    SC_CHECK_INT(sc__sub_viewport_rank(&m, order, n, 4000), 2); /* the widest there is */
}

static void test_fixed_choice(void)
{
    fixture f;
    setup(&f);
    sc_slot_mirror *m = &f.room.mirrors[0];
    sc__sub_set_layer(f.sub, 0, SC_CHOICE_LOW);
    SC_CHECK_INT(choose(&f), 1);
    sc__sub_set_layer(f.sub, 0, SC_CHOICE_MEDIUM);
    SC_CHECK_INT(choose(&f), 2);
    sc__sub_set_layer(f.sub, 0, SC_CHOICE_HIGH);
    SC_CHECK_INT(choose(&f), 0);

    /* The top layer paused (dynacast): the nearest below stands in. */
    m->available = 1 << 1 | 1 << 2;
    SC_CHECK_INT(choose(&f), 2);
    /* The bottom one paused: Low takes the nearest above. */
    m->available = 1 << 0 | 1 << 2;
    sc__sub_set_layer(f.sub, 0, SC_CHOICE_LOW);
    SC_CHECK_INT(choose(&f), 2);
    /* Nothing flowing. */
    m->available = 0;
    SC_CHECK_INT(choose(&f), -1);
    free(f.sub);
}

static void test_auto_without_estimate(void)
{
    fixture f;
    setup(&f);
    SC_CHECK_INT(choose(&f), 0); /* the widest */
    sc__sub_set_viewport(f.sub, 0, 600);
    SC_CHECK_INT(choose(&f), 2);
    sc__sub_set_viewport(f.sub, 0, 0);
    f.sub->sub_video[0].auto_cap = 0; /* lossy receiver reports stepped down */
    SC_CHECK_INT(choose(&f), 1);
    free(f.sub);
}

static void test_allocation(void)
{
    fixture f;
    setup(&f);
    sc_sub_track *st = &f.sub->sub_video[0];

    /* 700 kbit/s less 40 for audio: 150 + 350 more fits, 1,000 more not. */
    remb(&f, 700000);
    SC_CHECK_INT(st->bwe_cap, 1);
    SC_CHECK_INT(st->bwe_tid, 3);
    SC_CHECK_INT(choose(&f), 2);

    /* 480: the 640-wide layer is kept (3/4 of its rate is enough to hold
     * it) ... */
    remb(&f, 480000);
    SC_CHECK_INT(st->bwe_cap, 1);
    /* ... but not reached by a viewer that does not have it yet. */
    st->bwe_cap = -1;
    remb(&f, 480000);
    SC_CHECK_INT(st->bwe_cap, 0);
    SC_CHECK_INT(choose(&f), 1);

    /* Plenty, but the tile is 320 wide: no wider layer is planned. */
    sc__sub_set_viewport(f.sub, 0, 320);
    remb(&f, 5000000);
    SC_CHECK_INT(st->bwe_cap, 0);
    SC_CHECK_INT(choose(&f), 1);
    sc__sub_set_viewport(f.sub, 0, 0);
    remb(&f, 5000000);
    SC_CHECK_INT(st->bwe_cap, 2);
    SC_CHECK_INT(choose(&f), 0);

    /* A fixed choice is not shaved by the estimate. */
    sc__sub_set_layer(f.sub, 0, SC_CHOICE_HIGH);
    remb(&f, 100000);
    SC_CHECK_INT(choose(&f), 0);
    SC_CHECK_INT(st->bwe_tid, 3);

    /* A REMB older than SC_REMB_FRESH_MS is no estimate: Auto falls back
     * to the loss-driven cap (none here). */
    sc__sub_set_layer(f.sub, 0, SC_CHOICE_AUTO);
    remb(&f, 100000);
    SC_CHECK_INT(choose(&f), 1);
    f.sub->remb_ms = sc_mono_ms() - SC_REMB_FRESH_MS - 1;
    SC_CHECK_INT(choose(&f), 0);
    free(f.sub);
}

/* The viewer's receiver report with one block for ssrc. */
static void receiver_report(fixture *f, uint32_t ssrc, uint32_t lsr, uint32_t dlsr)
{
    uint8_t buf[64];
    sc_rtcp_report_block rb = {.ssrc = ssrc, .lsr = lsr, .dlsr = dlsr};
    int n = sc_rtcp_build_rr(buf, sizeof(buf), 0x1234, &rb, 1);
    SC_CHECK(n > 0);
    sc__sub_on_rtcp(f->sub, &(sc_rtcp_pkt){.pt = SC_RTCP_RR, .count = 1, .data = buf,
                                          .len = (size_t)n});
}

static int rtt_bucket(const sc_worker *w)
{
    for (int i = 0; i <= SC_HIST_BOUNDS_MAX; i++)
        if (w->stats.rtt.bucket[i])
            return i;
    return -1;
}

static void test_rtt(void)
{
    fixture f;
    setup(&f);
    sc_worker *w = calloc(1, sizeof(*w));
    f.sub->w = w;
    f.sub->neg.tracks[0].local_ssrc = 111; /* audio */
    f.sub->neg.tracks[1].local_ssrc = 222; /* video */
    uint64_t ntp = 0x0123456789abcdefull, now = sc_mono_us();
    uint32_t mid = (uint32_t)(ntp >> 16);

    /* Sent 40 ms ago, held 10 ms by the viewer (655 / 65536 s): about 30 ms. */
    sc__sub_sr_sent(&f.sub->sub_video[0], ntp, now - 40000);
    receiver_report(&f, 222, mid, 655);
    SC_CHECK_INT(sc_hist_count(&w->stats.rtt), 1);
    SC_CHECK_INT(rtt_bucket(w), 5); /* 25 ms < rtt <= 50 ms */
    SC_CHECK(w->stats.rtt.sum_us >= 30000 && w->stats.rtt.sum_us < 45000);

    /* No LSR (no SR received yet), an LSR we never sent, another track's
     * SR: nothing measured. */
    memset(&w->stats.rtt, 0, sizeof(w->stats.rtt));
    receiver_report(&f, 222, 0, 0);
    receiver_report(&f, 222, mid + 1, 0);
    receiver_report(&f, 111, mid, 0);
    SC_CHECK_INT(sc_hist_count(&w->stats.rtt), 0);

    /* The report before the last one is still answered; two before, not. */
    sc__sub_sr_sent(&f.sub->sub_audio[0], ntp + (1ull << 16), now - 2000000);
    sc__sub_sr_sent(&f.sub->sub_audio[0], ntp + (2ull << 16), now - 1000000);
    sc__sub_sr_sent(&f.sub->sub_audio[0], ntp + (3ull << 16), now);
    receiver_report(&f, 111, mid + 1, 0);
    SC_CHECK_INT(sc_hist_count(&w->stats.rtt), 0);
    receiver_report(&f, 111, mid + 2, 65536); /* sent 1 s ago, held 1 s */
    SC_CHECK_INT(sc_hist_count(&w->stats.rtt), 1);
    SC_CHECK_INT(rtt_bucket(w), 0);
    /* A DLSR longer than the time since (clocks' granularity): 0, not a wrap. */
    receiver_report(&f, 111, mid + 3, 65536);
    SC_CHECK_INT(sc_hist_count(&w->stats.rtt), 2);
    SC_CHECK(w->stats.rtt.sum_us < 100000);
    free(w);
    free(f.sub);
}

int main(void)
{
    test_rank();
    test_viewport();
    test_fixed_choice();
    test_auto_without_estimate();
    test_allocation();
    test_rtt();
    SC_TEST_END();
}
