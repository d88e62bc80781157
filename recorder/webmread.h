/* A bounded, pure WebM demuxer for the files recorder/webm.c writes (and
 * other plain WebM: no lacing).  It works over a buffer the caller owns (a
 * file read or mmap'd whole), never allocates, never reads outside
 * [buf, buf + len) and never logs.
 *
 * sc_webmr_open parses the EBML header, Segment (known or unknown size),
 * Info (TimecodeScale) and Tracks, and stops at the first Cluster.
 * sc_webmr_next then returns one frame at a time from the Clusters
 * (SimpleBlock or BlockGroup/Block), in file order.  A Cluster of unknown
 * size ends at the next top-level element.  A truncated file ends cleanly
 * at its last complete block (r->truncated is set); a Cluster whose inside
 * does not parse is skipped (r->bad_clusters counts it) when its size is
 * known, and ends the file when it is not.  Laced blocks (which our writer
 * never makes) and blocks of unknown tracks are skipped and counted. */
#ifndef SC_WEBMREAD_H
#define SC_WEBMREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_WEBMR_MAX_TRACKS 8     /* more TrackEntries are ignored */
#define SC_WEBMR_MAX_CODEC_ID 32  /* longer CodecIDs are cut (and match nothing) */

typedef enum sc_webmr_type {
    SC_WEBMR_VIDEO = 1,
    SC_WEBMR_AUDIO = 2,
} sc_webmr_type;

typedef struct sc_webmr_track {
    uint32_t number;              /* TrackNumber (blocks refer to it) */
    int type;                     /* TrackType: 1 video, 2 audio, other */
    char codec_id[SC_WEBMR_MAX_CODEC_ID];   /* "V_VP8", "A_OPUS", ... */
    const uint8_t *codec_private; /* points into the buffer; NULL when absent */
    size_t codec_private_len;
    uint64_t codec_delay_ns;
    uint32_t width, height;       /* video; 0 when absent */
    double sample_rate;           /* audio; 0 when absent */
    uint32_t channels;            /* audio; 0 when absent */
} sc_webmr_track;

typedef struct sc_webmr_frame {
    int track;                    /* index into r->tracks */
    int64_t ts_ms;                /* from the file's time 0 (may be < 0) */
    bool keyframe;                /* SimpleBlock flag; BlockGroup: no ReferenceBlock */
    const uint8_t *data;          /* points into the buffer */
    size_t len;
} sc_webmr_frame;

/* The reader's state: tracks are for the caller to read, the rest is the
 * cursor (do not touch).  Copying the struct copies the cursor, so one
 * file can be read by several cursors at once (e.g. video and audio). */
typedef struct sc_webmr {
    sc_webmr_track tracks[SC_WEBMR_MAX_TRACKS];
    int n_tracks;
    uint64_t timecode_scale;      /* ns per tick (Info; 1,000,000 by default) */
    double duration_ms;           /* Info Duration; 0 when absent */
    bool truncated;               /* the data ended inside an element */
    uint64_t bad_clusters;        /* clusters skipped because they did not parse */
    uint64_t skipped_blocks;      /* laced, unknown-track or malformed blocks */
    /* cursor */
    const uint8_t *buf;
    size_t len;
    size_t seg_end;               /* end of the Segment's data (<= len) */
    size_t pos;                   /* next element at segment level */
    size_t cl_pos, cl_end;        /* inside a cluster: next child, end */
    bool in_cluster, cl_unknown, cl_torn, done;
    int64_t cl_tc;                /* cluster timecode, in ticks */
} sc_webmr;

/* Parse the headers of buf[0..len).  0, or -EINVAL when the data is not a
 * WebM/Matroska file with a Tracks element before its first Cluster (or the
 * TimecodeScale is 0 / absurd). */
int sc_webmr_open(sc_webmr *r, const uint8_t *buf, size_t len);

/* The next frame, of any track: 1 with *f filled, 0 at the end (clean or
 * truncated). */
int sc_webmr_next(sc_webmr *r, sc_webmr_frame *f);

/* Index of the first track of `type`, or -1. */
int sc_webmr_find(const sc_webmr *r, int type);

#endif
