#include "signaling/room/rooms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/proto/bytes.h"

/* Session ids are random 64-bit values, so their low bits index the hash
 * directly.  A room's clients are a flat array: broadcasts walk it and
 * joins/leaves are rare next to messages.  Rooms hash by name. */
#define SESSION_BUCKETS 1024
#define ROOM_BUCKETS 256
#define TALLY_BUCKETS 1024

typedef struct session_node {
    sc_session_entry e;
    struct session_node *next;
} session_node;

typedef struct room_slot {
    void *state;
    void (*free_fn)(void *);
} room_slot;

struct sc_room {
    char name[SC_ROOM_NAME_MAX + 1];
    sc_rooms *reg;
    sc_room *parent;
    size_t n_children;
    sc_ws_client **clients;
    size_t n, cap;
    room_slot slots[SC_ROOM_SLOTS];
    struct sc_room *next;          /* hash chain */
};

/* Open sessions (not closing) under one key: "room/sub" or "room/peer" (a
 * room name holds no '/'). */
typedef struct tally_node {
    struct tally_node *next;
    size_t n;
    char key[];
} tally_node;

#define TALLY_KEY_MAX (SC_ROOM_NAME_MAX + 1 + SC_PEER_NAME_MAX + SC_PEER_ADDR_MAX + 2)

struct sc_rooms {
    session_node *sessions[SESSION_BUCKETS];
    size_t n_sessions;
    tally_node *by_user[TALLY_BUCKETS];
    tally_node *by_peer[TALLY_BUCKETS];
    sc_room *rooms[ROOM_BUCKETS];
    size_t n_rooms;
};

static size_t str_hash(const char *s)
{
    return (size_t)sc_fnv1a(s, strlen(s));
}

sc_rooms *sc_rooms_new(void)
{
    return calloc(1, sizeof(sc_rooms));
}

void sc_rooms_free(sc_rooms *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (session_node *n = r->sessions[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    for (size_t i = 0; i < TALLY_BUCKETS; i++) {
        for (tally_node *n = r->by_user[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
        for (tally_node *n = r->by_peer[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    for (size_t i = 0; i < ROOM_BUCKETS; i++) {
        for (sc_room *n = r->rooms[i], *next; n; n = next) {
            next = n->next;
            for (size_t k = 0; k < SC_ROOM_SLOTS; k++)
                if (n->slots[k].state && n->slots[k].free_fn)
                    n->slots[k].free_fn(n->slots[k].state);
            free(n->clients);
            free(n);
        }
    }
    free(r);
}

/* The tally of (room, who) in table, created when absent and create. */
static tally_node **tally_link(tally_node *const *table, const char *room, const char *who)
{
    char key[TALLY_KEY_MAX];
    tally_node **p;

    snprintf(key, sizeof(key), "%s/%s", room, who);
    p = (tally_node **)&table[str_hash(key) % TALLY_BUCKETS];
    while (*p && strcmp((*p)->key, key) != 0)
        p = &(*p)->next;
    return p;
}

static size_t tally_get(tally_node *const *table, const char *room, const char *who)
{
    tally_node *n = *tally_link(table, room, who);
    return n ? n->n : 0;
}

/* Counts one more session under (room, who); 0 or -ENOMEM. */
static int tally_up(tally_node **table, const char *room, const char *who)
{
    tally_node **p = tally_link(table, room, who);

    if (!*p) {
        size_t len = strlen(room) + 1 + strlen(who) + 1;
        tally_node *n = calloc(1, sizeof(*n) + len);
        if (!n)
            return -ENOMEM;
        snprintf(n->key, len, "%s/%s", room, who);
        *p = n;
    }
    (*p)->n++;
    return 0;
}

static void tally_down(tally_node **table, const char *room, const char *who)
{
    tally_node **p = tally_link(table, room, who), *dead = *p;

    if (!dead)
        return;
    if (--dead->n == 0) {
        *p = dead->next;
        free(dead);
    }
}

static void tallies_down(sc_rooms *r, const sc_session_entry *e)
{
    tally_down(r->by_user, e->room, e->sub);
    tally_down(r->by_peer, e->room, e->peer);
}

int sc_rooms_add_session(sc_rooms *r, const sc_session_entry *e)
{
    session_node **head = &r->sessions[e->id % SESSION_BUCKETS];
    session_node *n;

    if (sc_rooms_find_session(r, e->id))
        return -EEXIST;
    n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    if (!e->closing) {
        if (tally_up(r->by_user, e->room, e->sub) < 0) {
            free(n);
            return -ENOMEM;
        }
        if (tally_up(r->by_peer, e->room, e->peer) < 0) {
            tally_down(r->by_user, e->room, e->sub);
            free(n);
            return -ENOMEM;
        }
    }
    n->e = *e;
    n->next = *head;
    *head = n;
    r->n_sessions++;
    return 0;
}

sc_session_entry *sc_rooms_find_session(sc_rooms *r, uint64_t id)
{
    for (session_node *n = r->sessions[id % SESSION_BUCKETS]; n; n = n->next)
        if (n->e.id == id)
            return &n->e;
    return NULL;
}

void sc_rooms_remove_session(sc_rooms *r, uint64_t id)
{
    for (session_node **p = &r->sessions[id % SESSION_BUCKETS]; *p; p = &(*p)->next) {
        if ((*p)->e.id == id) {
            session_node *dead = *p;
            *p = dead->next;
            if (!dead->e.closing)
                tallies_down(r, &dead->e);
            free(dead);
            r->n_sessions--;
            return;
        }
    }
}

size_t sc_rooms_session_count(const sc_rooms *r)
{
    return r->n_sessions;
}

void sc_rooms_session_closing(sc_rooms *r, sc_session_entry *e)
{
    if (e->closing)
        return;
    e->closing = true;
    tallies_down(r, e);
}

size_t sc_rooms_user_sessions(const sc_rooms *r, const char *room, const char *sub)
{
    return tally_get(r->by_user, room, sub);
}

size_t sc_rooms_peer_sessions(const sc_rooms *r, const char *room, const char *peer)
{
    return tally_get(r->by_peer, room, peer);
}

void sc_rooms_foreach_session(sc_rooms *r, sc_session_fn fn, void *ud)
{
    for (size_t i = 0; i < SESSION_BUCKETS; i++)
        for (session_node *n = r->sessions[i]; n; n = n->next)
            fn(ud, &n->e);
}

size_t sc_rooms_owned_count(const sc_rooms *r, const sc_ws_client *c)
{
    size_t n = 0;
    for (size_t i = 0; i < SESSION_BUCKETS; i++)
        for (const session_node *s = r->sessions[i]; s; s = s->next)
            n += s->e.owner == c && !s->e.closing;
    return n;
}

int sc_rooms_disown(sc_rooms *r, sc_ws_client *c, sc_session_fn fn, void *ud)
{
    int found = 0;
    for (size_t i = 0; i < SESSION_BUCKETS; i++) {
        for (session_node *n = r->sessions[i]; n; n = n->next) {
            if (n->e.owner != c)
                continue;
            found++;
            if (fn)
                fn(ud, &n->e);
            n->e.owner = NULL;
        }
    }
    return found;
}

static sc_room **room_link(sc_rooms *r, const char *name)
{
    sc_room **p = &r->rooms[str_hash(name) % ROOM_BUCKETS];
    while (*p && strcmp((*p)->name, name) != 0)
        p = &(*p)->next;
    return p;
}

sc_room *sc_rooms_find(sc_rooms *r, const char *name)
{
    return *room_link(r, name);
}

sc_room *sc_rooms_open(sc_rooms *r, const char *name, sc_room *parent)
{
    sc_room **p = room_link(r, name), *room = *p;

    if (room)
        return room;
    room = calloc(1, sizeof(*room));
    if (!room)
        return NULL;
    snprintf(room->name, sizeof(room->name), "%s", name);
    room->reg = r;
    room->parent = parent;
    if (parent)
        parent->n_children++;
    *p = room;
    r->n_rooms++;
    return room;
}

/* Frees room when nothing holds it any more (and then its parent, if that
 * was all that held the parent). */
static void room_release(sc_room *room)
{
    while (room) {
        sc_room *parent = room->parent;
        if (room->n || room->n_children)
            return;
        for (size_t k = 0; k < SC_ROOM_SLOTS; k++)
            if (room->slots[k].state)
                return;
        *room_link(room->reg, room->name) = room->next;
        room->reg->n_rooms--;
        free(room->clients);
        free(room);
        if (parent)
            parent->n_children--;
        room = parent;
    }
}

const char *sc_room_name(const sc_room *room)
{
    return room->name;
}

sc_room *sc_room_parent(const sc_room *room)
{
    return room->parent;
}

size_t sc_room_child_count(const sc_room *room)
{
    return room->n_children;
}

void *sc_room_state(const sc_room *room, sc_room_slot slot)
{
    return room->slots[slot].state;
}

void sc_room_set_state(sc_room *room, sc_room_slot slot, void *state, void (*free_fn)(void *))
{
    room_slot *s = &room->slots[slot];

    if (s->state && s->state != state && state && s->free_fn)
        s->free_fn(s->state);
    s->state = state;
    s->free_fn = free_fn;
    if (!state)
        room_release(room);
}

void sc_rooms_foreach(sc_rooms *r, sc_room_fn fn, void *ud)
{
    for (size_t i = 0; i < ROOM_BUCKETS; i++)
        for (sc_room *n = r->rooms[i]; n; n = n->next)
            fn(ud, n);
}

size_t sc_rooms_count(const sc_rooms *r)
{
    return r->n_rooms;
}

int sc_rooms_join(sc_rooms *r, const char *name, sc_ws_client *c)
{
    sc_room *room = sc_rooms_open(r, name, NULL);

    if (!room)
        return -ENOMEM;
    if (room->n == room->cap) {
        size_t cap = room->cap ? room->cap * 2 : 8;
        sc_ws_client **nc = realloc(room->clients, cap * sizeof(*nc));
        if (!nc) {
            room_release(room);
            return -ENOMEM;
        }
        room->clients = nc;
        room->cap = cap;
    }
    room->clients[room->n++] = c;
    return 0;
}

void sc_rooms_leave(sc_rooms *r, const char *name, sc_ws_client *c)
{
    sc_room *room = sc_rooms_find(r, name);

    if (!room)
        return;
    for (size_t i = 0; i < room->n; i++) {
        if (room->clients[i] == c) {
            room->clients[i] = room->clients[--room->n];
            break;
        }
    }
    room_release(room);
}

void sc_rooms_foreach_client(sc_rooms *r, const char *name, sc_client_fn fn, void *ud)
{
    sc_room *room = sc_rooms_find(r, name);
    for (size_t i = 0; room && i < room->n; i++)
        fn(ud, room->clients[i]);
}

size_t sc_rooms_client_count(sc_rooms *r, const char *name)
{
    sc_room *room = sc_rooms_find(r, name);
    return room ? room->n : 0;
}

bool sc_rooms_name_ok(const char *room)
{
    size_t n = 0;
    for (; room[n]; n++) {
        char c = room[n];
        if (n >= SC_ROOM_USER_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return n > 0;
}

void sc_session_id_format(uint64_t id, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, id);
}

int sc_session_id_parse(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    if (len != 16)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -EINVAL;
        v = v << 4 | (uint64_t)d;
    }
    if (v == 0)
        return -EINVAL;
    *out = v;
    return 0;
}
