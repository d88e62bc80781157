/* Internal to signaling/events/: what the event files share.  events.c
 * keeps the event object and the organiser API, rules.c what the watch
 * conditions check (networks, forms, passwords, whitelist entries),
 * watch.c the watch link, lists.c the organiser's lists (whitelist, invite
 * codes, registrations), external.c the external check (the organiser's
 * own system admits the viewer). */
#ifndef SC_EVENTS_PRIVATE_H
#define SC_EVENTS_PRIVATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/app/app.h"
#include "signaling/http/http.h"
#include "signaling/store/events.h"

#define PASSWORD_MIN 4
#define PASSWORD_MAX 128
#define ATTEMPT_WINDOW_MS 60000
#define ATTEMPT_SLOTS 512

/* Wrong guesses (passwords, whitelist ids, invite codes, registration
 * keys) per address, in a small hash table: a collision shares a slot's
 * count with another address, which only ever makes the limit stricter
 * for both. */
typedef struct attempt_slot {
    char peer[64];
    int64_t window_ms;
    int count;
} attempt_slot;

struct sc__ev_check; /* external.c: one external check waiting for its answer */

struct sc_events_state {
    attempt_slot attempts[ATTEMPT_SLOTS];
    bool geo_tried;                  /* the country database was loaded, or tried */
    struct sc__ev_check *checks;     /* external checks in flight */
};

/* A refused field: its name (NULL: the body as a whole) and why. */
typedef struct sc__ev_err {
    const char *field;
    char why[256];
} sc__ev_err;

/* events.c */
struct sc_events_state *sc__ev_state(sc_app *app);
int64_t sc__ev_now_s(void);
/* The country database: loaded at start with --geoip, else from Debian's
 * files the first time a region rule needs it (NULL: none). */
const struct sc_geo *sc__ev_geo(sc_app *app);
void sc__ev_hex(const uint8_t *b, size_t n, char *out);
/* Characters (not bytes) of a UTF-8 string. */
long sc__ev_utf8_len(const char *s);
/* Sets e and returns false. */
bool sc__ev_bad(sc__ev_err *e, const char *field, const char *why);
/* 400 bad-request naming e's field in the message and as error.field. */
void sc__ev_field_error(sc_http_reply *rep, const sc__ev_err *e);
/* The request's JSON object body ({} when empty); NULL with rep filled. */
json_t *sc__ev_body_object(const sc_http_req *req, sc_http_reply *rep);
bool sc__ev_slug_ok(const char *s);
json_t *sc__ev_event_json(const sc_store_event *ev);
/* The public view of an event: no room, hash or internal settings. */
json_t *sc__ev_watch_json(const sc_store_event *ev);

/* rules.c */
bool sc__ev_watch_type_ok(const char *t);
/* A JSON array of CIDRs into "a\nb" (absent: kept; [] clears). */
bool sc__ev_take_nets(json_t *v, char *dst, size_t cap, sc__ev_err *e);
json_t *sc__ev_nets_json(const char *nets);
/* Whether peer is in one of the CIDR lines of nets. */
bool sc__ev_nets_match(const char *nets, const char *peer);
/* A form field's name: [a-z0-9_], 1..32 (a registration question's, an
 * external check's field's). */
bool sc__ev_field_name_ok(const char *s);
/* A registration form as given into its stored JSON (null: none). */
bool sc__ev_take_form(json_t *v, char *dst, size_t cap, sc__ev_err *e);
/* The stored form (json null when none); the caller owns it. */
json_t *sc__ev_form_json(const char *stored);
/* Answers checked against a form: the canonical answers, or NULL with the
 * field (a pointer into form: use it while form lives) and why in e. */
json_t *sc__ev_check_answers(json_t *form, json_t *answers, sc__ev_err *e);
/* A whitelist entry as it is compared; false when nothing usable is left. */
bool sc__ev_normalise_entry(const char *in, size_t len, char *out, size_t cap);
/* Country codes "DE,FR" from a JSON list (absent: kept). */
bool sc__ev_take_regions(json_t *v, char *dst, size_t cap, sc__ev_err *e);
json_t *sc__ev_regions_json(const char *list);
bool sc__ev_region_listed(const char *list, const char *cc);
/* The branding beyond colour and landing text (logo_url, cover_url,
 * background_url, page_title, end_text, end_link, marquee) merged into
 * the stored JSON dst; "" removes a key. */
bool sc__ev_take_branding(json_t *v, char *dst, size_t cap, sc__ev_err *e);
/* Origins that may frame the watch link, "a b" from a JSON list. */
bool sc__ev_take_origins(json_t *v, char *dst, size_t cap, sc__ev_err *e);
int sc__ev_hash_password(const char *pw, char *out, size_t cap);
bool sc__ev_password_ok(const char *stored, const char *pw);

/* watch.c */
/* A refusal of a viewer: counted (events_refused), rep filled. */
void sc__ev_refused(sc_app *app, sc_http_reply *rep, int status, const char *code,
                    const char *msg);
/* Whether peer is over --max-wrong-attempts this minute (rep: 429). */
bool sc__ev_over_attempts(sc_app *app, const char *peer, sc_http_reply *rep);
/* Counts a wrong guess from peer. */
void sc__ev_wrong_attempt(sc_app *app, const char *peer);
/* A viewer token for the event's room and what the page needs with it
 * (token, room, expires_at, viewer_url); NULL when it cannot be minted. */
json_t *sc__ev_admission(sc_app *app, const sc_store_event *ev, const char *name,
                         const char *sub);
void sc__ev_watch_route(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                        char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep);
void sc__ev_watch_page(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep);
json_t *sc__ev_reg_json(const sc_store_registration *r, bool full);

/* external.c */
/* The "external" object of the organiser API merged into the stored JSON
 * dst (null clears it): url, secret, timeout_ms, fields.  e->field names
 * the key ("external.url"). */
bool sc__ev_take_external(json_t *v, char *dst, size_t cap, sc__ev_err *e);
/* Whether the stored settings can run a check (a URL and a secret). */
bool sc__ev_external_ready(const char *stored);
/* The settings as the organiser sees them (the secret only as secret_set),
 * or as the watch page does (public: the fields only); json null when
 * none.  The caller owns it. */
json_t *sc__ev_external_json(const char *stored, bool public);
/* POST .../join of an external event: the viewer's fields go to the
 * organiser's system and its answer is the reply, later (sc_http_defer);
 * a refusal before that (a missing field, too many attempts, busy) is in
 * rep at once. */
void sc__ev_external_join(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                          json_t *body, sc_http_reply *rep);
/* Forgets the checks in flight (their answers no longer come). */
void sc__ev_external_free(struct sc_events_state *st);

/* lists.c: /api/v1/events/{id}/whitelist, invites and registrations */
void sc__ev_whitelist_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                            sc_http_reply *rep);
void sc__ev_invites_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                          sc_http_reply *rep);
void sc__ev_registrations_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                                sc_http_reply *rep);

#endif
