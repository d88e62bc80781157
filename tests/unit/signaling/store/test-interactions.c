/* signaling/store/interactions.c: reading a room's interactions back, by
 * kind and after an id (what a room's state is rebuilt from after a
 * restart), and as the last N of one kind. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/store/store.h"
#include "tests/unit/sc_test.h"

static char dir[] = "/tmp/sc-test-interactions-XXXXXX";

/* The rows a read saw, as "id:kind:user:data;" in order. */
typedef struct seen {
    char text[1024];
    int64_t ids[32];
    int n;
} seen;

static void collect(void *ud, const sc_store_interaction *row)
{
    seen *s = ud;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%s:%s:%s;", row->kind,
             row->user_id ? row->user_id : "-", row->data);
    if (s->n < 32)
        s->ids[s->n] = row->id;
    s->n++;
}

static int64_t add(sc_store *st, const char *room, const char *kind, const char *uid,
                   const char *data)
{
    return sc_store_interaction_add(st, room, kind, uid, uid ? "Name" : NULL, 1000, 0, data);
}

int main(void)
{
    char err[256] = "", path[256];
    seen s;

    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof(path), "%s/stagecast.db", dir);
    sc_store *st = sc_store_open(path, err, sizeof(err));
    SC_CHECK(st != NULL);
    if (!st)
        return 1;

    int64_t poll = add(st, "a", "poll", "host", "{\"q\":1}");
    int64_t chat = add(st, "a", "chat", "u1", "{\"c\":1}");
    int64_t other = add(st, "b", "vote", "u1", "{\"other\":1}");
    int64_t open = add(st, "a", "poll_open", "host", "{\"o\":1}");
    int64_t vote = add(st, "a", "vote", "u1", "{\"v\":1}");
    add(st, "a", "likes", NULL, "{\"total\":3}");
    add(st, "a", "likes", NULL, "{\"total\":7}");
    SC_CHECK(poll > 0 && chat > poll && other > chat && open > other && vote > open);

    /* Several kinds in id order, other kinds and other rooms left out. */
    static const char *const poll_kinds[] = {"poll", "poll_open", "vote", "poll_close"};
    memset(&s, 0, sizeof(s));
    SC_CHECK_INT(sc_store_interactions_since(st, "a", poll_kinds, 4, 0, collect, &s), 3);
    SC_CHECK_STR(s.text, "poll:host:{\"q\":1};poll_open:host:{\"o\":1};vote:u1:{\"v\":1};");
    SC_CHECK_INT(s.ids[0], poll);
    SC_CHECK_INT(s.ids[2], vote);

    /* After an id: only the later rows. */
    memset(&s, 0, sizeof(s));
    SC_CHECK_INT(sc_store_interactions_since(st, "a", poll_kinds, 4, open, collect, &s), 1);
    SC_CHECK_STR(s.text, "vote:u1:{\"v\":1};");

    /* One kind; a room with none. */
    memset(&s, 0, sizeof(s));
    SC_CHECK_INT(sc_store_interactions_since(st, "a", poll_kinds + 2, 1, 0, collect, &s), 1);
    SC_CHECK_INT(sc_store_interactions_since(st, "none", poll_kinds, 4, 0, collect, &s), 0);

    /* No kinds, or more than the statement takes, are refused. */
    static const char *const many[SC_STORE_KINDS_MAX + 1] = {"a", "b", "c", "d", "e",
                                                             "f", "g", "h", "i"};
    SC_CHECK_INT(sc_store_interactions_since(st, "a", poll_kinds, 0, 0, collect, &s), -EINVAL);
    SC_CHECK_INT(sc_store_interactions_since(st, "a", many, SC_STORE_KINDS_MAX + 1, 0, collect,
                                             &s),
                 -EINVAL);
    SC_CHECK_INT(sc_store_interactions_since(st, "a", many, SC_STORE_KINDS_MAX, 0, collect, &s),
                 0);
    SC_CHECK_INT(sc_store_interactions_since(NULL, "a", poll_kinds, 4, 0, collect, &s), -EIO);

    /* The last row of a kind (the likes total). */
    memset(&s, 0, sizeof(s));
    SC_CHECK_INT(sc_store_interactions(st, "a", "likes", 1, collect, &s), 1);
    SC_CHECK_STR(s.text, "likes:-:{\"total\":7};");

    /* Ids are never handed out again, even when the newest row is gone
     * and the database reopened: new polls and questions after a restart
     * cannot take a restored one's id. */
    int64_t newest = add(st, "a", "question", "u1", "{}");
    sc_store_close(st);
    {
        sqlite3 *db;
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM interactions WHERE id = %lld", (long long)newest);
        SC_CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        SC_CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(db);
    }
    st = sc_store_open(path, err, sizeof(err));
    SC_CHECK(st != NULL);
    if (st) {
        SC_CHECK(add(st, "a", "poll", "host", "{}") > newest);
        sc_store_close(st);
    }

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    SC_TEST_END();
}
