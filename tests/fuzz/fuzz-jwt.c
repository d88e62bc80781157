/* libFuzzer target for signaling/jwt.c and token.c: the input is a token
 * (NUL-terminated copy), verified with the fixed secret and clock the seed
 * corpus was signed with (tests/unit/signaling/test-jwt.c --write-corpus),
 * so valid tokens reach claim parsing.  Aborts on broken invariants. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/auth/jwt.h"
#include "signaling/auth/token.h"

#define SECRET "stagecast-fuzz-secret"
#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *secret = (const uint8_t *)SECRET;
    size_t slen = sizeof(SECRET) - 1;
    char *tok = malloc(size + 1);
    if (!tok)
        return 0;
    memcpy(tok, data, size);
    tok[size] = '\0';

    json_t *claims = NULL;
    const char *why = NULL;
    int r = sc_jwt_verify(secret, slen, tok, NOW, &claims, &why);
    if (r == 0) {
        json_t *exp = json_object_get(claims, "exp");
        if (!json_is_object(claims) || !json_is_number(exp) || strlen(tok) > SC_JWT_MAX_LEN)
            abort();
        json_decref(claims);
    } else if (claims || !why) {
        abort();
    }

    sc_token t;
    const char *code = NULL;
    int s = sc_token_check(secret, slen, tok, "demo", SC_PERM_SUBSCRIBE, NOW, &t, &code, &why);
    if (s != 0 && s != 401 && s != 403)
        abort();
    if (s == 0 && (r != 0 || strlen(t.room) > SC_ROOM_NAME_MAX ||
                   (strcmp(t.room, "*") != 0 && strcmp(t.room, "demo") != 0) ||
                   !(t.perms & SC_PERM_SUBSCRIBE)))
        abort();
    if (s != 0 && (!code || !why))
        abort();

    /* base64url round trip on the raw bytes. */
    char *e = sc_base64url_encode(data, size);
    if (e) {
        uint8_t *back = malloc(size + 1);
        if (back && sc_base64url_decode(e, strlen(e), back, size) != (int)size)
            abort();
        if (back && size && memcmp(back, data, size) != 0)
            abort();
        free(back);
        free(e);
    }
    uint8_t out[64];
    (void)sc_base64url_decode(tok, size, out, sizeof(out));
    free(tok);
    return 0;
}
