/* TLS for the front end: checking and reloading a certificate and key, and
 * the self-signed certificate `--tls-self-signed` makes once.
 *
 * Files are PEM: the certificate file holds the full chain (leaf first).
 * Signalling thread only. */
#ifndef SC_TLS_H
#define SC_TLS_H

#include <stddef.h>

#define SC_TLS_FINGERPRINT_LEN 96   /* "AB:CD:..." of SHA-256, with NUL */

/* Whether cert (a chain) and key load and belong together.  0, or -1 with
 * the reason in err. */
int sc_tls_check(const char *cert, const char *key, char *err, size_t errlen);

/* The SHA-256 fingerprint of the chain's first certificate, as uppercase
 * hex pairs joined by ':'.  0 or -1. */
int sc_tls_fingerprint(const char *cert, char out[SC_TLS_FINGERPRINT_LEN]);

/* The self-signed certificate of DATA/tls/: made when missing, unreadable
 * or expiring within a day (a P-256 key, SHA-256 signature, valid 397 days,
 * names: localhost, this host's name, 127.0.0.1, ::1, every address of the
 * machine's interfaces, and listen_addr when it is a specific address).
 * Fills the two paths.  0, or -1 with the reason in err. */
int sc_tls_self_signed(const char *data_dir, const char *listen_addr, char *cert,
                       size_t cert_len, char *key, size_t key_len, char *err, size_t errlen);

/* Loads cert and key into a running server's SSL_CTX (what lws created for
 * the vhost): new connections get them, open ones keep theirs.  Check them
 * with sc_tls_check first: a failure here may leave the context half
 * updated.  0, or -1 with the reason in err. */
int sc_tls_reload(void *ssl_ctx, const char *cert, const char *key, char *err, size_t errlen);

#endif
