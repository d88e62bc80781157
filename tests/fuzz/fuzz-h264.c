/* libFuzzer target: the H.264 payload parser must accept or refuse any
 * input without reading past it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sfu/proto/h264.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_h264 h;
    if (sc_h264_parse(data, size, &h) == 0 && h.is_keyframe && !h.has_sps && !h.has_idr)
        abort(); /* a keyframe needs a reason */
    return 0;
}
