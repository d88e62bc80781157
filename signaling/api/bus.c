#include "signaling/api/bus.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/clock.h"

typedef struct sub {
    int id;
    sc_bus_topic topic;
    sc_bus_fn fn;
    void *ud;
    bool dead;               /* unsubscribed during a delivery */
} sub;

struct sc_bus {
    sub *subs;               /* in subscription order */
    size_t n, cap;
    int next_id;
    int depth;               /* deliveries in progress (nested publishes) */
    bool has_dead;
    uint64_t counts[SC_BUS_N_TOPICS];
};

static const char *const topic_names[] = {
#define SC_BUS_NAME(id, name) name,
    SC_BUS_TOPICS(SC_BUS_NAME)
#undef SC_BUS_NAME
};

const char *sc_bus_topic_name(sc_bus_topic topic)
{
    return (unsigned)topic < SC_BUS_N_TOPICS ? topic_names[topic] : "unknown";
}

sc_bus *sc_bus_new(void)
{
    return calloc(1, sizeof(sc_bus));
}

void sc_bus_free(sc_bus *b)
{
    if (!b)
        return;
    free(b->subs);
    free(b);
}

int sc_bus_subscribe(sc_bus *b, sc_bus_topic topic, sc_bus_fn fn, void *ud)
{
    if ((unsigned)topic >= SC_BUS_N_TOPICS || !fn)
        return -EINVAL;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        sub *ns = realloc(b->subs, cap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        b->subs = ns;
        b->cap = cap;
    }
    b->subs[b->n] = (sub){.id = ++b->next_id, .topic = topic, .fn = fn, .ud = ud};
    return b->subs[b->n++].id;
}

/* Drops dead subscriptions; only between deliveries, so indexes held by a
 * delivery in progress stay valid. */
static void sweep(sc_bus *b)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (!b->subs[i].dead)
            b->subs[k++] = b->subs[i];
    b->n = k;
    b->has_dead = false;
}

void sc_bus_unsubscribe(sc_bus *b, int id)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->subs[i].id == id && !b->subs[i].dead) {
            b->subs[i].dead = true;
            b->has_dead = true;
            break;
        }
    }
    if (b->depth == 0 && b->has_dead)
        sweep(b);
}

void sc_bus_publish(sc_bus *b, const sc_bus_event *ev)
{
    sc_bus_event stamped;
    size_t n;

    if ((unsigned)ev->topic >= SC_BUS_N_TOPICS)
        return;
    stamped = *ev;
    if (!stamped.ts_ms)
        stamped.ts_ms = sc_wall_ms();
    b->counts[ev->topic]++;
    /* Subscriptions made during this delivery start with the next event:
     * n is fixed now (a realloc moves subs, so index, never hold a pointer). */
    n = b->n;
    b->depth++;
    for (size_t i = 0; i < n; i++) {
        if (b->subs[i].dead || b->subs[i].topic != ev->topic)
            continue;
        b->subs[i].fn(b->subs[i].ud, &stamped);
    }
    if (--b->depth == 0 && b->has_dead)
        sweep(b);
}

uint64_t sc_bus_count(const sc_bus *b, sc_bus_topic topic)
{
    return (unsigned)topic < SC_BUS_N_TOPICS ? b->counts[topic] : 0;
}
