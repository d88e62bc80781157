/* signaling/rooms.c: the session registry, room membership and the room
 * aggregate. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "signaling/room/rooms.h"
#include "tests/unit/sc_test.h"

static int seen;
static void count_fn(void *ud, sc_session_entry *e)
{
    (void)ud;
    (void)e;
    seen++;
}

static void count_client(void *ud, sc_ws_client *c)
{
    (void)c;
    (*(int *)ud)++;
}

static sc_session_entry entry(uint64_t id, const char *room, sc_ws_client *owner)
{
    sc_session_entry e;
    memset(&e, 0, sizeof(e));
    e.id = id;
    snprintf(e.room, sizeof(e.room), "%s", room);
    e.owner = owner;
    return e;
}

static void test_sessions(void)
{
    sc_rooms *r = sc_rooms_new();
    sc_ws_client *a = (sc_ws_client *)(uintptr_t)0x1000, *b = (sc_ws_client *)(uintptr_t)0x2000;
    sc_session_entry e = entry(42, "demo", a);

    SC_CHECK_INT(sc_rooms_add_session(r, &e), 0);
    SC_CHECK_INT(sc_rooms_add_session(r, &e), -EEXIST);
    /* ids that share a hash bucket (same low bits) stay distinct */
    e = entry(42 + 1024, "demo", b);
    SC_CHECK_INT(sc_rooms_add_session(r, &e), 0);
    for (uint64_t i = 0; i < 2000; i++) {
        e = entry(0x100000 + i * 7919, "big", NULL);
        sc_rooms_add_session(r, &e);
    }
    SC_CHECK_INT(sc_rooms_session_count(r), 2002);
    SC_CHECK(sc_rooms_find_session(r, 42) != NULL);
    SC_CHECK(sc_rooms_find_session(r, 42)->owner == a);
    SC_CHECK(sc_rooms_find_session(r, 42 + 1024)->owner == b);
    SC_CHECK(sc_rooms_find_session(r, 43) == NULL);

    seen = 0;
    SC_CHECK_INT(sc_rooms_disown(r, a, count_fn, NULL), 1);
    SC_CHECK_INT(seen, 1);
    SC_CHECK(sc_rooms_find_session(r, 42)->owner == NULL);
    SC_CHECK(sc_rooms_find_session(r, 42 + 1024)->owner == b);
    SC_CHECK_INT(sc_rooms_disown(r, a, count_fn, NULL), 0);

    sc_rooms_remove_session(r, 42);
    SC_CHECK(sc_rooms_find_session(r, 42) == NULL);
    SC_CHECK(sc_rooms_find_session(r, 42 + 1024) != NULL);
    sc_rooms_remove_session(r, 42); /* absent: no-op */
    SC_CHECK_INT(sc_rooms_session_count(r), 2001);
    seen = 0;
    sc_rooms_foreach_session(r, count_fn, NULL);
    SC_CHECK_INT(seen, 2001);
    sc_rooms_free(r);
}

static sc_session_entry owned_by(uint64_t id, const char *room, const char *sub,
                                  const char *peer)
{
    sc_session_entry e = entry(id, room, NULL);
    snprintf(e.sub, sizeof(e.sub), "%s", sub);
    snprintf(e.peer, sizeof(e.peer), "%s", peer);
    return e;
}

/* Sessions per room and user / per room and address: counted while open
 * and not closing. */
static void test_allowance_counts(void)
{
    sc_rooms *r = sc_rooms_new();
    sc_session_entry e;

    e = owned_by(1, "demo", "u-1", "10.0.0.1");
    SC_CHECK_INT(sc_rooms_add_session(r, &e), 0);
    e = owned_by(2, "demo", "u-1", "10.0.0.2");
    SC_CHECK_INT(sc_rooms_add_session(r, &e), 0);
    e = owned_by(3, "demo", "u-2", "10.0.0.1");
    SC_CHECK_INT(sc_rooms_add_session(r, &e), 0);
    e = owned_by(4, "other", "u-1", "10.0.0.1");
    SC_CHECK_INT(sc_rooms_add_session(r, &e), 0);
    SC_CHECK_INT(sc_rooms_add_session(r, &e), -EEXIST); /* counted once */
    SC_CHECK_INT(sc_rooms_user_sessions(r, "demo", "u-1"), 2);
    SC_CHECK_INT(sc_rooms_user_sessions(r, "demo", "u-2"), 1);
    SC_CHECK_INT(sc_rooms_user_sessions(r, "other", "u-1"), 1);
    SC_CHECK_INT(sc_rooms_user_sessions(r, "demo", "u-3"), 0);
    SC_CHECK_INT(sc_rooms_peer_sessions(r, "demo", "10.0.0.1"), 2);
    /* "10.0.0.1" is no prefix of "110.0.0.1" */
    SC_CHECK_INT(sc_rooms_peer_sessions(r, "demo", "110.0.0.1"), 0);
    SC_CHECK_INT(sc_rooms_peer_sessions(r, "demo", "10.0.0.2"), 1);

    /* closing stops counting at once, removal does not count twice */
    sc_rooms_session_closing(r, sc_rooms_find_session(r, 1));
    sc_rooms_session_closing(r, sc_rooms_find_session(r, 1));
    SC_CHECK_INT(sc_rooms_user_sessions(r, "demo", "u-1"), 1);
    SC_CHECK_INT(sc_rooms_peer_sessions(r, "demo", "10.0.0.1"), 1);
    sc_rooms_remove_session(r, 1);
    SC_CHECK_INT(sc_rooms_user_sessions(r, "demo", "u-1"), 1);
    sc_rooms_remove_session(r, 2);
    SC_CHECK_INT(sc_rooms_user_sessions(r, "demo", "u-1"), 0);
    SC_CHECK_INT(sc_rooms_peer_sessions(r, "demo", "10.0.0.2"), 0);
    SC_CHECK_INT(sc_rooms_user_sessions(r, "other", "u-1"), 1);
    /* freed with counts left */
    sc_rooms_free(r);
}

static void test_membership(void)
{
    sc_rooms *r = sc_rooms_new();
    sc_ws_client *c[20];
    int n = 0;

    for (int i = 0; i < 20; i++) {
        c[i] = (sc_ws_client *)(uintptr_t)(0x1000 * (i + 1));
        SC_CHECK_INT(sc_rooms_join(r, i < 15 ? "demo" : "other", c[i]), 0);
    }
    SC_CHECK_INT(sc_rooms_client_count(r, "demo"), 15);
    SC_CHECK_INT(sc_rooms_client_count(r, "other"), 5);
    SC_CHECK_INT(sc_rooms_client_count(r, "nobody"), 0);
    sc_rooms_foreach_client(r, "demo", count_client, &n);
    SC_CHECK_INT(n, 15);
    sc_rooms_leave(r, "demo", c[3]);
    sc_rooms_leave(r, "demo", c[3]);   /* twice: no-op */
    sc_rooms_leave(r, "demo", c[17]);  /* not a member of demo */
    SC_CHECK_INT(sc_rooms_client_count(r, "demo"), 14);
    SC_CHECK_INT(sc_rooms_client_count(r, "other"), 5);
    for (int i = 15; i < 20; i++)
        sc_rooms_leave(r, "other", c[i]);
    SC_CHECK_INT(sc_rooms_client_count(r, "other"), 0);
    /* an emptied room can be joined again */
    SC_CHECK_INT(sc_rooms_join(r, "other", c[0]), 0);
    SC_CHECK_INT(sc_rooms_client_count(r, "other"), 1);
    sc_rooms_free(r);
}

static int freed;
static void free_state(void *state)
{
    freed += *(int *)state;
}

static void count_room(void *ud, sc_room *room)
{
    (void)room;
    (*(int *)ud)++;
}

/* The aggregate: one room per name, a slot per module, freed when nothing
 * (client, state, child) holds it. */
static void test_aggregate(void)
{
    sc_rooms *r = sc_rooms_new();
    sc_ws_client *a = (sc_ws_client *)(uintptr_t)0x1000;
    int one = 1, ten = 10, n = 0;
    sc_room *room, *cls, *g1, *g2;

    SC_CHECK(sc_rooms_find(r, "demo") == NULL);
    room = sc_rooms_open(r, "demo", NULL);
    SC_CHECK(room != NULL);
    SC_CHECK(sc_rooms_open(r, "demo", NULL) == room);
    SC_CHECK(sc_rooms_find(r, "demo") == room);
    SC_CHECK_STR(sc_room_name(room), "demo");
    SC_CHECK(sc_room_state(room, SC_ROOM_SLOT_INTERACT) == NULL);

    /* a joined client and a module's state share the one room */
    SC_CHECK_INT(sc_rooms_join(r, "demo", a), 0);
    SC_CHECK(sc_rooms_find(r, "demo") == room);
    sc_room_set_state(room, SC_ROOM_SLOT_STAGE, &one, free_state);
    SC_CHECK(sc_room_state(room, SC_ROOM_SLOT_STAGE) == &one);
    SC_CHECK(sc_room_state(room, SC_ROOM_SLOT_INTERACT) == NULL);
    sc_rooms_leave(r, "demo", a);
    SC_CHECK(sc_rooms_find(r, "demo") == room); /* the stage state holds it */
    SC_CHECK_INT(sc_rooms_count(r), 1);
    /* replacing a state frees the old one; clearing does not call free_fn */
    sc_room_set_state(room, SC_ROOM_SLOT_STAGE, &ten, free_state);
    SC_CHECK_INT(freed, 1);
    sc_room_set_state(room, SC_ROOM_SLOT_STAGE, NULL, NULL);
    SC_CHECK_INT(freed, 1);
    SC_CHECK(sc_rooms_find(r, "demo") == NULL); /* nothing held it: freed */
    SC_CHECK_INT(sc_rooms_count(r), 0);

    /* clearing an empty slot of a new room frees it (a module's failed
     * first use leaves nothing behind) */
    room = sc_rooms_open(r, "tmp", NULL);
    sc_room_set_state(room, SC_ROOM_SLOT_INTERACT, NULL, NULL);
    SC_CHECK(sc_rooms_find(r, "tmp") == NULL);

    /* groups: a child keeps its parent alive, and the parent is freed with
     * its last child */
    cls = sc_rooms_open(r, "class", NULL);
    g1 = sc_rooms_open(r, "class-g1", cls);
    g2 = sc_rooms_open(r, "class-g2", cls);
    SC_CHECK(sc_room_parent(g1) == cls && sc_room_parent(g2) == cls);
    SC_CHECK(sc_room_parent(cls) == NULL);
    SC_CHECK_INT(sc_room_child_count(cls), 2);
    SC_CHECK(sc_rooms_open(r, "class-g1", NULL) == g1); /* keeps its parent */
    SC_CHECK(sc_room_parent(g1) == cls);
    SC_CHECK_INT(sc_rooms_join(r, "class-g1", a), 0);
    sc_room_set_state(g2, SC_ROOM_SLOT_INTERACT, NULL, NULL); /* g2 held by nothing */
    SC_CHECK(sc_rooms_find(r, "class-g2") == NULL);
    SC_CHECK_INT(sc_room_child_count(cls), 1);
    SC_CHECK(sc_rooms_find(r, "class") == cls);
    sc_rooms_foreach(r, count_room, &n);
    SC_CHECK_INT(n, 2);
    sc_rooms_leave(r, "class-g1", a);
    SC_CHECK(sc_rooms_find(r, "class-g1") == NULL);
    SC_CHECK(sc_rooms_find(r, "class") == NULL);
    SC_CHECK_INT(sc_rooms_count(r), 0);

    /* the registry frees the states it still holds */
    room = sc_rooms_open(r, "kept", NULL);
    sc_room_set_state(room, SC_ROOM_SLOT_INTERACT, &ten, free_state);
    freed = 0;
    sc_rooms_free(r);
    SC_CHECK_INT(freed, 10);
}

static void test_names_and_ids(void)
{
    char name[80], hex[17];
    uint64_t id = 0;

    SC_CHECK(sc_rooms_name_ok("demo"));
    SC_CHECK(sc_rooms_name_ok("A-b_9"));
    SC_CHECK(!sc_rooms_name_ok(""));
    SC_CHECK(!sc_rooms_name_ok("a.b"));
    SC_CHECK(!sc_rooms_name_ok("a/b"));
    SC_CHECK(!sc_rooms_name_ok("*"));
    SC_CHECK(!sc_rooms_name_ok("caf\xc3\xa9"));
    memset(name, 'x', 64);
    name[64] = '\0';
    SC_CHECK(sc_rooms_name_ok(name));
    name[64] = 'x';
    name[65] = '\0';
    SC_CHECK(!sc_rooms_name_ok(name));

    sc_session_id_format(0x0123456789abcdefULL, hex);
    SC_CHECK_STR(hex, "0123456789abcdef");
    sc_session_id_format(5, hex);
    SC_CHECK_STR(hex, "0000000000000005");
    SC_CHECK_INT(sc_session_id_parse("0123456789ABCDEF", 16, &id), 0);
    SC_CHECK(id == 0x0123456789abcdefULL);
    SC_CHECK_INT(sc_session_id_parse("ffffffffffffffff", 16, &id), 0);
    SC_CHECK(id == UINT64_MAX);
    SC_CHECK_INT(sc_session_id_parse("0123456789abcde", 15, &id), -EINVAL);
    SC_CHECK_INT(sc_session_id_parse("0123456789abcdef0", 17, &id), -EINVAL);
    SC_CHECK_INT(sc_session_id_parse("0123456789abcdeg", 16, &id), -EINVAL);
    SC_CHECK_INT(sc_session_id_parse("0000000000000000", 16, &id), -EINVAL);
}

int main(void)
{
    test_sessions();
    test_allowance_counts();
    test_membership();
    test_aggregate();
    test_names_and_ids();
    SC_TEST_END();
}
