/* The /ws WebSocket protocol (docs/protocol.md): join, publish, subscribe,
 * unpublish, unsubscribe, ping; room events fanned out from the media
 * plane.  Outgoing messages are queued per connection and written only on
 * LWS_CALLBACK_SERVER_WRITEABLE. */
#ifndef SC_WS_H
#define SC_WS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "signaling/api/router.h"
#include "signaling/http/http.h"
#include "signaling/room/rooms.h"

struct lws;

/* True for the lws callback reasons that belong to a WebSocket. */
bool sc_ws_handles(int reason);
/* Forwarded from the protocol callback; *slot is the connection's client
 * (NULL until established).  Returns what the lws callback must return. */
int sc_ws_callback(sc_app *app, struct lws *wsi, int reason, sc_ws_client **slot, void *in,
                   size_t len);
/* Queue a message for c (steals msg).  0, -ENOMEM, or -EPIPE when the
 * client is closing or too far behind (it is then disconnected). */
int sc_ws_send(sc_ws_client *c, json_t *msg);
/* LWS_CALLBACK_EVENT_WAIT_CANCELLED: drain the media plane's events and
 * fan them out to the rooms' clients. */
void sc_ws_poll_sfu(sc_app *app);
/* Subscribes the WebSocket side to the bus: room events (publishers,
 * viewers, active speaker) to the room's clients, session events to the
 * session's owner.  0 or -1. */
int sc_ws_subscribe(sc_app *app);
/* Frees app->ws, the module's own state (sc_app_free calls it). */
void sc_ws_free_state(sc_app *app);

/* Data channels: a session's channel is a client of this module (see
 * docs/protocol.md "Data channels").  sc_ws_dc_closed frees the client a
 * session's channel backs (the channel or the session ended); no-op when
 * none.  sc_ws_dc_free_all frees every such client (shutdown). */
struct sc_session_entry;
void sc_ws_dc_closed(sc_app *app, struct sc_session_entry *e);
void sc_ws_dc_free_all(sc_app *app);

/* ---- for modules that add message types (interactions, the stage) ---------- */

struct sc_token;

/* The core commands (join, publish, subscribe, ...); registered with the
 * router by app.c like every module's table (router.h). */
extern const sc_command sc_ws_commands[];
extern const size_t sc_ws_n_commands;
/* Each module defines its table in its own file. */
extern const sc_command sc_interact_commands[];
extern const size_t sc_interact_n_commands;
extern const sc_command sc_stage_commands[];
extern const size_t sc_stage_n_commands;
extern const sc_command sc_catalog_commands[];   /* replay.c: chapter */
extern const size_t sc_catalog_n_commands;

/* The sender's verified token (role, name, sub, perms) and joined room. */
const struct sc_token *sc_ws_client_token(const sc_ws_client *c);
const char *sc_ws_client_room(const sc_ws_client *c);
/* The room it joined with its token (a class), where sc_ws_client_room is
 * the breakout group it is in now. */
const char *sc_ws_client_home(const sc_ws_client *c);
/* Whether it is a session's data channel rather than a /ws connection. */
bool sc_ws_client_is_channel(const sc_ws_client *c);
/* Its network address (a data channel's: the session's creator's). */
const char *sc_ws_client_peer(sc_ws_client *c);
/* Breakout groups: the client leaves its room for room (same home): the
 * room's client list, hand or seat, and the interaction state it is sent
 * (chat history, polls, settings of room).  Its media sessions are the
 * caller's (sc_sfu_move_session).  0 or -ENOMEM. */
int sc_ws_client_move(sc_ws_client *c, const char *room);
/* The publishers of room as `joined` lists them; *viewers its count. */
#define SC_MAX_PUBLISHERS_LISTED 64
json_t *sc_ws_room_publishers(sc_app *app, const char *room, int *viewers);
sc_app *sc_ws_client_app(const sc_ws_client *c);
/* Send msg (stolen) to c, with "re" set to the request's id. */
void sc_ws_reply(sc_ws_client *c, json_t *id, json_t *msg);
/* Send {"type":"error","code","message","re"} to c and count it. */
void sc_ws_error(sc_ws_client *c, json_t *id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Send msg (stolen) to every client joined to room. */
void sc_ws_broadcast(sc_app *app, const char *room, json_t *msg);
/* Change what the client may do from now on (the host granting or
 * revoking live); its token is unchanged. */
void sc_ws_client_set_perms(sc_ws_client *c, uint32_t perms);
/* Close the connection once what is queued for it has been sent (kick);
 * its media sessions end with it. */
void sc_ws_client_close(sc_ws_client *c, const char *reason);
/* Call fn for every client joined to room. */
void sc_ws_foreach_client(sc_app *app, const char *room, void (*fn)(void *ud, sc_ws_client *c),
                          void *ud);

#endif
