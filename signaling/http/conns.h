/* The connection budget (--max-connections): how many descriptors the
 * front end may hold at once, below the process's descriptor limit, so that
 * lws's accept() never fails with EMFILE (lws would retry it at once, for
 * ever: a core spinning and nothing served).  Each accepted connection
 * (HTTP, WebSocket, the redirect port) holds one, each page or recording
 * being sent one more.  Past the budget a new connection is accepted and
 * closed at once (plain HTTP first gets a 503 JSON too-many-connections),
 * and a page or recording is answered 503 instead of opened.  The figures
 * are app->stats' http_connections (open now), http_files_open,
 * http_connections_max (the budget) and http_connections_refused. */
#ifndef SC_HTTP_CONNS_H
#define SC_HTTP_CONNS_H

#include <stdbool.h>

#include "signaling/app/app.h"

/* Kept besides the descriptors open at start: a sixteenth of the limit
 * and this many, for what opens later (recordings being written, one per
 * recorded publisher; the database's journal; composites; certificate
 * reloads). */
#define SC_CONNS_MARGIN 32

/* The default budget: nofile (the descriptor limit) less the descriptors
 * open now and the margin; at least 1. */
int sc_conns_default(long nofile, int open_now);

/* Fixes the budget (--max-connections, else the default; an explicit one
 * over the default is lowered to it, with a warning) and logs it: once the
 * media plane, the store and the listening sockets are open.  Until then
 * nothing is refused. */
void sc_conns_fix(sc_app *app);

/* LWS_CALLBACK_FILTER_NETWORK_CONNECTION: whether the connection just
 * accepted on fd may stay; if not it is counted, and answered 503 first
 * when plain (not TLS). */
bool sc_conns_admit(sc_app *app, int fd, bool plain);
/* LWS_CALLBACK_WSI_CREATE / _DESTROY of a connection. */
void sc_conns_opened(sc_app *app);
void sc_conns_closed(sc_app *app);
/* Before opening a file to send (a page, a recording): whether the budget
 * has room; if so it is counted until sc_conns_file_done. */
bool sc_conns_file_admit(sc_app *app);
void sc_conns_file_done(sc_app *app);

#endif
