/* Janus signalling: every message is a JSON object with a "janus" verb and
 * a transaction; plugin replies come either at once ("success") or as an
 * "ack" followed by an "event".  Over the WebSocket API (lg_janus_use_ws,
 * what scripts/bench uses) the events arrive on the one connection; over
 * REST they are long-polled with GET /janus/<session>.  The loadgen signs
 * peers in one at a time, so only the request just sent is waited for. */
#include "janus.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "ws.h"

#define LG_JANUS_POLLS 50  /* events skipped before giving up on one request */

#define LG_JANUS_WS_SKIP 1000 /* messages read past before giving up on one */
#define LG_JANUS_PENDING 16   /* events that arrived while a reply was awaited */

static unsigned lg_janus_txn;
static lg_ws *ws;               /* the WebSocket API, when in use */
static json_t *pending[LG_JANUS_PENDING];
static int n_pending;

int lg_janus_use_ws(const char *host, int port, char *err, size_t errlen)
{
    ws = lg_ws_open(host, port, "/", "janus-protocol", err, errlen);
    return ws ? 0 : -ECONNREFUSED;
}

void lg_janus_close(void)
{
    lg_ws_close(ws);
    ws = NULL;
    for (int i = 0; i < n_pending; i++)
        json_decref(pending[i]);
    n_pending = 0;
}

static const char *verb(json_t *o);

/* The next message on the WebSocket, parsed; NULL on timeout or error. */
static json_t *ws_next(void)
{
    char *text = lg_ws_recv(ws);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return o;
}

/* An event that arrived while a reply was awaited, for wait_event.  With
 * many publishers in a room, Janus tells each of them about every new one:
 * when full, the oldest goes (nobody waits for those). */
static void keep_pending(json_t *o)
{
    if (n_pending == LG_JANUS_PENDING) {
        json_decref(pending[0]);
        memmove(pending, pending + 1, (size_t)(n_pending - 1) * sizeof(*pending));
        n_pending--;
    }
    pending[n_pending++] = o;
}

/* Send over the WebSocket and read until the reply to txn; events for
 * other requests met on the way are kept for wait_event. */
static json_t *ws_exchange(const char *text, const char *txn, char *err, size_t errlen)
{
    if (lg_ws_send(ws, text, strlen(text)) < 0) {
        snprintf(err, errlen, "ws: send failed");
        return NULL;
    }
    for (int i = 0; i < LG_JANUS_WS_SKIP; i++) {
        json_t *o = ws_next();
        if (!o) {
            snprintf(err, errlen, "ws: no reply to %s", txn);
            return NULL;
        }
        const char *t = json_string_value(json_object_get(o, "transaction"));
        if (t && strcmp(t, txn) == 0 && strcmp(verb(o), "event") != 0)
            return o;
        if (strcmp(verb(o), "event") == 0)
            keep_pending(o);
        else
            json_decref(o);
    }
    snprintf(err, errlen, "ws: no reply to %s", txn);
    return NULL;
}

/* Send a message (consumed) for session / handle (0: none): over the
 * WebSocket with the ids in the message, else POSTed to the REST path.
 * The parsed reply, or NULL with a reason. */
static json_t *post(const char *host, int port, uint64_t session, uint64_t handle, json_t *msg,
                    char *err, size_t errlen)
{
    char txn[32], path[96];
    char *text;
    lg_http_resp resp;
    json_t *reply = NULL;
    int rc;

    if (!msg) {
        snprintf(err, errlen, "json_pack");
        return NULL;
    }
    snprintf(txn, sizeof(txn), "lg%u", ++lg_janus_txn);
    json_object_set_new(msg, "transaction", json_string(txn));
    if (ws && session)
        json_object_set_new(msg, "session_id", json_integer((json_int_t)session));
    if (ws && handle)
        json_object_set_new(msg, "handle_id", json_integer((json_int_t)handle));
    text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) {
        snprintf(err, errlen, "json_dumps");
        return NULL;
    }
    if (ws) {
        reply = ws_exchange(text, txn, err, errlen);
        free(text);
        return reply;
    }
    if (handle)
        snprintf(path, sizeof(path), "/janus/%" PRIu64 "/%" PRIu64, session, handle);
    else if (session)
        snprintf(path, sizeof(path), "/janus/%" PRIu64, session);
    else
        snprintf(path, sizeof(path), "/janus");
    rc = lg_http_request(host, port, "POST", path, NULL, "application/json", text, strlen(text),
                         &resp);
    free(text);
    if (rc < 0 || resp.status != 200 || !resp.body) {
        snprintf(err, errlen, "POST %s: %s", path, rc < 0 ? strerror(-rc) : "HTTP error");
        goto out;
    }
    reply = json_loads(resp.body, 0, NULL);
    if (!reply)
        snprintf(err, errlen, "POST %s: reply is not JSON", path);
out:
    lg_http_resp_free(&resp);
    return reply;
}

static const char *verb(json_t *o)
{
    const char *v = json_string_value(json_object_get(o, "janus"));
    return v ? v : "";
}

/* A Janus-level error ({"janus":"error","error":{"reason"}}) into err. */
static bool janus_error(json_t *o, char *err, size_t errlen)
{
    if (strcmp(verb(o), "error") != 0)
        return false;
    const char *why = json_string_value(json_object_get(json_object_get(o, "error"), "reason"));

    snprintf(err, errlen, "janus: %s", why ? why : "error");
    return true;
}

static int take_id(json_t *reply, uint64_t *id, const char *what, char *err, size_t errlen)
{
    json_t *v = json_object_get(json_object_get(reply, "data"), "id");

    if (!reply || janus_error(reply, err, errlen))
        return -EPROTO;
    if (strcmp(verb(reply), "success") != 0 || !json_is_integer(v)) {
        snprintf(err, errlen, "%s: no id in the reply", what);
        return -EPROTO;
    }
    *id = (uint64_t)json_integer_value(v);
    return 0;
}

int lg_janus_open(const char *host, int port, uint64_t *session, uint64_t *handle, char *err,
                  size_t errlen)
{
    json_t *reply;
    int r;

    reply = post(host, port, 0, 0, json_pack("{ss}", "janus", "create"), err, errlen);
    r = take_id(reply, session, "create", err, errlen);
    json_decref(reply);
    if (r < 0)
        return r;
    reply = post(host, port, *session, 0,
                 json_pack("{ssss}", "janus", "attach", "plugin", "janus.plugin.videoroom"),
                 err, errlen);
    r = take_id(reply, handle, "attach", err, errlen);
    json_decref(reply);
    return r;
}

json_t *lg_janus_data(json_t *reply)
{
    return json_object_get(json_object_get(reply, "plugindata"), "data");
}

const char *lg_janus_jsep_sdp(json_t *reply, const char *type)
{
    json_t *jsep = json_object_get(reply, "jsep");
    const char *t = json_string_value(json_object_get(jsep, "type"));

    if (!t || strcmp(t, type) != 0)
        return NULL;
    return json_string_value(json_object_get(jsep, "sdp"));
}

/* The plugin's own error ({"videoroom":"event","error_code":N,"error":..}). */
static json_t *plugin_result(json_t *o, char *err, size_t errlen)
{
    json_t *data = lg_janus_data(o);

    if (json_object_get(data, "error_code")) {
        const char *why = json_string_value(json_object_get(data, "error"));
        snprintf(err, errlen, "videoroom %d: %s",
                 (int)json_integer_value(json_object_get(data, "error_code")),
                 why ? why : "error");
        json_decref(o);
        return NULL;
    }
    return o;
}

static bool handle_event(json_t *ev, uint64_t handle)
{
    json_t *sender = json_object_get(ev, "sender");
    return strcmp(verb(ev), "event") == 0 && json_is_integer(sender) &&
           (uint64_t)json_integer_value(sender) == handle && lg_janus_data(ev);
}

/* The WebSocket's next event from `handle` with plugin data. */
static json_t *ws_wait_event(uint64_t handle, char *err, size_t errlen)
{
    for (int i = 0; i < n_pending; i++) {
        if (handle_event(pending[i], handle)) {
            json_t *ev = pending[i];
            memmove(pending + i, pending + i + 1, (size_t)(n_pending - i - 1) * sizeof(*pending));
            n_pending--;
            return plugin_result(ev, err, errlen);
        }
    }
    for (int i = 0; i < LG_JANUS_WS_SKIP; i++) {
        json_t *ev = ws_next();
        if (!ev)
            break;
        if (handle_event(ev, handle))
            return plugin_result(ev, err, errlen);
        json_decref(ev); /* webrtcup, media, another handle's event */
    }
    snprintf(err, errlen, "ws: no event for the request");
    return NULL;
}

/* Long-poll the session until an event from `handle` with plugin data. */
static json_t *wait_event(const char *host, int port, uint64_t session, uint64_t handle,
                          char *err, size_t errlen)
{
    char path[96];

    if (ws)
        return ws_wait_event(handle, err, errlen);

    snprintf(path, sizeof(path), "/janus/%" PRIu64 "?maxev=1", session);
    for (int i = 0; i < LG_JANUS_POLLS; i++) {
        lg_http_resp resp;
        json_t *ev = NULL;
        int rc = lg_http_request(host, port, "GET", path, NULL, NULL, NULL, 0, &resp);

        if (rc == 0 && resp.status == 200 && resp.body)
            ev = json_loads(resp.body, 0, NULL);
        lg_http_resp_free(&resp);
        if (!ev) {
            snprintf(err, errlen, "GET %s: %s", path, rc < 0 ? strerror(-rc) : "no event");
            return NULL;
        }
        /* maxev=1 gives one object; older servers wrap it in an array. */
        if (json_is_array(ev)) {
            json_t *first = json_incref(json_array_get(ev, 0));
            json_decref(ev);
            ev = first;
            if (!ev)
                continue;
        }
        if (handle_event(ev, handle))
            return plugin_result(ev, err, errlen);
        json_decref(ev);  /* keepalive, webrtcup, media, another handle's event */
    }
    snprintf(err, errlen, "no event for the request after %d polls", LG_JANUS_POLLS);
    return NULL;
}

json_t *lg_janus_request(const char *host, int port, uint64_t session, uint64_t handle,
                         json_t *body, const char *jsep_type, const char *jsep_sdp, char *err,
                         size_t errlen)
{
    json_t *msg = json_pack("{sssO}", "janus", "message", "body", body), *reply;

    if (msg && jsep_type)
        json_object_set_new(msg, "jsep",
                            json_pack("{ssss}", "type", jsep_type, "sdp", jsep_sdp));
    reply = post(host, port, session, handle, msg, err, errlen);
    if (!reply || janus_error(reply, err, errlen)) {
        json_decref(reply);
        return NULL;
    }
    if (strcmp(verb(reply), "success") == 0)
        return plugin_result(reply, err, errlen);
    if (strcmp(verb(reply), "ack") != 0) {
        snprintf(err, errlen, "unexpected reply \"%s\"", verb(reply));
        json_decref(reply);
        return NULL;
    }
    json_decref(reply);
    return wait_event(host, port, session, handle, err, errlen);
}

int lg_janus_destroy(const char *host, int port, uint64_t session)
{
    char err[128];
    json_t *reply;
    int status;

    reply = post(host, port, session, 0, json_pack("{ss}", "janus", "destroy"), err, sizeof(err));
    status = reply && strcmp(verb(reply), "success") == 0 ? 200 : 0;
    json_decref(reply);
    return status;
}

void lg_janus_drain(void)
{
    struct pollfd pfd;

    if (!ws)
        return;
    pfd = (struct pollfd){.fd = lg_ws_fd(ws), .events = POLLIN};
    while (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN)) {
        json_t *o = ws_next();
        if (!o)
            return;
        if (strcmp(verb(o), "event") == 0)
            keep_pending(o);
        else
            json_decref(o);
    }
}

int lg_janus_create_room(const char *host, int port, uint64_t session, uint64_t handle,
                         uint64_t room, int publishers, char *err, size_t errlen)
{
    /* bitrate 0 and fir_freq 0: no REMB cap and no periodic keyframe
     * requests, as Stagecast (keyframes only when a viewer needs one). */
    json_t *body = json_pack("{sssIsisssssisi}", "request", "create", "room", (json_int_t)room,
                             "publishers", publishers, "videocodec", "vp8", "audiocodec", "opus",
                             "bitrate", 0, "fir_freq", 0);
    json_t *ev = lg_janus_request(host, port, session, handle, body, NULL, NULL, err, errlen);
    json_decref(body);
    if (!ev)
        return -EPROTO;
    json_decref(ev);
    return 0;
}

int lg_janus_publish(const char *host, int port, lg_peer *p, uint64_t room, const char *display,
                     const char *fingerprint, sc_sdp *scratch, uint64_t *feed, char *err,
                     size_t errlen)
{
    const char *answer;
    char *offer = NULL;
    json_t *body, *ev = NULL;
    int rc = -EPROTO;

    if (!p->janus_session &&
        lg_janus_open(host, port, &p->janus_session, &p->janus_handle, err, errlen) < 0)
        return -EPROTO;
    offer = lg_peer_offer(p, fingerprint);
    body = json_pack("{sssssIss}", "request", "joinandconfigure", "ptype", "publisher", "room",
                     (json_int_t)room, "display", display);
    ev = lg_janus_request(host, port, p->janus_session, p->janus_handle, body, "offer", offer, err,
                          errlen);
    json_decref(body);
    if (!ev)
        goto out;
    answer = lg_janus_jsep_sdp(ev, "answer");
    if (!answer) {
        snprintf(err, errlen, "joined without a JSEP answer");
        goto out;
    }
    *feed = (uint64_t)json_integer_value(json_object_get(lg_janus_data(ev), "id"));
    rc = lg_peer_set_answer(p, answer, strlen(answer), scratch, err, errlen);
out:
    json_decref(ev);
    free(offer);
    return rc;
}

int lg_janus_subscribe(const char *host, int port, lg_peer *p, uint64_t room,
                       const uint64_t *feeds, int n, const char *fingerprint, sc_sdp *scratch,
                       char *err, size_t errlen)
{
    const char *offer;
    char *answer = NULL;
    json_t *body, *streams = json_array(), *ev = NULL;
    int rc = -EPROTO;

    for (int k = 0; k < n; k++)
        json_array_append_new(streams, json_pack("{sI}", "feed", (json_int_t)feeds[k]));
    if (lg_janus_open(host, port, &p->janus_session, &p->janus_handle, err, errlen) < 0)
        goto out;
    body = json_pack("{sssssIsO}", "request", "join", "ptype", "subscriber", "room",
                     (json_int_t)room, "streams", streams);
    ev = lg_janus_request(host, port, p->janus_session, p->janus_handle, body, NULL, NULL, err,
                          errlen);
    json_decref(body);
    if (!ev)
        goto out;
    offer = lg_janus_jsep_sdp(ev, "offer");
    if (!offer) {
        snprintf(err, errlen, "attached without a JSEP offer");
        goto out;
    }
    answer = lg_peer_answer(p, offer, strlen(offer), scratch, fingerprint, err, errlen);
    if (!answer)
        goto out;
    json_decref(ev);
    body = json_pack("{ss}", "request", "start");
    ev = lg_janus_request(host, port, p->janus_session, p->janus_handle, body, "answer", answer,
                          err, errlen);
    json_decref(body);
    rc = ev ? 0 : -EPROTO;
out:
    json_decref(ev);
    json_decref(streams);
    free(answer);
    return rc;
}
