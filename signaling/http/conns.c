#include "signaling/http/conns.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/http/http.h"
#include "signaling/http/refuse.h"

/* Refusals are logged once per window (a flood of them is one line and a
 * sum), the rest counted in log_suppressed. */
#define LOG_WINDOW_MS 10000

static sc_log_window refusal_log;

int sc_conns_default(long nofile, int open_now)
{
    long n = nofile - open_now - SC_CONNS_MARGIN - nofile / 16;
    return n < 1 ? 1 : n > INT32_MAX ? INT32_MAX : (int)n;
}

/* Descriptors open in the process now (/proc/self/fd less the directory's
 * own), or -1. */
static int open_descriptors(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

void sc_conns_fix(sc_app *app)
{
    struct rlimit rl;
    long nofile;
    int open_now = open_descriptors(), def, max = app->cfg->max_connections;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (rlim_t)INT32_MAX)
        nofile = INT32_MAX;
    else
        nofile = (long)rl.rlim_cur;
    if (open_now < 0)
        open_now = 64; /* no /proc: a guess at the media sockets and the store */
    def = sc_conns_default(nofile, open_now);
    if (max && max > def) {
        SC_WARN("http",
                "--max-connections %d needs more descriptors than the limit allows "
                "(ulimit -n %ld, %d open): using %d; raise the limit (LimitNOFILE)",
                max, nofile, open_now, def);
        max = def;
    }
    if (def <= 16)
        SC_WARN("http", "ulimit -n %ld leaves room for %d connections only", nofile, def);
    if (max)
        SC_INFO("http",
                "at most %d connections at once (--max-connections; the descriptor limit %ld "
                "would allow %d)",
                max, nofile, def);
    else
        SC_INFO("http",
                "at most %d connections at once (the descriptor limit %ld less %d open now "
                "and %ld kept for recordings, the database and the like; --max-connections "
                "to choose)",
                def, nofile, open_now, nofile - open_now - (long)def);
    app->stats.http_connections_max = (uint64_t)(max ? max : def);
}

/* In use: connections and files being sent.  Nothing is refused before
 * the budget is fixed. */
static bool full(const sc_app *app)
{
    const sc_app_counters *s = &app->stats;
    return s->http_connections_max &&
           s->http_connections + s->http_files_open >= s->http_connections_max;
}

static void log_refusal(sc_app *app)
{
    unsigned n;

    if (sc_log_window_roll(&refusal_log, (int64_t)sc_mono_ms(), LOG_WINDOW_MS, &n))
        SC_WARN("http", "%u more connections refused in the last %d s (--max-connections %d)", n,
                LOG_WINDOW_MS / 1000, (int)app->stats.http_connections_max);
    if (refusal_log.lines) {
        refusal_log.suppressed++;
        app->stats.log_suppressed++;
        return;
    }
    refusal_log.lines++;
    SC_WARN("http", "%d connections open: refusing new ones (--max-connections)",
            (int)app->stats.http_connections);
}

bool sc_conns_admit(sc_app *app, int fd, bool plain)
{
    char buf[1024], drain[4096];
    sc_http_reply rep;
    size_t n;

    if (!full(app))
        return true;
    app->stats.http_connections_refused++;
    log_refusal(app);
    if (!plain)
        return false;
    memset(&rep, 0, sizeof(rep));
    sc_http_error(&rep, 503, "too-many-connections",
                  "the server holds all the connections it may: try again shortly");
    rep.retry_after = 1;
    n = sc_http_refusal(buf, sizeof(buf), &rep, false);
    free(rep.body);
    /* A fresh socket's send buffer is empty: this small write fits.  What
     * the client sent already is read first, so that the close is a FIN,
     * not a reset that could discard the answer. */
    while (recv(fd, drain, sizeof(drain), MSG_DONTWAIT) > 0)
        ;
    if (n)
        (void)send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    return false;
}

void sc_conns_opened(sc_app *app)
{
    app->stats.http_connections++;
}

void sc_conns_closed(sc_app *app)
{
    if (app->stats.http_connections)
        app->stats.http_connections--;
}

bool sc_conns_file_admit(sc_app *app)
{
    if (full(app))
        return false;
    app->stats.http_files_open++;
    return true;
}

void sc_conns_file_done(sc_app *app)
{
    if (app->stats.http_files_open)
        app->stats.http_files_open--;
}
