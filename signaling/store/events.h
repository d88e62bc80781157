/* The store: events (issue 18), what an organiser schedules and who may
 * watch it.  The feature (signaling/events/) validates; this file only
 * keeps rows. */
#ifndef SC_STORE_EVENTS_H
#define SC_STORE_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_store sc_store; /* store.h */

#define SC_EVENT_TITLE_MAX 200
#define SC_EVENT_DESC_MAX 4000
#define SC_EVENT_SLUG_MAX 64
#define SC_EVENT_LANDING_MAX 2000
#define SC_EVENT_NETS_MAX 64          /* CIDRs in an allow or deny list */
#define SC_EVENT_REGIONS_MAX 250      /* country codes in an allow or deny list */
#define SC_EVENT_ENTRY_MAX 128        /* a whitelist entry */
#define SC_EVENT_CODE_MAX 32          /* an invite code */
#define SC_EVENT_FORM_MAX 16384       /* a registration form, as JSON */
#define SC_EVENT_ANSWERS_MAX 8192     /* one registration's answers, as JSON */
#define SC_EVENT_NAME_MAX 32          /* a viewer's display name, characters */
#define SC_EVENT_BRANDING_MAX 8192    /* logo, cover, background, title, end page */
#define SC_EVENT_EMBED_MAX 20         /* origins that may frame the watch link */
#define SC_EVENT_EXTERNAL_MAX 4096    /* an external check's settings, as JSON */

typedef struct sc_store_event {
    int64_t id;
    char slug[SC_EVENT_SLUG_MAX + 1];
    char title[SC_EVENT_TITLE_MAX * 4 + 1];   /* UTF-8: up to 4 bytes a character */
    char description[SC_EVENT_DESC_MAX * 4 + 1];
    char room[72];
    int64_t starts_at, ends_at;               /* Unix seconds */
    char state[12];                           /* scheduled, live, ended */
    int viewer_cap;                           /* 0: the server's limit */
    bool recording_forbidden;
    char watch_type[16];                      /* public, password, whitelist, invite,
                                                 registration, external */
    char password_hash[160];                  /* "pbkdf2-sha256$iter$salt$hash", "" none */
    char color[8];                            /* "#rrggbb" or "" */
    char landing_text[SC_EVENT_LANDING_MAX * 4 + 1];
    int64_t created_at, updated_at;
    char allow_nets[SC_EVENT_NETS_MAX * 44];  /* CIDRs, one per line; "" any */
    char deny_nets[SC_EVENT_NETS_MAX * 44];
    char registration[SC_EVENT_FORM_MAX];     /* the form as JSON, "" none */
    char allow_regions[SC_EVENT_REGIONS_MAX * 3]; /* "DE,FR", "" any */
    char deny_regions[SC_EVENT_REGIONS_MAX * 3];
    bool single_session;                      /* a viewer's new session ends its others */
    char branding[SC_EVENT_BRANDING_MAX];     /* more branding as JSON ("" none) */
    char embed_origins[SC_EVENT_EMBED_MAX * 201]; /* "https://a https://b", "" none */
    char external[SC_EVENT_EXTERNAL_MAX];     /* the external check as JSON, its secret
                                                 included ("" none) */
} sc_store_event;

typedef struct sc_store_registration {
    int64_t id, event_id;
    char key[33];
    char state[12];                           /* pending, approved, rejected */
    char name[SC_EVENT_NAME_MAX * 4 + 1];
    char answers[SC_EVENT_ANSWERS_MAX];       /* JSON object */
    int64_t created_at, decided_at;
} sc_store_registration;

/* Inserts ev (its id is set).  0, -EEXIST (slug or room taken), -EIO. */
int sc_store_event_insert(sc_store *st, sc_store_event *ev);
/* Replaces every field of row ev->id.  0, -ENOENT, -EEXIST, -EIO. */
int sc_store_event_update(sc_store *st, const sc_store_event *ev);
/* 0, -ENOENT or -EIO. */
int sc_store_event_get(sc_store *st, int64_t id, sc_store_event *out);
int sc_store_event_by_slug(sc_store *st, const char *slug, sc_store_event *out);
int sc_store_event_by_room(sc_store *st, const char *room, sc_store_event *out);
int sc_store_event_delete(sc_store *st, int64_t id);
/* By start time.  Count or -EIO. */
int sc_store_events_list(sc_store *st, void (*fn)(void *ud, const sc_store_event *ev), void *ud);

/* Whitelist: adds n entries in one transaction; *added counts the new ones
 * (duplicates are not).  0 or -EIO (nothing added). */
int sc_store_whitelist_add(sc_store *st, int64_t event_id, const char *const *entries, size_t n,
                           size_t *added);
/* 1 listed, 0 not, -EIO. */
int sc_store_whitelist_has(sc_store *st, int64_t event_id, const char *entry);
/* Entries, or -EIO. */
int64_t sc_store_whitelist_count(sc_store *st, int64_t event_id);
int sc_store_whitelist_clear(sc_store *st, int64_t event_id);
/* Removes one entry: 1 removed, 0 not listed, -EIO. */
int sc_store_whitelist_remove(sc_store *st, int64_t event_id, const char *entry);

/* Invite codes: n new codes (given) with max_uses each, in one
 * transaction.  0, -EEXIST (a code is taken; nothing added), -EIO. */
int sc_store_invites_add(sc_store *st, int64_t event_id, const char *const *codes, size_t n,
                         int max_uses, int64_t now);
/* Removes codes (unknown ones are skipped); how many went, or -EIO. */
int sc_store_invites_revoke(sc_store *st, int64_t event_id, const char *const *codes, size_t n);
/* Uses a code once: 0, -ENOENT (no such code), -EDQUOT (used up), -EIO. */
int sc_store_invite_use(sc_store *st, int64_t event_id, const char *code);
/* Registrations: insert (id and key set by the caller's key; id filled).
 * 0 or -EIO. */
int sc_store_registration_insert(sc_store *st, sc_store_registration *r);
/* 0, -ENOENT or -EIO. */
int sc_store_registration_by_key(sc_store *st, int64_t event_id, const char *key,
                                 sc_store_registration *out);
int sc_store_registration_get(sc_store *st, int64_t event_id, int64_t id,
                              sc_store_registration *out);
/* Sets the state of row id of the event.  0, -ENOENT, -EIO. */
int sc_store_registration_decide(sc_store *st, int64_t event_id, int64_t id, const char *state,
                                 int64_t now);
/* Registrations not rejected, or -EIO. */
int64_t sc_store_registrations_active(sc_store *st, int64_t event_id);
/* Oldest first, only those in state (NULL: all).  Count or -EIO. */
int sc_store_registrations_list(sc_store *st, int64_t event_id, const char *state,
                                void (*fn)(void *ud, const sc_store_registration *r), void *ud);

/* Every code of an event, oldest first.  Count or -EIO. */
int sc_store_invites_list(sc_store *st, int64_t event_id,
                          void (*fn)(void *ud, const char *code, int max_uses, int uses),
                          void *ud);

#endif
