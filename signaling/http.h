/* The signalling server: one libwebsockets context serving HTTP (pages,
 * /api, WHIP/WHEP) and the /ws WebSocket on one port, driven by the
 * signalling (control) thread, which is also the only thread that calls
 * sfu.h.  The media plane wakes it through sc_server_notify(). */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rooms.h"
#include "sfu/sfu.h"
#include "store.h"

typedef struct sc_server sc_server;

/* Creates the lws context and binds the listening socket.  cfg, store and
 * the secret are borrowed and must outlive the server.  NULL with a reason
 * in err. */
sc_server *sc_server_new(const sc_config *cfg, const uint8_t *secret, size_t secret_len,
                         sc_store *store, char *err, size_t errlen);
/* The media plane, created after the server (its notify needs the server).
 * Borrowed. */
void sc_server_set_sfu(sc_server *srv, sc_sfu *sfu);
/* sc_sfu_config.notify: safe on any thread; wakes the service loop. */
void sc_server_notify(void *srv);
/* The TCP port actually bound (useful with --listen ADDR:0). */
int sc_server_port(const sc_server *srv);
/* One turn of the event loop; returns <0 when the context failed.  A signal
 * interrupts the wait. */
int sc_server_service(sc_server *srv);
/* Before sc_sfu_free: records every open session as ended ("shutdown")
 * and forgets the media plane, so later close callbacks leave it alone. */
void sc_server_detach_sfu(sc_server *srv);
void sc_server_free(sc_server *srv);

/* ---- Internal to signaling/ (http.c, whip.c, ws.c) ---------------------- */

#define SC_HTTP_STATUS_MIN 400
#define SC_HTTP_STATUS_SLOTS 200   /* http_errors[] counts statuses 400..599 */

typedef struct sc_server_counters {
    uint64_t http_requests;
    uint64_t http_errors[SC_HTTP_STATUS_SLOTS];
    uint64_t ws_clients;           /* open now */
    uint64_t ws_connections;       /* ever accepted */
    uint64_t ws_messages;          /* received */
    uint64_t ws_errors;            /* error replies sent */
    uint64_t ws_dropped_slow;      /* closed for not reading their queue */
    uint64_t sfu_events;
} sc_server_counters;

struct lws_context;

struct sc_server {
    const sc_config *cfg;
    uint8_t secret[SC_SECRET_MAX];
    size_t secret_len;
    sc_store *store;
    sc_sfu *sfu;                   /* NULL once detached */
    struct sc_recorder *recorder;  /* NULL when recording is unavailable */
    struct sc_catalog *catalog;    /* recordings catalog (catalog.h); may be NULL */
    sc_rooms *rooms;
    struct lws_context *ctx;
    int port;
    sc_server_counters stats;
};

typedef enum sc_http_method {
    SC_HTTP_GET = 1 << 0,
    SC_HTTP_POST = 1 << 1,
    SC_HTTP_OPTIONS = 1 << 2,
    SC_HTTP_PATCH = 1 << 3,
    SC_HTTP_DELETE = 1 << 4,
    SC_HTTP_OTHER = 1 << 5,
} sc_http_method;

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
} sc_http_req;

typedef struct sc_http_reply {
    int status;
    char content_type[64];
    char *body;           /* malloc'd */
    size_t body_len;
    char location[160];
    char etag[48];
    char allow[64];
    char content_range[96];
    const char *action;   /* what the request was doing, for the log line */
} sc_http_reply;

/* Fill reply with the JSON error body {"error":{"code","message"}}. */
void sc_http_error(sc_http_reply *rep, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fill reply with a JSON body; steals the reference to obj. */
void sc_http_json(sc_http_reply *rep, int status, json_t *obj);
/* Set a body that the reply copies. */
int sc_http_body(sc_http_reply *rep, int status, const char *ctype, const char *body,
                 size_t len);

/* Check req's bearer token for `room` and `perm`; on failure fills rep (401
 * or 403) and returns its status, else 0. */
struct sc_token;
int sc_http_auth(sc_server *srv, const sc_http_req *req, const char *room, uint32_t perm,
                 struct sc_token *tok, sc_http_reply *rep);

#endif
