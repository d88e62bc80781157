/* The message router: which module handles a message type, what the
 * message must carry, and who may send it.  Transport-neutral: the /ws
 * WebSocket and the sessions' data channels (ws.c) deliver messages through
 * it today, a cluster bus could tomorrow.
 *
 * Each module describes its commands as a table of sc_command rows in its
 * own file and registers it at start-up (app.c); the router refuses a type
 * registered twice.  Before a handler runs, the connection's transport has
 * checked the join and the permission, and sc_router_check has checked the
 * parameters the row describes, so handlers read those fields without
 * validating their presence or JSON type again. */
#ifndef SC_ROUTER_H
#define SC_ROUTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_ws_client sc_ws_client; /* the connection (ws.h) */

typedef void (*sc_cmd_fn)(sc_ws_client *c, json_t *msg, json_t *id);

/* One row of a module's command table.
 *
 * params describes the message's fields: space-separated `name:T`, with T
 * one of s (string), i (integer), n (number), b (boolean), o (object),
 * a (array), * (any), and a trailing `?` for an optional field; for example
 * "session:s slot:i temporal:i?".  NULL: the handler checks its own fields.
 * Fields not named are ignored ("type" and "id" always are). */
typedef struct sc_command {
    const char *type;
    sc_cmd_fn fn;
    uint32_t perm;        /* the token permission the sender needs, 0 = none */
    bool needs_join;      /* `join` must come first */
    const char *action;   /* what the sender was doing, for log lines */
    const char *params;
} sc_command;

typedef struct sc_router sc_router;

sc_router *sc_router_new(void);
void sc_router_free(sc_router *r);
/* Register a table (borrowed: it must outlive the router, normally static).
 * 0; -EEXIST when a type is already registered or -EINVAL when a params
 * spec does not parse (both logged, nothing of the table is added);
 * -ENOMEM. */
int sc_router_add(sc_router *r, const sc_command *cmds, size_t n);
/* The row for type, or NULL. */
const sc_command *sc_router_find(const sc_router *r, const char *type);
size_t sc_router_count(const sc_router *r);
/* Checks msg against cmd->params: true, or false with a message for the
 * sender in err ("need \"slot\" (integer)"). */
bool sc_router_check(const sc_command *cmd, const json_t *msg, char *err, size_t errlen);
/* Whether a params spec parses (NULL does). */
bool sc_router_spec_ok(const char *params);

#endif
