/* SRTP / SRTCP for one transport (libsrtp2): one inbound and one outbound
 * session.  AEAD_AES_128_GCM preferred, AES_CM_128_HMAC_SHA1_80 accepted. */
#ifndef SC_SRTP_H
#define SC_SRTP_H

#include <stddef.h>
#include <stdint.h>

typedef enum sc_srtp_profile {
    SC_SRTP_NONE = 0,
    SC_SRTP_AES128_CM_SHA1_80 = 1,   /* DTLS-SRTP profile id 0x0001 */
    SC_SRTP_AEAD_AES_128_GCM = 7,    /* DTLS-SRTP profile id 0x0007 */
} sc_srtp_profile;

#define SC_SRTP_MAX_KEY_SALT 46     /* 32-byte key + 14-byte salt is the largest we use */
#define SC_SRTP_MAX_TRAILER 16      /* bytes protect may add to an RTP packet (tag) */
#define SC_SRTCP_MAX_TRAILER 20     /* tag + SRTCP index (+ MKI none) */
#define SC_SRTP_MAX_SSRCS 64        /* inbound SSRCs kept per transport (RELIABILITY 11) */

typedef struct sc_srtp_keys {
    sc_srtp_profile profile;
    size_t key_len;                  /* 16 for both profiles */
    size_t salt_len;                 /* 14 for AES-CM, 12 for GCM */
    uint8_t local[SC_SRTP_MAX_KEY_SALT];   /* key || salt we encrypt with */
    uint8_t remote[SC_SRTP_MAX_KEY_SALT];  /* key || salt the peer encrypts with */
} sc_srtp_keys;

typedef struct sc_srtp sc_srtp;

/* Once per process before any sc_srtp_new (srtp_init). 0 or -EIO. */
int sc_srtp_global_init(void);

sc_srtp *sc_srtp_new(const sc_srtp_keys *keys);
void sc_srtp_free(sc_srtp *s);

/* In place.  *len is updated; buf must have room for SC_SRTP_MAX_TRAILER
 * (SC_SRTCP_MAX_TRAILER) more bytes: cap is the buffer size.  Returns 0 or a
 * negative errno (-EBADMSG auth failure / replay, -ENOSPC, -EINVAL). */
int sc_srtp_protect_rtp(sc_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int sc_srtp_unprotect_rtp(sc_srtp *s, uint8_t *buf, size_t *len);
int sc_srtp_protect_rtcp(sc_srtp *s, uint8_t *buf, size_t *len, size_t cap);
int sc_srtp_unprotect_rtcp(sc_srtp *s, uint8_t *buf, size_t *len);

/* Number of inbound SSRC streams libsrtp holds.  Once SC_SRTP_MAX_SSRCS
 * distinct authenticated SSRCs were seen, packets from new SSRCs are refused
 * with -ENOSPC (and their stream removed), so a peer cannot make us allocate
 * a stream per random SSRC. */
int sc_srtp_inbound_ssrcs(const sc_srtp *s);

#endif
