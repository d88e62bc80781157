/* The connection budget (--max-connections): how many descriptors the
 * front end may hold at once, below the process's descriptor limit, so that
 * lws's accept() never fails with EMFILE (lws would retry it at once, for
 * ever: a core spinning and nothing served).  Each accepted connection
 * (HTTP, WebSocket, the redirect port) holds one, each page or recording
 * being sent one more.  Past the budget a new connection is accepted and
 * closed at once (plain HTTP first gets a 503 JSON too-many-connections),
 * and a page or recording is answered 503 instead of opened.
 *
 * One address (an IPv6 address by its /64, peers.h) holds at most
 * --max-connections-per-ip of them; past that its new connections are
 * refused the same way (503 too-many-connections-from-address).
 *
 * Above the budget a few places are kept for monitoring (the reserve):
 * once the budget is spent, a new connection on the main port takes one
 * of them, if its address holds fewer than SC_CONNS_RESERVE_PER_IP, and
 * is served only a health check or the metrics (sc_conns_reserved), then
 * closed.  The reserve comes out of the descriptors the budget is derived
 * from, so the two together stay below the limit.
 *
 * The figures are app->stats' http_connections (open now),
 * http_connections_reserve (of them, on the reserve), http_files_open,
 * http_connections_max (the budget), http_connections_per_ip_max,
 * http_connections_refused and http_connections_refused_per_ip. */
#ifndef SC_HTTP_CONNS_H
#define SC_HTTP_CONNS_H

#include <stdbool.h>
#include <sys/socket.h>

#include "signaling/app/app.h"

/* Kept besides the descriptors open at start: a sixteenth of the limit
 * and this many, for what opens later (recordings being written, one per
 * recorded publisher; the database's journal; composites; certificate
 * reloads). */
#define SC_CONNS_MARGIN 32
/* The reserve's places (fewer when the limit leaves little room: an eighth
 * of it at most), what one address may hold of them, and how long a
 * connection on one has to finish its TLS handshake or, in plain HTTP, to
 * send its request. */
#define SC_CONNS_RESERVE 8
#define SC_CONNS_RESERVE_PER_IP 2
#define SC_CONNS_RESERVE_TIMEOUT_S 5
/* Without --max-connections-per-ip, one address may hold this fraction of
 * the budget (1/4): it takes four addresses to fill it, while an office
 * behind one NAT address still gets thousands under the unit's
 * LimitNOFILE. */
#define SC_CONNS_PER_IP_SHARE 4

/* The default budget: nofile (the descriptor limit) less the descriptors
 * open now, the margin and the reserve; at least 1.  The reserve's size in
 * *reserve. */
int sc_conns_default(long nofile, int open_now, int *reserve);
/* The default per-address cap for a budget: a quarter of it, at least 1. */
int sc_conns_per_ip_default(int budget);

/* Fixes the budget (--max-connections, else the default; an explicit one
 * over the default is lowered to it, with a warning), the per-address cap
 * and the reserve, and logs them: once the media plane, the store and the
 * listening sockets are open.  Until then nothing is refused. */
void sc_conns_fix(sc_app *app);
/* Frees app->conns, the budget's own state (sc_app_free calls it). */
void sc_conns_free_state(sc_app *app);

/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION: whether the connection just
 * accepted on fd from peer (NULL: unknown) may stay; if not it is counted,
 * and answered 503 first when plain (not TLS).  reserve: the port serves
 * the reserve (the main one, not the redirect port). */
bool sc_conns_admit(sc_app *app, int fd, const struct sockaddr *peer, socklen_t peer_len,
                    bool plain, bool reserve);
/* LWS_CALLBACK_WSI_CREATE / _DESTROY of a connection (conn: its wsi).  lws
 * creates the connection sc_conns_admit let in right after it, before
 * accepting another: the one admitted last is conn. */
void sc_conns_opened(sc_app *app, const void *conn);
void sc_conns_closed(sc_app *app, const void *conn);
/* Whether conn holds a place of the reserve: it may ask only for a health
 * check or the metrics, and is closed after the answer. */
bool sc_conns_reserved(sc_app *app, const void *conn);
/* Anything else asked on a place of the reserve is refused: counted with
 * the connections refused, and logged as they are. */
void sc_conns_refuse_reserved(sc_app *app);
/* Before opening a file to send (a page, a recording): whether the budget
 * has room; if so it is counted until sc_conns_file_done. */
bool sc_conns_file_admit(sc_app *app);
void sc_conns_file_done(sc_app *app);

#endif
