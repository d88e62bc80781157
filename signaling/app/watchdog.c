#include "signaling/app/watchdog.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "signaling/http/http.h"
#include "signaling/http/metrics.h"

struct sc_watchdog {
    lws_sorted_usec_list_t sul; /* first: the callback gets its address */
    sc_app *app;
    uint64_t every_us;
    bool withheld; /* the last tick sent nothing */
};

/* A worker list for the log: "1, 3". */
static void list_workers(const int *stuck, int k, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; i < k && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%d", i ? ", " : "", stuck[i]);
}

static void tick(lws_sorted_usec_list_t *sul)
{
    sc_watchdog *wd = (sc_watchdog *)sul;
    int stuck[SC_METRICS_MAX_WORKERS];
    int k = sc_metrics_stuck_now(wd->app, stuck);
    char which[128];

    if (k == 0) {
        if (wd->withheld) {
            SC_INFO("main", "watchdog: every media worker turns again, pinging systemd");
            sd_notifyf(0, "STATUS=serving on port %d", sc_http_port(wd->app));
        }
        wd->withheld = false;
        sd_notify(0, "WATCHDOG=1");
    } else if (!wd->withheld) {
        /* -ENODEV: the media plane is being taken down; stopping is
         * TimeoutStopSec's business. */
        wd->withheld = true;
        if (k > 0) {
            list_workers(stuck, k, which, sizeof(which));
            SC_WARN("main", "watchdog: media worker(s) %s stuck, not pinging systemd", which);
            sd_notifyf(0, "STATUS=media worker(s) %s stuck", which);
        }
    }
    if (wd->app->loop)
        lws_sul_schedule(wd->app->loop, 0, &wd->sul, tick, (lws_usec_t)wd->every_us);
}

sc_watchdog *sc_watchdog_start(sc_app *app)
{
    uint64_t usec = 0;
    sc_watchdog *wd;

    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0 || !app->loop)
        return NULL;
    wd = calloc(1, sizeof(*wd));
    if (!wd) {
        SC_ERROR("main", "watchdog: out of memory, systemd will not be pinged");
        return NULL;
    }
    wd->app = app;
    /* Half the interval, as sd_watchdog_enabled(3) advises. */
    wd->every_us = usec / 2 ? usec / 2 : 1;
    SC_INFO("main", "watchdog: pinging systemd every %llu ms while every media worker turns",
            (unsigned long long)(wd->every_us / 1000));
    tick(&wd->sul);
    return wd;
}

void sc_watchdog_free(sc_watchdog *wd)
{
    free(wd);
}
