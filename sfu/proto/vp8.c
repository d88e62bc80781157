/* VP8 RTP payload descriptor (RFC 7741 4.2) and the keyframe header that
 * follows it (RFC 6386 9.1).  The forwarder reads these on every video packet
 * to find keyframes and rewrites picture id / TL0PICIDX when it switches
 * simulcast layers, so every optional byte is bounds-checked before use
 * (RELIABILITY 8). */
#include "sfu/proto/vp8.h"

#include <errno.h>

/* First octet. */
#define VP8_X 0x80
#define VP8_N 0x20
#define VP8_S 0x10
#define VP8_PID 0x07
/* Extension octet. */
#define VP8_I 0x80
#define VP8_L 0x40
#define VP8_T 0x20
#define VP8_K 0x10
/* Picture id: M selects the 15-bit form. */
#define VP8_M 0x80

/* Frame tag (3 bytes) + start code (3) + width (2) + height (2). */
#define VP8_KEYFRAME_HEADER 10

static uint16_t rd16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int sc_vp8_parse(const uint8_t *payload, size_t len, sc_vp8 *out)
{
    if (!payload || len < 1)
        return -EINVAL;

    sc_vp8 d = {
        .picture_id = -1,
        .tl0picidx = -1,
        .tid = -1,
        .keyidx = -1,
    };
    uint8_t b0 = payload[0];
    d.start_of_partition = b0 & VP8_S;
    d.partition_id = b0 & VP8_PID;
    d.non_reference = b0 & VP8_N;

    size_t pos = 1;
    if (b0 & VP8_X) {
        if (pos >= len)
            return -EINVAL;
        uint8_t ext = payload[pos++];
        if (ext & VP8_I) {
            if (pos >= len)
                return -EINVAL;
            if (payload[pos] & VP8_M) {
                if (len - pos < 2)
                    return -EINVAL; /* "81 81 94": 15-bit id cut in half */
                d.picture_id = (payload[pos] & 0x7F) << 8 | payload[pos + 1];
                d.picture_id_bits = 15;
                pos += 2;
            } else {
                d.picture_id = payload[pos] & 0x7F;
                d.picture_id_bits = 7;
                pos += 1;
            }
        }
        if (ext & VP8_L) {
            if (pos >= len)
                return -EINVAL;
            d.tl0picidx = payload[pos++];
        }
        if (ext & (VP8_T | VP8_K)) {
            if (pos >= len)
                return -EINVAL;
            uint8_t tk = payload[pos++];
            if (ext & VP8_T) {
                d.tid = (int8_t)(tk >> 6);
                d.layer_sync = tk & 0x20;
            }
            if (ext & VP8_K)
                d.keyidx = tk & 0x1F;
        }
    }
    d.descriptor_len = pos;

    /* Only the first packet of partition 0 starts with the VP8 payload
     * header; P (bit 0 of the frame tag) clear means an intra frame. */
    if (d.start_of_partition && d.partition_id == 0 && pos < len) {
        const uint8_t *h = payload + pos;
        d.is_keyframe = !(h[0] & 0x01);
        if (d.is_keyframe && len - pos >= VP8_KEYFRAME_HEADER && h[3] == 0x9D &&
            h[4] == 0x01 && h[5] == 0x2A) {
            /* The top 2 bits of each are the upscaling mode, not size. */
            d.width = rd16le(h + 6) & 0x3FFF;
            d.height = rd16le(h + 8) & 0x3FFF;
        }
    }
    *out = d;
    return 0;
}

void sc_vp8_rewrite(uint8_t *payload, const sc_vp8 *desc, uint16_t picture_id,
                    uint8_t tl0picidx)
{
    /* Offsets follow from the fields sc_vp8_parse found: both optional fields
     * live behind the extension octet at [1], picture id first. */
    size_t pos = 2;
    if (desc->picture_id_bits == 15) {
        payload[pos] = (uint8_t)(VP8_M | ((picture_id >> 8) & 0x7F));
        payload[pos + 1] = (uint8_t)picture_id;
        pos += 2;
    } else if (desc->picture_id_bits == 7) {
        payload[pos] = (uint8_t)(picture_id & 0x7F);
        pos += 1;
    }
    if (desc->tl0picidx >= 0)
        payload[pos] = tl0picidx;
}
