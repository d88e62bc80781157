#include "sfu/proto/h264.h"

#include <errno.h>
#include <string.h>

static void note_nal(sc_h264 *out, uint8_t type)
{
    if (type == SC_H264_NAL_SPS)
        out->has_sps = true;
    if (type == SC_H264_NAL_IDR)
        out->has_idr = true;
}

int sc_h264_parse(const uint8_t *p, size_t len, sc_h264 *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 1 || (p[0] & 0x80))
        return -EINVAL;
    uint8_t type = p[0] & 0x1f;
    out->packet_type = type;
    if (type == 0)
        return -EINVAL;
    if (type <= 23) {
        out->nal_type = type;
        note_nal(out, type);
    } else if (type == SC_H264_NAL_STAP_A) {
        /* [hdr][size16][nal]...: every size must fit in what is left. */
        size_t off = 1;
        if (len < 4)
            return -EINVAL;
        while (off < len) {
            if (len - off < 2)
                return -EINVAL;
            size_t n = (size_t)p[off] << 8 | p[off + 1];
            off += 2;
            if (n == 0 || n > len - off || (p[off] & 0x80))
                return -EINVAL;
            uint8_t t = p[off] & 0x1f;
            if (!out->nal_type)
                out->nal_type = t;
            note_nal(out, t);
            off += n;
        }
    } else if (type == SC_H264_NAL_FU_A) {
        if (len < 3) /* indicator, header, at least one byte of the NAL */
            return -EINVAL;
        out->fu_start = (p[1] & 0x80) != 0;
        out->nal_type = p[1] & 0x1f;
        if (out->nal_type == 0 || out->nal_type >= 24)
            return -EINVAL;
        if (out->fu_start)
            note_nal(out, out->nal_type);
    } else {
        return -ENOTSUP; /* STAP-B, MTAP16/24, FU-B: packetization-mode 2 */
    }
    out->is_keyframe = out->has_sps || out->has_idr;
    return 0;
}
