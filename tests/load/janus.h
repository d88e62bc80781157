/* Janus 1.1 signalling for the load generator (--target janus): the
 * VideoRoom plugin over Janus's WebSocket API (janus.transport.websockets,
 * one connection, lg_janus_use_ws) or its REST API (janus.transport.http,
 * one request per TCP connection), blocking.  Only what the benchmark
 * needs: a session and a handle per peer, plugin requests with an optional
 * JSEP, and the events that carry their asynchronous answers. */
#ifndef LG_JANUS_H
#define LG_JANUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "peer.h"

/* From now on talk to Janus over its WebSocket API at host:port
 * (subprotocol janus-protocol) instead of REST.  0 or a negative errno. */
int lg_janus_use_ws(const char *host, int port, char *err, size_t errlen);
/* Close the WebSocket (after the last destroy). */
void lg_janus_close(void);

/* {"janus":"create"}, then attach janus.plugin.videoroom.
 * 0 or a negative errno with a reason in err. */
int lg_janus_open(const char *host, int port, uint64_t *session, uint64_t *handle, char *err,
                  size_t errlen);

/* A VideoRoom request (`body`, borrowed) on the handle, with a JSEP
 * ("offer"/"answer" + sdp) when jsep_type is not NULL.  A synchronous reply
 * returns at once; an "ack" is followed by long-polls of the session until
 * the handle's plugin event arrives (other events are skipped).  Returns the
 * whole reply or event (json_decref it), or NULL with a reason in err; a
 * VideoRoom error ("error_code" in plugindata) is also NULL. */
json_t *lg_janus_request(const char *host, int port, uint64_t session, uint64_t handle,
                         json_t *body, const char *jsep_type, const char *jsep_sdp, char *err,
                         size_t errlen);

/* plugindata.data of a reply or event (borrowed), NULL when absent. */
json_t *lg_janus_data(json_t *reply);
/* jsep.sdp of an event (borrowed), NULL when absent. */
const char *lg_janus_jsep_sdp(json_t *reply, const char *type);

/* {"janus":"destroy"}: 200 when Janus says success, 0 when the exchange
 * failed or Janus refused. */
int lg_janus_destroy(const char *host, int port, uint64_t session);

/* Read what Janus sent on the WebSocket meanwhile, without waiting (events
 * are kept for a later request as while one is awaited).  Long runs call it
 * so that Janus's pushes never fill the socket.  A no-op over REST. */
void lg_janus_drain(void);

/* VideoRoom "create" of room `room` (VP8 and Opus, at most `publishers`,
 * no REMB cap, no periodic keyframe requests) on an open handle.  0 or a
 * negative errno with a reason in err. */
int lg_janus_create_room(const char *host, int port, uint64_t session, uint64_t handle,
                         uint64_t room, int publishers, char *err, size_t errlen);

/* Publisher p signs in: a session and handle of its own (p->janus_*), then
 * "joinandconfigure" in room with p's offer; the answer goes into p and
 * the feed id into *feed.  0 or a negative errno with a reason in err. */
int lg_janus_publish(const char *host, int port, lg_peer *p, uint64_t room, const char *display,
                     const char *fingerprint, sc_sdp *scratch, uint64_t *feed, char *err,
                     size_t errlen);

/* Viewer p subscribes to feeds[0..n) of room: a session and handle of its
 * own, "join" as subscriber, p answers Janus's offer (lg_peer_answer),
 * "start".  0 or a negative errno with a reason in err. */
int lg_janus_subscribe(const char *host, int port, lg_peer *p, uint64_t room,
                       const uint64_t *feeds, int n, const char *fingerprint, sc_sdp *scratch,
                       char *err, size_t errlen);

#endif
