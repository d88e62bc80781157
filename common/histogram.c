#include "common/histogram.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE_ADD(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)

void sc_hist_observe(sc_hist *h, const uint64_t *le_us, size_t n_le, uint64_t v_us)
{
    size_t i = 0;

    if (n_le > SC_HIST_BOUNDS_MAX)
        n_le = SC_HIST_BOUNDS_MAX;
    while (i < n_le && v_us > le_us[i])
        i++;
    STORE_ADD(h->bucket[i], 1);
    STORE_ADD(h->sum_us, v_us);
}

void sc_hist_add(sc_hist *to, const sc_hist *from)
{
    for (size_t i = 0; i <= SC_HIST_BOUNDS_MAX; i++)
        to->bucket[i] += LOAD(from->bucket[i]);
    to->sum_us += LOAD(from->sum_us);
}

uint64_t sc_hist_count(const sc_hist *h)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= SC_HIST_BOUNDS_MAX; i++)
        n += LOAD(h->bucket[i]);
    return n;
}
