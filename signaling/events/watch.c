/* The watch link: /e/{slug} (the page) and /api/v1/watch/{slug} (landing,
 * join, register, a registration's state, renew): who passes the event's
 * watch condition gets a viewer token the server mints. */
#include "signaling/events/private.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/proto/bytes.h"
#include "signaling/auth/token.h"
#include "signaling/events/geo.h"
#include "signaling/store/store.h"

#define VIEWER_TTL_S (2 * 3600)

static attempt_slot *attempts_for(sc_app *app, const char *peer)
{
    struct sc_events_state *s = sc__ev_state(app);
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

void sc__ev_refused(sc_app *app, sc_http_reply *rep, int status, const char *code,
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

/* A viewer token for the event's room and what the page needs with it;
 * NULL when it cannot be minted. */
json_t *sc__ev_admission(sc_app *app, const sc_store_event *ev, const char *name,
                         const char *sub)
{
    int64_t now = sc__ev_now_s();
    char *tok = sc_token_issue(app->secret, app->secret_len, ev->room, SC_ROLE_VIEWER,
                               name && *name ? name : "Viewer", sub, VIEWER_TTL_S, now);
    if (!tok)
        return NULL;
    char url[1024];
    snprintf(url, sizeof(url), "/e/%s/view#room=%s&token=%s&event=%s", ev->slug, ev->room, tok,
             ev->slug);
    json_t *o = json_pack("{s:s,s:s,s:I,s:s}", "token", tok, "room", ev->room, "expires_at",
                          (json_int_t)(now + VIEWER_TTL_S), "viewer_url", url);
    free(tok);
    return o;
}

static void admit(sc_app *app, const sc_store_event *ev, const char *name, const char *sub,
                  sc_http_reply *rep)
{
    json_t *o = sc__ev_admission(app, ev, name, sub);
    if (o)
        sc_http_json(rep, 200, o);
    else
        sc_http_error(rep, 500, "internal", "cannot issue a token");
}

bool sc__ev_over_attempts(sc_app *app, const char *peer, sc_http_reply *rep)
{
    attempt_slot *a = attempts_for(app, peer);
    if (a && a->count >= app->cfg->max_wrong_attempts) {
        rep->retry_after = 60;
        sc__ev_refused(app, rep, 429, "too-many-attempts",
                       "too many wrong attempts from this address; try again in a minute");
        return true;
    }
    return false;
}

void sc__ev_wrong_attempt(sc_app *app, const char *peer)
{
    attempt_slot *a = attempts_for(app, peer);
    if (a)
        a->count++;
}

/* Counts a wrong guess (password, whitelist id, invite code) and says
 * whether the address is over its limit. */
static bool too_many(sc_app *app, const sc_http_req *req, sc_http_reply *rep, bool count)
{
    if (sc__ev_over_attempts(app, req->peer, rep))
        return true;
    if (count)
        sc__ev_wrong_attempt(app, req->peer);
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
        if (!pw || strlen(pw) > 4 * PASSWORD_MAX || !sc__ev_password_ok(ev->password_hash, pw)) {
            too_many(app, req, rep, true);
            sc__ev_refused(app, rep, 401, "wrong-password", "the password is not right");
            return -1;
        }
        return 0;
    }
    if (strcmp(ev->watch_type, "whitelist") == 0) {
        json_t *id = json_object_get(body, "id");
        char entry[SC_EVENT_ENTRY_MAX + 1];
        if (!json_is_string(id) ||
            !sc__ev_normalise_entry(json_string_value(id), json_string_length(id), entry, sizeof(entry))) {
            sc__ev_refused(app, rep, 400, "bad-request",
                           "give your e-mail, phone or staff number as id");
            return -1;
        }
        int r = sc_store_whitelist_has(app->store, ev->id, entry);
        if (r < 0) {
            sc_http_error(rep, 500, "internal", "cannot read the whitelist");
            return -1;
        }
        if (r == 0) {
            too_many(app, req, rep, true);
            sc__ev_refused(app, rep, 403, "not-on-whitelist", "this id is not on the event's list");
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
        sc__ev_refused(app, rep, 400, "bad-request", "give the invite code as code");
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
        sc__ev_refused(app, rep, 403, "invalid-code",
                       "this invite code is not valid for the event");
        return -1;
    }
    if (r == -EDQUOT) {
        sc__ev_refused(app, rep, 403, "code-used-up", "this invite code has been used up");
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
    if (sc__ev_nets_match(ev->deny_nets, req->peer) ||
        (ev->allow_nets[0] && !sc__ev_nets_match(ev->allow_nets, req->peer))) {
        sc__ev_refused(app, rep, 403, "network-not-allowed",
                       "this event cannot be watched from your network");
        return false;
    }
    if (ev->allow_regions[0] || ev->deny_regions[0]) {
        /* An address the database does not place passes a deny list and
         * fails an allow list. */
        char cc[3];
        bool known = sc_geo_country(sc__ev_geo(app), req->peer, cc);
        if ((known && sc__ev_region_listed(ev->deny_regions, cc)) ||
            (ev->allow_regions[0] && (!known || !sc__ev_region_listed(ev->allow_regions, cc)))) {
            sc__ev_refused(app, rep, 403, "region-not-allowed",
                           "this event cannot be watched from your region");
            return false;
        }
    }
    return true;
}

/* The registrant's identity for its tokens. */
static void reg_sub(const sc_store_registration *r, char *sub, size_t cap)
{
    snprintf(sub, cap, "reg-%lld", (long long)r->id);
}

json_t *sc__ev_reg_json(const sc_store_registration *r, bool full)
{
    json_t *o = json_pack("{s:I,s:s,s:I}", "id", (json_int_t)r->id, "state", r->state,
                          "created_at", (json_int_t)r->created_at);
    if (full) {
        json_object_set_new(o, "name", json_string(r->name));
        json_t *answers = json_loads(r->answers, 0, NULL);
        json_object_set_new(o, "answers", answers ? answers : json_object());
        json_object_set_new(o, "decided_at", json_integer((json_int_t)r->decided_at));
    }
    return o;
}

/* Answer for a registration: its state, and a token once approved. */
static void reg_answer(sc_app *app, const sc_store_event *ev, const sc_store_registration *r,
                       int status, sc_http_reply *rep)
{
    char sub[SC_PEER_NAME_MAX + 1];
    if (strcmp(r->state, "approved") == 0) {
        reg_sub(r, sub, sizeof(sub));
        json_t *o = sc__ev_admission(app, ev, r->name[0] ? r->name : NULL, sub);
        if (!o) {
            sc_http_error(rep, 500, "internal", "cannot issue a token");
            return;
        }
        /* The admission, with the registration beside it. */
        json_object_set_new(o, "registration", sc__ev_reg_json(r, false));
        json_object_set_new(json_object_get(o, "registration"), "key", json_string(r->key));
        sc_http_json(rep, status, o);
        return;
    }
    if (strcmp(r->state, "rejected") == 0) {
        sc__ev_refused(app, rep, 403, "registration-rejected",
                       "the organiser declined this registration");
        return;
    }
    json_t *o = json_pack("{s:o}", "registration", sc__ev_reg_json(r, false));
    json_object_set_new(json_object_get(o, "registration"), "key", json_string(r->key));
    sc_http_json(rep, 202, o);
}

/* POST /api/v1/watch/{slug}/register {"name", "answers": {...}}. */
static void watch_register(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                           sc_http_reply *rep)
{
    if (strcmp(ev->watch_type, "registration") != 0) {
        sc_http_error(rep, 404, "not-found", "this event takes no registrations");
        return;
    }
    if (strcmp(ev->state, "ended") == 0) {
        sc__ev_refused(app, rep, 403, "event-ended", "this event has ended");
        return;
    }
    if (!network_ok(app, req, ev, rep))
        return;
    json_t *body = sc__ev_body_object(req, rep), *form = sc__ev_form_json(ev->registration), *answers = NULL;
    sc_store_registration *r = calloc(1, sizeof(*r));
    if (!body || !r)
        goto out;
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name || !*name || sc__ev_utf8_len(name) > SC_EVENT_NAME_MAX) {
        sc_http_error(rep, 400, "bad-request", "name is required (1..%d characters)",
                      SC_EVENT_NAME_MAX);
        goto out;
    }
    json_t *given = json_object_get(body, "answers"), *none = json_object();
    sc__ev_err e = {0};
    answers = sc__ev_check_answers(form, given ? given : none, &e);
    json_decref(none);
    if (!answers) {
        sc__ev_field_error(rep, &e); /* before form, which e.field points into, goes */
        goto out;
    }
    json_int_t capacity = json_integer_value(json_object_get(form, "capacity"));
    if (capacity > 0 && sc_store_registrations_active(app->store, ev->id) >= capacity) {
        sc__ev_refused(app, rep, 409, "registration-full", "the event takes no more registrations");
        goto out;
    }
    uint8_t key[16];
    char *text = json_dumps(answers, JSON_COMPACT);
    if (RAND_bytes(key, sizeof(key)) != 1 || !text || strlen(text) >= sizeof(r->answers)) {
        free(text);
        sc_http_error(rep, 500, "internal", "cannot keep the registration");
        goto out;
    }
    sc__ev_hex(key, sizeof(key), r->key);
    snprintf(r->answers, sizeof(r->answers), "%s", text);
    free(text);
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->event_id = ev->id;
    r->created_at = sc__ev_now_s();
    snprintf(r->state, sizeof(r->state), "%s",
             json_is_true(json_object_get(form, "approval")) ? "pending" : "approved");
    if (sc_store_registration_insert(app->store, r) < 0) {
        sc_http_error(rep, 500, "internal", "cannot keep the registration");
        goto out;
    }
    SC_INFO("events", "event '%s': registration %lld (%s)", ev->slug, (long long)r->id, r->state);
    reg_answer(app, ev, r, 201, rep);
out:
    json_decref(answers);
    json_decref(form);
    json_decref(body);
    free(r);
}

/* POST /api/v1/watch/{slug}/registration {"key"}: the state, and the
 * token once approved (the key in the body, never in a URL). */
static void watch_registration(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                               sc_http_reply *rep)
{
    json_t *body = sc__ev_body_object(req, rep);
    sc_store_registration *r = calloc(1, sizeof(*r));
    if (!body || !r)
        goto out;
    const char *key = json_string_value(json_object_get(body, "key"));
    if (too_many(app, req, rep, false))
        goto out;
    if (!key || strlen(key) != 32 || sc_store_registration_by_key(app->store, ev->id, key, r) < 0) {
        too_many(app, req, rep, true);
        sc__ev_refused(app, rep, 404, "no-such-registration", "no registration with this key");
        goto out;
    }
    if (strcmp(ev->state, "ended") == 0) {
        sc__ev_refused(app, rep, 403, "event-ended", "this event has ended");
        goto out;
    }
    if (!network_ok(app, req, ev, rep))
        goto out;
    reg_answer(app, ev, r, 200, rep);
out:
    json_decref(body);
    free(r);
}

static void watch_join(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                       sc_http_reply *rep)
{
    char sub[SC_PEER_NAME_MAX + 1], who[SC_PEER_NAME_MAX + 1];
    if (strcmp(ev->state, "ended") == 0) {
        sc__ev_refused(app, rep, 403, "event-ended", "this event has ended");
        return;
    }
    if (!network_ok(app, req, ev, rep))
        return;
    json_t *body = sc__ev_body_object(req, rep);
    if (!body)
        return;
    int cap = ev->viewer_cap ? ev->viewer_cap : app->cfg->max_viewers;
    if (room_viewers(app, ev->room) >= cap) {
        sc__ev_refused(app, rep, 409, "event-full", "the event is full");
        goto out;
    }
    if (strcmp(ev->watch_type, "registration") == 0) {
        sc__ev_refused(app, rep, 403, "registration-required",
                       "register first (POST .../register), then come back with your key");
        goto out;
    }
    if (strcmp(ev->watch_type, "external") == 0) {
        sc__ev_external_join(app, req, ev, body, rep); /* answered later */
        goto out;
    }
    if (check_condition(app, req, ev, body, sub, who, rep) < 0)
        goto out;
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!name || sc__ev_utf8_len(name) > SC_PEER_NAME_MAX / 2)
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
        sc__ev_refused(app, rep, 403, "event-ended", "this event has ended");
        return;
    }
    if (strcmp(ev->watch_type, "registration") == 0 && strncmp(tok.sub, "reg-", 4) == 0) {
        /* A registration the organiser declined since is not renewed. */
        sc_store_registration r;
        if (sc_store_registration_get(app->store, ev->id, strtoll(tok.sub + 4, NULL, 10), &r) < 0 ||
            strcmp(r.state, "approved") != 0) {
            sc__ev_refused(app, rep, 403, "registration-rejected",
                           "this registration is not approved");
            return;
        }
    }
    admit(app, ev, tok.name, tok.sub, rep);
}

void sc__ev_watch_route(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                        char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    rep->action = "opening an event's watch link";
    sc_store_event *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    if (!sc__ev_slug_ok(args[0]) || sc_store_event_by_slug(app->store, args[0], ev) < 0) {
        sc__ev_refused(app, rep, 404, "no-such-event", "no such event");
        goto out;
    }
    if (route->nargs == 1) {
        if (req->method == SC_HTTP_POST)
            sc_http_error(rep, 405, "method-not-allowed", "GET the event, POST .../join");
        else
            sc_http_json(rep, 200, sc__ev_watch_json(ev));
    } else if (strcmp(args[1], "join") == 0 && req->method == SC_HTTP_POST) {
        rep->action = "admitting a viewer to an event";
        watch_join(app, req, ev, rep);
    } else if (strcmp(args[1], "register") == 0 && req->method == SC_HTTP_POST) {
        rep->action = "registering for an event";
        watch_register(app, req, ev, rep);
    } else if (strcmp(args[1], "registration") == 0 && req->method == SC_HTTP_POST) {
        rep->action = "reading a registration";
        watch_registration(app, req, ev, rep);
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
/* /e/{slug} (the watch page) and /e/{slug}/view (the viewer page the
 * watch page hands over to): small pages read whole, framable by the
 * event's embed_origins besides this server (other pages: only by it). */
void sc__ev_watch_page(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    (void)req;
    char path[SC_PATH_MAX + 32], *html = NULL;
    struct stat st;
    sc_store_event *ev = calloc(1, sizeof(*ev));
    rep->action = "serving the watch page";
    if (route->data && strcmp(args[1], "view") != 0) {
        sc_http_error(rep, 404, "not-found", "no such page");
        free(ev);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", app->cfg->ui_dir,
             route->data ? "viewer.html" : "watch.html");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= (1 << 20) &&
        (html = malloc((size_t)st.st_size)) &&
        read(fd, html, (size_t)st.st_size) == (ssize_t)st.st_size)
        sc_http_body(rep, 200, "text/html; charset=utf-8", html, (size_t)st.st_size);
    else
        sc_http_error(rep, 404, "not-found", "the page is missing from the pages");
    free(html);
    if (fd >= 0)
        close(fd);
    bool known = ev && sc__ev_slug_ok(args[0]) &&
                 sc_store_event_by_slug(app->store, args[0], ev) == 0;
    size_t cap = sizeof(ev->embed_origins) + 32;
    if ((rep->csp = malloc(cap)))
        snprintf(rep->csp, cap, "frame-ancestors 'self'%s%s",
                 known && ev->embed_origins[0] ? " " : "", known ? ev->embed_origins : "");
    free(ev);
}
