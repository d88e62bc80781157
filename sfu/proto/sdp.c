/* SDP offer parser (RFC 8866 syntax, the WebRTC subset of RFC 8829).
 *
 * The parser works on one bounded line at a time: the whole input is first
 * checked against SC_SDP_MAX_LINES / SC_SDP_MAX_LINE_LEN, then each line is
 * copied into a fixed buffer and tokenised in place.  Nothing is allocated
 * and nothing is logged; every rejection is a negative errno plus a one-line
 * reason for the 4xx the signalling sends back (RELIABILITY 15).
 *
 * Policy on the fixed-size arrays in sc_sdp_media (decided here, reported to
 * the header owner):
 *   - more than SC_SDP_MAX_MEDIA m= lines:             -E2BIG
 *   - more than SC_SDP_MAX_CODECS payload types:       the excess (the least
 *     preferred, since m= order is preference order) is ignored
 *   - more than SC_SDP_MAX_EXTMAPS a=extmap:           the excess is ignored
 *     (header extensions are optional features)
 *   - more than SC_SDP_MAX_SSRCS distinct a=ssrc ids,
 *     SC_SDP_MAX_FID FID groups, SC_SDP_MAX_RIDS rids,
 *     or SC_SDP_MAX_MEDIA mids in a=group:BUNDLE:      -E2BIG
 * Identifiers (ufrag, pwd, mid, fingerprint, msid, cname, rid) that do not
 * fit their field are an error, never truncated.  An a=fingerprint whose
 * hash does not fit (sha-512) is skipped when the same level or the session
 * also offers one that fits, and is an error otherwise. */
#include "sfu/proto/sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SDP_RTP_PT_MAX 127

typedef struct sdp_level_flags {
    bool has_dir;          /* a direction attribute was seen at this level */
    bool has_ice_options;  /* a=ice-options was seen at this level */
    bool msid_attr;        /* a=msid (not the a=ssrc msid fallback) was seen */
    unsigned fp_long_line; /* line of a fingerprint too long to store, or 0 */
} sdp_level_flags;

typedef struct sdp_ctx {
    sc_sdp *out;
    char *err;
    size_t errlen;
    unsigned lineno;
    char line[SC_SDP_MAX_LINE_LEN + 1];
    /* Current media section; NULL while still at session level. */
    sc_sdp_media *m;
    bool rtp;                       /* current m= proto carries RTP payload types */
    int8_t pt_index[SDP_RTP_PT_MAX + 1]; /* payload type -> codec index, or -1 */
    /* Session-level transport defaults, copied into media sections that lack
     * their own when parsing ends. */
    char ice_ufrag[257];
    char ice_pwd[257];
    char fingerprint_alg[16];
    char fingerprint[192];
    sc_sdp_setup setup;
    bool ice_options_trickle;
    sc_sdp_dir dir;
    sdp_level_flags sess;
    sdp_level_flags media[SC_SDP_MAX_MEDIA];
} sdp_ctx;

__attribute__((format(printf, 3, 4)))
static int fail(sdp_ctx *c, int code, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n = 0;
        if (c->lineno)
            n = snprintf(c->err, c->errlen, "line %u: ", c->lineno);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return code;
}

static sdp_level_flags *level_flags(sdp_ctx *c)
{
    return c->m ? &c->media[c->m - c->out->media] : &c->sess;
}

/* Splits the next blank-separated token off *p (NUL-terminating it in the
 * line buffer); NULL when the line has no more tokens. */
static char *next_tok(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *tok = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return tok;
}

static char *skip_blanks(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Decimal digits only, no sign, no overflow, <= max.  Leading zeros are
 * harmless and allowed. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        uint64_t d = (uint64_t)(*s - '0');
        if (d > max || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Copies src if it fits (with its NUL) into dst[size]; never truncates. */
static bool copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

static bool ascii_only(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

static bool is_ice_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '+' || ch == '/';
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* A payload type token: 0..127, or "*" when allow_star (returned as -1). */
static int get_pt(sdp_ctx *c, const char *tok, const char *attr, bool allow_star, int *pt)
{
    uint64_t v;
    if (!tok)
        return fail(c, -EINVAL, "bad a=%s: missing payload type", attr);
    if (allow_star && strcmp(tok, "*") == 0) {
        *pt = -1;
        return 0;
    }
    if (!parse_uint(tok, SDP_RTP_PT_MAX, &v)) {
        if (all_digits(tok))
            return fail(c, -EINVAL, "a=%s payload type %.16s out of range", attr, tok);
        return fail(c, -EINVAL, "bad a=%s payload type \"%.16s\"", attr, tok);
    }
    *pt = (int)v;
    return 0;
}

static sc_sdp_codec *codec_for_pt(sdp_ctx *c, int pt)
{
    if (!c->m || pt < 0 || pt > SDP_RTP_PT_MAX || c->pt_index[pt] < 0)
        return NULL;
    return &c->m->codecs[c->pt_index[pt]];
}

/* ---- static payload types (RFC 3551 table 4 and 5) ---- */

static const struct {
    uint8_t pt;
    const char *name;
    uint32_t clock;
    uint8_t channels;
} static_pts[] = {
    {0, "PCMU", 8000, 0},     {3, "GSM", 8000, 0},      {4, "G723", 8000, 0},
    {5, "DVI4", 8000, 0},     {6, "DVI4", 16000, 0},    {7, "LPC", 8000, 0},
    {8, "PCMA", 8000, 0},     {9, "G722", 8000, 0},     {10, "L16", 44100, 2},
    {11, "L16", 44100, 0},    {12, "QCELP", 8000, 0},   {13, "CN", 8000, 0},
    {14, "MPA", 90000, 0},    {15, "G728", 8000, 0},    {16, "DVI4", 11025, 0},
    {17, "DVI4", 22050, 0},   {18, "G729", 8000, 0},    {25, "CelB", 90000, 0},
    {26, "JPEG", 90000, 0},   {28, "nv", 90000, 0},     {31, "H261", 90000, 0},
    {32, "MPV", 90000, 0},    {33, "MP2T", 90000, 0},   {34, "H263", 90000, 0},
};

static void codec_init(sc_sdp_codec *k, uint8_t pt)
{
    memset(k, 0, sizeof(*k));
    k->pt = pt;
    k->apt = -1;
    for (size_t i = 0; i < sizeof(static_pts) / sizeof(static_pts[0]); i++) {
        if (static_pts[i].pt == pt) {
            copy_str(k->name, sizeof(k->name), static_pts[i].name);
            k->clock = static_pts[i].clock;
            k->channels = static_pts[i].channels;
            break;
        }
    }
}

/* ---- v=, o=, m= ---- */

static int parse_origin(sdp_ctx *c, char *p)
{
    uint64_t id;
    char *user = next_tok(&p);
    char *sess = next_tok(&p);
    if (!user || !sess || !all_digits(sess))
        return fail(c, -EINVAL, "bad o= line (need a numeric session id)");
    /* The header promises 0 for a session id that does not fit 64 bits. */
    c->out->session_id = parse_uint(sess, UINT64_MAX, &id) ? id : 0;
    return 0;
}

static sc_sdp_kind media_kind(const char *s)
{
    if (strcmp(s, "audio") == 0)
        return SC_SDP_AUDIO;
    if (strcmp(s, "video") == 0)
        return SC_SDP_VIDEO;
    if (strcmp(s, "application") == 0)
        return SC_SDP_APPLICATION;
    return SC_SDP_OTHER;
}

static int parse_media(sdp_ctx *c, char *p)
{
    sc_sdp *out = c->out;
    uint64_t v;
    if (out->n_media >= SC_SDP_MAX_MEDIA)
        return fail(c, -E2BIG, "more than %d m= lines", SC_SDP_MAX_MEDIA);
    if (!ascii_only(p))
        return fail(c, -EINVAL, "non-ASCII byte in m= line");
    char *kind = next_tok(&p);
    char *port = next_tok(&p);
    char *proto = next_tok(&p);
    if (!kind)
        return fail(c, -EINVAL, "m= line without a media type");
    if (!port)
        return fail(c, -EINVAL, "m= line without a port");
    if (!proto)
        return fail(c, -EINVAL, "m= line without a proto");

    sc_sdp_media *m = &out->media[out->n_media];
    memset(m, 0, sizeof(*m));
    if (!copy_str(m->kind_name, sizeof(m->kind_name), kind))
        return fail(c, -EINVAL, "m= media type longer than %zu bytes", sizeof(m->kind_name) - 1);
    m->kind = media_kind(kind);

    /* "<port>" or "<port>/<number of ports>" */
    char *slash = strchr(port, '/');
    if (slash) {
        *slash = '\0';
        if (!parse_uint(slash + 1, 65535, &v))
            return fail(c, -EINVAL, "bad m= port count \"%.16s\"", slash + 1);
    }
    if (!parse_uint(port, 65535, &v)) {
        if (all_digits(port))
            return fail(c, -EINVAL, "m= port %.16s out of range", port);
        return fail(c, -EINVAL, "bad m= port \"%.16s\"", port);
    }
    m->port = (uint16_t)v;
    if (!copy_str(m->proto, sizeof(m->proto), proto))
        return fail(c, -EINVAL, "m= proto longer than %zu bytes", sizeof(m->proto) - 1);

    /* Only RTP profiles list payload types; SCTP ones list other formats
     * ("webrtc-datachannel", or an SCTP port in old drafts). */
    c->rtp = strstr(proto, "RTP/") != NULL;
    memset(c->pt_index, -1, sizeof(c->pt_index));
    unsigned n_fmt = 0;
    char *fmt;
    while ((fmt = next_tok(&p))) {
        n_fmt++;
        if (!c->rtp) {
            if (strcmp(fmt, "webrtc-datachannel") == 0) {
                m->fmt_datachannel = true;
            } else if (strcmp(proto, "DTLS/SCTP") == 0 && n_fmt == 1) {
                /* draft form: the format is the SCTP port */
                m->sctp_legacy = true;
                if (parse_uint(fmt, 65535, &v) && v > 0)
                    m->sctp_port = (uint16_t)v;
                else
                    m->sctp_bad = true;
            }
            continue;
        }
        if (!parse_uint(fmt, SDP_RTP_PT_MAX, &v)) {
            if (all_digits(fmt))
                return fail(c, -EINVAL, "m= payload type %.16s out of range", fmt);
            return fail(c, -EINVAL, "bad m= payload type \"%.16s\"", fmt);
        }
        /* Duplicates add nothing; past the limit only the least preferred
         * formats are lost. */
        if (c->pt_index[v] >= 0 || m->n_codecs >= SC_SDP_MAX_CODECS)
            continue;
        c->pt_index[v] = (int8_t)m->n_codecs;
        codec_init(&m->codecs[m->n_codecs++], (uint8_t)v);
    }
    if (!n_fmt)
        return fail(c, -EINVAL, "m= line without formats");
    c->m = m;
    out->n_media++;
    return 0;
}

/* ---- attributes ---- */

enum { A_VALUE = 1, A_MEDIA = 2, A_SESSION = 4 };

typedef struct attr_spec attr_spec;
struct attr_spec {
    const char *name;
    int (*fn)(sdp_ctx *c, const attr_spec *a, char *val);
    unsigned flags;
    int arg;
};

static int a_ice_cred(sdp_ctx *c, const attr_spec *a, char *val)
{
    /* arg: 0 = ufrag, 1 = pwd; both 257-byte fields at either level. */
    char *dst = a->arg ? (c->m ? c->m->ice_pwd : c->ice_pwd)
                       : (c->m ? c->m->ice_ufrag : c->ice_ufrag);
    char *p = val;
    char *tok = next_tok(&p);
    if (next_tok(&p))
        return fail(c, -EINVAL, "bad a=%s: more than one token", a->name);
    for (const char *s = tok; *s; s++)
        if (!is_ice_char(*s))
            return fail(c, -EINVAL, "bad a=%s: invalid character", a->name);
    if (!copy_str(dst, sizeof(c->ice_ufrag), tok))
        return fail(c, -EINVAL, "a=%s longer than %zu bytes", a->name, sizeof(c->ice_ufrag) - 1);
    return 0;
}

static int a_fingerprint(sdp_ctx *c, const attr_spec *a, char *val)
{
    char *p = val;
    char *alg = next_tok(&p);
    char *hash = next_tok(&p);
    char *dst_alg = c->m ? c->m->fingerprint_alg : c->fingerprint_alg;
    char *dst = c->m ? c->m->fingerprint : c->fingerprint;
    if (!hash)
        return fail(c, -EINVAL, "a=fingerprint without a hash");
    size_t alen = strlen(alg);
    if (alen >= sizeof(c->fingerprint_alg))
        return fail(c, -EINVAL, "a=fingerprint hash function longer than %zu bytes",
                    sizeof(c->fingerprint_alg) - 1);
    /* "XX:XX:...:XX" */
    size_t hlen = strlen(hash);
    if (hlen % 3 != 2)
        return fail(c, -EINVAL, "bad a=fingerprint hash");
    for (size_t i = 0; i < hlen; i++) {
        bool ok = i % 3 == 2 ? hash[i] == ':' : is_hex(hash[i]);
        if (!ok)
            return fail(c, -EINVAL, "bad a=fingerprint hash");
    }
    if (hlen >= sizeof(c->fingerprint)) {
        /* Remember it: an error only if no usable fingerprint turns up. */
        sdp_level_flags *lf = level_flags(c);
        if (!lf->fp_long_line)
            lf->fp_long_line = c->lineno;
        return 0;
    }
    if (dst[0])
        return 0; /* RFC 8122 allows several; the first that fits wins */
    for (size_t i = 0; i <= alen; i++)
        dst_alg[i] = (alg[i] >= 'A' && alg[i] <= 'Z') ? (char)(alg[i] - 'A' + 'a') : alg[i];
    for (size_t i = 0; i <= hlen; i++)
        dst[i] = (hash[i] >= 'a' && hash[i] <= 'f') ? (char)(hash[i] - 'a' + 'A') : hash[i];
    return 0;
}

static int a_setup(sdp_ctx *c, const attr_spec *a, char *val)
{
    sc_sdp_setup s;
    char *p = val;
    char *tok = next_tok(&p);
    if (strcmp(tok, "actpass") == 0)
        s = SC_SDP_SETUP_ACTPASS;
    else if (strcmp(tok, "active") == 0)
        s = SC_SDP_SETUP_ACTIVE;
    else if (strcmp(tok, "passive") == 0)
        s = SC_SDP_SETUP_PASSIVE;
    else
        return fail(c, -EINVAL, "bad a=setup \"%.16s\"", tok);
    *(c->m ? &c->m->setup : &c->setup) = s;
    return 0;
}

static int a_ice_lite(sdp_ctx *c, const attr_spec *a, char *val)
{
    c->out->ice_lite = true;
    return 0;
}

static int a_ice_options(sdp_ctx *c, const attr_spec *a, char *val)
{
    bool trickle = false;
    /* RFC 8839 separates options by spaces; libdatachannel (OBS) writes
     * "ice2,trickle", so commas separate too. */
    for (char *s = val; *s; s++)
        if (*s == ',')
            *s = ' ';
    char *p = val, *tok;
    while ((tok = next_tok(&p)))
        if (strcmp(tok, "trickle") == 0)
            trickle = true;
    *(c->m ? &c->m->ice_options_trickle : &c->ice_options_trickle) = trickle;
    level_flags(c)->has_ice_options = true;
    return 0;
}

static int a_group(sdp_ctx *c, const attr_spec *a, char *val)
{
    sc_sdp *out = c->out;
    char *p = val;
    char *sem = next_tok(&p);
    char *mid;
    if (strcmp(sem, "BUNDLE") != 0)
        return 0; /* LS, FID groups etc. are of no use to us */
    while ((mid = next_tok(&p))) {
        if (out->n_bundle >= SC_SDP_MAX_MEDIA)
            return fail(c, -E2BIG, "more than %d mids in a=group:BUNDLE", SC_SDP_MAX_MEDIA);
        if (!copy_str(out->bundle[out->n_bundle], sizeof(out->bundle[0]), mid))
            return fail(c, -EINVAL, "a=group:BUNDLE mid longer than %zu bytes",
                        sizeof(out->bundle[0]) - 1);
        out->n_bundle++;
    }
    return 0;
}

static int a_mid(sdp_ctx *c, const attr_spec *a, char *val)
{
    char *p = val;
    char *tok = next_tok(&p);
    if (next_tok(&p))
        return fail(c, -EINVAL, "bad a=mid: more than one token");
    if (c->m->mid[0])
        return fail(c, -EINVAL, "second a=mid in one m= section");
    for (const sc_sdp_media *o = c->out->media; o < c->m; o++)
        if (strcmp(o->mid, tok) == 0)
            return fail(c, -EINVAL, "duplicate a=mid \"%.64s\"", tok);
    if (!copy_str(c->m->mid, sizeof(c->m->mid), tok))
        return fail(c, -EINVAL, "a=mid longer than %zu bytes", sizeof(c->m->mid) - 1);
    return 0;
}

static int a_dir(sdp_ctx *c, const attr_spec *a, char *val)
{
    *(c->m ? &c->m->dir : &c->dir) = (sc_sdp_dir)a->arg;
    level_flags(c)->has_dir = true;
    return 0;
}

static int a_rtcp_flag(sdp_ctx *c, const attr_spec *a, char *val)
{
    if (a->arg)
        c->m->rtcp_rsize = true;
    else
        c->m->rtcp_mux = true;
    return 0;
}

static int a_rtpmap(sdp_ctx *c, const attr_spec *a, char *val)
{
    char *p = val;
    int pt, rc;
    uint64_t clock, ch = 0;
    if ((rc = get_pt(c, next_tok(&p), "rtpmap", false, &pt)))
        return rc;
    char *enc = next_tok(&p);
    if (!enc)
        return fail(c, -EINVAL, "bad a=rtpmap: missing encoding");
    /* <name>/<clock>[/<channels>] */
    char *name = enc;
    char *rate = strchr(name, '/');
    if (!rate)
        return fail(c, -EINVAL, "bad a=rtpmap: missing clock rate");
    *rate++ = '\0';
    char *chans = strchr(rate, '/');
    if (chans)
        *chans++ = '\0';
    if (!name[0])
        return fail(c, -EINVAL, "bad a=rtpmap: empty encoding name");
    if (strlen(name) >= sizeof(c->m->codecs[0].name))
        return fail(c, -EINVAL, "a=rtpmap encoding name longer than %zu bytes",
                    sizeof(c->m->codecs[0].name) - 1);
    if (!parse_uint(rate, UINT32_MAX, &clock) || clock == 0)
        return fail(c, -EINVAL, "bad a=rtpmap clock rate \"%.16s\"", rate);
    if (chans && (!parse_uint(chans, 255, &ch) || ch == 0))
        return fail(c, -EINVAL, "bad a=rtpmap channel count \"%.16s\"", chans);
    sc_sdp_codec *k = codec_for_pt(c, pt);
    if (!k)
        return 0; /* not in this m= line (or past the codec limit) */
    copy_str(k->name, sizeof(k->name), name);
    k->clock = (uint32_t)clock;
    k->channels = (uint8_t)ch;
    return 0;
}

/* Finds apt=<pt> among "k=v;k=v" fmtp parameters: the rtx association. */
static int fmtp_apt(sdp_ctx *c, const char *params, int *apt)
{
    const char *s = params;
    *apt = -1;
    while (*s) {
        while (*s == ' ' || *s == ';')
            s++;
        const char *key = s;
        while (*s && *s != ';' && *s != '=')
            s++;
        size_t klen = (size_t)(s - key);
        while (klen && key[klen - 1] == ' ')
            klen--;
        if (*s != '=') {
            continue;
        }
        const char *v = ++s;
        while (*s && *s != ';')
            s++;
        if (klen == 3 && strncasecmp(key, "apt", 3) == 0) {
            char num[8];
            size_t vlen = (size_t)(s - v);
            while (vlen && v[vlen - 1] == ' ')
                vlen--;
            while (vlen && *v == ' ')
                v++, vlen--;
            uint64_t x;
            if (vlen >= sizeof(num))
                return fail(c, -EINVAL, "bad apt in a=fmtp");
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            if (!parse_uint(num, SDP_RTP_PT_MAX, &x))
                return fail(c, -EINVAL, "bad apt in a=fmtp");
            *apt = (int)x;
        }
    }
    return 0;
}

static int a_fmtp(sdp_ctx *c, const attr_spec *a, char *val)
{
    char *p = val;
    int pt, apt, rc;
    if ((rc = get_pt(c, next_tok(&p), "fmtp", false, &pt)))
        return rc;
    char *params = skip_blanks(p);
    if (!params[0])
        return fail(c, -EINVAL, "a=fmtp without parameters");
    if (strlen(params) >= sizeof(c->m->codecs[0].fmtp))
        return fail(c, -EINVAL, "a=fmtp parameters longer than %zu bytes",
                    sizeof(c->m->codecs[0].fmtp) - 1);
    if ((rc = fmtp_apt(c, params, &apt)))
        return rc;
    sc_sdp_codec *k = codec_for_pt(c, pt);
    if (!k)
        return 0;
    copy_str(k->fmtp, sizeof(k->fmtp), params);
    k->apt = apt;
    return 0;
}

static void fb_apply(sc_sdp_codec *k, const char *type, const char *sub)
{
    if (strcmp(type, "nack") == 0) {
        if (!sub)
            k->fb_nack = true;
        else if (strcmp(sub, "pli") == 0)
            k->fb_pli = true;
    } else if (strcmp(type, "ccm") == 0) {
        if (sub && strcmp(sub, "fir") == 0)
            k->fb_fir = true;
    } else if (strcmp(type, "goog-remb") == 0) {
        k->fb_remb = true;
    } else if (strcmp(type, "transport-cc") == 0) {
        k->fb_twcc = true;
    }
}

static int a_rtcp_fb(sdp_ctx *c, const attr_spec *a, char *val)
{
    char *p = val;
    int pt, rc;
    if ((rc = get_pt(c, next_tok(&p), "rtcp-fb", true, &pt)))
        return rc;
    char *type = next_tok(&p);
    char *sub = next_tok(&p);
    if (!type)
        return fail(c, -EINVAL, "a=rtcp-fb without a feedback type");
    if (pt < 0) {
        /* "*": every payload type of this m= line (RFC 4585 4.2). */
        for (unsigned i = 0; i < c->m->n_codecs; i++)
            fb_apply(&c->m->codecs[i], type, sub);
        return 0;
    }
    sc_sdp_codec *k = codec_for_pt(c, pt);
    if (k)
        fb_apply(k, type, sub);
    return 0;
}

static int a_extmap(sdp_ctx *c, const attr_spec *a, char *val)
{
    sc_sdp_media *m = c->m;
    uint64_t id;
    char *p = val;
    char *idtok = next_tok(&p);
    char *uri = next_tok(&p);
    /* <id>[/<direction>] <uri> [<extension attributes>] */
    char *dir = strchr(idtok, '/');
    if (dir) {
        *dir++ = '\0';
        if (strcmp(dir, "sendrecv") && strcmp(dir, "sendonly") && strcmp(dir, "recvonly") &&
            strcmp(dir, "inactive"))
            return fail(c, -EINVAL, "bad a=extmap direction \"%.16s\"", dir);
    }
    if (!parse_uint(idtok, 255, &id) || id == 0)
        return fail(c, -EINVAL, "bad a=extmap id \"%.16s\"", idtok);
    if (!uri)
        return fail(c, -EINVAL, "a=extmap without a URI");
    if (strlen(uri) >= sizeof(m->extmaps[0].uri))
        return fail(c, -EINVAL, "a=extmap URI longer than %zu bytes",
                    sizeof(m->extmaps[0].uri) - 1);
    sc_sdp_extmap *e = NULL;
    for (unsigned i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].id == id)
            e = &m->extmaps[i];
    if (!e) {
        if (m->n_extmaps >= SC_SDP_MAX_EXTMAPS)
            return 0; /* optional features: the excess is ignored */
        e = &m->extmaps[m->n_extmaps++];
    }
    e->id = (uint8_t)id;
    copy_str(e->uri, sizeof(e->uri), uri);
    return 0;
}

static int parse_ssrc_id(sdp_ctx *c, const char *tok, const char *attr, uint32_t *out)
{
    uint64_t v;
    if (!tok || !parse_uint(tok, UINT32_MAX, &v))
        return fail(c, -EINVAL, "bad %s ssrc \"%.16s\"", attr, tok ? tok : "");
    *out = (uint32_t)v;
    return 0;
}

/* "<stream> [<track>]" into the media's msid fields. */
static int set_msid(sdp_ctx *c, char *p, const char *attr)
{
    char *stream = next_tok(&p);
    char *track = next_tok(&p);
    char *s = c->m->msid_stream, *t = c->m->msid_track;
    if (!stream)
        return fail(c, -EINVAL, "%s without a stream id", attr);
    if (!copy_str(s, sizeof(c->m->msid_stream), stream) ||
        !copy_str(t, sizeof(c->m->msid_track), track ? track : ""))
        return fail(c, -EINVAL, "%s id longer than %zu bytes", attr,
                    sizeof(c->m->msid_stream) - 1);
    return 0;
}

static int a_ssrc(sdp_ctx *c, const attr_spec *a, char *val)
{
    sc_sdp_media *m = c->m;
    uint32_t id = 0;
    int rc;
    char *p = val;
    if ((rc = parse_ssrc_id(c, next_tok(&p), "a=ssrc", &id)))
        return rc;
    char *attr = skip_blanks(p);
    if (!attr[0])
        return fail(c, -EINVAL, "a=ssrc without an attribute");
    sc_sdp_ssrc *s = NULL;
    for (unsigned i = 0; i < m->n_ssrcs; i++)
        if (m->ssrcs[i].ssrc == id)
            s = &m->ssrcs[i];
    if (!s) {
        if (m->n_ssrcs >= SC_SDP_MAX_SSRCS)
            return fail(c, -E2BIG, "more than %d a=ssrc ids in one m= section",
                        SC_SDP_MAX_SSRCS);
        s = &m->ssrcs[m->n_ssrcs++];
        s->ssrc = id;
    }
    char *colon = strchr(attr, ':');
    if (colon)
        *colon++ = '\0';
    if (strcmp(attr, "cname") == 0) {
        char *q = colon ? colon : attr + strlen(attr);
        char *cname = next_tok(&q);
        if (!cname)
            return fail(c, -EINVAL, "a=ssrc with an empty cname");
        if (!copy_str(s->cname, sizeof(s->cname), cname))
            return fail(c, -EINVAL, "a=ssrc cname longer than %zu bytes", sizeof(s->cname) - 1);
    } else if (strcmp(attr, "msid") == 0 && colon && !c->media[m - c->out->media].msid_attr) {
        /* Old (Plan B era) senders give the msid only here. */
        return set_msid(c, colon, "a=ssrc msid");
    }
    return 0;
}

static int a_ssrc_group(sdp_ctx *c, const attr_spec *a, char *val)
{
    sc_sdp_media *m = c->m;
    sc_sdp_fid f = {0, 0};
    int rc;
    char *p = val;
    if (strcmp(next_tok(&p), "FID") != 0)
        return 0; /* SIM, FEC-FR: not used */
    char *prim = next_tok(&p), *rtx = next_tok(&p);
    if (!prim || !rtx)
        return fail(c, -EINVAL, "a=ssrc-group:FID needs two ssrcs");
    if ((rc = parse_ssrc_id(c, prim, "a=ssrc-group", &f.primary)) ||
        (rc = parse_ssrc_id(c, rtx, "a=ssrc-group", &f.rtx)))
        return rc;
    if (m->n_fids >= SC_SDP_MAX_FID)
        return fail(c, -E2BIG, "more than %d a=ssrc-group:FID in one m= section", SC_SDP_MAX_FID);
    m->fids[m->n_fids++] = f;
    return 0;
}

static int a_msid(sdp_ctx *c, const attr_spec *a, char *val)
{
    c->media[c->m - c->out->media].msid_attr = true;
    return set_msid(c, val, "a=msid");
}

static int a_rid(sdp_ctx *c, const attr_spec *a, char *val)
{
    sc_sdp_media *m = c->m;
    char *p = val;
    char *id = next_tok(&p);
    char *dir = next_tok(&p);
    if (!dir)
        return fail(c, -EINVAL, "a=rid without a direction");
    if (strcmp(dir, "send") != 0 && strcmp(dir, "recv") != 0)
        return fail(c, -EINVAL, "bad a=rid direction \"%.16s\"", dir);
    /* RFC 8851: rid-id = 1*(alpha-numeric / "-" / "_") */
    for (const char *s = id; *s; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '-' || *s == '_';
        if (!ok)
            return fail(c, -EINVAL, "bad a=rid id");
    }
    if (strlen(id) >= sizeof(m->rids[0]))
        return fail(c, -EINVAL, "a=rid id longer than %zu bytes", sizeof(m->rids[0]) - 1);
    for (unsigned i = 0; i < m->n_rids; i++)
        if (strcmp(m->rids[i], id) == 0)
            return 0;
    if (m->n_rids >= SC_SDP_MAX_RIDS)
        return fail(c, -E2BIG, "more than %d a=rid in one m= section", SC_SDP_MAX_RIDS);
    copy_str(m->rids[m->n_rids++], sizeof(m->rids[0]), id);
    return 0;
}

/* a=sctp-port / a=max-message-size (RFC 8841): a bad value rejects the data
 * channel section only, not the whole offer. */
static int a_sctp_num(sdp_ctx *c, const attr_spec *a, char *val)
{
    uint64_t v;
    char *p = val;
    char *tok = next_tok(&p);
    bool port = a->arg == 0;
    if (!tok || next_tok(&p) || !parse_uint(tok, port ? 65535 : UINT32_MAX, &v) ||
        (port && v == 0)) {
        c->m->sctp_bad = true;
        return 0;
    }
    if (port)
        c->m->sctp_port = (uint16_t)v;
    else
        c->m->max_message_size = (uint32_t)v;
    return 0;
}

/* a=sctpmap:<port> webrtc-datachannel [<streams>] (the draft form). */
static int a_sctpmap(sdp_ctx *c, const attr_spec *a, char *val)
{
    uint64_t v;
    char *p = val;
    char *port = next_tok(&p);
    char *name = next_tok(&p);
    if (!c->m->sctp_legacy)
        return 0;
    if (!port || !name || !parse_uint(port, 65535, &v) || v != c->m->sctp_port) {
        c->m->sctp_bad = true;
        return 0;
    }
    if (strcmp(name, "webrtc-datachannel") == 0)
        c->m->fmt_datachannel = true;
    return 0;
}

static const attr_spec attr_table[] = {
    {"ice-ufrag", a_ice_cred, A_VALUE, 0},
    {"ice-pwd", a_ice_cred, A_VALUE, 1},
    {"fingerprint", a_fingerprint, A_VALUE, 0},
    {"setup", a_setup, A_VALUE, 0},
    {"ice-lite", a_ice_lite, 0, 0},
    {"ice-options", a_ice_options, A_VALUE, 0},
    {"group", a_group, A_VALUE | A_SESSION, 0},
    {"mid", a_mid, A_VALUE | A_MEDIA, 0},
    {"sendrecv", a_dir, 0, SC_SDP_SENDRECV},
    {"sendonly", a_dir, 0, SC_SDP_SENDONLY},
    {"recvonly", a_dir, 0, SC_SDP_RECVONLY},
    {"inactive", a_dir, 0, SC_SDP_INACTIVE},
    {"rtcp-mux", a_rtcp_flag, A_MEDIA, 0},
    {"rtcp-rsize", a_rtcp_flag, A_MEDIA, 1},
    {"rtpmap", a_rtpmap, A_VALUE | A_MEDIA, 0},
    {"fmtp", a_fmtp, A_VALUE | A_MEDIA, 0},
    {"rtcp-fb", a_rtcp_fb, A_VALUE | A_MEDIA, 0},
    {"extmap", a_extmap, A_VALUE | A_MEDIA, 0},
    {"ssrc", a_ssrc, A_VALUE | A_MEDIA, 0},
    {"ssrc-group", a_ssrc_group, A_VALUE | A_MEDIA, 0},
    {"msid", a_msid, A_VALUE | A_MEDIA, 0},
    {"rid", a_rid, A_VALUE | A_MEDIA, 0},
    {"sctp-port", a_sctp_num, A_VALUE | A_MEDIA, 0},
    {"sctpmap", a_sctpmap, A_VALUE | A_MEDIA, 0},
    {"max-message-size", a_sctp_num, A_VALUE | A_MEDIA, 1},
};

static int parse_attr(sdp_ctx *c, char *p)
{
    char *val = strchr(p, ':');
    if (val)
        *val++ = '\0';
    const attr_spec *a = NULL;
    for (size_t i = 0; i < sizeof(attr_table) / sizeof(attr_table[0]); i++) {
        if (strcmp(attr_table[i].name, p) == 0) {
            a = &attr_table[i];
            break;
        }
    }
    if (!a)
        return 0; /* unknown attributes are ignored (RFC 8866 5.13) */
    if (a->flags & A_VALUE) {
        val = val ? skip_blanks(val) : NULL;
        if (!val || !val[0])
            return fail(c, -EINVAL, "empty a=%s", a->name);
    }
    /* What we keep ends up in answers, JSON and logs: ASCII only.  Free
     * text (s=, i=, unknown attributes) may still carry UTF-8. */
    if (val && !ascii_only(val))
        return fail(c, -EINVAL, "non-ASCII byte in a=%s", a->name);
    if ((a->flags & A_MEDIA) && !c->m)
        return 0;
    if ((a->flags & A_SESSION) && c->m)
        return 0;
    /* Payload-type attributes mean nothing on an SCTP m= line. */
    if ((a->fn == a_rtpmap || a->fn == a_fmtp || a->fn == a_rtcp_fb) && !c->rtp)
        return 0;
    return a->fn(c, a, val);
}

static int parse_line(sdp_ctx *c)
{
    char *l = c->line;
    if (c->lineno == 1) {
        if (strcmp(l, "v=0") != 0)
            return fail(c, -EINVAL, "first line is not v=0");
        return 0;
    }
    if (!l[0])
        return 0; /* stray blank lines (often a trailing one) are harmless */
    if (l[0] < 'a' || l[0] > 'z' || l[1] != '=')
        return fail(c, -EINVAL, "not a <type>=<value> line");
    switch (l[0]) {
    case 'o':
        return parse_origin(c, l + 2);
    case 'm':
        return parse_media(c, l + 2);
    case 'a':
        return parse_attr(c, l + 2);
    default:
        return 0; /* s=, t=, c=, b=, ...: nothing we need */
    }
}

/* Length of the line starting at s (without its "\n"), and where the next
 * one starts. */
static size_t line_len(const char *s, const char *end, const char **next)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    *next = nl ? nl + 1 : end;
    return (size_t)((nl ? nl : end) - s);
}

/* Size limits first, before any content is looked at, so an oversized
 * offer is always -E2BIG whatever it contains. */
static int check_limits(sdp_ctx *c, const char *text, size_t len)
{
    const char *s = text, *end = text + len, *next;
    unsigned n = 0;
    while (s < end) {
        size_t l = line_len(s, end, &next);
        if (l && s[l - 1] == '\r')
            l--;
        n++;
        if (n > SC_SDP_MAX_LINES)
            return fail(c, -E2BIG, "more than %d lines", SC_SDP_MAX_LINES);
        if (l > SC_SDP_MAX_LINE_LEN) {
            c->lineno = n;
            return fail(c, -E2BIG, "line longer than %d bytes", SC_SDP_MAX_LINE_LEN);
        }
        s = next;
    }
    return 0;
}

static void finish_media(sdp_ctx *c, sc_sdp_media *m, const sdp_level_flags *lf)
{
    if (!m->ice_ufrag[0])
        memcpy(m->ice_ufrag, c->ice_ufrag, sizeof(m->ice_ufrag));
    if (!m->ice_pwd[0])
        memcpy(m->ice_pwd, c->ice_pwd, sizeof(m->ice_pwd));
    if (!m->fingerprint[0]) {
        memcpy(m->fingerprint_alg, c->fingerprint_alg, sizeof(m->fingerprint_alg));
        memcpy(m->fingerprint, c->fingerprint, sizeof(m->fingerprint));
    }
    if (m->setup == SC_SDP_SETUP_NONE)
        m->setup = c->setup;
    if (!lf->has_ice_options)
        m->ice_options_trickle = c->ice_options_trickle;
    if (!lf->has_dir && c->sess.has_dir)
        m->dir = c->dir;
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (strcasecmp(m->codecs[i].name, "rtx") != 0)
            m->codecs[i].apt = -1; /* the header defines apt for rtx only */
}

static int finish(sdp_ctx *c)
{
    for (unsigned i = 0; i < c->out->n_media; i++) {
        sc_sdp_media *m = &c->out->media[i];
        const sdp_level_flags *lf = &c->media[i];
        finish_media(c, m, lf);
        if (!m->fingerprint[0] && (lf->fp_long_line || c->sess.fp_long_line)) {
            c->lineno = lf->fp_long_line ? lf->fp_long_line : c->sess.fp_long_line;
            return fail(c, -EINVAL, "a=fingerprint hash longer than %zu bytes and no other offered",
                        sizeof(m->fingerprint) - 1);
        }
    }
    return 0;
}

int sc_sdp_parse(const char *text, size_t len, sc_sdp *out, char *err, size_t errlen)
{
    /* ~5 KiB of state: fine on any thread's stack, and keeps the parser
     * allocation-free. */
    sdp_ctx c;
    memset(&c, 0, sizeof(c));
    c.err = err;
    c.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return fail(&c, -EINVAL, "no output");
    /* Only the session part: each m= section is zeroed as it starts
     * (parse_media), so the 1.1 MB of sections an offer does not use are
     * never touched (a fresh allocation's pages stay unfaulted). */
    memset(out, 0, offsetof(sc_sdp, media));
    c.out = out;
    if (!text || !len)
        return fail(&c, -EINVAL, "empty SDP");

    int rc = check_limits(&c, text, len);
    if (rc)
        return rc;
    const char *s = text, *end = text + len, *next;
    while (s < end) {
        size_t l = line_len(s, end, &next);
        c.lineno++;
        if (l && s[l - 1] == '\r')
            l--;
        while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
            l--;
        for (size_t i = 0; i < l; i++) {
            unsigned char ch = (unsigned char)s[i];
            if (ch == 0)
                return fail(&c, -EINVAL, "NUL byte in SDP");
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return fail(&c, -EINVAL, "control character 0x%02x in SDP", ch);
        }
        memcpy(c.line, s, l);
        c.line[l] = '\0';
        if ((rc = parse_line(&c)))
            return rc;
        s = next;
    }
    c.lineno = 0;
    return finish(&c);
}

const sc_sdp_codec *sc_sdp_find_codec(const sc_sdp_media *m, const char *name, uint32_t clock)
{
    if (!m || !name || !name[0])
        return NULL;
    unsigned n = m->n_codecs < SC_SDP_MAX_CODECS ? m->n_codecs : SC_SDP_MAX_CODECS;
    for (unsigned i = 0; i < n; i++) {
        const sc_sdp_codec *k = &m->codecs[i];
        /* clock 0 accepts any rate: callers looking for "H264" at any clock */
        if (strcasecmp(k->name, name) == 0 && (clock == 0 || k->clock == clock))
            return k;
    }
    return NULL;
}

const sc_sdp_codec *sc_sdp_find_rtx(const sc_sdp_media *m, uint8_t pt)
{
    if (!m)
        return NULL;
    unsigned n = m->n_codecs < SC_SDP_MAX_CODECS ? m->n_codecs : SC_SDP_MAX_CODECS;
    for (unsigned i = 0; i < n; i++) {
        const sc_sdp_codec *k = &m->codecs[i];
        if (k->apt == pt && strcasecmp(k->name, "rtx") == 0)
            return k;
    }
    return NULL;
}

uint8_t sc_sdp_find_extmap(const sc_sdp_media *m, const char *uri)
{
    if (!m || !uri)
        return 0;
    unsigned n = m->n_extmaps < SC_SDP_MAX_EXTMAPS ? m->n_extmaps : SC_SDP_MAX_EXTMAPS;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(m->extmaps[i].uri, uri) == 0)
            return m->extmaps[i].id;
    return 0;
}
