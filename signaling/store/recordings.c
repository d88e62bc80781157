/* The recordings catalog and the speaker timeline of composites. */
#include "signaling/store/recordings.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signaling/store/private.h"

static const char rec_cols[] = "id, room, title, status, started_at, duration_ms, bytes, path,"
                               " published, created_at, updated_at, kind, session, reason,"
                               " tracks, slot, layout";

static void rec_from_row(sqlite3_stmt *s, sc_store_recording *r)
{
    memset(r, 0, sizeof(*r));
    sc__store_copy_col(r->id, sizeof(r->id), s, 0);
    sc__store_copy_col(r->room, sizeof(r->room), s, 1);
    sc__store_copy_col(r->title, sizeof(r->title), s, 2);
    sc__store_copy_col(r->status, sizeof(r->status), s, 3);
    r->started_at_ms = sqlite3_column_int64(s, 4);
    r->duration_ms = sqlite3_column_int64(s, 5);
    r->bytes = sqlite3_column_int64(s, 6);
    sc__store_copy_col(r->path, sizeof(r->path), s, 7);
    r->published = sqlite3_column_int(s, 8) != 0;
    r->created_at_ms = sqlite3_column_int64(s, 9);
    r->updated_at_ms = sqlite3_column_int64(s, 10);
    sc__store_copy_col(r->kind, sizeof(r->kind), s, 11);
    sc__store_copy_col(r->session, sizeof(r->session), s, 12);
    sc__store_copy_col(r->reason, sizeof(r->reason), s, 13);
    sc__store_copy_col(r->tracks, sizeof(r->tracks), s, 14);
    r->slot = sqlite3_column_int(s, 15);
    sc__store_copy_col(r->layout, sizeof(r->layout), s, 16);
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
    sc__store_bind_text(s, 1, r->id);
    sc__store_bind_text(s, 2, r->room);
    sc__store_bind_text(s, 3, r->title);
    sc__store_bind_text(s, 4, r->status);
    sqlite3_bind_int64(s, 5, r->started_at_ms);
    sqlite3_bind_int64(s, 6, r->duration_ms);
    sqlite3_bind_int64(s, 7, r->bytes);
    sc__store_bind_text(s, 8, r->path);
    sqlite3_bind_int64(s, 9, now_ms);
    sc__store_bind_text(s, 10, r->kind[0] ? r->kind : "track");
    sc__store_bind_opt(s, 11, r->session);
    sc__store_bind_opt(s, 12, r->reason);
    sc__store_bind_opt(s, 13, r->tracks);
    sqlite3_bind_int(s, 14, r->slot);
    sc__store_bind_opt(s, 15, r->layout);
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
    sc__store_bind_text(s, 1, value);
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
             " AND (?7 IS NULL OR (room >= ?7 || '~g' AND room < ?7 || '~h'))"
             " ORDER BY started_at DESC, id",
             rec_cols);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sc__store_bind_text(s, 1, f->room);
    sqlite3_bind_int64(s, 2, f->from_ms || f->to_ms ? f->from_ms : INT64_MIN);
    sqlite3_bind_int64(s, 3, f->from_ms || f->to_ms ? f->to_ms : INT64_MAX);
    sc__store_bind_text(s, 4, f->kind);
    sc__store_bind_text(s, 5, f->session);
    sc__store_bind_text(s, 6, f->status);
    sc__store_bind_text(s, 7, f->groups_of);
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
    sc__store_bind_text(s, 1, id);
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
    sc__store_bind_text(s, 1, id);
    sc__store_bind_text(s, 2, status);
    sc__store_bind_opt(s, 3, reason);
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

int sc_store_speaker_add(sc_store *st, const char *room, int slot, int64_t ts_ms)
{
    static const char sql[] = "INSERT INTO speakers (room, ts, slot) VALUES (?1, ?2, ?3)";
    sqlite3_stmt *s;

    if (!st || !room || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sc__store_bind_text(s, 1, room);
    sqlite3_bind_int64(s, 2, ts_ms);
    sqlite3_bind_int(s, 3, slot);
    return sc__store_step_finalize(st, s, "saving a speaker change");
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
    sc__store_bind_text(s, 1, room);
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
    return sc__store_step_finalize(st, s, "pruning speaker changes");
}

int64_t sc_store_recordings_bytes(sc_store *st, const char *kind, const char *status)
{
    static const char sql[] = "SELECT COALESCE(SUM(bytes), 0) FROM recordings"
                              " WHERE kind = ?1 AND status = ?2";
    sqlite3_stmt *s;
    int64_t total = -EIO;

    if (!st || !kind || !status || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sc__store_bind_text(s, 1, kind);
    sc__store_bind_text(s, 2, status);
    if (sqlite3_step(s) == SQLITE_ROW)
        total = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return total;
}

