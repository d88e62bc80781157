/* What a monitoring system and a load balancer read: GET /metrics (admin
 * token) in the Prometheus text exposition format 0.0.4, GET /healthz
 * (every media worker's loop turned lately) and GET /readyz (not draining).
 * The last two need no token and say nothing beyond their answer.
 *
 * The exposition writer (sc_prom_*) is pure: it knows nothing of the
 * server and is tested on its own. */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/histogram.h"
#include "sfu/sfu.h"
#include "signaling/http/http.h"

/* GET /metrics, GET /healthz, GET /readyz. */
extern const sc_http_route sc_metrics_routes[];
extern const size_t sc_metrics_n_routes;

/* Join times (stagecast_join_seconds): from a session's offer to its
 * SESSION_CONNECTED bus event.  0 or -1 (out of memory). */
int sc_metrics_subscribe(sc_app *app);

/* One external check of an event answered (or failed) after us
 * (stagecast_external_check_seconds). */
void sc_metrics_observe_external(sc_app *app, uint64_t us);

/* A worker whose loop has not turned for this long is stuck (/healthz). */
#define SC_METRICS_STUCK_MS 2000

/* The workers of wl[0..n) whose loop last turned more than limit_ms before
 * now_ms: their indices go to stuck[] (room for n).  Returns how many. */
int sc_metrics_stuck_workers(const sc_sfu_worker_load *wl, int n, uint64_t now_ms,
                             uint64_t limit_ms, int *stuck);

/* The media plane's workers stuck now (the condition of /healthz and of
 * the systemd watchdog): their indices in stuck[], how many; -ENODEV
 * without a media plane. */
#define SC_METRICS_MAX_WORKERS 64
int sc_metrics_stuck_now(sc_app *app, int stuck[SC_METRICS_MAX_WORKERS]);

/* ---- The exposition writer ------------------------------------------------ */

typedef struct sc_prom_label {
    const char *name;
    const char *value; /* any UTF-8; escaped as the format asks */
} sc_prom_label;

/* A text being written.  Zero-initialise (or sc_prom_init) before use. */
typedef struct sc_prom {
    char *buf; /* NUL-terminated text, len bytes; owned */
    size_t len, cap;
    int err;         /* the first error: -ENOMEM, or -EINVAL for a bad
                        name, a family written twice, a sample outside a
                        family; once set, nothing more is written */
    char **families; /* the names begun so far */
    size_t n_families, cap_families;
} sc_prom;

void sc_prom_init(sc_prom *p);
/* Frees the text and the bookkeeping; accepts a zeroed or failed writer. */
void sc_prom_free(sc_prom *p);

/* Begin the family `name`: its HELP and TYPE lines ("counter", "gauge" or
 * "histogram"; a counter's name ends in _total).  Calling it again for the
 * family being written adds nothing; for a family begun earlier it is
 * -EINVAL (the format wants a family's samples together).  0 or a negative
 * errno. */
int sc_prom_family(sc_prom *p, const char *name, const char *type, const char *help);
/* One sample of the family begun last, with n labels. */
int sc_prom_sample(sc_prom *p, const sc_prom_label *labels, size_t n, double value);
/* The samples of one histogram of the family begun last (a "histogram"):
 * h's buckets over the bounds le_us[0..n_le) as cumulative _bucket lines
 * with le in seconds (then +Inf), _sum in seconds and _count.  The label
 * "le" is the writer's own (-EINVAL). */
int sc_prom_histogram(sc_prom *p, const sc_prom_label *labels, size_t n, const uint64_t *le_us,
                      size_t n_le, const sc_hist *h);

#endif
