/* The in-process event bus: domain events (a publisher went live, a chat
 * message was posted, a recording is ready...) published by the module
 * where they happen and delivered to every module that subscribed, so the
 * producer does not name its consumers.  Today the WebSocket broadcasts and
 * the recordings catalog listen; webhooks, analytics, metrics and a cluster
 * bridge are meant to subscribe the same way.
 *
 * Signalling thread only.  Delivery is synchronous, in subscription order;
 * a handler may publish (the nested event is delivered before publish
 * returns) and may unsubscribe any subscription, its own included. */
#ifndef SC_BUS_H
#define SC_BUS_H

#include <jansson.h>
#include <stdint.h>

#define SC_BUS_TOPICS(X)                                                        \
    X(PUBLISHER_JOINED, "publisher_joined") /* session, slot, name, user */     \
    X(PUBLISHER_LEFT, "publisher_left")                                         \
    X(VIEWERS_CHANGED, "viewers_changed")   /* count */                         \
    X(ACTIVE_SPEAKER, "active_speaker")     /* slot (-1: nobody) */             \
    X(SESSION_OPENED, "session_opened")     /* session, kind, user */           \
    X(SESSION_CONNECTED, "session_connected")                                   \
    X(SESSION_CLOSED, "session_closed")     /* reason */                        \
    X(MEMBER_JOINED, "member_joined")       /* a /ws client joined: user */     \
    X(MEMBER_LEFT, "member_left")                                               \
    X(CHAT_POSTED, "chat_posted")           /* data: the message as sent */     \
    X(RECORDING_READY, "recording_ready")   /* data: the catalog row */

typedef enum sc_bus_topic {
#define SC_BUS_ENUM(id, name) SC_BUS_##id,
    SC_BUS_TOPICS(SC_BUS_ENUM)
#undef SC_BUS_ENUM
    SC_BUS_N_TOPICS
} sc_bus_topic;

typedef struct sc_bus_event {
    sc_bus_topic topic;
    const char *room;
    uint64_t session_id;     /* 0 when the topic has none */
    int kind;                /* sc_session_kind, session topics */
    int slot;                /* stage slot; -1 for none */
    int count;               /* VIEWERS_CHANGED */
    const char *name;        /* display name, or NULL */
    const char *user_id;     /* token subject, or NULL */
    const char *reason;      /* SESSION_CLOSED */
    const json_t *data;      /* topic payload, borrowed; may be NULL */
    int64_t ts_ms;           /* wall clock; 0 = stamped by publish */
} sc_bus_event;

typedef struct sc_bus sc_bus;
typedef void (*sc_bus_fn)(void *ud, const sc_bus_event *ev);

sc_bus *sc_bus_new(void);
void sc_bus_free(sc_bus *b);
/* A subscription id (> 0), or -ENOMEM / -EINVAL. */
int sc_bus_subscribe(sc_bus *b, sc_bus_topic topic, sc_bus_fn fn, void *ud);
/* No-op for an unknown id. */
void sc_bus_unsubscribe(sc_bus *b, int id);
void sc_bus_publish(sc_bus *b, const sc_bus_event *ev);
/* Events published on topic so far. */
uint64_t sc_bus_count(const sc_bus *b, sc_bus_topic topic);
const char *sc_bus_topic_name(sc_bus_topic topic);

#endif
