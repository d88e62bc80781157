/* Percentiles for the load generator's reports: see report.h. */
#include "report.h"

#include <math.h>

int lg_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

double lg_pct_i64(const int64_t *v, int n, double q)
{
    int i;
    if (n == 0)
        return -1;
    i = (int)ceil(q * n) - 1;
    return (double)v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

double lg_hist_pct(const lg_hist *h, double q)
{
    uint64_t total = h->n, want, acc = 0;

    if (!total)
        return -1;
    want = (uint64_t)ceil(q * (double)total);
    for (int i = 0; i < LG_HIST_BUCKETS; i++) {
        acc += h->b[i];
        if (acc >= want)
            return (i + 0.5) * LG_HIST_US / 1000.0;
    }
    return (double)h->max_us / 1000.0;
}

json_t *lg_hist_json(const lg_hist *h)
{
    json_t *o = json_object();
    json_object_set_new(o, "samples", json_integer((json_int_t)h->n));
    json_object_set_new(o, "p50_ms", json_real(lg_hist_pct(h, 0.50)));
    json_object_set_new(o, "p90_ms", json_real(lg_hist_pct(h, 0.90)));
    json_object_set_new(o, "p95_ms", json_real(lg_hist_pct(h, 0.95)));
    json_object_set_new(o, "p99_ms", json_real(lg_hist_pct(h, 0.99)));
    json_object_set_new(o, "p999_ms", json_real(lg_hist_pct(h, 0.999)));
    json_object_set_new(o, "max_ms", json_real((double)h->max_us / 1000));
    return o;
}
