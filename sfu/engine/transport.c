/* A transport is one PeerConnection: its ICE-lite state (bound addresses,
 * consent), DTLS handshake and SRTP session.  Media semantics (what the
 * packets mean for the room) live in room.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/engine/private.h"
#include "sfu/engine/util.h"
#include "sfu/proto/rtp.h"
#include "sfu/proto/stun.h"

sc_transport *sc__transport_new(const sc_negotiated *neg, const sc_session_params *p, int slot)
{
    sc_transport *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->id = sc_random_u64() | 1;
    t->kind = p->kind;
    t->slot = slot;
    snprintf(t->room_name, sizeof(t->room_name), "%s", p->room);
    snprintf(t->name, sizeof(t->name), "%s", p->name ? p->name : "");
    snprintf(t->user_id, sizeof(t->user_id), "%s", p->user_id ? p->user_id : "");
    /* FNV-1a of the user id: a group member's own media is not sent back */
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = t->user_id; *c; c++) {
        h ^= (uint8_t)*c;
        h *= 0x100000001b3ull;
    }
    t->user_key = t->user_id[0] ? h : 0;
    t->in_group = strchr(t->room_name, '~') != NULL;
    t->neg = *neg;
    t->created_ms = t->last_consent_ms = sc_mono_ms();
    t->rtcp_ssrc = sc_random_u32() | 1;
    t->sub_index = -1;
    t->record = p->kind == SC_SESSION_PUBLISH && p->record;
    if (p->kind == SC_SESSION_PUBLISH) {
        sc__pub_init(t);
    } else {
        for (int s = 0; s < SC_MAX_SLOTS; s++)
            t->sub_audio[s].map = t->sub_video[s].map = -1;
        for (int i = 0; i < neg->n_tracks; i++) {
            const sc_track_map *m = &neg->tracks[i];
            if (m->slot < 0 || m->slot >= SC_MAX_SLOTS)
                continue;
            sc_sub_track *st = m->kind == SC_SDP_AUDIO ? &t->sub_audio[m->slot]
                                                       : &t->sub_video[m->slot];
            st->map = i;
            sc_rewriter_init(&st->rw, m->clock, m->kind == SC_SDP_VIDEO);
            st->current_layer = -1;
            st->target_layer = -1;
            st->auto_cap = -1;
            st->bwe_cap = -1;
            st->fwd_tid = st->user_tid = st->bwe_tid = 3;
            st->frame_pid = -1;
            st->rtx_seq = (uint16_t)sc_random_u32();
        }
        /* Transport-wide feedback negotiated: we estimate the downlink. */
        if (neg->twcc_id) {
            t->bwe = malloc(sizeof(*t->bwe));
            if (t->bwe)
                sc_bwe_init(t->bwe, sc_mono_us());
            else
                t->neg.twcc_id = 0; /* send no extension we cannot follow */
        }
    }
    return t;
}

void sc__transport_free(sc_transport *t)
{
    if (!t)
        return;
    sc_sctp_free(t->sctp); /* before DTLS: usrsctp may still hold its packets */
    if (t->dc)
        __atomic_store_n(&t->dc->open, false, __ATOMIC_RELAXED);
    sc__dc_gate_unref(t->dc);
    sc_dtls_free(t->dtls);
    sc_srtp_free(t->srtp);
    free(t->bwe);
    free(t->talk_rooms);
    for (int s = 0; s < SC_MAX_SLOTS && t->kind == SC_SESSION_SUBSCRIBE; s++)
        sc_rewriter_release(&t->sub_video[s].rw);
    free(t);
}

/* DTLS output: handshake flights go straight out (rare, not batched with
 * media but through the same queue so ordering is kept). */
static void dtls_send(void *ud, const uint8_t *buf, size_t len)
{
    sc_transport *t = ud;
    if (!t->selected || len > SC_MTU + 64)
        return;
    uint8_t *out = sc__worker_out_buf(t->w);
    memcpy(out, buf, len);
    sc__worker_out_commit(t->w, len, t->selected);
}

/* ---- data channels: the SCTP association's events (worker thread) ---- */

static void fill_dc_event(const sc_transport *t, sc_sfu_event *ev, sc_sfu_event_type type,
                          const char *label)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->session_id = t->id;
    ev->kind = t->kind;
    ev->slot = t->kind == SC_SESSION_PUBLISH ? t->slot : -1;
    snprintf(ev->room, sizeof(ev->room), "%s", t->room_name);
    snprintf(ev->name, sizeof(ev->name), "%s", t->name);
    snprintf(ev->user_id, sizeof(ev->user_id), "%s", t->user_id);
    snprintf(ev->label, sizeof(ev->label), "%s", label ? label : "");
}

static void sctp_send(void *ud, const uint8_t *pkt, size_t len)
{
    sc_transport *t = ud;
    if (sc_dtls_send(t->dtls, pkt, len) < 0)
        SC_COUNT(t->w, drop_sctp, 1);
}

static void sctp_wake(void *ud)
{
    sc_transport *t = ud;
    sc__worker_sctp_wake(t->w, t->id);
}

static void sctp_open(void *ud, uint16_t stream, const char *label, const char *protocol)
{
    sc_transport *t = ud;
    if (__atomic_exchange_n(&t->dc->open, true, __ATOMIC_RELAXED))
        return; /* the session already has an open channel */
    SC_INFO_CTX("transport", t->room_name, t->id,
                "session %016llx: data channel \"%s\" open (stream %u)", (unsigned long long)t->id,
                label, stream);
    sc_sfu_event ev;
    fill_dc_event(t, &ev, SC_EVENT_DATA_OPEN, label);
    sc__sfu_emit(t->w->sfu, &ev);
}

static void sctp_message(void *ud, uint16_t stream, const char *label, const uint8_t *buf,
                         size_t len, bool binary)
{
    sc_transport *t = ud;
    /* A peer sending faster than the signalling thread reads is cut short
     * here, not queued without bound. */
    if (__atomic_load_n(&t->dc->rx_pending, __ATOMIC_RELAXED) >= SC_DC_RX_PENDING_MAX) {
        SC_COUNT(t->w, drop_sctp, 1);
        return;
    }
    sc_sfu_event ev;
    fill_dc_event(t, &ev, SC_EVENT_DATA, label);
    ev.data = malloc(len + 1);
    if (!ev.data) {
        SC_COUNT(t->w, drop_sctp, 1);
        return;
    }
    if (len)
        memcpy(ev.data, buf, len);
    ev.data[len] = 0;
    ev.len = len;
    ev.binary = binary;
    __atomic_add_fetch(&t->dc->rx_pending, 1, __ATOMIC_RELAXED);
    SC_COUNT(t->w, dc_messages_rx, 1);
    sc__sfu_emit(t->w->sfu, &ev);
}

static void sctp_closed(void *ud, uint16_t stream, const char *label)
{
    sc_transport *t = ud;
    if (sc_sctp_has_open_channel(t->sctp) || t->closing)
        return;
    if (!__atomic_exchange_n(&t->dc->open, false, __ATOMIC_RELAXED))
        return;
    SC_INFO_CTX("transport", t->room_name, t->id, "session %016llx: data channel \"%s\" closed",
                (unsigned long long)t->id, label);
    sc_sfu_event ev;
    fill_dc_event(t, &ev, SC_EVENT_DATA_CLOSED, label);
    sc__sfu_emit(t->w->sfu, &ev);
}

static void sctp_writable(void *ud)
{
    sc_transport *t = ud;
    __atomic_store_n(&t->dc->full, false, __ATOMIC_RELAXED);
}

static void sctp_drop(void *ud, const char *why)
{
    sc_transport *t = ud;
    SC_COUNT(t->w, drop_sctp, 1);
    SC_DEBUG_CTX("transport", t->room_name, t->id, "session %016llx: data channel drop: %s",
                 (unsigned long long)t->id, why);
}

static const sc_sctp_events sctp_events = {
    .send = sctp_send, .wake = sctp_wake, .open = sctp_open, .message = sctp_message,
    .closed = sctp_closed, .writable = sctp_writable, .drop = sctp_drop,
};

static void start_sctp(sc_transport *t);

/* DTLS application data is SCTP (RFC 8261). */
static void dtls_data(void *ud, const uint8_t *buf, size_t len)
{
    sc_transport *t = ud;
    /* The peer's INIT may share a datagram with its last handshake flight,
     * before on_dtls_state has seen CONNECTED. */
    start_sctp(t);
    if (!t->sctp) {
        SC_COUNT(t->w, drop_sctp, 1);
        return;
    }
    sc_sctp_input(t->sctp, buf, len);
}

void sc__transport_sctp_poll(sc_transport *t)
{
    sc_sctp_poll(t->sctp);
}

void sc__transport_send_data(sc_transport *t, const uint8_t *buf, size_t len, bool binary)
{
    if (t->dc)
        __atomic_sub_fetch(&t->dc->inflight, len, __ATOMIC_RELAXED);
    int r = t->sctp ? sc_sctp_send(t->sctp, buf, len, binary) : -EAGAIN;
    if (r == 0) {
        SC_COUNT(t->w, dc_messages_tx, 1);
        return;
    }
    if (r == -EAGAIN && t->dc)
        __atomic_store_n(&t->dc->full, true, __ATOMIC_RELAXED);
    SC_COUNT(t->w, drop_sctp, 1);
}

static void start_sctp(sc_transport *t)
{
    if (!t->neg.sctp || !t->dc || t->sctp)
        return;
    t->sctp = sc_sctp_new(t->neg.sctp_remote_port, t->neg.sctp_max_message, &sctp_events, t);
    if (!t->sctp)
        SC_WARN_CTX("transport", t->room_name, t->id, "session %016llx: cannot start SCTP",
                    (unsigned long long)t->id);
}

static void on_dtls_state(sc_transport *t, sc_dtls_state st)
{
    if (st == SC_DTLS_FAILED) {
        SC_INFO_CTX("transport", t->room_name, t->id, "session %016llx: DTLS failed: %s",
                    (unsigned long long)t->id, sc_dtls_error(t->dtls));
        SC_COUNT(t->w, dtls_failed, 1);
        sc__transport_close(t, "dtls-failed");
        return;
    }
    if (st == SC_DTLS_CLOSED) {
        sc__transport_close(t, "closed");
        return;
    }
    if (st != SC_DTLS_CONNECTED || t->connected)
        return;
    sc_srtp_keys keys;
    if (sc_dtls_srtp_keys(t->dtls, &keys) < 0 || !(t->srtp = sc_srtp_new(&keys))) {
        SC_COUNT(t->w, dtls_failed, 1);
        sc__transport_close(t, "dtls-failed");
        return;
    }
    t->connected = true;
    SC_COUNT(t->w, dtls_handshakes, 1);
    bool tcp = t->selected && sc_path_is_tcp(&t->selected->path);
    SC_INFO_CTX("transport", t->room_name, t->id,
                "session %016llx (%s in %s): connected over %s, SRTP %s",
                (unsigned long long)t->id, t->kind == SC_SESSION_PUBLISH ? "publisher" : "viewer",
                t->room_name, tcp ? "ICE-TCP" : "UDP",
                keys.profile == SC_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM"
                                                         : "AES_CM_128_HMAC_SHA1_80");
    sc_sfu_event ev = {.type = SC_EVENT_SESSION_CONNECTED, .session_id = t->id, .kind = t->kind,
                       .slot = t->kind == SC_SESSION_PUBLISH ? t->slot : -1, .tcp = tcp};
    snprintf(ev.room, sizeof(ev.room), "%s", t->room_name);
    snprintf(ev.name, sizeof(ev.name), "%s", t->name);
    snprintf(ev.user_id, sizeof(ev.user_id), "%s", t->user_id);
    sc__sfu_emit(t->w->sfu, &ev);
    sc__room_on_connected(t);
    start_sctp(t);
}

static int ensure_dtls(sc_transport *t)
{
    if (t->dtls)
        return 0;
    /* Without a data channel nothing rides on DTLS after the keys: with no
     * data callback sc_dtls drops its OpenSSL state (about 40 KiB) as soon
     * as the handshake completes. */
    t->dtls = sc_dtls_new(sc__sfu_cert(t->w->sfu), t->neg.dtls_role, t->neg.fp_alg, t->neg.fp,
                          dtls_send, t->neg.sctp ? dtls_data : NULL, t);
    if (!t->dtls) {
        SC_COUNT(t->w, dtls_failed, 1);
        sc__transport_close(t, "dtls-failed");
        return -EINVAL;
    }
    return 0;
}

void sc__transport_on_stun(sc_worker *w, const uint8_t *buf, size_t len, const sc_path *from)
{
    char ufrag[257];
    if (sc_stun_local_ufrag(buf, len, ufrag, sizeof(ufrag)) < 0) {
        SC_COUNT(w, drop_stun_invalid, 1);
        return;
    }
    sc_transport *t = sc__worker_find_ufrag(w, ufrag);
    if (!t || t->closing) {
        SC_COUNT(w, drop_stun_invalid, 1);
        return;
    }
    sc_stun_request req;
    uint8_t resp[512];
    int n = sc_stun_answer_binding(buf, len, t->neg.local_ufrag, t->neg.local_pwd,
                                   sc_path_sockaddr(from), from->len, resp, sizeof(resp), &req);
    if (n < 0) {
        SC_COUNT(w, drop_stun_invalid, 1);
        return;
    }
    if (strcmp(req.remote_ufrag, t->neg.remote_ufrag) != 0) {
        /* Checks from a previous ICE generation of the peer. */
        SC_COUNT(w, drop_stun_invalid, 1);
        return;
    }
    sc_binding *b = sc__worker_bind(w, t, from);
    if (!b)
        return;
    memcpy(sc__worker_out_buf(w), resp, (size_t)n);
    sc__worker_out_commit(w, (size_t)n, b);
    if (!req.controlling) /* a role-conflict answer: nothing is bound by it */
        return;
    t->last_consent_ms = sc_mono_ms();
    if (req.use_candidate || !t->selected)
        t->selected = b;
    if (ensure_dtls(t) < 0)
        return;
    if (sc_dtls_state_get(t->dtls) == SC_DTLS_NEW && t->neg.dtls_role == SC_DTLS_ROLE_CLIENT)
        on_dtls_state(t, sc_dtls_start(t->dtls));
}

void sc__transport_on_packet(sc_transport *t, uint8_t *buf, size_t len)
{
    sc_worker *w = t->w;
    uint8_t b = buf[0];
    if (b >= 20 && b <= 63) {
        if (!sc_dtls_datagram_valid(buf, len)) {
            SC_COUNT(w, drop_dtls, 1);
            return;
        }
        if (ensure_dtls(t) < 0)
            return;
        on_dtls_state(t, sc_dtls_feed(t->dtls, buf, len));
        return;
    }
    if (b < 128 || b > 191 || !t->connected) {
        SC_COUNT(w, drop_srtp, 1);
        return;
    }
    if (sc_rtp_is_rtcp(buf, len)) {
        if (sc_srtp_unprotect_rtcp(t->srtp, buf, &len) < 0) {
            SC_COUNT(w, drop_srtp, 1);
            return;
        }
        sc__room_on_rtcp(t, buf, len);
        return;
    }
    if (sc_srtp_unprotect_rtp(t->srtp, buf, &len) < 0) {
        SC_COUNT(w, drop_srtp, 1);
        return;
    }
    sc__room_on_rtp(t, buf, len);
}

void sc__transport_send_rtcp(sc_transport *t, uint8_t *buf, size_t len)
{
    if (!t->connected || !t->selected)
        return;
    uint8_t *out = sc__worker_out_buf(t->w);
    memcpy(out, buf, len);
    if (sc_srtp_protect_rtcp(t->srtp, out, &len, SC_MTU + 64) < 0)
        return;
    sc__worker_out_commit(t->w, len, t->selected);
}

void sc__transport_tick(sc_transport *t, uint64_t now_ms, bool dtls_due, bool second_due)
{
    int timeout = sc__sfu_config(t->w->sfu)->consent_timeout_ms;
    if (dtls_due && t->dtls && !t->connected)
        on_dtls_state(t, sc_dtls_tick(t->dtls));
    if (dtls_due && t->connected) {
        if (t->kind == SC_SESSION_PUBLISH)
            sc__pub_pending_keyframes(t, now_ms);
        else
            sc__sub_fast_tick(t, now_ms);
    }
    if (!second_due || t->closing)
        return;
    /* Answered but never secured (ICE checks answered, DTLS not finished):
     * such a session would otherwise hold its place in the room for as
     * long as the peer keeps consent alive. */
    int dtls_timeout = sc__sfu_config(t->w->sfu)->dtls_timeout_ms;
    if (!t->connected && dtls_timeout > 0 && now_ms - t->created_ms > (uint64_t)dtls_timeout) {
        SC_INFO_CTX("transport", t->room_name, t->id,
                    "session %016llx: DTLS not complete %d ms after the answer, closing",
                    (unsigned long long)t->id, dtls_timeout);
        SC_COUNT(t->w, dtls_timeouts, 1);
        sc__transport_close(t, "dtls-timeout");
        return;
    }
    /* RFC 7675: the peer's consent checks keep the session alive. */
    if (now_ms - t->last_consent_ms > (uint64_t)timeout) {
        SC_INFO_CTX("transport", t->room_name, t->id,
                    "session %016llx: no consent for %d ms, closing", (unsigned long long)t->id,
                    timeout);
        SC_COUNT(t->w, consent_expired, 1);
        sc__transport_close(t, "consent-expired");
        return;
    }
    if (t->connected)
        sc__room_tick(t, now_ms);
}
