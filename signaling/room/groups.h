/* Breakout groups (docs/protocol.md, "Breakout groups"): a class room's
 * trainer splits the participants into groups, each an internal room
 * "CLASS~gN" whose parent is the class.  Moving a participant moves its
 * /ws client between the rooms (chat, Q&A, polls follow) and its media
 * sessions inside the SFU (sc_sfu_move_session): never a new handshake.
 *
 * State lives on the signalling thread, per class room (the room
 * aggregate's SC_ROOM_SLOT_GROUPS); assignments are kept by user id and
 * stored (setting "groups"), so late joiners and reconnects land in their
 * group, and the last grouping can be reused. */
#ifndef SC_GROUPS_H
#define SC_GROUPS_H

#include "signaling/api/router.h"
#include "signaling/http/http.h"
#include "signaling/http/ws.h"

/* The timer (app->groups); 0 or -ENOMEM.  free is a no-op without it. */
int sc_groups_init(sc_app *app);
void sc_groups_free(sc_app *app);

/* After `joined` (and the stage and interaction state) went out: tells the
 * client the class's groups and lands an assigned participant in its open
 * group. */
void sc_groups_on_join(sc_ws_client *c);
/* The client is about to be freed (still in its room): attendance, help
 * requests and granted permissions forget it. */
void sc_groups_on_leave(sc_ws_client *c);

/* The class's recording was turned on or off: its groups' publishers
 * follow (and a group's files stop with it). */
void sc_groups_set_recording(sc_app *app, const char *room, bool on);
/* "CLASS~gN" -> "CLASS" into out (a room that is no group is copied). */
void sc_groups_class_of(const char *room, char *out, size_t cap);
/* Whether room is a breakout group's internal room. */
bool sc_groups_is_group(const char *room);

extern const sc_command sc_groups_commands[];
extern const size_t sc_groups_n_commands;
extern const sc_http_route sc_groups_routes[];
extern const size_t sc_groups_n_routes;

#endif
