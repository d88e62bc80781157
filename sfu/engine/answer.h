/* Turning a WebRTC offer into our answer: codec choice, directions, the
 * SSRCs we send with, and the transport parameters the session needs. */
#ifndef SC_ANSWER_H
#define SC_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/crypto/dtls.h"
#include "sfu/proto/sdp.h"
#include "sfu/sfu.h"

#define SC_MAX_SLOTS 16 /* stage slots a subscriber can receive */
#define SC_AUDIO_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define SC_MID_URI "urn:ietf:params:rtp-hdrext:sdes:mid"
#define SC_RID_URI "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define SC_RRID_URI "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define SC_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define SC_MAX_LAYERS 3 /* simulcast layers a publisher may send */

typedef enum sc_video_codec {
    SC_CODEC_VP8 = 0,
    SC_CODEC_H264 = 1,  /* packetization-mode 1 */
    SC_CODEC_COUNT,
} sc_video_codec;

/* One accepted m-line. */
typedef struct sc_track_map {
    int mline;             /* index in the offer */
    sc_sdp_kind kind;      /* SC_SDP_AUDIO or SC_SDP_VIDEO */
    int slot;              /* subscriber: stage slot of this m-line; publisher: 0 */
    uint8_t pt;            /* payload type of the codec, in the peer's numbering */
    int rtx_pt;            /* -1 when RTX was not negotiated */
    uint32_t clock;
    bool nack, pli, fir, remb;
    bool twcc;                 /* subscriber: transport-cc feedback (a=rtcp-fb) */
    uint32_t remote_ssrc;      /* publisher: announced media SSRC, 0 if none */
    uint32_t remote_rtx_ssrc;  /* publisher: announced RTX SSRC, 0 if none */
    uint32_t local_ssrc;       /* subscriber: the SSRC we send on this m-line */
    uint32_t local_rtx_ssrc;   /* subscriber: our RTX SSRC, 0 without RTX */
    uint8_t audio_level_id;    /* publisher audio: RFC 6464 extension id, 0 if not negotiated */
    /* publisher video simulcast (RFC 8853): the rids in the offer's order,
     * and the header extensions that name a packet's layer */
    uint8_t n_rids;
    char rids[SC_MAX_LAYERS][32];
    uint8_t mid_id, rid_id, rrid_id;
    /* video: the codec a publisher sends (pt/rtx_pt are its); for a viewer
     * the payload types of every codec it can take (-1: not negotiated),
     * so whatever a publisher sends is forwarded without renegotiation. */
    sc_video_codec codec;
    int16_t pt_for[SC_CODEC_COUNT];
    int16_t rtx_for[SC_CODEC_COUNT];
} sc_track_map;

typedef struct sc_negotiated {
    sc_session_kind kind;
    char local_ufrag[9];
    char local_pwd[33];
    char remote_ufrag[257];
    char remote_pwd[257];
    char fp_alg[16];
    char fp[192];
    sc_dtls_role dtls_role;
    /* subscriber: the transport-wide sequence number extension's id (one
     * per BUNDLE transport), 0 when the viewer did not offer it; then the
     * viewer may send REMB instead (track remb) */
    uint8_t twcc_id;
    int n_tracks;
    sc_track_map tracks[SC_SDP_MAX_MEDIA];
    /* The data channel section (RFC 8841), when one was accepted. */
    bool sctp;
    int sctp_mline;
    uint16_t sctp_remote_port;   /* the offer's a=sctp-port (5000 when absent) */
    uint32_t sctp_max_message;   /* the offer's a=max-message-size, 0 = not given */
} sc_negotiated;

typedef struct sc_answer_params {
    sc_session_kind kind;
    const char *fingerprint;  /* ours, sha-256 "AB:CD:..." */
    const char *ip;           /* media address to advertise */
    uint16_t port;            /* media port to advertise */
    uint16_t tcp_port;        /* ICE-TCP port to advertise (passive), 0: none */
    int max_slots;            /* subscriber m-line pairs beyond this are rejected */
} sc_answer_params;

/* Negotiate.  An offered `m=application <port> UDP/DTLS/SCTP webrtc-datachannel`
 * section is accepted (one, bundled with the media, same ICE credentials)
 * with a=sctp-port:5000 and a=max-message-size:65536; a malformed one gets
 * port 0 and the media goes on without it.  Fills *neg (generating our ICE credentials and SSRCs) and
 * returns a malloc'd SDP answer in *answer.  -EINVAL with a reason when the
 * offer lacks what WebRTC requires (ICE credentials, fingerprint, rtcp-mux on
 * an accepted m-line), -ENOTSUP when no m-line can be accepted. */
int sc_answer_build(const sc_sdp *offer, const sc_answer_params *p, sc_negotiated *neg,
                    char **answer, char *err, size_t errlen);

#endif
