/* WHIP (RFC 9725) and WHEP: HTTP offer/answer for publishing and viewing,
 * plus the session life cycle the WebSocket path shares (create, record,
 * close). */
#ifndef SC_WHIP_H
#define SC_WHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/sfu.h"
#include "signaling/auth/token.h"
#include "signaling/http/http.h"
#include "signaling/room/rooms.h"

/* The routes: POST /whip|whep/{room}, PATCH|DELETE /whip|whep/{room}/{id}. */
extern const sc_http_route sc_whip_routes[];
extern const size_t sc_whip_n_routes;

/* POST /whip/{room} (kind PUBLISH) or /whep/{room} (SUBSCRIBE). */
void sc_whip_post(sc_app *app, const sc_http_req *req, sc_session_kind kind,
                  const char *room, sc_http_reply *rep);
/* PATCH / DELETE /whip|whep/{room}/{session}. */
void sc_whip_patch(sc_app *app, const sc_http_req *req, sc_session_kind kind,
                   const char *room, const char *session_hex, sc_http_reply *rep);
void sc_whip_delete(sc_app *app, const sc_http_req *req, sc_session_kind kind,
                    const char *room, const char *session_hex, sc_http_reply *rep);

/* Create a media session for tok in room, asked for from the address
 * peer, register it (owner may be NULL for WHIP/WHEP) and record it.  The
 * room's allowances per user and per address come first (429
 * "too-many-sessions").  Returns 0 with *answer (malloc'd) and *id, or an
 * HTTP status with *code (protocol error code) and msg filled. */
/* media_room: where the SFU puts the session when it is not room (a
 * breakout group of the class `room`, which holds at most
 * SC_GROUP_MAX_PUBLISHERS publishers), or NULL. */
int sc_session_open(sc_app *app, const sc_token *tok, const char *room, const char *media_room,
                    const char *peer, sc_session_kind kind, const char *offer, size_t offer_len,
                    sc_ws_client *owner, char **answer, uint64_t *id, const char **code,
                    char *msg, size_t msglen);
/* Ask the media plane to end a session; its SESSION_CLOSED event finishes
 * the bookkeeping.  0 or -ENOENT. */
int sc_session_close(sc_app *app, uint64_t id);
/* The same with the reason its SESSION_CLOSED carries (static string). */
int sc_session_close_because(sc_app *app, uint64_t id, const char *reason);
/* SESSION_CLOSED: record the end and forget the session. */
void sc_session_closed(sc_app *app, uint64_t id, const char *reason);

const char *sc_session_kind_name(sc_session_kind kind);

/* Whether a room's publishers are recorded: the host's choice stored for
 * the room, else the server default (serve --record-by-default); never
 * without a recorder. */
bool sc_room_recording(sc_app *app, const char *room);
/* The host's control: remembered for the room (a room set to off is never
 * recorded), applied to the publishers on stage now.  0, -ENOTSUP (no
 * recorder), -EPERM (on, for the room of an event that forbids recording),
 * or the store's error. */
int sc_room_set_recording(sc_app *app, const char *room, bool on);

#endif
