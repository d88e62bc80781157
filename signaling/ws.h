/* The /ws WebSocket protocol (docs/protocol.md): join, publish, subscribe,
 * unpublish, unsubscribe, ping; room events fanned out from the media
 * plane.  Outgoing messages are queued per connection and written only on
 * LWS_CALLBACK_SERVER_WRITEABLE. */
#ifndef SC_WS_H
#define SC_WS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct lws;

/* True for the lws callback reasons that belong to a WebSocket. */
bool sc_ws_handles(int reason);
/* Forwarded from the protocol callback; *slot is the connection's client
 * (NULL until established).  Returns what the lws callback must return. */
int sc_ws_callback(sc_server *srv, struct lws *wsi, int reason, sc_ws_client **slot, void *in,
                   size_t len);
/* Queue a message for c (steals msg).  0, -ENOMEM, or -EPIPE when the
 * client is closing or too far behind (it is then disconnected). */
int sc_ws_send(sc_ws_client *c, json_t *msg);
/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain the media plane's events and
 * fan them out to the rooms' clients. */
void sc_ws_poll_sfu(sc_server *srv);

#endif
