/* signaling/http/conns.c: the default connection budget, and the count of
 * connections and files against it, in all and per address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "signaling/app/app.h"
#include "signaling/http/conns.h"
#include "tests/unit/sc_test.h"

static void test_default(void)
{
    /* the limit less what is open, the margin and a sixteenth */
    SC_CHECK_INT(sc_conns_default(256, 15), 256 - 15 - SC_CONNS_MARGIN - 16);
    SC_CHECK_INT(sc_conns_default(1024, 20), 1024 - 20 - SC_CONNS_MARGIN - 64);
    SC_CHECK_INT(sc_conns_default(65536, 40), 65536 - 40 - SC_CONNS_MARGIN - 4096);
    /* a limit too small for anything still leaves one */
    SC_CHECK_INT(sc_conns_default(32, 30), 1);
    SC_CHECK_INT(sc_conns_default(0, 0), 1);
    /* one address: a quarter of the budget, at least one */
    SC_CHECK_INT(sc_conns_per_ip_default(61368), 15342);
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
    SC_CHECK(sc_conns_admit(&app, -1, NULL, 0, false));
    cfg.max_connections = 3;
    sc_conns_fix(&app);
    SC_CHECK_INT(app.stats.http_connections_max, 3);
    SC_CHECK_INT(app.stats.http_connections_per_ip_max, 1); /* a quarter of 3 */
    sc_conns_opened(&app, &c[0]);
    sc_conns_opened(&app, &c[1]);
    SC_CHECK(sc_conns_admit(&app, -1, NULL, 0, false));
    SC_CHECK(sc_conns_file_admit(&app)); /* two connections and a file: full */
    SC_CHECK(!sc_conns_admit(&app, -1, NULL, 0, false));
    SC_CHECK(!sc_conns_file_admit(&app));
    SC_CHECK_INT(app.stats.http_connections_refused, 1);
    sc_conns_file_done(&app);
    SC_CHECK(sc_conns_admit(&app, -1, NULL, 0, false));
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

static struct sockaddr_in v4(const char *a)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, a, &sin.sin_addr);
    return sin;
}

static struct sockaddr_in6 v6(const char *a)
{
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &sin6.sin6_addr);
    return sin6;
}

/* sc_conns_admit, and sc_conns_opened for conn when admitted. */
static bool take(sc_app *app, const void *sa, socklen_t len, const void *conn)
{
    if (!sc_conns_admit(app, -1, sa, len, false))
        return false;
    sc_conns_opened(app, conn);
    return true;
}

static void test_per_address(void)
{
    static int c[16];
    struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
    struct sockaddr_in6 x = v6("2001:db8:1:2::10"), x2 = v6("2001:db8:1:2:aaaa::1"),
                        y = v6("2001:db8:1:3::10");
    sc_config cfg;
    sc_app app;

    sc_config_defaults(&cfg);
    memset(&app, 0, sizeof(app));
    app.cfg = &cfg;
    cfg.max_connections = 10;
    cfg.max_connections_per_ip = 2;
    sc_conns_fix(&app);
    SC_CHECK_INT(app.stats.http_connections_per_ip_max, 2);
    SC_CHECK(take(&app, &a, sizeof(a), &c[0]));
    SC_CHECK(take(&app, &a, sizeof(a), &c[1]));
    SC_CHECK(!take(&app, &a, sizeof(a), &c[2]));
    SC_CHECK(!take(&app, &a, sizeof(a), &c[2]));
    SC_CHECK_INT(app.stats.http_connections_refused_per_ip, 2);
    SC_CHECK_INT(app.stats.http_connections_refused, 0);
    /* another address is not locked out */
    SC_CHECK(take(&app, &b, sizeof(b), &c[3]));
    /* one closes: the address may open one again */
    sc_conns_closed(&app, &c[0]);
    SC_CHECK(take(&app, &a, sizeof(a), &c[4]));
    SC_CHECK(!take(&app, &a, sizeof(a), &c[5]));
    /* IPv6 counts by /64 */
    SC_CHECK(take(&app, &x, sizeof(x), &c[6]));
    SC_CHECK(take(&app, &x2, sizeof(x2), &c[7]));
    SC_CHECK(!take(&app, &x, sizeof(x), &c[8]));
    SC_CHECK(take(&app, &y, sizeof(y), &c[9]));
    SC_CHECK_INT(app.stats.http_connections_refused_per_ip, 4);
    SC_CHECK_INT(app.stats.http_connections, 6);
    /* 0: no limit */
    cfg.max_connections_per_ip = 0;
    sc_conns_fix(&app);
    SC_CHECK(take(&app, &a, sizeof(a), &c[10]));
    SC_CHECK_INT(app.stats.http_connections_refused_per_ip, 4);
    for (int i = 0; i < 16; i++)
        sc_conns_closed(&app, &c[i]);
    SC_CHECK_INT(app.stats.http_connections, 0);
    sc_conns_free_state(&app);
}

int main(void)
{
    test_default();
    test_budget();
    test_per_address();
    SC_TEST_END();
}
