/* The interaction layer's WebSocket messages (chat, Q&A, polls, lottery,
 * check-in, announcements, moderation): issue 5.  The table is filled as
 * each interaction lands; an empty table adds no message types. */
#include "ws.h"

const sc_ws_command sc_interact_commands[] = {
    {NULL, NULL, 0, false, NULL},
};
const size_t sc_interact_n_commands = 0;
