#include "catalog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "token.h"
#include "whip.h"

#define CATALOG_QUEUE_MAX 1024     /* reports waiting for the signalling thread */
#define WEBM_HEAD_BYTES 65536      /* Info sits in the first few hundred bytes */

typedef struct report {
    struct report *next;
    char *path;
    char room[SC_ROOM_NAME_MAX + 1];
    int64_t start_ms;
    int64_t duration_ms;
    uint64_t bytes;
    bool error;
} report;

struct sc_catalog {
    sc_store *store;
    char dir[SC_PATH_MAX];
    void (*wake)(void *);
    void *wake_ud;
    pthread_mutex_t lock;
    report *head, *tail;
    int queued;
    uint64_t dropped;
};

sc_catalog *sc_catalog_new(sc_store *store, const char *dir, void (*wake)(void *), void *wake_ud)
{
    sc_catalog *cat = calloc(1, sizeof(*cat));
    if (!cat)
        return NULL;
    cat->store = store;
    snprintf(cat->dir, sizeof(cat->dir), "%s", dir);
    cat->wake = wake;
    cat->wake_ud = wake_ud;
    pthread_mutex_init(&cat->lock, NULL);
    return cat;
}

void sc_catalog_free(sc_catalog *cat)
{
    if (!cat)
        return;
    while (cat->head) {
        report *r = cat->head;
        cat->head = r->next;
        free(r->path);
        free(r);
    }
    pthread_mutex_destroy(&cat->lock);
    free(cat);
}

/* ---- parsers ------------------------------------------------------------------ */

/* EBML variable-length integer: returns its length, or 0. */
static size_t ebml_vint(const uint8_t *p, size_t len, uint64_t *v, bool strip_marker)
{
    size_t n = 1;
    uint8_t mask = 0x80;

    if (len == 0 || p[0] == 0)
        return 0;
    while (!(p[0] & mask)) {
        mask >>= 1;
        n++;
    }
    if (n > len)
        return 0;
    *v = strip_marker ? (uint64_t)(p[0] & (mask - 1)) : p[0];
    for (size_t i = 1; i < n; i++)
        *v = (*v << 8) | p[i];
    return n;
}

/* One element header: id (marker kept, as IDs are written) and size
 * (UINT64_MAX when "unknown"). */
static size_t ebml_elem(const uint8_t *p, size_t len, uint64_t *id, uint64_t *size)
{
    size_t a = ebml_vint(p, len, id, false), b;
    if (!a || a > 4)
        return 0;
    b = ebml_vint(p + a, len - a, size, true);
    if (!b)
        return 0;
    if (*size == (1ull << (7 * b)) - 1)
        *size = UINT64_MAX;
    return a + b;
}

static uint64_t be_uint(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int info_duration(const uint8_t *p, size_t len, int64_t *ms)
{
    uint64_t scale = 1000000, id, size;
    double dur = -1;
    size_t off = 0;

    while (off < len) {
        size_t h = ebml_elem(p + off, len - off, &id, &size);
        if (!h || size == UINT64_MAX || size > len - off - h)
            return -EINVAL;
        const uint8_t *v = p + off + h;
        if (id == 0x2AD7B1 && size >= 1 && size <= 8) {
            scale = be_uint(v, size);
        } else if (id == 0x4489 && (size == 4 || size == 8)) {
            uint64_t bits = be_uint(v, size);
            if (size == 4) {
                uint32_t b32 = (uint32_t)bits;
                float f;
                memcpy(&f, &b32, 4);
                dur = f;
            } else {
                memcpy(&dur, &bits, 8);
            }
        }
        off += h + size;
    }
    if (!(dur >= 0) || scale == 0)
        return -ENOENT;
    *ms = (int64_t)(dur * (double)scale / 1e6 + 0.5);
    return 0;
}

int sc_catalog_webm_duration(const uint8_t *buf, size_t len, int64_t *ms)
{
    uint64_t id, size;
    size_t off, h = ebml_elem(buf, len, &id, &size);

    if (!h || id != 0x1A45DFA3 || size == UINT64_MAX || size > len - h)
        return -EINVAL;
    off = h + size;
    h = ebml_elem(buf + off, len - off, &id, &size);
    if (!h || id != 0x18538067)
        return -EINVAL;
    off += h;
    /* Segment children until the first Cluster; the Segment's own size
     * may be unknown (a file still written), so the buffer bounds it. */
    while (off < len) {
        h = ebml_elem(buf + off, len - off, &id, &size);
        if (!h)
            return -EINVAL;
        if (id == 0x1F43B675)
            return -ENOENT;
        if (size == UINT64_MAX || size > len - off - h)
            return -EINVAL;
        if (id == 0x1549A966)
            return info_duration(buf + off + h, (size_t)size, ms);
        off += h + (size_t)size;
    }
    return -EINVAL;
}

int sc_catalog_range_parse(const char *h, uint64_t total, uint64_t *start, uint64_t *len)
{
    unsigned long long a = 0, b = 0;
    const char *p;
    char *end;
    bool has_a, has_b;

    if (!h || strncmp(h, "bytes=", 6) != 0)
        return 1;
    p = h + 6;
    while (*p == ' ')
        p++;
    has_a = *p >= '0' && *p <= '9';
    if (has_a) {
        errno = 0;
        a = strtoull(p, &end, 10);
        if (errno)
            return 1;
        p = end;
    }
    if (*p != '-')
        return 1;
    p++;
    has_b = *p >= '0' && *p <= '9';
    if (has_b) {
        errno = 0;
        b = strtoull(p, &end, 10);
        if (errno)
            return 1;
        p = end;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0' || (!has_a && !has_b))
        return 1; /* several ranges or garbage: answer with the whole file */
    if (!has_a) {
        /* The last b bytes. */
        if (b == 0 || total == 0)
            return -ERANGE;
        *len = b < total ? b : total;
        *start = total - *len;
        return 0;
    }
    if (has_b && b < a)
        return 1;
    if (a >= total)
        return -ERANGE;
    if (!has_b || b >= total)
        b = total - 1;
    *start = a;
    *len = b - a + 1;
    return 0;
}

/* ---- rows ------------------------------------------------------------------------ */

static int random_id(char out[33])
{
    uint8_t b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -EIO;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static void default_title(char *out, size_t cap, const char *room, int64_t start_ms)
{
    time_t t = (time_t)(start_ms / 1000);
    struct tm tm;
    char when[32] = "";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
    snprintf(out, cap, "%s %s", room, when);
}

static int put_row(sc_catalog *cat, const char *path, const char *room, int64_t start_ms,
                   int64_t duration_ms, uint64_t bytes, const char *status)
{
    sc_store_recording r;

    memset(&r, 0, sizeof(r));
    if (strlen(path) >= sizeof(r.path) || random_id(r.id) < 0)
        return -EINVAL;
    snprintf(r.room, sizeof(r.room), "%s", room);
    snprintf(r.status, sizeof(r.status), "%s", status);
    snprintf(r.path, sizeof(r.path), "%s", path);
    default_title(r.title, sizeof(r.title), room, start_ms);
    r.started_at_ms = start_ms;
    r.duration_ms = duration_ms;
    r.bytes = (int64_t)bytes;
    return sc_store_recording_put(cat->store, &r, sc_wall_ms());
}

void sc_catalog_on_done(void *ud, const sc_recording_info *info)
{
    sc_catalog *cat = ud;
    report *r;
    bool queued = false;

    if (!cat || !info || !info->path)
        return;
    r = calloc(1, sizeof(*r));
    if (!r || !(r->path = strdup(info->path))) {
        free(r);
        return;
    }
    snprintf(r->room, sizeof(r->room), "%s", info->room ? info->room : "");
    r->start_ms = info->start_unix_ms;
    r->duration_ms = info->duration_ms;
    r->bytes = info->bytes;
    r->error = info->error;
    pthread_mutex_lock(&cat->lock);
    if (cat->queued < CATALOG_QUEUE_MAX) {
        if (cat->tail)
            cat->tail->next = r;
        else
            cat->head = r;
        cat->tail = r;
        cat->queued++;
        queued = true;
    } else {
        cat->dropped++;
    }
    pthread_mutex_unlock(&cat->lock);
    if (!queued) {
        free(r->path);
        free(r);
        return;
    }
    if (cat->wake)
        cat->wake(cat->wake_ud);
}

void sc_catalog_drain(sc_catalog *cat)
{
    report *list;

    if (!cat)
        return;
    pthread_mutex_lock(&cat->lock);
    list = cat->head;
    cat->head = cat->tail = NULL;
    cat->queued = 0;
    pthread_mutex_unlock(&cat->lock);
    while (list) {
        report *r = list;
        struct stat st;
        list = r->next;
        /* The writer's count may leave out the Cues written at close. */
        if (stat(r->path, &st) == 0)
            r->bytes = (uint64_t)st.st_size;
        if (put_row(cat, r->path, r->room, r->start_ms, r->duration_ms, r->bytes,
                    r->error ? "failed" : "ready") < 0)
            SC_WARN("catalog", "cannot catalog %s", r->path);
        else
            SC_INFO("catalog", "recording of %s ready: %s (%.1f s)", r->room, r->path,
                    (double)r->duration_ms / 1000.0);
        free(r->path);
        free(r);
    }
}

/* Start time from the recorder's file name (YYYYMMDDTHHMMSSZ-slotN...),
 * else the file's modification time less its duration. */
static int64_t start_from_name(const char *name, const struct stat *st, int64_t duration_ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(name, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) == 6) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        if (t != (time_t)-1)
            return (int64_t)t * 1000;
    }
    return (int64_t)st->st_mtime * 1000 - duration_ms;
}

static int file_duration(const char *path, int64_t *ms)
{
    uint8_t *buf = malloc(WEBM_HEAD_BYTES);
    int fd, r = -EIO;
    ssize_t n;

    if (!buf)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = pread(fd, buf, WEBM_HEAD_BYTES, 0);
        if (n > 0)
            r = sc_catalog_webm_duration(buf, (size_t)n, ms);
        close(fd);
    }
    free(buf);
    return r;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int scan_room(sc_catalog *cat, const char *room)
{
    char dpath[SC_PATH_MAX + 80], path[SC_PATH_MAX + 400];
    sc_store_recording existing;
    struct dirent *e;
    struct stat st;
    int added = 0;
    DIR *d;

    snprintf(dpath, sizeof(dpath), "%s/%s", cat->dir, room);
    d = opendir(dpath);
    if (!d)
        return 0;
    while ((e = readdir(d))) {
        int64_t dur = 0;
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".webm"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dpath, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (sc_store_recording_by_path(cat->store, path, &existing) == 0)
            continue;
        bool ok = file_duration(path, &dur) == 0;
        if (put_row(cat, path, room, start_from_name(e->d_name, &st, dur), dur,
                    (uint64_t)st.st_size, ok ? "ready" : "failed") == 0)
            added++;
    }
    closedir(d);
    return added;
}

int sc_catalog_scan(sc_catalog *cat)
{
    struct dirent *e;
    int added = 0;
    DIR *d;

    if (!cat)
        return -EINVAL;
    d = opendir(cat->dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        /* The recorder sanitizes room names to [A-Za-z0-9._-]; the catalog
         * keeps only the names a room can really have. */
        if (e->d_name[0] == '.' || !sc_rooms_name_ok(e->d_name))
            continue;
        added += scan_room(cat, e->d_name);
    }
    closedir(d);
    if (added)
        SC_INFO("catalog", "%d recording(s) found in %s", added, cat->dir);
    return added;
}

/* ---- HTTP -------------------------------------------------------------------------- */

/* The value of `name` in the query string, copied into out; false if
 * absent.  lws has already url-decoded each argument. */
static bool query_arg(const char *query, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *p = query;

    while (p && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t vlen = len - n - 1;
            if (vlen >= cap)
                return false;
            memcpy(out, p + n + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n != 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

static json_t *recording_json(const sc_store_recording *r)
{
    char url[96];
    snprintf(url, sizeof(url), "/media/recordings/%s.webm", r->id);
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:s,s:I,s:b}", "id", r->id, "room", r->room,
                     "title", r->title, "status", r->status, "started_at",
                     (json_int_t)r->started_at_ms, "duration_s",
                     (double)r->duration_ms / 1000.0, "media_url", url, "bytes",
                     (json_int_t)r->bytes, "published", r->published);
}

static void list_row(void *ud, const sc_store_recording *r)
{
    json_array_append_new(ud, recording_json(r));
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

static void api_list(sc_server *srv, const sc_http_req *req, sc_http_reply *rep)
{
    char room[SC_ROOM_NAME_MAX + 2], v[32];
    bool by_room = query_arg(req->query, "room", room, sizeof(room)) && room[0];
    int64_t from = INT64_MIN, to = INT64_MAX;
    json_t *arr;

    rep->action = "listing recordings";
    if (by_room && !sc_rooms_name_ok(room)) {
        sc_http_error(rep, 400, "bad-room", "room names are 1..64 of [A-Za-z0-9_-]");
        return;
    }
    if ((query_arg(req->query, "from", v, sizeof(v)) && !parse_ms(v, &from)) ||
        (query_arg(req->query, "to", v, sizeof(v)) && !parse_ms(v, &to))) {
        sc_http_error(rep, 400, "bad-request", "from and to are Unix times in milliseconds");
        return;
    }
    arr = json_array();
    if (!arr || sc_store_recordings_list(srv->store, by_room ? room : NULL, from, to, list_row,
                                         arr) < 0) {
        json_decref(arr);
        sc_http_error(rep, 500, "internal", "cannot read the catalog");
        return;
    }
    sc_http_json(rep, 200, json_pack("{s:o}", "recordings", arr));
}

static int admin_auth(sc_server *srv, const sc_http_req *req, sc_http_reply *rep)
{
    sc_token tok;
    int r = sc_http_auth(srv, req, "*", SC_PERM_ADMIN, &tok, rep);
    if (r == 403)
        sc_http_error(rep, 403, "forbidden", "recordings need an admin token");
    return r;
}

void sc_catalog_http_api(sc_server *srv, const sc_http_req *req, int nargs,
                         char args[][SC_ROOM_NAME_MAX + 32], sc_http_reply *rep)
{
    sc_store_recording r;
    int e;

    rep->action = "managing recordings";
    if (admin_auth(srv, req, rep))
        return;
    if (nargs == 0) {
        api_list(srv, req, rep);
        return;
    }
    if (!id_ok(args[0]) || (e = sc_store_recording_get(srv->store, args[0], &r)) == -ENOENT) {
        sc_http_error(rep, 404, "not-found", "no such recording");
        return;
    }
    if (e < 0) {
        sc_http_error(rep, 500, "internal", "cannot read the catalog");
        return;
    }
    if (nargs == 2) {
        bool pub = strcmp(args[1], "publish") == 0;
        if (!pub && strcmp(args[1], "unpublish") != 0) {
            sc_http_error(rep, 404, "not-found", "no such resource");
            return;
        }
        rep->action = pub ? "publishing a recording" : "unpublishing a recording";
        if (sc_store_recording_set_published(srv->store, r.id, pub, sc_wall_ms()) < 0 ||
            sc_store_recording_get(srv->store, r.id, &r) < 0) {
            sc_http_error(rep, 500, "internal", "cannot update the catalog");
            return;
        }
        sc_http_json(rep, 200, recording_json(&r));
        return;
    }
    if (req->method == SC_HTTP_DELETE) {
        rep->action = "deleting a recording";
        if (unlink(r.path) != 0 && errno != ENOENT) {
            sc_http_error(rep, 500, "internal", "cannot remove the file: %s", strerror(errno));
            return;
        }
        if (sc_store_recording_delete(srv->store, r.id) < 0) {
            sc_http_error(rep, 500, "internal", "cannot update the catalog");
            return;
        }
        SC_INFO("catalog", "recording %s of %s deleted", r.id, r.room);
        rep->status = 204;
        return;
    }
    rep->action = "describing a recording";
    sc_http_json(rep, 200, recording_json(&r));
}

int sc_catalog_media_open(sc_server *srv, const sc_http_req *req, const char *arg,
                          const char *range, int *status, uint64_t *start, uint64_t *len,
                          uint64_t *total, sc_http_reply *rep)
{
    char id[40], qtok[2048];
    sc_http_req areq = *req;
    sc_store_recording r;
    struct stat st;
    sc_token tok;
    size_t n = strlen(arg);
    int fd, e;

    rep->action = "serving a recording";
    /* <video> cannot send headers: the token may come as ?token=. */
    if (!areq.token && query_arg(req->query, "token", qtok, sizeof(qtok)) && qtok[0])
        areq.token = qtok;
    if (n != 37 || !has_suffix(arg, ".webm")) {
        sc_http_error(rep, 404, "not-found", "no such recording");
        return -1;
    }
    memcpy(id, arg, 32);
    id[32] = '\0';
    e = id_ok(id) ? sc_store_recording_get(srv->store, id, &r) : -ENOENT;
    if (e == -ENOENT || e < 0) {
        /* Say "not found" only to admins; others learn nothing. */
        if (!admin_auth(srv, &areq, rep))
            sc_http_error(rep, e == -ENOENT ? 404 : 500, e == -ENOENT ? "not-found" : "internal",
                          "no such recording");
        return -1;
    }
    if (r.published) {
        if (sc_http_auth(srv, &areq, r.room, SC_PERM_SUBSCRIBE, &tok, rep))
            return -1;
    } else if (sc_http_auth(srv, &areq, r.room, SC_PERM_ADMIN, &tok, rep)) {
        if (rep->status == 403)
            sc_http_error(rep, 403, "forbidden", "this recording is not published");
        return -1;
    }
    fd = open(r.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        sc_http_error(rep, 404, "not-found", "the recording's file is missing");
        return -1;
    }
    *total = (uint64_t)st.st_size;
    e = sc_catalog_range_parse(range && range[0] ? range : NULL, *total, start, len);
    if (e == -ERANGE) {
        close(fd);
        sc_http_error(rep, 416, "range-not-satisfiable", "the file has %" PRIu64 " bytes",
                      *total);
        snprintf(rep->content_range, sizeof(rep->content_range), "bytes */%" PRIu64, *total);
        return -1;
    }
    if (e == 1) {
        *start = 0;
        *len = *total;
        *status = 200;
    } else {
        *status = 206;
    }
    return fd;
}
