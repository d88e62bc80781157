/* Moderation.  Bans are rows in SQLite checked at join (ws.c calls
 * sc_interact_join_check), so they hold across restarts.  Mutes are kept
 * in the room's memory (told again to a muted user on join) and rebuilt
 * from the room's "moderation" rows after a restart.  Room settings and
 * the room's word list are saved as room settings and reloaded when the
 * room's state is first built. */
#include "signaling/interact/moderation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/store/store.h"

#define WORDS_SET_MAX 5000
#define SLOW_MAX_S 3600
#define REASON_MAX 200

json_t *sc__settings_json(const sc_iroom *r)
{
    return json_pack("{s:s,s:b,s:i,s:b}", "type", "room_settings", "chat_off", r->chat_off,
                     "slow_mode_s", r->slow_s, "preapprove", r->preapprove);
}

static void save_settings(sc_iroom *r)
{
    json_t *s = sc__settings_json(r);
    char *txt = json_dumps(s, JSON_COMPACT);
    if (txt)
        sc_store_setting_set(r->app->store, r->name, "settings", txt);
    free(txt);
    json_decref(s);
}

/* Mutes are replayed from the "moderation" rows: the last mute or unmute
 * of each user decides. */
static void mute_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *d = json_loads(row->data, 0, NULL);
    const char *action = json_string_value(json_object_get(d, "action"));
    const char *uid = json_string_value(json_object_get(d, "user_id"));
    sc_iuser *u;

    if (action && uid && (strcmp(action, "mute") == 0 || strcmp(action, "unmute") == 0) &&
        (u = sc__iuser(r, uid)))
        u->muted = strcmp(action, "mute") == 0;
    json_decref(d);
}

/* The review queue after a restart: what was held and neither approved
 * nor rejected since, with its review ids (new ones continue above). */
static void review_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *d = json_loads(row->data, 0, NULL);
    int64_t rid = json_integer_value(json_object_get(d, "review_id"));
    if (!json_is_object(d) || rid <= 0) {
        json_decref(d);
        return;
    }
    if (rid > r->next_review)
        r->next_review = rid;
    if (strcmp(row->kind, "held") == 0) {
        if (json_array_size(r->review) < SC_INTERACT_REVIEW_MAX)
            json_array_append(r->review, d);
    } else {
        size_t i;
        json_t *x;
        json_array_foreach(r->review, i, x) {
            if (json_integer_value(json_object_get(x, "review_id")) == rid) {
                json_array_remove(r->review, i);
                break;
            }
        }
    }
    json_decref(d);
}

static void review_load(sc_iroom *r)
{
    static const char *const kinds[] = {"held", "approved", "rejected"};
    sc_store_interactions_since(r->app->store, r->name, kinds, sizeof(kinds) / sizeof(kinds[0]),
                                0, review_row, r);
}

void sc__moderation_load(sc_iroom *r)
{
    char *s = sc_store_setting_get(r->app->store, r->name, "settings");
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    if (json_is_object(j)) {
        r->chat_off = json_is_true(json_object_get(j, "chat_off"));
        r->preapprove = json_is_true(json_object_get(j, "preapprove"));
        r->slow_s = (int)json_integer_value(json_object_get(j, "slow_mode_s"));
    }
    json_decref(j);
    free(s);
    s = sc_store_setting_get(r->app->store, r->name, "words");
    j = s ? json_loads(s, 0, NULL) : NULL;
    if (json_is_array(j)) {
        size_t i;
        json_t *w;
        json_array_foreach(j, i, w) {
            if (json_is_string(w))
                sc_wordfilter_add(r->words, json_string_value(w), json_string_length(w));
        }
    }
    json_decref(j);
    free(s);
    s = sc_store_setting_get(r->app->store, r->name, "announcement");
    j = s && s[0] ? json_loads(s, 0, NULL) : NULL;
    if (json_is_object(j))
        r->announcement = j;
    else
        json_decref(j);
    free(s);
    sc_store_interactions(r->app->store, r->name, "moderation", 0, mute_row, r);
    review_load(r);
}

/* The "user_id" argument, or NULL with the error sent. */
static const char *target_arg(sc_ws_client *c, json_t *msg, json_t *id)
{
    json_t *v = json_object_get(msg, "user_id");
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > SC_PEER_NAME_MAX) {
        sc_ws_error(c, id, "bad-request", "\"user_id\" must be a user id");
        return NULL;
    }
    return json_string_value(v);
}

static void log_action(sc_iroom *r, sc_ws_client *c, const char *action, const char *target,
                       const char *reason)
{
    json_t *m = json_pack("{s:s,s:s,s:s?,s:s?,s:I}", "type", "moderation", "action", action,
                          "user_id", target, "reason", reason, "ts", (json_int_t)sc_wall_ms());
    sc__record(r, "moderation", sc_ws_client_token(c), m);
    json_decref(m);
    SC_INFO_CTX("interact", r->name, 0, "room %s: %s %s %s%s%s", r->name,
                sc_ws_client_token(c)->sub, action, target ? target : "", reason ? ": " : "",
                reason ? reason : "");
}

typedef struct notice {
    json_t *msg;
    const char *close_reason;
    int n;
} notice;

static void notify(void *ud, sc_ws_client *c)
{
    notice *n = ud;
    if (n->msg)
        sc_ws_send(c, json_incref(n->msg));
    if (n->close_reason)
        sc_ws_client_close(c, n->close_reason);
    n->n++;
}

void sc__cmd_mute(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const char *target = target_arg(c, msg, id);
    json_t *jm = json_object_get(msg, "muted");
    sc_iuser *u;

    if (!r || !target)
        return;
    if (jm && !json_is_boolean(jm)) {
        sc_ws_error(c, id, "bad-request", "\"muted\" must be true or false");
        return;
    }
    if (!(u = sc__iuser(r, target))) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    u->muted = !json_is_false(jm);
    log_action(r, c, u->muted ? "mute" : "unmute", target, NULL);
    notice n = {json_pack("{s:s,s:b}", "type", "muted", "muted", u->muted), NULL, 0};
    sc__foreach_user(r, target, notify, &n);
    json_decref(n.msg);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
}

static int remove_user(sc_iroom *r, const char *target, const char *why, const char *reason)
{
    notice n = {json_pack("{s:s,s:s,s:s?}", "type", "kicked", "reason", why, "message", reason),
                why, 0};
    sc__foreach_user(r, target, notify, &n);
    json_decref(n.msg);
    return n.n;
}

static char *reason_arg(sc_ws_client *c, json_t *msg, json_t *id, bool *ok)
{
    bool absent;
    char *reason = sc__text_arg(c, id, msg, "reason", REASON_MAX, true, &absent);
    *ok = reason || absent;
    return reason;
}

/* The common start of kick and ban: the room, a target other than the
 * sender, and the optional reason.  NULL when the request was refused (the
 * error is sent); otherwise *reason is malloc'd or NULL. */
static const char *sanction_args(sc_ws_client *c, json_t *msg, json_t *id, const char *verb,
                                 sc_iroom **room, char **reason)
{
    sc_iroom *r = sc__iroom_of(c);
    const char *target = target_arg(c, msg, id);
    bool ok;

    if (!r || !target)
        return NULL;
    if (strcmp(target, sc_ws_client_token(c)->sub) == 0) {
        sc_ws_error(c, id, "bad-request", "you cannot %s yourself", verb);
        return NULL;
    }
    *reason = reason_arg(c, msg, id, &ok);
    if (!ok)
        return NULL;
    *room = r;
    return target;
}

void sc__cmd_kick(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r;
    char *reason;
    const char *target = sanction_args(c, msg, id, "kick", &r, &reason);

    if (!target)
        return;
    int n = remove_user(r, target, "kicked", reason);
    if (n == 0) {
        sc_ws_error(c, id, "not-found", "user %s is not in the room", target);
    } else {
        log_action(r, c, "kick", target, reason);
        sc_ws_reply(c, id, json_pack("{s:s,s:i}", "type", "ok", "closed", n));
    }
    free(reason);
}

void sc__cmd_ban(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r;
    char *reason;
    const char *target = sanction_args(c, msg, id, "ban", &r, &reason);

    if (!target)
        return;
    if (sc_store_ban(r->app->store, r->name, target, sc_ws_client_token(c)->sub, reason,
                     sc_wall_ms()) < 0) {
        sc_ws_error(c, id, "internal", "cannot record the ban");
        free(reason);
        return;
    }
    log_action(r, c, "ban", target, reason);
    int n = remove_user(r, target, "banned", reason);
    sc_ws_reply(c, id, json_pack("{s:s,s:i}", "type", "ok", "closed", n));
    free(reason);
}

void sc__cmd_unban(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const char *target = target_arg(c, msg, id);

    if (!r || !target)
        return;
    if (sc_store_is_banned(r->app->store, r->name, target) != 1) {
        sc_ws_error(c, id, "not-found", "user %s is not banned", target);
        return;
    }
    if (sc_store_unban(r->app->store, r->name, target) < 0) {
        sc_ws_error(c, id, "internal", "cannot lift the ban");
        return;
    }
    log_action(r, c, "unban", target, NULL);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
}

void sc__cmd_room_settings(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    json_t *off = json_object_get(msg, "chat_off"), *pre = json_object_get(msg, "preapprove");
    json_t *slow = json_object_get(msg, "slow_mode_s");

    if (!r)
        return;
    if ((off && !json_is_boolean(off)) || (pre && !json_is_boolean(pre)) ||
        (slow && (!json_is_integer(slow) || json_integer_value(slow) < 0 ||
                  json_integer_value(slow) > SLOW_MAX_S))) {
        sc_ws_error(c, id, "bad-request",
                    "chat_off and preapprove are booleans, slow_mode_s is 0..%d", SLOW_MAX_S);
        return;
    }
    if (off)
        r->chat_off = json_is_true(off);
    if (pre)
        r->preapprove = json_is_true(pre);
    if (slow)
        r->slow_s = (int)json_integer_value(slow);
    save_settings(r);
    json_t *s = sc__settings_json(r);
    sc__record(r, "settings", sc_ws_client_token(c), s);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, s);
}

void sc__cmd_words_set(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    json_t *words = json_object_get(msg, "words"), *w, *kept;
    size_t i;
    int refused = 0;

    if (!r)
        return;
    if (!json_is_array(words) || json_array_size(words) > WORDS_SET_MAX) {
        sc_ws_error(c, id, "bad-request", "\"words\" must be an array of at most %d strings",
                    WORDS_SET_MAX);
        return;
    }
    sc_wordfilter_clear(r->words);
    kept = json_array();
    json_array_foreach(words, i, w) {
        if (!json_is_string(w) ||
            sc_wordfilter_add(r->words, json_string_value(w), json_string_length(w)) < 0) {
            refused++;
            continue;
        }
        json_array_append(kept, w);
    }
    char *s = json_dumps(kept, JSON_COMPACT);
    if (s)
        sc_store_setting_set(r->app->store, r->name, "words", s);
    free(s);
    json_decref(kept);
    log_action(r, c, "words_set", NULL, NULL);
    sc_ws_reply(c, id, json_pack("{s:s,s:i,s:i}", "type", "words", "count",
                                 (int)sc_wordfilter_count(r->words), "refused", refused));
}

void sc__cmd_words_get(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    (void)msg;
    if (!r)
        return;
    char *s = sc_store_setting_get(r->app->store, r->name, "words");
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    if (!json_is_array(j)) {
        json_decref(j);
        j = json_array();
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:o,s:i}", "type", "words", "words", j, "count",
                                 (int)sc_wordfilter_count(r->words)));
}

/* ---- pre-approval ------------------------------------------------------------------- */

static json_t *item_view(json_t *item)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(item, k, v) {
        if (k[0] != '_')
            json_object_set(o, k, v);
    }
    return o;
}

static json_t *queue_view(sc_iroom *r)
{
    json_t *arr = json_array(), *item;
    size_t i;
    json_array_foreach(r->review, i, item) json_array_append_new(arr, item_view(item));
    return arr;
}

void sc__review_hold(sc_iroom *r, sc_ws_client *c, json_t *id, const char *kind, json_t *m)
{
    const sc_token *t = sc_ws_client_token(c);

    if (json_array_size(r->review) >= SC_INTERACT_REVIEW_MAX) {
        json_decref(m);
        sc_ws_error(c, id, "busy", "the review queue is full");
        return;
    }
    json_t *item = json_pack("{s:I,s:s,s:o,s:I,s:s,s:s}", "review_id", (json_int_t)++r->next_review,
                             "kind", kind, "message", m, "held_ms", (json_int_t)sc_wall_ms(),
                             "_uid", t->sub, "_name", t->name);
    if (!item) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    sc__record(r, "held", t, item);
    json_array_append_new(r->review, item);
    sc_ws_reply(c, id, json_pack("{s:s,s:I}", "type", "held", "review_id",
                                 (json_int_t)r->next_review));
    sc__to_moderators(r, json_pack("{s:s,s:o}", "type", "review", "item", item_view(item)));
}

void sc__cmd_review_list(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    (void)msg;
    if (!r)
        return;
    sc_ws_reply(c, id, json_pack("{s:s,s:o}", "type", "review_queue", "items", queue_view(r)));
}

void sc__cmd_review(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    int64_t rid = sc__id_arg(c, id, msg, "review_id");
    json_t *ja = json_object_get(msg, "approve"), *item = NULL;
    size_t i, at = 0;
    int64_t shown = 0;

    if (!r || rid < 0)
        return;
    if (!json_is_boolean(ja)) {
        sc_ws_error(c, id, "bad-request", "\"approve\" must be true or false");
        return;
    }
    json_t *x;
    json_array_foreach(r->review, i, x) {
        if (json_integer_value(json_object_get(x, "review_id")) == rid) {
            item = x;
            at = i;
            break;
        }
    }
    if (!item) {
        sc_ws_error(c, id, "not-found", "no held message %lld", (long long)rid);
        return;
    }
    json_incref(item);
    json_array_remove(r->review, at);
    const char *kind = json_string_value(json_object_get(item, "kind"));
    const char *uid = json_string_value(json_object_get(item, "_uid"));
    const char *name = json_string_value(json_object_get(item, "_name"));
    json_t *m = json_object_get(item, "message");
    bool approve = json_is_true(ja);
    if (approve) {
        /* Shown now, so the room's media time of the message is now. */
        int64_t now = sc_wall_ms();
        json_object_set_new(m, "ts", json_integer((json_int_t)now));
        json_object_set_new(m, "media_ms", json_integer((json_int_t)sc__media_ms(r, now)));
        if (strcmp(kind, "question") == 0)
            shown = sc__qa_publish(r, json_incref(m), uid, name);
        else
            shown = sc__chat_publish(r, kind, json_incref(m), uid, name);
        /* so that a restart knows it is out of the queue */
        json_t *rec = json_pack("{s:I,s:I}", "review_id", (json_int_t)rid, "msg_id",
                                (json_int_t)(shown > 0 ? shown : 0));
        sc__record(r, "approved", sc_ws_client_token(c), rec);
        json_decref(rec);
    } else {
        sc_token t;
        memset(&t, 0, sizeof(t));
        snprintf(t.sub, sizeof(t.sub), "%s", uid ? uid : "");
        snprintf(t.name, sizeof(t.name), "%s", name ? name : "");
        json_t *rec = item_view(item);
        json_object_set_new(rec, "rejected_by", json_string(sc_ws_client_token(c)->sub));
        sc__record(r, "rejected", &t, rec);
        json_decref(rec);
    }
    json_t *done = json_pack("{s:s,s:I,s:b}", "type", "review_done", "review_id",
                             (json_int_t)rid, "approved", approve);
    if (shown > 0)
        json_object_set_new(done, "msg_id", json_integer((json_int_t)shown));
    notice n = {done, NULL, 0};
    sc__foreach_user(r, uid ? uid : "", notify, &n);
    sc__to_moderators(r, done);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    json_decref(item);
}

/* ---- audience ------------------------------------------------------------------------ */

typedef struct audience {
    const sc_iroom *room;
    json_t *seen;
    json_t *users;
    int connections;
} audience;

static void add_member(void *ud, sc_ws_client *c)
{
    audience *a = ud;
    const sc_token *t = sc_ws_client_token(c);
    a->connections++;
    if (json_object_get(a->seen, t->sub))
        return;
    json_object_set_new(a->seen, t->sub, json_true());
    json_array_append_new(a->users, json_pack("{s:s,s:s,s:s,s:b}", "user_id", t->sub, "name",
                                              t->name, "role", sc_role_name(t->role), "muted",
                                              sc__is_muted(a->room, t->sub)));
}

void sc__cmd_audience(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    audience a = {r, json_object(), json_array(), 0};
    (void)msg;
    if (r)
        sc_ws_foreach_client(r->app, r->name, add_member, &a);
    sc_ws_reply(c, id, json_pack("{s:s,s:i,s:i,s:o}", "type", "audience", "count",
                                 (int)json_array_size(a.users), "connections", a.connections,
                                 "users", a.users));
    json_decref(a.seen);
}

bool sc__is_muted(const sc_iroom *r, const char *uid)
{
    json_t *ix = r ? json_object_get(r->user_index, uid) : NULL;
    return ix && r->users[json_integer_value(ix)].muted;
}

/* ---- the ban list -------------------------------------------------------------------- */

/* The bans table has no listing query in store.c, but every ban and unban
 * is also a "moderation" interaction row with its reason and time: replay
 * them, then keep only users the bans table still holds (it decides). */
static void ban_row(void *ud, const sc_store_interaction *row)
{
    json_t *bans = ud;
    json_t *d = json_loads(row->data, 0, NULL);
    const char *action = json_string_value(json_object_get(d, "action"));
    const char *uid = json_string_value(json_object_get(d, "user_id"));

    if (action && uid) {
        if (strcmp(action, "ban") == 0) {
            json_t *reason = json_object_get(d, "reason");
            json_object_set_new(bans, uid,
                                json_pack("{s:s,s:O,s:I,s:s?}", "user_id", uid, "reason",
                                          json_is_string(reason) ? reason : json_null(), "ts",
                                          (json_int_t)row->ts_ms, "by", row->user_id));
        } else if (strcmp(action, "unban") == 0) {
            json_object_del(bans, uid);
        }
    }
    json_decref(d);
}

void sc__cmd_bans(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    json_t *seen = json_object(), *list = json_array(), *b;
    const char *uid;
    (void)msg;

    if (!r || !seen || !list ||
        sc_store_interactions(r->app->store, r->name, "moderation", 0, ban_row, seen) < 0) {
        sc_ws_error(c, id, "internal", "cannot read the bans");
        goto done;
    }
    json_object_foreach(seen, uid, b) {
        if (sc_store_is_banned(r->app->store, r->name, uid) == 1)
            json_array_append(list, b);
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:O}", "type", "bans", "bans", list));
done:
    json_decref(seen);
    json_decref(list);
}
