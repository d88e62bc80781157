/* The web pages: files under --ui-dir served to GET and HEAD (the front
 * end's routes take precedence; http.c decides which applies). */
#ifndef SC_HTTP_PAGES_H
#define SC_HTTP_PAGES_H

#include <stddef.h>

#include "signaling/app/app.h"

struct lws;

/* The page a URL path names ("/" is /index.html): its MIME type, with the
 * file's path in file when file is not NULL, or NULL when there is no such
 * page.  Only top-level files and /js/, /css/, /img/ are pages. */
const char *sc_http_page(const sc_app *app, const char *path, char *file, size_t cap);

/* Sends the page at path (a GET or HEAD: lws leaves out a HEAD's body) from
 * the writeable callback: sending it from the request's own callback
 * overwrites a pipelined next request still waiting in lws's receive
 * buffer.  0 while it goes out (LWS_CALLBACK_HTTP_FILE_COMPLETION ends it;
 * a HEAD is over at once), -1 when the connection must close. */
int sc_http_page_send(sc_app *app, struct lws *wsi, const char *path, const char *peer);

/* The Content-Security-Policy every page is sent with. */
#define SC_HTTP_PAGE_CSP "frame-ancestors 'self'"

#endif
