/* The stage (mic-linking): viewers raise hands, a moderator
 * invites one, the invitee accepts and is granted `publish` on that
 * connection until it leaves the stage or is removed.  The message types
 * are in sc_stage_commands (ws.h); docs/protocol.md, "Stage".
 *
 * State lives on the signalling thread, per (server, room), and holds
 * client pointers only between sc_stage_on_join-time and sc_stage_on_leave,
 * which ws.c calls before it frees a joined client. */
#ifndef SC_STAGE_H
#define SC_STAGE_H

#include "signaling/http/ws.h"

/* After `joined` went out: tells the client who is on stage, and a
 * moderator the hand queue. */
void sc_stage_on_join(sc_ws_client *c);
/* The client left its room (already out of the room's client list): drop
 * its hand, invitation or seat and tell the room. */
void sc_stage_on_leave(sc_ws_client *c);

#endif
