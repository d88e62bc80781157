#include "signaling/http/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define SELF_SIGNED_DAYS 397
#define SAN_MAX 4096

/* The newest OpenSSL error as text, or fallback. */
static void ssl_reason(char *err, size_t errlen, const char *what, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256];

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(err, errlen, "%s: %s", what, buf);
    } else {
        snprintf(err, errlen, "%s: %s", what, fallback);
    }
    ERR_clear_error();
}

static int load_pair(SSL_CTX *ctx, const char *cert, const char *key, char *err, size_t errlen)
{
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_reason(err, errlen, cert, "cannot load the certificate chain");
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
            ERR_clear_error();
            snprintf(err, errlen, "%s: the key does not match the certificate %s", key, cert);
        } else {
            ssl_reason(err, errlen, key, "cannot load the private key");
        }
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_reason(err, errlen, key, "the key does not match the certificate");
        return -1;
    }
    return 0;
}

int sc_tls_check(const char *cert, const char *key, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    int r;

    if (!ctx) {
        ssl_reason(err, errlen, "TLS", "out of memory");
        return -1;
    }
    r = load_pair(ctx, cert, key, err, errlen);
    SSL_CTX_free(ctx);
    return r;
}

int sc_tls_reload(void *ssl_ctx, const char *cert, const char *key, char *err, size_t errlen)
{
    if (!ssl_ctx) {
        snprintf(err, errlen, "the server does not serve TLS");
        return -1;
    }
    return load_pair(ssl_ctx, cert, key, err, errlen);
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x;

    if (!f)
        return NULL;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static int cert_fingerprint(X509 *x, char out[SC_TLS_FINGERPRINT_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (X509_digest(x, EVP_sha256(), md, &n) != 1 || n * 3 > SC_TLS_FINGERPRINT_LEN)
        return -1;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + i * 3, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
    return 0;
}

int sc_tls_fingerprint(const char *cert, char out[SC_TLS_FINGERPRINT_LEN])
{
    X509 *x = read_cert(cert);
    int r;

    if (!x)
        return -1;
    r = cert_fingerprint(x, out);
    X509_free(x);
    return r;
}

/* Appends ",IP:addr" (or "DNS:name") to san unless it is there already. */
static void san_add(char *san, size_t cap, const char *kind, const char *v)
{
    char item[300];
    size_t n = strlen(san);

    snprintf(item, sizeof(item), "%s:%s", kind, v);
    for (const char *p = san; (p = strstr(p, item)); p += strlen(item))
        if ((p == san || p[-1] == ',') && (p[strlen(item)] == ',' || !p[strlen(item)]))
            return;
    if (n + strlen(item) + 2 < cap)
        snprintf(san + n, cap - n, "%s%s", n ? "," : "", item);
}

/* localhost, the host name, loopback and every interface address, and the
 * listening address. */
static void names_of_host(const char *listen_addr, char *san, size_t cap, char *cn, size_t cnlen)
{
    struct ifaddrs *ifs = NULL;
    char host[256] = "";
    char a[INET6_ADDRSTRLEN];

    san[0] = '\0';
    san_add(san, cap, "DNS", "localhost");
    if (gethostname(host, sizeof(host) - 1) == 0 && host[0] && !strchr(host, ',')) {
        san_add(san, cap, "DNS", host);
        snprintf(cn, cnlen, "%s", host);
    } else {
        snprintf(cn, cnlen, "localhost");
    }
    san_add(san, cap, "IP", "127.0.0.1");
    san_add(san, cap, "IP", "::1");
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr)
                continue;
            if (i->ifa_addr->sa_family == AF_INET)
                inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a));
            else if (i->ifa_addr->sa_family == AF_INET6 &&
                     !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
                inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, a,
                          sizeof(a));
            else
                continue;
            san_add(san, cap, "IP", a);
        }
        freeifaddrs(ifs);
    }
    if (listen_addr && listen_addr[0] && strcmp(listen_addr, "0.0.0.0") != 0 &&
        strcmp(listen_addr, "::") != 0)
        san_add(san, cap, "IP", listen_addr);
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return -1;
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *pk, const char *cn, const char *san)
{
    X509 *x = X509_new();
    X509_NAME *name;
    BIGNUM *bn = BN_new();
    int ok = x && bn && BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
             X509_set_version(x, 2) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
             X509_gmtime_adj(X509_getm_notAfter(x), (long)SELF_SIGNED_DAYS * 86400) &&
             X509_set_pubkey(x, pk) == 1 && (name = X509_get_subject_name(x)) &&
             X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                        (const unsigned char *)"Stagecast (self-signed)", -1,
                                        -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                        -1, -1, 0) == 1 &&
             X509_set_issuer_name(x, name) == 1 &&
             add_ext(x, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
             add_ext(x, NID_key_usage, "critical,digitalSignature") == 0 &&
             add_ext(x, NID_ext_key_usage, "serverAuth") == 0 &&
             add_ext(x, NID_subject_alt_name, san) == 0 && X509_sign(x, pk, EVP_sha256()) > 0;

    BN_free(bn);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Writes through a temporary file and a rename, so a crash never leaves
 * half a key; mode 0600 for the key. */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *pk, X509 *x)
{
    char tmp[1100];
    FILE *f;
    int fd, ok;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ok = pk ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, x);
    ok = ok == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* True when the kept certificate loads with its key and is valid for at
 * least another day. */
static bool kept_cert_ok(const char *cert, const char *key)
{
    char err[256];
    X509 *x;
    bool ok;

    if (access(cert, R_OK) != 0 || access(key, R_OK) != 0 || sc_tls_check(cert, key, err, sizeof(err)) < 0)
        return false;
    if (!(x = read_cert(cert)))
        return false;
    ok = X509_cmp_time(X509_get0_notAfter(x), &(time_t){time(NULL) + 86400}) > 0;
    X509_free(x);
    return ok;
}

int sc_tls_self_signed(const char *data_dir, const char *listen_addr, char *cert,
                       size_t cert_len, char *key, size_t key_len, char *err, size_t errlen)
{
    char dir[1100], san[SAN_MAX], cn[256];
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    int r = -1;

    snprintf(dir, sizeof(dir), "%s/tls", data_dir);
    snprintf(cert, cert_len, "%s/cert.pem", dir);
    snprintf(key, key_len, "%s/key.pem", dir);
    if (kept_cert_ok(cert, key))
        return 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    names_of_host(listen_addr, san, sizeof(san), cn, sizeof(cn));
    ERR_clear_error();
    pk = EVP_EC_gen("P-256");
    if (!pk || !(x = make_cert(pk, cn, san))) {
        ssl_reason(err, errlen, "self-signed certificate", "cannot make it");
        goto out;
    }
    if (write_pem(key, 0600, pk, NULL) < 0 || write_pem(cert, 0644, NULL, x) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", dir, strerror(errno));
        goto out;
    }
    SC_INFO("tls", "made a self-signed certificate in %s for %s", dir, san);
    r = 0;
out:
    X509_free(x);
    EVP_PKEY_free(pk);
    return r;
}
