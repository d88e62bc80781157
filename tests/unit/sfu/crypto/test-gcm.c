/* AES-128-GCM (sfu/crypto/gcm.c): the published test vector through both paths
 * (the provider's functions called directly, and EVP), the two agreeing on
 * random packets in both directions, and tampering refused. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/crypto/gcm.h"
#include "sfu/engine/util.h"
#include "tests/unit/sc_test.h"

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* McGrew and Viega, "The Galois/Counter Mode of Operation", test case 4:
 * 60 bytes of plaintext, 20 of AAD, a 96-bit IV. */
static void test_known_answer(bool evp)
{
    uint8_t key[16], iv[12], aad[20], pt[60], ct[60], tag[16], buf[64], out_tag[16];
    unhex("feffe9928665731c6d6a8f9467308308", key);
    unhex("cafebabefacedbaddecaf888", iv);
    unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad);
    unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
          pt);
    unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
          "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
          ct);
    unhex("5bc94fbc3221a5db94fae95ae7121a47", tag);

    sc_gcm *seal = sc_gcm_new(key, true, evp), *open = sc_gcm_new(key, false, evp);
    SC_CHECK(seal && open);
    if (!seal || !open)
        return;
    SC_CHECK(sc_gcm_is_direct(seal) == !evp);
    SC_CHECK(sc_gcm_is_direct(open) == !evp);

    /* The AAD whole, then split in two as SRTCP feeds it: same result,
     * twice in a row on one context. */
    for (int split = 0; split <= 8; split += 8) {
        memcpy(buf, pt, 60);
        const uint8_t *a2 = split ? aad + split : NULL;
        SC_CHECK_INT(sc_gcm_seal(seal, iv, aad, split ? split : 20, a2, split ? 20 - split : 0, buf,
                                 60, out_tag),
                     0);
        SC_CHECK(memcmp(buf, ct, 60) == 0);
        SC_CHECK(memcmp(out_tag, tag, 16) == 0);
    }

    memcpy(buf, ct, 60);
    SC_CHECK_INT(sc_gcm_open(open, iv, aad, 20, NULL, 0, buf, 60, tag), 0);
    SC_CHECK(memcmp(buf, pt, 60) == 0);

    /* A flipped bit anywhere (AAD, ciphertext, tag, IV) is refused, and the
     * context still opens the genuine packet afterwards. */
    uint8_t bad_aad[20], bad_tag[16], bad_iv[12];
    memcpy(bad_aad, aad, 20);
    bad_aad[19] ^= 0x01;
    memcpy(buf, ct, 60);
    SC_CHECK_INT(sc_gcm_open(open, iv, bad_aad, 20, NULL, 0, buf, 60, tag), -EBADMSG);
    memcpy(buf, ct, 60);
    buf[33] ^= 0x80;
    SC_CHECK_INT(sc_gcm_open(open, iv, aad, 20, NULL, 0, buf, 60, tag), -EBADMSG);
    memcpy(bad_tag, tag, 16);
    bad_tag[15] ^= 0x04;
    memcpy(buf, ct, 60);
    SC_CHECK_INT(sc_gcm_open(open, iv, aad, 20, NULL, 0, buf, 60, bad_tag), -EBADMSG);
    memcpy(bad_iv, iv, 12);
    bad_iv[0] ^= 0x10;
    memcpy(buf, ct, 60);
    SC_CHECK_INT(sc_gcm_open(open, bad_iv, aad, 20, NULL, 0, buf, 60, tag), -EBADMSG);
    memcpy(buf, ct, 60);
    SC_CHECK_INT(sc_gcm_open(open, iv, aad, 20, NULL, 0, buf, 60, tag), 0);
    SC_CHECK(memcmp(buf, pt, 60) == 0);

    /* Each context does one direction only. */
    SC_CHECK_INT(sc_gcm_open(seal, iv, aad, 20, NULL, 0, buf, 60, tag), -EINVAL);
    SC_CHECK_INT(sc_gcm_seal(open, iv, aad, 20, NULL, 0, buf, 60, out_tag), -EINVAL);
    sc_gcm_free(seal);
    sc_gcm_free(open);
}

/* Random keys, IVs and lengths (no data at all, as an 8-byte SRTCP packet
 * has none, up to an MTU): direct and EVP seal to the same bytes, and each
 * opens what the other sealed. */
static void test_paths_agree(void)
{
    uint8_t key[16], iv[12], aad[96], data[1500], a[1500], b[1500], tag_a[16], tag_b[16];
    sc_random(key, sizeof(key));
    sc_gcm *seal_d = sc_gcm_new(key, true, false), *seal_e = sc_gcm_new(key, true, true);
    sc_gcm *open_d = sc_gcm_new(key, false, false), *open_e = sc_gcm_new(key, false, true);
    SC_CHECK(seal_d && seal_e && open_d && open_e);
    if (!seal_d || !seal_e || !open_d || !open_e)
        return;
    int same = 0, opened = 0, rounds = 300;
    for (int i = 0; i < rounds; i++) {
        size_t aad_len = 12 + (size_t)(i % 5) * 4 + (i % 7 == 0 ? 60 : 0);
        size_t len = i == 0 ? 0 : (size_t)((i * 131) % 1480);
        sc_random(iv, sizeof(iv));
        sc_random(aad, aad_len);
        sc_random(data, len);
        memcpy(a, data, len);
        memcpy(b, data, len);
        int ra = sc_gcm_seal(seal_d, iv, aad, aad_len, NULL, 0, a, len, tag_a);
        int rb = sc_gcm_seal(seal_e, iv, aad, aad_len, NULL, 0, b, len, tag_b);
        if (ra == 0 && rb == 0 && memcmp(a, b, len) == 0 && memcmp(tag_a, tag_b, 16) == 0)
            same++;
        /* Each path opens the other's. */
        if (sc_gcm_open(open_e, iv, aad, aad_len, NULL, 0, a, len, tag_a) == 0 &&
            memcmp(a, data, len) == 0 &&
            sc_gcm_open(open_d, iv, aad, aad_len, NULL, 0, b, len, tag_b) == 0 &&
            memcmp(b, data, len) == 0)
            opened++;
    }
    SC_CHECK_INT(same, rounds);
    SC_CHECK_INT(opened, rounds);
    sc_gcm_free(seal_d);
    sc_gcm_free(seal_e);
    sc_gcm_free(open_d);
    sc_gcm_free(open_e);
}

int main(void)
{
    test_known_answer(false);
    test_known_answer(true);
    test_paths_agree();
    SC_TEST_END();
}
