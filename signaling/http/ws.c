#include "signaling/http/ws.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/sfu.h"
#include "signaling/api/bus.h"
#include "signaling/auth/jwt.h"
#include "signaling/events/events.h"
#include "signaling/auth/token.h"
#include "signaling/http/private.h"
#include "signaling/http/whip.h"
#include "signaling/interact/interact.h"
#include "signaling/room/groups.h"
#include "signaling/room/rooms.h"
#include "signaling/room/stage.h"
#include "signaling/store/store.h"
#include "signaling/turn/turn.h"

/* A client that lets this much pile up unread is cut off rather than
 * allowed to grow the server's memory without bound. */
#define WS_QUEUE_MAX (1024 * 1024)
/* JSON deeper than this is refused before the parser sees it. */
#define WS_JSON_DEPTH_MAX 32

typedef struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the payload */
} out_msg;

struct sc_ws_client {
    sc_app *app;
    struct lws *wsi;         /* NULL for a client backed by a data channel */
    uint64_t dc_session;     /* the media session whose data channel backs it, or 0 */
    unsigned serial;
    char peer[64];
    bool joined;
    bool closing;            /* too slow: close at the next writeable */
    bool close_when_sent;    /* closed by the server (kick): flush, then close */
    char close_reason[64];
    sc_token tok;
    char room[SC_ROOM_NAME_MAX + 1];  /* the room it is in now (a breakout group's
                                         while it is in one) */
    char home[SC_ROOM_NAME_MAX + 1];  /* the room it joined (its class) */
    out_msg *head, *tail;
    size_t queued;
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_oversize;
    bool rx_binary;
    const char *action;      /* request in progress, for log lines */
    bool unjoined_counted;   /* counted in the address's unjoined connections */
    int64_t connected_ms;    /* monotonic */
    sc_log_window log;       /* this client's refused-message log lines */
};

/* ---- the module's own state (app->ws) ------------------------------------------ */

/* Refused messages are logged at most LOG_PER_CLIENT times per client and
 * LOG_GLOBAL times over all clients per LOG_WINDOW_MS; the rest is counted
 * (log_suppressed) and summed up in one line per window. */
#define LOG_WINDOW_MS 10000
#define LOG_PER_CLIENT 5
#define LOG_GLOBAL 200

struct sc_ws {
    json_t *unjoined;        /* peer address -> connections not yet joined */
    sc_log_window log;       /* every client's together */
};

static struct sc_ws *ws_state(sc_app *app)
{
    if (!app->ws && (app->ws = calloc(1, sizeof(*app->ws))) &&
        !(app->ws->unjoined = json_object())) {
        free(app->ws);
        app->ws = NULL;
    }
    return app->ws;
}

void sc_ws_free_state(sc_app *app)
{
    if (!app->ws)
        return;
    json_decref(app->ws->unjoined);
    free(app->ws);
    app->ws = NULL;
}

static json_int_t unjoined_count(sc_app *app, const char *peer)
{
    struct sc_ws *w = ws_state(app);
    return w ? json_integer_value(json_object_get(w->unjoined, peer)) : 0;
}

static void unjoined_add(sc_ws_client *c, int delta)
{
    struct sc_ws *w = ws_state(c->app);
    json_int_t n;

    if (!w)
        return;
    n = json_integer_value(json_object_get(w->unjoined, c->peer)) + delta;
    if (n > 0)
        json_object_set_new(w->unjoined, c->peer, json_integer(n));
    else
        json_object_del(w->unjoined, c->peer);
    c->unjoined_counted = delta > 0;
}

/* Whether a refused message from c may be logged now; counts it if not. */
static bool log_allowed(sc_ws_client *c)
{
    struct sc_ws *w = ws_state(c->app);
    int64_t now = (int64_t)sc_mono_ms();
    sc_log_window dummy = {0, 0, 0};
    sc_log_window *all = w ? &w->log : &dummy;
    unsigned n;

    if (sc_log_window_roll(&c->log, now, LOG_WINDOW_MS, &n))
        SC_INFO("ws", "%s #%u: %u more refused messages not logged", c->peer, c->serial, n);
    if (sc_log_window_roll(all, now, LOG_WINDOW_MS, &n))
        SC_INFO("ws", "%u refused messages not logged in the last %d s (all clients)", n,
                LOG_WINDOW_MS / 1000);
    if (c->log.lines >= LOG_PER_CLIENT || all->lines >= LOG_GLOBAL) {
        c->log.suppressed++;
        all->suppressed++;
        c->app->stats.log_suppressed++;
        return false;
    }
    c->log.lines++;
    all->lines++;
    return true;
}


static void broadcast(sc_app *app, const char *room, json_t *msg);

/* ---- sending ---------------------------------------------------------------- */

/* A data channel client's messages go straight to the media plane, which
 * queues them to the session's worker (bounded: SC_DC_QUEUE_MAX). */
static int dc_send(sc_ws_client *c, const char *s, size_t len)
{
    if (c->closing || c->close_when_sent)
        return -EPIPE;
    int r = c->app->sfu ? sc_sfu_send_data(c->app->sfu, c->dc_session, s, len, false) : -ENOENT;
    if (r == -EAGAIN || r == -EMSGSIZE) {
        /* The peer is not reading (or a reply cannot fit a message): lose
         * this one, counted, rather than hold the signalling thread. */
        c->app->stats.ws_dropped_slow++;
        SC_DEBUG("ws", "%s #%u: data channel message of %zu bytes dropped: %s", c->peer,
                 c->serial, len, strerror(-r));
    }
    return r;
}

/* Asks lws for a writeable callback; a local client (private.h) has no
 * connection and is drained by its owner. */
static void wake(sc_ws_client *c)
{
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

static int queue_raw(sc_ws_client *c, const char *s, size_t len)
{
    out_msg *m;

    if (c->dc_session)
        return dc_send(c, s, len);
    if (c->closing)
        return -EPIPE;
    if (c->queued + len > WS_QUEUE_MAX) {
        c->closing = true;
        c->app->stats.ws_dropped_slow++;
        SC_WARN("ws", "%s #%u: over %d bytes queued unread, disconnecting", c->peer, c->serial,
                WS_QUEUE_MAX);
        wake(c);
        return -EPIPE;
    }
    m = malloc(sizeof(*m) + LWS_PRE + len);
    if (!m)
        return -ENOMEM;
    m->next = NULL;
    m->len = len;
    memcpy(m->data + LWS_PRE, s, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += len;
    wake(c);
    return 0;
}

int sc_ws_send(sc_ws_client *c, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    int r = s ? queue_raw(c, s, strlen(s)) : -ENOMEM;
    free(s);
    json_decref(msg);
    return r;
}

/* Echo the request's id as "re" (only strings and numbers are echoed). */
static void reply(sc_ws_client *c, json_t *id, json_t *msg)
{
    if (id && (json_is_string(id) || json_is_number(id)))
        json_object_set(msg, "re", id);
    sc_ws_send(c, msg);
}

static void send_error(sc_ws_client *c, json_t *id, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void send_error(sc_ws_client *c, json_t *id, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->app->stats.ws_errors++;
    if (log_allowed(c))
        SC_INFO_CTX("ws", c->joined ? c->room : NULL, c->dc_session,
                    "%s #%u%s%s (%s): error %s: %s", c->peer, c->serial, c->joined ? " room " : "",
                    c->joined ? c->room : "", c->action ? c->action : "?", code, msg);
    reply(c, id, json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message", msg));
}

/* ---- commands ----------------------------------------------------------------- */

static json_t *perms_json(uint32_t perms)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{SC_PERM_PUBLISH, "publish"},
                 {SC_PERM_SUBSCRIBE, "subscribe"},
                 {SC_PERM_CHAT, "chat"},
                 {SC_PERM_MODERATE, "moderate"},
                 {SC_PERM_ADMIN, "admin"}};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (perms & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}

static json_t *publisher_json(uint64_t session, int slot, const char *name, const char *user)
{
    char hex[17];
    sc_session_id_format(session, hex);
    return json_pack("{s:s,s:i,s:s,s:s}", "session", hex, "slot", slot, "name", name,
                     "user_id", user);
}

/* Verifies the token and finds which room it may join: the message's
 * "room" when given (admin tokens, whose room is "*", must give one), else
 * the token's own.  0, or sends the error and returns -1. */
static int join_room_of(sc_ws_client *c, json_t *msg, json_t *id, const char *token,
                        char *room, size_t roomlen)
{
    sc_app *app = c->app;
    const char *why = NULL, *troom, *want;
    json_t *claims = NULL;
    int r;

    r = sc_jwt_verify(app->secret, app->secret_len, token, (int64_t)time(NULL), &claims, &why);
    if (r == -ETIMEDOUT) {
        send_error(c, id, "token-expired", "%s", why ? why : "token has expired");
        return -1;
    }
    if (r < 0) {
        send_error(c, id, "token-invalid", "%s", why ? why : "invalid token");
        return -1;
    }
    troom = json_string_value(json_object_get(claims, "room"));
    want = json_string_value(json_object_get(msg, "room"));
    if (!want)
        want = troom;
    if (!want || strcmp(want, "*") == 0) {
        send_error(c, id, "wrong-room", "name the room to join (\"room\")");
        json_decref(claims);
        return -1;
    }
    if (!sc_rooms_name_ok(want)) {
        send_error(c, id, "wrong-room", "room names are 1..64 of [A-Za-z0-9_-]");
        json_decref(claims);
        return -1;
    }
    snprintf(room, roomlen, "%s", want);
    json_decref(claims);
    return 0;
}

static int enter_room(sc_ws_client *c, const char *room, json_t *id);

static void cmd_join(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_app *app = c->app;
    const char *token = json_string_value(json_object_get(msg, "token"));
    const char *code = NULL, *why = NULL;
    char room[SC_ROOM_NAME_MAX + 1];
    int r;

    if (c->joined) {
        send_error(c, id, "already-joined", "already joined room %s", c->room);
        return;
    }
    if (!token || !token[0]) {
        send_error(c, id, "token-missing", "join needs a token");
        return;
    }
    if (strlen(token) > SC_JWT_MAX_LEN) {
        send_error(c, id, "token-invalid", "token too long");
        return;
    }
    if (join_room_of(c, msg, id, token, room, sizeof(room)) < 0)
        return;
    r = sc_token_check(app->secret, app->secret_len, token, room, 0, (int64_t)time(NULL),
                       &c->tok, &code, &why);
    if (r) {
        send_error(c, id, code ? code : (r == 403 ? "forbidden" : "token-invalid"), "%s",
                   why ? why : "token refused");
        memset(&c->tok, 0, sizeof(c->tok));
        return;
    }
    if (sc_events_token_revoked(app, &c->tok)) {
        send_error(c, id, "token-revoked", "this link was revoked by the organiser");
        memset(&c->tok, 0, sizeof(c->tok));
        return;
    }
    if (sc_interact_join_check(c, room, id) < 0)
        return;
    enter_room(c, room, id);
}

/* The token is verified and the user may enter: join the room and tell the
 * client what it needs (the `joined` reply, recording, stage, interactions).
 * 0, or -1 with the error sent. */
/* The room's video codec (room_codec), else the server's (--video-codec). */
static const char *room_codec(sc_app *app, const char *room, char *buf, size_t cap)
{
    char *v = app->store ? sc_store_setting_get(app->store, room, "video_codec") : NULL;
    snprintf(buf, cap, "%s", v && (strcmp(v, "vp8") == 0 || strcmp(v, "h264") == 0)
                                 ? v : app->cfg->video_codec);
    free(v);
    return buf;
}

static int enter_room(sc_ws_client *c, const char *room, json_t *id)
{
    sc_app *app = c->app;
    sc_sfu_publisher_info pubs[64];
    int n = 0, viewers = 0;
    json_t *arr;

    if (sc_rooms_join(app->rooms, room, c) < 0) {
        send_error(c, id, "internal", "out of memory");
        return -1;
    }
    c->joined = true;
    snprintf(c->room, sizeof(c->room), "%s", room);
    snprintf(c->home, sizeof(c->home), "%s", room);
    if (c->unjoined_counted)
        unjoined_add(c, -1);
    if (c->wsi)
        lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0); /* the join deadline is met */
    sc_bus_publish(app->bus, &(sc_bus_event){.topic = SC_BUS_MEMBER_JOINED, .room = room,
                                             .slot = -1, .name = c->tok.name,
                                             .user_id = c->tok.sub});
    if (!app->sfu || sc_sfu_room_info(app->sfu, room, pubs, 64, &n, &viewers) < 0)
        n = viewers = 0;
    char codec[8];
    arr = json_array();
    for (int i = 0; i < n && i < 64; i++)
        json_array_append_new(arr, publisher_json(pubs[i].session_id, pubs[i].slot,
                                                  pubs[i].name, pubs[i].user_id));
    SC_INFO_CTX("ws", room, 0, "%s #%u joined room %s as %s (user %s)", c->peer, c->serial, room,
                sc_role_name(c->tok.role), c->tok.sub);
    json_t *joined =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:i,s:o,s:i,s:s,s:i,s:i}", "type", "joined", "room",
                  room, "role", sc_role_name(c->tok.role), "name", c->tok.name, "user_id",
                  c->tok.sub, "perms", perms_json(c->tok.perms), "stage_size",
                  app->cfg->max_publishers, "publishers", arr, "viewers", viewers, "video_codec",
                  room_codec(app, room, codec, sizeof(codec)), "view_slots",
                  app->cfg->max_publishers > SC_VIEW_SLOTS ? app->cfg->max_publishers
                                                           : SC_VIEW_SLOTS,
                  "group_size", SC_GROUP_MAX_PUBLISHERS);
    /* The token was checked: the page may relay its media through TURN. */
    if (joined && app->turn)
        json_object_set_new(joined, "ice_servers",
                            sc_turn_ice_servers(app->turn, c->tok.sub, (int64_t)time(NULL)));
    reply(c, id, joined);
    sc_ws_send(c, json_pack("{s:s,s:b}", "type", "recording", "on", sc_room_recording(app, room)));
    sc_stage_on_join(c);
    sc_interact_on_join(c);
    sc_groups_on_join(c);
    return 0;
}

/* The publishers and viewers of a room, as `joined` and `group` list them. */
json_t *sc_ws_room_publishers(sc_app *app, const char *room, int *viewers)
{
    sc_sfu_publisher_info pubs[SC_MAX_PUBLISHERS_LISTED];
    int n = 0;
    json_t *arr = json_array();

    *viewers = 0;
    if (!app->sfu || sc_sfu_room_info(app->sfu, room, pubs, SC_MAX_PUBLISHERS_LISTED, &n,
                                      viewers) < 0)
        n = *viewers = 0;
    for (int i = 0; i < n && i < SC_MAX_PUBLISHERS_LISTED; i++)
        json_array_append_new(arr, publisher_json(pubs[i].session_id, pubs[i].slot,
                                                  pubs[i].name, pubs[i].user_id));
    return arr;
}

int sc_ws_client_move(sc_ws_client *c, const char *room)
{
    sc_app *app = c->app;

    if (!c->joined || strcmp(c->room, room) == 0)
        return 0;
    if (sc_rooms_join(app->rooms, room, c) < 0)
        return -ENOMEM;
    sc_rooms_leave(app->rooms, c->room, c);
    sc_stage_on_leave(c); /* a hand or a seat is the room's it was in */
    sc_bus_publish(app->bus, &(sc_bus_event){.topic = SC_BUS_MEMBER_LEFT, .room = c->room,
                                             .slot = -1, .name = c->tok.name,
                                             .user_id = c->tok.sub});
    SC_INFO_CTX("ws", room, 0, "%s #%u moved from room %s to %s", c->peer, c->serial, c->room,
                room);
    snprintf(c->room, sizeof(c->room), "%s", room);
    sc_bus_publish(app->bus, &(sc_bus_event){.topic = SC_BUS_MEMBER_JOINED, .room = room,
                                             .slot = -1, .name = c->tok.name,
                                             .user_id = c->tok.sub});
    sc_interact_on_join(c); /* the chat, polls and settings of where it is now */
    return 0;
}

/* The client's network address: a data channel's is the address of the
 * session it rides on. */
static const char *client_addr(sc_ws_client *c)
{
    sc_session_entry *e;

    if (!c->dc_session)
        return c->peer;
    e = sc_rooms_find_session(c->app->rooms, c->dc_session);
    return e ? e->peer : "";
}

static void open_session(sc_ws_client *c, json_t *msg, json_t *id, sc_session_kind kind)
{
    json_t *sdp = json_object_get(msg, "sdp");
    const char *code = "internal";
    char err[300], hex[17];
    char *answer = NULL;
    uint64_t sid = 0;
    int status;

    if (!json_is_string(sdp)) {
        send_error(c, id, "bad-sdp", "the message needs an \"sdp\" offer string");
        return;
    }
    /* One socket cannot pile up sessions (each costs the media plane a
     * transport): unpublish/unsubscribe first. */
    if (sc_rooms_owned_count(c->app->rooms, c) >= (size_t)c->app->cfg->max_sessions_per_ws) {
        c->app->stats.ws_refused_sessions++;
        send_error(c, id, "too-many-sessions", "at most %d media sessions per connection",
                   c->app->cfg->max_sessions_per_ws);
        return;
    }
    /* Filed under the room it joined (its allowances, the catalog); the
     * media goes where it is now (its breakout group). */
    status = sc_session_open(c->app, &c->tok, c->home, c->room, client_addr(c), kind,
                             json_string_value(sdp), json_string_length(sdp), c, &answer, &sid,
                             &code, err, sizeof(err));
    if (status) {
        send_error(c, id, code, "%s", err);
        return;
    }
    sc_session_id_format(sid, hex);
    SC_INFO_CTX("ws", c->room, sid, "%s #%u room %s: %s session %s", c->peer, c->serial, c->room,
                sc_session_kind_name(kind), hex);
    reply(c, id, json_pack("{s:s,s:s,s:s}", "type", "answer", "session", hex, "sdp", answer));
    free(answer);
}

static void cmd_publish(sc_ws_client *c, json_t *msg, json_t *id)
{
    open_session(c, msg, id, SC_SESSION_PUBLISH);
}

static void cmd_subscribe(sc_ws_client *c, json_t *msg, json_t *id)
{
    open_session(c, msg, id, SC_SESSION_SUBSCRIBE);
}

static void close_session(sc_ws_client *c, json_t *msg, json_t *id, sc_session_kind kind)
{
    const char *hex = json_string_value(json_object_get(msg, "session"));
    sc_session_entry *e;
    uint64_t sid;

    if (!hex || sc_session_id_parse(hex, strlen(hex), &sid) < 0 ||
        !(e = sc_rooms_find_session(c->app->rooms, sid)) || e->owner != c || e->kind != kind) {
        send_error(c, id, "not-found", "no such %s session of yours",
                   kind == SC_SESSION_PUBLISH ? "publish" : "subscribe");
        return;
    }
    if (sc_session_close(c->app, sid) < 0) {
        send_error(c, id, "not-found", "session already gone");
        return;
    }
    reply(c, id, json_pack("{s:s}", "type", "ok"));
}

static void cmd_unpublish(sc_ws_client *c, json_t *msg, json_t *id)
{
    close_session(c, msg, id, SC_SESSION_PUBLISH);
}

static void cmd_unsubscribe(sc_ws_client *c, json_t *msg, json_t *id)
{
    close_session(c, msg, id, SC_SESSION_SUBSCRIBE);
}

/* {"type":"layer","session","slot","layer":"auto|low|medium|high"}: which
 * simulcast layer this viewer gets of a stage slot. */
/* The caller's own subscribe session named by msg's "session" and a slot
 * 0-15, or an error reply and false. */
static bool own_view_slot(sc_ws_client *c, json_t *msg, json_t *id, uint64_t *sid, int *slot)
{
    const char *hex = json_string_value(json_object_get(msg, "session"));
    json_t *jslot = json_object_get(msg, "slot");
    sc_session_entry *e;
    if (!hex || sc_session_id_parse(hex, strlen(hex), sid) < 0 ||
        !(e = sc_rooms_find_session(c->app->rooms, *sid)) || e->owner != c ||
        e->kind != SC_SESSION_SUBSCRIBE) {
        send_error(c, id, "not-found", "no such subscribe session of yours");
        return false;
    }
    if (!json_is_integer(jslot) || json_integer_value(jslot) < 0 ||
        json_integer_value(jslot) >= 16) {
        send_error(c, id, "bad-request", "need \"slot\" (0-15)");
        return false;
    }
    *slot = (int)json_integer_value(jslot);
    return true;
}

static void cmd_layer(sc_ws_client *c, json_t *msg, json_t *id)
{
    static const char *const names[] = {"auto", "low", "medium", "high"};
    const char *layer = json_string_value(json_object_get(msg, "layer"));
    uint64_t sid;
    int slot, pref = -1;

    if (!own_view_slot(c, msg, id, &sid, &slot))
        return;
    for (int i = 0; layer && i < 4; i++)
        if (strcmp(layer, names[i]) == 0)
            pref = i;
    json_t *jt = json_object_get(msg, "temporal");
    if (pref < 0 || (jt && (!json_is_integer(jt) || json_integer_value(jt) < 0 ||
                            json_integer_value(jt) > 3))) {
        send_error(c, id, "bad-request",
                   "need \"layer\" (auto, low, medium, high) and optionally \"temporal\" (0-3)");
        return;
    }
    if (!c->app->sfu || sc_sfu_set_layer(c->app->sfu, sid, slot, (sc_layer_pref)pref) < 0 ||
        sc_sfu_set_temporal(c->app->sfu, sid, slot, jt ? (int)json_integer_value(jt) : 3) < 0) {
        send_error(c, id, "not-found", "session already gone");
        return;
    }
    reply(c, id, json_pack("{s:s}", "type", "ok"));
}

/* {"type":"viewport","session","slot","width"}: how wide the viewer shows
 * a slot (device pixels; 0 = no limit), so Auto sends no layer much wider. */
static void cmd_viewport(sc_ws_client *c, json_t *msg, json_t *id)
{
    json_t *jw = json_object_get(msg, "width");
    uint64_t sid;
    int slot;
    if (!own_view_slot(c, msg, id, &sid, &slot))
        return;
    if (!json_is_integer(jw) || json_integer_value(jw) < 0 || json_integer_value(jw) > 16384) {
        send_error(c, id, "bad-request", "need \"width\" (0-16384 pixels)");
        return;
    }
    if (!c->app->sfu || sc_sfu_set_viewport(c->app->sfu, sid, slot, (int)json_integer_value(jw)) < 0) {
        send_error(c, id, "not-found", "session already gone");
        return;
    }
    reply(c, id, json_pack("{s:s}", "type", "ok"));
}

/* {"type":"room_codec","video_codec":"vp8"|"h264"}: the codec the room's
 * pages put first in their offers from now on (publishers that join or
 * republish later; viewers take both).  Kept in SQLite. */
static void cmd_room_codec(sc_ws_client *c, json_t *msg, json_t *id)
{
    const char *v = json_string_value(json_object_get(msg, "video_codec"));
    if (!v || (strcmp(v, "vp8") != 0 && strcmp(v, "h264") != 0)) {
        send_error(c, id, "bad-request", "need \"video_codec\": \"vp8\" or \"h264\"");
        return;
    }
    if (sc_store_setting_set(c->app->store, c->room, "video_codec", v) < 0) {
        send_error(c, id, "internal", "could not save the room's codec");
        return;
    }
    SC_INFO_CTX("ws", c->room, 0, "%s #%u room %s: video codec %s", c->peer, c->serial, c->room, v);
    reply(c, id, json_pack("{s:s}", "type", "ok"));
    broadcast(c->app, c->room, json_pack("{s:s,s:s}", "type", "room_codec", "video_codec", v));
}

/* {"type":"record","on":bool}: the host turns the room's recording on or
 * off; everyone in the room is told. */
static void cmd_record(sc_ws_client *c, json_t *msg, json_t *id)
{
    json_t *on = json_object_get(msg, "on");
    int r = sc_room_set_recording(c->app, c->room, json_is_true(on));
    if (r == -ENOTSUP) {
        send_error(c, id, "unsupported", "recording is not available on this server");
        return;
    }
    if (r == -EPERM) {
        send_error(c, id, "recording-forbidden", "this event may not be recorded");
        return;
    }
    if (r < 0) {
        send_error(c, id, "internal", "cannot store the room's recording setting");
        return;
    }
    reply(c, id, json_pack("{s:s}", "type", "ok"));
    broadcast(c->app, c->room,
              json_pack("{s:s,s:b}", "type", "recording", "on", json_is_true(on)));
}

static void cmd_ping(sc_ws_client *c, json_t *msg, json_t *id)
{
    reply(c, id, json_pack("{s:s}", "type", "pong"));
}

const sc_command sc_ws_commands[] = {
    {"join", cmd_join, 0, false, "joining", NULL},
    {"publish", cmd_publish, SC_PERM_PUBLISH, true, "publishing", NULL},
    {"subscribe", cmd_subscribe, SC_PERM_SUBSCRIBE, true, "subscribing", NULL},
    {"unpublish", cmd_unpublish, 0, true, "unpublishing", NULL},
    {"unsubscribe", cmd_unsubscribe, 0, true, "unsubscribing", NULL},
    {"layer", cmd_layer, SC_PERM_SUBSCRIBE, true, "choosing a layer", "slot:i layer:s temporal:i?"},
    {"viewport", cmd_viewport, SC_PERM_SUBSCRIBE, true, "telling the rendered size", "slot:i width:i"},
    {"record", cmd_record, SC_PERM_MODERATE, true, "turning recording on or off", "on:b"},
    {"room_codec", cmd_room_codec, SC_PERM_MODERATE, true, "choosing the room's codec", "video_codec:s"},
    {"ping", cmd_ping, 0, true, "pinging", NULL},
};

const size_t sc_ws_n_commands = sizeof(sc_ws_commands) / sizeof(sc_ws_commands[0]);

/* Nesting depth of a JSON text, counted outside strings; stops early once
 * over the limit so a hostile message costs one linear pass. */
static bool json_too_deep(const char *s, size_t len, int max)
{
    bool in_str = false, esc = false;
    int depth = 0;

    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                return true;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return false;
}

static void handle_message(sc_ws_client *c, const char *buf, size_t len)
{
    json_error_t jerr;
    const sc_command *cmd = NULL;
    char why[160];
    json_t *msg, *id;
    const char *type;
    /* The data channel protocol names every unreadable message bad-request. */
    const char *bad = c->dc_session ? "bad-request" : "bad-json";

    c->app->stats.ws_messages++;
    c->action = "reading a message";
    if (json_too_deep(buf, len, WS_JSON_DEPTH_MAX)) {
        send_error(c, NULL, bad, "JSON nested deeper than %d", WS_JSON_DEPTH_MAX);
        return;
    }
    msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg) {
        send_error(c, NULL, bad, "invalid JSON: %s", jerr.text);
        return;
    }
    if (!json_is_object(msg)) {
        send_error(c, NULL, bad, "a message must be a JSON object");
        json_decref(msg);
        return;
    }
    id = json_object_get(msg, "id");
    type = json_string_value(json_object_get(msg, "type"));
    if (!type) {
        send_error(c, id, bad, "a message needs a string \"type\"");
        goto done;
    }
    cmd = sc_router_find(c->app->router, type);
    if (!cmd) {
        send_error(c, id, "unknown-type", "unknown message type");
        goto done;
    }
    c->action = cmd->action;
    if (cmd->needs_join && !c->joined) {
        send_error(c, id, "not-joined", "send join first");
        goto done;
    }
    if (cmd->perm && !(c->tok.perms & cmd->perm)) {
        send_error(c, id, "forbidden", "your token does not grant %s", cmd->type);
        goto done;
    }
    if (!sc_router_check(cmd, msg, why, sizeof(why))) {
        send_error(c, id, "bad-request", "%s", why);
        goto done;
    }
    cmd->fn(c, msg, id);
done:
    c->action = NULL;
    json_decref(msg);
}

/* ---- connection life cycle -------------------------------------------------------- */

/* One fragment of a message; final: the message is complete. */
static int on_receive(sc_ws_client *c, const void *in, size_t len, bool binary, bool final)
{
    size_t max = (size_t)c->app->cfg->max_ws_message;

    if (binary)
        c->rx_binary = true;
    if (!c->rx_oversize && c->rx_len + len > max) {
        /* Keep reading (and dropping) the rest so the connection stays
         * usable; the error goes out when the message ends. */
        c->rx_oversize = true;
        free(c->rx);
        c->rx = NULL;
        c->rx_len = c->rx_cap = 0;
    }
    if (!c->rx_oversize && len) {
        if (c->rx_len + len > c->rx_cap) {
            size_t cap = c->rx_cap ? c->rx_cap : 1024;
            while (cap < c->rx_len + len)
                cap *= 2;
            if (cap > max)
                cap = max;
            char *nb = realloc(c->rx, cap);
            if (!nb)
                return -1;
            c->rx = nb;
            c->rx_cap = cap;
        }
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
    }
    if (!final)
        return 0;

    if (c->rx_oversize) {
        c->app->stats.ws_messages++;
        c->action = "reading a message";
        send_error(c, NULL, "too-large", "message over the %zu-byte limit", max);
    } else if (c->rx_binary) {
        c->app->stats.ws_messages++;
        c->action = "reading a message";
        send_error(c, NULL, "bad-json", "messages are JSON text frames");
    } else {
        handle_message(c, c->rx ? c->rx : "", c->rx_len);
    }
    c->rx_len = 0;
    c->rx_oversize = false;
    c->rx_binary = false;
    c->action = NULL;
    return 0;
}

static int on_writeable(sc_ws_client *c, struct lws *wsi)
{
    out_msg *m = c->head;

    if (c->closing) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)"too slow", 8);
        return -1;
    }
    if (!m) {
        if (c->close_when_sent) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)c->close_reason,
                             strlen(c->close_reason));
            return -1;
        }
        return 0;
    }
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->queued -= m->len;
    int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
    free(m);
    if (n < 0)
        return -1;
    if (c->head || c->close_when_sent)
        lws_callback_on_writable(wsi);
    return 0;
}

static void close_owned(void *ud, sc_session_entry *e)
{
    sc_app *app = ud;
    if (app->sfu && !e->closing && sc_sfu_close_session(app->sfu, e->id) == 0)
        sc_rooms_session_closing(app->rooms, e);
}

static void client_free(sc_ws_client *c)
{
    sc_app *app = c->app;
    int n;

    if (c->unjoined_counted)
        unjoined_add(c, -1);
    if (!c->joined && c->wsi &&
        (int64_t)sc_mono_ms() - c->connected_ms >= (int64_t)app->cfg->ws_join_timeout_s * 1000) {
        app->stats.ws_join_timeouts++;
        SC_DEBUG("ws", "%s #%u closed: no join within %d s", c->peer, c->serial,
                 app->cfg->ws_join_timeout_s);
    }
    if (c->joined) {
        sc_groups_on_leave(c);
        sc_rooms_leave(app->rooms, c->room, c);
        sc_stage_on_leave(c);
        sc_bus_publish(app->bus, &(sc_bus_event){.topic = SC_BUS_MEMBER_LEFT, .room = c->room,
                                                 .slot = -1, .name = c->tok.name,
                                                 .user_id = c->tok.sub});
    }
    /* Its sessions end with it; their CLOSED events find no owner. */
    n = sc_rooms_disown(app->rooms, c, close_owned, app);
    SC_INFO_CTX("ws", c->joined ? c->room : NULL, c->dc_session,
                "%s #%u closed%s%s, ending %d session(s)", c->peer, c->serial,
                c->joined ? " in room " : "", c->joined ? c->room : "", n);
    while (c->head) {
        out_msg *m = c->head;
        c->head = m->next;
        free(m);
    }
    free(c->rx);
    if (!c->dc_session)
        app->stats.ws_clients--;
    free(c);
}

/* A connection just accepted (wsi NULL: a local client, private.h). */
static sc_ws_client *client_new(sc_app *app, struct lws *wsi, const char *peer)
{
    static unsigned serial;
    sc_ws_client *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->app = app;
    c->wsi = wsi;
    c->serial = ++serial;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->connected_ms = (int64_t)sc_mono_ms();
    unjoined_add(c, +1);
    app->stats.ws_clients++;
    app->stats.ws_connections++;
    SC_DEBUG("ws", "%s #%u connected", c->peer, c->serial);
    return c;
}

bool sc_ws_handles(int reason)
{
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return true;
    default:
        return false;
    }
}

int sc_ws_callback(sc_app *app, struct lws *wsi, int reason, sc_ws_client **slot, void *in,
                   size_t len)
{
    sc_ws_client *c = *slot;
    char uri[16];

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char peer[64];
        /* Upgrades only on /ws. */
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 || strcmp(uri, "/ws"))
            return -1;
        /* Connections that never join must not pile up from one address. */
        lws_get_peer_simple(wsi, peer, sizeof(peer));
        if (unjoined_count(app, peer) >= app->cfg->max_unjoined_per_ip) {
            app->stats.ws_refused_unjoined++;
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        char peer[64];
        lws_get_peer_simple(wsi, peer, sizeof(peer));
        if (!(c = client_new(app, wsi, peer)))
            return -1;
        /* lws closes it unless a join clears this first. */
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, app->cfg->ws_join_timeout_s);
        *slot = c;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE:
        return c ? on_receive(c, in, len, lws_frame_is_binary(wsi), lws_is_final_fragment(wsi))
                 : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? on_writeable(c, wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        if (c) {
            client_free(c);
            *slot = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

/* ---- media plane events --------------------------------------------------------------- */

typedef struct fanout {
    const char *s;
    size_t len;
} fanout;

static void fanout_one(void *ud, sc_ws_client *c)
{
    const fanout *f = ud;
    queue_raw(c, f->s, f->len);
}

static void broadcast(sc_app *app, const char *room, json_t *msg)
{
    char *s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!s)
        return;
    fanout f = {s, strlen(s)};
    sc_rooms_foreach_client(app->rooms, room, fanout_one, &f);
    free(s);
}

/* ---- data channels ------------------------------------------------------------
 * A session's data channel is a client like a WebSocket: created when the
 * channel opens, acting as the token that created the session, joined to
 * the session's room, fed through the same command tables; what is sent to
 * it goes out over the channel (sc_sfu_send_data). */

static void dc_open(sc_app *app, sc_session_entry *e, const sc_sfu_event *ev)
{
    static unsigned serial;
    char hex[17];

    if (!e || e->dc || e->closing)
        return;
    sc_ws_client *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->app = app;
    c->dc_session = e->id;
    c->serial = ++serial;
    c->tok = e->tok;
    sc_session_id_format(e->id, hex);
    snprintf(c->peer, sizeof(c->peer), "dc:%s", hex);
    e->dc = c;
    SC_INFO_CTX("ws", e->room, e->id, "%s #%u: data channel \"%s\" open for user %s in room %s",
                c->peer, c->serial, ev->label, c->tok.sub, e->room);
    c->action = "joining over a data channel";
    /* Banned since the session began: refused like a join, and the session
     * ends as a kick would end it. */
    if (sc_interact_join_check(c, e->room, NULL) < 0 || enter_room(c, e->room, NULL) < 0)
        sc_ws_client_close(c, "refused");
    c->action = NULL;
}

static void dc_message(sc_app *app, sc_session_entry *e, const sc_sfu_event *ev)
{
    sc_ws_client *c = e ? e->dc : NULL;
    size_t max = (size_t)app->cfg->max_ws_message;

    if (!c || c->closing || c->close_when_sent)
        return;
    if (ev->binary || ev->len > max) {
        app->stats.ws_messages++;
        c->action = "reading a data channel message";
        if (ev->binary)
            send_error(c, NULL, "bad-request", "data channel messages are JSON text");
        else
            send_error(c, NULL, "too-large", "message over the %zu-byte limit", max);
        c->action = NULL;
        return;
    }
    handle_message(c, (const char *)ev->data, ev->len);
}

void sc_ws_dc_closed(sc_app *app, sc_session_entry *e)
{
    sc_ws_client *c = e->dc;
    if (!c)
        return;
    e->dc = NULL;
    client_free(c);
}

static void free_dc(void *ud, sc_session_entry *e)
{
    sc_ws_dc_closed(ud, e);
}

void sc_ws_dc_free_all(sc_app *app)
{
    sc_rooms_foreach_session(app->rooms, free_dc, app);
}

/* The media plane's events: the room-wide ones become bus events (the
 * handlers below and any other module take them from there); the data
 * channel's and dynacast's concern one session and are handled here. */
static void on_sfu_event(void *ud, const sc_sfu_event *ev)
{
    sc_app *app = ud;
    sc_session_entry *e = sc_rooms_find_session(app->rooms, ev->session_id);
    sc_bus_event be = {.room = ev->room, .session_id = ev->session_id, .kind = ev->kind,
                       .slot = ev->slot, .name = ev->name, .user_id = ev->user_id};
    char hex[17];

    app->stats.sfu_events++;
    sc_session_id_format(ev->session_id, hex);
    switch (ev->type) {
    case SC_EVENT_PUBLISHER_JOINED:
    case SC_EVENT_PUBLISHER_LEFT:
        be.topic = ev->type == SC_EVENT_PUBLISHER_JOINED ? SC_BUS_PUBLISHER_JOINED
                                                         : SC_BUS_PUBLISHER_LEFT;
        sc_bus_publish(app->bus, &be);
        break;
    case SC_EVENT_VIEWERS_CHANGED:
        be.topic = SC_BUS_VIEWERS_CHANGED;
        be.count = ev->viewers;
        sc_bus_publish(app->bus, &be);
        break;
    case SC_EVENT_SESSION_CONNECTED: {
        SC_INFO_CTX("ws", ev->room, ev->session_id, "session %s (%s, room %s) connected", hex,
                    sc_session_kind_name(ev->kind), ev->room);
        sc_session_entry *se = sc_rooms_find_session(app->rooms, ev->session_id);
        if (se)
            se->tcp = ev->tcp;
        be.topic = SC_BUS_SESSION_CONNECTED;
        sc_bus_publish(app->bus, &be);
        break;
    }
    case SC_EVENT_SESSION_CLOSED:
        SC_INFO_CTX("ws", ev->room, ev->session_id, "session %s (%s, room %s) closed: %s", hex,
                    sc_session_kind_name(ev->kind), ev->room, ev->reason ? ev->reason : "closed");
        sc_session_closed(app, ev->session_id, ev->reason); /* publishes SESSION_CLOSED */
        break;
    case SC_EVENT_ACTIVE_SPEAKER:
        be.topic = SC_BUS_ACTIVE_SPEAKER;
        sc_bus_publish(app->bus, &be);
        break;
    case SC_EVENT_DATA_OPEN:
        dc_open(app, e, ev);
        break;
    case SC_EVENT_DATA:
        dc_message(app, e, ev);
        break;
    case SC_EVENT_DATA_CLOSED:
        if (e)
            sc_ws_dc_closed(app, e);
        break;
    case SC_EVENT_LAYERS: /* dynacast: the publisher's page pauses what nobody takes */
        SC_INFO_CTX("ws", ev->room, ev->session_id,
                    "session %s (room %s, slot %d): layers %s%s%s wanted", hex, ev->room, ev->slot,
                    ev->layers & 1 ? "0" : "-", ev->layers & 2 ? "1" : "-",
                    ev->layers & 4 ? "2" : "-");
        if (e && e->owner)
            sc_ws_send(e->owner, json_pack("{s:s,s:s,s:[b,b,b]}", "type", "layers", "session", hex,
                                           "active", ev->layers & 1, ev->layers & 2,
                                           ev->layers & 4));
        break;
    case SC_EVENT_AUDIO_LEVEL: /* consumed by the media plane's control side */
    case SC_EVENT_LAYER_DEMAND:
        break;
    }
}

/* ---- bus events the room's clients hear ---------------------------------------- */

static void bus_to_room(void *ud, const sc_bus_event *ev)
{
    sc_app *app = ud;
    json_t *m = NULL;

    switch (ev->topic) {
    case SC_BUS_PUBLISHER_JOINED:
    case SC_BUS_PUBLISHER_LEFT:
        m = json_pack("{s:s,s:o}", "type",
                      ev->topic == SC_BUS_PUBLISHER_JOINED ? "publisher_joined" : "publisher_left",
                      "publisher", publisher_json(ev->session_id, ev->slot, ev->name, ev->user_id));
        break;
    case SC_BUS_VIEWERS_CHANGED:
        m = json_pack("{s:s,s:i}", "type", "viewers", "count", ev->count);
        break;
    case SC_BUS_ACTIVE_SPEAKER:
        m = ev->slot < 0 ? json_pack("{s:s,s:n}", "type", "active_speaker", "speaker")
                         : json_pack("{s:s,s:o}", "type", "active_speaker", "speaker",
                                     publisher_json(ev->session_id, ev->slot, ev->name,
                                                    ev->user_id));
        break;
    default:
        return;
    }
    broadcast(app, ev->room, m);
}

/* Session events go to the connection that opened the session. */
static void bus_to_owner(void *ud, const sc_bus_event *ev)
{
    sc_app *app = ud;
    sc_session_entry *e = sc_rooms_find_session(app->rooms, ev->session_id);
    char hex[17];

    if (!e || !e->owner)
        return;
    sc_session_id_format(ev->session_id, hex);
    if (ev->topic == SC_BUS_SESSION_CONNECTED)
        sc_ws_send(e->owner, json_pack("{s:s,s:s}", "type", "session_connected", "session", hex));
    else if (ev->topic == SC_BUS_SESSION_CLOSED)
        sc_ws_send(e->owner, json_pack("{s:s,s:s,s:s}", "type", "session_closed", "session", hex,
                                       "reason", ev->reason ? ev->reason : "closed"));
}

int sc_ws_subscribe(sc_app *app)
{
    static const sc_bus_topic room_topics[] = {SC_BUS_PUBLISHER_JOINED, SC_BUS_PUBLISHER_LEFT,
                                               SC_BUS_VIEWERS_CHANGED, SC_BUS_ACTIVE_SPEAKER};
    for (size_t i = 0; i < sizeof(room_topics) / sizeof(room_topics[0]); i++)
        if (sc_bus_subscribe(app->bus, room_topics[i], bus_to_room, app) < 0)
            return -1;
    if (sc_bus_subscribe(app->bus, SC_BUS_SESSION_CONNECTED, bus_to_owner, app) < 0 ||
        sc_bus_subscribe(app->bus, SC_BUS_SESSION_CLOSED, bus_to_owner, app) < 0)
        return -1;
    return 0;
}

void sc_ws_poll_sfu(sc_app *app)
{
    if (app->sfu)
        sc_sfu_poll_events(app->sfu, on_sfu_event, app);
}

/* ---- for command modules ------------------------------------------------------ */

const struct sc_token *sc_ws_client_token(const sc_ws_client *c) { return &c->tok; }
const char *sc_ws_client_room(const sc_ws_client *c) { return c->room; }
const char *sc_ws_client_home(const sc_ws_client *c) { return c->home; }
bool sc_ws_client_is_channel(const sc_ws_client *c) { return c->dc_session != 0; }
const char *sc_ws_client_peer(sc_ws_client *c) { return client_addr(c); }
sc_app *sc_ws_client_app(const sc_ws_client *c) { return c->app; }

void sc_ws_reply(sc_ws_client *c, json_t *id, json_t *msg) { reply(c, id, msg); }

void sc_ws_error(sc_ws_client *c, json_t *id, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    send_error(c, id, code, "%s", msg);
}

void sc_ws_broadcast(sc_app *app, const char *room, json_t *msg) { broadcast(app, room, msg); }

void sc_ws_foreach_client(sc_app *app, const char *room, void (*fn)(void *ud, sc_ws_client *c),
                          void *ud)
{
    sc_rooms_foreach_client(app->rooms, room, fn, ud);
}

void sc_ws_client_set_perms(sc_ws_client *c, uint32_t perms) { c->tok.perms = perms; }

void sc_ws_client_close(sc_ws_client *c, const char *reason)
{
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
    if (c->dc_session) {
        /* What was sent is already queued ahead of the close on the
         * session's worker; the SESSION_CLOSED event frees the client. */
        sc_session_entry *e = sc_rooms_find_session(c->app->rooms, c->dc_session);
        /* Not sc_session_close: it may finish the session (and free this
         * client) at once, and kicks call this while walking the room. */
        if (e && !e->closing && c->app->sfu && sc_sfu_close_session(c->app->sfu, e->id) == 0)
            sc_rooms_session_closing(c->app->rooms, e);
        c->close_when_sent = true;
        return;
    }
    c->close_when_sent = true;
    wake(c);
}

/* ---- local clients (private.h) ---------------------------------------------------- */

sc_ws_client *sc__ws_local_new(sc_app *app, const char *peer)
{
    return client_new(app, NULL, peer);
}

void sc__ws_local_receive(sc_ws_client *c, const char *buf, size_t len)
{
    on_receive(c, buf, len, false, true);
}

char *sc__ws_local_take(sc_ws_client *c, size_t *len)
{
    out_msg *m = c->head;
    char *s;

    if (!m)
        return NULL;
    c->head = m->next;
    if (!c->head)
        c->tail = NULL;
    c->queued -= m->len;
    if ((s = malloc(m->len + 1))) {
        memcpy(s, m->data + LWS_PRE, m->len);
        s[m->len] = '\0';
        *len = m->len;
    }
    free(m);
    return s;
}

bool sc__ws_local_closing(const sc_ws_client *c)
{
    return c->closing || c->close_when_sent;
}

void sc__ws_local_free(sc_ws_client *c)
{
    if (c)
        client_free(c);
}
