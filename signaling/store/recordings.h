/* The store: the recordings catalog and the composites' speaker timeline. */
#ifndef SC_STORE_RECORDINGS_H
#define SC_STORE_RECORDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_store sc_store; /* store.h */

typedef struct sc_store_recording {
    char id[33];                   /* 32 hex digits */
    char room[72];
    char title[256];
    char status[16];               /* recording, processing, ready, failed */
    int64_t started_at_ms;         /* Unix ms */
    int64_t duration_ms;
    int64_t bytes;
    char path[1024];
    bool published;
    int64_t created_at_ms;
    int64_t updated_at_ms;
    char kind[16];                 /* track (one slot's file) or composite */
    char session[33];              /* the room session it belongs to; "" none */
    char reason[160];              /* why it failed; "" */
    char tracks[128];              /* JSON array: ["audio","video"], or the
                                      composite's slots [0,1]; "" unknown */
    int slot;                      /* stage slot of a track, -1 */
    char layout[16];               /* a composite's: grid or speaker; "" */
} sc_store_recording;

/* What sc_store_recordings_query keeps; NULL / 0 fields do not filter
 * (from_ms = to_ms = 0: any time). */
typedef struct sc_store_recording_filter {
    const char *room;
    int64_t from_ms, to_ms;
    const char *kind;
    const char *session;
    const char *status;
    const char *groups_of;          /* rooms that are breakout groups of this
                                       class ("CLASS~g..."), instead of room */
} sc_store_recording_filter;

/* Insert r, or (same path) update its status, duration, size, reason,
 * tracks and layout (and a missing session), keeping the row's id, title, kind and
 * published flag.  0 or -EIO. */
int sc_store_recording_put(sc_store *st, const sc_store_recording *r, int64_t now_ms);
/* 0, -ENOENT or -EIO. */
int sc_store_recording_get(sc_store *st, const char *id, sc_store_recording *out);
int sc_store_recording_by_path(sc_store *st, const char *path, sc_store_recording *out);
/* Newest first; room NULL: every room; started_at within [from, to].
 * Count or -EIO. */
int sc_store_recordings_list(sc_store *st, const char *room, int64_t from_ms, int64_t to_ms,
                             void (*fn)(void *ud, const sc_store_recording *r), void *ud);
/* 0, -ENOENT (no such id) or -EIO. */
int sc_store_recording_set_published(sc_store *st, const char *id, int published,
                                     int64_t now_ms);
int sc_store_recording_delete(sc_store *st, const char *id);
/* Newest first.  Count or -EIO. */
int sc_store_recordings_query(sc_store *st, const sc_store_recording_filter *f,
                              void (*fn)(void *ud, const sc_store_recording *r), void *ud);
/* Status (and reason: NULL or "" clears it), duration and size of row id.
 * 0, -ENOENT or -EIO. */
int sc_store_recording_set_status(sc_store *st, const char *id, const char *status,
                                  const char *reason, int64_t duration_ms, int64_t bytes,
                                  int64_t now_ms);
/* ---- speakers (the composite's layout) ---------------------------------- */

/* A room's active speaker changed at ts_ms to `slot` (-1: nobody).
 * 0 or -EIO. */
int sc_store_speaker_add(sc_store *st, const char *room, int slot, int64_t ts_ms);
/* fn for the change in effect at from_ms (the latest at or before it), then
 * each one up to to_ms, oldest first; at most `limit` (<= 0: all).  Count or
 * -EIO. */
int sc_store_speakers_between(sc_store *st, const char *room, int64_t from_ms, int64_t to_ms,
                              int limit, void (*fn)(void *ud, int64_t ts_ms, int slot),
                              void *ud);
/* Forget changes older than before_ms.  0 or -EIO. */
int sc_store_speakers_prune(sc_store *st, int64_t before_ms);
/* Sum of `bytes` over the recordings of kind and status (e.g. the ready
 * composites).  Bytes or -EIO. */
int64_t sc_store_recordings_bytes(sc_store *st, const char *kind, const char *status);

#endif
