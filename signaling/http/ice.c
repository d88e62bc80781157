#include "signaling/http/ice.h"

#include <jansson.h>
#include <time.h>

#include "signaling/auth/token.h"
#include "signaling/turn/turn.h"

static void get_ice_servers(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                            char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    json_t *servers;
    sc_token tok;

    (void)route;
    (void)args;
    rep->action = "handing out ICE servers";
    /* Any room: the credentials open the relay, not a room. */
    if (sc_http_auth(app, req, NULL, 0, &tok, rep))
        return;
    servers = app->turn ? sc_turn_ice_servers(app->turn, tok.sub, (int64_t)time(NULL))
                        : json_array();
    if (!servers) {
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    sc_http_json(rep, 200, json_pack("{s:o}", "ice_servers", servers));
}

const sc_http_route sc_ice_routes[] = {
    {"/api/ice-servers", 0, SC_HTTP_GET, "ICE servers", get_ice_servers, 0},
};
const size_t sc_ice_n_routes = sizeof(sc_ice_routes) / sizeof(sc_ice_routes[0]);
