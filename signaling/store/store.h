/* Durable records of the signalling plane: SQLite at DATA/stagecast.db,
 * split by domain (sessions.h, interactions.h, recordings.h; this header
 * includes them all).
 *
 * WAL mode with synchronous=NORMAL keeps each write a short append to the
 * log; the hot statements (sessions, interactions, bans) are prepared once
 * at open, the rest per call.  Called only from the signalling
 * thread, never from a media path.  A schema_version table drives the
 * migrations (store.c lists them in order). */
#ifndef SC_STORE_H
#define SC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_store sc_store;

/* Opens (creating and migrating) the database.  NULL with a reason in err.
 * Sessions a previous run left open are closed with reason "restart". */
sc_store *sc_store_open(const char *path, char *err, size_t errlen);
void sc_store_close(sc_store *st);

/* Schema version after migrations (for tests). */
int sc_store_schema_version(sc_store *st);
/* The schema version this build migrates to. */
int sc_store_latest_schema(void);

/* The domains, each its own header and file: */
#include "signaling/store/events.h"
#include "signaling/store/interactions.h"
#include "signaling/store/recordings.h"
#include "signaling/store/sessions.h"

#endif
