/* Opening the database, its migrations, and the statement helpers the
 * domain files share. */
#include "signaling/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "signaling/store/private.h"

/* Migrations, applied in order; migration i brings the schema to version
 * i + 1.  Never edit a shipped entry: append a new one. */
static const char *const migrations[] = {
    "CREATE TABLE sessions ("
    "  id TEXT PRIMARY KEY,"          /* 16 hex digits: ids use all 64 bits */
    "  room TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  name TEXT,"
    "  user_id TEXT,"
    "  started_at INTEGER NOT NULL,"  /* Unix ms */
    "  ended_at INTEGER,"
    "  end_reason TEXT);"
    "CREATE INDEX sessions_room ON sessions(room, started_at);",
    /* 2: interactions (chat, Q&A, polls, lottery, check-in, moderation)
     * with the room's media time; bans; per-room settings. */
    "CREATE TABLE interactions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  room TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  user_id TEXT,"
    "  name TEXT,"
    "  ts INTEGER NOT NULL,"          /* Unix ms */
    "  media_ms INTEGER NOT NULL,"    /* ms into the room's live session */
    "  data TEXT NOT NULL);"          /* the message, JSON */
    "CREATE INDEX interactions_room ON interactions(room, kind, id);"
    "CREATE TABLE bans ("
    "  room TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  by_user TEXT,"
    "  reason TEXT,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (room, user_id));"
    "CREATE TABLE room_settings ("
    "  room TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (room, key));",
    /* 3: the recordings catalog (one row per finished WebM file). */
    "CREATE TABLE recordings ("
    "  id TEXT PRIMARY KEY,"          /* 32 random hex digits */
    "  room TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  status TEXT NOT NULL,"         /* recording, processing, ready, failed */
    "  started_at INTEGER NOT NULL,"  /* Unix ms */
    "  duration_ms INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  path TEXT NOT NULL UNIQUE,"
    "  published INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX recordings_room ON recordings(room, started_at);"
    "CREATE INDEX recordings_start ON recordings(started_at);",
    /* 4: rows from the moment a file starts (status recording), a room
     * session grouping a session's per-slot files and its composite, why a
     * row failed, the tracks a file holds (JSON array). */
    "ALTER TABLE recordings ADD COLUMN kind TEXT NOT NULL DEFAULT 'track';"
    "ALTER TABLE recordings ADD COLUMN session TEXT;"
    "ALTER TABLE recordings ADD COLUMN reason TEXT;"
    "ALTER TABLE recordings ADD COLUMN tracks TEXT;"
    "ALTER TABLE recordings ADD COLUMN slot INTEGER NOT NULL DEFAULT -1;"
    "CREATE INDEX recordings_session ON recordings(session);"
    "CREATE INDEX recordings_status ON recordings(status);",
    /* 5: the rooms' active-speaker changes while they record (the
     * composite's speaker layout follows them); a composite's layout. */
    "CREATE TABLE speakers ("
    "  room TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"          /* Unix ms */
    "  slot INTEGER NOT NULL);"       /* stage slot, -1: nobody */
    "CREATE INDEX speakers_room ON speakers(room, ts);"
    "ALTER TABLE recordings ADD COLUMN layout TEXT;",
    /* 6: events (issue 18): one per room, reached by slug. */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  title TEXT NOT NULL,"
    "  description TEXT NOT NULL,"
    "  room TEXT NOT NULL UNIQUE,"
    "  starts_at INTEGER NOT NULL,"      /* Unix s */
    "  ends_at INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  viewer_cap INTEGER NOT NULL,"
    "  recording_forbidden INTEGER NOT NULL,"
    "  watch_type TEXT NOT NULL,"
    "  password_hash TEXT NOT NULL,"
    "  color TEXT NOT NULL,"
    "  landing_text TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);",
    /* 7: who may watch an event beyond a password: a whitelist of ids
     * (e-mail, phone or staff number, normalised), invite codes, and
     * networks allowed or denied (CIDR, one per line). */
    "CREATE TABLE event_whitelist ("
    "  event_id INTEGER NOT NULL,"
    "  entry TEXT NOT NULL,"
    "  PRIMARY KEY (event_id, entry)) WITHOUT ROWID;"
    "CREATE TABLE event_invites ("
    "  event_id INTEGER NOT NULL,"
    "  code TEXT NOT NULL,"
    "  max_uses INTEGER NOT NULL,"
    "  uses INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (event_id, code)) WITHOUT ROWID;"
    "ALTER TABLE events ADD COLUMN allow_nets TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN deny_nets TEXT NOT NULL DEFAULT '';",
    /* 8: registration forms: an event's form (JSON) and who registered. */
    "ALTER TABLE events ADD COLUMN registration TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE event_registrations ("
    "  id INTEGER PRIMARY KEY,"
    "  event_id INTEGER NOT NULL,"
    "  key TEXT NOT NULL UNIQUE,"         /* the registrant's secret */
    "  state TEXT NOT NULL,"              /* pending, approved, rejected */
    "  name TEXT NOT NULL,"
    "  answers TEXT NOT NULL,"            /* JSON object */
    "  created_at INTEGER NOT NULL,"
    "  decided_at INTEGER NOT NULL);"
    "CREATE INDEX event_registrations_event ON event_registrations(event_id, id);",
    /* 9: regions allowed or denied (country codes, comma-separated). */
    "ALTER TABLE events ADD COLUMN allow_regions TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE events ADD COLUMN deny_regions TEXT NOT NULL DEFAULT '';",
    /* 10: one media session per viewer (a second device ends the first). */
    "ALTER TABLE events ADD COLUMN single_session INTEGER NOT NULL DEFAULT 0;",
    /* 11: the rest of an event's branding (logo, cover, background, page
     * title, end page, marquee), as JSON. */
    "ALTER TABLE events ADD COLUMN branding TEXT NOT NULL DEFAULT '';",
    /* 12: the origins allowed to embed the watch link (space-separated). */
    "ALTER TABLE events ADD COLUMN embed_origins TEXT NOT NULL DEFAULT '';",
    /* 13: an external check's settings (URL, shared secret, timeout, the
     * fields asked for), as JSON. */
    "ALTER TABLE events ADD COLUMN external TEXT NOT NULL DEFAULT '';",
};

#define N_MIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static int read_version(sqlite3 *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version", -1, &s, NULL) !=
        SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0); /* NULL (empty table) reads as 0 */
    sqlite3_finalize(s);
    return v;
}

static int migrate(sc_store *st, char *err, size_t errlen)
{
    char sql[128];

    if (exec(st->db,
             "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
             " applied_at INTEGER NOT NULL)",
             err, errlen) < 0)
        return -EIO;
    st->version = read_version(st->db);
    if (st->version < 0) {
        snprintf(err, errlen, "sqlite: cannot read schema_version");
        return -EIO;
    }
    if (st->version > N_MIGRATIONS) {
        snprintf(err, errlen, "database schema %d is newer than this build (%d)", st->version,
                 N_MIGRATIONS);
        return -EPROTO;
    }
    for (int v = st->version; v < N_MIGRATIONS; v++) {
        /* Each step and its version row commit together, so a crash leaves
         * the database at a version it really has. */
        if (exec(st->db, "BEGIN IMMEDIATE", err, errlen) < 0)
            return -EIO;
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES (%d, %lld)", v + 1,
                 (long long)time(NULL));
        if (exec(st->db, migrations[v], err, errlen) < 0 || exec(st->db, sql, err, errlen) < 0) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -EIO;
        }
        if (exec(st->db, "COMMIT", err, errlen) < 0)
            return -EIO;
        st->version = v + 1;
    }
    return 0;
}

sc_store *sc_store_open(const char *path, char *err, size_t errlen)
{
    sc_store *st = calloc(1, sizeof(*st));
    char sql[160];

    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 2000);
    /* WAL + NORMAL: a commit is an append to the log without an fsync, so a
     * session row costs microseconds on the signalling thread. */
    if (exec(st->db, "PRAGMA journal_mode=WAL", err, errlen) < 0 ||
        exec(st->db, "PRAGMA synchronous=NORMAL", err, errlen) < 0)
        goto fail;
    if (migrate(st, err, errlen) < 0)
        goto fail;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO sessions (id, room, kind, name, user_id,"
                           " started_at) VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st->ins_session, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ?"
                           " AND ended_at IS NULL",
                           -1, &st->end_session, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
        goto fail;
    }
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO interactions (room, kind, user_id, name, ts, media_ms,"
                           " data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           -1, &st->ins_interaction, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT 1 FROM bans WHERE room = ? AND user_id = ?", -1,
                           &st->is_banned, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
        goto fail;
    }
    snprintf(sql, sizeof(sql),
             "UPDATE sessions SET ended_at = %lld, end_reason = 'restart'"
             " WHERE ended_at IS NULL",
             (long long)time(NULL) * 1000);
    if (exec(st->db, sql, err, errlen) < 0)
        goto fail;
    return st;
fail:
    sc_store_close(st);
    return NULL;
}

void sc_store_close(sc_store *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->ins_session);
    sqlite3_finalize(st->end_session);
    sqlite3_finalize(st->ins_interaction);
    sqlite3_finalize(st->is_banned);
    if (st->db)
        sqlite3_close(st->db);
    free(st);
}

int sc_store_latest_schema(void) { return (int)N_MIGRATIONS; }

int sc_store_schema_version(sc_store *st)
{
    return st->version;
}

void sc__store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int sc__store_step_done(sc_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "%s failed: %s", what, sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}

int sc__store_exec_bound(sc_store *st, const char *sql, const char *const *args, int nargs,
                      const int64_t *i64, const char *what)
{
    sqlite3_stmt *s;

    if (!st)
        return -EIO;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    for (int i = 0; i < nargs; i++)
        sc__store_bind_text(s, i + 1, args[i]);
    if (i64)
        sqlite3_bind_int64(s, nargs + 1, *i64);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "%s failed: %s", what, sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}

void sc__store_copy_col(char *dst, size_t cap, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

void sc__store_bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v && v[0])
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* One-off statements: step, finalize, report. */
int sc__store_step_finalize(sc_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "%s failed: %s", what, sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}
