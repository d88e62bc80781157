/* signaling/events/geo.c on files in tor-geoipdb's format (as Debian ships
 * them): IPv4 ranges as integers, IPv6 as addresses, comments and
 * malformed lines, lookups at range edges, IPv4 mapped into IPv6, and the
 * real Debian files when the machine has them. */
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
    static char cc[3];
    return sc_geo_country(g, addr, cc) ? cc : "--";
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

int main(void)
{
    test_lookups();
    test_debian_file();
    SC_TEST_END();
}
