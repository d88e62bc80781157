/* signaling/http/metrics.c: the exposition writer (HELP and TYPE once per
 * family, label and HELP escaping, numbers, refused names and misuse),
 * histograms (common/histogram.c's buckets written cumulatively) and the
 * stuck-worker check behind /healthz. */
#include <errno.h>
#include <string.h>

#include "signaling/http/metrics.h"
#include "tests/unit/sc_test.h"

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

static void test_families(void)
{
    sc_prom p;

    sc_prom_init(&p);
    SC_CHECK_INT(sc_prom_family(&p, "x_requests_total", "counter", "requests"), 0);
    SC_CHECK_INT(sc_prom_sample(&p, NULL, 0, 3), 0);
    /* Asked again for the family being written: nothing more is written. */
    SC_CHECK_INT(sc_prom_family(&p, "x_requests_total", "counter", "requests"), 0);
    SC_CHECK_INT(sc_prom_sample(&p, (const sc_prom_label[]){{"a", "b"}}, 1, 4), 0);
    SC_CHECK_INT(sc_prom_family(&p, "x_load_ratio", "gauge", "load"), 0);
    SC_CHECK_INT(sc_prom_sample(&p, (const sc_prom_label[]){{"worker", "0"}, {"k", "v"}}, 2, 0.25),
                 0);
    SC_CHECK_STR(p.buf, "# HELP x_requests_total requests\n"
                        "# TYPE x_requests_total counter\n"
                        "x_requests_total 3\n"
                        "x_requests_total{a=\"b\"} 4\n"
                        "# HELP x_load_ratio load\n"
                        "# TYPE x_load_ratio gauge\n"
                        "x_load_ratio{worker=\"0\",k=\"v\"} 0.25\n");
    SC_CHECK_INT(count(p.buf, "# TYPE x_requests_total"), 1);
    SC_CHECK_INT(p.len, strlen(p.buf));
    /* Going back to a family begun earlier would split its samples. */
    SC_CHECK_INT(sc_prom_family(&p, "x_requests_total", "counter", "requests"), -EINVAL);
    SC_CHECK_INT(p.err, -EINVAL);
    /* Once failed, nothing more is written. */
    size_t len = p.len;
    SC_CHECK_INT(sc_prom_family(&p, "x_other", "gauge", "other"), -EINVAL);
    SC_CHECK_INT(p.len, len);
    sc_prom_free(&p);
    SC_CHECK(p.buf == NULL && p.n_families == 0);
    sc_prom_free(&p); /* twice is fine */
}

static void test_escaping(void)
{
    sc_prom p;

    sc_prom_init(&p);
    SC_CHECK_INT(sc_prom_family(&p, "x_info", "gauge", "a \"quoted\" back\\slash\nnewline"), 0);
    SC_CHECK_INT(sc_prom_sample(&p, (const sc_prom_label[]){{"v", "a\"b\\c\nd é"}}, 1, 1), 0);
    SC_CHECK_INT(sc_prom_sample(&p, (const sc_prom_label[]){{"v", ""}}, 1, 1), 0);
    SC_CHECK_STR(p.buf, "# HELP x_info a \"quoted\" back\\\\slash\\nnewline\n"
                        "# TYPE x_info gauge\n"
                        "x_info{v=\"a\\\"b\\\\c\\nd é\"} 1\n"
                        "x_info{v=\"\"} 1\n");
    sc_prom_free(&p);
}

static void test_numbers(void)
{
    sc_prom p;

    sc_prom_init(&p);
    sc_prom_family(&p, "x_value", "gauge", "v");
    sc_prom_sample(&p, NULL, 0, 0);
    sc_prom_sample(&p, NULL, 0, 18446744073709551615.0);
    sc_prom_sample(&p, NULL, 0, 1712345678.125);
    sc_prom_sample(&p, NULL, 0, -2);
    sc_prom_sample(&p, NULL, 0, 1.0 / 0.0);
    sc_prom_sample(&p, NULL, 0, 0.0 / 0.0);
    SC_CHECK_STR(p.buf, "# HELP x_value v\n# TYPE x_value gauge\n"
                        "x_value 0\n"
                        "x_value 1.84467440737096e+19\n"
                        "x_value 1712345678.125\n"
                        "x_value -2\n"
                        "x_value +Inf\n"
                        "x_value NaN\n");
    sc_prom_free(&p);
}

static void test_refused(void)
{
    static const struct {
        const char *name, *type;
    } bad[] = {
        {"", "gauge"},      {"1abc", "gauge"},    {"a-b", "gauge"},
        {"a b", "gauge"},   {"x_total", "gauge"}, {"x", "counter"},
        {"x", "summary"},   {"x", NULL},          {NULL, "gauge"},
        {"x_total", "histogram"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sc_prom p;
        sc_prom_init(&p);
        SC_CHECK_INT(sc_prom_family(&p, bad[i].name, bad[i].type, "h"), -EINVAL);
        SC_CHECK(p.len == 0);
        sc_prom_free(&p);
    }
    {
        sc_prom p;
        sc_prom_init(&p);
        /* A sample before any family. */
        SC_CHECK_INT(sc_prom_sample(&p, NULL, 0, 1), -EINVAL);
        sc_prom_free(&p);
    }
    static const char *bad_labels[] = {"", "__reserved", "a:b", "0a", "a-b"};
    for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
        sc_prom p;
        sc_prom_init(&p);
        SC_CHECK_INT(sc_prom_family(&p, "ns:x", "gauge", "colons are fine in metric names"), 0);
        SC_CHECK_INT(sc_prom_sample(&p, (const sc_prom_label[]){{bad_labels[i], "v"}}, 1, 1),
                     -EINVAL);
        SC_CHECK(strstr(p.buf, "ns:x{") == NULL);
        sc_prom_free(&p);
    }
}

static void test_histogram(void)
{
    static const uint64_t le[] = {50000, 1000000, 2500000};
    sc_hist h;
    sc_prom p;

    memset(&h, 0, sizeof(h));
    sc_hist_observe(&h, le, 3, 10000);   /* 0.01 s */
    sc_hist_observe(&h, le, 3, 50000);   /* on a bound: in that bucket */
    sc_hist_observe(&h, le, 3, 2000000);
    sc_hist_observe(&h, le, 3, 9000000); /* above every bound */
    SC_CHECK_INT(sc_hist_count(&h), 4);
    sc_prom_init(&p);
    SC_CHECK_INT(sc_prom_family(&p, "x_join_seconds", "histogram", "join"), 0);
    SC_CHECK_INT(sc_prom_histogram(&p, (const sc_prom_label[]){{"role", "viewer"}}, 1, le, 3, &h),
                 0);
    memset(&h, 0, sizeof(h));
    SC_CHECK_INT(sc_prom_histogram(&p, NULL, 0, le, 3, &h), 0);
    SC_CHECK_STR(p.buf, "# HELP x_join_seconds join\n"
                        "# TYPE x_join_seconds histogram\n"
                        "x_join_seconds_bucket{role=\"viewer\",le=\"0.05\"} 2\n"
                        "x_join_seconds_bucket{role=\"viewer\",le=\"1\"} 2\n"
                        "x_join_seconds_bucket{role=\"viewer\",le=\"2.5\"} 3\n"
                        "x_join_seconds_bucket{role=\"viewer\",le=\"+Inf\"} 4\n"
                        "x_join_seconds_sum{role=\"viewer\"} 11.06\n"
                        "x_join_seconds_count{role=\"viewer\"} 4\n"
                        "x_join_seconds_bucket{le=\"0.05\"} 0\n"
                        "x_join_seconds_bucket{le=\"1\"} 0\n"
                        "x_join_seconds_bucket{le=\"2.5\"} 0\n"
                        "x_join_seconds_bucket{le=\"+Inf\"} 0\n"
                        "x_join_seconds_sum 0\n"
                        "x_join_seconds_count 0\n");
    /* le is the writer's label. */
    SC_CHECK_INT(sc_prom_histogram(&p, (const sc_prom_label[]){{"le", "1"}}, 1, le, 3, &h),
                 -EINVAL);
    sc_prom_free(&p);

    /* Snapshots add up. */
    sc_hist a, sum;
    memset(&a, 0, sizeof(a));
    memset(&sum, 0, sizeof(sum));
    sc_hist_observe(&a, le, 3, 1);
    sc_hist_add(&sum, &a);
    sc_hist_add(&sum, &a);
    SC_CHECK_INT(sc_hist_count(&sum), 2);
    SC_CHECK_INT(sum.bucket[0], 2);
    SC_CHECK_INT(sum.sum_us, 2);
}

static void test_stuck(void)
{
    sc_sfu_worker_load wl[3] = {
        {.index = 0, .last_loop_ms = 10000},
        {.index = 1, .last_loop_ms = 7999},
        {.index = 2, .last_loop_ms = 10500}, /* read after "now" was taken */
    };
    int stuck[3];

    SC_CHECK_INT(sc_metrics_stuck_workers(wl, 3, 10000, SC_METRICS_STUCK_MS, stuck), 1);
    SC_CHECK_INT(stuck[0], 1);
    SC_CHECK_INT(sc_metrics_stuck_workers(wl, 3, 9999, SC_METRICS_STUCK_MS, stuck), 0);
    SC_CHECK_INT(sc_metrics_stuck_workers(wl, 3, 12501, SC_METRICS_STUCK_MS, stuck), 3);
    SC_CHECK_INT(sc_metrics_stuck_workers(wl, 0, 99999, SC_METRICS_STUCK_MS, stuck), 0);
}

int main(void)
{
    test_families();
    test_escaping();
    test_numbers();
    test_refused();
    test_histogram();
    test_stuck();
    SC_TEST_END();
}
