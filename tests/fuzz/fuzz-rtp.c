/* libFuzzer target for sfu/proto/rtp.c: parse, look up every one-byte extension
 * id, and strip the packet into a buffer that is exactly large enough. */
#include "sfu/proto/rtp.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)sc_rtp_is_rtcp(data, size);
    sc_rtp rtp;
    if (sc_rtp_parse(data, size, &rtp) < 0)
        return 0;
    if (rtp.header_len + rtp.payload_len + rtp.padding_len != size)
        abort(); /* the parsed view must account for every byte */

    for (unsigned id = 1; id <= 15; id++) {
        const uint8_t *ext;
        size_t len;
        if (sc_rtp_find_ext(&rtp, (uint8_t)id, &ext, &len) == 0) {
            if (ext < rtp.ext || ext + len > rtp.ext + rtp.ext_len)
                abort();
            volatile uint8_t sink = len ? ext[len - 1] : 0; /* touch the bytes */
            (void)sink;
        }
    }
    /* Two-byte ids beyond 15 as well, once per input. */
    const uint8_t *ext;
    size_t len;
    (void)sc_rtp_find_ext(&rtp, 255, &ext, &len);

    static const uint8_t osn[2] = {0x12, 0x34};
    size_t need = 12 + sizeof(osn) + rtp.payload_len;
    uint8_t *out = malloc(need);
    if (!out)
        return 0;
    int n = sc_rtp_copy_stripped(&rtp, data, osn, sizeof(osn), out, need);
    if (n != (int)need)
        abort();
    /* A full-size packet grows past SC_RTP_MAX_PACKET by the prefix; only
     * copies within the limit can be read back. */
    sc_rtp again;
    if (need <= SC_RTP_MAX_PACKET &&
        (sc_rtp_parse(out, (size_t)n, &again) < 0 || again.seq != rtp.seq ||
         again.ssrc != rtp.ssrc || again.payload_len != rtp.payload_len + sizeof(osn)))
        abort();
    if (sc_rtp_copy_stripped(&rtp, data, osn, sizeof(osn), out, need - 1) >= 0)
        abort();
    free(out);
    return 0;
}
