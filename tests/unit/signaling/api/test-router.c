/* signaling/router.c: command tables, lookup, duplicate refusal and the
 * parameter specs; and http.c's route registry. */
#include <errno.h>
#include <string.h>

#include "tests/unit/sc_test.h"
#include "signaling/http/http.h"
#include "signaling/api/router.h"

static void nop(sc_ws_client *c, json_t *msg, json_t *id)
{
    (void)c;
    (void)msg;
    (void)id;
}

static const sc_command core[] = {
    {"join", nop, 0, false, "joining", NULL},
    {"layer", nop, 4, true, "choosing a layer", "session:s slot:i temporal:i?"},
    {"record", nop, 8, true, "recording", "on:b"},
    {"any", nop, 0, true, "anything", "x:* list:a opts:o? n:n"},
};
static const sc_command module[] = {
    {"chat", nop, 2, true, "chatting", "text:s"},
};
static const sc_command clash[] = {
    {"poll", nop, 0, true, "polling", NULL},
    {"record", nop, 0, true, "recording again", NULL},
};
static const sc_command twice[] = {
    {"a", nop, 0, true, "a", NULL},
    {"a", nop, 0, true, "a again", NULL},
};
static const sc_command bad_spec[] = {
    {"b", nop, 0, true, "b", "slot:q"},
};

static void route_nop(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                      char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    (void)app;
    (void)route;
    (void)req;
    (void)args;
    (void)rep;
}

static const sc_http_route routes_a[] = {
    {"/whip", 1, SC_HTTP_POST, "WHIP", route_nop, 1},
    {"/whip", 2, SC_HTTP_PATCH | SC_HTTP_DELETE, "WHIP session", route_nop, 1},
};
static const sc_http_route routes_b[] = {
    {"/whip", 2, SC_HTTP_GET, "WHIP session state", route_nop, 0}, /* other method: fine */
};
static const sc_http_route routes_clash[] = {
    {"/api/x", 0, SC_HTTP_GET, "x", route_nop, 0},
    {"/whip", 2, SC_HTTP_DELETE, "again", route_nop, 0},
};
static const sc_http_route routes_bad[] = {
    {"/api/y", 3, SC_HTTP_GET, "y", route_nop, 0},
};

/* The HTTP route registry refuses a path+method registered twice. */
static void test_http_routes(void)
{
    sc_app app;

    memset(&app, 0, sizeof(app));
    SC_CHECK_INT(sc_http_add_routes(&app, routes_a, 2), 0);
    SC_CHECK_INT(sc_http_add_routes(&app, routes_b, 1), 0);
    SC_CHECK_INT(sc_http_add_routes(&app, routes_clash, 2), -EEXIST);
    SC_CHECK_INT(sc_http_add_routes(&app, routes_bad, 1), -EINVAL);
    SC_CHECK_INT(sc_http_add_routes(&app, sc_http_core_routes, sc_http_n_core_routes), 0);
    SC_CHECK_INT(sc_http_add_routes(&app, sc_http_core_routes, sc_http_n_core_routes), -EEXIST);
    sc_http_routes_free(&app);
    SC_CHECK(app.routes == NULL);
}

static bool check(const sc_router *r, const char *type, const char *json, char *err)
{
    json_t *msg = json_loads(json, 0, NULL);
    bool ok = sc_router_check(sc_router_find(r, type), msg, err, 160);
    json_decref(msg);
    return ok;
}

int main(void)
{
    sc_router *r = sc_router_new();
    char err[160];

    SC_CHECK_INT(sc_router_add(r, core, 4), 0);
    SC_CHECK_INT(sc_router_add(r, module, 1), 0);
    SC_CHECK_INT(sc_router_count(r), 5);
    SC_CHECK(sc_router_find(r, "layer") == &core[1]);
    SC_CHECK(sc_router_find(r, "chat") == &module[0]);
    SC_CHECK(sc_router_find(r, "nope") == NULL);
    SC_CHECK(sc_router_find(r, "") == NULL);

    /* a type registered twice is refused and nothing of that table lands */
    SC_CHECK_INT(sc_router_add(r, clash, 2), -EEXIST);
    SC_CHECK(sc_router_find(r, "poll") == NULL);
    SC_CHECK(sc_router_find(r, "record") == &core[2]);
    SC_CHECK_INT(sc_router_add(r, twice, 2), -EEXIST);
    SC_CHECK(sc_router_find(r, "a") == NULL);
    SC_CHECK_INT(sc_router_add(r, bad_spec, 1), -EINVAL);
    SC_CHECK(sc_router_find(r, "b") == NULL);
    SC_CHECK_INT(sc_router_count(r), 5);

    /* specs */
    SC_CHECK(sc_router_spec_ok(NULL));
    SC_CHECK(sc_router_spec_ok(""));
    SC_CHECK(sc_router_spec_ok("a:s  b:i? c:*"));
    SC_CHECK(!sc_router_spec_ok("a"));
    SC_CHECK(!sc_router_spec_ok(":s"));
    SC_CHECK(!sc_router_spec_ok("a:"));
    SC_CHECK(!sc_router_spec_ok("a:ss"));
    SC_CHECK(!sc_router_spec_ok("a:s?? b:i"));

    /* messages against them */
    SC_CHECK(check(r, "join", "{\"type\":\"join\"}", err));
    SC_CHECK(check(r, "layer", "{\"session\":\"ab\",\"slot\":2}", err));
    SC_CHECK(check(r, "layer", "{\"session\":\"ab\",\"slot\":2,\"temporal\":1,\"extra\":[]}", err));
    SC_CHECK(!check(r, "layer", "{\"session\":\"ab\",\"slot\":\"2\"}", err));
    SC_CHECK_STR(err, "layer needs \"slot\" (integer)");
    SC_CHECK(!check(r, "layer", "{\"slot\":2}", err));
    SC_CHECK_STR(err, "layer needs \"session\" (string)");
    SC_CHECK(!check(r, "layer", "{\"session\":\"ab\",\"slot\":2,\"temporal\":null}", err));
    SC_CHECK_STR(err, "layer needs \"temporal\" (integer, optional)");
    SC_CHECK(!check(r, "layer", "{\"session\":\"ab\",\"slot\":2.5}", err));
    SC_CHECK(check(r, "record", "{\"on\":false}", err));
    SC_CHECK(!check(r, "record", "{\"on\":0}", err));
    SC_CHECK_STR(err, "record needs \"on\" (true or false)");
    SC_CHECK(check(r, "any", "{\"x\":null,\"list\":[],\"n\":1.5}", err));
    SC_CHECK(check(r, "any", "{\"x\":{},\"list\":[1],\"n\":3,\"opts\":{}}", err));
    SC_CHECK(!check(r, "any", "{\"x\":1,\"list\":[],\"n\":3,\"opts\":[]}", err));
    SC_CHECK(!check(r, "any", "{\"list\":[],\"n\":3}", err));
    SC_CHECK_STR(err, "any needs \"x\" (any value)");
    SC_CHECK(!check(r, "any", "{\"x\":1,\"list\":[],\"n\":\"3\"}", err));

    sc_router_free(r);
    test_http_routes();
    SC_TEST_END();
}
