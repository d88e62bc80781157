#include "signaling/http/pages.h"

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "signaling/http/http.h"

static const struct {
    const char *ext;
    const char *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *mime_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (size_t i = 0; i < sizeof(mime_types) / sizeof(mime_types[0]); i++)
        if (strcmp(dot, mime_types[i].ext) == 0)
            return mime_types[i].type;
    return NULL;
}

/* Pages live at the top level (*.html) or under /js/, /css/, /img/.  Only
 * [A-Za-z0-9._-] in segments, none starting with '.', so neither "..",
 * hidden files nor encoded tricks reach the file system. */
static bool path_ok(const char *path)
{
    const char *seg = path;
    int depth = 0;

    if (path[0] != '/' || strlen(path) > 200)
        return false;
    if (strncmp(path, "/js/", 4) && strncmp(path, "/css/", 5) && strncmp(path, "/img/", 5) &&
        strchr(path + 1, '/'))
        return false;
    for (const char *p = path + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            if (p == seg + 1 || seg[1] == '.')
                return false; /* empty or dot segment */
            depth++;
            if (*p == '\0')
                break;
            seg = p;
            continue;
        }
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    }
    return depth <= 4;
}

const char *sc_http_page(const sc_app *app, const char *path, char *file, size_t cap)
{
    char buf[SC_PATH_MAX + 256];
    const char *mime;
    struct stat st;

    if (strcmp(path, "/") == 0)
        path = "/index.html";
    mime = mime_for(path);
    if (!path_ok(path) || !mime)
        return NULL;
    snprintf(buf, sizeof(buf), "%s%s", app->cfg->ui_dir, path);
    if (stat(buf, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    if (file)
        snprintf(file, cap, "%s", buf);
    return mime;
}

int sc_http_page_send(sc_app *app, struct lws *wsi, const char *path, const char *peer)
{
    char file[SC_PATH_MAX + 256];
    uint8_t hdr[256], *p = hdr, *end = hdr + sizeof(hdr);
    const char *mime = sc_http_page(app, path, file, sizeof(file));
    int n;

    if (!mime)
        return -1; /* it was there when the request came: gone since */
    /* No other site may frame our pages (clickjacking); an event's watch
     * link widens this for the origins it names (signaling/events/). */
    if (lws_add_http_header_by_name(
            wsi, (const uint8_t *)"cache-control:", (const uint8_t *)"no-cache", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const uint8_t *)"content-security-policy:",
                                    (const uint8_t *)SC_HTTP_PAGE_CSP,
                                    (int)strlen(SC_HTTP_PAGE_CSP), &p, end) ||
        lws_add_http_header_by_name(wsi, (const uint8_t *)"x-content-type-options:",
                                    (const uint8_t *)"nosniff", 7, &p, end) ||
        (sc_http_tls(app) &&
         lws_add_http_header_by_name(
             wsi, (const uint8_t *)"strict-transport-security:", (const uint8_t *)SC_HTTP_HSTS,
             (int)strlen(SC_HTTP_HSTS), &p, end)))
        return -1;
    app->stats.http_requests++;
    SC_DEBUG("http", "%s %s (serving a page)", peer, path);
    n = lws_serve_http_file(wsi, file, mime, (const char *)hdr, (int)(p - hdr));
    /* > 0: lws answered itself (the file would not open) */
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}
