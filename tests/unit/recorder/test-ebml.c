/* The EBML reader (recorder/ebml.c): element headers of every length, the
 * unknown size, cut and malformed headers, vints and values. */
#include <errno.h>
#include <string.h>

#include "recorder/ebml.h"
#include "tests/unit/sc_test.h"

static void test_headers(void)
{
    uint32_t id = 0;
    uint64_t size = 0;
    size_t hl = 0;

    /* EBML header: 4-byte ID, 1-byte size 0x1F. */
    const uint8_t ebml[] = {0x1A, 0x45, 0xDF, 0xA3, 0x9F};
    SC_CHECK_INT(sc_ebml_header(ebml, sizeof(ebml), &id, &size, &hl), 0);
    SC_CHECK(id == 0x1A45DFA3u);
    SC_CHECK(size == 0x1F);
    SC_CHECK_INT(hl, 5);

    /* Segment with the 8-byte unknown size our writer starts with. */
    const uint8_t seg[] = {0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF,
                           0xFF, 0xFF, 0xFF, 0xFF};
    SC_CHECK_INT(sc_ebml_header(seg, sizeof(seg), &id, &size, &hl), 0);
    SC_CHECK(id == 0x18538067u && size == SC_EBML_UNKNOWN);
    SC_CHECK_INT(hl, 12);

    /* A 1-byte all-ones size is unknown too; 0x7F in two bytes is not. */
    const uint8_t one_ff[] = {0xA3, 0xFF};
    SC_CHECK_INT(sc_ebml_header(one_ff, 2, &id, &size, &hl), 0);
    SC_CHECK(size == SC_EBML_UNKNOWN);
    const uint8_t two[] = {0xA3, 0x40, 0x7F};
    SC_CHECK_INT(sc_ebml_header(two, 3, &id, &size, &hl), 0);
    SC_CHECK(size == 0x7F && hl == 3);

    /* Cut anywhere: -ENODATA, never a read past len. */
    for (size_t n = 0; n < sizeof(seg); n++)
        SC_CHECK_INT(sc_ebml_header(seg, n, &id, &size, &hl), -ENODATA);

    /* Malformed: an ID longer than 4 bytes, a zero byte as ID or size. */
    const uint8_t id5[] = {0x08, 0x01, 0x02, 0x03, 0x04, 0x81};
    SC_CHECK_INT(sc_ebml_header(id5, sizeof(id5), &id, &size, &hl), -EINVAL);
    const uint8_t zero_id[] = {0x00, 0x81};
    SC_CHECK_INT(sc_ebml_header(zero_id, 2, &id, &size, &hl), -EINVAL);
    const uint8_t zero_size[] = {0xA3, 0x00, 0x00};
    SC_CHECK_INT(sc_ebml_header(zero_size, 3, &id, &size, &hl), -EINVAL);
}

static void test_values(void)
{
    uint64_t v = 0;
    const uint8_t track1[] = {0x81};
    SC_CHECK_INT(sc_ebml_vint(track1, 1, &v), 1);
    SC_CHECK(v == 1);
    const uint8_t track300[] = {0x41, 0x2C};
    SC_CHECK_INT(sc_ebml_vint(track300, 2, &v), 2);
    SC_CHECK(v == 300);
    SC_CHECK_INT(sc_ebml_vint(track300, 1, &v), 0); /* cut */
    SC_CHECK_INT(sc_ebml_vint(track300, 0, &v), 0);
    const uint8_t zero[] = {0x00};
    SC_CHECK_INT(sc_ebml_vint(zero, 1, &v), 0);

    const uint8_t scale[] = {0x0F, 0x42, 0x40};
    SC_CHECK(sc_ebml_uint(scale, 3, &v) && v == 1000000);
    SC_CHECK(sc_ebml_uint(scale, 0, &v) && v == 0);
    uint8_t nine[9] = {0};
    SC_CHECK(!sc_ebml_uint(nine, 9, &v));

    double d = 0;
    const uint8_t f32[] = {0x45, 0x9C, 0x40, 0x00}; /* 5000.0f */
    SC_CHECK(sc_ebml_float(f32, 4, &d) && d == 5000.0);
    const uint8_t f64[] = {0x40, 0xB3, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00}; /* 5000.0 */
    SC_CHECK(sc_ebml_float(f64, 8, &d) && d == 5000.0);
    SC_CHECK(!sc_ebml_float(f64, 5, &d));
}

int main(void)
{
    test_headers();
    test_values();
    SC_TEST_END();
}
