/* The interaction layer's WebSocket messages (chat, Q&A, polls, lottery,
 * check-in, announcements, moderation).  This file holds the
 * dispatch table, the per-room state, the fan-out tick, the join hooks and
 * the HTTP export; each interaction lives in its own file (interact.h). */
#include "signaling/interact/interact.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/sfu.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

#define MOD SC_PERM_MODERATE
#define CHAT SC_PERM_CHAT

const sc_command sc_interact_commands[] = {
    {"chat", sc__cmd_chat, CHAT, true, "chatting", NULL},
    {"danmaku", sc__cmd_danmaku, CHAT, true, "sending a bullet comment", NULL},
    {"like", sc__cmd_like, 0, true, "liking", NULL},
    {"chat_history", sc__cmd_chat_history, 0, true, "reading chat history", NULL},
    {"question_ask", sc__cmd_question_ask, CHAT, true, "asking a question", NULL},
    {"question_vote", sc__cmd_question_vote, 0, true, "voting for a question", NULL},
    {"question_answer", sc__cmd_question_answer, MOD, true, "answering a question", NULL},
    {"question_list", sc__cmd_question_list, 0, true, "listing questions", NULL},
    {"poll_create", sc__cmd_poll_create, MOD, true, "creating a poll", NULL},
    {"poll_open", sc__cmd_poll_open, MOD, true, "opening a poll", NULL},
    {"poll_close", sc__cmd_poll_close, MOD, true, "closing a poll", NULL},
    {"poll_vote", sc__cmd_poll_vote, 0, true, "voting", NULL},
    {"poll_list", sc__cmd_poll_list, 0, true, "listing polls", NULL},
    {"quiz_scores", sc__cmd_quiz_scores, MOD, true, "reading quiz scores", NULL},
    {"lottery_draw", sc__cmd_lottery_draw, MOD, true, "drawing a lottery", NULL},
    {"checkin_open", sc__cmd_checkin_open, MOD, true, "opening a check-in", NULL},
    {"checkin_close", sc__cmd_checkin_close, MOD, true, "closing a check-in", NULL},
    {"checkin", sc__cmd_checkin, 0, true, "checking in", NULL},
    {"checkin_list", sc__cmd_checkin_list, MOD, true, "listing check-ins", NULL},
    {"announce", sc__cmd_announce, MOD, true, "announcing", NULL},
    {"announce_clear", sc__cmd_announce_clear, MOD, true, "clearing the announcement", NULL},
    {"mute", sc__cmd_mute, MOD, true, "muting a user", NULL},
    {"kick", sc__cmd_kick, MOD, true, "kicking a user", NULL},
    {"ban", sc__cmd_ban, MOD, true, "banning a user", NULL},
    {"unban", sc__cmd_unban, MOD, true, "lifting a ban", NULL},
    {"room_settings", sc__cmd_room_settings, MOD, true, "changing room settings", NULL},
    {"words_set", sc__cmd_words_set, MOD, true, "setting the room's word list", NULL},
    {"words_get", sc__cmd_words_get, MOD, true, "reading the room's word list", NULL},
    {"review_list", sc__cmd_review_list, MOD, true, "reading the review queue", NULL},
    {"review", sc__cmd_review, MOD, true, "reviewing a message", NULL},
    {"audience", sc__cmd_audience, MOD, true, "listing the audience", NULL},
    {"bans", sc__cmd_bans, MOD, true, "listing the room's bans", NULL},
};
const size_t sc_interact_n_commands = sizeof(sc_interact_commands) / sizeof(sc_interact_commands[0]);

/* ---- per-room state ------------------------------------------------------------ */

/* The module's process-wide state (app->interact): the fan-out timer and
 * the server-wide sensitive-word list, both made on first use. */
struct sc_interact {
    lws_sorted_usec_list_t sul; /* first: the tick gets its address */
    sc_app *app;
    bool ticking;
    int64_t now;                /* of the current tick */
    sc_wordfilter *global_words;
};

static sc_interact *module(sc_app *app)
{
    if (!app->interact && (app->interact = calloc(1, sizeof(*app->interact))))
        app->interact->app = app;
    return app->interact;
}

void sc_interact_free(sc_app *app)
{
    sc_interact *m = app->interact;

    if (!m)
        return;
    if (m->ticking && app->loop)
        lws_sul_cancel(&m->sul);
    sc_wordfilter_free(m->global_words);
    free(m);
    app->interact = NULL;
}

/* Options parsed by config.c; a zeroed config (unit tests) gets the
 * defaults. */
static int chat_burst(const sc_iroom *r)
{
    int v = r->app->cfg ? r->app->cfg->chat_burst : 0;
    return v > 0 ? v : SC_INTERACT_CHAT_BURST;
}

int sc__lim_chat_rate(const sc_iroom *r)
{
    int v = r->app->cfg ? r->app->cfg->chat_rate : 0;
    return v > 0 ? v : SC_INTERACT_CHAT_RATE;
}

int sc__lim_action_rate(const sc_iroom *r)
{
    int v = r->app->cfg ? r->app->cfg->action_rate : 0;
    return v > 0 ? v : SC_INTERACT_ACTION_RATE;
}

int sc__lim_history(const sc_iroom *r)
{
    return r->app->cfg ? r->app->cfg->chat_history : SC_INTERACT_HISTORY;
}

static void tick(lws_sorted_usec_list_t *sul);

static void ticker_start(sc_interact *m)
{
    if (m->ticking || !m->app->loop)
        return;
    m->ticking = true;
    lws_sul_schedule(m->app->loop, 0, &m->sul, tick, SC_INTERACT_TICK_MS * LWS_US_PER_MS);
}

static void load_global_words(sc_interact *m)
{
    char path[SC_PATH_MAX + 32];
    int n;

    if (m->global_words || !(m->global_words = sc_wordfilter_new()))
        return;
    snprintf(path, sizeof(path), "%s/%s", m->app->cfg->data_dir, SC_INTERACT_WORDS_FILE);
    n = sc_wordfilter_load(m->global_words, path);
    if (n >= 0)
        SC_INFO("interact", "loaded %d sensitive words from %s", n, path);
    else if (n != -ENOENT)
        SC_WARN("interact", "cannot read %s: %s", path, strerror(-n));
}

/* What each interaction keeps in SQLite, back into a new room's state. */
static void (*const loaders[])(sc_iroom *r) = {
    sc__moderation_load, sc__chat_load, sc__qa_load,
    sc__poll_load,       sc__checkin_load, sc__lottery_load,
};

/* Records the likes since the last tick as one row with the new total;
 * the message is returned for the batch. */
static json_t *record_likes(sc_iroom *r, int64_t now)
{
    json_t *m = json_pack("{s:s,s:I,s:I,s:I,s:I}", "type", "likes", "delta",
                          (json_int_t)r->likes_pending, "total", (json_int_t)r->likes_total,
                          "ts", (json_int_t)now, "media_ms", (json_int_t)sc__media_ms(r, now));
    sc__record(r, "likes", NULL, m);
    r->likes_pending = 0;
    return m;
}

static void iroom_free(void *state)
{
    sc_iroom *r = state;

    /* A clean stop keeps the likes of the last, unfinished tick. */
    if (r->likes_pending)
        json_decref(record_likes(r, sc_wall_ms()));

    json_decref(r->user_index);
    free(r->users);
    json_decref(r->history);
    json_decref(r->outbox);
    sc_wordfilter_free(r->words);
    json_decref(r->review);
    json_decref(r->announcement);
    json_decref(r->questions);
    json_decref(r->polls);
    json_decref(r->checkin);
    json_decref(r->winners);
    free(r);
}

sc_iroom *sc__iroom_get(sc_app *app, const char *name)
{
    sc_room *room = sc_rooms_open(app->rooms, name, NULL);
    sc_interact *m = module(app);
    sc_iroom *r;

    if (!room)
        return NULL;
    if ((r = sc_room_state(room, SC_ROOM_SLOT_INTERACT)))
        return r;
    if (!m)
        goto fail;
    load_global_words(m);
    r = calloc(1, sizeof(*r));
    if (!r)
        goto fail;
    r->app = app;
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->first_join_ms = sc_wall_ms();
    r->user_index = json_object();
    r->history = json_array();
    r->outbox = json_array();
    r->words = sc_wordfilter_new();
    r->review = json_array();
    r->questions = json_object();
    r->polls = json_object();
    r->winners = json_object();
    if (!r->user_index || !r->history || !r->outbox || !r->words || !r->review ||
        !r->questions || !r->polls || !r->winners) {
        iroom_free(r);
        goto fail;
    }
    /* Everything the room's rows hold comes back at its first use, so a
     * restart (clean or not) loses none of it. */
    for (size_t i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++)
        loaders[i](r);
    /* The interaction state stays for the life of the process: the room's
     * history, polls and counters outlive its last client. */
    sc_room_set_state(room, SC_ROOM_SLOT_INTERACT, r, iroom_free);
    ticker_start(m);
    return r;
fail:
    /* frees the room if this was its first use */
    sc_room_set_state(room, SC_ROOM_SLOT_INTERACT, NULL, NULL);
    return NULL;
}

sc_iroom *sc__iroom_of(sc_ws_client *c)
{
    sc_iroom *r = sc__iroom_get(sc_ws_client_app(c), sc_ws_client_room(c));
    return r;
}

sc_iuser *sc__iuser(sc_iroom *r, const char *uid)
{
    json_t *ix = json_object_get(r->user_index, uid);
    if (ix)
        return &r->users[json_integer_value(ix)];
    if (r->n_users == r->cap_users) {
        size_t cap = r->cap_users ? r->cap_users * 2 : 16;
        sc_iuser *nu = realloc(r->users, cap * sizeof(*nu));
        if (!nu)
            return NULL;
        r->users = nu;
        r->cap_users = cap;
    }
    sc_iuser *u = &r->users[r->n_users];
    memset(u, 0, sizeof(*u));
    snprintf(u->user_id, sizeof(u->user_id), "%s", uid);
    u->chat_tokens = chat_burst(r);
    u->act_tokens = sc__lim_action_rate(r);
    u->refill_ms = sc_wall_ms();
    json_object_set_new(r->user_index, uid, json_integer((json_int_t)r->n_users));
    r->n_users++;
    return u;
}

int64_t sc__media_ms(sc_iroom *r, int64_t now)
{
    if (!r->live_ms && r->app->sfu) {
        /* Media time starts when the room first has a publisher live; until
         * then it counts from the first join. */
        int n = 0, viewers = 0;
        sc_sfu_publisher_info pub;
        if (sc_sfu_room_info(r->app->sfu, r->name, &pub, 1, &n, &viewers) == 0 && n > 0)
            r->live_ms = now;
    }
    int64_t base = r->live_ms ? r->live_ms : r->first_join_ms;
    return now > base ? now - base : 0;
}

bool sc__is_moderator(const sc_ws_client *c)
{
    return (sc_ws_client_token(c)->perms & (SC_PERM_MODERATE | SC_PERM_ADMIN)) != 0;
}

char *sc__filter(sc_iroom *r, const char *text)
{
    char *a = NULL, *b = NULL;
    size_t len = strlen(text);

    if (sc_wordfilter_apply(r->app->interact->global_words, text, len, &a) > 0 && a)
        text = a;
    if (r && sc_wordfilter_apply(r->words, text, strlen(text), &b) > 0 && b) {
        free(a);
        return b;
    }
    return a ? a : strdup(text);
}

json_t *sc__from(sc_iroom *r, const sc_token *t)
{
    char *name = sc__filter(r, t->name);
    json_t *o = json_pack("{s:s,s:s,s:s}", "user_id", t->sub, "name", name ? name : "",
                          "role", sc_role_name(t->role));
    free(name);
    return o;
}

char *sc__text_arg(sc_ws_client *c, json_t *id, json_t *msg, const char *field, size_t max,
                   bool optional, bool *absent)
{
    json_t *v = json_object_get(msg, field);
    const char *s;
    size_t len, chars;
    bool blank = true;

    if (absent)
        *absent = false;
    if (!v && optional) {
        if (absent)
            *absent = true;
        return NULL;
    }
    if (!json_is_string(v)) {
        sc_ws_error(c, id, "bad-request", "\"%s\" must be a string", field);
        return NULL;
    }
    s = json_string_value(v);
    len = json_string_length(v);
    chars = sc_utf8_chars(s, len);
    if (chars > max) {
        sc_ws_error(c, id, "too-large", "\"%s\" is over %zu characters", field, max);
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == 0) {
            sc_ws_error(c, id, "bad-request", "\"%s\" holds a NUL character", field);
            return NULL;
        }
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
            blank = false;
    }
    if (blank) {
        sc_ws_error(c, id, "bad-request", "\"%s\" is empty", field);
        return NULL;
    }
    char *out = sc__filter(sc__iroom_of(c), s);
    if (!out)
        sc_ws_error(c, id, "internal", "out of memory");
    return out;
}

int64_t sc__id_arg(sc_ws_client *c, json_t *id, json_t *msg, const char *field)
{
    json_t *v = json_object_get(msg, field);
    int64_t n = -1;

    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_string(v)) {
        char *end;
        const char *s = json_string_value(v);
        long long x = strtoll(s, &end, 10);
        if (*s && !*end)
            n = x;
    }
    if (n <= 0) {
        sc_ws_error(c, id, json_is_null(v) || !v ? "bad-request" : "not-found",
                    "\"%s\" must be the id of an existing item", field);
        return -1;
    }
    return n;
}

bool sc__rate_ok(sc_iroom *r, sc_iuser *u, bool chat, int64_t now)
{
    if (now > u->refill_ms) {
        double dt = (double)(now - u->refill_ms) / 1000.0;
        int burst = chat_burst(r), act = sc__lim_action_rate(r);
        u->chat_tokens += dt * sc__lim_chat_rate(r);
        if (u->chat_tokens > burst)
            u->chat_tokens = burst;
        /* Actions: the burst is the rate (one second's worth). */
        u->act_tokens += dt * act;
        if (u->act_tokens > act)
            u->act_tokens = act;
        u->refill_ms = now;
    }
    double *b = chat ? &u->chat_tokens : &u->act_tokens;
    if (*b < 1.0)
        return false;
    *b -= 1.0;
    return true;
}

int64_t sc__record(sc_iroom *r, const char *kind, const sc_token *t, json_t *msg)
{
    int64_t now = sc_wall_ms();
    json_t *ts = json_object_get(msg, "ts"), *mm = json_object_get(msg, "media_ms");
    char *s = json_dumps(msg, JSON_COMPACT);
    int64_t rowid;

    if (!s)
        return -EIO;
    rowid = sc_store_interaction_add(r->app->store, r->name, kind, t ? t->sub : NULL,
                                     t ? t->name : NULL,
                                     json_is_integer(ts) ? json_integer_value(ts) : now,
                                     json_is_integer(mm) ? json_integer_value(mm)
                                                         : sc__media_ms(r, now),
                                     s);
    free(s);
    return rowid;
}

typedef struct fan {
    const char *s;
    size_t len;
    json_t *msg;
    const char *uid;
    void (*fn)(void *ud, sc_ws_client *c);
    void *ud;
} fan;

static void to_moderator(void *ud, sc_ws_client *c)
{
    fan *f = ud;
    if (sc__is_moderator(c))
        sc_ws_send(c, json_incref(f->msg));
}

void sc__to_moderators(sc_iroom *r, json_t *msg)
{
    fan f = {.msg = msg};
    sc_ws_foreach_client(r->app, r->name, to_moderator, &f);
    json_decref(msg);
}

static void to_user(void *ud, sc_ws_client *c)
{
    fan *f = ud;
    if (strcmp(sc_ws_client_token(c)->sub, f->uid) == 0)
        f->fn(f->ud, c);
}

void sc__foreach_user(sc_iroom *r, const char *uid, void (*fn)(void *ud, sc_ws_client *c),
                      void *ud)
{
    fan f = {.uid = uid, .fn = fn, .ud = ud};
    sc_ws_foreach_client(r->app, r->name, to_user, &f);
}

void sc__outbox_add(sc_iroom *r, json_t *msg)
{
    json_array_append_new(r->outbox, msg);
}

/* ---- the tick: batched fan-out ---------------------------------------------- */

static void flush_room(sc_iroom *r, int64_t now)
{
    if (!r)
        return;
    if (r->likes_pending)
        sc__outbox_add(r, record_likes(r, now));
    if (json_array_size(r->outbox)) {
        /* One text for every viewer: sc_ws_broadcast serialises once. */
        json_t *batch = json_pack("{s:s,s:o}", "type", "batch", "messages", r->outbox);
        r->outbox = json_array();
        sc_ws_broadcast(r->app, r->name, batch);
    }
    sc__poll_tick(r);
    sc__checkin_tick(r, now);
}

static void flush_one(void *ud, sc_room *room)
{
    sc_interact *m = ud;
    flush_room(sc_room_state(room, SC_ROOM_SLOT_INTERACT), m->now);
}

void sc_interact_flush(sc_app *app)
{
    sc_interact *m = module(app);

    if (!m)
        return;
    m->now = sc_wall_ms();
    sc_rooms_foreach(app->rooms, flush_one, m);
}

static void tick(lws_sorted_usec_list_t *sul)
{
    sc_interact *m = (sc_interact *)sul;
    sc_interact_flush(m->app);
    lws_sul_schedule(m->app->loop, 0, &m->sul, tick, SC_INTERACT_TICK_MS * LWS_US_PER_MS);
}

/* ---- join hooks ---------------------------------------------------------------- */

int sc_interact_join_check(sc_ws_client *c, const char *room, json_t *id)
{
    sc_app *app = sc_ws_client_app(c);
    const sc_token *t = sc_ws_client_token(c);
    int b = sc_store_is_banned(app->store, room, t->sub);

    if (b > 0) {
        SC_INFO_CTX("interact", room, 0, "room %s: banned user %s refused", room, t->sub);
        sc_ws_error(c, id, "banned", "you are banned from this room");
        return -1;
    }
    return 0;
}

void sc_interact_on_join(sc_ws_client *c)
{
    sc_iroom *r = sc__iroom_of(c);
    if (!r)
        return;
    sc__media_ms(r, sc_wall_ms());
    sc_ws_send(c, sc__settings_json(r));
    if (r->announcement)
        sc_ws_send(c, json_deep_copy(r->announcement));
    sc_ws_send(c, json_pack("{s:s,s:O}", "type", "chat_history", "messages", r->history));
    /* The likes counter as it stands (delta 0), so a page shows the total
     * before anyone likes again. */
    sc_ws_send(c, json_pack("{s:s,s:i,s:I}", "type", "likes", "delta", 0, "total",
                            (json_int_t)r->likes_total));
    /* Mutes live in the room's memory, not in the page: a reload must
     * learn it again, or the page offers a chat box that is refused. */
    if (sc__is_muted(r, sc_ws_client_token(c)->sub))
        sc_ws_send(c, json_pack("{s:s,s:b}", "type", "muted", "muted", 1));
    sc__poll_on_join(r, c);
    if (r->checkin && strcmp(json_string_value(json_object_get(r->checkin, "state")), "open") == 0)
        sc_ws_send(c, sc__checkin_public(r->checkin));
    if (sc__is_moderator(c) && json_array_size(r->review))
        sc_ws_send(c, json_pack("{s:s,s:O}", "type", "review_queue", "items", r->review));
}

/* ---- HTTP export ------------------------------------------------------------------ */

static void export_row(void *ud, const sc_store_interaction *row)
{
    json_t *arr = ud;
    json_t *data = json_loads(row->data, 0, NULL);
    json_array_append_new(arr, json_pack("{s:I,s:s,s:s?,s:s?,s:I,s:I,s:o}", "id",
                                         (json_int_t)row->id, "kind", row->kind, "user_id",
                                         row->user_id, "name", row->name, "ts",
                                         (json_int_t)row->ts_ms, "media_ms",
                                         (json_int_t)row->media_ms, "data",
                                         data ? data : json_null()));
}

/* RFC 4180 field: quoted, with quotes doubled; a leading =,+,-,@ gets a
 * quote mark so a spreadsheet does not run it as a formula. */
static void csv_field(char **buf, size_t *len, size_t *cap, const char *s, bool last)
{
    size_t need = 2 * strlen(s ? s : "") + 8;
    if (*len + need > *cap) {
        size_t nc = (*cap + need) * 2;
        char *nb = realloc(*buf, nc);
        if (!nb)
            return;
        *buf = nb;
        *cap = nc;
    }
    char *o = *buf + *len;
    *o++ = '"';
    /* A spreadsheet runs a cell starting with these as a formula (TAB and
     * CR too: it skips them first); a leading ' makes it text. */
    if (s && *s && strchr("=+-@\t\r", *s))
        *o++ = '\'';
    for (; s && *s; s++) {
        if (*s == '"')
            *o++ = '"';
        *o++ = *s;
    }
    *o++ = '"';
    *o++ = last ? '\n' : ',';
    *len = (size_t)(o - *buf);
}

void sc_interact_http_export(sc_app *app, const sc_http_req *req, const char *room,
                             const char *what, sc_http_reply *rep)
{
    sc_token tok;
    json_t *arr;
    int n;

    rep->action = "exporting interactions";
    if (!sc_rooms_name_ok(room)) {
        sc_http_error(rep, 400, "bad-room", "room names are 1..64 of [A-Za-z0-9_-]");
        return;
    }
    bool all = strcmp(what, "interactions") == 0;
    bool csv = strcmp(what, "checkins.csv") == 0;
    if (!all && !csv && strcmp(what, "checkins") != 0) {
        sc_http_error(rep, 404, "not-found", "no such export");
        return;
    }
    if (sc_http_auth(app, req, room, SC_PERM_MODERATE, &tok, rep))
        return;
    arr = json_array();
    n = sc_store_interactions(app->store, room, all ? NULL : "checkin", 0, export_row, arr);
    if (n < 0) {
        json_decref(arr);
        sc_http_error(rep, 500, "internal", "cannot read the interactions");
        return;
    }
    if (all) {
        sc_http_json(rep, 200, json_pack("{s:s,s:o}", "room", room, "interactions", arr));
        return;
    }
    json_t *list = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row) {
        json_t *d = json_object_get(row, "data");
        json_array_append_new(list, json_pack("{s:O,s:O,s:O,s:O,s:O}", "checkin",
                                              json_object_get(d, "checkin"), "user_id",
                                              json_object_get(row, "user_id"), "name",
                                              json_object_get(row, "name"), "ts",
                                              json_object_get(row, "ts"), "media_ms",
                                              json_object_get(row, "media_ms")));
    }
    json_decref(arr);
    if (!csv) {
        sc_http_json(rep, 200, json_pack("{s:s,s:o}", "room", room, "checkins", list));
        return;
    }
    size_t len = 0, cap = 256;
    char *buf = malloc(cap);
    if (buf) {
        static const char head[] = "checkin,user_id,name,ts,media_ms\n";
        memcpy(buf, head, sizeof(head) - 1);
        len = sizeof(head) - 1;
        json_array_foreach(list, i, row) {
            char num[3][32];
            snprintf(num[0], sizeof(num[0]), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "checkin")));
            snprintf(num[1], sizeof(num[1]), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "ts")));
            snprintf(num[2], sizeof(num[2]), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "media_ms")));
            csv_field(&buf, &len, &cap, num[0], false);
            csv_field(&buf, &len, &cap, json_string_value(json_object_get(row, "user_id")),
                      false);
            csv_field(&buf, &len, &cap, json_string_value(json_object_get(row, "name")), false);
            csv_field(&buf, &len, &cap, num[1], false);
            csv_field(&buf, &len, &cap, num[2], true);
        }
    }
    json_decref(list);
    if (!buf || sc_http_body(rep, 200, "text/csv; charset=utf-8", buf, len) < 0)
        sc_http_error(rep, 500, "internal", "out of memory");
    free(buf);
}

/* GET /api/rooms/{room}/{interactions|checkins|checkins.csv} */
static void export_route(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                         char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_interact_http_export(app, req, args[0], args[1], rep);
}

const sc_http_route sc_interact_routes[] = {
    {"/api/rooms", 2, SC_HTTP_GET, "room export", export_route, 0},
};
const size_t sc_interact_n_routes = sizeof(sc_interact_routes) / sizeof(sc_interact_routes[0]);
