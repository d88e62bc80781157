/* libFuzzer target for the front end's own HTTP request handling, the part
 * after lws has split a request (signaling/http/private.h): the body's
 * framing (Content-Length, Transfer-Encoding), the bearer token, the query
 * arguments, the route or page a path names and the answer decided before
 * the body is read, the route handlers themselves (API, WHIP/WHEP,
 * recordings, exports, metrics) over a fresh app (fuzz-app.h: in-memory
 * store with one published recording, no media plane), the Range header,
 * the query lookups of the recordings' routes, and the answer to a raw
 * request lws does not take (CONNECT, unknown methods).
 *
 * The input is a request as sent: "METHOD TARGET HTTP/1.1", header lines,
 * an empty line, the body (CRLF or LF).  The target stands in for lws:
 * splits the head, url-decodes each query argument, keeps the first two
 * Content-Length values.  In an Authorization header, "@admin", "@host"
 * and "@viewer" become tokens the target mints (room "demo").
 *
 * Aborts on broken invariants: a framing error or an oversized body that
 * does not close the connection, a decision without its answer or route,
 * a page outside the pages' folder, a reply without a status or with a
 * body length that does not match, a Range taken beyond the file, a query
 * value that overflows, a raw answer that is not a 404/405 or prints
 * unprintable bytes.  SC_FUZZ_VERBOSE=1 prints each answer (to check what a
 * seed reaches). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signaling/http/http.h"
#include "signaling/http/pages.h"
#include "signaling/http/private.h"
#include "signaling/http/refuse.h"
#include "signaling/recordings/catalog.h"
#include "signaling/store/store.h"
#include "tests/fuzz/fuzz-app.h"

#define RECORDING_ID "0123456789abcdef0123456789abcdef"

static char media_dir[] = "/tmp/sc-fuzz-http-XXXXXX";
static char media_path[64];

static void remove_media(void)
{
    unlink(media_path);
    rmdir(media_dir);
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-http: %s\n", what);
        abort();
    }
}

/* The recording the inputs may read, publish or delete: a row and a small
 * file (made again when an input deleted it). */
static void add_recording(sc_app *app)
{
    sc_store_recording r;
    int fd;

    if (!media_path[0]) {
        check(mkdtemp(media_dir) != NULL, "cannot make a temporary folder");
        snprintf(media_path, sizeof(media_path), "%s/%s.webm", media_dir, RECORDING_ID);
        atexit(remove_media);
    }
    if (access(media_path, F_OK) != 0) {
        fd = open(media_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        check(fd >= 0 && write(fd, "\x1a\x45\xdf\xa3 webm bytes", 16) == 16, "cannot write");
        close(fd);
    }
    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), RECORDING_ID);
    snprintf(r.room, sizeof(r.room), SC_FUZZ_ROOM);
    snprintf(r.title, sizeof(r.title), "Town hall");
    snprintf(r.status, sizeof(r.status), "ready");
    snprintf(r.path, sizeof(r.path), "%s", media_path);
    snprintf(r.kind, sizeof(r.kind), "track");
    r.started_at_ms = 1700000000000;
    r.duration_ms = 60000;
    r.bytes = 16;
    r.slot = 0;
    check(sc_store_recording_put(app->store, &r, 1700000060000) == 0, "cannot add a recording");
    check(sc_store_recording_set_published(app->store, RECORDING_ID, 1, 1700000060000) == 0,
          "cannot publish the recording");
}

/* One line of buf (CRLF or LF) into line, NUL-terminated; advances *pos.
 * false at the end of buf. */
static bool next_line(const char *buf, size_t len, size_t *pos, char *line, size_t cap)
{
    size_t start = *pos, end;
    const char *nl;

    if (start >= len)
        return false;
    nl = memchr(buf + start, '\n', len - start);
    end = nl ? (size_t)(nl - buf) : len;
    *pos = nl ? end + 1 : len;
    if (end > start && buf[end - 1] == '\r')
        end--;
    snprintf(line, cap, "%.*s", (int)(end - start), buf + start);
    return true;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* What lws does with each query argument: %XX and '+' decoded. */
static void url_decode(char *s)
{
    char *out = s;

    for (; *s; s++) {
        if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *out++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *out++ = *s == '+' ? ' ' : *s;
        }
    }
    *out = '\0';
}

static sc_http_method method_of(const char *m)
{
    static const struct {
        const char *name;
        sc_http_method m;
    } map[] = {{"GET", SC_HTTP_GET},       {"POST", SC_HTTP_POST},     {"OPTIONS", SC_HTTP_OPTIONS},
               {"PATCH", SC_HTTP_PATCH},   {"DELETE", SC_HTTP_DELETE}, {"HEAD", SC_HTTP_HEAD},
               {"PUT", SC_HTTP_PUT}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(m, map[i].name) == 0)
            return map[i].m;
    return SC_HTTP_OTHER;
}

/* "Bearer @host" with the marker replaced by a minted token (malloc'd). */
static char *authorization(const char *v)
{
    static const struct {
        const char *marker;
        const char *room;
        sc_role role;
    } roles[] = {{"@admin", "*", SC_ROLE_ADMIN},
                 {"@host", NULL, SC_ROLE_PRESENTER},
                 {"@viewer", NULL, SC_ROLE_VIEWER}};
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        const char *at = strstr(v, roles[i].marker);
        char *tok, *out;
        if (!at)
            continue;
        tok = sc_fuzz_token(roles[i].room, roles[i].role, "Fuzz", "u-fuzz");
        check(tok != NULL, "cannot mint a token");
        out = malloc(strlen(v) + strlen(tok) + 1);
        check(out != NULL, "out of memory");
        sprintf(out, "%.*s%s%s", (int)(at - v), v, tok, at + strlen(roles[i].marker));
        free(tok);
        return out;
    }
    return strdup(v);
}

static void check_raw(sc_app *app, const char *data, size_t size)
{
    char method[24], target[256], out[2048];
    sc_http_reply rep;

    sc__http_refuse_answer(app, data, size, method, target, &rep);
    check(rep.status == 404 || rep.status == 405, "raw: status");
    for (const char *p = method; *p; p++)
        check(*p >= 0x21 && *p < 0x7f, "raw: unprintable method");
    for (const char *p = target; *p; p++)
        check(*p >= 0x21 && *p < 0x7f, "raw: unprintable target");
    check(sc_http_refusal(out, sizeof(out), &rep, true) > 0, "raw: the answer does not fit");
    sc_http_reply_reset(&rep);
}

static void check_range(const char *range)
{
    static const uint64_t totals[] = {0, 1, 16, 1000000, UINT64_MAX};

    for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        uint64_t start = 0, len = 0;
        int r = sc_catalog_range_parse(range, totals[i], &start, &len);
        check(r == 0 || r == 1 || r == -ERANGE, "range: result");
        if (r == 0)
            check(len > 0 && start < totals[i] && len <= totals[i] - start,
                  "range: beyond the file");
    }
}

static void check_query(const char *query)
{
    static const char *const names[] = {"token", "purpose", "scope", "exp", "sig", "from"};
    char out[16];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        memset(out, 'x', sizeof(out));
        int r = sc_http_query_arg(query, names[i], out, sizeof(out));
        check(r == 0 || r == 1 || r == -E2BIG, "query: result");
        if (r == 1)
            check(memchr(out, '\0', sizeof(out)) != NULL, "query: value not terminated");
    }
}

static void check_page(sc_app *app, const char *path)
{
    char file[SC_PATH_MAX + 256];
    size_t n = strlen(app->cfg->ui_dir);

    if (!sc_http_page(app, path, file, sizeof(file)))
        return;
    check(strncmp(file, app->cfg->ui_dir, n) == 0 && file[n] == '/', "page: outside the folder");
    check(!strstr(file + n, "/.") && !strstr(file + n, "//"), "page: dot or empty segment");
}

static void run_route(sc_app *app, const sc_http_route *route, sc_http_req *req,
                      char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX], const char *body, size_t len,
                      sc_http_reply *rep)
{
    if (len > 0) {
        req->body = malloc(len + 1);
        check(req->body != NULL, "out of memory");
        memcpy(req->body, body, len);
        req->body[len] = '\0';
        req->body_len = len;
    }
    route->fn(app, route, req, args, rep);
    check(rep->status >= 200 && rep->status <= 599, "route: no status");
    check(!rep->body_len || rep->body, "route: a length without a body");
    if (rep->file) {
        check(rep->file_fd >= 0 && rep->file_off + rep->file_len <= rep->file_total,
              "route: file range");
        close(rep->file_fd);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char line[4096], method[16], target[2048], *q;
    char cl[2][64], args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX];
    const char *cls[2] = {NULL, NULL};
    int n_cl = 0, framing;
    bool te = false;
    size_t pos = 0, content_length, body_len;
    const sc_http_route *route = NULL;
    sc_http_reply rep;
    sc_http_req req;
    sc_http_next next;
    sc_app *app;

    if (size > 65536)
        return 0;
    app = sc_fuzz_app_new();
    add_recording(app);
    check_raw(app, buf, size);

    memset(&req, 0, sizeof(req));
    memset(&rep, 0, sizeof(rep));
    snprintf(req.peer, sizeof(req.peer), "192.0.2.9");
    if (!next_line(buf, size, &pos, line, sizeof(line)) ||
        sscanf(line, "%15s %2047s", method, target) != 2)
        goto out;
    req.method = method_of(method);
    if ((q = strchr(target, '?')))
        *q++ = '\0';
    snprintf(req.path, sizeof(req.path), "%.*s", (int)sizeof(req.path) - 1, target);
    for (char *arg = q, *amp; arg && *arg; arg = amp) {
        if ((amp = strchr(arg, '&')))
            *amp++ = '\0';
        url_decode(arg);
        if (!sc__http_query_add(req.query, sizeof(req.query), arg))
            break;
    }
    check(strlen(req.query) < sizeof(req.query), "query overflow");

    while (next_line(buf, size, &pos, line, sizeof(line)) && line[0]) {
        char *colon = strchr(line, ':'), *v;
        if (!colon)
            continue;
        *colon = '\0';
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        if (strcasecmp(line, "content-length") == 0 && n_cl < 2) {
            /* lws keeps up to its buffer; a longer one reads as unreadable */
            snprintf(cl[n_cl], sizeof(cl[n_cl]), "%s", strlen(v) < 32 ? v : "");
            cls[n_cl] = cl[n_cl];
            n_cl++;
        } else if (strcasecmp(line, "transfer-encoding") == 0) {
            te = true;
        } else if (strcasecmp(line, "content-type") == 0) {
            snprintf(req.content_type, sizeof(req.content_type), "%s", v);
        } else if (strcasecmp(line, "range") == 0) {
            snprintf(req.range, sizeof(req.range), "%s", v);
        } else if (strcasecmp(line, "authorization") == 0 && !req.token) {
            char *a = authorization(v);
            check(a != NULL, "out of memory");
            req.token = sc__http_bearer(a, &req.auth_malformed);
            check(!req.token == req.auth_malformed, "bearer: token and malformed");
            free(a);
        }
    }
    body_len = size - pos;

    framing = sc__http_framing(cls[0], cls[1], te, &content_length);
    check(framing == 0 || framing == 400 || framing == 411, "framing: result");
    check(!te || framing, "framing: Transfer-Encoding taken");
    next = sc__http_decide(app, &req, framing, content_length, &route, args, &rep);
    check(!framing || (next == SC_HTTP_NEXT_CLOSE && rep.status == framing),
          "decide: a framing error that does not close");
    check(content_length <= (size_t)app->cfg->max_body || next == SC_HTTP_NEXT_CLOSE,
          "decide: an oversized body that does not close");
    check((next == SC_HTTP_NEXT_ROUTE) == (route != NULL), "decide: route");
    check(next == SC_HTTP_NEXT_ROUTE || next == SC_HTTP_NEXT_PAGE ? rep.status == 0
                                                                   : rep.status >= 200,
          "decide: status");
    if (next == SC_HTTP_NEXT_PAGE)
        check(sc_http_page(app, req.path, NULL, 0) != NULL, "decide: no such page");
    check_page(app, req.path);
    if (next == SC_HTTP_NEXT_ROUTE)
        run_route(app, route, &req, args, buf + pos,
                  content_length < body_len ? content_length : body_len, &rep);
    if (getenv("SC_FUZZ_VERBOSE"))
        fprintf(stderr, "  %s %s: next %d, %d (%s) %.*s\n", method, req.path, (int)next,
                rep.status, rep.action ? rep.action : "", (int)rep.body_len,
                rep.body ? rep.body : "");
    check_range(req.range[0] ? req.range : NULL);
    check_query(req.query);
out:
    sc_http_reply_reset(&rep);
    free(req.token);
    free(req.body);
    sc_fuzz_app_free(app);
    return 0;
}
