/* libFuzzer target for the WebM demuxer (recorder/webmread.c): any bytes;
 * open returns 0 or -EINVAL, every frame it returns lies inside the buffer
 * and belongs to a track it reported, and reading ends. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "recorder/webmread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly `size` bytes, so ASan sees any overread. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    sc_webmr r;
    int rc = sc_webmr_open(&r, buf, size);
    if (rc != 0 && rc != -EINVAL)
        abort();
    if (rc == 0) {
        if (r.n_tracks < 0 || r.n_tracks > SC_WEBMR_MAX_TRACKS)
            abort();
        sc_webmr_frame f;
        size_t frames = 0;
        uint64_t sum = 0;
        while (sc_webmr_next(&r, &f) == 1) {
            if (f.track < 0 || f.track >= r.n_tracks || f.data < buf ||
                f.data + f.len > buf + size)
                abort();
            for (size_t i = 0; i < f.len; i++)
                sum += f.data[i]; /* touch every byte */
            /* Every frame takes at least 4 bytes of the input. */
            if (++frames > size)
                abort();
        }
        if (sc_webmr_next(&r, &f) != 0) /* stays at its end */
            abort();
        (void)sum;
        for (int i = 0; i < r.n_tracks; i++) {
            const sc_webmr_track *t = &r.tracks[i];
            if (t->codec_private && (t->codec_private < buf ||
                                     t->codec_private + t->codec_private_len > buf + size))
                abort();
            if (strnlen(t->codec_id, SC_WEBMR_MAX_CODEC_ID) >= SC_WEBMR_MAX_CODEC_ID)
                abort();
        }
    }
    free(buf);
    return 0;
}
