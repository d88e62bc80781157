#include "signaling/recordings/catalog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/api/bus.h"
#include "recorder/composite.h"
#include "recorder/ebml.h"
#include "signaling/auth/token.h"
#include "signaling/http/ws.h"
#include "signaling/interact/interact.h"
#include "signaling/recordings/replay.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

/* Paths and reasons are bounded (SC_PATH_MAX, the row's columns); a cut
 * reason is fine and a cut path is refused where it matters. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define CATALOG_QUEUE_MAX 1024     /* reports waiting for the signalling thread */
#define WEBM_HEAD_BYTES 65536      /* Info sits in the first few hundred bytes */

typedef enum report_kind {
    REP_STARTED,                   /* a file opened: row "recording" */
    REP_DONE,                      /* a file finished: "ready" / "failed" */
    REP_ERROR,                     /* disk full / quota: tell the moderators */
    REP_COMPOSITE,                 /* a composite job ended */
} report_kind;

typedef struct report {
    struct report *next;
    report_kind kind;
    char *path;                    /* NULL: no file */
    char room[SC_ROOM_NAME_MAX + 1];
    int slot;
    int64_t start_ms;
    int64_t duration_ms;
    uint64_t bytes;
    bool error;
    sc_recording_stop stop;
    char message[192];
    bool has_audio, has_video;
    char id[33];                   /* REP_COMPOSITE: the row */
    int rc;
} report;

/* A room session: the files of one room that overlap in time.  It ends
 * SC_CATALOG_SESSION_GRACE_MS after its last file closed if no new file
 * started meanwhile; then its composite is made.  Signalling thread. */
typedef struct rsession {
    struct rsession *next;
    char room[SC_ROOM_NAME_MAX + 1];
    char id[33];
    int open;                      /* files started and not yet done */
    int64_t idle_since;            /* monotonic ms when open reached 0 */
} rsession;

/* One composite to make, owned by the worker thread once queued. */
typedef struct cjob {
    struct cjob *next;
    char id[33];
    int n;
    sc_composite_input in[SC_COMPOSITE_MAX_INPUTS];
    char paths[SC_COMPOSITE_MAX_INPUTS][SC_PATH_MAX];
    char out[SC_PATH_MAX + 64];
    sc_composite_speaker *speakers; /* the session's speaker timeline, or NULL */
    int n_speakers;
    bool speaker_layout;
} cjob;

static void cjob_free(cjob *j)
{
    if (j)
        free(j->speakers);
    free(j);
}

/* The composite thread: decoding and encoding a session takes seconds to
 * minutes, so it never runs on the control or media threads.  Jobs run one
 * at a time (the machine's cores belong to the media plane first). */
typedef struct cworker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cjob *head, *tail;
    bool quit, busy, started;
    bool detached;                 /* released while busy: frees itself */
    pthread_t thread;
    sc_catalog *cat;               /* NULL once the catalog is gone */
} cworker;

typedef struct sess_timer {
    lws_sorted_usec_list_t sul;    /* first: the callback gets its address */
    sc_catalog *cat;
} sess_timer;

struct sc_catalog {
    sc_store *store;
    char dir[SC_PATH_MAX];
    void (*wake)(void *);
    void *wake_ud;
    sc_app *app;                /* for the timer and the room's clients */
    pthread_mutex_t lock;
    report *head, *tail;
    int queued;
    uint64_t dropped;
    rsession *sessions;
    sess_timer timer;
    bool timer_armed;
    cworker *worker;
    sc_catalog_stats stats;
    sc__speaker_note *speakers;    /* each talking room's last speaker */
};

sc_catalog *sc_catalog_new(sc_store *store, const char *dir, void (*wake)(void *), void *wake_ud)
{
    sc_catalog *cat = calloc(1, sizeof(*cat));
    if (!cat)
        return NULL;
    cat->store = store;
    snprintf(cat->dir, sizeof(cat->dir), "%s", dir);
    cat->wake = wake;
    cat->wake_ud = wake_ud;
    cat->timer.cat = cat;
    pthread_mutex_init(&cat->lock, NULL);
    return cat;
}

void sc_catalog_set_app(sc_catalog *cat, sc_app *app)
{
    if (cat)
        cat->app = app;
}

static void worker_release(cworker *w);

void sc_catalog_free(sc_catalog *cat)
{
    if (!cat)
        return;
    if (cat->timer_armed && cat->app && cat->app->loop)
        lws_sul_schedule(cat->app->loop, 0, &cat->timer.sul, NULL, LWS_SET_TIMER_USEC_CANCEL);
    worker_release(cat->worker);
    while (cat->head) {
        report *r = cat->head;
        cat->head = r->next;
        free(r->path);
        free(r);
    }
    while (cat->sessions) {
        rsession *s = cat->sessions;
        cat->sessions = s->next;
        free(s);
    }
    sc__replay_notes_free(&cat->speakers);
    pthread_mutex_destroy(&cat->lock);
    free(cat);
}

void sc_catalog_stats_get(sc_catalog *cat, sc_catalog_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!cat)
        return;
    pthread_mutex_lock(&cat->lock);
    *out = cat->stats;
    out->reports_dropped = cat->dropped;
    pthread_mutex_unlock(&cat->lock);
}

/* Any thread.  Takes r. */
static void queue_report(sc_catalog *cat, report *r)
{
    bool queued = false;

    pthread_mutex_lock(&cat->lock);
    if (cat->queued < CATALOG_QUEUE_MAX) {
        if (cat->tail)
            cat->tail->next = r;
        else
            cat->head = r;
        cat->tail = r;
        cat->queued++;
        queued = true;
    } else {
        cat->dropped++;
    }
    pthread_mutex_unlock(&cat->lock);
    if (!queued) {
        free(r->path);
        free(r);
        return;
    }
    if (cat->wake)
        cat->wake(cat->wake_ud);
}

/* ---- the composite thread ----------------------------------------------------- */

static void *worker_main(void *arg)
{
    cworker *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->quit)
            break;
        cjob *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->busy = true;
        pthread_mutex_unlock(&w->mu);

        sc_composite_opts opts;
        sc_composite_result res;
        char err[256] = "";
        int rc;
        memset(&res, 0, sizeof(res));
        sc_composite_opts_defaults(&opts);
        opts.speaker_layout = j->speaker_layout;
        opts.speakers = j->speakers;
        opts.n_speakers = j->n_speakers;
        rc = sc_composite_run(j->in, j->n, &opts, j->out, &res, err, sizeof(err));

        report *r = calloc(1, sizeof(*r));
        pthread_mutex_lock(&w->mu);
        w->busy = false;
        if (r && w->cat) {
            r->kind = REP_COMPOSITE;
            snprintf(r->id, sizeof(r->id), "%s", j->id);
            r->rc = rc;
            r->duration_ms = res.duration_ms;
            r->bytes = res.bytes;
            snprintf(r->message, sizeof(r->message), "%s", err[0] ? err : strerror(-rc));
            r->path = strdup(j->out);
            /* Under w->mu: the catalog cannot go away meanwhile. */
            queue_report(w->cat, r);
        } else {
            free(r);
        }
        cjob_free(j);
    }
    bool orphan = w->detached;
    pthread_mutex_unlock(&w->mu);
    if (orphan) {
        /* The catalog left while a job ran (shutdown): nobody joins us. */
        while (w->head) {
            cjob *j = w->head;
            w->head = j->next;
            cjob_free(j);
        }
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
    }
    return NULL;
}

static cworker *worker_get(sc_catalog *cat)
{
    cworker *w = cat->worker;
    if (w)
        return w;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->cat = cat;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    w->started = true;
    cat->worker = w;
    return w;
}

/* Stop the thread.  A job in progress cannot be interrupted: the thread is
 * left to finish it and free itself; its row stays "processing" and is run
 * again at the next start. */
static void worker_release(cworker *w)
{
    bool busy;

    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    busy = w->busy;
    w->detached = busy;
    w->cat = NULL;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (busy) {
        pthread_detach(w->thread);
        return;
    }
    pthread_join(w->thread, NULL);
    while (w->head) {
        cjob *j = w->head;
        w->head = j->next;
        cjob_free(j);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static int worker_submit(sc_catalog *cat, cjob *j)
{
    cworker *w = worker_get(cat);
    if (!w)
        return -ENOMEM;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* ---- parsers ------------------------------------------------------------------ */

/* An element header at p[0..len) (sc_ebml_header): its length, or 0. */
static size_t ebml_elem(const uint8_t *p, size_t len, uint32_t *id, uint64_t *size)
{
    size_t hl;
    return sc_ebml_header(p, len, id, size, &hl) == 0 ? hl : 0;
}

static int info_duration(const uint8_t *p, size_t len, int64_t *ms)
{
    uint64_t scale = 1000000, size;
    uint32_t id;
    double dur = -1;
    size_t off = 0;

    while (off < len) {
        size_t h = ebml_elem(p + off, len - off, &id, &size);
        if (!h || size == SC_EBML_UNKNOWN || size > len - off - h)
            return -EINVAL;
        const uint8_t *v = p + off + h;
        if (id == 0x2AD7B1 && size >= 1 && size <= 8)
            sc_ebml_uint(v, size, &scale);
        else if (id == 0x4489 && (size == 4 || size == 8))
            sc_ebml_float(v, size, &dur);
        off += h + size;
    }
    if (!(dur >= 0) || scale == 0)
        return -ENOENT;
    *ms = (int64_t)(dur * (double)scale / 1e6 + 0.5);
    return 0;
}

int sc_catalog_webm_duration(const uint8_t *buf, size_t len, int64_t *ms)
{
    uint64_t size;
    uint32_t id;
    size_t off, h = ebml_elem(buf, len, &id, &size);

    if (!h || id != 0x1A45DFA3 || size == SC_EBML_UNKNOWN || size > len - h)
        return -EINVAL;
    off = h + size;
    h = ebml_elem(buf + off, len - off, &id, &size);
    if (!h || id != 0x18538067)
        return -EINVAL;
    off += h;
    /* Segment children until the first Cluster; the Segment's own size
     * may be unknown (a file still written), so the buffer bounds it. */
    while (off < len) {
        h = ebml_elem(buf + off, len - off, &id, &size);
        if (!h)
            return -EINVAL;
        if (id == 0x1F43B675)
            return -ENOENT;
        if (size == SC_EBML_UNKNOWN || size > len - off - h)
            return -EINVAL;
        if (id == 0x1549A966)
            return info_duration(buf + off + h, (size_t)size, ms);
        off += h + (size_t)size;
    }
    return -EINVAL;
}

int sc_catalog_range_parse(const char *h, uint64_t total, uint64_t *start, uint64_t *len)
{
    unsigned long long a = 0, b = 0;
    const char *p;
    char *end;
    bool has_a, has_b;

    if (!h || strncmp(h, "bytes=", 6) != 0)
        return 1;
    p = h + 6;
    while (*p == ' ')
        p++;
    has_a = *p >= '0' && *p <= '9';
    if (has_a) {
        errno = 0;
        a = strtoull(p, &end, 10);
        if (errno)
            return 1;
        p = end;
    }
    if (*p != '-')
        return 1;
    p++;
    has_b = *p >= '0' && *p <= '9';
    if (has_b) {
        errno = 0;
        b = strtoull(p, &end, 10);
        if (errno)
            return 1;
        p = end;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || (!has_a && !has_b))
        return 1; /* several ranges or garbage: answer with the whole file */
    if (!has_a) {
        /* The last b bytes. */
        if (b == 0 || total == 0)
            return -ERANGE;
        *len = b < total ? b : total;
        *start = total - *len;
        return 0;
    }
    if (has_b && b < a)
        return 1;
    if (a >= total)
        return -ERANGE;
    if (!has_b || b >= total)
        b = total - 1;
    *start = a;
    *len = b - a + 1;
    return 0;
}

/* ---- rows ------------------------------------------------------------------------ */

static int random_id(char out[33])
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -EIO;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static void default_title(char *out, size_t cap, const char *room, int64_t start_ms)
{
    time_t t = (time_t)(start_ms / 1000);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    snprintf(out, cap, "%s %s", room, when);
}

/* A new row's fields (a fresh id; for an existing path the store keeps the
 * old one). */
static int row_init(sc_store_recording *r, const char *path, const char *room, int64_t start_ms,
                    const char *status, const char *kind)
{
    memset(r, 0, sizeof(*r));
    if (strlen(path) >= sizeof(r->path) || random_id(r->id) < 0)
        return -EINVAL;
    snprintf(r->room, sizeof(r->room), "%s", room);
    snprintf(r->status, sizeof(r->status), "%s", status);
    snprintf(r->kind, sizeof(r->kind), "%s", kind);
    snprintf(r->path, sizeof(r->path), "%s", path);
    default_title(r->title, sizeof(r->title), room, start_ms);
    r->started_at_ms = start_ms;
    r->slot = -1;
    return 0;
}

static void tracks_json(char *out, size_t cap, bool audio, bool video)
{
    snprintf(out, cap, "[%s%s%s]", audio ? "\"audio\"" : "", audio && video ? "," : "",
             video ? "\"video\"" : "");
}

/* ---- reports from the writer thread --------------------------------------------- */

static report *report_from(report_kind kind, const sc_recording_info *info)
{
    report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (info->path && !(r->path = strdup(info->path))) {
        free(r);
        return NULL;
    }
    r->kind = kind;
    snprintf(r->room, sizeof(r->room), "%s", info->room ? info->room : "");
    r->slot = info->slot;
    r->start_ms = info->start_unix_ms;
    r->duration_ms = info->duration_ms;
    r->bytes = info->bytes;
    r->error = info->error;
    r->stop = info->stop;
    snprintf(r->message, sizeof(r->message), "%s", info->message ? info->message : "");
    r->has_audio = info->has_audio;
    r->has_video = info->has_video;
    return r;
}

static void on_report(void *ud, report_kind kind, const sc_recording_info *info)
{
    sc_catalog *cat = ud;
    report *r;

    if (!cat || !info || (kind != REP_ERROR && !info->path))
        return;
    r = report_from(kind, info);
    if (r)
        queue_report(cat, r);
}

void sc_catalog_on_done(void *ud, const sc_recording_info *info)
{
    on_report(ud, REP_DONE, info);
}

void sc_catalog_on_started(void *ud, const sc_recording_info *info)
{
    on_report(ud, REP_STARTED, info);
}

void sc_catalog_on_error(void *ud, const sc_recording_info *info)
{
    on_report(ud, REP_ERROR, info);
}

/* ---- room sessions and their composites ------------------------------------------ */

static void arm_timer(sc_catalog *cat);

static rsession *session_of_room(sc_catalog *cat, const char *room)
{
    for (rsession *s = cat->sessions; s; s = s->next)
        if (strcmp(s->room, room) == 0)
            return s;
    return NULL;
}

/* The room's open session (a file starting within the grace period of the
 * last one's end joins it), or a new one. */
static rsession *session_join(sc_catalog *cat, const char *room)
{
    rsession *s = session_of_room(cat, room);
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s || random_id(s->id) < 0) {
            free(s);
            return NULL;
        }
        snprintf(s->room, sizeof(s->room), "%s", room);
        s->next = cat->sessions;
        cat->sessions = s;
        sc__replay_session_began(cat->speakers, cat->store, room);
    }
    s->open++;
    s->idle_since = 0;
    return s;
}

static void session_file_closed(sc_catalog *cat, const char *session)
{
    for (rsession *s = cat->sessions; s; s = s->next) {
        if (strcmp(s->id, session) != 0)
            continue;
        if (s->open > 0 && --s->open == 0) {
            s->idle_since = sc_mono_ms();
            arm_timer(cat);
        }
        return;
    }
}

typedef struct gather {
    sc_store_recording rows[SC_COMPOSITE_MAX_INPUTS];
    int n, skipped;
    bool live;                     /* a row still "recording" */
    int64_t start_ms;
} gather;

static void gather_row(void *ud, const sc_store_recording *r)
{
    gather *g = ud;
    struct stat st;

    if (strcmp(r->status, "recording") == 0) {
        g->live = true;
        return;
    }
    /* A failed file still plays up to where it stopped. */
    if (stat(r->path, &st) != 0 || st.st_size == 0) {
        g->skipped++;
        return;
    }
    /* Newest first from the store: keep the earliest ones. */
    if (g->n == SC_COMPOSITE_MAX_INPUTS) {
        memmove(g->rows, g->rows + 1, sizeof(g->rows[0]) * (SC_COMPOSITE_MAX_INPUTS - 1));
        g->n--;
        g->skipped++;
    }
    g->rows[g->n++] = *r;
}

static void composite_path(sc_catalog *cat, const gather *g, const char *room,
                           const char *session, char *out, size_t cap)
{
    /* Beside the slot files, in a folder of its own: neither the
     * recorder's repair of .part files nor the start-up scan (which take
     * every DIR/<room>/NAME.webm for a slot file) mistake it for one. */
    char dir[SC_PATH_MAX + 80], stamp[32] = "";
    const char *p = g->rows[0].path, *slash = strrchr(p, '/');
    time_t t = (time_t)(g->start_ms / 1000);
    struct tm tm;

    if (slash)
        snprintf(dir, sizeof(dir), "%.*s/composite", (int)(slash - p), p);
    else
        snprintf(dir, sizeof(dir), "%s/%s/composite", cat->dir, room);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        SC_WARN("catalog", "cannot create %s: %s", dir, strerror(errno));
    if (gmtime_r(&t, &tm))
        strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, cap, "%s/%s-%.8s.webm", dir, stamp, session);
}

static void composite_failed(sc_catalog *cat, const char *id, const char *reason)
{
    sc_store_recording_set_status(cat->store, id, "failed", reason, 0, 0, sc_wall_ms());
    pthread_mutex_lock(&cat->lock);
    cat->stats.composites_failed++;
    pthread_mutex_unlock(&cat->lock);
    SC_WARN("catalog", "composite %s failed: %s", id, reason);
}

/* The composite may not push the recordings past the quota: refused before
 * it starts when the quota is already used up, and checked again with its
 * real size when it ends (apply_composite).  0, or 1 with the row failed. */
static int quota_refuse(sc_catalog *cat, const char *id, int64_t adding)
{
    char why[160];

    if (!sc__replay_over_quota(cat->app, adding, why, sizeof(why)))
        return 0;
    composite_failed(cat, id, why);
    return 1;
}

/* Queue the composite of `session` into row `id` (created if existing is
 * NULL).  Signalling thread. */
static int composite_start(sc_catalog *cat, const char *room, const char *session,
                           const sc_store_recording *existing)
{
    sc_store_recording_filter f = {.kind = "track", .session = session};
    sc_store_recording row;
    char out[SC_PATH_MAX + 64], slots[128] = "[";
    gather *g = calloc(1, sizeof(*g));
    cjob *j = NULL;
    int rc = -ENOMEM;

    if (!g)
        return -ENOMEM;
    if (sc_store_recordings_query(cat->store, &f, gather_row, g) < 0) {
        rc = -EIO;
        goto out;
    }
    if (g->n == 0) {
        rc = -ENOENT; /* nothing playable: no composite */
        goto out;
    }
    /* Oldest first: the grid and the composite's time 0 follow it. */
    for (int a = 0, b = g->n - 1; a < b; a++, b--) {
        sc_store_recording tmp = g->rows[a];
        g->rows[a] = g->rows[b];
        g->rows[b] = tmp;
    }
    g->start_ms = g->rows[0].started_at_ms;
    for (int i = 0; i < g->n; i++) {
        size_t n = strlen(slots);
        snprintf(slots + n, sizeof(slots) - n, "%s%d", i ? "," : "", g->rows[i].slot);
    }
    snprintf(slots + strlen(slots), sizeof(slots) - strlen(slots), "]");
    j = calloc(1, sizeof(*j));
    if (!j)
        goto out;
    if (existing) {
        row = *existing;
        snprintf(out, sizeof(out), "%s", existing->path);
        /* Run again: processing, without the last run's outcome. */
        snprintf(row.status, sizeof(row.status), "processing");
        row.reason[0] = '\0';
        row.duration_ms = row.bytes = 0;
    } else {
        composite_path(cat, g, room, session, out, sizeof(out));
        if (row_init(&row, out, room, g->start_ms, "processing", "composite") < 0) {
            rc = -EINVAL;
            goto out;
        }
        snprintf(row.session, sizeof(row.session), "%s", session);
        snprintf(row.tracks, sizeof(row.tracks), "%s", slots);
    }
    j->n_speakers = sc__replay_layout(cat->store, room, g->rows, g->n, &j->speakers);
    j->speaker_layout = j->n_speakers > 0;
    snprintf(row.layout, sizeof(row.layout), "%s", j->speaker_layout ? "speaker" : "grid");
    if (sc_store_recording_put(cat->store, &row, sc_wall_ms()) < 0 ||
        sc_store_recording_by_path(cat->store, out, &row) < 0) {
        rc = -EIO;
        goto out;
    }
    if (quota_refuse(cat, row.id, 0)) {
        rc = -EDQUOT;
        goto out;
    }
    snprintf(j->id, sizeof(j->id), "%s", row.id);
    snprintf(j->out, sizeof(j->out), "%s", out);
    for (int i = 0; i < g->n; i++) {
        snprintf(j->paths[i], sizeof(j->paths[i]), "%s", g->rows[i].path);
        j->in[i].path = j->paths[i];
        j->in[i].slot = g->rows[i].slot >= 0 ? g->rows[i].slot : i;
        j->in[i].start_unix_ms = g->rows[i].started_at_ms;
    }
    j->n = g->n;
    rc = worker_submit(cat, j);
    if (rc < 0) {
        composite_failed(cat, row.id, "cannot start the composite thread");
        goto out;
    }
    SC_INFO_CTX("catalog", room, 0, "composite of %s (%d file%s, %s layout) queued: %s", room, g->n,
                g->n == 1 ? "" : "s", row.layout, out);
    j = NULL;
out:
    cjob_free(j);
    free(g);
    return rc;
}

void sc__catalog_sessions_tick(sc_catalog *cat, int64_t now)
{
    rsession **pp = &cat->sessions;

    while (*pp) {
        rsession *s = *pp;
        if (s->open == 0 && now - s->idle_since >= SC_CATALOG_SESSION_GRACE_MS) {
            *pp = s->next;
            SC_INFO_CTX("catalog", s->room, 0, "recording session %.8s of %s ended", s->id,
                        s->room);
            composite_start(cat, s->room, s->id, NULL);
            free(s);
        } else {
            pp = &s->next;
        }
    }
}

static void session_tick(lws_sorted_usec_list_t *sul)
{
    sc_catalog *cat = ((sess_timer *)sul)->cat;

    cat->timer_armed = false;
    sc__catalog_sessions_tick(cat, sc_mono_ms());
    arm_timer(cat);
}

void sc_catalog_on_speaker(sc_app *app, const char *room, int slot, int64_t unix_ms)
{
    sc_catalog *cat = app ? app->catalog : NULL;

    /* Stored only while the room records: that is all a composite needs. */
    if (cat && room &&
        sc__replay_speaker_note(&cat->speakers, cat->store, room, slot, unix_ms,
                                session_of_room(cat, room) != NULL) < 0)
        SC_WARN_CTX("catalog", room, 0, "cannot note the speaker of %s", room);
}

static void bus_speaker(void *ud, const sc_bus_event *ev)
{
    sc_catalog_on_speaker(ud, ev->room, ev->slot, ev->ts_ms); /* the composite's layout */
}

int sc_catalog_subscribe(sc_app *app)
{
    return sc_bus_subscribe(app->bus, SC_BUS_ACTIVE_SPEAKER, bus_speaker, app) < 0 ? -1 : 0;
}

/* RECORDING_READY with the catalog row as data. */
static void announce_ready(sc_catalog *cat, const sc_store_recording *row)
{
    json_t *data;

    if (!cat->app || !cat->app->bus)
        return;
    data = sc__catalog_recording_json(row);
    sc_bus_publish(cat->app->bus, &(sc_bus_event){.topic = SC_BUS_RECORDING_READY,
                                                  .room = row->room, .slot = row->slot,
                                                  .data = data});
    json_decref(data);
}

static void arm_timer(sc_catalog *cat)
{
    int64_t now = sc_mono_ms(), next = INT64_MAX;

    if (!cat->app || !cat->app->loop)
        return;
    for (rsession *s = cat->sessions; s; s = s->next)
        if (s->open == 0 && s->idle_since + SC_CATALOG_SESSION_GRACE_MS < next)
            next = s->idle_since + SC_CATALOG_SESSION_GRACE_MS;
    if (next == INT64_MAX)
        return;
    lws_sul_schedule(cat->app->loop, 0, &cat->timer.sul, session_tick,
                     (next > now ? next - now : 0) * LWS_US_PER_MS + 1000);
    cat->timer_armed = true;
}

/* ---- applying the reports (signalling thread) ------------------------------------ */

static void stop_reason(const report *r, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s", sc_recording_stop_name(r->stop), r->message[0] ? ": " : "",
             r->message);
}

static void apply_started(sc_catalog *cat, report *r)
{
    sc_store_recording row;
    rsession *s = session_join(cat, r->room);

    if (row_init(&row, r->path, r->room, r->start_ms, "recording", "track") < 0)
        return;
    row.slot = r->slot;
    if (s)
        snprintf(row.session, sizeof(row.session), "%s", s->id);
    if (sc_store_recording_put(cat->store, &row, sc_wall_ms()) < 0)
        SC_WARN("catalog", "cannot catalog %s", r->path);
}

static void apply_done(sc_catalog *cat, report *r)
{
    sc_store_recording row, old;
    struct stat st;
    bool known = sc_store_recording_by_path(cat->store, r->path, &old) == 0 && old.session[0];

    /* The writer's count may leave out the Cues written at close. */
    if (stat(r->path, &st) == 0)
        r->bytes = (uint64_t)st.st_size;
    if (row_init(&row, r->path, r->room, r->start_ms, r->error ? "failed" : "ready", "track") <
        0)
        return;
    row.slot = r->slot;
    row.duration_ms = r->duration_ms;
    row.bytes = (int64_t)r->bytes;
    tracks_json(row.tracks, sizeof(row.tracks), r->has_audio, r->has_video);
    if (r->error)
        stop_reason(r, row.reason, sizeof(row.reason));
    if (known) {
        snprintf(row.session, sizeof(row.session), "%s", old.session);
    } else {
        /* Its start was never reported (queue full): it still belongs to
         * the room's session. */
        rsession *s = session_join(cat, r->room);
        if (s)
            snprintf(row.session, sizeof(row.session), "%s", s->id);
    }
    if (sc_store_recording_put(cat->store, &row, sc_wall_ms()) < 0) {
        SC_WARN("catalog", "cannot catalog %s", r->path);
    } else {
        SC_INFO_CTX("catalog", r->room, 0, "recording of %s %s: %s (%.1f s)", r->room, row.status,
                    r->path, (double)r->duration_ms / 1000.0);
        if (!r->error)
            announce_ready(cat, &row);
    }
    if (row.session[0])
        session_file_closed(cat, row.session);
}

typedef struct rec_error_fan {
    json_t *msg;
} rec_error_fan;

static void send_to_moderator(void *ud, sc_ws_client *c)
{
    if (sc__is_moderator(c))
        sc_ws_send(c, json_incref(ud));
}

static void apply_error(sc_catalog *cat, report *r)
{
    const char *code = sc_recording_stop_name(r->stop);
    json_t *msg;

    pthread_mutex_lock(&cat->lock);
    if (r->stop == SC_RECORDING_STOP_QUOTA)
        cat->stats.failed_quota++;
    else if (r->stop == SC_RECORDING_STOP_DISK_FULL)
        cat->stats.failed_disk_full++;
    else
        cat->stats.failed_disk_error++;
    pthread_mutex_unlock(&cat->lock);
    SC_WARN_CTX("catalog", r->room, 0, "recording of %s slot %d stopped: %s%s%s", r->room, r->slot,
                code, r->message[0] ? ": " : "", r->message);
    if (!cat->app || !code[0])
        return;
    msg = json_pack("{s:s,s:s,s:s,s:i}", "type", "recording_error", "code", code, "message",
                    r->message[0] ? r->message : code, "slot", r->slot);
    if (msg)
        sc_ws_foreach_client(cat->app, r->room, send_to_moderator, msg);
    json_decref(msg);
}

static void apply_composite(sc_catalog *cat, report *r)
{
    struct stat st;

    if (r->rc == 0) {
        if (r->path && stat(r->path, &st) == 0)
            r->bytes = (uint64_t)st.st_size;
        if (quota_refuse(cat, r->id, (int64_t)r->bytes)) {
            /* Over the quota once made: the file goes, the row says why. */
            if (r->path && unlink(r->path) != 0 && errno != ENOENT)
                SC_WARN("catalog", "cannot remove %s: %s", r->path, strerror(errno));
            return;
        }
        sc_store_recording_set_status(cat->store, r->id, "ready", NULL, r->duration_ms,
                                      (int64_t)r->bytes, sc_wall_ms());
        pthread_mutex_lock(&cat->lock);
        cat->stats.composites_ready++;
        pthread_mutex_unlock(&cat->lock);
        SC_INFO("catalog", "composite %s ready (%.1f s)", r->id, (double)r->duration_ms / 1e3);
        {
            sc_store_recording row;
            if (sc_store_recording_get(cat->store, r->id, &row) == 0)
                announce_ready(cat, &row);
        }
    } else {
        composite_failed(cat, r->id, r->message[0] ? r->message : "composite failed");
    }
}

void sc_catalog_drain(sc_catalog *cat)
{
    report *list;

    if (!cat)
        return;
    pthread_mutex_lock(&cat->lock);
    list = cat->head;
    cat->head = cat->tail = NULL;
    cat->queued = 0;
    pthread_mutex_unlock(&cat->lock);
    while (list) {
        report *r = list;
        list = r->next;
        switch (r->kind) {
        case REP_STARTED:
            apply_started(cat, r);
            break;
        case REP_DONE:
            apply_done(cat, r);
            break;
        case REP_ERROR:
            apply_error(cat, r);
            break;
        case REP_COMPOSITE:
            apply_composite(cat, r);
            break;
        }
        free(r->path);
        free(r);
    }
}

/* ---- start-up: files on disk, rows left unfinished ------------------------------- */

/* Start time from the recorder's file name (YYYYMMDDTHHMMSSZ-slotN...),
 * else the file's modification time less its duration. */
static int64_t start_from_name(const char *name, const struct stat *st, int64_t duration_ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(name, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        if (t != (time_t)-1)
            return (int64_t)t * 1000;
    }
    return (int64_t)st->st_mtime * 1000 - duration_ms;
}

static int file_duration(const char *path, int64_t *ms)
{
    uint8_t *buf = malloc(WEBM_HEAD_BYTES);
    int fd, r = -EIO;
    ssize_t n;

    if (!buf)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = pread(fd, buf, WEBM_HEAD_BYTES, 0);
        if (n > 0)
            r = sc_catalog_webm_duration(buf, (size_t)n, ms);
        close(fd);
    }
    free(buf);
    return r;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int scan_room(sc_catalog *cat, const char *room)
{
    char dpath[SC_PATH_MAX + 80], path[SC_PATH_MAX + 400];
    sc_store_recording existing, row;
    struct dirent *e;
    struct stat st;
    int added = 0;
    DIR *d;

    snprintf(dpath, sizeof(dpath), "%s/%s", cat->dir, room);
    d = opendir(dpath);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        int64_t dur = 0;
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".webm"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dpath, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (sc_store_recording_by_path(cat->store, path, &existing) == 0)
            continue;
        bool ok = file_duration(path, &dur) == 0;
        if (row_init(&row, path, room, start_from_name(e->d_name, &st, dur), ok ? "ready" : "failed",
                     "track") < 0)
            continue;
        row.duration_ms = dur;
        row.bytes = (int64_t)st.st_size;
        if (!ok)
            snprintf(row.reason, sizeof(row.reason), "no duration in the file");
        if (sc_store_recording_put(cat->store, &row, sc_wall_ms()) == 0)
            added++;
    }
    closedir(d);
    return added;
}

typedef struct resolve_ctx {
    sc_catalog *cat;
    json_t *sessions;              /* session -> room, of track rows */
    json_t *done;                  /* sessions that have a composite row */
    json_t *rerun;                 /* composite rows to run again */
    int fixed;
} resolve_ctx;

/* A row a killed server left "recording": the recorder has repaired and
 * renamed its .part file by now (it starts first), or could not. */
static void resolve_track(void *ud, const sc_store_recording *r)
{
    resolve_ctx *x = ud;
    char part[sizeof(r->path) + 8];
    int64_t dur = 0;
    struct stat st;

    if (strcmp(r->kind, "track") != 0 || strcmp(r->status, "recording") != 0)
        return;
    snprintf(part, sizeof(part), "%s.part", r->path);
    if (stat(r->path, &st) == 0 && file_duration(r->path, &dur) == 0)
        sc_store_recording_set_status(x->cat->store, r->id, "ready", NULL, dur,
                                      (int64_t)st.st_size, sc_wall_ms());
    else
        sc_store_recording_set_status(x->cat->store, r->id, "failed",
                                      stat(part, &st) == 0 ? "interrupted; the file could not be repaired"
                                                           : "interrupted; the file is missing",
                                      0, 0, sc_wall_ms());
    x->fixed++;
}

static void collect_sessions(void *ud, const sc_store_recording *r)
{
    resolve_ctx *x = ud;
    if (!r->session[0])
        return;
    if (strcmp(r->kind, "composite") == 0) {
        json_object_set_new(x->done, r->session, json_true());
        if (strcmp(r->status, "processing") == 0)
            json_object_set_new(x->rerun, r->id, json_string(r->room));
    } else {
        json_object_set_new(x->sessions, r->session, json_string(r->room));
    }
}

/* Rows left "recording" become ready (repaired) or failed; composites left
 * "processing" run again; a session whose end the server did not see
 * (killed, or stopped within the grace period) gets its composite now. */
static void resolve_unfinished(sc_catalog *cat)
{
    sc_store_recording_filter all = {0};
    resolve_ctx x = {cat, json_object(), json_object(), json_object(), 0};
    const char *key;
    json_t *v;

    if (!x.sessions || !x.done || !x.rerun)
        goto out;
    all.status = "recording";
    sc_store_recordings_query(cat->store, &all, resolve_track, &x);
    all.status = NULL;
    sc_store_recordings_query(cat->store, &all, collect_sessions, &x);
    json_object_foreach(x.rerun, key, v) {
        sc_store_recording row;
        if (sc_store_recording_get(cat->store, key, &row) == 0)
            composite_start(cat, row.room, row.session, &row);
    }
    json_object_foreach(x.sessions, key, v) {
        if (!json_object_get(x.done, key))
            composite_start(cat, json_string_value(v), key, NULL);
    }
    if (x.fixed)
        SC_INFO("catalog", "%d interrupted recording(s) resolved", x.fixed);
out:
    json_decref(x.sessions);
    json_decref(x.done);
    json_decref(x.rerun);
}

int sc_catalog_scan(sc_catalog *cat)
{
    struct dirent *e;
    int added = 0;
    DIR *d;

    if (!cat)
        return -EINVAL;
    /* Speaker changes only lay out composites, made within minutes (or at
     * the next start): older ones are of no use. */
    sc_store_speakers_prune(cat->store, sc_wall_ms() - SC_CATALOG_SPEAKERS_KEEP_MS);
    resolve_unfinished(cat);
    d = opendir(cat->dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        /* The recorder sanitizes room names to [A-Za-z0-9._-]; the catalog
         * keeps only the names a room can really have. */
        if (e->d_name[0] == '.' || !sc_rooms_name_ok(e->d_name))
            continue;
        added += scan_room(cat, e->d_name);
    }
    closedir(d);
    if (added)
        SC_INFO("catalog", "%d recording(s) found in %s", added, cat->dir);
    return added;
}
