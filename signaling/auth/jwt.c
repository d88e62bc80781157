/* Compact JWS, HS256 only (RFC 7515 / 7519).
 *
 * Tokens arrive from anyone, so verification is ordered to do the least
 * work on untrusted bytes: length cap, exactly three non-empty parts, a
 * small header whose alg must be exactly "HS256", the HMAC compared in
 * constant time, and only then the payload is parsed.  JSON is pre-scanned
 * for nesting depth before jansson sees it, so depth is bounded by our
 * limit rather than by whatever the installed jansson allows. */
#include "signaling/auth/jwt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SC_JWT_HEADER_MAX 512  /* decoded header bytes; ours is 27 */
#define SC_JWT_DEPTH_MAX 16    /* claims are flat; "perms" is depth 2 */
#define SC_JWT_SIG_LEN 32

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *sc_base64url_encode(const uint8_t *in, size_t len)
{
    if (!in && len)
        return NULL;
    if (len > (SIZE_MAX - 4) / 4 * 3)
        return NULL;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict: no padding, no whitespace, no standard-base64 '+' '/', and the
 * unused low bits of the last character must be zero so every byte string
 * has exactly one encoding (no second spelling of the same signature). */
int sc_base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    if (!in && len)
        return -EINVAL;
    if (len % 4 == 1 || len > (size_t)INT32_MAX)
        return -EINVAL;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap)
        return -ENOSPC;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0)
        return -EINVAL; /* non-canonical trailing bits */
    return (int)o;
}

/* Nesting depth of a JSON text, counting brackets outside strings.  It
 * need not judge validity (jansson does that): only bound the depth. */
static int json_depth_ok(const char *s, size_t n, int max)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 1;
}

/* Decode one base64url part and parse it as a JSON object. */
static json_t *decode_json_part(const char *p, size_t n, size_t max)
{
    if (n == 0 || n / 4 * 3 > max)
        return NULL;
    size_t cap = n / 4 * 3 + 3;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    json_t *j = NULL;
    int len = sc_base64url_decode(p, n, (uint8_t *)buf, cap);
    if (len <= 0 || !json_depth_ok(buf, (size_t)len, SC_JWT_DEPTH_MAX))
        goto out;
    /* No JSON_ALLOW_NUL: an embedded NUL makes the text invalid. */
    j = json_loadb(buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
out:
    free(buf);
    return j;
}

static bool hs256(const uint8_t *secret, size_t secret_len, const char *data, size_t n,
                  uint8_t mac[SC_JWT_SIG_LEN])
{
    unsigned int len = 0;
    static const uint8_t empty_key = 0;
    if (secret_len > INT32_MAX)
        return false;
    if (!HMAC(EVP_sha256(), secret_len ? secret : &empty_key, (int)secret_len,
              (const unsigned char *)data, n, mac, &len))
        return false;
    return len == SC_JWT_SIG_LEN;
}

char *sc_jwt_sign(const uint8_t *secret, size_t secret_len, const json_t *claims)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *payload = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL, *token = NULL;
    uint8_t mac[SC_JWT_SIG_LEN];

    if (!secret || !secret_len || !json_is_object(claims))
        return NULL;
    payload = json_dumps(claims, JSON_COMPACT);
    if (!payload)
        goto fail;
    h64 = sc_base64url_encode((const uint8_t *)header, sizeof(header) - 1);
    p64 = sc_base64url_encode((const uint8_t *)payload, strlen(payload));
    if (!h64 || !p64)
        goto fail;
    size_t hl = strlen(h64), pl = strlen(p64);
    token = malloc(hl + 1 + pl + 1 + 44);
    if (!token)
        goto fail;
    memcpy(token, h64, hl);
    token[hl] = '.';
    memcpy(token + hl + 1, p64, pl + 1);
    if (!hs256(secret, secret_len, token, hl + 1 + pl, mac))
        goto fail;
    s64 = sc_base64url_encode(mac, sizeof(mac));
    if (!s64)
        goto fail;
    token[hl + 1 + pl] = '.';
    memcpy(token + hl + 1 + pl + 1, s64, strlen(s64) + 1);
    if (strlen(token) > SC_JWT_MAX_LEN)
        goto fail; /* we would refuse it ourselves */
    OPENSSL_cleanse(mac, sizeof(mac));
    free(payload);
    free(h64);
    free(p64);
    free(s64);
    return token;
fail:
    free(payload);
    free(h64);
    free(p64);
    free(s64);
    free(token);
    return NULL;
}

static int fail_with(const char **why, const char *msg, int err)
{
    if (why)
        *why = msg;
    return err;
}

int sc_jwt_verify(const uint8_t *secret, size_t secret_len, const char *token, int64_t now,
                  json_t **claims, const char **why)
{
    if (claims)
        *claims = NULL;
    if (why)
        *why = NULL;
    if (!token || !*token)
        return fail_with(why, "no token", -EINVAL);
    if (!secret || !secret_len)
        return fail_with(why, "server has no signing secret", -EACCES);
    size_t len = strnlen(token, SC_JWT_MAX_LEN + 1);
    if (len > SC_JWT_MAX_LEN)
        return fail_with(why, "token too long", -EINVAL);

    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return fail_with(why, "token is not three dot-separated parts", -EINVAL);
    size_t hlen = (size_t)(dot1 - token);
    size_t plen = (size_t)(dot2 - dot1 - 1);
    size_t slen = len - (size_t)(dot2 + 1 - token);
    if (!hlen || !plen)
        return fail_with(why, "token has an empty part", -EINVAL);

    json_t *hdr = decode_json_part(token, hlen, SC_JWT_HEADER_MAX);
    if (!hdr)
        return fail_with(why, "token header is not valid base64url JSON", -EINVAL);
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    bool alg_ok = alg && strcmp(alg, "HS256") == 0;
    /* RFC 7515 4.1.11: extensions we do not understand must be refused. */
    bool crit = json_object_get(hdr, "crit") != NULL;
    json_decref(hdr);
    if (!alg_ok)
        return fail_with(why, "token algorithm not accepted (only HS256)", -EACCES);
    if (crit)
        return fail_with(why, "token has critical header extensions", -EACCES);

    uint8_t sig[SC_JWT_SIG_LEN + 3], mac[SC_JWT_SIG_LEN];
    int n = sc_base64url_decode(dot2 + 1, slen, sig, sizeof(sig));
    if (n != SC_JWT_SIG_LEN)
        return fail_with(why, "token signature missing or malformed", -EACCES);
    if (!hs256(secret, secret_len, token, (size_t)(dot2 - token), mac))
        return fail_with(why, "cannot compute signature", -EACCES);
    int diff = CRYPTO_memcmp(mac, sig, SC_JWT_SIG_LEN);
    OPENSSL_cleanse(mac, sizeof(mac));
    if (diff)
        return fail_with(why, "token signature does not verify", -EACCES);

    json_t *payload = decode_json_part(dot1 + 1, plen, SC_JWT_MAX_LEN);
    if (!payload)
        return fail_with(why, "token payload is not a JSON object", -EINVAL);
    json_t *exp = json_object_get(payload, "exp");
    int r = 0;
    if (!exp) {
        r = fail_with(why, "token has no expiry", -ENODATA);
    } else if (!json_is_number(exp)) {
        r = fail_with(why, "token expiry is not a number", -EINVAL);
    } else if (json_is_integer(exp) ? json_integer_value(exp) <= now
                                    : !(json_real_value(exp) > (double)now)) {
        r = fail_with(why, "token has expired", -ETIMEDOUT);
    } else {
        /* nbf (RFC 7519 4.1.5), with a minute's grace for clocks apart. */
        json_t *nbf = json_object_get(payload, "nbf");
        if (nbf && !json_is_number(nbf))
            r = fail_with(why, "token not-before is not a number", -EINVAL);
        else if (nbf && json_number_value(nbf) > (double)(now + SC_JWT_NBF_LEEWAY_S))
            r = fail_with(why, "token is not valid yet", -EAGAIN);
    }
    if (r < 0) {
        json_decref(payload);
        return r;
    }
    if (claims)
        *claims = payload;
    else
        json_decref(payload);
    return 0;
}
