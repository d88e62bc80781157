/* Histograms of durations for /metrics: a count per bucket of fixed upper
 * bounds (in microseconds, ascending, kept by the owner next to the
 * histogram) and the sum of what was observed.  One thread observes, with
 * relaxed atomic stores like the media workers' counters; any thread may
 * take a snapshot with sc_hist_add. */
#ifndef SC_HISTOGRAM_H
#define SC_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define SC_HIST_BOUNDS_MAX 12

typedef struct sc_hist {
    /* bucket[i]: observations above le_us[i-1] and at most le_us[i];
     * bucket[n_le]: above every bound.  Not cumulative. */
    uint64_t bucket[SC_HIST_BOUNDS_MAX + 1];
    uint64_t sum_us;
} sc_hist;

/* One observation of v_us against the bounds le_us[0..n_le) (n_le at most
 * SC_HIST_BOUNDS_MAX; the same bounds every time). */
void sc_hist_observe(sc_hist *h, const uint64_t *le_us, size_t n_le, uint64_t v_us);
/* Adds what `from` holds now to `to` (both over the same bounds). */
void sc_hist_add(sc_hist *to, const sc_hist *from);
/* Observations so far. */
uint64_t sc_hist_count(const sc_hist *h);

#endif
