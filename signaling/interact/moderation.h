/* Moderation: mute, kick, ban (persisted), slow mode, chat off, the room's
 * sensitive-word list, the pre-approval review queue, the audience list.
 * Functions are declared in interact.h. */
#ifndef SC_MODERATION_H
#define SC_MODERATION_H
#include "signaling/interact/interact.h"
#endif
