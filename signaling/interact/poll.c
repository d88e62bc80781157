/* Polls and quizzes.  A poll is a JSON object in the room's state; fields
 * starting with '_' stay on the server: the ballots, voters' names, the
 * quiz's correct answers (shown only once the quiz closes) and whether the
 * results changed since the last tick.  Results go out at most once per
 * tick, so a thousand votes a second cost ten broadcasts. */
#include "signaling/interact/poll.h"

#include "common/clock.h"
#include "signaling/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEADERBOARD 10

static json_t *find(sc_iroom *r, int64_t pid)
{
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)pid);
    return json_object_get(r->polls, key);
}

static const char *state_of(json_t *p)
{
    return json_string_value(json_object_get(p, "state"));
}

static json_t *view(json_t *p, bool moderator)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    bool closed = strcmp(state_of(p), "closed") == 0;

    json_object_foreach(p, k, v) {
        if (k[0] != '_')
            json_object_set(o, k, v);
    }
    json_object_set_new(o, "type", json_string("poll"));
    if (json_is_true(json_object_get(p, "quiz")) && (closed || moderator))
        json_object_set(o, "correct", json_object_get(p, "_correct"));
    return o;
}

/* Sorted, distinct choice indexes in [0, n_options), at least one, exactly
 * one when !multiple.  A new array or NULL. */
static json_t *parse_choices(json_t *v, size_t n_options, bool multiple)
{
    bool seen[SC_INTERACT_POLL_OPTIONS] = {false};
    size_t i, count = 0;
    json_t *x, *out;

    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > n_options)
        return NULL;
    json_array_foreach(v, i, x) {
        if (!json_is_integer(x))
            return NULL;
        json_int_t k = json_integer_value(x);
        if (k < 0 || (size_t)k >= n_options || seen[k])
            return NULL;
        seen[k] = true;
        count++;
    }
    if (!multiple && count != 1)
        return NULL;
    out = json_array();
    for (i = 0; i < n_options; i++)
        if (seen[i])
            json_array_append_new(out, json_integer((json_int_t)i));
    return out;
}

static void record(sc_iroom *r, const char *kind, const sc_token *t, json_t *m)
{
    sc__record(r, kind, t, m);
    json_decref(m);
}

/* Gives p (borrowed) its id and empty ballots and keeps it in the room. */
static void add_poll(sc_iroom *r, json_t *p, int64_t pid)
{
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)pid);
    json_object_set_new(p, "id", json_integer((json_int_t)pid));
    json_object_set_new(p, "_ballots", json_object());
    json_object_set_new(p, "_names", json_object());
    json_object_set(r->polls, key, p);
}

/* Counts uid's ballot (choices borrowed, already checked); false when uid
 * has voted in p already. */
static bool add_ballot(json_t *p, const char *uid, const char *name, json_t *choices)
{
    json_t *ballots = json_object_get(p, "_ballots"), *counts = json_object_get(p, "counts");
    json_t *x;
    size_t i;

    if (json_object_get(ballots, uid))
        return false;
    json_object_set(ballots, uid, choices);
    json_object_set_new(json_object_get(p, "_names"), uid, json_string(name ? name : ""));
    json_array_foreach(choices, i, x) {
        size_t k = (size_t)json_integer_value(x);
        json_array_set_new(counts, k,
                           json_integer(json_integer_value(json_array_get(counts, k)) + 1));
    }
    json_object_set_new(p, "voters", json_integer((json_int_t)json_object_size(ballots)));
    return true;
}

void sc__cmd_poll_create(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    const sc_token *t = sc_ws_client_token(c);
    json_t *opts = json_object_get(msg, "options"), *options = NULL, *counts = NULL;
    json_t *correct = NULL, *p = NULL, *o;
    bool multiple = json_is_true(json_object_get(msg, "multiple"));
    bool quiz = json_is_true(json_object_get(msg, "quiz"));
    char *question = NULL;
    size_t i;

    if (!r)
        return;
    question = sc__text_arg(c, id, msg, "question", SC_INTERACT_TEXT_MAX, false, NULL);
    if (!question)
        return;
    if (!json_is_array(opts) || json_array_size(opts) < 2 ||
        json_array_size(opts) > SC_INTERACT_POLL_OPTIONS) {
        sc_ws_error(c, id, "bad-request", "\"options\" must be 2..%d strings",
                    SC_INTERACT_POLL_OPTIONS);
        goto done;
    }
    options = json_array();
    counts = json_array();
    json_array_foreach(opts, i, o) {
        json_t *wrap = json_pack("{s:O}", "option", o);
        char *s = sc__text_arg(c, id, wrap, "option", SC_INTERACT_OPTION_MAX, false, NULL);
        json_decref(wrap);
        if (!s)
            goto done;
        json_array_append_new(options, json_string(s));
        json_array_append_new(counts, json_integer(0));
        free(s);
    }
    if (quiz) {
        correct = parse_choices(json_object_get(msg, "correct"), json_array_size(options),
                                multiple);
        if (!correct) {
            sc_ws_error(c, id, "bad-request",
                        "a quiz needs \"correct\": the right option indexes");
            goto done;
        }
    }
    p = json_pack("{s:s,s:O,s:b,s:b,s:s,s:O,s:i,s:I}", "question", question, "options", options,
                  "multiple", multiple, "quiz", quiz, "state", "draft", "counts", counts, "voters",
                  0, "created_ms", (json_int_t)sc_wall_ms());
    if (!p) {
        sc_ws_error(c, id, "internal", "out of memory");
        goto done;
    }
    if (correct)
        json_object_set(p, "_correct", correct);
    {
        json_t *rec = view(p, true);
        int64_t pid = sc__record(r, "poll", t, rec);
        json_decref(rec);
        if (pid <= 0) {
            sc_ws_error(c, id, "internal", "cannot store the poll");
            goto done;
        }
        add_poll(r, p, pid);
    }
    /* With "open" the poll opens at once, recorded as poll_open does, and
     * the reply is what the host now has: the open poll. */
    bool open_now = json_is_true(json_object_get(msg, "open"));
    if (open_now) {
        json_object_set_new(p, "state", json_string("open"));
        record(r, "poll_open", t,
               json_pack("{s:s,s:O}", "type", "poll_open", "poll", json_object_get(p, "id")));
    }
    sc_ws_reply(c, id, view(p, true));
    if (open_now)
        sc_ws_broadcast(r->app, r->name, view(p, false));
done:
    json_decref(p);
    json_decref(options);
    json_decref(counts);
    json_decref(correct);
    free(question);
}

static json_t *poll_arg(sc_ws_client *c, json_t *msg, json_t *id, sc_iroom **rp)
{
    sc_iroom *r = sc__iroom_of(c);
    int64_t pid = sc__id_arg(c, id, msg, "poll");
    json_t *p;

    if (pid < 0 || !r)
        return NULL;
    if (!(p = find(r, pid))) {
        sc_ws_error(c, id, "not-found", "no poll %lld", (long long)pid);
        return NULL;
    }
    *rp = r;
    return p;
}

void sc__cmd_poll_open(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r;
    json_t *p = poll_arg(c, msg, id, &r);

    if (!p)
        return;
    if (strcmp(state_of(p), "draft") != 0) {
        sc_ws_error(c, id, "conflict", "the poll is already %s", state_of(p));
        return;
    }
    json_object_set_new(p, "state", json_string("open"));
    record(r, "poll_open", sc_ws_client_token(c),
           json_pack("{s:s,s:O}", "type", "poll_open", "poll", json_object_get(p, "id")));
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, view(p, false));
}

static bool same_choices(json_t *a, json_t *b)
{
    return json_equal(a, b) != 0;
}

typedef struct score {
    const char *uid;
    const char *name;
    int score;
} score;

static int by_score(const void *a, const void *b)
{
    const score *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->uid, y->uid);
}

/* Scores over every closed quiz: one point per exactly right ballot. */
static json_t *scores_json(sc_iroom *r, size_t limit, int *quizzes)
{
    json_t *tally = json_object(), *names = json_object(), *arr = json_array();
    const char *k, *uid;
    json_t *p, *ballot;
    size_t n = 0, i = 0;

    *quizzes = 0;
    json_object_foreach(r->polls, k, p) {
        if (!json_is_true(json_object_get(p, "quiz")) || strcmp(state_of(p), "closed"))
            continue;
        (*quizzes)++;
        json_t *correct = json_object_get(p, "_correct");
        json_object_foreach(json_object_get(p, "_ballots"), uid, ballot) {
            json_int_t s = json_integer_value(json_object_get(tally, uid));
            if (same_choices(ballot, correct))
                s++;
            json_object_set_new(tally, uid, json_integer(s));
            json_object_set(names, uid, json_object_get(json_object_get(p, "_names"), uid));
        }
    }
    n = json_object_size(tally);
    score *v = calloc(n ? n : 1, sizeof(*v));
    if (v) {
        json_t *s;
        json_object_foreach(tally, uid, s) {
            v[i].uid = uid;
            v[i].name = json_string_value(json_object_get(names, uid));
            v[i].score = (int)json_integer_value(s);
            i++;
        }
        qsort(v, n, sizeof(*v), by_score);
        for (i = 0; i < n && i < limit; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:i}", "user_id", v[i].uid, "name",
                                                 v[i].name ? v[i].name : "", "score",
                                                 v[i].score));
        free(v);
    }
    json_decref(tally);
    json_decref(names);
    return arr;
}

void sc__cmd_poll_close(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r;
    json_t *p = poll_arg(c, msg, id, &r);
    int quizzes;

    if (!p)
        return;
    if (strcmp(state_of(p), "open") != 0) {
        sc_ws_error(c, id, "not-open", "the poll is %s", state_of(p));
        return;
    }
    json_object_set_new(p, "state", json_string("closed"));
    json_object_del(p, "_dirty");
    json_t *v = view(p, false);
    json_object_set_new(v, "type", json_string("poll_close"));
    sc__record(r, "poll_close", sc_ws_client_token(c), v);
    json_decref(v);
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "ok"));
    sc_ws_broadcast(r->app, r->name, view(p, false));
    if (json_is_true(json_object_get(p, "quiz"))) {
        json_t *top = scores_json(r, LEADERBOARD, &quizzes);
        sc_ws_broadcast(r->app, r->name,
                        json_pack("{s:s,s:o,s:i}", "type", "quiz_scores", "scores", top,
                                  "quizzes", quizzes));
    }
}

void sc__cmd_poll_vote(sc_ws_client *c, json_t *msg, json_t *id)
{
    const sc_token *t = sc_ws_client_token(c);
    sc_iroom *r;
    json_t *p = poll_arg(c, msg, id, &r), *choices;
    sc_iuser *u;

    if (!p)
        return;
    if (strcmp(state_of(p), "open") != 0) {
        sc_ws_error(c, id, "not-open", "the poll is %s", state_of(p));
        return;
    }
    choices = parse_choices(json_object_get(msg, "choices"),
                            json_array_size(json_object_get(p, "counts")),
                            json_is_true(json_object_get(p, "multiple")));
    if (!choices) {
        sc_ws_error(c, id, "bad-request", "\"choices\": %s option indexes",
                    json_is_true(json_object_get(p, "multiple")) ? "distinct" : "exactly one of the");
        return;
    }
    u = sc__iuser(r, t->sub);
    if (!u || !sc__rate_ok(r, u, false, sc_wall_ms())) {
        json_decref(choices);
        sc_ws_error(c, id, "rate-limited", "over %d actions per second",
                    sc__lim_action_rate(r));
        return;
    }
    if (!add_ballot(p, t->sub, t->name, choices)) {
        json_decref(choices);
        sc_ws_error(c, id, "already-voted", "you already voted in this poll");
        return;
    }
    json_object_set_new(p, "_dirty", json_true());
    record(r, "vote", t,
           json_pack("{s:s,s:O,s:o}", "type", "poll_vote", "poll", json_object_get(p, "id"),
                     "choices", choices));
    sc_ws_reply(c, id, json_pack("{s:s}", "type", "voted"));
}

void sc__poll_tick(sc_iroom *r)
{
    const char *k;
    json_t *p;

    json_object_foreach(r->polls, k, p) {
        if (!json_is_true(json_object_get(p, "_dirty")))
            continue;
        json_object_del(p, "_dirty");
        sc_ws_broadcast(r->app, r->name,
                        json_pack("{s:s,s:O,s:O,s:O}", "type", "poll_results", "poll",
                                  json_object_get(p, "id"), "counts",
                                  json_object_get(p, "counts"), "voters",
                                  json_object_get(p, "voters")));
    }
}

void sc__poll_on_join(sc_iroom *r, sc_ws_client *c)
{
    const char *k;
    json_t *p;
    json_object_foreach(r->polls, k, p) {
        if (strcmp(state_of(p), "open") == 0)
            sc_ws_send(c, view(p, sc__is_moderator(c)));
    }
}

void sc__cmd_poll_list(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    bool mod = sc__is_moderator(c);
    json_t *arr, *p;
    const char *k;

    (void)msg;
    if (!r)
        return;
    arr = json_array();
    json_object_foreach(r->polls, k, p) {
        if (mod || strcmp(state_of(p), "draft") != 0)
            json_array_append_new(arr, view(p, mod));
    }
    sc_ws_reply(c, id, json_pack("{s:s,s:o}", "type", "polls", "polls", arr));
}

void sc__cmd_quiz_scores(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    int quizzes;

    (void)msg;
    if (!r)
        return;
    json_t *all = scores_json(r, (size_t)-1, &quizzes);
    sc_ws_reply(c, id, json_pack("{s:s,s:o,s:i}", "type", "quiz_scores", "scores", all,
                                 "quizzes", quizzes));
}

int sc__quiz_correct_users(sc_iroom *r, int64_t poll, json_t *out)
{
    const char *k, *uid;
    json_t *p, *ballot;
    int n = 0;

    if (poll > 0) {
        p = find(r, poll);
        if (!p || !json_is_true(json_object_get(p, "quiz")))
            return -ENOENT;
    }
    json_object_foreach(r->polls, k, p) {
        if (poll > 0 && json_integer_value(json_object_get(p, "id")) != poll)
            continue;
        if (!json_is_true(json_object_get(p, "quiz")) || strcmp(state_of(p), "closed"))
            continue;
        json_t *correct = json_object_get(p, "_correct");
        json_object_foreach(json_object_get(p, "_ballots"), uid, ballot) {
            if (same_choices(ballot, correct) && !json_object_get(out, uid)) {
                json_object_set(out, uid, json_object_get(json_object_get(p, "_names"), uid));
                n++;
            }
        }
    }
    return n;
}

/* ---- after a restart: the polls back from their rows ---------------------------- */

static void restore_poll(sc_iroom *r, const sc_store_interaction *row, json_t *d)
{
    json_t *options = json_object_get(d, "options"), *counts = json_array();
    size_t n = json_array_size(options);

    if (!json_is_array(options) || n < 2 || n > SC_INTERACT_POLL_OPTIONS ||
        !json_is_string(json_object_get(d, "question"))) {
        json_decref(counts);
        return;
    }
    for (size_t i = 0; i < n; i++)
        json_array_append_new(counts, json_integer(0));
    /* The row is the poll as created (view() for a moderator): a draft with
     * no votes, the quiz answers under their public name. */
    json_object_del(d, "type");
    if (json_is_true(json_object_get(d, "quiz")))
        json_object_set(d, "_correct", json_object_get(d, "correct"));
    json_object_del(d, "correct");
    json_object_set_new(d, "state", json_string("draft"));
    json_object_set_new(d, "counts", counts);
    json_object_set_new(d, "voters", json_integer(0));
    add_poll(r, d, row->id);
}

static void restore_vote(json_t *p, const sc_store_interaction *row, json_t *d)
{
    json_t *choices;

    if (!row->user_id || strcmp(state_of(p), "open") != 0)
        return;
    choices = parse_choices(json_object_get(d, "choices"),
                            json_array_size(json_object_get(p, "counts")),
                            json_is_true(json_object_get(p, "multiple")));
    if (choices)
        add_ballot(p, row->user_id, row->name, choices);
    json_decref(choices);
}

static void poll_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *d = json_loads(row->data, 0, NULL), *p;
    const char *key;

    if (!json_is_object(d))
        goto done;
    if (strcmp(row->kind, "poll") == 0) {
        restore_poll(r, row, d);
        goto done;
    }
    /* poll_close rows are the closed poll's view: its id is "id". */
    key = strcmp(row->kind, "poll_close") == 0 ? "id" : "poll";
    if (!(p = find(r, json_integer_value(json_object_get(d, key)))))
        goto done;
    if (strcmp(row->kind, "poll_open") == 0 && strcmp(state_of(p), "draft") == 0)
        json_object_set_new(p, "state", json_string("open"));
    else if (strcmp(row->kind, "vote") == 0)
        restore_vote(p, row, d);
    else if (strcmp(row->kind, "poll_close") == 0 && strcmp(state_of(p), "open") == 0)
        json_object_set_new(p, "state", json_string("closed"));
done:
    json_decref(d);
}

void sc__poll_load(sc_iroom *r)
{
    static const char *const kinds[] = {"poll", "poll_open", "vote", "poll_close"};
    sc_store_interactions_since(r->app->store, r->name, kinds, sizeof(kinds) / sizeof(kinds[0]),
                                0, poll_row, r);
}
