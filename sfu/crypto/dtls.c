/* DTLS 1.2 for DTLS-SRTP (RFC 5763/5764) with OpenSSL 3.
 *
 * I/O never touches a socket: received datagrams go into a memory BIO, and
 * outgoing bytes leave through a small custom BIO whose write() hands each
 * call to the owner's send callback as one datagram.  During the handshake
 * OpenSSL stacks a buffering BIO on top and flushes it whenever the next
 * record would not fit the MTU, so every write() we see is a packed datagram
 * of at most SC_DTLS_MTU bytes (OpenSSL 3.0 has no BIO_s_dgram_mem). */
#include "sfu/crypto/dtls.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfu/proto/bytes.h"

/* Datagram budget for our flights: fits any path that carries our media. */
#define SC_DTLS_MTU 1200
/* Retransmission timer: first wait and the cap of the doubling backoff. */
#define SC_DTLS_TIMER_INITIAL_US 1000000u
#define SC_DTLS_TIMER_MAX_US 8000000u
#define SC_DTLS_SRTP_LABEL "EXTRACTOR-dtls_srtp"
#define SC_DTLS_FP_MAX (EVP_MAX_MD_SIZE * 3)
/* Our last handshake flight, kept after the SSL object is gone (a few
 * datagrams of about 100 bytes), and how often we answer a peer's
 * retransmitted flight with it. */
#define SC_DTLS_FLIGHT_MAX 4
#define SC_DTLS_FLIGHT_RESENDS 8

struct sc_dtls_cert {
    SSL_CTX *ctx;
    X509 *x509;
    EVP_PKEY *key;
    char fingerprint[SC_DTLS_FP_MAX];
};

struct sc_dtls {
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    sc_dtls_role role;
    sc_dtls_state state;
    const EVP_MD *fp_md;
    char remote_fp[SC_DTLS_FP_MAX];
    bool fp_mismatch;
    sc_dtls_send_fn send;
    sc_dtls_data_fn data;
    void *ud;
    /* Sessions without a data callback drop the SSL object when the
     * handshake completes (drop_ssl): what is still needed is kept here. */
    bool capture;           /* out_write copies datagrams into flight */
    int n_flight, resends;
    uint8_t *flight[SC_DTLS_FLIGHT_MAX];
    size_t flight_len[SC_DTLS_FLIGHT_MAX];
    bool have_keys;
    sc_srtp_keys keys;
    char error[128];
};

static int ssl_ex_index = -1;
static BIO_METHOD *out_method;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* ---- outgoing datagram BIO ------------------------------------------------ */

static void flight_clear(sc_dtls *d)
{
    for (int i = 0; i < d->n_flight; i++)
        free(d->flight[i]);
    d->n_flight = 0;
}

static int out_write(BIO *b, const char *buf, int len)
{
    sc_dtls *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len > 0 && d && d->capture && d->n_flight < SC_DTLS_FLIGHT_MAX) {
        uint8_t *copy = malloc((size_t)len);
        if (copy) {
            memcpy(copy, buf, (size_t)len);
            d->flight[d->n_flight] = copy;
            d->flight_len[d->n_flight++] = (size_t)len;
        }
    }
    if (len > 0 && d && d->send)
        d->send(d->ud, (const uint8_t *)buf, (size_t)len);
    return len;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        /* We set the MTU ourselves and never hold bytes back. */
        return 0;
    default:
        return 0;
    }
}

static int out_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void global_init(void)
{
    ssl_ex_index = SSL_get_ex_new_index(0, "sc_dtls", NULL, NULL, NULL);
    out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sc_dtls_out");
    if (!out_method)
        return;
    BIO_meth_set_write(out_method, out_write);
    BIO_meth_set_ctrl(out_method, out_ctrl);
    BIO_meth_set_create(out_method, out_create);
}

static bool ensure_init(void)
{
    pthread_once(&init_once, global_init);
    return out_method && ssl_ex_index >= 0;
}

/* ---- certificate ------------------------------------------------------------ */

static int verify_cb(int preverify_ok, X509_STORE_CTX *xctx);

static X509 *make_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    X509_NAME *name = NULL;

    if (!x || !bn)
        goto fail;
    if (!X509_set_version(x, 2))
        goto fail;
    /* Positive random serial: RFC 5280 wants it unique per issuer, and each
     * process is its own issuer. */
    if (!BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
        goto fail;
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -86400L) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400L))
        goto fail;
    name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"stagecast",
                                    -1, -1, 0))
        goto fail;
    if (!X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key))
        goto fail;
    if (!X509_sign(x, key, EVP_sha256()))
        goto fail;
    BN_free(bn);
    return x;

fail:
    BN_free(bn);
    X509_free(x);
    return NULL;
}

static SSL_CTX *make_ctx(X509 *x509, EVP_PKEY *key)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!ctx)
        return NULL;
    if (!SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION))
        goto fail;
    if (SSL_CTX_use_certificate(ctx, x509) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    /* ECDHE only; the CBC suites stay for older peers. */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:"
                                     "ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"
                                     "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA") != 1)
        goto fail;
    /* Returns 0 on success, unlike the rest of the API.  Order = preference. */
    if (SSL_CTX_set_tlsext_use_srtp(ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0)
        goto fail;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    /* A resumed session would skip the certificate we must check against the
     * SDP; renegotiation would let a peer swap certificates later. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* OpenSSL 3.0 honours this for TLS only; DTLS sessions free their
     * record buffers explicitly (release_buffers below). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void sc_hex_colon(const uint8_t *in, size_t len, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    char *p = out;
    for (size_t i = 0; i < len; i++) {
        if (i)
            *p++ = ':';
        *p++ = hex[in[i] >> 4];
        *p++ = hex[in[i] & 15];
    }
    *p = '\0';
}

sc_dtls_cert *sc_dtls_cert_new(void)
{
    sc_dtls_cert *c = NULL;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!ensure_init())
        return NULL;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->key = EVP_EC_gen("P-256");
    if (!c->key)
        goto fail;
    c->x509 = make_cert(c->key);
    if (!c->x509)
        goto fail;
    if (!X509_digest(c->x509, EVP_sha256(), md, &md_len))
        goto fail;
    sc_hex_colon(md, md_len, c->fingerprint);
    c->ctx = make_ctx(c->x509, c->key);
    if (!c->ctx)
        goto fail;
    return c;

fail:
    ERR_clear_error();
    sc_dtls_cert_free(c);
    return NULL;
}

void sc_dtls_cert_free(sc_dtls_cert *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    X509_free(c->x509);
    EVP_PKEY_free(c->key);
    free(c);
}

const char *sc_dtls_cert_fingerprint(const sc_dtls_cert *c)
{
    return c ? c->fingerprint : NULL;
}

/* ---- fingerprint check ---------------------------------------------------- */

static const EVP_MD *fp_md_from_alg(const char *alg)
{
    if (!alg)
        return NULL;
    if (strcasecmp(alg, "sha-256") == 0)
        return EVP_sha256();
    if (strcasecmp(alg, "sha-384") == 0)
        return EVP_sha384();
    if (strcasecmp(alg, "sha-512") == 0)
        return EVP_sha512();
    return NULL;
}

bool sc_dtls_fp_alg_ok(const char *alg)
{
    return fp_md_from_alg(alg) != NULL;
}

static bool fp_matches(const sc_dtls *d, X509 *peer)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char hex[SC_DTLS_FP_MAX];

    if (!peer || !X509_digest(peer, d->fp_md, md, &md_len))
        return false;
    sc_hex_colon(md, md_len, hex);
    return strcasecmp(hex, d->remote_fp) == 0;
}

/* Self-signed certificates are the norm in WebRTC: chain errors are ignored
 * and trust comes from the SDP fingerprint.  Checking it here (not only after
 * the handshake) makes OpenSSL send bad_certificate, so the peer learns at once. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xctx)
{
    if (X509_STORE_CTX_get_error_depth(xctx) != 0)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    sc_dtls *d = ssl ? SSL_get_ex_data(ssl, ssl_ex_index) : NULL;
    if (!d)
        return 0;
    if (!fp_matches(d, X509_STORE_CTX_get_current_cert(xctx))) {
        d->fp_mismatch = true;
        return 0;
    }
    return 1;
}

/* ---- session -------------------------------------------------------------- */

static unsigned int timer_cb(SSL *ssl, unsigned int timer_us)
{
    if (timer_us == 0)
        return SC_DTLS_TIMER_INITIAL_US;
    return timer_us >= SC_DTLS_TIMER_MAX_US / 2 ? SC_DTLS_TIMER_MAX_US : timer_us * 2;
}

sc_dtls *sc_dtls_new(sc_dtls_cert *cert, sc_dtls_role role, const char *remote_fp_alg,
                     const char *remote_fp, sc_dtls_send_fn send, sc_dtls_data_fn data,
                     void *ud)
{
    sc_dtls *d = NULL;
    BIO *wbio = NULL;

    if (!cert || !send || !remote_fp || !ensure_init())
        return NULL;
    if (role != SC_DTLS_ROLE_CLIENT && role != SC_DTLS_ROLE_SERVER)
        return NULL;
    const EVP_MD *md = fp_md_from_alg(remote_fp_alg);
    if (!md)
        return NULL;
    /* A value of the wrong length can never match: refuse it up front. */
    if (strlen(remote_fp) != (size_t)EVP_MD_get_size(md) * 3 - 1)
        return NULL;

    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->role = role;
    d->state = SC_DTLS_NEW;
    d->fp_md = md;
    memcpy(d->remote_fp, remote_fp, strlen(remote_fp) + 1);
    d->send = send;
    d->data = data;
    d->ud = ud;

    d->ssl = SSL_new(cert->ctx);
    if (!d->ssl)
        goto fail;
    if (!SSL_set_ex_data(d->ssl, ssl_ex_index, d))
        goto fail;
    d->rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(out_method);
    if (!d->rbio || !wbio) {
        BIO_free(d->rbio);
        BIO_free(wbio);
        d->rbio = NULL;
        goto fail;
    }
    /* An empty memory BIO must read as "retry", not EOF. */
    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_data(wbio, d);
    SSL_set_bio(d->ssl, d->rbio, wbio);
    SSL_set_options(d->ssl, SSL_OP_NO_QUERY_MTU);
    if (!DTLS_set_link_mtu(d->ssl, SC_DTLS_MTU))
        goto fail;
    SSL_set_mtu(d->ssl, SC_DTLS_MTU);
    DTLS_set_timer_cb(d->ssl, timer_cb);
    if (role == SC_DTLS_ROLE_CLIENT)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    return d;

fail:
    ERR_clear_error();
    sc_dtls_free(d);
    return NULL;
}

void sc_dtls_free(sc_dtls *d)
{
    if (!d)
        return;
    SSL_free(d->ssl); /* frees both BIOs */
    flight_clear(d);
    OPENSSL_cleanse(&d->keys, sizeof(d->keys));
    free(d);
}

/* An established session holds a 16.7 KiB read and a 16.7 KiB write record
 * buffer, idle between datagrams (SSL_MODE_RELEASE_BUFFERS does nothing for
 * DTLS in OpenSSL 3.0): give them back after each use (OpenSSL refuses
 * while a record is pending).  OpenSSL 3.0's DTLS write path does not
 * allocate them again by itself (SSL_write, or a flight retransmitted from
 * inside SSL_read, would write through NULL), so every entry into OpenSSL
 * on an established session first takes them back with acquire_buffers. */
static bool acquire_buffers(sc_dtls *d)
{
    if (d->state != SC_DTLS_CONNECTED)
        return true;
    if (SSL_alloc_buffers(d->ssl) == 1)
        return true;
    ERR_clear_error();
    return false;
}

static void release_buffers(sc_dtls *d)
{
    if (d->ssl && d->state == SC_DTLS_CONNECTED)
        (void)SSL_free_buffers(d->ssl);
}

static int export_keys(sc_dtls *d, sc_srtp_keys *out);
static void fail(sc_dtls *d, const char *why);

/* A session without a data callback needs OpenSSL only for the handshake:
 * once it completes, the keys are exported and the SSL object (cipher
 * state, peer certificate, the 16 KiB handshake buffer: about 40 KiB) goes.
 * As the server, our last flight (ChangeCipherSpec, Finished) may be lost;
 * the client then retransmits its own and must get ours again (RFC 6347
 * 4.2.4), so the datagrams we sent are kept and resent as they were (the
 * peer never saw their record numbers).  A close_notify from the peer is no
 * longer seen: consent expiry or the signalling DELETE ends the session. */
static void drop_ssl(sc_dtls *d)
{
    if (d->data || !d->ssl || d->state != SC_DTLS_CONNECTED)
        return;
    if (export_keys(d, &d->keys) < 0) {
        fail(d, "cannot export the SRTP keys");
        return;
    }
    d->have_keys = true;
    SSL_free(d->ssl);
    d->ssl = NULL;
    d->rbio = NULL;
}

/* After drop_ssl: the peer's Finished again (the one encrypted handshake
 * record of its flight, as OpenSSL itself watches for) means it did not get
 * our last flight.  Answer with it, a bounded number of times. */
static void resend_flight(sc_dtls *d, const uint8_t *p, size_t len)
{
    bool handshake = false;
    while (len >= 13) { /* datagram_ok checked the record framing */
        size_t rlen = sc_rd16(p + 11);
        handshake |= p[0] == 22 && sc_rd16(p + 3) != 0;
        p += 13 + rlen;
        len -= 13 + rlen;
    }
    if (!handshake || d->resends >= SC_DTLS_FLIGHT_RESENDS)
        return;
    d->resends++;
    for (int i = 0; i < d->n_flight; i++)
        d->send(d->ud, d->flight[i], d->flight_len[i]);
}

static void set_error(sc_dtls *d, const char *why)
{
    if (why) {
        snprintf(d->error, sizeof(d->error), "%s", why);
    } else {
        unsigned long e = ERR_peek_last_error();
        if (e)
            ERR_error_string_n(e, d->error, sizeof(d->error));
        else
            snprintf(d->error, sizeof(d->error), "DTLS handshake failed");
    }
    ERR_clear_error();
}

static void fail(sc_dtls *d, const char *why)
{
    d->state = SC_DTLS_FAILED;
    set_error(d, why);
}

/* The handshake finished: the peer's certificate must be the one the SDP named
 * (RFC 5763 5; pion CVE-2021-28681 accepted a session without this). */
static void handshake_done(sc_dtls *d)
{
    X509 *peer = SSL_get0_peer_certificate(d->ssl);
    if (!peer || !fp_matches(d, peer)) {
        fail(d, "fingerprint mismatch");
        return;
    }
    d->state = SC_DTLS_CONNECTED;
}

static void step_handshake(sc_dtls *d)
{
    int r = SSL_do_handshake(d->ssl);
    if (r == 1) {
        handshake_done(d);
        return;
    }
    int err = SSL_get_error(d->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return;
    }
    fail(d, d->fp_mismatch ? "fingerprint mismatch" : NULL);
}

static void read_app_data(sc_dtls *d)
{
    uint8_t buf[16384];

    while (d->state == SC_DTLS_CONNECTED) {
        int r = SSL_read(d->ssl, buf, (int)sizeof(buf));
        if (r > 0) {
            if (d->data)
                d->data(d->ud, buf, (size_t)r);
            continue;
        }
        int err = SSL_get_error(d->ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
        } else if (err == SSL_ERROR_ZERO_RETURN) {
            d->state = SC_DTLS_CLOSED;
            ERR_clear_error();
        } else {
            fail(d, NULL);
        }
        return;
    }
}

/* Cheap structural check of a datagram before OpenSSL sees it: every record
 * header must be complete and its length must fit, and plaintext handshake
 * fragments must be well formed.  A legitimate peer never sends anything
 * else, so such datagrams are dropped whole (RELIABILITY 13). */
static bool datagram_ok(const uint8_t *p, size_t len)
{
    if (len == 0)
        return false;
    while (len > 0) {
        if (len < 13)
            return false;
        uint8_t type = p[0];
        if (type < 20 || type > 23 || p[1] != 0xfe)
            return false;
        uint16_t epoch = sc_rd16(p + 3);
        size_t rlen = sc_rd16(p + 11);
        if (rlen > len - 13)
            return false;
        const uint8_t *body = p + 13;
        if (type == 22 && epoch == 0) {
            size_t left = rlen;
            const uint8_t *h = body;
            if (left == 0)
                return false;
            while (left > 0) {
                if (left < 12)
                    return false;
                uint32_t msg_len = sc_rd24(h + 1);
                uint32_t frag_off = sc_rd24(h + 6);
                uint32_t frag_len = sc_rd24(h + 9);
                if (frag_len > left - 12)
                    return false;
                if ((uint64_t)frag_off + frag_len > msg_len)
                    return false;
                /* Empty fragments of non-empty messages carry nothing and
                 * have tripped reassembly code before. */
                if (frag_len == 0 && msg_len != 0)
                    return false;
                h += 12 + frag_len;
                left -= 12 + frag_len;
            }
        }
        p += 13 + rlen;
        len -= 13 + rlen;
    }
    return true;
}

sc_dtls_state sc_dtls_start(sc_dtls *d)
{
    if (!d)
        return SC_DTLS_FAILED;
    if (d->role != SC_DTLS_ROLE_CLIENT || d->state != SC_DTLS_NEW)
        return d->state;
    ERR_clear_error();
    d->state = SC_DTLS_CONNECTING;
    step_handshake(d);
    return d->state;
}

bool sc_dtls_datagram_valid(const uint8_t *buf, size_t len)
{
    return buf && len <= 65535 && datagram_ok(buf, len);
}

sc_dtls_state sc_dtls_feed(sc_dtls *d, const uint8_t *buf, size_t len)
{
    if (!d)
        return SC_DTLS_FAILED;
    if (d->state == SC_DTLS_FAILED || d->state == SC_DTLS_CLOSED)
        return d->state;
    /* A client only speaks once started; a stray datagram before is noise. */
    if (d->role == SC_DTLS_ROLE_CLIENT && d->state == SC_DTLS_NEW)
        return d->state;
    if (!buf || !datagram_ok(buf, len) || len > 65535)
        return d->state;
    if (!d->ssl) {
        resend_flight(d, buf, len); /* drop_ssl: only our last flight is left */
        return d->state;
    }
    if (!acquire_buffers(d))
        return d->state; /* out of memory: as if the datagram were lost */
    ERR_clear_error();
    /* Each feed is one datagram: nothing of an earlier one may linger. */
    (void)BIO_reset(d->rbio);
    if (BIO_write(d->rbio, buf, (int)len) != (int)len) {
        ERR_clear_error();
        release_buffers(d);
        return d->state;
    }
    if (d->state == SC_DTLS_NEW || d->state == SC_DTLS_CONNECTING) {
        sc_dtls_state before = d->state;
        d->state = SC_DTLS_CONNECTING;
        /* The flight this step sends may be our last: keep it for drop_ssl. */
        d->capture = !d->data && d->role == SC_DTLS_ROLE_SERVER;
        if (d->capture)
            flight_clear(d);
        step_handshake(d);
        d->capture = false;
        /* A server stays NEW until a ClientHello was actually accepted, so
         * noise does not look like a handshake in progress. */
        if (before == SC_DTLS_NEW && d->state == SC_DTLS_CONNECTING &&
            SSL_get_state(d->ssl) == TLS_ST_BEFORE)
            d->state = SC_DTLS_NEW;
    }
    /* Records after the last handshake message (or our peer's retransmitted
     * flight, which OpenSSL answers inside SSL_read) are handled here. */
    read_app_data(d);
    (void)BIO_reset(d->rbio);
    release_buffers(d);
    drop_ssl(d);
    if (d->ssl || d->state != SC_DTLS_CONNECTED)
        flight_clear(d); /* kept only for a dropped session */
    return d->state;
}

sc_dtls_state sc_dtls_tick(sc_dtls *d)
{
    if (!d)
        return SC_DTLS_FAILED;
    if (d->state != SC_DTLS_CONNECTING && d->state != SC_DTLS_CONNECTED)
        return d->state;
    if (!d->ssl || !acquire_buffers(d))
        return d->state;
    ERR_clear_error();
    /* Retransmits the last flight when its timer expired; OpenSSL gives up
     * (and we fail) after its retransmission limit. */
    if (DTLSv1_handle_timeout(d->ssl) < 0 && d->state == SC_DTLS_CONNECTING)
        fail(d, NULL);
    else
        ERR_clear_error();
    release_buffers(d);
    return d->state;
}

sc_dtls_state sc_dtls_state_get(const sc_dtls *d)
{
    return d ? d->state : SC_DTLS_FAILED;
}

const char *sc_dtls_error(const sc_dtls *d)
{
    return d ? d->error : "";
}

int sc_dtls_srtp_keys(sc_dtls *d, sc_srtp_keys *out)
{
    if (!d || !out)
        return -EINVAL;
    if (d->state != SC_DTLS_CONNECTED)
        return -EAGAIN;
    if (d->have_keys) {
        *out = d->keys;
        return 0;
    }
    return export_keys(d, out);
}

static int export_keys(sc_dtls *d, sc_srtp_keys *out)
{
    uint8_t km[2 * SC_SRTP_MAX_KEY_SALT];

    SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(d->ssl);
    if (!prof)
        return -ENOTSUP;
    sc_srtp_profile p;
    size_t key_len = 16, salt_len;
    switch (prof->id) {
    case SRTP_AEAD_AES_128_GCM:
        p = SC_SRTP_AEAD_AES_128_GCM;
        salt_len = 12;
        break;
    case SRTP_AES128_CM_SHA1_80:
        p = SC_SRTP_AES128_CM_SHA1_80;
        salt_len = 14;
        break;
    default:
        return -ENOTSUP;
    }
    size_t total = 2 * (key_len + salt_len);
    ERR_clear_error();
    if (SSL_export_keying_material(d->ssl, km, total, SC_DTLS_SRTP_LABEL,
                                   strlen(SC_DTLS_SRTP_LABEL), NULL, 0, 0) != 1) {
        ERR_clear_error();
        return -EIO;
    }
    /* RFC 5764 4.2: client key | server key | client salt | server salt. */
    const uint8_t *ck = km, *sk = km + key_len;
    const uint8_t *cs = km + 2 * key_len, *ss = km + 2 * key_len + salt_len;
    bool client = d->role == SC_DTLS_ROLE_CLIENT;
    memset(out, 0, sizeof(*out));
    out->profile = p;
    out->key_len = key_len;
    out->salt_len = salt_len;
    memcpy(out->local, client ? ck : sk, key_len);
    memcpy(out->local + key_len, client ? cs : ss, salt_len);
    memcpy(out->remote, client ? sk : ck, key_len);
    memcpy(out->remote + key_len, client ? ss : cs, salt_len);
    OPENSSL_cleanse(km, sizeof(km));
    return 0;
}

int sc_dtls_send(sc_dtls *d, const uint8_t *buf, size_t len)
{
    if (!d || (!buf && len))
        return -EINVAL;
    if (d->state != SC_DTLS_CONNECTED)
        return d->state == SC_DTLS_FAILED || d->state == SC_DTLS_CLOSED ? -ENOTCONN : -EAGAIN;
    if (!d->ssl)
        return -ENOTCONN; /* no data callback: no application data either */
    if (len == 0)
        return 0;
    /* One record per call; the caller (SCTP) keeps its packets under the
     * path MTU, we only refuse what cannot be a single record. */
    if (len > SSL3_RT_MAX_PLAIN_LENGTH)
        return -EMSGSIZE;
    if (!acquire_buffers(d))
        return -ENOMEM;
    ERR_clear_error();
    int r = SSL_write(d->ssl, buf, (int)len);
    if (r == (int)len) {
        release_buffers(d);
        return 0;
    }
    int err = SSL_get_error(d->ssl, r);
    ERR_clear_error();
    release_buffers(d);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        return -EAGAIN;
    return -EIO;
}
