/* AES-128-GCM for SRTP: the provider's functions called directly, EVP as
 * the fallback.  See gcm.h for why. */
#include "sfu/crypto/gcm.h"

#include <errno.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The default provider's AES-128-GCM, as its dispatch table gives it. */
typedef struct gcm_impl {
    void *provctx;
    OSSL_FUNC_cipher_newctx_fn *newctx;
    OSSL_FUNC_cipher_freectx_fn *freectx;
    OSSL_FUNC_cipher_encrypt_init_fn *einit;
    OSSL_FUNC_cipher_decrypt_init_fn *dinit;
    OSSL_FUNC_cipher_update_fn *update;
    OSSL_FUNC_cipher_final_fn *final;
    OSSL_FUNC_cipher_get_ctx_params_fn *get_ctx_params;
    OSSL_FUNC_cipher_set_ctx_params_fn *set_ctx_params;
} gcm_impl;

struct sc_gcm {
    bool encrypt;
    void *algctx;        /* direct: the provider's context */
    EVP_CIPHER_CTX *evp; /* otherwise */
};

static pthread_once_t impl_once = PTHREAD_ONCE_INIT;
static gcm_impl impl;
static bool impl_ok;

/* Whether name is one of the colon-separated names. */
static bool name_listed(const char *names, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = names; p && *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static void take_functions(const OSSL_DISPATCH *d)
{
    for (; d->function_id != 0; d++) {
        switch (d->function_id) {
        case OSSL_FUNC_CIPHER_NEWCTX:
            impl.newctx = OSSL_FUNC_cipher_newctx(d);
            break;
        case OSSL_FUNC_CIPHER_FREECTX:
            impl.freectx = OSSL_FUNC_cipher_freectx(d);
            break;
        case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
            impl.einit = OSSL_FUNC_cipher_encrypt_init(d);
            break;
        case OSSL_FUNC_CIPHER_DECRYPT_INIT:
            impl.dinit = OSSL_FUNC_cipher_decrypt_init(d);
            break;
        case OSSL_FUNC_CIPHER_UPDATE:
            impl.update = OSSL_FUNC_cipher_update(d);
            break;
        case OSSL_FUNC_CIPHER_FINAL:
            impl.final = OSSL_FUNC_cipher_final(d);
            break;
        case OSSL_FUNC_CIPHER_GET_CTX_PARAMS:
            impl.get_ctx_params = OSSL_FUNC_cipher_get_ctx_params(d);
            break;
        case OSSL_FUNC_CIPHER_SET_CTX_PARAMS:
            impl.set_ctx_params = OSSL_FUNC_cipher_set_ctx_params(d);
            break;
        default:
            break;
        }
    }
}

/* The implementation EVP would use (the one EVP_CIPHER_fetch finds), taken
 * from its provider's table of cipher algorithms. */
static void resolve(void)
{
    /* STAGECAST_GCM_EVP=1 keeps every context on EVP (to compare). */
    const char *env = getenv("STAGECAST_GCM_EVP");
    if (env && *env && strcmp(env, "0") != 0)
        return;
    /* The provider EVP finds is activated in the default library context,
     * which keeps it (and so its functions and provider context) until
     * OPENSSL_cleanup at exit: the fetched cipher need not be kept. */
    EVP_CIPHER *fetched = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    const OSSL_PROVIDER *prov = fetched ? EVP_CIPHER_get0_provider(fetched) : NULL;
    if (!prov) {
        EVP_CIPHER_free(fetched);
        return;
    }
    int no_store = 0;
    const OSSL_ALGORITHM *algs = OSSL_PROVIDER_query_operation(prov, OSSL_OP_CIPHER, &no_store);
    for (const OSSL_ALGORITHM *a = algs; a && a->algorithm_names; a++) {
        if (name_listed(a->algorithm_names, "AES-128-GCM")) {
            take_functions(a->implementation);
            break;
        }
    }
    if (algs)
        OSSL_PROVIDER_unquery_operation(prov, OSSL_OP_CIPHER, algs);
    impl.provctx = OSSL_PROVIDER_get0_provider_ctx(prov);
    EVP_CIPHER_free(fetched);
    impl_ok = impl.provctx && impl.newctx && impl.freectx && impl.einit && impl.dinit &&
              impl.update && impl.final && impl.get_ctx_params && impl.set_ctx_params;
}

static sc_gcm *new_direct(sc_gcm *g, const uint8_t key[16])
{
    g->algctx = impl.newctx(impl.provctx);
    if (!g->algctx)
        return NULL;
    size_t ivlen = 12;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen),
        OSSL_PARAM_construct_end(),
    };
    int ok = g->encrypt ? impl.einit(g->algctx, key, 16, NULL, 0, params)
                        : impl.dinit(g->algctx, key, 16, NULL, 0, params);
    return ok == 1 ? g : NULL;
}

static sc_gcm *new_evp(sc_gcm *g, const uint8_t key[16])
{
    int enc = g->encrypt ? 1 : 0;
    g->evp = EVP_CIPHER_CTX_new();
    if (!g->evp || EVP_CipherInit_ex(g->evp, EVP_aes_128_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
        EVP_CipherInit_ex(g->evp, NULL, NULL, key, NULL, enc) != 1)
        return NULL;
    return g;
}

sc_gcm *sc_gcm_new(const uint8_t key[16], bool encrypt, bool evp)
{
    pthread_once(&impl_once, resolve);
    sc_gcm *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->encrypt = encrypt;
    if (!(evp || !impl_ok ? new_evp(g, key) : new_direct(g, key))) {
        ERR_clear_error();
        sc_gcm_free(g);
        return NULL;
    }
    return g;
}

void sc_gcm_free(sc_gcm *g)
{
    if (!g)
        return;
    if (g->algctx)
        impl.freectx(g->algctx); /* the provider wipes the key schedule */
    EVP_CIPHER_CTX_free(g->evp);
    free(g);
}

bool sc_gcm_is_direct(const sc_gcm *g)
{
    return g->algctx != NULL;
}

/* Feed aad, aad2 and data (data in place) after setting the IV. */
static bool direct_run(sc_gcm *g, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                       const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len)
{
    size_t outl;
    int ok = g->encrypt ? impl.einit(g->algctx, NULL, 0, iv, 12, NULL)
                        : impl.dinit(g->algctx, NULL, 0, iv, 12, NULL);
    return ok == 1 &&
           (!aad_len || impl.update(g->algctx, NULL, &outl, aad_len, aad, aad_len) == 1) &&
           (!aad2_len || impl.update(g->algctx, NULL, &outl, aad2_len, aad2, aad2_len) == 1) &&
           (!data_len || impl.update(g->algctx, data, &outl, data_len, data, data_len) == 1);
}

static bool evp_run(sc_gcm *g, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                    const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len)
{
    int outl;
    return data_len <= INT32_MAX && aad_len <= INT32_MAX && aad2_len <= INT32_MAX &&
           EVP_CipherInit_ex(g->evp, NULL, NULL, NULL, iv, -1) == 1 &&
           (!aad_len || EVP_CipherUpdate(g->evp, NULL, &outl, aad, (int)aad_len) == 1) &&
           (!aad2_len || EVP_CipherUpdate(g->evp, NULL, &outl, aad2, (int)aad2_len) == 1) &&
           (!data_len || EVP_CipherUpdate(g->evp, data, &outl, data, (int)data_len) == 1);
}

int sc_gcm_seal(sc_gcm *g, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len,
                uint8_t tag[16])
{
    if (!g->encrypt)
        return -EINVAL;
    bool ok;
    if (g->algctx) {
        size_t outl;
        OSSL_PARAM get[] = {
            OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, 16),
            OSSL_PARAM_END,
        };
        ok = direct_run(g, iv, aad, aad_len, aad2, aad2_len, data, data_len) &&
             impl.final(g->algctx, NULL, &outl, 0) == 1 && impl.get_ctx_params(g->algctx, get) == 1;
    } else {
        int outl;
        ok = evp_run(g, iv, aad, aad_len, aad2, aad2_len, data, data_len) &&
             EVP_CipherFinal_ex(g->evp, data + data_len, &outl) == 1 &&
             EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    }
    if (ok)
        return 0;
    ERR_clear_error();
    return -EIO;
}

int sc_gcm_open(sc_gcm *g, const uint8_t iv[12], const uint8_t *aad, size_t aad_len,
                const uint8_t *aad2, size_t aad2_len, uint8_t *data, size_t data_len,
                const uint8_t tag[16])
{
    if (g->encrypt)
        return -EINVAL;
    bool ran, authentic;
    if (g->algctx) {
        size_t outl;
        OSSL_PARAM set[] = {
            OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, (void *)tag, 16),
            OSSL_PARAM_END,
        };
        ran = direct_run(g, iv, aad, aad_len, aad2, aad2_len, data, data_len) &&
              impl.set_ctx_params(g->algctx, set) == 1;
        authentic = ran && impl.final(g->algctx, NULL, &outl, 0) == 1;
    } else {
        int outl;
        ran = evp_run(g, iv, aad, aad_len, aad2, aad2_len, data, data_len) &&
              EVP_CIPHER_CTX_ctrl(g->evp, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1;
        authentic = ran && EVP_CipherFinal_ex(g->evp, data + data_len, &outl) == 1;
    }
    if (authentic)
        return 0;
    ERR_clear_error();
    return ran ? -EBADMSG : -EIO;
}
