/* Viewer churn for loadgen --churn: the schedule and the tallies. */
#include "churn.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lg_churn {
    int viewers, first_churner, pool;
    int64_t start_us, stop_us, period_us; /* one slot leaves every period_us */
    uint64_t due_count;                   /* slots handed out so far */
    /* main thread */
    atomic_int left, deletes_ok, posted, post_failed;
    /* viewer thread */
    int rejoins_with_media, rejoins_without_media;
    uint64_t retired_expected, retired_lost;
    int retired_stalled;                  /* retired peers that once stalled */
    int64_t retired_max_gap_us;
    int64_t *join_us;                     /* rejoins' POST -> first media */
    int n_join, cap_join;
};

lg_churn *lg_churn_new(int viewers, double pct_per_min)
{
    lg_churn *c;
    int pool = (int)lround(viewers * pct_per_min / 100.0);

    if (!(pct_per_min > 0 && pct_per_min <= 100) || viewers < 1)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->viewers = viewers;
    c->pool = pool < 1 ? 1 : pool;
    c->first_churner = viewers - c->pool;
    c->period_us = 60000000 / c->pool;
    return c;
}

void lg_churn_free(lg_churn *c)
{
    if (!c)
        return;
    free(c->join_us);
    free(c);
}

int lg_churn_first_churner(const lg_churn *c)
{
    return c->first_churner;
}

void lg_churn_start(lg_churn *c, int64_t start_us, int64_t stop_us)
{
    c->start_us = start_us;
    c->stop_us = stop_us;
    c->due_count = 0;
}

int lg_churn_due(lg_churn *c, int64_t now_us, int64_t *next_us)
{
    int64_t due;

    if (!c->start_us)
        return -1;
    due = c->start_us + (int64_t)c->due_count * c->period_us;
    if (due >= c->stop_us)
        return -1;
    if (now_us < due) {
        if (due < *next_us)
            *next_us = due;
        return -1;
    }
    return c->first_churner + (int)(c->due_count++ % (uint64_t)c->pool);
}

void lg_churn_left(lg_churn *c, int delete_status)
{
    atomic_fetch_add(&c->left, 1);
    if (delete_status == 200)
        atomic_fetch_add(&c->deletes_ok, 1);
}

void lg_churn_posted(lg_churn *c, bool ok)
{
    atomic_fetch_add(ok ? &c->posted : &c->post_failed, 1);
}

void lg_churn_first_media(lg_churn *c, const lg_peer *p)
{
    if (c->n_join == c->cap_join) {
        int cap = c->cap_join ? 2 * c->cap_join : 1024;
        int64_t *v = realloc(c->join_us, (size_t)cap * sizeof(*v));
        if (!v)
            return;
        c->join_us = v;
        c->cap_join = cap;
    }
    c->join_us[c->n_join++] = p->t_first_media_us - p->t_request_us;
    c->rejoins_with_media++;
}

void lg_churn_retire(lg_churn *c, const lg_peer *p)
{
    uint64_t e, l = lg_peer_lost(p, &e);

    c->retired_expected += e;
    c->retired_lost += l;
    c->retired_stalled += p->max_media_gap_us > LG_STALL_US;
    if (p->max_media_gap_us > c->retired_max_gap_us)
        c->retired_max_gap_us = p->max_media_gap_us;
    /* A rejoin that was POSTed (it has a session) but never got media. */
    if (p->rejoin && p->location[0] && !p->t_first_media_us)
        c->rejoins_without_media++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static json_t *ms_pct(int64_t *v, int n, double q)
{
    int i = (int)ceil(q * n) - 1;
    if (n == 0)
        return json_null();
    return json_real((double)v[i < 0 ? 0 : i >= n ? n - 1 : i] / 1000.0);
}

static json_t *loss_obj(uint64_t expected, uint64_t lost)
{
    return json_pack("{sIsIsf}", "expected", (json_int_t)expected, "lost", (json_int_t)lost,
                     "loss_pct", expected ? 100.0 * (double)lost / (double)expected : 0.0);
}

json_t *lg_churn_tally(lg_churn *c, lg_peer *const *peers, int n, int64_t now_us, bool end)
{
    uint64_t st_exp = 0, st_lost = 0, worst_ppm = 0, ch_exp = c->retired_expected,
             ch_lost = c->retired_lost;
    int connected = 0, silent = 0, st_connected = 0, over = 0, pending = 0;
    int st_stalled = 0, ch_stalled = c->retired_stalled;
    int64_t st_gap = 0, ch_gap = c->retired_max_gap_us;
    int64_t *v = NULL;
    json_t *o, *st, *ch;

    for (int i = 0; i < n; i++) {
        const lg_peer *p = peers[i];
        uint64_t e, l = lg_peer_lost(p, &e);
        bool up = p->state == LG_PEER_CONNECTED;

        connected += up;
        silent += up && p->t_last_media_us && now_us - p->t_last_media_us > LG_STALL_US;
        if (p->index >= c->first_churner) {
            ch_exp += e;
            ch_lost += l;
            ch_stalled += p->max_media_gap_us > LG_STALL_US;
            if (p->max_media_gap_us > ch_gap)
                ch_gap = p->max_media_gap_us;
            pending += p->rejoin && p->location[0] && !p->t_first_media_us;
            continue;
        }
        st_connected += up;
        st_exp += e;
        st_lost += l;
        st_stalled += p->max_media_gap_us > LG_STALL_US;
        if (p->max_media_gap_us > st_gap)
            st_gap = p->max_media_gap_us;
        if (e) {
            uint64_t ppm = l * 1000000 / e;
            if (ppm > worst_ppm)
                worst_ppm = ppm;
            over += ppm > 10000;
        }
    }
    st = loss_obj(st_exp, st_lost);
    json_object_set_new(st, "viewers", json_integer(c->first_churner));
    json_object_set_new(st, "connected", json_integer(st_connected));
    json_object_set_new(st, "worst_viewer_loss_pct", json_real((double)worst_ppm / 10000.0));
    json_object_set_new(st, "viewers_over_1pct", json_integer(over));
    json_object_set_new(st, "stalled", json_integer(st_stalled));
    json_object_set_new(st, "max_media_gap_ms", json_real((double)st_gap / 1000.0));
    ch = loss_obj(ch_exp, ch_lost);
    json_object_set_new(ch, "viewers", json_integer(c->pool));
    json_object_set_new(ch, "stalled", json_integer(ch_stalled));
    json_object_set_new(ch, "max_media_gap_ms", json_real((double)ch_gap / 1000.0));
    o = json_object();
    json_object_set_new(o, "viewers_connected", json_integer(connected));
    /* Connected, media once, none for LG_STALL_US now. */
    json_object_set_new(o, "viewers_silent", json_integer(silent));
    json_object_set_new(o, "stayed", st);
    json_object_set_new(o, "churned", ch);
    json_object_set_new(o, "left", json_integer(atomic_load(&c->left)));
    json_object_set_new(o, "deletes_ok", json_integer(atomic_load(&c->deletes_ok)));
    json_object_set_new(o, "rejoins_posted", json_integer(atomic_load(&c->posted)));
    json_object_set_new(o, "rejoins_post_failed", json_integer(atomic_load(&c->post_failed)));
    json_object_set_new(o, "rejoins_with_media", json_integer(c->rejoins_with_media));
    /* Retired before any media came, and (at the end) still waiting. */
    json_object_set_new(o, "rejoins_without_media",
                        json_integer(c->rejoins_without_media + (end ? pending : 0)));
    json_object_set_new(o, "rejoins_waiting", json_integer(end ? 0 : pending));
    if (c->n_join)
        v = malloc((size_t)c->n_join * sizeof(*v));
    if (v) {
        memcpy(v, c->join_us, (size_t)c->n_join * sizeof(*v));
        qsort(v, (size_t)c->n_join, sizeof(*v), cmp_i64);
    }
    json_object_set_new(o, "rejoin_ms",
                        json_pack("{sosososo}", "p50", ms_pct(v, v ? c->n_join : 0, 0.5),
                                  "p95", ms_pct(v, v ? c->n_join : 0, 0.95),
                                  "p99", ms_pct(v, v ? c->n_join : 0, 0.99),
                                  "max", ms_pct(v, v ? c->n_join : 0, 1.0)));
    free(v);
    return o;
}

void lg_churn_print(const json_t *ch)
{
    const json_t *st = json_object_get(ch, "stayed"), *cd = json_object_get(ch, "churned");
#define I(o, k) ((int)json_integer_value(json_object_get(o, k)))
#define F(o, k) json_real_value(json_object_get(o, k))
    fprintf(stderr,
            "loadgen: churn: left %d (deletes ok %d), rejoins posted %d (failed %d), with media "
            "%d, without %d, rejoin p50 %.1f ms p99 %.1f ms | stayed %d/%d connected, loss "
            "%.4f%% (worst viewer %.3f%%), %d stalled (longest gap %.0f ms) | churned loss "
            "%.4f%%, %d stalled\n",
            I(ch, "left"), I(ch, "deletes_ok"), I(ch, "rejoins_posted"),
            I(ch, "rejoins_post_failed"), I(ch, "rejoins_with_media"),
            I(ch, "rejoins_without_media"), F(json_object_get(ch, "rejoin_ms"), "p50"),
            F(json_object_get(ch, "rejoin_ms"), "p99"), I(st, "connected"), I(st, "viewers"),
            F(st, "loss_pct"), F(st, "worst_viewer_loss_pct"), I(st, "stalled"),
            F(st, "max_media_gap_ms"), F(cd, "loss_pct"), I(cd, "stalled"));
#undef I
#undef F
}
