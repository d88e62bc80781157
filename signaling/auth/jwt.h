/* Compact JWS with HS256 (RFC 7515 / 7519), via OpenSSL HMAC. */
#ifndef SC_JWT_H
#define SC_JWT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SC_JWT_MAX_LEN 8192  /* longer tokens are refused unparsed */
#define SC_JWT_NBF_LEEWAY_S 60 /* a token's nbf may be this far ahead of our clock */

/* base64url without padding.  encode: returns malloc'd string or NULL.
 * decode: returns bytes written or -EINVAL (bad char, impossible length)
 * or -ENOSPC. */
char *sc_base64url_encode(const uint8_t *in, size_t len);
int sc_base64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/* Sign claims (a JSON object) with header {"alg":"HS256","typ":"JWT"}.
 * Returns a malloc'd token or NULL. */
char *sc_jwt_sign(const uint8_t *secret, size_t secret_len, const json_t *claims);

/* Verify a token: three base64url parts, header alg exactly "HS256" (so
 * "none" and everything else is refused), constant-time signature compare,
 * payload a JSON object (depth limited), "exp" present, numeric and > now.
 * On success *claims gets a new reference.  Errors, with *why set to a
 * static message safe to show a client (never the token):
 *   -EINVAL malformed, -EACCES bad signature or alg, -ETIMEDOUT expired,
 *   -EAGAIN not valid yet (nbf more than SC_JWT_NBF_LEEWAY_S ahead), -ENODATA
 *   no exp. */
int sc_jwt_verify(const uint8_t *secret, size_t secret_len, const char *token, int64_t now,
                  json_t **claims, const char **why);

#endif
