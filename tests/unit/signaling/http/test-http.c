/* signaling/http/http.c: what the front end takes from a request's head
 * (the body's framing, the bearer token, the query) and what it decides
 * before reading the body (private.h). */
#include <stdlib.h>
#include <string.h>

#include "signaling/app/app.h"
#include "signaling/http/private.h"
#include "tests/unit/sc_test.h"

static void test_framing(void)
{
    size_t len = 99;

    SC_CHECK_INT(sc__http_framing(NULL, NULL, false, &len), 0);
    SC_CHECK_INT(len, 0);
    SC_CHECK_INT(sc__http_framing("42", NULL, false, &len), 0);
    SC_CHECK_INT(len, 42);
    SC_CHECK_INT(sc__http_framing("42", "42", false, &len), 0);
    /* two that differ, signs, spaces, unreadable (too long) */
    SC_CHECK_INT(sc__http_framing("42", "43", false, &len), 400);
    SC_CHECK_INT(sc__http_framing("+4", NULL, false, &len), 400);
    SC_CHECK_INT(sc__http_framing("4 ", NULL, false, &len), 400);
    SC_CHECK_INT(sc__http_framing("", NULL, false, &len), 400);
    /* Transfer-Encoding: with a length ambiguous, alone unsupported */
    SC_CHECK_INT(sc__http_framing("0", NULL, true, &len), 400);
    SC_CHECK_INT(sc__http_framing(NULL, NULL, true, &len), 411);
}

static void test_bearer(void)
{
    bool bad;
    char *t;

    t = sc__http_bearer("Bearer abc.def", &bad);
    SC_CHECK_STR(t, "abc.def");
    SC_CHECK(!bad);
    free(t);
    t = sc__http_bearer("bearer    abc \t", &bad);
    SC_CHECK_STR(t, "abc");
    free(t);
    SC_CHECK(sc__http_bearer("Bearer   ", &bad) == NULL && bad);
    SC_CHECK(sc__http_bearer("Basic dXNlcg==", &bad) == NULL && bad);
    SC_CHECK(sc__http_bearer("", &bad) == NULL && bad);
}

static void test_query(void)
{
    char q[12] = "";

    SC_CHECK(sc__http_query_add(q, sizeof(q), "a=1"));
    SC_CHECK(sc__http_query_add(q, sizeof(q), "b=22"));
    SC_CHECK_STR(q, "a=1&b=22");
    SC_CHECK(!sc__http_query_add(q, sizeof(q), "c=3")); /* would need 12 */
    SC_CHECK_STR(q, "a=1&b=22");
    SC_CHECK(sc__http_query_add(q, sizeof(q), "c="));
    SC_CHECK_STR(q, "a=1&b=22&c=");
}

static sc_http_next decide(sc_app *app, sc_http_method m, const char *path, int framing,
                           size_t len, const sc_http_route **route, sc_http_reply *rep)
{
    char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX];
    sc_http_req req;

    memset(&req, 0, sizeof(req));
    req.method = m;
    snprintf(req.path, sizeof(req.path), "%s", path);
    free(rep->body);
    memset(rep, 0, sizeof(*rep));
    return sc__http_decide(app, &req, framing, len, route, args, rep);
}

static void test_decide(void)
{
    const sc_http_route *route;
    sc_http_reply rep = {0};
    char err[128];
    sc_config cfg;
    sc_app *app;

    sc_config_defaults(&cfg);
    app = sc_app_new(&cfg, (const uint8_t *)"0123456789abcdef", 16, NULL, err, sizeof(err));
    SC_CHECK(app != NULL);
    if (!app)
        return;
    SC_CHECK_INT(decide(app, SC_HTTP_POST, "/whip/demo", 0, 10, &route, &rep), SC_HTTP_NEXT_ROUTE);
    SC_CHECK(route != NULL && strcmp(route->prefix, "/whip") == 0);
    SC_CHECK_INT(decide(app, SC_HTTP_GET, "/whip/demo", 0, 0, &route, &rep), SC_HTTP_NEXT_ANSWER);
    SC_CHECK_INT(rep.status, 405);
    SC_CHECK_STR(rep.allow, "POST, OPTIONS");
    SC_CHECK(route == NULL);
    SC_CHECK_INT(decide(app, SC_HTTP_OPTIONS, "/whip/demo", 0, 0, &route, &rep),
                 SC_HTTP_NEXT_ANSWER);
    SC_CHECK_INT(rep.status, 204);
    SC_CHECK_INT(decide(app, SC_HTTP_GET, "/nope", 0, 0, &route, &rep), SC_HTTP_NEXT_ANSWER);
    SC_CHECK_INT(rep.status, 404);
    SC_CHECK_INT(decide(app, SC_HTTP_HEAD, "/index.html", 0, 0, &route, &rep), SC_HTTP_NEXT_PAGE);
    SC_CHECK_INT(rep.status, 0);
    /* the body's refusals close, for a route and for a page alike */
    SC_CHECK_INT(decide(app, SC_HTTP_POST, "/whip/demo", 411, 0, &route, &rep),
                 SC_HTTP_NEXT_CLOSE);
    SC_CHECK_INT(rep.status, 411);
    SC_CHECK(route == NULL);
    SC_CHECK_INT(decide(app, SC_HTTP_GET, "/index.html", 400, 0, &route, &rep),
                 SC_HTTP_NEXT_CLOSE);
    SC_CHECK_INT(rep.status, 400);
    SC_CHECK_INT(decide(app, SC_HTTP_GET, "/", 0, (size_t)cfg.max_body + 1, &route, &rep),
                 SC_HTTP_NEXT_CLOSE);
    SC_CHECK_INT(rep.status, 413);
    free(rep.body);
    sc_app_free(app);
}

int main(void)
{
    test_framing();
    test_bearer();
    test_query();
    test_decide();
    SC_TEST_END();
}
