/* SRTP / SRTCP for one transport.
 *
 * AES_CM_128_HMAC_SHA1_80: two libsrtp sessions, outbound (ssrc_any_outbound,
 * our keys) and inbound (ssrc_any_inbound, the peer's keys).
 * AEAD_AES_128_GCM (what browsers get): outbound RTP and SRTCP both ways are
 * done here with OpenSSL; libsrtp only decrypts inbound RTP, and its session
 * is made when the first RTP packet arrives, so a viewer (who sends only
 * RTCP) never has one.  A libsrtp GCM session on Debian's NSS build costs
 * about 20 KiB, plus 4.5 KiB per SSRC stream: most of a viewer's memory
 * before this (docs/BENCHMARKS.md "Memory per viewer").
 *
 * libsrtp clones a stream from the inbound template for every SSRC that
 * authenticates, and our SRTCP keeps a replay window per SSRC, so a peer
 * holding the keys could make us allocate without bound; we remember which
 * SSRCs we let in and refuse new ones past SC_SRTP_MAX_SSRCS (RELIABILITY 11). */
#include "sfu/crypto/srtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <limits.h>
#include <pthread.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/crypto/gcm.h"
#include "sfu/proto/bytes.h"

/* RTP and RTCP with AEAD_AES_128_GCM are done here with OpenSSL (AES-NI)
 * rather than by libsrtp: Debian's libsrtp2 is built on NSS, whose per-call
 * PK11 overhead made SRTP the largest cost of forwarding (about a third of
 * the server's CPU at 500 viewers, measured with perf; inbound, it was a
 * third of the load generator's).  The format is RFC 7714; the keys come
 * from the RFC 3711 KDF, exactly as libsrtp derives them, and the unit tests
 * check packets both ways against libsrtp.  AES-CM stays with libsrtp. */
#define GCM_MAX_SSRCS 128

typedef struct gcm_tx_stream {
    uint32_t ssrc;
    uint32_t roc;       /* rollover counter */
    uint16_t highest;   /* highest sequence number sent */
} gcm_tx_stream;

/* One direction's SRTP session key (in an AES-128-GCM context) and salt. */
typedef struct gcm_key {
    sc_gcm *ctx;
    uint8_t salt[12];
} gcm_key;

typedef struct gcm_tx {
    gcm_key k;              /* first: see gcm_dir_new */
    int n;
    int evict;              /* next slot to reuse once the table is full */
    gcm_tx_stream streams[GCM_MAX_SSRCS];
} gcm_tx;

/* SRTCP with AEAD_AES_128_GCM (RFC 7714 9): the replay window of one
 * inbound SSRC, 128 indexes as libsrtp keeps. */
typedef struct gcm_rtcp_window {
    bool any;
    uint32_t top;           /* highest SRTCP index accepted */
    uint64_t seen[2];       /* bit i: index top - i was accepted */
} gcm_rtcp_window;

typedef struct gcm_rtcp {
    sc_gcm *tx, *rx;                /* SRTCP session keys, ours and the peer's */
    uint8_t tx_salt[12], rx_salt[12];
    uint32_t tx_index;              /* next SRTCP index we send */
    gcm_rtcp_window win[SC_SRTP_MAX_SSRCS]; /* parallel to sc_srtp.in_ssrcs */
} gcm_rtcp;

/* Inbound GCM RTP, one SSRC: the rollover counter and highest sequence
 * number seen (RFC 3711 3.3.1) and a replay window of the last
 * GCM_RX_WINDOW packet indexes, as a ring of bits (bit i % GCM_RX_WINDOW
 * for index i). */
#define GCM_RX_WINDOW 1024
typedef struct gcm_rx_stream {
    bool any;
    uint32_t roc;
    uint16_t s_l;
    uint64_t seen[GCM_RX_WINDOW / 64];
} gcm_rx_stream;

typedef struct gcm_rx {
    gcm_key k;              /* the peer's; first: see gcm_dir_new */
    gcm_rx_stream st[SC_SRTP_MAX_SSRCS]; /* parallel to sc_srtp.in_ssrcs */
} gcm_rx;

struct sc_srtp {
    sc_srtp_keys in_keys;   /* GCM: the peer's keys until `rx` is made (local zeroed) */
    srtp_t out;             /* AES-CM only */
    srtp_t in;              /* AES-CM only */
    gcm_tx *gcm;            /* outbound RTP when the profile is GCM */
    gcm_rx *rx;             /* GCM: inbound RTP, made by the first packet */
    gcm_rtcp *rtcp;         /* SRTCP when the profile is GCM */
    /* SSRCs admitted inbound (authenticated at least once): a libsrtp
     * stream and/or an SRTCP window. */
    uint32_t in_ssrcs[SC_SRTP_MAX_SSRCS];
    int n_in_ssrcs;
};

static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static int srtp_init_result = -EIO;

static void srtp_init_once(void)
{
    srtp_init_result = srtp_init() == srtp_err_status_ok ? 0 : -EIO;
}

int sc_srtp_global_init(void)
{
    /* pthread_once: workers may race to create their first transport. */
    pthread_once(&srtp_once, srtp_init_once);
    return srtp_init_result;
}

static int map_err(srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_auth_fail:
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
    case srtp_err_status_cipher_fail:
    case srtp_err_status_pkt_idx_old:
    case srtp_err_status_pkt_idx_adv:
        return -EBADMSG;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_bad_mki:
        return -EINVAL;
    case srtp_err_status_alloc_fail:
        return -ENOMEM;
    case srtp_err_status_no_ctx:
        /* No stream and no template: cannot happen with ssrc_any_*, but a
         * packet we cannot attribute is still a bad message. */
        return -EBADMSG;
    case srtp_err_status_key_expired:
        return -EKEYEXPIRED;
    default:
        return -EIO;
    }
}

static bool set_policy(srtp_policy_t *p, sc_srtp_profile profile)
{
    switch (profile) {
    case SC_SRTP_AEAD_AES_128_GCM:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
        return true;
    case SC_SRTP_AES128_CM_SHA1_80:
        srtp_crypto_policy_set_rtp_default(&p->rtp);
        srtp_crypto_policy_set_rtcp_default(&p->rtcp);
        return true;
    default:
        return false;
    }
}

static int session_new(srtp_t *out, const sc_srtp_keys *keys, const uint8_t *key_salt,
                       srtp_ssrc_type_t type)
{
    srtp_policy_t p;
    /* libsrtp reads the key through a non-const pointer but never writes it. */
    uint8_t key[SC_SRTP_MAX_KEY_SALT];

    memset(&p, 0, sizeof(p));
    if (!set_policy(&p, keys->profile))
        return -ENOTSUP;
    memcpy(key, key_salt, keys->key_len + keys->salt_len);
    p.ssrc.type = type;
    p.key = key;
    p.window_size = 1024;
    /* The retransmission path (NACK) re-protects packets we already sent. */
    p.allow_repeat_tx = 1;
    p.next = NULL;
    srtp_err_status_t st = srtp_create(out, &p);
    memset(key, 0, sizeof(key));
    return st == srtp_err_status_ok ? 0 : map_err(st);
}

/* RFC 3711 4.3.1: AES-CM PRF keyed with the master key; the IV is the
 * 112-bit master salt (a 96-bit GCM salt padded with two zero bytes, as
 * libsrtp does) XOR the label in byte 7, times 2^16. */
static int srtp_kdf(const uint8_t *master_key, const uint8_t *master_salt, size_t salt_len,
                    uint8_t label, uint8_t *out, size_t out_len)
{
    uint8_t iv[16] = {0}, zeros[32] = {0};
    int outl, ok;
    memcpy(iv, master_salt, salt_len);
    iv[7] ^= label;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -ENOMEM;
    ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), NULL, master_key, iv) == 1 &&
         out_len <= sizeof(zeros) && EVP_EncryptUpdate(ctx, out, &outl, zeros, (int)out_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

/* An AES-128-GCM context keyed with the session key derived under
 * key_label, and the session salt under salt_label (RFC 3711 4.3.2: 0x00 /
 * 0x02 for SRTP, 0x03 / 0x05 for SRTCP). */
static sc_gcm *gcm_ctx_new(const uint8_t *key_salt, uint8_t key_label, uint8_t salt_label,
                           uint8_t salt[12], bool encrypt)
{
    uint8_t session_key[16];
    sc_gcm *g = NULL;
    if (srtp_kdf(key_salt, key_salt + 16, 12, key_label, session_key, 16) == 0 &&
        srtp_kdf(key_salt, key_salt + 16, 12, salt_label, salt, 12) == 0)
        g = sc_gcm_new(session_key, encrypt, false);
    memset(session_key, 0, sizeof(session_key));
    return g;
}

/* A gcm_tx or gcm_rx (size bytes, zeroed), its gcm_key (the first
 * member) keyed for SRTP from key_salt; NULL on failure. */
static void *gcm_dir_new(size_t size, const uint8_t *key_salt, bool encrypt)
{
    gcm_key *k = calloc(1, size);
    if (k && !(k->ctx = gcm_ctx_new(key_salt, 0x00, 0x02, k->salt, encrypt))) {
        free(k);
        k = NULL;
    }
    return k;
}

/* Frees what gcm_dir_new made, wiped (it held a key). */
static void gcm_dir_free(void *g, size_t size)
{
    if (!g)
        return;
    sc_gcm_free(((gcm_key *)g)->ctx);
    memset(g, 0, size);
    free(g);
}

/* RFC 7714 8.1: 00 00 | SSRC | ROC | SEQ, XOR the session salt. */
static void gcm_rtp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc, uint32_t roc,
                       uint16_t seq)
{
    memset(iv, 0, 12);
    sc_wr32(iv + 2, ssrc);
    sc_wr32(iv + 6, roc);
    sc_wr16(iv + 10, seq);
    for (int i = 0; i < 12; i++)
        iv[i] ^= salt[i];
}

static gcm_rtcp *gcm_rtcp_new(const sc_srtp_keys *keys)
{
    gcm_rtcp *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->tx = gcm_ctx_new(keys->local, 0x03, 0x05, r->tx_salt, true);
    r->rx = gcm_ctx_new(keys->remote, 0x03, 0x05, r->rx_salt, false);
    if (!r->tx || !r->rx) {
        sc_gcm_free(r->tx);
        sc_gcm_free(r->rx);
        free(r);
        return NULL;
    }
    return r;
}

static void gcm_rtcp_free(gcm_rtcp *r)
{
    if (!r)
        return;
    sc_gcm_free(r->tx);
    sc_gcm_free(r->rx);
    memset(r, 0, sizeof(*r));
    free(r);
}

/* RFC 7714 9.1: 00 00 | SSRC | 00 00 | 0 + 31-bit SRTCP index, XOR salt. */
static void gcm_rtcp_iv(uint8_t iv[12], const uint8_t salt[12], uint32_t ssrc, uint32_t index)
{
    memset(iv, 0, 12);
    sc_wr32(iv + 2, ssrc);
    sc_wr32(iv + 8, index & 0x7fffffffu);
    for (int i = 0; i < 12; i++)
        iv[i] ^= salt[i];
}

/* RFC 7714 9.2/17: encrypted portion | tag | E=1 + index; the AAD is the
 * first 8 octets (header and sender SSRC) then the E + index word. */
static int gcm_rtcp_protect(gcm_rtcp *r, uint8_t *buf, size_t *len, size_t cap)
{
    size_t n = *len;
    if (n < 8 || n > INT_MAX - SC_SRTCP_MAX_TRAILER)
        return -EINVAL;
    if (cap < n + 16 + 4)
        return -ENOSPC;
    if (r->tx_index > 0x7fffffffu)
        return -EKEYEXPIRED; /* 2^31 packets under one key: rekey */
    uint8_t iv[12], word[4];
    gcm_rtcp_iv(iv, r->tx_salt, sc_rd32(buf + 4), r->tx_index);
    sc_wr32(word, 0x80000000u | r->tx_index);
    int rc = sc_gcm_seal(r->tx, iv, buf, 8, word, 4, buf + 8, n - 8, buf + n);
    if (rc < 0)
        return rc;
    memcpy(buf + n + 16, word, 4);
    r->tx_index++;
    *len = n + 20;
    return 0;
}

static bool window_replayed(const gcm_rtcp_window *w, uint32_t index)
{
    if (!w->any || index > w->top)
        return false;
    uint32_t d = w->top - index;
    if (d >= 128)
        return true; /* older than the window: cannot tell, refuse */
    return (w->seen[d / 64] >> (d % 64)) & 1;
}

static void window_accept(gcm_rtcp_window *w, uint32_t index)
{
    if (!w->any || index > w->top) {
        uint32_t d = w->any ? index - w->top : 128;
        if (d >= 128) {
            w->seen[1] = w->seen[0] = 0;
        } else if (d >= 64) {
            w->seen[1] = w->seen[0] << (d - 64);
            w->seen[0] = 0;
        } else {
            w->seen[1] = (w->seen[1] << d) | (w->seen[0] >> (64 - d));
            w->seen[0] <<= d;
        }
        w->any = true;
        w->top = index;
        w->seen[0] |= 1;
        return;
    }
    uint32_t d = w->top - index;
    w->seen[d / 64] |= (uint64_t)1 << (d % 64);
}

/* The rollover counter for an outgoing packet (RFC 3711 3.3.1 from the
 * sender's side): retransmissions of packets from before a wrap keep the
 * counter they were first sent with. */
static int gcm_roc(gcm_tx *g, uint32_t ssrc, uint16_t seq, uint32_t *roc)
{
    gcm_tx_stream *st = NULL;
    for (int i = 0; i < g->n; i++) {
        if (g->streams[i].ssrc == ssrc) {
            st = &g->streams[i];
            break;
        }
    }
    if (!st) {
        /* We send on a few SSRCs per viewer; past the table's size the
         * oldest entry is reused (it only matters after 65,536 packets). */
        if (g->n < GCM_MAX_SSRCS) {
            st = &g->streams[g->n++];
        } else {
            st = &g->streams[g->evict];
            g->evict = (g->evict + 1) % GCM_MAX_SSRCS;
        }
        st->ssrc = ssrc;
        st->roc = 0;
        st->highest = seq;
        *roc = 0;
        return 0;
    }
    int16_t diff = (int16_t)(seq - st->highest);
    if (diff > 0) {
        if (seq < st->highest)
            st->roc++;
        st->highest = seq;
        *roc = st->roc;
    } else {
        *roc = (diff < 0 && seq > st->highest) ? st->roc - 1 : st->roc;
    }
    return 0;
}

static int gcm_protect(gcm_tx *g, uint8_t *buf, size_t *len, size_t cap)
{
    size_t n = *len;
    if (n < 12 || (buf[0] >> 6) != 2)
        return -EINVAL;
    size_t hdr = 12 + 4u * (buf[0] & 0x0f);
    if (buf[0] & 0x10) {
        if (hdr + 4 > n)
            return -EINVAL;
        hdr += 4 + 4u * sc_rd16(buf + hdr + 2);
    }
    if (hdr > n)
        return -EINVAL;
    if (cap < n + 16)
        return -ENOSPC;
    uint32_t ssrc = sc_rd32(buf + 8), roc;
    uint16_t seq = sc_rd16(buf + 2);
    int rc = gcm_roc(g, ssrc, seq, &roc);
    if (rc < 0)
        return rc;
    uint8_t iv[12];
    gcm_rtp_iv(iv, g->k.salt, ssrc, roc, seq);
    rc = sc_gcm_seal(g->k.ctx, iv, buf, hdr, NULL, 0, buf + hdr, n - hdr, buf + n);
    if (rc < 0)
        return rc;
    *len = n + 16;
    return 0;
}

/* The packet index a receiver infers from the sequence number (RFC 3711
 * 3.3.1 and appendix A): the rollover counter that puts seq nearest the
 * highest seen.  Negative for a packet from before the stream's first. */
static int64_t gcm_rx_index(const gcm_rx_stream *st, uint16_t seq)
{
    int64_t v = st->roc;
    if (!st->any)
        return seq;
    if (st->s_l < 32768) {
        if ((int)seq - (int)st->s_l > 32768)
            v--;
    } else if ((int)st->s_l - 32768 > (int)seq) {
        v++;
    }
    return v * 65536 + seq;
}

static bool gcm_rx_seen(const gcm_rx_stream *st, int64_t index)
{
    if (!st->any)
        return false;
    int64_t top = (int64_t)st->roc * 65536 + st->s_l;
    if (index > top)
        return false;
    if (top - index >= GCM_RX_WINDOW)
        return true; /* older than the window: cannot tell, refuse */
    uint32_t b = (uint32_t)(index % GCM_RX_WINDOW);
    return (st->seen[b / 64] >> (b % 64)) & 1;
}

static void gcm_rx_accept(gcm_rx_stream *st, int64_t index)
{
    int64_t top = (int64_t)st->roc * 65536 + st->s_l;
    if (!st->any || index > top) {
        /* the ring's bits for top+1 .. index now stand for new indexes */
        if (!st->any || index - top >= GCM_RX_WINDOW) {
            memset(st->seen, 0, sizeof(st->seen));
        } else {
            for (int64_t i = top + 1; i < index; i++) {
                uint32_t b = (uint32_t)(i % GCM_RX_WINDOW);
                st->seen[b / 64] &= ~((uint64_t)1 << (b % 64));
            }
        }
        st->any = true;
        st->roc = (uint32_t)(index >> 16);
        st->s_l = (uint16_t)index;
    }
    uint32_t b = (uint32_t)(index % GCM_RX_WINDOW);
    st->seen[b / 64] |= (uint64_t)1 << (b % 64);
}

sc_srtp *sc_srtp_new(const sc_srtp_keys *keys)
{
    sc_srtp *s = NULL;
    size_t want_salt;

    if (!keys)
        return NULL;
    switch (keys->profile) {
    case SC_SRTP_AEAD_AES_128_GCM:
        want_salt = 12;
        break;
    case SC_SRTP_AES128_CM_SHA1_80:
        want_salt = 14;
        break;
    default:
        return NULL;
    }
    if (keys->key_len != 16 || keys->salt_len != want_salt)
        return NULL;
    if (sc_srtp_global_init() < 0)
        return NULL;

    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    if (keys->profile == SC_SRTP_AEAD_AES_128_GCM) {
        s->gcm = gcm_dir_new(sizeof(gcm_tx), keys->local, true);
        s->rtcp = gcm_rtcp_new(keys);
        if (!s->gcm || !s->rtcp)
            goto fail;
        s->in_keys = *keys;
        memset(s->in_keys.local, 0, sizeof(s->in_keys.local));
        return s;
    }
    if (session_new(&s->out, keys, keys->local, ssrc_any_outbound) < 0)
        goto fail;
    if (session_new(&s->in, keys, keys->remote, ssrc_any_inbound) < 0)
        goto fail;
    return s;

fail:
    sc_srtp_free(s);
    return NULL;
}

void sc_srtp_free(sc_srtp *s)
{
    if (!s)
        return;
    if (s->out)
        srtp_dealloc(s->out);
    if (s->in)
        srtp_dealloc(s->in);
    gcm_dir_free(s->gcm, sizeof(gcm_tx));
    gcm_dir_free(s->rx, sizeof(gcm_rx));
    gcm_rtcp_free(s->rtcp);
    memset(s, 0, sizeof(*s)); /* the peer's master key */
    free(s);
}

static int ssrc_index(const sc_srtp *s, uint32_t ssrc)
{
    for (int i = 0; i < s->n_in_ssrcs; i++)
        if (s->in_ssrcs[i] == ssrc)
            return i;
    return -1;
}

static bool ssrc_known(const sc_srtp *s, uint32_t ssrc)
{
    return ssrc_index(s, ssrc) >= 0;
}

/* Called after a packet from `ssrc` authenticated: libsrtp now holds a stream
 * for it.  Keep it if there is room, otherwise drop the stream again. */
static int admit_ssrc(sc_srtp *s, uint32_t ssrc, bool was_known)
{
    if (was_known)
        return 0;
    if (s->n_in_ssrcs < SC_SRTP_MAX_SSRCS) {
        s->in_ssrcs[s->n_in_ssrcs++] = ssrc;
        return 0;
    }
    /* libsrtp takes the SSRC in network byte order, as it sits in the header. */
    if (s->in)
        srtp_remove_stream(s->in, htonl(ssrc));
    return -ENOSPC;
}

static int protect(srtp_t session, uint8_t *buf, size_t *len, size_t cap, size_t min_len,
                   size_t trailer, bool rtcp)
{
    if (!buf || !len || *len < min_len || *len > INT_MAX - trailer)
        return -EINVAL;
    if (cap < *len + trailer)
        return -ENOSPC;
    int n = (int)*len;
    srtp_err_status_t st = rtcp ? srtp_protect_rtcp(session, buf, &n)
                                : srtp_protect(session, buf, &n);
    if (st != srtp_err_status_ok)
        return map_err(st);
    *len = (size_t)n;
    return 0;
}

int sc_srtp_protect_rtp(sc_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s)
        return -EINVAL;
    if (s->gcm) {
        if (!buf || !len)
            return -EINVAL;
        return gcm_protect(s->gcm, buf, len, cap);
    }
    return protect(s->out, buf, len, cap, 12, SC_SRTP_MAX_TRAILER, false);
}

int sc_srtp_protect_rtcp(sc_srtp *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s)
        return -EINVAL;
    if (s->rtcp) {
        if (!buf || !len)
            return -EINVAL;
        return gcm_rtcp_protect(s->rtcp, buf, len, cap);
    }
    return protect(s->out, buf, len, cap, 8, SC_SRTCP_MAX_TRAILER, true);
}

/* A packet from a new SSRC authenticated: admit it, *k its index. */
static int admit_new_ssrc(sc_srtp *s, uint32_t ssrc, int *k)
{
    int rc = admit_ssrc(s, ssrc, false);
    if (rc == 0)
        *k = s->n_in_ssrcs - 1;
    return rc;
}

/* GCM SRTCP in: authenticate and decrypt, then the replay window and the
 * SSRC limit.  Only encrypted SRTCP (E = 1) is accepted: the profile
 * always encrypts, and browsers do. */
static int gcm_rtcp_unprotect(sc_srtp *s, uint8_t *buf, size_t *len)
{
    gcm_rtcp *r = s->rtcp;
    size_t n = *len;
    if (n < 8 + 16 + 4 || n > INT_MAX)
        return -EINVAL;
    uint32_t word = sc_rd32(buf + n - 4), index = word & 0x7fffffffu;
    if (!(word & 0x80000000u))
        return -EBADMSG;
    uint32_t ssrc = sc_rd32(buf + 4);
    int k = ssrc_index(s, ssrc);
    if (k >= 0 && window_replayed(&r->win[k], index))
        return -EBADMSG;
    size_t body = n - 16 - 4; /* header + ciphertext */
    uint8_t iv[12];
    gcm_rtcp_iv(iv, r->rx_salt, ssrc, index);
    int rc = sc_gcm_open(r->rx, iv, buf, 8, buf + n - 4, 4, buf + 8, body - 8, buf + body);
    if (rc == 0 && k < 0)
        rc = admit_new_ssrc(s, ssrc, &k);
    if (rc < 0)
        return rc;
    window_accept(&r->win[k], index);
    *len = body;
    return 0;
}

/* RFC 7714 inbound: the header (with CSRCs and extension) is the AAD, the
 * last 16 bytes the tag.  Nothing changes (window, SSRC table, buf beyond
 * the decrypted payload) unless the packet authenticates. */
static int gcm_unprotect(sc_srtp *s, uint8_t *buf, size_t *len)
{
    size_t n = *len;
    if ((buf[0] >> 6) != 2)
        return -EBADMSG;
    size_t hdr = 12 + 4u * (buf[0] & 0x0f);
    if ((buf[0] & 0x10) && hdr + 4 <= n)
        hdr += 4 + 4u * sc_rd16(buf + hdr + 2);
    if (hdr + 16 > n)
        return -EBADMSG;
    if (!s->rx) {
        s->rx = gcm_dir_new(sizeof(gcm_rx), s->in_keys.remote, false);
        if (!s->rx)
            return -ENOMEM;
        memset(&s->in_keys, 0, sizeof(s->in_keys)); /* the rx context holds it now */
    }
    uint32_t ssrc = sc_rd32(buf + 8);
    uint16_t seq = sc_rd16(buf + 2);
    int k = ssrc_index(s, ssrc);
    static const gcm_rx_stream fresh;
    const gcm_rx_stream *st = k >= 0 ? &s->rx->st[k] : &fresh;
    int64_t index = gcm_rx_index(st, seq);
    if (index < 0 || gcm_rx_seen(st, index))
        return -EBADMSG;
    uint32_t roc = (uint32_t)(index >> 16);
    uint8_t iv[12];
    gcm_rtp_iv(iv, s->rx->k.salt, ssrc, roc, seq);
    size_t body = n - 16;
    int rc = sc_gcm_open(s->rx->k.ctx, iv, buf, hdr, NULL, 0, buf + hdr, body - hdr, buf + body);
    if (rc == 0 && k < 0) {
        rc = admit_new_ssrc(s, ssrc, &k);
        if (rc == 0)
            memset(&s->rx->st[k], 0, sizeof(s->rx->st[k]));
    }
    if (rc < 0)
        return rc;
    gcm_rx_accept(&s->rx->st[k], index);
    *len = body;
    return 0;
}

static int unprotect(sc_srtp *s, uint8_t *buf, size_t *len, size_t min_len, size_t ssrc_off,
                     bool rtcp)
{
    if (!s || !buf || !len || *len < min_len || *len > INT_MAX)
        return -EINVAL;
    if (rtcp && s->rtcp)
        return gcm_rtcp_unprotect(s, buf, len);
    if (s->gcm)
        return gcm_unprotect(s, buf, len);
    uint32_t ssrc = sc_rd32(buf + ssrc_off);
    bool known = ssrc_known(s, ssrc);
    int n = (int)*len;
    srtp_err_status_t st = rtcp ? srtp_unprotect_rtcp(s->in, buf, &n)
                                : srtp_unprotect(s->in, buf, &n);
    if (st != srtp_err_status_ok)
        return map_err(st);
    int r = admit_ssrc(s, ssrc, known);
    if (r < 0)
        return r;
    *len = (size_t)n;
    return 0;
}

int sc_srtp_unprotect_rtp(sc_srtp *s, uint8_t *buf, size_t *len)
{
    return unprotect(s, buf, len, 12, 8, false);
}

int sc_srtp_unprotect_rtcp(sc_srtp *s, uint8_t *buf, size_t *len)
{
    return unprotect(s, buf, len, 8, 4, true);
}

int sc_srtp_inbound_ssrcs(const sc_srtp *s)
{
    return s ? s->n_in_ssrcs : 0;
}
