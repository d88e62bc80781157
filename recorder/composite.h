/* The composite replay: the per-slot recordings of one room session made
 * into one WebM that shows the stage the way viewers saw it, in C (libvpx
 * decodes and encodes VP8, libopus decodes and mixes the audio), no browser.
 *
 * Layout: one publisher on stage fills the frame; several share a grid
 * (2 side by side, 3-4 in 2x2, 5-6 in 3x2, in slot order), each tile
 * letterboxed to keep its aspect.  When a speaker timeline is given and
 * opts.speaker_layout is set, the current speaker fills the large area and
 * the others sit in a strip.  A slot shows black before its file starts
 * and after it ends; the audio of every slot is mixed (summed, clipped).
 *
 * Inputs are our own recordings (sc_webm writer's output: VP8 + Opus);
 * an H.264 input is refused with -ENOTSUP (no H.264 decoder in the stack).
 * Runs on the calling thread and takes as long as decoding + encoding the
 * whole session (faster than real time is the goal); call it off the
 * control and media threads. */
#ifndef SC_COMPOSITE_H
#define SC_COMPOSITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_COMPOSITE_MAX_INPUTS 6

typedef struct sc_composite_input {
    const char *path;            /* a finished per-slot WebM */
    int slot;                    /* stage slot (orders the grid) */
    int64_t start_unix_ms;       /* wall clock of the file's time 0 */
} sc_composite_input;

typedef struct sc_composite_speaker {
    int64_t unix_ms;             /* from this moment ... */
    int slot;                    /* ... this slot speaks (-1: nobody) */
} sc_composite_speaker;

typedef struct sc_composite_opts {
    int width, height;           /* output picture; default 1280x720 */
    int fps;                     /* default 25 */
    uint32_t video_kbps;         /* default 1500 */
    bool speaker_layout;         /* use the speaker timeline (if any) */
    const sc_composite_speaker *speakers;   /* sorted by time; may be NULL */
    int n_speakers;
} sc_composite_opts;

typedef struct sc_composite_result {
    int64_t duration_ms;
    uint64_t video_frames;       /* frames encoded */
    uint64_t bytes;              /* output file size */
    double elapsed_s;            /* wall time spent */
} sc_composite_result;

void sc_composite_opts_defaults(sc_composite_opts *o);

/* Make out_path (written as out_path + ".part", renamed when finished)
 * from n inputs (1..SC_COMPOSITE_MAX_INPUTS).  0, or -EINVAL (bad
 * arguments, unreadable input), -ENOTSUP (a codec we cannot decode),
 * -ENOMEM, or an I/O errno; a reason in err.  res may be NULL. */
int sc_composite_run(const sc_composite_input *in, int n, const sc_composite_opts *opts,
                     const char *out_path, sc_composite_result *res, char *err,
                     size_t errlen);

#endif
