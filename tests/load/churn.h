/* Viewer churn for soak runs (loadgen --churn PCT): the last PCT % of the
 * viewer slots form the churn pool, and each of them leaves (DELETE of its
 * WHEP session) and joins anew (a fresh peer: new socket, ICE credentials,
 * DTLS) once a minute, one slot at a time at an even pace, so that a tenth
 * of the audience turns over each minute at PCT 10.  The other slots stay
 * for the whole run: their loss is the soak's "nothing disturbed the ones
 * that stayed".
 *
 * Two threads use it.  The main thread asks which slot is due and reports
 * what its DELETE and sign-in gave (atomic counters).  The viewer thread,
 * which owns the peers, reports a rejoined peer's first media and every
 * retired peer (its loss is kept), and builds the tallies.  Peers are only
 * read, never kept. */
#ifndef LG_CHURN_H
#define LG_CHURN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "peer.h"

typedef struct lg_churn lg_churn;

/* NULL when out of memory or pct is not in (0, 100]. */
lg_churn *lg_churn_new(int viewers, double pct_per_min);
void lg_churn_free(lg_churn *c);

/* Slots below this stay; the rest churn. */
int lg_churn_first_churner(const lg_churn *c);

/* Main thread.  The schedule starts at start_us; no slot is due at or
 * after stop_us (the last rejoins get time to finish). */
void lg_churn_start(lg_churn *c, int64_t start_us, int64_t stop_us);
/* The slot due to leave and rejoin at now_us, or -1; *next_us is lowered
 * to when the next one is due. */
int lg_churn_due(lg_churn *c, int64_t now_us, int64_t *next_us);
/* A slot left: the DELETE's status (0: no answer; no session to delete:
 * pass 200 when nothing was open). */
void lg_churn_left(lg_churn *c, int delete_status);
/* Its rejoin's POST: true on 201 with a usable answer. */
void lg_churn_posted(lg_churn *c, bool ok);

/* Viewer thread.  A rejoined peer's first media packet (once per peer). */
void lg_churn_first_media(lg_churn *c, const lg_peer *p);
/* A peer of the pool leaves the viewer thread for good: keep its loss,
 * and count a rejoin that never got media. */
void lg_churn_retire(lg_churn *c, const lg_peer *p);

/* A viewer that got no media for this long stalled. */
#define LG_STALL_US 2000000

/* Tally over the live peers at now_us (viewer thread, or the main thread
 * once the viewer thread has stopped): viewers connected and those silent
 * for LG_STALL_US, the stayers' and the churners' loss and stalls, churn
 * counters, rejoin join times.  `end` also counts rejoined peers still
 * without media as failed rejoins. */
json_t *lg_churn_tally(lg_churn *c, lg_peer *const *peers, int n, int64_t now_us, bool end);
/* One line of a tally on stderr. */
void lg_churn_print(const json_t *tally);

#endif
