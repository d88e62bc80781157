/* Unit tests for the DCEP codec in sfu/engine/sctp.c (RFC 8832): the OPEN a browser
 * sends, ACK, round trips, and RELIABILITY item 16 (label/protocol lengths
 * that run past the message, every truncation of a valid OPEN). */
#include "sfu/engine/sctp.h"

#include "tests/unit/sc_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* DATA_CHANNEL_OPEN as Chrome sends it for createDataChannel("stagecast",
 * {protocol: "json"}): reliable ordered, priority 256. */
static const uint8_t chrome_open[] = {
    0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x04,
    's', 't', 'a', 'g', 'e', 'c', 'a', 's', 't', 'j', 's', 'o', 'n',
};

static int parse_exact(const uint8_t *src, size_t len, sc_dcep_msg *out)
{
    /* Exact-size heap copy so ASan sees any read past the end. */
    uint8_t *b = malloc(len ? len : 1);
    if (len)
        memcpy(b, src, len);
    int r = sc_dcep_parse(b, len, out);
    free(b);
    return r;
}

static void test_open(void)
{
    sc_dcep_msg m;
    SC_CHECK_INT(sc_dcep_parse(chrome_open, sizeof(chrome_open), &m), 0);
    SC_CHECK_INT(m.type, SC_DCEP_OPEN);
    SC_CHECK_INT(m.channel_type, SC_DC_RELIABLE);
    SC_CHECK_INT(m.priority, 256);
    SC_CHECK_INT(m.reliability, 0);
    SC_CHECK_INT(m.label_len, 9);
    SC_CHECK_INT(m.protocol_len, 4);
    SC_CHECK(memcmp(m.label, "stagecast", 9) == 0);
    SC_CHECK(memcmp(m.protocol, "json", 4) == 0);
}

static void test_truncated_and_overrunning(void)
{
    sc_dcep_msg m;
    /* Every proper prefix is refused: the lengths no longer add up. */
    for (size_t n = 0; n < sizeof(chrome_open); n++)
        SC_CHECK_INT(parse_exact(chrome_open, n, &m), -EINVAL);
    uint8_t b[sizeof(chrome_open) + 1];
    memcpy(b, chrome_open, sizeof(chrome_open));
    /* label length past the end (Janus b45efcbf) */
    b[8] = 0xff;
    b[9] = 0xff;
    SC_CHECK_INT(parse_exact(b, sizeof(chrome_open), &m), -EINVAL);
    /* protocol length past the end */
    memcpy(b, chrome_open, sizeof(chrome_open));
    b[11] = 5;
    SC_CHECK_INT(parse_exact(b, sizeof(chrome_open), &m), -EINVAL);
    /* lengths 0/0 with bytes following: trailing garbage */
    memcpy(b, chrome_open, sizeof(chrome_open));
    b[9] = 0;
    b[11] = 0;
    SC_CHECK_INT(parse_exact(b, sizeof(chrome_open), &m), -EINVAL);
    SC_CHECK_INT(parse_exact(b, SC_DCEP_OPEN_HEADER, &m), 0);
    SC_CHECK_INT(m.label_len, 0);
    /* one byte more than the lengths say */
    memcpy(b, chrome_open, sizeof(chrome_open));
    b[sizeof(chrome_open)] = 'x';
    SC_CHECK_INT(parse_exact(b, sizeof(chrome_open) + 1, &m), -EINVAL);
    /* unknown channel type */
    memcpy(b, chrome_open, sizeof(chrome_open));
    b[1] = 0x03;
    SC_CHECK_INT(parse_exact(b, sizeof(chrome_open), &m), -EINVAL);
    b[1] = 0x82; /* partial reliable timed, unordered: fine */
    SC_CHECK_INT(parse_exact(b, sizeof(chrome_open), &m), 0);
    SC_CHECK_INT(m.channel_type, SC_DC_PARTIAL_RELIABLE_TIMED | SC_DC_UNORDERED);
}

static void test_ack_and_unknown(void)
{
    sc_dcep_msg m;
    const uint8_t ack[] = {0x02}, ack_long[] = {0x02, 0x00}, other[] = {0x07, 0, 0};
    SC_CHECK_INT(parse_exact(ack, 1, &m), 0);
    SC_CHECK_INT(m.type, SC_DCEP_ACK);
    SC_CHECK_INT(parse_exact(ack_long, 2, &m), -EINVAL);
    SC_CHECK_INT(parse_exact(other, sizeof(other), &m), -ENOTSUP);
    SC_CHECK_INT(sc_dcep_parse(NULL, 4, &m), -EINVAL);
    uint8_t out[4];
    SC_CHECK_INT(sc_dcep_build_ack(out, sizeof(out)), 1);
    SC_CHECK_INT(out[0], SC_DCEP_ACK);
    SC_CHECK_INT(sc_dcep_build_ack(out, 0), -ENOSPC);
}

static void test_build_round_trip(void)
{
    sc_dcep_msg in = {.type = SC_DCEP_OPEN, .channel_type = SC_DC_PARTIAL_RELIABLE_REXMIT,
                      .priority = 512, .reliability = 3, .label = (const uint8_t *)"chat",
                      .label_len = 4, .protocol = (const uint8_t *)"", .protocol_len = 0};
    uint8_t buf[64];
    int n = sc_dcep_build_open(&in, buf, sizeof(buf));
    SC_CHECK_INT(n, SC_DCEP_OPEN_HEADER + 4);
    sc_dcep_msg out;
    SC_CHECK_INT(sc_dcep_parse(buf, (size_t)n, &out), 0); /* out points into buf */
    SC_CHECK_INT(out.channel_type, SC_DC_PARTIAL_RELIABLE_REXMIT);
    SC_CHECK_INT(out.priority, 512);
    SC_CHECK_INT(out.reliability, 3);
    SC_CHECK_INT(out.label_len, 4);
    SC_CHECK(memcmp(out.label, "chat", 4) == 0);
    SC_CHECK_INT(out.protocol_len, 0);
    /* too small a buffer, or an invalid channel type */
    SC_CHECK_INT(sc_dcep_build_open(&in, buf, SC_DCEP_OPEN_HEADER + 3), -ENOSPC);
    in.channel_type = 0x7f;
    SC_CHECK_INT(sc_dcep_build_open(&in, buf, sizeof(buf)), -EINVAL);
    /* Chrome's bytes survive parse + build unchanged */
    SC_CHECK_INT(sc_dcep_parse(chrome_open, sizeof(chrome_open), &out), 0);
    n = sc_dcep_build_open(&out, buf, sizeof(buf));
    SC_CHECK_INT(n, sizeof(chrome_open));
    SC_CHECK(memcmp(buf, chrome_open, sizeof(chrome_open)) == 0);
}

int main(int argc, char **argv)
{
    /* --write-corpus DIR: the seed corpus of tests/fuzz/fuzz-dcep.c */
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
        static const struct {
            const char *name;
            const uint8_t *b;
            size_t n;
        } seeds[] = {{"chrome-open", chrome_open, sizeof(chrome_open)},
                     {"open-truncated", chrome_open, 15},
                     {"ack", (const uint8_t *)"\x02", 1}};
        for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
            char path[512];
            snprintf(path, sizeof(path), "%s/%s", argv[2], seeds[i].name);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(seeds[i].b, 1, seeds[i].n, f) != seeds[i].n)
                return 1;
            fclose(f);
        }
        return 0;
    }
    test_open();
    test_truncated_and_overrunning();
    test_ack_and_unknown();
    test_build_round_trip();
    SC_TEST_END();
}
