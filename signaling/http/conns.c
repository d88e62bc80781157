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
#include "signaling/http/peers.h"
#include "signaling/http/refuse.h"

/* Refusals are logged once per window (a flood of them is one line and a
 * sum), the rest counted in log_suppressed. */
#define LOG_WINDOW_MS 10000

/* The budget's own state (app->conns). */
struct sc_conns {
    sc_peers *peers;      /* the connections per address */
    int reserve_max;      /* the reserve's places (0 before the budget is fixed) */
    /* The connection sc_conns_admit let in last, until lws creates it. */
    bool pending, pending_keyed, pending_reserve;
    sc_peer_key pending_key;
    sc_log_window budget_log, address_log;
};

static struct sc_conns *state(sc_app *app)
{
    if (!app->conns && (app->conns = calloc(1, sizeof(*app->conns))) &&
        !(app->conns->peers = sc_peers_new())) {
        free(app->conns);
        app->conns = NULL;
    }
    return app->conns;
}

void sc_conns_free_state(sc_app *app)
{
    if (!app->conns)
        return;
    sc_peers_free(app->conns->peers);
    free(app->conns);
    app->conns = NULL;
}

int sc_conns_default(long nofile, int open_now, int *reserve)
{
    long room = nofile - open_now - SC_CONNS_MARGIN - nofile / 16;
    long r = room / 8 < SC_CONNS_RESERVE ? room / 8 : SC_CONNS_RESERVE;
    long n;

    r = r < 0 ? 0 : r;
    n = room - r;
    *reserve = (int)r;
    return n < 1 ? 1 : n > INT32_MAX ? INT32_MAX : (int)n;
}

int sc_conns_per_ip_default(int budget)
{
    return budget / SC_CONNS_PER_IP_SHARE < 1 ? 1 : budget / SC_CONNS_PER_IP_SHARE;
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
    struct sc_conns *st = state(app);
    struct rlimit rl;
    long nofile;
    int open_now = open_descriptors(), def, reserve, max = app->cfg->max_connections;
    int per_ip = app->cfg->max_connections_per_ip;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (rlim_t)INT32_MAX)
        nofile = INT32_MAX;
    else
        nofile = (long)rl.rlim_cur;
    if (open_now < 0)
        open_now = 64; /* no /proc: a guess at the media sockets and the store */
    def = sc_conns_default(nofile, open_now, &reserve);
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
                def, nofile, open_now, nofile - open_now - (long)def - reserve);
    max = max ? max : def;
    if (per_ip < 0)
        per_ip = sc_conns_per_ip_default(max);
    if (per_ip)
        SC_INFO("http", "at most %d of them from one address, an IPv6 address by its /64 (%s)",
                per_ip,
                app->cfg->max_connections_per_ip < 0
                    ? "a quarter; --max-connections-per-ip to choose, 0 for no limit"
                    : "--max-connections-per-ip");
    else
        SC_INFO("http", "no limit on the connections of one address (--max-connections-per-ip 0)");
    if (!st)
        reserve = 0;
    else
        st->reserve_max = reserve;
    SC_INFO("http",
            "and %d more, %d per address, for health checks and metrics once they are all held",
            reserve, SC_CONNS_RESERVE_PER_IP);
    app->stats.http_connections_max = (uint64_t)max;
    app->stats.http_connections_per_ip_max = (uint64_t)per_ip;
}

/* In use: connections (but those on the reserve) and files being sent.
 * Nothing is refused before the budget is fixed. */
static bool full(const sc_app *app)
{
    const sc_app_counters *s = &app->stats;
    uint64_t conns = s->http_connections - s->http_connections_reserve;

    if (s->http_connections_reserve > s->http_connections)
        conns = 0;
    return s->http_connections_max && conns + s->http_files_open >= s->http_connections_max;
}

/* Whether a refusal may be logged now (one line per window); counts it in
 * log_suppressed if not, and sums up the last window's. */
static bool may_log(sc_app *app, sc_log_window *w, const char *option, uint64_t value)
{
    unsigned n;

    if (!w) {
        app->stats.log_suppressed++;
        return false;
    }
    if (sc_log_window_roll(w, (int64_t)sc_mono_ms(), LOG_WINDOW_MS, &n))
        SC_WARN("http", "%u more connections refused in the last %d s (%s %d)", n,
                LOG_WINDOW_MS / 1000, option, (int)value);
    if (w->lines) {
        w->suppressed++;
        app->stats.log_suppressed++;
        return false;
    }
    w->lines++;
    return true;
}

static void log_refusal(sc_app *app)
{
    struct sc_conns *st = state(app);

    if (may_log(app, st ? &st->budget_log : NULL, "--max-connections",
                app->stats.http_connections_max))
        SC_WARN("http", "%d connections open: refusing new ones (--max-connections)",
                (int)app->stats.http_connections);
}

static void log_address_refusal(sc_app *app, const sc_peer_key *key, unsigned held)
{
    struct sc_conns *st = state(app);
    char addr[64];

    if (!may_log(app, st ? &st->address_log : NULL, "--max-connections-per-ip",
                 app->stats.http_connections_per_ip_max))
        return;
    sc_peer_key_format(key, addr, sizeof(addr));
    SC_WARN("http", "%s holds %u connections: refusing more from it (--max-connections-per-ip)",
            addr, held);
}

/* The 503 a refused plain connection gets before it is closed. */
static void answer(int fd, const char *code, const char *message)
{
    char buf[1024], drain[4096];
    sc_http_reply rep;
    size_t n;

    memset(&rep, 0, sizeof(rep));
    sc_http_error(&rep, 503, code, "%s", message);
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
}

bool sc_conns_admit(sc_app *app, int fd, const struct sockaddr *peer, socklen_t peer_len,
                    bool plain, bool reserve)
{
    struct sc_conns *st = state(app);
    uint64_t per_ip = app->stats.http_connections_per_ip_max;
    unsigned held = 0, held_reserve = 0;
    sc_peer_key key;
    bool keyed = st && peer && sc_peer_key_of(peer, peer_len, &key) == 0, on_reserve;

    if (st)
        st->pending = false;
    if (keyed)
        held = sc_peers_held(st->peers, &key, &held_reserve);
    if (per_ip && keyed && held >= per_ip) {
        app->stats.http_connections_refused_per_ip++;
        log_address_refusal(app, &key, held);
        if (plain)
            answer(fd, "too-many-connections-from-address",
                   "this address holds all the connections one address may: close some or "
                   "try again shortly");
        return false;
    }
    /* The budget spent: a place of the reserve, on the main port, if the
     * address holds few of them. */
    on_reserve = full(app);
    if (on_reserve && !(reserve && keyed && held_reserve < SC_CONNS_RESERVE_PER_IP &&
                        app->stats.http_connections_reserve < (uint64_t)st->reserve_max)) {
        app->stats.http_connections_refused++;
        log_refusal(app);
        if (plain)
            answer(fd, "too-many-connections",
                   "the server holds all the connections it may: try again shortly");
        return false;
    }
    if (st) {
        st->pending = true;
        st->pending_keyed = keyed;
        st->pending_reserve = on_reserve;
        if (keyed)
            st->pending_key = key;
    }
    return true;
}

void sc_conns_opened(sc_app *app, const void *conn)
{
    struct sc_conns *st = app->conns;

    app->stats.http_connections++;
    if (!st || !st->pending)
        return; /* not one sc_conns_admit let in */
    st->pending = false;
    /* Out of memory: counted, but not under its address (nor on the
     * reserve, which it then uses up like any connection). */
    if (st->pending_keyed &&
        sc_peers_add(st->peers, conn, &st->pending_key, st->pending_reserve) == 0 &&
        st->pending_reserve)
        app->stats.http_connections_reserve++;
}

void sc_conns_closed(sc_app *app, const void *conn)
{
    bool reserve = false;

    if (app->stats.http_connections)
        app->stats.http_connections--;
    if (app->conns && sc_peers_remove(app->conns->peers, conn, &reserve) && reserve &&
        app->stats.http_connections_reserve)
        app->stats.http_connections_reserve--;
}

bool sc_conns_reserved(sc_app *app, const void *conn)
{
    return app->conns && sc_peers_reserve(app->conns->peers, conn);
}

void sc_conns_refuse_reserved(sc_app *app)
{
    app->stats.http_connections_refused++;
    log_refusal(app);
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
