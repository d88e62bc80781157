/* VP8 RTP payload descriptor (RFC 7741). */
#ifndef SC_VP8_H
#define SC_VP8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_vp8 {
    bool start_of_partition;   /* S bit */
    uint8_t partition_id;      /* PID */
    bool non_reference;        /* N bit */
    int32_t picture_id;        /* -1 when absent */
    uint8_t picture_id_bits;   /* 7 or 15 (0 when absent) */
    int16_t tl0picidx;         /* -1 when absent */
    int8_t tid;                /* -1 when absent */
    bool layer_sync;           /* Y bit */
    int16_t keyidx;            /* -1 when absent */
    size_t descriptor_len;     /* bytes of payload descriptor */
    /* Only when start_of_partition && partition_id == 0 and the VP8 payload
     * header is present: */
    bool is_keyframe;
    uint16_t width, height;    /* from the keyframe header; 0 if not a keyframe
                                  or the keyframe header is truncated */
} sc_vp8;

/* Parse the descriptor at the start of an RTP payload.  Returns 0 or -EINVAL
 * when the descriptor is truncated (e.g. "81 81 94"). */
int sc_vp8_parse(const uint8_t *payload, size_t len, sc_vp8 *out);

/* Rewrite picture id (keeping its 7/15-bit width) and TL0PICIDX in place,
 * in a payload sc_vp8_parse accepted; fields that are absent are skipped. */
void sc_vp8_rewrite(uint8_t *payload, const sc_vp8 *desc, uint16_t picture_id,
                    uint8_t tl0picidx);

#endif
