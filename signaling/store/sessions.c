/* The media sessions' rows (sessions table). */
#include "signaling/store/sessions.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signaling/store/private.h"

int sc_store_session_started(sc_store *st, uint64_t session_id, const char *room,
                             const char *kind, const char *name, const char *user_id,
                             int64_t started_at_ms)
{
    char id[17];

    if (!st)
        return 0;
    snprintf(id, sizeof(id), "%016" PRIx64, session_id);
    sqlite3_bind_text(st->ins_session, 1, id, -1, SQLITE_TRANSIENT);
    sc__store_bind_text(st->ins_session, 2, room);
    sc__store_bind_text(st->ins_session, 3, kind);
    sc__store_bind_text(st->ins_session, 4, name);
    sc__store_bind_text(st->ins_session, 5, user_id);
    sqlite3_bind_int64(st->ins_session, 6, started_at_ms);
    return sc__store_step_done(st, st->ins_session, "recording session start");
}

int sc_store_session_ended(sc_store *st, uint64_t session_id, int64_t ended_at_ms,
                           const char *reason)
{
    char id[17];

    if (!st)
        return 0;
    snprintf(id, sizeof(id), "%016" PRIx64, session_id);
    sqlite3_bind_int64(st->end_session, 1, ended_at_ms);
    sc__store_bind_text(st->end_session, 2, reason);
    sqlite3_bind_text(st->end_session, 3, id, -1, SQLITE_TRANSIENT);
    return sc__store_step_done(st, st->end_session, "recording session end");
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
