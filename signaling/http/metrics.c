#include "signaling/http/metrics.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "recorder/recorder.h"
#include "sc_build_config.h"
#include "sfu/sfu.h"
#include "signaling/api/bus.h"
#include "signaling/app/app.h"
#include "signaling/http/fetch.h"
#include "signaling/http/http.h"
#include "signaling/recordings/catalog.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- the exposition writer ------------------------------------------------ */

void sc_prom_init(sc_prom *p)
{
    memset(p, 0, sizeof(*p));
}

void sc_prom_free(sc_prom *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_families; i++)
        free(p->families[i]);
    free(p->families);
    free(p->buf);
    memset(p, 0, sizeof(*p));
}

static int fail(sc_prom *p, int err)
{
    if (!p->err)
        p->err = err;
    return p->err;
}

static int reserve(sc_prom *p, size_t more)
{
    size_t cap;
    char *nb;

    if (p->len + more + 1 <= p->cap)
        return 0;
    cap = p->cap ? p->cap : 4096;
    while (cap < p->len + more + 1)
        cap *= 2;
    nb = realloc(p->buf, cap);
    if (!nb)
        return fail(p, -ENOMEM);
    p->buf = nb;
    p->cap = cap;
    return 0;
}

static void put(sc_prom *p, const char *s, size_t n)
{
    if (p->err || reserve(p, n))
        return;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void puts_(sc_prom *p, const char *s)
{
    put(p, s, strlen(s));
}

/* Backslash and newline always; the double quote too in label values
 * (HELP text keeps its quotes as they are). */
static void put_escaped(sc_prom *p, const char *s, bool quote)
{
    for (const char *run = s;; s++) {
        const char *esc = NULL;
        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '\n')
            esc = "\\n";
        else if (*s == '"' && quote)
            esc = "\\\"";
        if (!esc && *s)
            continue;
        put(p, run, (size_t)(s - run));
        if (!*s)
            return;
        puts_(p, esc);
        run = s + 1;
    }
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'
 * and not starting with "__" (reserved). */
static bool name_ok(const char *s, bool label)
{
    if (!s || !*s || (label && s[0] == '_' && s[1] == '_'))
        return false;
    for (const char *c = s; *c; c++) {
        bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                     (!label && *c == ':');
        if (!alpha && (c == s || *c < '0' || *c > '9'))
            return false;
    }
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int sc_prom_family(sc_prom *p, const char *name, const char *type, const char *help)
{
    char **nf;

    if (p->err)
        return p->err;
    if (p->n_families && strcmp(p->families[p->n_families - 1], name ? name : "") == 0)
        return 0;
    if (!name_ok(name, false) || !type ||
        (strcmp(type, "gauge") != 0 && strcmp(type, "counter") != 0 &&
         strcmp(type, "histogram") != 0) ||
        (strcmp(type, "counter") == 0) != ends_with(name, "_total"))
        return fail(p, -EINVAL);
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp(p->families[i], name) == 0)
            return fail(p, -EINVAL);
    if (p->n_families == p->cap_families) {
        size_t cap = p->cap_families ? p->cap_families * 2 : 32;
        nf = realloc(p->families, cap * sizeof(*nf));
        if (!nf)
            return fail(p, -ENOMEM);
        p->families = nf;
        p->cap_families = cap;
    }
    if (!(p->families[p->n_families] = strdup(name)))
        return fail(p, -ENOMEM);
    p->n_families++;
    puts_(p, "# HELP ");
    puts_(p, name);
    puts_(p, " ");
    put_escaped(p, help ? help : "", false);
    puts_(p, "\n# TYPE ");
    puts_(p, name);
    puts_(p, " ");
    puts_(p, type);
    puts_(p, "\n");
    return p->err;
}

static void put_number(sc_prom *p, double value)
{
    char num[64];

    if (value != value)
        snprintf(num, sizeof(num), "NaN");
    else if (value > DBL_MAX || value < -DBL_MAX)
        snprintf(num, sizeof(num), "%sInf", value > 0 ? "+" : "-");
    else if (value > -1e18 && value < 1e18 && value == (double)(long long)value)
        snprintf(num, sizeof(num), "%lld", (long long)value);
    else
        snprintf(num, sizeof(num), "%.15g", value);
    puts_(p, num);
}

/* One sample line of the family begun last: its name with suffix, the
 * labels (and le, for a histogram's bucket), the value. */
static int sample_line(sc_prom *p, const char *suffix, const sc_prom_label *labels, size_t n,
                       const char *le, double value)
{
    if (p->err)
        return p->err;
    if (!p->n_families)
        return fail(p, -EINVAL);
    for (size_t i = 0; i < n; i++)
        if (!name_ok(labels[i].name, true) || !labels[i].value || strcmp(labels[i].name, "le") == 0)
            return fail(p, -EINVAL);
    puts_(p, p->families[p->n_families - 1]);
    puts_(p, suffix);
    for (size_t i = 0; i < n; i++) {
        puts_(p, i ? "," : "{");
        puts_(p, labels[i].name);
        puts_(p, "=\"");
        put_escaped(p, labels[i].value, true);
        puts_(p, "\"");
    }
    if (le) {
        puts_(p, n ? ",le=\"" : "{le=\"");
        puts_(p, le);
        puts_(p, "\"");
    }
    if (n || le)
        puts_(p, "}");
    puts_(p, " ");
    put_number(p, value);
    puts_(p, "\n");
    return p->err;
}

int sc_prom_sample(sc_prom *p, const sc_prom_label *labels, size_t n, double value)
{
    return sample_line(p, "", labels, n, NULL, value);
}

int sc_prom_histogram(sc_prom *p, const sc_prom_label *labels, size_t n, const uint64_t *le_us,
                      size_t n_le, const sc_hist *h)
{
    uint64_t cum = 0;
    char le[64];

    if (n_le > SC_HIST_BOUNDS_MAX)
        return fail(p, -EINVAL);
    for (size_t i = 0; i <= n_le; i++) {
        cum += h->bucket[i];
        if (i < n_le)
            snprintf(le, sizeof(le), "%.15g", (double)le_us[i] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        sample_line(p, "_bucket", labels, n, le, (double)cum);
    }
    sample_line(p, "_sum", labels, n, NULL, (double)h->sum_us / 1e6);
    return sample_line(p, "_count", labels, n, NULL, (double)cum);
}

/* ---- what /metrics exports -------------------------------------------------- */

/* One family with one unlabelled sample. */
static void one(sc_prom *p, const char *name, const char *type, const char *help, double v)
{
    sc_prom_family(p, name, type, help);
    sc_prom_sample(p, NULL, 0, v);
}

/* The uint64_t field at offset off of the struct at base. */
static double u64_at(const void *base, size_t off)
{
    return (double)*(const uint64_t *)((const char *)base + off);
}

/* A family per uint64_t field of a struct the server fills. */
typedef struct field_row {
    const char *name, *type, *help;
    size_t off;
} field_row;

static void write_fields(sc_prom *p, const field_row *rows, size_t n, const void *base)
{
    for (size_t i = 0; i < n; i++)
        one(p, rows[i].name, rows[i].type, rows[i].help, u64_at(base, rows[i].off));
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define ROWS(rows) rows, N_OF(rows)

static void write_process(sc_app *app, sc_prom *p)
{
    sc_prom_family(p, "stagecast_build_info", "gauge", "the running version (always 1)");
    sc_prom_sample(p, (const sc_prom_label[]){{"version", SC_VERSION}}, 1, 1);
    one(p, "stagecast_process_start_time_seconds", "gauge",
        "when the server started, in seconds since the Unix epoch",
        (double)app->started_ms / 1000.0);
}

/* The media plane's lists (sfu.h), a family each; the workers' drop_*
 * counters are one family, stagecast_media_dropped_total, by cause. */
typedef struct media_row {
    const char *name;
    const char *help;
    size_t off;
} media_row;

#define MEDIA_ROW(f, what) {#f, what, offsetof(sc_sfu_stats, f)},
static const media_row media_gauges[] = {SC_SFU_GAUGES(MEDIA_ROW)};
static const media_row media_counters[] = {SC_SFU_COUNTERS(MEDIA_ROW)
                                               SC_WORKER_COUNTERS(MEDIA_ROW)};
#undef MEDIA_ROW

#define DROP_PREFIX "drop_"

static void write_media(sc_app *app, sc_prom *p)
{
    char name[128];
    sc_sfu_stats st;

    memset(&st, 0, sizeof(st));
    if (app->sfu)
        sc_sfu_get_stats(app->sfu, &st);
    for (size_t i = 0; i < N_OF(media_gauges); i++) {
        snprintf(name, sizeof(name), "stagecast_media_%s", media_gauges[i].name);
        one(p, name, "gauge", media_gauges[i].help, u64_at(&st, media_gauges[i].off));
    }
    for (size_t i = 0; i < N_OF(media_counters); i++) {
        if (strncmp(media_counters[i].name, DROP_PREFIX, strlen(DROP_PREFIX)) == 0)
            continue;
        snprintf(name, sizeof(name), "stagecast_media_%s_total", media_counters[i].name);
        one(p, name, "counter", media_counters[i].help, u64_at(&st, media_counters[i].off));
    }
    sc_prom_family(p, "stagecast_media_dropped_total", "counter",
                   "datagrams, packets and data channel messages the media plane dropped, "
                   "by cause");
    for (size_t i = 0; i < N_OF(media_counters); i++) {
        const char *cause = media_counters[i].name + strlen(DROP_PREFIX);
        if (strncmp(media_counters[i].name, DROP_PREFIX, strlen(DROP_PREFIX)) != 0)
            continue;
        sc_prom_sample(p, (const sc_prom_label[]){{"cause", cause}}, 1,
                       u64_at(&st, media_counters[i].off));
    }
    sc_prom_family(p, "stagecast_rtt_seconds", "histogram",
                   "round-trip times to viewers, from their receiver reports' answers to our "
                   "sender reports");
    sc_prom_histogram(p, NULL, 0, sc_sfu_rtt_le_us, SC_SFU_RTT_BUCKETS, &st.rtt);
}

/* Per worker, named after sc_sfu_worker_load's fields. */
enum worker_value { W_SESSIONS, W_LOAD, W_OVERLOADED, W_DROPS_MEDIA, W_DROPS_CONTROL, W_LOOP_AGE };

static const struct {
    const char *name, *type, *help;
} worker_families[] = {
    [W_SESSIONS] = {"stagecast_worker_sessions", "gauge", "sessions placed on the worker"},
    [W_LOAD] = {"stagecast_worker_load_ratio", "gauge",
                "share of the last second the worker was busy (outside epoll_wait), 0-1"},
    [W_OVERLOADED] = {"stagecast_worker_overloaded", "gauge",
                      "1 while the worker is overloaded (new viewers go elsewhere)"},
    [W_DROPS_MEDIA] = {"stagecast_worker_socket_drops_media_total", "counter",
                       "media datagrams the kernel dropped at the worker's socket"},
    [W_DROPS_CONTROL] = {"stagecast_worker_socket_drops_control_total", "counter",
                         "control datagrams the kernel dropped at the worker's socket"},
    [W_LOOP_AGE] = {"stagecast_worker_loop_age_seconds", "gauge",
                    "time since the worker's loop last turned (over 2 s: stuck, /healthz fails)"},
};

static double worker_value(const sc_sfu_worker_load *w, int which, uint64_t now_ms)
{
    switch (which) {
    case W_SESSIONS:
        return w->sessions;
    case W_LOAD:
        return w->load_pct / 100.0;
    case W_OVERLOADED:
        return w->overloaded ? 1 : 0;
    case W_DROPS_MEDIA:
        return (double)w->socket_drops_media;
    case W_DROPS_CONTROL:
        return (double)w->socket_drops_control;
    default:
        return now_ms > w->last_loop_ms ? (double)(now_ms - w->last_loop_ms) / 1000.0 : 0;
    }
}

static void write_workers(sc_app *app, sc_prom *p)
{
    sc_sfu_worker_load wl[SC_METRICS_MAX_WORKERS];
    int n = app->sfu ? sc_sfu_worker_loads(app->sfu, wl, SC_METRICS_MAX_WORKERS) : 0;
    uint64_t now = sc_mono_ms();

    if (n > SC_METRICS_MAX_WORKERS)
        n = SC_METRICS_MAX_WORKERS;
    for (size_t f = 0; f < N_OF(worker_families); f++) {
        sc_prom_family(p, worker_families[f].name, worker_families[f].type,
                       worker_families[f].help);
        for (int i = 0; i < n; i++) {
            char idx[16];
            snprintf(idx, sizeof(idx), "%d", wl[i].index);
            sc_prom_sample(p, (const sc_prom_label[]){{"worker", idx}}, 1,
                           worker_value(&wl[i], (int)f, now));
        }
    }
}

static void count_session(void *ud, sc_session_entry *e)
{
    uint64_t (*by)[2] = ud; /* [kind][udp, tcp] */
    if (!e->closing)
        by[e->kind == SC_SESSION_PUBLISH ? 0 : 1][e->tcp ? 1 : 0]++;
}

static void write_sessions(sc_app *app, sc_prom *p)
{
    uint64_t by[2][2] = {{0, 0}, {0, 0}};
    static const char *const kinds[2] = {"publish", "subscribe"}, *const transports[2] = {"udp", "tcp"};

    sc_rooms_foreach_session(app->rooms, count_session, by);
    /* ICE-TCP is told apart by the media plane; a TURN relay reaches it as
     * UDP from coturn's address and counts as udp. */
    sc_prom_family(p, "stagecast_sessions_open", "gauge",
                   "media sessions open (WHIP/WHEP and WebSocket), by kind and transport");
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2; t++)
            sc_prom_sample(p, (const sc_prom_label[]){{"kind", kinds[k]}, {"transport", transports[t]}},
                           2, (double)by[k][t]);
}

/* Join times: a page that took over 10 s to connect is as bad as one
 * that never did. */
static const uint64_t join_le_us[] = {50000,   100000,  250000,  500000,
                                      1000000, 2500000, 5000000, 10000000};

static void join_connected(void *ud, const sc_bus_event *ev)
{
    sc_app *app = ud;
    sc_session_entry *e = sc_rooms_find_session(app->rooms, ev->session_id);
    uint64_t now = sc_mono_us();

    if (e && e->opened_us && now >= e->opened_us)
        sc_hist_observe(&app->stats.join[e->kind == SC_SESSION_PUBLISH ? 0 : 1], join_le_us,
                        N_OF(join_le_us), now - e->opened_us);
}

int sc_metrics_subscribe(sc_app *app)
{
    return sc_bus_subscribe(app->bus, SC_BUS_SESSION_CONNECTED, join_connected, app) < 0 ? -1 : 0;
}

/* External checks: the organiser's system has at most 10 s to answer. */
static const uint64_t external_le_us[] = {10000,  25000,   50000,   100000,  250000,
                                          500000, 1000000, 2500000, 5000000, 10000000};

void sc_metrics_observe_external(sc_app *app, uint64_t us)
{
    sc_hist_observe(&app->stats.external_check, external_le_us, N_OF(external_le_us), us);
}

static void write_external(sc_app *app, sc_prom *p)
{
    sc_prom_family(p, "stagecast_external_check_seconds", "histogram",
                   "how long events' external checks took, from the request to the "
                   "organiser's system to its answer or the failure");
    sc_prom_histogram(p, NULL, 0, external_le_us, N_OF(external_le_us),
                      &app->stats.external_check);
    one(p, "stagecast_external_checks_in_flight", "gauge",
        "external checks waiting for the organiser's system now (threads still running "
        "past their deadline included)",
        (double)sc_fetch_in_flight(app));
}

static void write_join(sc_app *app, sc_prom *p)
{
    sc_prom_family(p, "stagecast_join_seconds", "histogram",
                   "from a session's offer (WHIP/WHEP POST, /ws publish or subscribe) to its "
                   "ICE and DTLS being up, by role");
    sc_prom_histogram(p, (const sc_prom_label[]){{"role", "publisher"}}, 1, join_le_us,
                      N_OF(join_le_us), &app->stats.join[0]);
    sc_prom_histogram(p, (const sc_prom_label[]){{"role", "viewer"}}, 1, join_le_us,
                      N_OF(join_le_us), &app->stats.join[1]);
}

#define APP(f) offsetof(sc_app_counters, f)
static const field_row front_rows[] = {
    {"stagecast_websocket_clients", "gauge", "WebSocket clients connected now", APP(ws_clients)},
    {"stagecast_websocket_connections_total", "counter", "WebSocket connections accepted",
     APP(ws_connections)},
    {"stagecast_websocket_messages_total", "counter", "WebSocket messages received",
     APP(ws_messages)},
    {"stagecast_websocket_errors_total", "counter", "error replies sent on WebSockets",
     APP(ws_errors)},
    {"stagecast_websocket_dropped_slow_total", "counter",
     "WebSocket clients closed for not reading their queue", APP(ws_dropped_slow)},
    {"stagecast_websocket_join_timeouts_total", "counter",
     "WebSocket connections closed for not joining in time", APP(ws_join_timeouts)},
    {"stagecast_websocket_refused_unjoined_total", "counter",
     "WebSocket upgrades refused: too many unjoined connections from one address",
     APP(ws_refused_unjoined)},
    {"stagecast_websocket_refused_sessions_total", "counter",
     "publish/subscribe refused: the connection holds --max-sessions-per-ws already",
     APP(ws_refused_sessions)},
    {"stagecast_sessions_refused_user_total", "counter",
     "new media sessions refused: the user holds --max-sessions-per-user in the room",
     APP(sessions_refused_user)},
    {"stagecast_sessions_refused_address_total", "counter",
     "new media sessions refused: the address holds --max-sessions-per-ip in the room",
     APP(sessions_refused_ip)},
    {"stagecast_http_connections", "gauge", "HTTP and WebSocket connections open now",
     APP(http_connections)},
    {"stagecast_http_files_open", "gauge", "pages and recordings being sent now",
     APP(http_files_open)},
    {"stagecast_http_connections_max", "gauge",
     "connections and files the front end may hold at once (--max-connections)",
     APP(http_connections_max)},
    {"stagecast_http_connections_refused_total", "counter",
     "connections closed at once: --max-connections were held", APP(http_connections_refused)},
    {"stagecast_http_connections_reserve", "gauge",
     "connections open now on the places kept for health checks and metrics",
     APP(http_connections_reserve)},
    {"stagecast_http_connections_per_ip_max", "gauge",
     "connections one address may hold at once (--max-connections-per-ip; 0: no limit)",
     APP(http_connections_per_ip_max)},
    {"stagecast_http_connections_refused_per_ip_total", "counter",
     "connections closed at once: their address held --max-connections-per-ip",
     APP(http_connections_refused_per_ip)},
    {"stagecast_http_headers_too_large_total", "counter",
     "HTTP requests whose headers passed 16 KiB: closed without an answer",
     APP(http_headers_too_large)},
    {"stagecast_log_suppressed_total", "counter",
     "log lines of refused messages not written (throttled)", APP(log_suppressed)},
    {"stagecast_sfu_events_total", "counter",
     "events of the media plane handled by the signalling thread", APP(sfu_events)},
    {"stagecast_events_refused_total", "counter",
     "watch-link requests refused (wrong password, event ended or full, no such event)",
     APP(events_refused)},
    {"stagecast_external_checks_allowed_total", "counter",
     "events' external checks the organiser's system answered with allow: true",
     APP(external_checks_allowed)},
    {"stagecast_external_checks_denied_total", "counter",
     "events' external checks the organiser's system answered with allow: false",
     APP(external_checks_denied)},
    {"stagecast_external_checks_failed_total", "counter",
     "events' external checks without a usable answer (timeout, connection refused, TLS, not "
     "200, bad JSON, over 16 KiB)",
     APP(external_checks_failed)},
    {"stagecast_external_checks_busy_total", "counter",
     "joins refused with 503 external-busy: --max-external-checks in flight (or a quarter of "
     "them from one address)",
     APP(external_checks_busy)},
};
#undef APP

static void write_front(sc_app *app, sc_prom *p)
{
    const sc_app_counters *s = &app->stats;

    one(p, "stagecast_http_requests_total", "counter", "HTTP requests answered",
        (double)s->http_requests);
    sc_prom_family(p, "stagecast_http_errors_total", "counter",
                   "HTTP requests answered with an error, by status");
    for (int i = 0; i < SC_HTTP_STATUS_SLOTS; i++) {
        char status[8];
        if (!s->http_errors[i])
            continue;
        snprintf(status, sizeof(status), "%d", i + SC_HTTP_STATUS_MIN);
        sc_prom_sample(p, (const sc_prom_label[]){{"status", status}}, 1,
                       (double)s->http_errors[i]);
    }
    write_fields(p, ROWS(front_rows), s);
}

static void write_events(sc_app *app, sc_prom *p)
{
    sc_prom_family(p, "stagecast_events_total", "counter",
                   "domain events published on the event bus, by topic");
    for (int t = 0; t < SC_BUS_N_TOPICS; t++)
        sc_prom_sample(p, (const sc_prom_label[]){{"topic", sc_bus_topic_name((sc_bus_topic)t)}}, 1,
                       (double)sc_bus_count(app->bus, (sc_bus_topic)t));
}

#define CAT(f) offsetof(sc_catalog_stats, f)
static const field_row catalog_rows[] = {
    {"stagecast_recordings_composites_ready_total", "counter", "composite recordings rendered",
     CAT(composites_ready)},
    {"stagecast_recordings_composites_failed_total", "counter", "composite recordings that failed",
     CAT(composites_failed)},
    {"stagecast_recordings_reports_dropped_total", "counter",
     "recorder reports lost because the catalog's queue was full", CAT(reports_dropped)},
};
static const field_row catalog_failed[] = {
    {"quota", NULL, NULL, CAT(failed_quota)},
    {"disk_full", NULL, NULL, CAT(failed_disk_full)},
    {"disk_error", NULL, NULL, CAT(failed_disk_error)},
};
#undef CAT

#define REC(f) offsetof(sc_recorder_stats, f)
static const field_row recorder_rows[] = {
    {"stagecast_recorder_files_open", "gauge", "recording files being written now",
     REC(files_open)},
    {"stagecast_recorder_files_done_total", "counter",
     "recording files finished (or repaired at start)", REC(files_done)},
    {"stagecast_recorder_files_repaired_total", "counter",
     "unfinished recording files repaired at start", REC(files_repaired)},
    {"stagecast_recorder_written_bytes_total", "counter",
     "bytes of recordings written by this process", REC(bytes_written)},
    {"stagecast_recorder_used_bytes", "gauge",
     "bytes the recordings directory holds, counted against the quota", REC(bytes_used)},
    {"stagecast_recorder_drops_queue_full_total", "counter",
     "packets the recorder dropped because its queue was full", REC(drops_queue_full)},
    {"stagecast_recorder_frames_dropped_total", "counter",
     "frames not recorded (incomplete, or waiting for a keyframe)", REC(frames_dropped)},
    {"stagecast_recorder_errors_total", "counter",
     "recorder errors: disk errors, quota refusals, files that could not be opened", REC(errors)},
};
#undef REC

/* The figures /api/stats shows under "recordings" (sc_catalog_stats_json). */
static void write_recordings(sc_app *app, sc_prom *p)
{
    sc_catalog_stats cs;
    int64_t composite = sc_store_recordings_bytes(app->store, "composite", "ready");

    sc_catalog_stats_get(app->catalog, &cs);
    one(p, "stagecast_recordings_composite_bytes", "gauge",
        "size of the finished composite recordings in the catalog",
        composite > 0 ? (double)composite : 0);
    sc_prom_family(p, "stagecast_recordings_failed_total", "counter",
                   "recording files stopped early or refused, by cause");
    for (size_t i = 0; i < N_OF(catalog_failed); i++)
        sc_prom_sample(p, (const sc_prom_label[]){{"cause", catalog_failed[i].name}}, 1,
                       u64_at(&cs, catalog_failed[i].off));
    write_fields(p, ROWS(catalog_rows), &cs);
    if (app->recorder) {
        sc_recorder_stats rs;
        sc_recorder_stats_get(app->recorder, &rs);
        write_fields(p, ROWS(recorder_rows), &rs);
    }
}

/* ---- routes ------------------------------------------------------------------- */

static void get_metrics(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                        char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_prom p;

    rep->action = "exporting metrics";
    if (sc_http_admin_auth(app, req, "metrics", rep))
        return;
    sc_prom_init(&p);
    write_process(app, &p);
    write_media(app, &p);
    write_workers(app, &p);
    write_sessions(app, &p);
    write_join(app, &p);
    write_external(app, &p);
    write_front(app, &p);
    write_events(app, &p);
    write_recordings(app, &p);
    if (p.err || sc_http_body(rep, 200, METRICS_CONTENT_TYPE, p.buf, p.len) < 0)
        sc_http_error(rep, 500, "internal", "cannot write the metrics: %s", strerror(-p.err));
    sc_prom_free(&p);
}

int sc_metrics_stuck_workers(const sc_sfu_worker_load *wl, int n, uint64_t now_ms,
                             uint64_t limit_ms, int *stuck)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (now_ms > wl[i].last_loop_ms && now_ms - wl[i].last_loop_ms > limit_ms)
            stuck[k++] = wl[i].index;
    return k;
}

int sc_metrics_stuck_now(sc_app *app, int stuck[SC_METRICS_MAX_WORKERS])
{
    sc_sfu_worker_load wl[SC_METRICS_MAX_WORKERS];
    int n;

    if (!app->sfu)
        return -ENODEV;
    n = sc_sfu_worker_loads(app->sfu, wl, SC_METRICS_MAX_WORKERS);
    if (n > SC_METRICS_MAX_WORKERS)
        n = SC_METRICS_MAX_WORKERS;
    return sc_metrics_stuck_workers(wl, n, sc_mono_ms(), SC_METRICS_STUCK_MS, stuck);
}

static void get_healthz(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                        char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    int stuck[SC_METRICS_MAX_WORKERS], k;
    json_t *arr;

    rep->action = "answering a liveness check";
    k = sc_metrics_stuck_now(app, stuck);
    if (k < 0) {
        sc_http_json(rep, 503, json_pack("{s:s}", "status", "no-media-plane"));
        return;
    }
    if (!k) {
        sc_http_json(rep, 200, json_pack("{s:s}", "status", "ok"));
        return;
    }
    arr = json_array();
    for (int i = 0; i < k; i++)
        json_array_append_new(arr, json_integer(stuck[i]));
    sc_http_json(rep, 503, json_pack("{s:s,s:o}", "status", "stuck", "stuck_workers", arr));
}

static void get_readyz(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    rep->action = "answering a readiness check";
    if (app->draining)
        sc_http_json(rep, 503, json_pack("{s:s}", "status", "draining"));
    else
        sc_http_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

const sc_http_route sc_metrics_routes[] = {
    {"/metrics", 0, SC_HTTP_GET, "metrics", get_metrics, 0},
    {"/healthz", 0, SC_HTTP_GET, "liveness", get_healthz, 0},
    {"/readyz", 0, SC_HTTP_GET, "readiness", get_readyz, 0},
};
const size_t sc_metrics_n_routes = N_OF(sc_metrics_routes);
