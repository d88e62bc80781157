/* An in-process signalling server for the fuzz targets that drive whole
 * requests (router, http): the sc_app that main.c assembles, without the
 * front end, the media plane (app->sfu NULL) or the recorder, over an
 * in-memory SQLite store.  Each input gets a new app, and what it wrote to
 * the store is rolled back (a savepoint), so one input cannot change what
 * the next one meets.  Tokens are signed with the app's secret. */
#ifndef SC_FUZZ_APP_H
#define SC_FUZZ_APP_H

#include <stdint.h>

#include "signaling/app/app.h"
#include "signaling/auth/token.h"

/* The room the targets' tokens name. */
#define SC_FUZZ_ROOM "demo"

/* A new app; aborts when it cannot be made (the target would test nothing). */
sc_app *sc_fuzz_app_new(void);
/* Frees the app and rolls the store back to what it held before. */
void sc_fuzz_app_free(sc_app *app);
/* A token for room (NULL: SC_FUZZ_ROOM; "*" for an admin's any room) valid
 * for an hour, signed with the apps' secret (malloc'd). */
char *sc_fuzz_token(const char *room, sc_role role, const char *name, const char *sub);

#endif
