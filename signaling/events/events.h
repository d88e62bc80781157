/* Events (issue 18): what an organiser schedules (title, time, room, who
 * may watch, how the watch page looks), the organiser API under
 * /api/v1/events, and the watch link /e/{slug} through which viewers are
 * admitted with a token the server mints.  docs/protocol.md, "Events". */
#ifndef SC_EVENTS_H
#define SC_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/app/app.h"
#include "signaling/http/http.h"

extern const sc_http_route sc_events_routes[];
extern const size_t sc_events_n_routes;

/* Subscribes the bus topics events follow: a publisher going live makes
 * its room's event live; a viewer opening a second session in the room of
 * a single_session event ends its first ("replaced").  0 or -ENOMEM. */
int sc_events_subscribe(sc_app *app);

/* Whether the room belongs to an event that forbids recording. */
bool sc_events_recording_forbidden(sc_app *app, const char *room);
/* A token of a presenter or co-host link the organiser revoked. */
struct sc_token;
bool sc_events_token_revoked(sc_app *app, const struct sc_token *tok);

/* Loads the database for region rules given with --geoip/--geoip6 (an
 * unreadable file, or an invalid MaxMind DB, is an error); without them
 * Debian's files are loaded the first time an event has region rules
 * (about half a second), not at every start.  0 or -1 with a reason in
 * err. */
int sc_events_load_geo(sc_app *app, char *err, size_t errlen);

/* Frees the module's state (sc_app_free). */
void sc_events_free(sc_app *app);

#endif
