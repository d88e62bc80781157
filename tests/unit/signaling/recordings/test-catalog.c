/* The recordings catalog: Range header parsing, the WebM Duration reader
 * (on files the recorder's writer makes, and on broken input), the catalog
 * rows (put keeps id / title / published by path; list filters; publish;
 * delete), the start-up scan and the writer-thread hand-over; room sessions
 * (grouping by room and time, the grace period), the speaker history that
 * lays out a composite, and the composite's quota check. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signaling/recordings/catalog.h"
#include "common/clock.h"
#include "signaling/app/config.h"
#include "recorder/webm.h"
#include "signaling/recordings/replay.h"
#include "signaling/store/store.h"
#include "tests/unit/sc_test.h"
#include <time.h>

static void test_range(void)
{
    uint64_t s = 99, l = 99;

    SC_CHECK_INT(sc_catalog_range_parse(NULL, 1000, &s, &l), 1);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=0-99", 1000, &s, &l), 0);
    SC_CHECK_INT(s, 0);
    SC_CHECK_INT(l, 100);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=990-", 1000, &s, &l), 0);
    SC_CHECK_INT(s, 990);
    SC_CHECK_INT(l, 10);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=500-5000", 1000, &s, &l), 0);
    SC_CHECK_INT(s, 500);
    SC_CHECK_INT(l, 500);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=-30", 1000, &s, &l), 0);
    SC_CHECK_INT(s, 970);
    SC_CHECK_INT(l, 30);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=-3000", 1000, &s, &l), 0);
    SC_CHECK_INT(s, 0);
    SC_CHECK_INT(l, 1000);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=1000-", 1000, &s, &l), -ERANGE);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=2000-3000", 1000, &s, &l), -ERANGE);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=-0", 1000, &s, &l), -ERANGE);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=0-", 0, &s, &l), -ERANGE);
    /* Not understood: the whole file. */
    SC_CHECK_INT(sc_catalog_range_parse("bytes=5-2", 1000, &s, &l), 1);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=0-1,5-6", 1000, &s, &l), 1);
    SC_CHECK_INT(sc_catalog_range_parse("items=0-1", 1000, &s, &l), 1);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=-", 1000, &s, &l), 1);
    SC_CHECK_INT(sc_catalog_range_parse("bytes=99999999999999999999999-", 1000, &s, &l), 1);
}

/* A WebM file of `ms` of Opus-shaped frames (the container does not look
 * inside them). */
static int make_webm(const char *path, int ms)
{
    sc_webm_track t = {.codec = SC_WEBM_OPUS, .sample_rate = 48000, .channels = 2};
    uint8_t frame[40];
    char err[256];
    sc_webm *w = sc_webm_open(path, &t, 1, err, sizeof(err));

    if (!w)
        return -EIO;
    memset(frame, 0xfc, sizeof(frame));
    for (int ts = 0; ts < ms; ts += 20)
        if (sc_webm_write(w, 0, ts, true, frame, sizeof(frame)) < 0) {
            sc_webm_close(w);
            return -EIO;
        }
    return sc_webm_close(w);
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f)
        fclose(f);
    return n;
}

static void test_duration(const char *dir)
{
    static uint8_t buf[65536];
    char path[512];
    int64_t ms = -1;
    size_t n;

    snprintf(path, sizeof(path), "%s/d.webm", dir);
    SC_CHECK_INT(make_webm(path, 3000), 0);
    n = slurp(path, buf, sizeof(buf));
    SC_CHECK(n > 100);
    SC_CHECK_INT(sc_catalog_webm_duration(buf, n, &ms), 0);
    SC_CHECK(ms >= 2980 && ms <= 3020);
    /* Every truncation fails cleanly (or still finds Info). */
    for (size_t cut = 0; cut < n && cut < 400; cut++) {
        int64_t m2 = -1;
        int r = sc_catalog_webm_duration(buf, cut, &m2);
        SC_CHECK(r == 0 ? m2 == ms : (r == -EINVAL || r == -ENOENT));
    }
    SC_CHECK_INT(sc_catalog_webm_duration((const uint8_t *)"\x1a\x45\xdf\xa3\x80", 5, &ms),
                 -EINVAL);
    SC_CHECK_INT(sc_catalog_webm_duration((const uint8_t *)"RIFF....", 8, &ms), -EINVAL);
    unlink(path);
}

static int listed;
static char first_id[33];
static void count_row(void *ud, const sc_store_recording *r)
{
    (void)ud;
    if (!listed)
        snprintf(first_id, sizeof(first_id), "%s", r->id);
    listed++;
}

static int list(sc_store *st, const char *room, int64_t from, int64_t to)
{
    listed = 0;
    int n = sc_store_recordings_list(st, room, from, to, count_row, NULL);
    return n == listed ? n : -1;
}

static void test_rows(sc_store *st)
{
    sc_store_recording r, got;

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%032d", 1);
    snprintf(r.room, sizeof(r.room), "alpha");
    snprintf(r.title, sizeof(r.title), "alpha talk");
    snprintf(r.status, sizeof(r.status), "ready");
    snprintf(r.path, sizeof(r.path), "/x/alpha/1.webm");
    r.started_at_ms = 1000;
    r.duration_ms = 5000;
    r.bytes = 123;
    SC_CHECK_INT(sc_store_recording_put(st, &r, 1), 0);
    snprintf(r.id, sizeof(r.id), "%032d", 2);
    snprintf(r.room, sizeof(r.room), "beta");
    snprintf(r.path, sizeof(r.path), "/x/beta/2.webm");
    r.started_at_ms = 2000;
    SC_CHECK_INT(sc_store_recording_put(st, &r, 1), 0);

    SC_CHECK_INT(list(st, NULL, INT64_MIN, INT64_MAX), 2);
    SC_CHECK_STR(first_id, "00000000000000000000000000000002"); /* newest first */
    SC_CHECK_INT(list(st, "alpha", INT64_MIN, INT64_MAX), 1);
    SC_CHECK_INT(list(st, "gamma", INT64_MIN, INT64_MAX), 0);
    SC_CHECK_INT(list(st, NULL, 1500, INT64_MAX), 1);
    SC_CHECK_INT(list(st, NULL, 1000, 1000), 1);
    SC_CHECK_INT(list(st, NULL, 0, 999), 0);

    SC_CHECK_INT(sc_store_recording_set_published(st, "00000000000000000000000000000001", 1, 5),
                 0);
    SC_CHECK_INT(sc_store_recording_set_published(st, "nope", 1, 5), -ENOENT);
    /* The same path again (scan after the writer): id, title, published kept. */
    snprintf(r.id, sizeof(r.id), "%032d", 9);
    snprintf(r.room, sizeof(r.room), "alpha");
    snprintf(r.title, sizeof(r.title), "other");
    snprintf(r.status, sizeof(r.status), "failed");
    snprintf(r.path, sizeof(r.path), "/x/alpha/1.webm");
    r.bytes = 456;
    SC_CHECK_INT(sc_store_recording_put(st, &r, 7), 0);
    SC_CHECK_INT(sc_store_recording_get(st, "00000000000000000000000000000001", &got), 0);
    SC_CHECK_STR(got.title, "alpha talk");
    SC_CHECK_STR(got.status, "failed");
    SC_CHECK_INT(got.bytes, 456);
    SC_CHECK(got.published);
    SC_CHECK_INT(got.updated_at_ms, 7);
    SC_CHECK_INT(sc_store_recording_get(st, "00000000000000000000000000000009", &got), -ENOENT);
    SC_CHECK_INT(sc_store_recording_by_path(st, "/x/beta/2.webm", &got), 0);
    SC_CHECK_STR(got.room, "beta");

    SC_CHECK_INT(sc_store_recording_delete(st, "00000000000000000000000000000001"), 0);
    SC_CHECK_INT(sc_store_recording_delete(st, "00000000000000000000000000000001"), -ENOENT);
    SC_CHECK_INT(sc_store_recording_delete(st, "00000000000000000000000000000002"), 0);
    SC_CHECK_INT(list(st, NULL, INT64_MIN, INT64_MAX), 0);
}

static int wakes;
static void wake(void *ud)
{
    (void)ud;
    __atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST);
}

typedef struct done_args {
    sc_catalog *cat;
    const char *path;
} done_args;

static void *writer_thread(void *p)
{
    done_args *a = p;
    sc_recording_info info = {.path = a->path, .room = "live", .slot = 0, .generation = 1,
                              .start_unix_ms = 1700000000000LL, .duration_ms = 2000,
                              .bytes = 1, .error = false};
    sc_catalog_on_done(a->cat, &info);
    return NULL;
}

static void test_scan_and_done(sc_store *st, const char *dir)
{
    char rdir[512], path[600], live[600];
    sc_store_recording got;
    sc_catalog *cat;
    pthread_t th;

    snprintf(rdir, sizeof(rdir), "%s/rec", dir);
    mkdir(rdir, 0700);
    snprintf(path, sizeof(path), "%s/old", rdir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/old/20260102T030405Z-slot0.webm", rdir);
    SC_CHECK_INT(make_webm(path, 1500), 0);
    snprintf(live, sizeof(live), "%s/bad..name", rdir); /* not a room name: ignored */
    mkdir(live, 0700);

    cat = sc_catalog_new(st, rdir, wake, NULL);
    SC_CHECK(cat != NULL);
    if (!cat)
        return;
    SC_CHECK_INT(sc_catalog_scan(cat), 1);
    SC_CHECK_INT(sc_catalog_scan(cat), 0); /* known already */
    SC_CHECK_INT(sc_store_recording_by_path(st, path, &got), 0);
    SC_CHECK_STR(got.room, "old");
    SC_CHECK_STR(got.status, "ready");
    SC_CHECK_INT(got.started_at_ms, 1767323045000LL);
    SC_CHECK(got.duration_ms >= 1480 && got.duration_ms <= 1520);
    SC_CHECK_STR(got.title, "old 2026-01-02 03:04 UTC");
    SC_CHECK_INT(strlen(got.id), 32);

    /* The writer thread only queues; the row appears at drain. */
    snprintf(live, sizeof(live), "%s/live.webm", rdir);
    SC_CHECK_INT(make_webm(live, 2000), 0);
    done_args a = {cat, live};
    pthread_create(&th, NULL, writer_thread, &a);
    pthread_join(th, NULL);
    SC_CHECK_INT(wakes, 1);
    SC_CHECK_INT(sc_store_recording_by_path(st, live, &got), -ENOENT);
    sc_catalog_drain(cat);
    SC_CHECK_INT(sc_store_recording_by_path(st, live, &got), 0);
    SC_CHECK_STR(got.room, "live");
    SC_CHECK_INT(got.duration_ms, 2000);
    struct stat sb;
    SC_CHECK(stat(live, &sb) == 0 && got.bytes == sb.st_size); /* the size on disk */
    sc_catalog_free(cat);
    unlink(path);
    unlink(live);
}

/* ---- room sessions ---- */

static void report(sc_catalog *cat, bool done, const char *room, int slot, const char *path)
{
    sc_recording_info info = {.path = path, .room = room, .slot = slot, .generation = 1,
                              .start_unix_ms = 1700000000000LL, .duration_ms = 1000};
    if (done)
        sc_catalog_on_done(cat, &info);
    else
        sc_catalog_on_started(cat, &info);
}

/* The session of the row at path ("" when there is no row). */
static const char *session_of(sc_store *st, const char *path)
{
    static char out[4][33];
    static int k;
    sc_store_recording r;
    char *o = out[k++ % 4];

    o[0] = '\0';
    if (sc_store_recording_by_path(st, path, &r) == 0)
        snprintf(o, 33, "%s", r.session);
    return o;
}

static void test_sessions(sc_store *st, const char *dir)
{
    char a[6][300], b[2][300], c0[300], s_a[33], s_b[33];
    sc_catalog *cat = sc_catalog_new(st, dir, NULL, NULL);
    int64_t t0;

    SC_CHECK(cat != NULL);
    if (!cat)
        return;
    /* Paths that do not exist: sessions end without a composite (nothing
     * playable), so no composite thread runs here. */
    for (int i = 0; i < 6; i++)
        snprintf(a[i], sizeof(a[i]), "%s/nowhere/a%d.webm", dir, i);
    for (int i = 0; i < 2; i++)
        snprintf(b[i], sizeof(b[i]), "%s/nowhere/b%d.webm", dir, i);
    snprintf(c0, sizeof(c0), "%s/nowhere/c0.webm", dir);

    /* Files of one room overlapping in time share a session; another room
     * has its own. */
    report(cat, false, "ra", 0, a[0]);
    report(cat, false, "ra", 1, a[1]);
    report(cat, false, "rb", 0, b[0]);
    sc_catalog_drain(cat);
    snprintf(s_a, sizeof(s_a), "%s", session_of(st, a[0]));
    snprintf(s_b, sizeof(s_b), "%s", session_of(st, b[0]));
    SC_CHECK_INT(strlen(s_a), 32);
    SC_CHECK_INT(strlen(s_b), 32);
    SC_CHECK_STR(session_of(st, a[1]), s_a);
    SC_CHECK(strcmp(s_a, s_b) != 0);

    /* One file of ra ends: the other keeps the session open, whatever the
     * time; a third file joins it. */
    report(cat, true, "ra", 0, a[0]);
    sc_catalog_drain(cat);
    sc__catalog_sessions_tick(cat, (int64_t)sc_mono_ms() + 10 * SC_CATALOG_SESSION_GRACE_MS);
    report(cat, false, "ra", 2, a[2]);
    sc_catalog_drain(cat);
    SC_CHECK_STR(session_of(st, a[2]), s_a);
    SC_CHECK_STR(session_of(st, a[0]), s_a); /* the done row keeps its session */

    /* Every file of ra done: within the grace period a new file still
     * joins the session ...  t0 is read before the drain that makes the
     * session idle, so its idle_since is >= t0 and a tick before
     * t0 + GRACE is inside the grace period however long the drain (or
     * the machine) takes; a tick past now + GRACE, now read after the
     * drain, is past it. */
    report(cat, true, "ra", 1, a[1]);
    report(cat, true, "ra", 2, a[2]);
    t0 = (int64_t)sc_mono_ms();
    sc_catalog_drain(cat);
    sc__catalog_sessions_tick(cat, t0 + SC_CATALOG_SESSION_GRACE_MS / 2);
    report(cat, false, "ra", 0, a[3]);
    sc_catalog_drain(cat);
    SC_CHECK_STR(session_of(st, a[3]), s_a);
    /* ... and after it the session is over: the next file starts another. */
    report(cat, true, "ra", 0, a[3]);
    t0 = (int64_t)sc_mono_ms();
    sc_catalog_drain(cat);
    sc__catalog_sessions_tick(cat, t0 + SC_CATALOG_SESSION_GRACE_MS - 1);
    report(cat, false, "ra", 1, a[4]);
    sc_catalog_drain(cat);
    SC_CHECK_STR(session_of(st, a[4]), s_a); /* not yet */
    report(cat, true, "ra", 1, a[4]);
    sc_catalog_drain(cat);
    sc__catalog_sessions_tick(cat, (int64_t)sc_mono_ms() + SC_CATALOG_SESSION_GRACE_MS + 10);
    report(cat, false, "ra", 0, a[5]);
    sc_catalog_drain(cat);
    SC_CHECK_INT(strlen(session_of(st, a[5])), 32);
    SC_CHECK(strcmp(session_of(st, a[5]), s_a) != 0);
    SC_CHECK(strcmp(session_of(st, a[5]), s_b) != 0);

    /* rb was open all along: untouched by ra's ticks. */
    report(cat, false, "rb", 1, b[1]);
    sc_catalog_drain(cat);
    SC_CHECK_STR(session_of(st, b[1]), s_b);

    /* A file whose start was never reported (queue full) still lands in
     * its room's session. */
    report(cat, true, "rb", 0, c0);
    sc_catalog_drain(cat);
    SC_CHECK_STR(session_of(st, c0), s_b);
    sc_catalog_free(cat);
}

/* ---- speakers and the composite's layout ---- */

typedef struct spk_list {
    int64_t ts[16];
    int slot[16];
    int n;
} spk_list;

static void spk_row(void *ud, int64_t ts, int slot)
{
    spk_list *l = ud;
    if (l->n < 16) {
        l->ts[l->n] = ts;
        l->slot[l->n] = slot;
    }
    l->n++;
}

static int spk_between(sc_store *st, const char *room, int64_t from, int64_t to, spk_list *l)
{
    memset(l, 0, sizeof(*l));
    int n = sc_store_speakers_between(st, room, from, to, 0, spk_row, l);
    return n == l->n ? n : -1;
}

static void test_speakers(sc_store *st, const char *dir)
{
    sc_app app;
    sc_catalog *cat = sc_catalog_new(st, dir, NULL, NULL);
    sc_composite_speaker *sp = NULL;
    sc_store_recording rows[2];
    char path[300];
    spk_list l;
    int n;

    SC_CHECK(cat != NULL);
    if (!cat)
        return;
    memset(&app, 0, sizeof(app));
    app.store = st;
    app.catalog = cat;

    /* Not recording: remembered, not stored. */
    sc_catalog_on_speaker(&app, "talk", 1, 100);
    SC_CHECK_INT(spk_between(st, "talk", 0, 1000000, &l), 0);
    /* The room starts recording: the speaker in effect is stored ... */
    snprintf(path, sizeof(path), "%s/nowhere/talk0.webm", dir);
    report(cat, false, "talk", 0, path);
    sc_catalog_drain(cat);
    SC_CHECK_INT(spk_between(st, "talk", 0, 1000000, &l), 1);
    SC_CHECK_INT(l.ts[0], 100);
    SC_CHECK_INT(l.slot[0], 1);
    /* ... then every change while it records. */
    sc_catalog_on_speaker(&app, "talk", 0, 200);
    sc_catalog_on_speaker(&app, "talk", 0, 250);
    sc_catalog_on_speaker(&app, "talk", -1, 300);
    sc_catalog_on_speaker(&app, "talk", 1, 400);
    sc_catalog_on_speaker(&app, "other", 1, 410); /* another room, not recording */
    SC_CHECK_INT(spk_between(st, "talk", 0, 1000000, &l), 5);
    SC_CHECK_INT(spk_between(st, "other", 0, 1000000, &l), 0);
    /* From 220: the change in effect then (200) comes first. */
    SC_CHECK_INT(spk_between(st, "talk", 220, 1000000, &l), 4);
    SC_CHECK_INT(l.ts[0], 200);
    SC_CHECK_INT(l.slot[0], 0);
    SC_CHECK_INT(l.ts[3], 400);
    SC_CHECK_INT(spk_between(st, "talk", 220, 310, &l), 3);

    /* The composite's timeline: repeats dropped, oldest first. */
    n = sc__replay_speakers(st, "talk", 150, 1000000, &sp);
    SC_CHECK_INT(n, 4);
    if (sp && n == 4) {
        SC_CHECK_INT(sp[0].unix_ms, 100);
        SC_CHECK_INT(sp[0].slot, 1);
        SC_CHECK_INT(sp[1].unix_ms, 200);
        SC_CHECK_INT(sp[1].slot, 0);
        SC_CHECK_INT(sp[2].slot, -1);
        SC_CHECK_INT(sp[3].unix_ms, 400);
        SC_CHECK_INT(sp[3].slot, 1);
    }
    free(sp);
    SC_CHECK_INT(sc__replay_speakers(st, "other", 0, 1000000, &sp), 0);
    SC_CHECK(sp == NULL);

    /* The layout: the speaker timeline when two slots were on stage, the
     * grid with one slot (or nobody heard). */
    memset(rows, 0, sizeof(rows));
    rows[0].slot = 0;
    rows[0].started_at_ms = 150;
    rows[0].duration_ms = 200;
    rows[1].slot = 1;
    rows[1].started_at_ms = 180;
    rows[1].duration_ms = 1000;
    n = sc__replay_layout(st, "talk", rows, 2, &sp);
    SC_CHECK_INT(n, 4); /* up to 1180: the change at 400 included */
    free(sp);
    rows[1].duration_ms = 100; /* ends at 350: 400 is outside */
    n = sc__replay_layout(st, "talk", rows, 2, &sp);
    SC_CHECK_INT(n, 3);
    free(sp);
    rows[1].slot = 0;
    SC_CHECK_INT(sc__replay_layout(st, "talk", rows, 2, &sp), 0);
    SC_CHECK(sp == NULL);
    rows[1].slot = 1;
    SC_CHECK_INT(sc__replay_layout(st, "other", rows, 2, &sp), 0);
    SC_CHECK(sp == NULL);

    /* Old changes are pruned. */
    SC_CHECK_INT(sc_store_speakers_prune(st, 260), 0);
    SC_CHECK_INT(spk_between(st, "talk", 0, 1000000, &l), 2);
    SC_CHECK_INT(l.ts[0], 300);
    sc_catalog_free(cat);
}

/* ---- the composite's quota ---- */

static void test_quota(sc_store *st)
{
    sc_config cfg;
    sc_app app;
    sc_store_recording r, got;
    char why[160] = "";

    memset(&cfg, 0, sizeof(cfg));
    memset(&app, 0, sizeof(app));
    app.store = st;
    app.cfg = &cfg;
    /* No quota: never over. */
    SC_CHECK(!sc__replay_over_quota(&app, 1LL << 40, why, sizeof(why)));
    cfg.recordings_quota_mib = 1;

    /* A ready composite of 1 MiB - 100 bytes; a processing one does not
     * count yet. */
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%032d", 41);
    snprintf(r.room, sizeof(r.room), "q");
    snprintf(r.title, sizeof(r.title), "q");
    snprintf(r.status, sizeof(r.status), "ready");
    snprintf(r.kind, sizeof(r.kind), "composite");
    snprintf(r.layout, sizeof(r.layout), "speaker");
    snprintf(r.path, sizeof(r.path), "/x/q/composite/1.webm");
    r.slot = -1;
    r.bytes = (1 << 20) - 100;
    SC_CHECK_INT(sc_store_recording_put(st, &r, 1), 0);
    SC_CHECK_INT(sc_store_recording_get(st, r.id, &got), 0);
    SC_CHECK_STR(got.layout, "speaker");
    snprintf(r.id, sizeof(r.id), "%032d", 42);
    snprintf(r.status, sizeof(r.status), "processing");
    snprintf(r.path, sizeof(r.path), "/x/q/composite/2.webm");
    r.layout[0] = '\0';
    SC_CHECK_INT(sc_store_recording_put(st, &r, 1), 0);
    SC_CHECK_INT(sc_store_recording_get(st, r.id, &got), 0);
    SC_CHECK_STR(got.layout, "");
    SC_CHECK_INT(sc_store_recordings_bytes(st, "composite", "ready"), (1 << 20) - 100);
    SC_CHECK_INT(sc__replay_usage(&app), (1 << 20) - 100);

    SC_CHECK(!sc__replay_over_quota(&app, 0, why, sizeof(why)));   /* room left: may start */
    SC_CHECK(!sc__replay_over_quota(&app, 100, why, sizeof(why))); /* fits exactly */
    SC_CHECK(sc__replay_over_quota(&app, 101, why, sizeof(why)));  /* one byte too many */
    SC_CHECK(strncmp(why, "quota", 5) == 0);
    /* Used up: not even started. */
    SC_CHECK_INT(sc_store_recording_set_status(st, r.id, "ready", NULL, 1000, 100, 2), 0);
    SC_CHECK(sc__replay_over_quota(&app, 0, why, sizeof(why)));
    SC_CHECK_INT(sc_store_recording_delete(st, "00000000000000000000000000000041"), 0);
    SC_CHECK_INT(sc_store_recording_delete(st, r.id), 0);
    SC_CHECK_INT(sc__replay_usage(&app), 0);
}

int main(void)
{
    char dir[] = "/tmp/sc-catalog-XXXXXX", db[128], err[256];
    sc_store *st;

    test_range();
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_duration(dir);
    snprintf(db, sizeof(db), "%s/t.db", dir);
    st = sc_store_open(db, err, sizeof(err));
    SC_CHECK(st != NULL);
    if (st) {
        test_rows(st);
        test_scan_and_done(st, dir);
        test_sessions(st, dir);
        test_speakers(st, dir);
        test_quota(st);
        sc_store_close(st);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    SC_TEST_END();
}
