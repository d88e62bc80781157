/* Durable records of the signalling plane: SQLite at DATA/stagecast.db.
 *
 * WAL mode with synchronous=NORMAL keeps each write a short append to the
 * log; statements are prepared once.  Called only from the signalling
 * thread, never from a media path.  A schema_version table drives the
 * migrations (store.c lists them in order). */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sc_store sc_store;

/* Opens (creating and migrating) the database.  NULL with a reason in err.
 * Sessions a previous run left open are closed with reason "restart". */
sc_store *sc_store_open(const char *path, char *err, size_t errlen);
void sc_store_close(sc_store *st);

/* Schema version after migrations (for tests). */
int sc_store_schema_version(sc_store *st);

/* kind: "publish" or "subscribe".  name and user_id may be NULL.
 * Times are Unix milliseconds.  0 or -EIO. */
int sc_store_session_started(sc_store *st, uint64_t session_id, const char *room,
                             const char *kind, const char *name, const char *user_id,
                             int64_t started_at_ms);
int sc_store_session_ended(sc_store *st, uint64_t session_id, int64_t ended_at_ms,
                           const char *reason);

/* Count of sessions rows, and of those still open (for tests). */
int sc_store_count_sessions(sc_store *st, int *total, int *open);

#endif
