/* The organiser's lists of an event: its whitelist (CSV import), its
 * invite codes (made in batches, exported) and its registrations (listed,
 * exported, approved or rejected). */
#include "signaling/events/private.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "signaling/store/store.h"

#define REJECTS_SHOWN 20
#define INVITES_MAX 10000            /* codes made by one request */
#define INVITE_USES_MAX 100000

typedef struct reg_list {
    json_t *arr;
    int64_t last_id;
    json_t *form;
    char *csv;
    size_t len, cap;
} reg_list;

typedef struct invite_list {
    json_t *arr;
    char *csv;
    size_t len, cap;
} invite_list;

static void csv_cell(reg_list *l, const char *v, bool last)
{
    size_t need = strlen(v) * 2 + 8;
    if (l->len + need > l->cap) {
        size_t cap = l->cap ? l->cap : 4096;
        while (cap < l->len + need)
            cap *= 2;
        char *csv = realloc(l->csv, cap);
        if (!csv)
            return;
        l->csv = csv;
        l->cap = cap;
    }
    /* Quoted, quotes doubled; a leading = + - @ TAB or CR is defused with
     * a quote so a spreadsheet shows it as text. */
    l->csv[l->len++] = '"';
    if (strchr("=+-@\t\r", v[0]) && v[0])
        l->csv[l->len++] = '\'';
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            l->csv[l->len++] = '"';
        l->csv[l->len++] = *p;
    }
    l->csv[l->len++] = '"';
    l->csv[l->len++] = last ? '\n' : ',';
}

static void reg_row(void *ud, const sc_store_registration *r)
{
    reg_list *l = ud;
    l->last_id = r->id;
    if (l->arr) {
        json_array_append_new(l->arr, sc__ev_reg_json(r, true));
        return;
    }
    char id[24], at[24];
    json_t *answers = json_loads(r->answers, 0, NULL);
    json_t *fields = json_object_get(l->form, "fields");
    snprintf(id, sizeof(id), "%lld", (long long)r->id);
    snprintf(at, sizeof(at), "%lld", (long long)r->created_at);
    csv_cell(l, id, false);
    csv_cell(l, r->state, false);
    csv_cell(l, r->name, false);
    csv_cell(l, at, json_array_size(fields) == 0);
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(fields, i), "name"));
        const char *v = json_string_value(json_object_get(answers, name));
        csv_cell(l, v ? v : "", i + 1 == json_array_size(fields));
    }
    json_decref(answers);
}

/* GET: every registration (JSON, or CSV with ?format=csv).  POST
 * {"ids": [...], "state": "approved"|"rejected"}: the organiser decides. */
void sc__ev_registrations_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                                sc_http_reply *rep)
{
    rep->action = "managing an event's registrations";
    if (req->method == SC_HTTP_GET || req->method == SC_HTTP_HEAD) {
        reg_list l = {0};
        char fmt[8] = "", state[12] = "";
        bool csv = sc_http_query_arg(req->query, "format", fmt, sizeof(fmt)) == 1 &&
                   strcmp(fmt, "csv") == 0;
        if (sc_http_query_arg(req->query, "state", state, sizeof(state)) < 0 ||
            (state[0] && strcmp(state, "pending") != 0 && strcmp(state, "approved") != 0 &&
             strcmp(state, "rejected") != 0)) {
            sc_http_error(rep, 400, "bad-request", "state must be pending, approved or rejected");
            return;
        }
        /* Pages (JSON only): ?limit=N (1-1000) after ?after=ID, the last id
         * of the previous page; "next" is there while more follow. */
        char lim_s[12] = "", after_s[24] = "";
        long long limit = 0, after = 0;
        char *end = NULL;
        if (sc_http_query_arg(req->query, "limit", lim_s, sizeof(lim_s)) < 0 ||
            (lim_s[0] && ((limit = strtoll(lim_s, &end, 10)) < 1 || limit > 1000 || *end))) {
            sc_http_error(rep, 400, "bad-request", "limit must be 1 to 1000");
            return;
        }
        if (sc_http_query_arg(req->query, "after", after_s, sizeof(after_s)) < 0 ||
            (after_s[0] && ((after = strtoll(after_s, &end, 10)) < 0 || *end))) {
            sc_http_error(rep, 400, "bad-request", "after must be a registration id");
            return;
        }
        if (csv)
            limit = after = 0; /* the export is the whole list */
        l.form = sc__ev_form_json(ev->registration);
        if (!csv) {
            l.arr = json_array();
        } else {
            json_t *fields = json_object_get(l.form, "fields");
            csv_cell(&l, "id", false);
            csv_cell(&l, "state", false);
            csv_cell(&l, "name", false);
            csv_cell(&l, "registered_at", json_array_size(fields) == 0);
            for (size_t i = 0; i < json_array_size(fields); i++)
                csv_cell(&l, json_string_value(json_object_get(json_array_get(fields, i), "label")),
                         i + 1 == json_array_size(fields));
        }
        /* one more than asked tells whether another page follows */
        int n = sc_store_registrations_list(app->store, ev->id, state[0] ? state : NULL, after,
                                            limit ? (int)limit + 1 : 0, reg_row, &l);
        json_t *next = json_null();
        if (n > 0 && limit && n > limit) {
            json_array_remove(l.arr, json_array_size(l.arr) - 1);
            next = json_integer(json_integer_value(
                json_object_get(json_array_get(l.arr, json_array_size(l.arr) - 1), "id")));
        }
        if (n < 0)
            sc_http_error(rep, 500, "internal", "cannot read the registrations");
        else if (!csv)
            sc_http_json(rep, 200, json_pack("{s:O,s:o}", "registrations", l.arr, "next", next));
        else {
            sc_http_body(rep, 200, "text/csv; charset=utf-8", l.csv ? l.csv : "", l.len);
            snprintf(rep->disposition, sizeof(rep->disposition),
                     "attachment; filename=\"%s-registrations.csv\"", ev->slug);
        }
        json_decref(l.arr);
        json_decref(l.form);
        free(l.csv);
        return;
    }
    if (req->method != SC_HTTP_POST) {
        sc_http_error(rep, 405, "method-not-allowed", "GET or POST");
        return;
    }
    json_t *body = sc__ev_body_object(req, rep);
    if (!body)
        return;
    json_t *ids = json_object_get(body, "ids");
    const char *state = json_string_value(json_object_get(body, "state"));
    if (!json_is_array(ids) || json_array_size(ids) < 1 || json_array_size(ids) > 10000 || !state ||
        (strcmp(state, "approved") != 0 && strcmp(state, "rejected") != 0)) {
        json_decref(body);
        sc_http_error(rep, 400, "bad-request",
                      "give {\"ids\": [1..10000 registration ids], \"state\": \"approved\" or "
                      "\"rejected\"}");
        return;
    }
    size_t i, done = 0;
    json_t *id, *missing = json_array();
    sc_store_registration r;
    json_array_foreach(ids, i, id) {
        if (!json_is_integer(id) ||
            sc_store_registration_get(app->store, ev->id, json_integer_value(id), &r) < 0)
            json_array_append(missing, id);
    }
    if (json_array_size(missing)) {
        sc_http_json(rep, 404, json_pack("{s:{s:s,s:s},s:O}", "error", "code",
                                         "no-such-registration", "message",
                                         "some ids are not registrations of this event; nothing "
                                         "was changed", "missing", missing));
    } else {
        json_array_foreach(ids, i, id) {
            if (sc_store_registration_decide(app->store, ev->id, json_integer_value(id), state,
                                             sc__ev_now_s()) == 0)
                done++;
        }
        SC_INFO("events", "event '%s': %zu registrations %s", ev->slug, done, state);
        sc_http_json(rep, 200, json_pack("{s:I,s:s}", "changed", (json_int_t)done, "state", state));
    }
    json_decref(missing);
    json_decref(body);
}

/* POST: a CSV (or plain list) appended, first column of each line, a
 * header line skipped; any bad line refuses the whole request with the
 * lines named (nothing stored).  GET: the count.  DELETE: cleared. */
void sc__ev_whitelist_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                            sc_http_reply *rep)
{
    rep->action = "managing an event's whitelist";
    char given[SC_EVENT_ENTRY_MAX * 2 + 1], one[SC_EVENT_ENTRY_MAX + 1];
    int has = sc_http_query_arg(req->query, "entry", given, sizeof(given));
    if (has < 0 || (has == 1 && !sc__ev_normalise_entry(given, strlen(given), one, sizeof(one)))) {
        sc_http_error(rep, 400, "bad-request", "entry is not an e-mail, phone or staff number");
        return;
    }
    if (has == 1 && req->method != SC_HTTP_POST) { /* one entry: is it there, or remove it */
        int r = req->method == SC_HTTP_DELETE ? sc_store_whitelist_remove(app->store, ev->id, one)
                                              : sc_store_whitelist_has(app->store, ev->id, one);
        if (r < 0)
            sc_http_error(rep, 500, "internal", "cannot read the whitelist");
        else if (req->method == SC_HTTP_DELETE && r == 0)
            sc_http_error(rep, 404, "not-listed", "%s is not on the list", one);
        else if (req->method == SC_HTTP_DELETE)
            rep->status = 204;
        else
            sc_http_json(rep, 200, json_pack("{s:s,s:b}", "entry", one, "listed", r == 1));
        return;
    }
    if (req->method == SC_HTTP_DELETE) {
        if (sc_store_whitelist_clear(app->store, ev->id) < 0)
            sc_http_error(rep, 500, "internal", "cannot clear the whitelist");
        else
            rep->status = 204;
        return;
    }
    if (req->method != SC_HTTP_POST) {
        int64_t n = sc_store_whitelist_count(app->store, ev->id);
        if (n < 0)
            sc_http_error(rep, 500, "internal", "cannot read the whitelist");
        else
            sc_http_json(rep, 200, json_pack("{s:I}", "entries", (json_int_t)n));
        return;
    }
    size_t cap = req->body_len / 2 + 16, n = 0, line_no = 0, bad_lines = 0;
    char **entries = calloc(cap, sizeof(*entries));
    json_t *rejected = json_array();
    if (!entries || !rejected) {
        free(entries);
        json_decref(rejected);
        sc_http_error(rep, 500, "internal", "out of memory");
        return;
    }
    const char *p = req->body ? req->body : "", *end = p + req->body_len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        line_no++;
        /* The first field: up to a comma outside quotes. */
        const char *f = p, *fe = p;
        bool quoted = false, broken = false;
        while (fe < stop && (quoted || *fe != ',')) {
            if (*fe == '"')
                quoted = !quoted;
            fe++;
        }
        broken = quoted;
        char entry[SC_EVENT_ENTRY_MAX + 1];
        bool blank = true;
        for (const char *q = p; q < stop; q++)
            blank &= *q == ' ' || *q == '\t' || *q == '\r' || *q == ',';
        if (!blank) {
            bool ok = !broken && sc__ev_normalise_entry(f, (size_t)(fe - f), entry, sizeof(entry));
            bool header = line_no == 1 && ok &&
                          (strcmp(entry, "email") == 0 || strcmp(entry, "e-mail") == 0 ||
                           strcmp(entry, "phone") == 0 || strcmp(entry, "id") == 0 ||
                           strcmp(entry, "staff") == 0 || strcmp(entry, "staff number") == 0 ||
                           strcmp(entry, "entry") == 0);
            if (!ok) {
                if (bad_lines++ < REJECTS_SHOWN)
                    json_array_append_new(rejected,
                                          json_pack("{s:I,s:s}", "line", (json_int_t)line_no, "why",
                                                    broken ? "an unterminated quote"
                                                           : "not an e-mail, phone or staff number "
                                                             "(1..128 printable characters)"));
            } else if (!header && n < cap) {
                entries[n] = strdup(entry);
                if (entries[n])
                    n++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    size_t added = 0;
    if (bad_lines) {
        sc_http_json(rep, 400, json_pack("{s:{s:s,s:s},s:I,s:o}", "error", "code", "bad-request",
                                         "message", "some lines are not usable; nothing was added",
                                         "rejected_count", (json_int_t)bad_lines, "rejected",
                                         rejected));
        rejected = NULL;
    } else if (sc_store_whitelist_add(app->store, ev->id, (const char *const *)entries, n,
                                      &added) < 0) {
        sc_http_error(rep, 500, "internal", "cannot store the whitelist");
    } else {
        SC_INFO("events", "event '%s': %zu whitelist entries added (%zu already there)",
                ev->slug, added, n - added);
        sc_http_json(rep, 200, json_pack("{s:I,s:I,s:I}", "added", (json_int_t)added,
                                         "duplicates", (json_int_t)(n - added), "entries",
                                         (json_int_t)sc_store_whitelist_count(app->store, ev->id)));
    }
    json_decref(rejected);
    for (size_t i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
}

/* Codes of 12 characters from an alphabet without 0/O and 1/I/L, shown
 * in groups of four (the dashes are not part of the code). */
static void make_code(char *out)
{
    static const char alphabet[] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    uint8_t r[12];
    if (RAND_bytes(r, sizeof(r)) != 1)
        memset(r, 0, sizeof(r));
    for (int i = 0; i < 12; i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[12] = '\0';
}

static void invite_row(void *ud, const char *code, int max_uses, int uses)
{
    invite_list *l = ud;
    if (l->arr) {
        json_array_append_new(l->arr, json_pack("{s:s,s:i,s:i}", "code", code, "uses", max_uses,
                                                "used", uses));
        return;
    }
    if (l->len + 64 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        char *csv = realloc(l->csv, cap);
        if (!csv)
            return;
        l->csv = csv;
        l->cap = cap;
    }
    l->len += (size_t)snprintf(l->csv + l->len, l->cap - l->len, "%s,%d,%d\n", code, max_uses, uses);
}

/* POST {"count": N, "uses": M}: N new codes of M uses each.  GET: every
 * code (JSON, or CSV with ?format=csv). */
void sc__ev_invites_route(sc_app *app, const sc_http_req *req, const sc_store_event *ev,
                          sc_http_reply *rep)
{
    rep->action = "managing an event's invite codes";
    if (req->method != SC_HTTP_POST) {
        invite_list l = {0};
        char fmt[8] = "";
        bool csv = sc_http_query_arg(req->query, "format", fmt, sizeof(fmt)) == 1 &&
                   strcmp(fmt, "csv") == 0;
        if (!csv)
            l.arr = json_array();
        if (sc_store_invites_list(app->store, ev->id, invite_row, &l) < 0) {
            json_decref(l.arr);
            free(l.csv);
            sc_http_error(rep, 500, "internal", "cannot read the invite codes");
            return;
        }
        if (!csv) {
            sc_http_json(rep, 200, json_pack("{s:o}", "invites", l.arr));
            return;
        }
        char head[] = "code,uses,used\n";
        size_t total = sizeof(head) - 1 + l.len;
        char *body = malloc(total + 1);
        if (body) {
            memcpy(body, head, sizeof(head) - 1);
            if (l.len)
                memcpy(body + sizeof(head) - 1, l.csv, l.len);
            sc_http_body(rep, 200, "text/csv; charset=utf-8", body, total);
            snprintf(rep->disposition, sizeof(rep->disposition),
                     "attachment; filename=\"%s-invites.csv\"", ev->slug);
        } else {
            sc_http_error(rep, 500, "internal", "out of memory");
        }
        free(body);
        free(l.csv);
        return;
    }
    json_t *body = sc__ev_body_object(req, rep);
    if (!body)
        return;
    json_t *revoke = json_object_get(body, "revoke");
    if (revoke) { /* {"revoke": [codes]}: they admit nobody from now on */
        size_t i, n = json_is_array(revoke) ? json_array_size(revoke) : 0;
        const char **codes = calloc(n ? n : 1, sizeof(*codes));
        json_t *c;
        bool ok = json_is_array(revoke) && n >= 1 && n <= INVITES_MAX && codes;
        json_array_foreach(revoke, i, c) {
            if (!ok || !json_is_string(c) || json_string_length(c) > SC_EVENT_CODE_MAX)
                ok = false;
            else
                codes[i] = json_string_value(c);
        }
        int r = ok ? sc_store_invites_revoke(app->store, ev->id, codes, n) : 0;
        free(codes);
        json_decref(body);
        if (!ok)
            sc_http_error(rep, 400, "bad-request", "revoke takes a list of 1..%d codes", INVITES_MAX);
        else if (r < 0)
            sc_http_error(rep, 500, "internal", "cannot revoke the codes");
        else
            sc_http_json(rep, 200, json_pack("{s:i}", "revoked", r));
        return;
    }
    json_t *count = json_object_get(body, "count"), *uses = json_object_get(body, "uses");
    json_int_t n = json_is_integer(count) ? json_integer_value(count) : -1;
    json_int_t u = uses ? (json_is_integer(uses) ? json_integer_value(uses) : -1) : 1;
    if (n < 1 || n > INVITES_MAX || u < 1 || u > INVITE_USES_MAX) {
        json_decref(body);
        sc_http_error(rep, 400, "bad-request", "count must be 1..%d and uses 1..%d", INVITES_MAX,
                      INVITE_USES_MAX);
        return;
    }
    json_decref(body);
    char (*codes)[13] = calloc((size_t)n, sizeof(*codes));
    const char **ptrs = calloc((size_t)n, sizeof(*ptrs));
    int rc = -ENOMEM;
    for (int attempt = 0; codes && ptrs && attempt < 3; attempt++) {
        for (json_int_t i = 0; i < n; i++) {
            make_code(codes[i]);
            ptrs[i] = codes[i];
        }
        rc = sc_store_invites_add(app->store, ev->id, ptrs, (size_t)n, (int)u, sc__ev_now_s());
        if (rc != -EEXIST) /* 31^12 codes: a clash is a freak, draw again */
            break;
    }
    if (rc < 0) {
        sc_http_error(rep, 500, "internal", "cannot store the invite codes");
    } else {
        json_t *arr = json_array();
        for (json_int_t i = 0; i < n; i++)
            json_array_append_new(arr, json_string(codes[i]));
        SC_INFO("events", "event '%s': %lld invite codes of %lld uses", ev->slug, (long long)n,
                (long long)u);
        sc_http_json(rep, 201, json_pack("{s:o,s:I}", "codes", arr, "uses", u));
    }
    free(codes);
    free(ptrs);
}
