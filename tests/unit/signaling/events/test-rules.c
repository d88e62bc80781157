/* signaling/events/rules.c: events' region rules.  Country and subdivision
 * codes as the organiser API takes them (case, syntax, limits), how they
 * read back, and which places a list holds: a country covers its
 * subdivisions, a subdivision only the places the database puts in it. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/events/private.h"
#include "tests/unit/sc_test.h"

static char regions[SC_EVENT_REGIONS_MAX * (SC_EVENT_REGION_LEN + 1)];

/* Takes a JSON list; the stored list, or "!field: why" when refused. */
static const char *take(const char *json)
{
    static char out[sizeof(regions) + 300];
    sc__ev_err e = {0};
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    if (!v)
        return "bad json";
    if (sc__ev_take_regions(v, regions, sizeof(regions), &e))
        snprintf(out, sizeof(out), "%s", regions);
    else
        snprintf(out, sizeof(out), "!%s: %s", e.field ? e.field : "?", e.why);
    json_decref(v);
    return out;
}

static void test_codes(void)
{
    SC_CHECK_STR(take("[\"de\", \"AT\"]"), "DE,AT");
    SC_CHECK_STR(take("[\"cn-gd\", \"CN\", \"GB-ENG\", \"FR-75\", \"CN-1\"]"),
                 "CN-GD,CN,GB-ENG,FR-75,CN-1");
    SC_CHECK_STR(take("[]"), "");
    const char *bad[] = {"[\"DEU\"]", "[\"1A\"]", "\"DE\"", "[5]", "[\"CN-\"]", "[\"CN-ABCD\"]",
                         "[\"CN_GD\"]", "[\"C-GD\"]", "[\"CN-G D\"]", "[\"C1-GD\"]", "[\"CNGD\"]",
                         "[\"CN-G-\"]", "[\"\"]", "[null]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *r = take(bad[i]);
        SC_CHECK(strncmp(r, "!regions: ", 10) == 0);
        if (strncmp(r, "!regions: ", 10) != 0)
            fprintf(stderr, "  %s was taken as %s\n", bad[i], r);
    }
    SC_CHECK(strstr(take("[\"CN-ABCD\"]"), "'CN-ABCD' is not a country code") != NULL);

    /* The most a list holds: SC_EVENT_REGIONS_MAX subdivision codes. */
    char big[SC_EVENT_REGIONS_MAX * 10 + 3] = "[";
    for (int i = 0; i < SC_EVENT_REGIONS_MAX; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"X%c-%03d\"", i ? "," : "",
                 'A' + i % 26, i);
    strcat(big, "]");
    SC_CHECK_INT(strlen(take(big)), SC_EVENT_REGIONS_MAX * 7 - 1);
    big[strlen(big) - 1] = '\0';
    strcat(big, ",\"DE\"]");
    SC_CHECK(strncmp(take(big), "!regions: ", 10) == 0);

    json_t *back = sc__ev_regions_json("CN-GD,DE,GB-ENG");
    char *dump = json_dumps(back, JSON_COMPACT);
    SC_CHECK_STR(dump, "[\"CN-GD\",\"DE\",\"GB-ENG\"]");
    free(dump);
    json_decref(back);
    back = sc__ev_regions_json("");
    SC_CHECK_INT(json_array_size(back), 0);
    json_decref(back);
}

static void test_listed(void)
{
    const sc_geo_place gd = {"CN", "CN-GD"}, bj = {"CN", "CN-BJ"}, cn = {"CN", ""},
                       de = {"DE", "DE-BY"}, gb = {"GB", "GB-ENG"};
    SC_CHECK(sc__ev_region_listed("CN-GD", &gd));
    SC_CHECK(!sc__ev_region_listed("CN-GD", &bj));
    SC_CHECK(!sc__ev_region_listed("CN-GD", &cn)); /* no subdivision from the database */
    SC_CHECK(sc__ev_region_listed("CN", &gd));     /* a country covers its subdivisions */
    SC_CHECK(sc__ev_region_listed("CN", &cn));
    SC_CHECK(!sc__ev_region_listed("CN", &de));
    SC_CHECK(sc__ev_region_listed("FR,CN-BJ,DE", &de));
    SC_CHECK(sc__ev_region_listed("FR,CN-BJ,DE", &bj));
    SC_CHECK(!sc__ev_region_listed("FR,CN-BJ,DE", &gd));
    SC_CHECK(!sc__ev_region_listed("GB-EN", &gb)); /* whole codes only */
    SC_CHECK(!sc__ev_region_listed("G", &gb));
    SC_CHECK(!sc__ev_region_listed("", &gd));
}

int main(void)
{
    test_codes();
    test_listed();
    SC_TEST_END();
}
