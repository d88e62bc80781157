/* Stagecast access tokens: an HS256 JWT with
 *   {"room": R, "role": "presenter|cohost|viewer|admin", "name": N,
 *    "sub": user id, "exp": unix time, "iat": unix time,
 *    "perms": ["publish", "subscribe", ...]}
 * Roles grant a default permission set; "perms" in the token is what the
 * server enforces (so a host can later grant or revoke). */
#ifndef SC_TOKEN_H
#define SC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "sfu/sfu.h"

typedef enum sc_role {
    SC_ROLE_VIEWER,
    SC_ROLE_COHOST,
    SC_ROLE_PRESENTER,
    SC_ROLE_ADMIN,
} sc_role;

enum {
    SC_PERM_SUBSCRIBE = 1u << 0,  /* watch */
    SC_PERM_PUBLISH = 1u << 1,    /* send media */
    SC_PERM_CHAT = 1u << 2,
    SC_PERM_MODERATE = 1u << 3,   /* mute, kick, approve */
    SC_PERM_ADMIN = 1u << 4,      /* REST admin API, stats, any room */
};

typedef struct sc_token {
    char room[SC_ROOM_NAME_MAX + 1];   /* "*" only for admin tokens */
    char name[SC_PEER_NAME_MAX + 1];
    char sub[SC_PEER_NAME_MAX + 1];
    sc_role role;
    uint32_t perms;
    int64_t exp;
} sc_token;

/* The longest a token may still have to run (`stagecast token --ttl` mints
 * at most 366 days); a token expiring later is refused. */
#define SC_TOKEN_MAX_LIFETIME_S (367LL * 24 * 3600)

/* "presenter" -> SC_ROLE_PRESENTER etc.; -EINVAL if unknown. */
int sc_role_parse(const char *s, sc_role *out);
const char *sc_role_name(sc_role r);
uint32_t sc_role_default_perms(sc_role r);
/* Room names: 1..64 of [A-Za-z0-9_-]. */
int sc_room_name_valid(const char *room);

/* Issue a token.  name may be NULL (defaults to the role name); sub is
 * random when NULL.  Returns a malloc'd token or NULL. */
char *sc_token_issue(const uint8_t *secret, size_t secret_len, const char *room, sc_role role,
                     const char *name, const char *sub, int64_t ttl_s, int64_t now);

/* Check a token for an action on `room` needing permission `perm`.
 * Returns 0 and fills *out, or an HTTP status (401: missing, malformed,
 * expired, not yet valid, lasting more than SC_TOKEN_MAX_LIFETIME_S, bad
 * signature; 403: valid but for another room or lacking the
 * permission) with *code (a stable machine-readable code such as
 * "token-expired", "wrong-room", "forbidden") and *why (a human message,
 * never containing the token).  An admin token with room "*" is valid for
 * every room. */
int sc_token_check(const uint8_t *secret, size_t secret_len, const char *token,
                   const char *room, uint32_t perm, int64_t now, sc_token *out,
                   const char **code, const char **why);

#endif
