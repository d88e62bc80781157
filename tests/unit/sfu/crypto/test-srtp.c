/* SRTP/SRTCP round trips for both profiles, tampering, replays, the inbound
 * SSRC cap, and keys taken from a real in-memory DTLS handshake. */
#include <errno.h>
#include <srtp2/srtp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/crypto/dtls.h"
#include "sfu/crypto/srtp.h"
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"
#include "tests/unit/sc_test.h"

#define BUF_CAP 1500
#define GCM_RX_WINDOW_FOR_TEST 1024 /* sfu/crypto/srtp.c's GCM_RX_WINDOW */

static size_t salt_for(sc_srtp_profile p) { return p == SC_SRTP_AEAD_AES_128_GCM ? 12 : 14; }

/* Two key sets that mirror each other: what a sends with, b receives with. */
static void make_keys(sc_srtp_profile p, sc_srtp_keys *a, sc_srtp_keys *b)
{
    memset(a, 0, sizeof(*a));
    a->profile = p;
    a->key_len = 16;
    a->salt_len = salt_for(p);
    sc_random(a->local, a->key_len + a->salt_len);
    sc_random(a->remote, a->key_len + a->salt_len);
    *b = *a;
    memcpy(b->local, a->remote, sizeof(b->local));
    memcpy(b->remote, a->local, sizeof(b->remote));
}

static size_t make_rtp(uint8_t *buf, uint32_t ssrc, uint16_t seq, size_t payload)
{
    buf[0] = 0x80;
    buf[1] = 96;
    sc_wr16(buf + 2, seq);
    sc_wr32(buf + 4, (uint32_t)seq * 3000u);
    sc_wr32(buf + 8, ssrc);
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(i ^ seq);
    return 12 + payload;
}

/* A sender report with one report block. */
static size_t make_rtcp_sr(uint8_t *buf, uint32_t ssrc)
{
    memset(buf, 0, 52);
    buf[0] = 0x81;
    buf[1] = 200;
    sc_wr16(buf + 2, 52 / 4 - 1);
    sc_wr32(buf + 4, ssrc);
    sc_wr32(buf + 8, 0x12345678);
    sc_wr32(buf + 20, 42);
    sc_wr32(buf + 28, 0xdeadbeef);
    return 52;
}

static void test_round_trip(sc_srtp_profile p)
{
    sc_srtp_keys ka, kb;
    make_keys(p, &ka, &kb);
    sc_srtp *a = sc_srtp_new(&ka), *b = sc_srtp_new(&kb);
    SC_CHECK(a != NULL && b != NULL);
    size_t tag = p == SC_SRTP_AEAD_AES_128_GCM ? 16 : 10;

    uint8_t orig[BUF_CAP], buf[BUF_CAP], saved[BUF_CAP];
    for (uint16_t seq = 65530; seq != 10; seq++) { /* across the wrap */
        size_t olen = make_rtp(orig, 0x11223344, seq, 160);
        memcpy(buf, orig, olen);
        size_t len = olen;
        SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
        SC_CHECK_INT(len, olen + tag);
        SC_CHECK(len <= olen + SC_SRTP_MAX_TRAILER);
        SC_CHECK(memcmp(buf, orig, 12) == 0);              /* header in clear */
        SC_CHECK(memcmp(buf + 12, orig + 12, 160) != 0);   /* payload encrypted */
        SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
        SC_CHECK_INT(len, olen);
        SC_CHECK(memcmp(buf, orig, olen) == 0);
    }

    /* The other direction uses the other key. */
    size_t olen = make_rtp(orig, 0x55667788, 1, 50);
    memcpy(buf, orig, olen);
    size_t len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtp(b, buf, &len, sizeof(buf)), 0);
    memcpy(saved, buf, len);
    size_t saved_len = len;
    /* b's inbound key is a's: b cannot read back what it sent itself. */
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), -EBADMSG);
    memcpy(buf, saved, saved_len);
    len = saved_len;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(a, buf, &len), 0);
    SC_CHECK(len == olen && memcmp(buf, orig, olen) == 0);

    /* RTCP both ways. */
    size_t tlen = p == SC_SRTP_AEAD_AES_128_GCM ? 16 + 4 : 10 + 4;
    for (int i = 0; i < 5; i++) {
        olen = make_rtcp_sr(orig, 0x11223344);
        memcpy(buf, orig, olen);
        len = olen;
        SC_CHECK_INT(sc_srtp_protect_rtcp(a, buf, &len, sizeof(buf)), 0);
        SC_CHECK_INT(len, olen + tlen);
        SC_CHECK(len <= olen + SC_SRTCP_MAX_TRAILER);
        SC_CHECK(memcmp(buf + 8, orig + 8, olen - 8) != 0);
        SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, buf, &len), 0);
        SC_CHECK_INT(len, olen);
        SC_CHECK(memcmp(buf, orig, olen) == 0);
    }
    olen = make_rtcp_sr(orig, 0x55667788);
    memcpy(buf, orig, olen);
    len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtcp(b, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(a, buf, &len), 0);
    SC_CHECK(len == olen && memcmp(buf, orig, olen) == 0);

    sc_srtp_free(a);
    sc_srtp_free(b);
}

static void test_tamper_replay(sc_srtp_profile p)
{
    sc_srtp_keys ka, kb;
    make_keys(p, &ka, &kb);
    sc_srtp *a = sc_srtp_new(&ka), *b = sc_srtp_new(&kb);
    uint8_t buf[BUF_CAP], prot[BUF_CAP];
    size_t len, plen;

    len = make_rtp(buf, 0xabcdef01, 100, 120);
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
    memcpy(prot, buf, len);
    plen = len;

    /* One flipped bit anywhere (header, payload, tag) fails authentication. */
    size_t spots[] = {2, 20, plen - 1};
    for (size_t i = 0; i < SC_ARRAY_SIZE(spots); i++) {
        memcpy(buf, prot, plen);
        buf[spots[i]] ^= 0x01;
        len = plen;
        SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), -EBADMSG);
    }
    /* Failed packets do not advance the replay window: the genuine one passes. */
    memcpy(buf, prot, plen);
    len = plen;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
    /* The same packet again is a replay. */
    memcpy(buf, prot, plen);
    len = plen;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), -EBADMSG);

    /* Retransmission: protecting the same sequence number again is allowed
     * (allow_repeat_tx), as NACK handling does. */
    len = make_rtp(buf, 0xabcdef01, 100, 120);
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(len, plen);

    /* RTCP: tamper and replay. */
    len = make_rtcp_sr(buf, 0xabcdef01);
    SC_CHECK_INT(sc_srtp_protect_rtcp(a, buf, &len, sizeof(buf)), 0);
    memcpy(prot, buf, len);
    plen = len;
    buf[10] ^= 0x80;
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, buf, &len), -EBADMSG);
    memcpy(buf, prot, plen);
    len = plen;
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, buf, &len), 0);
    memcpy(buf, prot, plen);
    len = plen;
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, buf, &len), -EBADMSG);

    /* Garbage and too-short input. */
    uint8_t junk[200];
    sc_random(junk, sizeof(junk));
    junk[0] = 0x80;
    len = sizeof(junk);
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, junk, &len), -EBADMSG);
    len = 11;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, junk, &len), -EINVAL);
    len = 4;
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, junk, &len), -EINVAL);
    len = 4;
    SC_CHECK_INT(sc_srtp_protect_rtp(a, junk, &len, sizeof(junk)), -EINVAL);
    SC_CHECK_INT(sc_srtp_protect_rtp(NULL, junk, &len, sizeof(junk)), -EINVAL);
    /* Authentication failures never allocate an inbound stream. */
    SC_CHECK_INT(sc_srtp_inbound_ssrcs(b), 1);

    sc_srtp_free(a);
    sc_srtp_free(b);
}

static void test_cap(sc_srtp_profile p)
{
    sc_srtp_keys ka, kb;
    make_keys(p, &ka, &kb);
    sc_srtp *a = sc_srtp_new(&ka);
    uint8_t buf[BUF_CAP], orig[BUF_CAP];

    size_t olen = make_rtp(orig, 7, 1, 100);
    memcpy(buf, orig, olen);
    size_t len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, olen + SC_SRTP_MAX_TRAILER - 1), -ENOSPC);
    SC_CHECK_INT(len, olen);
    SC_CHECK(memcmp(buf, orig, olen) == 0); /* untouched */
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, olen + SC_SRTP_MAX_TRAILER), 0);

    olen = make_rtcp_sr(orig, 7);
    memcpy(buf, orig, olen);
    len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtcp(a, buf, &len, olen + SC_SRTCP_MAX_TRAILER - 1), -ENOSPC);
    SC_CHECK_INT(len, olen);
    SC_CHECK(memcmp(buf, orig, olen) == 0);
    SC_CHECK_INT(sc_srtp_protect_rtcp(a, buf, &len, olen + SC_SRTCP_MAX_TRAILER), 0);
    sc_srtp_free(a);
}

/* RELIABILITY 11: a peer cycling through SSRCs cannot grow our state. */
static void test_ssrc_limit(sc_srtp_profile p)
{
    sc_srtp_keys ka, kb;
    make_keys(p, &ka, &kb);
    sc_srtp *a = sc_srtp_new(&ka), *b = sc_srtp_new(&kb);
    uint8_t buf[BUF_CAP];
    size_t len;

    SC_CHECK_INT(sc_srtp_inbound_ssrcs(b), 0);
    for (uint32_t i = 0; i < SC_SRTP_MAX_SSRCS; i++) {
        len = make_rtp(buf, 1000 + i, 1, 40);
        SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
        SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
    }
    SC_CHECK_INT(sc_srtp_inbound_ssrcs(b), SC_SRTP_MAX_SSRCS);

    /* One more SSRC: authenticated, but refused. */
    uint32_t extra = 1000 + SC_SRTP_MAX_SSRCS;
    for (uint16_t seq = 1; seq <= 3; seq++) {
        len = make_rtp(buf, extra, seq, 40);
        SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
        SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), -ENOSPC);
        SC_CHECK_INT(sc_srtp_inbound_ssrcs(b), SC_SRTP_MAX_SSRCS);
    }
    /* RTCP from yet another SSRC is refused the same way. */
    len = make_rtcp_sr(buf, extra + 1);
    SC_CHECK_INT(sc_srtp_protect_rtcp(a, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, buf, &len), -ENOSPC);
    SC_CHECK_INT(sc_srtp_inbound_ssrcs(b), SC_SRTP_MAX_SSRCS);

    /* Known SSRCs keep working, RTP and RTCP. */
    len = make_rtp(buf, 1000, 2, 40);
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
    len = make_rtcp_sr(buf, 1000 + SC_SRTP_MAX_SSRCS - 1);
    SC_CHECK_INT(sc_srtp_protect_rtcp(a, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(b, buf, &len), 0);
    SC_CHECK_INT(sc_srtp_inbound_ssrcs(b), SC_SRTP_MAX_SSRCS);

    sc_srtp_free(a);
    sc_srtp_free(b);
}

static void test_bad_keys(void)
{
    sc_srtp_keys k;
    make_keys(SC_SRTP_AEAD_AES_128_GCM, &k, &k);
    k.profile = SC_SRTP_NONE;
    SC_CHECK(sc_srtp_new(&k) == NULL);
    k.profile = SC_SRTP_AEAD_AES_128_GCM;
    k.salt_len = 14; /* AES-CM's salt with GCM */
    SC_CHECK(sc_srtp_new(&k) == NULL);
    k.profile = SC_SRTP_AES128_CM_SHA1_80;
    k.salt_len = 12;
    SC_CHECK(sc_srtp_new(&k) == NULL);
    k.salt_len = 14;
    k.key_len = 32;
    SC_CHECK(sc_srtp_new(&k) == NULL);
    SC_CHECK(sc_srtp_new(NULL) == NULL);
    sc_srtp_free(NULL);
    SC_CHECK_INT(sc_srtp_inbound_ssrcs(NULL), 0);
}

/* ---- keys from a real DTLS handshake ----------------------------------------- */

typedef struct hs_peer {
    sc_dtls *d;
    uint8_t q[16][2048];
    size_t qlen[16];
    int nq;
} hs_peer;

static void hs_send(void *ud, const uint8_t *buf, size_t len)
{
    hs_peer *p = ud;
    if (p->nq < 16 && len <= sizeof(p->q[0])) {
        memcpy(p->q[p->nq], buf, len);
        p->qlen[p->nq++] = len;
    }
}

static void hs_deliver(hs_peer *from, hs_peer *to)
{
    int n = from->nq;
    from->nq = 0;
    for (int i = 0; i < n; i++)
        sc_dtls_feed(to->d, from->q[i], from->qlen[i]);
}

static void test_dtls_keys(void)
{
    sc_dtls_cert *ca = sc_dtls_cert_new(), *cb = sc_dtls_cert_new();
    hs_peer *c = calloc(1, sizeof(*c)), *s = calloc(1, sizeof(*s));
    c->d = sc_dtls_new(ca, SC_DTLS_ROLE_CLIENT, "sha-256", sc_dtls_cert_fingerprint(cb), hs_send,
                       NULL, c);
    s->d = sc_dtls_new(cb, SC_DTLS_ROLE_SERVER, "sha-256", sc_dtls_cert_fingerprint(ca), hs_send,
                       NULL, s);
    SC_CHECK(c->d && s->d);
    sc_dtls_start(c->d);
    for (int i = 0; i < 20 && (c->nq || s->nq); i++) {
        hs_deliver(c, s);
        hs_deliver(s, c);
    }
    SC_CHECK_INT(sc_dtls_state_get(c->d), SC_DTLS_CONNECTED);
    SC_CHECK_INT(sc_dtls_state_get(s->d), SC_DTLS_CONNECTED);

    sc_srtp_keys kc, ks;
    SC_CHECK_INT(sc_dtls_srtp_keys(c->d, &kc), 0);
    SC_CHECK_INT(sc_dtls_srtp_keys(s->d, &ks), 0);
    sc_srtp *sc = sc_srtp_new(&kc), *ss = sc_srtp_new(&ks);
    SC_CHECK(sc && ss);

    uint8_t orig[BUF_CAP], buf[BUF_CAP];
    size_t olen = make_rtp(orig, 0xfeedface, 9, 300);
    memcpy(buf, orig, olen);
    size_t len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtp(sc, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(sc_srtp_unprotect_rtp(ss, buf, &len), 0);
    SC_CHECK(len == olen && memcmp(buf, orig, olen) == 0);
    olen = make_rtcp_sr(orig, 0xfeedface);
    memcpy(buf, orig, olen);
    len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtcp(ss, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(sc_srtp_unprotect_rtcp(sc, buf, &len), 0);
    SC_CHECK(len == olen && memcmp(buf, orig, olen) == 0);

    sc_srtp_free(sc);
    sc_srtp_free(ss);
    sc_dtls_free(c->d);
    sc_dtls_free(s->d);
    sc_dtls_cert_free(ca);
    sc_dtls_cert_free(cb);
    free(c);
    free(s);
}

/* A packet lost just before the sequence number wrapped is retransmitted
 * after it (NACK): it must carry the rollover counter it was first sent
 * with, and the receiver (libsrtp) must accept it.  Also a header with an
 * extension and a CSRC, which are authenticated but not encrypted. */
static void test_late_retransmit_across_wrap(sc_srtp_profile p)
{
    sc_srtp_keys ka, kb;
    make_keys(p, &ka, &kb);
    sc_srtp *a = sc_srtp_new(&ka), *b = sc_srtp_new(&kb);
    SC_CHECK(a != NULL && b != NULL);
    uint8_t buf[BUF_CAP], lost[BUF_CAP], orig[BUF_CAP];
    size_t len, lost_len = 0;
    for (uint16_t seq = 65520; seq != 20; seq++) {
        len = make_rtp(buf, 0x0badcafe, seq, 100);
        SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
        if (seq == 65533) { /* lost on the way: the receiver never sees it */
            memcpy(lost, buf, len);
            lost_len = len;
            continue;
        }
        SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
    }
    /* the retransmission, protected again after the wrap */
    size_t olen = make_rtp(orig, 0x0badcafe, 65533, 100);
    memcpy(buf, orig, olen);
    len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
    SC_CHECK_INT(len, lost_len);
    SC_CHECK(memcmp(buf, lost, len) == 0); /* same index, same bytes */
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
    SC_CHECK_INT(len, olen);
    SC_CHECK(memcmp(buf, orig, olen) == 0);

    /* CSRC + one-byte header extension */
    uint8_t hdr[] = {0x91, 96, 0x00, 0x15, 0, 0, 0, 1, 0x0b, 0xad, 0xca, 0xfe,
                     0x01, 0x02, 0x03, 0x04, 0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00};
    memcpy(orig, hdr, sizeof(hdr));
    memset(orig + sizeof(hdr), 0x5a, 40);
    olen = sizeof(hdr) + 40;
    memcpy(buf, orig, olen);
    len = olen;
    SC_CHECK_INT(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)), 0);
    SC_CHECK(memcmp(buf, hdr, sizeof(hdr)) == 0);            /* header in clear */
    SC_CHECK(memcmp(buf + sizeof(hdr), orig + sizeof(hdr), 40) != 0); /* payload not */
    SC_CHECK_INT(sc_srtp_unprotect_rtp(b, buf, &len), 0);
    SC_CHECK_INT(len, olen);
    SC_CHECK(memcmp(buf, orig, olen) == 0);
    /* an extension length running past the packet is refused, not read */
    uint8_t bad[] = {0x90, 96, 0, 1, 0, 0, 0, 1, 0x0b, 0xad, 0xca, 0xfe, 0xbe, 0xde, 0x00, 0x09};
    memcpy(buf, bad, sizeof(bad));
    len = sizeof(bad);
    SC_CHECK(sc_srtp_protect_rtp(a, buf, &len, sizeof(buf)) < 0);
    sc_srtp_free(a);
    sc_srtp_free(b);
}

/* A plain libsrtp session with the GCM profile: the independent side. */
static srtp_t libsrtp_gcm(const uint8_t *key_salt, srtp_ssrc_type_t type)
{
    srtp_policy_t p;
    uint8_t key[28];
    srtp_t s = NULL;
    memset(&p, 0, sizeof(p));
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    memcpy(key, key_salt, sizeof(key));
    p.ssrc.type = type;
    p.key = key;
    p.window_size = 1024;
    p.allow_repeat_tx = 1;
    SC_CHECK_INT(srtp_create(&s, &p), srtp_err_status_ok);
    return s;
}

/* GCM RTP is ours both ways (OpenSSL): check it against libsrtp's, across
 * the sequence wrap, with reordering, replays, a header extension, and a
 * packet older than the replay window. */
static void test_gcm_against_libsrtp(void)
{
    sc_srtp_keys ka, kb;
    make_keys(SC_SRTP_AEAD_AES_128_GCM, &ka, &kb);
    sc_srtp *ours = sc_srtp_new(&kb);
    srtp_t their_tx = libsrtp_gcm(ka.local, ssrc_any_outbound);  /* sends to ours */
    srtp_t their_rx = libsrtp_gcm(ka.remote, ssrc_any_inbound);  /* hears ours */
    SC_CHECK(ours != NULL);
    uint8_t orig[BUF_CAP], buf[BUF_CAP], held[BUF_CAP], replay[BUF_CAP];
    size_t len, held_len = 0, replay_len = 0;
    int n;

    /* libsrtp -> ours, 65,400 .. 300: across the wrap; 65,530 held back
     * and delivered 40 packets late; 10 replays refused. */
    for (uint32_t i = 0; i < 436; i++) {
        uint16_t seq = (uint16_t)(65400 + i);
        size_t olen = make_rtp(orig, 0x600df00d, seq, 90 + i % 700);
        memcpy(buf, orig, olen);
        n = (int)olen;
        SC_CHECK_INT(srtp_protect(their_tx, buf, &n), srtp_err_status_ok);
        if (seq == 65530) {
            memcpy(held, buf, (size_t)n);
            held_len = (size_t)n;
            continue;
        }
        if (i % 43 == 0) {
            memcpy(replay, buf, (size_t)n);
            replay_len = (size_t)n;
        }
        len = (size_t)n;
        SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &len), 0);
        SC_CHECK(len == olen && memcmp(buf, orig, olen) == 0);
        if (seq == 34) { /* the late one, after the wrap */
            size_t hl = held_len;
            memcpy(buf, held, held_len);
            SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &hl), 0);
            SC_CHECK(hl == 12 + 90 + (65530 - 65400) % 700);
            memcpy(buf, held, held_len);
            hl = held_len;
            SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &hl), -EBADMSG); /* replayed */
        }
        if (i % 43 == 10) {
            memcpy(buf, replay, replay_len);
            len = replay_len;
            SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &len), -EBADMSG);
        }
    }
    /* 1,100 packets on, a packet from before them is older than the window
     * (the last replay kept is seq 294; 1,318, which shares its place in
     * the window's ring, is lost). */
    SC_CHECK_INT(sc_rd16(replay + 2), 294);
    memcpy(buf, replay, replay_len);
    for (uint32_t i = 0; i < 1100; i++) {
        size_t olen = make_rtp(orig, 0x600df00d, (uint16_t)(300 + i), 20);
        n = (int)olen;
        SC_CHECK_INT(srtp_protect(their_tx, orig, &n), srtp_err_status_ok);
        len = (size_t)n;
        if (300 + i != 294 + GCM_RX_WINDOW_FOR_TEST)
            SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, orig, &len), 0);
    }
    len = replay_len;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &len), -EBADMSG);

    /* CSRC + header extension: authenticated, not encrypted, both ways. */
    uint8_t hdr[] = {0x91, 96, 0x05, 0x00, 0, 0, 0, 1, 0x0b, 0xad, 0xca, 0xfe,
                     0x01, 0x02, 0x03, 0x04, 0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00};
    memcpy(orig, hdr, sizeof(hdr));
    memset(orig + sizeof(hdr), 0x5a, 60);
    size_t olen = sizeof(hdr) + 60;
    memcpy(buf, orig, olen);
    n = (int)olen;
    SC_CHECK_INT(srtp_protect(their_tx, buf, &n), srtp_err_status_ok);
    len = (size_t)n;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &len), 0);
    SC_CHECK(len == olen && memcmp(buf, orig, olen) == 0);
    /* a flipped bit in the extension fails authentication */
    memcpy(buf, orig, olen);
    buf[2] = 0x06;
    n = (int)olen;
    SC_CHECK_INT(srtp_protect(their_tx, buf, &n), srtp_err_status_ok);
    buf[21] ^= 0x01;
    len = (size_t)n;
    SC_CHECK_INT(sc_srtp_unprotect_rtp(ours, buf, &len), -EBADMSG);

    /* ours -> libsrtp, across the wrap */
    for (uint32_t i = 0; i < 200; i++) {
        uint16_t seq = (uint16_t)(65450 + i);
        olen = make_rtp(orig, 0x7e57ab1e, seq, 50 + i);
        memcpy(buf, orig, olen);
        len = olen;
        SC_CHECK_INT(sc_srtp_protect_rtp(ours, buf, &len, sizeof(buf)), 0);
        n = (int)len;
        SC_CHECK_INT(srtp_unprotect(their_rx, buf, &n), srtp_err_status_ok);
        SC_CHECK(n == (int)olen && memcmp(buf, orig, olen) == 0);
    }
    srtp_dealloc(their_tx);
    srtp_dealloc(their_rx);
    sc_srtp_free(ours);
}

int main(void)
{
    SC_CHECK_INT(sc_srtp_global_init(), 0);
    SC_CHECK_INT(sc_srtp_global_init(), 0); /* idempotent */

    sc_srtp_profile profiles[] = {SC_SRTP_AEAD_AES_128_GCM, SC_SRTP_AES128_CM_SHA1_80};
    for (size_t i = 0; i < SC_ARRAY_SIZE(profiles); i++) {
        test_round_trip(profiles[i]);
        test_tamper_replay(profiles[i]);
        test_cap(profiles[i]);
        test_ssrc_limit(profiles[i]);
        test_late_retransmit_across_wrap(profiles[i]);
    }
    test_gcm_against_libsrtp();
    test_bad_keys();
    test_dtls_keys();
    SC_TEST_END();
}
