/* Breakout groups: the trainer's messages (create, assign, open, extend,
 * close, broadcast, move, visit, talk to all), the participants' (choose,
 * help), the timer, attendance and the pre-assignment REST
 * (docs/protocol.md, "Breakout groups").
 *
 * A class's state sits in its room's SC_ROOM_SLOT_GROUPS.  Members are
 * kept by user id (assignment and attendance); connections are found
 * through the rooms' client lists when needed, never stored, except the
 * permissions granted to a connection while it is in a group (forgotten in
 * sc_groups_on_leave). */
#include "signaling/room/groups.h"

#include <errno.h>
#include <libwebsockets.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/sfu.h"
#include "signaling/api/bus.h"
#include "signaling/auth/token.h"
#include "signaling/http/whip.h"
#include "recorder/recorder.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

#define GROUPS_MAX 50
#define GROUP_NAME_MAX 40
#define MEMBERS_MAX 5000          /* users a class keeps (assignment, attendance) */
#define HELP_MAX 64
#define GRANTS_MAX 1024
#define GRACE_DEFAULT_S 10
#define WARNING_S 60
#define TICK_MS 250
#define BROADCAST_MAX 500
#define QUIET_MS 20000            /* a group nobody spoke in this long is marked quiet */

typedef enum { CLASS_IDLE, CLASS_OPEN } class_state;

typedef struct group {
    int id;                       /* 1.., stable while the groups exist */
    char name[GROUP_NAME_MAX * 4 + 1];
    char room[SC_ROOM_NAME_MAX + 1];
    bool open;
    int64_t closing_at;           /* wall ms: back to the main room then; 0 none */
    bool timer_closing;           /* the countdown is the timer's, not a groups_close */
    int64_t opened_ms;            /* monotonic, when it last opened */
    bool quiet;                   /* nobody has spoken for QUIET_MS */
    char speaker[SC_PEER_NAME_MAX + 1]; /* its active speaker's name, "" none */
} group;

typedef struct member {
    char user[SC_PEER_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    int group;                    /* assigned group id, 0 none */
    /* attendance: where the user is (0 main, else a group id) since when,
     * while a connection of it is in the class */
    int place;
    int64_t since_ms;             /* 0: not in the class now */
    int64_t main_ms;
    json_t *group_ms;             /* group name -> ms */
    unsigned messages;            /* chat sent while in a group */
    int64_t talk_ms;              /* heard talking (audio levels) while groups were open */
} member;

typedef struct help_req {
    char user[SC_PEER_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    int group;
    int64_t since_ms;
} help_req;

typedef struct grant {
    const sc_ws_client *c;
    uint32_t before;
} grant;

typedef struct class_room {
    sc_app *app;
    char name[SC_ROOM_NAME_MAX + 1];
    group groups[GROUPS_MAX];
    int n_groups, next_id;
    member *members;
    size_t n_members, cap_members;
    class_state state;
    char mode[8];                 /* "auto", "manual", "choose", "" */
    int cap;                      /* choose: members per group */
    int64_t started_at, ends_at;  /* wall ms; ends_at 0 = no timer */
    int64_t talk_tick_ms;         /* monotonic: talk time counted up to here */
    help_req help[HELP_MAX];
    int n_help;
    grant grants[GRANTS_MAX];
    int n_grants;
    uint64_t talk_session;        /* the trainer's publish session talking to all, 0 none */
    char talk_sig[GROUPS_MAX * 4]; /* the open groups it was last sent to ("1,2,") */
    char talk_by[SC_PEER_NAME_MAX + 1];
} class_room;

struct sc_groups {
    lws_sorted_usec_list_t sul;   /* first: the tick gets its address */
    sc_app *app;
    bool ticking;
};

/* ---- names ------------------------------------------------------------------- */

bool sc_groups_is_group(const char *room) { return strchr(room, '~') != NULL; }

void sc_groups_class_of(const char *room, char *out, size_t cap)
{
    const char *t = strchr(room, '~');
    size_t n = t ? (size_t)(t - room) : strlen(room);
    snprintf(out, cap, "%.*s", (int)n, room);
}

/* ---- state ------------------------------------------------------------------- */

static void class_free(void *state)
{
    class_room *k = state;
    for (size_t i = 0; i < k->n_members; i++)
        json_decref(k->members[i].group_ms);
    free(k->members);
    free(k);
}

static void adopt_present(class_room *k);

static class_room *class_find(sc_app *app, const char *name, bool create)
{
    char cls[SC_ROOM_NAME_MAX + 1];
    sc_groups_class_of(name, cls, sizeof(cls));
    sc_room *room = create ? sc_rooms_open(app->rooms, cls, NULL) : sc_rooms_find(app->rooms, cls);
    class_room *k;
    if (!room)
        return NULL;
    if ((k = sc_room_state(room, SC_ROOM_SLOT_GROUPS)) || !create)
        return k;
    if (!(k = calloc(1, sizeof(*k)))) {
        sc_room_set_state(room, SC_ROOM_SLOT_GROUPS, NULL, NULL);
        return NULL;
    }
    k->app = app;
    k->next_id = 1;
    snprintf(k->name, sizeof(k->name), "%s", cls);
    sc_room_set_state(room, SC_ROOM_SLOT_GROUPS, k, class_free);
    adopt_present(k);
    return k;
}

static group *group_by_id(class_room *k, int id)
{
    for (int i = 0; i < k->n_groups; i++)
        if (k->groups[i].id == id)
            return &k->groups[i];
    return NULL;
}

static group *group_by_room(class_room *k, const char *room)
{
    for (int i = 0; i < k->n_groups; i++)
        if (strcmp(k->groups[i].room, room) == 0)
            return &k->groups[i];
    return NULL;
}

static group *group_add(class_room *k, const char *name)
{
    if (k->n_groups >= GROUPS_MAX)
        return NULL;
    group *g = &k->groups[k->n_groups++];
    memset(g, 0, sizeof(*g));
    g->id = k->next_id++;
    snprintf(g->name, sizeof(g->name), "%s", name);
    snprintf(g->room, sizeof(g->room), "%.*s~g%d", SC_ROOM_USER_MAX, k->name, g->id);
    return g;
}

static member *member_find(class_room *k, const char *user, const char *name, bool create)
{
    for (size_t i = 0; i < k->n_members; i++)
        if (strcmp(k->members[i].user, user) == 0) {
            if (name && name[0])
                snprintf(k->members[i].name, sizeof(k->members[i].name), "%s", name);
            return &k->members[i];
        }
    if (!create || k->n_members >= MEMBERS_MAX || !user[0])
        return NULL;
    if (k->n_members == k->cap_members) {
        size_t cap = k->cap_members ? k->cap_members * 2 : 32;
        member *m = realloc(k->members, cap * sizeof(*m));
        if (!m)
            return NULL;
        k->members = m;
        k->cap_members = cap;
    }
    member *m = &k->members[k->n_members++];
    memset(m, 0, sizeof(*m));
    snprintf(m->user, sizeof(m->user), "%s", user);
    snprintf(m->name, sizeof(m->name), "%s", name && name[0] ? name : user);
    return m;
}

static int group_size(const class_room *k, int id)
{
    int n = 0;
    for (size_t i = 0; i < k->n_members; i++)
        n += k->members[i].group == id;
    return n;
}

static bool staff(const sc_ws_client *c)
{
    return (sc_ws_client_token(c)->perms & SC_PERM_MODERATE) != 0;
}

/* A participant in the room: a member of its class from now on (what
 * sc_groups_on_join does for those who join later). */
static void adopt_one(void *ud, sc_ws_client *c)
{
    class_room *k = ud;
    const sc_token *t = sc_ws_client_token(c);
    if (staff(c) || !t->sub[0])
        return;
    member *m = member_find(k, t->sub, t->name, true);
    if (m && !m->since_ms) {
        m->place = 0;
        m->since_ms = sc_wall_ms();
    }
}

/* The class is made when the trainer first runs the groups: whoever joined
 * the room before is a member too, so group_move and the per-user
 * assignment find them (they were listed as unassigned and refused). */
static void adopt_present(class_room *k) { sc_ws_foreach_client(k->app, k->name, adopt_one, k); }

/* ---- attendance ---------------------------------------------------------------- */

static void att_close(class_room *k, member *m, int64_t now)
{
    if (!m->since_ms)
        return;
    int64_t d = now - m->since_ms;
    group *g = m->place ? group_by_id(k, m->place) : NULL;
    if (!m->place || !g) {
        m->main_ms += d;
    } else {
        if (!m->group_ms)
            m->group_ms = json_object();
        json_t *v = json_object_get(m->group_ms, g->name);
        json_object_set_new(m->group_ms, g->name,
                            json_integer((v ? json_integer_value(v) : 0) + d));
    }
    m->since_ms = now;
}

static void att_place(class_room *k, const sc_ws_client *c, int place)
{
    const sc_token *t = sc_ws_client_token(c);
    member *m;
    if (staff(c) || !(m = member_find(k, t->sub, t->name, true)))
        return;
    int64_t now = sc_wall_ms();
    att_close(k, m, now);
    m->place = place;
    m->since_ms = now; /* (also for a connection that came before the class had groups) */
}

/* ---- what the pages are told --------------------------------------------------- */

typedef struct online_walk {
    class_room *k;
    json_t *users;                /* user -> name, of participants online */
} online_walk;

static void online_one(void *ud, sc_ws_client *c)
{
    online_walk *w = ud;
    const sc_token *t = sc_ws_client_token(c);
    if (!staff(c) && t->sub[0])
        json_object_set_new(w->users, t->sub, json_string(t->name));
}

/* user -> name of every participant (not staff) connected to the class,
 * wherever it is. */
static json_t *online_users(class_room *k)
{
    online_walk w = {.k = k, .users = json_object()};
    sc_ws_foreach_client(k->app, k->name, online_one, &w);
    for (int i = 0; i < k->n_groups; i++)
        sc_ws_foreach_client(k->app, k->groups[i].room, online_one, &w);
    return w.users;
}

static json_t *ms_or_null(int64_t v) { return v ? json_integer(v) : json_null(); }

static json_t *groups_json(class_room *k, bool for_staff, json_t *online)
{
    json_t *arr = json_array();
    int64_t closing = 0;
    for (int i = 0; i < k->n_groups; i++) {
        group *g = &k->groups[i];
        json_t *mem = json_array();
        bool help = false;
        for (size_t j = 0; j < k->n_members; j++) {
            member *m = &k->members[j];
            if (m->group == g->id)
                json_array_append_new(mem, json_pack("{s:s,s:s,s:b}", "user_id", m->user, "name",
                                                     m->name, "online",
                                                     json_object_get(online, m->user) != NULL));
        }
        for (int h = 0; h < k->n_help; h++)
            help |= k->help[h].group == g->id;
        if (g->closing_at && (!closing || g->closing_at < closing))
            closing = g->closing_at;
        json_array_append_new(arr, json_pack("{s:i,s:s,s:o,s:b,s:b,s:o,s:o,s:b}", "id", g->id,
                                             "name", g->name, "members", mem, "help", help,
                                             "open", g->open, "closing_at",
                                             ms_or_null(g->closing_at), "speaker",
                                             g->open && g->speaker[0] ? json_string(g->speaker)
                                                                      : json_null(),
                                             "quiet", g->open && g->quiet));
    }
    bool all_closing = k->state == CLASS_OPEN;
    for (int i = 0; i < k->n_groups; i++)
        if (k->groups[i].open && !k->groups[i].closing_at)
            all_closing = false;
    const char *state = k->state == CLASS_IDLE ? "idle" : all_closing ? "closing" : "open";
    json_t *o = json_pack("{s:s,s:s,s:o,s:i,s:o,s:o,s:o,s:i,s:b,s:o}", "type", "groups", "state",
                          state, "mode", k->mode[0] ? json_string(k->mode) : json_null(), "cap",
                          k->cap, "started_at", ms_or_null(k->started_at), "ends_at",
                          ms_or_null(k->ends_at), "closing_at", ms_or_null(closing), "warning",
                          WARNING_S, "talking", k->talk_session != 0, "groups", arr);
    if (!for_staff)
        return o;
    json_t *un = json_array();
    const char *user;
    json_t *name;
    json_object_foreach(online, user, name) {
        member *m = member_find(k, user, NULL, false);
        if (!m || !m->group)
            json_array_append_new(un, json_pack("{s:s,s:O}", "user_id", user, "name", name));
    }
    json_t *help = json_array();
    for (int h = 0; h < k->n_help; h++)
        json_array_append_new(help, json_pack("{s:s,s:s,s:i,s:I}", "user_id", k->help[h].user,
                                              "name", k->help[h].name, "group", k->help[h].group,
                                              "since", (json_int_t)k->help[h].since_ms));
    json_object_set_new(o, "unassigned", un);
    json_object_set_new(o, "help", help);
    return o;
}

typedef struct tell_walk {
    json_t *pub, *staff;
} tell_walk;

static void tell_one(void *ud, sc_ws_client *c)
{
    tell_walk *w = ud;
    sc_ws_send(c, json_incref(staff(c) ? w->staff : w->pub));
}

static void update_talk(class_room *k);

typedef struct staff_tell {
    json_t *msg;
} staff_tell;

static void staff_tell_one(void *ud, sc_ws_client *c)
{
    if (staff(c))
        sc_ws_send(c, json_incref(((staff_tell *)ud)->msg));
}

/* A connection came or went: the joiner gets the state, and only staff
 * the new list (its online marks and unassigned participants): a big
 * audience joining costs one message each, not one per member. */
static void tell_joined(class_room *k, sc_ws_client *c)
{
    json_t *online = online_users(k);
    staff_tell t = {groups_json(k, true, online)};
    if (!staff(c))
        sc_ws_send(c, groups_json(k, false, online));
    sc_ws_foreach_client(k->app, k->name, staff_tell_one, &t);
    for (int i = 0; i < k->n_groups; i++)
        sc_ws_foreach_client(k->app, k->groups[i].room, staff_tell_one, &t);
    json_decref(t.msg);
    json_decref(online);
}

/* Everyone in the class (main room and groups) gets the state. */
static void tell_all(class_room *k)
{
    update_talk(k);
    json_t *online = online_users(k);
    tell_walk w = {groups_json(k, false, online), groups_json(k, true, online)};
    sc_ws_foreach_client(k->app, k->name, tell_one, &w);
    for (int i = 0; i < k->n_groups; i++)
        sc_ws_foreach_client(k->app, k->groups[i].room, tell_one, &w);
    json_decref(w.pub);
    json_decref(w.staff);
    json_decref(online);
}

/* ---- moving connections -------------------------------------------------------- */

typedef struct move_walk {
    class_room *k;
    const sc_ws_client *c;
    const char *room;             /* the room it goes to */
    bool in_group;
    bool move_publish;            /* its publish sessions follow */
} move_walk;

static void move_session(void *ud, sc_session_entry *e)
{
    move_walk *w = ud;
    sc_sfu *sfu = w->k->app->sfu;
    if (e->owner != w->c || e->closing || !sfu || strcmp(e->room, w->k->name) != 0)
        return; /* (a trainer's wall sessions are filed under their group and stay) */
    int rc = 0;
    if (e->kind == SC_SESSION_SUBSCRIBE) {
        rc = sc_sfu_move_session(sfu, e->id, w->room, 0);
    } else if (w->move_publish) {
        /* a participant's publish session is parked in the main room */
        const char *to = w->in_group || staff(w->c) ? w->room : NULL;
        rc = sc_sfu_move_session(sfu, e->id, to, w->in_group ? SC_GROUP_MAX_PUBLISHERS : 0);
    }
    if (rc < 0)
        SC_WARN_CTX("groups", w->room, e->id, "session %016llx not moved to %s: %s",
                    (unsigned long long)e->id, w->room, strerror(-rc));
}

static grant *grant_of(class_room *k, const sc_ws_client *c)
{
    for (int i = 0; i < k->n_grants; i++)
        if (k->grants[i].c == c)
            return &k->grants[i];
    return NULL;
}

/* A participant may publish while in a group. */
static void set_group_perms(class_room *k, sc_ws_client *c, bool in_group)
{
    grant *g = grant_of(k, c);
    uint32_t perms = sc_ws_client_token(c)->perms;
    if (in_group && !g && k->n_grants < GRANTS_MAX) {
        k->grants[k->n_grants++] = (grant){c, perms};
        sc_ws_client_set_perms(c, perms | SC_PERM_PUBLISH);
    } else if (!in_group && g) {
        sc_ws_client_set_perms(c, g->before);
        *g = k->grants[--k->n_grants];
    }
}

static json_t *group_msg(class_room *k, sc_ws_client *c, group *g, const char *mode)
{
    int viewers = 0;
    const char *room = sc_ws_client_room(c);
    json_t *pubs = sc_ws_room_publishers(k->app, room, &viewers);
    return json_pack("{s:s,s:o,s:s,s:s,s:b,s:o,s:o,s:o,s:i}", "type", "group", "group",
                     g ? json_pack("{s:i,s:s}", "id", g->id, "name", g->name) : json_null(),
                     "room", room, "mode", mode, "publish",
                     (sc_ws_client_token(c)->perms & SC_PERM_PUBLISH) != 0, "ends_at",
                     ms_or_null(g ? k->ends_at : 0), "closing_at",
                     ms_or_null(g ? g->closing_at : 0), "publishers", pubs, "viewers", viewers);
}

/* Put c in group g (NULL: the main room).  mode: "member" for a
 * participant, "listen" or "join" for staff visiting. */
static int place(class_room *k, sc_ws_client *c, group *g, const char *mode)
{
    const char *to = g ? g->room : k->name;
    bool moved = strcmp(sc_ws_client_room(c), to) != 0;
    bool is_staff = staff(c);
    if (moved) {
        if (g && !sc_rooms_open(k->app->rooms, g->room, sc_rooms_find(k->app->rooms, k->name)))
            return -ENOMEM;
        att_place(k, c, g ? g->id : 0);
        if (sc_ws_client_move(c, to) < 0)
            return -ENOMEM;
    }
    if (!is_staff)
        set_group_perms(k, c, g != NULL);
    move_walk w = {.k = k, .c = c, .room = to, .in_group = g != NULL,
                   .move_publish = !is_staff || strcmp(mode, "listen") != 0};
    sc_rooms_foreach_session(k->app->rooms, move_session, &w);
    sc_ws_send(c, group_msg(k, c, g, mode));
    return 0;
}

typedef struct conn_walk {
    const char *user;             /* only this user's; NULL: every connection */
    bool participants;            /* only participants (not staff) */
    sc_ws_client **found;
    size_t n, cap;
} conn_walk;

static void conn_one(void *ud, sc_ws_client *c)
{
    conn_walk *w = ud;
    if ((w->user && strcmp(sc_ws_client_token(c)->sub, w->user) != 0) ||
        (w->participants && staff(c)))
        return;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        sc_ws_client **f = realloc(w->found, cap * sizeof(*f));
        if (!f)
            return;
        w->found = f;
        w->cap = cap;
    }
    w->found[w->n++] = c;
}

/* fn for the connections in rooms[0..n) that w selects, collected first:
 * fn moves connections between the rooms' lists (it frees none). */
static void each_in(class_room *k, const char **rooms, int n, conn_walk *w,
                    void (*fn)(class_room *, sc_ws_client *))
{
    for (int r = 0; r < n; r++)
        sc_ws_foreach_client(k->app, rooms[r], conn_one, w);
    for (size_t i = 0; i < w->n; i++)
        fn(k, w->found[i]);
    free(w->found);
}

/* fn for the participants' connections anywhere in the class (of user
 * only, unless NULL). */
static void each_conn(class_room *k, const char *user, void (*fn)(class_room *, sc_ws_client *))
{
    const char *rooms[GROUPS_MAX + 1];
    int n = 0;
    rooms[n++] = k->name;
    for (int i = 0; i < k->n_groups; i++)
        rooms[n++] = k->groups[i].room;
    conn_walk w = {.user = user, .participants = true};
    each_in(k, rooms, n, &w, fn);
}

/* Where a participant belongs now: its open group, else the main room (a
 * group counting down keeps its members until the end). */
static void settle(class_room *k, sc_ws_client *c)
{
    member *m = member_find(k, sc_ws_client_token(c)->sub, NULL, false);
    group *target = NULL, *now = group_by_room(k, sc_ws_client_room(c));
    if (k->state == CLASS_OPEN && m && m->group) {
        group *g = group_by_id(k, m->group);
        if (g && g->open && (!g->closing_at || g == now))
            target = g;
    }
    if (now != target)
        place(k, c, target, "member");
}

static void settle_user(class_room *k, const char *user) { each_conn(k, user, settle); }
static void settle_everyone(class_room *k) { each_conn(k, NULL, settle); }

/* ---- talk to all ---------------------------------------------------------------- */

/* The trainer's voice goes to every open group while it talks to all:
 * told to the media plane when the set of open groups changes. */
static void update_talk(class_room *k)
{
    sc_sfu *sfu = k->app->sfu;
    const char *rooms[GROUPS_MAX];
    char sig[sizeof(k->talk_sig)] = "";
    int n = 0;
    size_t at = 0;
    if (!sfu)
        return;
    for (int i = 0; k->talk_session && i < k->n_groups; i++)
        if (k->groups[i].open) {
            rooms[n++] = k->groups[i].room;
            at += (size_t)snprintf(sig + at, sizeof(sig) - at, "%d,", k->groups[i].id);
        }
    if (k->talk_session && n == 0) {
        sc_sfu_set_talk(sfu, k->talk_session, NULL, 0);
        k->talk_session = 0;
    }
    if (!k->talk_session || strcmp(sig, k->talk_sig) == 0)
        return;
    snprintf(k->talk_sig, sizeof(k->talk_sig), "%s", sig);
    if (sc_sfu_set_talk(sfu, k->talk_session, rooms, n) < 0) {
        SC_WARN("groups", "class %s: talk to all stopped (the publish session is gone)", k->name);
        k->talk_session = 0;
    }
}

/* ---- the timer ------------------------------------------------------------------ */

static void to_main(class_room *k, sc_ws_client *c) { place(k, c, NULL, "member"); }

typedef struct wall_walk {
    const char *room;
    uint64_t ids[256];
    int n;
} wall_walk;

static void wall_one(void *ud, sc_session_entry *e)
{
    wall_walk *w = ud;
    if (!e->closing && strcmp(e->room, w->room) == 0 && w->n < 256)
        w->ids[w->n++] = e->id;
}

/* The group goes away: the sessions filed under it (the trainer's wall)
 * end with it. */
static void close_walls(class_room *k, const group *g)
{
    wall_walk w = {.room = g->room};
    sc_rooms_foreach_session(k->app->rooms, wall_one, &w);
    for (int i = 0; i < w.n; i++)
        sc_session_close_because(k->app, w.ids[i], "closed");
}

/* The group closes: everyone in its room, staff visiting too, is back in
 * the main room. */
static void close_group_now(class_room *k, group *g)
{
    g->open = false;
    g->closing_at = 0;
    for (int h = 0; h < k->n_help;)
        if (k->help[h].group == g->id)
            k->help[h] = k->help[--k->n_help];
        else
            h++;
    const char *rooms[1] = {g->room};
    conn_walk w = {0};
    each_in(k, rooms, 1, &w, to_main);
    bool any = false;
    for (int i = 0; i < k->n_groups; i++)
        any |= k->groups[i].open;
    if (!any) {
        k->state = CLASS_IDLE;
        k->ends_at = 0;
        SC_INFO("groups", "class %s: groups closed, everyone back in the main room", k->name);
    }
}

/* by_timer: the time ran out (an extension calls that countdown off, not
 * the trainer's own groups_close). */
static void start_closing(class_room *k, group *only, int grace_s, bool by_timer)
{
    int64_t at = sc_wall_ms() + (int64_t)grace_s * 1000;
    for (int i = 0; i < k->n_groups; i++) {
        group *g = &k->groups[i];
        if (!g->open || (only && g != only))
            continue;
        if (!g->closing_at || g->closing_at > at) {
            g->closing_at = at;
            g->timer_closing = by_timer;
        } else if (!by_timer) {
            g->timer_closing = false; /* the trainer's close of a counting group holds */
        }
    }
}

typedef struct tick_walk {
    class_room **open;
    size_t n, cap;
} tick_walk;

static void tick_collect(void *ud, sc_room *room)
{
    tick_walk *w = ud;
    class_room *k = sc_room_state(room, SC_ROOM_SLOT_GROUPS);
    if (!k || k->state != CLASS_OPEN)
        return;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        class_room **o = realloc(w->open, cap * sizeof(*o));
        if (!o)
            return;
        w->open = o;
        w->cap = cap;
    }
    w->open[w->n++] = k;
}

/* Talk time: who is heard in the class's rooms since the last tick. */
static void count_talk(class_room *k)
{
    int64_t now = (int64_t)sc_mono_ms(), d = k->talk_tick_ms ? now - k->talk_tick_ms : 0;
    sc_sfu_publisher_info who[SC_MAX_PUBLISHERS_LISTED];
    k->talk_tick_ms = now;
    if (!k->app->sfu || d <= 0 || d > 2000)
        return;
    for (int i = -1; i < k->n_groups; i++) {
        const char *room = i < 0 ? k->name : k->groups[i].room;
        int n = sc_sfu_talking(k->app->sfu, room, who, SC_MAX_PUBLISHERS_LISTED);
        for (int j = 0; j < n; j++) {
            member *m = member_find(k, who[j].user_id, NULL, false);
            if (m)
                m->talk_ms += d;
        }
    }
}

static void tick_class(class_room *k, int64_t now)
{
    bool changed = false;
    count_talk(k);
    if (k->ends_at && now >= k->ends_at) {
        k->ends_at = 0;
        start_closing(k, NULL, GRACE_DEFAULT_S, true);
        changed = true;
    }
    for (int i = 0; i < k->n_groups; i++) {
        group *g = &k->groups[i];
        if (g->open && g->closing_at && now >= g->closing_at) {
            close_group_now(k, g);
            changed = true;
        }
    }
    /* the trainer's wall marks a group where nobody has spoken for a while */
    for (int i = 0; k->app->sfu && i < k->n_groups; i++) {
        group *g = &k->groups[i];
        int64_t q = sc_sfu_room_quiet_ms(k->app->sfu, g->room);
        bool quiet = g->open && (int64_t)sc_mono_ms() - g->opened_ms >= QUIET_MS &&
                     (q < 0 || q >= QUIET_MS);
        if (quiet != g->quiet) {
            g->quiet = quiet;
            changed = true;
        }
    }
    if (changed)
        tell_all(k);
}

static void tick(lws_sorted_usec_list_t *sul);

static struct sc_groups *module(sc_app *app)
{
    if (!app->groups && (app->groups = calloc(1, sizeof(*app->groups))))
        app->groups->app = app;
    return app->groups;
}

static void ticker_start(sc_app *app)
{
    struct sc_groups *m = module(app);
    if (!m || m->ticking || !app->loop)
        return;
    m->ticking = true;
    lws_sul_schedule(app->loop, 0, &m->sul, tick, TICK_MS * LWS_US_PER_MS);
}

static void tick(lws_sorted_usec_list_t *sul)
{
    struct sc_groups *m = (struct sc_groups *)sul;
    tick_walk w = {0};
    bool any_open = false;
    /* collected first: the walk must not free rooms, and moves out of a
     * group may free its room (a class room holds its state: it stays) */
    sc_rooms_foreach(m->app->rooms, tick_collect, &w);
    for (size_t i = 0; i < w.n; i++) {
        tick_class(w.open[i], sc_wall_ms());
        any_open |= w.open[i]->state == CLASS_OPEN;
    }
    free(w.open);
    m->ticking = false;
    if (any_open)
        ticker_start(m->app);
}

static void on_chat(void *ud, const sc_bus_event *ev)
{
    sc_app *app = ud;
    if (!ev->room || !sc_groups_is_group(ev->room) || !ev->user_id)
        return;
    class_room *k = class_find(app, ev->room, false);
    member *m = k ? member_find(k, ev->user_id, NULL, false) : NULL;
    if (m)
        m->messages++;
}

static void on_speaker(void *ud, const sc_bus_event *ev);

int sc_groups_init(sc_app *app)
{
    return sc_bus_subscribe(app->bus, SC_BUS_CHAT_POSTED, on_chat, app) < 0 ||
                   sc_bus_subscribe(app->bus, SC_BUS_ACTIVE_SPEAKER, on_speaker, app) < 0
               ? -ENOMEM
               : 0;
}

void sc_groups_free(sc_app *app)
{
    struct sc_groups *m = app->groups;
    if (!m)
        return;
    if (m->ticking && app->loop)
        lws_sul_cancel(&m->sul);
    free(m);
    app->groups = NULL;
}

void sc_groups_set_recording(sc_app *app, const char *room, bool on)
{
    class_room *k = class_find(app, room, false);
    for (int i = 0; k && i < k->n_groups; i++) {
        if (app->sfu)
            sc_sfu_set_recording(app->sfu, k->groups[i].room, on);
        if (!on && app->recorder)
            sc_recorder_stop_room(app->recorder, k->groups[i].room);
    }
}

/* ---- storage ---------------------------------------------------------------------- */

/* {"groups": [{"name", "members": [user ids]}]}: the grouping as stored
 * and as the REST reads and writes it. */
static json_t *grouping_json(class_room *k)
{
    json_t *arr = json_array();
    for (int i = 0; i < k->n_groups; i++) {
        json_t *mem = json_array();
        for (size_t j = 0; j < k->n_members; j++)
            if (k->members[j].group == k->groups[i].id)
                json_array_append_new(mem, json_string(k->members[j].user));
        json_array_append_new(arr, json_pack("{s:i,s:s,s:o}", "id", k->groups[i].id, "name",
                                             k->groups[i].name, "members", mem));
    }
    return json_pack("{s:o}", "groups", arr);
}

static void save(class_room *k)
{
    if (!k->app->store)
        return;
    json_t *doc = grouping_json(k);
    char *s = json_dumps(doc, JSON_COMPACT);
    if (s && sc_store_setting_set(k->app->store, k->name, "groups", s) < 0)
        SC_WARN("groups", "class %s: the grouping could not be stored", k->name);
    free(s);
    json_decref(doc);
}

/* 1-40 characters of valid UTF-8. */
static bool name_ok(const char *s)
{
    size_t chars = 0;
    if (!s || !s[0] || strlen(s) > GROUP_NAME_MAX * 4)
        return false;
    json_t *t = json_string(s); /* NULL for invalid UTF-8 */
    json_decref(t);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xc0) != 0x80;
    return t && chars <= GROUP_NAME_MAX;
}

/* Replace the groups and assignment with doc ({"groups": [...]}).  0, or
 * -EINVAL with why set. */
static int load_grouping(class_room *k, const json_t *doc, const char **why)
{
    json_t *arr = json_object_get(doc, "groups");
    size_t i, j;
    json_t *g, *u;
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > GROUPS_MAX) {
        *why = "\"groups\" must be an array of 1-50 groups";
        return -EINVAL;
    }
    json_array_foreach(arr, i, g) {
        const char *name = json_string_value(json_object_get(g, "name"));
        json_t *mem = json_object_get(g, "members");
        if (!name || !name[0] || strlen(name) > GROUP_NAME_MAX * 4) {
            *why = "every group needs a \"name\" of 1-40 characters";
            return -EINVAL;
        }
        if (mem && !json_is_array(mem)) {
            *why = "\"members\" must be an array of user ids";
            return -EINVAL;
        }
        json_array_foreach(mem, j, u) {
            const char *s = json_string_value(u);
            if (!s || !s[0] || strlen(s) > SC_PEER_NAME_MAX) {
                *why = "member user ids are strings of 1-64 characters";
                return -EINVAL;
            }
        }
    }
    k->n_groups = 0;
    k->next_id = 1;
    for (size_t m = 0; m < k->n_members; m++)
        k->members[m].group = 0;
    json_array_foreach(arr, i, g) {
        group *ng = group_add(k, json_string_value(json_object_get(g, "name")));
        json_array_foreach(json_object_get(g, "members"), j, u) {
            member *m = member_find(k, json_string_value(u), NULL, true);
            if (m)
                m->group = ng->id;
        }
    }
    snprintf(k->mode, sizeof(k->mode), "manual");
    return 0;
}

/* ---- messages --------------------------------------------------------------------- */

static class_room *class_of(sc_ws_client *c, json_t *id)
{
    class_room *k = class_find(sc_ws_client_app(c), sc_ws_client_home(c), true);
    if (!k)
        sc_ws_error(c, id, "internal", "out of memory");
    return k;
}

static void ok(sc_ws_client *c, json_t *id) { sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok")); }

static void cmd_create(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    json_t *count = json_object_get(msg, "count"), *names = json_object_get(msg, "names");
    size_t i, n = 0;
    json_t *v;
    char buf[16];
    if (!k)
        return;
    if (k->state == CLASS_OPEN) {
        sc_ws_error(c, id, "groups-open", "close the groups first");
        return;
    }
    if (json_is_array(names)) {
        n = json_array_size(names);
        json_array_foreach(names, i, v)
            if (!json_is_string(v) || !name_ok(json_string_value(v))) {
                sc_ws_error(c, id, "bad-request", "\"names\" are strings of 1-40 characters");
                return;
            }
    } else if (json_is_integer(count)) {
        n = json_integer_value(count) > 0 ? (size_t)json_integer_value(count) : 0;
    } else {
        sc_ws_error(c, id, "bad-request", "groups_create needs \"count\" (integer) or \"names\"");
        return;
    }
    if (n < 1 || n > GROUPS_MAX) {
        sc_ws_error(c, id, n > GROUPS_MAX ? "too-many-groups" : "bad-request",
                    "1 to %d groups", GROUPS_MAX);
        return;
    }
    for (int g = 0; g < k->n_groups; g++)
        close_walls(k, &k->groups[g]);
    k->n_groups = 0;
    k->next_id = 1;
    k->n_help = 0;
    for (size_t m = 0; m < k->n_members; m++)
        k->members[m].group = 0;
    for (i = 0; i < n; i++) {
        snprintf(buf, sizeof(buf), "Group %zu", i + 1);
        group_add(k, json_is_array(names) ? json_string_value(json_array_get(names, i)) : buf);
    }
    k->mode[0] = '\0';
    ok(c, id);
    tell_all(k);
}

static void cmd_add(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (!k)
        return;
    if (!name_ok(name)) {
        sc_ws_error(c, id, "bad-request", "a group's \"name\" has 1-40 characters");
        return;
    }
    group *g = group_add(k, name);
    if (!g) {
        sc_ws_error(c, id, "too-many-groups", "at most %d groups", GROUPS_MAX);
        return;
    }
    g->open = k->state == CLASS_OPEN;
    g->opened_ms = (int64_t)sc_mono_ms();
    ok(c, id);
    tell_all(k);
}

static group *group_arg(class_room *k, sc_ws_client *c, json_t *msg, json_t *id)
{
    json_t *v = json_object_get(msg, "group");
    group *g = json_is_integer(v) ? group_by_id(k, (int)json_integer_value(v)) : NULL;
    if (!g)
        sc_ws_error(c, id, "not-found", "no such group");
    return g;
}

static void cmd_rename(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const char *name = json_string_value(json_object_get(msg, "name"));
    group *g;
    if (!k || !(g = group_arg(k, c, msg, id)))
        return;
    if (!name_ok(name)) {
        sc_ws_error(c, id, "bad-request", "a group's \"name\" has 1-40 characters");
        return;
    }
    snprintf(g->name, sizeof(g->name), "%s", name);
    ok(c, id);
    tell_all(k);
}

static void cmd_remove(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    group *g;
    if (!k || !(g = group_arg(k, c, msg, id)))
        return;
    if (g->open)
        close_group_now(k, g);
    close_walls(k, g);
    int gid = g->id;
    for (size_t m = 0; m < k->n_members; m++)
        if (k->members[m].group == gid)
            k->members[m].group = 0;
    *g = k->groups[--k->n_groups];
    /* keep ids in creation order for the pages */
    for (int i = 0; i + 1 < k->n_groups; i++)
        for (int j = i + 1; j < k->n_groups; j++)
            if (k->groups[j].id < k->groups[i].id) {
                group t = k->groups[i];
                k->groups[i] = k->groups[j];
                k->groups[j] = t;
            }
    ok(c, id);
    tell_all(k);
}

static uint32_t rnd(void)
{
    uint32_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
        v = (uint32_t)sc_mono_us();
    return v;
}

static void assign_auto(class_room *k)
{
    json_t *online = online_users(k);
    const char *user;
    json_t *name;
    member *list[MEMBERS_MAX];
    size_t n = 0;
    for (size_t m = 0; m < k->n_members; m++)
        k->members[m].group = 0;
    json_object_foreach(online, user, name) {
        member *m = member_find(k, user, json_string_value(name), true);
        if (m && n < MEMBERS_MAX)
            list[n++] = m;
    }
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
        size_t j = rnd() % i;
        member *t = list[i - 1];
        list[i - 1] = list[j];
        list[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        list[i]->group = k->groups[i % (size_t)k->n_groups].id;
    json_decref(online);
}

static void cmd_assign(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const char *mode = json_string_value(json_object_get(msg, "mode"));
    if (!k)
        return;
    if (!mode) {
        sc_ws_error(c, id, "bad-request", "groups_assign needs \"mode\" (string)");
        return;
    }
    if (k->n_groups == 0 && strcmp(mode, "clear") != 0) {
        sc_ws_error(c, id, "not-found", "create the groups first");
        return;
    }
    if (strcmp(mode, "auto") == 0) {
        assign_auto(k);
    } else if (strcmp(mode, "manual") == 0) {
        json_t *as = json_object_get(msg, "assignments");
        const char *user;
        json_t *v;
        if (!json_is_object(as)) {
            sc_ws_error(c, id, "bad-request", "manual needs \"assignments\" (object)");
            return;
        }
        json_object_foreach(as, user, v) {
            if ((!json_is_null(v) && !(json_is_integer(v) &&
                                       group_by_id(k, (int)json_integer_value(v)))) ||
                strlen(user) > SC_PEER_NAME_MAX || !user[0]) {
                sc_ws_error(c, id, "not-found", "no group %s for user %.64s",
                            json_is_integer(v) ? "with that id" : "(need an id or null)", user);
                return;
            }
        }
        json_object_foreach(as, user, v) {
            member *m = member_find(k, user, NULL, true);
            if (m)
                m->group = json_is_null(v) ? 0 : (int)json_integer_value(v);
        }
    } else if (strcmp(mode, "choose") == 0) {
        json_t *cap = json_object_get(msg, "cap");
        k->cap = json_is_integer(cap) ? (int)json_integer_value(cap) : SC_GROUP_MAX_PUBLISHERS;
        if (k->cap < 1 || k->cap > SC_GROUP_MAX_PUBLISHERS) {
            sc_ws_error(c, id, "bad-request", "\"cap\" is 1-%d", SC_GROUP_MAX_PUBLISHERS);
            return;
        }
    } else if (strcmp(mode, "clear") == 0) {
        for (size_t m = 0; m < k->n_members; m++)
            k->members[m].group = 0;
    } else {
        sc_ws_error(c, id, "bad-request", "\"mode\" is auto, manual, choose or clear");
        return;
    }
    snprintf(k->mode, sizeof(k->mode), "%s", strcmp(mode, "clear") == 0 ? "" : mode);
    if (strcmp(mode, "choose") != 0)
        k->cap = 0;
    ok(c, id);
    if (k->state == CLASS_OPEN)
        settle_everyone(k);
    tell_all(k);
}

static void cmd_reuse(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const char *why = "no grouping stored";
    (void)msg;
    if (!k)
        return;
    if (k->state == CLASS_OPEN) {
        sc_ws_error(c, id, "groups-open", "close the groups first");
        return;
    }
    char *s = k->app->store ? sc_store_setting_get(k->app->store, k->name, "groups") : NULL;
    json_t *doc = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    if (!doc || load_grouping(k, doc, &why) < 0) {
        json_decref(doc);
        sc_ws_error(c, id, "not-found", "%s", why);
        return;
    }
    json_decref(doc);
    ok(c, id);
    tell_all(k);
}

static void cmd_open(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    json_t *d = json_object_get(msg, "duration");
    if (!k)
        return;
    if (d && (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > 86400)) {
        sc_ws_error(c, id, "bad-request", "\"duration\" is 0-86400 seconds");
        return;
    }
    if (k->n_groups == 0) {
        sc_ws_error(c, id, "not-found", "create the groups first");
        return;
    }
    if (k->state == CLASS_OPEN) {
        sc_ws_error(c, id, "groups-open", "the groups are open");
        return;
    }
    int64_t now = sc_wall_ms();
    k->state = CLASS_OPEN;
    k->started_at = now;
    k->ends_at = d && json_integer_value(d) ? now + json_integer_value(d) * 1000 : 0;
    k->n_help = 0;
    for (int i = 0; i < k->n_groups; i++) {
        k->groups[i].open = true;
        k->groups[i].closing_at = 0;
        k->groups[i].opened_ms = (int64_t)sc_mono_ms();
        k->groups[i].quiet = false;
        k->groups[i].speaker[0] = '\0';
    }
    save(k);
    SC_INFO("groups", "class %s: %d groups open (%s, %lld s)", k->name, k->n_groups,
            k->mode[0] ? k->mode : "unassigned",
            (long long)(d ? json_integer_value(d) : 0));
    ok(c, id);
    settle_everyone(k);
    tell_all(k);
    ticker_start(k->app);
}

static void cmd_extend(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    json_t *s = json_object_get(msg, "seconds");
    if (!k)
        return;
    if (!json_is_integer(s) || json_integer_value(s) < -3600 || json_integer_value(s) > 3600) {
        sc_ws_error(c, id, "bad-request", "\"seconds\" is -3600..3600");
        return;
    }
    if (k->state != CLASS_OPEN) {
        sc_ws_error(c, id, "groups-idle", "no groups are open");
        return;
    }
    int64_t now = sc_wall_ms();
    int64_t base = k->ends_at ? k->ends_at : now;
    int64_t end = base + json_integer_value(s) * 1000;
    if (end < now + 10000)
        end = now + 10000;
    k->ends_at = end;
    /* extending the time calls off a countdown the timer started; one the
     * trainer asked for (groups_close) goes on */
    for (int i = 0; i < k->n_groups; i++)
        if (k->groups[i].timer_closing)
            k->groups[i].closing_at = 0;
    ok(c, id);
    tell_all(k);
}

static void cmd_close(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    json_t *gv = json_object_get(msg, "group"), *grace = json_object_get(msg, "grace");
    group *g = NULL;
    if (!k)
        return;
    if (grace && (!json_is_integer(grace) || json_integer_value(grace) < 0 ||
                  json_integer_value(grace) > 120)) {
        sc_ws_error(c, id, "bad-request", "\"grace\" is 0-120 seconds");
        return;
    }
    if (k->state != CLASS_OPEN) {
        sc_ws_error(c, id, "groups-idle", "no groups are open");
        return;
    }
    if (gv && !json_is_null(gv) && !(g = group_arg(k, c, msg, id)))
        return;
    int secs = grace ? (int)json_integer_value(grace) : GRACE_DEFAULT_S;
    start_closing(k, g, secs, false);
    ok(c, id);
    if (secs == 0) {
        for (int i = 0; i < k->n_groups; i++)
            if (k->groups[i].open && (!g || g == &k->groups[i]))
                close_group_now(k, &k->groups[i]);
    }
    tell_all(k);
}

static void cmd_broadcast(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const char *text = json_string_value(json_object_get(msg, "text"));
    if (!k)
        return;
    if (!text || !text[0] || json_string_length(json_object_get(msg, "text")) > BROADCAST_MAX * 4) {
        sc_ws_error(c, id, "bad-request", "\"text\" has 1-500 characters");
        return;
    }
    json_t *m = json_pack("{s:s,s:s,s:s,s:I}", "type", "broadcast", "text", text, "by",
                          sc_ws_client_token(c)->name, "at", (json_int_t)sc_wall_ms());
    sc_ws_broadcast(k->app, k->name, json_incref(m));
    for (int i = 0; i < k->n_groups; i++)
        sc_ws_broadcast(k->app, k->groups[i].room, json_incref(m));
    json_decref(m);
    ok(c, id);
}

static void cmd_move(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const char *user = json_string_value(json_object_get(msg, "user_id"));
    const char *with = json_string_value(json_object_get(msg, "with"));
    json_t *gv = json_object_get(msg, "group");
    member *m, *o = NULL;
    group *g = NULL;
    if (!k)
        return;
    if (!user || !user[0] || strlen(user) > SC_PEER_NAME_MAX) {
        sc_ws_error(c, id, "bad-request", "group_move needs \"user_id\"");
        return;
    }
    if (with) {
        m = member_find(k, user, NULL, false);
        o = member_find(k, with, NULL, false);
        if (!m || !o) {
            sc_ws_error(c, id, "not-found", "no such user in the class");
            return;
        }
        int t = m->group;
        m->group = o->group;
        o->group = t;
    } else {
        if (gv && !json_is_null(gv) && !(g = group_arg(k, c, msg, id)))
            return;
        if (!(m = member_find(k, user, NULL, false))) {
            sc_ws_error(c, id, "not-found",
                        "%.64s is not in the class (never joined, not pre-assigned)", user);
            return;
        }
        m->group = g ? g->id : 0;
    }
    ok(c, id);
    if (k->state == CLASS_OPEN) {
        settle_user(k, user);
        if (o)
            settle_user(k, o->user);
    }
    tell_all(k);
}

static void cmd_visit(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    json_t *gv = json_object_get(msg, "group");
    const char *mode = json_string_value(json_object_get(msg, "mode"));
    group *g = NULL;
    if (!k)
        return;
    if (!mode)
        mode = "listen";
    if (strcmp(mode, "listen") != 0 && strcmp(mode, "join") != 0) {
        sc_ws_error(c, id, "bad-request", "\"mode\" is listen or join");
        return;
    }
    if (gv && !json_is_null(gv) && !(g = group_arg(k, c, msg, id)))
        return;
    if (g && !g->open) {
        sc_ws_error(c, id, "groups-idle", "that group is not open");
        return;
    }
    /* a change of mode in the same group: back first, so the publish
     * session goes where the new mode says */
    if (g && group_by_room(k, sc_ws_client_room(c)) == g)
        place(k, c, NULL, "member");
    ok(c, id);
    if (place(k, c, g, g ? mode : "member") < 0) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (g) {
        for (int h = 0; h < k->n_help;)
            if (k->help[h].group == g->id)
                k->help[h] = k->help[--k->n_help];
            else
                h++;
    }
    tell_all(k);
}

typedef struct pub_walk {
    const sc_ws_client *c;
    uint64_t id;
} pub_walk;

static void pub_one(void *ud, sc_session_entry *e)
{
    pub_walk *w = ud;
    if (e->owner == w->c && e->kind == SC_SESSION_PUBLISH && !e->closing && !w->id)
        w->id = e->id;
}

static void cmd_talk(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    bool on = json_is_true(json_object_get(msg, "on"));
    if (!k)
        return;
    if (!json_is_boolean(json_object_get(msg, "on"))) {
        sc_ws_error(c, id, "bad-request", "groups_talk needs \"on\" (boolean)");
        return;
    }
    if (on && k->state != CLASS_OPEN) {
        sc_ws_error(c, id, "groups-idle", "no groups are open");
        return;
    }
    pub_walk w = {.c = c};
    sc_rooms_foreach_session(k->app->rooms, pub_one, &w);
    if (on && !w.id) {
        sc_ws_error(c, id, "not-found", "publish first: talk to all sends your microphone");
        return;
    }
    if (k->talk_session && k->app->sfu && (!on || k->talk_session != w.id))
        sc_sfu_set_talk(k->app->sfu, k->talk_session, NULL, 0);
    k->talk_session = on ? w.id : 0;
    k->talk_sig[0] = '\0';
    snprintf(k->talk_by, sizeof(k->talk_by), "%s", on ? sc_ws_client_token(c)->name : "");
    ok(c, id);
    tell_all(k);
}

static void cmd_choose(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const sc_token *t = sc_ws_client_token(c);
    group *g;
    member *m;
    if (!k || !(g = group_arg(k, c, msg, id)))
        return;
    if (strcmp(k->mode, "choose") != 0) {
        sc_ws_error(c, id, "forbidden", "the trainer assigns the groups");
        return;
    }
    if (!(m = member_find(k, t->sub, t->name, true))) {
        sc_ws_error(c, id, "internal", "too many users in the class");
        return;
    }
    if (m->group != g->id && group_size(k, g->id) >= k->cap) {
        sc_ws_error(c, id, "group-full", "%s is full (%d)", g->name, k->cap);
        return;
    }
    m->group = g->id;
    ok(c, id);
    if (k->state == CLASS_OPEN)
        settle_user(k, t->sub);
    tell_all(k);
}

static void cmd_help(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    const sc_token *t = sc_ws_client_token(c);
    bool cancel = json_is_true(json_object_get(msg, "cancel"));
    if (!k)
        return;
    group *g = group_by_room(k, sc_ws_client_room(c));
    if (!g) {
        sc_ws_error(c, id, "forbidden", "ask for help from a group");
        return;
    }
    int at = -1;
    for (int h = 0; h < k->n_help; h++)
        if (strcmp(k->help[h].user, t->sub) == 0)
            at = h;
    if (cancel && at >= 0) {
        k->help[at] = k->help[--k->n_help];
    } else if (!cancel && at < 0) {
        if (k->n_help >= HELP_MAX) {
            sc_ws_error(c, id, "rate-limited", "the trainer has %d requests waiting", HELP_MAX);
            return;
        }
        help_req *r = &k->help[k->n_help++];
        snprintf(r->user, sizeof(r->user), "%s", t->sub);
        snprintf(r->name, sizeof(r->name), "%s", t->name);
        r->group = g->id;
        r->since_ms = sc_wall_ms();
    }
    ok(c, id);
    tell_all(k);
}

/* The trainer's wall: a subscribe session of the trainer's that receives
 * one group (filed under the group, so it stays there whatever the
 * trainer's own connection does, and ends when the group is removed). */
static void cmd_watch(sc_ws_client *c, json_t *msg, json_t *id)
{
    class_room *k = class_of(c, id);
    json_t *sdp = json_object_get(msg, "sdp");
    const char *code = "internal";
    char err[300], hex[17];
    char *answer = NULL;
    uint64_t sid = 0;
    group *g;
    if (!k || !(g = group_arg(k, c, msg, id)))
        return;
    int status = sc_session_open(k->app, sc_ws_client_token(c), g->room, NULL,
                                 sc_ws_client_peer(c), SC_SESSION_SUBSCRIBE,
                                 json_string_value(sdp), json_string_length(sdp), c, &answer,
                                 &sid, &code, err, sizeof(err));
    if (status) {
        sc_ws_error(c, id, code, "%s", err);
        return;
    }
    sc_session_id_format(sid, hex);
    SC_INFO_CTX("groups", g->room, sid, "class %s: %s watches group %s (session %s)", k->name,
                sc_ws_client_token(c)->sub, g->name, hex);
    sc_ws_reply(c, id, json_pack("{s:s,s:s,s:s,s:i}", "type", "answer", "session", hex, "sdp",
                                 answer, "group", g->id));
    free(answer);
}

static void on_speaker(void *ud, const sc_bus_event *ev)
{
    sc_app *app = ud;
    class_room *k;
    group *g;
    if (!ev->room || !sc_groups_is_group(ev->room) || !(k = class_find(app, ev->room, false)) ||
        !(g = group_by_room(k, ev->room)))
        return;
    snprintf(g->speaker, sizeof(g->speaker), "%s", ev->slot >= 0 && ev->name ? ev->name : "");
    if (g->open)
        tell_all(k);
}

const sc_command sc_groups_commands[] = {
    {"group_watch", cmd_watch, SC_PERM_MODERATE, true, "watching a group", "group:i sdp:s"},
    {"groups_create", cmd_create, SC_PERM_MODERATE, true, "creating groups", NULL},
    {"group_add", cmd_add, SC_PERM_MODERATE, true, "adding a group", "name:s"},
    {"group_rename", cmd_rename, SC_PERM_MODERATE, true, "renaming a group", "group:i name:s"},
    {"group_remove", cmd_remove, SC_PERM_MODERATE, true, "removing a group", "group:i"},
    {"groups_assign", cmd_assign, SC_PERM_MODERATE, true, "assigning groups", "mode:s"},
    {"groups_reuse", cmd_reuse, SC_PERM_MODERATE, true, "reusing a grouping", NULL},
    {"groups_open", cmd_open, SC_PERM_MODERATE, true, "opening groups", "duration:i?"},
    {"groups_extend", cmd_extend, SC_PERM_MODERATE, true, "extending groups", "seconds:i"},
    {"groups_close", cmd_close, SC_PERM_MODERATE, true, "closing groups", "grace:i?"},
    {"groups_broadcast", cmd_broadcast, SC_PERM_MODERATE, true, "broadcasting to groups",
     "text:s"},
    {"group_move", cmd_move, SC_PERM_MODERATE, true, "moving a participant", "user_id:s"},
    {"group_visit", cmd_visit, SC_PERM_MODERATE, true, "visiting a group", "mode:s?"},
    {"groups_talk", cmd_talk, SC_PERM_MODERATE, true, "talking to all groups", "on:b"},
    {"group_choose", cmd_choose, SC_PERM_SUBSCRIBE, true, "choosing a group", "group:i"},
    {"help", cmd_help, 0, true, "asking for help", "cancel:b?"},
};
const size_t sc_groups_n_commands = sizeof(sc_groups_commands) / sizeof(sc_groups_commands[0]);

/* ---- hooks from ws.c ------------------------------------------------------------------ */

void sc_groups_on_join(sc_ws_client *c)
{
    sc_app *app = sc_ws_client_app(c);
    class_room *k = class_find(app, sc_ws_client_home(c), false);
    const sc_token *t = sc_ws_client_token(c);
    if (!k)
        return;
    member *m = staff(c) ? NULL : member_find(k, t->sub, t->name, true);
    if (m && !m->since_ms) {
        m->place = 0;
        m->since_ms = sc_wall_ms();
    }
    if (k->state == CLASS_OPEN && !staff(c))
        settle(k, c);
    tell_joined(k, c);
}

void sc_groups_on_leave(sc_ws_client *c)
{
    sc_app *app = sc_ws_client_app(c);
    class_room *k = class_find(app, sc_ws_client_home(c), false);
    const sc_token *t = sc_ws_client_token(c);
    if (!k)
        return;
    grant *g = grant_of(k, c);
    if (g)
        *g = k->grants[--k->n_grants];
    member *m = staff(c) ? NULL : member_find(k, t->sub, NULL, false);
    if (m) {
        att_close(k, m, sc_wall_ms());
        m->since_ms = 0;
    }
    for (int h = 0; h < k->n_help;)
        if (strcmp(k->help[h].user, t->sub) == 0)
            k->help[h] = k->help[--k->n_help];
        else
            h++;
}

/* ---- REST: pre-assignment and attendance ------------------------------------------------ */

/* "user_id,group name" lines (a header "user_id,group" skipped) into the
 * JSON document load_grouping takes. */
static json_t *csv_grouping(const char *body, size_t len, const char **why)
{
    json_t *doc = json_pack("{s:[]}", "groups"), *arr = json_object_get(doc, "groups");
    json_t *by_name = json_object();
    const char *p = body, *end = body + len;
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char buf[512];
        line++;
        if (l && p[l - 1] == '\r')
            l--;
        if (l >= sizeof(buf)) {
            *why = "a CSV line is longer than 511 bytes";
            goto bad;
        }
        memcpy(buf, p, l);
        buf[l] = '\0';
        p += (nl ? l + 1 + (p[l] == '\r') : l);
        if (!buf[0] || (line == 1 && strncmp(buf, "user_id,", 8) == 0))
            continue;
        char *comma = strchr(buf, ',');
        if (!comma || comma == buf || !comma[1]) {
            *why = "each CSV line is user_id,group name";
            goto bad;
        }
        *comma = '\0';
        json_t *g = json_object_get(by_name, comma + 1);
        if (!g) {
            if (json_array_size(arr) >= GROUPS_MAX) {
                *why = "at most 50 groups";
                goto bad;
            }
            g = json_pack("{s:s,s:[]}", "name", comma + 1, "members");
            json_array_append_new(arr, g);
            json_object_set(by_name, comma + 1, g);
        }
        json_array_append_new(json_object_get(g, "members"), json_string(buf));
    }
    json_decref(by_name);
    return doc;
bad:
    json_decref(by_name);
    json_decref(doc);
    return NULL;
}

static void groups_route(sc_app *app, const sc_http_req *req, const char *room,
                         sc_http_reply *rep)
{
    class_room *k = class_find(app, room, req->method == SC_HTTP_PUT);
    if (req->method == SC_HTTP_PUT) {
        const char *why = "the body is not valid JSON";
        json_t *doc = NULL;
        if (!k) {
            sc_http_error(rep, 500, "internal", "out of memory");
            return;
        }
        if (k->state == CLASS_OPEN) {
            sc_http_error(rep, 409, "groups-open", "the groups are open; close them first");
            return;
        }
        if (strncmp(req->content_type, "text/csv", 8) == 0)
            doc = csv_grouping(req->body ? req->body : "", req->body_len, &why);
        else
            doc = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES,
                             NULL);
        if (!doc || load_grouping(k, doc, &why) < 0) {
            json_decref(doc);
            sc_http_error(rep, 400, "bad-request", "%s", why);
            return;
        }
        json_decref(doc);
        save(k);
        tell_all(k);
    }
    if (!k) {
        char *s = app->store ? sc_store_setting_get(app->store, room, "groups") : NULL;
        json_t *doc = s ? json_loads(s, 0, NULL) : NULL;
        free(s);
        if (!doc)
            doc = json_pack("{s:[]}", "groups");
        json_object_set_new(doc, "state", json_string("idle"));
        sc_http_json(rep, 200, doc);
        return;
    }
    json_t *doc = grouping_json(k);
    json_object_set_new(doc, "state", json_string(k->state == CLASS_OPEN ? "open" : "idle"));
    json_object_set_new(doc, "ends_at", ms_or_null(k->ends_at));
    sc_http_json(rep, 200, doc);
}

/* RFC 4180, with a quote mark before what a spreadsheet would run as a
 * formula. */
static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    if (strchr("=+-@\t\r", s[0]) && s[0])
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void attendance_route(sc_app *app, const sc_http_req *req, const char *room,
                             sc_http_reply *rep)
{
    char fmt[8] = "";
    sc_http_query_arg(req->query, "format", fmt, sizeof(fmt));
    class_room *k = class_find(app, room, false);
    int64_t now = sc_wall_ms();
    json_t *arr = json_array();
    for (size_t i = 0; k && i < k->n_members; i++) {
        member *m = &k->members[i];
        att_close(k, m, now);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:o,s:i,s:I}", "user_id", m->user,
                                             "name", m->name, "main_ms", (json_int_t)m->main_ms,
                                             "groups",
                                             m->group_ms ? json_deep_copy(m->group_ms)
                                                         : json_object(),
                                             "messages", (int)m->messages, "talk_ms",
                                             (json_int_t)m->talk_ms));
    }
    if (strcmp(fmt, "csv") != 0) {
        sc_http_json(rep, 200, json_pack("{s:s,s:o}", "room", room, "participants", arr));
        return;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) {
        json_decref(arr);
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    fputs("user_id,name,main_ms,group,group_ms,messages,talk_ms\r\n", f);
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p) {
        const char *gname;
        json_t *ms;
        json_t *groups = json_object_get(p, "groups");
        bool any = false;
        json_object_foreach(groups, gname, ms) {
            any = true;
            csv_field(f, json_string_value(json_object_get(p, "user_id")));
            fputc(',', f);
            csv_field(f, json_string_value(json_object_get(p, "name")));
            fprintf(f, ",%lld,", (long long)json_integer_value(json_object_get(p, "main_ms")));
            csv_field(f, gname);
            fprintf(f, ",%lld,%lld,%lld\r\n", (long long)json_integer_value(ms),
                    (long long)json_integer_value(json_object_get(p, "messages")),
                    (long long)json_integer_value(json_object_get(p, "talk_ms")));
        }
        if (!any) {
            csv_field(f, json_string_value(json_object_get(p, "user_id")));
            fputc(',', f);
            csv_field(f, json_string_value(json_object_get(p, "name")));
            fprintf(f, ",%lld,,0,%lld,%lld\r\n",
                    (long long)json_integer_value(json_object_get(p, "main_ms")),
                    (long long)json_integer_value(json_object_get(p, "messages")),
                    (long long)json_integer_value(json_object_get(p, "talk_ms")));
        }
    }
    fclose(f);
    json_decref(arr);
    sc_http_body(rep, 200, "text/csv; charset=utf-8", out, len);
    free(out);
}

/* /api/v1/rooms/{room}/groups (GET, PUT) and /api/v1/rooms/{room}/attendance (GET). */
static void rooms_route(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                        char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_token tok;
    bool groups = strcmp(args[1], "groups") == 0;
    (void)route;
    if (!groups && strcmp(args[1], "attendance") != 0) {
        sc_http_error(rep, 404, "not-found", "no such resource (groups or attendance)");
        return;
    }
    if (!groups && req->method == SC_HTTP_PUT) {
        snprintf(rep->allow, sizeof(rep->allow), "GET, HEAD");
        sc_http_error(rep, 405, "method-not-allowed", "attendance is read-only");
        return;
    }
    if (!sc_rooms_name_ok(args[0])) {
        sc_http_error(rep, 400, "bad-request", "room names are 1..64 of [A-Za-z0-9_-]");
        return;
    }
    if (sc_http_auth(app, req, args[0], SC_PERM_MODERATE, &tok, rep))
        return;
    if (groups)
        groups_route(app, req, args[0], rep);
    else
        attendance_route(app, req, args[0], rep);
}

const sc_http_route sc_groups_routes[] = {
    {"/api/v1/rooms", 2, SC_HTTP_GET | SC_HTTP_PUT, "a class's groups or attendance",
     rooms_route, 0},
};
const size_t sc_groups_n_routes = sizeof(sc_groups_routes) / sizeof(sc_groups_routes[0]);
