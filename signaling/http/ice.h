/* GET /api/ice-servers: the TURN servers a page may relay its media
 * through, with credentials minted for the caller (signaling/turn/turn.h).
 * Any valid room token will do; without one the answer is 401 and holds
 * no credential.  With no TURN configured the list is empty. */
#ifndef SC_ICE_H
#define SC_ICE_H

#include <stddef.h>

#include "signaling/http/http.h"

extern const sc_http_route sc_ice_routes[];
extern const size_t sc_ice_n_routes;

#endif
