#include "tests/fuzz/fuzz-app.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "signaling/store/private.h"
#include "signaling/store/store.h"

static const uint8_t secret[] = "stagecast-fuzz-app-secret-0123456789";
static sc_config cfg;
/* Opened (and migrated) once: each input's writes are rolled back. */
static sc_store *store;

static void exec_sql(const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "fuzz: %s: %s\n", sql, msg ? msg : "?");
        abort();
    }
}

sc_app *sc_fuzz_app_new(void)
{
    char err[256];
    sc_app *app;

    if (!store) {
        sc_config_defaults(&cfg);
        /* No global word list: the rooms' own lists are what inputs set. */
        snprintf(cfg.data_dir, sizeof(cfg.data_dir), "/nonexistent/stagecast-fuzz");
        sc_log_set_level("error");
        if (!(store = sc_store_open(":memory:", err, sizeof(err)))) {
            fprintf(stderr, "fuzz: store: %s\n", err);
            abort();
        }
    }
    exec_sql("SAVEPOINT fuzz_input");
    app = sc_app_new(&cfg, secret, sizeof(secret) - 1, store, err, sizeof(err));
    if (!app) {
        fprintf(stderr, "fuzz: app: %s\n", err);
        abort();
    }
    return app;
}

void sc_fuzz_app_free(sc_app *app)
{
    sc_app_free(app);
    exec_sql("ROLLBACK TO fuzz_input");
    exec_sql("RELEASE fuzz_input");
}

char *sc_fuzz_token(const char *room, sc_role role, const char *name, const char *sub)
{
    return sc_token_issue(secret, sizeof(secret) - 1, room ? room : SC_FUZZ_ROOM, role, name,
                          sub, 3600, (int64_t)time(NULL));
}
