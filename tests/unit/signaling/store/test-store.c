/* signaling/store.c: schema migrations and session records. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/store/store.h"
#include "tests/unit/sc_test.h"

static char dir[] = "/tmp/sc-test-store-XXXXXX";
static char path[256];

static void query(const char *sql, char *out, size_t len)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
        sqlite3_column_text(s, 0))
        snprintf(out, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

int main(void)
{
    char err[256] = "", v[128];
    int total = -1, open = -1;

    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/stagecast.db", dir);

    sc_store *st = sc_store_open(path, err, sizeof(err));
    SC_CHECK(st != NULL);
    if (!st)
        return 1;
    SC_CHECK_INT(sc_store_schema_version(st), sc_store_latest_schema());
    SC_CHECK_INT(sc_store_session_started(st, 0xfedcba9876543210ULL, "demo", "publish", "Ann",
                                          "u-1", 1000),
                 0);
    SC_CHECK_INT(sc_store_session_started(st, 7, "demo", "subscribe", NULL, NULL, 2000), 0);
    SC_CHECK_INT(sc_store_session_ended(st, 7, 3000, "consent-expired"), 0);
    /* a second end does not overwrite the first */
    SC_CHECK_INT(sc_store_session_ended(st, 7, 4000, "closed"), 0);
    SC_CHECK_INT(sc_store_count_sessions(st, &total, &open), 0);
    SC_CHECK_INT(total, 2);
    SC_CHECK_INT(open, 1);
    query("SELECT end_reason || ':' || ended_at FROM sessions WHERE id='0000000000000007'", v,
          sizeof(v));
    SC_CHECK_STR(v, "consent-expired:3000");
    query("SELECT room || '/' || kind || '/' || name || '/' || user_id FROM sessions WHERE "
          "id='fedcba9876543210'",
          v, sizeof(v));
    SC_CHECK_STR(v, "demo/publish/Ann/u-1");
    query("PRAGMA journal_mode", v, sizeof(v));
    SC_CHECK_STR(v, "wal");
    sc_store_close(st);

    /* Reopen: no migration runs twice; the session left open is closed as
     * "restart" (the previous process died without ending it). */
    st = sc_store_open(path, err, sizeof(err));
    SC_CHECK(st != NULL);
    if (st) {
        SC_CHECK_INT(sc_store_schema_version(st), sc_store_latest_schema());
        SC_CHECK_INT(sc_store_count_sessions(st, &total, &open), 0);
        SC_CHECK_INT(total, 2);
        SC_CHECK_INT(open, 0);
        sc_store_close(st);
    }
    query("SELECT COUNT(*) FROM schema_version", v, sizeof(v));
    char latest[16];
    snprintf(latest, sizeof(latest), "%d", sc_store_latest_schema());
    SC_CHECK_STR(v, latest); /* one row per migration, each applied once */
    query("SELECT end_reason FROM sessions WHERE id='fedcba9876543210'", v, sizeof(v));
    SC_CHECK_STR(v, "restart");

    /* A database from a newer build is refused, not silently used. */
    {
        sqlite3 *db;
        sqlite3_open(path, &db);
        sqlite3_exec(db, "INSERT INTO schema_version VALUES (99, 0)", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    st = sc_store_open(path, err, sizeof(err));
    SC_CHECK(st == NULL);
    SC_CHECK(strstr(err, "newer") != NULL);
    sc_store_close(st);

    /* An unwritable path fails with a reason. */
    st = sc_store_open("/nonexistent-dir/x.db", err, sizeof(err));
    SC_CHECK(st == NULL);
    SC_CHECK(err[0] != '\0');

    sc_store_close(NULL);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    SC_TEST_END();
}
