#include "answer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

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

static const sc_sdp_codec *choose_codec(const sc_sdp_media *m)
{
    if (m->kind == SC_SDP_AUDIO)
        return sc_sdp_find_codec(m, "opus", 48000);
    if (m->kind == SC_SDP_VIDEO)
        return sc_sdp_find_codec(m, "VP8", 90000);
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

static void append_accepted(sc_strbuf *sb, const sc_sdp_media *m, const sc_track_map *t,
                            const sc_sdp_codec *c, const sc_sdp_codec *rtx,
                            const sc_negotiated *neg, const sc_answer_params *p,
                            const char *dir)
{
    const char *setup = neg->dtls_role == SC_DTLS_ROLE_CLIENT ? "active" : "passive";
    sc_strbuf_appendf(sb, "m=%s %u UDP/TLS/RTP/SAVPF %u", m->kind_name, p->port, c->pt);
    if (rtx)
        sc_strbuf_appendf(sb, " %u", rtx->pt);
    sc_strbuf_appendf(sb, "\r\nc=IN IP4 %s\r\n", p->ip);
    sc_strbuf_appendf(sb, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", neg->local_ufrag, neg->local_pwd);
    sc_strbuf_appendf(sb, "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n", p->fingerprint, setup);
    if (m->mid[0])
        sc_strbuf_appendf(sb, "a=mid:%s\r\n", m->mid);
    sc_strbuf_appendf(sb, "a=%s\r\na=rtcp-mux\r\n", dir);
    if (m->rtcp_rsize)
        sc_strbuf_appendf(sb, "a=rtcp-rsize\r\n");
    if (c->channels)
        sc_strbuf_appendf(sb, "a=rtpmap:%u %s/%u/%u\r\n", c->pt, c->name, c->clock, c->channels);
    else
        sc_strbuf_appendf(sb, "a=rtpmap:%u %s/%u\r\n", c->pt, c->name, c->clock);
    if (c->fmtp[0])
        sc_strbuf_appendf(sb, "a=fmtp:%u %s\r\n", c->pt, c->fmtp);
    if (t->nack)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u nack\r\n", c->pt);
    if (t->pli)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u nack pli\r\n", c->pt);
    if (t->fir)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u ccm fir\r\n", c->pt);
    if (t->remb)
        sc_strbuf_appendf(sb, "a=rtcp-fb:%u goog-remb\r\n", c->pt);
    if (t->audio_level_id)
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->audio_level_id, SC_AUDIO_LEVEL_URI);
    if (t->n_rids) {
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->mid_id, SC_MID_URI);
        sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->rid_id, SC_RID_URI);
        if (t->rrid_id)
            sc_strbuf_appendf(sb, "a=extmap:%u %s\r\n", t->rrid_id, SC_RRID_URI);
    }
    if (rtx) {
        sc_strbuf_appendf(sb, "a=rtpmap:%u rtx/%u\r\n", rtx->pt, rtx->clock ? rtx->clock : c->clock);
        sc_strbuf_appendf(sb, "a=fmtp:%u apt=%u\r\n", rtx->pt, c->pt);
    }
    if (t->n_rids) {
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
    sc_strbuf_appendf(sb, "a=candidate:1 1 udp 2130706431 %s %u typ host\r\n", p->ip, p->port);
    sc_strbuf_appendf(sb, "a=end-of-candidates\r\n");
}

int sc_answer_build(const sc_sdp *offer, const sc_answer_params *p, sc_negotiated *neg,
                    char **answer, char *err, size_t errlen)
{
    bool accepted[SC_SDP_MAX_MEDIA] = {false};
    const sc_sdp_codec *codec[SC_SDP_MAX_MEDIA] = {NULL};
    const sc_sdp_codec *rtxc[SC_SDP_MAX_MEDIA] = {NULL};
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
        const sc_sdp_codec *c = choose_codec(m);
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
        codec[i] = c;
        rtxc[i] = m->kind == SC_SDP_VIDEO ? sc_sdp_find_rtx(m, c->pt) : NULL;

        sc_track_map *t = &neg->tracks[neg->n_tracks];
        t->mline = i;
        t->kind = m->kind;
        t->slot = p->kind == SC_SESSION_SUBSCRIBE ? slot : 0;
        t->pt = c->pt;
        t->rtx_pt = rtxc[i] ? rtxc[i]->pt : -1;
        t->clock = c->clock;
        t->nack = c->fb_nack;
        t->pli = c->fb_pli;
        t->fir = c->fb_fir;
        t->remb = p->kind == SC_SESSION_PUBLISH && c->fb_remb;
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
            t->local_rtx_ssrc = t->rtx_pt >= 0 ? fresh_ssrc(neg) : 0;
            continue;
        }
        neg->n_tracks++;
    }
    if (neg->n_tracks == 0) {
        set_err(err, errlen,
                p->kind == SC_SESSION_PUBLISH
                    ? "nothing acceptable in the offer: need a sendonly/sendrecv Opus or VP8 m-line"
                    : "nothing acceptable in the offer: need a recvonly/sendrecv Opus or VP8 m-line");
        return -ENOTSUP;
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
        append_accepted(&sb, &offer->media[i], &neg->tracks[ti++], codec[i], rtxc[i], neg, p,
                        dirs[i]);
    }
    *answer = sc_strbuf_steal(&sb);
    if (!*answer) {
        set_err(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}
