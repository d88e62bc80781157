/* signaling/jwt.c: base64url, HS256 sign/verify and the hostile tokens of
 * RELIABILITY 18.  Attack tokens are assembled here by hand (header and
 * payload JSON as text, signed with OpenSSL directly) so they can carry
 * what sc_jwt_sign would never produce.
 *
 * `test-signaling-jwt --write-corpus DIR` also writes the tokens to DIR
 * (the seed corpus of tests/fuzz/fuzz-jwt.c, same secret and clock). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "signaling/auth/jwt.h"
#include "tests/unit/sc_test.h"

/* Shared with tests/fuzz/fuzz-jwt.c. */
#define SECRET "stagecast-fuzz-secret"
#define NOW 1700000000LL

static const uint8_t *secret = (const uint8_t *)SECRET;
static const size_t secret_len = sizeof(SECRET) - 1;
static const char *corpus_dir;
static int corpus_n;

static void keep(const char *name, const char *tok)
{
    if (!corpus_dir || !tok)
        return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%02d-%s", corpus_dir, corpus_n++, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return;
    }
    fputs(tok, f);
    fclose(f);
}

static char *b64(const char *s)
{
    return sc_base64url_encode((const uint8_t *)s, strlen(s));
}

/* header.payload.signature with the signature made by `md` over the first
 * two parts (md NULL: the given raw signature part instead). */
static char *craft(const char *header, const char *payload, const EVP_MD *md,
                   const char *raw_sig)
{
    char *h = b64(header), *p = b64(payload);
    size_t n = strlen(h) + strlen(p) + 200;
    char *tok = malloc(n);
    snprintf(tok, n, "%s.%s", h, p);
    if (md) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned int ml = 0;
        HMAC(md, secret, (int)secret_len, (const uint8_t *)tok, strlen(tok), mac, &ml);
        char *s = sc_base64url_encode(mac, ml);
        tok = realloc(tok, strlen(tok) + strlen(s) + 2);
        strcat(tok, ".");
        strcat(tok, s);
        free(s);
    } else {
        tok = realloc(tok, strlen(tok) + strlen(raw_sig) + 2);
        strcat(tok, ".");
        strcat(tok, raw_sig);
    }
    free(h);
    free(p);
    return tok;
}

/* "<hp>.<HS256 signature over hp>" for hand-made first parts. */
static char *sign_raw(const char *hp)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), secret, (int)secret_len, (const uint8_t *)hp, strlen(hp), mac, &ml);
    char *s = sc_base64url_encode(mac, ml);
    char *tok = malloc(strlen(hp) + strlen(s) + 2);
    sprintf(tok, "%s.%s", hp, s);
    free(s);
    return tok;
}

#define HS256_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static int verify(const char *tok, json_t **claims, const char **why)
{
    return sc_jwt_verify(secret, secret_len, tok, NOW, claims, why);
}

/* Verifies, checks the error code, that a reason was given and that the
 * reason does not echo the token. */
static void expect(const char *name, const char *tok, int want)
{
    json_t *claims = (json_t *)1;
    const char *why = NULL;
    keep(name, tok);
    int r = verify(tok, &claims, &why);
    if (r != want)
        fprintf(stderr, "case %s\n", name);
    SC_CHECK_INT(r, want);
    if (want < 0) {
        SC_CHECK(claims == NULL);
        SC_CHECK(why != NULL && *why != '\0');
        SC_CHECK(!why || !tok || strlen(tok) < 8 || !strstr(why, tok + 4));
    } else {
        SC_CHECK(claims != NULL && claims != (json_t *)1);
    }
    if (r == 0)
        json_decref(claims);
}

static void test_base64url(void)
{
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    uint8_t buf[64];
    for (size_t i = 0; i < 7; i++) {
        char *e = b64(plain[i]);
        SC_CHECK_STR(e, enc[i]);
        free(e);
        int n = sc_base64url_decode(enc[i], strlen(enc[i]), buf, sizeof(buf));
        SC_CHECK_INT(n, strlen(plain[i]));
        SC_CHECK(n >= 0 && memcmp(buf, plain[i], (size_t)n) == 0);
    }
    /* The url-safe alphabet: 0xfb 0xff is "+/8=" in standard base64. */
    const uint8_t odd[] = {0xfb, 0xff};
    char *e = sc_base64url_encode(odd, 2);
    SC_CHECK_STR(e, "-_8");
    free(e);
    SC_CHECK_INT(sc_base64url_decode("-_8", 3, buf, sizeof(buf)), 2);
    SC_CHECK(buf[0] == 0xfb && buf[1] == 0xff);

    /* Round trips of every length and byte value. */
    uint8_t in[70], out[70];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 37 + 11);
    int ok = 1;
    for (size_t len = 0; len <= sizeof(in); len++) {
        char *s = sc_base64url_encode(in, len);
        int n = sc_base64url_decode(s, strlen(s), out, sizeof(out));
        ok &= n == (int)len && memcmp(in, out, len) == 0 && strlen(s) % 4 != 1 &&
              !strpbrk(s, "=+/");
        free(s);
    }
    SC_CHECK(ok);

    /* Refused: padding, lengths = 1 mod 4, foreign characters, trailing
     * bits that make a second spelling, and too little room. */
    SC_CHECK_INT(sc_base64url_decode("Zg==", 4, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zg=", 3, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm8=", 4, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Z", 1, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm9vY", 5, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm9vYmFyZ", 9, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("+/8", 3, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm 9", 4, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm\09", 4, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zh", 2, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm9", 3, buf, sizeof(buf)), -EINVAL);
    SC_CHECK_INT(sc_base64url_decode("Zm8", 3, buf, sizeof(buf)), 2);
    SC_CHECK_INT(sc_base64url_decode("Zm9vYmFy", 8, buf, 5), -ENOSPC);
    SC_CHECK_INT(sc_base64url_decode("Zm9vYmFy", 8, buf, 6), 6);
    SC_CHECK_INT(sc_base64url_decode("", 0, buf, 0), 0);
}

static void test_round_trip(void)
{
    json_t *c = json_pack("{s:s, s:I, s:[s,s]}", "room", "demo", "exp", (json_int_t)(NOW + 60),
                          "perms", "publish", "chat");
    char *tok = sc_jwt_sign(secret, secret_len, c);
    SC_CHECK(tok != NULL);
    keep("valid", tok);
    json_t *out = NULL;
    const char *why = "unset";
    SC_CHECK_INT(verify(tok, &out, &why), 0);
    SC_CHECK(why == NULL);
    SC_CHECK_STR(json_string_value(json_object_get(out, "room")), "demo");
    SC_CHECK(json_equal(out, c));
    json_decref(out);

    /* Header is exactly the documented one. */
    char hdr[64];
    const char *dot = strchr(tok, '.');
    int n = sc_base64url_decode(tok, (size_t)(dot - tok), (uint8_t *)hdr, sizeof(hdr) - 1);
    SC_CHECK(n > 0);
    hdr[n > 0 ? n : 0] = '\0';
    SC_CHECK_STR(hdr, HS256_HDR);

    /* Same claims, independent signer: identical token. */
    char *payload = json_dumps(c, JSON_COMPACT);
    char *mine = craft(HS256_HDR, payload, EVP_sha256(), NULL);
    SC_CHECK_STR(mine, tok);
    free(mine);
    free(payload);

    /* Another secret does not verify it. */
    SC_CHECK_INT(sc_jwt_verify((const uint8_t *)"other", 5, tok, NOW, &out, &why), -EACCES);
    SC_CHECK_INT(sc_jwt_verify(secret, 0, tok, NOW, &out, &why), -EACCES);
    /* claims and why may be NULL. */
    SC_CHECK_INT(sc_jwt_verify(secret, secret_len, tok, NOW, NULL, NULL), 0);

    /* A signature character changed; a payload character changed. */
    char *bad = strdup(tok);
    char *sig = strrchr(bad, '.') + 1;
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    expect("bad-signature", bad, -EACCES);
    strcpy(bad, tok);
    char *pl = strchr(bad, '.') + 1;
    pl[5] = pl[5] == 'a' ? 'b' : 'a';
    expect("flipped-payload", bad, -EACCES);
    /* Signature truncated, extended. */
    strcpy(bad, tok);
    bad[strlen(bad) - 4] = '\0';
    expect("short-signature", bad, -EACCES);
    free(bad);
    size_t tl = strlen(tok);
    bad = malloc(tl + 8);
    memcpy(bad, tok, tl);
    memcpy(bad + tl, "AAAA", 5);
    expect("long-signature", bad, -EACCES);
    free(bad);

    SC_CHECK(sc_jwt_sign(secret, secret_len, json_object_get(c, "perms")) == NULL);
    SC_CHECK(sc_jwt_sign(secret, 0, c) == NULL);
    free(tok);
    json_decref(c);
}

static void test_claims(void)
{
    char p[256], *t;
    t = craft(HS256_HDR, "{\"room\":\"demo\"}", EVP_sha256(), NULL);
    expect("no-exp", t, -ENODATA);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":\"1900000000\"}", EVP_sha256(), NULL);
    expect("exp-string", t, -EINVAL);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":null}", EVP_sha256(), NULL);
    expect("exp-null", t, -EINVAL);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld}", NOW);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("expired-now", t, -ETIMEDOUT);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld}", NOW - 3600);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("expired", t, -ETIMEDOUT);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld.5}", NOW);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("exp-real", t, 0);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld.0}", NOW - 1);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("exp-real-expired", t, -ETIMEDOUT);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":1e300}", EVP_sha256(), NULL);
    expect("exp-huge", t, 0);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":-1e300}", EVP_sha256(), NULL);
    expect("exp-negative", t, -ETIMEDOUT);
    free(t);
    /* nbf: a minute of grace, then "not yet" */
    snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":%lld}", NOW + 3600, NOW + 3000);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nbf-future", t, -EAGAIN);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":%lld}", NOW + 3600, NOW + 30);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nbf-within-grace", t, 0);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":%lld}", NOW + 3600, NOW - 10);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nbf-past", t, 0);
    free(t);
    snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":\"soon\"}", NOW + 3600);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nbf-string", t, -EINVAL);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":1900000000,\"exp\":1}", EVP_sha256(), NULL);
    expect("duplicate-exp", t, -EINVAL);
    free(t);
    t = craft(HS256_HDR, "[1900000000]", EVP_sha256(), NULL);
    expect("payload-array", t, -EINVAL);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":1900000000", EVP_sha256(), NULL);
    expect("payload-truncated-json", t, -EINVAL);
    free(t);
    t = craft(HS256_HDR, "{\"exp\":1900000000} x", EVP_sha256(), NULL);
    expect("payload-trailing", t, -EINVAL);
    free(t);
}

static void test_algorithms(void)
{
    const char *pl = "{\"room\":\"demo\",\"exp\":1900000000}";
    char *t;
    /* alg none: unsigned, with an empty signature, with an HS256 one. */
    t = craft("{\"alg\":\"none\"}", pl, NULL, "");
    expect("alg-none-unsigned", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, NULL, "");
    expect("alg-none-empty-sig", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, EVP_sha256(), NULL);
    expect("alg-none-signed", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"None\"}", pl, NULL, "");
    expect("alg-None", t, -EACCES);
    free(t);
    /* The right key, other algorithms. */
    t = craft("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl, EVP_sha512(), NULL);
    expect("alg-hs512", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", pl, EVP_sha384(), NULL);
    expect("alg-hs384", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", pl, EVP_sha256(), NULL);
    expect("alg-rs256", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"hs256\"}", pl, EVP_sha256(), NULL);
    expect("alg-lowercase", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"HS256 \"}", pl, EVP_sha256(), NULL);
    expect("alg-space", t, -EACCES);
    free(t);
    t = craft("{\"typ\":\"JWT\"}", pl, EVP_sha256(), NULL);
    expect("alg-missing", t, -EACCES);
    free(t);
    t = craft("{\"alg\":256}", pl, EVP_sha256(), NULL);
    expect("alg-number", t, -EACCES);
    free(t);
    t = craft("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", pl, EVP_sha256(), NULL);
    expect("crit", t, -EACCES);
    free(t);
    /* HS256 header, no signature. */
    t = craft(HS256_HDR, pl, NULL, "");
    expect("hs256-empty-sig", t, -EACCES);
    free(t);
    /* Header not JSON / not an object / duplicated alg. */
    t = craft("HS256", pl, EVP_sha256(), NULL);
    expect("header-not-json", t, -EINVAL);
    free(t);
    t = craft("[\"HS256\"]", pl, EVP_sha256(), NULL);
    expect("header-array", t, -EINVAL);
    free(t);
    t = craft("{\"alg\":\"none\",\"alg\":\"HS256\"}", pl, EVP_sha256(), NULL);
    expect("header-dup-alg", t, -EINVAL);
    free(t);
    /* The same claims correctly signed pass: the refusals are for alg. */
    t = craft(HS256_HDR, pl, EVP_sha256(), NULL);
    expect("hs256-ok", t, 0);
    free(t);
}

static void test_shapes(void)
{
    json_t *c = json_pack("{s:I}", "exp", (json_int_t)(NOW + 60));
    char *tok = sc_jwt_sign(secret, secret_len, c);
    json_decref(c);
    char buf[512];

    expect("garbage", "garbage", -EINVAL);
    expect("empty", "", -EINVAL);
    expect("null", NULL, -EINVAL);
    expect("dots-2", "..", -EINVAL);
    expect("dots-3", "a.b.c.d", -EINVAL);
    expect("one-dot", "eyJhbGciOiJIUzI1NiJ9.e30", -EINVAL);
    snprintf(buf, sizeof(buf), "%s.", tok);
    expect("trailing-dot", buf, -EINVAL);
    snprintf(buf, sizeof(buf), "%s.x", tok);
    expect("four-parts", buf, -EINVAL);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    snprintf(buf, sizeof(buf), "%.*s..%s", (int)(d1 - tok), tok, d2 + 1);
    expect("empty-payload", buf, -EINVAL);
    snprintf(buf, sizeof(buf), ".%s", d1 + 1);
    expect("empty-header", buf, -EINVAL);
    /* Padding added to a part (signed, so only the padding is wrong),
     * standard-alphabet characters. */
    snprintf(buf, sizeof(buf), "%.*s==", (int)(d2 - tok), tok);
    char *t = sign_raw(buf);
    expect("padded-payload", t, -EINVAL);
    free(t);
    snprintf(buf, sizeof(buf), "%.*s", (int)(d2 - tok), tok);
    t = sign_raw(buf);
    expect("resigned-ok", t, 0);
    free(t);
    snprintf(buf, sizeof(buf), "%s=", tok);
    expect("padded-signature", buf, -EACCES);
    snprintf(buf, sizeof(buf), "%s", tok);
    buf[2] = '+';
    expect("plus-in-header", buf, -EINVAL);
    /* Header part of length 1 mod 4. */
    snprintf(buf, sizeof(buf), "%.*sA%s", (int)(d1 - tok), tok, d1);
    SC_CHECK_INT((int)((d1 - tok) + 1) % 4, 1);
    expect("header-len-mod4-1", buf, -EINVAL);
    free(tok);
}

/* A signed token whose payload pads a string claim so the token is
 * exactly `want` characters long; NULL if no padding reaches it. */
static char *token_of_length(size_t want)
{
    char *payload = malloc(want + 64);
    for (size_t pad = want * 3 / 4 - 200; pad < want; pad++) {
        int n = snprintf(payload, want + 64, "{\"exp\":1900000000,\"x\":\"%*s\"}", (int)pad, "");
        if (n < 0)
            break;
        char *t = craft(HS256_HDR, payload, EVP_sha256(), NULL);
        if (strlen(t) == want) {
            free(payload);
            return t;
        }
        free(t);
    }
    free(payload);
    return NULL;
}

static char *nested(int depth)
{
    char *p = malloc((size_t)depth * 2 + 64);
    int o = sprintf(p, "{\"exp\":1900000000,\"a\":");
    for (int i = 0; i < depth; i++)
        p[o++] = '[';
    for (int i = 0; i < depth; i++)
        p[o++] = ']';
    p[o++] = '}';
    p[o] = '\0';
    return p;
}

static void test_limits(void)
{
    char *t = token_of_length(SC_JWT_MAX_LEN);
    SC_CHECK(t != NULL);
    expect("max-len", t, 0);
    free(t);
    t = token_of_length(SC_JWT_MAX_LEN + 1);
    SC_CHECK(t != NULL);
    const char *why = NULL;
    SC_CHECK_INT(verify(t, NULL, &why), -EINVAL);
    SC_CHECK_STR(why, "token too long");
    free(t);
    /* sc_jwt_sign refuses to make what verify would refuse. */
    char *big = malloc(SC_JWT_MAX_LEN + 1);
    memset(big, 'x', SC_JWT_MAX_LEN);
    big[SC_JWT_MAX_LEN] = '\0';
    json_t *c = json_pack("{s:I,s:s}", "exp", (json_int_t)1900000000, "x", big);
    SC_CHECK(sc_jwt_sign(secret, secret_len, c) == NULL);
    json_decref(c);
    free(big);

    /* 10,000 deep: over the length limit before anything is parsed. */
    char *p = nested(10000);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    SC_CHECK(strlen(t) > SC_JWT_MAX_LEN);
    expect("nested-10000", t, -EINVAL);
    free(t);
    free(p);
    /* 3,000 deep fits in the length limit: refused by the depth check.
     * jansson 2.14 would refuse it too (its limit is 2048), but our own
     * limit is what makes this independent of the jansson version. */
    p = nested(3000);
    json_error_t err;
    json_t *j = json_loads(p, 0, &err);
    SC_CHECK(j == NULL);
    json_decref(j);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    SC_CHECK(strlen(t) <= SC_JWT_MAX_LEN);
    expect("nested-3000", t, -EINVAL);
    free(t);
    free(p);
    /* 2,000 deep is within jansson's limit: only ours refuses it. */
    p = nested(2000);
    j = json_loads(p, 0, &err);
    SC_CHECK(j != NULL);
    json_decref(j);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nested-2000", t, -EINVAL);
    free(t);
    free(p);
    /* Modest nesting is fine; brackets inside strings do not count. */
    p = nested(15);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nested-15", t, 0);
    free(t);
    free(p);
    p = nested(16);
    t = craft(HS256_HDR, p, EVP_sha256(), NULL);
    expect("nested-16", t, -EINVAL);
    free(t);
    free(p);
    t = craft(HS256_HDR, "{\"exp\":1900000000,\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}",
              EVP_sha256(), NULL);
    expect("brackets-in-string", t, 0);
    free(t);
    /* Deep nesting in the (unsigned) header. */
    char hdr[200];
    int o = sprintf(hdr, "{\"alg\":\"HS256\",\"x\":");
    for (int i = 0; i < 40; i++)
        hdr[o++] = '[';
    for (int i = 0; i < 40; i++)
        hdr[o++] = ']';
    strcpy(hdr + o, "}");
    t = craft(hdr, "{\"exp\":1900000000}", EVP_sha256(), NULL);
    expect("nested-header", t, -EINVAL);
    free(t);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        corpus_dir = argv[2];
    test_base64url();
    test_round_trip();
    test_claims();
    test_algorithms();
    test_shapes();
    test_limits();
    SC_TEST_END();
}
