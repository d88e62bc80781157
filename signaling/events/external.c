/* The external check: an event whose viewers the organiser's own system
 * admits (its SSO, its CRM).  At the join, the fields the viewer filled in
 * go to the organiser's URL as a JSON POST signed with the event's shared
 * secret (http/fetch.h: off the signalling thread); its answer admits the
 * viewer with the name and id it gives, or refuses with its message.  The
 * join request waits for it (sc_http_defer).  docs/protocol.md, "Events",
 * "External check". */
#include "signaling/events/private.h"

#include <errno.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/http/fetch.h"
#include "signaling/http/metrics.h"
#include "signaling/store/store.h"

#define TIMEOUT_DEFAULT_MS 3000
#define TIMEOUT_MIN_MS 100
#define TIMEOUT_MAX_MS 10000
#define SECRET_MIN 16             /* bytes of the shared secret */
#define SECRET_MAX 256
#define FIELDS_MAX 5
#define VALUE_MAX 2048            /* bytes of one field the viewer fills in */
#define ANSWER_MAX 16384          /* bytes of the answer's body */
#define MESSAGE_MAX 200           /* characters of a refusal's message */
#define NAME_MAX_CHARS (SC_PEER_NAME_MAX / 2)
#define USER_ID_MAX 60            /* bytes kept as they are after "ext-" */
#define LOG_WINDOW_MS 10000       /* failed checks logged per window: */
#define LOG_LINES 20

/* One check waiting for its answer. */
struct sc__ev_check {
    struct sc__ev_check *prev, *next;
    uint64_t later;                    /* the join request's deferred reply */
    int64_t event_id;
    char slug[SC_EVENT_SLUG_MAX + 1];
    char peer[64];
    char name[SC_PEER_NAME_MAX + 1];   /* what the viewer typed, "" none */
};

typedef struct sc__ev_check check;

/* ---- settings --------------------------------------------------------------------- */

/* "name" is the viewer's own, beside the fields in the join's body. */
static bool field_name_ok(const char *s)
{
    return sc__ev_field_name_ok(s) && strcmp(s, "name") != 0;
}

/* No control characters (and no NUL) in the string v. */
static bool printable(json_t *v)
{
    const char *s = json_string_value(v);
    for (size_t i = 0; i < json_string_length(v); i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* The fields the viewer is asked for: [{"name", "label", "type"}...]. */
static json_t *take_fields(json_t *v, sc__ev_err *e)
{
    json_t *out = json_array(), *f;
    size_t i;
    if (!json_is_array(v) || json_array_size(v) > FIELDS_MAX) {
        sc__ev_bad(e, "external.fields", "must be a list of at most 5 fields");
        goto fail;
    }
    json_array_foreach(v, i, f) {
        json_t *name = json_object_get(f, "name"), *label = json_object_get(f, "label"),
               *type = json_object_get(f, "type");
        const char *t = type ? json_string_value(type) : "text";
        bool ok = json_is_object(f) &&
                  json_object_size(f) == 2u + (type != NULL) && /* nothing else */
                  json_is_string(name) && field_name_ok(json_string_value(name)) &&
                  json_is_string(label) && json_string_length(label) > 0 && printable(label) &&
                  sc__ev_utf8_len(json_string_value(label)) <= 100 && t &&
                  (strcmp(t, "text") == 0 || strcmp(t, "email") == 0 || strcmp(t, "secret") == 0);
        for (size_t k = 0; ok && k < i; k++)
            ok = strcmp(json_string_value(json_object_get(json_array_get(out, k), "name")),
                        json_string_value(name)) != 0;
        if (!ok) {
            e->field = "external.fields";
            snprintf(e->why, sizeof(e->why),
                     "field %zu: needs a unique name ([a-z0-9_], 1..32, not \"name\"), a label "
                     "(1..100 characters) and a type (text, email or secret)",
                     i + 1);
            goto fail;
        }
        json_array_append_new(out, json_pack("{s:O,s:O,s:s}", "name", name, "label", label,
                                             "type", t));
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

bool sc__ev_take_external(json_t *v, char *dst, size_t cap, sc__ev_err *e)
{
    static const char *const keys[] = {"url", "secret", "timeout_ms", "fields"};
    json_t *stored = NULL, *x;
    const char *key;
    sc_fetch_url url;

    if (json_is_null(v)) {
        dst[0] = '\0';
        return true;
    }
    if (!json_is_object(v))
        return sc__ev_bad(e, "external", "must be {\"url\", \"secret\", \"timeout_ms\", "
                                         "\"fields\"} or null");
    json_object_foreach(v, key, x) {
        bool known = false;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            known |= strcmp(key, keys[i]) == 0;
        if (!known) {
            e->field = "external";
            snprintf(e->why, sizeof(e->why), "has no '%.40s'", key);
            return false;
        }
    }
    stored = dst[0] ? json_loads(dst, 0, NULL) : NULL;
    if (!json_is_object(stored)) {
        json_decref(stored);
        stored = json_pack("{s:i,s:[]}", "timeout_ms", TIMEOUT_DEFAULT_MS, "fields");
    }
    if ((x = json_object_get(v, "url"))) {
        if (!json_is_string(x) || !printable(x) ||
            sc_fetch_url_parse(json_string_value(x), &url) < 0) {
            sc__ev_bad(e, "external.url", "must be an http:// or https:// URL with a host (up to "
                                          "1,024 characters; no user, password or fragment)");
            goto fail;
        }
        json_object_set(stored, "url", x);
    }
    if ((x = json_object_get(v, "secret"))) {
        if (!json_is_string(x) || json_string_length(x) < SECRET_MIN ||
            json_string_length(x) > SECRET_MAX || !printable(x)) {
            sc__ev_bad(e, "external.secret", "must be 16..256 bytes of text");
            goto fail;
        }
        json_object_set(stored, "secret", x);
    }
    if ((x = json_object_get(v, "timeout_ms"))) {
        if (!json_is_integer(x) || json_integer_value(x) < TIMEOUT_MIN_MS ||
            json_integer_value(x) > TIMEOUT_MAX_MS) {
            sc__ev_bad(e, "external.timeout_ms", "must be 100..10000 milliseconds");
            goto fail;
        }
        json_object_set(stored, "timeout_ms", x);
    }
    if ((x = json_object_get(v, "fields"))) {
        json_t *fields = take_fields(x, e);
        if (!fields)
            goto fail;
        json_object_set_new(stored, "fields", fields);
    }
    size_t n = json_dumpb(stored, dst, cap - 1, JSON_COMPACT);
    json_decref(stored);
    if (n == 0 || n >= cap)
        return sc__ev_bad(e, "external", "is too large"); /* dst is dropped with the event */
    dst[n] = '\0';
    return true;
fail:
    json_decref(stored);
    return false;
}

bool sc__ev_external_ready(const char *stored)
{
    json_t *o = stored[0] ? json_loads(stored, 0, NULL) : NULL;
    bool ready = json_is_string(json_object_get(o, "url")) &&
                 json_is_string(json_object_get(o, "secret"));
    json_decref(o);
    return ready;
}

json_t *sc__ev_external_json(const char *stored, bool public)
{
    json_t *o = stored[0] ? json_loads(stored, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return json_null();
    }
    if (public) {
        json_t *p = json_pack("{s:O}", "fields", json_object_get(o, "fields"));
        json_decref(o);
        return p;
    }
    json_object_set_new(o, "secret_set", json_boolean(json_object_get(o, "secret") != NULL));
    json_object_del(o, "secret"); /* write-only */
    return o;
}

/* ---- the check ---------------------------------------------------------------------- */

/* Text from the organiser's system for a page: control characters
 * dropped, spaces around it trimmed, at most max characters and cap - 1
 * bytes (cut at a character). */
static void clean_text(const char *s, size_t len, long max, char *out, size_t cap)
{
    size_t n = 0;
    long chars = 0;
    for (size_t i = 0; i < len && chars < max; ) {
        unsigned char c = (unsigned char)s[i];
        size_t w = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (w > len - i)
            break;
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xc0)) {
            i++;
            continue;
        }
        if (c == ' ' && n == 0) {
            i++;
            continue;
        }
        if (n + w >= cap)
            break;
        memcpy(out + n, s + i, w);
        n += w;
        i += w;
        chars++;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

/* The token's sub for the organiser's user id: "ext-" and the id when it
 * is short and plain, else "ext-" and a hash of it. */
static void sub_of(json_t *user_id, char *sub, size_t cap)
{
    const char *u = json_string_value(user_id);
    size_t n = json_string_length(user_id);
    bool plain = n >= 1 && n <= USER_ID_MAX;
    for (size_t i = 0; plain && i < n; i++)
        plain = (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
                (u[i] >= '0' && u[i] <= '9') || strchr("._@+-", u[i]);
    if (plain) {
        snprintf(sub, cap, "ext-%s", u);
        return;
    }
    uint8_t md[SHA256_DIGEST_LENGTH];
    char hex[33];
    SHA256((const uint8_t *)u, n, md);
    sc__ev_hex(md, 16, hex);
    snprintf(sub, cap, "ext-h%s", hex);
}

/* A failed check in the log: at most LOG_LINES a window, the rest counted. */
static void log_failure(sc_app *app, const check *x, const sc_fetch_result *res)
{
    static sc_log_window w;
    unsigned dropped;
    if (sc_log_window_roll(&w, (int64_t)sc_mono_ms(), LOG_WINDOW_MS, &dropped))
        SC_WARN("events", "%u more failed external checks not logged in the last %d s",
                dropped, LOG_WINDOW_MS / 1000);
    if (w.lines >= LOG_LINES) {
        w.suppressed++;
        app->stats.log_suppressed++;
        return;
    }
    w.lines++;
    if (res->err)
        SC_WARN("events", "event '%s': external check for %s failed after %lld ms: %s", x->slug,
                x->peer, (long long)(res->elapsed_us / 1000), res->why ? res->why : "?");
    else
        SC_WARN("events", "event '%s': external check for %s: unusable answer (HTTP %d, %zu "
                          "bytes) after %lld ms",
                x->slug, x->peer, res->status, res->body_len, (long long)(res->elapsed_us / 1000));
}

/* "timeout", "unreachable", "tls", "status", "answer", "too-large": what
 * went wrong, for error.reason. */
static const char *failure_reason(const sc_fetch_result *res)
{
    switch (res->err) {
    case 0: return res->status == 200 ? "answer" : "status";
    case -ETIMEDOUT: return "timeout";
    case -EIO: return "tls";
    case -EFBIG: return "too-large";
    case -EPROTO: return "answer";
    default: return "unreachable";
    }
}

static void unavailable(sc_app *app, const check *x, const sc_fetch_result *res,
                        sc_http_reply *rep)
{
    app->stats.external_checks_failed++;
    app->stats.events_refused++;
    log_failure(app, x, res);
    sc_http_json(rep, res->err == -ETIMEDOUT ? 504 : 502,
                 json_pack("{s:{s:s,s:s,s:s}}", "error", "code", "external-unavailable",
                           "message",
                           "the organiser's system did not answer; try again in a moment",
                           "reason", failure_reason(res)));
    rep->action = "checking with the organiser's system: no usable answer";
}

/* The answer of the organiser's system into the join's reply. */
static void decide(sc_app *app, const check *x, const sc_fetch_result *res, sc_http_reply *rep)
{
    json_t *a = NULL, *allow;
    sc_store_event *ev = NULL;

    if (res->err == -ECANCELED) {
        sc_http_error(rep, 503, "stopping", "the server is stopping");
        return;
    }
    sc_metrics_observe_external(app, (uint64_t)(res->elapsed_us > 0 ? res->elapsed_us : 0));
    if (res->err == 0 && res->status == 200)
        a = json_loadb(res->body, res->body_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                       NULL); /* a NUL in a text is dropped with the other controls */
    allow = json_object_get(a, "allow");
    if (!json_is_boolean(allow)) {
        unavailable(app, x, res, rep);
        goto out;
    }
    if (json_is_false(allow)) {
        json_t *m = json_object_get(a, "message");
        char msg[MESSAGE_MAX * 4 + 1] = "";
        if (json_is_string(m))
            clean_text(json_string_value(m), json_string_length(m), MESSAGE_MAX, msg, sizeof(msg));
        app->stats.external_checks_denied++;
        sc__ev_wrong_attempt(app, x->peer);
        sc__ev_refused(app, rep, 403, "external-denied",
                       msg[0] ? msg : "the organiser's system did not admit you");
        rep->action = "checking with the organiser's system: refused";
        goto out;
    }
    app->stats.external_checks_allowed++;
    rep->action = "checking with the organiser's system: admitted";
    /* The event as it is now: it may have ended or gone meanwhile. */
    ev = calloc(1, sizeof(*ev));
    if (!ev || sc_store_event_get(app->store, x->event_id, ev) < 0) {
        sc__ev_refused(app, rep, 404, "no-such-event", "no such event");
        goto out;
    }
    if (strcmp(ev->state, "ended") == 0) {
        sc__ev_refused(app, rep, 403, "event-ended", "this event has ended");
        goto out;
    }
    json_t *n = json_object_get(a, "name"), *uid = json_object_get(a, "user_id");
    char name[SC_PEER_NAME_MAX + 1] = "", sub[SC_PEER_NAME_MAX + 1];
    if (json_is_string(n))
        clean_text(json_string_value(n), json_string_length(n), NAME_MAX_CHARS, name,
                   sizeof(name));
    if (!name[0])
        snprintf(name, sizeof(name), "%s", x->name);
    if (json_is_string(uid) && json_string_length(uid) > 0)
        sub_of(uid, sub, sizeof(sub));
    json_t *o = sc__ev_admission(app, ev, name[0] ? name : NULL,
                                 json_is_string(uid) && json_string_length(uid) ? sub : NULL);
    if (o)
        sc_http_json(rep, 200, o);
    else
        sc_http_error(rep, 500, "internal", "cannot issue a token");
out:
    free(ev);
    json_decref(a);
}

static void unlink_check(sc_app *app, check *x)
{
    struct sc_events_state *st = app->events;
    if (x->prev)
        x->prev->next = x->next;
    else if (st)
        st->checks = x->next;
    if (x->next)
        x->next->prev = x->prev;
}

static void on_answer(sc_app *app, void *ud, const sc_fetch_result *res)
{
    check *x = ud;
    sc_http_reply rep = {0};

    unlink_check(app, x);
    decide(app, x, res, &rep);
    if (sc_http_answer(app, x->later, &rep) < 0)
        SC_DEBUG("events", "event '%s': %s left before the external check answered", x->slug,
                 x->peer);
    free(x);
}

/* The signature: hex HMAC-SHA256 over "<timestamp>.<body>". */
static bool sign(const char *secret, const char *ts, const char *body, size_t len,
                 char hex[2 * SHA256_DIGEST_LENGTH + 1])
{
    uint8_t mac[SHA256_DIGEST_LENGTH];
    unsigned mac_len = 0;
    size_t tl = strlen(ts);
    char *msg = malloc(tl + 1 + len);
    if (!msg)
        return false;
    memcpy(msg, ts, tl);
    msg[tl] = '.';
    memcpy(msg + tl + 1, body, len);
    bool ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)msg, tl + 1 + len,
                   mac, &mac_len) != NULL &&
              mac_len == sizeof(mac);
    free(msg);
    if (ok)
        sc__ev_hex(mac, sizeof(mac), hex);
    return ok;
}

/* The viewer's fields as the organiser's system gets them; NULL with rep
 * filled when one is missing or unusable. */
static json_t *viewer_fields(sc_app *app, json_t *cfg, json_t *body, sc_http_reply *rep)
{
    json_t *out = json_object(), *f;
    size_t i;
    json_array_foreach(json_object_get(cfg, "fields"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *v = json_object_get(body, name);
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            json_string_length(v) > VALUE_MAX || !printable(v)) {
            sc__ev_err e = {.field = name};
            bool given = json_is_string(v) && json_string_length(v) > 0;
            snprintf(e.why, sizeof(e.why), "%s",
                     given ? "must be text of at most 2048 bytes" : "is required");
            app->stats.events_refused++;
            sc__ev_field_error(rep, &e); /* while cfg, which name points into, lives */
            json_decref(out);
            return NULL;
        }
        json_object_set(out, name, v);
    }
    return out;
}

/* Checks of one address in flight now. */
static int checks_of(const struct sc_events_state *st, const char *peer)
{
    int n = 0;
    for (const check *x = st->checks; x; x = x->next)
        n += strcmp(x->peer, peer) == 0;
    return n;
}

static void busy(sc_app *app, sc_http_reply *rep)
{
    app->stats.external_checks_busy++;
    sc__ev_refused(app, rep, 503, "external-busy",
                   "many viewers are being checked right now; try again in a few seconds");
    rep->retry_after = 1;
}

void sc__ev_external_join(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                          json_t *body, sc_http_reply *rep)
{
    struct sc_events_state *st = sc__ev_state(app);
    json_t *cfg = json_loads(ev->external, 0, NULL), *fields = NULL, *payload = NULL;
    const char *url = json_string_value(json_object_get(cfg, "url"));
    const char *secret = json_string_value(json_object_get(cfg, "secret"));
    const char *given = json_string_value(json_object_get(body, "name"));
    char *text = NULL, ts[24], sig[2 * SHA256_DIGEST_LENGTH + 1], nonce[33], headers[256];
    uint8_t rnd[16];
    check *x = NULL;
    int per_address = app->cfg->max_external_checks / 4, rc;

    rep->action = "checking with the organiser's system";
    if (!st || !url || !secret) {
        sc_http_error(rep, 500, "internal", "the event's external check is not set up");
        goto out;
    }
    if (sc__ev_over_attempts(app, req->peer, rep))
        goto out;
    if (!(fields = viewer_fields(app, cfg, body, rep)))
        goto out;
    if (checks_of(st, req->peer) >= (per_address > 0 ? per_address : 1)) {
        busy(app, rep);
        goto out;
    }
    if (!(x = calloc(1, sizeof(*x))) || RAND_bytes(rnd, sizeof(rnd)) != 1) {
        sc_http_error(rep, 500, "internal", "out of memory");
        goto out;
    }
    sc__ev_hex(rnd, sizeof(rnd), nonce);
    int64_t now = sc__ev_now_s();
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    payload = json_pack("{s:{s:I,s:s,s:s},s:O,s:s,s:I,s:s}", "event", "id", (json_int_t)ev->id,
                        "slug", ev->slug, "title", ev->title, "fields", fields, "address",
                        req->peer, "timestamp", (json_int_t)now, "nonce", nonce);
    if (given && given[0] && sc__ev_utf8_len(given) <= NAME_MAX_CHARS) {
        clean_text(given, strlen(given), NAME_MAX_CHARS, x->name, sizeof(x->name));
        if (x->name[0])
            json_object_set_new(payload, "name", json_string(x->name));
    }
    text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    if (!text || !sign(secret, ts, text, strlen(text), sig)) {
        sc_http_error(rep, 500, "internal", "cannot sign the external check");
        goto out;
    }
    snprintf(headers, sizeof(headers),
             "X-Stagecast-Timestamp: %s\r\nX-Stagecast-Signature: sha256=%s\r\n", ts, sig);
    json_int_t timeout = json_integer_value(json_object_get(cfg, "timeout_ms"));
    sc_fetch_req fr = {.url = url,
                       .content_type = "application/json",
                       .body = text,
                       .body_len = strlen(text),
                       .headers = headers,
                       .timeout_ms = timeout >= TIMEOUT_MIN_MS && timeout <= TIMEOUT_MAX_MS
                                         ? (int)timeout
                                         : TIMEOUT_DEFAULT_MS,
                       .max_body = ANSWER_MAX};
    x->event_id = ev->id;
    snprintf(x->slug, sizeof(x->slug), "%s", ev->slug);
    snprintf(x->peer, sizeof(x->peer), "%s", req->peer);
    rc = sc_fetch_start(app, &fr, on_answer, x);
    if (rc == -EBUSY || rc == -EAGAIN) {
        busy(app, rep);
        goto out;
    }
    if (rc < 0) {
        sc_http_error(rep, 500, "internal", "cannot start the external check");
        goto out;
    }
    x->later = sc_http_defer(app, rep);
    x->next = st->checks;
    if (x->next)
        x->next->prev = x;
    st->checks = x;
    x = NULL; /* on_answer's now */
out:
    free(x);
    free(text);
    json_decref(payload);
    json_decref(fields);
    json_decref(cfg);
}

void sc__ev_external_free(struct sc_events_state *st)
{
    while (st && st->checks) {
        check *x = st->checks;
        st->checks = x->next;
        free(x);
    }
}
