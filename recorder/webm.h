/* A WebM (Matroska) writer for recordings: VP8 or H.264 video and Opus
 * audio, written as they arrive, crash-safe and seekable.
 *
 * Layout: EBML header, Segment (size unknown while writing), a reserved
 * SeekHead area, Info (TimecodeScale 1 ms, Duration patched at close), a
 * reserved Tracks area (rewritten in place when a track is added or its
 * parameters become known), then Clusters.  A cluster is built in memory
 * and written whole, with its size, when the next one starts (at each video
 * keyframe, or after SC_WEBM_CLUSTER_MS), so a process killed mid-write
 * leaves every finished cluster readable; sc_webm_repair finishes such a
 * file.  At close: Cues (one per video keyframe, or per cluster when there
 * is no video), SeekHead, Duration and the Segment size.
 *
 * The file is flushed to disk (fdatasync) about once a second, not per
 * frame.  Not thread-safe: one writer per file. */
#ifndef SC_WEBM_H
#define SC_WEBM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_WEBM_MAX_TRACKS 4
#define SC_WEBM_CLUSTER_MS 1000      /* longest cluster: what a crash may lose */
#define SC_WEBM_SYNC_MS 1000         /* fdatasync period */
#define SC_WEBM_MAX_PRIVATE 512      /* CodecPrivate bytes */

typedef enum sc_webm_codec {
    SC_WEBM_VP8 = 0,
    SC_WEBM_H264 = 1,     /* frames: 4-byte big-endian length-prefixed NALs (avcC) */
    SC_WEBM_OPUS = 2,
} sc_webm_codec;

typedef struct sc_webm_track {
    sc_webm_codec codec;
    uint16_t width, height;          /* video; 0 while unknown */
    uint32_t sample_rate;            /* Opus: 48000 */
    uint8_t channels;                /* Opus: 1 or 2 */
    uint16_t opus_pre_skip;          /* samples at 48 kHz (CodecDelay) */
    /* H.264: the avcC record (sc_webm_avcc builds it); Opus: OpusHead, built
     * from channels / pre_skip / sample_rate when codec_private_len is 0. */
    uint8_t codec_private[SC_WEBM_MAX_PRIVATE];
    size_t codec_private_len;
} sc_webm_track;

typedef struct sc_webm sc_webm;

/* Create `path` (truncating it) and write the headers for n tracks
 * (0 <= n <= SC_WEBM_MAX_TRACKS; more may be added later).  NULL with a
 * message in err on failure. */
sc_webm *sc_webm_open(const char *path, const sc_webm_track *tracks, int n, char *err,
                      size_t errlen);

/* Add a track (returns its index) or replace track `index`'s parameters
 * (e.g. the picture size known at the first keyframe); the Tracks element
 * is rewritten in place.  -EINVAL, -ENOSPC (too many tracks or the reserved
 * area is full), or a write error. */
int sc_webm_add_track(sc_webm *w, const sc_webm_track *t);
int sc_webm_set_track(sc_webm *w, int index, const sc_webm_track *t);

/* Append one frame of track `index` at ts_ms (milliseconds from the start of
 * the file, >= 0; a track's timestamps should not go backwards).  A video
 * keyframe starts a new cluster.  0, -EINVAL, -EIO / -ENOSPC / -EDQUOT
 * (after which the writer refuses further frames: what is written stays
 * readable, and sc_webm_close still finishes the file if it can). */
int sc_webm_write(sc_webm *w, int index, int64_t ts_ms, bool keyframe, const uint8_t *frame,
                  size_t len);

/* Bytes written to the file so far (clusters and headers). */
uint64_t sc_webm_bytes(const sc_webm *w);
/* Duration so far in ms (end of the last frame written). */
int64_t sc_webm_duration_ms(const sc_webm *w);

/* Write the pending cluster, Cues, SeekHead, Duration and Segment size,
 * fdatasync and close; frees w (also on error).  0 or a negative errno.
 * Accepts NULL. */
int sc_webm_close(sc_webm *w);

/* Finish a file left by a crash (or re-finish a closed one): keep the
 * complete clusters, drop a torn tail, write Cues, SeekHead, Duration and
 * the Segment size.  0, -EINVAL when the file is not one of ours (no EBML
 * header / Segment / Tracks), or a negative errno from I/O.  On success
 * *duration_ms (may be NULL) receives the duration. */
int sc_webm_repair(const char *path, int64_t *duration_ms, char *err, size_t errlen);

/* Build an avcC record from one SPS and one PPS NAL (without start codes).
 * Returns its length, or -EINVAL / -ENOSPC. */
int sc_webm_avcc(const uint8_t *sps, size_t sps_len, const uint8_t *pps, size_t pps_len,
                 uint8_t *out, size_t cap);

/* Picture size from an SPS NAL (with its header byte).  0 or -EINVAL. */
int sc_webm_h264_sps_size(const uint8_t *sps, size_t len, uint16_t *width, uint16_t *height);

#endif
