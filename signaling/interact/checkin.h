/* Timed check-in (sign-in) and the pinned announcement.  Functions are
 * declared in interact.h. */
#ifndef SC_CHECKIN_H
#define SC_CHECKIN_H
#include "signaling/interact/interact.h"
#endif
