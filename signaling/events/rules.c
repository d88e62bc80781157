/* What the watch conditions check: networks (CIDR lists), registration
 * forms and their answers, whitelist entries, event passwords. */
#include "signaling/events/private.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PBKDF2_ITER 20000
#define FORM_FIELDS_MAX 20
#define FORM_OPTIONS_MAX 50
#define ANSWER_MAX 200

bool sc__ev_watch_type_ok(const char *t)
{
    return strcmp(t, "public") == 0 || strcmp(t, "password") == 0 ||
           strcmp(t, "whitelist") == 0 || strcmp(t, "invite") == 0 ||
           strcmp(t, "registration") == 0 || strcmp(t, "external") == 0;
}

/* "10.1.0.0/16", "2001:db8::/32" or a bare address: into addr (16 bytes,
 * IPv4 mapped into ::ffff:0:0/96) and a prefix length over those 128 bits. */
static bool parse_net(const char *s, uint8_t addr[16], int *prefix)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(ip))
        return false;
    memcpy(ip, s, n);
    ip[n] = '\0';
    int bits = -1;
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (!slash[1] || *end || v < 0 || v > 128)
            return false;
        bits = (int)v;
    }
    struct in_addr a4;
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, ip, &a4) == 1) {
        if (bits > 32)
            return false;
        addr[10] = addr[11] = 0xff;
        memcpy(addr + 12, &a4, 4);
        *prefix = 96 + (bits < 0 ? 32 : bits);
        return true;
    }
    if (inet_pton(AF_INET6, ip, addr) == 1) {
        *prefix = bits < 0 ? 128 : bits;
        return true;
    }
    return false;
}

static bool net_contains(const char *cidr, const char *peer)
{
    uint8_t net[16], a[16];
    int prefix, ignored;
    if (!parse_net(cidr, net, &prefix) || !parse_net(peer, a, &ignored))
        return false;
    for (int i = 0; i < 16 && prefix > 0; i++, prefix -= 8) {
        uint8_t mask = prefix >= 8 ? 0xff : (uint8_t)(0xff << (8 - prefix));
        if ((net[i] & mask) != (a[i] & mask))
            return false;
    }
    return true;
}

/* Whether peer is in one of the lines of nets ("a\nb\n"). */
bool sc__ev_nets_match(const char *nets, const char *peer)
{
    char line[64];
    for (const char *p = nets; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n < sizeof(line)) {
            memcpy(line, p, n);
            line[n] = '\0';
            if (net_contains(line, peer))
                return true;
        }
        p += n + (nl ? 1 : 0);
    }
    return false;
}

/* A JSON array of CIDRs into "a\nb" (absent: kept; [] clears). */
bool sc__ev_take_nets(json_t *v, char *dst, size_t cap, sc__ev_err *e)
{
    if (!v)
        return true;
    if (!json_is_array(v) || json_array_size(v) > SC_EVENT_NETS_MAX)
        return sc__ev_bad(e, "networks", "allow and deny are lists of at most 64 CIDRs");
    size_t used = 0;
    size_t i;
    json_t *item;
    dst[0] = '\0';
    json_array_foreach(v, i, item) {
        uint8_t a[16];
        int prefix;
        const char *c = json_string_value(item);
        if (!c || !parse_net(c, a, &prefix)) {
            e->field = "networks";
            snprintf(e->why, sizeof(e->why), "'%.50s' is not an address or CIDR", c ? c : "?");
            return false;
        }
        int n = snprintf(dst + used, cap - used, "%s%s", used ? "\n" : "", c);
        if (n < 0 || (size_t)n >= cap - used)
            return sc__ev_bad(e, "networks", "too long");
        used += (size_t)n;
    }
    return true;
}

json_t *sc__ev_nets_json(const char *nets)
{
    json_t *arr = json_array();
    for (const char *p = nets; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, n));
        p += n + (nl ? 1 : 0);
    }
    return arr;
}

bool sc__ev_field_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool short_text(json_t *v, long max)
{
    return json_is_string(v) && json_string_length(v) > 0 &&
           !memchr(json_string_value(v), '\0', json_string_length(v)) &&
           sc__ev_utf8_len(json_string_value(v)) <= max;
}

/* The form as given into its stored JSON: {"fields": [{"name", "label",
 * "type", "required", "options"?}...], "approval": bool, "capacity": n}. */
bool sc__ev_take_form(json_t *v, char *dst, size_t cap, sc__ev_err *e)
{
    if (json_is_null(v)) {
        dst[0] = '\0';
        return true;
    }
    json_t *fields = json_object_get(v, "fields"), *approval = json_object_get(v, "approval"),
           *capacity = json_object_get(v, "capacity");
    if (!json_is_object(v) || !json_is_array(fields) || json_array_size(fields) > FORM_FIELDS_MAX ||
        (approval && !json_is_boolean(approval)) ||
        (capacity && (!json_is_integer(capacity) || json_integer_value(capacity) < 0 ||
                      json_integer_value(capacity) > 10000000)))
        return sc__ev_bad(e, "registration", "must be {\"fields\": [...] (at most 20), \"approval\": "
                                      "bool, \"capacity\": n}");
    json_t *out_fields = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        json_t *name = json_object_get(f, "name"), *label = json_object_get(f, "label"),
               *type = json_object_get(f, "type"), *req = json_object_get(f, "required"),
               *options = json_object_get(f, "options");
        const char *t = json_string_value(type);
        bool choice = t && strcmp(t, "choice") == 0;
        bool ok = json_is_object(f) && json_is_string(name) &&
                  sc__ev_field_name_ok(json_string_value(name)) &&
                  short_text(label, 100) && t &&
                  (strcmp(t, "text") == 0 || choice || strcmp(t, "phone") == 0 ||
                   strcmp(t, "email") == 0) &&
                  (!req || json_is_boolean(req)) &&
                  (choice ? json_is_array(options) && json_array_size(options) >= 1 &&
                                json_array_size(options) <= FORM_OPTIONS_MAX
                          : !options);
        for (size_t k = 0; ok && choice && k < json_array_size(options); k++)
            ok = short_text(json_array_get(options, k), 100);
        for (size_t k = 0; ok && k < i; k++) /* names are unique */
            ok = strcmp(json_string_value(json_object_get(json_array_get(out_fields, k), "name")),
                        json_string_value(name)) != 0;
        if (!ok) {
            json_decref(out_fields);
            e->field = "registration";
            snprintf(e->why, sizeof(e->why),
                     "field %zu: needs a unique name ([a-z0-9_], 1..32), a label (1..100), a "
                     "type (text, choice with 1..50 options, phone, email), required true/false",
                     i + 1);
            return false;
        }
        json_t *o = json_pack("{s:O,s:O,s:s,s:b}", "name", name, "label", label, "type", t,
                              "required", json_is_true(req));
        if (choice)
            json_object_set(o, "options", options);
        json_array_append_new(out_fields, o);
    }
    json_t *form = json_pack("{s:o,s:b,s:I}", "fields", out_fields, "approval",
                             json_is_true(approval), "capacity",
                             (json_int_t)(capacity ? json_integer_value(capacity) : 0));
    char *text = json_dumps(form, JSON_COMPACT);
    json_decref(form);
    if (!text || strlen(text) >= cap) {
        free(text);
        return sc__ev_bad(e, "registration", "is too large");
    }
    snprintf(dst, cap, "%s", text);
    free(text);
    return true;
}

json_t *sc__ev_form_json(const char *stored)
{
    return stored[0] ? json_loads(stored, 0, NULL) : json_null();
}

/* Checks answers against the form: a JSON object of the fields' answers
 * (strings) into *out (canonical); NULL with the field named. */
json_t *sc__ev_check_answers(json_t *form, json_t *answers, sc__ev_err *e)
{
    json_t *fields = json_object_get(form, "fields"), *out = json_object();
    const char *key;
    json_t *v;
    if (!json_is_object(answers)) {
        e->field = "answers";
        snprintf(e->why, sizeof(e->why), "must be an object");
        goto fail;
    }
    json_object_foreach(answers, key, v) {
        bool known = false;
        for (size_t i = 0; i < json_array_size(fields); i++)
            known |= strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")),
                            key) == 0;
        if (!known) {
            e->field = "answers";
            snprintf(e->why, sizeof(e->why), "'%.32s' is not a field of the form", key);
            goto fail;
        }
    }
    for (size_t i = 0; i < json_array_size(fields); i++) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *type = json_string_value(json_object_get(f, "type"));
        json_t *a = json_object_get(answers, name);
        if (!a || (json_is_string(a) && json_string_length(a) == 0)) {
            if (json_is_true(json_object_get(f, "required"))) {
                e->field = name;
                snprintf(e->why, sizeof(e->why), "is required");
                goto fail;
            }
            continue;
        }
        if (!short_text(a, ANSWER_MAX)) {
            e->field = name;
            snprintf(e->why, sizeof(e->why), "must be text of at most %d characters", ANSWER_MAX);
            goto fail;
        }
        const char *s = json_string_value(a);
        bool ok = true;
        if (strcmp(type, "choice") == 0) {
            json_t *opts = json_object_get(f, "options");
            ok = false;
            for (size_t k = 0; k < json_array_size(opts); k++)
                ok |= strcmp(json_string_value(json_array_get(opts, k)), s) == 0;
        } else if (strcmp(type, "email") == 0) {
            const char *at = strchr(s, '@');
            ok = at && at != s && strchr(at + 1, '.') && !strchr(s, ' ') && !strchr(at + 1, '@');
        } else if (strcmp(type, "phone") == 0) {
            int digits = 0;
            for (const char *p = s; *p && ok; p++) {
                digits += *p >= '0' && *p <= '9';
                ok = (*p >= '0' && *p <= '9') || strchr("+ -().", *p);
            }
            ok = ok && digits >= 5 && digits <= 20;
        } else { /* text: no control characters */
            for (const char *p = s; *p && ok; p++)
                ok = (unsigned char)*p >= 0x20 && *p != 0x7f;
        }
        if (!ok) {
            e->field = name;
            snprintf(e->why, sizeof(e->why), "is not a valid %s", type);
            goto fail;
        }
        json_object_set(out, name, a);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* A whitelist entry as it is compared: trimmed and lower-case; a phone
 * number (digits with + ( ) - . and spaces) as its digits and a leading +.
 * False when nothing usable is left or it is too long. */
bool sc__ev_normalise_entry(const char *in, size_t len, char *out, size_t cap)
{
    while (len && (*in == ' ' || *in == '\t' || *in == '"')) {
        in++;
        len--;
    }
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '"' ||
                   in[len - 1] == '\r'))
        len--;
    if (len == 0 || len > SC_EVENT_ENTRY_MAX || len >= cap)
        return false;
    bool phone = true;
    int digits = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7f)
            return false;
        if (c >= '0' && c <= '9')
            digits++;
        else if (!(c == '+' && i == 0) && c != ' ' && c != '-' && c != '(' && c != ')' && c != '.')
            phone = false;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (phone && digits >= 5 && !((c >= '0' && c <= '9') || (c == '+' && i == 0)))
            continue;
        out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = '\0';
    return n > 0;
}

/* "pbkdf2-sha256$ITER$SALT$HASH" (hex); 0 or -EIO. */
int sc__ev_hash_password(const char *pw, char *out, size_t cap)
{
    uint8_t salt[16], dk[32];
    char salt_hex[33], dk_hex[65];
    if (RAND_bytes(salt, sizeof(salt)) != 1 ||
        PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), PBKDF2_ITER, EVP_sha256(),
                          sizeof(dk), dk) != 1)
        return -EIO;
    sc__ev_hex(salt, sizeof(salt), salt_hex);
    sc__ev_hex(dk, sizeof(dk), dk_hex);
    snprintf(out, cap, "pbkdf2-sha256$%d$%s$%s", PBKDF2_ITER, salt_hex, dk_hex);
    return 0;
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return s[2 * n] == '\0' || s[2 * n] == '$';
}

bool sc__ev_password_ok(const char *stored, const char *pw)
{
    int iter;
    char salt_hex[33], dk_hex[65];
    uint8_t salt[16], want[32], got[32];
    if (sscanf(stored, "pbkdf2-sha256$%d$%32[0-9a-f]$%64[0-9a-f]", &iter, salt_hex, dk_hex) !=
            3 ||
        iter < 1 || iter > 10000000 || !unhex(salt_hex, salt, sizeof(salt)) ||
        !unhex(dk_hex, want, sizeof(want)))
        return false;
    if (PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof(salt), iter, EVP_sha256(),
                          sizeof(got), got) != 1)
        return false;
    return CRYPTO_memcmp(want, got, sizeof(got)) == 0;
}

/* ---- regions ------------------------------------------------------------------ */

bool sc__ev_take_regions(json_t *v, char *dst, size_t cap, sc__ev_err *e)
{
    if (!v)
        return true;
    if (!json_is_array(v) || json_array_size(v) > SC_EVENT_REGIONS_MAX)
        return sc__ev_bad(e, "regions", "allow and deny are lists of country codes (DE, FR, ...)");
    size_t used = 0, i;
    json_t *item;
    dst[0] = '\0';
    json_array_foreach(v, i, item) {
        const char *c = json_string_value(item);
        char cc[3];
        if (!c || strlen(c) != 2 || !isalpha((unsigned char)c[0]) ||
            !isalpha((unsigned char)c[1])) {
            e->field = "regions";
            snprintf(e->why, sizeof(e->why), "'%.20s' is not a two-letter country code",
                     c ? c : "?");
            return false;
        }
        cc[0] = (char)toupper((unsigned char)c[0]);
        cc[1] = (char)toupper((unsigned char)c[1]);
        cc[2] = '\0';
        if (used + 4 > cap)
            return sc__ev_bad(e, "regions", "too many");
        used += (size_t)snprintf(dst + used, cap - used, "%s%s", used ? "," : "", cc);
    }
    return true;
}

json_t *sc__ev_regions_json(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; p[0] && p[1]; p += p[2] ? 3 : 2)
        json_array_append_new(arr, json_stringn(p, 2));
    return arr;
}

bool sc__ev_region_listed(const char *list, const char *cc)
{
    for (const char *p = list; p[0] && p[1]; p += p[2] ? 3 : 2)
        if (p[0] == cc[0] && p[1] == cc[1])
            return true;
    return false;
}

/* ---- branding ------------------------------------------------------------------- */

/* An image or link: https://..., or a path on this server ("/..."); no
 * spaces, quotes, angle brackets or control characters (it ends up in an
 * attribute or a CSS url()). */
static bool url_ok(const char *s, size_t len)
{
    if (len == 0 || len > 500 || !(strncmp(s, "https://", 8) == 0 || (s[0] == '/' && s[1] != '/')))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' ||
            c == '(' || c == ')')
            return false;
    }
    return true;
}

bool sc__ev_take_branding(json_t *v, char *dst, size_t cap, sc__ev_err *e)
{
    static const struct {
        const char *key;
        int kind; /* 0 url, 1 text (max chars in max), 2 bool */
        long max;
    } keys[] = {
        {"logo_url", 0, 0},   {"cover_url", 0, 0},  {"background_url", 0, 0},
        {"end_link", 0, 0},   {"page_title", 1, 100}, {"end_text", 1, 1000},
        {"marquee", 2, 0},
    };
    json_t *stored = dst[0] ? json_loads(dst, 0, NULL) : NULL;
    if (!stored)
        stored = json_object();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *x = json_object_get(v, keys[i].key);
        if (!x)
            continue;
        bool ok;
        if (keys[i].kind == 2) {
            ok = json_is_boolean(x);
        } else if (json_is_string(x) && json_string_length(x) == 0) {
            json_object_del(stored, keys[i].key); /* "" removes it */
            continue;
        } else if (keys[i].kind == 0) {
            ok = json_is_string(x) && url_ok(json_string_value(x), json_string_length(x));
        } else {
            ok = json_is_string(x) && !memchr(json_string_value(x), 0, json_string_length(x));
            if (ok) {
                long n = 0;
                for (const char *p = json_string_value(x); *p; p++)
                    n += ((unsigned char)*p & 0xc0) != 0x80;
                ok = n <= keys[i].max;
            }
        }
        if (!ok) {
            json_decref(stored);
            e->field = "branding";
            snprintf(e->why, sizeof(e->why), "%s must be %s", keys[i].key,
                     keys[i].kind == 0   ? "an https:// URL or a /path (up to 500 characters, no "
                                           "spaces or quotes)"
                     : keys[i].kind == 1 ? "text, not too long"
                                         : "true or false");
            return false;
        }
        json_object_set(stored, keys[i].key, x);
    }
    char *text = json_object_size(stored) ? json_dumps(stored, JSON_COMPACT | JSON_SORT_KEYS)
                                          : strdup("");
    json_decref(stored);
    if (!text || strlen(text) >= cap) {
        free(text);
        return sc__ev_bad(e, "branding", "is too large");
    }
    snprintf(dst, cap, "%s", text);
    free(text);
    return true;
}

/* ---- embedding ------------------------------------------------------------------ */

/* "https://intranet.example.com" or "http://localhost:8080": a scheme, a
 * host (letters, digits, '.', '-', or an [IPv6] literal) and an optional
 * port; no path, query or anything a header could be split with. */
static bool origin_ok(const char *s)
{
    const char *h = strncmp(s, "https://", 8) == 0 ? s + 8
                    : strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
    size_t n = strlen(s);
    if (!h || !*h || n > 200)
        return false;
    bool v6 = *h == '[', port = false;
    for (const char *p = h; *p; p++) {
        char c = *p;
        if (v6 && c == ']') {
            v6 = false;
            continue;
        }
        if (!v6 && c == ':') {
            if (port || p == h || !p[1])
                return false;
            port = true;
            continue;
        }
        bool ok = port ? (c >= '0' && c <= '9')
                       : ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                          c == '.' || c == '-' || (v6 && (c == ':' || (c >= 'a' && c <= 'f'))) ||
                          (p == h && c == '['));
        if (!ok)
            return false;
    }
    return !v6;
}

bool sc__ev_take_origins(json_t *v, char *dst, size_t cap, sc__ev_err *e)
{
    if (!json_is_array(v) || json_array_size(v) > SC_EVENT_EMBED_MAX)
        return sc__ev_bad(e, "embed_origins", "must be a list of at most 20 origins");
    size_t used = 0, i;
    json_t *item;
    dst[0] = '\0';
    json_array_foreach(v, i, item) {
        const char *o = json_string_value(item);
        if (!o || !origin_ok(o)) {
            e->field = "embed_origins";
            snprintf(e->why, sizeof(e->why),
                     "'%.60s' is not an origin (https://host or http://host:port, no path)",
                     o ? o : "?");
            return false;
        }
        int n = snprintf(dst + used, cap - used, "%s%s", used ? " " : "", o);
        if (n < 0 || (size_t)n >= cap - used)
            return sc__ev_bad(e, "embed_origins", "too long");
        used += (size_t)n;
    }
    return true;
}
