/* Q&A: ask (optionally anonymous), upvote once per user, answer, list by
 * votes.  Functions are declared in interact.h with the other modules. */
#ifndef SC_QA_H
#define SC_QA_H
#include "signaling/interact/interact.h"
#endif
