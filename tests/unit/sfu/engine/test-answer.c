/* sfu/engine/answer.c: what we answer to real clients' offers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/engine/answer.h"
#include "sfu/proto/sdp.h"
#include "tests/unit/sc_test.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/data/sdp/%s", SC_TEST_SOURCE_ROOT, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static sc_sdp *parse_file(const char *name)
{
    size_t len;
    char err[256];
    char *text = slurp(name, &len);
    sc_sdp *sdp = calloc(1, sizeof(*sdp));
    if (!text || sc_sdp_parse(text, len, sdp, err, sizeof(err)) != 0) {
        fprintf(stderr, "cannot parse %s: %s\n", name, text ? err : "missing file");
        free(text);
        free(sdp);
        return NULL;
    }
    free(text);
    return sdp;
}

static const sc_answer_params pub = {.kind = SC_SESSION_PUBLISH, .fingerprint = "AA:BB",
                                     .ip = "127.0.0.1", .port = 10000, .tcp_port = 10000,
                                     .max_slots = 6};
static const sc_answer_params sub = {.kind = SC_SESSION_SUBSCRIBE, .fingerprint = "AA:BB",
                                     .ip = "127.0.0.1", .port = 10001, .max_slots = 6};

static void test_chrome_publish(void)
{
    sc_sdp *offer = parse_file("chrome-publish.sdp");
    SC_CHECK(offer != NULL);
    if (!offer)
        return;
    sc_negotiated *neg = calloc(1, sizeof(*neg));
    char *answer = NULL, err[256] = "";
    SC_CHECK_INT(sc_answer_build(offer, &pub, neg, &answer, err, sizeof(err)), 0);
    SC_CHECK_INT(neg->n_tracks, 2);
    SC_CHECK_INT(neg->dtls_role, SC_DTLS_ROLE_SERVER); /* Chrome offers actpass */
    SC_CHECK_INT(strlen(neg->local_ufrag), 8);
    SC_CHECK(strlen(neg->local_pwd) >= 22);
    SC_CHECK(neg->tracks[0].kind == SC_SDP_AUDIO && neg->tracks[1].kind == SC_SDP_VIDEO);
    SC_CHECK(neg->tracks[1].remote_ssrc != 0);
    SC_CHECK(neg->tracks[1].rtx_pt >= 0 && neg->tracks[1].remote_rtx_ssrc != 0);
    SC_CHECK(answer && strstr(answer, "a=ice-lite\r\n"));
    /* ICE-TCP: a passive TCP candidate on the worker's TCP port, after the
     * UDP one and with a lower priority (RFC 6544), before end-of-candidates. */
    const char *udp = answer ? strstr(answer, "a=candidate:1 1 udp 2130706431 127.0.0.1 10000 typ host\r\n") : NULL;
    const char *tcp = answer ? strstr(answer, "a=candidate:2 1 tcp 2120220671 127.0.0.1 10000 typ host tcptype passive\r\n") : NULL;
    SC_CHECK(udp && tcp && udp < tcp && 2120220671u < 2130706431u);
    SC_CHECK(tcp && strstr(tcp, "a=end-of-candidates"));
    SC_CHECK(answer && strstr(answer, "a=setup:passive\r\n"));
    SC_CHECK(answer && strstr(answer, "a=recvonly\r\n"));
    SC_CHECK(answer && !strstr(answer, "a=sendonly"));
    SC_CHECK(answer && strstr(answer, "typ host"));
    SC_CHECK(answer && strstr(answer, "a=fingerprint:sha-256 AA:BB\r\n"));
    SC_CHECK(answer && strstr(answer, "goog-remb"));

    /* the answer is itself valid SDP that says what we negotiated */
    sc_sdp *back = calloc(1, sizeof(*back));
    SC_CHECK_INT(sc_sdp_parse(answer, strlen(answer), back, err, sizeof(err)), 0);
    SC_CHECK_INT(back->n_media, offer->n_media);
    SC_CHECK(back->ice_lite);
    const sc_sdp_media *v = &back->media[neg->tracks[1].mline];
    SC_CHECK_INT(v->n_codecs, 2); /* VP8 + its RTX */
    SC_CHECK(sc_sdp_find_codec(v, "VP8", 90000) != NULL);
    SC_CHECK_STR(v->mid, offer->media[neg->tracks[1].mline].mid);
    free(back);
    free(answer);
    free(neg);
    free(offer);
}

static void test_whep_subscribe_slots(void)
{
    sc_sdp *offer = parse_file("chrome-whep.sdp");
    SC_CHECK(offer != NULL);
    if (!offer)
        return;
    sc_negotiated *neg = calloc(1, sizeof(*neg));
    char *answer = NULL, err[256] = "";
    SC_CHECK_INT(sc_answer_build(offer, &sub, neg, &answer, err, sizeof(err)), 0);
    SC_CHECK(neg->n_tracks >= 2);
    for (int i = 0; i < neg->n_tracks; i++) {
        SC_CHECK(neg->tracks[i].local_ssrc != 0);
        for (int j = 0; j < i; j++)
            SC_CHECK(neg->tracks[i].local_ssrc != neg->tracks[j].local_ssrc);
    }
    SC_CHECK(answer && strstr(answer, "a=sendonly\r\n"));
    SC_CHECK(answer && strstr(answer, "a=msid:stage0 video0"));
    SC_CHECK(answer && !strstr(answer, " tcp ")); /* --no-ice-tcp: UDP only */
    char line[64];
    snprintf(line, sizeof(line), "a=ssrc:%u cname:", neg->tracks[0].local_ssrc);
    SC_CHECK(answer && strstr(answer, line));
    free(answer);
    free(neg);
    free(offer);
}

static void test_refusals(void)
{
    sc_negotiated *neg = calloc(1, sizeof(*neg));
    char *answer = NULL, err[256] = "";
    sc_sdp *sdp = calloc(1, sizeof(*sdp));
    /* only codecs we do not forward */
    const char *pcmu = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
                       "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
                       "a=sendonly\r\na=rtcp-mux\r\n";
    SC_CHECK_INT(sc_sdp_parse(pcmu, strlen(pcmu), sdp, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_answer_build(sdp, &pub, neg, &answer, err, sizeof(err)), -ENOTSUP);
    SC_CHECK(answer == NULL && strstr(err, "nothing acceptable"));
    /* a publisher offering recvonly media: nothing to receive */
    const char *recv = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
                       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
                       "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
    SC_CHECK_INT(sc_sdp_parse(recv, strlen(recv), sdp, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_answer_build(sdp, &pub, neg, &answer, err, sizeof(err)), -ENOTSUP);
    /* ...which is exactly what a viewer offers */
    SC_CHECK_INT(sc_answer_build(sdp, &sub, neg, &answer, err, sizeof(err)), 0);
    free(answer);
    answer = NULL;
    /* no fingerprint: DTLS is mandatory */
    const char *nofp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                       "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                       "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
                       "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
    SC_CHECK_INT(sc_sdp_parse(nofp, strlen(nofp), sdp, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_answer_build(sdp, &pub, neg, &answer, err, sizeof(err)), -ENOTSUP);
    SC_CHECK(strstr(err, "fingerprint") != NULL);
    /* setup:passive offer: we become the DTLS client */
    const char *passive = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                          "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
                          "a=fingerprint:sha-256 AA:BB\r\na=setup:passive\r\n"
                          "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
                          "a=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
    SC_CHECK_INT(sc_sdp_parse(passive, strlen(passive), sdp, err, sizeof(err)), 0);
    SC_CHECK_INT(sc_answer_build(sdp, &pub, neg, &answer, err, sizeof(err)), 0);
    SC_CHECK_INT(neg->dtls_role, SC_DTLS_ROLE_CLIENT);
    SC_CHECK(answer && strstr(answer, "a=setup:active\r\n"));
    free(answer);
    free(sdp);
    free(neg);
}

/* OBS (WHIP) offers H.264 only: the publisher is taken as H.264. */
static void test_h264_publisher(void)
{
    sc_sdp *offer = parse_file("obs-whip.sdp");
    SC_CHECK(offer != NULL);
    if (!offer)
        return;
    sc_negotiated *neg = calloc(1, sizeof(*neg));
    char *answer = NULL, err[256] = "";
    SC_CHECK_INT(sc_answer_build(offer, &pub, neg, &answer, err, sizeof(err)), 0);
    const sc_track_map *v = NULL;
    for (int i = 0; i < neg->n_tracks; i++)
        if (neg->tracks[i].kind == SC_SDP_VIDEO)
            v = &neg->tracks[i];
    SC_CHECK(v != NULL);
    if (v) {
        SC_CHECK_INT(v->codec, SC_CODEC_H264);
        SC_CHECK(answer && strstr(answer, "H264/90000") && strstr(answer, "packetization-mode=1"));
    }
    free(answer);
    free(neg);
    free(offer);
}

/* Chrome offers both: a viewer's answer takes both so publishers of either
 * codec reach it; a publisher sends the preferred one. */
static void test_codec_choice(void)
{
    sc_sdp *whep = parse_file("chrome-whep.sdp"), *publish = parse_file("chrome-publish.sdp");
    SC_CHECK(whep && publish);
    if (!whep || !publish)
        goto out;
    sc_negotiated *neg = calloc(1, sizeof(*neg));
    char *answer = NULL, err[256] = "";
    SC_CHECK_INT(sc_answer_build(whep, &sub, neg, &answer, err, sizeof(err)), 0);
    for (int i = 0; i < neg->n_tracks; i++) {
        if (neg->tracks[i].kind != SC_SDP_VIDEO)
            continue;
        SC_CHECK(neg->tracks[i].pt_for[SC_CODEC_VP8] >= 0);
        SC_CHECK(neg->tracks[i].pt_for[SC_CODEC_H264] >= 0);
        SC_CHECK(neg->tracks[i].pt_for[SC_CODEC_VP8] != neg->tracks[i].pt_for[SC_CODEC_H264]);
    }
    SC_CHECK(answer && strstr(answer, "VP8/90000") && strstr(answer, "H264/90000"));
    free(answer);
    answer = NULL;
    /* a publisher sends what its offer lists first: VP8 in Chrome's default
     * order, H.264 once the page puts it first */
    SC_CHECK_INT(sc_answer_build(publish, &pub, neg, &answer, err, sizeof(err)), 0);
    SC_CHECK_INT(neg->tracks[1].codec, SC_CODEC_VP8);
    free(answer);
    answer = NULL;
    const sc_sdp_codec *h = NULL;
    sc_sdp_media *v = &publish->media[1];
    for (int i = 0; i < v->n_codecs && !h; i++)
        if (strcmp(v->codecs[i].name, "H264") == 0 && strstr(v->codecs[i].fmtp, "packetization-mode=1"))
            h = &v->codecs[i];
    SC_CHECK(h != NULL);
    if (h) {
        sc_sdp_codec first = *h; /* move it to the front, as setCodecPreferences does */
        memmove(&v->codecs[1], &v->codecs[0], (size_t)(h - v->codecs) * sizeof(*h));
        v->codecs[0] = first;
        SC_CHECK_INT(sc_answer_build(publish, &pub, neg, &answer, err, sizeof(err)), 0);
        SC_CHECK_INT(neg->tracks[1].codec, SC_CODEC_H264);
        SC_CHECK(answer && strstr(answer, "H264/90000") && !strstr(answer, "VP8/90000"));
    }
    free(answer);
    free(neg);
out:
    free(whep);
    free(publish);
}

int main(void)
{
    test_chrome_publish();
    test_whep_subscribe_slots();
    test_refusals();
    test_h264_publisher();
    test_codec_choice();
    SC_TEST_END();
}
