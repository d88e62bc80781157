/* The replay side of the recordings catalog: the timeline a
 * replay page follows (GET /api/recordings/{id}/timeline), the host's
 * chapter marks (the `chapter` WebSocket command, sc_catalog_commands in
 * ws.h), the room's active-speaker history that lays out the composite,
 * and the composite's share of the recordings quota.
 *
 * Internal to the signalling library: catalog.c and replay.c share the
 * helpers below (sc__ prefix); the public surface stays catalog.h. */
#ifndef SC_REPLAY_H
#define SC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "recorder/composite.h"
#include "sfu/sfu.h"
#include "signaling/http/http.h"
#include "signaling/store/store.h"

/* At most this many speaker changes lay out one composite (the rest of a
 * very long session keeps the last layout). */
#define SC_REPLAY_SPEAKERS_MAX 4096

/* ---- catalog.c helpers replay.c uses ---- */

/* A recording id: 32 lowercase hex digits. */
bool sc__catalog_id_ok(const char *id);
/* 0 for an admin token; else the reply is filled (401 / 403). */
int sc__catalog_admin_auth(sc_app *app, const sc_http_req *req, sc_http_reply *rep);
/* Who may read recording id (its media, timeline, a signed URL of it):
 * an admin token, or once it is published a token of its room with the
 * subscribe permission, in the Authorization header (a token in the query
 * string is refused: 401 token-in-url).  0 with *r and *tok filled, else
 * the reply's status (401, 403; 404 only for admins). */
struct sc_token;
int sc__catalog_reader_auth(sc_app *app, const sc_http_req *req, const char *id,
                            sc_store_recording *r, struct sc_token *tok, sc_http_reply *rep);
/* A row as the API shows it (new reference, NULL on allocation failure). */
json_t *sc__catalog_recording_json(const sc_store_recording *r);

/* ---- replay.c ---- */

/* GET /api/recordings/{id}/timeline (catalog_http.c routes it here). */
void sc__replay_api_timeline(sc_app *app, const sc_http_req *req, const char *id,
                             sc_http_reply *rep);

/* The speaker timeline of `room` between from_ms and to_ms for the
 * composite: the change in effect at from_ms (if any) then every change up
 * to to_ms, oldest first, consecutive repeats dropped.  *out is malloc'd
 * (NULL when there is none).  Count (0..SC_REPLAY_SPEAKERS_MAX) or -EIO /
 * -ENOMEM. */
int sc__replay_speakers(sc_store *st, const char *room, int64_t from_ms, int64_t to_ms,
                        sc_composite_speaker **out);

/* The composite's layout for a session's files (rows, any order): the
 * speaker timeline over their span when more than one slot was on stage
 * and somebody was heard (count > 0, *out malloc'd), else 0 (the grid,
 * *out NULL). */
int sc__replay_layout(sc_store *st, const char *room, const sc_store_recording *rows, int n,
                      sc_composite_speaker **out);

/* The last speaker of each room with one (slot >= 0), kept in memory so a
 * recording session that starts after someone began talking knows who
 * speaks at its start. */
typedef struct sc__speaker_note {
    struct sc__speaker_note *next;
    char room[SC_ROOM_NAME_MAX + 1];
    int slot;
    int64_t ts_ms;
} sc__speaker_note;

/* Room's speaker changed to slot (-1: nobody) at ts_ms: remember it, and
 * store it when the room is recording.  0, -ENOMEM or -EIO. */
int sc__replay_speaker_note(sc__speaker_note **list, sc_store *st, const char *room, int slot,
                            int64_t ts_ms, bool recording);
/* A recording session of `room` began: store the speaker in effect. */
void sc__replay_session_began(const sc__speaker_note *list, sc_store *st, const char *room);
void sc__replay_notes_free(sc__speaker_note **list);

/* Bytes the recordings use, the way the composite's quota check counts
 * them: the recorder's count of slot files plus the ready composites in
 * the catalog (the recorder does not see the composite folders).  A
 * negative errno when the store cannot be read. */
int64_t sc__replay_usage(sc_app *app);
/* The recordings quota in bytes (0: none). */
int64_t sc__replay_quota(sc_app *app);
/* True (with a reason starting "quota" in why) when a composite may not
 * start (adding 0: the quota is used up) or keep its file of `adding`
 * bytes. */
bool sc__replay_over_quota(sc_app *app, int64_t adding, char *why, size_t cap);

#endif
