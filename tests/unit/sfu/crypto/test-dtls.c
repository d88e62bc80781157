/* DTLS-SRTP handshakes run entirely in memory: datagrams from one sc_dtls are
 * queued and fed to the other until both sides go quiet. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sfu/crypto/dtls.h"
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"
#include "tests/unit/sc_test.h"

#define MAX_DGRAMS 256
#define MAX_DGRAM 4096

typedef struct peer {
    sc_dtls *d;
    /* Outgoing datagrams not yet delivered. */
    uint8_t q[MAX_DGRAMS][MAX_DGRAM];
    size_t qlen[MAX_DGRAMS];
    int nq;
    int sent_total;
    size_t max_dgram;
    bool overflow;
    /* Application data received. */
    uint8_t data[4096];
    size_t data_len;
    int data_calls;
} peer;

static void on_send(void *ud, const uint8_t *buf, size_t len)
{
    peer *p = ud;
    p->sent_total++;
    if (len > p->max_dgram)
        p->max_dgram = len;
    if (p->nq >= MAX_DGRAMS || len > MAX_DGRAM) {
        p->overflow = true;
        return;
    }
    memcpy(p->q[p->nq], buf, len);
    p->qlen[p->nq] = len;
    p->nq++;
}

static void on_data(void *ud, const uint8_t *buf, size_t len)
{
    peer *p = ud;
    p->data_calls++;
    if (p->data_len + len <= sizeof(p->data)) {
        memcpy(p->data + p->data_len, buf, len);
        p->data_len += len;
    }
}

/* Deliver everything `from` queued to `to`.  drop_index >= 0 drops that
 * datagram of this batch (simulated loss).  Returns datagrams delivered. */
static int deliver(peer *from, peer *to, int drop_index)
{
    int n = from->nq;
    static uint8_t batch[MAX_DGRAMS][MAX_DGRAM];
    static size_t blen[MAX_DGRAMS];
    /* Copy first: feeding may make `to` answer, and in loops `to` may be `from`. */
    for (int i = 0; i < n; i++) {
        memcpy(batch[i], from->q[i], from->qlen[i]);
        blen[i] = from->qlen[i];
    }
    from->nq = 0;
    for (int i = 0; i < n; i++) {
        if (i == drop_index)
            continue;
        sc_dtls_feed(to->d, batch[i], blen[i]);
    }
    return n;
}

static void pump(peer *a, peer *b)
{
    for (int round = 0; round < 50 && (a->nq || b->nq); round++) {
        deliver(a, b, -1);
        deliver(b, a, -1);
    }
}

static void to_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static sc_dtls_cert *cert_a, *cert_b, *cert_c;

static void setup_pair(peer *cli, peer *srv, const char *cli_expects, const char *srv_expects)
{
    memset(cli, 0, sizeof(*cli));
    memset(srv, 0, sizeof(*srv));
    cli->d = sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "sha-256", cli_expects, on_send, on_data,
                         cli);
    srv->d = sc_dtls_new(cert_b, SC_DTLS_ROLE_SERVER, "sha-256", srv_expects, on_send, on_data,
                         srv);
    SC_CHECK(cli->d != NULL);
    SC_CHECK(srv->d != NULL);
}

static void teardown_pair(peer *cli, peer *srv)
{
    sc_dtls_free(cli->d);
    sc_dtls_free(srv->d);
}

static void check_keys_pair(sc_dtls *client, sc_dtls *server, sc_srtp_profile want)
{
    sc_srtp_keys kc, ks;
    SC_CHECK_INT(sc_dtls_srtp_keys(client, &kc), 0);
    SC_CHECK_INT(sc_dtls_srtp_keys(server, &ks), 0);
    SC_CHECK_INT(kc.profile, want);
    SC_CHECK_INT(ks.profile, want);
    SC_CHECK_INT(kc.key_len, 16);
    SC_CHECK_INT(kc.salt_len, want == SC_SRTP_AEAD_AES_128_GCM ? 12 : 14);
    SC_CHECK_INT(ks.salt_len, kc.salt_len);
    size_t n = kc.key_len + kc.salt_len;
    SC_CHECK(memcmp(kc.local, ks.remote, n) == 0);
    SC_CHECK(memcmp(kc.remote, ks.local, n) == 0);
    SC_CHECK(memcmp(kc.local, kc.remote, n) != 0);
}

static void test_cert(void)
{
    const char *fa = sc_dtls_cert_fingerprint(cert_a);
    const char *fb = sc_dtls_cert_fingerprint(cert_b);
    SC_CHECK(fa != NULL && fb != NULL);
    SC_CHECK_INT(strlen(fa), 32 * 3 - 1);
    SC_CHECK(strcmp(fa, fb) != 0);
    for (size_t i = 0; i < strlen(fa); i++) {
        char c = fa[i];
        if (i % 3 == 2)
            SC_CHECK(c == ':');
        else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            SC_CHECK(!"fingerprint char not upper-case hex");
    }
}

static void test_handshake(void)
{
    peer *cli = calloc(1, sizeof(*cli)), *srv = calloc(1, sizeof(*srv));
    char fa_lower[128];
    /* The server is given the fingerprint in lower case: SDP allows both. */
    snprintf(fa_lower, sizeof(fa_lower), "%s", sc_dtls_cert_fingerprint(cert_a));
    to_lower(fa_lower);
    setup_pair(cli, srv, sc_dtls_cert_fingerprint(cert_b), fa_lower);

    sc_srtp_keys k;
    SC_CHECK_INT(sc_dtls_srtp_keys(cli->d, &k), -EAGAIN);
    SC_CHECK_INT(sc_dtls_send(cli->d, (const uint8_t *)"x", 1), -EAGAIN);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_NEW);
    /* Server role: start is a no-op and sends nothing. */
    SC_CHECK_INT(sc_dtls_start(srv->d), SC_DTLS_NEW);
    SC_CHECK_INT(srv->nq, 0);

    SC_CHECK_INT(sc_dtls_start(cli->d), SC_DTLS_CONNECTING);
    SC_CHECK_INT(cli->nq, 1); /* the ClientHello */
    SC_CHECK(cli->qlen[0] > 13 && cli->q[0][0] == 22);
    pump(cli, srv);

    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    SC_CHECK(!cli->overflow && !srv->overflow);
    SC_CHECK(cli->max_dgram <= 1200);
    SC_CHECK(srv->max_dgram <= 1200);
    check_keys_pair(cli->d, srv->d, SC_SRTP_AEAD_AES_128_GCM);

    /* Application data both ways. */
    SC_CHECK_INT(sc_dtls_send(cli->d, (const uint8_t *)"hello", 5), 0);
    SC_CHECK_INT(cli->nq, 1);
    pump(cli, srv);
    SC_CHECK_INT(srv->data_calls, 1);
    SC_CHECK_INT(srv->data_len, 5);
    SC_CHECK(memcmp(srv->data, "hello", 5) == 0);
    SC_CHECK_INT(sc_dtls_send(srv->d, (const uint8_t *)"world!", 6), 0);
    pump(cli, srv);
    SC_CHECK_INT(cli->data_len, 6);
    SC_CHECK(memcmp(cli->data, "world!", 6) == 0);
    SC_CHECK_INT(sc_dtls_send(cli->d, NULL, 0), 0);

    /* A large message still arrives whole as one record. */
    uint8_t big[3000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    srv->data_len = 0;
    SC_CHECK_INT(sc_dtls_send(cli->d, big, sizeof(big)), 0);
    pump(cli, srv);
    SC_CHECK_INT(srv->data_len, sizeof(big));
    SC_CHECK(memcmp(srv->data, big, sizeof(big)) == 0);
    uint8_t *huge = calloc(1, 20000);
    SC_CHECK_INT(sc_dtls_send(cli->d, huge, 20000), -EMSGSIZE);
    free(huge);

    teardown_pair(cli, srv);
    free(cli);
    free(srv);
}

static void test_bad_alg(void)
{
    const char *fp = sc_dtls_cert_fingerprint(cert_b);
    peer p;
    memset(&p, 0, sizeof(p));
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "sha-1", fp, on_send, NULL, &p) == NULL);
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "md5", fp, on_send, NULL, &p) == NULL);
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "", fp, on_send, NULL, &p) == NULL);
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, NULL, fp, on_send, NULL, &p) == NULL);
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "sha-256", NULL, on_send, NULL, &p) == NULL);
    /* A sha-256 value labelled sha-512 can never match. */
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "sha-512", fp, on_send, NULL, &p) == NULL);
    SC_CHECK(sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "sha-256", "AB:CD", on_send, NULL, &p) ==
             NULL);
    /* The supported ones are accepted (the value's length must match). */
    char fp512[EVP_MAX_MD_SIZE * 3];
    memset(fp512, 0, sizeof(fp512));
    for (int i = 0; i < 64; i++)
        memcpy(fp512 + i * 3, i == 63 ? "AB" : "AB:", i == 63 ? 2 : 3);
    sc_dtls *d = sc_dtls_new(cert_a, SC_DTLS_ROLE_CLIENT, "sha-512", fp512, on_send, NULL, &p);
    SC_CHECK(d != NULL);
    sc_dtls_free(d);
    sc_dtls_free(NULL);
}

static void test_wrong_fingerprint(void)
{
    peer *cli = calloc(1, sizeof(*cli)), *srv = calloc(1, sizeof(*srv));

    /* The server expects cert_c but the client presents cert_a. */
    setup_pair(cli, srv, sc_dtls_cert_fingerprint(cert_b), sc_dtls_cert_fingerprint(cert_c));
    sc_dtls_start(cli->d);
    pump(cli, srv);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_FAILED);
    SC_CHECK_STR(sc_dtls_error(srv->d), "fingerprint mismatch");
    SC_CHECK(sc_dtls_state_get(cli->d) != SC_DTLS_CONNECTED);
    sc_srtp_keys k;
    SC_CHECK_INT(sc_dtls_srtp_keys(srv->d, &k), -EAGAIN);
    SC_CHECK_INT(sc_dtls_send(srv->d, (const uint8_t *)"x", 1), -ENOTCONN);
    /* Once failed, it stays failed whatever arrives. */
    SC_CHECK_INT(sc_dtls_feed(srv->d, (const uint8_t *)"\x16\xfe\xfd", 3), SC_DTLS_FAILED);
    SC_CHECK_INT(sc_dtls_tick(srv->d), SC_DTLS_FAILED);
    teardown_pair(cli, srv);

    /* The client expects cert_c but the server presents cert_b. */
    setup_pair(cli, srv, sc_dtls_cert_fingerprint(cert_c), sc_dtls_cert_fingerprint(cert_a));
    sc_dtls_start(cli->d);
    pump(cli, srv);
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_FAILED);
    SC_CHECK_STR(sc_dtls_error(cli->d), "fingerprint mismatch");
    SC_CHECK(sc_dtls_state_get(srv->d) != SC_DTLS_CONNECTED);
    teardown_pair(cli, srv);
    free(cli);
    free(srv);
}

static size_t make_record(uint8_t *out, uint8_t type, uint16_t epoch, const uint8_t *body,
                          size_t body_len, size_t claimed_len)
{
    out[0] = type;
    out[1] = 0xfe;
    out[2] = 0xfd;
    sc_wr16(out + 3, epoch);
    memset(out + 5, 0, 6);
    out[10] = 1;
    sc_wr16(out + 11, (uint16_t)claimed_len);
    memcpy(out + 13, body, body_len);
    return 13 + body_len;
}

/* Malformed datagrams of every kind we know; each must be ignored. */
static void feed_garbage(sc_dtls *d, sc_dtls_state expect)
{
    uint8_t buf[512], body[64];
    size_t n;

    SC_CHECK_INT(sc_dtls_feed(d, NULL, 0), expect);
    SC_CHECK_INT(sc_dtls_feed(d, buf, 0), expect);
    /* Random bytes, with and without a handshake-looking first byte. */
    for (int i = 0; i < 20; i++) {
        sc_random(buf, sizeof(buf));
        if (i & 1)
            buf[0] = 22;
        SC_CHECK_INT(sc_dtls_feed(d, buf, 1 + (size_t)i * 25), expect);
    }
    /* Zero-length fragment of a 100-byte ClientHello. */
    memset(body, 0, sizeof(body));
    body[0] = 1;
    sc_wr24(body + 1, 100);
    n = make_record(buf, 22, 0, body, 12, 12);
    SC_CHECK(!sc_dtls_datagram_valid(buf, n)); /* the caller counts it */
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
    /* Zero-length handshake record body. */
    n = make_record(buf, 22, 0, body, 0, 0);
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
    /* Fragment running past its message. */
    sc_wr24(body + 1, 10);
    sc_wr24(body + 6, 8);
    sc_wr24(body + 9, 4);
    n = make_record(buf, 22, 0, body, 16, 16);
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
    /* Truncated record: the header claims 200 bytes, 20 follow. */
    n = make_record(buf, 22, 0, body, 20, 200);
    SC_CHECK(!sc_dtls_datagram_valid(buf, n));
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
    /* Truncated header. */
    SC_CHECK_INT(sc_dtls_feed(d, buf, 7), expect);
    /* Encrypted-epoch garbage of plausible shape: OpenSSL drops it. */
    sc_random(body, sizeof(body));
    n = make_record(buf, 23, 1, body, 48, 48);
    SC_CHECK(sc_dtls_datagram_valid(buf, n)); /* well-formed; only decryption fails */
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
    n = make_record(buf, 22, 1, body, 48, 48);
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
    /* A bare alert record with no body. */
    n = make_record(buf, 21, 0, body, 0, 0);
    SC_CHECK_INT(sc_dtls_feed(d, buf, n), expect);
}

static void test_garbage(void)
{
    peer *cli = calloc(1, sizeof(*cli)), *srv = calloc(1, sizeof(*srv));
    setup_pair(cli, srv, sc_dtls_cert_fingerprint(cert_b), sc_dtls_cert_fingerprint(cert_a));

    feed_garbage(srv->d, SC_DTLS_NEW);
    feed_garbage(cli->d, SC_DTLS_NEW);
    SC_CHECK_INT(srv->nq, 0);
    SC_CHECK_INT(cli->nq, 0);
    SC_CHECK_INT(sc_dtls_start(cli->d), SC_DTLS_CONNECTING);
    feed_garbage(cli->d, SC_DTLS_CONNECTING);

    /* Handshake flood: the same ClientHello many times over. */
    SC_CHECK_INT(cli->nq, 1);
    uint8_t hello[MAX_DGRAM];
    size_t hello_len = cli->qlen[0];
    memcpy(hello, cli->q[0], hello_len);
    for (int i = 0; i < 100; i++)
        SC_CHECK(sc_dtls_feed(srv->d, hello, hello_len) == SC_DTLS_CONNECTING);
    feed_garbage(srv->d, SC_DTLS_CONNECTING);
    srv->nq = 0; /* forget the replies to the flood */
    cli->nq = 0;
    /* The client resends its hello on its timer; let the handshake finish. */
    for (int i = 0; i < 100 && sc_dtls_state_get(cli->d) != SC_DTLS_CONNECTED; i++) {
        sc_dtls_feed(srv->d, hello, hello_len);
        pump(cli, srv);
        if (sc_dtls_state_get(cli->d) != SC_DTLS_CONNECTED) {
            sleep_ms(50);
            sc_dtls_tick(cli->d);
            sc_dtls_tick(srv->d);
        }
    }
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    check_keys_pair(cli->d, srv->d, SC_SRTP_AEAD_AES_128_GCM);

    /* After the handshake: garbage and a replayed ClientHello change nothing. */
    feed_garbage(srv->d, SC_DTLS_CONNECTED);
    feed_garbage(cli->d, SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_feed(srv->d, hello, hello_len), SC_DTLS_CONNECTED);
    pump(cli, srv);
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_send(cli->d, (const uint8_t *)"still", 5), 0);
    pump(cli, srv);
    SC_CHECK_INT(srv->data_len, 5);
    SC_CHECK(memcmp(srv->data, "still", 5) == 0);
    teardown_pair(cli, srv);
    free(cli);
    free(srv);
}

/* Drop one datagram of the server's first flight; only the timer can recover. */
static void test_retransmit(void)
{
    peer *cli = calloc(1, sizeof(*cli)), *srv = calloc(1, sizeof(*srv));
    setup_pair(cli, srv, sc_dtls_cert_fingerprint(cert_b), sc_dtls_cert_fingerprint(cert_a));

    sc_dtls_start(cli->d);
    deliver(cli, srv, -1);
    SC_CHECK(srv->nq >= 1);
    int srv_first_flight = srv->sent_total;
    deliver(srv, cli, srv->nq - 1); /* lose the last one (ServerHelloDone) */
    pump(cli, srv);
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTING);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTING);
    /* Ticks before the timer expires send nothing. */
    int before = cli->sent_total + srv->sent_total;
    sc_dtls_tick(cli->d);
    sc_dtls_tick(srv->d);
    SC_CHECK_INT(cli->sent_total + srv->sent_total, before);

    for (int i = 0; i < 100; i++) {
        sleep_ms(50);
        sc_dtls_tick(cli->d);
        sc_dtls_tick(srv->d);
        pump(cli, srv);
        if (sc_dtls_state_get(cli->d) == SC_DTLS_CONNECTED &&
            sc_dtls_state_get(srv->d) == SC_DTLS_CONNECTED)
            break;
    }
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    SC_CHECK(srv->sent_total > srv_first_flight);
    check_keys_pair(cli->d, srv->d, SC_SRTP_AEAD_AES_128_GCM);
    teardown_pair(cli, srv);

    /* Lose the server's final flight (ChangeCipherSpec + Finished): the
     * server is done, the client retransmits and the server answers. */
    setup_pair(cli, srv, sc_dtls_cert_fingerprint(cert_b), sc_dtls_cert_fingerprint(cert_a));
    sc_dtls_start(cli->d);
    for (int i = 0; i < 10 && sc_dtls_state_get(srv->d) != SC_DTLS_CONNECTED; i++) {
        deliver(cli, srv, -1);
        if (sc_dtls_state_get(srv->d) != SC_DTLS_CONNECTED)
            deliver(srv, cli, -1);
    }
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    srv->nq = 0; /* lost */
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTING);
    for (int i = 0; i < 100 && sc_dtls_state_get(cli->d) != SC_DTLS_CONNECTED; i++) {
        sleep_ms(50);
        sc_dtls_tick(cli->d);
        sc_dtls_tick(srv->d);
        pump(cli, srv);
    }
    SC_CHECK_INT(sc_dtls_state_get(cli->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    check_keys_pair(cli->d, srv->d, SC_SRTP_AEAD_AES_128_GCM);
    teardown_pair(cli, srv);
    free(cli);
    free(srv);
}

/* ---- a plain OpenSSL peer, to offer other SRTP profile lists ---------------- */

typedef struct raw_peer {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;
    char fp[EVP_MAX_MD_SIZE * 3];
} raw_peer;

static int raw_verify(int ok, X509_STORE_CTX *x) { return 1; }

static bool raw_new(raw_peer *r, const char *profiles)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    memset(r, 0, sizeof(*r));
    if (!key || !x)
        return false;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"raw", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    X509_digest(x, EVP_sha256(), md, &md_len);
    sc_hex_colon(md, md_len, r->fp);

    r->ctx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_use_certificate(r->ctx, x);
    SSL_CTX_use_PrivateKey(r->ctx, key);
    SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, raw_verify);
    bool ok = SSL_CTX_set_tlsext_use_srtp(r->ctx, profiles) == 0;
    X509_free(x);
    EVP_PKEY_free(key);
    r->ssl = SSL_new(r->ctx);
    r->rbio = BIO_new(BIO_s_mem());
    r->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r->rbio, -1);
    SSL_set_bio(r->ssl, r->rbio, r->wbio);
    SSL_set_connect_state(r->ssl);
    return ok && r->ssl;
}

static void raw_free(raw_peer *r)
{
    SSL_free(r->ssl);
    SSL_CTX_free(r->ctx);
}

/* Shuttle between a raw OpenSSL client and an sc_dtls server.  The raw side's
 * memory BIO concatenates its records, which is still a valid datagram. */
static void raw_pump(raw_peer *r, peer *srv)
{
    uint8_t buf[16384];
    for (int round = 0; round < 20; round++) {
        SSL_do_handshake(r->ssl);
        int n = BIO_read(r->wbio, buf, sizeof(buf));
        if (n > 0)
            sc_dtls_feed(srv->d, buf, (size_t)n);
        int m = srv->nq;
        for (int i = 0; i < srv->nq; i++)
            BIO_write(r->rbio, srv->q[i], (int)srv->qlen[i]);
        srv->nq = 0;
        if (n <= 0 && m == 0)
            break;
    }
    ERR_clear_error();
}

static void check_raw_keys(raw_peer *r, peer *srv, sc_srtp_profile want, size_t salt)
{
    sc_srtp_keys ks;
    uint8_t km[2 * (16 + 14)];
    SC_CHECK_INT(sc_dtls_srtp_keys(srv->d, &ks), 0);
    SC_CHECK_INT(ks.profile, want);
    SC_CHECK_INT(ks.salt_len, salt);
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(r->ssl);
    SC_CHECK(p != NULL && p->id == (unsigned long)want);
    SC_CHECK_INT(SSL_export_keying_material(r->ssl, km, 2 * (16 + salt), "EXTRACTOR-dtls_srtp",
                                            19, NULL, 0, 0),
                 1);
    /* The raw side is the client: its key is first, its salt third. */
    SC_CHECK(memcmp(ks.remote, km, 16) == 0);
    SC_CHECK(memcmp(ks.remote + 16, km + 32, salt) == 0);
    SC_CHECK(memcmp(ks.local, km + 16, 16) == 0);
    SC_CHECK(memcmp(ks.local + 16, km + 32 + salt, salt) == 0);
}

static void test_profiles(void)
{
    peer *srv = calloc(1, sizeof(*srv));
    raw_peer r;

    /* Only AES_CM offered: we still connect, with AES_CM keys. */
    SC_CHECK(raw_new(&r, "SRTP_AES128_CM_SHA1_80"));
    srv->d = sc_dtls_new(cert_b, SC_DTLS_ROLE_SERVER, "sha-256", r.fp, on_send, on_data, srv);
    SC_CHECK(srv->d != NULL);
    raw_pump(&r, srv);
    SC_CHECK_INT(SSL_is_init_finished(r.ssl), 1);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    check_raw_keys(&r, srv, SC_SRTP_AES128_CM_SHA1_80, 14);

    /* close_notify from the peer closes the session. */
    SSL_shutdown(r.ssl);
    raw_pump(&r, srv);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CLOSED);
    SC_CHECK_INT(sc_dtls_send(srv->d, (const uint8_t *)"x", 1), -ENOTCONN);
    sc_dtls_free(srv->d);
    raw_free(&r);

    /* Both offered, AES_CM first: our preference (GCM) wins. */
    memset(srv, 0, sizeof(*srv));
    SC_CHECK(raw_new(&r, "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM"));
    srv->d = sc_dtls_new(cert_b, SC_DTLS_ROLE_SERVER, "sha-256", r.fp, on_send, on_data, srv);
    raw_pump(&r, srv);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    check_raw_keys(&r, srv, SC_SRTP_AEAD_AES_128_GCM, 12);
    sc_dtls_free(srv->d);
    raw_free(&r);

    /* No SRTP offered at all: DTLS connects but there are no keys. */
    memset(srv, 0, sizeof(*srv));
    SC_CHECK(raw_new(&r, "SRTP_AES128_CM_SHA1_32"));
    srv->d = sc_dtls_new(cert_b, SC_DTLS_ROLE_SERVER, "sha-256", r.fp, on_send, on_data, srv);
    raw_pump(&r, srv);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_CONNECTED);
    sc_srtp_keys k;
    SC_CHECK_INT(sc_dtls_srtp_keys(srv->d, &k), -ENOTSUP);
    sc_dtls_free(srv->d);
    raw_free(&r);
    free(srv);
}

/* A peer that sends no certificate is refused. */
static void test_no_client_cert(void)
{
    peer *srv = calloc(1, sizeof(*srv));
    raw_peer r;
    SC_CHECK(raw_new(&r, "SRTP_AEAD_AES_128_GCM"));
    /* Drop the certificate from the raw client. */
    SSL_free(r.ssl);
    SSL_CTX_free(r.ctx);
    r.ctx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_set_verify(r.ctx, SSL_VERIFY_PEER, raw_verify);
    SSL_CTX_set_tlsext_use_srtp(r.ctx, "SRTP_AEAD_AES_128_GCM");
    r.ssl = SSL_new(r.ctx);
    r.rbio = BIO_new(BIO_s_mem());
    r.wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r.rbio, -1);
    SSL_set_bio(r.ssl, r.rbio, r.wbio);
    SSL_set_connect_state(r.ssl);

    srv->d = sc_dtls_new(cert_b, SC_DTLS_ROLE_SERVER, "sha-256", r.fp, on_send, on_data, srv);
    raw_pump(&r, srv);
    SC_CHECK_INT(sc_dtls_state_get(srv->d), SC_DTLS_FAILED);
    SC_CHECK(strlen(sc_dtls_error(srv->d)) > 0);
    sc_dtls_free(srv->d);
    raw_free(&r);
    free(srv);
}

int main(void)
{
    cert_a = sc_dtls_cert_new();
    cert_b = sc_dtls_cert_new();
    cert_c = sc_dtls_cert_new();
    SC_CHECK(cert_a && cert_b && cert_c);
    if (!cert_a || !cert_b || !cert_c)
        SC_TEST_END();

    test_cert();
    test_handshake();
    test_bad_alg();
    test_wrong_fingerprint();
    test_garbage();
    test_retransmit();
    test_profiles();
    test_no_client_cert();

    sc_dtls_cert_free(cert_a);
    sc_dtls_cert_free(cert_b);
    sc_dtls_cert_free(cert_c);
    sc_dtls_cert_free(NULL);
    SC_TEST_END();
}
