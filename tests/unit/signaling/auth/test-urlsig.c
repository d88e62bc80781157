/* signaling/auth/urlsig.c: a signature verifies for what and exp it was
 * made for, until exp and not at exp; any other description, expiry,
 * secret or altered character is refused as not ours (never as expired);
 * malformed arguments are refused before any HMAC; the key is not the
 * token secret itself (a JWT-style HMAC with the raw secret differs) but
 * its HKDF, as an independent computation finds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "signaling/auth/jwt.h"
#include "signaling/auth/urlsig.h"
#include "tests/unit/sc_test.h"

#define SECRET "stagecast-urlsig-test-secret"
#define NOW 1700000000LL
#define WHAT "recording 0123456789abcdef0123456789abcdef play any"

static const uint8_t *secret = (const uint8_t *)SECRET;
static const size_t secret_len = sizeof(SECRET) - 1;

static int verify(const char *what, const char *exp, const char *sig, int64_t now)
{
    return sc_urlsig_verify(secret, secret_len, what, exp, sig, now, NULL);
}

static void test_round_trip(void)
{
    char sig[SC_URLSIG_LEN + 1], exps[32];
    int64_t got = 0;

    snprintf(exps, sizeof(exps), "%lld", NOW + 300);
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, NOW + 300, sig), 0);
    SC_CHECK_INT(strlen(sig), SC_URLSIG_LEN);
    SC_CHECK_INT(strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                 SC_URLSIG_LEN);
    SC_CHECK_INT(sc_urlsig_verify(secret, secret_len, WHAT, exps, sig, NOW, &got), 0);
    SC_CHECK_INT(got, NOW + 300);
    /* Valid up to the second before exp; at exp and after, expired. */
    SC_CHECK_INT(verify(WHAT, exps, sig, NOW + 299), 0);
    SC_CHECK_INT(verify(WHAT, exps, sig, NOW + 300), -ETIMEDOUT);
    SC_CHECK_INT(verify(WHAT, exps, sig, NOW + 100000), -ETIMEDOUT);
    /* Deterministic: the same inputs sign the same. */
    char again[SC_URLSIG_LEN + 1];
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, NOW + 300, again), 0);
    SC_CHECK_STR(again, sig);
}

static void test_not_ours(void)
{
    char sig[SC_URLSIG_LEN + 1], bad[SC_URLSIG_LEN + 1];
    const char *exps = "1700000300";

    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, NOW + 300, sig), 0);
    /* Another recording, another purpose, another scope. */
    SC_CHECK_INT(verify("recording 1123456789abcdef0123456789abcdef play any", exps, sig, NOW),
                 -EACCES);
    SC_CHECK_INT(verify("recording 0123456789abcdef0123456789abcdef download any", exps, sig, NOW),
                 -EACCES);
    SC_CHECK_INT(
        verify("recording 0123456789abcdef0123456789abcdef play published", exps, sig, NOW),
        -EACCES);
    /* A later expiry: not ours, even though it is in the future. */
    SC_CHECK_INT(verify(WHAT, "1700000301", sig, NOW), -EACCES);
    /* Forged with an expiry in the past: reported as forged, not expired. */
    SC_CHECK_INT(verify(WHAT, "1600000000", sig, NOW), -EACCES);
    /* Another secret. */
    SC_CHECK_INT(sc_urlsig_verify((const uint8_t *)"another-secret-of-enough-bytes", 30, WHAT, exps,
                                  sig, NOW, NULL),
                 -EACCES);
    /* Each character altered in turn (one that still decodes). */
    int refused = 0;
    for (int i = 0; i < SC_URLSIG_LEN; i++) {
        memcpy(bad, sig, sizeof(bad));
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        int e = verify(WHAT, exps, bad, NOW);
        /* The last character carries 2 unused bits: 'A'/'B' may fail the
         * canonical-encoding check instead (-EINVAL); never accepted. */
        refused += e == -EACCES || (i == SC_URLSIG_LEN - 1 && e == -EINVAL);
    }
    SC_CHECK_INT(refused, SC_URLSIG_LEN);
}

/* The key is derived: an HMAC with the token secret itself over the same
 * message is not the signature (a JWT's key cannot make URLs). */
static void test_key_is_derived(void)
{
    char sig[SC_URLSIG_LEN + 1], *raw;
    const char msg[] = WHAT "\n1700000300";
    uint8_t mac[32];
    unsigned int len = 0;

    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, NOW + 300, sig), 0);
    HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, sizeof(msg) - 1, mac,
         &len);
    raw = sc_base64url_encode(mac, len);
    SC_CHECK(raw && strcmp(raw, sig) != 0);
    SC_CHECK_INT(verify(WHAT, "1700000300", raw, NOW), -EACCES);
    free(raw);
}

/* A known answer, computed apart from OpenSSL (Python's hmac: HKDF-SHA256
 * with no salt and info "stagecast signed media URL key v1", then
 * HMAC-SHA256 over "<what>\n<exp>"): pins the derivation, so a backend may
 * mint the same URLs, and the seed in tests/fuzz/corpus/urlsig is valid. */
static void test_known_answer(void)
{
    static const char fuzz_secret[] = "stagecast-fuzz-secret";
    char sig[SC_URLSIG_LEN + 1];

    SC_CHECK_INT(
        sc_urlsig_sign((const uint8_t *)fuzz_secret, sizeof(fuzz_secret) - 1, WHAT, NOW + 300, sig),
        0);
    SC_CHECK_STR(sig, "5ANcSm4pCMt5V6fcvNJCE6TRz1z-sBlRrVXtmnGoa4s");
}

static void test_malformed(void)
{
    char sig[SC_URLSIG_LEN + 1], longer[SC_URLSIG_LEN + 2], what[SC_URLSIG_WHAT_MAX + 2];

    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, NOW + 300, sig), 0);
    /* exp: one canonical spelling of a positive number. */
    SC_CHECK_INT(verify(WHAT, "01700000300", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "+1700000300", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "-1", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "0", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, NULL, sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "1700000300 ", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "1700000300x", sig, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "9999999999999999999", sig, NOW), -EINVAL);
    /* sig: exactly SC_URLSIG_LEN base64url characters. */
    SC_CHECK_INT(verify(WHAT, "1700000300", NULL, NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "1700000300", "", NOW), -EINVAL);
    SC_CHECK_INT(verify(WHAT, "1700000300", "abc", NOW), -EINVAL);
    snprintf(longer, sizeof(longer), "%sA", sig);
    SC_CHECK_INT(verify(WHAT, "1700000300", longer, NOW), -EINVAL);
    memcpy(longer, sig, sizeof(sig));
    longer[5] = '+';
    SC_CHECK_INT(verify(WHAT, "1700000300", longer, NOW), -EINVAL);
    longer[5] = '=';
    SC_CHECK_INT(verify(WHAT, "1700000300", longer, NOW), -EINVAL);
    /* what: non-empty, bounded, one line. */
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, "", NOW + 1, sig), -EINVAL);
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, NULL, NOW + 1, sig), -EINVAL);
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, "a\nb", NOW + 1, sig), -EINVAL);
    memset(what, 'w', sizeof(what) - 1);
    what[sizeof(what) - 1] = '\0';
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, what, NOW + 1, sig), -EINVAL);
    what[SC_URLSIG_WHAT_MAX] = '\0';
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, what, NOW + 1, sig), 0);
    /* exp and secret. */
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, 0, sig), -EINVAL);
    SC_CHECK_INT(sc_urlsig_sign(secret, secret_len, WHAT, INT64_MAX, sig), -EINVAL);
    SC_CHECK_INT(sc_urlsig_sign(NULL, 0, WHAT, NOW + 1, sig), -EINVAL);
    SC_CHECK_INT(sc_urlsig_sign(secret, 0, WHAT, NOW + 1, sig), -EINVAL);
}

int main(void)
{
    test_round_trip();
    test_not_ours();
    test_key_is_derived();
    test_known_answer();
    test_malformed();
    SC_TEST_END();
}
