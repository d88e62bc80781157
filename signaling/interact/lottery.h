/* Lottery: N winners among present viewers, checked-in users or correct
 * quiz answerers, drawn with OpenSSL's CSPRNG.  Functions are declared in
 * interact.h. */
#ifndef SC_LOTTERY_H
#define SC_LOTTERY_H
#include "signaling/interact/interact.h"
#endif
