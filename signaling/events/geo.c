#include "signaling/events/geo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* The MaxMind DB metadata marker, and how far from the end it may be. */
#define MMDB_MARKER "\xab\xcd\xefMaxMind.com"
#define MMDB_MARKER_LEN 14
#define MMDB_METADATA_MAX (128 * 1024)

typedef struct range4 {
    uint32_t first, last;
    char cc[2];
} range4;

typedef struct range6 {
    uint8_t first[16], last[16];
    char cc[2];
} range6;

struct sc_geo {
    range4 *v4; /* tor-geoipdb ranges, sorted */
    size_t n4;
    range6 *v6;
    size_t n6;
    MMDB_s *mmdb; /* or an open MaxMind DB */
};

static bool cc_ok(const char *s)
{
    return strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static int cmp4(const void *a, const void *b)
{
    const range4 *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int cmp6(const void *a, const void *b)
{
    return memcmp(((const range6 *)a)->first, ((const range6 *)b)->first, 16);
}

/* Appends one item of size sz to *arr (growing it); false out of memory. */
static bool push(void **arr, size_t *n, size_t *cap, const void *item, size_t sz)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4096;
        void *p = realloc(*arr, c * sz);
        if (!p)
            return false;
        *arr = p;
        *cap = c;
    }
    memcpy((char *)*arr + *n * sz, item, sz);
    (*n)++;
    return true;
}

/* One file; v6 selects the format.  -1 when it cannot be read. */
static int load_file(sc_geo *g, const char *path, bool v6, size_t *skipped)
{
    FILE *f = fopen(path, "r");
    char line[256];
    size_t cap = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        char a[64], b[64], cc[8];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%63[^,],%63[^,],%7[A-Za-z0-9?]", a, b, cc) == 3 && strcmp(cc, "??") == 0)
            continue; /* the file's own "unknown": left out, so unknown here too */
        if (sscanf(line, "%63[^,],%63[^,],%7[A-Za-z0-9]", a, b, cc) != 3 || !cc_ok(cc)) {
            (*skipped)++;
            continue;
        }
        bool ok;
        if (v6) {
            range6 r;
            ok = inet_pton(AF_INET6, a, r.first) == 1 && inet_pton(AF_INET6, b, r.last) == 1 &&
                 memcmp(r.first, r.last, 16) <= 0;
            memcpy(r.cc, cc, 2);
            if (ok && !push((void **)&g->v6, &g->n6, &cap, &r, sizeof(r)))
                break;
        } else {
            char *ea, *eb;
            unsigned long x = strtoul(a, &ea, 10), y = strtoul(b, &eb, 10);
            range4 r = {(uint32_t)x, (uint32_t)y, {cc[0], cc[1]}};
            ok = !*ea && !*eb && x <= 0xffffffffUL && y <= 0xffffffffUL && x <= y;
            if (ok && !push((void **)&g->v4, &g->n4, &cap, &r, sizeof(r)))
                break;
        }
        if (!ok)
            (*skipped)++;
    }
    fclose(f);
    return 0;
}

sc_geo *sc_geo_load(const char *v4_path, const char *v6_path, size_t *skipped, char *err,
                    size_t errlen)
{
    sc_geo *g = calloc(1, sizeof(*g));
    *skipped = 0;
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const char *paths[2] = {v4_path, v6_path};
    for (int i = 0; i < 2; i++) {
        if (paths[i] && load_file(g, paths[i], i == 1, skipped) < 0) {
            snprintf(err, errlen, "cannot read %s", paths[i]);
            sc_geo_free(g);
            return NULL;
        }
    }
    if (!g->n4 && !g->n6) {
        snprintf(err, errlen, "no address range in %s%s%s", v4_path ? v4_path : "",
                 v4_path && v6_path ? " or " : "", v6_path ? v6_path : "");
        sc_geo_free(g);
        return NULL;
    }
    if (g->n4) /* qsort's base must not be NULL, even for no item */
        qsort(g->v4, g->n4, sizeof(*g->v4), cmp4);
    if (g->n6)
        qsort(g->v6, g->n6, sizeof(*g->v6), cmp6);
    return g;
}

void sc_geo_free(sc_geo *g)
{
    if (!g)
        return;
    if (g->mmdb)
        MMDB_close(g->mmdb);
    free(g->mmdb);
    free(g->v4);
    free(g->v6);
    free(g);
}

size_t sc_geo_ranges(const sc_geo *g) { return g ? g->n4 + g->n6 : 0; }

bool sc_geo_is_mmdb(const char *path)
{
    size_t n = strlen(path);
    if (n >= 5 && strcasecmp(path + n - 5, ".mmdb") == 0)
        return true;
    FILE *f = fopen(path, "rb");
    char *buf = malloc(MMDB_METADATA_MAX);
    bool found = false;
    long size;
    if (f && buf && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0) {
        long from = size > MMDB_METADATA_MAX ? size - MMDB_METADATA_MAX : 0;
        if (fseek(f, from, SEEK_SET) == 0) {
            size_t got = fread(buf, 1, (size_t)(size - from), f);
            found = memmem(buf, got, MMDB_MARKER, MMDB_MARKER_LEN) != NULL;
        }
    }
    free(buf);
    if (f)
        fclose(f);
    return found;
}

sc_geo *sc_geo_load_mmdb(const char *path, char *err, size_t errlen)
{
    sc_geo *g = calloc(1, sizeof(*g));
    MMDB_s *db = calloc(1, sizeof(*db));
    if (!g || !db) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int r = MMDB_open(path, MMDB_MODE_MMAP, db); /* cleans up after itself on failure */
    if (r == MMDB_FILE_OPEN_ERROR) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    if (r != MMDB_SUCCESS) {
        snprintf(err, errlen, "%s is not a valid MaxMind DB: %s", path, MMDB_strerror(r));
        goto fail;
    }
    g->mmdb = db;
    return g;
fail:
    free(db);
    free(g);
    return NULL;
}

void sc_geo_describe(const sc_geo *g, char *buf, size_t len)
{
    if (!g) {
        snprintf(buf, len, "none");
    } else if (g->mmdb) {
        const MMDB_metadata_s *m = &g->mmdb->metadata;
        time_t built = (time_t)m->build_epoch;
        struct tm tm;
        char day[16] = "?";
        if (gmtime_r(&built, &tm))
            strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        snprintf(buf, len, "MaxMind DB %s built %s (IPv%u, %u nodes)",
                 m->database_type ? m->database_type : "?", day, (unsigned)m->ip_version,
                 (unsigned)m->node_count);
    } else {
        snprintf(buf, len, "%zu ranges", g->n4 + g->n6);
    }
}

/* The last range starting at or before key, by binary search. */
static const range4 *find4(const sc_geo *g, uint32_t a)
{
    size_t lo = 0, hi = g->n4;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->v4[mid].first <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && a <= g->v4[lo - 1].last ? &g->v4[lo - 1] : NULL;
}

static const range6 *find6(const sc_geo *g, const uint8_t a[16])
{
    size_t lo = 0, hi = g->n6;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(g->v6[mid].first, a, 16) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && memcmp(a, g->v6[lo - 1].last, 16) <= 0 ? &g->v6[lo - 1] : NULL;
}

/* A numeric address: AF_INET in a4 (IPv4 mapped into IPv6 too), AF_INET6
 * in a6, or 0 when malformed. */
static int parse_addr(const char *addr, struct in_addr *a4, uint8_t a6[16])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, addr, a4) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, addr, a6) != 1)
        return 0;
    if (memcmp(a6, mapped, 12) != 0)
        return AF_INET6;
    memcpy(a4, a6 + 12, 4);
    return AF_INET;
}

/* The string at path (NULL-terminated) in a record, when it is min..max
 * letters or digits: upper-cased into out. */
static bool mmdb_code(MMDB_entry_s *entry, char *out, uint32_t min, uint32_t max,
                      const char *const *path)
{
    MMDB_entry_data_s d;
    if (MMDB_aget_value(entry, &d, path) != MMDB_SUCCESS || !d.has_data ||
        d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size < min || d.data_size > max)
        return false;
    for (uint32_t i = 0; i < d.data_size; i++) {
        if (!isalnum((unsigned char)d.utf8_string[i]))
            return false;
        out[i] = (char)toupper((unsigned char)d.utf8_string[i]);
    }
    out[d.data_size] = '\0';
    return true;
}

static bool mmdb_locate(const MMDB_s *db, const struct sockaddr *sa, sc_geo_place *out)
{
    static const char *const country[] = {"country", "iso_code", NULL};
    static const char *const subdivision[] = {"subdivisions", "0", "iso_code", NULL};
    int err = MMDB_SUCCESS;
    char sub[4];
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(db, sa, &err);
    if (err != MMDB_SUCCESS || !res.found_entry)
        return false;
    if (!mmdb_code(&res.entry, out->country, 2, 2, country) ||
        !isalpha((unsigned char)out->country[0]) || !isalpha((unsigned char)out->country[1]))
        return false;
    if (mmdb_code(&res.entry, sub, 1, 3, subdivision))
        snprintf(out->subdivision, sizeof(out->subdivision), "%s-%s", out->country, sub);
    return true;
}

bool sc_geo_locate(const sc_geo *g, const char *addr, sc_geo_place *out)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    const char *cc = NULL;
    int family = parse_addr(addr, &s4.sin_addr, s6.sin6_addr.s6_addr);
    memset(out, 0, sizeof(*out));
    if (!g || !family)
        return false;
    if (g->mmdb)
        return mmdb_locate(
            g->mmdb,
            family == AF_INET ? (const struct sockaddr *)&s4 : (const struct sockaddr *)&s6, out);
    if (family == AF_INET) {
        const range4 *r = find4(g, ntohl(s4.sin_addr.s_addr));
        cc = r ? r->cc : NULL;
    } else {
        const range6 *r = find6(g, s6.sin6_addr.s6_addr);
        cc = r ? r->cc : NULL;
    }
    if (!cc)
        return false;
    out->country[0] = cc[0];
    out->country[1] = cc[1];
    return true;
}
