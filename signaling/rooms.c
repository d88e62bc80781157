#include "rooms.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Session ids are random 64-bit values, so their low bits index the hash
 * directly.  A room's clients are a flat array: broadcasts walk it and
 * joins/leaves are rare next to messages. */
#define SESSION_BUCKETS 1024
#define ROOM_BUCKETS 256

typedef struct session_node {
    sc_session_entry e;
    struct session_node *next;
} session_node;

typedef struct room_node {
    char name[SC_ROOM_NAME_MAX + 1];
    sc_ws_client **clients;
    size_t n, cap;
    struct room_node *next;
} room_node;

struct sc_rooms {
    session_node *sessions[SESSION_BUCKETS];
    size_t n_sessions;
    room_node *rooms[ROOM_BUCKETS];
};

static size_t str_hash(const char *s)
{
    size_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
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
    for (size_t i = 0; i < ROOM_BUCKETS; i++) {
        for (room_node *n = r->rooms[i], *next; n; n = next) {
            next = n->next;
            free(n->clients);
            free(n);
        }
    }
    free(r);
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

void sc_rooms_foreach_session(sc_rooms *r, sc_session_fn fn, void *ud)
{
    for (size_t i = 0; i < SESSION_BUCKETS; i++)
        for (session_node *n = r->sessions[i]; n; n = n->next)
            fn(ud, &n->e);
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

static room_node *find_room(sc_rooms *r, const char *room, room_node ***prev_out)
{
    room_node **p = &r->rooms[str_hash(room) % ROOM_BUCKETS];
    for (; *p; p = &(*p)->next) {
        if (strcmp((*p)->name, room) == 0) {
            if (prev_out)
                *prev_out = p;
            return *p;
        }
    }
    return NULL;
}

int sc_rooms_join(sc_rooms *r, const char *room, sc_ws_client *c)
{
    room_node *rn = find_room(r, room, NULL);

    if (!rn) {
        room_node **head = &r->rooms[str_hash(room) % ROOM_BUCKETS];
        rn = calloc(1, sizeof(*rn));
        if (!rn)
            return -ENOMEM;
        snprintf(rn->name, sizeof(rn->name), "%s", room);
        rn->next = *head;
        *head = rn;
    }
    if (rn->n == rn->cap) {
        size_t cap = rn->cap ? rn->cap * 2 : 8;
        sc_ws_client **nc = realloc(rn->clients, cap * sizeof(*nc));
        if (!nc)
            return -ENOMEM;
        rn->clients = nc;
        rn->cap = cap;
    }
    rn->clients[rn->n++] = c;
    return 0;
}

void sc_rooms_leave(sc_rooms *r, const char *room, sc_ws_client *c)
{
    room_node **prev = NULL;
    room_node *rn = find_room(r, room, &prev);

    if (!rn)
        return;
    for (size_t i = 0; i < rn->n; i++) {
        if (rn->clients[i] == c) {
            rn->clients[i] = rn->clients[--rn->n];
            break;
        }
    }
    if (rn->n == 0) {
        *prev = rn->next;
        free(rn->clients);
        free(rn);
    }
}

void sc_rooms_foreach_client(sc_rooms *r, const char *room, sc_client_fn fn, void *ud)
{
    room_node *rn = find_room(r, room, NULL);
    if (!rn)
        return;
    for (size_t i = 0; i < rn->n; i++)
        fn(ud, rn->clients[i]);
}

size_t sc_rooms_client_count(sc_rooms *r, const char *room)
{
    room_node *rn = find_room(r, room, NULL);
    return rn ? rn->n : 0;
}

bool sc_rooms_name_ok(const char *room)
{
    size_t n = 0;
    for (; room[n]; n++) {
        char c = room[n];
        if (n >= SC_ROOM_NAME_MAX ||
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
