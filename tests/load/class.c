/* loadgen --class: see class.h.
 *
 * Three threads.  This one runs the script: signalling (Stagecast's /ws or
 * Janus's API, blocking, one request at a time), the measurements and the
 * switches.  The media thread runs every publisher (the clip's frames, each
 * publisher at its own place in the clip, a keyframe to a publisher that is
 * asked for one) and reads their RTCP.  The receive thread owns every
 * subscriber peer in one epoll loop, as loadgen's viewer thread does.  Peers
 * are handed to those threads through a locked queue and an eventfd; after
 * that only the owning thread touches them until both threads have stopped.
 *
 * Every publisher names itself in its packets' trailer (lg_peer.trailer_src
 * = participant + 1), so a subscriber can tell whose packet it got: a timed
 * switch (lg_peer_watch) ends at the first packet of a new group-mate. */
#include "class.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "janus.h"
#include "media.h"
#include "peer.h"
#include "probe.h"
#include "report.h"
#include "rx.h"
#include "ws.h"

#define CL_CONNECT_TIMEOUT_US 30000000  /* every peer up, every subscriber with media */
#define CL_SWITCH_TIMEOUT_US 5000000    /* a switch not seen by then is counted as missed */
#define CL_SNAPS 3                      /* loss at: window start, window end, switches end */

typedef struct cl_loss {
    const lg_peer *p;          /* the subscriber peer it was taken from */
    uint64_t expected, lost;
} cl_loss;

/* The receive thread: participants' subscriber peers. */
typedef struct cl_rx {
    pthread_mutex_t lock;      /* guards the commands below */
    int evfd;
    lg_peer *add[2 * LG_CLASS_MAX];
    int n_add;
    lg_peer *drop[LG_CLASS_MAX]; /* a switched Janus subscriber's old peer */
    int n_drop;
    bool arm;                  /* a switch to time: watch_peer, watch_srcs */
    lg_peer *watch_peer;
    int watch_srcs[LG_CLASS_MAX], n_watch;
    int snap_req;              /* 1 + which snapshot to take, 0 none */
    /* answers, read by the script */
    atomic_int armed;          /* count of arm commands applied */
    atomic_int_fast64_t first_us, first_video_us;
    atomic_int snaps_done;
    cl_loss snaps[CL_SNAPS][LG_CLASS_MAX];
    atomic_bool stop, lat_enabled;
    atomic_int connected, failed, with_media, tid;
    lg_rx_counters rx;
    /* the thread's own */
    lg_latency lat;
    sc_dtls_cert *cert;
    lg_peer *all[2 * LG_CLASS_MAX];
    int n_all;
    lg_peer *retired[2 * LG_CLASS_MAX]; /* freed when the run ends */
    int n_retired;
    lg_peer *watched;          /* the switch being timed now */
} cl_rx;

/* The media thread: participants' publisher peers. */
typedef struct cl_media {
    pthread_mutex_t lock;
    int evfd;
    lg_peer *add[LG_CLASS_MAX];
    int n_add;
    atomic_bool stop;
    atomic_int connected, failed;
    atomic_uint_fast64_t sent;  /* RTP packets sent by all publishers */
    /* the thread's own (read by the script once it stopped) */
    sc_dtls_cert *cert;
    lg_media *media;
    lg_frame *frame, *other, *key;
    lg_peer *pubs[LG_CLASS_MAX];
    int n_pubs, n_class, fps;
    uint64_t frames, keyframes_sent, keyframe_requests, audio_packets;
} cl_media;

typedef struct cl_part {
    int group;                 /* the group (0-based) whose media it receives now */
    int pub_group;             /* the group its publisher is in */
    char user[160];            /* Stagecast user id */
    lg_ws *ws;                 /* Stagecast /ws */
    int next_id;
    bool in_group;             /* a `group` message put it in a group, publish allowed */
    int64_t t_group_msg_us;    /* the last `group` message */
    lg_peer *pub, *sub;
    uint64_t feed;             /* Janus: its publisher's feed */
} cl_part;

typedef struct cl_switch {
    int participant, from, to;
    int64_t t0_us;             /* the request left (group_move, or Janus's first message) */
    int64_t ok_us, first_us, first_video_us, group_msg_us; /* from t0; -1 never */
    const lg_peer *fresh;      /* Janus: the new subscriber (ICE and DTLS anew) */
} cl_switch;

typedef struct cl_snap {
    int64_t t_us, server_cpu_us, self_cpu_us, rx_thread_cpu_us;
    uint64_t forwarded, pub_sent, rx_rtp, udp_rcvbuf, udp_sndbuf, busy, total, softirq, steal;
} cl_snap;

typedef struct cl_run {
    const lg_class_opts *o;
    int n;
    cl_part parts[LG_CLASS_MAX];
    lg_ws *trainer;
    int trainer_next_id;
    int group_ids[LG_CLASS_MAX]; /* Stagecast's ids of the groups, in order */
    int n_group_ids;
    uint32_t rng;
    sc_sdp *sdp;
    const char *pub_fp, *sub_fp;
    uint64_t ctl_session, ctl_handle; /* Janus: the handle that created the rooms */
    int64_t t_open_us;
    int64_t rss0, rss1;
    cl_switch *sw;
    int n_sw;
    cl_media m;
    cl_rx v;
} cl_run;

/* ---- media thread --------------------------------------------------------- */

/* Clear a thread's eventfd before it looks at its queue. */
static void unwake(int evfd)
{
    uint64_t v;
    if (read(evfd, &v, sizeof(v)) < 0) {
        /* nothing was written: the queue is looked at anyway */
    }
}

static void media_adopt(cl_media *m, int ep)
{
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->n_add; i++) {
        lg_peer *p = m->add[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        m->pubs[m->n_pubs++] = p;
        p->want_keyframe = true; /* its first frame: nobody has a picture yet */
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0 || lg_peer_start(p, m->cert, lg_now_us()) < 0)
            atomic_fetch_add(&m->failed, 1);
    }
    m->n_add = 0;
    pthread_mutex_unlock(&m->lock);
}

/* One video frame for every publisher: participant i sends the clip frame
 * i/n of the clip ahead (independent cameras), or the keyframe when it was
 * asked for one (only that publisher: the others' viewers need none). */
static void media_video(cl_media *m)
{
    int clip_n = lg_media_clip_frames(m->media);
    bool have_key = false;

    if (lg_media_video_frame(m->media, m->frame) < 0)
        return;
    m->frames++;
    for (int k = 0; k < m->n_pubs; k++) {
        lg_peer *p = m->pubs[k];
        const lg_frame *f = m->frame;
        if (p->state != LG_PEER_CONNECTED)
            continue;
        if (p->want_keyframe) {
            p->want_keyframe = false;
            if (have_key || lg_media_clip_keyframe(m->media, m->key) == 0) {
                have_key = true;
                f = m->key;
                m->keyframes_sent++;
            }
        } else if (clip_n > 0 && lg_media_video_frame_shifted(m->media,
                                                              (p->trailer_src - 1) * clip_n /
                                                                  m->n_class,
                                                              m->other) == 0) {
            f = m->other;
        }
        for (int i = 0; i < f->n; i++) {
            int64_t t = lg_now_us() | (f->keyframe ? (int64_t)LG_TRAILER_KEY : 0);
            if (lg_peer_send_rtp(p, true, f->pkts[i].data, f->pkts[i].len, f->pkts[i].marker,
                                 f->ts90k, t) == 0)
                atomic_fetch_add_explicit(&m->sent, 1, memory_order_relaxed);
        }
    }
}

static void media_audio(cl_media *m)
{
    uint8_t pkt[1000];
    int n = lg_media_audio_frame(m->media, pkt, sizeof(pkt));
    uint32_t ts = (uint32_t)(m->audio_packets * 960);

    if (n <= 0)
        return;
    m->audio_packets++;
    for (int k = 0; k < m->n_pubs; k++)
        if (lg_peer_send_rtp(m->pubs[k], false, pkt, (size_t)n, false, ts, lg_now_us()) == 0)
            atomic_fetch_add_explicit(&m->sent, 1, memory_order_relaxed);
}

static void *media_thread(void *arg)
{
    cl_media *m = arg;
    struct epoll_event evs[32], ev = {.events = EPOLLIN, .data.ptr = NULL};
    uint8_t buf[2048];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int64_t next_video = lg_now_us(), next_audio = next_video;

    if (ep < 0)
        return NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, m->evfd, &ev);
    while (!atomic_load(&m->stop)) {
        int64_t now = lg_now_us(), next = now + 10000;
        for (int k = 0; k < m->n_pubs; k++) {
            lg_peer *p = m->pubs[k];
            lg_peer_state before = p->state;
            int64_t t = lg_peer_tick(p, now);
            if (p->state != before && p->state == LG_PEER_FAILED)
                atomic_fetch_add(&m->failed, 1);
            if (t < next)
                next = t;
        }
        if (now >= next_video) {
            media_video(m);
            next_video += 1000000 / m->fps;
            if (next_video < now - 100000) /* fell behind: skip rather than burst */
                next_video = now + 1000000 / m->fps;
        }
        if (now >= next_audio) {
            media_audio(m);
            next_audio += 20000;
            if (next_audio < now - 100000)
                next_audio = now + 20000;
        }
        next = next_video < next ? next_video : next;
        next = next_audio < next ? next_audio : next;
        now = lg_now_us();
        int n = epoll_wait(ep, evs, 32, next > now ? (int)((next - now + 999) / 1000) : 0);
        for (int i = 0; i < n; i++) {
            lg_peer *p = evs[i].data.ptr;
            ssize_t len;
            if (!p) {
                unwake(m->evfd);
                media_adopt(m, ep);
                continue;
            }
            lg_peer_state before = p->state;
            while ((len = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
                lg_peer_input(p, buf, (size_t)len, lg_now_us(), 0, NULL);
            if (p->state != before && p->state == LG_PEER_CONNECTED)
                atomic_fetch_add(&m->connected, 1);
            else if (p->state != before && p->state == LG_PEER_FAILED)
                atomic_fetch_add(&m->failed, 1);
        }
    }
    for (int k = 0; k < m->n_pubs; k++) {
        m->keyframe_requests += m->pubs[k]->plis + m->pubs[k]->firs;
    }
    close(ep);
    return NULL;
}

/* ---- receive thread --------------------------------------------------------- */

static void rx_settle(cl_rx *v, lg_peer *p, lg_peer_state before, uint64_t rtp_before)
{
    if (p->state != before && p->state == LG_PEER_CONNECTED)
        atomic_fetch_add(&v->connected, 1);
    else if (p->state != before && p->state == LG_PEER_FAILED)
        atomic_fetch_add(&v->failed, 1);
    if (!rtp_before && p->rx_rtp)
        atomic_fetch_add(&v->with_media, 1);
}

/* The queued commands: new peers, peers to drop, a switch to time, a loss
 * snapshot. */
static void rx_commands(cl_rx *v, int ep)
{
    pthread_mutex_lock(&v->lock);
    for (int i = 0; i < v->n_add; i++) {
        lg_peer *p = v->add[i];
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
        v->all[v->n_all++] = p;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0 || lg_peer_start(p, v->cert, lg_now_us()) < 0)
            atomic_fetch_add(&v->failed, 1);
    }
    v->n_add = 0;
    for (int d = 0; d < v->n_drop; d++) {
        for (int i = 0; i < v->n_all; i++) {
            if (v->all[i] != v->drop[d])
                continue;
            epoll_ctl(ep, EPOLL_CTL_DEL, v->drop[d]->fd, NULL);
            v->all[i] = v->all[--v->n_all];
            v->retired[v->n_retired++] = v->drop[d];
            break;
        }
    }
    v->n_drop = 0;
    if (v->arm) {
        v->arm = false;
        if (v->watched && v->watched != v->watch_peer)
            v->watched->watching = false;
        v->watched = v->watch_peer;
        if (v->watched && v->n_watch >= 0) /* < 0: armed before it was handed over */
            lg_peer_watch(v->watched, v->watch_srcs, v->n_watch);
        atomic_store(&v->first_us, 0);
        atomic_store(&v->first_video_us, 0);
        atomic_fetch_add(&v->armed, 1);
    }
    if (v->snap_req) {
        cl_loss *s = v->snaps[v->snap_req - 1];
        memset(s, 0, sizeof(v->snaps[0]));
        for (int i = 0; i < v->n_all; i++) {
            lg_peer *p = v->all[i];
            if (p->index < 0 || p->index >= LG_CLASS_MAX || p->state != LG_PEER_CONNECTED)
                continue;
            s[p->index].p = p;
            s[p->index].lost = lg_peer_lost(p, &s[p->index].expected);
        }
        v->snap_req = 0;
        atomic_fetch_add(&v->snaps_done, 1);
    }
    pthread_mutex_unlock(&v->lock);
}

static void *rx_thread(void *arg)
{
    cl_rx *v = arg;
    struct epoll_event evs[256], ev = {.events = EPOLLIN, .data.ptr = NULL};
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int64_t next_tick = 0;

    atomic_store(&v->tid, (int)syscall(SYS_gettid));
    if (ep < 0)
        return NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, v->evfd, &ev);
    while (!atomic_load(&v->stop)) {
        int n = epoll_wait(ep, evs, 256, 10);
        v->lat.enabled = atomic_load_explicit(&v->lat_enabled, memory_order_relaxed);
        for (int i = 0; i < n; i++) {
            lg_peer *p = evs[i].data.ptr;
            if (!p) {
                unwake(v->evfd);
                rx_commands(v, ep);
                continue;
            }
            lg_peer_state before = p->state;
            uint64_t rtp_before = p->rx_rtp;
            while (lg_rx_udp_batch(p, &v->lat, &v->rx) == LG_RX_BATCH) {
            }
            rx_settle(v, p, before, rtp_before);
            if (p == v->watched && p->watch_first_us) {
                atomic_store(&v->first_us, p->watch_first_us);
                atomic_store(&v->first_video_us, p->watch_first_video_us);
            }
        }
        int64_t now = lg_now_us();
        if (now >= next_tick) {
            /* consent, check retransmits, DTLS timeouts: 10 ms granularity */
            next_tick = now + 10000;
            for (int i = 0; i < v->n_all; i++) {
                lg_peer *p = v->all[i];
                lg_peer_state before = p->state;
                lg_peer_tick(p, now);
                rx_settle(v, p, before, p->rx_rtp);
            }
        }
    }
    close(ep);
    return NULL;
}

static void wake(int evfd)
{
    uint64_t one = 1;
    if (write(evfd, &one, sizeof(one)) < 0) {
        /* the thread looks at its queue on its next turn anyway */
    }
}

static void hand_to_rx(cl_run *r, lg_peer *p)
{
    pthread_mutex_lock(&r->v.lock);
    r->v.add[r->v.n_add++] = p;
    pthread_mutex_unlock(&r->v.lock);
    wake(r->v.evfd);
}

static void hand_to_media(cl_run *r, lg_peer *p)
{
    pthread_mutex_lock(&r->m.lock);
    r->m.add[r->m.n_add++] = p;
    pthread_mutex_unlock(&r->m.lock);
    wake(r->m.evfd);
}

/* Time a switch on p (NULL: stop timing) from the packets of srcs (n < 0:
 * p was armed with lg_peer_watch before it was handed over); back once the
 * receive thread applied it. */
static void rx_watch(cl_run *r, lg_peer *p, const int *srcs, int n)
{
    int before = atomic_load(&r->v.armed);
    pthread_mutex_lock(&r->v.lock);
    r->v.arm = true;
    r->v.watch_peer = p;
    if (n > 0)
        memcpy(r->v.watch_srcs, srcs, (size_t)n * sizeof(*srcs));
    r->v.n_watch = n;
    pthread_mutex_unlock(&r->v.lock);
    wake(r->v.evfd);
    while (atomic_load(&r->v.armed) == before)
        usleep(200);
}

static void rx_snapshot(cl_run *r, int which)
{
    int before = atomic_load(&r->v.snaps_done);
    pthread_mutex_lock(&r->v.lock);
    r->v.snap_req = which + 1;
    pthread_mutex_unlock(&r->v.lock);
    wake(r->v.evfd);
    while (atomic_load(&r->v.snaps_done) == before)
        usleep(200);
}

/* ---- Stagecast: /ws ---------------------------------------------------------- */

/* A message the script did not wait for: the groups as the trainer sees
 * them, a participant's `group` (where it is now). */
static void on_message(cl_run *r, cl_part *who, json_t *o)
{
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!type)
        return;
    if (!who && strcmp(type, "groups") == 0) {
        json_t *gs = json_object_get(o, "groups"), *g;
        size_t i;
        r->n_group_ids = 0;
        json_array_foreach(gs, i, g) {
            if (r->n_group_ids < LG_CLASS_MAX)
                r->group_ids[r->n_group_ids++] = (int)json_integer_value(json_object_get(g, "id"));
        }
    } else if (who && strcmp(type, "group") == 0) {
        who->t_group_msg_us = lg_now_us();
        who->in_group = json_is_object(json_object_get(o, "group")) &&
                        json_is_true(json_object_get(o, "publish"));
    }
}

static json_t *ws_read(lg_ws *ws)
{
    char *text = lg_ws_recv(ws);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return o;
}

/* Send msg (consumed) on who's connection (NULL: the trainer's) and read
 * until its reply; what comes before goes to on_message.  The reply, or
 * NULL with a reason in err. */
static json_t *ws_request(cl_run *r, cl_part *who, json_t *msg, char *err, size_t errlen)
{
    lg_ws *ws = who ? who->ws : r->trainer;
    int id = who ? ++who->next_id : ++r->trainer_next_id;
    json_object_set_new(msg, "id", json_integer(id));
    char *text = json_dumps(msg, JSON_COMPACT);
    const char *type = json_string_value(json_object_get(msg, "type"));
    int rc = text ? lg_ws_send(ws, text, strlen(text)) : -ENOMEM;

    free(text);
    if (rc < 0) {
        snprintf(err, errlen, "%s: send failed", type);
        json_decref(msg);
        return NULL;
    }
    for (;;) {
        json_t *o = ws_read(ws);
        if (!o) {
            snprintf(err, errlen, "%s: no reply", type);
            break;
        }
        if (json_integer_value(json_object_get(o, "re")) == id) {
            const char *t = json_string_value(json_object_get(o, "type"));
            if (t && strcmp(t, "error") != 0) {
                json_decref(msg);
                return o;
            }
            snprintf(err, errlen, "%s: %s (%s)", type,
                     json_string_value(json_object_get(o, "code")) ?: "?",
                     json_string_value(json_object_get(o, "message")) ?: "");
            json_decref(o);
            break;
        }
        on_message(r, who, o);
        json_decref(o);
    }
    json_decref(msg);
    return NULL;
}

/* Read what the server pushed on every connection, for up to timeout_ms. */
static void ws_drain(cl_run *r, int timeout_ms)
{
    struct pollfd pf[LG_CLASS_MAX + 1];
    cl_part *who[LG_CLASS_MAX + 1];
    int n = 0;

    if (r->o->janus) {
        lg_janus_drain();
        if (timeout_ms > 0)
            usleep((useconds_t)timeout_ms * 1000);
        return;
    }
    if (r->trainer) {
        pf[n] = (struct pollfd){.fd = lg_ws_fd(r->trainer), .events = POLLIN};
        who[n++] = NULL;
    }
    for (int i = 0; i < r->n; i++) {
        if (!r->parts[i].ws)
            continue;
        pf[n] = (struct pollfd){.fd = lg_ws_fd(r->parts[i].ws), .events = POLLIN};
        who[n++] = &r->parts[i];
    }
    int64_t end = lg_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int64_t left = end - lg_now_us();
        if (poll(pf, (nfds_t)n, left > 0 ? (int)(left / 1000) : 0) <= 0)
            return;
        for (int i = 0; i < n; i++) {
            if (!(pf[i].revents & POLLIN))
                continue;
            json_t *o = ws_read(who[i] ? who[i]->ws : r->trainer);
            if (o)
                on_message(r, who[i], o);
            json_decref(o);
        }
    }
}

/* Until `until`, keeping every connection read. */
static void sig_sleep(cl_run *r, int64_t until)
{
    for (int64_t now = lg_now_us(); now < until; now = lg_now_us()) {
        int64_t left = (until - now) / 1000;
        ws_drain(r, left > 50 ? 50 : (int)left);
    }
}

/* The token command with every "{i}" replaced by i. */
static char *mint(const char *cmd, int i)
{
    char out[4096];
    size_t o = 0;
    for (const char *c = cmd; *c && o + 16 < sizeof(out);) {
        if (strncmp(c, "{i}", 3) == 0) {
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%d", i);
            c += 3;
        } else {
            out[o++] = *c++;
        }
    }
    out[o] = 0;
    return lg_token_from_cmd(out);
}

/* peer's offer as who's `publish` or `subscribe` (kind); the answer goes
 * into peer.  0 or a negative errno with a reason in err. */
static int sc_negotiate(cl_run *r, cl_part *who, lg_peer *peer, const char *kind,
                        const char *fingerprint, char *err, size_t errlen)
{
    char *offer = lg_peer_offer(peer, fingerprint);
    peer->t_request_us = lg_now_us();
    json_t *rep = ws_request(r, who, json_pack("{ssss}", "type", kind, "sdp", offer ? offer : ""),
                             err, errlen);
    free(offer);
    const char *sdp = json_string_value(json_object_get(rep, "sdp"));
    int rc = sdp ? lg_peer_set_answer(peer, sdp, strlen(sdp), r->sdp, err, errlen) : -EPROTO;
    json_decref(rep);
    return rc;
}

/* Participant i: its connection, join, and a subscribe session with the
 * class's view_slots pairs. */
static int sc_participant(cl_run *r, int i, char *err, size_t errlen)
{
    cl_part *p = &r->parts[i];
    char *token = mint(r->o->token_cmd, i);
    json_t *rep;

    if (!token) {
        snprintf(err, errlen, "the token command gave no token");
        return -EINVAL;
    }
    p->ws = lg_ws_open(r->o->host, r->o->port, "/ws", NULL, err, errlen);
    rep = p->ws ? ws_request(r, p, json_pack("{ssss}", "type", "join", "token", token), err,
                             errlen)
                : NULL;
    free(token);
    if (!rep)
        return -EPROTO;
    snprintf(p->user, sizeof(p->user), "%s",
             json_string_value(json_object_get(rep, "user_id")) ?: "");
    int pairs = (int)json_integer_value(json_object_get(rep, "view_slots"));
    json_decref(rep);
    p->sub = lg_peer_new(false, pairs > 0 ? pairs : 13, &r->rng);
    if (!p->sub)
        return -ENOMEM;
    p->sub->index = i;
    p->sub->sample_every = r->o->sample_every;
    int rc = sc_negotiate(r, p, p->sub, "subscribe", r->sub_fp, err, errlen);
    if (rc < 0)
        return rc;
    hand_to_rx(r, p->sub);
    return 0;
}

/* Participant i, now in its group, publishes there. */
static int sc_publish(cl_run *r, int i, char *err, size_t errlen)
{
    cl_part *p = &r->parts[i];

    while (!p->in_group) {
        json_t *o = ws_read(p->ws);
        if (!o) {
            snprintf(err, errlen, "no `group` message putting it in a group");
            return -ETIMEDOUT;
        }
        on_message(r, p, o);
        json_decref(o);
    }
    p->pub = lg_peer_new(true, 1, &r->rng);
    if (!p->pub)
        return -ENOMEM;
    p->pub->index = i;
    p->pub->trailer_src = i + 1;
    int rc = sc_negotiate(r, p, p->pub, "publish", r->pub_fp, err, errlen);
    if (rc < 0)
        return rc;
    hand_to_media(r, p->pub);
    return 0;
}

static int sc_trainer(cl_run *r, const char *what, json_t *msg)
{
    char err[512];
    json_t *rep = ws_request(r, NULL, msg, err, sizeof(err));
    if (!rep) {
        fprintf(stderr, "loadgen: class: trainer %s: %s\n", what, err);
        return -EPROTO;
    }
    json_decref(rep);
    return 0;
}

/* Until *count (+ *failed) reaches want or the time is up; true when count did. */
static bool wait_for(cl_run *r, atomic_int *count, atomic_int *failed, int want, const char *what)
{
    int64_t end = lg_now_us() + CL_CONNECT_TIMEOUT_US;
    while (atomic_load(count) + (failed ? atomic_load(failed) : 0) < want && lg_now_us() < end)
        sig_sleep(r, lg_now_us() + 50000);
    if (atomic_load(count) >= want)
        return true;
    fprintf(stderr, "loadgen: class: %d of %d %s (%d failed)\n", atomic_load(count), want, what,
            failed ? atomic_load(failed) : 0);
    return false;
}

/* Sign-ins at the join rate: the i-th is due at start + i / rate. */
static void pace(cl_run *r, int64_t start, int i)
{
    sig_sleep(r, start + (int64_t)(i * 1e6 / r->o->join_rate));
}

static int sc_setup(cl_run *r)
{
    const lg_class_opts *o = r->o;
    char err[512];
    int gs = o->group_size;

    r->trainer = lg_ws_open(o->host, o->port, "/ws", NULL, err, sizeof(err));
    if (!r->trainer) {
        fprintf(stderr, "loadgen: class: trainer: %s\n", err);
        return -ECONNREFUSED;
    }
    if (sc_trainer(r, "join", json_pack("{ssss}", "type", "join", "token", o->trainer_token)) < 0 ||
        sc_trainer(r, "groups_create",
                   json_pack("{sssi}", "type", "groups_create", "count", o->groups)) < 0)
        return -EPROTO;
    for (int64_t end = lg_now_us() + 5000000; r->n_group_ids != o->groups && lg_now_us() < end;)
        ws_drain(r, 50);
    if (r->n_group_ids != o->groups) {
        fprintf(stderr, "loadgen: class: no `groups` message with %d groups\n", o->groups);
        return -EPROTO;
    }
    if (o->server_pid > 0)
        r->rss0 = lg_proc_rss_kb(o->server_pid);
    int64_t start = lg_now_us();
    for (int i = 0; i < r->n; i++) {
        pace(r, start, i);
        if (sc_participant(r, i, err, sizeof(err)) < 0) {
            fprintf(stderr, "loadgen: class: participant %d: %s\n", i, err);
            return -EPROTO;
        }
    }
    if (!wait_for(r, &r->v.connected, &r->v.failed, r->n, "subscribers connected"))
        return -ETIMEDOUT;
    json_t *as = json_object();
    for (int i = 0; i < r->n; i++) {
        r->parts[i].group = r->parts[i].pub_group = i / gs;
        json_object_set_new(as, r->parts[i].user, json_integer(r->group_ids[i / gs]));
    }
    if (sc_trainer(r, "groups_assign", json_pack("{sssssO}", "type", "groups_assign", "mode",
                                                 "manual", "assignments", as)) < 0) {
        json_decref(as);
        return -EPROTO;
    }
    json_decref(as);
    r->t_open_us = lg_now_us();
    if (sc_trainer(r, "groups_open", json_pack("{sssi}", "type", "groups_open", "duration", 0)) < 0)
        return -EPROTO;
    for (int i = 0; i < r->n; i++) {
        if (sc_publish(r, i, err, sizeof(err)) < 0) {
            fprintf(stderr, "loadgen: class: participant %d publishing: %s\n", i, err);
            return -EPROTO;
        }
    }
    return 0;
}

/* The feeds of the publishers in group g but participant `but`, into
 * feeds (Janus) and their trailer sources into srcs; how many. */
static int group_sources(cl_run *r, int g, int but, uint64_t *feeds, int *srcs)
{
    int n = 0;
    for (int k = 0; k < r->n; k++) {
        if (k == but || r->parts[k].pub_group != g)
            continue;
        if (feeds)
            feeds[n] = r->parts[k].feed;
        srcs[n++] = k + 1;
    }
    return n;
}

static int janus_setup(cl_run *r)
{
    const lg_class_opts *o = r->o;
    char err[512];
    uint64_t feeds[LG_CLASS_MAX];
    int srcs[LG_CLASS_MAX];

    if (lg_janus_open(o->host, o->port, &r->ctl_session, &r->ctl_handle, err, sizeof(err)) < 0)
        goto fail;
    for (int g = 0; g < o->groups; g++)
        if (lg_janus_create_room(o->host, o->port, r->ctl_session, r->ctl_handle,
                                 o->janus_room + (uint64_t)g, o->group_size, err,
                                 sizeof(err)) < 0)
            goto fail;
    if (o->server_pid > 0)
        r->rss0 = lg_proc_rss_kb(o->server_pid);
    int64_t start = lg_now_us();
    for (int i = 0; i < r->n; i++) {
        cl_part *p = &r->parts[i];
        char name[32];
        pace(r, start, i);
        p->group = p->pub_group = i / o->group_size;
        if (!(p->pub = lg_peer_new(true, 1, &r->rng)))
            return -ENOMEM;
        p->pub->index = i;
        p->pub->trailer_src = i + 1;
        p->pub->t_request_us = lg_now_us();
        snprintf(name, sizeof(name), "p%d", i);
        if (lg_janus_publish(o->host, o->port, p->pub, o->janus_room + (uint64_t)p->group, name,
                             r->pub_fp, r->sdp, &p->feed, err, sizeof(err)) < 0)
            goto fail;
        hand_to_media(r, p->pub);
    }
    if (!wait_for(r, &r->m.connected, &r->m.failed, r->n, "publishers connected"))
        return -ETIMEDOUT;
    start = lg_now_us();
    for (int i = 0; i < r->n; i++) {
        cl_part *p = &r->parts[i];
        pace(r, start, i);
        if (!(p->sub = lg_peer_new(false, 1, &r->rng)))
            return -ENOMEM;
        p->sub->index = i;
        p->sub->sample_every = o->sample_every;
        p->sub->t_request_us = lg_now_us();
        int n = group_sources(r, p->group, i, feeds, srcs);
        if (lg_janus_subscribe(o->host, o->port, p->sub, o->janus_room + (uint64_t)p->group,
                               feeds, n, r->sub_fp, r->sdp, err, sizeof(err)) < 0)
            goto fail;
        hand_to_rx(r, p->sub);
    }
    if (!wait_for(r, &r->v.connected, &r->v.failed, r->n, "subscribers connected"))
        return -ETIMEDOUT;
    return 0;
fail:
    fprintf(stderr, "loadgen: class: janus: %s\n", err);
    return -EPROTO;
}

/* ---- the window and the switches --------------------------------------------- */

static void snap(cl_run *r, cl_snap *s)
{
    char path[64];
    struct rusage ru;

    s->t_us = lg_now_us();
    if (r->o->janus) {
        /* No stats API on Janus here (admin off): what the subscribers got. */
        s->forwarded = atomic_load(&r->v.rx.rtp);
    } else {
        json_t *st = lg_server_stats(r->o->host, r->o->port, r->o->admin_token);
        s->forwarded = lg_json_u64(st, "forwarded_packets");
        json_decref(st);
    }
    s->pub_sent = atomic_load(&r->m.sent);
    s->rx_rtp = atomic_load(&r->v.rx.rtp);
    snprintf(path, sizeof(path), "%d", r->o->server_pid);
    s->server_cpu_us = r->o->server_pid > 0 ? lg_proc_cpu_us(path) : -1;
    getrusage(RUSAGE_SELF, &ru);
    s->self_cpu_us = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                     ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    snprintf(path, sizeof(path), "self/task/%d", atomic_load(&r->v.tid));
    s->rx_thread_cpu_us = lg_proc_cpu_us(path);
    lg_udp_errors(&s->udp_rcvbuf, &s->udp_sndbuf);
    lg_machine_cpu(&s->busy, &s->total, &s->softirq, &s->steal);
}

/* Participant j to the next group, timed until the first packet of a new
 * group-mate (any, then video) reaches its subscriber. */
static void switch_one(cl_run *r, int j, cl_switch *sw)
{
    const lg_class_opts *o = r->o;
    cl_part *p = &r->parts[j];
    uint64_t feeds[LG_CLASS_MAX];
    int srcs[LG_CLASS_MAX], n;
    char err[512];

    sw->participant = j;
    sw->from = p->group;
    sw->to = (p->group + 1) % o->groups;
    sw->ok_us = sw->first_us = sw->first_video_us = sw->group_msg_us = -1;
    /* Stagecast moves the participant's publisher along; Janus's stays. */
    n = group_sources(r, sw->to, j, feeds, srcs);
    if (!o->janus) {
        rx_watch(r, p->sub, srcs, n);
        sw->t0_us = lg_now_us();
        json_t *rep = ws_request(r, NULL,
                                 json_pack("{sssssi}", "type", "group_move", "user_id", p->user,
                                           "group", r->group_ids[sw->to]),
                                 err, sizeof(err));
        if (!rep)
            fprintf(stderr, "loadgen: class: group_move: %s\n", err);
        else
            sw->ok_us = lg_now_us() - sw->t0_us;
        json_decref(rep);
        p->pub_group = sw->to;
    } else {
        /* Janus: hang up the subscription, subscribe in the other room. */
        lg_peer *old = p->sub, *sub = lg_peer_new(false, 1, &r->rng);
        sw->t0_us = lg_now_us();
        lg_janus_destroy(o->host, o->port, old->janus_session);
        pthread_mutex_lock(&r->v.lock);
        r->v.drop[r->v.n_drop++] = old;
        pthread_mutex_unlock(&r->v.lock);
        if (!sub)
            return;
        sub->index = j;
        sub->sample_every = o->sample_every;
        sub->t_request_us = sw->t0_us;
        lg_peer_watch(sub, srcs, n);
        if (lg_janus_subscribe(o->host, o->port, sub, o->janus_room + (uint64_t)sw->to, feeds, n,
                               r->sub_fp, r->sdp, err, sizeof(err)) < 0) {
            fprintf(stderr, "loadgen: class: janus switch: %s\n", err);
            lg_peer_free(sub);
            p->sub = NULL;
            return;
        }
        sw->ok_us = lg_now_us() - sw->t0_us;
        sw->fresh = p->sub = sub;
        hand_to_rx(r, sub);
        rx_watch(r, sub, NULL, -1);
    }
    p->group = sw->to;
    for (int64_t end = sw->t0_us + CL_SWITCH_TIMEOUT_US;
         !atomic_load(&r->v.first_video_us) && lg_now_us() < end;)
        ws_drain(r, 2);
    int64_t first = atomic_load(&r->v.first_us), video = atomic_load(&r->v.first_video_us);
    sw->first_us = first ? first - sw->t0_us : -1;
    sw->first_video_us = video ? video - sw->t0_us : -1;
    if (p->t_group_msg_us > sw->t0_us)
        sw->group_msg_us = p->t_group_msg_us - sw->t0_us;
    rx_watch(r, NULL, NULL, 0);
}

static void switches(cl_run *r)
{
    static const int strides[] = {13, 11, 7, 1};
    int stride = 1;
    for (size_t k = 0; k < sizeof(strides) / sizeof(strides[0]); k++) {
        int a = strides[k], b = r->n;
        while (b) { /* gcd */
            int t = a % b;
            a = b;
            b = t;
        }
        if (a == 1) {
            stride = strides[k];
            break;
        }
    }
    for (int m = 0; m < r->o->moves; m++) {
        cl_switch *sw = &r->sw[r->n_sw++];
        switch_one(r, m * stride % r->n, sw);
        sig_sleep(r, sw->t0_us + (int64_t)(r->o->move_gap * 1e6));
    }
}

/* ---- report ------------------------------------------------------------------ */

/* Loss over the subscribers present in both snapshots (from < 0: since
 * their first packet), as loadgen reports it. */
static json_t *loss_json(cl_run *r, int from, int to)
{
    uint64_t exp = 0, lost = 0, worst_ppm = 0;
    int peers = 0;
    for (int i = 0; i < r->n; i++) {
        const cl_loss *b = &r->v.snaps[to][i], *a = from >= 0 ? &r->v.snaps[from][i] : NULL;
        if (!b->p || (a && a->p != b->p))
            continue;
        uint64_t e = b->expected - (a ? a->expected : 0), l = b->lost - (a ? a->lost : 0);
        peers++;
        exp += e;
        lost += l;
        if (e && l * 1000000 / e > worst_ppm)
            worst_ppm = l * 1000000 / e;
    }
    return json_pack("{sisIsIsfsf}", "subscribers", peers, "expected", (json_int_t)exp, "lost",
                     (json_int_t)lost, "loss_pct", exp ? 100.0 * (double)lost / (double)exp : 0.0,
                     "worst_subscriber_loss_pct", (double)worst_ppm / 10000.0);
}

static json_t *ms_pcts(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), lg_cmp_i64);
    return json_pack("{sisfsfsfsf}", "n", n, "p50_ms", lg_pct_i64(v, n, 0.5) / 1000,
                     "p95_ms", lg_pct_i64(v, n, 0.95) / 1000, "p99_ms",
                     lg_pct_i64(v, n, 0.99) / 1000, "max_ms", lg_pct_i64(v, n, 1.0) / 1000);
}

static json_t *switch_json(cl_run *r)
{
    int64_t any[LG_CLASS_MAX * 4], video[LG_CLASS_MAX * 4], ok[LG_CLASS_MAX * 4];
    int na = 0, nv = 0, no = 0;
    json_t *each = json_array();
    for (int m = 0; m < r->n_sw; m++) {
        const cl_switch *s = &r->sw[m];
        if (s->first_us >= 0)
            any[na++] = s->first_us;
        if (s->first_video_us >= 0)
            video[nv++] = s->first_video_us;
        if (s->ok_us >= 0)
            ok[no++] = s->ok_us;
        json_t *e = json_pack("{sisisisfsfsfsf}", "participant", s->participant, "from", s->from,
                              "to", s->to, "reply_ms", s->ok_us / 1000.0, "first_media_ms",
                              s->first_us / 1000.0, "first_video_ms", s->first_video_us / 1000.0,
                              "group_message_ms", s->group_msg_us / 1000.0);
        /* A new connection's part: DTLS done (the threads have stopped). */
        if (s->fresh)
            json_object_set_new(e, "connected_ms",
                                json_real(s->fresh->t_connected_us
                                              ? (double)(s->fresh->t_connected_us - s->t0_us) / 1000
                                              : -1));
        json_array_append_new(each, e);
    }
    return json_pack("{sisisososososs}", "moves", r->n_sw, "missed", r->n_sw - na,
                     "first_media", ms_pcts(any, na), "first_video", ms_pcts(video, nv),
                     "reply", ms_pcts(ok, no), "each", each, "what",
                     r->o->janus ? "hang up the subscription, subscribe in the other room: "
                                   "request -> first packet of a new group-mate"
                                 : "group_move -> first packet of a new group-mate");
}

static json_t *report(cl_run *r, const cl_snap *a, const cl_snap *b, int64_t sessions_after)
{
    const lg_class_opts *o = r->o;
    double win = (double)(b->t_us - a->t_us) / 1e6, cpu = (double)(b->server_cpu_us -
                                                                      a->server_cpu_us);
    uint64_t fwd = b->forwarded - a->forwarded;
    int up = 0;
    int64_t first[LG_CLASS_MAX];
    int nf = 0;
    for (int i = 0; i < r->n; i++) {
        const cl_part *p = &r->parts[i];
        const lg_peer *sub = r->v.snaps[1][i].p;
        up += p->pub && p->pub->state == LG_PEER_CONNECTED && sub;
        if (sub && sub->t_first_media_us)
            first[nf++] = sub->t_first_media_us - (o->janus ? sub->t_request_us : r->t_open_us);
    }
    json_t *out = json_object(), *server = json_object(), *lat = lg_hist_json(&r->v.lat.fwd);
    json_object_set_new(out, "mode", json_string("class"));
    json_object_set_new(out, "target", json_string(o->janus ? "janus" : "stagecast"));
    json_object_set_new(out, "groups", json_integer(o->groups));
    json_object_set_new(out, "group_size", json_integer(o->group_size));
    json_object_set_new(out, "participants_requested", json_integer(r->n));
    json_object_set_new(out, "participants_connected", json_integer(up));
    json_object_set_new(out, "simulcast", json_false());
    json_object_set_new(out, "group_first_media",
                        json_pack("{sssO}", "from", o->janus ? "subscribe" : "groups_open",
                                  "ms", ms_pcts(first, nf)));
    json_object_set_new(lat, "loadgen_queue", lg_hist_json(&r->v.lat.queue));
    json_object_set_new(lat, "keyframe_packets", lg_hist_json(&r->v.lat.fwd_key));
    json_object_set_new(lat, "srtp_auth_ok", json_integer((json_int_t)r->v.lat.auth_ok));
    json_object_set_new(lat, "srtp_auth_fail", json_integer((json_int_t)r->v.lat.auth_fail));
    json_object_set_new(out, "latency", lat);
    json_object_set_new(out, "loss", loss_json(r, -1, 1));
    json_object_set_new(out, "loss_window_only", loss_json(r, 0, 1));
    json_object_set_new(out, "loss_switches", loss_json(r, 1, 2));
    json_object_set_new(server, "window_s", json_real(win));
    json_object_set_new(server, "forwarded_source",
                        json_string(o->janus ? "subscriber_rtp_received" : "forwarded_packets"));
    json_object_set_new(server, "forwarded_packets", json_integer((json_int_t)fwd));
    json_object_set_new(server, "forwarded_pps", json_real((double)fwd / win));
    if (o->server_pid > 0 && a->server_cpu_us >= 0 && b->server_cpu_us >= 0) {
        json_object_set_new(server, "cpu_pct", json_real(100 * cpu / 1e6 / win));
        json_object_set_new(server, "cpu_us_per_forwarded_packet",
                            fwd ? json_real(cpu / (double)fwd) : json_null());
        json_object_set_new(server, "rss_before_kb", json_integer(r->rss0));
        json_object_set_new(server, "rss_with_class_kb", json_integer(r->rss1));
        json_object_set_new(server, "rss_per_participant_kb",
                            up ? json_real((double)(r->rss1 - r->rss0) / up) : json_null());
    }
    json_object_set_new(out, "server", server);
    json_object_set_new(out, "switch", switch_json(r));
    double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN), t = (double)(b->total - a->total);
    json_object_set_new(
        out, "window",
        json_pack("{sfsfsfsIsIsf}", "publisher_pps", (double)(b->pub_sent - a->pub_sent) / win,
                  "machine_busy_pct",
                  t > 0 ? 100 * ncpu * (double)(b->busy - a->busy) / t : -1.0,
                  "machine_steal_pct", t > 0 ? 100 * ncpu * (double)(b->steal - a->steal) / t : -1.0,
                  "udp_rcvbuf_errors", (json_int_t)(b->udp_rcvbuf - a->udp_rcvbuf),
                  "udp_sndbuf_errors", (json_int_t)(b->udp_sndbuf - a->udp_sndbuf),
                  "subscriber_rtp_pps", (double)(b->rx_rtp - a->rx_rtp) / win));
    json_object_set_new(out, "loadgen",
                        json_pack("{sfsf}", "cpu_pct",
                                  100.0 * (double)(b->self_cpu_us - a->self_cpu_us) / 1e6 / win,
                                  "receive_thread_cpu_pct",
                                  100.0 * (double)(b->rx_thread_cpu_us - a->rx_thread_cpu_us) /
                                      1e6 / win));
    json_object_set_new(out, "publish",
                        json_pack("{sisIsIsIsI}", "publishers", r->m.n_pubs, "frames",
                                  (json_int_t)r->m.frames, "keyframes_sent",
                                  (json_int_t)r->m.keyframes_sent, "keyframe_requests",
                                  (json_int_t)r->m.keyframe_requests, "packets_sent",
                                  (json_int_t)atomic_load(&r->m.sent)));
    json_object_set_new(out, "server_sessions_after", json_integer(sessions_after));
    return out;
}

/* ---- the run ------------------------------------------------------------------- */

static int start(cl_run *r)
{
    const lg_class_opts *o = r->o;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    r->rng = (uint32_t)lg_now_us() ^ (uint32_t)getpid() << 16;
    r->rng |= 1;
    pthread_mutex_init(&r->m.lock, NULL);
    pthread_mutex_init(&r->v.lock, NULL);
    r->m.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->v.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->m.cert = sc_dtls_cert_new();
    r->v.cert = sc_dtls_cert_new();
    r->m.media = lg_media_new(o->width, o->height, o->fps, o->video_kbps, o->audio_kbps);
    r->m.frame = malloc(sizeof(lg_frame));
    r->m.other = malloc(sizeof(lg_frame));
    r->m.key = malloc(sizeof(lg_frame));
    r->m.n_class = r->n;
    r->m.fps = o->fps;
    r->sdp = malloc(sizeof(*r->sdp));
    r->sw = calloc((size_t)o->moves + 1, sizeof(*r->sw));
    r->v.lat.fwd.b = calloc(LG_HIST_BUCKETS, sizeof(uint32_t));
    r->v.lat.queue.b = calloc(LG_HIST_BUCKETS, sizeof(uint32_t));
    r->v.lat.fwd_key.b = calloc(LG_HIST_BUCKETS, sizeof(uint32_t));
    if (r->m.evfd < 0 || r->v.evfd < 0 || !r->m.cert || !r->v.cert || !r->m.media ||
        !r->m.frame || !r->m.other || !r->m.key || !r->sdp || !r->sw || !r->v.lat.fwd.b ||
        !r->v.lat.queue.b || !r->v.lat.fwd_key.b)
        return -ENOMEM;
    if (o->clip_seconds > 0 && lg_media_make_clip(r->m.media, o->clip_seconds * o->fps) < 0)
        return -EIO;
    r->pub_fp = sc_dtls_cert_fingerprint(r->m.cert);
    r->sub_fp = sc_dtls_cert_fingerprint(r->v.cert);
    return lg_peer_global_init() < 0 ? -EIO : 0;
}

/* Every connection closed or session destroyed; the server's sessions
 * after (Stagecast), -1 when not known. */
static int64_t teardown(cl_run *r)
{
    const lg_class_opts *o = r->o;
    int64_t sessions = -1;

    if (o->janus) {
        for (int i = 0; i < r->n; i++) {
            if (r->parts[i].pub && r->parts[i].pub->janus_session)
                lg_janus_destroy(o->host, o->port, r->parts[i].pub->janus_session);
            if (r->parts[i].sub && r->parts[i].sub->janus_session)
                lg_janus_destroy(o->host, o->port, r->parts[i].sub->janus_session);
        }
        if (r->ctl_session)
            lg_janus_destroy(o->host, o->port, r->ctl_session);
        lg_janus_close();
        return -1;
    }
    for (int i = 0; i < r->n; i++) {
        lg_ws_close(r->parts[i].ws);
        r->parts[i].ws = NULL;
    }
    lg_ws_close(r->trainer);
    r->trainer = NULL;
    for (int64_t end = lg_now_us() + 10000000; o->admin_token && lg_now_us() < end;) {
        json_t *st = lg_server_stats(o->host, o->port, o->admin_token);
        sessions = st ? (int64_t)lg_json_u64(st, "sessions") : -1;
        json_decref(st);
        if (sessions == 0)
            break;
        usleep(100000);
    }
    return sessions;
}

static void finish(cl_run *r)
{
    for (int i = 0; i < r->n; i++) {
        lg_peer_free(r->parts[i].pub);
        lg_peer_free(r->parts[i].sub);
    }
    for (int i = 0; i < r->v.n_retired; i++)
        lg_peer_free(r->v.retired[i]);
    lg_media_free(r->m.media);
    sc_dtls_cert_free(r->m.cert);
    sc_dtls_cert_free(r->v.cert);
    free(r->m.frame);
    free(r->m.other);
    free(r->m.key);
    free(r->sdp);
    free(r->sw);
    free(r->v.lat.fwd.b);
    free(r->v.lat.queue.b);
    free(r->v.lat.fwd_key.b);
}

static void print_summary(const json_t *out)
{
    const json_t *s = json_object_get(out, "server"), *sw = json_object_get(out, "switch");
    const json_t *l = json_object_get(out, "latency"), *lo = json_object_get(out, "loss");
    const json_t *fm = json_object_get(sw, "first_media");
#define NUM(o, k) json_number_value(json_object_get((o), (k)))
    fprintf(stderr,
            "loadgen: class %s: participants %d/%d, loss %.3f%% (worst %.3f%%), latency p50 "
            "%.2f p99 %.2f ms, server %.2f us/pkt (%.0f%% cpu, %.0f pps), %.1f KiB/participant, "
            "switch p50 %.1f p95 %.1f ms (%d moves, %d missed)\n",
            json_string_value(json_object_get(out, "target")),
            (int)NUM(out, "participants_connected"), (int)NUM(out, "participants_requested"),
            NUM(lo, "loss_pct"), NUM(lo, "worst_subscriber_loss_pct"), NUM(l, "p50_ms"),
            NUM(l, "p99_ms"), NUM(s, "cpu_us_per_forwarded_packet"), NUM(s, "cpu_pct"),
            NUM(s, "forwarded_pps"), NUM(s, "rss_per_participant_kb"), NUM(fm, "p50_ms"),
            NUM(fm, "p95_ms"), (int)NUM(sw, "moves"), (int)NUM(sw, "missed"));
#undef NUM
}

int lg_class_run(const lg_class_opts *o)
{
    cl_run *r = calloc(1, sizeof(*r));
    pthread_t media_th, rx_th;
    cl_snap a, b;
    int rc = 1;

    if (!r)
        return 1;
    r->o = o;
    r->n = o->groups * o->group_size;
    if (start(r) < 0) {
        fprintf(stderr, "loadgen: class: setup failed\n");
        return 1;
    }
    if (pthread_create(&media_th, NULL, media_thread, &r->m) != 0 ||
        pthread_create(&rx_th, NULL, rx_thread, &r->v) != 0)
        return 1;
    if (o->janus ? janus_setup(r) < 0 : sc_setup(r) < 0)
        goto stop;
    if (o->janus ? 0 : !wait_for(r, &r->m.connected, &r->m.failed, r->n, "publishers connected"))
        goto stop;
    if (!wait_for(r, &r->v.with_media, NULL, r->n, "subscribers with media"))
        goto stop;
    sig_sleep(r, lg_now_us() + (int64_t)(o->settle * 1e6));
    if (o->server_pid > 0)
        r->rss1 = lg_proc_rss_kb(o->server_pid);

    snap(r, &a);
    rx_snapshot(r, 0);
    atomic_store(&r->v.lat_enabled, true);
    sig_sleep(r, a.t_us + (int64_t)(o->duration * 1e6));
    atomic_store(&r->v.lat_enabled, false);
    snap(r, &b);
    rx_snapshot(r, 1);
    switches(r);
    rx_snapshot(r, 2);
    rc = 0;
stop:
    atomic_store(&r->m.stop, true);
    atomic_store(&r->v.stop, true);
    pthread_join(media_th, NULL);
    pthread_join(rx_th, NULL);
    int64_t sessions = teardown(r);
    if (rc == 0) {
        json_t *out = report(r, &a, &b, sessions);
        print_summary(out);
        if (o->json) {
            char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
            if (text)
                puts(text);
            free(text);
        }
        json_decref(out);
    }
    finish(r);
    free(r);
    return rc;
}
