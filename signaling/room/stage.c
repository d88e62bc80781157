/* The stage's WebSocket messages: raise / lower a hand, invite, accept /
 * decline, mute, remove, leave (docs/protocol.md, "Stage").
 *
 * A seat is either an invitation (bound to the invited connection, so only
 * that connection may accept it) or a place on stage.  Taking a seat grants
 * the connection `publish` live; leaving it restores the connection's
 * earlier permissions and ends the publish sessions it opened, through the
 * same path as `unpublish`. */
#include "signaling/room/stage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/sfu.h"
#include "signaling/auth/token.h"
#include "signaling/http/whip.h"
#include "signaling/room/rooms.h"

/* Hands waiting at once in one room: the host reads this list, so a longer
 * one helps nobody and only costs every update. */
#define STAGE_HANDS_MAX 200
/* Seats: guests on stage (at most the SFU's 16 slots) plus open
 * invitations. */
#define STAGE_SEATS_MAX 32
/* An invitation nobody answers stops counting after this long. */
#define STAGE_INVITE_TTL_MS (120 * 1000)
/* A hand lowered may be raised again only after this long: every change
 * goes to each moderator, and a viewer toggling in a loop must not fill
 * the host's send queue until the server disconnects the host. */
#define STAGE_HAND_REPEAT_MS 1000
#define STAGE_RECENT_MAX 32

typedef struct hand {
    sc_ws_client *c;
    char user[SC_PEER_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    int64_t since_ms;
} hand;

typedef enum seat_state { SEAT_INVITED, SEAT_ON_STAGE } seat_state;

typedef struct seat {
    sc_ws_client *c;
    seat_state state;
    char user[SC_PEER_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    char by[SC_PEER_NAME_MAX + 1];   /* display name of who invited */
    int64_t since_ms;                /* invited at, then on stage since */
    bool audio_only, audio_muted, video_muted;
    uint32_t perms_before;           /* restored when the seat is left */
} seat;

typedef struct stage_room {
    sc_room *room;                   /* the aggregate holding this state */
    sc_app *app;
    char name[SC_ROOM_NAME_MAX + 1];
    hand *hands;
    size_t n_hands, cap_hands;
    seat seats[STAGE_SEATS_MAX];
    size_t n_seats;
    struct {
        const sc_ws_client *c;
        int64_t at_ms;
    } lowered[STAGE_RECENT_MAX];     /* ring of recently lowered hands */
    unsigned lowered_next;
} stage_room;

/* ---- state -------------------------------------------------------------------- */

static void stage_free(void *state)
{
    stage_room *r = state;
    free(r->hands);
    free(r);
}

/* The room's stage state: kept in the room aggregate's stage slot while a
 * hand or a seat remains. */
static stage_room *room_find(sc_app *app, const char *name, bool create)
{
    sc_room *room = create ? sc_rooms_open(app->rooms, name, NULL)
                           : sc_rooms_find(app->rooms, name);
    stage_room *r;

    if (!room)
        return NULL;
    if ((r = sc_room_state(room, SC_ROOM_SLOT_STAGE)) || !create)
        return r;
    if (!(r = calloc(1, sizeof(*r)))) {
        sc_room_set_state(room, SC_ROOM_SLOT_STAGE, NULL, NULL); /* frees a new room */
        return NULL;
    }
    r->room = room;
    r->app = app;
    snprintf(r->name, sizeof(r->name), "%s", name);
    sc_room_set_state(room, SC_ROOM_SLOT_STAGE, r, stage_free);
    return r;
}

static bool lowered_recently(const stage_room *r, const sc_ws_client *c, int64_t now)
{
    for (size_t i = 0; i < STAGE_RECENT_MAX; i++)
        if (r->lowered[i].c && now - r->lowered[i].at_ms < STAGE_HAND_REPEAT_MS &&
            (!c || r->lowered[i].c == c))
            return true;
    return false;
}

static void note_lowered(stage_room *r, const sc_ws_client *c)
{
    r->lowered[r->lowered_next].c = c;
    r->lowered[r->lowered_next].at_ms = sc_wall_ms();
    r->lowered_next = (r->lowered_next + 1) % STAGE_RECENT_MAX;
}

/* The stage state stays while a hand, a seat or a fresh lowered-hand note
 * remains. */
static void room_release_if_empty(stage_room *r)
{
    sc_room *room = r->room;

    if (r->n_hands || r->n_seats || lowered_recently(r, NULL, sc_wall_ms()))
        return;
    stage_free(r);
    sc_room_set_state(room, SC_ROOM_SLOT_STAGE, NULL, NULL);
}

static stage_room *room_of(sc_ws_client *c, bool create)
{
    return room_find(sc_ws_client_app(c), sc_ws_client_room(c), create);
}

static hand *hand_of(stage_room *r, const sc_ws_client *c)
{
    for (size_t i = 0; r && i < r->n_hands; i++)
        if (r->hands[i].c == c)
            return &r->hands[i];
    return NULL;
}

static void hand_remove(stage_room *r, hand *h)
{
    size_t i = (size_t)(h - r->hands);
    memmove(&r->hands[i], &r->hands[i + 1], (r->n_hands - i - 1) * sizeof(*h));
    r->n_hands--;
}

static seat *seat_of(stage_room *r, const sc_ws_client *c)
{
    for (size_t i = 0; r && i < r->n_seats; i++)
        if (r->seats[i].c == c)
            return &r->seats[i];
    return NULL;
}

static seat *seat_by_user(stage_room *r, const char *user)
{
    for (size_t i = 0; r && i < r->n_seats; i++)
        if (strcmp(r->seats[i].user, user) == 0)
            return &r->seats[i];
    return NULL;
}

static void seat_remove(stage_room *r, seat *s)
{
    size_t i = (size_t)(s - r->seats);
    memmove(&r->seats[i], &r->seats[i + 1], (r->n_seats - i - 1) * sizeof(*s));
    r->n_seats--;
}

/* Invitations nobody answered in time no longer hold a seat. */
static void expire_invitations(stage_room *r, int64_t now)
{
    for (size_t i = 0; i < r->n_seats;) {
        seat *s = &r->seats[i];
        if (s->state == SEAT_INVITED && now - s->since_ms > STAGE_INVITE_TTL_MS)
            seat_remove(r, s);
        else
            i++;
    }
}

/* Who is on stage now: guests seated here plus the other publishers the
 * media plane has (the host, cohost tokens, WHIP), each user counted once. */
static int stage_occupancy(stage_room *r, const char *room)
{
    sc_sfu_publisher_info pubs[64];
    int n = 0, viewers = 0, count = 0;
    sc_app *app = r ? r->app : NULL;

    for (size_t i = 0; r && i < r->n_seats; i++)
        if (r->seats[i].state == SEAT_ON_STAGE)
            count++;
    if (!app || !app->sfu || sc_sfu_room_info(app->sfu, room, pubs, 64, &n, &viewers) < 0)
        return count;
    for (int i = 0; i < n && i < 64; i++) {
        seat *s = seat_by_user(r, pubs[i].user_id);
        bool dup = false;
        if (s && s->state == SEAT_ON_STAGE)
            continue;
        for (int j = 0; j < i && !dup; j++)
            dup = strcmp(pubs[j].user_id, pubs[i].user_id) == 0;
        if (!dup)
            count++;
    }
    return count;
}

static int stage_limit(sc_ws_client *c)
{
    return sc_ws_client_app(c)->cfg->max_publishers;
}

/* ---- messages ----------------------------------------------------------------- */

static json_t *hands_json(const stage_room *r)
{
    json_t *q = json_array();
    for (size_t i = 0; r && i < r->n_hands; i++) {
        const hand *h = &r->hands[i];
        const seat *s = NULL;
        for (size_t j = 0; j < r->n_seats && !s; j++)
            if (r->seats[j].c == h->c)
                s = &r->seats[j];
        json_array_append_new(q, json_pack("{s:s,s:s,s:I,s:b}", "user_id", h->user, "name",
                                           h->name, "since", (json_int_t)h->since_ms, "invited",
                                           s && s->state == SEAT_INVITED));
    }
    return json_pack("{s:s,s:o}", "type", "hands", "queue", q);
}

static json_t *stage_json(const stage_room *r, int limit)
{
    json_t *m = json_array();
    for (size_t i = 0; r && i < r->n_seats; i++) {
        const seat *s = &r->seats[i];
        if (s->state != SEAT_ON_STAGE)
            continue;
        json_array_append_new(
            m, json_pack("{s:s,s:s,s:I,s:b,s:b,s:b}", "user_id", s->user, "name", s->name,
                         "since", (json_int_t)s->since_ms, "audio_only", s->audio_only,
                         "audio_muted", s->audio_muted, "video_muted", s->video_muted));
    }
    return json_pack("{s:s,s:o,s:i}", "type", "stage", "members", m, "size", limit);
}

static void send_copy_to_moderator(void *ud, sc_ws_client *c)
{
    if (sc_ws_client_token(c)->perms & SC_PERM_MODERATE)
        sc_ws_send(c, json_incref((json_t *)ud));
}

/* The hand queue goes only to those who may act on it. */
static void tell_moderators(sc_app *app, const char *room, json_t *msg)
{
    sc_ws_foreach_client(app, room, send_copy_to_moderator, msg);
    json_decref(msg);
}

static void publish_hands(sc_app *app, const char *room, const stage_room *r)
{
    tell_moderators(app, room, hands_json(r));
}

static void publish_stage(sc_app *app, const char *room, const stage_room *r)
{
    sc_ws_broadcast(app, room, stage_json(r, app->cfg->max_publishers));
}

/* ---- leaving the stage ------------------------------------------------------------ */

typedef struct owned_publish {
    const sc_ws_client *owner;
    uint64_t ids[16];
    int n;
} owned_publish;

static void collect_publish(void *ud, sc_session_entry *e)
{
    owned_publish *o = ud;
    if (e->owner == o->owner && e->kind == SC_SESSION_PUBLISH && !e->closing &&
        o->n < (int)(sizeof(o->ids) / sizeof(o->ids[0])))
        o->ids[o->n++] = e->id;
}

/* Revoke publish and end the publish sessions c opened, as unpublish
 * would; their session_closed and publisher_left follow from the media
 * plane. */
static void end_publishing(sc_ws_client *c, uint32_t perms_before)
{
    sc_app *app = sc_ws_client_app(c);
    owned_publish o = {.owner = c};

    sc_ws_client_set_perms(c, perms_before & ~(uint32_t)SC_PERM_PUBLISH);
    sc_rooms_foreach_session(app->rooms, collect_publish, &o);
    for (int i = 0; i < o.n; i++)
        sc_session_close(app, o.ids[i]);
}

/* Take c off stage (or cancel its invitation) and tell it why. */
static void vacate(stage_room *r, seat *s, const char *reason, const char *by)
{
    sc_ws_client *c = s->c;
    bool was_on = s->state == SEAT_ON_STAGE;
    uint32_t before = s->perms_before;

    seat_remove(r, s);
    sc_ws_send(c, json_pack("{s:s,s:s,s:s}", "type", was_on ? "stage_removed" : "invite_cancelled",
                            "reason", reason, "by", by));
    if (was_on)
        end_publishing(c, before);
}

/* ---- commands ----------------------------------------------------------------------- */

static void cmd_raise_hand(sc_ws_client *c, json_t *msg, json_t *id)
{
    const sc_token *tok = sc_ws_client_token(c);
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    stage_room *r;
    hand *h;

    (void)msg;
    if (tok->perms & SC_PERM_PUBLISH) {
        sc_ws_error(c, id, "already-on-stage", "you may publish already");
        return;
    }
    if (!(r = room_of(c, true))) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (!(h = hand_of(r, c))) {
        if (lowered_recently(r, c, sc_wall_ms())) {
            sc_ws_error(c, id, "rate-limited", "wait a second before raising your hand again");
            return;
        }
        if (r->n_hands >= STAGE_HANDS_MAX) {
            sc_ws_error(c, id, "hands-full", "%d hands are raised already; try later",
                        STAGE_HANDS_MAX);
            room_release_if_empty(r);
            return;
        }
        if (r->n_hands == r->cap_hands) {
            size_t cap = r->cap_hands ? r->cap_hands * 2 : 8;
            hand *nh = realloc(r->hands, cap * sizeof(*nh));
            if (!nh) {
                sc_ws_error(c, id, "internal", "out of memory");
                room_release_if_empty(r);
                return;
            }
            r->hands = nh;
            r->cap_hands = cap;
        }
        h = &r->hands[r->n_hands++];
        memset(h, 0, sizeof(*h));
        h->c = c;
        snprintf(h->user, sizeof(h->user), "%s", tok->sub);
        snprintf(h->name, sizeof(h->name), "%s", tok->name);
        h->since_ms = sc_wall_ms();
        SC_INFO_CTX("stage", room, 0, "room %s: %s raised a hand", room, tok->sub);
        publish_hands(app, room, r);
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:b,s:i}", "type", "hand", "raised", 1, "position",
                                 (int)(h - r->hands) + 1));
}

static void cmd_lower_hand(sc_ws_client *c, json_t *msg, json_t *id)
{
    stage_room *r = room_of(c, false);
    hand *h = hand_of(r, c);

    (void)msg;
    if (h) {
        hand_remove(r, h);
        note_lowered(r, c);
        publish_hands(sc_ws_client_app(c), sc_ws_client_room(c), r);
        room_release_if_empty(r);
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:b}", "type", "hand", "raised", 0));
}

typedef struct find_user {
    const char *user;
    sc_ws_client *found;
    bool publisher;   /* a connection of that user may publish already */
} find_user;

static void match_user(void *ud, sc_ws_client *c)
{
    find_user *f = ud;
    const sc_token *tok = sc_ws_client_token(c);
    if (strcmp(tok->sub, f->user) != 0)
        return;
    /* A page's /ws connection rather than one of its sessions' data
     * channels: the page reads its invitation there. */
    if (tok->perms & SC_PERM_PUBLISH)
        f->publisher = true;
    else if (!f->found || (sc_ws_client_is_channel(f->found) && !sc_ws_client_is_channel(c)))
        f->found = c;
}

static const char *user_arg(sc_ws_client *c, json_t *msg, json_t *id)
{
    const char *user = json_string_value(json_object_get(msg, "user_id"));
    if (!user || !user[0] || strlen(user) > SC_PEER_NAME_MAX) {
        sc_ws_error(c, id, "bad-json", "the message needs a \"user_id\" string");
        return NULL;
    }
    return user;
}

static void cmd_invite(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    const char *user = user_arg(c, msg, id);
    find_user f = {0};
    stage_room *r;
    seat *s;
    int limit = stage_limit(c);

    if (!user)
        return;
    if (!(r = room_of(c, true))) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    expire_invitations(r, sc_wall_ms());
    s = seat_by_user(r, user);
    if (s && s->state == SEAT_ON_STAGE) {
        sc_ws_error(c, id, "already-on-stage", "that user is on stage");
        goto out;
    }
    /* The hand's own connection first: a user may watch on two devices. */
    for (size_t i = 0; i < r->n_hands && !f.found; i++)
        if (strcmp(r->hands[i].user, user) == 0)
            f.found = r->hands[i].c;
    if (!f.found) {
        f.user = user;
        sc_ws_foreach_client(app, room, match_user, &f);
    }
    if (!f.found) {
        sc_ws_error(c, id, f.publisher ? "already-on-stage" : "not-found",
                    f.publisher ? "that user may publish already"
                                : "no such user in the audience of this room");
        goto out;
    }
    if (stage_occupancy(r, room) >= limit) {
        sc_ws_error(c, id, "stage-full", "the stage holds %d; remove someone first", limit);
        goto out;
    }
    if (!s) {
        if (r->n_seats >= STAGE_SEATS_MAX) {
            sc_ws_error(c, id, "stage-full", "too many open invitations");
            goto out;
        }
        s = &r->seats[r->n_seats++];
        memset(s, 0, sizeof(*s));
        s->state = SEAT_INVITED;
        snprintf(s->user, sizeof(s->user), "%s", user);
    }
    /* A repeated invitation refreshes the first and may reach another
     * connection of the same user. */
    s->c = f.found;
    snprintf(s->name, sizeof(s->name), "%s", sc_ws_client_token(f.found)->name);
    snprintf(s->by, sizeof(s->by), "%s", sc_ws_client_token(c)->name);
    s->since_ms = sc_wall_ms();
    SC_INFO_CTX("stage", room, 0, "room %s: %s invited %s", room, sc_ws_client_token(c)->sub, user);
    sc_ws_send(f.found, json_pack("{s:s,s:s,s:s,s:i}", "type", "invited", "by", s->by, "by_user_id",
                                  sc_ws_client_token(c)->sub, "expires_in",
                                  STAGE_INVITE_TTL_MS / 1000));
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    publish_hands(app, room, r);
out:
    room_release_if_empty(r);
}

/* The invitation addressed to this connection, or an error sent. */
static seat *own_invitation(sc_ws_client *c, json_t *id, stage_room **rp)
{
    stage_room *r = room_of(c, false);
    seat *s;

    *rp = r;
    if (r)
        expire_invitations(r, sc_wall_ms());
    s = seat_of(r, c);
    if (!s || s->state != SEAT_INVITED) {
        sc_ws_error(c, id, s ? "already-on-stage" : "not-found",
                    s ? "you are on stage" : "no invitation for you (or it expired)");
        if (r)
            room_release_if_empty(r);
        return NULL;
    }
    return s;
}

static void cmd_accept(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    const sc_token *tok = sc_ws_client_token(c);
    int limit = stage_limit(c);
    stage_room *r;
    seat *s = own_invitation(c, id, &r);
    hand *h;

    if (!s)
        return;
    if (stage_occupancy(r, room) >= limit) {
        sc_ws_error(c, id, "stage-full", "the stage holds %d", limit);
        return;
    }
    s->state = SEAT_ON_STAGE;
    s->since_ms = sc_wall_ms();
    s->audio_only = json_is_true(json_object_get(msg, "audio_only"));
    s->audio_muted = s->video_muted = false;
    if (sc_ws_client_app(c)->sfu) /* a new turn on stage starts unmuted */
        sc_sfu_set_muted(sc_ws_client_app(c)->sfu, room, tok->sub, false, false);
    s->perms_before = tok->perms;
    sc_ws_client_set_perms(c, tok->perms | SC_PERM_PUBLISH);
    if ((h = hand_of(r, c)))
        hand_remove(r, h);
    SC_INFO_CTX("stage", room, 0, "room %s: %s is on stage%s", room, tok->sub,
                s->audio_only ? " (audio only)" : "");
    sc_ws_reply(c, id, json_pack("{s:s,s:b}", "type", "on_stage", "audio_only", s->audio_only));
    publish_stage(app, room, r);
    publish_hands(app, room, r);
}

static void cmd_decline(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    const sc_token *tok = sc_ws_client_token(c);
    stage_room *r;
    seat *s = own_invitation(c, id, &r);
    hand *h;

    (void)msg;
    if (!s)
        return;
    seat_remove(r, s);
    /* Declining also lowers the hand: the host asked and got an answer. */
    if ((h = hand_of(r, c))) {
        hand_remove(r, h);
        note_lowered(r, c);
    }
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    tell_moderators(app, room, json_pack("{s:s,s:s,s:s}", "type", "invite_declined", "user_id",
                                         tok->sub, "name", tok->name));
    publish_hands(app, room, r);
    room_release_if_empty(r);
}

static seat *on_stage_target(sc_ws_client *c, json_t *msg, json_t *id, stage_room **rp,
                             bool invitations_too)
{
    const char *user = user_arg(c, msg, id);
    stage_room *r = room_of(c, false);
    seat *s;

    *rp = r;
    if (!user)
        return NULL;
    s = seat_by_user(r, user);
    if (!s || (s->state != SEAT_ON_STAGE && !invitations_too)) {
        sc_ws_error(c, id, "not-found", "that user is not on stage");
        return NULL;
    }
    return s;
}

static void cmd_stage_mute(sc_ws_client *c, json_t *msg, json_t *id)
{
    json_t *audio = json_object_get(msg, "audio"), *video = json_object_get(msg, "video");
    stage_room *r;
    seat *s;

    if ((audio && !json_is_boolean(audio)) || (video && !json_is_boolean(video)) ||
        (!audio && !video)) {
        sc_ws_error(c, id, "bad-json", "give \"audio\" and/or \"video\" as true or false");
        return;
    }
    if (!(s = on_stage_target(c, msg, id, &r, false)))
        return;
    if (audio)
        s->audio_muted = json_is_true(audio);
    if (video)
        s->video_muted = json_is_true(video);
    SC_INFO_CTX("stage", sc_ws_client_room(c), 0, "room %s: %s set %s's mute to audio %d video %d",
                sc_ws_client_room(c), sc_ws_client_token(c)->sub, s->user, s->audio_muted,
                s->video_muted);
    /* The order goes to the guest's page, which disables its track, and to
     * the media plane, which drops what the page would still send. */
    sc_app *app = sc_ws_client_app(c);
    if (app->sfu)
        sc_sfu_set_muted(app->sfu, sc_ws_client_room(c), s->user, s->audio_muted, s->video_muted);
    sc_ws_send(s->c, json_pack("{s:s,s:b,s:b,s:s}", "type", "mute", "audio", s->audio_muted,
                               "video", s->video_muted, "by", sc_ws_client_token(c)->name));
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    publish_stage(sc_ws_client_app(c), sc_ws_client_room(c), r);
}

static void cmd_stage_remove(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    stage_room *r;
    seat *s;
    bool was_on;

    if (!(s = on_stage_target(c, msg, id, &r, true)))
        return;
    was_on = s->state == SEAT_ON_STAGE;
    SC_INFO_CTX("stage", room, 0, "room %s: %s removed %s from the %s", room,
                sc_ws_client_token(c)->sub, s->user, was_on ? "stage" : "invitations");
    vacate(r, s, "removed", sc_ws_client_token(c)->name);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    if (was_on)
        publish_stage(app, room, r);
    publish_hands(app, room, r);
    room_release_if_empty(r);
}

static void cmd_leave_stage(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    stage_room *r = room_of(c, false);
    seat *s = seat_of(r, c);

    (void)msg;
    if (!s || s->state != SEAT_ON_STAGE) {
        sc_ws_error(c, id, "not-found", "you are not on stage");
        return;
    }
    SC_INFO_CTX("stage", room, 0, "room %s: %s left the stage", room, sc_ws_client_token(c)->sub);
    vacate(r, s, "left", sc_ws_client_token(c)->name);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    publish_stage(app, room, r);
    room_release_if_empty(r);
}

const sc_command sc_stage_commands[] = {
    {"raise_hand", cmd_raise_hand, SC_PERM_SUBSCRIBE, true, "raising a hand", NULL},
    {"lower_hand", cmd_lower_hand, 0, true, "lowering a hand", NULL},
    {"invite", cmd_invite, SC_PERM_MODERATE, true, "inviting to the stage", NULL},
    {"accept", cmd_accept, 0, true, "accepting an invitation", NULL},
    {"decline", cmd_decline, 0, true, "declining an invitation", NULL},
    {"stage_mute", cmd_stage_mute, SC_PERM_MODERATE, true, "muting a guest", NULL},
    {"stage_remove", cmd_stage_remove, SC_PERM_MODERATE, true, "removing a guest", NULL},
    {"leave_stage", cmd_leave_stage, 0, true, "leaving the stage", NULL},
};
const size_t sc_stage_n_commands = sizeof(sc_stage_commands) / sizeof(sc_stage_commands[0]);

/* ---- hooks from ws.c ---------------------------------------------------------------- */

void sc_stage_on_join(sc_ws_client *c)
{
    stage_room *r = room_of(c, false);

    sc_ws_send(c, stage_json(r, stage_limit(c)));
    if (sc_ws_client_token(c)->perms & SC_PERM_MODERATE)
        sc_ws_send(c, hands_json(r));
}

void sc_stage_on_leave(sc_ws_client *c)
{
    sc_app *app = sc_ws_client_app(c);
    const char *room = sc_ws_client_room(c);
    stage_room *r = room_of(c, false);
    bool hands_changed = false, stage_changed = false;
    hand *h;
    seat *s;

    if (!r)
        return;
    /* The pointer may be reused by the next connection. */
    for (size_t i = 0; i < STAGE_RECENT_MAX; i++)
        if (r->lowered[i].c == c)
            r->lowered[i].c = NULL;
    if ((h = hand_of(r, c))) {
        hand_remove(r, h);
        hands_changed = true;
    }
    if ((s = seat_of(r, c))) {
        stage_changed = s->state == SEAT_ON_STAGE;
        hands_changed = true;   /* the queue shows who is invited */
        seat_remove(r, s);      /* its sessions end with the connection */
    }
    if (stage_changed)
        publish_stage(app, room, r);
    if (hands_changed)
        publish_hands(app, room, r);
    room_release_if_empty(r);
}
