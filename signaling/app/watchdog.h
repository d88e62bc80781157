/* The systemd watchdog (WatchdogSec= in the unit): WATCHDOG=1 goes to the
 * service manager every half interval while the signalling loop turns (the
 * pings are its own timer) and every media worker's loop turned lately
 * (the /healthz condition, sc_metrics_stuck_now).  A stuck worker stops the
 * pings, so systemd restarts the process once the interval passes.
 *
 * Part of the binary beside main.c: it is what links libsystemd. */
#ifndef SC_WATCHDOG_H
#define SC_WATCHDOG_H

#include "signaling/app/app.h"

typedef struct sc_watchdog sc_watchdog;

/* Starts pinging on app's event loop when the service manager asked this
 * process for it (WATCHDOG_USEC, and WATCHDOG_PID naming it if set: see
 * sd_watchdog_enabled); NULL otherwise, or out of memory (logged). */
sc_watchdog *sc_watchdog_start(sc_app *app);
/* After the event loop is gone (sc_http_stop).  Accepts NULL. */
void sc_watchdog_free(sc_watchdog *wd);

#endif
