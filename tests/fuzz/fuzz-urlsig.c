/* libFuzzer target for signaling/auth/urlsig.c: the input is
 * "<what>\n<exp>\n<sig>" (the arguments of a signed URL as received),
 * verified with a fixed secret and clock; the seed corpus holds a URL
 * signed with them, so valid signatures reach the expiry check.  Aborts on
 * broken invariants: an unknown result, an accepted URL whose exp is not
 * ahead of the clock or whose signature is not the one sc_urlsig_sign
 * makes (one spelling per grant). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/auth/urlsig.h"

#define SECRET "stagecast-fuzz-secret"
#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *secret = (const uint8_t *)SECRET;
    size_t slen = sizeof(SECRET) - 1;
    char *buf = malloc(size + 1), *exp, *sig;
    char again[SC_URLSIG_LEN + 1];
    int64_t when = 0;
    int r;

    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    exp = strchr(buf, '\n');
    sig = exp ? strchr(exp + 1, '\n') : NULL;
    if (!sig) {
        free(buf);
        return 0;
    }
    *exp++ = '\0';
    *sig++ = '\0';
    r = sc_urlsig_verify(secret, slen, buf, exp, sig, NOW, &when);
    if (r != 0 && r != -EINVAL && r != -EACCES && r != -ETIMEDOUT)
        abort();
    if (r == 0 && (when <= NOW || sc_urlsig_sign(secret, slen, buf, when, again) != 0 ||
                   strcmp(again, sig) != 0))
        abort();
    free(buf);
    return 0;
}
