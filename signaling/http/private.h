/* Internal to signaling/http/ and its fuzz targets (tests/fuzz/): the parts
 * of request handling that do not need a live lws connection, taken apart
 * from lws's callbacks so they can be fed bytes directly, and WebSocket
 * clients with no connection behind them. */
#ifndef SC_HTTP_PRIVATE_H
#define SC_HTTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/app/app.h"
#include "signaling/http/http.h"
#include "signaling/http/ws.h"

/* ---- http.c: a request's head ------------------------------------------- */

/* The body's framing from the Content-Length values (cl: the first, NULL
 * when there is none, "" when it could not be read; cl2: a second one or
 * NULL) and whether Transfer-Encoding was given.  0 with *content_length
 * set; 400 for a malformed or conflicting length, or Transfer-Encoding
 * with a length; 411 for Transfer-Encoding alone. */
int sc__http_framing(const char *cl, const char *cl2, bool te, size_t *content_length);
/* The token of an Authorization header "Bearer x" (malloc'd, spaces
 * around it dropped), or NULL with *malformed set. */
char *sc__http_bearer(const char *authorization, bool *malformed);
/* Appends one decoded query argument to query ('&' between them); false,
 * leaving query as it was, when it does not fit in cap. */
bool sc__http_query_add(char *query, size_t cap, const char *arg);

/* What comes after a request's head: an answer already in rep (the body,
 * if any, is read and dropped), the same with the connection closed after
 * it (the body is refused unread), the page at req->path, or *route with
 * its args, run once the body is in. */
typedef enum sc_http_next {
    SC_HTTP_NEXT_ANSWER,
    SC_HTTP_NEXT_CLOSE,
    SC_HTTP_NEXT_PAGE,
    SC_HTTP_NEXT_ROUTE,
} sc_http_next;

/* Decides it from the method and path, the framing (sc__http_framing) and
 * the length; *route is NULL unless SC_HTTP_NEXT_ROUTE. */
sc_http_next sc__http_decide(sc_app *app, const sc_http_req *req, int framing,
                             size_t content_length, const sc_http_route **route,
                             char args[SC_HTTP_ARGS][SC_HTTP_ARG_MAX], sc_http_reply *rep);

/* ---- refuse.c: a raw request lws does not take ---------------------------- */

/* The answer to the bytes of a raw connection (CONNECT, an unknown
 * method): rep filled (404 or 405 with Allow), the request's method and
 * target copied, printable, for the log line. */
void sc__http_refuse_answer(sc_app *app, const char *in, size_t len, char method[24],
                            char target[256], sc_http_reply *rep);

/* ---- ws.c: local clients ---------------------------------------------------- */

/* A WebSocket client with no connection: what the server sends it waits
 * in its queue until taken.  Messages go through the same checks and
 * command tables as a connection's. */
sc_ws_client *sc__ws_local_new(sc_app *app, const char *peer);
/* One complete text message from the client. */
void sc__ws_local_receive(sc_ws_client *c, const char *buf, size_t len);
/* The oldest message queued for c (malloc'd, NUL-terminated, *len its
 * length), or NULL when there is none. */
char *sc__ws_local_take(sc_ws_client *c, size_t *len);
/* Whether the server is done with it (kicked, too slow): lws would close
 * the connection now. */
bool sc__ws_local_closing(const sc_ws_client *c);
/* The connection closed: leaves its room, ends its sessions, frees it. */
void sc__ws_local_free(sc_ws_client *c);

#endif
