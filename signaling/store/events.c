/* Events: one row each, unique by slug and by room. */
#include "signaling/store/events.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signaling/store/private.h"

static const char ev_cols[] = "id, slug, title, description, room, starts_at, ends_at, state,"
                              " viewer_cap, recording_forbidden, watch_type, password_hash,"
                              " color, landing_text, created_at, updated_at, allow_nets,"
                              " deny_nets, registration, allow_regions, deny_regions,"
                              " single_session, branding, embed_origins, external";

static void ev_from_row(sqlite3_stmt *s, sc_store_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = sqlite3_column_int64(s, 0);
    sc__store_copy_col(ev->slug, sizeof(ev->slug), s, 1);
    sc__store_copy_col(ev->title, sizeof(ev->title), s, 2);
    sc__store_copy_col(ev->description, sizeof(ev->description), s, 3);
    sc__store_copy_col(ev->room, sizeof(ev->room), s, 4);
    ev->starts_at = sqlite3_column_int64(s, 5);
    ev->ends_at = sqlite3_column_int64(s, 6);
    sc__store_copy_col(ev->state, sizeof(ev->state), s, 7);
    ev->viewer_cap = sqlite3_column_int(s, 8);
    ev->recording_forbidden = sqlite3_column_int(s, 9) != 0;
    sc__store_copy_col(ev->watch_type, sizeof(ev->watch_type), s, 10);
    sc__store_copy_col(ev->password_hash, sizeof(ev->password_hash), s, 11);
    sc__store_copy_col(ev->color, sizeof(ev->color), s, 12);
    sc__store_copy_col(ev->landing_text, sizeof(ev->landing_text), s, 13);
    ev->created_at = sqlite3_column_int64(s, 14);
    ev->updated_at = sqlite3_column_int64(s, 15);
    sc__store_copy_col(ev->allow_nets, sizeof(ev->allow_nets), s, 16);
    sc__store_copy_col(ev->deny_nets, sizeof(ev->deny_nets), s, 17);
    sc__store_copy_col(ev->registration, sizeof(ev->registration), s, 18);
    sc__store_copy_col(ev->allow_regions, sizeof(ev->allow_regions), s, 19);
    sc__store_copy_col(ev->deny_regions, sizeof(ev->deny_regions), s, 20);
    ev->single_session = sqlite3_column_int(s, 21) != 0;
    sc__store_copy_col(ev->branding, sizeof(ev->branding), s, 22);
    sc__store_copy_col(ev->embed_origins, sizeof(ev->embed_origins), s, 23);
    sc__store_copy_col(ev->external, sizeof(ev->external), s, 24);
}

/* Binds every column but id from ?2 on (id is ?1). */
static void bind_fields(sqlite3_stmt *s, const sc_store_event *ev)
{
    sqlite3_bind_int64(s, 1, ev->id);
    sc__store_bind_text(s, 2, ev->slug);
    sc__store_bind_text(s, 3, ev->title);
    sc__store_bind_text(s, 4, ev->description);
    sc__store_bind_text(s, 5, ev->room);
    sqlite3_bind_int64(s, 6, ev->starts_at);
    sqlite3_bind_int64(s, 7, ev->ends_at);
    sc__store_bind_text(s, 8, ev->state);
    sqlite3_bind_int(s, 9, ev->viewer_cap);
    sqlite3_bind_int(s, 10, ev->recording_forbidden);
    sc__store_bind_text(s, 11, ev->watch_type);
    sc__store_bind_text(s, 12, ev->password_hash);
    sc__store_bind_text(s, 13, ev->color);
    sc__store_bind_text(s, 14, ev->landing_text);
    sqlite3_bind_int64(s, 15, ev->created_at);
    sqlite3_bind_int64(s, 16, ev->updated_at);
    sc__store_bind_text(s, 17, ev->allow_nets);
    sc__store_bind_text(s, 18, ev->deny_nets);
    sc__store_bind_text(s, 19, ev->registration);
    sc__store_bind_text(s, 20, ev->allow_regions);
    sc__store_bind_text(s, 21, ev->deny_regions);
    sqlite3_bind_int(s, 22, ev->single_session);
    sc__store_bind_text(s, 23, ev->branding);
    sc__store_bind_text(s, 24, ev->embed_origins);
    sc__store_bind_text(s, 25, ev->external);
}

/* Steps a write: 0, -EEXIST (a UNIQUE column taken) or -EIO. */
static int step_write(sc_store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ext = sqlite3_extended_errcode(st->db);
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (ext == SQLITE_CONSTRAINT_UNIQUE)
        return -EEXIST;
    SC_WARN("store", "%s: %s", what, sqlite3_errmsg(st->db));
    return -EIO;
}

int sc_store_event_insert(sc_store *st, sc_store_event *ev)
{
    static const char sql[] =
        "INSERT INTO events (slug, title, description, room, starts_at, ends_at, state,"
        " viewer_cap, recording_forbidden, watch_type, password_hash, color, landing_text,"
        " created_at, updated_at, allow_nets, deny_nets, registration, allow_regions,"
        " deny_regions, single_session, branding, embed_origins, external)"
        " VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
        " ?19, ?20, ?21, ?22, ?23, ?24, ?25)";
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_fields(s, ev);
    int rc = step_write(st, s, "insert event");
    if (rc == 0)
        ev->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int sc_store_event_update(sc_store *st, const sc_store_event *ev)
{
    static const char sql[] =
        "UPDATE events SET slug = ?2, title = ?3, description = ?4, room = ?5, starts_at = ?6,"
        " ends_at = ?7, state = ?8, viewer_cap = ?9, recording_forbidden = ?10,"
        " watch_type = ?11, password_hash = ?12, color = ?13, landing_text = ?14,"
        " created_at = ?15, updated_at = ?16, allow_nets = ?17, deny_nets = ?18,"
        " registration = ?19, allow_regions = ?20, deny_regions = ?21, single_session = ?22,"
        " branding = ?23, embed_origins = ?24, external = ?25 WHERE id = ?1";
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    bind_fields(s, ev);
    int rc = step_write(st, s, "update event");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return -ENOENT;
    return rc;
}

/* One row by a column's value (text, or an id when text is NULL). */
static int get_one(sc_store *st, const char *col, const char *text, int64_t id,
                   sc_store_event *out)
{
    char sql[512];
    sqlite3_stmt *s;
    snprintf(sql, sizeof(sql), "SELECT %s FROM events WHERE %s = ?1", ev_cols, col);
    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    if (text)
        sc__store_bind_text(s, 1, text);
    else
        sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        ev_from_row(s, out);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int sc_store_event_get(sc_store *st, int64_t id, sc_store_event *out)
{
    return get_one(st, "id", NULL, id, out);
}

int sc_store_event_by_slug(sc_store *st, const char *slug, sc_store_event *out)
{
    return get_one(st, "slug", slug, 0, out);
}

int sc_store_event_by_room(sc_store *st, const char *room, sc_store_event *out)
{
    return get_one(st, "room", room, 0, out);
}

int sc_store_event_delete(sc_store *st, int64_t id)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db, "DELETE FROM events WHERE id = ?1", -1, &s, NULL) !=
                   SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = sc__store_step_finalize(st, s, "delete event");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return -ENOENT;
    if (rc == 0) { /* what hangs off it goes too */
        sc_store_whitelist_clear(st, id);
        int64_t args[1] = {id};
        sc__store_exec_bound(st, "DELETE FROM event_invites WHERE event_id = ?1", NULL, 0, args,
                             "delete invites");
        sc__store_exec_bound(st, "DELETE FROM event_registrations WHERE event_id = ?1", NULL, 0,
                             args, "delete registrations");
    }
    return rc;
}

int sc_store_events_list(sc_store *st, void (*fn)(void *ud, const sc_store_event *ev), void *ud)
{
    char sql[512];
    sqlite3_stmt *s;
    sc_store_event ev;
    int n = 0, rc;
    snprintf(sql, sizeof(sql), "SELECT %s FROM events ORDER BY starts_at, id", ev_cols);
    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ev_from_row(s, &ev);
        fn(ud, &ev);
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -EIO;
}

/* ---- whitelist and invites ------------------------------------------------ */

static int exec_plain(sc_store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        SC_WARN("store", "%s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

int sc_store_whitelist_add(sc_store *st, int64_t event_id, const char *const *entries, size_t n,
                           size_t *added)
{
    sqlite3_stmt *s;
    *added = 0;
    if (!st || exec_plain(st, "BEGIN") < 0)
        return -EIO;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR IGNORE INTO event_whitelist (event_id, entry) VALUES (?1, ?2)",
                           -1, &s, NULL) != SQLITE_OK) {
        exec_plain(st, "ROLLBACK");
        return -EIO;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, event_id);
        sc__store_bind_text(s, 2, entries[i]);
        if (sqlite3_step(s) != SQLITE_DONE) {
            SC_WARN("store", "whitelist add: %s", sqlite3_errmsg(st->db));
            sqlite3_finalize(s);
            exec_plain(st, "ROLLBACK");
            *added = 0;
            return -EIO;
        }
        *added += (size_t)sqlite3_changes(st->db);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return exec_plain(st, "COMMIT");
}

int sc_store_whitelist_has(sc_store *st, int64_t event_id, const char *entry)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "SELECT 1 FROM event_whitelist WHERE event_id = ?1 AND entry = ?2",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    sc__store_bind_text(s, 2, entry);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int64_t sc_store_whitelist_count(sc_store *st, int64_t event_id)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM event_whitelist WHERE event_id = ?1",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -EIO;
    sqlite3_finalize(s);
    return n;
}

int sc_store_whitelist_clear(sc_store *st, int64_t event_id)
{
    int64_t args[1] = {event_id};
    return sc__store_exec_bound(st, "DELETE FROM event_whitelist WHERE event_id = ?1", NULL, 0,
                                args, "clear whitelist");
}

int sc_store_whitelist_remove(sc_store *st, int64_t event_id, const char *entry)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "DELETE FROM event_whitelist WHERE event_id = ?1 AND entry = ?2",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    sc__store_bind_text(s, 2, entry);
    int rc = sc__store_step_finalize(st, s, "remove whitelist entry");
    return rc < 0 ? rc : sqlite3_changes(st->db);
}

int sc_store_invites_revoke(sc_store *st, int64_t event_id, const char *const *codes, size_t n)
{
    sqlite3_stmt *s;
    int removed = 0;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "DELETE FROM event_invites WHERE event_id = ?1 AND code = ?2", -1,
                                  &s, NULL) != SQLITE_OK)
        return -EIO;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, event_id);
        sc__store_bind_text(s, 2, codes[i]);
        if (sqlite3_step(s) != SQLITE_DONE) {
            sqlite3_finalize(s);
            return -EIO;
        }
        removed += sqlite3_changes(st->db);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return removed;
}

int sc_store_invites_add(sc_store *st, int64_t event_id, const char *const *codes, size_t n,
                         int max_uses, int64_t now)
{
    sqlite3_stmt *s;
    if (!st || exec_plain(st, "BEGIN") < 0)
        return -EIO;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO event_invites (event_id, code, max_uses, uses, created_at)"
                           " VALUES (?1, ?2, ?3, 0, ?4)",
                           -1, &s, NULL) != SQLITE_OK) {
        exec_plain(st, "ROLLBACK");
        return -EIO;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, event_id);
        sc__store_bind_text(s, 2, codes[i]);
        sqlite3_bind_int(s, 3, max_uses);
        sqlite3_bind_int64(s, 4, now);
        if (sqlite3_step(s) != SQLITE_DONE) {
            int ext = sqlite3_extended_errcode(st->db);
            sqlite3_finalize(s);
            exec_plain(st, "ROLLBACK");
            return ext == SQLITE_CONSTRAINT_PRIMARYKEY ? -EEXIST : -EIO;
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return exec_plain(st, "COMMIT");
}

int sc_store_invite_use(sc_store *st, int64_t event_id, const char *code)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "UPDATE event_invites SET uses = uses + 1"
                                  " WHERE event_id = ?1 AND code = ?2 AND uses < max_uses",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    sc__store_bind_text(s, 2, code);
    int rc = sc__store_step_finalize(st, s, "use invite");
    if (rc < 0)
        return rc;
    if (sqlite3_changes(st->db) == 1)
        return 0;
    /* Not used: no such code, or none left. */
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM event_invites WHERE event_id = ?1 AND code = ?2",
                           -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    sc__store_bind_text(s, 2, code);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? -EDQUOT : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int sc_store_invites_list(sc_store *st, int64_t event_id,
                          void (*fn)(void *ud, const char *code, int max_uses, int uses),
                          void *ud)
{
    sqlite3_stmt *s;
    int n = 0, rc;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "SELECT code, max_uses, uses FROM event_invites"
                                  " WHERE event_id = ?1 ORDER BY created_at, code",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        fn(ud, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1),
           sqlite3_column_int(s, 2));
        n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? n : -EIO;
}

/* ---- registrations ------------------------------------------------------------ */

static const char reg_cols[] = "id, event_id, key, state, name, answers, created_at, decided_at";

static void reg_from_row(sqlite3_stmt *s, sc_store_registration *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    r->event_id = sqlite3_column_int64(s, 1);
    sc__store_copy_col(r->key, sizeof(r->key), s, 2);
    sc__store_copy_col(r->state, sizeof(r->state), s, 3);
    sc__store_copy_col(r->name, sizeof(r->name), s, 4);
    sc__store_copy_col(r->answers, sizeof(r->answers), s, 5);
    r->created_at = sqlite3_column_int64(s, 6);
    r->decided_at = sqlite3_column_int64(s, 7);
}

int sc_store_registration_insert(sc_store *st, sc_store_registration *r)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "INSERT INTO event_registrations (event_id, key, state, name,"
                                  " answers, created_at, decided_at)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, r->event_id);
    sc__store_bind_text(s, 2, r->key);
    sc__store_bind_text(s, 3, r->state);
    sc__store_bind_text(s, 4, r->name);
    sc__store_bind_text(s, 5, r->answers);
    sqlite3_bind_int64(s, 6, r->created_at);
    sqlite3_bind_int64(s, 7, r->decided_at);
    int rc = step_write(st, s, "insert registration");
    if (rc == 0)
        r->id = sqlite3_last_insert_rowid(st->db);
    return rc == -EEXIST ? -EIO : rc;
}

static int reg_one(sc_store *st, const char *where, int64_t event_id, const char *key, int64_t id,
                   sc_store_registration *out)
{
    char sql[512];
    sqlite3_stmt *s;
    snprintf(sql, sizeof(sql), "SELECT %s FROM event_registrations WHERE event_id = ?1 AND %s",
             reg_cols, where);
    if (!st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    if (key)
        sc__store_bind_text(s, 2, key);
    else
        sqlite3_bind_int64(s, 2, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        reg_from_row(s, out);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int sc_store_registration_by_key(sc_store *st, int64_t event_id, const char *key,
                                 sc_store_registration *out)
{
    return reg_one(st, "key = ?2", event_id, key, 0, out);
}

int sc_store_registration_get(sc_store *st, int64_t event_id, int64_t id,
                              sc_store_registration *out)
{
    return reg_one(st, "id = ?2", event_id, NULL, id, out);
}

int sc_store_registration_decide(sc_store *st, int64_t event_id, int64_t id, const char *state,
                                 int64_t now)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "UPDATE event_registrations SET state = ?3, decided_at = ?4"
                                  " WHERE event_id = ?1 AND id = ?2",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    sqlite3_bind_int64(s, 2, id);
    sc__store_bind_text(s, 3, state);
    sqlite3_bind_int64(s, 4, now);
    int rc = sc__store_step_finalize(st, s, "decide registration");
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        return -ENOENT;
    return rc;
}

int64_t sc_store_registrations_active(sc_store *st, int64_t event_id)
{
    sqlite3_stmt *s;
    if (!st || sqlite3_prepare_v2(st->db,
                                  "SELECT COUNT(*) FROM event_registrations"
                                  " WHERE event_id = ?1 AND state != 'rejected'",
                                  -1, &s, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(s, 1, event_id);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -EIO;
    sqlite3_finalize(s);
    return n;
}

int sc_store_registrations_list(sc_store *st, int64_t event_id, const char *state,
                                void (*fn)(void *ud, const sc_store_registration *r), void *ud)
{
    char sql[512];
    sqlite3_stmt *s;
    sc_store_registration *r = malloc(sizeof(*r));
    int n = 0, rc;
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM event_registrations WHERE event_id = ?1 AND (?2 IS NULL OR state = ?2)"
             " ORDER BY id",
             reg_cols);
    if (!r || !st || sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        free(r);
        return -EIO;
    }
    sqlite3_bind_int64(s, 1, event_id);
    sc__store_bind_text(s, 2, state);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        reg_from_row(s, r);
        fn(ud, r);
        n++;
    }
    sqlite3_finalize(s);
    free(r);
    return rc == SQLITE_DONE ? n : -EIO;
}
