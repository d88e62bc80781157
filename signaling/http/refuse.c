#include "signaling/http/refuse.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "signaling/http/private.h"

/* A refused raw connection lingers this long for the peer to read the
 * answer and close; what it sends meanwhile is dropped. */
#define LINGER_S 5

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

size_t sc_http_refusal(char *buf, size_t cap, const sc_http_reply *rep, bool hsts)
{
    char retry[40] = "";
    int n;

    if (rep->retry_after > 0)
        snprintf(retry, sizeof(retry), "retry-after: %d\r\n", rep->retry_after);
    n = snprintf(buf, cap,
                 "HTTP/1.1 %d %s\r\n"
                 "server: stagecast\r\n"
                 "content-type: application/json\r\n"
                 "content-length: %zu\r\n"
                 "%s%s%s"
                 "%s%s%s"
                 "%s"
                 "access-control-allow-origin: *\r\n"
                 "cache-control: no-store\r\n"
                 "connection: close\r\n"
                 "\r\n"
                 "%.*s",
                 rep->status, reason_phrase(rep->status), rep->body_len,
                 rep->allow[0] || rep->status == 405 ? "allow: " : "", rep->allow,
                 rep->allow[0] || rep->status == 405 ? "\r\n" : "",
                 hsts ? "strict-transport-security: " : "", hsts ? SC_HTTP_HSTS : "",
                 hsts ? "\r\n" : "", retry, (int)rep->body_len, rep->body ? rep->body : "");
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

bool sc_http_refuse_handles(int reason)
{
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT:
    case LWS_CALLBACK_RAW_RX:
    case LWS_CALLBACK_RAW_WRITEABLE:
    case LWS_CALLBACK_RAW_CLOSE:
        return true;
    default:
        return false;
    }
}

/* The first token of the request line in `in` into out: printable, at most
 * cap - 1 bytes ("?" when there is none). */
static const char *token(const char *in, size_t len, size_t skip, char *out, size_t cap)
{
    size_t i = 0, n = 0;

    for (size_t t = 0; t <= skip; t++) {
        while (i < len && in[i] == ' ')
            i++;
        n = 0;
        while (i < len && in[i] != ' ' && in[i] != '\r' && in[i] != '\n') {
            if (n + 1 < cap)
                out[n++] = in[i] >= 0x21 && in[i] < 0x7f ? in[i] : '?';
            i++;
        }
    }
    if (!n)
        out[n++] = '?';
    out[n] = '\0';
    return out;
}

void sc__http_refuse_answer(sc_app *app, const char *in, size_t len, char method[24],
                            char target[256], sc_http_reply *rep)
{
    char path[256], *q;
    unsigned methods;

    /* "METHOD target ...": CONNECT, or a method lws does not know. */
    token(in, len, 0, method, 24);
    token(in, len, 1, target, 256);
    snprintf(path, sizeof(path), "%s", target);
    if ((q = strchr(path, '?')))
        *q = '\0';
    methods = path[0] == '/' ? sc_http_methods(app, path) : 0;
    memset(rep, 0, sizeof(*rep));
    rep->action = "refusing a method";
    if (path[0] == '/' && !methods) {
        sc_http_error(rep, 404, "not-found", "no such resource");
    } else {
        /* An authority (CONNECT's target) is no resource here: it allows
         * nothing. */
        if (methods)
            sc_http_allow_string(methods | SC_HTTP_OPTIONS, rep->allow, sizeof(rep->allow));
        sc_http_error(rep, 405, "method-not-allowed", "%s is not allowed on %s", method, target);
    }
}

/* Marks a connection answered (its opaque pointer; nothing else uses it). */
static char answered;

int sc_http_refuse_raw(sc_app *app, struct lws *wsi, int reason, const void *in, size_t len)
{
    char method[24], target[256], peer[64];
    uint8_t buf[LWS_PRE + 2048];
    sc_http_reply rep;
    size_t n;

    if (reason == LWS_CALLBACK_RAW_WRITEABLE && lws_get_opaque_user_data(wsi) == &answered) {
        /* The answer is out: no more from us, and the peer gets LINGER_S
         * to read it and close before lws does. */
        shutdown(lws_get_socket_fd(wsi), SHUT_WR);
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LINGER_S);
        return 0;
    }
    if (reason != LWS_CALLBACK_RAW_RX || lws_get_opaque_user_data(wsi) == &answered)
        return 0;
    if (!in || !len)
        return -1; /* nothing to answer */

    sc__http_refuse_answer(app, in, len, method, target, &rep);
    n = sc_http_refusal((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE, &rep,
                        sc_http_tls(app) && lws_is_ssl(wsi));
    free(rep.body);
    sc_http_count(app, rep.status);
    lws_get_peer_simple(wsi, peer, sizeof(peer));
    SC_INFO("http", "%s %s %s (%s): %d", peer, method, target, rep.action, rep.status);
    lws_set_opaque_user_data(wsi, &answered);
    if (!n || lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < 0)
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}
