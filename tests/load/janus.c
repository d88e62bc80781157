/* Janus REST signalling: every message is a JSON object with a "janus" verb
 * and a transaction; plugin replies come either at once ("success") or as an
 * "ack" followed by an "event" delivered on GET /janus/<session> (long
 * poll).  The loadgen signs peers in one at a time, so a poll only ever
 * waits for the request just sent. */
#include "janus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define LG_JANUS_POLLS 50  /* events skipped before giving up on one request */

static unsigned lg_janus_txn;

/* POST a message (consumed) to path; the parsed reply or NULL with a reason. */
static json_t *post(const char *host, int port, const char *path, json_t *msg, char *err,
                    size_t errlen)
{
    char txn[32];
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
    text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) {
        snprintf(err, errlen, "json_dumps");
        return NULL;
    }
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
    char path[64];
    json_t *reply;
    int r;

    reply = post(host, port, "/janus", json_pack("{ss}", "janus", "create"), err, errlen);
    r = take_id(reply, session, "create", err, errlen);
    json_decref(reply);
    if (r < 0)
        return r;
    snprintf(path, sizeof(path), "/janus/%" PRIu64, *session);
    reply = post(host, port, path,
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

/* Long-poll the session until an event from `handle` with plugin data. */
static json_t *wait_event(const char *host, int port, uint64_t session, uint64_t handle,
                          char *err, size_t errlen)
{
    char path[96];

    snprintf(path, sizeof(path), "/janus/%" PRIu64 "?maxev=1", session);
    for (int i = 0; i < LG_JANUS_POLLS; i++) {
        lg_http_resp resp;
        json_t *ev = NULL, *sender;
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
        sender = json_object_get(ev, "sender");
        if (strcmp(verb(ev), "event") == 0 && json_is_integer(sender) &&
            (uint64_t)json_integer_value(sender) == handle && lg_janus_data(ev))
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
    char path[96];
    json_t *msg = json_pack("{sssO}", "janus", "message", "body", body), *reply;

    if (msg && jsep_type)
        json_object_set_new(msg, "jsep",
                            json_pack("{ssss}", "type", jsep_type, "sdp", jsep_sdp));
    snprintf(path, sizeof(path), "/janus/%" PRIu64 "/%" PRIu64, session, handle);
    reply = post(host, port, path, msg, err, errlen);
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
    char path[64], err[128];
    json_t *reply;
    int status;

    snprintf(path, sizeof(path), "/janus/%" PRIu64, session);
    reply = post(host, port, path, json_pack("{ss}", "janus", "destroy"), err, sizeof(err));
    status = reply && strcmp(verb(reply), "success") == 0 ? 200 : 0;
    json_decref(reply);
    return status;
}
