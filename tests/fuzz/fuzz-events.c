/* libFuzzer target for signaling/events/rules.c (and external.c's
 * settings): what the watch link and the organiser API take from anyone,
 * as JSON (a registration form, answers to a fixed form, CIDR lists,
 * country codes, embedding origins, branding, an external check's
 * settings) or as text (whitelist entries), and the CIDR matcher on the
 * bytes as an address.  Checks the invariants: what is accepted fits its
 * buffer and reads back; an external check's secret is never shown. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signaling/events/private.h"

static const char form_text[] =
    "{\"fields\":[{\"name\":\"company\",\"label\":\"Company\",\"type\":\"text\",\"required\":true},"
    "{\"name\":\"role\",\"label\":\"Role\",\"type\":\"choice\",\"required\":false,"
    "\"options\":[\"A\",\"B\"]},{\"name\":\"mail\",\"label\":\"Mail\",\"type\":\"email\"},"
    "{\"name\":\"tel\",\"label\":\"Tel\",\"type\":\"phone\"}],\"approval\":true,\"capacity\":3}";

static void bounded(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[SC_EVENT_FORM_MAX], nets[SC_EVENT_NETS_MAX * 44],
        regions[SC_EVENT_REGIONS_MAX * 3], origins[SC_EVENT_EMBED_MAX * 201],
        branding[SC_EVENT_BRANDING_MAX], entry[SC_EVENT_ENTRY_MAX + 1], addr[64],
        external[SC_EVENT_EXTERNAL_MAX];
    sc__ev_err e;
    json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);

    if (v) {
        memset(&e, 0, sizeof(e));
        if (sc__ev_take_form(v, buf, sizeof(buf), &e)) {
            bounded(buf, sizeof(buf));
            json_t *f = sc__ev_form_json(buf);
            if (buf[0] && !json_is_object(f))
                abort(); /* what was stored must read back */
            json_decref(f);
        }
        json_t *form = json_loads(form_text, 0, NULL);
        memset(&e, 0, sizeof(e));
        json_t *answers = sc__ev_check_answers(form, v, &e);
        if (answers && !json_is_object(answers))
            abort();
        if (!answers && !e.why[0])
            abort(); /* a refusal always says why */
        json_decref(answers);
        json_decref(form);
        nets[0] = regions[0] = origins[0] = branding[0] = '\0';
        if (sc__ev_take_nets(json_object_get(v, "allow"), nets, sizeof(nets), &e)) {
            bounded(nets, sizeof(nets));
            json_decref(sc__ev_nets_json(nets));
            (void)sc__ev_nets_match(nets, "10.1.2.3");
            (void)sc__ev_nets_match(nets, "2001:db8::1");
        }
        if (sc__ev_take_regions(json_object_get(v, "regions"), regions, sizeof(regions), &e)) {
            bounded(regions, sizeof(regions));
            json_decref(sc__ev_regions_json(regions));
            (void)sc__ev_region_listed(regions, "DE");
        }
        json_t *o = json_object_get(v, "origins");
        if (o && sc__ev_take_origins(o, origins, sizeof(origins), &e)) {
            bounded(origins, sizeof(origins));
            for (const char *p = origins; *p; p++)
                if (*p == ';' || *p == ',' || *p == '\'' || *p == '"' || *p == '\n')
                    abort(); /* it goes into a header value after frame-ancestors */
        }
        if (json_is_object(v) && sc__ev_take_branding(v, branding, sizeof(branding), &e))
            bounded(branding, sizeof(branding));
        external[0] = '\0';
        if (sc__ev_take_external(json_object_get(v, "external"), external, sizeof(external),
                                 &e)) {
            bounded(external, sizeof(external));
            json_t *mine = sc__ev_external_json(external, false);
            json_t *theirs = sc__ev_external_json(external, true);
            if (json_object_get(mine, "secret") || (json_is_object(theirs) &&
                                                    json_object_size(theirs) != 1))
                abort(); /* the secret is write-only; the landing shows the fields only */
            json_decref(mine);
            json_decref(theirs);
        }
        json_decref(v);
    }

    /* The bytes as a whitelist entry and as an address. */
    if (sc__ev_normalise_entry((const char *)data, size, entry, sizeof(entry))) {
        size_t n = strlen(entry);
        if (n == 0 || n > SC_EVENT_ENTRY_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)entry[i] < 0x20 || (entry[i] >= 'A' && entry[i] <= 'Z'))
                abort(); /* lower-case, printable */
    }
    size_t n = size < sizeof(addr) - 1 ? size : sizeof(addr) - 1;
    memcpy(addr, data, n);
    addr[n] = '\0';
    (void)sc__ev_nets_match("10.0.0.0/8\n::/0\n192.168.1.1", addr);
    return 0;
}
