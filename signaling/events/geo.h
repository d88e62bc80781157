/* Countries of addresses, offline, for events' region rules: the
 * tor-geoipdb format Debian ships (/usr/share/tor/geoip and geoip6, free
 * data; lines "FIRST,LAST,CC" with IPv4 as integers, IPv6 as addresses).
 * Loaded once at start; lookups are binary searches, no locks (the
 * signalling thread only). */
#ifndef SC_GEO_H
#define SC_GEO_H

#include <stddef.h>

typedef struct sc_geo sc_geo;

/* The Debian files, used when --geoip is not given and they exist. */
#define SC_GEO_DEFAULT_V4 "/usr/share/tor/geoip"
#define SC_GEO_DEFAULT_V6 "/usr/share/tor/geoip6"

/* Loads either file (NULL: none).  Malformed lines are skipped and
 * counted in *skipped; NULL with a reason in err when a file cannot be read
 * or holds no range at all. */
sc_geo *sc_geo_load(const char *v4_path, const char *v6_path, size_t *skipped, char *err,
                    size_t errlen);
void sc_geo_free(sc_geo *g);

/* Ranges loaded (IPv4 and IPv6). */
size_t sc_geo_ranges(const sc_geo *g);

/* The ISO 3166 country code of a numeric address (IPv4, IPv6, or IPv4
 * mapped into IPv6) into out ("DE"); false when unknown (no database, an
 * address it does not list, a malformed one). */
int sc_geo_country(const sc_geo *g, const char *addr, char out[3]);

#endif
