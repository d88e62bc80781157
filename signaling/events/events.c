#include "signaling/events/events.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/api/bus.h"
#include "signaling/auth/token.h"
#include "signaling/events/geo.h"
#include "signaling/events/private.h"
#include "signaling/http/whip.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

#define LINK_GRACE_S (6 * 3600)      /* presenter links last this long after the end */

struct sc_events_state *sc__ev_state(sc_app *app)
{
    if (!app->events)
        app->events = calloc(1, sizeof(*app->events));
    return app->events;
}

void sc_events_free(sc_app *app)
{
    sc__ev_external_free(app->events);
    free(app->events);
    app->events = NULL;
    sc_geo_free(app->geo);
    app->geo = NULL;
}

/* Loads the country ranges; given: --geoip/--geoip6 (an error is the
 * caller's), else Debian's files when present. */
static int load_geo(sc_app *app, bool given, char *err, size_t errlen)
{
    const char *v4 = given ? (app->cfg->geoip[0] ? app->cfg->geoip : NULL)
                           : (access(SC_GEO_DEFAULT_V4, R_OK) == 0 ? SC_GEO_DEFAULT_V4 : NULL);
    const char *v6 = given ? (app->cfg->geoip6[0] ? app->cfg->geoip6 : NULL)
                           : (access(SC_GEO_DEFAULT_V6, R_OK) == 0 ? SC_GEO_DEFAULT_V6 : NULL);
    size_t skipped = 0;
    if (!v4 && !v6) {
        SC_WARN("events", "no country database (%s): region rules admit nobody from an allow "
                          "list",
                SC_GEO_DEFAULT_V4);
        return 0;
    }
    app->geo = sc_geo_load(v4, v6, &skipped, err, errlen);
    if (!app->geo)
        return -1;
    SC_INFO("events", "country database: %zu ranges from %s%s%s (%zu lines skipped)",
            sc_geo_ranges(app->geo), v4 ? v4 : "", v4 && v6 ? " and " : "", v6 ? v6 : "",
            skipped);
    return 0;
}

int sc_events_load_geo(sc_app *app, char *err, size_t errlen)
{
    char why[256];
    if (!app->cfg->geoip[0] && !app->cfg->geoip6[0])
        return 0; /* Debian's files load when a region rule first needs them */
    if (sc__ev_state(app))
        app->events->geo_tried = true;
    if (load_geo(app, true, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "--geoip: %s", why);
        return -1;
    }
    return 0;
}

const struct sc_geo *sc__ev_geo(sc_app *app)
{
    char why[256];
    struct sc_events_state *st = sc__ev_state(app);
    if (app->geo || !st || st->geo_tried)
        return app->geo;
    st->geo_tried = true; /* about half a second, once */
    if (load_geo(app, false, why, sizeof(why)) < 0)
        SC_WARN("events", "no region rules: %s", why);
    return app->geo;
}

int64_t sc__ev_now_s(void) { return sc_wall_ms() / 1000; }

void sc__ev_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Characters (not bytes) of a UTF-8 string; -1 when it is not UTF-8 (jansson
 * only hands us valid UTF-8, so this only counts). */
long sc__ev_utf8_len(const char *s)
{
    long n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

bool sc__ev_bad(sc__ev_err *e, const char *field, const char *why)
{
    e->field = field;
    snprintf(e->why, sizeof(e->why), "%s", why);
    return false;
}

json_t *sc__ev_event_json(const sc_store_event *ev)
{
    json_t *branding = ev->branding[0] ? json_loads(ev->branding, 0, NULL) : NULL;
    if (!branding)
        branding = json_object();
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
    json_object_set_new(o, "networks", json_pack("{s:o,s:o}", "allow", sc__ev_nets_json(ev->allow_nets),
                                                 "deny", sc__ev_nets_json(ev->deny_nets)));
    json_object_set_new(o, "single_session", json_boolean(ev->single_session));
    json_t *origins = json_array();
    for (const char *p = ev->embed_origins; *p;) {
        const char *sp = strchr(p, ' ');
        size_t n = sp ? (size_t)(sp - p) : strlen(p);
        json_array_append_new(origins, json_stringn(p, n));
        p += n + (sp ? 1 : 0);
    }
    json_object_set_new(o, "embed_origins", origins);
    json_object_set_new(o, "regions",
                        json_pack("{s:o,s:o}", "allow", sc__ev_regions_json(ev->allow_regions),
                                  "deny", sc__ev_regions_json(ev->deny_regions)));
    json_object_set_new(o, "registration", sc__ev_form_json(ev->registration));
    json_object_set_new(o, "external", sc__ev_external_json(ev->external, false));
    return o;
}

/* The public view: no password hash, no room-internal settings. */
json_t *sc__ev_watch_json(const sc_store_event *ev)
{
    json_t *o = sc__ev_event_json(ev);
    json_object_del(o, "id");
    json_object_del(o, "room");
    json_object_del(o, "viewer_cap");
    json_object_del(o, "recording");
    json_object_del(o, "created_at");
    json_object_del(o, "updated_at");
    json_object_del(o, "networks");
    json_object_del(o, "regions");
    json_object_del(o, "single_session");
    json_object_del(o, "embed_origins");
    /* The fields an external check asks for; its URL and secret stay. */
    json_object_set_new(o, "external", strcmp(ev->watch_type, "external") == 0
                                           ? sc__ev_external_json(ev->external, true)
                                           : json_null());
    json_object_set_new(o, "server_time", json_integer((json_int_t)sc__ev_now_s()));
    return o;
}

bool sc__ev_slug_ok(const char *s)
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

/* A text field: absent (kept), or a string of at most max characters
 * (required: at least one). */
static bool take_text(json_t *body, const char *key, char *dst, size_t cap, long max,
                      bool required, sc__ev_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_string(v))
        return sc__ev_bad(e, key, "must be a string");
    const char *s = json_string_value(v);
    long n = sc__ev_utf8_len(s);
    if (n > max || strlen(s) >= cap)
        return sc__ev_bad(e, key, "is too long");
    if (required && n == 0)
        return sc__ev_bad(e, key, "must not be empty");
    if (memchr(s, '\0', json_string_length(v)))
        return sc__ev_bad(e, key, "must not contain NUL");
    snprintf(dst, cap, "%s", s);
    return true;
}

static bool take_time(json_t *body, const char *key, int64_t *dst, sc__ev_err *e)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 32503680000LL) /* year 3000 */
        return sc__ev_bad(e, key, "must be Unix seconds");
    *dst = json_integer_value(v);
    return true;
}

/* Applies the body's fields to ev (create: over defaults; update: over the
 * stored row).  False with the field and the reason in e; ev may then be
 * half-changed, and is not stored. */
static bool apply_fields(json_t *body, sc_store_event *ev, bool create, sc__ev_err *e)
{
    static const char *const known[] = {"title", "slug", "description", "room", "starts_at",
                                        "ends_at", "state", "viewer_cap", "recording", "watch",
                                        "networks", "regions", "registration", "branding",
                                        "single_session", "embed_origins", "external",
                                        "template"};
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
        return sc__ev_bad(e, "title", "is required");
    if ((v = json_object_get(body, "slug"))) {
        if (!json_is_string(v) || !sc__ev_slug_ok(json_string_value(v)))
            return sc__ev_bad(e, "slug", "must be 1..64 of a-z, 0-9 and '-'");
        snprintf(ev->slug, sizeof(ev->slug), "%s", json_string_value(v));
    } else if (create) {
        slug_from(ev->title, ev->slug, sizeof(ev->slug));
    }
    if ((v = json_object_get(body, "room"))) {
        if (!json_is_string(v) || !sc_rooms_name_ok(json_string_value(v)))
            return sc__ev_bad(e, "room", "must be 1..64 of A-Z, a-z, 0-9, '_' and '-'");
        snprintf(ev->room, sizeof(ev->room), "%s", json_string_value(v));
    } else if (create) {
        snprintf(ev->room, sizeof(ev->room), "%s", ev->slug);
    }
    if (create && !json_object_get(body, "starts_at") && !ev->starts_at)
        return sc__ev_bad(e, "starts_at", "is required");
    if (!ev->ends_at || (create && !json_object_get(body, "ends_at") && ev->ends_at <= ev->starts_at))
        ev->ends_at = ev->starts_at + 3600;
    if (ev->ends_at <= ev->starts_at)
        return sc__ev_bad(e, "ends_at", "must be after starts_at");
    if ((v = json_object_get(body, "state"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "scheduled") != 0 && strcmp(s, "live") != 0 && strcmp(s, "ended") != 0)
            return sc__ev_bad(e, "state", "must be scheduled, live or ended");
        snprintf(ev->state, sizeof(ev->state), "%s", s);
    }
    if ((v = json_object_get(body, "viewer_cap"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > 10000000)
            return sc__ev_bad(e, "viewer_cap", "must be a number of viewers (0: no cap)");
        ev->viewer_cap = (int)json_integer_value(v);
    }
    if ((v = json_object_get(body, "recording"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "allowed") != 0 && strcmp(s, "forbidden") != 0)
            return sc__ev_bad(e, "recording", "must be allowed or forbidden");
        ev->recording_forbidden = strcmp(s, "forbidden") == 0;
    }
    if ((v = json_object_get(body, "watch"))) {
        json_t *type = json_object_get(v, "type");
        const char *t = json_is_string(type) ? json_string_value(type) : "";
        if (!json_is_object(v) || !sc__ev_watch_type_ok(t))
            return sc__ev_bad(e, "watch", "type must be public, password (with \"password\"), "
                                   "whitelist, invite, registration or external");
        json_t *pw = json_object_get(v, "password");
        if (strcmp(t, "password") == 0) {
            if (pw) {
                long n = json_is_string(pw) ? sc__ev_utf8_len(json_string_value(pw)) : -1;
                if (n < PASSWORD_MIN || n > PASSWORD_MAX)
                    return sc__ev_bad(e, "watch", "the password must be 4..128 characters");
                if (sc__ev_hash_password(json_string_value(pw), ev->password_hash,
                                  sizeof(ev->password_hash)) < 0)
                    return sc__ev_bad(e, "watch", "cannot hash the password");
            } else if (strcmp(ev->watch_type, "password") != 0 || !ev->password_hash[0]) {
                return sc__ev_bad(e, "watch", "a password event needs a password");
            }
        } else {
            ev->password_hash[0] = '\0';
        }
        snprintf(ev->watch_type, sizeof(ev->watch_type), "%s", t);
    }
    if ((v = json_object_get(body, "external")) &&
        !sc__ev_take_external(v, ev->external, sizeof(ev->external), e))
        return false;
    if (strcmp(ev->watch_type, "external") == 0 && !sc__ev_external_ready(ev->external))
        return sc__ev_bad(e, "external", "an external check needs external.url and "
                                         "external.secret");
    if ((v = json_object_get(body, "embed_origins")) &&
        !sc__ev_take_origins(v, ev->embed_origins, sizeof(ev->embed_origins), e))
        return false;
    if ((v = json_object_get(body, "single_session"))) {
        if (!json_is_boolean(v))
            return sc__ev_bad(e, "single_session", "must be true or false");
        ev->single_session = json_is_true(v);
    }
    if ((v = json_object_get(body, "regions"))) {
        if (!json_is_object(v) ||
            !sc__ev_take_regions(json_object_get(v, "allow"), ev->allow_regions,
                                 sizeof(ev->allow_regions), e) ||
            !sc__ev_take_regions(json_object_get(v, "deny"), ev->deny_regions,
                                 sizeof(ev->deny_regions), e)) {
            e->field = "regions";
            if (!e->why[0])
                snprintf(e->why, sizeof(e->why), "must be {\"allow\": [\"DE\"...], \"deny\": [...]}");
            return false;
        }
    }
    if ((v = json_object_get(body, "registration")) &&
        !sc__ev_take_form(v, ev->registration, sizeof(ev->registration), e))
        return false;
    if ((v = json_object_get(body, "networks"))) {
        if (!json_is_object(v) || !sc__ev_take_nets(json_object_get(v, "allow"), ev->allow_nets,
                                             sizeof(ev->allow_nets), e) ||
            !sc__ev_take_nets(json_object_get(v, "deny"), ev->deny_nets, sizeof(ev->deny_nets), e)) {
            e->field = "networks";
            if (!e->why[0])
                snprintf(e->why, sizeof(e->why), "must be {\"allow\": [CIDR...], \"deny\": [...]}");
            return false;
        }
    }
    if ((v = json_object_get(body, "branding"))) {
        static const char *const bkeys[] = {"color", "landing_text", "logo_url", "cover_url",
                                            "background_url", "page_title", "end_text",
                                            "end_link", "marquee"};
        if (!json_is_object(v))
            return sc__ev_bad(e, "branding", "must be an object");
        const char *bk;
        json_t *bv;
        json_object_foreach(v, bk, bv) {
            bool listed = false;
            for (size_t i = 0; i < sizeof(bkeys) / sizeof(bkeys[0]); i++)
                listed |= strcmp(bk, bkeys[i]) == 0;
            if (!listed) {
                e->field = "branding";
                snprintf(e->why, sizeof(e->why), "has no '%.40s'", bk);
                return false;
            }
        }
        json_t *c = json_object_get(v, "color");
        if (json_is_string(c) && json_string_length(c) == 0) {
            ev->color[0] = '\0'; /* "" removes the colour */
        } else if (c) {
            const char *s = json_is_string(c) ? json_string_value(c) : "";
            bool ok = strlen(s) == 7 && s[0] == '#';
            for (int i = 1; ok && i < 7; i++)
                ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F');
            if (!ok)
                return sc__ev_bad(e, "branding", "color must be #rrggbb");
            snprintf(ev->color, sizeof(ev->color), "%s", s);
        }
        if (!take_text(v, "landing_text", ev->landing_text, sizeof(ev->landing_text),
                       SC_EVENT_LANDING_MAX, false, e)) {
            e->field = "branding";
            return false;
        }
        if (!sc__ev_take_branding(v, ev->branding, sizeof(ev->branding), e))
            return false;
    }
    return true;
}

json_t *sc__ev_body_object(const sc_http_req *req, sc_http_reply *rep)
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

/* 400 with the field named twice: in the message, and as error.field for
 * a page that marks the input. */
void sc__ev_field_error(sc_http_reply *rep, const sc__ev_err *e)
{
    char msg[320];
    if (e->field)
        snprintf(msg, sizeof(msg), "%s %s", e->field, e->why);
    else
        snprintf(msg, sizeof(msg), "%s", e->why);
    json_t *err = json_pack("{s:s,s:s}", "code", "bad-request", "message", msg);
    if (e->field)
        json_object_set_new(err, "field", json_string(e->field));
    sc_http_json(rep, 400, json_pack("{s:o}", "error", err));
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
    if (ev->allow_regions[0] || ev->deny_regions[0])
        sc__ev_geo(app); /* now, not at a viewer's first join */
    /* A forbidden event is never recorded: whatever runs now stops. */
    if (ev->recording_forbidden && app->recorder && sc_room_recording(app, ev->room))
        sc_room_set_recording(app, ev->room, false);
    return true;
}

static void list_one(void *ud, const sc_store_event *ev)
{
    json_array_append_new(ud, sc__ev_event_json(ev));
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
    json_t *body = sc__ev_body_object(req, rep);
    if (!body)
        return;
    sc_store_event *ev = calloc(1, sizeof(*ev));
    sc__ev_err e = {0};
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
        sc__ev_field_error(rep, &e);
        goto out;
    }
    if (!ev->slug[0])
        slug_from(ev->title, ev->slug, sizeof(ev->slug));
    if (!ev->room[0])
        snprintf(ev->room, sizeof(ev->room), "%s", ev->slug);
    ev->created_at = ev->updated_at = sc__ev_now_s();
    if (!store_event(app, ev, true, rep))
        goto out;
    SC_INFO("events", "event %lld '%s' created (room %s, watch %s)", (long long)ev->id, ev->slug,
            ev->room, ev->watch_type);
    snprintf(rep->location, sizeof(rep->location), "/api/v1/events/%lld", (long long)ev->id);
    sc_http_json(rep, 201, sc__ev_event_json(ev));
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
    json_t *body = sc__ev_body_object(req, rep);
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
    if (name && sc__ev_utf8_len(name) > SC_PEER_NAME_MAX / 2) {
        sc_http_error(rep, 400, "bad-request", "name is too long");
        goto out;
    }
    int64_t now = sc__ev_now_s(), until = ev->ends_at + LINK_GRACE_S;
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

typedef struct room_sessions {
    const char *room;
    uint64_t ids[1024];
    int n;
} room_sessions;

static void collect_session(void *ud, sc_session_entry *e)
{
    room_sessions *r = ud;
    if (!e->closing && strcmp(e->room, r->room) == 0 && r->n < (int)(sizeof(r->ids) / sizeof(r->ids[0])))
        r->ids[r->n++] = e->id;
}

/* The organiser ended the event: its media sessions end (reason
 * event-ended), so pages show the end at once.  In rounds of 1,024 (a
 * closing session no longer counts). */
static void end_sessions(sc_app *app, const sc_store_event *ev)
{
    room_sessions *r = calloc(1, sizeof(*r));
    int total = 0;
    while (r) {
        r->room = ev->room;
        r->n = 0;
        sc_rooms_foreach_session(app->rooms, collect_session, r);
        int closed = 0;
        for (int i = 0; i < r->n; i++)
            closed += sc_session_close_because(app, r->ids[i], "event-ended") == 0;
        total += closed;
        if (r->n < (int)(sizeof(r->ids) / sizeof(r->ids[0])) || closed == 0)
            break;
    }
    free(r);
    SC_INFO("events", "event '%s' ended: %d media session(s) closed", ev->slug, total);
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
            sc__ev_whitelist_route(app, req, ev, rep);
        else if (strcmp(args[1], "invites") == 0 && req->method != SC_HTTP_DELETE)
            sc__ev_invites_route(app, req, ev, rep);
        else if (strcmp(args[1], "registrations") == 0)
            sc__ev_registrations_route(app, req, ev, rep);
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
        json_t *body = sc__ev_body_object(req, rep);
        sc__ev_err e = {0};
        if (!body)
            goto out;
        if (json_object_get(body, "template")) {
            json_decref(body);
            sc_http_error(rep, 400, "bad-request", "template only applies when creating");
            goto out;
        }
        bool was_ended = strcmp(ev->state, "ended") == 0;
        bool ok = apply_fields(body, ev, false, &e);
        json_decref(body);
        if (!ok) {
            sc__ev_field_error(rep, &e);
            goto out;
        }
        ev->updated_at = sc__ev_now_s();
        if (!store_event(app, ev, false, rep))
            goto out;
        if (!was_ended && strcmp(ev->state, "ended") == 0)
            end_sessions(app, ev);
        SC_INFO("events", "event %lld '%s' changed (state %s)", (long long)id, ev->slug,
                ev->state);
    }
    sc_http_json(rep, 200, sc__ev_event_json(ev));
out:
    free(ev);
}

bool sc_events_recording_forbidden(sc_app *app, const char *room)
{
    sc_store_event *ev = calloc(1, sizeof(*ev));
    bool forbidden = ev && sc_store_event_by_room(app->store, room, ev) == 0 &&
                     ev->recording_forbidden;
    free(ev);
    return forbidden;
}

typedef struct replaced {
    const char *room, *sub;
    uint64_t keep;
    uint64_t ids[64];
    int n;
} replaced;

static void find_others(void *ud, sc_session_entry *e)
{
    replaced *r = ud;
    if (!e->closing && e->id != r->keep && e->kind == SC_SESSION_SUBSCRIBE &&
        strcmp(e->room, r->room) == 0 && strcmp(e->sub, r->sub) == 0 && r->n < 64)
        r->ids[r->n++] = e->id;
}

/* SESSION_OPENED: for the room of an event with single_session, the same
 * viewer's other viewing sessions there end with reason "replaced" (one
 * device at a time). */
static void on_opened(void *ud, const sc_bus_event *be)
{
    sc_app *app = ud;
    const char *room = be->room, *sub = be->user_id;
    uint64_t id = be->session_id;
    if (be->kind != SC_SESSION_SUBSCRIBE || !room || !sub || !sub[0] || !app->sfu)
        return;
    sc_store_event *ev = calloc(1, sizeof(*ev));
    if (ev && sc_store_event_by_room(app->store, room, ev) == 0 && ev->single_session) {
        replaced r = {.room = room, .sub = sub, .keep = id};
        sc_rooms_foreach_session(app->rooms, find_others, &r);
        for (int i = 0; i < r.n; i++) {
            SC_INFO("events", "event '%s': viewer %s watches elsewhere now, session %016llx ends",
                    ev->slug, sub, (unsigned long long)r.ids[i]);
            sc_session_close_because(app, r.ids[i], "replaced");
        }
    }
    free(ev);
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
        ev->updated_at = sc__ev_now_s();
        if (sc_store_event_update(app->store, ev) == 0)
            SC_INFO("events", "event '%s' is live", ev->slug);
    }
    free(ev);
}

int sc_events_subscribe(sc_app *app)
{
    if (sc_bus_subscribe(app->bus, SC_BUS_SESSION_OPENED, on_opened, app) < 0)
        return -ENOMEM;
    return sc_bus_subscribe(app->bus, SC_BUS_SESSION_CONNECTED, on_connected, app);
}

const sc_http_route sc_events_routes[] = {
    {"/api/v1/events", 0, SC_HTTP_GET | SC_HTTP_POST, "events", events_collection, 0},
    {"/api/v1/events", 1, SC_HTTP_GET | SC_HTTP_PATCH | SC_HTTP_DELETE, "an event", event_item, 0},
    {"/api/v1/events", 2, SC_HTTP_GET | SC_HTTP_POST | SC_HTTP_DELETE,
     "an event's links, whitelist or invites", event_item, 0},
    {"/api/v1/watch", 1, SC_HTTP_GET, "an event's landing", sc__ev_watch_route, 0},
    {"/api/v1/watch", 2, SC_HTTP_POST, "joining an event", sc__ev_watch_route, 0},
    {"/e", 1, SC_HTTP_GET, "the watch page", sc__ev_watch_page, 0},
    {"/e", 2, SC_HTTP_GET, "an event's viewer page", sc__ev_watch_page, 1},
};
const size_t sc_events_n_routes = sizeof(sc_events_routes) / sizeof(sc_events_routes[0]);
