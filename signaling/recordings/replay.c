#include "signaling/recordings/replay.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/sfu.h"
#include "signaling/auth/token.h"
#include "signaling/http/ws.h"
#include "signaling/interact/interact.h"
#include "signaling/recordings/catalog.h"
#include "signaling/store/store.h"

/* ---- the replay timeline -------------------------------------------------------- */

/* The kinds a replay shows (votes, likes, check-ins, moderation and held
 * messages are not part of what the audience saw as a story). */
static bool timeline_kind(const char *kind)
{
    static const char *const kinds[] = {"chat", "danmaku", "question", "answer", "poll",
                                        "poll_open", "poll_close", "lottery", "announcement",
                                        "chapter"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

typedef struct timeline {
    int64_t start_ms;
    json_t *items, *chapters;
} timeline;

static void timeline_row(void *ud, const sc_store_interaction *row)
{
    timeline *t = ud;
    json_t *data, *item;
    const char *key;
    void *tmp;

    if (!row->kind || !timeline_kind(row->kind))
        return;
    data = row->data ? json_loads(row->data, 0, NULL) : NULL;
    if (!json_is_object(data)) {
        json_decref(data);
        return;
    }
    /* Private fields (voters, the asker of an anonymous question) start
     * with '_' in the stored message; the room never saw them. */
    json_object_foreach_safe(data, tmp, key, item) {
        if (key[0] == '_')
            json_object_del(data, key);
    }
    item = json_pack("{s:I,s:s,s:I,s:I,s:o}", "id", (json_int_t)row->id, "kind", row->kind,
                     "t_ms", (json_int_t)(row->ts_ms - t->start_ms), "ts",
                     (json_int_t)row->ts_ms, "data", data);
    if (!item)
        return;
    if (strcmp(row->kind, "chapter") == 0)
        json_array_append_new(t->chapters,
                              json_pack("{s:I,s:O,s:I}", "id", (json_int_t)row->id, "title",
                                        json_object_get(data, "title"), "t_ms",
                                        (json_int_t)(row->ts_ms - t->start_ms)));
    json_array_append_new(t->items, item);
}

typedef struct pick {
    bool found;
    sc_store_recording row;
} pick;

static void pick_row(void *ud, const sc_store_recording *r)
{
    pick *p = ud;
    if (!p->found) {
        p->found = true;
        p->row = *r;
    }
}

/* GET /api/recordings/{id}/timeline: admins, and the room's tokens once the
 * recording is published (as for its media). */
typedef struct group_pick {
    json_t *by_room;             /* room -> the recording shown for it */
    bool composites;
    bool admin;
} group_pick;

static void group_row(void *ud, const sc_store_recording *row)
{
    group_pick *g = ud;
    json_t *have = json_object_get(g->by_room, row->room);
    if (!g->admin && !row->published)
        return;
    /* one per group: its composite, else its first track */
    if (have && (g->composites || json_integer_value(json_object_get(have, "started_at")) <=
                                      row->started_at_ms))
        return;
    json_object_set_new(g->by_room, row->room, sc__catalog_recording_json(row));
}

/* The breakout groups' recordings made while the class's recording ran
 * ([from, to]): a composite per group when there is one, else a track;
 * oldest room first. */
static json_t *group_recordings(sc_app *app, const sc_store_recording *r, int64_t from,
                                int64_t to, const sc_token *tok)
{
    group_pick g = {.by_room = json_object(), .admin = (tok->perms & SC_PERM_ADMIN) != 0};
    sc_store_recording_filter f = {.groups_of = r->room, .from_ms = from, .to_ms = to,
                                   .kind = "composite"};
    json_t *out = json_array();
    const char *room;
    json_t *v;
    if (strchr(r->room, '~')) /* a group has no groups */
        goto done;
    g.composites = true;
    sc_store_recordings_query(app->store, &f, group_row, &g);
    f.kind = "track";
    g.composites = false;
    sc_store_recordings_query(app->store, &f, group_row, &g);
    json_object_foreach(g.by_room, room, v)
        json_array_append_new(out, json_pack("{s:s,s:s,s:O}", "room", room, "group",
                                             strchr(room, '~') + 1, "recording", v));
done:
    json_decref(g.by_room);
    return out;
}

void sc__replay_api_timeline(sc_app *app, const sc_http_req *req, const char *id,
                             sc_http_reply *rep)
{
    sc_store_recording r, play;
    sc_token tok;
    timeline t;
    int64_t end;

    rep->action = "reading a recording's timeline";
    if (sc__catalog_reader_auth(app, req, id, &r, &tok, rep))
        return;
    /* What to play: the session's composite once it is ready (and the
     * caller may see it), else this file.  Times are relative to it. */
    play = r;
    if (strcmp(r.kind, "track") == 0 && r.session[0]) {
        sc_store_recording_filter f = {.kind = "composite", .session = r.session,
                                       .status = "ready"};
        pick p;
        memset(&p, 0, sizeof(p));
        if (sc_store_recordings_query(app->store, &f, pick_row, &p) > 0 &&
            (p.row.published || (tok.perms & SC_PERM_ADMIN)))
            play = p.row;
    }
    /* A file still being written reaches up to now. */
    end = strcmp(play.status, "recording") == 0 ? sc_wall_ms()
                                                : play.started_at_ms + play.duration_ms;
    t.start_ms = play.started_at_ms;
    t.items = json_array();
    t.chapters = json_array();
    if (!t.items || !t.chapters ||
        sc_store_interactions_between(app->store, r.room, r.started_at_ms, end, timeline_row,
                                      &t) < 0) {
        json_decref(t.items);
        json_decref(t.chapters);
        sc_http_error(rep, 500, "internal", "cannot read the interactions");
        return;
    }
    sc_http_json(rep, 200,
                 json_pack("{s:s,s:s,s:o,s:o,s:o,s:o}", "recording", r.id, "room", r.room, "play",
                           sc__catalog_recording_json(&play), "items", t.items, "chapters",
                           t.chapters, "groups",
                           group_recordings(app, &r, play.started_at_ms, end, &tok)));
}

/* ---- chapters (WebSocket) ----------------------------------------------------------- */

/* {"type":"chapter","title":"..."}: the host marks a chapter while the
 * room is live; it is stored as an interaction (so the replay's timeline
 * and chapter menu find it by time) and shown to the room. */
static void cmd_chapter(sc_ws_client *c, json_t *msg, json_t *id)
{
    sc_iroom *r = sc__iroom_of(c);
    sc_app *app = sc_ws_client_app(c);
    sc_sfu_publisher_info pub;
    int n = 0, viewers = 0;
    int64_t now, rowid;
    char *title;
    json_t *m;

    if (!r) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    if (!app->sfu || sc_sfu_room_info(app->sfu, r->name, &pub, 1, &n, &viewers) < 0 || n == 0) {
        sc_ws_error(c, id, "not-live", "chapters are marked while the room is live");
        return;
    }
    title = sc__text_arg(c, id, msg, "title", SC_CATALOG_CHAPTER_MAX, false, NULL);
    if (!title)
        return;
    now = sc_wall_ms();
    m = json_pack("{s:s,s:s,s:o,s:I,s:I}", "type", "chapter", "title", title, "by",
                  sc__from(r, sc_ws_client_token(c)), "ts", (json_int_t)now, "media_ms",
                  (json_int_t)sc__media_ms(r, now));
    free(title);
    if (!m) {
        sc_ws_error(c, id, "internal", "out of memory");
        return;
    }
    rowid = sc__record(r, "chapter", sc_ws_client_token(c), m);
    if (rowid <= 0) {
        json_decref(m);
        sc_ws_error(c, id, "internal", "cannot store the chapter");
        return;
    }
    json_object_set_new(m, "id", json_integer((json_int_t)rowid));
    sc_ws_reply(c, id, json_pack("{s:s,s:I}", "type", "ok", "chapter", (json_int_t)rowid));
    sc_ws_broadcast(app, r->name, m);
}

const sc_command sc_catalog_commands[] = {
    {"chapter", cmd_chapter, SC_PERM_MODERATE, true, "marking a chapter", NULL},
};
const size_t sc_catalog_n_commands = sizeof(sc_catalog_commands) / sizeof(sc_catalog_commands[0]);

/* ---- the active speaker, for the composite's layout -------------------------------- */

typedef struct speaker_acc {
    sc_composite_speaker *v;
    int n;
} speaker_acc;

static void speaker_row(void *ud, int64_t ts_ms, int slot)
{
    speaker_acc *a = ud;
    /* A repeat (the same speaker announced again) changes nothing. */
    if (a->n > 0 && a->v[a->n - 1].slot == slot)
        return;
    a->v[a->n].unix_ms = ts_ms;
    a->v[a->n].slot = slot;
    a->n++;
}

int sc__replay_speakers(sc_store *st, const char *room, int64_t from_ms, int64_t to_ms,
                        sc_composite_speaker **out)
{
    speaker_acc a = {NULL, 0};
    int n;

    *out = NULL;
    a.v = malloc(sizeof(*a.v) * SC_REPLAY_SPEAKERS_MAX);
    if (!a.v)
        return -ENOMEM;
    n = sc_store_speakers_between(st, room, from_ms, to_ms, SC_REPLAY_SPEAKERS_MAX, speaker_row,
                                  &a);
    if (n < 0 || a.n == 0) {
        free(a.v);
        return n < 0 ? n : 0;
    }
    *out = a.v;
    return a.n;
}

int sc__replay_speaker_note(sc__speaker_note **list, sc_store *st, const char *room, int slot,
                            int64_t ts_ms, bool recording)
{
    sc__speaker_note **pp = list, *n;

    while (*pp && strcmp((*pp)->room, room) != 0)
        pp = &(*pp)->next;
    n = *pp;
    if (slot < 0 && n) {
        /* Nobody speaks: the note goes (the list holds talking rooms only). */
        *pp = n->next;
        free(n);
    } else if (slot >= 0) {
        if (!n) {
            n = calloc(1, sizeof(*n));
            if (!n)
                return -ENOMEM;
            snprintf(n->room, sizeof(n->room), "%s", room);
            n->next = *list;
            *list = n;
        }
        n->slot = slot;
        n->ts_ms = ts_ms;
    }
    if (recording && sc_store_speaker_add(st, room, slot, ts_ms) < 0)
        return -EIO;
    return 0;
}

void sc__replay_session_began(const sc__speaker_note *list, sc_store *st, const char *room)
{
    for (const sc__speaker_note *n = list; n; n = n->next)
        if (strcmp(n->room, room) == 0) {
            sc_store_speaker_add(st, room, n->slot, n->ts_ms);
            return;
        }
}

void sc__replay_notes_free(sc__speaker_note **list)
{
    while (*list) {
        sc__speaker_note *n = *list;
        *list = n->next;
        free(n);
    }
}

/* ---- the composite's share of the quota ------------------------------------------- */

int64_t sc__replay_quota(sc_app *app)
{
    if (!app || !app->cfg)
        return 0;
    return (int64_t)app->cfg->recordings_quota_mib << 20;
}

int64_t sc__replay_usage(sc_app *app)
{
    int64_t comp;
    uint64_t slots = 0;

    if (!app)
        return 0;
    comp = sc_store_recordings_bytes(app->store, "composite", "ready");
    if (comp < 0)
        return comp;
    if (app->recorder) {
        sc_recorder_stats rs;
        sc_recorder_stats_get(app->recorder, &rs);
        slots = rs.bytes_used;
    }
    return comp + (int64_t)slots;
}

int sc__replay_layout(sc_store *st, const char *room, const sc_store_recording *rows, int n,
                      sc_composite_speaker **out)
{
    int64_t start, end;
    bool several = false;
    int k;

    *out = NULL;
    if (n <= 0)
        return 0;
    start = end = rows[0].started_at_ms;
    for (int i = 0; i < n; i++) {
        if (rows[i].started_at_ms < start)
            start = rows[i].started_at_ms;
        if (rows[i].started_at_ms + rows[i].duration_ms > end)
            end = rows[i].started_at_ms + rows[i].duration_ms;
        if (rows[i].slot != rows[0].slot)
            several = true;
    }
    if (!several)
        return 0;
    k = sc__replay_speakers(st, room, start, end, out);
    /* Nobody heard, or the store failed: the grid still shows everyone. */
    return k > 0 ? k : 0;
}

bool sc__replay_over_quota(sc_app *app, int64_t adding, char *why, size_t cap)
{
    int64_t quota = sc__replay_quota(app), used;

    if (quota <= 0)
        return false;
    used = sc__replay_usage(app);
    /* Before the run (adding 0) the quota must have room left; after it,
     * the file must fit. */
    if (used < 0 || (adding == 0 ? used < quota : used + adding <= quota))
        return false;
    snprintf(why, cap, "quota: the recordings quota is used up (%lld of %lld bytes)",
             (long long)(used + adding), (long long)quota);
    return true;
}
