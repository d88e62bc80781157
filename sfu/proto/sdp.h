/* SDP (RFC 8866) offer parsing for WebRTC (RFC 8829 subset).  The parser is
 * pure and bounded: fixed-size arrays, limits on lines and token lengths;
 * on error it returns a negative errno and writes a one-line reason into err
 * (RELIABILITY 15). */
#ifndef SC_SDP_H
#define SC_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SC_SDP_MAX_LINES 10000
#define SC_SDP_MAX_LINE_LEN 4096
#define SC_SDP_MAX_MEDIA 32
#define SC_SDP_MAX_CODECS 48
#define SC_SDP_MAX_SSRCS 16
#define SC_SDP_MAX_EXTMAPS 16
#define SC_SDP_MAX_FID 8
#define SC_SDP_MAX_RIDS 4

typedef enum sc_sdp_kind {
    SC_SDP_AUDIO,
    SC_SDP_VIDEO,
    SC_SDP_APPLICATION,
    SC_SDP_OTHER,
} sc_sdp_kind;

typedef enum sc_sdp_dir {
    SC_SDP_SENDRECV, /* also the default when no direction attribute */
    SC_SDP_SENDONLY,
    SC_SDP_RECVONLY,
    SC_SDP_INACTIVE,
} sc_sdp_dir;

typedef enum sc_sdp_setup {
    SC_SDP_SETUP_NONE,
    SC_SDP_SETUP_ACTPASS,
    SC_SDP_SETUP_ACTIVE,
    SC_SDP_SETUP_PASSIVE,
} sc_sdp_setup;

typedef struct sc_sdp_codec {
    uint8_t pt;
    char name[32];       /* as written in a=rtpmap, e.g. "opus", "VP8", "rtx" */
    uint32_t clock;
    uint8_t channels;    /* 0 when absent */
    char fmtp[512];      /* a=fmtp parameters, "" when absent */
    int apt;             /* for rtx: the associated payload type from fmtp, else -1 */
    bool fb_nack;        /* a=rtcp-fb:<pt> nack */
    bool fb_pli;         /* a=rtcp-fb:<pt> nack pli */
    bool fb_fir;         /* a=rtcp-fb:<pt> ccm fir */
    bool fb_remb;        /* a=rtcp-fb:<pt> goog-remb */
    bool fb_twcc;        /* a=rtcp-fb:<pt> transport-cc */
} sc_sdp_codec;

typedef struct sc_sdp_ssrc {
    uint32_t ssrc;
    char cname[128];     /* a=ssrc:<id> cname:<v>, "" when absent */
} sc_sdp_ssrc;

typedef struct sc_sdp_fid {
    uint32_t primary;
    uint32_t rtx;        /* a=ssrc-group:FID <primary> <rtx> */
} sc_sdp_fid;

typedef struct sc_sdp_extmap {
    uint8_t id;
    char uri[256];
} sc_sdp_extmap;

typedef struct sc_sdp_media {
    sc_sdp_kind kind;
    char kind_name[32];  /* the m= media token as written */
    uint16_t port;       /* 0 = rejected/disabled m-line */
    char proto[64];      /* e.g. "UDP/TLS/RTP/SAVPF" */
    char mid[64];        /* "" when absent */
    sc_sdp_dir dir;
    bool rtcp_mux;
    bool rtcp_rsize;
    /* Transport attributes; the parser copies session-level values into
     * every media section that lacks its own. */
    char ice_ufrag[257];
    char ice_pwd[257];
    char fingerprint_alg[16];  /* lower-case, e.g. "sha-256" */
    char fingerprint[192];     /* upper-case hex with colons (sha-512 fits) */
    sc_sdp_setup setup;
    bool ice_options_trickle;
    /* a=msid:<stream> <track> */
    char msid_stream[128];
    char msid_track[128];
    uint8_t n_codecs;
    sc_sdp_codec codecs[SC_SDP_MAX_CODECS];  /* in m= line order */
    uint8_t n_ssrcs;
    sc_sdp_ssrc ssrcs[SC_SDP_MAX_SSRCS];
    uint8_t n_fids;
    sc_sdp_fid fids[SC_SDP_MAX_FID];
    uint8_t n_extmaps;
    sc_sdp_extmap extmaps[SC_SDP_MAX_EXTMAPS];
    /* a=rid:<id> send|recv (simulcast; parsed, not used yet). */
    uint8_t n_rids;
    char rids[SC_SDP_MAX_RIDS][32];
    /* m=application ... UDP/DTLS/SCTP webrtc-datachannel (RFC 8841), or the
     * older draft form still sent by some stacks (aiortc 1.4):
     * m=application ... DTLS/SCTP <port> + a=sctpmap:<port> webrtc-datachannel */
    bool fmt_datachannel;      /* "webrtc-datachannel" is the format */
    bool sctp_legacy;          /* the draft form: sctp_port came from the m= line */
    uint16_t sctp_port;        /* a=sctp-port, 0 when absent */
    uint32_t max_message_size; /* a=max-message-size, 0 when absent (= 64 KiB) */
    bool sctp_bad;             /* an sctp attribute did not parse: reject the m= line */
} sc_sdp_media;

typedef struct sc_sdp {
    uint64_t session_id;           /* o= sess-id (numeric part, 0 if huge) */
    bool ice_lite;
    char bundle[SC_SDP_MAX_MEDIA][64];  /* a=group:BUNDLE mids, in order */
    uint8_t n_bundle;
    uint8_t n_media;
    sc_sdp_media media[SC_SDP_MAX_MEDIA];
} sc_sdp;

/* Parse `len` bytes of SDP (CRLF or LF line ends).  Returns 0, or -EINVAL
 * with a reason like "line 12: a=rtpmap payload type 300 out of range" or
 * -E2BIG for more than SC_SDP_MAX_LINES lines / an over-long line / too many
 * m-lines.  Unknown attributes are ignored.  `out` is large (~1 MiB): heap
 * allocate it. */
int sc_sdp_parse(const char *text, size_t len, sc_sdp *out, char *err, size_t errlen);

/* Find a codec by case-insensitive name and clock rate; NULL if absent. */
const sc_sdp_codec *sc_sdp_find_codec(const sc_sdp_media *m, const char *name, uint32_t clock);
/* The rtx codec whose apt is `pt`, or NULL. */
const sc_sdp_codec *sc_sdp_find_rtx(const sc_sdp_media *m, uint8_t pt);
/* The extmap id for `uri`, or 0 when not offered. */
uint8_t sc_sdp_find_extmap(const sc_sdp_media *m, const char *uri);

#endif
