#include "sfu/engine/answer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sfu/crypto/dtls.h"
#include "sfu/engine/sctp.h"
#include "sfu/engine/util.h"

/* Our host candidates: UDP, and passive ICE-TCP (RFC 6544) below it.
 * Priorities per RFC 8445 5.1.2.1 with type preference 126 (host): UDP with
 * local preference 65535; TCP with RFC 6544 4.2's (2^13 * direction
 * preference 2 for passive + 8191), so every pair on UDP outranks any on
 * TCP and a browser falls back to TCP only when UDP does not work. */
static void append_candidates(sc_strbuf *sb, const sc_answer_params *p)
{
    sc_strbuf_appendf(sb, "a=candidate:1 1 udp %u %s %u typ host\r\n",
                      126u << 24 | 65535u << 8 | 255u, p->ip, p->port);
    if (p->tcp_port)
        sc_strbuf_appendf(sb, "a=candidate:2 1 tcp %u %s %u typ host tcptype passive\r\n",
                          126u << 24 | (2u << 13 | 8191u) << 8 | 255u, p->ip, p->tcp_port);
    sc_strbuf_appendf(sb, "a=end-of-candidates\r\n");
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* The direction we answer with: we only ever receive from publishers and only
 * ever send to subscribers. */
static const char *answer_direction(const sc_sdp_media *m, sc_session_kind kind, bool *ok)
{
    if (kind == SC_SESSION_PUBLISH) {
        *ok = m->dir == SC_SDP_SENDONLY || m->dir == SC_SDP_SENDRECV;
        return *ok ? "recvonly" : "inactive";
    }
    *ok = m->dir == SC_SDP_RECVONLY || m->dir == SC_SDP_SENDRECV;
    return *ok ? "sendonly" : "inactive";
}

/* H.264 in packetization-mode 1 (what browsers and OBS send), constrained
 * baseline preferred: every decoder has it. */
static const sc_sdp_codec *find_h264(const sc_sdp_media *m)
{
    const sc_sdp_codec *best = NULL;
    for (int i = 0; i < m->n_codecs; i++) {
        const sc_sdp_codec *c = &m->codecs[i];
        if (strcasecmp(c->name, "H264") != 0 || c->clock != 90000 ||
            !strstr(c->fmtp, "packetization-mode=1"))
            continue;
        if (strstr(c->fmtp, "profile-level-id=42e0"))
            return c;
        if (!best)
            best = c;
    }
    return best;
}

static const sc_sdp_codec *find_video(const sc_sdp_media *m, sc_video_codec codec)
{
    return codec == SC_CODEC_H264 ? find_h264(m) : sc_sdp_find_codec(m, "VP8", 90000);
}

/* Audio: Opus.  Video: VP8 or H.264 (mode 1), whichever the offer lists
 * first: the offerer's order is its preference (RFC 3264 5.1), which is how
 * a page or an encoder chooses the room's codec. */
static const sc_sdp_codec *choose_codec(const sc_sdp_media *m, sc_video_codec *chosen)
{
    if (m->kind == SC_SDP_AUDIO)
        return sc_sdp_find_codec(m, "opus", 48000);
    if (m->kind != SC_SDP_VIDEO)
        return NULL;
    const sc_sdp_codec *vp8 = find_video(m, SC_CODEC_VP8), *h264 = find_video(m, SC_CODEC_H264);
    for (int i = 0; i < m->n_codecs; i++) {
        const sc_sdp_codec *c = &m->codecs[i];
        if (c == vp8) {
            *chosen = SC_CODEC_VP8;
            return vp8;
        }
        if (h264 && strcasecmp(c->name, "H264") == 0) {
            *chosen = SC_CODEC_H264;
            return h264; /* the best mode-1 profile of those offered */
        }
    }
    return NULL;
}

/* The publisher's announced SSRCs: the FID group gives media + RTX, else the
 * first a=ssrc line is the media SSRC. */
static void remote_ssrcs(const sc_sdp_media *m, sc_track_map *t)
{
    if (m->n_fids > 0) {
        t->remote_ssrc = m->fids[0].primary;
        t->remote_rtx_ssrc = m->fids[0].rtx;
    } else if (m->n_ssrcs > 0) {
        t->remote_ssrc = m->ssrcs[0].ssrc;
    }
}

static uint32_t fresh_ssrc(const sc_negotiated *neg)
{
    for (;;) {
        uint32_t s = sc_random_u32();
        bool clash = s == 0;
        for (int i = 0; i < neg->n_tracks && !clash; i++)
            clash = neg->tracks[i].local_ssrc == s || neg->tracks[i].local_rtx_ssrc == s;
        if (!clash)
            return s;
    }
}

static void append_rejected(sc_strbuf *sb, const sc_sdp_media *m)
{
    sc_strbuf_appendf(sb, "m=%s 0 %s", m->kind_name, m->proto[0] ? m->proto : "UDP/TLS/RTP/SAVPF");
    if (m->n_codecs > 0)
        sc_strbuf_appendf(sb, " %u", m->codecs[0].pt);
    else
        sc_strbuf_appendf(sb, " %s", m->kind == SC_SDP_APPLICATION ? "webrtc-datachannel" : "0");
    sc_strbuf_appendf(sb, "\r\nc=IN IP4 0.0.0.0\r\n");
    if (m->mid[0])
        sc_strbuf_appendf(sb, "a=mid:%s\r\n", m->mid);
    sc_strbuf_appendf(sb, "a=inactive\r\n");
}

/* One codec's lines: rtpmap, fmtp, feedback, and its RTX. */
static void append_codec(sc_strbuf *sb, const sc_track_map *t, const sc_sdp_codec *c,
                         const sc_sdp_codec *rtx)
{
    if (c->channels)
        sc_strbuf_appendf(sb, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
    else
        sc_strbuf_appendf(sb, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
    if (c->fmtp[0])
        sc_strbuf_appendf(sb, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
    if (t->nack && c->fb_nack)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u nack\r\n", c->pt);
    if (t->pli && c->fb_pli)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u nack pli\r\n", c->pt);
    if (t->fir && c->fb_fir)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u ccm fir\r\n", c->pt);
    if (t->remb && c->fb_remb)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u goog-remb\r\n", c->pt);
    if (t->twcc && c->fb_twcc)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u transport-cc\r\n", c->pt);
    if (rtx) {
        sc_strbuf_appendf(sb, "a=rtpmap:%u rtx/%u\r\n", rtx->pt, rtx->clock ? rtx->clock : c->clock);
        sc_strbuf_appendf(sb, "a=fmtp:%u apt=%u\r\n", rtx->pt, c->pt);
    }
}

static void append_accepted(sc_strbuf *sb, const sc_sdp_media *m, const sc_track_map *t,
                            const sc_sdp_codec *const *codecs, const sc_sdp_codec *const *rtxs,
                            int n_codecs, const sc_negotiated *neg, const sc_answer_params *p,
                            const char *dir)
{
    const char *setup = neg->dtls_role == SC_DTLS_ROLE_CLIENT ? "active" : "passive";
    sc_strbuf_appendf(sb, "m=%s %u UDP/TLS/RTP/SAVPF", m->kind_name, p->port);
    for (int i = 0; i < n_codecs; i++) {
        sc_strbuf_appendf(sb, " %u", codecs[i]->pt);
        if (rtxs[i])
            sc_strbuf_appendf(sb, " %u", rtxs[i]->pt);
    }
    sc_strbuf_appendf(sb, "\r\nc=IN IP4 %s\r\n", p->ip);
    sc_strbuf_appendf(sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", neg->local_ufrag, neg->local_pwd);
    sc_strbuf_appendf(sb, "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n", p->fingerprint, setup);
    if (m->mid[0])
        sc_strbuf_appendf(sb, "a=mid:%s\r\n", m->mid);
    sc_strbuf_appendf(sb, "a=%s\r\na=rtcp-mux\r\n", dir);
    if (m->rtcp_rsize)
        sc_strbuf_appendf(sb, "a=rtcp-rsize\r\n");
    for (int i = 0; i < n_codecs; i++)
        append_codec(sb, t, codecs[i], rtxs[i]);
    if (t->audio_level_id)
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->audio_level_id, SC_AUDIO_LEVEL_URI);
    if (p->kind == SC_SESSION_SUBSCRIBE && neg->twcc_id &&
        sc_sdp_find_extmap(m, SC_TWCC_URI) == neg->twcc_id)
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", neg->twcc_id, SC_TWCC_URI);
    if (t->n_rids) {
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->mid_id, SC_MID_URI);
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->rid_id, SC_RID_URI);
        if (t->rrid_id)
            sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->rrid_id, SC_RRID_URI);
        for (int i = 0; i < t->n_rids; i++)
            sc_strbuf_appendf(sb, "a=rid:%s recv\r\n", t->rids[i]);
        sc_strbuf_appendf(sb, "a=simulcast:recv ");
        for (int i = 0; i < t->n_rids; i++)
            sc_strbuf_appendf(sb, "%s%s", i ? ";" : "", t->rids[i]);
        sc_strbuf_appendf(sb, "\r\n");
    }
    if (p->kind == SC_SESSION_SUBSCRIBE) {
        /* One MediaStream per stage slot so the browser lip-syncs the
         * slot's audio and video from our sender reports. */
        const char *kind = m->kind == SC_SDP_AUDIO ? "audio" : "video";
        if (t->local_rtx_ssrc)
            sc_strbuf_appendf(sb, "a=ssrc-group:FID %u %u\r\n", t->local_ssrc, t->local_rtx_ssrc);
        sc_strbuf_appendf(sb, "a=msid:stage%d %s%d\r\n", t->slot, kind, t->slot);
        sc_strbuf_appendf(sb, "a=ssrc:%u cname:stagecast-%d\r\n", t->local_ssrc, t->slot);
        if (t->local_rtx_ssrc)
            sc_strbuf_appendf(sb, "a=ssrc:%u cname:stagecast-%d\r\n", t->local_rtx_ssrc, t->slot);
    }
    append_candidates(sb, p);
}

/* Whether an m-line is a data channel section we can take.  Its own ICE
 * credentials do not matter: bundled, it rides on the transport the media
 * fixed (RFC 8843), as every m-line we accept does.  Malformed ones are
 * refused, never fatal. */
static bool datachannel_ok(const sc_sdp_media *m)
{
    bool proto_ok = m->sctp_legacy ? strcmp(m->proto, "DTLS/SCTP") == 0
                                   : strcmp(m->proto, "UDP/DTLS/SCTP") == 0;
    return m->kind == SC_SDP_APPLICATION && m->port != 0 && proto_ok && m->fmt_datachannel &&
           !m->sctp_bad;
}

static void append_datachannel(sc_strbuf *sb, const sc_sdp_media *m, const sc_negotiated *neg,
                               const sc_answer_params *p)
{
    const char *setup = neg->dtls_role == SC_DTLS_ROLE_CLIENT ? "active" : "passive";
    /* Answered in the form it was offered in. */
    if (m->sctp_legacy)
        sc_strbuf_appendf(sb, "m=application %u DTLS/SCTP %d\r\n", p->port, SC_SCTP_PORT);
    else
        sc_strbuf_appendf(sb, "m=application %u UDP/DTLS/SCTP webrtc-datachannel\r\n", p->port);
    sc_strbuf_appendf(sb, "c=IN IP4 %s\r\n", p->ip);
    sc_strbuf_appendf(sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", neg->local_ufrag, neg->local_pwd);
    sc_strbuf_appendf(sb, "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n", p->fingerprint, setup);
    if (m->mid[0])
        sc_strbuf_appendf(sb, "a=mid:%s\r\n", m->mid);
    if (m->sctp_legacy)
        sc_strbuf_appendf(sb, "a=sctpmap:%d webrtc-datachannel 1024\r\n", SC_SCTP_PORT);
    else
        sc_strbuf_appendf(sb, "a=sctp-port:%d\r\n", SC_SCTP_PORT);
    sc_strbuf_appendf(sb, "a=max-message-size:%d\r\n", SC_SCTP_MAX_MESSAGE);
    append_candidates(sb, p);
}

int sc_answer_build(const sc_sdp *offer, const sc_answer_params *p, sc_negotiated *neg,
                    char **answer, char *err, size_t errlen)
{
    bool accepted[SC_SDP_MAX_MEDIA] = {false};
    /* per m-line: the codecs we answer with (a viewer's video may take both) */
    const sc_sdp_codec *codec[SC_SDP_MAX_MEDIA][SC_CODEC_COUNT] = {{NULL}};
    const sc_sdp_codec *rtxc[SC_SDP_MAX_MEDIA][SC_CODEC_COUNT] = {{NULL}};
    int n_codec[SC_SDP_MAX_MEDIA] = {0};
    const char *dirs[SC_SDP_MAX_MEDIA] = {NULL};
    int audio_seen = 0, video_seen = 0;
    sc_strbuf sb;

    memset(neg, 0, sizeof(*neg));
    neg->kind = p->kind;
    *answer = NULL;
    sc_random_ice_string(neg->local_ufrag, 8);
    sc_random_ice_string(neg->local_pwd, 32);

    for (int i = 0; i < offer->n_media; i++) {
        const sc_sdp_media *m = &offer->media[i];
        bool dir_ok;
        dirs[i] = answer_direction(m, p->kind, &dir_ok);
        if (m->port == 0 || !dir_ok || (m->kind != SC_SDP_AUDIO && m->kind != SC_SDP_VIDEO))
            continue;
        if (!strstr(m->proto, "SAVPF") && !strstr(m->proto, "SAVP"))
            continue;
        sc_video_codec vcodec = SC_CODEC_VP8;
        const sc_sdp_codec *c = choose_codec(m, &vcodec);
        if (!c)
            continue;
        int *seen = m->kind == SC_SDP_AUDIO ? &audio_seen : &video_seen;
        int slot = *seen;
        /* A publisher sends one audio and one video track; a subscriber
         * receives one pair per stage slot. */
        if ((p->kind == SC_SESSION_PUBLISH && slot > 0) ||
            (p->kind == SC_SESSION_SUBSCRIBE && slot >= p->max_slots))
            continue;
        if (!m->ice_ufrag[0] || !m->ice_pwd[0]) {
            set_err(err, errlen, "offer has no a=ice-ufrag / a=ice-pwd");
            return -EINVAL;
        }
        if (!m->fingerprint[0]) {
            set_err(err, errlen, "offer has no a=fingerprint (DTLS is mandatory)");
            return -ENOTSUP;
        }
        /* Refused now, not at the DTLS handshake after a 201. */
        if (!sc_dtls_fp_alg_ok(m->fingerprint_alg)) {
            if (err && errlen)
                snprintf(err, errlen, "a=fingerprint uses %s; supported: sha-256, sha-384, sha-512",
                         m->fingerprint_alg);
            return -ENOTSUP;
        }
        if (!m->rtcp_mux) {
            set_err(err, errlen, "offer lacks a=rtcp-mux (required)");
            return -EINVAL;
        }
        if (neg->n_tracks == 0) {
            snprintf(neg->remote_ufrag, sizeof(neg->remote_ufrag), "%s", m->ice_ufrag);
            snprintf(neg->remote_pwd, sizeof(neg->remote_pwd), "%s", m->ice_pwd);
            snprintf(neg->fp_alg, sizeof(neg->fp_alg), "%s", m->fingerprint_alg);
            snprintf(neg->fp, sizeof(neg->fp), "%s", m->fingerprint);
            /* RFC 5763: the answerer to actpass picks; we take passive so the
             * browser (the ICE controller) starts DTLS as soon as ICE is up. */
            neg->dtls_role = m->setup == SC_SDP_SETUP_PASSIVE ? SC_DTLS_ROLE_CLIENT
                                                              : SC_DTLS_ROLE_SERVER;
        }
        (*seen)++;
        accepted[i] = true;
        codec[i][0] = c;
        rtxc[i][0] = m->kind == SC_SDP_VIDEO ? sc_sdp_find_rtx(m, c->pt) : NULL;
        n_codec[i] = 1;

        sc_track_map *t = &neg->tracks[neg->n_tracks];
        t->mline = i;
        t->kind = m->kind;
        t->slot = p->kind == SC_SESSION_SUBSCRIBE ? slot : 0;
        t->pt = c->pt;
        t->rtx_pt = rtxc[i][0] ? rtxc[i][0]->pt : -1;
        t->codec = vcodec;
        for (int k = 0; k < SC_CODEC_COUNT; k++)
            t->pt_for[k] = t->rtx_for[k] = -1;
        if (m->kind == SC_SDP_VIDEO) {
            t->pt_for[vcodec] = c->pt;
            t->rtx_for[vcodec] = (int16_t)t->rtx_pt;
            /* A viewer takes every codec it offers: publishers of either
             * reach it without a new negotiation. */
            sc_video_codec other = vcodec == SC_CODEC_VP8 ? SC_CODEC_H264 : SC_CODEC_VP8;
            const sc_sdp_codec *c2 = p->kind == SC_SESSION_SUBSCRIBE ? find_video(m, other) : NULL;
            if (c2) {
                codec[i][1] = c2;
                rtxc[i][1] = sc_sdp_find_rtx(m, c2->pt);
                n_codec[i] = 2;
                t->pt_for[other] = c2->pt;
                t->rtx_for[other] = rtxc[i][1] ? rtxc[i][1]->pt : -1;
            }
        }
        t->clock = c->clock;
        t->nack = c->fb_nack;
        t->pli = c->fb_pli;
        t->fir = c->fb_fir;
        t->remb = c->fb_remb;
        if (p->kind == SC_SESSION_SUBSCRIBE) {
            /* Transport-wide feedback when the viewer offers it (the
             * browser then estimates nothing itself); REMB otherwise. */
            uint8_t id = sc_sdp_find_extmap(m, SC_TWCC_URI);
            if (id && !neg->twcc_id)
                neg->twcc_id = id;
            t->twcc = id && id == neg->twcc_id;
            if (t->twcc)
                t->remb = false;
        }
        if (p->kind == SC_SESSION_PUBLISH) {
            remote_ssrcs(m, t);
            /* Audio levels (RFC 6464) drive the active-speaker events. */
            if (m->kind == SC_SDP_AUDIO)
                t->audio_level_id = sc_sdp_find_extmap(m, SC_AUDIO_LEVEL_URI);
            /* Simulcast needs the rid (and mid) extensions to tell the
             * layers apart: without them we take the first layer only. */
            uint8_t rid_id = sc_sdp_find_extmap(m, SC_RID_URI);
            uint8_t mid_id = sc_sdp_find_extmap(m, SC_MID_URI);
            if (m->kind == SC_SDP_VIDEO && m->n_rids > 1 && rid_id && mid_id) {
                t->n_rids = (uint8_t)SC_MIN(m->n_rids, SC_MAX_LAYERS);
                for (int r = 0; r < t->n_rids; r++)
                    snprintf(t->rids[r], sizeof(t->rids[r]), "%s", m->rids[r]);
                t->rid_id = rid_id;
                t->mid_id = mid_id;
                t->rrid_id = sc_sdp_find_extmap(m, SC_RRID_URI);
            }
        } else {
            t->local_ssrc = fresh_ssrc(neg);
            neg->n_tracks++; /* fresh_ssrc must see this track's media SSRC */
            t->local_rtx_ssrc = (t->rtx_for[SC_CODEC_VP8] >= 0 || t->rtx_for[SC_CODEC_H264] >= 0)
                                    ? fresh_ssrc(neg) : 0;
            continue;
        }
        neg->n_tracks++;
    }
    if (neg->n_tracks == 0) {
        set_err(err, errlen,
                p->kind == SC_SESSION_PUBLISH
                    ? "nothing acceptable in the offer: need a sendonly/sendrecv Opus, VP8 or H.264 "
                      "(packetization-mode=1) m-line"
                    : "nothing acceptable in the offer: need a recvonly/sendrecv Opus, VP8 or H.264 "
                      "(packetization-mode=1) m-line");
        return -ENOTSUP;
    }

    neg->sctp_mline = -1;
    for (int i = 0; i < offer->n_media; i++) {
        const sc_sdp_media *m = &offer->media[i];
        if (neg->sctp || !datachannel_ok(m))
            continue;
        accepted[i] = true;
        neg->sctp = true;
        neg->sctp_mline = i;
        neg->sctp_remote_port = m->sctp_port ? m->sctp_port : SC_SCTP_PORT;
        neg->sctp_max_message = m->max_message_size;
    }

    sc_strbuf_init(&sb);
    sc_strbuf_appendf(&sb, "v=0\r\no=- %llu 2 IN IP4 %s\r\ns=stagecast\r\nt=0 0\r\n",
                      (unsigned long long)(sc_random_u64() >> 2), p->ip);
    bool bundle = false;
    for (int i = 0; i < offer->n_media; i++)
        bundle |= accepted[i] && offer->media[i].mid[0];
    if (bundle) {
        sc_strbuf_appendf(&sb, "a=group:BUNDLE");
        for (int i = 0; i < offer->n_media; i++)
            if (accepted[i] && offer->media[i].mid[0])
                sc_strbuf_appendf(&sb, " %s", offer->media[i].mid);
        sc_strbuf_appendf(&sb, "\r\n");
    }
    sc_strbuf_appendf(&sb, "a=ice-lite\r\na=msid-semantic: WMS *\r\n");
    int ti = 0;
    for (int i = 0; i < offer->n_media; i++) {
        if (!accepted[i]) {
            append_rejected(&sb, &offer->media[i]);
            continue;
        }
        if (i == neg->sctp_mline) {
            append_datachannel(&sb, &offer->media[i], neg, p);
            continue;
        }
        append_accepted(&sb, &offer->media[i], &neg->tracks[ti++], codec[i], rtxc[i], n_codec[i],
                        neg, p, dirs[i]);
    }
    *answer = sc_strbuf_steal(&sb);
    if (!*answer) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}
