#include "signaling/events/geo.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct range4 {
    uint32_t first, last;
    char cc[2];
} range4;

typedef struct range6 {
    uint8_t first[16], last[16];
    char cc[2];
} range6;

struct sc_geo {
    range4 *v4;
    size_t n4;
    range6 *v6;
    size_t n6;
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
    free(g->v4);
    free(g->v6);
    free(g);
}

size_t sc_geo_ranges(const sc_geo *g) { return g ? g->n4 + g->n6 : 0; }

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

int sc_geo_country(const sc_geo *g, const char *addr, char out[3])
{
    struct in_addr a4;
    uint8_t a6[16];
    const char *cc = NULL;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!g)
        return 0;
    if (inet_pton(AF_INET6, addr, a6) == 1 && memcmp(a6, mapped, 12) == 0)
        memcpy(&a4, a6 + 12, 4);
    else if (inet_pton(AF_INET, addr, &a4) != 1)
        a4.s_addr = 0;
    if (a4.s_addr) {
        const range4 *r = find4(g, ntohl(a4.s_addr));
        cc = r ? r->cc : NULL;
    } else if (inet_pton(AF_INET6, addr, a6) == 1) {
        const range6 *r = find6(g, a6);
        cc = r ? r->cc : NULL;
    }
    if (!cc)
        return 0;
    out[0] = cc[0];
    out[1] = cc[1];
    out[2] = '\0';
    return 1;
}
