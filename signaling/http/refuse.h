/* Refusals the front end writes itself, where lws's HTTP machinery is not
 * there to answer: requests lws hands over as raw bytes (CONNECT, a method
 * lws does not know) get a JSON error and the connection closed, instead
 * of lws's HTML 403 or a connection left hanging. */
#ifndef SC_HTTP_REFUSE_H
#define SC_HTTP_REFUSE_H

#include <stdbool.h>
#include <stddef.h>

#include "signaling/app/app.h"
#include "signaling/http/http.h"

struct lws;

/* A complete HTTP/1.1 response carrying rep's status and JSON body (and its
 * Allow header, if any), with Connection: close, formatted into buf: its
 * length, or 0 when it does not fit. */
size_t sc_http_refusal(char *buf, size_t cap, const sc_http_reply *rep, bool hsts);

/* True for the lws callback reasons of a raw connection. */
bool sc_http_refuse_handles(int reason);
/* Forwarded from a vhost's protocol callback: the request lws hands over
 * is answered (405 with the target's Allow, 404 for a path that names
 * nothing), then the connection is shut down and what else comes is
 * dropped.  Returns what the lws callback must return. */
int sc_http_refuse_raw(sc_app *app, struct lws *wsi, int reason, const void *in, size_t len);

#endif
