/* The recordings' HTTP API (GET /api/recordings[/{id}], publish, delete,
 * stats, signed media URLs) and their media with range support.  Split
 * from catalog.c, which keeps the catalog itself: reports from the
 * recorder, room sessions and their composites, the start-up scan. */
#include "signaling/recordings/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "signaling/auth/token.h"
#include "signaling/auth/urlsig.h"
#include "signaling/http/ws.h"
#include "signaling/interact/interact.h"
#include "signaling/recordings/replay.h"
#include "signaling/room/rooms.h"
#include "signaling/store/store.h"

bool sc__catalog_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n != 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

json_t *sc__catalog_recording_json(const sc_store_recording *r)
{
    char url[96];
    json_t *o, *tracks = r->tracks[0] ? json_loads(r->tracks, 0, NULL) : NULL;

    snprintf(url, sizeof(url), "/media/recordings/%s.webm", r->id);
    o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:s,s:I,s:b,s:s,s:o,s:o,s:o}", "id", r->id, "room",
                  r->room, "title", r->title, "status", r->status, "started_at",
                  (json_int_t)r->started_at_ms, "duration_s", (double)r->duration_ms / 1000.0,
                  "media_url", url, "bytes", (json_int_t)r->bytes, "published", r->published,
                  "kind", r->kind[0] ? r->kind : "track", "session",
                  r->session[0] ? json_string(r->session) : json_null(), "reason",
                  r->reason[0] ? json_string(r->reason) : json_null(), "tracks",
                  json_is_array(tracks) ? json_incref(tracks) : json_array());
    json_decref(tracks);
    if (o && r->slot >= 0)
        json_object_set_new(o, "slot", json_integer(r->slot));
    if (o && r->layout[0])
        json_object_set_new(o, "layout", json_string(r->layout));
    return o;
}

static void list_row(void *ud, const sc_store_recording *r)
{
    json_array_append_new(ud, sc__catalog_recording_json(r));
}

static bool parse_ms(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

static void api_list(sc_app *app, const sc_http_req *req, sc_http_reply *rep)
{
    char room[SC_ROOM_NAME_MAX + 2], from_s[32], to_s[32], kind[16], status[16], session[40];
    /* Each filter: 1 given, 0 absent, <0 longer than any valid value (an
     * error, never ignored: that would answer with every recording). */
    const struct {
        const char *name;
        char *out;
        size_t cap;
    } filters[] = {
        {"room", room, sizeof(room)},       {"kind", kind, sizeof(kind)},
        {"status", status, sizeof(status)}, {"session", session, sizeof(session)},
        {"from", from_s, sizeof(from_s)},   {"to", to_s, sizeof(to_s)},
    };
    int got[sizeof(filters) / sizeof(filters[0])];
    int64_t from = INT64_MIN, to = INT64_MAX;
    sc_store_recording_filter f;
    json_t *arr;

    rep->action = "listing recordings";
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        got[i] = sc_http_query_arg(req->query, filters[i].name, filters[i].out,
                                       filters[i].cap);
        if (got[i] < 0) {
            sc_http_error(rep, 400, "bad-request", "the %s filter is too long to match anything",
                          filters[i].name);
            return;
        }
    }
    bool by_room = got[0] && room[0], by_kind = got[1] && kind[0];
    bool by_status = got[2] && status[0], by_session = got[3] && session[0];
    if (by_room && !sc_rooms_name_ok(room)) {
        sc_http_error(rep, 400, "bad-room", "room names are 1..64 of [A-Za-z0-9_-]");
        return;
    }
    if ((got[4] && !parse_ms(from_s, &from)) || (got[5] && !parse_ms(to_s, &to))) {
        sc_http_error(rep, 400, "bad-request", "from and to are Unix times in milliseconds");
        return;
    }
    if (by_kind && strcmp(kind, "track") != 0 && strcmp(kind, "composite") != 0) {
        sc_http_error(rep, 400, "bad-request", "kind is track or composite");
        return;
    }
    if (by_status && strcmp(status, "recording") != 0 && strcmp(status, "processing") != 0 &&
        strcmp(status, "ready") != 0 && strcmp(status, "failed") != 0) {
        sc_http_error(rep, 400, "bad-request", "status is recording, processing, ready or failed");
        return;
    }
    if (by_session && !sc__catalog_id_ok(session)) {
        sc_http_error(rep, 400, "bad-request", "session is 32 hex digits");
        return;
    }
    memset(&f, 0, sizeof(f));
    f.room = by_room ? room : NULL;
    f.from_ms = from;
    f.to_ms = to;
    f.kind = by_kind ? kind : NULL;
    f.status = by_status ? status : NULL;
    f.session = by_session ? session : NULL;
    arr = json_array();
    if (!arr || sc_store_recordings_query(app->store, &f, list_row, arr) < 0) {
        json_decref(arr);
        sc_http_error(rep, 500, "internal", "cannot read the catalog");
        return;
    }
    sc_http_json(rep, 200, json_pack("{s:o}", "recordings", arr));
}

int sc__catalog_admin_auth(sc_app *app, const sc_http_req *req, sc_http_reply *rep)
{
    return sc_http_admin_auth(app, req, "recordings", rep);
}

/* A token in the query string would be kept by proxy logs, browser history
 * and every copy of the link: the routes that serve a recording refuse it
 * rather than ignore it, so a caller learns to change. */
static bool query_token_refused(const sc_http_req *req, sc_http_reply *rep)
{
    char v[2];

    if (sc_http_query_arg(req->query, "token", v, sizeof(v)) == 0)
        return false;
    sc_http_error(rep, 401, "token-in-url",
                  "tokens are not accepted in the URL: send the token in the Authorization "
                  "header, and give <video> or a download link a signed URL (POST "
                  "/api/recordings/{id}/media-url)");
    return true;
}

int sc__catalog_reader_auth(sc_app *app, const sc_http_req *req, const char *id,
                            sc_store_recording *r, sc_token *tok, sc_http_reply *rep)
{
    int e;

    if (query_token_refused(req, rep))
        return rep->status;
    e = sc__catalog_id_ok(id) ? sc_store_recording_get(app->store, id, r) : -ENOENT;
    if (e < 0) {
        /* Say "not found" only to admins; others learn nothing. */
        if (!sc__catalog_admin_auth(app, req, rep))
            sc_http_error(rep, e == -ENOENT ? 404 : 500, e == -ENOENT ? "not-found" : "internal",
                          "no such recording");
        return rep->status;
    }
    if (r->published)
        return sc_http_auth(app, req, r->room, SC_PERM_SUBSCRIBE, tok, rep);
    if (sc_http_auth(app, req, r->room, SC_PERM_ADMIN, tok, rep)) {
        if (rep->status == 403)
            sc_http_error(rep, 403, "forbidden", "this recording is not published");
        return rep->status;
    }
    return 0;
}

/* ---- signed media URLs ------------------------------------------------------------ */

/* What a signed URL grants: one recording, one purpose, and a scope.  An
 * admin's URL serves the recording whatever its state ("any"); a room
 * token's only while it stays published ("published"), so unpublishing
 * takes effect at once, not when the URLs handed out expire. */
static const char *const media_purposes[] = {"play", "download"};
enum { MEDIA_PLAY, MEDIA_DOWNLOAD };

static int media_purpose(const char *s)
{
    for (size_t i = 0; i < sizeof(media_purposes) / sizeof(media_purposes[0]); i++)
        if (strcmp(s, media_purposes[i]) == 0)
            return (int)i;
    return -EINVAL;
}

static void media_what(char *out, size_t cap, const char *id, int purpose, bool any)
{
    snprintf(out, cap, "recording %s %s %s", id, media_purposes[purpose],
             any ? "any" : "published");
}

/* POST /api/recordings/{id}/media-url[?purpose=play|download]: whoever may
 * read the recording (sc__catalog_reader_auth) gets a URL of its media
 * valid for --media-url-ttl seconds. */
static void api_media_url(sc_app *app, const sc_http_req *req, const char *id,
                          sc_http_reply *rep)
{
    char purpose_s[16], what[SC_URLSIG_WHAT_MAX], sig[SC_URLSIG_LEN + 1], url[256];
    int purpose = MEDIA_PLAY, got;
    sc_store_recording r;
    sc_token tok;
    int64_t exp;
    bool any;

    rep->action = "signing a media URL";
    if (req->method != SC_HTTP_POST) {
        sc_http_error(rep, 405, "method-not-allowed", "a media URL is made with POST");
        snprintf(rep->allow, sizeof(rep->allow), "POST");
        return;
    }
    got = sc_http_query_arg(req->query, "purpose", purpose_s, sizeof(purpose_s));
    if (got < 0 || (got > 0 && (purpose = media_purpose(purpose_s)) < 0)) {
        sc_http_error(rep, 400, "bad-request", "purpose is play or download");
        return;
    }
    if (sc__catalog_reader_auth(app, req, id, &r, &tok, rep))
        return;
    any = (tok.perms & SC_PERM_ADMIN) != 0;
    exp = sc_wall_ms() / 1000 + app->cfg->media_url_ttl_s;
    media_what(what, sizeof(what), r.id, purpose, any);
    if (sc_urlsig_sign(app->secret, app->secret_len, what, exp, sig) < 0) {
        sc_http_error(rep, 500, "internal", "cannot sign the URL");
        return;
    }
    snprintf(url, sizeof(url), "/media/recordings/%s.webm?purpose=%s&scope=%s&exp=%" PRId64
             "&sig=%s", r.id, media_purposes[purpose], any ? "any" : "published", exp, sig);
    sc_http_json(rep, 200,
                 json_pack("{s:s,s:s,s:I,s:i}", "url", url, "purpose", media_purposes[purpose],
                           "exp", (json_int_t)exp, "ttl_s", app->cfg->media_url_ttl_s));
}

/* The media route given ?sig=: checks the signed URL for recording id and
 * reads its row.  0 with *purpose set, else the reply is filled. */
static int media_signed(sc_app *app, const sc_http_req *req, const char *id,
                        sc_store_recording *r, int *purpose, sc_http_reply *rep)
{
    char purpose_s[16], scope[16], exp[SC_URLSIG_EXP_MAX + 2], sig[SC_URLSIG_LEN + 2];
    char what[SC_URLSIG_WHAT_MAX];
    bool any;
    int e;

    if (sc_http_query_arg(req->query, "purpose", purpose_s, sizeof(purpose_s)) <= 0 ||
        (*purpose = media_purpose(purpose_s)) < 0 ||
        sc_http_query_arg(req->query, "scope", scope, sizeof(scope)) <= 0 ||
        (strcmp(scope, "any") != 0 && strcmp(scope, "published") != 0) ||
        sc_http_query_arg(req->query, "exp", exp, sizeof(exp)) <= 0 ||
        sc_http_query_arg(req->query, "sig", sig, sizeof(sig)) <= 0) {
        sc_http_error(rep, 401, "url-invalid",
                      "a signed URL has purpose, scope, exp and sig, as POST "
                      "/api/recordings/{id}/media-url returns it");
        return rep->status;
    }
    any = strcmp(scope, "any") == 0;
    media_what(what, sizeof(what), id, *purpose, any);
    e = sc_urlsig_verify(app->secret, app->secret_len, what, exp, sig, sc_wall_ms() / 1000,
                         NULL);
    if (e == -ETIMEDOUT) {
        sc_http_error(rep, 401, "url-expired",
                      "this signed URL has expired: ask POST /api/recordings/{id}/media-url "
                      "for a fresh one");
        return rep->status;
    }
    if (e == -EIO) {
        sc_http_error(rep, 500, "internal", "cannot check the signature");
        return rep->status;
    }
    if (e < 0) {
        sc_http_error(rep, 401, "url-invalid",
                      "this signed URL is not valid for this recording and purpose (altered, "
                      "or made for another)");
        return rep->status;
    }
    /* The signature shows its holder was allowed to know the recording. */
    e = sc_store_recording_get(app->store, id, r);
    if (e < 0) {
        sc_http_error(rep, e == -ENOENT ? 404 : 500, e == -ENOENT ? "not-found" : "internal",
                      "no such recording");
        return rep->status;
    }
    if (!any && !r->published) {
        sc_http_error(rep, 403, "forbidden", "this recording is not published");
        return rep->status;
    }
    return 0;
}

json_t *sc_catalog_stats_json(sc_app *app)
{
    sc_catalog_stats cs;
    json_t *o;

    sc_catalog_stats_get(app ? app->catalog : NULL, &cs);
    o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "composite_bytes",
                  (json_int_t)(app ? sc_store_recordings_bytes(app->store, "composite", "ready")
                                   : 0),
                  "failed_quota", (json_int_t)cs.failed_quota,
                  "failed_disk_full", (json_int_t)cs.failed_disk_full, "failed_disk_error",
                  (json_int_t)cs.failed_disk_error, "composites_ready",
                  (json_int_t)cs.composites_ready, "composites_failed",
                  (json_int_t)cs.composites_failed, "reports_dropped",
                  (json_int_t)cs.reports_dropped);
    if (o && app && app->recorder) {
        sc_recorder_stats rs;
        sc_recorder_stats_get(app->recorder, &rs);
        json_object_set_new(
            o, "recorder",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s}", "files_open",
                      (json_int_t)rs.files_open, "files_done", (json_int_t)rs.files_done,
                      "files_repaired", (json_int_t)rs.files_repaired, "bytes_written",
                      (json_int_t)rs.bytes_written, "bytes_used", (json_int_t)rs.bytes_used,
                      "drops_queue_full", (json_int_t)rs.drops_queue_full, "frames_dropped",
                      (json_int_t)rs.frames_dropped, "errors", (json_int_t)rs.errors,
                      "error", rs.error, "last_error", rs.last_error));
    }
    return o;
}

/* /api/recordings[/{id}[/{publish|unpublish|timeline|media-url}]], /api/recordings/stats */
static void api_recordings(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                           char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    int nargs = route->nargs;
    sc_store_recording r;
    int e;

    rep->action = "managing recordings";
    if (nargs == 2 && strcmp(args[1], "timeline") == 0) {
        if (req->method != SC_HTTP_GET) {
            sc_http_error(rep, 405, "method-not-allowed", "the timeline is read with GET");
            snprintf(rep->allow, sizeof(rep->allow), "GET");
            return;
        }
        sc__replay_api_timeline(app, req, args[0], rep);
        return;
    }
    if (nargs == 2 && strcmp(args[1], "media-url") == 0) {
        api_media_url(app, req, args[0], rep);
        return;
    }
    if (sc__catalog_admin_auth(app, req, rep))
        return;
    if (nargs == 0) {
        api_list(app, req, rep);
        return;
    }
    if (nargs == 1 && strcmp(args[0], "stats") == 0 && req->method == SC_HTTP_GET) {
        rep->action = "reading recording stats";
        sc_http_json(rep, 200, sc_catalog_stats_json(app));
        return;
    }
    if (!sc__catalog_id_ok(args[0]) || (e = sc_store_recording_get(app->store, args[0], &r)) == -ENOENT) {
        sc_http_error(rep, 404, "not-found", "no such recording");
        return;
    }
    if (e < 0) {
        sc_http_error(rep, 500, "internal", "cannot read the catalog");
        return;
    }
    if (nargs == 2) {
        bool pub = strcmp(args[1], "publish") == 0;
        if (req->method != SC_HTTP_POST) {
            sc_http_error(rep, 405, "method-not-allowed", "publish and unpublish need POST");
            snprintf(rep->allow, sizeof(rep->allow), "POST");
            return;
        }
        if (!pub && strcmp(args[1], "unpublish") != 0) {
            sc_http_error(rep, 404, "not-found", "no such resource");
            return;
        }
        rep->action = pub ? "publishing a recording" : "unpublishing a recording";
        if (sc_store_recording_set_published(app->store, r.id, pub, sc_wall_ms()) < 0 ||
            sc_store_recording_get(app->store, r.id, &r) < 0) {
            sc_http_error(rep, 500, "internal", "cannot update the catalog");
            return;
        }
        sc_http_json(rep, 200, sc__catalog_recording_json(&r));
        return;
    }
    if (req->method == SC_HTTP_DELETE) {
        rep->action = "deleting a recording";
        /* The writer or the composite thread still has the file open; the
         * row would come back when it finishes. */
        if (strcmp(r.status, "recording") == 0 || strcmp(r.status, "processing") == 0) {
            sc_http_error(rep, 409, "conflict", "the recording is still %s", r.status);
            return;
        }
        if (unlink(r.path) != 0 && errno != ENOENT) {
            sc_http_error(rep, 500, "internal", "cannot remove the file: %s", strerror(errno));
            return;
        }
        if (sc_store_recording_delete(app->store, r.id) < 0) {
            sc_http_error(rep, 500, "internal", "cannot update the catalog");
            return;
        }
        SC_INFO_CTX("catalog", r.room, 0, "recording %s of %s deleted", r.id, r.room);
        rep->status = 204;
        return;
    }
    rep->action = "describing a recording";
    sc_http_json(rep, 200, sc__catalog_recording_json(&r));
}

/* GET /media/recordings/{id}.webm: checks the signed URL (?sig=...) or the
 * bearer token and the range, and hands the file to the front end to
 * stream. */
static void media_recording(sc_app *app, const sc_http_route *route, const sc_http_req *req,
                            char args[][SC_HTTP_ARG_MAX], sc_http_reply *rep)
{
    const char *arg = args[0], *range = req->range;
    char id[40], sig[2];
    sc_store_recording r;
    struct stat st;
    sc_token tok;
    size_t n = strlen(arg);
    uint64_t total, start = 0, len = 0;
    int fd, e, purpose = MEDIA_PLAY;

    rep->action = "serving a recording";
    if (n != 37 || strcmp(arg + 32, ".webm") != 0) {
        sc_http_error(rep, 404, "not-found", "no such recording");
        return;
    }
    memcpy(id, arg, 32);
    id[32] = '\0';
    if (query_token_refused(req, rep))
        return;
    if (sc_http_query_arg(req->query, "sig", sig, sizeof(sig)) != 0) {
        if (media_signed(app, req, id, &r, &purpose, rep))
            return;
    } else if (!req->token && !req->auth_malformed) {
        sc_http_error(rep, 401, "token-missing",
                      "a recording's media needs a signed URL (POST "
                      "/api/recordings/{id}/media-url) or an Authorization header");
        return;
    } else if (sc__catalog_reader_auth(app, req, id, &r, &tok, rep)) {
        return;
    }
    fd = open(r.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        sc_http_error(rep, 404, "not-found", "the recording's file is missing");
        return;
    }
    total = (uint64_t)st.st_size;
    e = sc_catalog_range_parse(range[0] ? range : NULL, total, &start, &len);
    if (e == -ERANGE) {
        close(fd);
        sc_http_error(rep, 416, "range-not-satisfiable", "the file has %" PRIu64 " bytes",
                      total);
        snprintf(rep->content_range, sizeof(rep->content_range), "bytes */%" PRIu64, total);
        return;
    }
    if (e == 1) {
        start = 0;
        len = total;
    }
    /* Room names and ids need no quoting beyond the quotes. */
    if (purpose == MEDIA_DOWNLOAD)
        snprintf(rep->disposition, sizeof(rep->disposition),
                 "attachment; filename=\"%s-%s.webm\"", r.room, r.id);
    rep->status = e == 1 ? 200 : 206;
    rep->file = true;
    rep->file_fd = fd;
    rep->file_off = start;
    rep->file_len = len;
    rep->file_total = total;
}

const sc_http_route sc_catalog_routes[] = {
    {"/api/recordings", 0, SC_HTTP_GET, "recordings", api_recordings, 0},
    {"/api/recordings", 1, SC_HTTP_GET | SC_HTTP_DELETE, "recording", api_recordings, 0},
    {"/api/recordings", 2, SC_HTTP_GET | SC_HTTP_POST, "recording action", api_recordings, 0},
    {"/media/recordings", 1, SC_HTTP_GET, "recording media", media_recording, 0},
};
const size_t sc_catalog_n_routes = sizeof(sc_catalog_routes) / sizeof(sc_catalog_routes[0]);
