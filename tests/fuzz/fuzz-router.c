/* libFuzzer target for the signalling messages: signaling/api/router.c and
 * every module's command table (ws.c, interact/, room/stage.c,
 * recordings/replay.c), dispatched as ws.c dispatches a /ws text message.
 *
 * Each input gets a fresh app (fuzz-app.h: in-memory store, no media
 * plane) and three connections with no socket behind them (private.h): a
 * viewer and the host (a presenter: moderate) that joined room "demo" with
 * tokens the target mints, and one that has not joined.  The input is one
 * message, or several separated by NUL bytes (which no JSON text holds);
 * each goes to the viewer, the host and the unjoined connection in turn,
 * the interaction module's timer round runs after it, and whatever the
 * server queued is taken.  A connection the server closes (a kick) is
 * freed as lws would free it.
 *
 * Aborts on broken invariants: a join that does not answer "joined", or a
 * message from the server that is not a JSON object with a string "type".
 * ASan and LSan (at exit) do the rest.  SC_FUZZ_VERBOSE=1 prints what the
 * server sent (to check what a seed reaches). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/http/private.h"
#include "signaling/interact/interact.h"
#include "tests/fuzz/fuzz-app.h"

enum { VIEWER, HOST, UNJOINED, N_CLIENTS };

/* Takes everything queued for c; each must be a JSON object with a string
 * type.  The first one's type is copied to first (when not NULL). */
static int verbose = -1;

static void drain(sc_ws_client *c, char *first, size_t cap)
{
    size_t len;
    char *s;

    if (verbose < 0)
        verbose = getenv("SC_FUZZ_VERBOSE") != NULL;
    while ((s = sc__ws_local_take(c, &len))) {
        json_t *m = json_loadb(s, len, 0, NULL);
        const char *type = json_string_value(json_object_get(m, "type"));
        if (!json_is_object(m) || !type) {
            fprintf(stderr, "fuzz-router: the server sent %s\n", s);
            abort();
        }
        if (verbose)
            fprintf(stderr, "  %p <- %s\n", (void *)c, s);
        if (first && !first[0])
            snprintf(first, cap, "%s", type);
        json_decref(m);
        free(s);
    }
}

static sc_ws_client *joined(sc_app *app, const char *peer, sc_role role, const char *name,
                            const char *sub)
{
    sc_ws_client *c = sc__ws_local_new(app, peer);
    char *token = sc_fuzz_token(NULL, role, name, sub);
    json_t *join = json_pack("{s:s,s:s,s:i}", "type", "join", "token", token, "id", 1);
    char *text = json_dumps(join, JSON_COMPACT);
    char first[32] = "";

    if (!c || !token || !text)
        abort();
    sc__ws_local_receive(c, text, strlen(text));
    drain(c, first, sizeof(first));
    if (strcmp(first, "joined") != 0) {
        fprintf(stderr, "fuzz-router: the %s's join got %s\n", name, first);
        abort();
    }
    free(text);
    json_decref(join);
    free(token);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_app *app = sc_fuzz_app_new();
    sc_ws_client *c[N_CLIENTS];
    const char *msg = (const char *)data, *end = msg + size;

    c[VIEWER] = joined(app, "192.0.2.1", SC_ROLE_VIEWER, "Viewer", "u-viewer");
    c[HOST] = joined(app, "192.0.2.2", SC_ROLE_PRESENTER, "Host", "u-host");
    c[UNJOINED] = sc__ws_local_new(app, "192.0.2.3");
    drain(c[VIEWER], NULL, 0);
    for (;;) {
        const char *nul = memchr(msg, '\0', (size_t)(end - msg));
        size_t len = nul ? (size_t)(nul - msg) : (size_t)(end - msg);

        for (int i = 0; i < N_CLIENTS; i++) {
            if (!c[i])
                continue;
            sc__ws_local_receive(c[i], msg, len);
            sc_interact_flush(app);
            for (int j = 0; j < N_CLIENTS; j++) {
                if (!c[j])
                    continue;
                drain(c[j], NULL, 0);
                if (sc__ws_local_closing(c[j])) {
                    sc__ws_local_free(c[j]);
                    c[j] = NULL;
                }
            }
        }
        if (!nul)
            break;
        msg = nul + 1;
    }
    for (int i = 0; i < N_CLIENTS; i++)
        sc__ws_local_free(c[i]);
    sc_fuzz_app_free(app);
    return 0;
}
