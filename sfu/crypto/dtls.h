/* DTLS 1.2 (OpenSSL) for DTLS-SRTP (RFC 5763/5764) over memory BIOs: the
 * worker feeds datagrams in and gets datagrams out through a callback. */
#ifndef SC_DTLS_H
#define SC_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/crypto/srtp.h"

/* Our certificate: ECDSA P-256, self-signed, shared by all transports. */
typedef struct sc_dtls_cert sc_dtls_cert;

sc_dtls_cert *sc_dtls_cert_new(void);
void sc_dtls_cert_free(sc_dtls_cert *c);
/* "AB:CD:..." SHA-256 of the DER certificate, for a=fingerprint:sha-256. */
const char *sc_dtls_cert_fingerprint(const sc_dtls_cert *c);

/* Upper-case hex with ':' between bytes ("AB:CD:..."); out needs 3*len bytes. */
void sc_hex_colon(const uint8_t *in, size_t len, char *out);

typedef enum sc_dtls_role {
    SC_DTLS_ROLE_CLIENT, /* we are setup:active: we send the ClientHello */
    SC_DTLS_ROLE_SERVER, /* setup:passive */
} sc_dtls_role;

typedef enum sc_dtls_state {
    SC_DTLS_NEW,
    SC_DTLS_CONNECTING,
    SC_DTLS_CONNECTED,
    SC_DTLS_FAILED,  /* handshake error or fingerprint mismatch: close the session */
    SC_DTLS_CLOSED,  /* peer sent close_notify */
} sc_dtls_state;

/* Called with each outgoing datagram (handshake flights, alerts, app data). */
typedef void (*sc_dtls_send_fn)(void *ud, const uint8_t *buf, size_t len);
/* Called with decrypted application data (SCTP, later). May be NULL. */
typedef void (*sc_dtls_data_fn)(void *ud, const uint8_t *buf, size_t len);

typedef struct sc_dtls sc_dtls;

/* Whether a remote a=fingerprint hash function is one this side can check
 * (sha-256, sha-384, sha-512, any case). */
bool sc_dtls_fp_alg_ok(const char *alg);

/* remote_fp_alg / remote_fp come from the SDP (alg lower-case, e.g.
 * "sha-256"; hex upper or lower case with colons).  Only sha-256, sha-384 and
 * sha-512 are accepted; anything else returns NULL. */
sc_dtls *sc_dtls_new(sc_dtls_cert *cert, sc_dtls_role role, const char *remote_fp_alg,
                     const char *remote_fp, sc_dtls_send_fn send, sc_dtls_data_fn data,
                     void *ud);
void sc_dtls_free(sc_dtls *d);

/* Client role: send the ClientHello.  Server role: no-op.  Returns state. */
sc_dtls_state sc_dtls_start(sc_dtls *d);
/* Feed one received datagram.  Returns the state after processing.  Once the
 * handshake finishes, the peer certificate is checked against the SDP
 * fingerprint: a mismatch or a missing certificate gives SC_DTLS_FAILED. */
sc_dtls_state sc_dtls_feed(sc_dtls *d, const uint8_t *buf, size_t len);
/* The structural check sc_dtls_feed applies first (record headers and
 * lengths, handshake fragment bounds): false for a datagram it would drop
 * unread, so the caller can count it. */
bool sc_dtls_datagram_valid(const uint8_t *buf, size_t len);
/* Drive retransmissions; call every ~50 ms while CONNECTING. */
sc_dtls_state sc_dtls_tick(sc_dtls *d);
sc_dtls_state sc_dtls_state_get(const sc_dtls *d);
/* Short reason for FAILED ("fingerprint mismatch", OpenSSL's error). */
const char *sc_dtls_error(const sc_dtls *d);

/* After CONNECTED: the negotiated profile and keys (local = what we send
 * with, per RFC 5764 4.2 client/server split).  0 or -EAGAIN / -ENOTSUP. */
int sc_dtls_srtp_keys(sc_dtls *d, sc_srtp_keys *out);

/* Send application data (SCTP, later).  0 or negative errno. */
int sc_dtls_send(sc_dtls *d, const uint8_t *buf, size_t len);

#endif
