/* The signalling plane's rooms and sessions: which media sessions exist
 * (and who may PATCH/DELETE them or must hear their events), and the room
 * aggregate: one sc_room per room name, holding which WebSocket clients sit
 * in it (to broadcast room events) and one state slot per feature module
 * (the interactions, the stage), so that every module finds its part of a
 * room in the same place.  A room may have a parent (a breakout group is a
 * room whose parent is the class).
 *
 * Owned by the signalling thread; nothing here is locked.  The registry
 * stores client pointers but never dereferences them: ws.c removes a
 * client (sc_rooms_leave + sc_rooms_disown) before freeing it. */
#ifndef SC_ROOMS_H
#define SC_ROOMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/sfu.h"
#include "signaling/auth/token.h"

typedef struct sc_rooms sc_rooms;
typedef struct sc_room sc_room;
typedef struct sc_ws_client sc_ws_client; /* defined in ws.c */

#define SC_PEER_ADDR_MAX 63                 /* a numeric IPv4 or IPv6 address */

typedef struct sc_session_entry {
    uint64_t id;
    char room[SC_ROOM_NAME_MAX + 1];
    char sub[SC_PEER_NAME_MAX + 1];      /* token subject that created it */
    char name[SC_PEER_NAME_MAX + 1];
    char peer[SC_PEER_ADDR_MAX + 1];     /* the client's address when it was created */
    sc_session_kind kind;
    bool http;                           /* created by WHIP/WHEP */
    bool tcp;                            /* connected over ICE-TCP (else UDP, or
                                            not connected yet) */
    bool closing;                        /* close requested, CLOSED event pending
                                            (set by sc_rooms_session_closing) */
    sc_ws_client *owner;                 /* WebSocket that created it, or NULL */
    sc_token tok;                        /* the creator's verified token: its data
                                            channel acts as this user */
    sc_ws_client *dc;                    /* the client its data channel backs, or NULL */
    uint64_t opened_us;                  /* sc_mono_us() when its offer was taken up */
} sc_session_entry;

sc_rooms *sc_rooms_new(void);
void sc_rooms_free(sc_rooms *r);

/* Sessions.  add copies *e; 0, -EEXIST or -ENOMEM. */
int sc_rooms_add_session(sc_rooms *r, const sc_session_entry *e);
/* Borrowed pointer, valid until the entry is removed. */
sc_session_entry *sc_rooms_find_session(sc_rooms *r, uint64_t id);
void sc_rooms_remove_session(sc_rooms *r, uint64_t id);
size_t sc_rooms_session_count(const sc_rooms *r);
/* Marks e closing (its end was asked for; the media plane's CLOSED event
 * removes it): from now on it no longer counts below. */
void sc_rooms_session_closing(sc_rooms *r, sc_session_entry *e);
/* Sessions in room, not closing, created with the token subject sub / from
 * the client address peer.  Counted as sessions come and go, so asking
 * costs one hash lookup (the per-user and per-address limits ask on every
 * new session). */
size_t sc_rooms_user_sessions(const sc_rooms *r, const char *room, const char *sub);
size_t sc_rooms_peer_sessions(const sc_rooms *r, const char *room, const char *peer);

typedef void (*sc_session_fn)(void *ud, sc_session_entry *e);
/* Call fn for every session (fn must not add or remove sessions). */
void sc_rooms_foreach_session(sc_rooms *r, sc_session_fn fn, void *ud);
/* How many sessions c owns (a walk over every session: for the rare
 * publish/subscribe, not per packet). */
size_t sc_rooms_owned_count(const sc_rooms *r, const sc_ws_client *c);
/* Call fn for each session owned by c, then forget c as their owner.
 * Returns how many it found. */
int sc_rooms_disown(sc_rooms *r, sc_ws_client *c, sc_session_fn fn, void *ud);

/* ---- The room aggregate ---------------------------------------------------- */

/* Each feature module that keeps state per room owns one slot. */
typedef enum sc_room_slot {
    SC_ROOM_SLOT_INTERACT,   /* interact.h: chat, Q&A, polls, moderation... */
    SC_ROOM_SLOT_STAGE,      /* stage.h: raised hands and seats */
    SC_ROOM_SLOT_GROUPS,     /* groups.h: a class's breakout groups */
    SC_ROOM_SLOTS
} sc_room_slot;

/* The room called name, or NULL when it does not exist. */
sc_room *sc_rooms_find(sc_rooms *r, const char *name);
/* The room called name, created (under parent, which may be NULL) when it
 * does not exist; NULL when out of memory.  An existing room keeps the
 * parent it was created with.  A room lives while it has a client, a slot's state or
 * a child room, and is freed when the last of them goes. */
sc_room *sc_rooms_open(sc_rooms *r, const char *name, sc_room *parent);
const char *sc_room_name(const sc_room *room);
sc_room *sc_room_parent(const sc_room *room);
size_t sc_room_child_count(const sc_room *room);
/* A module's state in the room, or NULL. */
void *sc_room_state(const sc_room *room, sc_room_slot slot);
/* Set (or with state NULL clear) a module's state; free_fn(state) is
 * called when the state is replaced or the registry is freed.  Clearing a
 * slot does not call free_fn (the module frees its own state) and frees
 * the room when nothing else holds it: do not use room afterwards. */
void sc_room_set_state(sc_room *room, sc_room_slot slot, void *state, void (*free_fn)(void *));
typedef void (*sc_room_fn)(void *ud, sc_room *room);
/* Call fn for every room (fn must not create or free rooms). */
void sc_rooms_foreach(sc_rooms *r, sc_room_fn fn, void *ud);
size_t sc_rooms_count(const sc_rooms *r);

/* WebSocket membership (opens the room on join, may free it on leave).
 * join: 0 or -ENOMEM.  leave is a no-op if absent. */
int sc_rooms_join(sc_rooms *r, const char *room, sc_ws_client *c);
void sc_rooms_leave(sc_rooms *r, const char *room, sc_ws_client *c);
typedef void (*sc_client_fn)(void *ud, sc_ws_client *c);
/* fn may queue messages but must not join or leave. */
void sc_rooms_foreach_client(sc_rooms *r, const char *room, sc_client_fn fn, void *ud);
size_t sc_rooms_client_count(sc_rooms *r, const char *room);

/* Room names a client may give: 1..SC_ROOM_USER_MAX of [A-Za-z0-9_-]. */
bool sc_rooms_name_ok(const char *room);

/* "%016llx" and its inverse (exactly 16 hex digits, not 0).  0 or -EINVAL. */
void sc_session_id_format(uint64_t id, char out[17]);
int sc_session_id_parse(const char *s, size_t len, uint64_t *out);

#endif
