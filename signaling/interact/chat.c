/* Chat, danmaku (bullet comments) and likes.  Messages are checked (chat
 * off, mute, slow mode, rate limit, length, word filter), stored with the
 * room's media time, and queued to the room's outbox; the tick sends the
 * outbox as one batch (interact.c). */
#include "signaling/interact/chat.h"

#include "common/clock.h"
#include "signaling/api/bus.h"
#include "signaling/store/store.h"

#include <stdlib.h>
#include <string.h>

static const sc_token *user_token(sc_token *t, const char *uid, const char *name)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->sub, sizeof(t->sub), "%s", uid ? uid : "");
    snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
    return t;
}

bool sc__may_post(sc_ws_client *c, sc_iroom *r, json_t *id)
{
    const sc_token *t = sc_ws_client_token(c);
    sc_iuser *u = sc__iuser(r, t->sub);
    bool mod = sc__is_moderator(c);
    int64_t now = sc_wall_ms();

    if (!u) {
        sc_ws_error(c, id, "internal", "out of memory");
        return false;
    }
    if (r->chat_off && !mod) {
        sc_ws_error(c, id, "chat-off", "chat is off in this room");
        return false;
    }
    if (u->muted) {
        sc_ws_error(c, id, "muted", "you are muted in this room");
        return false;
    }
    if (!sc__rate_ok(r, u, true, now)) {
        sc_ws_error(c, id, "rate-limited", "over %d messages per second", sc__lim_chat_rate(r));
        return false;
    }
    if (r->slow_s > 0 && !mod && u->last_chat_ms &&
        now - u->last_chat_ms < (int64_t)r->slow_s * 1000) {
        sc_ws_error(c, id, "slow-mode", "slow mode: one message every %d s", r->slow_s);
        return false;
    }
    u->last_chat_ms = now;
    return true;
}

int64_t sc__chat_publish(sc_iroom *r, const char *kind, json_t *m, const char *uid,
                         const char *name)
{
    sc_token t;
    int64_t rowid = sc__record(r, kind, user_token(&t, uid, name), m);

    /* The row id is the message id: unique in the room for ever, so a
     * replay and the live history agree. */
    if (rowid > 0)
        json_object_set_new(m, "id", json_integer((json_int_t)rowid));
    if (strcmp(kind, "chat") == 0) {
        json_array_append(r->history, m);
        while (json_array_size(r->history) > (size_t)sc__lim_history(r))
            json_array_remove(r->history, 0);
    }
    sc_bus_publish(r->app->bus, &(sc_bus_event){.topic = SC_BUS_CHAT_POSTED, .room = r->name,
                                                .slot = -1, .name = name, .user_id = uid,
                                                .data = m});
    sc__outbox_add(r, m);
    return rowid;
}

static void post(sc_ws_client *c, json_t *msg, json_t *id, const char *kind)
{
    sc_iroom *r = sc__iroom_of(c);
    const sc_token *t = sc_ws_client_token(c);
    const char *color = NULL, *position = NULL;
    json_t *m;
    char *text;

    if (!r) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (strcmp(kind, "danmaku") == 0) {
        json_t *jc = json_object_get(msg, "color"), *jp = json_object_get(msg, "position");
        if (jc) {
            color = json_string_value(jc);
            bool ok = color && strlen(color) == 7 && color[0] == '#' &&
                      strspn(color + 1, "0123456789abcdefABCDEF") == 6;
            if (!ok) {
                sc_ws_error(c, id, "bad-request", "\"color\" must be #rrggbb");
                return;
            }
        }
        if (jp) {
            position = json_string_value(jp);
            if (!position || (strcmp(position, "scroll") && strcmp(position, "top") &&
                              strcmp(position, "bottom"))) {
                sc_ws_error(c, id, "bad-request", "\"position\" is scroll, top or bottom");
                return;
            }
        }
    }
    /* Length and form before the rate limit, so a malformed message does
     * not cost the sender a token. */
    text = sc__text_arg(c, id, msg, "text", SC_INTERACT_TEXT_MAX, false, NULL);
    if (!text)
        return;
    if (!sc__may_post(c, r, id)) {
        free(text);
        return;
    }
    int64_t now = sc_wall_ms();
    m = json_pack("{s:s,s:o,s:s,s:I,s:I}", "type", kind, "from", sc__from(r, t), "text", text,
                  "ts", (json_int_t)now, "media_ms", (json_int_t)sc__media_ms(r, now));
    free(text);
    if (!m) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (color)
        json_object_set_new(m, "color", json_string(color));
    if (position || strcmp(kind, "danmaku") == 0)
        json_object_set_new(m, "position", json_string(position ? position : "scroll"));
    if (r->preapprove && !sc__is_moderator(c)) {
        sc__review_hold(r, c, id, kind, m);
        return;
    }
    int64_t mid = sc__chat_publish(r, kind, m, t->sub, t->name);
    sc_ws_reply(c, id, json_pack("{s:s,s:I}", "type", "sent", "msg_id", (json_int_t)mid));
}

void sc__cmd_chat(sc_ws_client *c, json_t *msg, json_t *id)
{
    post(c, msg, id, "chat");
}

void sc__cmd_danmaku(sc_ws_client *c, json_t *msg, json_t *id)
{
    post(c, msg, id, "danmaku");
}

void sc__cmd_like(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    sc_iuser *u = r ? sc__iuser(r, sc_ws_client_token(c)->sub) : NULL;

    (void)msg;
    if (!u) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (!sc__rate_ok(r, u, false, sc_wall_ms())) {
        sc_ws_error(c, id, "rate-limited", "over %d actions per second",
                    sc__lim_action_rate(r));
        return;
    }
    /* Likes are counted, not relayed: the tick sends one "likes" total. */
    r->likes_total++;
    r->likes_pending++;
    if (id)
        sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
}

void sc__cmd_chat_history(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    (void)msg;
    if (!r) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:O}", "type", "chat_history", "messages", r->history));
}

static void history_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *m = json_loads(row->data, 0, NULL);
    if (!json_is_object(m)) {
        json_decref(m);
        return;
    }
    json_object_set_new(m, "id", json_integer((json_int_t)row->id));
    json_array_append_new(r->history, m);
}

static void likes_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *m = json_loads(row->data, 0, NULL);
    json_t *total = json_object_get(m, "total");

    if (json_is_integer(total))
        r->likes_total = json_integer_value(total);
    json_decref(m);
}

void sc__chat_load(sc_iroom *r)
{
    /* History survives a restart: the last N shown messages come back
     * from SQLite (held and rejected ones are stored under other kinds). */
    int n = sc__lim_history(r);
    /* last = 0 would mean every row */
    if (n > 0)
        sc_store_interactions(r->app->store, r->name, "chat", n, history_row, r);
    /* So does the likes counter: each tick's row carries the total. */
    sc_store_interactions(r->app->store, r->name, "likes", 1, likes_row, r);
}
