/* H.264 RTP payload (RFC 6184), packetization-mode 1: single NAL units,
 * STAP-A and FU-A.  Only what forwarding needs: where a keyframe starts. */
#ifndef SC_H264_H
#define SC_H264_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    SC_H264_NAL_SLICE = 1,
    SC_H264_NAL_IDR = 5,
    SC_H264_NAL_SEI = 6,
    SC_H264_NAL_SPS = 7,
    SC_H264_NAL_PPS = 8,
    SC_H264_NAL_STAP_A = 24,
    SC_H264_NAL_FU_A = 28,
};

typedef struct sc_h264 {
    uint8_t packet_type;   /* the payload's NAL type: 1-23, 24 (STAP-A) or 28 (FU-A) */
    uint8_t nal_type;      /* single NAL: its type; FU-A: the fragmented NAL's type;
                              STAP-A: the first aggregated NAL's type */
    bool fu_start;         /* FU-A: S bit */
    bool has_sps;          /* an SPS is in this packet */
    bool has_idr;          /* an IDR slice starts in this packet */
    /* Where a decoder can start: the packet carrying the SPS (Chrome sends
     * SPS+PPS before each IDR), or an IDR start when no SPS comes with it. */
    bool is_keyframe;
} sc_h264;

/* Parse an RTP payload.  0, -EINVAL when truncated or malformed (empty
 * payload, the forbidden bit, an FU-A without its header, STAP-A sizes that
 * overrun, NAL type 0), -ENOTSUP for packetization-mode 2 types (STAP-B,
 * MTAP, FU-B). */
int sc_h264_parse(const uint8_t *payload, size_t len, sc_h264 *out);

#endif
