/* libFuzzer target for the SDP offer parser: any input must come back as 0
 * or a negative errno with a reason, without over-reads (RELIABILITY 15).
 * The finders are run over whatever was parsed, since callers use them on
 * offers that parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/proto/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* ~1 MiB: allocated once and reused, as the header asks. */
    static sc_sdp *sdp;
    char err[128];
    if (!sdp && !(sdp = malloc(sizeof(*sdp))))
        return 0;
    int rc = sc_sdp_parse((const char *)data, size, sdp, err, sizeof(err));
    if (rc != 0) {
        if (!memchr(err, '\0', sizeof(err)) || !err[0])
            abort(); /* every rejection must carry a terminated reason */
        return 0;
    }
    if (sdp->n_media > SC_SDP_MAX_MEDIA || sdp->n_bundle > SC_SDP_MAX_MEDIA)
        abort();
    for (unsigned i = 0; i < sdp->n_media; i++) {
        const sc_sdp_media *m = &sdp->media[i];
        if (m->n_codecs > SC_SDP_MAX_CODECS || m->n_ssrcs > SC_SDP_MAX_SSRCS ||
            m->n_fids > SC_SDP_MAX_FID || m->n_extmaps > SC_SDP_MAX_EXTMAPS ||
            m->n_rids > SC_SDP_MAX_RIDS)
            abort();
        for (unsigned k = 0; k < m->n_codecs; k++) {
            const sc_sdp_codec *c = &m->codecs[k];
            if (c->pt > 127 || c->apt > 127 || c->apt < -1)
                abort();
            if (c->name[0] && sc_sdp_find_codec(m, c->name, c->clock) == NULL)
                abort();
            (void)sc_sdp_find_rtx(m, c->pt);
        }
        for (unsigned k = 0; k < m->n_extmaps; k++)
            if (sc_sdp_find_extmap(m, m->extmaps[k].uri) == 0)
                abort();
        (void)sc_sdp_find_codec(m, "opus", 48000);
        (void)sc_sdp_find_codec(m, "VP8", 90000);
        (void)sc_sdp_find_extmap(m, "urn:ietf:params:rtp-hdrext:sdes:mid");
    }
    return 0;
}
