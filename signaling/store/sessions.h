/* The store: media sessions (who published or watched what, when, and
 * why it ended). */
#ifndef SC_STORE_SESSIONS_H
#define SC_STORE_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_store sc_store; /* store.h */

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
