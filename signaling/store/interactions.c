/* A room's interactions, bans and settings. */
#include "signaling/store/interactions.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signaling/store/private.h"

int64_t sc_store_interaction_add(sc_store *st, const char *room, const char *kind,
                                 const char *user_id, const char *name, int64_t ts_ms,
                                 int64_t media_ms, const char *data)
{
    sqlite3_stmt *s;

    if (!st)
        return -EIO;
    s = st->ins_interaction;
    sc__store_bind_text(s, 1, room);
    sc__store_bind_text(s, 2, kind);
    sc__store_bind_text(s, 3, user_id);
    sc__store_bind_text(s, 4, name);
    sqlite3_bind_int64(s, 5, ts_ms);
    sqlite3_bind_int64(s, 6, media_ms);
    sc__store_bind_text(s, 7, data ? data : "{}");
    if (sc__store_step_done(st, s, "recording an interaction") < 0)
        return -EIO;
    return (int64_t)sqlite3_last_insert_rowid(st->db);
}

/* Steps s (SELECT id, kind, user_id, name, ts, media_ms, data), calls fn
 * for each row and finalizes it.  Count or -EIO. */
static int each_row(sqlite3_stmt *s, void (*fn)(void *ud, const sc_store_interaction *row),
                    void *ud)
{
    int rc, n = 0;

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

    if (!st)
        return -EIO;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sc__store_bind_text(s, 1, room);
    sc__store_bind_text(s, 2, kind);
    sqlite3_bind_int64(s, 3, last > 0 ? last : -1);
    return each_row(s, fn, ud);
}

int sc_store_ban(sc_store *st, const char *room, const char *user_id, const char *by,
                 const char *reason, int64_t at_ms)
{
    const char *args[] = {room, user_id, by, reason};
    return sc__store_exec_bound(st,
                      "INSERT OR REPLACE INTO bans (room, user_id, by_user, reason, at)"
                      " VALUES (?, ?, ?, ?, ?)",
                      args, 4, &at_ms, "recording a ban");
}

int sc_store_unban(sc_store *st, const char *room, const char *user_id)
{
    const char *args[] = {room, user_id};
    return sc__store_exec_bound(st, "DELETE FROM bans WHERE room = ? AND user_id = ?", args, 2, NULL,
                      "lifting a ban");
}

int sc_store_is_banned(sc_store *st, const char *room, const char *user_id)
{
    sqlite3_stmt *s;
    int rc;

    if (!st)
        return 0;
    s = st->is_banned;
    sc__store_bind_text(s, 1, room);
    sc__store_bind_text(s, 2, user_id);
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
    return sc__store_exec_bound(st,
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
    sc__store_bind_text(s, 1, room);
    sc__store_bind_text(s, 2, key);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        v = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
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

    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sc__store_bind_text(s, 1, room);
    sqlite3_bind_int64(s, 2, from_ms);
    sqlite3_bind_int64(s, 3, to_ms);
    return each_row(s, fn, ud);
}

int sc_store_interactions_since(sc_store *st, const char *room, const char *const *kinds,
                                size_t n_kinds, int64_t after_id,
                                void (*fn)(void *ud, const sc_store_interaction *row),
                                void *ud)
{
    /* kind IN (...) with one parameter per kind keeps the (room, kind, id)
     * index in use: a room's chat rows, the bulk of the table, are not
     * read. */
    char sql[512];
    size_t len;
    sqlite3_stmt *s;

    if (!st)
        return -EIO;
    if (n_kinds == 0 || n_kinds > SC_STORE_KINDS_MAX)
        return -EINVAL;
    len = (size_t)snprintf(sql, sizeof(sql),
                           "SELECT id, kind, user_id, name, ts, media_ms, data FROM interactions"
                           " WHERE room = ?1 AND id > ?2 AND kind IN (?3");
    for (size_t i = 1; i < n_kinds; i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", ?%zu", i + 3);
    snprintf(sql + len, sizeof(sql) - len, ") ORDER BY id");
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sc__store_bind_text(s, 1, room);
    sqlite3_bind_int64(s, 2, after_id);
    for (size_t i = 0; i < n_kinds; i++)
        sc__store_bind_text(s, (int)i + 3, kinds[i]);
    return each_row(s, fn, ud);
}
