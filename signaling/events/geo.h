/* Where addresses are, offline, for events' region rules.  Two kinds of
 * database:
 * - tor-geoipdb's files, as Debian ships them (/usr/share/tor/geoip and
 *   geoip6, free data; lines "FIRST,LAST,CC" with IPv4 as integers, IPv6 as
 *   addresses): countries only.  Loaded into memory; lookups are binary
 *   searches.
 * - a MaxMind DB (.mmdb, read with libmaxminddb, mapped from the file):
 *   the record's country.iso_code, and subdivisions[0].iso_code where the
 *   database has it (GeoIP2/GeoLite2 City do; Country databases do not).
 * Loaded once; no locks (the signalling thread only). */
#ifndef SC_GEO_H
#define SC_GEO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sc_geo sc_geo;

/* An ISO 3166-2 subdivision code: the country, '-', 1..3 letters or digits
 * ("CN-GD", "GB-ENG", "FR-75"). */
#define SC_GEO_SUBDIVISION_MAX 6

/* Where an address is: its ISO 3166 country ("CN") and, when the database
 * knows it, its first subdivision ("CN-GD"; "" unknown). */
typedef struct sc_geo_place {
    char country[3];
    char subdivision[SC_GEO_SUBDIVISION_MAX + 1];
} sc_geo_place;

/* The Debian files, used when --geoip is not given and they exist. */
#define SC_GEO_DEFAULT_V4 "/usr/share/tor/geoip"
#define SC_GEO_DEFAULT_V6 "/usr/share/tor/geoip6"

/* Loads tor-geoipdb files, either may be NULL.  Malformed lines are
 * skipped and counted in *skipped; NULL with a reason in err when a file
 * cannot be read or holds no range at all. */
sc_geo *sc_geo_load(const char *v4_path, const char *v6_path, size_t *skipped, char *err,
                    size_t errlen);

/* Whether path is meant as a MaxMind DB: its name ends in ".mmdb" or its
 * end holds the format's metadata marker (a text file never does). */
bool sc_geo_is_mmdb(const char *path);

/* Opens a MaxMind DB; NULL with a reason in err when the file cannot be
 * read or is not a valid MaxMind DB. */
sc_geo *sc_geo_load_mmdb(const char *path, char *err, size_t errlen);

void sc_geo_free(sc_geo *g);

/* Ranges loaded from tor-geoipdb files (0 for a MaxMind DB). */
size_t sc_geo_ranges(const sc_geo *g);

/* What was loaded, for the log: "2 ranges", or "MaxMind DB GeoLite2-City
 * built 2026-01-02 (IPv6, 1234 nodes)". */
void sc_geo_describe(const sc_geo *g, char *buf, size_t len);

/* Where a numeric address is (IPv4, IPv6, or IPv4 mapped into IPv6, which
 * is looked up as IPv4); false when the country is unknown (no database,
 * an address it does not list, a malformed one). */
bool sc_geo_locate(const sc_geo *g, const char *addr, sc_geo_place *out);

#endif
