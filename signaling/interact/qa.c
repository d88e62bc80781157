/* Q&A.  Questions live in the room's state keyed by their id (the SQLite
 * row id); fields starting with '_' (voters, the asker of an anonymous
 * question) stay on the server.  A question, its votes and its answer are
 * rows of their own, which rebuild it at the room's first use after a
 * restart. */
#include "signaling/interact/qa.h"

#include "common/clock.h"
#include "signaling/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy without the private '_' fields. */
static json_t *public_view(json_t *q)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(q, k, v) {
        if (k[0] != '_')
            json_object_set(o, k, v);
    }
    return o;
}

static json_t *find(sc_iroom *r, int64_t qid)
{
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)qid);
    return json_object_get(r->questions, key);
}

/* Keeps q (stolen) in the room as question qid, asked by uid. */
static void add_question(sc_iroom *r, json_t *q, int64_t qid, const char *uid)
{
    char key[32];

    json_object_set_new(q, "id", json_integer((json_int_t)qid));
    json_object_set_new(q, "_voters", json_object());
    json_object_set_new(q, "_uid", json_string(uid ? uid : ""));
    snprintf(key, sizeof(key), "%lld", (long long)qid);
    json_object_set_new(r->questions, key, q);
}

/* false when uid has voted for q already. */
static bool add_vote(json_t *q, const char *uid)
{
    json_t *voters = json_object_get(q, "_voters");

    if (json_object_get(voters, uid))
        return false;
    json_object_set_new(voters, uid, json_true());
    json_object_set_new(q, "votes", json_integer((json_int_t)json_object_size(voters)));
    return true;
}

/* Marks q answered (text may be NULL) by `by` (stolen). */
static void set_answer(json_t *q, const char *text, json_t *by)
{
    json_object_set_new(q, "answered", json_true());
    if (text)
        json_object_set_new(q, "answer", json_string(text));
    json_object_set_new(q, "answered_by", by);
}

int64_t sc__qa_publish(sc_iroom *r, json_t *q, const char *uid, const char *name)
{
    sc_token t;
    int64_t rowid;

    memset(&t, 0, sizeof(t));
    snprintf(t.sub, sizeof(t.sub), "%s", uid ? uid : "");
    snprintf(t.name, sizeof(t.name), "%s", name ? name : "");
    /* The stored row keeps who asked, even anonymously (compliance); the
     * room only sees "from": null. */
    rowid = sc__record(r, "question", &t, q);
    if (rowid <= 0) {
        json_decref(q);
        return -1;
    }
    add_question(r, q, rowid, uid);
    sc_ws_broadcast(r->app, r->name, public_view(q));
    return rowid;
}

void sc__cmd_question_ask(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const sc_token *t = sc_ws_client_token(c);
    json_t *anon = json_object_get(msg, "anonymous");
    char *text;

    if (!r) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (anon && !json_is_boolean(anon)) {
        sc_ws_error(c, id, "bad-request", "\"anonymous\" must be true or false");
        return;
    }
    text = sc__text_arg(c, id, msg, "text", SC_INTERACT_TEXT_MAX, false, NULL);
    if (!text)
        return;
    if (!sc__may_post(c, r, id)) {
        free(text);
        return;
    }
    int64_t now = sc_wall_ms();
    bool anonymous = json_is_true(anon);
    json_t *q = json_pack("{s:s,s:o,s:b,s:s,s:i,s:b,s:n,s:I,s:I}", "type", "question", "from",
                          anonymous ? json_null() : sc__from(r, t), "anonymous", anonymous,
                          "text", text, "votes", 0, "answered", 0, "answer", "ts",
                          (json_int_t)now, "media_ms", (json_int_t)sc__media_ms(r, now));
    free(text);
    if (!q) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (r->preapprove && !sc__is_moderator(c)) {
        sc__review_hold(r, c, id, "question", q);
        return;
    }
    int64_t qid = sc__qa_publish(r, q, t->sub, t->name);
    if (qid <= 0) {
        sc_ws_error(c, id, "internal", "cannot store the question");
        return;
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:I}", "type", "sent", "question", (json_int_t)qid));
}

void sc__cmd_question_vote(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const sc_token *t = sc_ws_client_token(c);
    int64_t qid = sc__id_arg(c, id, msg, "question");
    json_t *q;
    sc_iuser *u;

    if (qid < 0 || !r)
        return;
    if (!(q = find(r, qid))) {
        sc_ws_error(c, id, "not-found", "no question %lld", (long long)qid);
        return;
    }
    u = sc__iuser(r, t->sub);
    if (!u || !sc__rate_ok(r, u, false, sc_wall_ms())) {
        sc_ws_error(c, id, "rate-limited", "over %d actions per second",
                    sc__lim_action_rate(r));
        return;
    }
    if (!add_vote(q, t->sub)) {
        sc_ws_error(c, id, "already-voted", "you already voted for this question");
        return;
    }
    json_t *rec = json_pack("{s:s,s:I}", "type", "question_vote", "question", (json_int_t)qid);
    sc__record(r, "question_vote", t, rec);
    json_decref(rec);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, public_view(q));
}

void sc__cmd_question_answer(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    int64_t qid = sc__id_arg(c, id, msg, "question");
    bool absent = false;
    json_t *q;
    char *text;

    if (qid < 0 || !r)
        return;
    if (!(q = find(r, qid))) {
        sc_ws_error(c, id, "not-found", "no question %lld", (long long)qid);
        return;
    }
    text = sc__text_arg(c, id, msg, "text", SC_INTERACT_TEXT_MAX * 4, true, &absent);
    if (!text && !absent)
        return;
    json_t *by = sc__from(r, sc_ws_client_token(c));
    set_answer(q, text, json_incref(by));
    /* answered_by is in the row so a restart shows who answered. */
    json_t *rec = json_pack("{s:s,s:I,s:s?,s:o}", "type", "question_answer", "question",
                            (json_int_t)qid, "text", text, "answered_by", by);
    sc__record(r, "answer", sc_ws_client_token(c), rec);
    json_decref(rec);
    free(text);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, public_view(q));
}

static int by_votes(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t vx = json_integer_value(json_object_get(x, "votes"));
    json_int_t vy = json_integer_value(json_object_get(y, "votes"));
    if (vx != vy)
        return vx > vy ? -1 : 1;
    json_int_t ix = json_integer_value(json_object_get(x, "id"));
    json_int_t iy = json_integer_value(json_object_get(y, "id"));
    return ix < iy ? -1 : ix > iy;
}

void sc__cmd_question_list(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    size_t n, i = 0;
    const char *k;
    json_t *q, **v, *arr;

    (void)msg;
    if (!r)
        return;
    n = json_object_size(r->questions);
    v = calloc(n ? n : 1, sizeof(*v));
    if (!v) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    json_object_foreach(r->questions, k, q) v[i++] = q;
    qsort(v, n, sizeof(*v), by_votes);
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, public_view(v[i]));
    free(v);
    sc_ws_reply(c, id, json_pack("{s:s,s:o}", "type", "questions", "questions", arr));
}

/* ---- after a restart: the questions back from their rows ------------------------- */

static void qa_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *d = json_loads(row->data, 0, NULL), *q;

    if (!json_is_object(d))
        goto done;
    if (strcmp(row->kind, "question") == 0) {
        /* The row is the question as asked: no votes, not answered. */
        json_object_set_new(d, "votes", json_integer(0));
        add_question(r, json_incref(d), row->id, row->user_id);
        goto done;
    }
    if (!(q = find(r, json_integer_value(json_object_get(d, "question")))))
        goto done;
    if (strcmp(row->kind, "question_vote") == 0 && row->user_id) {
        add_vote(q, row->user_id);
    } else if (strcmp(row->kind, "answer") == 0) {
        json_t *by = json_object_get(d, "answered_by");
        /* Rows written before answered_by was kept: who, without a role. */
        by = json_is_object(by) ? json_incref(by)
                                : json_pack("{s:s?,s:s?}", "user_id", row->user_id, "name",
                                            row->name);
        set_answer(q, json_string_value(json_object_get(d, "text")), by);
    }
done:
    json_decref(d);
}

void sc__qa_load(sc_iroom *r)
{
    static const char *const kinds[] = {"question", "question_vote", "answer"};
    sc_store_interactions_since(r->app->store, r->name, kinds, sizeof(kinds) / sizeof(kinds[0]),
                                0, qa_row, r);
}
