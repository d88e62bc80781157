/* RTP depacketizers for the recorder: VP8 (RFC 7741), H.264 (RFC 6184
 * packetization-mode 1) and Opus, one sc_depack per RTP stream (SSRC).
 *
 * Frames come out whole: the packets of one timestamp up to the marker bit,
 * in sequence.  A frame with a missing packet (a sequence gap, or a packet
 * of a new timestamp before the marker) is dropped, and video then waits
 * for the next keyframe, so the file never holds a frame that references a
 * lost one.  Timestamps are unwrapped to 64 bits.  Pure: no I/O, no logs;
 * the caller owns the object and uses it from one thread. */
#ifndef SC_DEPACK_H
#define SC_DEPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/proto/rtp.h"

#define SC_DEPACK_MAX_FRAME (4u << 20)   /* larger frames are dropped */

typedef enum sc_depack_codec {
    SC_DEPACK_VP8 = 0,
    SC_DEPACK_H264 = 1,    /* output: 4-byte big-endian length-prefixed NAL units */
    SC_DEPACK_OPUS = 2,
} sc_depack_codec;

typedef struct sc_frame {
    const uint8_t *data;   /* valid until the next sc_depack_push / free */
    size_t len;
    int64_t ts;            /* RTP timestamp, unwrapped (first packet's ts + k * 2^32) */
    bool keyframe;         /* VP8 key frame / H.264 frame with an IDR slice; Opus: true */
    uint16_t width, height; /* VP8 keyframes; H.264 frames carrying an SPS; else 0 */
} sc_frame;

typedef struct sc_depack_stats {
    uint64_t frames;            /* frames output */
    uint64_t frames_dropped;    /* incomplete, or waiting for a keyframe */
    uint64_t packets_refused;   /* malformed payloads (-EINVAL) */
} sc_depack_stats;

typedef struct sc_depack sc_depack;

sc_depack *sc_depack_new(sc_depack_codec codec);
void sc_depack_free(sc_depack *d);

/* Feed one RTP packet (as sc_rtp_parse returned it).  Returns 1 with *out
 * set when it completes a frame, 0 when more packets are needed or a frame
 * was dropped, -EINVAL when the payload is malformed or truncated (the
 * packet is refused and the frame in progress dropped). */
int sc_depack_push(sc_depack *d, const sc_rtp *rtp, sc_frame *out);

/* H.264: the latest SPS and PPS seen (NAL units with their header byte, no
 * start code).  0, or -ENOENT before both arrived. */
int sc_depack_h264_params(const sc_depack *d, const uint8_t **sps, size_t *sps_len,
                          const uint8_t **pps, size_t *pps_len);

void sc_depack_get_stats(const sc_depack *d, sc_depack_stats *out);

#endif
