/* signaling/api/bus.c: delivery order, topics, counts, stamping, nested
 * publishes and unsubscribing during a delivery. */
#include <string.h>

#include "signaling/api/bus.h"
#include "tests/unit/sc_test.h"

typedef struct probe {
    sc_bus *bus;
    char log[256];
    int unsub;              /* subscription to drop when called, 0 = none */
    int republish;          /* publish VIEWERS_CHANGED from inside, once */
    int64_t last_ts;
    const char *last_room;
} probe;

static void note(probe *p, const char *what, const sc_bus_event *ev)
{
    size_t n = strlen(p->log);
    snprintf(p->log + n, sizeof(p->log) - n, "%s:%s ", what, sc_bus_topic_name(ev->topic));
    p->last_ts = ev->ts_ms;
    p->last_room = ev->room;
}

static void first(void *ud, const sc_bus_event *ev)
{
    probe *p = ud;
    note(p, "a", ev);
    if (p->unsub) {
        sc_bus_unsubscribe(p->bus, p->unsub);
        p->unsub = 0;
    }
    if (p->republish) {
        p->republish = 0;
        sc_bus_publish(p->bus, &(sc_bus_event){.topic = SC_BUS_VIEWERS_CHANGED, .room = "r"});
    }
}

static void second(void *ud, const sc_bus_event *ev)
{
    note(ud, "b", ev);
}

int main(void)
{
    sc_bus *b = sc_bus_new();
    probe p = {.bus = b};
    int ida, idb, idc;

    SC_CHECK(b != NULL);
    SC_CHECK_STR(sc_bus_topic_name(SC_BUS_CHAT_POSTED), "chat_posted");
    SC_CHECK_STR(sc_bus_topic_name(SC_BUS_N_TOPICS), "unknown");
    SC_CHECK(sc_bus_subscribe(b, SC_BUS_N_TOPICS, first, &p) < 0);
    SC_CHECK(sc_bus_subscribe(b, SC_BUS_CHAT_POSTED, NULL, &p) < 0);

    ida = sc_bus_subscribe(b, SC_BUS_PUBLISHER_JOINED, first, &p);
    idb = sc_bus_subscribe(b, SC_BUS_PUBLISHER_JOINED, second, &p);
    idc = sc_bus_subscribe(b, SC_BUS_VIEWERS_CHANGED, second, &p);
    SC_CHECK(ida > 0 && idb > ida && idc > idb);

    /* subscription order, only the topic's subscribers, stamped */
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED, .room = "demo"});
    SC_CHECK_STR(p.log, "a:publisher_joined b:publisher_joined ");
    SC_CHECK(p.last_ts > 0);
    SC_CHECK_STR(p.last_room, "demo");
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED, .ts_ms = 42});
    SC_CHECK(p.last_ts == 42); /* a given time is kept */
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_CHAT_POSTED});
    SC_CHECK_INT((int)sc_bus_count(b, SC_BUS_PUBLISHER_JOINED), 2);
    SC_CHECK_INT((int)sc_bus_count(b, SC_BUS_CHAT_POSTED), 1); /* counted without listeners */
    SC_CHECK_INT((int)sc_bus_count(b, SC_BUS_SESSION_CLOSED), 0);

    /* a nested publish is delivered before the outer one goes on */
    p.log[0] = '\0';
    p.republish = 1;
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED});
    SC_CHECK_STR(p.log, "a:publisher_joined b:viewers_changed b:publisher_joined ");

    /* unsubscribing the next listener during a delivery: it is not called,
     * now or later */
    p.log[0] = '\0';
    p.unsub = idb;
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED});
    SC_CHECK_STR(p.log, "a:publisher_joined ");
    p.log[0] = '\0';
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED});
    SC_CHECK_STR(p.log, "a:publisher_joined ");

    /* a listener dropping itself; unknown ids are ignored */
    p.log[0] = '\0';
    p.unsub = ida;
    sc_bus_unsubscribe(b, 9999);
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED});
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_PUBLISHER_JOINED});
    SC_CHECK_STR(p.log, "a:publisher_joined ");

    /* many subscriptions (the table grows) keep their order */
    p.log[0] = '\0';
    for (int i = 0; i < 40; i++)
        SC_CHECK(sc_bus_subscribe(b, SC_BUS_MEMBER_LEFT, i % 2 ? second : first, &p) > 0);
    sc_bus_publish(b, &(sc_bus_event){.topic = SC_BUS_MEMBER_LEFT});
    SC_CHECK(strncmp(p.log, "a:member_left b:member_left a:member_left ", 42) == 0);

    sc_bus_free(b);
    SC_TEST_END();
}
