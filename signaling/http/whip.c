#include "signaling/http/whip.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "recorder/recorder.h"
#include "sfu/sfu.h"
#include "signaling/events/events.h"
#include "signaling/api/bus.h"
#include "signaling/http/ws.h"
#include "signaling/room/groups.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"
#include "signaling/turn/turn.h"

const char *sc_session_kind_name(sc_session_kind kind)
{
    return kind == SC_SESSION_PUBLISH ? "publish" : "subscribe";
}

/* The room's allowances of one user and of one address (0: no limit):
 * 429 with the code and message filled, or 0. */
static int over_allowance(sc_app *app, const sc_token *tok, const char *room, const char *peer,
                          const char **code, char *msg, size_t msglen)
{
    const sc_config *cfg = app->cfg;

    if (cfg->max_sessions_per_user && tok->sub[0] &&
        sc_rooms_user_sessions(app->rooms, room, tok->sub) >=
            (size_t)cfg->max_sessions_per_user) {
        app->stats.sessions_refused_user++;
        *code = "too-many-sessions";
        snprintf(msg, msglen, "this user holds %d media sessions in room %s already: end one first",
                 cfg->max_sessions_per_user, room);
        return 429;
    }
    if (cfg->max_sessions_per_ip && peer[0] &&
        sc_rooms_peer_sessions(app->rooms, room, peer) >= (size_t)cfg->max_sessions_per_ip) {
        app->stats.sessions_refused_ip++;
        *code = "too-many-sessions";
        snprintf(msg, msglen, "this address holds %d media sessions in room %s already",
                 cfg->max_sessions_per_ip, room);
        return 429;
    }
    return 0;
}

int sc_session_open(sc_app *app, const sc_token *tok, const char *room, const char *media_room,
                    const char *peer, sc_session_kind kind, const char *offer, size_t offer_len,
                    sc_ws_client *owner, char **answer, uint64_t *id, const char **code,
                    char *msg, size_t msglen)
{
    if (!media_room)
        media_room = room;
    bool group = strchr(media_room, '~') != NULL;
    sc_session_params p = {
        .room = media_room,
        .name = tok->name[0] ? tok->name : NULL,
        .user_id = tok->sub[0] ? tok->sub : NULL,
        .kind = kind,
        /* a breakout group records when its class does */
        .record = kind == SC_SESSION_PUBLISH && sc_room_recording(app, room),
        .max_publishers = group ? SC_GROUP_MAX_PUBLISHERS : 0,
    };
    sc_session_entry e;
    char err[256] = "";
    uint64_t opened_us = sc_mono_us();
    int r;

    *answer = NULL;
    if (app->draining) {
        *code = "draining";
        snprintf(msg, msglen, "the server is shutting down: try again in %d s (or another server)",
                 sc_app_drain_retry_after(app));
        return 503;
    }
    if (!app->sfu) {
        *code = "internal";
        snprintf(msg, msglen, "media plane is shutting down");
        return 500;
    }
    if (offer_len == 0) {
        *code = "bad-sdp";
        snprintf(msg, msglen, "empty SDP offer");
        return 400;
    }
    if ((r = over_allowance(app, tok, room, peer, code, msg, msglen)))
        return r;
    r = sc_sfu_create_session(app->sfu, &p, offer, offer_len, answer, id, err, sizeof(err));
    switch (r) {
    case 0:
        break;
    case -EINVAL:
        *code = "bad-sdp";
        snprintf(msg, msglen, "%s", err[0] ? err : "malformed SDP offer");
        return 400;
    case -ENOTSUP:
        *code = "unsupported";
        snprintf(msg, msglen, "%s",
                 err[0] ? err : "nothing acceptable in the offer (needs Opus/VP8 and DTLS)");
        return 406;
    case -ENOSPC:
        *code = "room-full";
        snprintf(msg, msglen, "room %s has no free %s", media_room,
                 kind == SC_SESSION_PUBLISH ? "stage slot" : "viewer place");
        return 409;
    case -EBUSY:
        *code = "overloaded";
        snprintf(msg, msglen, "%s", err);
        return 503;
    default:
        *code = "internal";
        snprintf(msg, msglen, "cannot create session (%s)", strerror(-r));
        return 500;
    }

    memset(&e, 0, sizeof(e));
    e.id = *id;
    snprintf(e.room, sizeof(e.room), "%s", room);
    snprintf(e.sub, sizeof(e.sub), "%s", tok->sub);
    snprintf(e.name, sizeof(e.name), "%s", tok->name);
    snprintf(e.peer, sizeof(e.peer), "%s", peer);
    e.kind = kind;
    e.http = owner == NULL;
    e.owner = owner;
    e.tok = *tok;
    e.opened_us = opened_us;
    if (sc_rooms_add_session(app->rooms, &e) < 0) {
        /* Without an entry nobody could close it: end it now. */
        sc_sfu_close_session(app->sfu, *id);
        free(*answer);
        *answer = NULL;
        *code = "internal";
        snprintf(msg, msglen, "out of memory");
        return 500;
    }
    sc_store_session_started(app->store, *id, room, sc_session_kind_name(kind), tok->name,
                             tok->sub, sc_wall_ms());
    sc_bus_publish(app->bus, &(sc_bus_event){.topic = SC_BUS_SESSION_OPENED, .room = room,
                                             .session_id = *id, .kind = (int)kind, .slot = -1,
                                             .name = tok->name, .user_id = tok->sub});
    return 0;
}

int sc_session_close(sc_app *app, uint64_t id)
{
    return sc_session_close_because(app, id, "closed");
}

int sc_session_close_because(sc_app *app, uint64_t id, const char *reason)
{
    sc_session_entry *e = sc_rooms_find_session(app->rooms, id);
    int r;

    if (!e || !app->sfu)
        return -ENOENT;
    if (e->closing)
        return -ENOENT; /* already ending: the resource is gone */
    r = sc_sfu_close_session_because(app->sfu, id, reason);
    if (r == -ENOENT) {
        /* The media plane already forgot it (its CLOSED event is queued or
         * was lost); do not leave a ghost behind. */
        sc_session_closed(app, id, reason);
        return 0;
    }
    sc_rooms_session_closing(app->rooms, e);
    return r;
}

void sc_session_closed(sc_app *app, uint64_t id, const char *reason)
{
    sc_session_entry *e = sc_rooms_find_session(app->rooms, id);
    if (!e)
        return;
    /* While the entry still names its owner and room. */
    sc_bus_publish(app->bus, &(sc_bus_event){.topic = SC_BUS_SESSION_CLOSED, .room = e->room,
                                             .session_id = id, .kind = (int)e->kind, .slot = -1,
                                             .name = e->name, .user_id = e->sub,
                                             .reason = reason ? reason : "closed"});
    sc_ws_dc_closed(app, e); /* its data channel's client goes with it */
    sc_store_session_ended(app->store, id, sc_wall_ms(), reason ? reason : "closed");
    sc_rooms_remove_session(app->rooms, id);
}

static bool media_type_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ctype, want, n) != 0)
        return false;
    ctype += n;
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    return *ctype == '\0' || *ctype == ';';
}

static const char *base_path(sc_session_kind kind)
{
    return kind == SC_SESSION_PUBLISH ? "whip" : "whep";
}

void sc_whip_post(sc_app *app, const sc_http_req *req, sc_session_kind kind,
                  const char *room, sc_http_reply *rep)
{
    uint32_t perm = kind == SC_SESSION_PUBLISH ? SC_PERM_PUBLISH : SC_PERM_SUBSCRIBE;
    const char *code = "internal";
    char msg[300], hex[17];
    char *answer = NULL;
    uint64_t id = 0;
    sc_token tok;
    int status;

    rep->action = kind == SC_SESSION_PUBLISH ? "creating a WHIP publish session"
                                             : "creating a WHEP viewer session";
    if (!media_type_is(req->content_type, "application/sdp")) {
        sc_http_error(rep, 415, "unsupported-media-type",
                      "the body must be application/sdp");
        return;
    }
    if (sc_http_auth(app, req, room, perm, &tok, rep))
        return;
    status = sc_session_open(app, &tok, room, NULL, req->peer, kind, req->body, req->body_len, NULL,
                             &answer, &id, &code, msg, sizeof(msg));
    if (status) {
        sc_http_error(rep, status, code, "%s", msg);
        if (app->draining && status == 503)
            rep->retry_after = sc_app_drain_retry_after(app);
        return;
    }
    sc_session_id_format(id, hex);
    rep->session = id;
    if (sc_http_body(rep, 201, "application/sdp", answer, strlen(answer)) < 0) {
        free(answer);
        sc_session_close(app, id);
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    free(answer);
    snprintf(rep->location, sizeof(rep->location), "/%s/%s/%s", base_path(kind), room, hex);
    snprintf(rep->etag, sizeof(rep->etag), "\"%s\"", hex);
    /* The client authenticated above: its TURN servers and credentials
     * (RFC 9725 section 4.6). */
    if (app->turn)
        rep->link = sc_turn_link_headers(app->turn, tok.sub, (int64_t)time(NULL));
    SC_INFO_CTX("http", room, id, "%s %s session %s for user %s", req->peer,
                sc_session_kind_name(kind), hex, tok.sub);
}

/* The session named by the URL, if the request's token may act on it. */
static sc_session_entry *authorised_session(sc_app *app, const sc_http_req *req,
                                            sc_session_kind kind, const char *room,
                                            const char *session_hex, sc_http_reply *rep)
{
    sc_session_entry *e;
    uint64_t id;
    sc_token tok;

    if (sc_session_id_parse(session_hex, strlen(session_hex), &id) < 0) {
        sc_http_error(rep, 404, "not-found", "no such session");
        return NULL;
    }
    /* Authenticate before saying whether the session exists. */
    if (sc_http_auth(app, req, room, 0, &tok, rep))
        return NULL;
    e = sc_rooms_find_session(app->rooms, id);
    if (!e || e->kind != kind || strcmp(e->room, room) != 0) {
        sc_http_error(rep, 404, "not-found", "no such session");
        return NULL;
    }
    if (!(tok.perms & SC_PERM_ADMIN) && (!tok.sub[0] || strcmp(tok.sub, e->sub) != 0)) {
        sc_http_error(rep, 403, "forbidden", "this session belongs to another user");
        return NULL;
    }
    rep->session = e->id;
    return e;
}

void sc_whip_patch(sc_app *app, const sc_http_req *req, sc_session_kind kind,
                   const char *room, const char *session_hex, sc_http_reply *rep)
{
    sc_session_entry *e;
    char err[256] = "";
    char *frag = NULL;
    int r;

    rep->action = "patching a session (trickle ICE / ICE restart)";
    if (!media_type_is(req->content_type, "application/trickle-ice-sdpfrag")) {
        sc_http_error(rep, 415, "unsupported-media-type",
                      "the body must be application/trickle-ice-sdpfrag");
        return;
    }
    e = authorised_session(app, req, kind, room, session_hex, rep);
    if (!e)
        return;
    if (!app->sfu) {
        sc_http_error(rep, 500, "internal", "media plane is shutting down");
        return;
    }
    /* An SDP fragment is text lines: bytes below 0x20 other than CR, LF and
     * tab (a NUL above all) mean this is not one. */
    for (size_t i = 0; i < req->body_len; i++) {
        unsigned char ch = (unsigned char)req->body[i];
        if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f) {
            sc_http_error(rep, 400, "bad-sdp", "the body is not text (byte 0x%02x at %zu)", ch,
                          i);
            return;
        }
    }
    r = sc_sfu_patch_session(app->sfu, e->id, req->body ? req->body : "", req->body_len, &frag,
                             err, sizeof(err));
    if (r == -ENOENT) {
        sc_http_error(rep, 404, "not-found", "no such session");
    } else if (r == -EINVAL) {
        sc_http_error(rep, 400, "bad-sdp", "%s", err[0] ? err : "malformed SDP fragment");
    } else if (r == -ENOTSUP) {
        /* e.g. an ICE restart the media plane cannot do */
        sc_http_error(rep, 406, "unsupported", "%s", err[0] ? err : "not supported");
    } else if (r < 0) {
        sc_http_error(rep, 500, "internal", "cannot patch session (%s)", strerror(-r));
    } else if (frag) {
        if (sc_http_body(rep, 200, "application/trickle-ice-sdpfrag", frag, strlen(frag)) < 0)
            sc_http_error(rep, 500, "internal", "out of memory");
        else
            snprintf(rep->etag, sizeof(rep->etag), "\"%s-%" PRIx64 "\"", session_hex,
                     (uint64_t)sc_wall_ms());
        free(frag);
    } else {
        rep->status = 204;
    }
}

void sc_whip_delete(sc_app *app, const sc_http_req *req, sc_session_kind kind,
                    const char *room, const char *session_hex, sc_http_reply *rep)
{
    sc_session_entry *e;

    rep->action = "ending a session";
    e = authorised_session(app, req, kind, room, session_hex, rep);
    if (!e)
        return;
    if (sc_session_close(app, e->id) < 0) {
        sc_http_error(rep, 404, "not-found", "no such session");
        return;
    }
    rep->status = 200;
}

bool sc_room_recording(sc_app *app, const char *room)
{
    if (!app->recorder || sc_events_recording_forbidden(app, room))
        return false;
    char *v = sc_store_setting_get(app->store, room, "record");
    bool on = v ? strcmp(v, "on") == 0 : app->cfg->record_by_default != 0;
    free(v);
    return on;
}

int sc_room_set_recording(sc_app *app, const char *room, bool on)
{
    if (!app->recorder)
        return -ENOTSUP;
    if (on && sc_events_recording_forbidden(app, room))
        return -EPERM;
    int r = sc_store_setting_set(app->store, room, "record", on ? "on" : "off");
    if (r < 0)
        return r;
    if (app->sfu)
        sc_sfu_set_recording(app->sfu, room, on);
    if (!on)
        sc_recorder_stop_room(app->recorder, room);
    sc_groups_set_recording(app, room, on); /* its breakout groups follow */
    return 0;
}

/* /whip/{room} and /whep/{room}, and their sessions: route->data is the
 * session kind. */
static void whip_route(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                       char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    sc_session_kind kind = (sc_session_kind)route->data;
    const char *room = args[0];

    if (!sc_rooms_name_ok(room)) {
        rep->action = "routing a WHIP/WHEP request";
        sc_http_error(rep, 400, "bad-room", "room names are 1..64 of [A-Za-z0-9_-]");
        return;
    }
    if (route->nargs == 1)
        sc_whip_post(app, req, kind, room, rep);
    else if (req->method == SC_HTTP_PATCH)
        sc_whip_patch(app, req, kind, room, args[1], rep);
    else
        sc_whip_delete(app, req, kind, room, args[1], rep);
}

const sc_http_route sc_whip_routes[] = {
    {"/whip", 1, SC_HTTP_POST, "WHIP", whip_route, SC_SESSION_PUBLISH},
    {"/whip", 2, SC_HTTP_PATCH | SC_HTTP_DELETE, "WHIP session", whip_route, SC_SESSION_PUBLISH},
    {"/whep", 1, SC_HTTP_POST, "WHEP", whip_route, SC_SESSION_SUBSCRIBE},
    {"/whep", 2, SC_HTTP_PATCH | SC_HTTP_DELETE, "WHEP session", whip_route,
     SC_SESSION_SUBSCRIBE},
};
const size_t sc_whip_n_routes = sizeof(sc_whip_routes) / sizeof(sc_whip_routes[0]);
