/* The application context: the services every signalling module works
 * with, one set per running server.  main.c creates it, the HTTP/WebSocket
 * front end (http.h) drives it, and each module receives it instead of
 * reaching into another module's internals: a module includes app.h and
 * the headers of the services it really uses.
 *
 * Everything here belongs to the signalling (control) thread, the only
 * thread that calls sfu.h and the store. */
#ifndef SC_APP_H
#define SC_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/histogram.h"
#include "signaling/app/config.h"

struct lws_context;
struct sc_bus;
struct sc_catalog;
struct sc_conns;
struct sc_http;
struct sc_http_routes;
struct sc_interact;
struct sc_ws;
struct sc_recorder;
struct sc_rooms;
struct sc_router;
struct sc_sfu;
struct sc_store;
struct sc_turn;
struct sc_events_state;
struct sc_fetch;
struct sc_geo;

#define SC_HTTP_STATUS_MIN 400
#define SC_HTTP_STATUS_SLOTS 200   /* http_errors[] counts statuses 400..599 */

/* The front end's counters (/api/stats). */
typedef struct sc_app_counters {
    uint64_t http_requests;
    uint64_t http_errors[SC_HTTP_STATUS_SLOTS];
    uint64_t ws_clients;           /* open now */
    uint64_t ws_connections;       /* ever accepted */
    uint64_t ws_messages;          /* received */
    uint64_t ws_errors;            /* error replies sent */
    uint64_t ws_dropped_slow;      /* closed for not reading their queue */
    uint64_t ws_join_timeouts;     /* closed for not joining in time */
    uint64_t ws_refused_unjoined;  /* upgrades refused: too many unjoined from one address */
    uint64_t log_suppressed;       /* refused-message log lines not written */
    uint64_t ws_refused_sessions;  /* publish/subscribe over the per-connection cap */
    uint64_t sessions_refused_user; /* new sessions over --max-sessions-per-user */
    uint64_t sessions_refused_ip;  /* new sessions over --max-sessions-per-ip */
    uint64_t http_headers_too_large; /* requests lws closed: headers over 16 KiB */
    uint64_t http_connections;     /* open now (conns.h) */
    uint64_t http_files_open;      /* pages and recordings being sent now */
    uint64_t http_connections_max; /* the budget of the two (--max-connections) */
    uint64_t http_connections_refused; /* closed at once: the budget was spent */
    uint64_t http_connections_reserve; /* of http_connections, on the reserve (conns.h) */
    uint64_t http_connections_per_ip_max; /* one address's share (0: no limit) */
    uint64_t http_connections_refused_per_ip; /* closed at once: the address held its share */
    uint64_t sfu_events;
    uint64_t events_refused;       /* watch-link requests refused (wrong password, ended, full) */
    /* Events' external checks: the organiser's system admitted, refused,
     * or did not answer usably (timeout, refused, not 200, bad JSON, too
     * long); and joins refused without asking (too many in flight). */
    uint64_t external_checks_allowed;
    uint64_t external_checks_denied;
    uint64_t external_checks_failed;
    uint64_t external_checks_busy;
    /* From a session's offer to its DTLS being up, publishers [0] and
     * viewers [1] (metrics.c observes and exports them). */
    sc_hist join[2];
    /* How long external checks took to answer, failures included. */
    sc_hist external_check;
} sc_app_counters;

typedef struct sc_app {
    const sc_config *cfg;
    uint8_t secret[SC_SECRET_MAX]; /* the token signing key */
    size_t secret_len;
    struct sc_store *store;
    struct sc_sfu *sfu;            /* the media plane; NULL once detached */
    struct sc_recorder *recorder;  /* NULL when recording is unavailable */
    struct sc_catalog *catalog;    /* recordings catalog; may be NULL */
    struct sc_rooms *rooms;        /* sessions and the room aggregate */
    struct sc_router *router;      /* message type -> module handler */
    struct sc_bus *bus;            /* domain events (api/bus.h) */
    struct sc_interact *interact;  /* the interaction module's own state */
    struct sc_ws *ws;              /* the WebSocket module's own state (ws.c) */
    struct sc_groups *groups;      /* breakout groups' timer (room/groups.c) */
    struct sc_conns *conns;        /* the connection budget's own state (conns.c) */
    struct sc_events_state *events; /* signaling/events/: the watch link's limiter */
    struct sc_geo *geo;            /* countries of addresses (--geoip), or NULL */
    struct sc_turn *turn;          /* TURN servers and their secret (--turn), or
                                      NULL: no credentials to hand out */
    struct lws_context *loop;      /* the event loop, for timers; NULL before
                                      the front end starts */
    struct sc_http *http;          /* the front end, or NULL */
    struct sc_http_routes *routes; /* path -> module handler (http.h) */
    struct sc_fetch *fetch;        /* outgoing HTTP requests (http/fetch.h), or NULL */
    sc_app_counters stats;
    int64_t started_ms;            /* wall clock when the server started (sc_app_new) */
    bool draining;                 /* shutting down: finish what is open, take
                                      nothing new; GET /readyz then answers 503
                                      so load balancers stop sending requests */
    int64_t drain_deadline_ms;     /* monotonic; while draining */
    struct sc_app_timer *drain_timer;
} sc_app;

/* cfg and store are borrowed and must outlive the app; the secret is
 * copied; with --turn the TURN secret file is read here.  NULL with a
 * reason in err. */
sc_app *sc_app_new(const sc_config *cfg, const uint8_t *secret, size_t secret_len,
                   struct sc_store *store, char *err, size_t errlen);
/* sc_sfu_config.notify and the catalog's wake-up: safe on any thread;
 * wakes the event loop. */
void sc_app_notify(void *app);
/* Before sc_sfu_free: records every open session as ended ("shutdown")
 * and forgets the media plane, so later close callbacks leave it alone. */
void sc_app_detach_sfu(sc_app *app);
/* Stop requested (SIGTERM): refuse new sessions (503 "draining" with
 * Retry-After), tell every connected page, and keep serving the open
 * sessions for at most timeout_s.  Returns false when there is nothing to
 * wait for (no open session, or timeout_s 0): stop now. */
bool sc_app_drain_begin(sc_app *app, int timeout_s);
/* While draining: true once the last session ended or the time is up. */
bool sc_app_drain_over(const sc_app *app);
/* Seconds until the drain's deadline (at least 1), for Retry-After. */
int sc_app_drain_retry_after(const sc_app *app);

/* Frees what the app owns (the rooms, the interaction state); the front
 * end must be stopped first.  Accepts NULL. */
void sc_app_free(sc_app *app);

#endif
