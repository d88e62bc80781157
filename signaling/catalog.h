/* The recordings catalog (issue 6): one SQLite row per finished WebM file
 * (store.h), the admin REST API over it and the media it serves.
 *
 * Rows come from two places: a scan of the recordings directory at start
 * (files finished by an earlier run, or repaired by the recorder), and the
 * recorder's done callback.  That callback runs on the writer thread, so it
 * only queues the facts (a short mutex) and wakes the signalling thread,
 * which writes the rows in sc_catalog_drain. */
#ifndef SC_CATALOG_H
#define SC_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"
#include "recorder.h"

typedef struct sc_catalog sc_catalog;

/* dir: the recordings directory (borrowed string is copied).  wake is
 * called on the writer thread after a report is queued (sc_server_notify).
 * NULL on allocation failure. */
sc_catalog *sc_catalog_new(sc_store *store, const char *dir, void (*wake)(void *), void *wake_ud);
/* Frees; reports still queued are dropped (call sc_catalog_drain first).
 * Accepts NULL. */
void sc_catalog_free(sc_catalog *cat);

/* Add every DIR/<room>/<name>.webm not yet in the catalog.  Signalling
 * thread.  Number of rows added, or a negative errno. */
int sc_catalog_scan(sc_catalog *cat);

/* sc_recorder_done_fn: any thread; ud is the catalog. */
void sc_catalog_on_done(void *ud, const sc_recording_info *info);

/* Write the queued reports to the store.  Signalling thread. */
void sc_catalog_drain(sc_catalog *cat);

/* Pure: the Duration of a WebM file from its first bytes (EBML header,
 * Segment, Info).  0 with *ms set, -ENOENT (no Duration before the first
 * Cluster) or -EINVAL (not WebM / truncated). */
int sc_catalog_webm_duration(const uint8_t *buf, size_t len, int64_t *ms);

/* Pure: an HTTP Range header ("bytes=a-b", "bytes=a-", "bytes=-n") against
 * a resource of `total` bytes.  0 with the range in *start / *len; 1 when
 * the header is absent or not understood (serve the whole resource);
 * -ERANGE when it cannot be satisfied (416). */
int sc_catalog_range_parse(const char *h, uint64_t total, uint64_t *start, uint64_t *len);

/* ---- HTTP (called by http.c's route table) ------------------------------ */

/* GET /api/recordings[?room=&from=&to=], GET|DELETE /api/recordings/{id},
 * POST /api/recordings/{id}/{publish|unpublish}.  args: path segments. */
void sc_catalog_http_api(sc_server *srv, const sc_http_req *req, int nargs,
                         char args[][SC_ROOM_NAME_MAX + 32], sc_http_reply *rep);

/* GET /media/recordings/{id}.webm: checks the token (Authorization or
 * ?token=) and the range.  Returns an open descriptor with *status (200 or
 * 206), *start, *len, *total set, or -1 with rep filled (401, 403, 404,
 * 416). */
int sc_catalog_media_open(sc_server *srv, const sc_http_req *req, const char *arg,
                          const char *range, int *status, uint64_t *start, uint64_t *len,
                          uint64_t *total, sc_http_reply *rep);

#endif
