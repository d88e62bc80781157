#include "signaling/http/http.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sc_build_config.h"
#include "sfu/sfu.h"
#include "signaling/api/bus.h"
#include "signaling/auth/token.h"
#include "signaling/http/conns.h"
#include "signaling/http/fetch.h"
#include "signaling/http/pages.h"
#include "signaling/http/private.h"
#include "signaling/http/refuse.h"
#include "signaling/http/tls.h"
#include "signaling/http/whip.h"
#include "signaling/http/ws.h"
#include "signaling/interact/interact.h"
#include "signaling/recordings/catalog.h"
#include "signaling/room/rooms.h"

typedef struct conn conn;

/* The front end: the lws context and what it serves. */
struct sc_http {
    conn *waiting;                 /* requests whose reply comes later (sc_http_defer) */
    struct lws_context *ctx;
    int port;
    bool tls;
    void *ssl_ctx;                 /* the HTTPS vhost's SSL_CTX, for reloads */
    char cert[SC_PATH_MAX + 32];   /* what TLS serves (self-signed: DATA/tls/) */
    char key[SC_PATH_MAX + 32];
};

/* Per-connection state.  One lws protocol serves both HTTP and the
 * WebSocket (a browser opening /ws names no subprotocol, so lws picks the
 * first one); ws is set once the connection is upgraded. */
struct conn {
    sc_ws_client *ws;
    sc_http_req req;
    sc_http_reply rep;
    size_t content_length;
    size_t body_cap;
    bool in_request;    /* between LWS_CALLBACK_HTTP and the reply */
    bool buffer_body;   /* keep the body (else it is read and dropped) */
    bool deferred;      /* reply decided, sent once the body has been read */
    bool reply_ready;
    bool close_after;   /* the body was refused unread: close after replying */
    int framing;        /* a body framing error found in the headers (HTTP
                           status), or 0 */
    const sc_http_route *route;
    char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX];
    bool page;          /* the reply is the page at req.path (pages.h) */
    bool file_counted;  /* a page or recording being sent holds a descriptor of
                           the connection budget (conns.h) */
    /* A recording being streamed (catalog.c opened it): headers first,
     * then MEDIA_CHUNK bytes per writeable callback. */
    bool media_open;
    bool media_headers_sent;
    int media_fd;
    int media_status;
    uint64_t media_off, media_left, media_total;
    /* A reply that comes later (sc_http_defer): its id, the connection,
     * and its place in the front end's list of waiting requests. */
    uint64_t later;
    struct lws *wsi;
    conn *later_prev, *later_next;
};

/* A deferred answer waits at most this long; lws then closes the
 * connection (the answer's id is forgotten with it). */
#define LATER_TIMEOUT_S 60

#define MEDIA_CHUNK 32768

/* ---- replies ------------------------------------------------------------ */

void sc_http_reply_reset(sc_http_reply *rep)
{
    free(rep->body);
    free(rep->link);
    free(rep->csp);
    memset(rep, 0, sizeof(*rep));
}

int sc_http_body(sc_http_reply *rep, int status, const char *ctype, const char *body,
                 size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, body, len);
    copy[len] = '\0';
    free(rep->body);
    rep->body = copy;
    rep->body_len = len;
    rep->status = status;
    snprintf(rep->content_type, sizeof(rep->content_type), "%s", ctype);
    return 0;
}

void sc_http_json(sc_http_reply *rep, int status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!s || sc_http_body(rep, status, "application/json", s, strlen(s)) < 0) {
        static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
        free(rep->body);
        rep->body = NULL;
        rep->body_len = 0;
        if (sc_http_body(rep, 500, "application/json", oom, sizeof(oom) - 1) < 0)
            rep->status = 500;
    }
    free(s);
}

void sc_http_error(sc_http_reply *rep, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sc_http_json(rep, status,
                 json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

int sc_http_auth(sc_app *app, const sc_http_req *req, const char *room, uint32_t perm,
                 sc_token *tok, sc_http_reply *rep)
{
    const char *code = NULL, *why = NULL;
    int r;

    if (!req->token) {
        if (req->auth_malformed)
            sc_http_error(rep, 401, "token-invalid",
                          "the Authorization header must be 'Bearer <token>'");
        else
            sc_http_error(rep, 401, "token-missing", "this request needs a bearer token");
        return 401;
    }
    memset(tok, 0, sizeof(*tok));
    r = sc_token_check(app->secret, app->secret_len, req->token, room, perm, (int64_t)time(NULL),
                       tok, &code, &why);
    if (r == 0) {
        if (room && strlen(room) < sizeof(rep->room))
            snprintf(rep->room, sizeof(rep->room), "%s", room);
        return 0;
    }
    if (r != 403)
        r = 401;
    sc_http_error(rep, r, code ? code : (r == 403 ? "forbidden" : "token-invalid"), "%s",
                  why ? why : (r == 403 ? "not allowed" : "invalid token"));
    return r;
}

int sc_http_admin_auth(sc_app *app, const sc_http_req *req, const char *what,
                       sc_http_reply *rep)
{
    sc_token tok;
    int r = sc_http_auth(app, req, "*", SC_PERM_ADMIN, &tok, rep);
    if (r == 403) /* a room token is valid, just not for this */
        sc_http_error(rep, 403, "forbidden", "%s need an admin token", what);
    return r;
}

/* ---- API handlers --------------------------------------------------------- */

static void api_health(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_sfu_worker_load wl[64];
    int n = app->sfu ? sc_sfu_worker_loads(app->sfu, wl, 64) : 0, over = 0;
    for (int i = 0; i < n && i < 64; i++)
        over += wl[i].overloaded;
    rep->action = "answering a health check";
    /* "overloaded": every media worker is; a load balancer in front of
     * several servers should send new viewers elsewhere (this one refuses
     * them with 503 "overloaded" unless --no-admission-control). */
    sc_http_json(rep, 200,
                 json_pack("{s:s,s:s,s:b,s:i,s:b}", "status", "ok", "version", SC_VERSION,
                           "media", app->sfu != NULL, "workers_overloaded", over, "overloaded",
                           n > 0 && over == n));
}

static json_t *publisher_json(uint64_t session, int slot, const char *name, const char *user)
{
    char hex[17];
    sc_session_id_format(session, hex);
    return json_pack("{s:s,s:i,s:s,s:s}", "session", hex, "slot", slot, "name", name,
                     "user_id", user);
}

static void api_room(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_sfu_publisher_info pubs[64];
    const char *room = args[0];
    int n = 0, viewers = 0;
    json_t *arr;
    sc_token tok;

    rep->action = "describing a room";
    if (!sc_rooms_name_ok(room)) {
        sc_http_error(rep, 400, "bad-room", "room names are 1..64 of [A-Za-z0-9_-]");
        return;
    }
    if (sc_http_auth(app, req, room, 0, &tok, rep))
        return;
    if (!app->sfu || sc_sfu_room_info(app->sfu, room, pubs, 64, &n, &viewers) < 0) {
        n = 0;
        viewers = 0;
    }
    arr = json_array();
    for (int i = 0; i < n && i < 64; i++)
        json_array_append_new(arr, publisher_json(pubs[i].session_id, pubs[i].slot,
                                                  pubs[i].name, pubs[i].user_id));
    sc_http_json(rep, 200,
                 json_pack("{s:s,s:i,s:o}", "room", room, "viewers", viewers, "publishers", arr));
}

static void api_stats(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_sfu_stats st;
    json_t *o, *errs;

    rep->action = "reading stats";
    if (sc_http_admin_auth(app, req, "stats", rep))
        return;
    memset(&st, 0, sizeof(st));
    if (app->sfu)
        sc_sfu_get_stats(app->sfu, &st);
    o = json_object();
#define STAT(f, what) json_object_set_new(o, #f, json_integer((json_int_t)st.f));
    SC_SFU_GAUGES(STAT)
    SC_SFU_COUNTERS(STAT)
    SC_WORKER_COUNTERS(STAT)
#undef STAT
    if (app->sfu) {
        sc_sfu_worker_load wl[64];
        int nw = sc_sfu_worker_loads(app->sfu, wl, 64);
        json_t *arr = json_array();
        for (int i = 0; i < nw && i < 64; i++)
            json_array_append_new(
                arr, json_pack("{s:i,s:i,s:i,s:i,s:b,s:I,s:I}", "index", wl[i].index, "cpu",
                               wl[i].cpu, "sessions", wl[i].sessions, "load_pct", wl[i].load_pct,
                               "overloaded", wl[i].overloaded, "socket_drops_media",
                               (json_int_t)wl[i].socket_drops_media, "socket_drops_control",
                               (json_int_t)wl[i].socket_drops_control));
        json_object_set_new(o, "workers", arr);
    }
    errs = json_object();
    for (int i = 0; i < SC_HTTP_STATUS_SLOTS; i++) {
        char k[8];
        if (!app->stats.http_errors[i])
            continue;
        snprintf(k, sizeof(k), "%d", i + SC_HTTP_STATUS_MIN);
        json_object_set_new(errs, k, json_integer((json_int_t)app->stats.http_errors[i]));
    }
#define SIG(f) json_object_set_new(o, #f, json_integer((json_int_t)app->stats.f))
    SIG(http_requests);
    json_object_set_new(o, "http_errors", errs);
    SIG(ws_clients);
    SIG(ws_connections);
    SIG(ws_messages);
    SIG(ws_errors);
    SIG(ws_dropped_slow);
    SIG(ws_join_timeouts);
    SIG(ws_refused_unjoined);
    SIG(log_suppressed);
    SIG(ws_refused_sessions);
    SIG(sessions_refused_user);
    SIG(sessions_refused_ip);
    SIG(http_headers_too_large);
    SIG(http_connections);
    SIG(http_files_open);
    SIG(http_connections_max);
    SIG(http_connections_refused);
    SIG(http_connections_reserve);
    SIG(http_connections_per_ip_max);
    SIG(http_connections_refused_per_ip);
    SIG(sfu_events);
    SIG(events_refused);
    SIG(external_checks_allowed);
    SIG(external_checks_denied);
    SIG(external_checks_failed);
    SIG(external_checks_busy);
#undef SIG
    json_object_set_new(o, "external_checks_in_flight", json_integer(sc_fetch_in_flight(app)));
    json_object_set_new(o, "signalling_sessions",
                        json_integer((json_int_t)sc_rooms_session_count(app->rooms)));
    json_object_set_new(o, "recordings", sc_catalog_stats_json(app));
    {
        json_t *ev = json_object();
        for (int t = 0; t < SC_BUS_N_TOPICS; t++)
            json_object_set_new(ev, sc_bus_topic_name((sc_bus_topic)t),
                                json_integer((json_int_t)sc_bus_count(app->bus, (sc_bus_topic)t)));
        json_object_set_new(o, "events", ev);
    }
    sc_http_json(rep, 200, o);
}

const sc_http_route sc_http_core_routes[] = {
    {"/api/health", 0, SC_HTTP_GET, "health", api_health, 0},
    {"/api/stats", 0, SC_HTTP_GET, "stats", api_stats, 0},
    {"/api/rooms", 1, SC_HTTP_GET, "room info", api_room, 0},
};
const size_t sc_http_n_core_routes = sizeof(sc_http_core_routes) / sizeof(sc_http_core_routes[0]);

/* ---- the route registry ------------------------------------------------------ */

#define ROUTE_TABLES_MAX 16

struct sc_http_routes {
    const sc_http_route *rows[ROUTE_TABLES_MAX];
    size_t n[ROUTE_TABLES_MAX];
    size_t tables;
};

int sc_http_add_routes(sc_app *app, const sc_http_route *rows, size_t n)
{
    struct sc_http_routes *reg = app->routes;

    if (!reg && !(reg = app->routes = calloc(1, sizeof(*reg))))
        return -ENOMEM;
    if (reg->tables == ROUTE_TABLES_MAX)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].nargs < 0 || rows[i].nargs > SC_HTTP_ARGS)
            return -EINVAL;
        for (size_t t = 0; t <= reg->tables; t++) {
            const sc_http_route *other = t < reg->tables ? reg->rows[t] : rows;
            size_t m = t < reg->tables ? reg->n[t] : i;
            for (size_t j = 0; j < m; j++) {
                if (other[j].nargs == rows[i].nargs && (other[j].methods & rows[i].methods) &&
                    strcmp(other[j].prefix, rows[i].prefix) == 0) {
                    SC_ERROR("http", "route %s (%d segments) registered twice", rows[i].prefix,
                             rows[i].nargs);
                    return -EEXIST;
                }
            }
        }
    }
    reg->rows[reg->tables] = rows;
    reg->n[reg->tables] = n;
    reg->tables++;
    return 0;
}

void sc_http_routes_free(sc_app *app)
{
    free(app->routes);
    app->routes = NULL;
}

/* Splits what follows r->prefix into exactly r->nargs non-empty segments. */
static bool route_match(const sc_http_route *r, const char *path,
                        char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX])
{
    size_t plen = strlen(r->prefix);
    const char *p = path + plen;

    if (strncmp(path, r->prefix, plen) != 0)
        return false;
    for (int i = 0; i < r->nargs; i++) {
        const char *end;
        if (*p != '/')
            return false;
        p++;
        end = strchr(p, '/');
        if (!end)
            end = p + strlen(p);
        if (end == p || (size_t)(end - p) >= sizeof(args[0]))
            return false;
        memcpy(args[i], p, (size_t)(end - p));
        args[i][end - p] = '\0';
        p = end;
    }
    return *p == '\0';
}

/* The methods the routes of path take (HEAD with GET); *route the row
 * taking `want`, with its arguments, or NULL. */
static unsigned route_methods(sc_app *app, const char *path, unsigned want,
                              const sc_http_route **route, char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX])
{
    unsigned allowed = 0;

    *route = NULL;
    for (size_t t = 0; app->routes && t < app->routes->tables; t++) {
        for (size_t i = 0; i < app->routes->n[t]; i++) {
            const sc_http_route *r = &app->routes->rows[t][i];
            char a[SC_HTTP_ARGS][SC_HTTP_ARG_MAX];
            if (!route_match(r, path, a))
                continue;
            allowed |= r->methods;
            if (r->methods & want) {
                *route = r;
                memcpy(args, a, sizeof(a));
            }
        }
    }
    return allowed & SC_HTTP_GET ? allowed | SC_HTTP_HEAD : allowed;
}

unsigned sc_http_methods(sc_app *app, const char *path)
{
    const sc_http_route *route;
    char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX];
    unsigned m = route_methods(app, path, 0, &route, args);

    if (!m && sc_http_page(app, path, NULL, 0))
        m = SC_HTTP_GET | SC_HTTP_HEAD;
    return m;
}

void sc_http_allow_string(unsigned m, char *out, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SC_HTTP_GET, "GET"},
                 {SC_HTTP_HEAD, "HEAD"},
                 {SC_HTTP_POST, "POST"},
                 {SC_HTTP_PATCH, "PATCH"},
                 {SC_HTTP_DELETE, "DELETE"},
                 {SC_HTTP_OPTIONS, "OPTIONS"}};
    size_t off = 0;

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(m & names[i].bit))
            continue;
        int n = snprintf(out + off, len - off, "%s%s", off ? ", " : "", names[i].name);
        if (n < 0 || (size_t)n >= len - off)
            break;
        off += (size_t)n;
    }
}

/* ---- request life cycle ------------------------------------------------------ */

/* A page or recording counted in the connection budget is sent (or gone). */
static void file_release(sc_app *app, conn *c)
{
    if (c->file_counted)
        sc_conns_file_done(app);
    c->file_counted = false;
}

/* The request no longer waits for a later reply (answered, or gone). */
static void later_unlink(sc_app *app, conn *c)
{
    if (!c->later)
        return;
    if (c->later_prev)
        c->later_prev->later_next = c->later_next;
    else if (app->http)
        app->http->waiting = c->later_next;
    if (c->later_next)
        c->later_next->later_prev = c->later_prev;
    c->later_prev = c->later_next = NULL;
    c->later = 0;
}

static void request_reset(sc_app *app, conn *c)
{
    later_unlink(app, c);
    file_release(app, c);
    if (c->media_open)
        close(c->media_fd);
    c->media_open = false;
    c->media_headers_sent = false;
    free(c->req.token);
    free(c->req.body);
    sc_http_reply_reset(&c->rep);
    memset(&c->req, 0, sizeof(c->req));
    c->content_length = 0;
    c->body_cap = 0;
    c->in_request = false;
    c->buffer_body = false;
    c->deferred = false;
    c->reply_ready = false;
    c->close_after = false;
    c->framing = 0;
    c->route = NULL;
    c->page = false;
}

static sc_http_method method_of(struct lws *wsi)
{
    static const struct {
        enum lws_token_indexes tok;
        sc_http_method m;
    } map[] = {
        {WSI_TOKEN_GET_URI, SC_HTTP_GET},         {WSI_TOKEN_POST_URI, SC_HTTP_POST},
        {WSI_TOKEN_OPTIONS_URI, SC_HTTP_OPTIONS}, {WSI_TOKEN_PATCH_URI, SC_HTTP_PATCH},
        {WSI_TOKEN_DELETE_URI, SC_HTTP_DELETE},   {WSI_TOKEN_HEAD_URI, SC_HTTP_HEAD},
        {WSI_TOKEN_PUT_URI, SC_HTTP_PUT},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (lws_hdr_total_length(wsi, map[i].tok) > 0)
            return map[i].m;
    return SC_HTTP_OTHER;
}

static const char *method_name(sc_http_method m)
{
    switch (m) {
    case SC_HTTP_GET: return "GET";
    case SC_HTTP_POST: return "POST";
    case SC_HTTP_OPTIONS: return "OPTIONS";
    case SC_HTTP_PATCH: return "PATCH";
    case SC_HTTP_DELETE: return "DELETE";
    case SC_HTTP_HEAD: return "HEAD";
    case SC_HTTP_PUT: return "PUT";
    default: return "(other method)";
    }
}

int sc__http_framing(const char *cl, const char *cl2, bool te, size_t *content_length)
{
    *content_length = 0;
    if (cl) {
        *content_length = (size_t)strtoull(cl, NULL, 10);
        /* Digits only, and one length: two that differ are how requests
         * are smuggled past a proxy that reads the other one. */
        if (!cl[0] || strspn(cl, "0123456789") != strlen(cl) || (cl2 && strcmp(cl2, cl) != 0))
            return 400;
    }
    /* A body framed by Transfer-Encoding is not read here: with a
     * Content-Length too it is ambiguous (400), alone it needs a length
     * (411). */
    if (te)
        return cl ? 400 : 411;
    return 0;
}

char *sc__http_bearer(const char *authorization, bool *malformed)
{
    const char *t = authorization;
    char *token = NULL;
    size_t n;

    if (strncasecmp(t, "Bearer ", 7) == 0) {
        t += 7;
        while (*t == ' ')
            t++;
        n = strlen(t);
        while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
            n--;
        if (n)
            token = strndup(t, n);
    }
    *malformed = !token;
    return token;
}

bool sc__http_query_add(char *query, size_t cap, const char *arg)
{
    size_t off = strlen(query), n = strlen(arg);

    if (off + n + 2 > cap)
        return false;
    snprintf(query + off, cap - off, "%s%s", off ? "&" : "", arg);
    return true;
}

static void read_headers(struct lws *wsi, conn *c)
{
    char cl[32], second[32];
    const char *cl1 = NULL, *cl2 = NULL;
    int alen;

    lws_get_peer_simple(wsi, c->req.peer, sizeof(c->req.peer));
    if (lws_hdr_copy(wsi, c->req.content_type, sizeof(c->req.content_type),
                     WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
        c->req.content_type[0] = '\0';
    /* A length too long for cl is no length we would take: "" makes it
     * malformed rather than absent. */
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        cl1 = lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 ? cl : "";
        if (lws_hdr_copy_fragment(wsi, second, sizeof(second), WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                  1) > 0)
            cl2 = second;
    }
    c->framing = sc__http_framing(cl1, cl2,
                                  lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0,
                                  &c->content_length);
    if (lws_hdr_copy(wsi, c->req.range, sizeof(c->req.range), WSI_TOKEN_HTTP_RANGE) < 0)
        c->req.range[0] = '\0';
    /* Query arguments (lws url-decodes each one), joined again by '&'. */
    for (int i = 0; i < 32; i++) {
        char frag[1024];
        if (lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) <= 0 ||
            !sc__http_query_add(c->req.query, sizeof(c->req.query), frag))
            break;
    }
    alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (alen > 0) {
        char *a = malloc((size_t)alen + 1);
        if (a && lws_hdr_copy(wsi, a, alen + 1, WSI_TOKEN_HTTP_AUTHORIZATION) >= 0)
            c->req.token = sc__http_bearer(a, &c->req.auth_malformed);
        else
            c->req.auth_malformed = true;
        free(a);
    }
}

static void finish_reply(struct lws *wsi, conn *c)
{
    c->reply_ready = true;
    lws_callback_on_writable(wsi);
}

/* The answer when the connection budget has no room for a file. */
static void too_many_connections(sc_http_reply *rep)
{
    sc_http_error(rep, 503, "too-many-connections",
                  "the server holds all the connections and files it may: try again shortly");
    rep->retry_after = 1;
}

static void run_route(sc_app *app, struct lws *wsi, conn *c)
{
    c->route->fn(app, c->route, &c->req, c->args, &c->rep);
    if (c->rep.later && app->http) {
        /* Answered later (sc_http_answer): the request waits in the list. */
        c->later = c->rep.later;
        c->wsi = wsi;
        c->later_prev = NULL;
        c->later_next = app->http->waiting;
        if (c->later_next)
            c->later_next->later_prev = c;
        app->http->waiting = c;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LATER_TIMEOUT_S);
        return;
    }
    c->rep.later = 0;
    if (c->rep.file && !sc_conns_file_admit(app)) {
        close(c->rep.file_fd);
        c->rep.file = false;
        too_many_connections(&c->rep);
    }
    if (c->rep.file) {
        c->file_counted = true;
        /* Streamed from the writeable callback: headers first. */
        c->media_open = true;
        c->media_headers_sent = false;
        c->media_fd = c->rep.file_fd;
        c->media_status = c->rep.status;
        c->media_off = c->rep.file_off;
        c->media_left = c->rep.file_len;
        c->media_total = c->rep.file_total;
        c->rep.file = false;
    }
    if (!c->rep.status)
        sc_http_error(&c->rep, 500, "internal", "no reply");
    finish_reply(wsi, c);
}

uint64_t sc_http_defer(sc_app *app, sc_http_reply *rep)
{
    static uint64_t next_id;
    (void)app;
    rep->later = ++next_id;
    return rep->later;
}

int sc_http_answer(sc_app *app, uint64_t id, sc_http_reply *rep)
{
    conn *c = app->http ? app->http->waiting : NULL;
    const char *action;

    while (c && c->later != id)
        c = c->later_next;
    if (!c || !id) {
        sc_http_reply_reset(rep);
        return -ENOENT;
    }
    later_unlink(app, c);
    /* What the log line says of the request, the handler's unless the
     * answer says otherwise. */
    action = rep->action ? rep->action : c->rep.action;
    if (!rep->room[0])
        memcpy(rep->room, c->rep.room, sizeof(rep->room));
    if (!rep->session)
        rep->session = c->rep.session;
    sc_http_reply_reset(&c->rep);
    c->rep = *rep;
    memset(rep, 0, sizeof(*rep));
    c->rep.action = action;
    c->rep.later = 0;
    if (!c->rep.status)
        sc_http_error(&c->rep, 500, "internal", "no reply");
    lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
    finish_reply(c->wsi, c);
    return 0;
}

sc_http_next sc__http_decide(sc_app *app, const sc_http_req *req, int framing,
                             size_t content_length, const sc_http_route **route,
                             char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    unsigned allowed, want;
    bool page = false;

    rep->action = "routing";
    /* A HEAD is the GET without its body. */
    want = req->method == SC_HTTP_HEAD ? SC_HTTP_GET : req->method;
    allowed = route_methods(app, req->path, want, route, args);
    if (!allowed && sc_http_page(app, req->path, NULL, 0)) {
        allowed = SC_HTTP_GET | SC_HTTP_HEAD;
        page = want == SC_HTTP_GET;
        rep->action = "serving a page";
    }
    if (allowed && req->method == SC_HTTP_OPTIONS) {
        rep->action = "answering a CORS preflight";
        rep->status = 204;
        sc_http_allow_string(allowed | SC_HTTP_OPTIONS, rep->allow, sizeof(rep->allow));
    } else if (allowed && !*route && !page) {
        sc_http_allow_string(allowed | SC_HTTP_OPTIONS, rep->allow, sizeof(rep->allow));
        sc_http_error(rep, 405, "method-not-allowed", "%s is not allowed on %s",
                      method_name(req->method), req->path);
    } else if (!allowed) {
        sc_http_error(rep, 404, "not-found", "%s",
                      want == SC_HTTP_GET && strncmp(req->path, "/api/", 5) != 0
                          ? "no such page" : "no such resource");
    }

    /* Refusals of the body come first, for pages too: a page sent instead
     * would leave the connection open with the body unread. */
    if (framing) {
        /* The body's extent is unknown: answer and close. */
        rep->action = "refusing an ambiguous body";
        if (framing == 411)
            sc_http_error(rep, 411, "length-required",
                          "send the body with a Content-Length (no Transfer-Encoding)");
        else
            sc_http_error(rep, 400, "bad-request",
                          "conflicting or malformed Content-Length / Transfer-Encoding");
        *route = NULL;
        return SC_HTTP_NEXT_CLOSE;
    }
    if (content_length > (size_t)app->cfg->max_body) {
        /* Refuse before reading any of it; the unread body makes the
         * connection unusable, so it closes after the reply. */
        rep->action = "refusing an oversized body";
        sc_http_error(rep, 413, "too-large", "the body is over the %d-byte limit",
                      app->cfg->max_body);
        *route = NULL;
        return SC_HTTP_NEXT_CLOSE;
    }
    if (rep->status) {
        *route = NULL;
        return SC_HTTP_NEXT_ANSWER;
    }
    return page ? SC_HTTP_NEXT_PAGE : SC_HTTP_NEXT_ROUTE;
}

/* What a connection on a place of the reserve (conns.h) may ask for:
 * what a monitoring system needs while the budget is spent (the health
 * checks, and the figures that say why), answered at once without opening
 * a file. */
static bool reserve_serves(const sc_http_req *req)
{
    static const char *const paths[] = {"/healthz", "/readyz", "/api/health", "/metrics",
                                        "/api/stats"};

    if (req->method != SC_HTTP_GET && req->method != SC_HTTP_HEAD)
        return false;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (strcmp(req->path, paths[i]) == 0)
            return true;
    return false;
}

static int on_http(sc_app *app, struct lws *wsi, conn *c, const char *uri)
{
    request_reset(app, c);
    c->in_request = true;
    c->req.method = method_of(wsi);
    snprintf(c->req.path, sizeof(c->req.path), "%s", uri ? uri : "/");
    read_headers(wsi, c);

    if (sc_conns_reserved(app, wsi)) {
        /* One answer, then the place is free again. */
        c->close_after = true;
        if (!reserve_serves(&c->req)) {
            sc_conns_refuse_reserved(app);
            too_many_connections(&c->rep);
            c->rep.action = "refusing a request on the health-check reserve";
            c->rep.quiet = true; /* logged with the refused connections */
            finish_reply(wsi, c);
            return 0;
        }
    }

    switch (sc__http_decide(app, &c->req, c->framing, c->content_length, &c->route, c->args,
                            &c->rep)) {
    case SC_HTTP_NEXT_CLOSE:
        c->close_after = true;
        finish_reply(wsi, c);
        return 0;
    case SC_HTTP_NEXT_PAGE:
        c->page = true;
        /* fallthrough */
    case SC_HTTP_NEXT_ANSWER:
        /* Decided already; a body, if any, is read and dropped first. */
        if (c->content_length > 0)
            c->deferred = true;
        else
            finish_reply(wsi, c);
        return 0;
    case SC_HTTP_NEXT_ROUTE:
        break;
    }
    if (c->content_length > 0) {
        c->buffer_body = true;
        c->body_cap = c->content_length;
        c->req.body = malloc(c->body_cap + 1);
        if (!c->req.body) {
            sc_http_error(&c->rep, 500, "internal", "out of memory");
            c->buffer_body = false;
            c->deferred = true;
        }
        return 0;
    }
    run_route(app, wsi, c);
    return 0;
}

static int on_body(sc_app *app, conn *c, const void *in, size_t len)
{
    if (!c->buffer_body)
        return 0;
    if (c->req.body_len + len > c->body_cap) {
        /* More than Content-Length promised: the framing is broken. */
        return -1;
    }
    memcpy(c->req.body + c->req.body_len, in, len);
    c->req.body_len += len;
    c->req.body[c->req.body_len] = '\0';
    return 0;
}

static int on_body_done(sc_app *app, struct lws *wsi, conn *c)
{
    if (!c->in_request)
        return 0;
    if (c->deferred || c->close_after) {
        if (!c->reply_ready)
            finish_reply(wsi, c);
        return 0;
    }
    if (!c->buffer_body)
        return 0;
    run_route(app, wsi, c);
    return 0;
}

static int add_hdr(struct lws *wsi, const char *name, const char *value, uint8_t **p,
                   uint8_t *end)
{
    return lws_add_http_header_by_name(wsi, (const uint8_t *)name, (const uint8_t *)value,
                                       (int)strlen(value), p, end);
}

int sc_http_query_arg(const char *query, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = query;

    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t vlen = len - n - 1;
            if (vlen >= cap)
                return -E2BIG;
            memcpy(out, p + n + 1, vlen);
            out[vlen] = '\0';
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

void sc_http_count(sc_app *app, int status)
{
    app->stats.http_requests++;
    if (status >= SC_HTTP_STATUS_MIN && status < SC_HTTP_STATUS_MIN + SC_HTTP_STATUS_SLOTS)
        app->stats.http_errors[status - SC_HTTP_STATUS_MIN]++;
}

static int write_reply(sc_app *app, struct lws *wsi, conn *c)
{
    uint8_t buf[LWS_PRE + 8192], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    sc_http_reply *rep = &c->rep;
    int status = rep->status;

    if (status == 204 || !rep->body_len) {
        if (lws_add_http_header_status(wsi, (unsigned)status, &p, end))
            return -1;
        if (status != 204 && lws_add_http_header_content_length(wsi, 0, &p, end))
            return -1;
    } else if (lws_add_http_common_headers(wsi, (unsigned)status, rep->content_type,
                                           rep->body_len, &p, end)) {
        return -1;
    }
    if (add_hdr(wsi, "access-control-allow-origin:", "*", &p, end) ||
        add_hdr(wsi, "access-control-expose-headers:", "Location, ETag, Link", &p, end) ||
        add_hdr(wsi, "cache-control:", "no-store", &p, end) ||
        (app->http->tls && add_hdr(wsi, "strict-transport-security:", SC_HTTP_HSTS, &p, end)))
        return -1;
    if (c->req.method == SC_HTTP_OPTIONS && status == 204 &&
        (add_hdr(wsi, "access-control-allow-methods:", rep->allow, &p, end) ||
         add_hdr(wsi, "access-control-allow-headers:", "Authorization, Content-Type, If-Match",
                 &p, end) ||
         add_hdr(wsi, "access-control-max-age:", "86400", &p, end) ||
         (strstr(rep->allow, "POST") &&
          add_hdr(wsi, "accept-post:", "application/sdp", &p, end))))
        return -1;
    char retry_after[16];
    snprintf(retry_after, sizeof(retry_after), "%d", rep->retry_after);
    if ((rep->allow[0] && add_hdr(wsi, "allow:", rep->allow, &p, end)) ||
        (rep->location[0] && add_hdr(wsi, "location:", rep->location, &p, end)) ||
        (rep->etag[0] && add_hdr(wsi, "etag:", rep->etag, &p, end)) ||
        (rep->content_range[0] && add_hdr(wsi, "content-range:", rep->content_range, &p, end)) ||
        (status == 401 && add_hdr(wsi, "www-authenticate:", "Bearer", &p, end)) ||
        (rep->retry_after > 0 && add_hdr(wsi, "retry-after:", retry_after, &p, end)) ||
        (rep->csp && add_hdr(wsi, "content-security-policy:", rep->csp, &p, end)) ||
        (c->close_after && add_hdr(wsi, "connection:", "close", &p, end)))
        return -1;
    for (char *l = rep->link, *nl; l && *l; l = nl + 1) {
        if (!(nl = strchr(l, '\n')))
            break;
        *nl = '\0';
        int r = add_hdr(wsi, "link:", l, &p, end);
        *nl = '\n';
        if (r)
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* A HEAD's answer says the length of the body it leaves out. */
    if (rep->body_len && c->req.method != SC_HTTP_HEAD) {
        uint8_t *b = malloc(LWS_PRE + rep->body_len);
        if (!b)
            return -1;
        memcpy(b + LWS_PRE, rep->body, rep->body_len);
        int n = lws_write(wsi, b + LWS_PRE, rep->body_len, LWS_WRITE_HTTP_FINAL);
        free(b);
        if (n < 0)
            return -1;
    }

    sc_http_count(app, status);
    if (!rep->quiet)
        SC_LOG_CTX(status >= 500 ? SC_LOG_WARN : SC_LOG_INFO, "http", rep->room, rep->session,
                   "%s %s %s (%s): %d", c->req.peer, method_name(c->req.method), c->req.path,
                   rep->action ? rep->action : "?", status);

    bool close_after = c->close_after;
    request_reset(app, c);
    if (close_after)
        return -1;
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* One step of a media reply: the headers, then one chunk per call.  Never
 * more than MEDIA_CHUNK bytes in memory, whatever the file's size. */
static int write_media(sc_app *app, struct lws *wsi, conn *c)
{
    static uint8_t buf[LWS_PRE + MEDIA_CHUNK];
    uint8_t *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    char cr[96];

    if (!c->media_headers_sent) {
        if (lws_add_http_common_headers(wsi, (unsigned)c->media_status, "video/webm",
                                        c->media_left, &p, end) ||
            add_hdr(wsi, "accept-ranges:", "bytes", &p, end) ||
            add_hdr(wsi, "access-control-allow-origin:", "*", &p, end) ||
            add_hdr(wsi, "cache-control:", "private, no-cache", &p, end) ||
            (c->rep.disposition[0] &&
             add_hdr(wsi, "content-disposition:", c->rep.disposition, &p, end)))
            return -1;
        if (c->media_status == 206) {
            snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, c->media_off,
                     c->media_off + c->media_left - 1, c->media_total);
            if (add_hdr(wsi, "content-range:", cr, &p, end))
                return -1;
        }
        if (lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        c->media_headers_sent = true;
        app->stats.http_requests++;
        SC_INFO("http", "%s %s %s (serving a recording): %d", c->req.peer,
                method_name(c->req.method), c->req.path, c->media_status);
        if (c->req.method == SC_HTTP_HEAD)
            c->media_left = 0; /* the headers were all it asked for */
    } else if (c->media_left) {
        size_t want = c->media_left < MEDIA_CHUNK ? (size_t)c->media_left : MEDIA_CHUNK;
        ssize_t n = pread(c->media_fd, start, want, (off_t)c->media_off);
        if (n <= 0)
            return -1; /* the file shrank or vanished: the length can no longer be kept */
        c->media_off += (uint64_t)n;
        c->media_left -= (uint64_t)n;
        if (lws_write(wsi, start, (size_t)n,
                      c->media_left ? LWS_WRITE_HTTP : LWS_WRITE_HTTP_FINAL) < 0)
            return -1;
    }
    if (c->media_left) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    request_reset(app, c);
    if (lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

/* The page at req.path as the reply: sent from the writeable callback
 * (pages.h says why). */
static int write_page(sc_app *app, struct lws *wsi, conn *c)
{
    int r;

    if (!sc_conns_file_admit(app)) {
        c->page = false;
        too_many_connections(&c->rep);
        return write_reply(app, wsi, c);
    }
    c->file_counted = true;
    c->reply_ready = false;
    c->in_request = false;
    r = sc_http_page_send(app, wsi, c->req.path, c->req.peer);
    if (c->req.method == SC_HTTP_HEAD)
        file_release(app, c); /* lws sent the headers and closed the file */
    return r;
}

/* ---- the lws protocol --------------------------------------------------------- */

/* The connection budget's callbacks (both vhosts): true when reason was
 * one, with the callback's result in *r.  reserve: the vhost serves the
 * reserve (conns.h). */
static bool conn_budget(sc_app *app, struct lws *wsi, int reason, void *in, bool plain,
                        bool reserve, int *r)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    int fd;

    *r = 0;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        fd = (int)(intptr_t)in;
        if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0)
            len = 0;
        *r = sc_conns_admit(app, fd, len ? (struct sockaddr *)&peer : NULL, len, plain, reserve)
                 ? 0 : -1;
        return true;
    case LWS_CALLBACK_WSI_CREATE:
        sc_conns_opened(app, wsi);
        return true;
    case LWS_CALLBACK_WSI_DESTROY:
        sc_conns_closed(app, wsi);
        return true;
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        /* A place of the reserve is not held long by a peer that says
         * nothing: lws's own deadline is 20 s. */
        if (sc_conns_reserved(app, wsi))
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, SC_CONNS_RESERVE_TIMEOUT_S);
        return false;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* No WebSocket on a place of the reserve. */
        if (!sc_conns_reserved(app, wsi))
            return false;
        sc_conns_refuse_reserved(app);
        *r = -1;
        return true;
    default:
        return false;
    }
}

static int protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct lws_context *ctx = wsi ? lws_get_context(wsi) : NULL;
    sc_app *app = ctx ? lws_context_user(ctx) : NULL;
    conn *c = user;
    int r;

    if (!app)
        return 0;
    if (reason == LWS_CALLBACK_WSI_DESTROY && c)
        request_reset(app, c); /* a file still counted, should lws skip CLOSED_HTTP */
    if (conn_budget(app, wsi, reason, in, !sc_http_tls(app), true, &r))
        return r;
    if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS) {
        /* lws made the vhost's SSL_CTX: kept for SIGHUP reloads. */
        if (app->http && !app->http->ssl_ctx)
            app->http->ssl_ctx = user;
        return 0;
    }
    if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
        sc_ws_poll_sfu(app);
        sc_catalog_drain(app->catalog);
        sc__fetch_poll(app);
        return 0;
    }
    if (sc_ws_handles(reason))
        return c ? sc_ws_callback(app, wsi, reason, &c->ws, in, len) : -1;
    if (sc_http_refuse_handles(reason))
        return sc_http_refuse_raw(app, wsi, reason, in, len);

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return c ? on_http(app, wsi, c, in) : -1;
    case LWS_CALLBACK_HTTP_BODY:
        return c ? on_body(app, c, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return c ? on_body_done(app, wsi, c) : -1;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (c && c->reply_ready && c->page)
            return write_page(app, wsi, c);
        if (c && c->reply_ready && c->media_open)
            return write_media(app, wsi, c);
        if (c && c->reply_ready)
            return write_reply(app, wsi, c);
        return 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        if (c)
            file_release(app, c);
        /* lws 4.1 leaves ending a file transaction (keep-alive) to us. */
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (c)
            request_reset(app, c);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"stagecast", protocol_cb, sizeof(conn), 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- plain HTTP that redirects to HTTPS (--http-redirect) ------------------- */

/* Appends s to the URL in buf while it fits (a longer URL is cut at the
 * last whole piece). */
static void url_append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf), m = strlen(s);
    if (n + m < cap)
        memcpy(buf + n, s, m + 1);
}

static int redirect_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    sc_app *app = lws_context_user(lws_get_context(wsi));
    uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf);
    char host[256] = "", loc[1024];
    const char *uri = in;
    int r;

    if (conn_budget(app, wsi, reason, in, true, false, &r))
        return r;
    if (sc_http_refuse_handles(reason))
        return sc_http_refuse_raw(app, wsi, reason, in, len);
    if (reason != LWS_CALLBACK_HTTP)
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    /* The Host header without its port, else the listening address. */
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
        snprintf(host, sizeof(host), "%s", app->cfg->listen_addr);
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (close)
            close[1] = '\0';
    } else if (strchr(host, ':') == strrchr(host, ':') && strchr(host, ':')) {
        *strchr(host, ':') = '\0';
    }
    /* A host with characters a URL must not carry gets the listening address. */
    if (strpbrk(host, " /\\?#@\r\n") || !host[0])
        snprintf(host, sizeof(host), "%s", app->cfg->listen_addr);
    snprintf(loc, sizeof(loc), "https://%s:%d%s", host, sc_http_port(app),
             uri && uri[0] == '/' ? uri : "/");
    /* The query again: lws hands it over decoded, one argument at a time. */
    for (int i = 0; i < 32; i++) {
        char frag[512], enc[1024];
        char *eq;
        if (lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) <= 0)
            break;
        eq = strchr(frag, '=');
        if (eq)
            *eq++ = '\0';
        url_append(loc, sizeof(loc), i ? "&" : "?");
        lws_urlencode(enc, frag, (int)sizeof(enc));
        url_append(loc, sizeof(loc), enc);
        if (eq) {
            url_append(loc, sizeof(loc), "=");
            lws_urlencode(enc, eq, (int)sizeof(enc));
            url_append(loc, sizeof(loc), enc);
        }
    }
    if (lws_http_redirect(wsi, HTTP_STATUS_MOVED_PERMANENTLY, (const unsigned char *)loc,
                          (int)strlen(loc), &p, end) < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const struct lws_protocols redirect_protocols[] = {
    {"stagecast-redirect", redirect_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- libwebsockets' own log lines -------------------------------------------------- */

/* lws writes some refusals to its log itself, one line each ("Ran out of
 * header data space" for headers over max_http_header_data, after which it
 * closes the connection without an answer and without telling the
 * protocol): a peer could fill the log with them.  They go to our log
 * under "lws", at most LWS_LOG_LINES per LWS_LOG_WINDOW_MS, the rest
 * counted (log_suppressed) and summed up.  lws's emitter takes no user
 * pointer: the running front end's app is kept here. */
#define LWS_LOG_WINDOW_MS 10000
#define LWS_LOG_LINES 20

static sc_app *lws_log_app;
static sc_log_window lws_log_window;

static void lws_log(int level, const char *line)
{
    char msg[512];
    unsigned dropped;
    size_t n;

    snprintf(msg, sizeof(msg), "%s", line);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    if (lws_log_app && strstr(msg, "Ran out of header data space"))
        lws_log_app->stats.http_headers_too_large++;
    if (sc_log_window_roll(&lws_log_window, (int64_t)sc_mono_ms(), LWS_LOG_WINDOW_MS, &dropped))
        SC_WARN("lws", "%u more libwebsockets lines not logged in the last %d s", dropped,
                LWS_LOG_WINDOW_MS / 1000);
    if (lws_log_window.lines >= LWS_LOG_LINES) {
        lws_log_window.suppressed++;
        if (lws_log_app)
            lws_log_app->stats.log_suppressed++;
        return;
    }
    lws_log_window.lines++;
    SC_LOG(level == LLL_ERR ? SC_LOG_WARN : SC_LOG_INFO, "lws", "%s", msg);
}

/* The TLS files to serve, made first for --tls-self-signed; checked so a
 * bad file is named before lws says anything less clear. */
static int tls_files(sc_app *app, sc_http *h, char *err, size_t errlen)
{
    const sc_config *cfg = app->cfg;
    char fp[SC_TLS_FINGERPRINT_LEN];

    if (cfg->tls_self_signed) {
        /* checks a kept pair itself, and makes a new one that fits */
        if (sc_tls_self_signed(cfg->data_dir, cfg->listen_addr, h->cert, sizeof(h->cert), h->key,
                               sizeof(h->key), err, errlen) < 0)
            return -1;
    } else {
        snprintf(h->cert, sizeof(h->cert), "%s", cfg->tls_cert);
        snprintf(h->key, sizeof(h->key), "%s", cfg->tls_key);
        if (sc_tls_check(h->cert, h->key, err, errlen) < 0)
            return -1;
    }
    if (sc_tls_fingerprint(h->cert, fp) == 0)
        SC_INFO("tls", "serving HTTPS with %s (SHA-256 %s)", h->cert, fp);
    h->tls = true;
    return 0;
}

int sc_http_start(sc_app *app, char *err, size_t errlen)
{
    const sc_config *cfg = app->cfg;
    struct lws_context_creation_info info;
    struct lws_vhost *vh;
    sc_http *h = calloc(1, sizeof(*h));

    if (!h) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if ((cfg->tls_cert[0] || cfg->tls_self_signed) && tls_files(app, h, err, errlen) < 0) {
        free(h);
        return -1;
    }
    app->http = h; /* the TLS callback during vhost creation looks for it */
    lws_log_app = app;
    lws_set_log_level(LLL_ERR, lws_log);
    memset(&info, 0, sizeof(info));
    info.user = app;
    info.count_threads = 1;
    info.timeout_secs = 20;
    info.server_string = "stagecast";
    /* Tokens ride in the Authorization header: room for SC_JWT_MAX_LEN.
     * Past this lws closes the connection without an answer (no 431: lws
     * 4.1 calls no protocol callback between running out of room and the
     * close; counted as http_headers_too_large from its log line). */
    info.max_http_header_data = 16384;
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    if (h->tls)
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        snprintf(err, errlen, "cannot create the HTTP server");
        goto fail;
    }
    info.port = cfg->listen_port;
    info.iface = cfg->listen_addr;
    info.protocols = protocols;
    info.vhost_name = "stagecast";
    /* A request lws cannot parse as HTTP (a method it does not know, plain
     * HTTP on the HTTPS port) comes to the protocol as raw bytes, as
     * CONNECT always does, for a JSON refusal (refuse.h) rather than lws's
     * HTML 403 or silence. */
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                   LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG;
    if (!strchr(cfg->listen_addr, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (h->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = h->cert;
        info.ssl_private_key_filepath = h->key;
        /* HTTP/1.1 only: the WebSocket, WHIP and media streaming are
         * written and tested for it (no HTTP/2 extended CONNECT). */
        info.alpn = "http/1.1";
        /* TLS 1.2 and 1.3 only. */
        info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    }
    vh = lws_create_vhost(h->ctx, &info);
    if (!vh) {
        snprintf(err, errlen, "cannot listen on %s:%d (address in use or invalid?)",
                 cfg->listen_addr, cfg->listen_port);
        goto fail;
    }
    h->port = lws_get_vhost_listen_port(vh);
    if (cfg->http_redirect_port) {
        info.port = cfg->http_redirect_port;
        info.protocols = redirect_protocols;
        info.vhost_name = "stagecast-redirect";
        info.ssl_cert_filepath = NULL;
        info.ssl_private_key_filepath = NULL;
        info.ssl_options_set = 0;
        info.alpn = NULL;
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        if (!lws_create_vhost(h->ctx, &info)) {
            snprintf(err, errlen, "cannot listen on %s:%d for the redirect to HTTPS",
                     cfg->listen_addr, cfg->http_redirect_port);
            goto fail;
        }
    }
    app->loop = h->ctx;
    if (sc__fetch_init(app, cfg->max_external_checks, cfg->external_check_ca, err, errlen) < 0) {
        app->loop = NULL;
        goto fail;
    }
    return 0;
fail:
    if (h->ctx)
        lws_context_destroy(h->ctx);
    free(h);
    app->http = NULL;
    lws_log_app = NULL;
    return -1;
}

bool sc_http_tls(const sc_app *app)
{
    return app->http && app->http->tls;
}

int sc_http_reload_tls(sc_app *app, char *err, size_t errlen)
{
    sc_http *h = app->http;
    char fp[SC_TLS_FINGERPRINT_LEN] = "";

    if (!h || !h->tls) {
        snprintf(err, errlen, "the server does not serve TLS");
        return -1;
    }
    /* Checked on a scratch context first: a bad file keeps the old pair. */
    if (sc_tls_check(h->cert, h->key, err, errlen) < 0 ||
        sc_tls_reload(h->ssl_ctx, h->cert, h->key, err, errlen) < 0)
        return -1;
    sc_tls_fingerprint(h->cert, fp);
    SC_INFO("tls", "reloaded %s (SHA-256 %s)", h->cert, fp);
    return 0;
}

int sc_http_port(const sc_app *app)
{
    return app->http ? app->http->port : -1;
}

int sc_http_service(sc_app *app)
{
    return lws_service(app->http->ctx, 0);
}

void sc_http_stop(sc_app *app)
{
    if (!app || !app->http)
        return;
    /* Requests still out are answered (cancelled) while the connections
     * waiting for them are still there. */
    sc__fetch_stop(app);
    /* Close callbacks run inside the destroy: they must not reach the
     * media plane any more (sc_app_detach_sfu ran before). */
    app->sfu = NULL;
    lws_context_destroy(app->http->ctx);
    free(app->http);
    app->http = NULL;
    app->loop = NULL;
    lws_log_app = NULL;
}
