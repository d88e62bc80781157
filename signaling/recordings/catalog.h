/* The recordings catalog: one SQLite row per WebM file (store.h)
 * from the moment it starts, grouped in room sessions, the composite of
 * each session, the admin REST API over them, the media they serve, the
 * replay timeline and the host's chapter marks (those two in replay.c).
 *
 * Rows come from a scan of the recordings directory at start (files of an
 * earlier run, rows it left unfinished) and from the recorder's callbacks
 * (started, done, error).  Those run on the writer thread, so they only
 * queue the facts (a short mutex) and wake the signalling thread, which
 * writes the rows in sc_catalog_drain.
 *
 * A room session is the files of one room that overlap in time; it ends
 * SC_CATALOG_SESSION_GRACE_MS after its last file finished if no other
 * started.  Its composite (recorder/composite.h) then runs on the
 * catalog's own thread, one job at a time, and its row goes processing ->
 * ready or failed. */
#ifndef SC_CATALOG_H
#define SC_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "recorder/recorder.h"
#include "sfu/sfu.h"
#include "signaling/http/http.h"
#include "signaling/store/store.h"

#define SC_CATALOG_SESSION_GRACE_MS 3000  /* a session ends this long after its last file */
#define SC_CATALOG_CHAPTER_MAX 200        /* characters in a chapter title */
#define SC_CATALOG_SPEAKERS_KEEP_MS (7LL * 24 * 3600 * 1000) /* speaker changes kept */

typedef struct sc_catalog sc_catalog;

typedef struct sc_catalog_stats {
    uint64_t failed_quota;         /* files stopped (or refused) by the quota */
    uint64_t failed_disk_full;
    uint64_t failed_disk_error;
    uint64_t composites_ready;
    uint64_t composites_failed;
    uint64_t reports_dropped;      /* the queue from the writer was full */
} sc_catalog_stats;

/* dir: the recordings directory (borrowed string is copied).  wake is
 * called on the writer thread after a report is queued (sc_app_notify).
 * NULL on allocation failure. */
sc_catalog *sc_catalog_new(sc_store *store, const char *dir, void (*wake)(void *), void *wake_ud);
/* The server whose clients hear recording_error and whose event loop runs
 * the session timer (borrowed; set before the first drain). */
void sc_catalog_set_app(sc_catalog *cat, sc_app *app);
/* Frees; reports still queued are dropped (call sc_catalog_drain first).
 * A composite in progress is left to finish on its thread (its row stays
 * "processing" and runs again at the next start).  Accepts NULL. */
void sc_catalog_free(sc_catalog *cat);

/* At start: resolve rows an earlier run left "recording" (repaired files
 * -> ready, else failed) or "processing" (run again), make the composites
 * of sessions that never got one, and add every DIR/<room>/<name>.webm
 * not yet in the catalog.  Signalling thread.  Number of files added, or a
 * negative errno. */
int sc_catalog_scan(sc_catalog *cat);

/* The recorder's callbacks (sc_recorder_done_fn, sc_recorder_events):
 * any thread; ud is the catalog. */
void sc_catalog_on_done(void *ud, const sc_recording_info *info);
void sc_catalog_on_started(void *ud, const sc_recording_info *info);
void sc_catalog_on_error(void *ud, const sc_recording_info *info);

void sc_catalog_stats_get(sc_catalog *cat, sc_catalog_stats *out);

/* Write the queued reports to the store.  Signalling thread. */
void sc_catalog_drain(sc_catalog *cat);

/* The room's active speaker changed to stage slot `slot` (-1: nobody) at
 * unix_ms (ws.c, on SC_EVENT_ACTIVE_SPEAKER).  Stored while the room
 * records: the composite shows the speaker large when several slots were
 * on stage.  Signalling thread; app->catalog may be NULL. */
/* Subscribes the catalog to the bus (the active speaker, for the
 * composite's layout).  0 or -1. */
int sc_catalog_subscribe(sc_app *app);
void sc_catalog_on_speaker(sc_app *app, const char *room, int slot, int64_t unix_ms);

/* For tests: end the room sessions idle for SC_CATALOG_SESSION_GRACE_MS
 * at monotonic time now (ms) and queue their composites, as the session
 * timer does. */
void sc__catalog_sessions_tick(sc_catalog *cat, int64_t now);

/* Pure: the Duration of a WebM file from its first bytes (EBML header,
 * Segment, Info).  0 with *ms set, -ENOENT (no Duration before the first
 * Cluster) or -EINVAL (not WebM / truncated). */
int sc_catalog_webm_duration(const uint8_t *buf, size_t len, int64_t *ms);

/* Pure: an HTTP Range header ("bytes=a-b", "bytes=a-", "bytes=-n") against
 * a resource of `total` bytes.  0 with the range in *start / *len; 1 when
 * the header is absent or not understood (serve the whole resource);
 * -ERANGE when it cannot be satisfied (416). */
int sc_catalog_range_parse(const char *h, uint64_t total, uint64_t *start, uint64_t *len);

/* ---- HTTP routes (catalog_http.c) ---------------------------------------- */

/* GET /api/recordings[?room=&from=&to=&kind=&status=&session=],
 * GET|DELETE /api/recordings/{id}, POST /api/recordings/{id}/{publish|
 * unpublish}, GET /api/recordings/{id}/timeline, POST
 * /api/recordings/{id}/media-url[?purpose=play|download] (a signed URL of
 * the media, valid --media-url-ttl seconds), GET /api/recordings/stats, and
 * GET /media/recordings/{id}.webm (a signed URL, or the token in the
 * Authorization header, never ?token=; Range honoured: 200, 206 or 416). */
extern const sc_http_route sc_catalog_routes[];
extern const size_t sc_catalog_n_routes;

/* The catalog's and the recorder's counters (for /api/stats). */
json_t *sc_catalog_stats_json(sc_app *app);

#endif
