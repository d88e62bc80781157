/* AES-128-GCM with a 96-bit IV and a 128-bit tag, for SRTP and SRTCP
 * (RFC 7714): one key per context, a fresh IV per packet, data in place.
 *
 * OpenSSL 3's EVP calls cost more than the cipher on packets this small:
 * setting an IV asks the provider for the IV length and reading the tag is
 * a parameter lookup (callgrind, 2026-12-03: 1,286 of 4,538 instructions
 * per protected packet).  So a context calls the default provider's
 * AES-128-GCM functions directly (found once through
 * OSSL_PROVIDER_query_operation, the documented way to reach a provider's
 * dispatch table) and falls back to EVP where that table cannot be had. */
#ifndef SC_GCM_H
#define SC_GCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sc_gcm sc_gcm;

/* A context keyed with a 16-byte AES key, to seal (encrypt) or to open
 * (decrypt).  evp forces the EVP path (for tests and comparison).  NULL on
 * failure. */
sc_gcm *sc_gcm_new(const uint8_t key[16], bool encrypt, bool evp);
void sc_gcm_free(sc_gcm *g);

/* Whether g calls the provider directly (false: EVP). */
bool sc_gcm_is_direct(const sc_gcm *g);

/* Seal: authenticate aad then aad2 (either may be empty) and data,
 * encrypting data in place; the tag goes to tag.  0 or -EIO. */
int sc_gcm_seal(sc_gcm *g, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len,
                uint8_t tag[16]);

/* Open: the reverse, decrypting data in place.  -EBADMSG when it does not
 * authenticate (data is then garbage), -EIO on an internal failure. */
int sc_gcm_open(sc_gcm *g, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len,
                const uint8_t tag[16]);

#endif
