/* signaling/http/conns.c: the default connection budget, and the count of
 * connections and files against it. */
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
}

static void test_budget(void)
{
    sc_config cfg;
    sc_app app;

    sc_config_defaults(&cfg);
    memset(&app, 0, sizeof(app));
    app.cfg = &cfg;
    /* nothing refused before the budget is fixed */
    SC_CHECK(sc_conns_admit(&app, -1, false));
    cfg.max_connections = 3;
    sc_conns_fix(&app);
    SC_CHECK_INT(app.stats.http_connections_max, 3);
    sc_conns_opened(&app);
    sc_conns_opened(&app);
    SC_CHECK(sc_conns_admit(&app, -1, false));
    SC_CHECK(sc_conns_file_admit(&app)); /* two connections and a file: full */
    SC_CHECK(!sc_conns_admit(&app, -1, false));
    SC_CHECK(!sc_conns_file_admit(&app));
    SC_CHECK_INT(app.stats.http_connections_refused, 1);
    sc_conns_file_done(&app);
    SC_CHECK(sc_conns_admit(&app, -1, false));
    sc_conns_closed(&app);
    sc_conns_closed(&app);
    sc_conns_closed(&app); /* more closes than opens (lws's listener): no wrap */
    SC_CHECK_INT(app.stats.http_connections, 0);
    sc_conns_file_done(&app);
    SC_CHECK_INT(app.stats.http_files_open, 0);
    /* an explicit budget over what the descriptors allow is lowered */
    cfg.max_connections = 100000000;
    sc_conns_fix(&app);
    SC_CHECK(app.stats.http_connections_max < 100000000);
}

int main(void)
{
    test_default();
    test_budget();
    SC_TEST_END();
}
