#include "signaling/app/app.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/api/bus.h"
#include "signaling/api/router.h"
#include "signaling/events/events.h"
#include "signaling/http/conns.h"
#include "signaling/http/http.h"
#include "signaling/http/ice.h"
#include "signaling/http/metrics.h"
#include "signaling/http/whip.h"
#include "signaling/http/ws.h"
#include "signaling/interact/interact.h"
#include "signaling/recordings/catalog.h"
#include "signaling/room/groups.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"
#include "signaling/turn/turn.h"

/* Every module's message table, registered with the router at start. */
static const struct {
    const sc_command *cmds;
    const size_t *n;
} command_tables[] = {
    {sc_ws_commands, &sc_ws_n_commands},
    {sc_interact_commands, &sc_interact_n_commands},
    {sc_stage_commands, &sc_stage_n_commands},
    {sc_groups_commands, &sc_groups_n_commands},
    {sc_catalog_commands, &sc_catalog_n_commands},
};

/* Every module's HTTP routes. */
static const struct {
    const sc_http_route *rows;
    const size_t *n;
} route_tables[] = {
    {sc_http_core_routes, &sc_http_n_core_routes},
    {sc_whip_routes, &sc_whip_n_routes},
    {sc_interact_routes, &sc_interact_n_routes},
    {sc_catalog_routes, &sc_catalog_n_routes},
    {sc_metrics_routes, &sc_metrics_n_routes},
    {sc_ice_routes, &sc_ice_n_routes},
    {sc_events_routes, &sc_events_n_routes},
    {sc_groups_routes, &sc_groups_n_routes},
};

sc_app *sc_app_new(const sc_config *cfg, const uint8_t *secret, size_t secret_len,
                   struct sc_store *store, char *err, size_t errlen)
{
    sc_app *app = calloc(1, sizeof(*app));

    if (!app) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (secret_len > sizeof(app->secret)) {
        snprintf(err, errlen, "secret too long");
        goto fail;
    }
    app->cfg = cfg;
    memcpy(app->secret, secret, secret_len);
    app->secret_len = secret_len;
    app->store = store;
    app->started_ms = sc_wall_ms();
    app->rooms = sc_rooms_new();
    app->router = sc_router_new();
    app->bus = sc_bus_new();
    if (!app->rooms || !app->router || !app->bus) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (cfg->n_turn_urls > 0 &&
        !(app->turn = sc_turn_new((const char(*)[SC_TURN_URL_MAX])cfg->turn_urls,
                                  cfg->n_turn_urls, cfg->turn_secret_file, cfg->turn_ttl_s, err,
                                  errlen)))
        goto fail;
    if (sc_events_load_geo(app, err, errlen) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof(command_tables) / sizeof(command_tables[0]); i++) {
        if (sc_router_add(app->router, command_tables[i].cmds, *command_tables[i].n) < 0) {
            snprintf(err, errlen, "cannot register the message types (see the log)");
            goto fail;
        }
    }
    /* The bus's listeners, each module subscribing what it takes. */
    if (sc_ws_subscribe(app) < 0 || sc_catalog_subscribe(app) < 0 ||
        sc_events_subscribe(app) < 0 || sc_metrics_subscribe(app) < 0 || sc_groups_init(app) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < sizeof(route_tables) / sizeof(route_tables[0]); i++) {
        if (sc_http_add_routes(app, route_tables[i].rows, *route_tables[i].n) < 0) {
            snprintf(err, errlen, "cannot register the HTTP routes (see the log)");
            goto fail;
        }
    }
    return app;
fail:
    sc_app_free(app);
    return NULL;
}

void sc_app_notify(void *ud)
{
    sc_app *app = ud;
    if (app && app->loop)
        lws_cancel_service(app->loop);
}

static void end_for_shutdown(void *ud, sc_session_entry *e)
{
    sc_app *app = ud;
    sc_store_session_ended(app->store, e->id, sc_wall_ms(), "shutdown");
}

void sc_app_detach_sfu(sc_app *app)
{
    if (!app)
        return;
    sc_rooms_foreach_session(app->rooms, end_for_shutdown, app);
    app->sfu = NULL;
}

/* While draining the event loop must wake to check the deadline even when
 * nothing happens on the network. */
struct sc_app_timer {
    lws_sorted_usec_list_t sul; /* first: the callback gets its address */
    sc_app *app;
};

#define DRAIN_TICK_US (250 * LWS_US_PER_MS)

static void drain_tick(lws_sorted_usec_list_t *sul)
{
    struct sc_app_timer *t = (struct sc_app_timer *)sul;
    if (t->app->loop)
        lws_sul_schedule(t->app->loop, 0, &t->sul, drain_tick, DRAIN_TICK_US);
}

static void tell_draining(void *ud, sc_room *room)
{
    sc_app *app = ud;
    sc_ws_broadcast(app, sc_room_name(room),
                    json_pack("{s:s,s:i}", "type", "server_draining", "retry_after",
                              sc_app_drain_retry_after(app)));
}

bool sc_app_drain_begin(sc_app *app, int timeout_s)
{
    size_t open = sc_rooms_session_count(app->rooms);

    if (timeout_s <= 0 || open == 0 || !app->sfu)
        return false;
    app->draining = true;
    app->drain_deadline_ms = (int64_t)sc_mono_ms() + (int64_t)timeout_s * 1000;
    SC_INFO("app", "draining: %zu session(s) open; stopping when they end or in %d s "
            "(signal again to stop now)", open, timeout_s);
    sc_rooms_foreach(app->rooms, tell_draining, app);
    if (app->loop && (app->drain_timer = calloc(1, sizeof(*app->drain_timer)))) {
        app->drain_timer->app = app;
        lws_sul_schedule(app->loop, 0, &app->drain_timer->sul, drain_tick, DRAIN_TICK_US);
    }
    return true;
}

bool sc_app_drain_over(const sc_app *app)
{
    if (sc_rooms_session_count(app->rooms) == 0) {
        SC_INFO("app", "drained: no session left");
        return true;
    }
    if ((int64_t)sc_mono_ms() >= app->drain_deadline_ms) {
        SC_INFO("app", "drain timeout: %zu session(s) still open end now",
                sc_rooms_session_count(app->rooms));
        return true;
    }
    return false;
}

int sc_app_drain_retry_after(const sc_app *app)
{
    int64_t left = app->drain_deadline_ms - (int64_t)sc_mono_ms();
    return left > 1000 ? (int)((left + 999) / 1000) : 1;
}

void sc_app_free(sc_app *app)
{
    if (!app)
        return;
    sc_rooms_free(app->rooms);
    sc_router_free(app->router);
    sc_http_routes_free(app);
    sc_bus_free(app->bus);
    free(app->drain_timer); /* its loop is gone: sc_http_stop ran first */
    sc_interact_free(app);
    sc_groups_free(app);
    sc_events_free(app);
    sc_ws_free_state(app);
    sc_conns_free_state(app);
    sc_turn_free(app->turn);
    memset(app->secret, 0, sizeof(app->secret));
    free(app);
}
