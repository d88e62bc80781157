/* The stage's WebSocket messages (raise hand, invite, accept, mute, move
 * back to the audience): issue 5.  The table is filled as the flow lands;
 * an empty table adds no message types. */
#include "ws.h"

const sc_ws_command sc_stage_commands[] = {
    {NULL, NULL, 0, false, NULL},
};
const size_t sc_stage_n_commands = 0;
