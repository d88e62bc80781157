/* signaling/http/tls.c: the self-signed certificate (made once, kept,
 * remade when broken), the pair check and the fingerprint. */
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signaling/http/tls.h"
#include "tests/unit/sc_test.h"

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    char dir[] = "/tmp/sc-test-tls-XXXXXX", dir2[] = "/tmp/sc-test-tls2-XXXXXX";
    char cert[1200], key[1200], cert2[1200], key2[1200], err[512];
    char fp[SC_TLS_FINGERPRINT_LEN], fp2[SC_TLS_FINGERPRINT_LEN], fp3[SC_TLS_FINGERPRINT_LEN];
    struct stat st;
    SSL_CTX *ctx;

    SC_CHECK(mkdtemp(dir) != NULL);
    SC_CHECK(mkdtemp(dir2) != NULL);

    /* made once: the files exist, the key is private, the pair checks */
    SC_CHECK_INT(sc_tls_self_signed(dir, "10.1.2.3", cert, sizeof(cert), key, sizeof(key), err,
                                    sizeof(err)),
                 0);
    SC_CHECK(strstr(cert, "/tls/cert.pem") != NULL);
    SC_CHECK(stat(key, &st) == 0 && (st.st_mode & 0077) == 0);
    SC_CHECK_INT(sc_tls_check(cert, key, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_tls_fingerprint(cert, fp), 0);
    SC_CHECK_INT((int)strlen(fp), 32 * 3 - 1);
    SC_CHECK(fp[2] == ':' && fp[94] != ':');

    /* kept: a second start serves the same certificate */
    SC_CHECK_INT(sc_tls_self_signed(dir, "10.1.2.3", cert, sizeof(cert), key, sizeof(key), err,
                                    sizeof(err)),
                 0);
    SC_CHECK_INT(sc_tls_fingerprint(cert, fp2), 0);
    SC_CHECK_STR(fp, fp2);

    /* another directory: another key, so the pairs do not mix */
    SC_CHECK_INT(sc_tls_self_signed(dir2, "", cert2, sizeof(cert2), key2, sizeof(key2), err,
                                    sizeof(err)),
                 0);
    SC_CHECK_INT(sc_tls_check(cert, key2, err, sizeof(err)), -1);
    SC_CHECK(strstr(err, "does not match") != NULL);

    /* a broken certificate is refused with its name, then remade */
    write_file(cert, "not a certificate\n");
    SC_CHECK_INT(sc_tls_check(cert, key, err, sizeof(err)), -1);
    SC_CHECK(strstr(err, cert) != NULL);
    SC_CHECK_INT(sc_tls_fingerprint(cert, fp3), -1);
    SC_CHECK_INT(sc_tls_self_signed(dir, "", cert, sizeof(cert), key, sizeof(key), err,
                                    sizeof(err)),
                 0);
    SC_CHECK_INT(sc_tls_check(cert, key, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_tls_fingerprint(cert, fp3), 0);
    SC_CHECK(strcmp(fp3, fp) != 0);

    /* a missing file */
    SC_CHECK_INT(sc_tls_check("/nonexistent/cert.pem", key, err, sizeof(err)), -1);

    /* reload into a live context: a good pair goes in, none for NULL */
    ctx = SSL_CTX_new(TLS_server_method());
    SC_CHECK_INT(sc_tls_reload(ctx, cert2, key2, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_tls_reload(NULL, cert2, key2, err, sizeof(err)), -1);
    SSL_CTX_free(ctx);

    unlink(cert);
    unlink(key);
    unlink(cert2);
    unlink(key2);
    char sub[1100];
    snprintf(sub, sizeof(sub), "%s/tls", dir);
    rmdir(sub);
    rmdir(dir);
    snprintf(sub, sizeof(sub), "%s/tls", dir2);
    rmdir(sub);
    rmdir(dir2);
    SC_TEST_END();
}
