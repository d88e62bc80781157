#include "signaling/api/router.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sfu/proto/bytes.h"

/* Types hash by name into a small open table; a few dozen commands in all. */
#define ROUTER_BUCKETS 128
#define PARAM_NAME_MAX 48

typedef struct route_node {
    const sc_command *cmd;
    struct route_node *next;
} route_node;

struct sc_router {
    route_node *buckets[ROUTER_BUCKETS];
    size_t n;
};

static size_t type_hash(const char *s)
{
    return (size_t)(sc_fnv1a(s, strlen(s)) % ROUTER_BUCKETS);
}

sc_router *sc_router_new(void)
{
    return calloc(1, sizeof(sc_router));
}

void sc_router_free(sc_router *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < ROUTER_BUCKETS; i++) {
        for (route_node *n = r->buckets[i], *next; n; n = next) {
            next = n->next;
            free(n);
        }
    }
    free(r);
}

const sc_command *sc_router_find(const sc_router *r, const char *type)
{
    for (const route_node *n = r->buckets[type_hash(type)]; n; n = n->next)
        if (strcmp(n->cmd->type, type) == 0)
            return n->cmd;
    return NULL;
}

size_t sc_router_count(const sc_router *r)
{
    return r->n;
}

/* One `name:T[?]` item of a spec: *p advances past it and its spaces.
 * 1 with the parts filled, 0 at the end, -1 when malformed. */
static int next_param(const char **p, char name[PARAM_NAME_MAX], char *type, bool *optional)
{
    const char *s = *p, *colon;
    size_t len;

    while (*s == ' ')
        s++;
    if (!*s)
        return 0;
    colon = strchr(s, ':');
    if (!colon || colon == s || (len = (size_t)(colon - s)) >= PARAM_NAME_MAX ||
        memchr(s, ' ', len))
        return -1;
    memcpy(name, s, len);
    name[len] = '\0';
    *type = colon[1];
    if (!strchr("sinboa*", *type) || !*type)
        return -1;
    s = colon + 2;
    *optional = *s == '?';
    if (*optional)
        s++;
    if (*s && *s != ' ')
        return -1;
    *p = s;
    return 1;
}

bool sc_router_spec_ok(const char *params)
{
    char name[PARAM_NAME_MAX], type;
    bool optional;
    int r;

    while (params && (r = next_param(&params, name, &type, &optional)) != 0)
        if (r < 0)
            return false;
    return true;
}

static bool type_ok(const json_t *v, char type)
{
    switch (type) {
    case 's': return json_is_string(v);
    case 'i': return json_is_integer(v);
    case 'n': return json_is_number(v);
    case 'b': return json_is_boolean(v);
    case 'o': return json_is_object(v);
    case 'a': return json_is_array(v);
    default: return true;
    }
}

static const char *type_name(char type)
{
    switch (type) {
    case 's': return "string";
    case 'i': return "integer";
    case 'n': return "number";
    case 'b': return "true or false";
    case 'o': return "object";
    case 'a': return "array";
    default: return "any value";
    }
}

bool sc_router_check(const sc_command *cmd, const json_t *msg, char *err, size_t errlen)
{
    const char *p = cmd->params;
    char name[PARAM_NAME_MAX], type;
    bool optional;

    while (p && next_param(&p, name, &type, &optional) > 0) {
        const json_t *v = json_object_get(msg, name);
        if ((!v && optional) || (v && type_ok(v, type)))
            continue;
        snprintf(err, errlen, "%s needs \"%s\" (%s%s)", cmd->type, name, type_name(type),
                 optional ? ", optional" : "");
        return false;
    }
    return true;
}

int sc_router_add(sc_router *r, const sc_command *cmds, size_t n)
{
    route_node *added[256];

    if (n > sizeof(added) / sizeof(added[0]))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!sc_router_spec_ok(cmds[i].params)) {
            SC_ERROR("router", "command %s: bad parameter spec \"%s\"", cmds[i].type,
                     cmds[i].params);
            return -EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(cmds[i].type, cmds[j].type) == 0)
                goto dup;
        if (sc_router_find(r, cmds[i].type))
            goto dup;
        continue;
    dup:
        SC_ERROR("router", "command %s registered twice", cmds[i].type);
        return -EEXIST;
    }
    for (size_t i = 0; i < n; i++) {
        route_node **head = &r->buckets[type_hash(cmds[i].type)];
        if (!(added[i] = malloc(sizeof(*added[i])))) {
            for (size_t j = 0; j < i; j++) {
                /* undo: each is still the head of its own chain */
                route_node **h = &r->buckets[type_hash(cmds[j].type)];
                while (*h != added[j])
                    h = &(*h)->next;
                *h = added[j]->next;
                free(added[j]);
            }
            r->n -= i;
            return -ENOMEM;
        }
        added[i]->cmd = &cmds[i];
        added[i]->next = *head;
        *head = added[i];
        r->n++;
    }
    return 0;
}
