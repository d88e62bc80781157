/* Internal to signaling/store/: the SQLite handle with its prepared
 * statements, and the statement helpers the domain files share. */
#ifndef SC_STORE_PRIVATE_H
#define SC_STORE_PRIVATE_H

#include <sqlite3.h>
#include <stdint.h>

typedef struct sc_store sc_store; /* store.h */

struct sc_store {
    sqlite3 *db;
    sqlite3_stmt *ins_session;
    sqlite3_stmt *end_session;
    sqlite3_stmt *ins_interaction;
    sqlite3_stmt *is_banned;
    int version;
};

/* Binds v as text, or NULL when v is NULL. */
void sc__store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Binds v as text, or NULL when v is NULL or "". */
void sc__store_bind_opt(sqlite3_stmt *s, int i, const char *v);
/* Steps a prepared (kept) statement to its end, resets it; 0 or -EIO
 * (logged with what). */
int sc__store_step_done(sc_store *st, sqlite3_stmt *s, const char *what);
/* Steps a one-off statement and finalizes it; 0 or -EIO. */
int sc__store_step_finalize(sc_store *st, sqlite3_stmt *s, const char *what);
/* Prepares sql, binds the texts then (if i64) one integer, steps it once;
 * 0 or -EIO. */
int sc__store_exec_bound(sc_store *st, const char *sql, const char *const *args, int nargs,
                         const int64_t *i64, const char *what);
/* Column i as text into dst ("" for NULL). */
void sc__store_copy_col(char *dst, size_t cap, sqlite3_stmt *s, int i);

#endif
