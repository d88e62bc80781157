/* The front end: one libwebsockets context serving HTTP (pages, /api,
 * WHIP/WHEP) and the /ws WebSocket on one port, driven by the signalling
 * (control) thread, which is also the only thread that calls sfu.h.  The
 * media plane wakes it through sc_app_notify(). */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/sfu.h"
#include "signaling/app/app.h"
#include "signaling/app/config.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

/* Creates the front end (the lws context) and binds the listening socket;
 * sets app->http and app->loop.  0, or -1 with a reason in err. */
typedef struct sc_http sc_http;

int sc_http_start(sc_app *app, char *err, size_t errlen);
/* The TCP port actually bound (useful with --listen ADDR:0). */
int sc_http_port(const sc_app *app);
/* One turn of the event loop; returns <0 when the context failed.  A signal
 * interrupts the wait. */
int sc_http_service(sc_app *app);
/* Whether the front end serves HTTPS. */
bool sc_http_tls(const sc_app *app);
/* SIGHUP: loads the certificate and key again (from the same files) for new
 * connections, after checking they load; a bad file keeps the old pair.
 * 0, or -1 with the reason in err. */
int sc_http_reload_tls(sc_app *app, char *err, size_t errlen);
/* Closes every connection and frees the front end. */
void sc_http_stop(sc_app *app);

/* ---- Internal to signaling/ (http.c, whip.c, ws.c) ---------------------- */

/* A route that takes GET takes HEAD too (the reply without its body). */
typedef enum sc_http_method {
    SC_HTTP_GET = 1 << 0,
    SC_HTTP_POST = 1 << 1,
    SC_HTTP_OPTIONS = 1 << 2,
    SC_HTTP_PATCH = 1 << 3,
    SC_HTTP_DELETE = 1 << 4,
    SC_HTTP_HEAD = 1 << 5,
    SC_HTTP_PUT = 1 << 6,
    SC_HTTP_OTHER = 1 << 7,
} sc_http_method;

/* With TLS, browsers are told to keep to HTTPS for a year. */
#define SC_HTTP_HSTS "max-age=31536000"

typedef struct sc_http_req {
    sc_http_method method;
    char path[512];
    char peer[64];
    char content_type[128];
    char *token;          /* bearer token (malloc'd) or NULL; never logged */
    bool auth_malformed;  /* an Authorization header that is not "Bearer x" */
    char *body;
    size_t body_len;
    char query[2048];     /* url-decoded arguments joined by '&' ("" if none) */
    char range[128];      /* the Range header ("" if none) */
} sc_http_req;

typedef struct sc_http_reply {
    int status;
    char content_type[64];
    char *body;           /* malloc'd */
    size_t body_len;
    char location[160];
    char etag[48];
    char allow[64];
    int retry_after;      /* seconds for Retry-After, 0 = none */
    char content_range[96];
    char disposition[160]; /* Content-Disposition of a file reply ("" for none) */
    char *csp;            /* malloc'd Content-Security-Policy of a page sent as a body, or NULL */
    char *link;           /* malloc'd Link header values, each ended by '\n', or NULL */
    const char *action;   /* what the request was doing, for the log line */
    bool quiet;           /* no log line: a refusal its module logs, rate-limited */
    /* What the request concerned, the log line's room and session fields:
     * sc_http_auth sets the room it authorised, a handler the session it
     * created or acted on (0: none). */
    char room[SC_ROOM_NAME_MAX + 1];
    uint64_t session;
    /* Instead of body: stream file_len bytes of file_fd from file_off (the
     * front end closes the descriptor); file_total for Content-Range. */
    bool file;
    int file_fd;
    uint64_t file_off, file_len, file_total;
    /* Set by sc_http_defer: the answer comes later (sc_http_answer). */
    uint64_t later;
} sc_http_reply;

/* ---- The route registry -------------------------------------------------- */

/* Path segments a route captures after its prefix, and their size. */
#define SC_HTTP_ARGS 2
#define SC_HTTP_ARG_MAX 96

typedef struct sc_http_route sc_http_route;
/* Fills rep (a status at least; 500 "no reply" otherwise).  args holds
 * route->nargs non-empty path segments. */
typedef void (*sc_http_route_fn)(sc_app *app, const sc_http_route *route,
                                 const sc_http_req *req, char args[][SC_HTTP_ARG_MAX],
                                 sc_http_reply *rep);

/* One row of a module's route table: prefix, then exactly nargs segments
 * ("/whip" with 1 matches /whip/demo).  data is the row's own value for a
 * handler that serves several rows (WHIP or WHEP). */
struct sc_http_route {
    const char *prefix;
    int nargs;
    unsigned methods;     /* sc_http_method bits */
    const char *what;     /* for the log line */
    sc_http_route_fn fn;
    int data;
};

/* Register a table (borrowed: static).  0; -EEXIST when a row has the same
 * prefix and nargs as a registered one and shares a method (logged, nothing
 * of the table added); -EINVAL for nargs outside 0..SC_HTTP_ARGS; -ENOMEM. */
int sc_http_add_routes(sc_app *app, const sc_http_route *rows, size_t n);
/* Frees the registry (sc_app_free). */
void sc_http_routes_free(sc_app *app);
/* The front end's own routes: /api/health, /api/stats, /api/rooms/{room}. */
extern const sc_http_route sc_http_core_routes[];
extern const size_t sc_http_n_core_routes;

/* The methods path takes (a bit set): its routes' (HEAD with GET), GET and
 * HEAD for a page, 0 when nothing is there; OPTIONS is not included. */
unsigned sc_http_methods(sc_app *app, const char *path);
/* "GET, HEAD, OPTIONS": the Allow header for a method bit set. */
void sc_http_allow_string(unsigned methods, char *out, size_t len);
/* Counts an answered request (http_requests, http_errors). */
void sc_http_count(sc_app *app, int status);

/* The value of `name` in a request's query string (lws has url-decoded
 * each argument) into out: 1, 0 when absent, -E2BIG when longer than
 * cap - 1 (out untouched). */
int sc_http_query_arg(const char *query, const char *name, char *out, size_t cap);
/* Frees what a reply holds (body, Link and CSP headers) and clears it. */
void sc_http_reply_reset(sc_http_reply *rep);
/* Fill reply with the JSON error body {"error":{"code","message"}}. */
void sc_http_error(sc_http_reply *rep, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fill reply with a JSON body; steals the reference to obj. */
void sc_http_json(sc_http_reply *rep, int status, json_t *obj);
/* Set a body that the reply copies. */
int sc_http_body(sc_http_reply *rep, int status, const char *ctype, const char *body,
                 size_t len);

/* ---- replies that come later ------------------------------------------------ */

/* For a route handler whose answer waits on something slower than itself
 * (an external system's HTTP answer): the request is answered later, by
 * sc_http_answer with the id returned here (never 0); the handler returns
 * with rep as it is (no status needed).  The connection waits, at most a
 * minute; when the client goes meanwhile the id answers no more. */
uint64_t sc_http_defer(sc_app *app, sc_http_reply *rep);
/* Sends rep (moved out: rep is left empty) as the answer of the deferred
 * request id; rep->action, when NULL, keeps the handler's.  0, or -ENOENT
 * when that client has gone (rep is dropped). */
int sc_http_answer(sc_app *app, uint64_t id, sc_http_reply *rep);

/* Check req's bearer token for `room` and `perm`; on failure fills rep (401
 * or 403) and returns its status, else 0. */
struct sc_token;
int sc_http_auth(sc_app *app, const sc_http_req *req, const char *room, uint32_t perm,
                 struct sc_token *tok, sc_http_reply *rep);
/* The same for an admin token; a valid token without the admin permission
 * gets 403 "<what> need an admin token". */
int sc_http_admin_auth(sc_app *app, const sc_http_req *req, const char *what,
                       sc_http_reply *rep);

#endif
