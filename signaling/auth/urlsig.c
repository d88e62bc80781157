/* Signed URLs (urlsig.h).  The key is derived at each call: an HKDF is a
 * few HMACs, small next to the request it authorises, and keeping no
 * derived key means nothing to refresh when the secret changes. */
#include "signaling/auth/urlsig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "signaling/auth/jwt.h"

#define URLSIG_KEY_LEN 32
#define URLSIG_MAC_LEN 32

/* HKDF's info: names what the derived key is for (RFC 5869 3.2). */
static const char key_label[] = "stagecast signed media URL key v1";

static int derive_key(const uint8_t *secret, size_t secret_len, uint8_t key[URLSIG_KEY_LEN])
{
    EVP_PKEY_CTX *ctx;
    size_t len = URLSIG_KEY_LEN;
    int ok;

    if (!secret || !secret_len || secret_len > INT32_MAX)
        return -EINVAL;
    ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
    if (!ctx)
        return -EIO;
    ok = EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
         EVP_PKEY_CTX_set1_hkdf_key(ctx, secret, (int)secret_len) > 0 &&
         EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)key_label,
                                     (int)(sizeof(key_label) - 1)) > 0 &&
         EVP_PKEY_derive(ctx, key, &len) > 0 && len == URLSIG_KEY_LEN;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

/* HMAC over "<what>\n<exp>" (what has no '\n', so the split is unique). */
static int mac_of(const uint8_t *secret, size_t secret_len, const char *what, const char *exp,
                  uint8_t mac[URLSIG_MAC_LEN])
{
    uint8_t key[URLSIG_KEY_LEN];
    char msg[SC_URLSIG_WHAT_MAX + 1 + SC_URLSIG_EXP_MAX + 1];
    unsigned int len = 0;
    int n, e;

    n = snprintf(msg, sizeof(msg), "%s\n%s", what, exp);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -EINVAL;
    e = derive_key(secret, secret_len, key);
    if (e < 0)
        return e;
    if (!HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)msg, (size_t)n, mac, &len))
        e = -EIO;
    else if (len != URLSIG_MAC_LEN)
        e = -EIO;
    OPENSSL_cleanse(key, sizeof(key));
    return e;
}

static bool what_ok(const char *what)
{
    size_t n = what ? strnlen(what, SC_URLSIG_WHAT_MAX + 1) : 0;
    return n > 0 && n <= SC_URLSIG_WHAT_MAX && !memchr(what, '\n', n);
}

int sc_urlsig_sign(const uint8_t *secret, size_t secret_len, const char *what, int64_t exp,
                   char out[SC_URLSIG_LEN + 1])
{
    uint8_t mac[URLSIG_MAC_LEN];
    char exps[SC_URLSIG_EXP_MAX + 2], *s;
    int e;

    if (!what_ok(what) || exp <= 0)
        return -EINVAL;
    if ((size_t)snprintf(exps, sizeof(exps), "%" PRId64, exp) > SC_URLSIG_EXP_MAX)
        return -EINVAL;
    e = mac_of(secret, secret_len, what, exps, mac);
    if (e < 0)
        return e;
    s = sc_base64url_encode(mac, sizeof(mac));
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!s || strlen(s) != SC_URLSIG_LEN) {
        free(s);
        return -EIO;
    }
    memcpy(out, s, SC_URLSIG_LEN + 1);
    free(s);
    return 0;
}

/* A positive decimal without sign, leading zero or other characters: the
 * one spelling sc_urlsig_sign signs. */
static bool parse_exp(const char *s, int64_t *out)
{
    size_t n = s ? strnlen(s, SC_URLSIG_EXP_MAX + 1) : 0;
    int64_t v = 0;

    if (n == 0 || n > SC_URLSIG_EXP_MAX || s[0] == '0')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int sc_urlsig_verify(const uint8_t *secret, size_t secret_len, const char *what, const char *exp,
                     const char *sig, int64_t now, int64_t *exp_out)
{
    uint8_t mac[URLSIG_MAC_LEN], got[URLSIG_MAC_LEN + 2];
    int64_t when;
    int e, diff;

    if (!what_ok(what) || !parse_exp(exp, &when))
        return -EINVAL;
    if (!sig || strnlen(sig, SC_URLSIG_LEN + 1) != SC_URLSIG_LEN ||
        sc_base64url_decode(sig, SC_URLSIG_LEN, got, sizeof(got)) != URLSIG_MAC_LEN)
        return -EINVAL;
    e = mac_of(secret, secret_len, what, exp, mac);
    if (e < 0)
        return e;
    diff = CRYPTO_memcmp(mac, got, URLSIG_MAC_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
    if (diff)
        return -EACCES;
    if (when <= now)
        return -ETIMEDOUT;
    if (exp_out)
        *exp_out = when;
    return 0;
}
