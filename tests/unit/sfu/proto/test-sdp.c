/* SDP offer parser: real offers captured from Chromium, aiortc and GStreamer
 * webrtcbin (tests/data/sdp/), offers modelled on Firefox and OBS Studio
 * (libdatachannel), and the hostile inputs of RELIABILITY 15. */
#include "sfu/proto/sdp.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/sc_test.h"

static sc_sdp *sdp;
static char err[256];

/* ---- a growable text buffer for generated inputs ---- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

__attribute__((format(printf, 2, 3)))
static void bprintf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void bfree(buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static const char *HEAD = "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

static int parse_str(const char *s)
{
    return sc_sdp_parse(s, strlen(s), sdp, err, sizeof(err));
}

/* HEAD + body, expecting rc and a reason that contains `want`. */
static void expect(int line, const char *body, int rc, const char *want)
{
    buf b = {0};
    bprintf(&b, "%s%s", HEAD, body);
    int got = sc_sdp_parse(b.p, b.len, sdp, err, sizeof(err));
    if (got != rc || (want && !strstr(err, want)))
        fprintf(stderr, "test-sdp.c:%d: rc %d err \"%s\" (want %d \"%s\")\n", line, got, err, rc,
                want ? want : "");
    SC_CHECK_INT(got, rc);
    if (want)
        SC_CHECK(strstr(err, want) != NULL);
    if (rc)
        SC_CHECK(err[0] != '\0'); /* every rejection says why */
    bfree(&b);
}
#define EXPECT(body, rc, want) expect(__LINE__, body, rc, want)

/* ---- sample files ---- */

static char data_dir[1024];

static void find_data_dir(void)
{
    const char *env = getenv("SC_SDP_DATA_DIR");
    char from_src[1024];
    snprintf(from_src, sizeof(from_src), "%s", __FILE__);
    char *slash = strrchr(from_src, '/');
    if (slash)
        snprintf(slash, sizeof(from_src) - (size_t)(slash - from_src), "/../../data/sdp");
    const char *cands[] = {env, slash ? from_src : NULL, "tests/data/sdp", "../tests/data/sdp",
                           "../../tests/data/sdp"};
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        struct stat st;
        char probe[1100];
        if (!cands[i])
            continue;
        snprintf(probe, sizeof(probe), "%s/chrome-publish.sdp", cands[i]);
        if (stat(probe, &st) == 0) {
            snprintf(data_dir, sizeof(data_dir), "%s", cands[i]);
            return;
        }
    }
}

static char *load(const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", data_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    char *p = malloc(1 << 16);
    *len = fread(p, 1, 1 << 16, f);
    fclose(f);
    return p;
}

static int parse_file(const char *name)
{
    size_t len = 0;
    char *p = load(name, &len);
    SC_CHECK(p != NULL);
    if (!p)
        return -999;
    int rc = sc_sdp_parse(p, len, sdp, err, sizeof(err));
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err);
    free(p);
    return rc;
}

static void test_chrome_publish(void)
{
    SC_CHECK_INT(parse_file("chrome-publish.sdp"), 0);
    SC_CHECK(sdp->session_id == 3389712418644444243ull);
    SC_CHECK(!sdp->ice_lite);
    SC_CHECK_INT(sdp->n_bundle, 2);
    SC_CHECK_STR(sdp->bundle[0], "0");
    SC_CHECK_STR(sdp->bundle[1], "1");
    SC_CHECK_INT(sdp->n_media, 2);

    const sc_sdp_media *a = &sdp->media[0];
    SC_CHECK_INT(a->kind, SC_SDP_AUDIO);
    SC_CHECK_STR(a->kind_name, "audio");
    SC_CHECK_INT(a->port, 9);
    SC_CHECK_STR(a->proto, "UDP/TLS/RTP/SAVPF");
    SC_CHECK_STR(a->mid, "0");
    SC_CHECK_INT(a->dir, SC_SDP_SENDONLY);
    SC_CHECK(a->rtcp_mux);
    SC_CHECK(a->rtcp_rsize);
    SC_CHECK_STR(a->ice_ufrag, "uNaU");
    SC_CHECK_STR(a->ice_pwd, "pPuwIqs2zsB/9xS0zDiA9sRt");
    SC_CHECK_STR(a->fingerprint_alg, "sha-256");
    SC_CHECK_STR(a->fingerprint, "46:8A:AF:4C:7D:08:54:00:86:D7:F1:49:2F:F1:87:EA:FA:44:E0:C1:65:"
                                 "FC:71:6E:74:70:77:B7:9B:AD:6E:20");
    SC_CHECK_INT(a->setup, SC_SDP_SETUP_ACTPASS);
    SC_CHECK(a->ice_options_trickle);
    SC_CHECK_STR(a->msid_stream, "b291bfbf-e662-4a56-918e-c4951fe81a1e");
    SC_CHECK_STR(a->msid_track, "63a3a88e-0807-48c5-aa3a-6cfcf0cde106");
    static const uint8_t apts[] = {111, 63, 9, 0, 8, 13, 110, 126};
    SC_CHECK_INT(a->n_codecs, 8);
    for (unsigned i = 0; i < 8; i++)
        SC_CHECK_INT(a->codecs[i].pt, apts[i]);
    const sc_sdp_codec *opus = sc_sdp_find_codec(a, "OPUS", 48000);
    SC_CHECK(opus == &a->codecs[0]);
    if (opus) {
        SC_CHECK_STR(opus->name, "opus");
        SC_CHECK_INT(opus->channels, 2);
        SC_CHECK_STR(opus->fmtp, "minptime=10;useinbandfec=1");
        SC_CHECK(opus->fb_twcc);
        SC_CHECK(!opus->fb_nack && !opus->fb_pli && !opus->fb_fir && !opus->fb_remb);
        SC_CHECK_INT(opus->apt, -1);
    }
    SC_CHECK(sc_sdp_find_codec(a, "opus", 8000) == NULL);
    const sc_sdp_codec *g722 = sc_sdp_find_codec(a, "g722", 8000);
    SC_CHECK(g722 && g722->pt == 9 && g722->channels == 0);
    SC_CHECK_STR(a->codecs[1].fmtp, "111/111");
    SC_CHECK_INT(a->n_ssrcs, 1);
    SC_CHECK(a->ssrcs[0].ssrc == 2408141129u);
    SC_CHECK_STR(a->ssrcs[0].cname, "rGyWnEHjFTMUJZtS");
    SC_CHECK_INT(a->n_extmaps, 4);
    SC_CHECK_INT(sc_sdp_find_extmap(a, "urn:ietf:params:rtp-hdrext:sdes:mid"), 4);
    SC_CHECK_INT(sc_sdp_find_extmap(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 1);
    SC_CHECK_INT(sc_sdp_find_extmap(a, "urn:ietf:params:rtp-hdrext:toffset"), 0);

    const sc_sdp_media *v = &sdp->media[1];
    SC_CHECK_INT(v->kind, SC_SDP_VIDEO);
    SC_CHECK_STR(v->mid, "1");
    SC_CHECK_INT(v->dir, SC_SDP_SENDONLY);
    SC_CHECK_INT(v->n_codecs, 23);
    const sc_sdp_codec *vp8 = sc_sdp_find_codec(v, "vp8", 90000);
    SC_CHECK(vp8 == &v->codecs[0]);
    if (vp8) {
        SC_CHECK_INT(vp8->pt, 96);
        SC_CHECK(vp8->fb_nack && vp8->fb_pli && vp8->fb_fir && vp8->fb_remb && vp8->fb_twcc);
        SC_CHECK_INT(vp8->apt, -1);
        const sc_sdp_codec *rtx = sc_sdp_find_rtx(v, vp8->pt);
        SC_CHECK(rtx && rtx->pt == 97 && rtx->apt == 96 && rtx->clock == 90000);
        if (rtx)
            SC_CHECK(!rtx->fb_nack);
    }
    const sc_sdp_codec *h264 = sc_sdp_find_codec(v, "H264", 90000);
    SC_CHECK(h264 && h264->pt == 102);
    if (h264)
        SC_CHECK_STR(h264->fmtp,
                     "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f");
    const sc_sdp_codec *av1 = sc_sdp_find_codec(v, "AV1", 90000);
    SC_CHECK(av1 && av1->pt == 45 && sc_sdp_find_rtx(v, 45) && sc_sdp_find_rtx(v, 45)->pt == 46);
    const sc_sdp_codec *vp9 = sc_sdp_find_codec(v, "VP9", 90000);
    SC_CHECK(vp9 && vp9->pt == 98);
    if (vp9)
        SC_CHECK_STR(vp9->fmtp, "profile-id=0");
    const sc_sdp_codec *red = sc_sdp_find_codec(v, "red", 90000);
    SC_CHECK(red && red->pt == 118 && sc_sdp_find_rtx(v, 118) && sc_sdp_find_rtx(v, 118)->pt == 119);
    SC_CHECK(sc_sdp_find_codec(v, "ulpfec", 90000) && v->codecs[22].pt == 120);
    SC_CHECK(sc_sdp_find_rtx(v, 120) == NULL);
    SC_CHECK_INT(v->n_ssrcs, 2);
    SC_CHECK_INT(v->n_fids, 1);
    SC_CHECK(v->fids[0].primary == 1773372083u && v->fids[0].rtx == 1289403178u);
    SC_CHECK(v->ssrcs[0].ssrc == 1773372083u && v->ssrcs[1].ssrc == 1289403178u);
    SC_CHECK_STR(v->ssrcs[1].cname, "rGyWnEHjFTMUJZtS");
    SC_CHECK_INT(v->n_extmaps, 11);
    SC_CHECK_INT(sc_sdp_find_extmap(v, "urn:ietf:params:rtp-hdrext:toffset"), 14);
    SC_CHECK_INT(sc_sdp_find_extmap(
                     v, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"),
                 3);
    SC_CHECK_STR(v->msid_track, "2c33cabd-3c9a-4ae8-be25-a7448670825d");
    SC_CHECK_INT(v->n_rids, 0);
}

/* The same offer with LF line ends and without the final newline parses to
 * exactly the same structure. */
static void test_line_endings(void)
{
    size_t len = 0;
    char *p = load("chrome-publish.sdp", &len);
    SC_CHECK(p != NULL);
    if (!p)
        return;
    sc_sdp *ref = malloc(sizeof(*ref));
    SC_CHECK_INT(sc_sdp_parse(p, len, ref, err, sizeof(err)), 0);

    char *lf = malloc(len);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (p[i] != '\r')
            lf[n++] = p[i];
    SC_CHECK(n < len);
    SC_CHECK_INT(sc_sdp_parse(lf, n, sdp, err, sizeof(err)), 0);
    SC_CHECK(memcmp(ref, sdp, sizeof(*sdp)) == 0);
    /* Without the trailing newline (the buffer is not NUL-terminated). */
    SC_CHECK_INT(sc_sdp_parse(lf, n - 1, sdp, err, sizeof(err)), 0);
    SC_CHECK(memcmp(ref, sdp, sizeof(*sdp)) == 0);
    SC_CHECK_INT(sc_sdp_parse(p, len - 2, sdp, err, sizeof(err)), 0);
    SC_CHECK(memcmp(ref, sdp, sizeof(*sdp)) == 0);
    free(lf);
    free(ref);
    free(p);
}

static void test_chrome_whep(void)
{
    SC_CHECK_INT(parse_file("chrome-whep.sdp"), 0);
    SC_CHECK_INT(sdp->n_media, 2);
    for (unsigned i = 0; i < 2; i++) {
        const sc_sdp_media *m = &sdp->media[i];
        SC_CHECK_INT(m->dir, SC_SDP_RECVONLY);
        SC_CHECK_INT(m->n_ssrcs, 0);
        SC_CHECK_INT(m->n_fids, 0);
        SC_CHECK_STR(m->msid_stream, "");
        SC_CHECK(m->ice_ufrag[0] && m->ice_pwd[0] && m->fingerprint[0]);
    }
    const sc_sdp_media *v = &sdp->media[1];
    SC_CHECK_INT(v->n_codecs, 34);
    SC_CHECK_INT(v->codecs[33].pt, 49);
    SC_CHECK(sc_sdp_find_codec(v, "VP8", 90000) && sc_sdp_find_codec(v, "VP8", 90000)->pt == 96);
    SC_CHECK(sc_sdp_find_rtx(v, 96) && sc_sdp_find_rtx(v, 96)->pt == 97);
}

static void test_chrome_simulcast(void)
{
    SC_CHECK_INT(parse_file("chrome-simulcast.sdp"), 0);
    const sc_sdp_media *v = &sdp->media[1];
    SC_CHECK_INT(v->n_rids, 3);
    SC_CHECK_STR(v->rids[0], "q");
    SC_CHECK_STR(v->rids[1], "h");
    SC_CHECK_STR(v->rids[2], "f");
    SC_CHECK_INT(v->n_ssrcs, 0); /* rid-based simulcast: no a=ssrc for video */
    SC_CHECK_INT(v->n_extmaps, 13);
    SC_CHECK_INT(sc_sdp_find_extmap(v, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"), 10);
    SC_CHECK_INT(sc_sdp_find_extmap(v, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
                 11);
    SC_CHECK_INT(sdp->media[0].n_rids, 0);
}

static void test_firefox(void)
{
    SC_CHECK_INT(parse_file("firefox.sdp"), 0);
    SC_CHECK(sdp->session_id == 2735426340372836291ull);
    SC_CHECK_INT(sdp->n_media, 2);
    const char *fp = "A0:5B:3C:9E:71:24:D8:0F:66:1A:BE:42:93:C7:05:E8:2D:F4:19:8B:70:CC:31:5A:"
                     "E6:0D:97:B2:48:1F:6C:D3";
    for (unsigned i = 0; i < 2; i++) {
        const sc_sdp_media *m = &sdp->media[i];
        SC_CHECK_STR(m->fingerprint, fp); /* session level, copied down */
        SC_CHECK_STR(m->fingerprint_alg, "sha-256");
        SC_CHECK_STR(m->ice_ufrag, "4d7f2c1e");
        SC_CHECK_STR(m->ice_pwd, "8a1d3a4ec0bd01c3e9ff0ad0b5b6c8a2");
        SC_CHECK(m->ice_options_trickle);
        SC_CHECK_INT(m->setup, SC_SDP_SETUP_ACTPASS);
        SC_CHECK_INT(m->dir, SC_SDP_SENDRECV);
    }
    const sc_sdp_media *a = &sdp->media[0];
    SC_CHECK_INT(a->n_codecs, 5);
    const sc_sdp_codec *g722 = sc_sdp_find_codec(a, "G722", 8000);
    SC_CHECK(g722 && g722->channels == 1);
    const sc_sdp_codec *te = sc_sdp_find_codec(a, "telephone-event", 8000);
    SC_CHECK(te && te->pt == 101);
    if (te)
        SC_CHECK_STR(te->fmtp, "0-15");
    SC_CHECK_INT(sc_sdp_find_extmap(a, "urn:ietf:params:rtp-hdrext:csrc-audio-level"), 2);
    SC_CHECK_STR(a->msid_stream, "{1b4c7c86-2c21-4f0e-9f3a-6a1d3c5b7e90}");

    /* fmtp and rtcp-fb come before rtpmap in Firefox's offers. */
    const sc_sdp_media *v = &sdp->media[1];
    SC_CHECK_INT(v->n_codecs, 11);
    SC_CHECK_INT(v->codecs[0].pt, 120);
    SC_CHECK_STR(v->codecs[0].name, "VP8");
    SC_CHECK_STR(v->codecs[0].fmtp, "max-fs=12288;max-fr=60");
    SC_CHECK(v->codecs[0].fb_nack && v->codecs[0].fb_pli && v->codecs[0].fb_twcc);
    const sc_sdp_codec *rtx = sc_sdp_find_rtx(v, 120);
    SC_CHECK(rtx && rtx->pt == 124);
    rtx = sc_sdp_find_rtx(v, 122);
    SC_CHECK(rtx && rtx->pt == 119);
    SC_CHECK(sc_sdp_find_codec(v, "h264", 90000) && sc_sdp_find_codec(v, "h264", 90000)->pt == 126);
    SC_CHECK(v->rtcp_rsize);
    SC_CHECK_INT(v->n_fids, 1);
    SC_CHECK(v->fids[0].primary == 1738292025u && v->fids[0].rtx == 3364473210u);
    SC_CHECK_INT(sc_sdp_find_extmap(v, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"),
                 6);
}

static void test_obs(void)
{
    SC_CHECK_INT(parse_file("obs-whip.sdp"), 0);
    SC_CHECK(sdp->session_id == 2683918227ull);
    SC_CHECK_INT(sdp->n_bundle, 2); /* a=group:LS is not a bundle */
    SC_CHECK_INT(sdp->n_media, 2);
    for (unsigned i = 0; i < 2; i++) {
        const sc_sdp_media *m = &sdp->media[i];
        SC_CHECK_STR(m->ice_ufrag, "Vd3e");
        SC_CHECK_STR(m->ice_pwd, "+4bQ2fk7QYTbyyj/C1kTmW");
        SC_CHECK_STR(m->fingerprint_alg, "sha-256");
        SC_CHECK(strncmp(m->fingerprint, "5F:0E:4A:A1", 11) == 0);
        SC_CHECK_INT(m->setup, SC_SDP_SETUP_ACTPASS);
        SC_CHECK(m->ice_options_trickle); /* "ice2,trickle" */
        SC_CHECK_INT(m->dir, SC_SDP_SENDONLY);
        SC_CHECK_INT(m->n_codecs, 1);
        SC_CHECK_INT(m->n_ssrcs, 1);
    }
    const sc_sdp_codec *h = sc_sdp_find_codec(&sdp->media[1], "H264", 90000);
    SC_CHECK(h && h->pt == 96);
    if (h) {
        SC_CHECK(h->fb_nack && h->fb_pli && h->fb_remb);
        SC_CHECK(!h->fb_fir && !h->fb_twcc);
    }
    SC_CHECK(sc_sdp_find_rtx(&sdp->media[1], 96) == NULL);
    SC_CHECK_STR(sdp->media[1].msid_track, "obs-studio-video");
    SC_CHECK(sdp->media[1].ssrcs[0].ssrc == 1577344116u);
}

static void test_aiortc(void)
{
    SC_CHECK_INT(parse_file("aiortc.sdp"), 0);
    SC_CHECK(sdp->session_id == 4004274623ull);
    const sc_sdp_media *a = &sdp->media[0], *v = &sdp->media[1];
    SC_CHECK_INT(a->port, 57251);
    SC_CHECK_INT(v->port, 35113);
    SC_CHECK_STR(a->ice_ufrag, "Usc1");
    SC_CHECK_STR(v->ice_ufrag, "0jyc");
    SC_CHECK_STR(v->ice_pwd, "JPHlAj2AJkzMPuZ4lOUs6n");
    SC_CHECK_STR(a->fingerprint, v->fingerprint);
    SC_CHECK(!a->ice_options_trickle);
    SC_CHECK_INT(a->n_codecs, 3);
    SC_CHECK(sc_sdp_find_codec(a, "PCMU", 8000) && sc_sdp_find_codec(a, "PCMU", 8000)->pt == 0);
    SC_CHECK_INT(v->n_codecs, 6);
    SC_CHECK(sc_sdp_find_rtx(v, 97) && sc_sdp_find_rtx(v, 97)->pt == 98);
    SC_CHECK(sc_sdp_find_rtx(v, 101) && sc_sdp_find_rtx(v, 101)->pt == 102);
    SC_CHECK(v->codecs[0].fb_nack && v->codecs[0].fb_pli && v->codecs[0].fb_remb);
    SC_CHECK(!v->codecs[0].fb_fir);
    SC_CHECK_INT(v->n_fids, 1);
    SC_CHECK(v->fids[0].primary == 1908779687u && v->fids[0].rtx == 3872529093u);
    SC_CHECK_INT(v->n_ssrcs, 2);
    SC_CHECK_STR(v->msid_track, "3c8766a2-70f6-4968-8072-b33a18c91be3");
}

static void test_gstreamer(void)
{
    SC_CHECK_INT(parse_file("gstreamer-webrtcbin.sdp"), 0);
    SC_CHECK(sdp->session_id == 3135966861993440579ull);
    SC_CHECK_INT(sdp->n_bundle, 2);
    SC_CHECK_STR(sdp->bundle[0], "video0");
    SC_CHECK_STR(sdp->bundle[1], "audio1");
    const sc_sdp_media *v = &sdp->media[0], *a = &sdp->media[1];
    SC_CHECK_INT(v->kind, SC_SDP_VIDEO);
    SC_CHECK_STR(v->mid, "video0");
    SC_CHECK_INT(a->port, 0); /* a=bundle-only */
    SC_CHECK_INT(v->dir, SC_SDP_SENDRECV);
    SC_CHECK_STR(v->ice_ufrag, "dO7A3AuudCRG4l56T12VOGZQ5fnn991W");
    SC_CHECK(v->ice_options_trickle && a->ice_options_trickle); /* session level */
    const sc_sdp_codec *opus = sc_sdp_find_codec(a, "opus", 48000);
    SC_CHECK(opus && opus->pt == 111 && opus->channels == 2);
    if (opus)
        SC_CHECK_STR(opus->name, "OPUS");
    const sc_sdp_codec *vp8 = sc_sdp_find_codec(v, "VP8", 90000);
    SC_CHECK(vp8 && vp8->fb_pli && vp8->fb_fir && vp8->fb_twcc && !vp8->fb_nack);
    /* Only a=ssrc msid, no a=msid: the fallback fills the msid. */
    SC_CHECK_STR(a->msid_stream, "user1126045309@host-95657dd3");
    SC_CHECK_STR(a->msid_track, "webrtctransceiver1");
    SC_CHECK_STR(a->ssrcs[0].cname, "user1126045309@host-95657dd3");
}

/* ---- synthetic offers ---- */

static void test_features(void)
{
    /* Static payload types without rtpmap, rtpmap after the wildcard, an
     * unknown m= kind, a data channel, session-level direction. */
    SC_CHECK_INT(parse_str("v=0\no=- 18446744073709551615 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n"
                           "a=ice-lite\na=recvonly\na=ice-ufrag:sess\na=ice-pwd:sessionpasswordsessionpw\n"
                           "m=audio 5004 RTP/AVP 0 8 9 96 0\n"
                           "a=rtcp-fb:* nack\n"
                           "a=rtpmap:96 opus/48000/2\n"
                           "a=rtpmap:100 VP8/90000\n"
                           "a=fmtp:96 apt=0\n"
                           "m=video 9 RTP/AVPF 97\na=sendrecv\na=ice-ufrag:med1\n"
                           "a=rtpmap:97 rtx/90000\na=fmtp:97 foo=1; apt = 96 ;bar\n"
                           "m=text 9 RTP/AVP 98\n"
                           "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
                           "a=fmtp:webrtc-datachannel max-message-size=65536\n"
                           "a=sctp-port:5000\n"),
                 0);
    SC_CHECK(sdp->session_id == 18446744073709551615ull);
    SC_CHECK(sdp->ice_lite);
    SC_CHECK_INT(sdp->n_media, 4);
    const sc_sdp_media *a = &sdp->media[0];
    SC_CHECK_INT(a->n_codecs, 4); /* duplicate 0 dropped */
    SC_CHECK_STR(a->codecs[0].name, "PCMU");
    SC_CHECK_INT(a->codecs[0].clock, 8000);
    SC_CHECK_STR(a->codecs[1].name, "PCMA");
    SC_CHECK_STR(a->codecs[2].name, "G722");
    SC_CHECK_STR(a->codecs[3].name, "opus");
    SC_CHECK_INT(a->codecs[3].apt, -1); /* apt only means something for rtx */
    for (unsigned i = 0; i < 4; i++)
        SC_CHECK(a->codecs[i].fb_nack && !a->codecs[i].fb_pli);
    SC_CHECK(sc_sdp_find_codec(a, "VP8", 90000) == NULL); /* not on the m= line */
    SC_CHECK(sc_sdp_find_codec(a, "pcma", 0) == &a->codecs[1]);
    SC_CHECK(sc_sdp_find_codec(a, "", 0) == NULL);
    SC_CHECK_INT(a->dir, SC_SDP_RECVONLY);
    SC_CHECK_STR(a->ice_ufrag, "sess");
    SC_CHECK_STR(a->mid, "");
    SC_CHECK_INT(a->setup, SC_SDP_SETUP_NONE);
    const sc_sdp_media *v = &sdp->media[1];
    SC_CHECK_INT(v->dir, SC_SDP_SENDRECV);
    SC_CHECK_STR(v->ice_ufrag, "med1");
    SC_CHECK_STR(v->ice_pwd, "sessionpasswordsessionpw");
    SC_CHECK_INT(v->codecs[0].apt, 96);
    SC_CHECK(sc_sdp_find_rtx(v, 96) == &v->codecs[0]);
    SC_CHECK_STR(v->codecs[0].fmtp, "foo=1; apt = 96 ;bar");
    SC_CHECK_INT(sdp->media[2].kind, SC_SDP_OTHER);
    SC_CHECK_STR(sdp->media[2].kind_name, "text");
    SC_CHECK_INT(sdp->media[2].codecs[0].name[0], 0); /* dynamic pt without rtpmap */
    SC_CHECK_INT(sdp->media[3].kind, SC_SDP_APPLICATION);
    SC_CHECK_INT(sdp->media[3].n_codecs, 0);
    SC_CHECK_STR(sdp->media[3].proto, "UDP/DTLS/SCTP");

    /* Unknown codecs only: parses; choosing a codec is the caller's job. */
    EXPECT("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=rtpmap:96 FOO/90000\r\n"
           "a=rtpmap:97 BAR/90000/1\r\n", 0, NULL);
    SC_CHECK_INT(sdp->media[0].n_codecs, 2);
    SC_CHECK(sc_sdp_find_codec(&sdp->media[0], "VP8", 90000) == NULL);
    SC_CHECK(sc_sdp_find_codec(&sdp->media[0], "foo", 90000) == &sdp->media[0].codecs[0]);

    /* Several fingerprints: the first that fits wins (sha-512 fits); a hash
     * too long for the field is an error, never truncated. */
    buf b = {0}, h512 = {0}, hlong = {0};
    for (int i = 0; i < 64; i++)
        bprintf(&h512, "%s%02X", i ? ":" : "", i);
    for (int i = 0; i < 66; i++)
        bprintf(&hlong, "%s%02X", i ? ":" : "", i);
    bprintf(&b, "m=audio 9 RTP/AVP 0\r\na=fingerprint:SHA-512 %s\r\n"
                "a=fingerprint:SHA-256 ab:cd:ef:01\r\na=fingerprint:sha-1 00:11\r\n", h512.p);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_STR(sdp->media[0].fingerprint_alg, "sha-512");
    SC_CHECK_STR(sdp->media[0].fingerprint, h512.p);
    bfree(&b);
    bprintf(&b, "m=audio 9 RTP/AVP 0\r\na=fingerprint:sha-512 %s\r\n"
                "a=fingerprint:SHA-256 ab:cd:ef:01\r\n", hlong.p);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_STR(sdp->media[0].fingerprint_alg, "sha-256");
    SC_CHECK_STR(sdp->media[0].fingerprint, "AB:CD:EF:01");
    bfree(&b);
    bprintf(&b, "a=fingerprint:sha-512 %s\r\nm=audio 9 RTP/AVP 0\r\n", hlong.p);
    EXPECT(b.p, -EINVAL, "line 5: a=fingerprint hash longer than 191");
    bfree(&b);
    bprintf(&b, "a=fingerprint:sha-512 %s\r\na=fingerprint:sha-256 AB:CD\r\nm=audio 9 RTP/AVP 0\r\n",
            hlong.p);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_STR(sdp->media[0].fingerprint, "AB:CD");
    bfree(&hlong);
    bfree(&b);
    bfree(&h512);

    /* Media-level values win over session-level ones. */
    EXPECT("a=setup:passive\r\na=ice-options:trickle\r\nm=audio 9 RTP/AVP 0\r\na=setup:active\r\n"
           "a=ice-options:renomination\r\nm=audio 9 RTP/AVP 0\r\n", 0, NULL);
    SC_CHECK_INT(sdp->media[0].setup, SC_SDP_SETUP_ACTIVE);
    SC_CHECK(!sdp->media[0].ice_options_trickle);
    SC_CHECK_INT(sdp->media[1].setup, SC_SDP_SETUP_PASSIVE);
    SC_CHECK(sdp->media[1].ice_options_trickle);

    /* Trailing blanks and a trailing empty line are tolerated. */
    EXPECT("m=audio 9 RTP/AVP 0 \r\na=mid:a \r\n\r\n", 0, NULL);
    SC_CHECK_STR(sdp->media[0].mid, "a");
    SC_CHECK_INT(sdp->media[0].n_codecs, 1);
}

static void test_errors(void)
{
    /* Empty values where one is required (RELIABILITY 15). */
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ice-ufrag:\r\n", -EINVAL, "line 6: empty a=ice-ufrag");
    EXPECT("a=ice-ufrag:   \r\n", -EINVAL, "line 5: empty a=ice-ufrag");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:\r\n", -EINVAL, "line 6: empty a=rtpmap");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=fmtp:\r\n", -EINVAL, "line 6: empty a=fmtp");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=mid\r\n", -EINVAL, "empty a=mid");
    EXPECT("a=ice-pwd:\r\n", -EINVAL, "empty a=ice-pwd");
    EXPECT("a=fingerprint:\r\n", -EINVAL, "empty a=fingerprint");
    EXPECT("a=setup:\r\n", -EINVAL, "empty a=setup");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ssrc:\r\n", -EINVAL, "empty a=ssrc");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=extmap:\r\n", -EINVAL, "empty a=extmap");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtcp-fb:\r\n", -EINVAL, "empty a=rtcp-fb");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=msid:\r\n", -EINVAL, "empty a=msid");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rid:\r\n", -EINVAL, "empty a=rid");
    EXPECT("a=group:\r\n", -EINVAL, "empty a=group");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ssrc:1 cname:\r\n", -EINVAL, "empty cname");

    /* Malformed values. */
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:300 opus/48000\r\n", -EINVAL,
           "line 6: a=rtpmap payload type 300 out of range");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:0\r\n", -EINVAL, "bad a=rtpmap");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n", -EINVAL, "clock rate");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:0 /8000\r\n", -EINVAL, "empty encoding name");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/x\r\n", -EINVAL, "clock rate");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000/0\r\n", -EINVAL, "channel count");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rtpmap:-1 PCMU/8000\r\n", -EINVAL, "bad a=rtpmap payload");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=fmtp:0\r\n", -EINVAL, "a=fmtp without parameters");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=fmtp:128 a=b\r\n", -EINVAL, "out of range");
    EXPECT("m=video 9 RTP/AVP 97\r\na=fmtp:97 apt=300\r\n", -EINVAL, "bad apt");
    EXPECT("m=video 9 RTP/AVP 97\r\na=fmtp:97 apt=\r\n", -EINVAL, "bad apt");
    EXPECT("m=video 9 RTP/AVP 97\r\na=rtcp-fb:97\r\n", -EINVAL, "without a feedback type");
    EXPECT("m=video 9 RTP/AVP 97\r\na=rtcp-fb:x nack\r\n", -EINVAL, "bad a=rtcp-fb payload");
    EXPECT("m=video 99999 RTP/AVP 97\r\n", -EINVAL, "line 5: m= port 99999 out of range");
    EXPECT("m=video 65536 RTP/AVP 97\r\n", -EINVAL, "out of range");
    EXPECT("m=video abc RTP/AVP 97\r\n", -EINVAL, "bad m= port");
    EXPECT("m=video -9 RTP/AVP 97\r\n", -EINVAL, "bad m= port");
    EXPECT("m=video 9/x RTP/AVP 97\r\n", -EINVAL, "bad m= port count");
    EXPECT("m=video 9\r\n", -EINVAL, "m= line without a proto");
    EXPECT("m=video\r\n", -EINVAL, "without a port");
    EXPECT("m=\r\n", -EINVAL, "without a media type");
    EXPECT("m=video 9 RTP/AVP\r\n", -EINVAL, "without formats");
    EXPECT("m=video 9 RTP/AVP 128\r\n", -EINVAL, "m= payload type 128 out of range");
    EXPECT("m=video 9 RTP/AVP VP8\r\n", -EINVAL, "bad m= payload type");
    EXPECT("a=fingerprint:sha-256\r\n", -EINVAL, "a=fingerprint without a hash");
    EXPECT("a=fingerprint:sha-256 AB:CD:E\r\n", -EINVAL, "bad a=fingerprint hash");
    EXPECT("a=fingerprint:sha-256 AB;CD\r\n", -EINVAL, "bad a=fingerprint hash");
    EXPECT("a=fingerprint:sha-256 XY:CD\r\n", -EINVAL, "bad a=fingerprint hash");
    EXPECT("a=fingerprint:sha-256-is-not-a-hash AB\r\n", -EINVAL, "hash function longer");
    EXPECT("a=setup:holdconn\r\n", -EINVAL, "bad a=setup");
    EXPECT("a=ice-ufrag:ab:cd\r\n", -EINVAL, "invalid character");
    EXPECT("a=ice-ufrag:ab cd\r\n", -EINVAL, "more than one token");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x\r\n", -EINVAL, "bad a=extmap id");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=extmap:256 urn:x\r\n", -EINVAL, "bad a=extmap id");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=extmap:1/sideways urn:x\r\n", -EINVAL, "direction");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=extmap:1\r\n", -EINVAL, "without a URI");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ssrc:4294967296 cname:x\r\n", -EINVAL, "bad a=ssrc ssrc");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ssrc:12\r\n", -EINVAL, "without an attribute");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ssrc-group:FID 1\r\n", -EINVAL, "needs two ssrcs");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=ssrc-group:FID 1 x\r\n", -EINVAL, "bad a=ssrc-group");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rid:q\r\n", -EINVAL, "without a direction");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rid:q up\r\n", -EINVAL, "bad a=rid direction");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=rid:q.1 send\r\n", -EINVAL, "bad a=rid id");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=mid:a\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\n", -EINVAL,
           "line 8: duplicate a=mid");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=mid:a\r\na=mid:b\r\n", -EINVAL, "second a=mid");
    EXPECT("x\r\n", -EINVAL, "line 5: not a <type>=<value> line");
    EXPECT("A=b\r\n", -EINVAL, "not a <type>=<value> line");

    /* The first line and the origin. */
    SC_CHECK_INT(parse_str("v=1\r\n"), -EINVAL);
    SC_CHECK_STR(err, "line 1: first line is not v=0");
    SC_CHECK_INT(parse_str("\r\nv=0\r\n"), -EINVAL);
    SC_CHECK_INT(parse_str("o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n"), -EINVAL);
    SC_CHECK_INT(parse_str("v=0\r\no=- abc 1 IN IP4 0.0.0.0\r\n"), -EINVAL);
    SC_CHECK(strstr(err, "line 2: bad o= line") != NULL);
    SC_CHECK_INT(parse_str("v=0\r\no=-\r\n"), -EINVAL);
    SC_CHECK_INT(parse_str("v=0\r\no=- 99999999999999999999999 1 IN IP4 0.0.0.0\r\n"), 0);
    SC_CHECK(sdp->session_id == 0);
    SC_CHECK_INT(parse_str("v=0"), 0); /* no newline at all */
    SC_CHECK_INT(sdp->n_media, 0);
    SC_CHECK_INT(sc_sdp_parse("", 0, sdp, err, sizeof(err)), -EINVAL);
    SC_CHECK_STR(err, "empty SDP");
    SC_CHECK_INT(sc_sdp_parse(NULL, 10, sdp, err, sizeof(err)), -EINVAL);
    SC_CHECK_INT(sc_sdp_parse("v=0", 3, NULL, err, sizeof(err)), -EINVAL);
    /* A short or absent error buffer is fine. */
    char tiny[8];
    SC_CHECK_INT(sc_sdp_parse("v=1", 3, sdp, tiny, sizeof(tiny)), -EINVAL);
    SC_CHECK_STR(tiny, "line 1:");
    SC_CHECK_INT(sc_sdp_parse("v=1", 3, sdp, NULL, 0), -EINVAL);
    SC_CHECK_INT(sc_sdp_parse("v=1", 3, sdp, tiny, 0), -EINVAL);

    /* NULs and control characters. */
    static const char nul[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\na=ice-ufrag:ab\0cd\r\n";
    SC_CHECK_INT(sc_sdp_parse(nul, sizeof(nul) - 1, sdp, err, sizeof(err)), -EINVAL);
    SC_CHECK_STR(err, "line 3: NUL byte in SDP");
    static const char nul2[] = "v=0\0\r\n";
    SC_CHECK_INT(sc_sdp_parse(nul2, sizeof(nul2) - 1, sdp, err, sizeof(err)), -EINVAL);
    EXPECT("a=ice-ufrag:ab\x01\r\n", -EINVAL, "control character 0x01");
    EXPECT("a=mid:a\rb\r\n", -EINVAL, "control character 0x0d");
    EXPECT("s=\x7f\r\n", -EINVAL, "control character 0x7f");
    /* UTF-8 is fine in free text, not in what we keep. */
    EXPECT("s=Caf\xc3\xa9\r\na=x-note:\xc3\xa9\r\nm=audio 9 RTP/AVP 0\r\n", 0, NULL);
    EXPECT("m=audio 9 RTP/AVP 0\r\na=mid:\xc3\xa9\r\n", -EINVAL, "line 6: non-ASCII byte in a=mid");
    EXPECT("m=audio 9 RTP/AVP 0\r\na=msid:\xff x\r\n", -EINVAL, "non-ASCII byte in a=msid");
    EXPECT("m=audio\xa0 9 RTP/AVP 0\r\n", -EINVAL, "non-ASCII byte in m= line");
}

static void test_overlong(void)
{
    buf b = {0}, tok = {0};
    /* ufrag: 256 fits, 257 does not. */
    for (int i = 0; i < 256; i++)
        bprintf(&tok, "a");
    bprintf(&b, "m=audio 9 RTP/AVP 0\r\na=ice-ufrag:%s\r\n", tok.p);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(strlen(sdp->media[0].ice_ufrag), 256);
    bfree(&b);
    bprintf(&tok, "a");
    bprintf(&b, "m=audio 9 RTP/AVP 0\r\na=ice-ufrag:%s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "line 6: a=ice-ufrag longer than 256 bytes");
    bfree(&b);
    bprintf(&b, "a=ice-pwd:%s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "a=ice-pwd longer than 256");
    bfree(&b);
    bfree(&tok);

    /* mid: 63 fits, 64 does not; the same for BUNDLE mids. */
    for (int i = 0; i < 63; i++)
        bprintf(&tok, "m");
    bprintf(&b, "a=group:BUNDLE %s\r\nm=audio 9 RTP/AVP 0\r\na=mid:%s\r\n", tok.p, tok.p);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_STR(sdp->media[0].mid, tok.p);
    SC_CHECK_STR(sdp->bundle[0], tok.p);
    bfree(&b);
    bprintf(&tok, "m");
    bprintf(&b, "m=audio 9 RTP/AVP 0\r\na=mid:%s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "a=mid longer than 63");
    bfree(&b);
    bprintf(&b, "a=group:BUNDLE %s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "BUNDLE mid longer than 63");
    bfree(&b);
    bfree(&tok);

    /* fmtp: 511 fits, 512 does not; a long rtpmap name, msid, cname, uri. */
    for (int i = 0; i < 511; i++)
        bprintf(&tok, "f");
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=fmtp:96 %s\r\n", tok.p);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_STR(sdp->media[0].codecs[0].fmtp, tok.p);
    bfree(&b);
    bprintf(&tok, "f");
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=fmtp:96 %s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "a=fmtp parameters longer than 511");
    bfree(&b);
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=rtpmap:96 %.32s/90000\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "encoding name longer");
    bfree(&b);
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=msid:%.128s x\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "a=msid id longer");
    bfree(&b);
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=ssrc:1 cname:%.128s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "cname longer");
    bfree(&b);
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=extmap:1 %.256s\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "URI longer");
    bfree(&b);
    bprintf(&b, "m=%.32s 9 RTP/AVP 96\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "media type longer");
    bfree(&b);
    bprintf(&b, "m=audio 9 %.64s 96\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "proto longer");
    bfree(&b);
    bprintf(&b, "m=audio 9 RTP/AVP 96\r\na=rid:%.32s send\r\n", tok.p);
    EXPECT(b.p, -EINVAL, "a=rid id longer");
    bfree(&b);
    bfree(&tok);

    /* Line length: 4096 bytes is allowed, 4097 is not. */
    for (int i = 0; i < 4096 - 2; i++)
        bprintf(&tok, "x");
    bprintf(&b, "s=%s\r\n", tok.p);
    EXPECT(b.p, 0, NULL);
    bfree(&b);
    bprintf(&b, "s=%sx\r\n", tok.p);
    EXPECT(b.p, -E2BIG, "line 5: line longer than 4096 bytes");
    bfree(&b);
    bprintf(&b, "s=%sx", tok.p); /* the last line, without a newline */
    EXPECT(b.p, -E2BIG, "line longer than 4096");
    bfree(&b);
    bfree(&tok);

    /* Line count: HEAD has 4 lines. */
    for (int i = 0; i < SC_SDP_MAX_LINES - 4; i++)
        bprintf(&b, "a=x-%d\r\n", i);
    EXPECT(b.p, 0, NULL);
    bprintf(&b, "a=x-last\r\n");
    EXPECT(b.p, -E2BIG, "more than 10000 lines");
    bfree(&b);
    /* Lines of bare "\n" count too: no way around the limit. */
    for (int i = 0; i < SC_SDP_MAX_LINES; i++)
        bprintf(&b, "\n");
    EXPECT(b.p, -E2BIG, "more than 10000 lines");
    bfree(&b);
}

static void test_limits(void)
{
    buf b = {0};
    /* m= lines: 32 fit, the 33rd is -E2BIG. */
    for (int i = 0; i < SC_SDP_MAX_MEDIA; i++)
        bprintf(&b, "m=audio 9 RTP/AVP 0\r\na=mid:%d\r\n", i);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->n_media, SC_SDP_MAX_MEDIA);
    SC_CHECK_STR(sdp->media[31].mid, "31");
    bprintf(&b, "m=audio 9 RTP/AVP 0\r\n");
    EXPECT(b.p, -E2BIG, "more than 32 m= lines");
    bfree(&b);

    /* Payload types past SC_SDP_MAX_CODECS: the least preferred are dropped,
     * and their attributes are ignored. */
    bprintf(&b, "m=video 9 RTP/AVP");
    for (int i = 0; i < 100; i++)
        bprintf(&b, " %d", i);
    bprintf(&b, "\r\na=rtpmap:99 VP8/90000\r\na=rtpmap:47 H264/90000\r\na=rtcp-fb:* nack\r\n");
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->media[0].n_codecs, SC_SDP_MAX_CODECS);
    SC_CHECK_INT(sdp->media[0].codecs[47].pt, 47);
    SC_CHECK_STR(sdp->media[0].codecs[47].name, "H264");
    SC_CHECK(sdp->media[0].codecs[47].fb_nack);
    SC_CHECK(sc_sdp_find_codec(&sdp->media[0], "VP8", 90000) == NULL);
    bfree(&b);

    /* ssrcs: 16 distinct ids fit (repeats are the same id), 17 do not. */
    bprintf(&b, "m=video 9 RTP/AVP 96\r\n");
    for (int i = 0; i < SC_SDP_MAX_SSRCS; i++)
        bprintf(&b, "a=ssrc:%d cname:c%d\r\na=ssrc:%d msid:s t\r\n", 1000 + i, i, 1000 + i);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->media[0].n_ssrcs, SC_SDP_MAX_SSRCS);
    SC_CHECK_STR(sdp->media[0].ssrcs[15].cname, "c15");
    SC_CHECK_STR(sdp->media[0].msid_stream, "s");
    bprintf(&b, "a=ssrc:4294967295 cname:x\r\n");
    EXPECT(b.p, -E2BIG, "more than 16 a=ssrc");
    bfree(&b);

    /* FID groups: 8 fit, 9 do not. */
    bprintf(&b, "m=video 9 RTP/AVP 96\r\n");
    for (int i = 0; i < SC_SDP_MAX_FID; i++)
        bprintf(&b, "a=ssrc-group:FID %d %d\r\n", 2 * i + 1, 2 * i + 2);
    bprintf(&b, "a=ssrc-group:SIM 1 3 5\r\n");
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->media[0].n_fids, SC_SDP_MAX_FID);
    SC_CHECK(sdp->media[0].fids[7].primary == 15 && sdp->media[0].fids[7].rtx == 16);
    bprintf(&b, "a=ssrc-group:FID 100 101\r\n");
    EXPECT(b.p, -E2BIG, "more than 8 a=ssrc-group:FID");
    bfree(&b);

    /* rids: 4 fit (a repeat is ignored), 5 do not. */
    bprintf(&b, "m=video 9 RTP/AVP 96\r\na=rid:a send\r\na=rid:b send\r\na=rid:a send\r\n"
                "a=rid:c_1 recv pt=96\r\na=rid:d-2 send\r\n");
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->media[0].n_rids, 4);
    SC_CHECK_STR(sdp->media[0].rids[3], "d-2");
    bprintf(&b, "a=rid:e send\r\n");
    EXPECT(b.p, -E2BIG, "more than 4 a=rid");
    bfree(&b);

    /* extmaps: the excess is ignored; a repeated id replaces its URI. */
    bprintf(&b, "m=video 9 RTP/AVP 96\r\na=extmap:1 urn:first\r\na=extmap:1/sendonly urn:again\r\n");
    for (int i = 2; i <= 20; i++)
        bprintf(&b, "a=extmap:%d urn:x-%d\r\n", i, i);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->media[0].n_extmaps, SC_SDP_MAX_EXTMAPS);
    SC_CHECK_INT(sc_sdp_find_extmap(&sdp->media[0], "urn:again"), 1);
    SC_CHECK_INT(sc_sdp_find_extmap(&sdp->media[0], "urn:first"), 0);
    SC_CHECK_INT(sc_sdp_find_extmap(&sdp->media[0], "urn:x-16"), 16);
    SC_CHECK_INT(sc_sdp_find_extmap(&sdp->media[0], "urn:x-17"), 0);
    bfree(&b);

    /* BUNDLE: 32 mids fit, 33 do not. */
    bprintf(&b, "a=group:BUNDLE");
    for (int i = 0; i < SC_SDP_MAX_MEDIA; i++)
        bprintf(&b, " %d", i);
    EXPECT(b.p, 0, NULL);
    SC_CHECK_INT(sdp->n_bundle, SC_SDP_MAX_MEDIA);
    bprintf(&b, " 99\r\n");
    EXPECT(b.p, -E2BIG, "more than 32 mids");
    bfree(&b);
}

/* Binary garbage and mangled offers: only return codes matter here, and
 * that ASan/UBSan stay quiet. */
static void test_garbage(void)
{
    size_t len = 0;
    char *orig = load("chrome-publish.sdp", &len);
    SC_CHECK(orig != NULL);
    if (!orig)
        return;
    uint32_t x = 0x12345678;
    char *p = malloc(len);
    int rejected = 0, accepted = 0;
    for (int round = 0; round < 2000; round++) {
        memcpy(p, orig, len);
        int flips = 1 + round % 8;
        for (int i = 0; i < flips; i++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % len;
            x = x * 1103515245u + 12345u;
            p[at] = (char)(x >> 16);
        }
        size_t n = round % 3 ? len : (x >> 4) % len; /* and truncation */
        int rc = sc_sdp_parse(p, n, sdp, err, sizeof(err));
        if (rc == 0)
            accepted++;
        else if ((rc == -EINVAL || rc == -E2BIG) && err[0])
            rejected++;
    }
    SC_CHECK_INT(accepted + rejected, 2000);
    SC_CHECK(rejected > 0 && accepted > 0);

    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (char)(x >> 16);
    }
    SC_CHECK_INT(sc_sdp_parse(p, len, sdp, err, sizeof(err)), -EINVAL);
    memcpy(p, "v=0\n", 4); /* a valid first line, then noise */
    SC_CHECK_INT(sc_sdp_parse(p, len, sdp, err, sizeof(err)), -EINVAL);
    free(p);
    free(orig);
}

/* The parser zeroes only what it fills (the session part, then each m=
 * section as it starts: the struct is 1.1 MB, mostly unused sections), so
 * what it leaves must not depend on what the buffer held: every capture
 * parses to the same bytes into a buffer full of garbage as into a zeroed
 * one. */
static void test_dirty_buffer(void)
{
    static const char *files[] = {"chrome-publish.sdp", "chrome-simulcast.sdp", "chrome-whep.sdp",
                                  "firefox.sdp", "obs-whip.sdp", "aiortc.sdp",
                                  "gstreamer-webrtcbin.sdp"};
    sc_sdp *clean = calloc(1, sizeof(*clean)), *dirty = malloc(sizeof(*dirty));
    SC_CHECK(clean && dirty);
    for (size_t f = 0; clean && dirty && f < sizeof(files) / sizeof(files[0]); f++) {
        size_t len = 0;
        char *p = load(files[f], &len);
        SC_CHECK(p != NULL);
        if (!p)
            continue;
        memset(dirty, 0xa5, sizeof(*dirty));
        SC_CHECK_INT(sc_sdp_parse(p, len, clean, err, sizeof(err)), 0);
        SC_CHECK_INT(sc_sdp_parse(p, len, dirty, err, sizeof(err)), 0);
        SC_CHECK(clean->n_media > 0 && clean->n_media == dirty->n_media);
        SC_CHECK(memcmp(clean, dirty, offsetof(sc_sdp, media)) == 0);
        int same = 0;
        for (int i = 0; i < clean->n_media; i++)
            same += memcmp(&clean->media[i], &dirty->media[i], sizeof(clean->media[i])) == 0;
        SC_CHECK_INT(same, clean->n_media);
        free(p);
    }
    free(clean);
    free(dirty);
}

int main(void)
{
    sdp = malloc(sizeof(*sdp));
    if (!sdp)
        return 1;
    find_data_dir();
    SC_CHECK(data_dir[0] != '\0');
    test_chrome_publish();
    test_line_endings();
    test_chrome_whep();
    test_chrome_simulcast();
    test_firefox();
    test_obs();
    test_aiortc();
    test_gstreamer();
    test_features();
    test_errors();
    test_overlong();
    test_limits();
    test_garbage();
    test_dirty_buffer();
    free(sdp);
    SC_TEST_END();
}
