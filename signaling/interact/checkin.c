/* Check-in and announcements.  A check-in is open for a fixed time; the
 * tick closes it when the time is up.  Each check-in is one SQLite row of
 * kind "checkin" (user id and name in the columns), which is what the
 * export endpoint lists.  The last check-in comes back from its rows
 * (checkin_open, checkin, checkin_close) at the room's first use after a
 * restart, with its deadline as it was. */
#include "signaling/interact/checkin.h"

#include "common/clock.h"
#include "signaling/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECKIN_DEFAULT_S 60
#define CHECKIN_MIN_S 5
#define CHECKIN_MAX_S 3600
#define ANNOUNCEMENT_MAX 1000

json_t *sc__checkin_public(const json_t *ck)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ck, k, v) {
        if (k[0] != '_')
            json_object_set(o, k, v);
    }
    return o;
}

static bool is_open(const sc_iroom *r)
{
    return r->checkin &&
           strcmp(json_string_value(json_object_get(r->checkin, "state")), "open") == 0;
}

/* Closes the open check-in as of closed_ms and records it (by: NULL when
 * its time ran out). */
static void mark_closed(sc_iroom *r, const sc_token *by, int64_t closed_ms)
{
    json_object_set_new(r->checkin, "state", json_string("closed"));
    json_object_set_new(r->checkin, "closed_ms", json_integer((json_int_t)closed_ms));
    json_t *pub = sc__checkin_public(r->checkin);
    json_object_set_new(pub, "type", json_string("checkin_close"));
    sc__record(r, "checkin_close", by, pub);
    json_decref(pub);
}

static void close_checkin(sc_iroom *r, const sc_token *by)
{
    mark_closed(r, by, sc_wall_ms());
    sc_ws_broadcast(r->app, r->name, sc__checkin_public(r->checkin));
}

static void add_entry(sc_iroom *r, const char *uid, const char *name, int64_t ts, int64_t mms)
{
    json_t *users = json_object_get(r->checkin, "_users");

    json_object_set_new(users, uid,
                        json_pack("{s:s,s:I,s:I}", "name", name ? name : "", "ts",
                                  (json_int_t)ts, "media_ms", (json_int_t)mms));
    json_object_set_new(r->checkin, "count", json_integer((json_int_t)json_object_size(users)));
}

void sc__cmd_checkin_open(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    json_t *jd = json_object_get(msg, "duration_s");
    json_int_t dur = CHECKIN_DEFAULT_S;

    if (!r)
        return;
    if (jd && (!json_is_integer(jd) || (dur = json_integer_value(jd)) < CHECKIN_MIN_S ||
               dur > CHECKIN_MAX_S)) {
        sc_ws_error(c, id, "bad-request", "\"duration_s\" must be %d..%d", CHECKIN_MIN_S,
                    CHECKIN_MAX_S);
        return;
    }
    if (is_open(r)) {
        sc_ws_error(c, id, "conflict", "a check-in is already open");
        return;
    }
    int64_t now = sc_wall_ms();
    json_t *ck = json_pack("{s:s,s:s,s:I,s:I,s:I,s:i}", "type", "checkin", "state", "open",
                           "duration_s", dur, "opened_ms", (json_int_t)now, "ends_at",
                           (json_int_t)(now + dur * 1000), "count", 0);
    int64_t cid = sc__record(r, "checkin_open", sc_ws_client_token(c), ck);
    if (cid <= 0) {
        json_decref(ck);
        sc_ws_error(c, id, "internal", "cannot record the check-in");
        return;
    }
    json_object_set_new(ck, "id", json_integer((json_int_t)cid));
    json_object_set_new(ck, "_users", json_object());
    json_decref(r->checkin);
    r->checkin = ck;
    sc_ws_reply(c, id, json_pack("{s:s,s:I}", "type", "ok", "checkin", (json_int_t)cid));
    sc_ws_broadcast(r->app, r->name, sc__checkin_public(ck));
}

void sc__cmd_checkin_close(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    (void)msg;
    if (!r)
        return;
    if (!is_open(r)) {
        sc_ws_error(c, id, "not-open", "no check-in is open");
        return;
    }
    close_checkin(r, sc_ws_client_token(c));
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
}

void sc__cmd_checkin(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const sc_token *t = sc_ws_client_token(c);
    json_t *users, *cid;
    sc_iuser *u;

    (void)msg;
    if (!r)
        return;
    if (!is_open(r)) {
        sc_ws_error(c, id, "not-open", "no check-in is open");
        return;
    }
    u = sc__iuser(r, t->sub);
    int64_t now = sc_wall_ms();
    if (!u || !sc__rate_ok(r, u, false, now)) {
        sc_ws_error(c, id, "rate-limited", "over %d actions per second",
                    sc__lim_action_rate(r));
        return;
    }
    users = json_object_get(r->checkin, "_users");
    cid = json_object_get(r->checkin, "id");
    if (json_object_get(users, t->sub)) {
        sc_ws_reply(c, id, json_pack("{s:s,s:O,s:b}", "type", "checked_in", "checkin", cid,
                                     "already", 1));
        return;
    }
    int64_t mms = sc__media_ms(r, now);
    json_t *rec = json_pack("{s:s,s:O,s:I,s:I}", "type", "checkin", "checkin", cid, "ts",
                            (json_int_t)now, "media_ms", (json_int_t)mms);
    sc__record(r, "checkin", t, rec);
    json_decref(rec);
    add_entry(r, t->sub, t->name, now, mms);
    json_object_set_new(r->checkin, "_dirty", json_true());
    sc_ws_reply(c, id, json_pack("{s:s,s:O,s:b}", "type", "checked_in", "checkin", cid,
                                 "already", 0));
}

void sc__cmd_checkin_list(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const char *uid;
    json_t *e, *arr;

    (void)msg;
    if (!r)
        return;
    if (!r->checkin) {
        sc_ws_error(c, id, "not-found", "no check-in has been held");
        return;
    }
    arr = json_array();
    json_object_foreach(json_object_get(r->checkin, "_users"), uid, e)
        json_array_append_new(arr, json_pack("{s:s,s:O,s:O,s:O}", "user_id", uid, "name",
                                             json_object_get(e, "name"), "ts",
                                             json_object_get(e, "ts"), "media_ms",
                                             json_object_get(e, "media_ms")));
    sc_ws_reply(c, id, json_pack("{s:s,s:O,s:O,s:o}", "type", "checkin_list", "checkin",
                                 json_object_get(r->checkin, "id"), "state",
                                 json_object_get(r->checkin, "state"), "users", arr));
}

void sc__checkin_tick(sc_iroom *r, int64_t now)
{
    if (!r->checkin)
        return;
    if (json_is_true(json_object_get(r->checkin, "_dirty"))) {
        json_object_del(r->checkin, "_dirty");
        sc__to_moderators(r, json_pack("{s:s,s:O,s:O}", "type", "checkin_count", "checkin",
                                       json_object_get(r->checkin, "id"), "count",
                                       json_object_get(r->checkin, "count")));
    }
    if (is_open(r) && now >= json_integer_value(json_object_get(r->checkin, "ends_at")))
        close_checkin(r, NULL);
}

void sc__cmd_announce(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    char *text;

    if (!r)
        return;
    text = sc__text_arg(c, id, msg, "text", ANNOUNCEMENT_MAX, false, NULL);
    if (!text)
        return;
    int64_t now = sc_wall_ms();
    json_t *a = json_pack("{s:s,s:s,s:o,s:I,s:I}", "type", "announcement", "text", text, "by",
                          sc__from(r, sc_ws_client_token(c)), "ts", (json_int_t)now,
                          "media_ms", (json_int_t)sc__media_ms(r, now));
    free(text);
    if (!a) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    sc__record(r, "announcement", sc_ws_client_token(c), a);
    char *s = json_dumps(a, JSON_COMPACT);
    if (s)
        sc_store_setting_set(r->app->store, r->name, "announcement", s);
    free(s);
    json_decref(r->announcement);
    r->announcement = a;
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, json_deep_copy(a));
}

void sc__cmd_announce_clear(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    (void)msg;
    if (!r)
        return;
    json_t *a =
        json_pack("{s:s,s:n,s:I}", "type", "announcement", "text", "ts", (json_int_t)sc_wall_ms());
    sc__record(r, "announcement", sc_ws_client_token(c), a);
    sc_store_setting_set(r->app->store, r->name, "announcement", "");
    json_decref(r->announcement);
    r->announcement = NULL;
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, a);
}

/* ---- after a restart: the last check-in back from its rows ----------------------- */

static void last_open_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *ck = json_loads(row->data, 0, NULL);

    if (!json_is_object(ck) || !json_is_integer(json_object_get(ck, "ends_at"))) {
        json_decref(ck);
        return;
    }
    /* As opened: no entries yet, whatever the row counted. */
    json_object_set_new(ck, "state", json_string("open"));
    json_object_set_new(ck, "count", json_integer(0));
    json_object_set_new(ck, "id", json_integer((json_int_t)row->id));
    json_object_set_new(ck, "_users", json_object());
    json_decref(r->checkin);
    r->checkin = ck;
}

static void checkin_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *d = json_loads(row->data, 0, NULL);

    if (!json_is_object(d) || !is_open(r))
        goto done;
    if (strcmp(row->kind, "checkin") == 0 && row->user_id &&
        json_integer_value(json_object_get(d, "checkin")) ==
            json_integer_value(json_object_get(r->checkin, "id"))) {
        add_entry(r, row->user_id, row->name, row->ts_ms, row->media_ms);
    } else if (strcmp(row->kind, "checkin_close") == 0) {
        json_object_set_new(r->checkin, "state", json_string("closed"));
        json_object_set(r->checkin, "closed_ms", json_object_get(d, "closed_ms"));
    }
done:
    json_decref(d);
}

void sc__checkin_load(sc_iroom *r)
{
    static const char *const kinds[] = {"checkin", "checkin_close"};

    if (sc_store_interactions(r->app->store, r->name, "checkin_open", 1, last_open_row, r) <= 0 ||
        !r->checkin)
        return;
    sc_store_interactions_since(r->app->store, r->name, kinds, sizeof(kinds) / sizeof(kinds[0]),
                                json_integer_value(json_object_get(r->checkin, "id")),
                                checkin_row, r);
    /* Its time ran out while the server was down: closed when it ended. */
    int64_t ends = json_integer_value(json_object_get(r->checkin, "ends_at"));
    if (is_open(r) && sc_wall_ms() >= ends)
        mark_closed(r, NULL, ends);
}
