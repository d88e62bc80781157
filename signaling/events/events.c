#include "signaling/events/events.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/proto/bytes.h"
#include "signaling/api/bus.h"
#include "signaling/auth/token.h"
#include "signaling/http/whip.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

#define VIEWER_TTL_S (2 * 3600)
#define LINK_GRACE_S (6 * 3600)      /* presenter links last this long after the end */
#define PBKDF2_ITER 20000
#define PASSWORD_MIN 4
#define PASSWORD_MAX 128
#define ATTEMPT_WINDOW_MS 60000
#define ATTEMPTS_MAX 10              /* wrong passwords per address per window */
#define ATTEMPT_SLOTS 512

/* Wrong passwords per address, in a small hash table: a collision shares a
 * slot's count with another address, which only ever makes the limit
 * stricter for both. */
typedef struct attempt_slot {
    char peer[64];
    int64_t window_ms;
    int count;
} attempt_slot;

struct sc_events_state {
    attempt_slot attempts[ATTEMPT_SLOTS];
};

static struct sc_events_state *state(sc_app *app)
{
    if (!app->events)
        app->events = calloc(1, sizeof(*app->events));
    return app->events;
}

void sc_events_free(sc_app *app)
{
    free(app->events);
    app->events = NULL;
}

static int64_t now_s(void) { return sc_wall_ms() / 1000; }

/* ---- passwords --------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* "pbkdf2-sha256$ITER$SALT$HASH" (hex); 0 or -EIO. */
static int hash_password(const char *pw, char *out, size_t cap)
{
    uint8_t salt[16], dk[32];
    char salt_hex[33], dk_hex[65];
    if (RAND_bytes(salt, sizeof(salt)) != 1 ||
        PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), PBKDF2_ITER, EVP_sha256(),
                          sizeof(dk), dk) != 1)
        return -EIO;
    hex(salt, sizeof(salt), salt_hex);
    hex(dk, sizeof(dk), dk_hex);
    snprintf(out, cap, "pbkdf2-sha256$%d$%s$%s", PBKDF2_ITER, salt_hex, dk_hex);
    return 0;
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return s[2 * n] == '\0' || s[2 * n] == '$';
}

static bool password_ok(const char *stored, const char *pw)
{
    int iter;
    char salt_hex[33], dk_hex[65];
    uint8_t salt[16], want[32], got[32];
    if (sscanf(stored, "pbkdf2-sha256$%d$%32[0-9a-f]$%64[0-9a-f]", &iter, salt_hex, dk_hex) !=
            3 ||
        iter < 1 || iter > 10000000 || !unhex(salt_hex, salt, sizeof(salt)) ||
        !unhex(dk_hex, want, sizeof(want)))
        return false;
    if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), iter, EVP_sha256(),
                          sizeof(got), got) != 1)
        return false;
    return CRYPTO_memcmp(want, got, sizeof(got)) == 0;
}

static attempt_slot *attempts_for(sc_app *app, const char *peer)
{
    struct sc_events_state *s = state(app);
    if (!s)
        return NULL;
    attempt_slot *a = &s->attempts[sc_fnv1a(peer, strlen(peer)) % ATTEMPT_SLOTS];
    int64_t now = sc_wall_ms();
    if (strcmp(a->peer, peer) != 0 || now - a->window_ms > ATTEMPT_WINDOW_MS) {
        snprintf(a->peer, sizeof(a->peer), "%s", peer);
        a->window_ms = now;
        a->count = 0;
    }
    return a;
}

typedef struct field_err {
    const char *field;
    char why[160];
} field_err;

static bool bad(field_err *e, const char *field, const char *why)
{
    e->field = field;
    snprintf(e->why, sizeof(e->why), "%s", why);
    return false;
}

/* ---- networks ------------------------------------------------------------ */

static bool watch_type_ok(const char *t)
{
    return strcmp(t, "public") == 0 || strcmp(t, "password") == 0 ||
           strcmp(t, "whitelist") == 0 || strcmp(t, "invite") == 0;
}

/* "10.1.0.0/16", "2001:db8::/32" or a bare address: into addr (16 bytes,
 * IPv4 mapped into ::ffff:0:0/96) and a prefix length over those 128 bits. */
static bool parse_net(const char *s, uint8_t addr[16], int *prefix)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(ip))
        return false;
    memcpy(ip, s, n);
    ip[n] = '\0';
    int bits = -1;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > 128)
            return false;
        bits = (int)v;
    }
    struct in_addr a4;
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        if (bits > 32)
            return false;
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &a4, 4);
        *prefix = 96 + (bits < 0 ? 32 : bits);
        return true;
    }
    if (inet_pton(AF_INET6, ip, addr) == 1) {
        *prefix = bits < 0 ? 128 : bits;
        return true;
    }
    return false;
}

static bool net_contains(const char *cidr, const char *peer)
{
    uint8_t net[16], a[16];
    int prefix, ignored;
    if (!parse_net(cidr, net, &prefix) || !parse_net(peer, a, &ignored))
        return false;
    for (int i = 0; i < 16 && prefix > 0; i++, prefix -= 8) {
        uint8_t mask = prefix >= 8 ? 0xff : (uint8_t)(0xff << (8 - prefix));
        if ((net[i] & mask) != (a[i] & mask))
            return false;
    }
    return true;
}

/* Whether peer is in one of the lines of nets ("a\nb\n"). */
static bool nets_match(const char *nets, const char *peer)
{
    char line[64];
    for (const char *p = nets; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = '\0';
            if (net_contains(line, peer))
                return true;
        }
        p += n + (nl ? 1 : 0);
    }
    return false;
}

/* A JSON array of CIDRs into "a\nb" (absent: kept; [] clears). */
static bool take_nets(json_t *v, char *dst, size_t cap, field_err *e)
{
    if (!v)
        return true;
    if (!json_is_array(v) || json_array_size(v) > SC_EVENT_NETS_MAX)
        return bad(e, "networks", "allow and deny are lists of at most 64 CIDRs");
    size_t used = 0;
    size_t i;
    json_t *item;
    dst[0] = '\0';
    json_array_foreach(v, i, item) {
        uint8_t a[16];
        int prefix;
        const char *c = json_string_value(item);
        if (!c || !parse_net(c, a, &prefix)) {
            e->field = "networks";
            snprintf(e->why, sizeof(e->why), "'%.50s' is not an address or CIDR", c ? c : "?");
            return false;
        }
        int n = snprintf(dst + used, cap - used, "%s%s", used ? "\n" : "", c);
        if (n < 0 || (size_t)n >= cap - used)
            return bad(e, "networks", "too long");
        used += (size_t)n;
    }
    return true;
}

static json_t *nets_json(const char *nets)
{
    json_t *arr = json_array();
    for (const char *p = nets; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, n));
        p += n + (nl ? 1 : 0);
    }
    return arr;
}

/* ---- the event object ---------------------------------------------------- */

static json_t *event_json(const sc_store_event *ev)
{
    json_t *branding = json_object();
    if (ev->color[0])
        json_object_set_new(branding, "color", json_string(ev->color));
    if (ev->landing_text[0])
        json_object_set_new(branding, "landing_text", json_string(ev->landing_text));
    char url[96];
    snprintf(url, sizeof(url), "/e/%s", ev->slug);
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:i,s:s,s:{s:s},s:o,s:s,s:I,s:I}", "id",
                     (json_int_t)ev->id, "slug", ev->slug, "title", ev->title, "description",
                     ev->description, "room", ev->room, "starts_at", (json_int_t)ev->starts_at,
                     "ends_at", (json_int_t)ev->ends_at, "state", ev->state, "viewer_cap",
                     ev->viewer_cap, "recording",
                     ev->recording_forbidden ? "forbidden" : "allowed", "watch", "type",
                     ev->watch_type, "branding", branding, "watch_url", url, "created_at",
                     (json_int_t)ev->created_at, "updated_at", (json_int_t)ev->updated_at);
    json_object_set_new(o, "networks", json_pack("{s:o,s:o}", "allow", nets_json(ev->allow_nets),
                                                 "deny", nets_json(ev->deny_nets)));
    return o;
}

/* The public view: no password hash, no room-internal settings. */
static json_t *watch_json(const sc_store_event *ev)
{
    json_t *o = event_json(ev);
    json_object_del(o, "id");
    json_object_del(o, "room");
    json_object_del(o, "viewer_cap");
    json_object_del(o, "recording");
    json_object_del(o, "created_at");
    json_object_del(o, "updated_at");
    json_object_del(o, "networks");
    json_object_set_new(o, "server_time", json_integer((json_int_t)now_s()));
    return o;
}

static bool slug_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > SC_EVENT_SLUG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* A slug from a title: lower-case letters and digits, runs of anything
 * else as one '-'; "event" when nothing is left. */
static void slug_from(const char *title, char *out, size_t cap)
{
    size_t n = 0;
    bool dash = false;
    for (const char *p = title; *p && n + 1 < cap && n < SC_EVENT_SLUG_MAX; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n)
                out[n++] = '-';
            if (n + 1 < cap)
                out[n++] = c;
            dash = false;
        } else {
            dash = true;
        }
    }
    out[n] = '\0';
    if (!n)
        snprintf(out, cap, "event");
}

/* Characters (not bytes) of a UTF-8 string; -1 when it is not UTF-8 (jansson
 * only hands us valid UTF-8, so this only counts). */
static long utf8_len(const char *s)
{
    long n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

/* A text field: absent (kept), or a string of at most max characters
 * (required: at least one). */
static bool take_text(json_t *body, const char *key, char *dst, size_t cap, long max,
                      bool required, field_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_string(v))
        return bad(e, key, "must be a string");
    const char *s = json_string_value(v);
    long n = utf8_len(s);
    if (n > max || strlen(s) >= cap)
        return bad(e, key, "is too long");
    if (required && n == 0)
        return bad(e, key, "must not be empty");
    if (memchr(s, '\0', json_string_length(v)))
        return bad(e, key, "must not contain NUL");
    snprintf(dst, cap, "%s", s);
    return true;
}

static bool take_time(json_t *body, const char *key, int64_t *dst, field_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 32503680000LL) /* year 3000 */
        return bad(e, key, "must be Unix seconds");
    *dst = json_integer_value(v);
    return true;
}

/* Applies the body's fields to ev (create: over defaults; update: over the
 * stored row).  False with the field and the reason in e; ev may then be
 * half-changed, and is not stored. */
static bool apply_fields(json_t *body, sc_store_event *ev, bool create, field_err *e)
{
    static const char *const known[] = {"title", "slug", "description", "room", "starts_at",
                                        "ends_at", "state", "viewer_cap", "recording", "watch",
                                        "networks", "branding", "template"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        bool ok = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok) {
            e->field = NULL;
            snprintf(e->why, sizeof(e->why), "unknown field '%.64s'", key);
            return false;
        }
    }
    if (!take_text(body, "title", ev->title, sizeof(ev->title), SC_EVENT_TITLE_MAX, true, e) ||
        !take_text(body, "description", ev->description, sizeof(ev->description),
                   SC_EVENT_DESC_MAX, false, e) ||
        !take_time(body, "starts_at", &ev->starts_at, e) ||
        !take_time(body, "ends_at", &ev->ends_at, e))
        return false;
    if (create && !ev->title[0])
        return bad(e, "title", "is required");
    if ((v = json_object_get(body, "slug"))) {
        if (!json_is_string(v) || !slug_ok(json_string_value(v)))
            return bad(e, "slug", "must be 1..64 of a-z, 0-9 and '-'");
        snprintf(ev->slug, sizeof(ev->slug), "%s", json_string_value(v));
    } else if (create) {
        slug_from(ev->title, ev->slug, sizeof(ev->slug));
    }
    if ((v = json_object_get(body, "room"))) {
        if (!json_is_string(v) || !sc_rooms_name_ok(json_string_value(v)))
            return bad(e, "room", "must be 1..64 of A-Z, a-z, 0-9, '_' and '-'");
        snprintf(ev->room, sizeof(ev->room), "%s", json_string_value(v));
    } else if (create) {
        snprintf(ev->room, sizeof(ev->room), "%s", ev->slug);
    }
    if (create && !json_object_get(body, "starts_at") && !ev->starts_at)
        return bad(e, "starts_at", "is required");
    if (!ev->ends_at || (create && !json_object_get(body, "ends_at") && ev->ends_at <= ev->starts_at))
        ev->ends_at = ev->starts_at + 3600;
    if (ev->ends_at <= ev->starts_at)
        return bad(e, "ends_at", "must be after starts_at");
    if ((v = json_object_get(body, "state"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "scheduled") != 0 && strcmp(s, "live") != 0 && strcmp(s, "ended") != 0)
            return bad(e, "state", "must be scheduled, live or ended");
        snprintf(ev->state, sizeof(ev->state), "%s", s);
    }
    if ((v = json_object_get(body, "viewer_cap"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 10000000)
            return bad(e, "viewer_cap", "must be a number of viewers (0: no cap)");
        ev->viewer_cap = (int)json_integer_value(v);
    }
    if ((v = json_object_get(body, "recording"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "allowed") != 0 && strcmp(s, "forbidden") != 0)
            return bad(e, "recording", "must be allowed or forbidden");
        ev->recording_forbidden = strcmp(s, "forbidden") == 0;
    }
    if ((v = json_object_get(body, "watch"))) {
        json_t *type = json_object_get(v, "type");
        const char *t = json_is_string(type) ? json_string_value(type) : "";
        if (!json_is_object(v) || !watch_type_ok(t))
            return bad(e, "watch", "type must be public, password (with \"password\"), "
                                   "whitelist or invite");
        json_t *pw = json_object_get(v, "password");
        if (strcmp(t, "password") == 0) {
            if (pw) {
                long n = json_is_string(pw) ? utf8_len(json_string_value(pw)) : -1;
                if (n < PASSWORD_MIN || n > PASSWORD_MAX)
                    return bad(e, "watch", "the password must be 4..128 characters");
                if (hash_password(json_string_value(pw), ev->password_hash,
                                  sizeof(ev->password_hash)) < 0)
                    return bad(e, "watch", "cannot hash the password");
            } else if (strcmp(ev->watch_type, "password") != 0 || !ev->password_hash[0]) {
                return bad(e, "watch", "a password event needs a password");
            }
        } else {
            ev->password_hash[0] = '\0';
        }
        snprintf(ev->watch_type, sizeof(ev->watch_type), "%s", t);
    }
    if ((v = json_object_get(body, "networks"))) {
        if (!json_is_object(v) || !take_nets(json_object_get(v, "allow"), ev->allow_nets,
                                             sizeof(ev->allow_nets), e) ||
            !take_nets(json_object_get(v, "deny"), ev->deny_nets, sizeof(ev->deny_nets), e)) {
            e->field = "networks";
            if (!e->why[0])
                snprintf(e->why, sizeof(e->why), "must be {\"allow\": [CIDR...], \"deny\": [...]}");
            return false;
        }
    }
    if ((v = json_object_get(body, "branding"))) {
        if (!json_is_object(v))
            return bad(e, "branding", "must be an object");
        json_t *c = json_object_get(v, "color");
        if (c) {
            const char *s = json_is_string(c) ? json_string_value(c) : "";
            bool ok = strlen(s) == 7 && s[0] == '#';
            for (int i = 1; ok && i < 7; i++)
                ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F');
            if (!ok)
                return bad(e, "branding", "color must be #rrggbb");
            snprintf(ev->color, sizeof(ev->color), "%s", s);
        }
        if (!take_text(v, "landing_text", ev->landing_text, sizeof(ev->landing_text),
                       SC_EVENT_LANDING_MAX, false, e)) {
            e->field = "branding";
            return false;
        }
    }
    return true;
}

/* ---- organiser API --------------------------------------------------------- */

static json_t *body_object(const sc_http_req *req, sc_http_reply *rep)
{
    json_error_t jerr;
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
                                              &jerr)
                                 : json_object();
    if (!body || !json_is_object(body)) {
        json_decref(body);
        sc_http_error(rep, 400, "bad-request", "the body must be a JSON object");
        return NULL;
    }
    return body;
}

static void field_error(sc_http_reply *rep, const field_err *e)
{
    if (e->field)
        sc_http_error(rep, 400, "bad-request", "%s %s", e->field, e->why);
    else
        sc_http_error(rep, 400, "bad-request", "%s", e->why);
}

/* Store ev (insert or update) or say why not. */
static bool store_event(sc_app *app, sc_store_event *ev, bool insert, sc_http_reply *rep)
{
    sc_store_event other;
    if (sc_store_event_by_slug(app->store, ev->slug, &other) == 0 && other.id != ev->id) {
        sc_http_error(rep, 409, "slug-taken", "another event has the slug '%s'", ev->slug);
        return false;
    }
    if (sc_store_event_by_room(app->store, ev->room, &other) == 0 && other.id != ev->id) {
        sc_http_error(rep, 409, "room-taken", "another event uses the room '%s'", ev->room);
        return false;
    }
    int rc = insert ? sc_store_event_insert(app->store, ev) : sc_store_event_update(app->store, ev);
    if (rc == -EEXIST) {
        sc_http_error(rep, 409, "slug-taken", "the slug or the room is taken");
        return false;
    }
    if (rc < 0) {
        sc_http_error(rep, 500, "internal", "cannot store the event");
        return false;
    }
    /* A forbidden event is never recorded: whatever runs now stops. */
    if (ev->recording_forbidden && app->recorder && sc_room_recording(app, ev->room))
        sc_room_set_recording(app, ev->room, false);
    return true;
}

static void list_one(void *ud, const sc_store_event *ev)
{
    json_array_append_new(ud, event_json(ev));
}

static void events_collection(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                              char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    (void)route;
    (void)args;
    rep->action = req->method == SC_HTTP_POST ? "creating an event" : "listing events";
    if (sc_http_admin_auth(app, req, "events", rep))
        return;
    if (req->method != SC_HTTP_POST) {
        json_t *arr = json_array();
        if (sc_store_events_list(app->store, list_one, arr) < 0) {
            json_decref(arr);
            sc_http_error(rep, 500, "internal", "cannot read the events");
            return;
        }
        sc_http_json(rep, 200, json_pack("{s:o}", "events", arr));
        return;
    }
    json_t *body = body_object(req, rep);
    if (!body)
        return;
    sc_store_event *ev = calloc(1, sizeof(*ev));
    field_err e = {0};
    if (!ev) {
        json_decref(body);
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    json_t *tmpl = json_object_get(body, "template");
    if (tmpl) {
        if (!json_is_integer(tmpl) ||
            sc_store_event_get(app->store, json_integer_value(tmpl), ev) < 0) {
            sc_http_error(rep, 400, "bad-request", "template names no event");
            goto out;
        }
        /* Its settings, not its identity or its history. */
        ev->id = 0;
        ev->slug[0] = ev->room[0] = '\0';
        if (!json_object_get(body, "starts_at"))
            ev->starts_at = 0;
    } else {
        snprintf(ev->watch_type, sizeof(ev->watch_type), "public");
    }
    snprintf(ev->state, sizeof(ev->state), "scheduled");
    if (!apply_fields(body, ev, true, &e)) {
        field_error(rep, &e);
        goto out;
    }
    if (!ev->slug[0])
        slug_from(ev->title, ev->slug, sizeof(ev->slug));
    if (!ev->room[0])
        snprintf(ev->room, sizeof(ev->room), "%s", ev->slug);
    ev->created_at = ev->updated_at = now_s();
    if (!store_event(app, ev, true, rep))
        goto out;
    SC_INFO("events", "event %lld '%s' created (room %s, watch %s)", (long long)ev->id, ev->slug,
            ev->room, ev->watch_type);
    snprintf(rep->location, sizeof(rep->location), "/api/v1/events/%lld", (long long)ev->id);
    sc_http_json(rep, 201, event_json(ev));
out:
    json_decref(body);
    free(ev);
}

/* "17" -> 17; false for anything else. */
static bool parse_id(const char *s, int64_t *id)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0)
        return false;
    *id = v;
    return true;
}

static void issue_link(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                       sc_http_reply *rep)
{
    json_t *body = body_object(req, rep);
    if (!body)
        return;
    const char *role_s = json_string_value(json_object_get(body, "role"));
    const char *name = json_string_value(json_object_get(body, "name"));
    sc_role role;
    if (!role_s || sc_role_parse(role_s, &role) < 0 ||
        (role != SC_ROLE_PRESENTER && role != SC_ROLE_COHOST)) {
        sc_http_error(rep, 400, "bad-request", "role must be presenter or cohost");
        goto out;
    }
    if (name && utf8_len(name) > SC_PEER_NAME_MAX / 2) {
        sc_http_error(rep, 400, "bad-request", "name is too long");
        goto out;
    }
    int64_t now = now_s(), until = ev->ends_at + LINK_GRACE_S;
    if (until <= now + 3600)
        until = now + 3600;
    char *tok = sc_token_issue(app->secret, app->secret_len, ev->room, role, name, NULL,
                               until - now, now);
    if (!tok) {
        sc_http_error(rep, 500, "internal", "cannot issue a token");
        goto out;
    }
    char url[1024];
    snprintf(url, sizeof(url), "/presenter.html#room=%s&token=%s", ev->room, tok);
    sc_http_json(rep, 200, json_pack("{s:s,s:s,s:I,s:s}", "url", url, "token", tok, "expires_at",
                                     (json_int_t)until, "role", sc_role_name(role)));
    free(tok);
out:
    json_decref(body);
}

/* A whitelist entry as it is compared: trimmed and lower-case; a phone
 * number (digits with + ( ) - . and spaces) as its digits and a leading +.
 * False when nothing usable is left or it is too long. */
static bool normalise_entry(const char *in, size_t len, char *out, size_t cap)
{
    while (len && (*in == ' ' || *in == '\t' || *in == '"')) {
        in++;
        len--;
    }
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '"' ||
                   in[len - 1] == '\r'))
        len--;
    if (len == 0 || len > SC_EVENT_ENTRY_MAX || len >= cap)
        return false;
    bool phone = true;
    int digits = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c >= '0' && c <= '9')
            digits++;
        else if (!(c == '+' && i == 0) && c != ' ' && c != '-' && c != '(' && c != ')' && c != '.')
            phone = false;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (phone && digits >= 5 && !((c >= '0' && c <= '9') || (c == '+' && i == 0)))
            continue;
        out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
    return n > 0;
}

/* ---- whitelist and invite codes ---------------------------------------------- */

#define REJECTS_SHOWN 20
#define INVITES_MAX 10000            /* codes made by one request */
#define INVITE_USES_MAX 100000

/* POST: a CSV (or plain list) appended, first column of each line, a
 * header line skipped; any bad line refuses the whole request with the
 * lines named (nothing stored).  GET: the count.  DELETE: cleared. */
static void whitelist_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                            sc_http_reply *rep)
{
    rep->action = "managing an event's whitelist";
    if (req->method == SC_HTTP_DELETE) {
        if (sc_store_whitelist_clear(app->store, ev->id) < 0)
            sc_http_error(rep, 500, "internal", "cannot clear the whitelist");
        else
            rep->status = 204;
        return;
    }
    if (req->method != SC_HTTP_POST) {
        int64_t n = sc_store_whitelist_count(app->store, ev->id);
        if (n < 0)
            sc_http_error(rep, 500, "internal", "cannot read the whitelist");
        else
            sc_http_json(rep, 200, json_pack("{s:I}", "entries", (json_int_t)n));
        return;
    }
    size_t cap = req->body_len / 2 + 16, n = 0, line_no = 0, bad_lines = 0;
    char **entries = calloc(cap, sizeof(*entries));
    json_t *rejected = json_array();
    if (!entries || !rejected) {
        free(entries);
        json_decref(rejected);
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    const char *p = req->body ? req->body : "", *end = p + req->body_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line_no++;
        /* The first field: up to a comma outside quotes. */
        const char *f = p, *fe = p;
        bool quoted = false, broken = false;
        while (fe < stop && (quoted || *fe != ',')) {
            if (*fe == '"')
                quoted = !quoted;
            fe++;
        }
        broken = quoted;
        char entry[SC_EVENT_ENTRY_MAX + 1];
        bool blank = true;
        for (const char *q = p; q < stop; q++)
            blank &= *q == ' ' || *q == '\t' || *q == '\r' || *q == ',';
        if (!blank) {
            bool ok = !broken && normalise_entry(f, (size_t)(fe - f), entry, sizeof(entry));
            bool header = line_no == 1 && ok &&
                          (strcmp(entry, "email") == 0 || strcmp(entry, "e-mail") == 0 ||
                           strcmp(entry, "phone") == 0 || strcmp(entry, "id") == 0 ||
                           strcmp(entry, "staff") == 0 || strcmp(entry, "staff number") == 0 ||
                           strcmp(entry, "entry") == 0);
            if (!ok) {
                if (bad_lines++ < REJECTS_SHOWN)
                    json_array_append_new(rejected,
                                          json_pack("{s:I,s:s}", "line", (json_int_t)line_no, "why",
                                                    broken ? "an unterminated quote"
                                                           : "not an e-mail, phone or staff number "
                                                             "(1..128 printable characters)"));
            } else if (!header && n < cap) {
                entries[n] = strdup(entry);
                if (entries[n])
                    n++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    size_t added = 0;
    if (bad_lines) {
        sc_http_json(rep, 400, json_pack("{s:{s:s,s:s},s:I,s:o}", "error", "code", "bad-request",
                                         "message", "some lines are not usable; nothing was added",
                                         "rejected_count", (json_int_t)bad_lines, "rejected",
                                         rejected));
        rejected = NULL;
    } else if (sc_store_whitelist_add(app->store, ev->id, (const char *const *)entries, n,
                                      &added) < 0) {
        sc_http_error(rep, 500, "internal", "cannot store the whitelist");
    } else {
        SC_INFO("events", "event '%s': %zu whitelist entries added (%zu already there)",
                ev->slug, added, n - added);
        sc_http_json(rep, 200, json_pack("{s:I,s:I,s:I}", "added", (json_int_t)added,
                                         "duplicates", (json_int_t)(n - added), "entries",
                                         (json_int_t)sc_store_whitelist_count(app->store, ev->id)));
    }
    json_decref(rejected);
    for (size_t i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
}

/* Codes of 12 characters from an alphabet without 0/O and 1/I/L, shown
 * in groups of four (the dashes are not part of the code). */
static void make_code(char *out)
{
    static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    uint8_t r[12];
    if (RAND_bytes(r, sizeof(r)) != 1)
        memset(r, 0, sizeof(r));
    for (int i = 0; i < 12; i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[12] = '\0';
}

typedef struct invite_list {
    json_t *arr;
    char *csv;
    size_t len, cap;
} invite_list;

static void invite_row(void *ud, const char *code, int max_uses, int uses)
{
    invite_list *l = ud;
    if (l->arr) {
        json_array_append_new(l->arr, json_pack("{s:s,s:i,s:i}", "code", code, "uses", max_uses,
                                                "used", uses));
        return;
    }
    if (l->len + 64 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        char *csv = realloc(l->csv, cap);
        if (!csv)
            return;
        l->csv = csv;
        l->cap = cap;
    }
    l->len += (size_t)snprintf(l->csv + l->len, l->cap - l->len, "%s,%d,%d\n", code, max_uses, uses);
}

/* POST {"count": N, "uses": M}: N new codes of M uses each.  GET: every
 * code (JSON, or CSV with ?format=csv). */
static void invites_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                          sc_http_reply *rep)
{
    rep->action = "managing an event's invite codes";
    if (req->method != SC_HTTP_POST) {
        invite_list l = {0};
        bool csv = strstr(req->query, "format=csv") != NULL;
        if (!csv)
            l.arr = json_array();
        if (sc_store_invites_list(app->store, ev->id, invite_row, &l) < 0) {
            json_decref(l.arr);
            free(l.csv);
            sc_http_error(rep, 500, "internal", "cannot read the invite codes");
            return;
        }
        if (!csv) {
            sc_http_json(rep, 200, json_pack("{s:o}", "invites", l.arr));
            return;
        }
        char head[] = "code,uses,used\n";
        size_t total = sizeof(head) - 1 + l.len;
        char *body = malloc(total + 1);
        if (body) {
            memcpy(body, head, sizeof(head) - 1);
            if (l.len)
                memcpy(body + sizeof(head) - 1, l.csv, l.len);
            sc_http_body(rep, 200, "text/csv; charset=utf-8", body, total);
            snprintf(rep->disposition, sizeof(rep->disposition),
                     "attachment; filename=\"%s-invites.csv\"", ev->slug);
        } else {
            sc_http_error(rep, 500, "internal", "out of memory");
        }
        free(body);
        free(l.csv);
        return;
    }
    json_t *body = body_object(req, rep);
    if (!body)
        return;
    json_t *count = json_object_get(body, "count"), *uses = json_object_get(body, "uses");
    json_int_t n = json_is_integer(count) ? json_integer_value(count) : -1;
    json_int_t u = uses ? (json_is_integer(uses) ? json_integer_value(uses) : -1) : 1;
    if (n < 1 || n > INVITES_MAX || u < 1 || u > INVITE_USES_MAX) {
        json_decref(body);
        sc_http_error(rep, 400, "bad-request", "count must be 1..%d and uses 1..%d", INVITES_MAX,
                      INVITE_USES_MAX);
        return;
    }
    json_decref(body);
    char (*codes)[13] = calloc((size_t)n, sizeof(*codes));
    const char **ptrs = calloc((size_t)n, sizeof(*ptrs));
    int rc = -ENOMEM;
    for (int attempt = 0; codes && ptrs && attempt < 3; attempt++) {
        for (json_int_t i = 0; i < n; i++) {
            make_code(codes[i]);
            ptrs[i] = codes[i];
        }
        rc = sc_store_invites_add(app->store, ev->id, ptrs, (size_t)n, (int)u, now_s());
        if (rc != -EEXIST) /* 31^12 codes: a clash is a freak, draw again */
            break;
    }
    if (rc < 0) {
        sc_http_error(rep, 500, "internal", "cannot store the invite codes");
    } else {
        json_t *arr = json_array();
        for (json_int_t i = 0; i < n; i++)
            json_array_append_new(arr, json_string(codes[i]));
        SC_INFO("events", "event '%s': %lld invite codes of %lld uses", ev->slug, (long long)n,
                (long long)u);
        sc_http_json(rep, 201, json_pack("{s:o,s:I}", "codes", arr, "uses", u));
    }
    free(codes);
    free(ptrs);
}

static void event_item(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    int64_t id;
    rep->action = "managing an event";
    if (sc_http_admin_auth(app, req, "events", rep))
        return;
    if (!parse_id(args[0], &id)) {
        sc_http_error(rep, 404, "no-such-event", "no event %.40s", args[0]);
        return;
    }
    sc_store_event *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    if (sc_store_event_get(app->store, id, ev) < 0) {
        sc_http_error(rep, 404, "no-such-event", "no event %lld", (long long)id);
        goto out;
    }
    if (route->nargs == 2) { /* /api/v1/events/{id}/links, whitelist, invites */
        if (strcmp(args[1], "links") == 0 && req->method == SC_HTTP_POST)
            issue_link(app, req, ev, rep);
        else if (strcmp(args[1], "whitelist") == 0)
            whitelist_route(app, req, ev, rep);
        else if (strcmp(args[1], "invites") == 0 && req->method != SC_HTTP_DELETE)
            invites_route(app, req, ev, rep);
        else
            sc_http_error(rep, 404, "not-found", "no such resource");
        goto out;
    }
    if (req->method == SC_HTTP_DELETE) {
        if (sc_store_event_delete(app->store, id) < 0) {
            sc_http_error(rep, 500, "internal", "cannot delete the event");
            goto out;
        }
        SC_INFO("events", "event %lld '%s' deleted", (long long)id, ev->slug);
        rep->status = 204;
        goto out;
    }
    if (req->method == SC_HTTP_PATCH) {
        json_t *body = body_object(req, rep);
        field_err e = {0};
        if (!body)
            goto out;
        if (json_object_get(body, "template")) {
            json_decref(body);
            sc_http_error(rep, 400, "bad-request", "template only applies when creating");
            goto out;
        }
        bool ok = apply_fields(body, ev, false, &e);
        json_decref(body);
        if (!ok) {
            field_error(rep, &e);
            goto out;
        }
        ev->updated_at = now_s();
        if (!store_event(app, ev, false, rep))
            goto out;
        SC_INFO("events", "event %lld '%s' changed (state %s)", (long long)id, ev->slug,
                ev->state);
    }
    sc_http_json(rep, 200, event_json(ev));
out:
    free(ev);
}

/* ---- the watch link --------------------------------------------------------- */

static void refused(sc_app *app, sc_http_reply *rep, int status, const char *code,
                    const char *msg)
{
    app->stats.events_refused++;
    sc_http_error(rep, status, code, "%s", msg);
}

/* The viewers of a room now (0 without a media plane). */
static int room_viewers(sc_app *app, const char *room)
{
    sc_sfu_publisher_info pubs[1];
    int n = 0, viewers = 0;
    if (!app->sfu || sc_sfu_room_info(app->sfu, room, pubs, 1, &n, &viewers) < 0)
        return 0;
    return viewers;
}

static void admit(sc_app *app, const sc_store_event *ev, const char *name, const char *sub,
                  sc_http_reply *rep)
{
    int64_t now = now_s();
    char *tok = sc_token_issue(app->secret, app->secret_len, ev->room, SC_ROLE_VIEWER,
                               name && *name ? name : "Viewer", sub, VIEWER_TTL_S, now);
    if (!tok) {
        sc_http_error(rep, 500, "internal", "cannot issue a token");
        return;
    }
    char url[1024];
    snprintf(url, sizeof(url), "/viewer.html#room=%s&token=%s&event=%s", ev->room, tok, ev->slug);
    sc_http_json(rep, 200, json_pack("{s:s,s:s,s:I,s:s}", "token", tok, "room", ev->room,
                                     "expires_at", (json_int_t)(now + VIEWER_TTL_S), "viewer_url",
                                     url));
    free(tok);
}

/* Counts a wrong guess (password, whitelist id, invite code) and says
 * whether the address is over its limit. */
static bool too_many(sc_app *app, const sc_http_req *req, sc_http_reply *rep, bool count)
{
    attempt_slot *a = attempts_for(app, req->peer);
    if (a && a->count >= ATTEMPTS_MAX) {
        rep->retry_after = 60;
        refused(app, rep, 429, "too-many-attempts",
                "too many wrong attempts from this address; try again in a minute");
        return true;
    }
    if (a && count)
        a->count++;
    return false;
}

/* The watch condition: 0 and who the viewer is (sub, name; "" for a
 * random one), or the reply is filled with the refusal. */
static int check_condition(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                           json_t *body, char *sub, char *name, sc_http_reply *rep)
{
    sub[0] = name[0] = '\0';
    if (strcmp(ev->watch_type, "public") == 0)
        return 0;
    if (too_many(app, req, rep, false))
        return -1;
    if (strcmp(ev->watch_type, "password") == 0) {
        const char *pw = json_string_value(json_object_get(body, "password"));
        if (!pw || strlen(pw) > 4 * PASSWORD_MAX || !password_ok(ev->password_hash, pw)) {
            too_many(app, req, rep, true);
            refused(app, rep, 401, "wrong-password", "the password is not right");
            return -1;
        }
        return 0;
    }
    if (strcmp(ev->watch_type, "whitelist") == 0) {
        json_t *id = json_object_get(body, "id");
        char entry[SC_EVENT_ENTRY_MAX + 1];
        if (!json_is_string(id) ||
            !normalise_entry(json_string_value(id), json_string_length(id), entry, sizeof(entry))) {
            refused(app, rep, 400, "bad-request", "give your e-mail, phone or staff number as id");
            return -1;
        }
        int r = sc_store_whitelist_has(app->store, ev->id, entry);
        if (r < 0) {
            sc_http_error(rep, 500, "internal", "cannot read the whitelist");
            return -1;
        }
        if (r == 0) {
            too_many(app, req, rep, true);
            refused(app, rep, 403, "not-on-whitelist", "this id is not on the event's list");
            return -1;
        }
        /* The same person gets the same identity on every device. */
        snprintf(sub, SC_PEER_NAME_MAX + 1, "wl-%016llx",
                 (unsigned long long)sc_fnv1a(entry, strlen(entry)));
        snprintf(name, SC_PEER_NAME_MAX / 2 + 1, "%s", entry);
        return 0;
    }
    /* invite */
    const char *code = json_string_value(json_object_get(body, "code"));
    if (!code || !*code || strlen(code) > SC_EVENT_CODE_MAX) {
        refused(app, rep, 400, "bad-request", "give the invite code as code");
        return -1;
    }
    char norm[SC_EVENT_CODE_MAX + 1];
    size_t n = 0;
    for (const char *p = code; *p && n < SC_EVENT_CODE_MAX; p++)
        if (*p != '-' && *p != ' ')
            norm[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 'a' + 'A') : *p;
    norm[n] = '\0';
    int r = sc_store_invite_use(app->store, ev->id, norm);
    if (r == -ENOENT) {
        too_many(app, req, rep, true);
        refused(app, rep, 403, "invalid-code", "this invite code is not valid for the event");
        return -1;
    }
    if (r == -EDQUOT) {
        refused(app, rep, 403, "code-used-up", "this invite code has been used up");
        return -1;
    }
    if (r < 0) {
        sc_http_error(rep, 500, "internal", "cannot read the invite codes");
        return -1;
    }
    snprintf(sub, SC_PEER_NAME_MAX + 1, "inv-%s", norm);
    return 0;
}

/* The event's networks: an address in deny, or outside a non-empty allow,
 * is refused. */
static bool network_ok(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                       sc_http_reply *rep)
{
    if (nets_match(ev->deny_nets, req->peer) ||
        (ev->allow_nets[0] && !nets_match(ev->allow_nets, req->peer))) {
        refused(app, rep, 403, "network-not-allowed",
                "this event cannot be watched from your network");
        return false;
    }
    return true;
}

static void watch_join(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                       sc_http_reply *rep)
{
    char sub[SC_PEER_NAME_MAX + 1], who[SC_PEER_NAME_MAX + 1];
    if (strcmp(ev->state, "ended") == 0) {
        refused(app, rep, 403, "event-ended", "this event has ended");
        return;
    }
    if (!network_ok(app, req, ev, rep))
        return;
    json_t *body = body_object(req, rep);
    if (!body)
        return;
    int cap = ev->viewer_cap ? ev->viewer_cap : app->cfg->max_viewers;
    if (room_viewers(app, ev->room) >= cap) {
        refused(app, rep, 409, "event-full", "the event is full");
        goto out;
    }
    if (check_condition(app, req, ev, body, sub, who, rep) < 0)
        goto out;
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name || utf8_len(name) > SC_PEER_NAME_MAX / 2)
        name = NULL;
    admit(app, ev, who[0] ? who : name, sub[0] ? sub : NULL, rep);
out:
    json_decref(body);
}

static void watch_renew(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                        sc_http_reply *rep)
{
    sc_token tok;
    if (sc_http_auth(app, req, ev->room, SC_PERM_SUBSCRIBE, &tok, rep))
        return;
    if (!network_ok(app, req, ev, rep))
        return;
    if (strcmp(ev->state, "ended") == 0) {
        refused(app, rep, 403, "event-ended", "this event has ended");
        return;
    }
    admit(app, ev, tok.name, tok.sub, rep);
}

static void watch_route(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                        char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    rep->action = "opening an event's watch link";
    sc_store_event *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    if (!slug_ok(args[0]) || sc_store_event_by_slug(app->store, args[0], ev) < 0) {
        refused(app, rep, 404, "no-such-event", "no such event");
        goto out;
    }
    if (route->nargs == 1) {
        if (req->method == SC_HTTP_POST)
            sc_http_error(rep, 405, "method-not-allowed", "GET the event, POST .../join");
        else
            sc_http_json(rep, 200, watch_json(ev));
    } else if (strcmp(args[1], "join") == 0 && req->method == SC_HTTP_POST) {
        rep->action = "admitting a viewer to an event";
        watch_join(app, req, ev, rep);
    } else if (strcmp(args[1], "renew") == 0 && req->method == SC_HTTP_POST) {
        rep->action = "renewing a viewer's token";
        watch_renew(app, req, ev, rep);
    } else {
        sc_http_error(rep, 404, "not-found", "no such resource");
    }
out:
    free(ev);
}

/* /e/{slug}: the watch page itself (the page reads the slug from its
 * address).  An unknown slug gets the page too, which says so. */
static void watch_page(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    (void)route;
    (void)req;
    (void)args;
    char path[SC_PATH_MAX + 32];
    struct stat st;
    rep->action = "serving the watch page";
    snprintf(path, sizeof(path), "%s/watch.html", app->cfg->ui_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 20)) {
        if (fd >= 0)
            close(fd);
        sc_http_error(rep, 404, "not-found", "the watch page is missing from the pages");
        return;
    }
    rep->file = true;
    rep->file_fd = fd;
    rep->file_off = 0;
    rep->file_len = rep->file_total = (uint64_t)st.st_size;
    rep->status = 200;
    snprintf(rep->content_type, sizeof(rep->content_type), "text/html; charset=utf-8");
}

const sc_http_route sc_events_routes[] = {
    {"/api/v1/events", 0, SC_HTTP_GET | SC_HTTP_POST, "events", events_collection, 0},
    {"/api/v1/events", 1, SC_HTTP_GET | SC_HTTP_PATCH | SC_HTTP_DELETE, "an event", event_item, 0},
    {"/api/v1/events", 2, SC_HTTP_GET | SC_HTTP_POST | SC_HTTP_DELETE,
     "an event's links, whitelist or invites", event_item, 0},
    {"/api/v1/watch", 1, SC_HTTP_GET, "an event's landing", watch_route, 0},
    {"/api/v1/watch", 2, SC_HTTP_POST, "joining an event", watch_route, 0},
    {"/e", 1, SC_HTTP_GET, "the watch page", watch_page, 0},
};
const size_t sc_events_n_routes = sizeof(sc_events_routes) / sizeof(sc_events_routes[0]);

/* ---- state and recording ------------------------------------------------------ */

bool sc_events_recording_forbidden(sc_app *app, const char *room)
{
    sc_store_event *ev = calloc(1, sizeof(*ev));
    bool forbidden = ev && sc_store_event_by_room(app->store, room, ev) == 0 &&
                     ev->recording_forbidden;
    free(ev);
    return forbidden;
}

/* A publisher connected: its room's scheduled event is live. */
static void on_connected(void *ud, const sc_bus_event *be)
{
    sc_app *app = ud;
    if (be->kind != SC_SESSION_PUBLISH || !be->room)
        return;
    sc_store_event *ev = calloc(1, sizeof(*ev));
    if (ev && sc_store_event_by_room(app->store, be->room, ev) == 0 &&
        strcmp(ev->state, "scheduled") == 0) {
        snprintf(ev->state, sizeof(ev->state), "live");
        ev->updated_at = now_s();
        if (sc_store_event_update(app->store, ev) == 0)
            SC_INFO("events", "event '%s' is live", ev->slug);
    }
    free(ev);
}

int sc_events_subscribe(sc_app *app)
{
    return sc_bus_subscribe(app->bus, SC_BUS_SESSION_CONNECTED, on_connected, app);
}
