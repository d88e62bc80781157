/* The store: a room's interactions (chat, Q&A, polls, lottery, check-in,
 * moderation), its bans and its settings. */
#ifndef SC_STORE_INTERACTIONS_H
#define SC_STORE_INTERACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_store sc_store; /* store.h */

/* Record one interaction: kind ("chat", "danmaku", "question", "vote",
 * "lottery", "checkin", "moderation", ...), who (user_id/name may be NULL),
 * Unix ms, the room's media time in ms, and the message as JSON text.
 * Returns the row id (> 0, unique for ever: also the message id clients
 * see) or -EIO. */
int64_t sc_store_interaction_add(sc_store *st, const char *room, const char *kind,
                                 const char *user_id, const char *name, int64_t ts_ms,
                                 int64_t media_ms, const char *data);

typedef struct sc_store_interaction {
    int64_t id;
    const char *kind;
    const char *user_id;   /* may be NULL */
    const char *name;      /* may be NULL */
    int64_t ts_ms;
    int64_t media_ms;
    const char *data;      /* JSON text */
} sc_store_interaction;

/* Call fn for a room's interactions in id order: all of them, or only
 * those of `kind` (NULL: every kind); last > 0 keeps only the last `last`
 * rows.  Borrowed strings are valid during the call.  Count or -EIO. */
int sc_store_interactions(sc_store *st, const char *room, const char *kind, int last,
                          void (*fn)(void *ud, const sc_store_interaction *row), void *ud);

/* Call fn for a room's interactions whose kind is one of kinds (1 to
 * SC_STORE_KINDS_MAX of them) and whose id is above after_id (0: all), in
 * id order: what a room's interaction state is rebuilt from at its first
 * use after a restart.  Count, -EINVAL (no or too many kinds) or -EIO. */
#define SC_STORE_KINDS_MAX 8
int sc_store_interactions_since(sc_store *st, const char *room, const char *const *kinds,
                                size_t n_kinds, int64_t after_id,
                                void (*fn)(void *ud, const sc_store_interaction *row),
                                void *ud);

/* Bans by user id, per room; they outlive restarts.  0 or -EIO. */
int sc_store_ban(sc_store *st, const char *room, const char *user_id, const char *by,
                 const char *reason, int64_t at_ms);
int sc_store_unban(sc_store *st, const char *room, const char *user_id);
/* 1 banned, 0 not, -EIO. */
int sc_store_is_banned(sc_store *st, const char *room, const char *user_id);

/* Per-room settings (e.g. the room's word list, slow mode) as text.
 * _get returns a malloc'd copy or NULL when unset. */
int sc_store_setting_set(sc_store *st, const char *room, const char *key, const char *value);
char *sc_store_setting_get(sc_store *st, const char *room, const char *key);
/* A room's interactions with ts in [from_ms, to_ms], oldest first (the
 * replay timeline).  Count or -EIO. */
int sc_store_interactions_between(sc_store *st, const char *room, int64_t from_ms,
                                  int64_t to_ms,
                                  void (*fn)(void *ud, const sc_store_interaction *row),
                                  void *ud);

#endif
