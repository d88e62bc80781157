#include "signaling/store/store.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

struct sc_store {
    sqlite3 *db;
    sqlite3_stmt *ins_session;
    sqlite3_stmt *end_session;
    sqlite3_stmt *ins_interaction;
    sqlite3_stmt *is_banned;
    int version;
};

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

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static int step_done(sc_store *st, sqlite3_stmt *s, const char *what)
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

int sc_store_session_started(sc_store *st, uint64_t session_id, const char *room,
                             const char *kind, const char *name, const char *user_id,
                             int64_t started_at_ms)
{
    char id[17];

    if (!st)
        return 0;
    snprintf(id, sizeof(id), "%016" PRIx64, session_id);
    sqlite3_bind_text(st->ins_session, 1, id, -1, SQLITE_TRANSIENT);
    bind_text(st->ins_session, 2, room);
    bind_text(st->ins_session, 3, kind);
    bind_text(st->ins_session, 4, name);
    bind_text(st->ins_session, 5, user_id);
    sqlite3_bind_int64(st->ins_session, 6, started_at_ms);
    return step_done(st, st->ins_session, "recording session start");
}

int sc_store_session_ended(sc_store *st, uint64_t session_id, int64_t ended_at_ms,
                           const char *reason)
{
    char id[17];

    if (!st)
        return 0;
    snprintf(id, sizeof(id), "%016" PRIx64, session_id);
    sqlite3_bind_int64(st->end_session, 1, ended_at_ms);
    bind_text(st->end_session, 2, reason);
    sqlite3_bind_text(st->end_session, 3, id, -1, SQLITE_TRANSIENT);
    return step_done(st, st->end_session, "recording session end");
}

int sc_store_count_sessions(sc_store *st, int *total, int *open)
{
    sqlite3_stmt *s;
    int rc;

    if (sqlite3_prepare_v2(st->db,
                           "SELECT COUNT(*), COUNT(*) - COUNT(ended_at) FROM sessions", -1, &s,
                           NULL) != SQLITE_OK)
        return -EIO;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *total = sqlite3_column_int(s, 0);
        *open = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

/* ---- interactions ------------------------------------------------------------ */

int64_t sc_store_interaction_add(sc_store *st, const char *room, const char *kind,
                                 const char *user_id, const char *name, int64_t ts_ms,
                                 int64_t media_ms, const char *data)
{
    sqlite3_stmt *s;

    if (!st)
        return -EIO;
    s = st->ins_interaction;
    bind_text(s, 1, room);
    bind_text(s, 2, kind);
    bind_text(s, 3, user_id);
    bind_text(s, 4, name);
    sqlite3_bind_int64(s, 5, ts_ms);
    sqlite3_bind_int64(s, 6, media_ms);
    bind_text(s, 7, data ? data : "{}");
    if (step_done(st, s, "recording an interaction") < 0)
        return -EIO;
    return (int64_t)sqlite3_last_insert_rowid(st->db);
}

int sc_store_interactions(sc_store *st, const char *room, const char *kind, int last,
                          void (*fn)(void *ud, const sc_store_interaction *row), void *ud)
{
    /* The last N rows are the first N in descending order, read back in
     * ascending order by the outer query. */
    static const char sql[] =
        "SELECT id, kind, user_id, name, ts, media_ms, data FROM ("
        " SELECT * FROM interactions WHERE room = ?1 AND (?2 IS NULL OR kind = ?2)"
        " ORDER BY id DESC LIMIT ?3) ORDER BY id";
    sqlite3_stmt *s;
    int rc, n = 0;

    if (!st)
        return -EIO;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, room);
    bind_text(s, 2, kind);
    sqlite3_bind_int64(s, 3, last > 0 ? last : -1);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sc_store_interaction row = {
            .id = sqlite3_column_int64(s, 0),
            .kind = (const char *)sqlite3_column_text(s, 1),
            .user_id = (const char *)sqlite3_column_text(s, 2),
            .name = (const char *)sqlite3_column_text(s, 3),
            .ts_ms = sqlite3_column_int64(s, 4),
            .media_ms = sqlite3_column_int64(s, 5),
            .data = (const char *)sqlite3_column_text(s, 6),
        };
        fn(ud, &row);
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -EIO;
}

static int exec_bound(sc_store *st, const char *sql, const char *const *args, int nargs,
                      const int64_t *i64, const char *what)
{
    sqlite3_stmt *s;

    if (!st)
        return -EIO;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    for (int i = 0; i < nargs; i++)
        bind_text(s, i + 1, args[i]);
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

int sc_store_ban(sc_store *st, const char *room, const char *user_id, const char *by,
                 const char *reason, int64_t at_ms)
{
    const char *args[] = {room, user_id, by, reason};
    return exec_bound(st,
                      "INSERT OR REPLACE INTO bans (room, user_id, by_user, reason, at)"
                      " VALUES (?, ?, ?, ?, ?)",
                      args, 4, &at_ms, "recording a ban");
}

int sc_store_unban(sc_store *st, const char *room, const char *user_id)
{
    const char *args[] = {room, user_id};
    return exec_bound(st, "DELETE FROM bans WHERE room = ? AND user_id = ?", args, 2, NULL,
                      "lifting a ban");
}

int sc_store_is_banned(sc_store *st, const char *room, const char *user_id)
{
    sqlite3_stmt *s;
    int rc;

    if (!st)
        return 0;
    s = st->is_banned;
    bind_text(s, 1, room);
    bind_text(s, 2, user_id);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int sc_store_setting_set(sc_store *st, const char *room, const char *key, const char *value)
{
    const char *args[] = {room, key, value};
    return exec_bound(st,
                      "INSERT OR REPLACE INTO room_settings (room, key, value) VALUES (?, ?, ?)",
                      args, 3, NULL, "saving a room setting");
}

char *sc_store_setting_get(sc_store *st, const char *room, const char *key)
{
    sqlite3_stmt *s;
    char *v = NULL;

    if (!st || sqlite3_prepare_v2(st->db,
                                  "SELECT value FROM room_settings WHERE room = ? AND key = ?",
                                  -1, &s, NULL) != SQLITE_OK)
        return NULL;
    bind_text(s, 1, room);
    bind_text(s, 2, key);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        v = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
}

/* ---- recordings catalog ------------------------------------------------------ */

static const char rec_cols[] = "id, room, title, status, started_at, duration_ms, bytes, path,"
                               " published, created_at, updated_at, kind, session, reason,"
                               " tracks, slot, layout";

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void rec_from_row(sqlite3_stmt *s, sc_store_recording *r)
{
    memset(r, 0, sizeof(*r));
    copy_col(r->id, sizeof(r->id), s, 0);
    copy_col(r->room, sizeof(r->room), s, 1);
    copy_col(r->title, sizeof(r->title), s, 2);
    copy_col(r->status, sizeof(r->status), s, 3);
    r->started_at_ms = sqlite3_column_int64(s, 4);
    r->duration_ms = sqlite3_column_int64(s, 5);
    r->bytes = sqlite3_column_int64(s, 6);
    copy_col(r->path, sizeof(r->path), s, 7);
    r->published = sqlite3_column_int(s, 8) != 0;
    r->created_at_ms = sqlite3_column_int64(s, 9);
    r->updated_at_ms = sqlite3_column_int64(s, 10);
    copy_col(r->kind, sizeof(r->kind), s, 11);
    copy_col(r->session, sizeof(r->session), s, 12);
    copy_col(r->reason, sizeof(r->reason), s, 13);
    copy_col(r->tracks, sizeof(r->tracks), s, 14);
    r->slot = sqlite3_column_int(s, 15);
    copy_col(r->layout, sizeof(r->layout), s, 16);
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (v && v[0])
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int sc_store_recording_put(sc_store *st, const sc_store_recording *r, int64_t now_ms)
{
    /* Keyed by path: a file reported twice (scan, then the writer) keeps its
     * id, title and published flag. */
    static const char sql[] =
        "INSERT INTO recordings (id, room, title, status, started_at, duration_ms, bytes, path,"
        " published, created_at, updated_at, kind, session, reason, tracks, slot, layout)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        " ON CONFLICT(path) DO UPDATE SET status = ?4, duration_ms = ?6, bytes = ?7,"
        " updated_at = ?9, session = COALESCE(session, ?11), reason = ?12,"
        " tracks = COALESCE(?13, tracks), layout = COALESCE(?15, layout)";
    sqlite3_stmt *s;
    int rc;

    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, r->id);
    bind_text(s, 2, r->room);
    bind_text(s, 3, r->title);
    bind_text(s, 4, r->status);
    sqlite3_bind_int64(s, 5, r->started_at_ms);
    sqlite3_bind_int64(s, 6, r->duration_ms);
    sqlite3_bind_int64(s, 7, r->bytes);
    bind_text(s, 8, r->path);
    sqlite3_bind_int64(s, 9, now_ms);
    bind_text(s, 10, r->kind[0] ? r->kind : "track");
    bind_opt(s, 11, r->session);
    bind_opt(s, 12, r->reason);
    bind_opt(s, 13, r->tracks);
    sqlite3_bind_int(s, 14, r->slot);
    bind_opt(s, 15, r->layout);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "saving a recording failed: %s", sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}

static int rec_get_by(sc_store *st, const char *col, const char *value, sc_store_recording *out)
{
    char sql[256];
    sqlite3_stmt *s;
    int rc;

    if (!st)
        return -EIO;
    snprintf(sql, sizeof(sql), "SELECT %s FROM recordings WHERE %s = ?", rec_cols, col);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, value);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rec_from_row(s, out);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int sc_store_recording_get(sc_store *st, const char *id, sc_store_recording *out)
{
    return rec_get_by(st, "id", id, out);
}

int sc_store_recording_by_path(sc_store *st, const char *path, sc_store_recording *out)
{
    return rec_get_by(st, "path", path, out);
}

int sc_store_recordings_list(sc_store *st, const char *room, int64_t from_ms, int64_t to_ms,
                             void (*fn)(void *ud, const sc_store_recording *r), void *ud)
{
    sc_store_recording_filter f = {.room = room, .from_ms = from_ms, .to_ms = to_ms};
    return sc_store_recordings_query(st, &f, fn, ud);
}

int sc_store_recordings_query(sc_store *st, const sc_store_recording_filter *f,
                              void (*fn)(void *ud, const sc_store_recording *r), void *ud)
{
    char sql[512];
    sqlite3_stmt *s;
    sc_store_recording r;
    int rc, n = 0;

    if (!st || !f)
        return -EIO;
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM recordings WHERE (?1 IS NULL OR room = ?1) AND started_at >= ?2"
             " AND started_at <= ?3 AND (?4 IS NULL OR kind = ?4)"
             " AND (?5 IS NULL OR session = ?5) AND (?6 IS NULL OR status = ?6)"
             " ORDER BY started_at DESC, id",
             rec_cols);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, f->room);
    sqlite3_bind_int64(s, 2, f->from_ms || f->to_ms ? f->from_ms : INT64_MIN);
    sqlite3_bind_int64(s, 3, f->from_ms || f->to_ms ? f->to_ms : INT64_MAX);
    bind_text(s, 4, f->kind);
    bind_text(s, 5, f->session);
    bind_text(s, 6, f->status);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rec_from_row(s, &r);
        fn(ud, &r);
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -EIO;
}

static int rec_change(sc_store *st, const char *sql, const char *id, int64_t a, int64_t b,
                      const char *what)
{
    sqlite3_stmt *s;
    int rc;

    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, id);
    sqlite3_bind_int64(s, 2, a);
    sqlite3_bind_int64(s, 3, b);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "%s failed: %s", what, sqlite3_errmsg(st->db));
        return -EIO;
    }
    return sqlite3_changes(st->db) > 0 ? 0 : -ENOENT;
}

int sc_store_recording_set_published(sc_store *st, const char *id, int published, int64_t now_ms)
{
    return rec_change(st, "UPDATE recordings SET published = ?2, updated_at = ?3 WHERE id = ?1",
                      id, published ? 1 : 0, now_ms, "publishing a recording");
}

int sc_store_recording_delete(sc_store *st, const char *id)
{
    return rec_change(st, "DELETE FROM recordings WHERE id = ?1", id, 0, 0,
                      "deleting a recording");
}

int sc_store_recording_set_status(sc_store *st, const char *id, const char *status,
                                  const char *reason, int64_t duration_ms, int64_t bytes,
                                  int64_t now_ms)
{
    static const char sql[] = "UPDATE recordings SET status = ?2, reason = ?3,"
                              " duration_ms = ?4, bytes = ?5, updated_at = ?6 WHERE id = ?1";
    sqlite3_stmt *s;
    int rc;

    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, id);
    bind_text(s, 2, status);
    bind_opt(s, 3, reason);
    sqlite3_bind_int64(s, 4, duration_ms);
    sqlite3_bind_int64(s, 5, bytes);
    sqlite3_bind_int64(s, 6, now_ms);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "updating a recording failed: %s", sqlite3_errmsg(st->db));
        return -EIO;
    }
    return sqlite3_changes(st->db) > 0 ? 0 : -ENOENT;
}

int sc_store_interactions_between(sc_store *st, const char *room, int64_t from_ms,
                                  int64_t to_ms,
                                  void (*fn)(void *ud, const sc_store_interaction *row),
                                  void *ud)
{
    /* The replay timeline: by time, using the (room, kind, id) index's room
     * prefix; ids grow with time, so id order is time order. */
    static const char sql[] = "SELECT id, kind, user_id, name, ts, media_ms, data"
                              " FROM interactions WHERE room = ?1 AND ts >= ?2 AND ts <= ?3"
                              " ORDER BY id LIMIT 100000";
    sqlite3_stmt *s;
    sc_store_interaction row;
    int rc, n = 0;

    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, room);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, to_ms);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        row.id = sqlite3_column_int64(s, 0);
        row.kind = (const char *)sqlite3_column_text(s, 1);
        row.user_id = (const char *)sqlite3_column_text(s, 2);
        row.name = (const char *)sqlite3_column_text(s, 3);
        row.ts_ms = sqlite3_column_int64(s, 4);
        row.media_ms = sqlite3_column_int64(s, 5);
        row.data = (const char *)sqlite3_column_text(s, 6);
        fn(ud, &row);
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -EIO;
}

/* ---- speakers (the composite's layout) ---------------------------------------- */

/* One-off statements: step, finalize, report. */
static int step_finalize(sc_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        SC_WARN("store", "%s failed: %s", what, sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}

int sc_store_speaker_add(sc_store *st, const char *room, int slot, int64_t ts_ms)
{
    static const char sql[] = "INSERT INTO speakers (room, ts, slot) VALUES (?1, ?2, ?3)";
    sqlite3_stmt *s;

    if (!st || !room || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, room);
    sqlite3_bind_int64(s, 2, ts_ms);
    sqlite3_bind_int(s, 3, slot);
    return step_finalize(st, s, "saving a speaker change");
}

int sc_store_speakers_between(sc_store *st, const char *room, int64_t from_ms, int64_t to_ms,
                              int limit, void (*fn)(void *ud, int64_t ts_ms, int slot),
                              void *ud)
{
    /* The change in effect at from_ms (the latest at or before it) starts
     * the list: a speaker heard before the first file opened still speaks. */
    static const char sql[] =
        "SELECT ts, slot FROM speakers WHERE room = ?1 AND ts <= ?3 AND ts >= "
        "COALESCE((SELECT MAX(ts) FROM speakers WHERE room = ?1 AND ts <= ?2), ?2)"
        " ORDER BY ts, rowid LIMIT ?4";
    sqlite3_stmt *s;
    int rc, n = 0;

    if (!st || !room || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, room);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, to_ms);
    sqlite3_bind_int(s, 4, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        fn(ud, sqlite3_column_int64(s, 0), sqlite3_column_int(s, 1));
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -EIO;
}

int sc_store_speakers_prune(sc_store *st, int64_t before_ms)
{
    static const char sql[] = "DELETE FROM speakers WHERE ts < ?1";
    sqlite3_stmt *s;

    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, before_ms);
    return step_finalize(st, s, "pruning speaker changes");
}

int64_t sc_store_recordings_bytes(sc_store *st, const char *kind, const char *status)
{
    static const char sql[] = "SELECT COALESCE(SUM(bytes), 0) FROM recordings"
                              " WHERE kind = ?1 AND status = ?2";
    sqlite3_stmt *s;
    int64_t total = -EIO;

    if (!st || !kind || !status || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_text(s, 1, kind);
    bind_text(s, 2, status);
    if (sqlite3_step(s) == SQLITE_ROW)
        total = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return total;
}
