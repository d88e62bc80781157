/* Figures for the load generator's JSON reports: percentiles of a sorted
 * array of microseconds and of a latency histogram (lg_hist, peer.h). */
#ifndef LG_REPORT_H
#define LG_REPORT_H

#include <stdint.h>

#include <jansson.h>

#include "peer.h"

/* qsort comparator for int64_t. */
int lg_cmp_i64(const void *a, const void *b);
/* The q-quantile (0..1) of v[0..n), sorted; -1 when n is 0. */
double lg_pct_i64(const int64_t *v, int n, double q);
/* The q-quantile of a histogram in ms (a bucket's middle); -1 when empty. */
double lg_hist_pct(const lg_hist *h, double q);
/* {"samples", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms"}. */
json_t *lg_hist_json(const lg_hist *h);

#endif
