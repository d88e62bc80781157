/* The client side of a WebRTC session, as small as the server lets it be:
 * controlling ICE checks with USE-CANDIDATE (libnice's STUN usage), DTLS in
 * the role the SDP leaves us (sc_dtls), SRTP via sc_srtp.  Viewers count every RTP
 * packet from its clear header and decrypt only a sample (authentication and
 * the latency trailer). */
#include "peer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include "sfu/crypto/srtp.h"
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"
#include "sfu/proto/rtcp.h"
#include "sfu/proto/rfc4571.h"
#include "sfu/proto/rtp.h"

#define LG_CHECK_RETRY_US 100000      /* ICE check retransmission before success */
#define LG_CONSENT_US 5000000         /* consent refresh (server expires at 30 s) */
#define LG_DTLS_TICK_US 50000
#define LG_SETUP_TIMEOUT_US 15000000  /* ICE + DTLS must finish within this */

static const uint16_t lg_known_attrs[] = {
    STUN_ATTRIBUTE_USERNAME, STUN_ATTRIBUTE_MESSAGE_INTEGRITY, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_FINGERPRINT, STUN_ATTRIBUTE_ERROR_CODE, STUN_ATTRIBUTE_PRIORITY,
    STUN_ATTRIBUTE_USE_CANDIDATE, 0,
};

/* Where peer sockets bind: loopback for Stagecast; a namespace-only veth
 * address for Janus, which offers no loopback candidates. */
static struct in_addr lg_local_ip = { .s_addr = 0 };

int lg_peer_set_local_ip(const char *ip)
{
    return inet_pton(AF_INET, ip, &lg_local_ip) == 1 ? 0 : -EINVAL;
}

/* Viewers connect over ICE-TCP (the answer's passive TCP candidate). */
static bool lg_tcp, lg_tcp_small_rcvbuf;

void lg_peer_set_tcp(bool on, bool small_rcvbuf)
{
    lg_tcp = on;
    lg_tcp_small_rcvbuf = small_rcvbuf;
}

/* One packet to the server: a datagram, or an RFC 4571 frame on TCP (the
 * socket blocks for sends, so a frame is never cut). */
static ssize_t peer_send(lg_peer *p, const void *buf, size_t len)
{
    if (!p->tcp)
        return send(p->fd, buf, len, 0);
    uint8_t hdr[2];
    sc_rfc4571_header(hdr, len);
    struct iovec iov[2] = {{hdr, 2}, {(void *)buf, len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    return sendmsg(p->fd, &m, MSG_NOSIGNAL);
}

/* A DTLS client that heard nothing back starts its handshake anew after
 * this long, doubling up to 4 times (0: only OpenSSL's own timer, 1 s). */
static int64_t lg_dtls_retry_us;

void lg_peer_set_dtls_retry_ms(int ms)
{
    lg_dtls_retry_us = (int64_t)ms * 1000;
}

/* UDP_GRO on viewer sockets: a GSO send reaches us as one buffer. */
static bool lg_gro;

void lg_peer_set_gro(bool on)
{
    lg_gro = on;
}

int64_t lg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int lg_peer_global_init(void)
{
    return sc_srtp_global_init();
}

static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void rnd_str(uint32_t *s, char *out, int n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int i = 0; i < n; i++)
        out[i] = al[rnd(s) % (sizeof(al) - 1)];
    out[n] = 0;
}

lg_peer *lg_peer_new(bool publisher, int pairs, uint32_t *rng)
{
    lg_peer *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->publisher = publisher;
    p->pairs = publisher ? 1 : (pairs < 1 ? 1 : pairs > LG_MAX_PAIRS ? LG_MAX_PAIRS : pairs);
    p->fd = -1;
    p->pt_video = LG_PT_VP8;
    p->sample_every = 10;
    p->counting = true;
    rnd_str(rng, p->ufrag, 8);
    rnd_str(rng, p->pwd, 24);
    p->tie = (uint64_t)rnd(rng) << 32 | rnd(rng);
    p->ssrc_audio = rnd(rng) | 1;
    p->ssrc_video = rnd(rng) | 2;
    p->ssrc_rtx = rnd(rng) | 4;
    p->seq_audio = (uint16_t)rnd(rng);
    p->seq_video = (uint16_t)rnd(rng);
    p->ts_offset_audio = rnd(rng);
    p->ts_offset_video = rnd(rng);
    return p;
}

void lg_peer_free(lg_peer *p)
{
    if (!p)
        return;
    sc_dtls_free(p->dtls);
    sc_srtp_free(p->srtp);
    free(p->rx);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static void media_section(sc_strbuf *sb, const lg_peer *p, bool video, int mid,
                          const char *fp)
{
    const char *dir = p->publisher ? "sendonly" : "recvonly";

    if (video)
        sc_strbuf_appendf(sb, "m=video 9 UDP/TLS/RTP/SAVPF %d %d\r\n", LG_PT_VP8, LG_PT_RTX);
    else
        sc_strbuf_appendf(sb, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\n", LG_PT_OPUS);
    sc_strbuf_appendf(sb, "c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
    sc_strbuf_appendf(sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n",
                      p->ufrag, p->pwd);
    sc_strbuf_appendf(sb, "a=fingerprint:sha-256 %s\r\na=setup:actpass\r\n", fp);
    sc_strbuf_appendf(sb, "a=mid:%d\r\na=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", mid, dir);
    if (video) {
        sc_strbuf_appendf(sb, "a=rtpmap:%d VP8/90000\r\n", LG_PT_VP8);
        sc_strbuf_appendf(sb, "a=rtcp-fb:%d goog-remb\r\na=rtcp-fb:%d ccm fir\r\n"
                              "a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\n",
                          LG_PT_VP8, LG_PT_VP8, LG_PT_VP8, LG_PT_VP8);
        sc_strbuf_appendf(sb, "a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n", LG_PT_RTX,
                          LG_PT_RTX, LG_PT_VP8);
    } else {
        sc_strbuf_appendf(sb, "a=rtpmap:%d opus/48000/2\r\n", LG_PT_OPUS);
        sc_strbuf_appendf(sb, "a=fmtp:%d minptime=10;useinbandfec=1\r\n", LG_PT_OPUS);
    }
    if (!p->publisher)
        return;
    sc_strbuf_appendf(sb, "a=msid:loadgen %s\r\n", video ? "video0" : "audio0");
    if (video) {
        sc_strbuf_appendf(sb, "a=ssrc-group:FID %u %u\r\n", p->ssrc_video, p->ssrc_rtx);
        sc_strbuf_appendf(sb, "a=ssrc:%u cname:loadgen\r\n", p->ssrc_video);
        sc_strbuf_appendf(sb, "a=ssrc:%u cname:loadgen\r\n", p->ssrc_rtx);
    } else {
        sc_strbuf_appendf(sb, "a=ssrc:%u cname:loadgen\r\n", p->ssrc_audio);
    }
}

char *lg_peer_offer(const lg_peer *p, const char *fingerprint)
{
    sc_strbuf sb;
    int n = 2 * p->pairs;

    sc_strbuf_init(&sb);
    sc_strbuf_appendf(&sb, "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=loadgen\r\nt=0 0\r\n",
                      p->ssrc_audio);
    sc_strbuf_appendf(&sb, "a=group:BUNDLE");
    for (int i = 0; i < n; i++)
        sc_strbuf_appendf(&sb, " %d", i);
    sc_strbuf_appendf(&sb, "\r\na=msid-semantic: WMS *\r\n");
    for (int i = 0; i < n; i++)
        media_section(&sb, p, i % 2 == 1, i, fingerprint);
    return sc_strbuf_steal(&sb);
}

/* The server's host candidate of a protocol: "a=candidate:F C udp PRIO IP
 * PORT typ host", or "... tcp ... typ host tcptype passive". */
static int find_candidate(const char *sdp, const char *want, struct sockaddr_in *sa)
{
    const char *p = sdp;

    while ((p = strstr(p, "a=candidate:"))) {
        char ip[64], proto[8];
        unsigned port;
        if (sscanf(p, "a=candidate:%*s %*u %7s %*u %63s %u", proto, ip, &port) == 3 &&
            strcasecmp(proto, want) == 0 && port > 0 && port < 65536 &&
            inet_pton(AF_INET, ip, &sa->sin_addr) == 1) {
            sa->sin_family = AF_INET;
            sa->sin_port = htons((uint16_t)port);
            return 0;
        }
        p += 12;
    }
    return -ENOENT;
}

/* An ICE-TCP viewer: connected before the first check (RFC 6544 active
 * side), reads polled without blocking, sends blocking so frames stay whole.
 * A sink's small receive buffer is set before the connection so the window
 * it advertises stays small too. */
static int connect_tcp(lg_peer *p, const struct sockaddr_in *srv, char *err, size_t errlen)
{
    struct sockaddr_in local = { .sin_family = AF_INET };
    struct timeval tv = { .tv_sec = 2 };
    int one = 1;
    p->rx = calloc(1, sizeof(*p->rx));
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (!p->rx || p->fd < 0)
        goto fail;
    if (lg_tcp_small_rcvbuf) {
        int small = 4096;
        setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    }
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(p->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    local.sin_addr.s_addr = lg_local_ip.s_addr ? lg_local_ip.s_addr : htonl(INADDR_LOOPBACK);
    if (bind(p->fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
        connect(p->fd, (const struct sockaddr *)srv, sizeof(*srv)) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "TCP socket: %s", strerror(errno));
    return -errno;
}

/* The remote description's transport (ICE credentials, fingerprint, DTLS
 * role, the host candidate), then our socket, bound and connected. */
static int take_remote(lg_peer *p, const char *sdp, size_t len, sc_sdp *scratch,
                       const char *what, char *err, size_t errlen)
{
    struct sockaddr_in srv = { 0 }, local = { .sin_family = AF_INET };
    const sc_sdp_media *m;
    int r, buf = 1 << 20;

    r = sc_sdp_parse(sdp, len, scratch, err, errlen);
    if (r < 0)
        return r;
    if (scratch->n_media < 1) {
        snprintf(err, errlen, "%s has no media", what);
        return -EINVAL;
    }
    m = &scratch->media[0];
    if (!m->ice_ufrag[0] || !m->ice_pwd[0] || !m->fingerprint[0]) {
        snprintf(err, errlen, "%s lacks ICE credentials or fingerprint", what);
        return -EINVAL;
    }
    /* An answer's setup:active (Janus's choice) or an offer's actpass
     * (we then answer active) decide who sends the ClientHello. */
    p->dtls_server = m->setup == SC_SDP_SETUP_ACTIVE;
    snprintf(p->srv_ufrag, sizeof(p->srv_ufrag), "%s", m->ice_ufrag);
    snprintf(p->srv_pwd, sizeof(p->srv_pwd), "%s", m->ice_pwd);
    snprintf(p->srv_fp_alg, sizeof(p->srv_fp_alg), "%s", m->fingerprint_alg);
    snprintf(p->srv_fp, sizeof(p->srv_fp), "%s", m->fingerprint);
    p->tcp = lg_tcp && !p->publisher;
    if (find_candidate(sdp, p->tcp ? "tcp" : "udp", &srv) < 0) {
        snprintf(err, errlen, "%s has no %s candidate", what, p->tcp ? "TCP" : "UDP");
        return -EINVAL;
    }
    p->srv_addr = srv;
    if (p->tcp)
        return connect_tcp(p, &srv, err, errlen);
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0)
        goto fail_errno;
    /* Deep receive queues so a busy loadgen shows up as its own drop count
     * (SO_RXQ_OVFL), not as server loss.  FORCE works as root. */
    if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
        setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
    buf = 1;
    setsockopt(p->fd, SOL_SOCKET, SO_RXQ_OVFL, &buf, sizeof(buf));
    /* Kernel receive times: latency and join time are taken when the packet
     * reached our socket, not when a busy loadgen got round to it. */
    setsockopt(p->fd, SOL_SOCKET, SO_TIMESTAMPNS, &buf, sizeof(buf));
    /* On loopback the server's send also runs our receiving half of each
     * datagram; with GRO a GSO send is queued here whole, once, and the
     * viewer thread splits it (viewer_drain in loadgen.c). */
    if (lg_gro && !p->publisher &&
        setsockopt(p->fd, SOL_UDP, UDP_GRO, &buf, sizeof(buf)) < 0)
        goto fail_errno;
    local.sin_addr.s_addr = lg_local_ip.s_addr ? lg_local_ip.s_addr : htonl(INADDR_LOOPBACK);
    if (bind(p->fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
        connect(p->fd, (struct sockaddr *)&srv, sizeof(srv)) < 0)
        goto fail_errno;
    return 0;
fail_errno:
    r = -errno;
    snprintf(err, errlen, "socket: %s", strerror(errno));
    return r;
}

int lg_peer_set_answer(lg_peer *p, const char *sdp, size_t len, sc_sdp *scratch, char *err,
                       size_t errlen)
{
    return take_remote(p, sdp, len, scratch, "answer", err, errlen);
}

/* The offered payload type of `name` (case-insensitive), or -1. */
static int offered_pt(const sc_sdp_media *m, const char *name)
{
    for (int i = 0; i < m->n_codecs; i++)
        if (strcasecmp(m->codecs[i].name, name) == 0)
            return m->codecs[i].pt;
    return -1;
}

char *lg_peer_answer(lg_peer *p, const char *offer, size_t len, sc_sdp *scratch,
                     const char *fingerprint, char *err, size_t errlen)
{
    sc_strbuf sb;
    int accepted = 0;

    if (take_remote(p, offer, len, scratch, "offer", err, errlen) < 0)
        return NULL;
    /* We answer active whatever the offer says: actpass is what offers
     * carry, and an offerer insisting on active would need the server role
     * on both sides. */
    p->dtls_server = false;
    sc_strbuf_init(&sb);
    sc_strbuf_appendf(&sb, "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=loadgen\r\nt=0 0\r\n",
                      p->ssrc_audio);
    sc_strbuf_appendf(&sb, "a=group:BUNDLE");
    for (int i = 0; i < scratch->n_media; i++) {
        const sc_sdp_media *m = &scratch->media[i];
        int pt = m->kind == SC_SDP_AUDIO ? offered_pt(m, "opus")
                 : m->kind == SC_SDP_VIDEO ? offered_pt(m, "VP8") : -1;
        if (pt >= 0 && m->port)
            sc_strbuf_appendf(&sb, " %s", m->mid);
    }
    sc_strbuf_appendf(&sb, "\r\na=msid-semantic: WMS *\r\n");
    for (int i = 0; i < scratch->n_media; i++) {
        const sc_sdp_media *m = &scratch->media[i];
        bool video = m->kind == SC_SDP_VIDEO;
        int pt = m->kind == SC_SDP_AUDIO ? offered_pt(m, "opus")
                 : video ? offered_pt(m, "VP8") : -1;

        if (pt < 0 || !m->port) {
            /* Rejected: same kind and protocol, port 0 (RFC 3264 6). */
            sc_strbuf_appendf(&sb, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\na=mid:%s\r\n"
                              "a=inactive\r\n", m->kind_name, m->proto[0] ? m->proto : "RTP/AVP",
                              m->n_codecs ? "0" : "webrtc-datachannel", m->mid);
            continue;
        }
        accepted++;
        if (video)
            p->pt_video = (uint8_t)pt;
        sc_strbuf_appendf(&sb, "m=%s 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\n"
                          "a=rtcp:9 IN IP4 0.0.0.0\r\n", video ? "video" : "audio", pt);
        sc_strbuf_appendf(&sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", p->ufrag, p->pwd);
        sc_strbuf_appendf(&sb, "a=fingerprint:sha-256 %s\r\na=setup:active\r\n", fingerprint);
        sc_strbuf_appendf(&sb, "a=mid:%s\r\na=recvonly\r\na=rtcp-mux\r\n", m->mid);
        if (video)
            sc_strbuf_appendf(&sb, "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d nack pli\r\n"
                              "a=rtcp-fb:%d ccm fir\r\n", pt, pt, pt);
        else
            sc_strbuf_appendf(&sb, "a=rtpmap:%d opus/48000/2\r\n", pt);
    }
    if (!accepted) {
        snprintf(err, errlen, "offer has neither Opus nor VP8");
        sc_strbuf_free(&sb);
        return NULL;
    }
    return sc_strbuf_steal(&sb);
}

static void fail(lg_peer *p, const char *why)
{
    if (p->state != LG_PEER_FAILED) {
        p->state = LG_PEER_FAILED;
        p->fail_reason = why;
    }
}

static void send_check(lg_peer *p, int64_t now_us)
{
    StunAgent agent;
    StunMessage msg;
    uint8_t buf[512];
    char user[600];
    size_t n;
    int ul;

    /* A fresh agent each time: it only builds the request (we match the
     * response by transaction id), and an agent's saved-id table is finite. */
    stun_agent_init(&agent, lg_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    ul = snprintf(user, sizeof(user), "%s:%s", p->srv_ufrag, p->ufrag);
    n = stun_usage_ice_conncheck_create(&agent, &msg, buf, sizeof(buf), (const uint8_t *)user,
                                        (size_t)ul, (const uint8_t *)p->srv_pwd,
                                        strlen(p->srv_pwd), true, true, 0x6e7f00ff, p->tie,
                                        NULL, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    if (n == 0) {
        fail(p, "building STUN check");
        return;
    }
    memcpy(p->txid, buf + 8, 12);
    if (peer_send(p, buf, n) < 0)
        p->send_errors++;
    /* Back off like a browser (RFC 8445 RTO doubling, capped at 1.6 s) so a
     * slow server is not flooded by its own joiners' retries. */
    if (p->state == LG_PEER_ICE) {
        int64_t rto = (int64_t)LG_CHECK_RETRY_US << (p->checks_sent < 4 ? p->checks_sent : 4);
        p->checks_sent++;
        p->next_check_us = now_us + rto;
    } else {
        p->next_check_us = now_us + LG_CONSENT_US;
    }
}

static void dtls_send(void *ud, const uint8_t *buf, size_t len)
{
    lg_peer *p = ud;
    if (peer_send(p, buf, len) < 0)
        p->send_errors++;
}

int lg_peer_start(lg_peer *p, sc_dtls_cert *cert, int64_t now_us)
{
    p->cert = cert;
    p->dtls = sc_dtls_new(cert, p->dtls_server ? SC_DTLS_ROLE_SERVER : SC_DTLS_ROLE_CLIENT,
                          p->srv_fp_alg, p->srv_fp, dtls_send, NULL, p);
    if (!p->dtls) {
        fail(p, "sc_dtls_new");
        return -EINVAL;
    }
    p->state = LG_PEER_ICE;
    send_check(p, now_us);
    return 0;
}

/* The server's check must name us ("<our ufrag>:<its ufrag>"): then the
 * key is our password. */
static bool check_key(StunAgent *agent, StunMessage *msg, uint8_t *user, uint16_t user_len,
                      uint8_t **pwd, size_t *pwd_len, void *ud)
{
    lg_peer *p = ud;
    size_t n = strlen(p->ufrag);

    (void)agent;
    (void)msg;
    if (user_len <= n || memcmp(user, p->ufrag, n) != 0 || user[n] != ':')
        return false;
    *pwd = (uint8_t *)p->pwd;
    *pwd_len = strlen(p->pwd);
    return true;
}

/* A server that checks back (Janus's libnice sends triggered checks even in
 * lite mode, and nominates only once they succeed) gets a success response;
 * Stagecast never sends any. */
static void answer_check(lg_peer *p, const uint8_t *buf, size_t len)
{
    StunAgent agent;
    StunMessage req, resp;
    struct sockaddr_storage from = { 0 };
    uint8_t out[512];
    size_t n = sizeof(out);
    bool control = true;

    stun_agent_init(&agent, lg_known_attrs, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
    if (stun_agent_validate(&agent, &req, buf, len, check_key, p) != STUN_VALIDATION_SUCCESS)
        return;
    memcpy(&from, &p->srv_addr, sizeof(p->srv_addr));
    if (stun_usage_ice_conncheck_create_reply(&agent, &req, &resp, out, &n, &from,
                                              sizeof(p->srv_addr), &control, p->tie,
                                              STUN_USAGE_ICE_COMPATIBILITY_RFC5245) !=
        STUN_USAGE_ICE_RETURN_SUCCESS)
        return;
    if (peer_send(p, out, n) < 0)
        p->send_errors++;
}

static void on_stun(lg_peer *p, const uint8_t *buf, size_t len, int64_t now_us)
{
    if (len >= 20 && buf[0] == 0x00 && buf[1] == 0x01) {
        answer_check(p, buf, len);
        return;
    }
    /* Binding success response (0x0101) to our latest check. */
    if (len < 20 || buf[0] != 0x01 || buf[1] != 0x01 || memcmp(buf + 8, p->txid, 12) != 0)
        return;
    p->last_response_us = now_us;
    if (p->state != LG_PEER_ICE)
        return;
    p->state = LG_PEER_DTLS;
    p->next_check_us = now_us + LG_CONSENT_US;
    p->last_dtls_tick_us = now_us;
    p->dtls_start_us = now_us;
    if (sc_dtls_start(p->dtls) == SC_DTLS_FAILED)
        fail(p, "DTLS start");
}

/* The client's handshake from the start: a fresh ClientHello, as a browser
 * would retransmit its first after 50 ms where OpenSSL waits 1 s.  Only
 * while the server said nothing: no answer of its can be lost by it. */
static void restart_dtls(lg_peer *p, int64_t now_us)
{
    sc_dtls_free(p->dtls);
    p->dtls = sc_dtls_new(p->cert, SC_DTLS_ROLE_CLIENT, p->srv_fp_alg, p->srv_fp, dtls_send,
                          NULL, p);
    if (!p->dtls) {
        fail(p, "sc_dtls_new");
        return;
    }
    p->dtls_restarts++;
    p->dtls_start_us = now_us;
    if (sc_dtls_start(p->dtls) == SC_DTLS_FAILED)
        fail(p, "DTLS start");
}

static void on_dtls(lg_peer *p, const uint8_t *buf, size_t len, int64_t now_us)
{
    sc_srtp_keys keys;
    sc_dtls_state st;

    if (!p->dtls)
        return;
    p->dtls_heard = true;
    st = sc_dtls_feed(p->dtls, buf, len);
    if (st == SC_DTLS_FAILED || st == SC_DTLS_CLOSED) {
        fail(p, st == SC_DTLS_FAILED ? "DTLS failed" : "DTLS closed by server");
        return;
    }
    if (st != SC_DTLS_CONNECTED || p->srtp)
        return;
    if (sc_dtls_srtp_keys(p->dtls, &keys) < 0 || !(p->srtp = sc_srtp_new(&keys))) {
        fail(p, "SRTP keys");
        return;
    }
    p->state = LG_PEER_CONNECTED;
    p->t_connected_us = now_us;
}

/* Publisher: the server's RTCP (RR, REMB, PLI, FIR).  A keyframe request sets
 * want_keyframe for the encoder. */
static void on_rtcp_publisher(lg_peer *p, uint8_t *buf, size_t len)
{
    const uint8_t *q;
    size_t left;
    sc_rtcp_pkt pkt;

    if (!p->srtp || sc_srtp_unprotect_rtcp(p->srtp, buf, &len) < 0)
        return;
    q = buf;
    left = len;
    while (sc_rtcp_next(&q, &left, &pkt) == 1) {
        if (pkt.pt == SC_RTCP_PSFB && pkt.count == 1) {
            p->plis++;
            p->want_keyframe = true;
        } else if (pkt.pt == SC_RTCP_PSFB && pkt.count == 4) {
            p->firs++;
            p->want_keyframe = true;
        }
    }
}

static lg_rx_stream *rx_stream(lg_peer *p, uint32_t ssrc, uint8_t pt, uint16_t seq)
{
    lg_rx_stream *s;

    for (int i = 0; i < p->n_streams; i++)
        if (p->streams[i].ssrc == ssrc)
            return &p->streams[i];
    if (p->n_streams >= LG_MAX_RX_STREAMS)
        return NULL;
    s = &p->streams[p->n_streams++];
    memset(s, 0, sizeof(*s));
    s->ssrc = ssrc;
    s->pt = pt;
    s->max_seq = seq;
    s->first_ext = 65536u + seq;  /* room for a slightly earlier first packet */
    s->cycles = 65536u;
    return s;
}

void lg_hist_add(lg_hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    h->n++;
    if ((uint64_t)us > h->max_us)
        h->max_us = (uint64_t)us;
    if (us / LG_HIST_US < LG_HIST_BUCKETS)
        h->b[us / LG_HIST_US]++;
    else
        h->over++;
}

/* A switch being timed: a packet from one of the watched sources. */
static void watch_seen(lg_peer *p, int src, bool video, int64_t now_us)
{
    if (src < 1 || src > LG_MAX_SRC || !(p->watch_srcs[src / 64] >> (src % 64) & 1))
        return;
    if (!p->watch_first_us)
        p->watch_first_us = now_us;
    if (video && !p->watch_first_video_us)
        p->watch_first_video_us = now_us;
    p->watching = !p->watch_first_video_us;
}

/* Decrypt a copy (authenticating the server's SRTP), read the trailer;
 * record the latency when `record`, and note a watched source. */
static void sample(lg_peer *p, const uint8_t *buf, size_t len, int64_t now_us, int64_t queue_us,
                   lg_latency *lat, bool record, bool video)
{
    uint8_t copy[SC_RTP_MAX_PACKET + SC_SRTP_MAX_TRAILER];
    size_t n = len;
    sc_rtp rtp;
    const uint8_t *t;
    int64_t sent, d;

    if (len > sizeof(copy))
        return;
    memcpy(copy, buf, len);
    if (sc_srtp_unprotect_rtp(p->srtp, copy, &n) < 0) {
        lat->auth_fail++;
        return;
    }
    lat->auth_ok++;
    if (sc_rtp_parse(copy, n, &rtp) < 0 || rtp.payload_len < LG_TRAILER)
        return;
    t = rtp.payload + rtp.payload_len - LG_TRAILER;
    sent = (int64_t)((uint64_t)sc_rd32(t) << 32 | sc_rd32(t + 4));
    bool key = (uint64_t)sent & LG_TRAILER_KEY;
    int src = (int)(((uint64_t)sent & LG_TRAILER_SRC_MASK) >> LG_TRAILER_SRC_SHIFT);
    sent &= ~(int64_t)(LG_TRAILER_KEY | LG_TRAILER_SRC_MASK);
    d = now_us - sent;
    if (d < 0 || d > 600000000)
        return;  /* not our trailer */
    if (p->watching)
        watch_seen(p, src, video, now_us);
    if (!record || !lat->enabled)
        return;
    lg_hist_add(&lat->fwd, d);
    if (key)
        lg_hist_add(&lat->fwd_key, d);
    lg_hist_add(&lat->queue, queue_us);
}

void lg_peer_watch(lg_peer *p, const int *srcs, int n)
{
    memset(p->watch_srcs, 0, sizeof(p->watch_srcs));
    for (int i = 0; i < n; i++)
        if (srcs[i] >= 1 && srcs[i] <= LG_MAX_SRC)
            p->watch_srcs[srcs[i] / 64] |= 1ULL << (srcs[i] % 64);
    p->watch_first_us = p->watch_first_video_us = 0;
    p->watching = n > 0;
}

static void on_rtp_viewer(lg_peer *p, uint8_t *buf, size_t len, int64_t now_us,
                          int64_t queue_us, lg_latency *lat)
{
    uint16_t seq;
    uint32_t ssrc;
    uint8_t pt;
    lg_rx_stream *s;

    if (len < 12 || !p->counting)
        return;
    pt = buf[1] & 0x7f;
    seq = sc_rd16(buf + 2);
    ssrc = sc_rd32(buf + 8);
    p->rx_rtp++;
    if (!p->t_first_media_us)
        p->t_first_media_us = now_us;
    /* A stall shows here, not in the loss: what the server does not send
     * leaves no gap in the sequence numbers it rewrites. */
    if (p->t_last_media_us && now_us - p->t_last_media_us > p->max_media_gap_us)
        p->max_media_gap_us = now_us - p->t_last_media_us;
    if (now_us > p->t_last_media_us)
        p->t_last_media_us = now_us;
    if (pt == p->pt_video && !p->t_first_video_us)
        p->t_first_video_us = now_us;
    s = rx_stream(p, ssrc, pt, seq);
    if (s) {
        if (s->received && sc_seq_newer(seq, s->max_seq)) {
            if (seq < s->max_seq)
                s->cycles += 65536u;
            s->max_seq = seq;
        }
        s->received++;
    }
    /* The first packet of every stream once SRTP is up is always decrypted:
     * libsrtp takes its rollover counter as 0 at the first index it sees,
     * and the server starts each stream at a random sequence number, so a
     * stream that wrapped before its first sample would fail every sample
     * after.  (Keyed on SRTP being up, not on the stream's first packet:
     * media may overtake the server's DTLS Finished.) */
    if (!p->srtp)
        return;
    bool first = s && !s->decrypted;
    bool sampled = ++p->pkt_counter % (uint64_t)p->sample_every == 0 || first;
    if (sampled || p->watching) {
        if (s)
            s->decrypted = true;
        sample(p, buf, len, now_us, queue_us, lat, sampled, pt == p->pt_video);
    }
}

void lg_peer_input(lg_peer *p, uint8_t *buf, size_t len, int64_t now_us, int64_t queue_us,
                   lg_latency *lat)
{
    uint8_t b0;

    if (len < 1)
        return;
    b0 = buf[0];
    if (b0 <= 3) {
        on_stun(p, buf, len, now_us);
    } else if (b0 >= 20 && b0 <= 63) {
        on_dtls(p, buf, len, now_us);
    } else if (b0 >= 128 && b0 <= 191) {
        if (sc_rtp_is_rtcp(buf, len)) {
            p->rx_rtcp++;
            if (p->publisher)
                on_rtcp_publisher(p, buf, len);
        } else if (!p->publisher) {
            on_rtp_viewer(p, buf, len, now_us, queue_us, lat);
        }
    } else {
        p->rx_other++;
    }
}

int lg_peer_sink(lg_peer *p)
{
    uint8_t buf[64];
    int zero = 0;

    if (p->fd < 0)
        return -EBADF;
    if (p->tcp) /* it just stops reading: the server's queue for it fills */
        return 0;
    /* 0 asks for the floor (SOCK_MIN_RCVBUF): one queued datagram fills it
     * and UDP drops the rest before any wake-up.  The SO_RXQ_OVFL counter
     * and kernel timestamps are no longer read, so they go too. */
    if (setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &zero, sizeof(zero)) < 0)
        return -errno;
    setsockopt(p->fd, SOL_SOCKET, SO_RXQ_OVFL, &zero, sizeof(zero));
    setsockopt(p->fd, SOL_SOCKET, SO_TIMESTAMPNS, &zero, sizeof(zero));
    /* Free what the deep buffer already holds (truncated reads suffice). */
    while (recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0) {
    }
    return 0;
}

int64_t lg_peer_tick(lg_peer *p, int64_t now_us)
{
    int64_t next;

    if (p->state == LG_PEER_FAILED || p->state == LG_PEER_NEW)
        return now_us + LG_CONSENT_US;
    if (p->state != LG_PEER_CONNECTED && now_us - p->t_request_us > LG_SETUP_TIMEOUT_US) {
        fail(p, p->state == LG_PEER_ICE ? "ICE timeout" : "DTLS timeout");
        return now_us + LG_CONSENT_US;
    }
    if (now_us >= p->next_check_us)
        send_check(p, now_us);
    next = p->next_check_us;
    if (p->state == LG_PEER_DTLS && lg_dtls_retry_us && !p->dtls_server && !p->dtls_heard &&
        p->dtls_restarts < 4 && now_us - p->dtls_start_us >= lg_dtls_retry_us << p->dtls_restarts)
        restart_dtls(p, now_us);
    if (p->state == LG_PEER_DTLS) {
        if (now_us - p->last_dtls_tick_us >= LG_DTLS_TICK_US) {
            p->last_dtls_tick_us = now_us;
            if (sc_dtls_tick(p->dtls) == SC_DTLS_FAILED)
                fail(p, "DTLS failed");
        }
        if (p->last_dtls_tick_us + LG_DTLS_TICK_US < next)
            next = p->last_dtls_tick_us + LG_DTLS_TICK_US;
    }
    return next;
}

int lg_peer_send_rtp(lg_peer *p, bool video, const uint8_t *payload, size_t len, bool marker,
                     uint32_t ts, int64_t now_us)
{
    uint8_t buf[12 + LG_MAX_PAYLOAD_BYTES + LG_TRAILER + SC_SRTP_MAX_TRAILER];
    size_t n = 12 + len + LG_TRAILER;
    uint16_t seq;

    if (p->state != LG_PEER_CONNECTED || len > LG_MAX_PAYLOAD_BYTES)
        return -EAGAIN;
    seq = video ? p->seq_video++ : p->seq_audio++;
    buf[0] = 0x80;
    buf[1] = (uint8_t)((marker ? 0x80 : 0) | (video ? LG_PT_VP8 : LG_PT_OPUS));
    sc_wr16(buf + 2, seq);
    sc_wr32(buf + 4, ts + (video ? p->ts_offset_video : p->ts_offset_audio));
    sc_wr32(buf + 8, video ? p->ssrc_video : p->ssrc_audio);
    memcpy(buf + 12, payload, len);
    uint64_t trailer = (uint64_t)now_us | (uint64_t)p->trailer_src << LG_TRAILER_SRC_SHIFT;
    sc_wr32(buf + 12 + len, (uint32_t)(trailer >> 32));
    sc_wr32(buf + 16 + len, (uint32_t)trailer);
    if (sc_srtp_protect_rtp(p->srtp, buf, &n, sizeof(buf)) < 0)
        return -EIO;
    if (peer_send(p, buf, n) < 0) {
        p->send_errors++;
        return -errno;
    }
    p->sent_packets++;
    return 0;
}

uint64_t lg_peer_lost(const lg_peer *p, uint64_t *expected)
{
    uint64_t lost = 0, exp = 0;

    for (int i = 0; i < p->n_streams; i++) {
        const lg_rx_stream *s = &p->streams[i];
        uint64_t e = (uint64_t)s->cycles + s->max_seq - s->first_ext + 1;
        exp += e;
        if (e > s->received)
            lost += e - s->received;
    }
    if (expected)
        *expected = exp;
    return lost;
}
