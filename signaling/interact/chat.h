/* Chat, danmaku (bullet comments) and likes: see interact.h, which declares
 * this module's functions (sc__cmd_chat, sc__chat_publish, ...) next to
 * the other interaction modules so the dispatch table sees them all. */
#ifndef SC_CHAT_H
#define SC_CHAT_H
#include "signaling/interact/interact.h"
#endif
