/* TURN credentials for the browsers: the TURN servers a client may relay
 * its media through (--turn), and short-lived credentials for them in the
 * "TURN REST API" scheme that coturn implements with use-auth-secret:
 *
 *   username   = "<expiry, unix time>:<user id>"
 *   credential = base64(HMAC-SHA1(shared secret, username))
 *
 * coturn recomputes the credential from the username with the same secret
 * (static-auth-secret) and refuses it once the expiry has passed, so
 * Stagecast and coturn share nothing but the secret file.
 *
 * Pure: no I/O besides sc_turn_new reading the secret file; the front end
 * decides who gets credentials (only authenticated requests). */
#ifndef SC_TURN_H
#define SC_TURN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SC_TURN_URLS_MAX 8       /* --turn given at most this often */
#define SC_TURN_URL_MAX 256      /* bytes of one URL, NUL included */
#define SC_TURN_SECRET_MIN 16
#define SC_TURN_SECRET_MAX 256
/* "<20 digits>:" and a token subject (SC_PEER_NAME_MAX) */
#define SC_TURN_USERNAME_MAX 160
#define SC_TURN_CREDENTIAL_MAX 32 /* base64 of 20 bytes: 28 + NUL */

/* Checks a TURN URI (RFC 7065): "turn:" or "turns:", a host (name, IPv4
 * address or [IPv6]), an optional ":port" (1..65535) and an optional
 * "?transport=udp|tcp" ("turns" only over tcp).  0, or -EINVAL with the
 * reason in err. */
int sc_turn_url_check(const char *url, char *err, size_t errlen);

/* The credential pair for `user` valid until `expiry` (unix seconds).  In
 * the user part every byte but printable ASCII, a double quote and a
 * backslash becomes '_', so the username can be written in a header's
 * quoted string unescaped; an empty user is "anonymous".  0, or -EINVAL
 * (buffers too small, no secret), -EIO (OpenSSL failed). */
int sc_turn_credential(const uint8_t *secret, size_t secret_len, int64_t expiry,
                       const char *user, char username[SC_TURN_USERNAME_MAX],
                       char credential[SC_TURN_CREDENTIAL_MAX]);

/* The configured TURN servers and their secret. */
typedef struct sc_turn sc_turn;

/* urls[0..n) are copied and each checked (sc_turn_url_check); the secret
 * is the content of secret_file without its trailing white space, used as
 * the HMAC key byte for byte (as coturn uses static-auth-secret): 16..256
 * printable ASCII characters, no space or '#' (it goes into
 * turnserver.conf).  ttl_s: how long a credential lasts.  NULL with a
 * reason in err. */
sc_turn *sc_turn_new(const char (*urls)[SC_TURN_URL_MAX], int n, const char *secret_file,
                     int ttl_s, char *err, size_t errlen);
void sc_turn_free(sc_turn *t);

/* RTCConfiguration.iceServers for `user` at `now`:
 * [{"urls": [...], "username": "...", "credential": "..."}].  A new
 * reference, or NULL when out of memory. */
json_t *sc_turn_ice_servers(const sc_turn *t, const char *user, int64_t now);

/* The values of the Link headers of a WHIP/WHEP 201 (RFC 9725 section
 * 4.6), one per URL, each ended by '\n':
 *   <turn:...>; rel="ice-server"; username="..."; credential="...";
 *   credential-type="password"
 * A malloc'd string, or NULL when out of memory. */
char *sc_turn_link_headers(const sc_turn *t, const char *user, int64_t now);

#endif
