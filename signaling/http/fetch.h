/* Outgoing HTTP(S) requests from the signalling thread that never block
 * it: each request runs on a short-lived thread of its own with a plain
 * blocking client (getaddrinfo, connect, TLS through OpenSSL, one POST with
 * Connection: close) and its answer comes back through the event loop's
 * wake-up: done() runs on the signalling thread.  The deadline is kept on
 * the signalling thread too, whatever the thread is doing (a resolver may
 * block longer than any timeout we set): at the deadline done() gets
 * -ETIMEDOUT and the thread's late answer is dropped.
 *
 * Why threads and not libwebsockets' client in the same loop: Debian's lws
 * 4.1 is built without its asynchronous resolver, so its client resolves
 * host names with a blocking getaddrinfo on the loop, and it has no CA
 * store configured (LWS_OPENSSL_CLIENT_CERTS is "../share").
 *
 * Used for the external check of events (signaling/events/external.c). */
#ifndef SC_HTTP_FETCH_H
#define SC_HTTP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/app/app.h"

typedef struct sc_fetch sc_fetch;

#define SC_FETCH_URL_MAX 1024
#define SC_FETCH_TIMEOUT_MAX_MS 60000
#define SC_FETCH_HEAD_MAX 8192       /* an answer's status line and headers */

typedef struct sc_fetch_url {
    bool tls;
    char host[256];                  /* a name or an address (IPv6 without brackets) */
    char port[6];
    char path[SC_FETCH_URL_MAX];     /* with the query; "/" when none */
} sc_fetch_url;

/* "http[s]://host[:port][/path][?query]" into out: 0, or -EINVAL for
 * another scheme, no host or a host of other characters than letters,
 * digits, '.', '-' (or an [IPv6] literal), user:password@, a fragment, a
 * port outside 1..65535, spaces, quotes, backslashes or control characters,
 * or more than SC_FETCH_URL_MAX characters. */
int sc_fetch_url_parse(const char *url, sc_fetch_url *out);

typedef struct sc_fetch_req {
    const char *url;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *headers;   /* more header lines, each ending "\r\n", or NULL */
    int timeout_ms;        /* 1..SC_FETCH_TIMEOUT_MAX_MS, from the start to the whole answer */
    size_t max_body;       /* the largest answer body taken; a longer one is -EFBIG */
} sc_fetch_req;

typedef struct sc_fetch_result {
    /* 0: an answer came (status, body).  Else -ETIMEDOUT, -ENOENT (no such
     * host), -ECONNREFUSED, -EHOSTUNREACH / -ENETUNREACH, -ECONNRESET
     * (closed before a whole answer), -EPROTO (not an HTTP answer), -EFBIG
     * (body over max_body), -EIO (TLS: the handshake or the certificate),
     * -ECANCELED (the server is stopping) or -ENOMEM. */
    int err;
    const char *why;       /* err in a few words ("connection refused"); static */
    int status;
    const char *body;      /* NUL-terminated; valid during done() */
    size_t body_len;
    int64_t elapsed_us;    /* from the start to the answer (or the deadline) */
} sc_fetch_result;

typedef void (*sc_fetch_done)(sc_app *app, void *ud, const sc_fetch_result *res);

/* Starts a POST of req (copied): 0 and done(app, ud, ...) runs exactly once
 * later on the signalling thread; -EINVAL (url, timeout), -EBUSY (as many
 * requests in flight as --max-external-checks: threads still finishing
 * after their deadline count), -EAGAIN (no thread), -ENOMEM. */
int sc_fetch_start(sc_app *app, const sc_fetch_req *req, sc_fetch_done done, void *ud);

/* Threads running now (those past their deadline included). */
int sc_fetch_in_flight(const sc_app *app);

/* ---- the front end's hooks (http.c) ------------------------------------------ */

/* Made with the event loop (sc_http_start): limit threads at most, CA
 * certificates from ca_file ("" or NULL: the system's only).  0, or -1 with
 * a reason in err. */
int sc__fetch_init(sc_app *app, int limit, const char *ca_file, char *err, size_t errlen);
/* After a wake-up of the loop: runs done() of the requests that finished. */
void sc__fetch_poll(sc_app *app);
/* Before the event loop goes: done(-ECANCELED) for every request not
 * answered yet; threads still running free their own state when they end. */
void sc__fetch_stop(sc_app *app);

/* ---- the answer parser (pure; tests/fuzz/fuzz-fetch.c) ------------------------ */

/* The HTTP/1.x answer in buf[0..len), eof: the peer has closed.  1: it is
 * whole: *status, and its body (Content-Length, chunked or up to the close)
 * decoded into body[0..*body_len) and NUL-terminated (body has cap + 1
 * bytes); 0: more bytes are needed (only while !eof); -EPROTO: not an HTTP
 * answer, or cut short at eof; -EFBIG: a body over cap bytes, or a head
 * over SC_FETCH_HEAD_MAX.  Interim 1xx answers are skipped. */
int sc__fetch_parse_answer(const char *buf, size_t len, bool eof, int *status, char *body,
                           size_t cap, size_t *body_len);

#endif
