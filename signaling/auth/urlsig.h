/* Signed URLs: a short-lived grant for one thing, handed out after a bearer
 * token was checked, to a client that cannot send an Authorization header
 * (<video>, a download link).  The URL carries `exp` (Unix seconds) and
 * `sig`, an HMAC-SHA256 over a caller-chosen description of what it grants
 * ("recording <id> play any") and the expiry.
 *
 * The HMAC key is derived (HKDF-SHA256) from the token secret with a label
 * of its own: a URL signature and a token signature are never made with
 * the same key, so neither can be passed off as the other, and there is no
 * second secret to keep.  Pure: no I/O, the clock is a parameter. */
#ifndef SC_URLSIG_H
#define SC_URLSIG_H

#include <stddef.h>
#include <stdint.h>

#define SC_URLSIG_LEN 43       /* base64url characters of the signature */
#define SC_URLSIG_WHAT_MAX 256 /* bytes of the description signed */
#define SC_URLSIG_EXP_MAX 18   /* digits of exp */

/* The signature of what (no '\n', 1..SC_URLSIG_WHAT_MAX bytes) valid
 * until exp (> 0) into out.  0, -EINVAL (no secret, bad what or exp) or
 * -EIO (OpenSSL failed). */
int sc_urlsig_sign(const uint8_t *secret, size_t secret_len, const char *what, int64_t exp,
                   char out[SC_URLSIG_LEN + 1]);

/* Checks the `exp` and `sig` arguments of a URL (as received, untrusted)
 * against what at time now (Unix seconds).  The signature is compared in
 * constant time, and before the expiry, so a forged URL is never reported
 * as merely expired.  0 (valid; *exp_out set when not NULL), -EINVAL (exp
 * not a canonical positive decimal, sig not SC_URLSIG_LEN base64url
 * characters), -EACCES (the signature is not ours for what and exp: forged,
 * altered, or for something else), -ETIMEDOUT (ours, but exp <= now), -EIO. */
int sc_urlsig_verify(const uint8_t *secret, size_t secret_len, const char *what, const char *exp,
                     const char *sig, int64_t now, int64_t *exp_out);

#endif
