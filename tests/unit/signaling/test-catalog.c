/* The recordings catalog: Range header parsing, the WebM Duration reader
 * (on files the recorder's writer makes, and on broken input), the catalog
 * rows (put keeps id / title / published by path; list filters; publish;
 * delete), the start-up scan and the writer-thread hand-over. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sc_test.h"
#include "catalog.h"
#include "store.h"
#include "webm.h"

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
        sc_store_close(st);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    SC_TEST_END();
}
