/* The interaction layer: chat and danmaku, likes, Q&A, polls and
 * quizzes, lottery, check-in, announcements and moderation, over the /ws
 * WebSocket (docs/protocol.md, "Interactions").  The message formats are
 * transport-neutral so the data-channel path can reuse them.
 *
 * Everything runs on the signalling thread.  Per-room state lives here in
 * memory (sc_iroom); every interaction is also written to SQLite with the
 * room's media time, and the state is rebuilt from those rows when the
 * room is first used after a restart (each file's sc__*_load).  Chat, danmaku and likes are not sent one by one: they
 * collect in the room's outbox and go out every SC_INTERACT_TICK_MS as one
 * {"type":"batch"} message, serialised once and queued to every client.
 *
 * Public entry points (ws.c, http.c) are sc_interact_*; the rest (sc__*) is
 * shared between interact.c, chat.c, qa.c, poll.c, lottery.c, checkin.c and
 * moderation.c only. */
#ifndef SC_INTERACT_H
#define SC_INTERACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "signaling/auth/token.h"
#include "signaling/http/http.h"
#include "signaling/http/ws.h"
#include "signaling/interact/wordfilter.h"

/* Limits with their defaults (RELIABILITY: chat messages per user per
 * second).  The chat rate and burst, the action rate and the history
 * length are `serve` options (config.c: --chat-rate, --chat-burst,
 * --action-rate, --chat-history); read them through sc__lim_*(). */
#define SC_INTERACT_TEXT_MAX 500        /* characters in a chat/danmaku/question */
#define SC_INTERACT_HISTORY 50          /* chat messages sent on join */
#define SC_INTERACT_TICK_MS 100         /* fan-out batching period */
#define SC_INTERACT_CHAT_RATE 5         /* chat/danmaku/questions per second per user */
#define SC_INTERACT_CHAT_BURST 5
#define SC_INTERACT_ACTION_RATE 20      /* likes, votes, check-ins per second per user */
#define SC_INTERACT_ACTION_BURST 20
#define SC_INTERACT_REVIEW_MAX 1000     /* held messages per room */
#define SC_INTERACT_POLL_OPTIONS 10
#define SC_INTERACT_OPTION_MAX 100      /* characters per poll option */
#define SC_INTERACT_WINNERS_MAX 1000
#define SC_INTERACT_WORDS_FILE "words.txt"  /* global list, in the data dir */

/* ---- public: called from ws.c and http.c ---------------------------------- */

/* The module's process-wide state, app->interact (made on first use). */
typedef struct sc_interact sc_interact;
/* Frees app->interact (sc_app_free calls it).  The rooms' interaction state
 * is freed with the room registry. */
void sc_interact_free(sc_app *app);
/* Before a join is accepted (the token is already verified): refuses a
 * banned user with error "banned".  0 to go on, -1 when refused. */
int sc_interact_join_check(sc_ws_client *c, const char *room, json_t *id);
/* One round of the fan-out timer's work in every room: the batches go out,
 * polls and check-ins past their deadline close.  The timer runs it every
 * SC_INTERACT_TICK_MS; the fuzz target after each message. */
void sc_interact_flush(sc_app *app);
/* After the `joined` reply: room settings, the pinned announcement, the
 * chat history, open polls and check-in, and for moderators the review
 * queue. */
void sc_interact_on_join(sc_ws_client *c);
/* GET /api/rooms/{room}/{what}: what is "interactions", "checkins" or
 * "checkins.csv".  Needs a moderate (or admin) token for the room. */
/* Its route: the export below. */
extern const sc_http_route sc_interact_routes[];
extern const size_t sc_interact_n_routes;
void sc_interact_http_export(sc_app *app, const sc_http_req *req, const char *room,
                             const char *what, sc_http_reply *rep);

/* ---- internal to the interaction modules ---------------------------------- */

typedef struct sc_iuser {
    char user_id[SC_PEER_NAME_MAX + 1];
    double chat_tokens, act_tokens;
    int64_t refill_ms;
    int64_t last_chat_ms;       /* for slow mode */
    bool muted;
} sc_iuser;

typedef struct sc_iroom {
    sc_app *app;
    char name[SC_ROOM_NAME_MAX + 1];
    int64_t first_join_ms;
    int64_t live_ms;            /* first publisher seen live, 0 until then */

    json_t *user_index;         /* user_id -> index into users */
    sc_iuser *users;
    size_t n_users, cap_users;

    json_t *history;            /* last SC_INTERACT_HISTORY chat messages */
    json_t *outbox;             /* chat/danmaku/likes waiting for the tick */
    int64_t likes_total;
    int64_t likes_pending;

    bool chat_off, preapprove;
    int slow_s;
    sc_wordfilter *words;       /* the room's own list */
    json_t *review;             /* held items, oldest first */
    int64_t next_review;

    json_t *announcement;       /* NULL when none */
    json_t *questions;          /* "id" -> question (with private "voters") */
    json_t *polls;              /* "id" -> poll (with private "ballots") */
    json_t *checkin;            /* the current or last check-in, or NULL */
    json_t *winners;            /* user_id -> true, every lottery so far */
} sc_iroom;

/* The configured limits (the SC_INTERACT_* default when unset). */
int sc__lim_chat_rate(const sc_iroom *r);
int sc__lim_action_rate(const sc_iroom *r);
int sc__lim_history(const sc_iroom *r);
/* The room's state (created on first use, loading what SQLite keeps). */
sc_iroom *sc__iroom_get(sc_app *app, const char *room);
sc_iroom *sc__iroom_of(sc_ws_client *c);
sc_iuser *sc__iuser(sc_iroom *r, const char *user_id);
int64_t sc__media_ms(sc_iroom *r, int64_t now);
bool sc__is_moderator(const sc_ws_client *c);
/* {"user_id","name","role"} with the name through the word filters. */
json_t *sc__from(sc_iroom *r, const sc_token *t);
/* Validate msg[field] as text of 1..max characters and return a malloc'd
 * copy with sensitive words masked; on error sends it (bad-request or
 * too-large) and returns NULL.  *absent is set when the field is missing
 * and optional (then NULL is returned without an error). */
char *sc__text_arg(sc_ws_client *c, json_t *id, json_t *msg, const char *field, size_t max,
                   bool optional, bool *absent);
char *sc__filter(sc_iroom *r, const char *text);
/* An integer id argument (number or numeric string); -1 and an error sent
 * if missing or malformed. */
int64_t sc__id_arg(sc_ws_client *c, json_t *id, json_t *msg, const char *field);
/* The per-user token buckets: chat=true for messages with text. */
bool sc__rate_ok(sc_iroom *r, sc_iuser *u, bool chat, int64_t now);
/* Store msg (borrowed) as an interaction of kind; returns its row id or
 * -EIO.  ts/media_ms are taken from msg when present. */
int64_t sc__record(sc_iroom *r, const char *kind, const sc_token *t, json_t *msg);
void sc__to_moderators(sc_iroom *r, json_t *msg);
/* Call fn for each joined client of r with user id uid. */
void sc__foreach_user(sc_iroom *r, const char *uid, void (*fn)(void *ud, sc_ws_client *c),
                      void *ud);
/* Queue a message (stolen) for the next batch. */
void sc__outbox_add(sc_iroom *r, json_t *msg);

/* chat.c */
void sc__cmd_chat(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_danmaku(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_like(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_chat_history(sc_ws_client *c, json_t *msg, json_t *id);
/* Checks chat_off, mute, slow mode and the rate limit for a text message;
 * sends the error and returns false when refused. */
bool sc__may_post(sc_ws_client *c, sc_iroom *r, json_t *id);
/* Show an approved chat/danmaku message (stores it, gives it its id). */
int64_t sc__chat_publish(sc_iroom *r, const char *kind, json_t *m, const char *uid,
                      const char *name);
/* The chat history and the likes total, from SQLite. */
void sc__chat_load(sc_iroom *r);

/* qa.c */
void sc__cmd_question_ask(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_question_vote(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_question_answer(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_question_list(sc_ws_client *c, json_t *msg, json_t *id);
int64_t sc__qa_publish(sc_iroom *r, json_t *q, const char *uid, const char *name);
/* The room's questions, their votes and answers, from SQLite. */
void sc__qa_load(sc_iroom *r);

/* poll.c */
void sc__cmd_poll_create(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_poll_open(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_poll_close(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_poll_vote(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_poll_list(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_quiz_scores(sc_ws_client *c, json_t *msg, json_t *id);
void sc__poll_tick(sc_iroom *r);
void sc__poll_on_join(sc_iroom *r, sc_ws_client *c);
/* Users who answered quiz `poll` correctly (poll <= 0: any closed quiz):
 * adds user_id -> name to out. */
int sc__quiz_correct_users(sc_iroom *r, int64_t poll, json_t *out);
/* Every poll of the room, its state and ballots, from SQLite. */
void sc__poll_load(sc_iroom *r);

/* lottery.c */
void sc__cmd_lottery_draw(sc_ws_client *c, json_t *msg, json_t *id);
/* Uniform integer in [0, n) from OpenSSL's CSPRNG; -1 on failure. */
int64_t sc__random_below(uint64_t n);
/* The users every draw so far has picked, from SQLite. */
void sc__lottery_load(sc_iroom *r);

/* checkin.c (check-in and announcements) */
void sc__cmd_checkin_open(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_checkin_close(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_checkin(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_checkin_list(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_announce(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_announce_clear(sc_ws_client *c, json_t *msg, json_t *id);
void sc__checkin_tick(sc_iroom *r, int64_t now);
json_t *sc__checkin_public(const json_t *ck);
/* The last check-in and its entries, from SQLite; closed as of its end
 * if that passed while the server was down. */
void sc__checkin_load(sc_iroom *r);

/* moderation.c */
void sc__cmd_mute(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_kick(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_ban(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_unban(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_room_settings(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_words_set(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_words_get(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_review_list(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_review(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_audience(sc_ws_client *c, json_t *msg, json_t *id);
void sc__cmd_bans(sc_ws_client *c, json_t *msg, json_t *id);
/* Is uid muted in r (without creating its entry)? */
bool sc__is_muted(const sc_iroom *r, const char *uid);
/* Hold a message for review (kind "chat", "danmaku" or "question"). */
void sc__review_hold(sc_iroom *r, sc_ws_client *c, json_t *id, const char *kind, json_t *m);
json_t *sc__settings_json(const sc_iroom *r);
/* Settings, the room's words, the announcement and the mutes, from SQLite. */
void sc__moderation_load(sc_iroom *r);

#endif
