/* signaling/http/conns.c: the default connection budget, and the count of
 * connections and files against it, per address and on the reserve. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "signaling/app/app.h"
#include "signaling/http/conns.h"
#include "tests/unit/sc_test.h"

static void test_default(void)
{
    int r;

    /* the limit less what is open, the margin, a sixteenth and the reserve */
    SC_CHECK_INT(sc_conns_default(256, 15, &r), 256 - 15 - SC_CONNS_MARGIN - 16 - 8);
    SC_CHECK_INT(r, SC_CONNS_RESERVE);
    SC_CHECK_INT(sc_conns_default(1024, 20, &r), 1024 - 20 - SC_CONNS_MARGIN - 64 - 8);
    SC_CHECK_INT(sc_conns_default(65536, 40, &r), 65536 - 40 - SC_CONNS_MARGIN - 4096 - 8);
    /* little room: the reserve takes an eighth of it at most */
    SC_CHECK_INT(sc_conns_default(128, 60, &r), 128 - 60 - SC_CONNS_MARGIN - 8 - 3);
    SC_CHECK_INT(r, 3);
    /* a limit too small for anything still leaves one, and no reserve */
    SC_CHECK_INT(sc_conns_default(32, 30, &r), 1);
    SC_CHECK_INT(r, 0);
    SC_CHECK_INT(sc_conns_default(0, 0, &r), 1);
    SC_CHECK_INT(r, 0);
    /* one address: a quarter of the budget, at least one */
    SC_CHECK_INT(sc_conns_per_ip_default(61360), 15340);
    SC_CHECK_INT(sc_conns_per_ip_default(3), 1);
}

static void test_budget(void)
{
    static int c[3];
    sc_config cfg;
    sc_app app;

    sc_config_defaults(&cfg);
    memset(&app, 0, sizeof(app));
    app.cfg = &cfg;
    /* nothing refused before the budget is fixed */
    SC_CHECK(sc_conns_admit(&app, -1, NULL, 0, false, true));
    cfg.max_connections = 3;
    sc_conns_fix(&app);
    SC_CHECK_INT(app.stats.http_connections_max, 3);
    SC_CHECK_INT(app.stats.http_connections_per_ip_max, 1); /* a quarter of 3 */
    sc_conns_opened(&app, &c[0]);
    sc_conns_opened(&app, &c[1]);
    SC_CHECK(sc_conns_admit(&app, -1, NULL, 0, false, true));
    SC_CHECK(sc_conns_file_admit(&app)); /* two connections and a file: full */
    /* full, and an unknown address takes no place of the reserve */
    SC_CHECK(!sc_conns_admit(&app, -1, NULL, 0, false, true));
    SC_CHECK(!sc_conns_file_admit(&app));
    SC_CHECK_INT(app.stats.http_connections_refused, 1);
    sc_conns_file_done(&app);
    SC_CHECK(sc_conns_admit(&app, -1, NULL, 0, false, true));
    sc_conns_closed(&app, &c[0]);
    sc_conns_closed(&app, &c[1]);
    sc_conns_closed(&app, &c[2]); /* more closes than opens (lws's listener): no wrap */
    SC_CHECK_INT(app.stats.http_connections, 0);
    sc_conns_file_done(&app);
    SC_CHECK_INT(app.stats.http_files_open, 0);
    /* an explicit budget over what the descriptors allow is lowered */
    cfg.max_connections = 100000000;
    sc_conns_fix(&app);
    SC_CHECK(app.stats.http_connections_max < 100000000);
    sc_conns_free_state(&app);
}

/* sc_conns_admit for a connection from addr (IPv4 or IPv6), and
 * sc_conns_opened for conn when it is admitted. */
static bool take(sc_app *app, const char *addr, bool reserve, const void *conn)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    if (strchr(addr, ':')) {
        sin6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &sin6->sin6_addr);
    } else {
        sin->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &sin->sin_addr);
    }
    if (!sc_conns_admit(app, -1, (struct sockaddr *)&ss, sizeof(ss), false, reserve))
        return false;
    sc_conns_opened(app, conn);
    return true;
}

/* An app whose budget is fixed at max, per_ip from one address. */
static void setup(sc_app *app, sc_config *cfg, int max, int per_ip)
{
    sc_config_defaults(cfg);
    memset(app, 0, sizeof(*app));
    app->cfg = cfg;
    cfg->max_connections = max;
    cfg->max_connections_per_ip = per_ip;
    sc_conns_fix(app);
}

static void test_per_address(void)
{
    static int c[16];
    const char *a = "192.0.2.1", *b = "192.0.2.2";
    sc_config cfg;
    sc_app app;

    setup(&app, &cfg, 10, 2);
    SC_CHECK_INT(app.stats.http_connections_per_ip_max, 2);
    SC_CHECK(take(&app, a, true, &c[0]));
    SC_CHECK(take(&app, a, true, &c[1]));
    SC_CHECK(!take(&app, a, true, &c[2]));
    SC_CHECK(!take(&app, a, false, &c[2])); /* the redirect port alike */
    SC_CHECK_INT(app.stats.http_connections_refused_per_ip, 2);
    SC_CHECK_INT(app.stats.http_connections_refused, 0);
    /* another address is not locked out */
    SC_CHECK(take(&app, b, true, &c[3]));
    /* one closes: the address may open one again */
    sc_conns_closed(&app, &c[0]);
    SC_CHECK(take(&app, a, true, &c[4]));
    SC_CHECK(!take(&app, a, true, &c[5]));
    /* IPv6 counts by /64 */
    SC_CHECK(take(&app, "2001:db8:1:2::10", true, &c[6]));
    SC_CHECK(take(&app, "2001:db8:1:2:aaaa::1", true, &c[7]));
    SC_CHECK(!take(&app, "2001:db8:1:2::10", true, &c[8]));
    SC_CHECK(take(&app, "2001:db8:1:3::10", true, &c[9]));
    SC_CHECK_INT(app.stats.http_connections_refused_per_ip, 4);
    SC_CHECK_INT(app.stats.http_connections, 6);
    /* 0: no limit */
    cfg.max_connections_per_ip = 0;
    sc_conns_fix(&app);
    SC_CHECK(take(&app, a, true, &c[10]));
    SC_CHECK_INT(app.stats.http_connections_refused_per_ip, 4);
    for (int i = 0; i < 16; i++)
        sc_conns_closed(&app, &c[i]);
    SC_CHECK_INT(app.stats.http_connections, 0);
    sc_conns_free_state(&app);
}

static void test_reserve(void)
{
    static int held[4], r[16];
    const char *a = "192.0.2.1", *b = "192.0.2.2";
    sc_config cfg;
    sc_app app;
    int n;

    /* (the test's descriptor limit leaves room for the whole reserve) */
    setup(&app, &cfg, 2, 0);
    SC_CHECK(take(&app, a, true, &held[0]));
    SC_CHECK(take(&app, a, true, &held[1]));
    SC_CHECK(!sc_conns_reserved(&app, &held[0]));
    /* full: the redirect port refuses, the main port gives a place of the
     * reserve, two per address */
    SC_CHECK(!take(&app, b, false, &r[0]));
    SC_CHECK_INT(app.stats.http_connections_refused, 1);
    SC_CHECK(take(&app, a, true, &r[0]));
    SC_CHECK(take(&app, a, true, &r[1]));
    SC_CHECK(!take(&app, a, true, &r[2]));
    SC_CHECK_INT(app.stats.http_connections_refused, 2);
    SC_CHECK(sc_conns_reserved(&app, &r[0]) && sc_conns_reserved(&app, &r[1]));
    SC_CHECK_INT(app.stats.http_connections_reserve, 2);
    /* loopback is no different */
    SC_CHECK(take(&app, "127.0.0.1", true, &r[2]));
    SC_CHECK(sc_conns_reserved(&app, &r[2]));
    /* other addresses take the rest, then it is spent */
    n = 3;
    for (int i = 1; n < SC_CONNS_RESERVE; i++) {
        char o[32];
        snprintf(o, sizeof(o), "198.51.100.%d", i);
        SC_CHECK(take(&app, o, true, &r[n++]));
    }
    SC_CHECK_INT(app.stats.http_connections_reserve, SC_CONNS_RESERVE);
    SC_CHECK(!take(&app, b, true, &r[n]));
    /* the reserve does not count against the budget: one of the budget
     * closes, the next is an ordinary connection again */
    sc_conns_closed(&app, &held[0]);
    SC_CHECK(take(&app, b, true, &held[2]));
    SC_CHECK(!sc_conns_reserved(&app, &held[2]));
    SC_CHECK(!sc_conns_file_admit(&app));
    /* a place of the reserve that closes is free again */
    sc_conns_closed(&app, &r[0]);
    SC_CHECK_INT(app.stats.http_connections_reserve, SC_CONNS_RESERVE - 1);
    SC_CHECK(take(&app, a, true, &r[0]));
    SC_CHECK(sc_conns_reserved(&app, &r[0]));
    sc_conns_refuse_reserved(&app);
    SC_CHECK_INT(app.stats.http_connections_refused, 4);
    for (int i = 0; i < 16; i++)
        sc_conns_closed(&app, &r[i]);
    for (int i = 0; i < 4; i++)
        sc_conns_closed(&app, &held[i]);
    SC_CHECK_INT(app.stats.http_connections_reserve, 0);
    SC_CHECK_INT(app.stats.http_connections, 0);
    sc_conns_free_state(&app);
}

int main(void)
{
    test_default();
    test_budget();
    test_per_address();
    test_reserve();
    SC_TEST_END();
}
