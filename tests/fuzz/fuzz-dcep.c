/* libFuzzer target for the DCEP codec of sfu/engine/sctp.c (RFC 8832): whatever
 * parses must point inside the input and rebuild to the same bytes.  Seed
 * corpus: tests/unit/sfu/engine/test-sctp.c --write-corpus, plus hand-made
 * overruns.  Aborts on broken invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/engine/sctp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_dcep_msg m;
    if (sc_dcep_parse(data, size, &m) != 0)
        return 0;
    if (m.type == SC_DCEP_ACK)
        return size == 1 ? 0 : (abort(), 0);
    if (m.label < data || m.label + m.label_len > data + size ||
        m.protocol + m.protocol_len != data + size)
        abort();
    uint8_t *out = malloc(size);
    if (!out)
        return 0;
    int n = sc_dcep_build_open(&m, out, size);
    if (n != (int)size || memcmp(out, data, size) != 0)
        abort();
    free(out);
    return 0;
}
