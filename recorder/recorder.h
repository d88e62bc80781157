/* The recorder: every published stage slot of a room, written as it
 * arrives (no transcoding) to a WebM file, on one writer thread.
 *
 * Files: DIR/<room>/<UTC start, YYYYMMDDTHHMMSSZ>-slot<N>.webm (a "-2",
 * "-3"... suffix before ".webm" if that name is taken).  While written the
 * file is NAME.webm.part; it is renamed to NAME.webm once finished (Cues,
 * Duration).  A .part file found at start (the server was killed) is
 * repaired and renamed.  Room names are sanitized for the file system:
 * bytes outside [A-Za-z0-9._-] become '_', and "." / ".." are refused.
 * Each file has an Opus track and a VP8 or H.264 track (in the order they
 * first arrived; video starts at its first keyframe), timestamps in ms
 * from the first packet, audio and video aligned with the sender reports.
 *
 * Threads: sc_recorder_push is called from any media worker and never
 * blocks on I/O: it takes a reference into a bounded queue (a short mutex)
 * and drops (counted) when the queue is full.  Everything else runs on the
 * writer thread.  Disk errors and the quota stop the file concerned (what
 * is written stays playable) and are counted and reported in the stats. */
#ifndef SC_RECORDER_H
#define SC_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/engine/packet.h"

#define SC_RECORDER_QUEUE 16384        /* packets queued for the writer */
#define SC_RECORDER_IDLE_MS 5000       /* a stream with no packets closes */

typedef struct sc_recorder sc_recorder;

typedef struct sc_recorder_stats {
    uint64_t files_open;
    uint64_t files_done;           /* finished cleanly (or repaired at start) */
    uint64_t files_repaired;       /* .part files repaired at start */
    uint64_t bytes_written;        /* by this process */
    uint64_t bytes_used;           /* in dir, counted against the quota */
    uint64_t drops_queue_full;
    uint64_t frames_dropped;       /* incomplete frames / waiting for a keyframe */
    uint64_t errors;               /* disk errors, quota refusals, open failures */
    bool error;                    /* an error happened since start */
    char last_error[256];
} sc_recorder_stats;

/* Why a file stopped early, or could not be started. */
typedef enum sc_recording_stop {
    SC_RECORDING_STOP_NONE = 0,
    SC_RECORDING_STOP_DISK_FULL,   /* ENOSPC */
    SC_RECORDING_STOP_QUOTA,       /* the recordings quota (or EDQUOT) */
    SC_RECORDING_STOP_DISK_ERROR,  /* any other I/O error */
} sc_recording_stop;

/* A file started, finished, or a slot that cannot be recorded, reported on
 * the writer thread (keep the callbacks short; copy what you need: the
 * strings die when they return). */
typedef struct sc_recording_info {
    const char *path;              /* DIR/<room>/<name>.webm (the final name,
                                      even while it is written as .part);
                                      NULL when no file could be opened */
    const char *room;              /* as in the packets, unsanitized */
    int slot;
    uint64_t generation;
    int64_t start_unix_ms;         /* wall clock of the first packet */
    int64_t duration_ms;
    uint64_t bytes;
    bool error;                    /* stopped early (disk full, quota) */
    sc_recording_stop stop;        /* why, when error */
    const char *message;           /* a human reason when error, else NULL */
    bool has_audio, has_video;     /* tracks in the file (done only) */
} sc_recording_info;

typedef void (*sc_recorder_done_fn)(void *ud, const sc_recording_info *info);

/* Events beyond "done" (STYLE 7).  Every member may be NULL.  started: a
 * file was opened (duration 0).  error: a slot's file stopped early or
 * could not be opened (disk full, quota, I/O); a started file also gets
 * its done call afterwards, with error set. */
typedef struct sc_recorder_events {
    int version;                   /* SC_RECORDER_EVENTS_VERSION */
    void (*started)(void *ud, const sc_recording_info *info);
    void (*error)(void *ud, const sc_recording_info *info);
} sc_recorder_events;

#define SC_RECORDER_EVENTS_VERSION 1

/* The short name of a stop reason: "disk-full", "quota", "disk-error" ("" for
 * none). */
const char *sc_recording_stop_name(sc_recording_stop s);

/* Create dir (and its parents are expected to exist), repair unfinished
 * files, count dir's usage against quota_bytes (0: no quota) and start the
 * writer thread.  NULL with a message in err. */
sc_recorder *sc_recorder_new(const char *dir, uint64_t quota_bytes, char *err, size_t errlen);

/* Optional; call before the first push. */
void sc_recorder_set_done_callback(sc_recorder *r, sc_recorder_done_fn fn, void *ud);
/* Optional; call before the first push.  ev is copied. */
void sc_recorder_set_events(sc_recorder *r, const sc_recorder_events *ev, void *ud);

/* Queue a packet (RTP or SR, stamped with room/slot/generation/video/codec/
 * keyframe/desc as sfu/engine/publisher.c does); takes its own reference.  Never
 * blocks on I/O.  Video: the first SSRC that shows a keyframe is recorded;
 * push only the simulcast layer you want in the file. */
void sc_recorder_push(sc_recorder *r, sc_media_pkt *pkt);

/* Ask the writer to finish every file of `room` (asynchronous: the files
 * are done when files_done rises or the callback fires).  0, -EINVAL,
 * -ENOMEM. */
int sc_recorder_stop_room(sc_recorder *r, const char *room);

void sc_recorder_stats_get(sc_recorder *r, sc_recorder_stats *out);

/* Finish every file, join the thread, free.  Accepts NULL. */
void sc_recorder_free(sc_recorder *r);

#endif
