/* Polls and quizzes: single or multiple choice, draft -> open -> closed,
 * one ballot per user, live results, quiz answers and per-participant
 * scores.  Functions are declared in interact.h. */
#ifndef SC_POLL_H
#define SC_POLL_H
#include "signaling/interact/interact.h"
#endif
