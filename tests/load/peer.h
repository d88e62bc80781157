/* One WebRTC peer of the load generator: a WHIP publisher or a WHEP viewer,
 * client side of ICE (controlling, full checks against an ICE-lite server),
 * DTLS (whichever role the answer leaves us) and SRTP, over one connected UDP
 * socket.  A viewer is normally the offerer (WHEP); against Janus it answers
 * the server's offer instead (lg_peer_answer). */
#ifndef LG_PEER_H
#define LG_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include "sfu/crypto/dtls.h"
#include "sfu/proto/sdp.h"

#define LG_MAX_PAIRS 16       /* audio+video pairs a viewer offers (stage slots, SC_MAX_SLOTS) */
#define LG_MAX_RX_STREAMS 32
#define LG_TRAILER 8          /* publisher send time, CLOCK_MONOTONIC us, big-endian */
#define LG_TRAILER_KEY (1ULL << 62) /* set in the trailer on a keyframe's packets */
/* Bits 52-61 of the trailer: the sending publisher's trailer_src (1..1023),
 * 0 when it has none.  Microseconds of CLOCK_MONOTONIC stay below 2^52. */
#define LG_TRAILER_SRC_SHIFT 52
#define LG_TRAILER_SRC_MASK (0x3ffULL << LG_TRAILER_SRC_SHIFT)
#define LG_MAX_SRC 1023
#define LG_PT_OPUS 111
#define LG_PT_VP8 96
#define LG_PT_RTX 97
#define LG_MAX_PAYLOAD_BYTES 1200

typedef enum lg_peer_state {
    LG_PEER_NEW,
    LG_PEER_ICE,       /* checks sent, waiting for a success response */
    LG_PEER_DTLS,      /* handshake running */
    LG_PEER_CONNECTED, /* SRTP keys in place */
    LG_PEER_FAILED,
} lg_peer_state;

/* Per received stream (SSRC) sequence accounting for loss. */
typedef struct lg_rx_stream {
    uint32_t ssrc;
    uint8_t pt;
    uint16_t max_seq;
    uint32_t cycles;
    uint64_t first_ext;
    uint64_t received;
    bool decrypted; /* one of its packets went through SRTP (on_rtp_viewer) */
} lg_rx_stream;

/* A latency histogram: LG_HIST_BUCKETS buckets of LG_HIST_US. */
typedef struct lg_hist {
    uint32_t *b;
    uint64_t n, over, max_us;
} lg_hist;

/* Shared sink for latency samples (owned by the viewer thread). */
typedef struct lg_latency {
    bool enabled;          /* only inside the measurement window */
    lg_hist fwd;           /* publisher send -> kernel receive on the viewer socket */
    lg_hist queue;         /* kernel receive -> loadgen read: our own lag */
    lg_hist fwd_key;       /* fwd, keyframe packets only */
    uint64_t auth_ok, auth_fail;
} lg_latency;

void lg_hist_add(lg_hist *h, int64_t us);
#define LG_HIST_US 10
#define LG_HIST_BUCKETS 200000  /* 2 s */

typedef struct lg_peer {
    bool publisher;
    int pairs;
    lg_peer_state state;
    const char *fail_reason;
    int fd;
    bool tcp;               /* a viewer on ICE-TCP: fd is a connected TCP socket */
    struct sc_rfc4571_rx *rx; /* its RFC 4571 reassembly (tcp) */
    int index;
    char ufrag[16], pwd[40];
    char srv_ufrag[257], srv_pwd[257];
    char srv_fp_alg[16], srv_fp[192];
    char location[512];
    struct sockaddr_in srv_addr;   /* the server's candidate we are connected to */
    bool dtls_server;       /* the remote side is setup:active */
    sc_dtls *dtls;
    sc_srtp *srtp;
    uint8_t pt_video;       /* the VP8 payload type received (viewer) */
    uint64_t janus_session, janus_handle;  /* --target janus only */
    /* ICE */
    uint8_t txid[12];
    int checks_sent;
    int64_t next_check_us, last_response_us, last_dtls_tick_us;
    uint64_t tie;
    /* times */
    int64_t t_request_us, t_connected_us, t_first_media_us, t_first_video_us;
    int64_t t_last_media_us, max_media_gap_us; /* longest time between two media packets */
    /* publisher send state */
    uint32_t ssrc_audio, ssrc_video, ssrc_rtx;
    uint16_t seq_audio, seq_video;
    uint32_t ts_offset_audio, ts_offset_video;
    uint64_t sent_packets, send_errors, plis, firs;
    bool want_keyframe;     /* a PLI or FIR arrived since the flag was cleared */
    /* viewer receive state */
    int n_streams;
    lg_rx_stream streams[LG_MAX_RX_STREAMS];
    uint64_t rx_rtp, rx_rtcp, rx_other, pkt_counter;
    int sample_every;
    bool counting;          /* false once the run winds down: stop counting */
    bool deleted;
    bool rejoin;            /* a churn slot's fresh peer (loadgen --churn) */
    bool rejoin_seen;       /* its first media was counted (churn.c) */
    uint32_t rx_ovfl;       /* SO_RXQ_OVFL: datagrams the kernel dropped on our socket */
    int http_status;
    /* publisher: the source named in its trailers (1..LG_MAX_SRC, 0 none) */
    int trailer_src;
    /* viewer: a switch being timed (lg_peer_watch); every packet is
     * decrypted until the first from a source of watch_srcs arrives */
    bool watching;
    uint64_t watch_srcs[(LG_MAX_SRC + 64) / 64];
    int64_t watch_first_us, watch_first_video_us; /* kernel receive times, 0 not yet */
    /* DTLS client retries (lg_peer_set_dtls_retry_ms) */
    sc_dtls_cert *cert;
    int64_t dtls_start_us;
    bool dtls_heard;        /* a DTLS datagram came from the server */
    int dtls_restarts;
} lg_peer;

/* Process-wide setup (SRTP). */
int lg_peer_global_init(void);

/* A fresh peer; `pairs` audio+video m-line pairs for a viewer (1 for a
 * publisher).  Fills in random ICE credentials and SSRCs. */
lg_peer *lg_peer_new(bool publisher, int pairs, uint32_t *rng);
void lg_peer_free(lg_peer *p);

/* The SDP offer (malloc'd), with `fingerprint` (sha-256 of our cert). */
char *lg_peer_offer(const lg_peer *p, const char *fingerprint);

/* Take the answer: server credentials, fingerprint and the one host
 * candidate, then open and connect the UDP socket.  `scratch` is a heap
 * sc_sdp the caller reuses.  0 or a negative errno with a reason in err. */
int lg_peer_set_answer(lg_peer *p, const char *sdp, size_t len, sc_sdp *scratch, char *err,
                       size_t errlen);

/* Viewer answering a server's offer (Janus subscribers): take the offer's
 * transport as lg_peer_set_answer does and build the answer (malloc'd): for
 * each offered m-line the Opus or VP8 payload type, recvonly, setup:active;
 * other m-lines are rejected (port 0).  NULL with a reason in err. */
char *lg_peer_answer(lg_peer *p, const char *offer, size_t len, sc_sdp *scratch,
                     const char *fingerprint, char *err, size_t errlen);

/* The address peers bind their sockets to (default 127.0.0.1).  0 or
 * -EINVAL.  Call before any peer takes an answer. */
int lg_peer_set_local_ip(const char *ip);
void lg_peer_set_gro(bool on);
/* A DTLS client whose server has sent nothing ms after its ClientHello
 * starts the handshake anew (fresh ClientHello), doubling the wait up to 4
 * times, as a browser's first retransmission after about 50 ms.  Janus
 * drops a ClientHello that comes before it has started its own handshake
 * (after libnice selected the pair, on the handle's loop), and OpenSSL's
 * first retransmission is 1 s later.  0 (default): OpenSSL's timer only. */
void lg_peer_set_dtls_retry_ms(int ms);
/* Viewers connect to the answer's ICE-TCP candidate instead of UDP
 * (publishers stay on UDP); small_rcvbuf: with a 4 KiB receive buffer (a
 * --sink viewer's, so that it stalls the server's queue soon). */
void lg_peer_set_tcp(bool on, bool small_rcvbuf);

/* Start ICE: the first check goes out now. */
int lg_peer_start(lg_peer *p, sc_dtls_cert *cert, int64_t now_us);

/* One datagram from the socket.  now_us is when the kernel received it
 * (CLOCK_MONOTONIC); queue_us how long it then waited for us to read it. */
void lg_peer_input(lg_peer *p, uint8_t *buf, size_t len, int64_t now_us, int64_t queue_us,
                   lg_latency *lat);

/* --sink: the viewer stops reading media.  Shrinks the socket's receive
 * buffer to the kernel's minimum and discards what is queued, so further
 * datagrams are dropped at the socket (counted as RcvbufErrors and in the
 * socket's drops) without waking anyone.  The caller takes the socket out of
 * its poll set; lg_peer_tick keeps sending consent checks, which need no
 * reading.  0 or a negative errno. */
int lg_peer_sink(lg_peer *p);

/* Timers: check retransmission and consent (every ~5 s), DTLS timeouts.
 * Returns the time the peer next wants a tick. */
int64_t lg_peer_tick(lg_peer *p, int64_t now_us);

/* Publisher: send one RTP packet (payload + our send-time trailer).
 * video selects the video SSRC; ts is the media timestamp from 0. */
int lg_peer_send_rtp(lg_peer *p, bool video, const uint8_t *payload, size_t len, bool marker,
                     uint32_t ts, int64_t now_us);

/* Viewer: time the arrival of media from new sources (a breakout group
 * switch): from now on the first packet whose trailer names one of
 * srcs[0..n) sets watch_first_us, the first such video packet
 * watch_first_video_us; watching ends when both are set.  Sources are
 * trailer_src values. */
void lg_peer_watch(lg_peer *p, const int *srcs, int n);

/* Per-peer loss: sum over its streams of expected - received (>= 0). */
uint64_t lg_peer_lost(const lg_peer *p, uint64_t *expected);

int64_t lg_now_us(void);

#endif
