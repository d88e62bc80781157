/* Stagecast access tokens on top of jwt.c: roles, permissions, rooms. */
#include "signaling/auth/token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "signaling/auth/jwt.h"

static const struct {
    const char *name;
    uint32_t bit;
} perm_names[] = {
    {"subscribe", SC_PERM_SUBSCRIBE}, {"publish", SC_PERM_PUBLISH},
    {"chat", SC_PERM_CHAT},           {"moderate", SC_PERM_MODERATE},
    {"admin", SC_PERM_ADMIN},
};
#define N_PERMS (sizeof(perm_names) / sizeof(perm_names[0]))

static const char *const role_names[] = {
    [SC_ROLE_VIEWER] = "viewer",
    [SC_ROLE_COHOST] = "cohost",
    [SC_ROLE_PRESENTER] = "presenter",
    [SC_ROLE_ADMIN] = "admin",
};

int sc_role_parse(const char *s, sc_role *out)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
        if (strcmp(s, role_names[i]) == 0) {
            if (out)
                *out = (sc_role)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *sc_role_name(sc_role r)
{
    if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0]))
        return "unknown";
    return role_names[r];
}

uint32_t sc_role_default_perms(sc_role r)
{
    switch (r) {
    case SC_ROLE_VIEWER:
        return SC_PERM_SUBSCRIBE | SC_PERM_CHAT;
    case SC_ROLE_COHOST:
        return SC_PERM_PUBLISH | SC_PERM_SUBSCRIBE | SC_PERM_CHAT;
    case SC_ROLE_PRESENTER:
        return SC_PERM_PUBLISH | SC_PERM_SUBSCRIBE | SC_PERM_CHAT | SC_PERM_MODERATE;
    case SC_ROLE_ADMIN:
        return SC_PERM_SUBSCRIBE | SC_PERM_PUBLISH | SC_PERM_CHAT | SC_PERM_MODERATE |
               SC_PERM_ADMIN;
    }
    return 0;
}

int sc_room_name_valid(const char *room)
{
    if (!room)
        return 0;
    size_t n = 0;
    for (; room[n]; n++) {
        char c = room[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok || n >= SC_ROOM_USER_MAX)
            return 0;
    }
    return n > 0;
}

/* "*" (every room) is an admin privilege; anything else must be a room name. */
static bool room_claim_ok(const char *room, sc_role role)
{
    if (room && strcmp(room, "*") == 0)
        return role == SC_ROLE_ADMIN;
    return sc_room_name_valid(room);
}

static json_t *perms_to_json(uint32_t perms)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < N_PERMS; i++) {
        if ((perms & perm_names[i].bit) &&
            json_array_append_new(a, json_string(perm_names[i].name)) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* 0 and *out, or -EINVAL for anything but an array of known names. */
static int perms_from_json(const json_t *a, uint32_t *out)
{
    size_t i;
    json_t *v;
    uint32_t perms = 0;
    if (!json_is_array(a) || json_array_size(a) > 16)
        return -EINVAL;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        size_t k = 0;
        while (s && k < N_PERMS && strcmp(s, perm_names[k].name) != 0)
            k++;
        if (!s || k == N_PERMS)
            return -EINVAL;
        perms |= perm_names[k].bit;
    }
    *out = perms;
    return 0;
}

char *sc_token_issue(const uint8_t *secret, size_t secret_len, const char *room, sc_role role,
                     const char *name, const char *sub, int64_t ttl_s, int64_t now)
{
    char rand_sub[2 + 16 + 1];
    json_t *claims = NULL;
    json_t *perms = NULL;
    char *token = NULL;

    if (sc_role_parse(sc_role_name(role), NULL) < 0 || !room_claim_ok(room, role))
        return NULL;
    if (ttl_s <= 0 || now > INT64_MAX - ttl_s)
        return NULL;
    if (!name)
        name = sc_role_name(role);
    if (!*name || strlen(name) > SC_PEER_NAME_MAX)
        return NULL;
    if (!sub) {
        uint8_t r[8];
        if (RAND_bytes(r, sizeof(r)) != 1)
            return NULL;
        for (size_t i = 0; i < sizeof(r); i++)
            snprintf(rand_sub + 2 + 2 * i, 3, "%02x", r[i]);
        rand_sub[0] = 'u';
        rand_sub[1] = '-';
        sub = rand_sub;
    }
    if (!*sub || strlen(sub) > SC_PEER_NAME_MAX)
        return NULL;

    claims = json_object();
    perms = perms_to_json(sc_role_default_perms(role));
    if (!claims || !perms)
        goto fail;
    /* json_string() is NULL for invalid UTF-8, and set_new then fails. */
    if (json_object_set_new(claims, "room", json_string(room)) < 0 ||
        json_object_set_new(claims, "role", json_string(sc_role_name(role))) < 0 ||
        json_object_set_new(claims, "name", json_string(name)) < 0 ||
        json_object_set_new(claims, "sub", json_string(sub)) < 0 ||
        json_object_set_new(claims, "iat", json_integer(now)) < 0 ||
        json_object_set_new(claims, "exp", json_integer(now + ttl_s)) < 0)
        goto fail;
    if (json_object_set_new(claims, "perms", perms) < 0) {
        perms = NULL; /* set_new consumed it */
        goto fail;
    }
    perms = NULL;
    token = sc_jwt_sign(secret, secret_len, claims);
fail:
    json_decref(perms);
    json_decref(claims);
    return token;
}

static int deny(int status, const char *c, const char *w, const char **code, const char **why)
{
    if (code)
        *code = c;
    if (why)
        *why = w;
    return status;
}

/* Copies an optional string claim of at most max bytes; a missing claim
 * gives def.  -EINVAL if present but not a string or too long. */
static int copy_claim(const json_t *claims, const char *key, char *dst, size_t max,
                      const char *def)
{
    const json_t *v = json_object_get(claims, key);
    const char *s = def;
    if (v) {
        s = json_string_value(v);
        if (!s || json_string_length(v) != strlen(s))
            return -EINVAL; /* not a string, or an embedded NUL */
    }
    if (strlen(s) > max)
        return -EINVAL;
    strcpy(dst, s);
    return 0;
}

/* Turns verified claims into an sc_token; -EINVAL if they do not fit. */
static int claims_to_token(const json_t *claims, sc_token *t)
{
    memset(t, 0, sizeof(*t));
    if (sc_role_parse(json_string_value(json_object_get(claims, "role")), &t->role) < 0)
        return -EINVAL;
    if (copy_claim(claims, "room", t->room, SC_ROOM_USER_MAX, "") < 0 ||
        !room_claim_ok(t->room, t->role))
        return -EINVAL;
    if (copy_claim(claims, "name", t->name, SC_PEER_NAME_MAX, sc_role_name(t->role)) < 0 ||
        copy_claim(claims, "sub", t->sub, SC_PEER_NAME_MAX, "") < 0)
        return -EINVAL;
    const json_t *perms = json_object_get(claims, "perms");
    if (!perms)
        t->perms = sc_role_default_perms(t->role);
    else if (perms_from_json(perms, &t->perms) < 0)
        return -EINVAL;
    /* sc_jwt_verify checked exp is a number in the future. */
    const json_t *exp = json_object_get(claims, "exp");
    if (json_is_integer(exp)) {
        t->exp = json_integer_value(exp);
    } else {
        double d = json_real_value(exp);
        t->exp = d >= 9.2e18 ? INT64_MAX : (int64_t)d;
    }
    return 0;
}

int sc_token_check(const uint8_t *secret, size_t secret_len, const char *token,
                   const char *room, uint32_t perm, int64_t now, sc_token *out,
                   const char **code, const char **why)
{
    json_t *claims = NULL;
    const char *jwt_why = NULL;
    sc_token t;

    if (!token || !*token)
        return deny(401, "token-missing", "a token is required", code, why);
    int r = sc_jwt_verify(secret, secret_len, token, now, &claims, &jwt_why);
    if (r == -ETIMEDOUT)
        return deny(401, "token-expired", "token has expired", code, why);
    if (r == -EAGAIN)
        return deny(401, "token-not-yet-valid", "token is not valid yet (nbf)", code, why);
    if (r < 0)
        return deny(401, "token-invalid", jwt_why ? jwt_why : "invalid token", code, why);
    r = claims_to_token(claims, &t);
    json_decref(claims);
    if (r < 0)
        return deny(401, "token-invalid", "token claims are invalid", code, why);
    /* However it was minted, no token may last more than a year from now:
     * a leaked one that never expires is a key that cannot be taken back
     * short of changing the secret. */
    if (t.exp - now > SC_TOKEN_MAX_LIFETIME_S)
        return deny(401, "token-lifetime-too-long",
                    "token lasts more than 366 days; mint a shorter one", code, why);
    if (out)
        *out = t;

    if (room && strcmp(t.room, "*") != 0 && strcmp(t.room, room) != 0)
        return deny(403, "wrong-room", "token is for another room", code, why);
    if ((t.perms & perm) != perm)
        return deny(403, "forbidden", "token does not grant this permission", code, why);
    if (code)
        *code = NULL;
    if (why)
        *why = NULL;
    return 0;
}
