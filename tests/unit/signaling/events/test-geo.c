/* signaling/events/geo.c on files in tor-geoipdb's format (as Debian ships
 * them): IPv4 ranges as integers, IPv6 as addresses, comments and
 * malformed lines, lookups at range edges, IPv4 mapped into IPv6, and the
 * real Debian files when the machine has them.  Then on a MaxMind DB: the
 * one tests/meson.build writes with tests/lib/mmdbwriter.py from
 * geo-city.json beside this file, given as argv[1] (countries,
 * subdivisions, records without them or with unusable codes), and files
 * that are not valid MaxMind DBs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signaling/events/geo.h"
#include "tests/unit/sc_test.h"

static char *write_tmp(const char *text)
{
    static char paths[2][64];
    static int n;
    char *p = paths[n++ % 2];
    snprintf(p, 64, "/tmp/sc-geo-XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        return NULL;
    close(fd);
    return p;
}

static const char *country(const sc_geo *g, const char *addr)
{
    static sc_geo_place p;
    return sc_geo_locate(g, addr, &p) ? p.country : "--";
}

/* "CN-GD", the country alone when the database gives no subdivision
 * ("CN"), or "--" unknown. */
static const char *place(const sc_geo *g, const char *addr)
{
    static sc_geo_place p;
    if (!sc_geo_locate(g, addr, &p))
        return "--";
    return p.subdivision[0] ? p.subdivision : p.country;
}

static void test_lookups(void)
{
    /* 10.61.1.0/24 DE, 10.61.2.0/24 FR, 1.0.0.0-1.0.0.255 AU (out of order) */
    char *v4 = write_tmp("# comment\n"
                         "171770368,171770623,FR\n"
                         "16777216,16777471,AU\n"
                         "171770112,171770367,DE\n"
                         "garbage line\n"
                         "5,4,XX\n"
                         "7,8,toolong\n");
    char *v6 = write_tmp("2001:db8:1::,2001:db8:1:ffff:ffff:ffff:ffff:ffff,JP\n"
                         "2001:db8:2::,not-an-address,US\n");
    size_t skipped = 0;
    char err[256];
    sc_geo *g = sc_geo_load(v4, v6, &skipped, err, sizeof(err));
    SC_CHECK(g != NULL);
    if (!g)
        return;
    SC_CHECK_INT(sc_geo_ranges(g), 4);
    SC_CHECK_INT(skipped, 4);
    SC_CHECK_STR(country(g, "10.61.1.0"), "DE");
    SC_CHECK_STR(country(g, "10.61.1.255"), "DE");
    SC_CHECK_STR(country(g, "10.61.2.0"), "FR");
    SC_CHECK_STR(country(g, "10.61.2.77"), "FR");
    SC_CHECK_STR(country(g, "10.61.3.0"), "--");
    SC_CHECK_STR(country(g, "10.61.0.255"), "--");
    SC_CHECK_STR(country(g, "1.0.0.1"), "AU");
    SC_CHECK_STR(country(g, "0.255.255.255"), "--");
    SC_CHECK_STR(country(g, "::ffff:10.61.2.9"), "FR");
    SC_CHECK_STR(country(g, "2001:db8:1::42"), "JP");
    SC_CHECK_STR(country(g, "2001:db8:2::1"), "--");
    SC_CHECK_STR(country(g, "not an address"), "--");
    SC_CHECK_STR(country(NULL, "10.61.1.1"), "--");
    SC_CHECK_STR(place(g, "10.61.1.1"), "DE"); /* tor-geoipdb: countries only */
    SC_CHECK_INT(sc_geo_is_mmdb(v4), 0);
    char what[128];
    sc_geo_describe(g, what, sizeof(what));
    SC_CHECK_STR(what, "4 ranges");
    sc_geo_free(g);
    unlink(v4);
    unlink(v6);

    /* A file with no range, or none at all, is an error. */
    char *empty = write_tmp("# nothing\n");
    SC_CHECK(sc_geo_load(empty, NULL, &skipped, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "no address range") != NULL);
    unlink(empty);
    SC_CHECK(sc_geo_load("/nonexistent/geoip", NULL, &skipped, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "cannot read") != NULL);
}

/* Debian's tor-geoipdb (scripts/setup installs it): every line is read and
 * the first range with a country maps its first address to it ("??", the
 * file's unknown, stays unknown). */
static void test_debian_file(void)
{
    FILE *f = fopen(SC_GEO_DEFAULT_V4, "r");
    char line[128], a[32], cc[8];
    unsigned long first = 0;
    if (!f) {
        printf("no %s on this machine: the Debian file is not checked\n", SC_GEO_DEFAULT_V4);
        return;
    }
    while (fgets(line, sizeof(line), f))
        if (line[0] != '#' && sscanf(line, "%lu,%*u,%2s", &first, cc) == 2 && strcmp(cc, "??") != 0)
            break;
    fclose(f);
    size_t skipped = 0;
    char err[256];
    sc_geo *g = sc_geo_load(SC_GEO_DEFAULT_V4, NULL, &skipped, err, sizeof(err));
    SC_CHECK(g != NULL);
    SC_CHECK(sc_geo_ranges(g) > 100000);
    SC_CHECK_INT(skipped, 0);
    snprintf(a, sizeof(a), "%lu.%lu.%lu.%lu", first >> 24, (first >> 16) & 255, (first >> 8) & 255,
             first & 255);
    SC_CHECK_STR(country(g, a), cc);
    sc_geo_free(g);
}

static void test_mmdb(const char *path)
{
    char err[256], what[128];
    SC_CHECK(path != NULL); /* meson passes the database */
    if (!path)
        return;
    SC_CHECK_INT(sc_geo_is_mmdb(path), 1); /* by its marker: the name ends in .mmdb too */
    sc_geo *g = sc_geo_load_mmdb(path, err, sizeof(err));
    SC_CHECK(g != NULL);
    if (!g) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    sc_geo_describe(g, what, sizeof(what));
    SC_CHECK(strncmp(what, "MaxMind DB Stagecast-Test-City built ", 37) == 0);
    SC_CHECK(strstr(what, "(IPv6, ") != NULL);
    SC_CHECK_INT(sc_geo_ranges(g), 0);
    SC_CHECK_STR(place(g, "10.62.1.5"), "CN-GD");
    SC_CHECK_STR(place(g, "10.62.1.0"), "CN-GD");
    SC_CHECK_STR(place(g, "10.62.1.127"), "CN-GD");
    SC_CHECK_STR(place(g, "10.62.1.128"), "CN-SH"); /* the more specific network */
    SC_CHECK_STR(place(g, "10.62.1.255"), "CN-SH");
    SC_CHECK_STR(place(g, "10.62.2.9"), "CN-BJ");   /* upper-cased */
    SC_CHECK_STR(place(g, "10.62.3.9"), "CN");      /* a country without subdivisions */
    SC_CHECK_STR(place(g, "10.62.4.9"), "DE-BY");
    SC_CHECK_STR(place(g, "10.62.5.9"), "--");      /* registered_country only: not placed */
    SC_CHECK_STR(place(g, "10.62.6.9"), "FR");      /* "IDF1" is no subdivision code */
    SC_CHECK_STR(place(g, "10.62.7.9"), "--");      /* a country code that is not a string */
    SC_CHECK_STR(place(g, "10.62.8.9"), "--");      /* nor of two letters */
    SC_CHECK_STR(place(g, "10.62.9.9"), "--");      /* in no network */
    SC_CHECK_STR(place(g, "10.61.255.255"), "--");
    /* The file has no ::ffff:0:0/96 alias: a mapped address is looked up
     * as the IPv4 address it carries. */
    SC_CHECK_STR(place(g, "::ffff:10.62.1.5"), "CN-GD");
    SC_CHECK_STR(place(g, "::ffff:10.62.4.1"), "DE-BY");
    SC_CHECK_STR(place(g, "2001:db8:62::1"), "GB-ENG"); /* the first subdivision */
    SC_CHECK_STR(place(g, "2001:db8:62:ffff:ffff:ffff:ffff:ffff"), "GB-ENG");
    SC_CHECK_STR(place(g, "2001:db8:63::1"), "--");
    SC_CHECK_STR(place(g, "::1"), "--");
    SC_CHECK_STR(place(g, "10.62.1"), "--");
    SC_CHECK_STR(place(g, ""), "--");
    sc_geo_free(g);
}

/* Files that are not MaxMind DBs: detection, and a clear refusal when one
 * is given as such. */
static void test_mmdb_invalid(const char *path)
{
    char err[256], copy[64];
    SC_CHECK(sc_geo_load_mmdb("/nonexistent/geo.mmdb", err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "cannot read /nonexistent/geo.mmdb") != NULL);
    SC_CHECK_INT(sc_geo_is_mmdb("/nonexistent/geo.mmdb"), 1); /* meant as one: its name */
    SC_CHECK_INT(sc_geo_is_mmdb("/nonexistent/geoip"), 0);

    char *text = write_tmp("16777216,16777471,AU\n");
    SC_CHECK_INT(sc_geo_is_mmdb(text), 0);
    SC_CHECK(sc_geo_load_mmdb(text, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "is not a valid MaxMind DB") != NULL);
    unlink(text);

    /* The database cut short: its marker is still there, its metadata is not. */
    FILE *f = path ? fopen(path, "rb") : NULL;
    static char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    SC_CHECK(n > 200 && n < sizeof(buf));
    if (n <= 200)
        return;
    const char *marker = memmem(buf, n, "\xab\xcd\xefMaxMind.com", 14);
    SC_CHECK(marker != NULL);
    if (!marker)
        return;
    snprintf(copy, sizeof(copy), "/tmp/sc-geo-XXXXXX");
    int fd = mkstemp(copy);
    size_t cut = (size_t)(marker - buf) + 20;
    SC_CHECK(fd >= 0 && write(fd, buf, cut) == (ssize_t)cut);
    if (fd >= 0)
        close(fd);
    SC_CHECK_INT(sc_geo_is_mmdb(copy), 1);
    SC_CHECK(sc_geo_load_mmdb(copy, err, sizeof(err)) == NULL);
    SC_CHECK(strstr(err, "is not a valid MaxMind DB") != NULL);
    unlink(copy);
}

int main(int argc, char **argv)
{
    test_lookups();
    test_debian_file();
    test_mmdb(argc > 1 ? argv[1] : NULL);
    test_mmdb_invalid(argc > 1 ? argv[1] : NULL);
    SC_TEST_END();
}
