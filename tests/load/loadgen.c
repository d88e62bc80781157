/* loadgen: one or more WHIP publishers sending a real VP8 + Opus stream and
 * N WHEP viewers, each a complete WebRTC peer, against a running
 * `stagecast serve` on loopback.  Reports join time, forwarding latency,
 * loss, the server's CPU per forwarded packet and RSS per viewer, and its
 * own CPU, as one JSON object (--json) and a one-line summary on stderr.
 *
 * Two threads: the main thread signs in peers over HTTP, runs the
 * publishers (encode, send, keyframe requests) and takes the measurements;
 * the viewer thread owns every viewer socket in one epoll loop, so blocking
 * HTTP never delays the packets whose arrival time we measure.
 *
 * The load stream's RTP payloads end with an 8-byte trailer (the publisher's
 * CLOCK_MONOTONIC send time in microseconds): they are not meant to be
 * decoded.
 *
 * --sink (saturation runs): viewers join exactly as usual (ICE, DTLS, SRTP,
 * first media packet, so join time still counts), then stop reading; the
 * kernel drops their media at a minimal receive buffer and the loadgen's CPU
 * is left to the publishers and the consent timers.  Loss and latency are
 * then not measured (null in the JSON, "mode": "sink").
 *
 * --churn PCT (soak runs, scripts/bench --soak): the last PCT % of the viewer
 * slots leave (DELETE) and join anew once a minute each, at an even pace,
 * while the rest stay; --progress FILE gets a JSON line of tallies every
 * --progress-every seconds (churn.h).
 *
 * --target janus runs the same load against Janus's VideoRoom (REST API,
 * janus.c) for scripts/bench --vs-janus: publishers join and configure with
 * an offer, viewers subscribe and answer Janus's offer. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "churn.h"
#include "class.h"
#include "http.h"
#include "janus.h"
#include "media.h"
#include "peer.h"
#include "probe.h"
#include "report.h"
#include "rx.h"
#include "sfu/proto/rfc4571.h"

#define LG_MAX_PUBLISHERS 8
#define LG_MAX_VIEWERS 20000
#define LG_FRAME_PKT_BUCKETS 65   /* frames of 0..63 video packets, and 64 or more */

typedef struct lg_opts {
    char host[64];
    int port;
    const char *room;
    const char *pub_tokens[LG_MAX_PUBLISHERS];
    int n_pub_tokens;
    const char *token_cmd;
    const char *viewer_token;
    const char *admin_token;
    int server_pid;
    int viewers, publishers, pairs;
    double join_rate, duration, settle;
    int sample_every;
    int clip_seconds;          /* 0: encode every frame during the run */
    int width, height, fps, video_kbps, audio_kbps;
    bool json;
    bool sink;                 /* viewers stop reading after their first media */
    bool tcp;                  /* viewers on ICE-TCP */
    bool gro;                  /* UDP_GRO on viewer sockets */
    bool viewers_idle;         /* the viewer thread runs SCHED_IDLE */
    bool janus;                /* --target janus */
    uint64_t janus_room;
    int janus_ws_port;         /* Janus's WebSocket API; 0: its REST API */
    const char *local_ip;
    double churn_pct;          /* viewers that leave and rejoin per minute, % */
    const char *progress_path;
    double progress_every;
    int class_groups;          /* --class: breakout groups (class.h); 0 off */
    int group_size, moves;
    double move_gap;
    const char *trainer_token;
} lg_opts;

/* Hand-off from the main thread to the viewer thread. */
typedef struct lg_viewers {
    pthread_mutex_t lock;
    lg_peer *queue[LG_MAX_VIEWERS];
    int queued;
    int evfd;
    atomic_bool stop;
    atomic_bool lat_enabled;
    lg_rx_counters rx;                 /* what the viewer thread read */
    atomic_int connected, failed;
    atomic_int sunk;                    /* --sink: viewers that stopped reading */
    atomic_int tid;
    bool sink;
    bool idle;                         /* SCHED_IDLE: runs only on a CPU nothing else wants */
    sc_dtls_cert *cert;
    lg_latency lat;
    uint64_t rx_overflow;               /* kernel drops on our sockets (SO_RXQ_OVFL) */
    lg_peer **all;
    int n_all, cap_all;
    /* --churn: peers handed back by the main thread, freed here */
    lg_peer *retire[LG_MAX_VIEWERS];
    int retiring;
    lg_churn *churn;
    FILE *progress;            /* --progress: tallies every progress_us */
    int64_t progress_us, t0_us;
} lg_viewers;

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --url http://127.0.0.1:PORT --room R --publisher-token T\n"
            "               --viewer-token T [options]\n"
            "  --viewers N           WHEP viewers (default 10)\n"
            "  --join-rate R         viewer joins per second (default 100)\n"
            "  --duration S          measurement window after the joins (default 10)\n"
            "  --settle S            wait after the last join before measuring (default 2)\n"
            "  --publishers K        WHIP publishers (default 1); each needs its own token:\n"
            "                        repeat --publisher-token or give --token-cmd\n"
            "  --token-cmd CMD       shell command printing a publisher token (last line)\n"
            "  --pairs P             audio+video pairs a viewer offers (default K)\n"
            "  --admin-token T       for GET /api/stats (forwarded packets, sessions)\n"
            "  --server-pid PID      for server CPU (/proc/PID/stat) and RSS\n"
            "  --sample N            decrypt 1 in N packets per viewer (default 10)\n"
            "  --clip S              encode S seconds of video before the run and send\n"
            "                        them in a loop (default 10; keyframe requests get a\n"
            "                        keyframe encoded with the clip); 0 encodes live\n"

            "  --video-kbps N        VP8 target (default 700); --audio-kbps N (default 32)\n"
            "  --size WxH --fps F    picture (default 640x360 at 30)\n"
            "  --json                print one JSON object on stdout\n"
            "  --sink                viewers stop reading after their first media packet\n"
            "  --tcp                 viewers connect over ICE-TCP (RFC 6544/4571) to the\n"
            "                        answer's passive TCP candidate; publishers stay on UDP\n"
            "                        (saturation runs: the kernel drops the rest; no loss\n"
            "                        or latency figures)\n"
            "  --target janus        Janus VideoRoom over its REST API (--url is Janus's\n"
            "                        HTTP transport); no tokens; forwarded packets are\n"
            "                        counted at the viewers (Janus has no stats API here)\n"
            "  --janus-room N        VideoRoom room id to create (default 1234)\n"
            "  --janus-ws-port P     signal Janus over its WebSocket API on URL's host:P\n"
            "                        (default: its REST API at URL)\n"
            "  --local-ip IP         address peer sockets bind to (default 127.0.0.1)\n"
            "  --gro                 UDP_GRO on viewer sockets: a server's GSO send is\n"
            "                        received whole, so on loopback the receiving half\n"
            "                        runs once per send, not once per datagram\n"
            "  --viewers-idle        the viewer thread runs SCHED_IDLE: it reads only when\n"
            "                        the CPUs have nothing else to do (latency comes from\n"
            "                        kernel receive times, so it stays exact)\n"
            "  --churn PCT           the last PCT %% of the viewers leave (DELETE) and join\n"
            "                        anew once a minute each, one at a time at an even\n"
            "                        pace, during the window (none in its last 15 s); the\n"
            "                        others stay.  The report's \"churn\" splits their loss\n"
            "  --progress FILE       append a JSON line of tallies (viewers connected, loss\n"
            "                        of those that stayed, churn counters) to FILE every\n"
            "                        --progress-every S seconds (default 10)\n"
            "  --class G             a class in G breakout groups (class.h): every participant\n"
            "                        publishes and receives its group; then --moves switches\n"
            "                        are timed.  Stagecast: --trainer-token (moderate) and\n"
            "                        --token-cmd printing participant {i}'s token (\"{i}\" is\n"
            "                        replaced by its number); Janus: a VideoRoom per group\n"
            "  --group-size N        participants per group (default 5)\n"
            "  --moves N             switches timed after the window (default 30)\n"
            "  --move-gap S          seconds from one switch to the next (default 1.5)\n"
            "  --trainer-token T     --class against Stagecast: creates, assigns, opens the\n"
            "                        groups and moves participants\n"
            "  --dtls-retry-ms MS    a DTLS client that heard nothing MS after its ClientHello\n"
            "                        starts anew (doubling, 4 times), as a browser retransmits\n"
            "                        after ~50 ms; default: OpenSSL's 1 s timer only\n");
}

static int parse_opts(int argc, char **argv, lg_opts *o)
{
    enum { O_URL = 256, O_ROOM, O_PUBTOK, O_VIEWTOK, O_ADMTOK, O_PID, O_VIEWERS, O_RATE,
           O_DUR, O_SETTLE, O_PUBS, O_CMD, O_PAIRS, O_SAMPLE, O_VKBPS, O_AKBPS, O_SIZE, O_FPS,
           O_JSON, O_SINK, O_TCP, O_TARGET, O_JROOM, O_JWS, O_LOCALIP, O_GRO, O_IDLE, O_CLIP,
           O_CHURN, O_PROGRESS, O_PROGRESS_EVERY, O_CLASS, O_GROUP_SIZE, O_MOVES, O_MOVE_GAP,
           O_TRAINER, O_DTLS_RETRY, O_HELP };
    static const struct option lo[] = {
        { "url", 1, 0, O_URL }, { "room", 1, 0, O_ROOM },
        { "publisher-token", 1, 0, O_PUBTOK }, { "viewer-token", 1, 0, O_VIEWTOK },
        { "admin-token", 1, 0, O_ADMTOK }, { "server-pid", 1, 0, O_PID },
        { "viewers", 1, 0, O_VIEWERS }, { "join-rate", 1, 0, O_RATE },
        { "duration", 1, 0, O_DUR }, { "settle", 1, 0, O_SETTLE },
        { "publishers", 1, 0, O_PUBS }, { "token-cmd", 1, 0, O_CMD },
        { "pairs", 1, 0, O_PAIRS }, { "sample", 1, 0, O_SAMPLE },
        { "video-kbps", 1, 0, O_VKBPS }, { "audio-kbps", 1, 0, O_AKBPS },
        { "size", 1, 0, O_SIZE }, { "fps", 1, 0, O_FPS }, { "json", 0, 0, O_JSON },
        { "sink", 0, 0, O_SINK }, { "tcp", 0, 0, O_TCP },
        { "target", 1, 0, O_TARGET }, { "janus-room", 1, 0, O_JROOM },
        { "janus-ws-port", 1, 0, O_JWS },
        { "local-ip", 1, 0, O_LOCALIP }, { "gro", 0, 0, O_GRO }, { "viewers-idle", 0, 0, O_IDLE },
        { "clip", 1, 0, O_CLIP }, { "churn", 1, 0, O_CHURN },
        { "progress", 1, 0, O_PROGRESS }, { "progress-every", 1, 0, O_PROGRESS_EVERY },
        { "class", 1, 0, O_CLASS }, { "group-size", 1, 0, O_GROUP_SIZE },
        { "moves", 1, 0, O_MOVES }, { "move-gap", 1, 0, O_MOVE_GAP },
        { "trainer-token", 1, 0, O_TRAINER }, { "dtls-retry-ms", 1, 0, O_DTLS_RETRY },
        { "help", 0, 0, O_HELP },
        { 0, 0, 0, 0 },
    };
    const char *url = NULL;
    int c;

    *o = (lg_opts){ .viewers = 10, .publishers = 1, .join_rate = 100, .duration = 10,
                    .settle = 2, .sample_every = 10, .width = 640, .height = 360, .fps = 30,
                    .video_kbps = 700, .audio_kbps = 32, .clip_seconds = 10, .janus_room = 1234,
                    .progress_every = 10, .group_size = 5, .moves = 30, .move_gap = 1.5 };
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case O_URL: url = optarg; break;
        case O_ROOM: o->room = optarg; break;
        case O_PUBTOK:
            if (o->n_pub_tokens < LG_MAX_PUBLISHERS)
                o->pub_tokens[o->n_pub_tokens++] = optarg;
            break;
        case O_VIEWTOK: o->viewer_token = optarg; break;
        case O_ADMTOK: o->admin_token = optarg; break;
        case O_PID: o->server_pid = atoi(optarg); break;
        case O_VIEWERS: o->viewers = atoi(optarg); break;
        case O_RATE: o->join_rate = atof(optarg); break;
        case O_DUR: o->duration = atof(optarg); break;
        case O_SETTLE: o->settle = atof(optarg); break;
        case O_PUBS: o->publishers = atoi(optarg); break;
        case O_CMD: o->token_cmd = optarg; break;
        case O_PAIRS: o->pairs = atoi(optarg); break;
        case O_SAMPLE: o->sample_every = atoi(optarg); break;
        case O_CLIP: o->clip_seconds = atoi(optarg); break;
        case O_VKBPS: o->video_kbps = atoi(optarg); break;
        case O_AKBPS: o->audio_kbps = atoi(optarg); break;
        case O_SIZE:
            if (sscanf(optarg, "%dx%d", &o->width, &o->height) != 2)
                return -EINVAL;
            break;
        case O_FPS: o->fps = atoi(optarg); break;
        case O_JSON: o->json = true; break;
        case O_SINK: o->sink = true; break;
        case O_TCP: o->tcp = true; break;
        case O_TARGET:
            if (strcmp(optarg, "janus") != 0 && strcmp(optarg, "stagecast") != 0)
                return -EINVAL;
            o->janus = strcmp(optarg, "janus") == 0;
            break;
        case O_JROOM: o->janus_room = strtoull(optarg, NULL, 10); break;
        case O_JWS: o->janus_ws_port = atoi(optarg); break;
        case O_LOCALIP: o->local_ip = optarg; break;
        case O_GRO: o->gro = true; break;
        case O_IDLE: o->viewers_idle = true; break;
        case O_CHURN: o->churn_pct = atof(optarg); break;
        case O_PROGRESS: o->progress_path = optarg; break;
        case O_PROGRESS_EVERY: o->progress_every = atof(optarg); break;
        case O_CLASS: o->class_groups = atoi(optarg); break;
        case O_GROUP_SIZE: o->group_size = atoi(optarg); break;
        case O_MOVES: o->moves = atoi(optarg); break;
        case O_MOVE_GAP: o->move_gap = atof(optarg); break;
        case O_TRAINER: o->trainer_token = optarg; break;
        case O_DTLS_RETRY: lg_peer_set_dtls_retry_ms(atoi(optarg)); break;
        default: return -EINVAL;
        }
    }
    if (o->janus && !o->room)
        o->room = "janus";  /* only named in messages: Janus rooms are numbers */
    if (o->class_groups &&
        (o->class_groups < 2 || o->group_size < 2 || o->moves < 0 || o->move_gap < 0 ||
         o->class_groups * o->group_size > LG_CLASS_MAX ||
         (!o->janus && (!o->trainer_token || !o->token_cmd || !o->admin_token))))
        return -EINVAL;
    if (!url || !o->room || (!o->viewer_token && !o->janus && !o->class_groups) ||
        lg_http_parse_url(url, o->host, sizeof(o->host), &o->port))
        return -EINVAL;
    if (o->local_ip && lg_peer_set_local_ip(o->local_ip) < 0)
        return -EINVAL;
    lg_peer_set_gro(o->gro);
    lg_peer_set_tcp(o->tcp, o->tcp && o->sink);
    if (o->publishers < 0 || o->publishers > LG_MAX_PUBLISHERS || o->viewers < 0 ||
        o->viewers > LG_MAX_VIEWERS || o->join_rate <= 0 || o->sample_every < 1 ||
        o->fps < 1 || o->width < 128 || o->height < 128 || (o->width | o->height) & 1 ||
        o->churn_pct < 0 || o->churn_pct > 100 || o->progress_every <= 0 ||
        (o->churn_pct > 0 && (o->janus || o->sink)))
        return -EINVAL;
    if (o->publishers > o->n_pub_tokens && !o->token_cmd && !o->janus && !o->class_groups) {
        fprintf(stderr, "loadgen: %d publishers need %d tokens or --token-cmd\n",
                o->publishers, o->publishers);
        return -EINVAL;
    }
    if (o->pairs <= 0)
        o->pairs = o->publishers > 0 ? o->publishers : 1;
    if (o->pairs > LG_MAX_PAIRS)
        o->pairs = LG_MAX_PAIRS;
    return 0;
}

/* ---- viewer thread ---------------------------------------------------- */

/* --churn: free the peers the main thread is done with (their sessions
 * deleted, their slots already taken by fresh peers), keeping their loss. */
static void viewers_retire(lg_viewers *vw, int ep)
{
    for (;;) {
        lg_peer *p = NULL;
        pthread_mutex_lock(&vw->lock);
        if (vw->retiring)
            p = vw->retire[--vw->retiring];
        pthread_mutex_unlock(&vw->lock);
        if (!p)
            return;
        if (p->fd >= 0)
            epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL); /* ENOENT when never adopted */
        for (int i = 0; i < vw->n_all; i++) {
            if (vw->all[i] == p) {
                vw->all[i] = vw->all[--vw->n_all];
                break;
            }
        }
        lg_churn_retire(vw->churn, p);
        lg_peer_free(p);
    }
}

/* --progress: one JSON line of tallies over the live peers. */
static void viewers_progress(lg_viewers *vw, int64_t now)
{
    json_t *o = vw->churn ? lg_churn_tally(vw->churn, vw->all, vw->n_all, now, false)
                          : json_object();
    char *s;
    int up = 0;

    if (!vw->churn) {
        for (int i = 0; i < vw->n_all; i++)
            up += vw->all[i]->state == LG_PEER_CONNECTED;
        json_object_set_new(o, "viewers_connected", json_integer(up));
    }
    json_object_set_new(o, "t_s", json_real((double)(now - vw->t0_us) / 1e6));
    json_object_set_new(o, "rx_rtp", json_integer((json_int_t)atomic_load(&vw->rx.rtp)));
    json_object_set_new(o, "failed", json_integer(atomic_load(&vw->failed)));
    s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (s) {
        fprintf(vw->progress, "%s\n", s);
        fflush(vw->progress);
    }
    free(s);
    json_decref(o);
}

static void viewers_adopt(lg_viewers *vw, int ep, int64_t now)
{
    lg_peer *batch[256];
    int n;

    do {
        pthread_mutex_lock(&vw->lock);
        n = vw->queued < 256 ? vw->queued : 256;
        memcpy(batch, vw->queue, (size_t)n * sizeof(batch[0]));
        memmove(vw->queue, vw->queue + n, (size_t)(vw->queued - n) * sizeof(batch[0]));
        vw->queued -= n;
        pthread_mutex_unlock(&vw->lock);
        for (int i = 0; i < n; i++) {
            lg_peer *p = batch[i];
            struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
            if (vw->n_all == vw->cap_all) {
                p->state = LG_PEER_FAILED;
                p->fail_reason = "too many peers";
                continue;
            }
            vw->all[vw->n_all++] = p;
            if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0 || lg_peer_start(p, vw->cert, now) < 0)
                p->state = LG_PEER_FAILED;
        }
    } while (n == 256);
    viewers_retire(vw, ep);
}

/* After a viewer's input: count its joining or failing, and a --sink
 * viewer that has joined stops reading.  True when it did. */
static bool viewer_settle(lg_viewers *vw, int ep, lg_peer *p, lg_peer_state before)
{
    if (p->state != before) {
        if (p->state == LG_PEER_CONNECTED)
            atomic_fetch_add(&vw->connected, 1);
        else if (p->state == LG_PEER_FAILED)
            atomic_fetch_add(&vw->failed, 1);
    }
    if (p->rejoin && !p->rejoin_seen && p->t_first_media_us) {
        p->rejoin_seen = true;
        lg_churn_first_media(vw->churn, p);
    }
    if (vw->sink && p->t_first_media_us && p->state == LG_PEER_CONNECTED) {
        /* Joined: from now on only the consent timer runs (viewer_thread's
         * tick loop walks vw->all, not the poll set). */
        epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
        if (lg_peer_sink(p) == 0)
            atomic_fetch_add(&vw->sunk, 1);
        return true;
    }
    return false;
}

typedef struct tcp_input {
    lg_viewers *vw;
    lg_peer *p;
    int64_t now;
} tcp_input;

static void on_tcp_frame(void *ud, uint8_t *d, size_t len)
{
    tcp_input *in = ud;
    lg_rx_count(&in->vw->rx, d, len);
    /* TCP has no kernel receive time: latency is taken at our read. */
    lg_peer_input(in->p, d, len, in->now, 0, &in->vw->lat);
}

/* An ICE-TCP viewer: read a bounded amount, frame it (RFC 4571). */
static void viewer_drain_tcp(lg_viewers *vw, int ep, lg_peer *p)
{
    lg_peer_state before = p->state;
    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(p->fd, sc_rfc4571_space(p->rx), sc_rfc4571_room(p->rx), MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) { /* the server closed it */
            epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
            if (p->state != LG_PEER_FAILED) {
                p->state = LG_PEER_FAILED;
                p->fail_reason = "TCP connection closed";
            }
            break;
        }
        uint64_t oversize = 0;
        tcp_input in = {vw, p, lg_now_us()};
        sc_rfc4571_consume(p->rx, (size_t)n, on_tcp_frame, &in, &oversize);
    }
    viewer_settle(vw, ep, p, before);
}

/* Read everything queued on one viewer's socket. */
static void viewer_drain(lg_viewers *vw, int ep, lg_peer *p)
{
    if (p->tcp) {
        viewer_drain_tcp(vw, ep, p);
        return;
    }
    for (;;) {
        lg_peer_state before = p->state;
        int n = lg_rx_udp_batch(p, &vw->lat, &vw->rx);
        if (n <= 0)
            return;
        if (viewer_settle(vw, ep, p, before) || n < LG_RX_BATCH)
            return;
    }
}

static void *viewer_thread(void *arg)
{
    lg_viewers *vw = arg;
    struct epoll_event evs[256];
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int64_t next_tick = 0, next_progress = vw->t0_us + vw->progress_us;

    atomic_store(&vw->tid, (int)syscall(SYS_gettid));
    if (ep < 0)
        return NULL;
    if (vw->idle) {
        /* Kernel receive timestamps keep the latency exact however late
         * we read; this keeps our reading off the server's cores while
         * it has work (viewers on other hosts would not share them). */
        struct sched_param sp = { 0 };
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
            fprintf(stderr, "loadgen: SCHED_IDLE refused; the viewer thread runs normally\n");
    }
    epoll_ctl(ep, EPOLL_CTL_ADD, vw->evfd, &ev);
    while (!atomic_load(&vw->stop)) {
        int64_t now = lg_now_us();
        int timeout = next_tick > now ? (int)((next_tick - now + 999) / 1000) : 0;
        int n = epoll_wait(ep, evs, 256, timeout > 10 ? 10 : timeout);

        vw->lat.enabled = atomic_load_explicit(&vw->lat_enabled, memory_order_relaxed);
        for (int i = 0; i < n; i++) {
            if (!evs[i].data.ptr) {
                uint64_t v;
                if (read(vw->evfd, &v, sizeof(v)) < 0) {
                    /* nothing queued after all */
                }
                viewers_adopt(vw, ep, lg_now_us());
                continue;
            }
            viewer_drain(vw, ep, evs[i].data.ptr);
        }
        now = lg_now_us();
        if (now >= next_tick) {
            /* Timers at 10 ms granularity: check retransmits, consent,
             * DTLS timeouts.  A linear scan is cheap next to the packets. */
            next_tick = now + 10000;
            for (int i = 0; i < vw->n_all; i++) {
                lg_peer *p = vw->all[i];
                lg_peer_state before = p->state;
                lg_peer_tick(p, now);
                if (p->state != before && p->state == LG_PEER_FAILED)
                    atomic_fetch_add(&vw->failed, 1);
            }
            if (vw->progress && now >= next_progress) {
                viewers_progress(vw, now);
                next_progress += vw->progress_us;
            }
        }
    }
    close(ep);
    return NULL;
}

/* ---- main thread: publishers, joins, measurement ---------------------- */

typedef struct lg_run {
    lg_opts o;
    uint32_t rng;
    sc_dtls_cert *cert;        /* the main thread's (publishers) */
    sc_sdp *sdp;               /* scratch for answers */
    lg_media *media;
    lg_frame *frame;
    lg_frame *frame_k;         /* another co-host's frame (send_video) */
    int ep;
    lg_peer *pubs[LG_MAX_PUBLISHERS];
    char *pub_tokens[LG_MAX_PUBLISHERS];
    int n_pubs;
    uint64_t feeds[LG_MAX_PUBLISHERS];  /* Janus publisher ids */
    int64_t next_video, next_audio;
    uint64_t frames, keyframes, video_bytes, audio_packets, late_frames;
    uint64_t frame_pkts[LG_FRAME_PKT_BUCKETS]; /* frames by video packets (last: that or more) */
    lg_viewers *vw;
    lg_peer **viewers;
    int n_viewers;             /* POSTs attempted */
    int post_failed;
    int http_fail_status[8];   /* first few non-201 statuses, for the report */
    lg_churn *churn;           /* --churn, else NULL */
} lg_run;

/* POST an offer to /whip|/whep/ROOM; on 201 the answer goes into the peer.
 * `scratch` is the calling thread's heap sc_sdp. */
static int sign_in(lg_run *r, lg_peer *p, const char *kind, const char *token,
                   const char *fingerprint, sc_sdp *scratch)
{
    char path[256], err[256];
    lg_http_resp resp;
    char *offer = lg_peer_offer(p, fingerprint);
    int rc;

    if (!offer)
        return -ENOMEM;
    snprintf(path, sizeof(path), "/%s/%s", kind, r->o.room);
    p->t_request_us = lg_now_us();
    rc = lg_http_request(r->o.host, r->o.port, "POST", path, token, "application/sdp", offer,
                         strlen(offer), &resp);
    free(offer);
    p->http_status = resp.status;
    if (rc == 0 && resp.status != 201)
        rc = -EPROTO;
    if (rc == 0 && !resp.location[0])
        rc = -EPROTO;
    if (rc == 0) {
        snprintf(p->location, sizeof(p->location), "%s", resp.location);
        rc = lg_peer_set_answer(p, resp.body, resp.body_len, scratch, err, sizeof(err));
        if (rc < 0)
            fprintf(stderr, "loadgen: %s answer: %s\n", kind, err);
    } else if (resp.status && resp.body) {
        fprintf(stderr, "loadgen: POST %s: %d %.200s\n", path, resp.status, resp.body);
    } else {
        fprintf(stderr, "loadgen: POST %s: %s\n", path, strerror(-rc));
    }
    lg_http_resp_free(&resp);
    return rc;
}

/* Janus publisher k: session + VideoRoom handle; the first one creates the
 * room; then "joinandconfigure" with our offer, whose event carries
 * Janus's answer and our feed id. */
static int janus_publish(lg_run *r, lg_peer *p, int k)
{
    const char *h = r->o.host;
    char err[256];

    p->t_request_us = lg_now_us();
    if (lg_janus_open(h, r->o.port, &p->janus_session, &p->janus_handle, err, sizeof(err)) < 0 ||
        (k == 0 && lg_janus_create_room(h, r->o.port, p->janus_session, p->janus_handle,
                                        r->o.janus_room, r->o.publishers, err, sizeof(err)) < 0) ||
        lg_janus_publish(h, r->o.port, p, r->o.janus_room, "loadgen-pub",
                         sc_dtls_cert_fingerprint(r->cert), r->sdp, &r->feeds[k], err,
                         sizeof(err)) < 0) {
        fprintf(stderr, "loadgen: janus publisher %d: %s\n", k, err);
        return -EPROTO;
    }
    return 0;
}

/* Janus viewer: a subscriber handle on its own session (as a browser has),
 * "join" with every publisher's feed, answer Janus's offer, "start". */
static int janus_subscribe(lg_run *r, lg_peer *p)
{
    char err[256];

    p->t_request_us = lg_now_us();
    if (lg_janus_subscribe(r->o.host, r->o.port, p, r->o.janus_room, r->feeds, r->n_pubs,
                           sc_dtls_cert_fingerprint(r->vw->cert), r->sdp, err, sizeof(err)) < 0) {
        fprintf(stderr, "loadgen: janus viewer %d: %s\n", p->index, err);
        return -EPROTO;
    }
    return 0;
}

static int start_publishers(lg_run *r)
{
    char err[256];
    if (r->o.janus && r->o.janus_ws_port &&
        lg_janus_use_ws(r->o.host, r->o.janus_ws_port, err, sizeof(err)) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return -ECONNREFUSED;
    }
    for (int k = 0; k < r->o.publishers; k++) {
        struct epoll_event ev = { .events = EPOLLIN };
        lg_peer *p;
        const char *tok = k < r->o.n_pub_tokens ? r->o.pub_tokens[k] : NULL;

        if (!tok && !r->o.janus) {
            r->pub_tokens[k] = lg_token_from_cmd(r->o.token_cmd);
            if (!r->pub_tokens[k]) {
                fprintf(stderr, "loadgen: --token-cmd gave no token\n");
                return -EINVAL;
            }
            tok = r->pub_tokens[k];
        }
        p = lg_peer_new(true, 1, &r->rng);
        if (!p)
            return -ENOMEM;
        r->pubs[r->n_pubs++] = p;
        p->index = k;
        if (r->o.janus ? janus_publish(r, p, k) < 0
                       : sign_in(r, p, "whip", tok, sc_dtls_cert_fingerprint(r->cert), r->sdp) < 0)
            return -EPROTO;
        ev.data.ptr = p;
        if (epoll_ctl(r->ep, EPOLL_CTL_ADD, p->fd, &ev) < 0)
            return -errno;
        if (lg_peer_start(p, r->cert, lg_now_us()) < 0)
            return -EPROTO;
    }
    return 0;
}

static void send_video(lg_run *r, int64_t now)
{
    bool kf = false;

    for (int k = 0; k < r->n_pubs; k++) {
        kf |= r->pubs[k]->want_keyframe;
        r->pubs[k]->want_keyframe = false;
    }
    if (kf)
        lg_media_force_keyframe(r->media);
    if (lg_media_video_frame(r->media, r->frame) < 0)
        return;
    r->frames++;
    r->keyframes += r->frame->keyframe;
    r->frame_pkts[r->frame->n < LG_FRAME_PKT_BUCKETS ? r->frame->n : LG_FRAME_PKT_BUCKETS - 1]++;
    r->video_bytes += r->frame->bytes;
    /* Each co-host its own frame (clip mode): publisher k is k/n of the
     * clip ahead of publisher 0.  Live mode: all send the one frame. */
    int clip_n = lg_media_clip_frames(r->media);
    for (int k = 0; k < r->n_pubs; k++) {
        const lg_frame *f = r->frame;
        if (k > 0 && clip_n > 0 &&
            lg_media_video_frame_shifted(r->media, k * clip_n / r->n_pubs, r->frame_k) == 0)
            f = r->frame_k;
        for (int i = 0; i < f->n; i++) {
            const lg_payload *pl = &f->pkts[i];
            int64_t t = lg_now_us() | (f->keyframe ? (int64_t)LG_TRAILER_KEY : 0);
            lg_peer_send_rtp(r->pubs[k], true, pl->data, pl->len, pl->marker, f->ts90k, t);
        }
    }
    (void)now;
}

static void send_audio(lg_run *r)
{
    uint8_t pkt[1000];
    int n = lg_media_audio_frame(r->media, pkt, sizeof(pkt));
    uint32_t ts = (uint32_t)(r->audio_packets * 960);
    int64_t t = lg_now_us();

    if (n <= 0)
        return;
    r->audio_packets++;
    for (int k = 0; k < r->n_pubs; k++)
        lg_peer_send_rtp(r->pubs[k], false, pkt, (size_t)n, false, ts, t);
}

static void wake_viewer_thread(lg_run *r)
{
    uint64_t one = 1;

    if (write(r->vw->evfd, &one, sizeof(one)) < 0) {
        /* the viewer thread polls its queues on its next wakeup anyway */
    }
}

/* One viewer sign-in into `slot` (a fresh slot, or a churn slot's
 * rejoin), handed to the viewer thread on success.  False when the POST
 * failed (the peer takes the slot, FAILED) or no peer could be made (the
 * slot is left as it was).  scratch and rng are the calling thread's. */
static bool join_slot(lg_run *r, int slot, bool rejoin, sc_sdp *scratch, uint32_t *rng)
{
    lg_peer *p = lg_peer_new(false, r->o.pairs, rng);

    if (!p)
        return false;
    r->viewers[slot] = p;
    p->index = slot;
    p->rejoin = rejoin;
    p->sample_every = r->o.sample_every;
    if (r->o.janus ? janus_subscribe(r, p) < 0
                   : sign_in(r, p, "whep", r->o.viewer_token,
                             sc_dtls_cert_fingerprint(r->vw->cert), scratch) < 0) {
        p->state = LG_PEER_FAILED;
        p->fail_reason = "POST failed";
        return false;
    }
    pthread_mutex_lock(&r->vw->lock);
    r->vw->queue[r->vw->queued++] = p;
    pthread_mutex_unlock(&r->vw->lock);
    wake_viewer_thread(r);
    return true;
}

static void join_one(lg_run *r)
{
    int slot = r->n_viewers;

    r->viewers[slot] = NULL;
    if (join_slot(r, slot, false, r->sdp, &r->rng)) {
        r->n_viewers++;
        return;
    }
    if (r->viewers[slot] && r->post_failed < 8)
        r->http_fail_status[r->post_failed] = r->viewers[slot]->http_status;
    r->post_failed++;
    if (r->viewers[slot]) /* else out of memory: no peer in the slot */
        r->n_viewers++;
}

static int delete_session(lg_run *r, lg_peer *p, const char *token);

/* --churn runs on a thread of its own, so that the publishers (main
 * thread) never wait for the server's answer to a DELETE or a sign-in: a
 * slow answer would stall every viewer's media and pass for the server's
 * stall.  During the window it is the only thread that signs peers in or
 * writes r->viewers. */
typedef struct lg_churner {
    lg_run *r;
    sc_sdp *sdp;
    uint32_t rng;
    atomic_bool stop;
} lg_churner;

/* The viewer in `slot` leaves (DELETE) and a fresh peer takes its place;
 * the old one goes back to the viewer thread, which frees it. */
static void churn_slot(lg_churner *ch, int slot)
{
    lg_run *r = ch->r;
    lg_peer *old = r->viewers[slot];

    lg_churn_left(r->churn, old->location[0] ? delete_session(r, old, r->o.viewer_token) : 200);
    lg_churn_posted(r->churn, join_slot(r, slot, true, ch->sdp, &ch->rng));
    if (r->viewers[slot] == old) /* no new peer (out of memory): the old one keeps the slot */
        return;
    pthread_mutex_lock(&r->vw->lock);
    r->vw->retire[r->vw->retiring++] = old;
    pthread_mutex_unlock(&r->vw->lock);
    wake_viewer_thread(r);
}

static void *churn_thread(void *arg)
{
    lg_churner *ch = arg;

    while (!atomic_load(&ch->stop)) {
        int64_t now = lg_now_us(), next = now + 50000;
        int slot = lg_churn_due(ch->r->churn, now, &next);
        if (slot >= 0 && slot < ch->r->n_viewers) {
            churn_slot(ch, slot);
            continue;
        }
        now = lg_now_us();
        if (next > now)
            usleep((useconds_t)(next - now));
    }
    return NULL;
}

/* Run the publishers until `until`; join viewers on schedule if `joining`.
 * Returns early when `stop_when_connected` and every publisher is up. */
static void pump(lg_run *r, int64_t until, bool joining, int64_t join_start,
                 bool stop_when_connected)
{
    struct epoll_event evs[16];
    uint8_t buf[2048];

    for (;;) {
        int64_t now = lg_now_us(), next = until;
        bool all_up = true;

        for (int k = 0; k < r->n_pubs; k++) {
            int64_t t = lg_peer_tick(r->pubs[k], now);
            all_up &= r->pubs[k]->state == LG_PEER_CONNECTED;
            if (t < next)
                next = t;
        }
        if (stop_when_connected && all_up)
            return;
        if (now >= until)
            return;
        if (all_up && r->n_pubs) {
            if (now >= r->next_video) {
                send_video(r, now);
                r->next_video += 1000000 / r->o.fps;
                /* Fell behind (blocking sign-ins): skip rather than burst. */
                if (r->next_video < now - 100000) {
                    r->late_frames++;
                    r->next_video = now + 1000000 / r->o.fps;
                }
            }
            if (now >= r->next_audio) {
                send_audio(r);
                r->next_audio += 20000;
                if (r->next_audio < now - 100000)
                    r->next_audio = now + 20000;
            }
            if (r->next_video < next)
                next = r->next_video;
            if (r->next_audio < next)
                next = r->next_audio;
        }
        if (joining && r->n_viewers < r->o.viewers) {
            int64_t due = join_start + (int64_t)(r->n_viewers * 1e6 / r->o.join_rate);
            if (now >= due) {
                join_one(r);
                continue;
            }
            if (due < next)
                next = due;
        }
        now = lg_now_us();
        int timeout = next > now ? (int)((next - now + 999) / 1000) : 0;
        int n = epoll_wait(r->ep, evs, 16, timeout);
        for (int i = 0; i < n; i++) {
            lg_peer *p = evs[i].data.ptr;
            ssize_t len;
            while ((len = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
                lg_peer_input(p, buf, (size_t)len, lg_now_us(), 0, NULL);
        }
    }
}

/* ---- report ----------------------------------------------------------- */

/* Join-time figures in ms: request to first media packet (any), to first
 * video packet, and to DTLS connected. */
static json_t *join_json(lg_run *r, int which)
{
    int64_t *v = calloc((size_t)r->n_viewers + 1, sizeof(*v));
    int n = 0;
    json_t *o = json_object();

    for (int i = 0; v && i < r->n_viewers; i++) {
        lg_peer *p = r->viewers[i];
        int64_t t = which == 0 ? p->t_first_media_us : which == 1 ? p->t_first_video_us
                                                                  : p->t_connected_us;
        if (t)
            v[n++] = t - p->t_request_us;
    }
    qsort(v, (size_t)n, sizeof(*v), lg_cmp_i64);
    json_object_set_new(o, "n", json_integer(n));
    json_object_set_new(o, "p50_ms", json_real(lg_pct_i64(v, n, 0.50) / 1000));
    json_object_set_new(o, "p95_ms", json_real(lg_pct_i64(v, n, 0.95) / 1000));
    json_object_set_new(o, "p99_ms", json_real(lg_pct_i64(v, n, 0.99) / 1000));
    json_object_set_new(o, "max_ms", json_real(lg_pct_i64(v, n, 1.0) / 1000));
    free(v);
    return o;
}

static json_t *loss_json(lg_run *r, uint64_t *worst_ppm_out, int *over_1pct)
{
    uint64_t exp_total = 0, lost_total = 0, worst_ppm = 0, ovfl = 0;
    int over = 0, no_media = 0;
    json_t *o = json_object();

    for (int i = 0; i < r->n_viewers; i++) {
        lg_peer *p = r->viewers[i];
        uint64_t e, l = lg_peer_lost(p, &e);
        if (p->state != LG_PEER_CONNECTED)
            continue;
        if (!p->rx_rtp)
            no_media++;
        exp_total += e;
        lost_total += l;
        ovfl += p->rx_ovfl;
        if (e) {
            uint64_t ppm = l * 1000000 / e;
            if (ppm > worst_ppm)
                worst_ppm = ppm;
            if (ppm > 10000)
                over++;
        }
    }
    json_object_set_new(o, "expected", json_integer((json_int_t)exp_total));
    json_object_set_new(o, "lost", json_integer((json_int_t)lost_total));
    json_object_set_new(o, "loss_pct",
                        json_real(exp_total ? 100.0 * (double)lost_total / (double)exp_total : 0));
    json_object_set_new(o, "worst_viewer_loss_pct", json_real((double)worst_ppm / 10000.0));
    json_object_set_new(o, "viewers_over_1pct", json_integer(over));
    json_object_set_new(o, "connected_without_media", json_integer(no_media));
    json_object_set_new(o, "loadgen_socket_drops", json_integer((json_int_t)ovfl));
    *worst_ppm_out = worst_ppm;
    *over_1pct = over;
    return o;
}

typedef struct lg_snap {
    int64_t t_us;
    int64_t server_cpu_us, self_cpu_us, viewer_thread_cpu_us;
    uint64_t forwarded, rx_packets, pub_sent;
    uint64_t frames, keyframes;              /* the publishers' video frames */
    json_t *workers;                         /* /api/stats "workers" (owned), or NULL */
    uint64_t frame_pkts[LG_FRAME_PKT_BUCKETS];
    uint64_t udp_rcvbuf, udp_sndbuf;        /* the namespace's Udp: counters */
    uint64_t drops_unconnected, drops_connected;
    uint64_t cpu_busy, cpu_total, cpu_softirq, cpu_steal; /* /proc/stat "cpu" line, ticks */
    int64_t ksoftirqd_us;                       /* every ksoftirqd thread's CPU */
} lg_snap;

static void snapshot(lg_run *r, lg_snap *s)
{
    char path[64];
    struct rusage ru;

    s->t_us = lg_now_us();
    s->workers = NULL;
    s->frames = r->frames;
    s->keyframes = r->keyframes;
    memcpy(s->frame_pkts, r->frame_pkts, sizeof(s->frame_pkts));
    if (r->o.janus) {
        /* No stats API on Janus here (admin off): what the viewers got. */
        s->forwarded = atomic_load(&r->vw->rx.rtp);
    } else {
        json_t *st = lg_server_stats(r->o.host, r->o.port, r->o.admin_token);
        s->forwarded = lg_json_u64(st, "forwarded_packets");
        s->workers = json_incref(json_object_get(st, "workers"));
        json_decref(st);
    }
    if (r->o.server_pid > 0) {
        snprintf(path, sizeof(path), "%d", r->o.server_pid);
        s->server_cpu_us = lg_proc_cpu_us(path);
    }
    getrusage(RUSAGE_SELF, &ru);
    s->self_cpu_us = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                     ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    snprintf(path, sizeof(path), "self/task/%d", atomic_load(&r->vw->tid));
    s->viewer_thread_cpu_us = lg_proc_cpu_us(path);
    s->rx_packets = atomic_load(&r->vw->rx.packets);
    s->pub_sent = 0;
    for (int k = 0; k < r->n_pubs; k++)
        s->pub_sent += r->pubs[k]->sent_packets;
    lg_udp_errors(&s->udp_rcvbuf, &s->udp_sndbuf);
    lg_udp_socket_drops(&s->drops_unconnected, &s->drops_connected);
    lg_machine_cpu(&s->cpu_busy, &s->cpu_total, &s->cpu_softirq, &s->cpu_steal);
    s->ksoftirqd_us = lg_ksoftirqd_cpu_us();
}

/* How many packets the window's video frames took: a frame leaves as one
 * burst and its fan-out is the latency tail, so big frames make the p99. */
static json_t *frame_packets_json(const lg_snap *a, const lg_snap *b)
{
    uint64_t n[LG_FRAME_PKT_BUCKETS], total = 0, seen = 0;
    int max = 0;
    double pct[] = { 0.5, 0.9, 0.99 };
    const char *name[] = { "p50", "p90", "p99" };
    json_t *o = json_object();

    for (int i = 0; i < LG_FRAME_PKT_BUCKETS; i++) {
        n[i] = b->frame_pkts[i] - a->frame_pkts[i];
        total += n[i];
        if (n[i])
            max = i;
    }
    for (int k = 0, i = 0; k < 3; k++) {
        while (i < LG_FRAME_PKT_BUCKETS - 1 && (double)(seen + n[i]) < pct[k] * (double)total)
            seen += n[i++];
        json_object_set_new(o, name[k], json_integer(total ? i : 0));
    }
    json_object_set_new(o, "max", json_integer(max));
    json_object_set_new(o, "max_is_at_least", json_boolean(max == LG_FRAME_PKT_BUCKETS - 1));
    return o;
}

/* What the window offered and what got dropped where.  offered_pps is what
 * the server would forward if it kept up: the publishers' packets times the
 * viewers that receive them (every viewer takes every publisher). */
static json_t *window_json(lg_run *r, const lg_snap *a, const lg_snap *b, double win)
{
    json_t *o = json_object();
    int receiving = 0;
    double offered;

    for (int i = 0; i < r->n_viewers; i++)
        receiving += r->viewers[i]->t_first_media_us != 0;
    offered = (double)(b->pub_sent - a->pub_sent) / win * receiving;
    json_object_set_new(o, "publisher_pps", json_real((double)(b->pub_sent - a->pub_sent) / win));
    json_object_set_new(o, "viewers_receiving", json_integer(receiving));
    /* Keyframes are the big frames: a window with some has a longer tail. */
    json_object_set_new(o, "video_frames", json_integer((json_int_t)(b->frames - a->frames)));
    json_object_set_new(o, "keyframes", json_integer((json_int_t)(b->keyframes - a->keyframes)));
    json_object_set_new(o, "frame_packets", frame_packets_json(a, b));
    json_object_set_new(o, "offered_pps", json_real(offered));
    json_object_set_new(o, "forwarded_over_offered",
                        offered > 0 ? json_real((double)(b->forwarded - a->forwarded) / win /
                                                offered)
                                    : json_null());
    json_object_set_new(o, "udp_rcvbuf_errors", json_integer((json_int_t)(b->udp_rcvbuf -
                                                                          a->udp_rcvbuf)));
    json_object_set_new(o, "udp_sndbuf_errors", json_integer((json_int_t)(b->udp_sndbuf -
                                                                          a->udp_sndbuf)));
    json_object_set_new(o, "server_socket_drops",
                        json_integer((json_int_t)(b->drops_unconnected - a->drops_unconnected)));
    json_object_set_new(o, "loadgen_socket_drops",
                        json_integer((json_int_t)(b->drops_connected - a->drops_connected)));
    json_object_set_new(o, "loadgen_socket_drops_pps",
                        json_real((double)(b->drops_connected - a->drops_connected) / win));
    /* In % of one core, like the process figures. */
    if (b->cpu_total > a->cpu_total) {
        double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN), t = (double)(b->cpu_total -
                                                                             a->cpu_total);
        json_object_set_new(o, "machine_busy_pct",
                            json_real(100 * ncpu * (double)(b->cpu_busy - a->cpu_busy) / t));
        json_object_set_new(o, "machine_softirq_pct",
                            json_real(100 * ncpu * (double)(b->cpu_softirq - a->cpu_softirq) /
                                      t));
        json_object_set_new(o, "machine_steal_pct",
                            json_real(100 * ncpu * (double)(b->cpu_steal - a->cpu_steal) / t));
    }
    json_object_set_new(o, "ksoftirqd_cpu_pct",
                        json_real(100.0 * (double)(b->ksoftirqd_us - a->ksoftirqd_us) / 1e6 /
                                  win));
    return o;
}

static int delete_session(lg_run *r, lg_peer *p, const char *token)
{
    lg_http_resp resp;
    int status;

    if (!p->location[0])
        return 0;
    if (lg_http_request(r->o.host, r->o.port, "DELETE", p->location, token, NULL, NULL, 0,
                        &resp) < 0)
        status = 0;
    else
        status = resp.status;
    lg_http_resp_free(&resp);
    p->deleted = status == 200;
    return status;
}

static void add_reasons(lg_run *r, json_t *o)
{
    json_t *reasons = json_object();
    for (int i = 0; i < r->n_viewers; i++) {
        lg_peer *p = r->viewers[i];
        const char *why;
        if (p->t_connected_us)
            continue;
        why = p->fail_reason ? p->fail_reason : "not connected by the end";
        json_object_set_new(reasons, why,
                            json_integer(json_integer_value(json_object_get(reasons, why)) + 1));
    }
    json_object_set_new(o, "failure_reasons", reasons);
}

static int setup(lg_run *r)
{
    struct rlimit rl;

    /* One socket per viewer. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    r->rng = (uint32_t)lg_now_us() ^ (uint32_t)getpid() << 16;
    if (r->rng == 0)
        r->rng = 1;
    if (lg_peer_global_init() < 0)
        return -EIO;
    r->cert = sc_dtls_cert_new();
    r->sdp = malloc(sizeof(*r->sdp));
    r->frame = malloc(sizeof(*r->frame));
    r->frame_k = malloc(sizeof(*r->frame_k));
    r->media = lg_media_new(r->o.width, r->o.height, r->o.fps, r->o.video_kbps,
                            r->o.audio_kbps);
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    r->vw = calloc(1, sizeof(*r->vw));
    r->viewers = calloc((size_t)r->o.viewers + 1, sizeof(*r->viewers));
    if (!r->cert || !r->sdp || !r->frame || !r->frame_k || !r->media || r->ep < 0 || !r->vw || !r->viewers)
        return -ENOMEM;
    if (r->o.clip_seconds > 0 && lg_media_make_clip(r->media, r->o.clip_seconds * r->o.fps) < 0)
        return -EIO;
    pthread_mutex_init(&r->vw->lock, NULL);
    r->vw->sink = r->o.sink;
    r->vw->idle = r->o.viewers_idle;
    r->vw->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    r->vw->cert = sc_dtls_cert_new();
    r->vw->lat.fwd.b = calloc(LG_HIST_BUCKETS, sizeof(uint32_t));
    r->vw->lat.queue.b = calloc(LG_HIST_BUCKETS, sizeof(uint32_t));
    r->vw->lat.fwd_key.b = calloc(LG_HIST_BUCKETS, sizeof(uint32_t));
    /* With churn a slot's new peer is adopted before its old one retires. */
    r->vw->cap_all = 2 * r->o.viewers + 256;
    r->vw->all = calloc((size_t)r->vw->cap_all, sizeof(*r->vw->all));
    if (r->vw->evfd < 0 || !r->vw->cert || !r->vw->lat.fwd.b || !r->vw->lat.queue.b || !r->vw->lat.fwd_key.b ||
        !r->vw->all)
        return -ENOMEM;
    if (r->o.churn_pct > 0 && !(r->churn = r->vw->churn = lg_churn_new(r->o.viewers, r->o.churn_pct)))
        return -ENOMEM;
    if (r->o.progress_path && !(r->vw->progress = fopen(r->o.progress_path, "a")))
        return -errno;
    r->vw->progress_us = (int64_t)(r->o.progress_every * 1e6);
    r->vw->t0_us = lg_now_us();
    return 0;
}

/* Joins on schedule, then waits until every viewer is connected or failed
 * (or 20 s passed since the last sign-in). */
static void join_phase(lg_run *r)
{
    int64_t start = lg_now_us(), last_join = 0;

    for (;;) {
        int64_t now = lg_now_us();
        int done;
        pump(r, now + 100000, true, start, false);
        if (r->n_viewers < r->o.viewers)
            continue;
        if (!last_join)
            last_join = lg_now_us();
        done = atomic_load(&r->vw->connected) + atomic_load(&r->vw->failed) + r->post_failed;
        if (done >= r->o.viewers || lg_now_us() - last_join > 20000000)
            return;
    }
}

static json_t *pub_json(lg_run *r, double window_s)
{
    json_t *o = json_object();
    uint64_t plis = 0, sent = 0, errs = 0;

    for (int k = 0; k < r->n_pubs; k++) {
        plis += r->pubs[k]->plis + r->pubs[k]->firs;
        sent += r->pubs[k]->sent_packets;
        errs += r->pubs[k]->send_errors;
    }
    json_object_set_new(o, "publishers", json_integer(r->n_pubs));
    json_object_set_new(o, "frames", json_integer((json_int_t)r->frames));
    json_object_set_new(o, "keyframes", json_integer((json_int_t)r->keyframes));
    json_object_set_new(o, "late_frames", json_integer((json_int_t)r->late_frames));
    json_object_set_new(o, "clip_seconds", json_integer(r->o.clip_seconds));
    json_object_set_new(o, "video_kbps",
                        json_real(r->frames ? (double)r->video_bytes * 8 * r->o.fps /
                                                  (double)r->frames / 1000
                                            : 0));
    json_object_set_new(o, "keyframe_requests", json_integer((json_int_t)plis));
    json_object_set_new(o, "packets_sent", json_integer((json_int_t)sent));
    json_object_set_new(o, "send_errors", json_integer((json_int_t)errs));
    (void)window_s;
    return o;
}

static int run_class(const lg_opts *o)
{
    char err[256];
    lg_class_opts c = {
        .host = o->host, .port = o->port, .room = o->room, .admin_token = o->admin_token,
        .trainer_token = o->trainer_token, .token_cmd = o->token_cmd,
        .server_pid = o->server_pid, .groups = o->class_groups, .group_size = o->group_size,
        .moves = o->moves, .move_gap = o->move_gap, .join_rate = o->join_rate,
        .duration = o->duration, .settle = o->settle, .sample_every = o->sample_every,
        .clip_seconds = o->clip_seconds, .width = o->width, .height = o->height, .fps = o->fps,
        .video_kbps = o->video_kbps, .audio_kbps = o->audio_kbps, .json = o->json,
        .janus = o->janus, .janus_room = o->janus_room,
    };
    if (o->janus && o->janus_ws_port &&
        lg_janus_use_ws(o->host, o->janus_ws_port, err, sizeof(err)) < 0) {
        fprintf(stderr, "loadgen: %s\n", err);
        return 1;
    }
    return lg_class_run(&c);
}

int main(int argc, char **argv)
{
    lg_run run = { 0 }, *r = &run;
    lg_churner churner = { 0 };
    pthread_t th, churn_th;
    lg_snap a, b;
    int64_t rss0 = -1, rss1 = -1;
    uint64_t udp_rcv0, udp_snd0, udp_rcv1, udp_snd1, worst_ppm;
    int connected = 0, with_video = 0, del_ok = 0, del_total = 0, over1 = 0;
    int64_t sessions_after = -1;
    json_t *out, *lat, *server, *st_end;
    double win;

    if (parse_opts(argc, argv, &r->o) < 0) {
        usage();
        return 2;
    }
    if (r->o.class_groups)
        return run_class(&r->o);
    if (setup(r) < 0) {
        fprintf(stderr, "loadgen: setup failed\n");
        return 1;
    }
    lg_udp_errors(&udp_rcv0, &udp_snd0);
    if (start_publishers(r) < 0)
        return 1;
    pump(r, lg_now_us() + 10000000, false, 0, true);
    for (int k = 0; k < r->n_pubs; k++) {
        if (r->pubs[k]->state != LG_PEER_CONNECTED) {
            fprintf(stderr, "loadgen: publisher %d did not connect (%s)\n", k,
                    r->pubs[k]->fail_reason ? r->pubs[k]->fail_reason : "timeout");
            return 1;
        }
    }
    r->next_video = r->next_audio = lg_now_us();
    pump(r, lg_now_us() + 1000000, false, 0, false);
    if (r->o.server_pid > 0)
        rss0 = lg_proc_rss_kb(r->o.server_pid);

    if (pthread_create(&th, NULL, viewer_thread, r->vw) != 0)
        return 1;
    join_phase(r);
    pump(r, lg_now_us() + (int64_t)(r->o.settle * 1e6), false, 0, false);
    if (r->o.server_pid > 0)
        rss1 = lg_proc_rss_kb(r->o.server_pid);

    snapshot(r, &a);
    if (r->churn) {
        churner.r = r;
        churner.rng = r->rng ^ 0x9e3779b9u;
        if (!(churner.sdp = malloc(sizeof(*churner.sdp))))
            return 1;
        lg_churn_start(r->churn, a.t_us, a.t_us + (int64_t)((r->o.duration - 15) * 1e6));
        if (pthread_create(&churn_th, NULL, churn_thread, &churner) != 0)
            return 1;
    }
    atomic_store(&r->vw->lat_enabled, true);
    pump(r, lg_now_us() + (int64_t)(r->o.duration * 1e6), false, 0, false);
    atomic_store(&r->vw->lat_enabled, false);
    if (r->churn) {
        atomic_store(&churner.stop, true);
        pthread_join(churn_th, NULL);
        free(churner.sdp);
    }
    snapshot(r, &b);
    atomic_store(&r->vw->stop, true);
    pthread_join(th, NULL);
    /* Handed back after the viewer thread's last turn. */
    for (int i = 0; i < r->vw->retiring; i++) {
        lg_churn_retire(r->churn, r->vw->retire[i]);
        lg_peer_free(r->vw->retire[i]);
    }
    r->vw->retiring = 0;

    for (int i = 0; i < r->n_viewers; i++) {
        connected += r->viewers[i]->t_connected_us != 0;
        with_video += r->viewers[i]->t_first_video_us != 0;
    }
    out = json_object();
    if (r->o.janus) {
        json_object_set_new(out, "target", json_string("janus"));
        json_object_set_new(out, "forwarded_source", json_string("viewer_rtp_received"));
    }
    json_object_set_new(out, "mode", json_string(r->o.sink ? "sink" : "full"));
    json_object_set_new(out, "transport", json_string(r->o.tcp ? "tcp" : "udp"));
    json_object_set_new(out, "gro", json_boolean(r->o.gro));
    json_object_set_new(out, "viewers_idle", json_boolean(r->o.viewers_idle));
    json_object_set_new(out, "gro_coalesced_share",
                        json_real(atomic_load(&r->vw->rx.packets)
                                      ? (double)atomic_load(&r->vw->rx.coalesced) /
                                            (double)atomic_load(&r->vw->rx.packets)
                                      : 0));
    if (r->o.sink) {
        json_object_set_new(out, "mode_note",
                            json_string("viewers stop reading after their first media packet: "
                                        "loss and latency are not measured (null)"));
        json_object_set_new(out, "viewers_sunk", json_integer(atomic_load(&r->vw->sunk)));
    }
    json_object_set_new(out, "viewers_requested", json_integer(r->o.viewers));
    json_object_set_new(out, "viewers_connected", json_integer(connected));
    json_object_set_new(out, "viewers_failed", json_integer(r->n_viewers - connected +
                                                            (r->o.viewers - r->n_viewers)));
    json_object_set_new(out, "viewers_with_video", json_integer(with_video));
    json_object_set_new(out, "post_failed", json_integer(r->post_failed));
    add_reasons(r, out);
    json_object_set_new(out, "join_first_media", join_json(r, 0));
    json_object_set_new(out, "join_first_video", join_json(r, 1));
    json_object_set_new(out, "join_connected", join_json(r, 2));
    lat = lg_hist_json(&r->vw->lat.fwd);
    json_object_set_new(lat, "loadgen_queue", lg_hist_json(&r->vw->lat.queue));
    json_object_set_new(lat, "keyframe_packets", lg_hist_json(&r->vw->lat.fwd_key));
    json_object_set_new(lat, "srtp_auth_ok", json_integer((json_int_t)r->vw->lat.auth_ok));
    json_object_set_new(lat, "srtp_auth_fail", json_integer((json_int_t)r->vw->lat.auth_fail));
    if (r->o.sink) {
        /* The few packets read before each viewer sank say nothing. */
        json_decref(lat);
        json_object_set_new(out, "latency", json_null());
        json_object_set_new(out, "loss", json_null());
        worst_ppm = 0;
    } else {
        json_object_set_new(out, "latency", lat);
        json_object_set_new(out, "loss", loss_json(r, &worst_ppm, &over1));
    }

    win = (double)(b.t_us - a.t_us) / 1e6;
    server = json_object();
    json_object_set_new(server, "window_s", json_real(win));
    json_object_set_new(server, "forwarded_packets", json_integer((json_int_t)(b.forwarded - a.forwarded)));
    json_object_set_new(server, "forwarded_pps", json_real((double)(b.forwarded - a.forwarded) / win));
    json_object_set_new(server, "viewer_rx_pps", json_real((double)(b.rx_packets - a.rx_packets) / win));
    if (r->o.server_pid > 0 && a.server_cpu_us >= 0 && b.server_cpu_us >= 0) {
        double cpu = (double)(b.server_cpu_us - a.server_cpu_us);
        json_object_set_new(server, "cpu_pct", json_real(100 * cpu / 1e6 / win));
        json_object_set_new(server, "cpu_us_per_forwarded_packet",
                            b.forwarded > a.forwarded
                                ? json_real(cpu / (double)(b.forwarded - a.forwarded))
                                : json_null());
        json_object_set_new(server, "rss_before_viewers_kb", json_integer(rss0));
        json_object_set_new(server, "rss_with_viewers_kb", json_integer(rss1));
        json_object_set_new(server, "rss_per_viewer_kb",
                            connected ? json_real((double)(rss1 - rss0) / connected) : json_null());
    }
    json_object_set_new(out, "server", server);
    json_object_set_new(out, "window", window_json(r, &a, &b, win));
    if (r->churn) {
        json_t *ch = lg_churn_tally(r->churn, r->viewers, r->n_viewers, b.t_us, true);
        json_object_set_new(ch, "pct_per_min", json_real(r->o.churn_pct));
        json_object_set_new(out, "churn", ch);
        lg_churn_print(ch);
    }

    /* Tear down: every viewer, then the publishers; the server must return
     * to zero sessions. */
    for (int i = 0; r->o.janus && i < r->n_viewers; i++) {
        if (!r->viewers[i]->janus_session)
            continue;
        del_total++;
        del_ok += lg_janus_destroy(r->o.host, r->o.port, r->viewers[i]->janus_session) == 200;
    }
    for (int k = 0; r->o.janus && k < r->n_pubs; k++) {
        del_total++;
        del_ok += lg_janus_destroy(r->o.host, r->o.port, r->pubs[k]->janus_session) == 200;
    }
    if (r->o.janus)
        lg_janus_close();
    for (int i = 0; !r->o.janus && i < r->n_viewers; i++) {
        if (!r->viewers[i]->location[0])
            continue;
        del_total++;
        del_ok += delete_session(r, r->viewers[i], r->o.viewer_token) == 200;
    }
    for (int k = 0; !r->o.janus && k < r->n_pubs; k++) {
        del_total++;
        del_ok += delete_session(r, r->pubs[k], k < r->o.n_pub_tokens ? r->o.pub_tokens[k]
                                                                      : r->pub_tokens[k]) == 200;
    }
    st_end = NULL;
    for (int64_t end = lg_now_us() + 10000000; r->o.admin_token && lg_now_us() < end;) {
        json_decref(st_end);
        st_end = lg_server_stats(r->o.host, r->o.port, r->o.admin_token);
        sessions_after = st_end ? (int64_t)lg_json_u64(st_end, "sessions") : -1;
        if (sessions_after == 0)
            break;
        usleep(100000);
    }
    lg_udp_errors(&udp_rcv1, &udp_snd1);
    json_object_set_new(out, "deletes", json_integer(del_total));
    json_object_set_new(out, "deletes_ok", json_integer(del_ok));
    json_object_set_new(out, "server_sessions_after", json_integer(sessions_after));
    json_object_set_new(out, "udp_rcvbuf_errors", json_integer((json_int_t)(udp_rcv1 - udp_rcv0)));
    json_object_set_new(out, "udp_sndbuf_errors", json_integer((json_int_t)(udp_snd1 - udp_snd0)));

    json_t *self = json_object();
    json_object_set_new(self, "cpu_pct", json_real(100.0 * (double)(b.self_cpu_us - a.self_cpu_us) / 1e6 / win));
    json_object_set_new(self, "viewer_thread_cpu_pct",
                        json_real(100.0 * (double)(b.viewer_thread_cpu_us - a.viewer_thread_cpu_us) / 1e6 / win));
    json_object_set_new(out, "loadgen", self);
    json_object_set_new(out, "publish", pub_json(r, win));
    if (st_end)
        json_object_set_new(out, "server_stats_end", st_end);
    /* Each worker's sessions, load and socket drops as the window ended
     * (before the viewers leave): how evenly the load was spread. */
    json_object_set_new(out, "server_workers_window_end", b.workers ? b.workers : json_null());
    json_decref(a.workers);

    json_t *join = json_object_get(out, "join_first_media");
    double join50 = json_real_value(json_object_get(join, "p50_ms"));
    double join99 = json_real_value(json_object_get(join, "p99_ms"));
    double us_pkt = json_real_value(json_object_get(server, "cpu_us_per_forwarded_packet"));
    double self_cpu = json_real_value(json_object_get(self, "cpu_pct"));
    if (r->o.sink)
        fprintf(stderr,
                "loadgen: sink: viewers %d/%d connected, join p50 %.1f ms p99 %.1f ms, server "
                "%.0f pps forwarded of %.0f offered, %.0f%% cpu, %.2f us/pkt, loadgen cpu "
                "%.0f%%, deletes %d/%d, sessions after %" PRId64 "\n",
                connected, r->o.viewers, join50, join99,
                json_real_value(json_object_get(server, "forwarded_pps")),
                json_real_value(json_object_get(json_object_get(out, "window"), "offered_pps")),
                json_real_value(json_object_get(server, "cpu_pct")), us_pkt, self_cpu, del_ok,
                del_total, sessions_after);
    else
        fprintf(stderr,
                "loadgen: viewers %d/%d connected, join p50 %.1f ms p99 %.1f ms, latency p50 %.2f "
                "p99 %.2f max %.2f ms, loss %.3f%% (worst viewer %.3f%%), server %.2f us/pkt, "
                "%.1f KiB/viewer, loadgen cpu %.0f%%, deletes %d/%d, sessions after %" PRId64 "\n",
                connected, r->o.viewers, join50, join99, lg_hist_pct(&r->vw->lat.fwd, 0.5),
                lg_hist_pct(&r->vw->lat.fwd, 0.99), (double)r->vw->lat.fwd.max_us / 1000,
                json_real_value(json_object_get(json_object_get(out, "loss"), "loss_pct")),
                (double)worst_ppm / 10000.0, us_pkt,
                json_real_value(json_object_get(server, "rss_per_viewer_kb")), self_cpu, del_ok,
                del_total, sessions_after);
    if (r->o.json) {
        char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
        if (s)
            puts(s);
        free(s);
    }
    json_decref(out);
    for (int i = 0; i < r->n_viewers; i++)
        lg_peer_free(r->viewers[i]);
    for (int k = 0; k < r->n_pubs; k++) {
        lg_peer_free(r->pubs[k]);
        free(r->pub_tokens[k]);
    }
    lg_media_free(r->media);
    sc_dtls_cert_free(r->cert);
    sc_dtls_cert_free(r->vw->cert);
    free(r->vw->lat.fwd.b);
    free(r->vw->lat.queue.b);
    free(r->vw->lat.fwd_key.b);
    free(r->vw->all);
    lg_churn_free(r->churn);
    if (r->vw->progress)
        fclose(r->vw->progress);
    free(r->vw);
    free(r->viewers);
    free(r->sdp);
    free(r->frame);
    free(r->frame_k);
    return 0;
}
