/* A tiny blocking WebSocket client (RFC 6455) for the load generator's
 * signalling (Janus's API, Stagecast's /ws): text messages, loopback and
 * the benchmark's namespaces only.  Written here rather than with
 * libwebsockets' event-driven client because the loadgen signs peers in
 * one blocking request at a time. */
#ifndef LG_WS_H
#define LG_WS_H

#include <stddef.h>

typedef struct lg_ws lg_ws;

/* Connect and upgrade GET path, asking for the subprotocol unless it is
 * NULL.  NULL with a reason. */
lg_ws *lg_ws_open(const char *host, int port, const char *path, const char *protocol, char *err,
                  size_t errlen);
void lg_ws_close(lg_ws *ws);

/* One text message.  0 or a negative errno. */
int lg_ws_send(lg_ws *ws, const char *text, size_t len);

/* The next text message (malloc'd, NUL-terminated; caller frees), answering
 * pings on the way.  NULL on timeout (10 s), close or error. */
char *lg_ws_recv(lg_ws *ws);

/* The connection's socket, to poll for a message before lg_ws_recv. */
int lg_ws_fd(const lg_ws *ws);

#endif
