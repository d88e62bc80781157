/* sfu/proto/h264.c: keyframe detection in RFC 6184 payloads, and the truncated
 * inputs of RELIABILITY 8. */
#include <errno.h>

#include "sfu/proto/h264.h"
#include "tests/unit/sc_test.h"

int main(void)
{
    sc_h264 h;
    /* single NAL units */
    const uint8_t sps[] = {0x67, 0x42, 0xe0, 0x1f};
    SC_CHECK_INT(sc_h264_parse(sps, sizeof(sps), &h), 0);
    SC_CHECK(h.has_sps && h.is_keyframe && h.nal_type == 7);
    const uint8_t idr[] = {0x65, 0x88, 0x84};
    SC_CHECK_INT(sc_h264_parse(idr, sizeof(idr), &h), 0);
    SC_CHECK(h.has_idr && h.is_keyframe);
    const uint8_t slice[] = {0x41, 0x9a, 0x00};
    SC_CHECK_INT(sc_h264_parse(slice, sizeof(slice), &h), 0);
    SC_CHECK(!h.is_keyframe && h.nal_type == 1);
    /* STAP-A with SPS + PPS (what Chrome sends before an IDR) */
    const uint8_t stap[] = {0x78, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f, 0x00, 0x02, 0x68, 0xce};
    SC_CHECK_INT(sc_h264_parse(stap, sizeof(stap), &h), 0);
    SC_CHECK(h.packet_type == 24 && h.has_sps && h.is_keyframe && h.nal_type == 7);
    /* STAP-A of non-key NALs */
    const uint8_t stap2[] = {0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a};
    SC_CHECK_INT(sc_h264_parse(stap2, sizeof(stap2), &h), 0);
    SC_CHECK(!h.is_keyframe);
    /* FU-A: the first fragment of an IDR is a keyframe start, the others not */
    const uint8_t fu_start[] = {0x7c, 0x85, 0xb8, 0x00};
    SC_CHECK_INT(sc_h264_parse(fu_start, sizeof(fu_start), &h), 0);
    SC_CHECK(h.fu_start && h.has_idr && h.is_keyframe && h.nal_type == 5);
    const uint8_t fu_mid[] = {0x7c, 0x05, 0x11, 0x22};
    SC_CHECK_INT(sc_h264_parse(fu_mid, sizeof(fu_mid), &h), 0);
    SC_CHECK(!h.fu_start && !h.is_keyframe);
    const uint8_t fu_p[] = {0x5c, 0x81, 0x9a};
    SC_CHECK_INT(sc_h264_parse(fu_p, sizeof(fu_p), &h), 0);
    SC_CHECK(h.fu_start && !h.is_keyframe);

    /* truncated and malformed */
    SC_CHECK_INT(sc_h264_parse(sps, 0, &h), -EINVAL);
    const uint8_t forbidden[] = {0xe7, 0x42};
    SC_CHECK_INT(sc_h264_parse(forbidden, sizeof(forbidden), &h), -EINVAL);
    const uint8_t type0[] = {0x60, 0x00};
    SC_CHECK_INT(sc_h264_parse(type0, sizeof(type0), &h), -EINVAL);
    SC_CHECK_INT(sc_h264_parse(fu_start, 1, &h), -EINVAL);  /* FU indicator only */
    SC_CHECK_INT(sc_h264_parse(fu_start, 2, &h), -EINVAL);  /* no NAL byte */
    const uint8_t fu_bad[] = {0x7c, 0x80 | 24, 0x00};       /* fragments an aggregate */
    SC_CHECK_INT(sc_h264_parse(fu_bad, sizeof(fu_bad), &h), -EINVAL);
    const uint8_t stap_over[] = {0x78, 0x00, 0x09, 0x67, 0x42};
    SC_CHECK_INT(sc_h264_parse(stap_over, sizeof(stap_over), &h), -EINVAL);
    const uint8_t stap_half[] = {0x78, 0x00, 0x01, 0x67, 0x00};
    SC_CHECK_INT(sc_h264_parse(stap_half, sizeof(stap_half), &h), -EINVAL); /* 1 byte left for a size */
    const uint8_t stap_zero[] = {0x78, 0x00, 0x00, 0x67, 0x42};
    SC_CHECK_INT(sc_h264_parse(stap_zero, sizeof(stap_zero), &h), -EINVAL);
    SC_CHECK_INT(sc_h264_parse(stap, 3, &h), -EINVAL);
    const uint8_t stapb[] = {0x79, 0x00, 0x00, 0x00, 0x02, 0x67, 0x42};
    SC_CHECK_INT(sc_h264_parse(stapb, sizeof(stapb), &h), -ENOTSUP);
    const uint8_t fub[] = {0x7d, 0x85, 0x00, 0x00};
    SC_CHECK_INT(sc_h264_parse(fub, sizeof(fub), &h), -ENOTSUP);
    SC_TEST_END();
}
