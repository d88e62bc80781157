/* Internal to signaling/http/ and its fuzz targets (tests/fuzz/):
 * WebSocket clients with no connection behind them. */
#ifndef SC_HTTP_PRIVATE_H
#define SC_HTTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/app/app.h"
#include "signaling/http/ws.h"

/* ---- ws.c: local clients ---------------------------------------------------- */

/* A WebSocket client with no connection: what the server sends it waits
 * in its queue until taken.  Messages go through the same checks and
 * command tables as a connection's. */
sc_ws_client *sc__ws_local_new(sc_app *app, const char *peer);
/* One complete text message from the client. */
void sc__ws_local_receive(sc_ws_client *c, const char *buf, size_t len);
/* The oldest message queued for c (malloc'd, NUL-terminated, *len its
 * length), or NULL when there is none. */
char *sc__ws_local_take(sc_ws_client *c, size_t *len);
/* Whether the server is done with it (kicked, too slow): lws would close
 * the connection now. */
bool sc__ws_local_closing(const sc_ws_client *c);
/* The connection closed: leaves its room, ends its sessions, frees it. */
void sc__ws_local_free(sc_ws_client *c);

#endif
