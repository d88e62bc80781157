/* Lottery.  The eligible users are gathered into a set keyed by user id
 * (one chance per person, however many tabs they have open), then a
 * partial Fisher-Yates shuffle driven by RAND_bytes picks the winners.  A
 * draw is recorded before it is announced, so the export holds every
 * announced result. */
#include "signaling/interact/lottery.h"

#include "common/clock.h"
#include "signaling/store/store.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define PRIZE_MAX 100

int64_t sc__random_below(uint64_t n)
{
    /* Reject the low 2^64 mod n values so every residue is equally likely
     * (plain x % n favours small results). */
    uint64_t threshold, x;

    if (n == 0)
        return -1;
    threshold = (0 - n) % n;
    do {
        if (RAND_bytes((unsigned char *)&x, sizeof(x)) != 1)
            return -1;
    } while (x < threshold);
    return (int64_t)(x % n);
}

typedef struct present {
    json_t *set;
} present;

static void add_present(void *ud, sc_ws_client *c)
{
    present *p = ud;
    const sc_token *t = sc_ws_client_token(c);
    /* The hosts and assistants running the draw are not in it. */
    if (sc__is_moderator(c))
        return;
    if (!json_object_get(p->set, t->sub))
        json_object_set_new(p->set, t->sub, json_string(t->name));
}

/* The eligible set (user_id -> name), or NULL with the error sent. */
static json_t *eligible(sc_ws_client *c, sc_iroom *r, json_t *msg, json_t *id, const char *among)
{
    json_t *set = json_object();

    if (strcmp(among, "present") == 0) {
        present p = {set};
        sc_ws_foreach_client(r->app, r->name, add_present, &p);
    } else if (strcmp(among, "checked_in") == 0) {
        const char *uid;
        json_t *e;
        if (!r->checkin) {
            sc_ws_error(c, id, "not-found", "no check-in has been held");
            json_decref(set);
            return NULL;
        }
        json_object_foreach(json_object_get(r->checkin, "_users"), uid, e)
            json_object_set(set, uid, json_object_get(e, "name"));
    } else if (strcmp(among, "correct") == 0) {
        json_t *pv = json_object_get(msg, "poll");
        int64_t poll = 0;
        if (pv && (poll = sc__id_arg(c, id, msg, "poll")) < 0) {
            json_decref(set);
            return NULL;
        }
        if (sc__quiz_correct_users(r, poll, set) < 0) {
            sc_ws_error(c, id, "not-found", "no quiz %lld", (long long)poll);
            json_decref(set);
            return NULL;
        }
    } else {
        sc_ws_error(c, id, "bad-request", "\"among\" is present, checked_in or correct");
        json_decref(set);
        return NULL;
    }
    return set;
}

void sc__cmd_lottery_draw(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    json_t *jn = json_object_get(msg, "count"), *jx = json_object_get(msg, "exclude_winners");
    const char *among = json_string_value(json_object_get(msg, "among"));
    bool absent = false, exclude = !json_is_false(jx);
    char *prize = NULL;
    json_t *set = NULL, *winners = NULL, *m = NULL;
    const char **uids = NULL;
    size_t n = 0, k;
    int64_t count;

    if (!r)
        return;
    if (!json_is_integer(jn) || (count = json_integer_value(jn)) < 1 ||
        count > SC_INTERACT_WINNERS_MAX) {
        sc_ws_error(c, id, "bad-request", "\"count\" must be 1..%d", SC_INTERACT_WINNERS_MAX);
        return;
    }
    if (jx && !json_is_boolean(jx)) {
        sc_ws_error(c, id, "bad-request", "\"exclude_winners\" must be true or false");
        return;
    }
    prize = sc__text_arg(c, id, msg, "prize", PRIZE_MAX, true, &absent);
    if (!prize && !absent)
        return;
    if (!(set = eligible(c, r, msg, id, among ? among : "present")))
        goto done;
    if (exclude) {
        const char *uid;
        json_t *v;
        json_object_foreach(r->winners, uid, v) json_object_del(set, uid);
    }
    uids = calloc(json_object_size(set) + 1, sizeof(*uids));
    if (!uids) {
        sc_ws_error(c, id, "internal", "out of memory");
        goto done;
    }
    {
        const char *uid;
        json_t *v;
        json_object_foreach(set, uid, v) uids[n++] = uid;
    }
    k = (size_t)count < n ? (size_t)count : n;
    winners = json_array();
    for (size_t i = 0; i < k; i++) {
        int64_t j = sc__random_below(n - i);
        if (j < 0) {
            sc_ws_error(c, id, "internal", "the random generator failed");
            goto done;
        }
        const char *tmp = uids[i];
        uids[i] = uids[i + (size_t)j];
        uids[i + (size_t)j] = tmp;
        char *name = sc__filter(r, json_string_value(json_object_get(set, uids[i])) ?: "");
        json_array_append_new(winners, json_pack("{s:s,s:s}", "user_id", uids[i], "name",
                                                 name ? name : ""));
        free(name);
    }
    int64_t now = sc_wall_ms();
    m = json_pack("{s:s,s:s,s:s?,s:I,s:O,s:I,s:I}", "type", "lottery", "among",
                  among ? among : "present", "prize", prize, "eligible", (json_int_t)n,
                  "winners", winners, "ts", (json_int_t)now, "media_ms",
                  (json_int_t)sc__media_ms(r, now));
    int64_t lid = sc__record(r, "lottery", sc_ws_client_token(c), m);
    if (lid <= 0) {
        sc_ws_error(c, id, "internal", "cannot record the draw");
        goto done;
    }
    json_object_set_new(m, "id", json_integer((json_int_t)lid));
    for (size_t i = 0; i < k; i++)
        json_object_set_new(r->winners, uids[i], json_true());
    sc_ws_reply(c, id, json_pack("{s:s,s:I}", "type", "ok", "lottery", (json_int_t)lid));
    sc_ws_broadcast(r->app, r->name, json_incref(m));
done:
    free(uids);
    json_decref(set);
    json_decref(winners);
    json_decref(m);
    free(prize);
}

/* exclude_winners holds across a restart: every draw's row names its
 * winners. */
static void lottery_row(void *ud, const sc_store_interaction *row)
{
    sc_iroom *r = ud;
    json_t *d = json_loads(row->data, 0, NULL), *w;
    size_t i;

    json_array_foreach(json_object_get(d, "winners"), i, w) {
        const char *uid = json_string_value(json_object_get(w, "user_id"));
        if (uid)
            json_object_set_new(r->winners, uid, json_true());
    }
    json_decref(d);
}

void sc__lottery_load(sc_iroom *r)
{
    sc_store_interactions(r->app->store, r->name, "lottery", 0, lottery_row, r);
}
