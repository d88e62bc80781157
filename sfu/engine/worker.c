/* One media worker: an epoll loop on its own thread owning one UDP port
 * (sfu/net/udp.c), the transports assigned to it and their rooms.  Nothing here takes a lock
 * on the per-packet path; the control thread talks to a worker only through
 * its command queue (a mutex-protected list plus an eventfd). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/engine/private.h"
#include "sfu/engine/util.h"
#include "sfu/net/path.h"
#include "sfu/net/tcp.h"
#include "sfu/net/udp.h"
#include "sfu/proto/bytes.h"
#include "sfu/proto/rtp.h"
#include "sfu/proto/stun.h"

typedef enum {
    CMD_ADD, CMD_CLOSE, CMD_KEYFRAME, CMD_LAYER, CMD_VIEWPORT, CMD_TEMPORAL, CMD_RECORD, CMD_MUTE,
    CMD_DATA,       /* a data channel message to send */
    CMD_SCTP_POLL,  /* a usrsctp callback ran on another thread for this transport */
    CMD_MOVE,       /* into another room (breakout groups), or parked */
    CMD_TALK,       /* a publisher's audio also goes to these rooms */
} cmd_type;

struct sc_cmd {
    cmd_type type;
    sc_transport *t;
    uint64_t id;
    const char *reason;
    char room[SC_ROOM_NAME_MAX + 1]; /* CMD_KEYFRAME, CMD_MOVE ("" = park) */
    uint64_t gen;                    /* CMD_MOVE, CMD_TALK: the publisher's new generation */
    int slot;                        /* CMD_KEYFRAME, CMD_LAYER, CMD_VIEWPORT */
    int arg;                         /* KEYFRAME: layer; LAYER: choice; RECORD: on;
                                        VIEWPORT: width; TEMPORAL: max tid;
                                        DATA: binary */
    uint8_t *data;                   /* CMD_DATA: the message (owned); CMD_TALK: the
                                        rooms, arg names of SC_ROOM_NAME_MAX + 1 */
    size_t len;
    struct sc_cmd *next;
};

static void push_cmd(sc_worker *w, struct sc_cmd *c);
static int send_cmd(sc_worker *w, const struct sc_cmd *tmpl);
static void run_commands(sc_worker *w);

static sc_binding *find_binding(sc_worker *w, const sc_path *a)
{
    sc_binding *b = w->by_addr[sc_path_hash(a) % SC_ARRAY_SIZE(w->by_addr)];
    while (b && !sc_path_equal(&b->path, a))
        b = b->next;
    return b;
}

/* Fan out the held media packets, then send every queued datagram. */
static void send_all(sc_worker *w)
{
    sc__room_flush(w);
    sc__worker_flush(w);
}

static void unlink_binding(sc_worker *w, sc_binding *b)
{
    send_all(w); /* queued datagrams may point at this address */
    sc_binding **pp = &w->by_addr[sc_path_hash(&b->path) % SC_ARRAY_SIZE(w->by_addr)];
    while (*pp && *pp != b)
        pp = &(*pp)->next;
    if (*pp)
        *pp = b->next;
    sc_transport *t = b->t;
    for (int i = 0; i < t->n_bindings; i++) {
        if (t->bindings[i] == b) {
            t->bindings[i] = t->bindings[--t->n_bindings];
            break;
        }
    }
    if (t->selected == b)
        t->selected = t->n_bindings ? t->bindings[0] : NULL;
    if (sc_path_is_tcp(&b->path))
        sc_tcp_release(&b->path);
    free(b);
}

sc_binding *sc__worker_bind(sc_worker *w, sc_transport *t, const sc_path *path)
{
    sc_binding *b = find_binding(w, path);
    if (b && b->t == t)
        return b;
    if (b && sc_path_is_tcp(path)) /* one ICE-TCP connection serves one session */
        return NULL;
    if (b) /* the address moved to another session (port reuse) */
        unlink_binding(w, b);
    if (t->n_bindings == SC_MAX_BINDINGS)
        unlink_binding(w, t->bindings[0] == t->selected && t->n_bindings > 1 ? t->bindings[1]
                                                                           : t->bindings[0]);
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->path = *path;
    b->t = t;
    if (sc_path_is_tcp(path))
        sc_tcp_bound(path);
    size_t h = sc_path_hash(path) % SC_ARRAY_SIZE(w->by_addr);
    b->next = w->by_addr[h];
    w->by_addr[h] = b;
    t->bindings[t->n_bindings++] = b;
    return b;
}

static size_t ufrag_bucket(const char *ufrag)
{
    return sc_fnv1a(ufrag, strlen(ufrag)) % 1024;
}

static sc_transport *lookup_ufrag(sc_worker *w, const char *ufrag)
{
    sc_transport *t = w->by_ufrag[ufrag_bucket(ufrag)];
    while (t && strcmp(t->neg.local_ufrag, ufrag) != 0)
        t = t->next_ufrag;
    return t;
}

sc_transport *sc__worker_find_ufrag(sc_worker *w, const char *ufrag)
{
    sc_transport *t = lookup_ufrag(w, ufrag);
    /* The answer can reach the peer, and its first check reach us, before
     * this loop has taken the new transport from the command queue. */
    if (!t && __atomic_load_n(&w->cmd_head, __ATOMIC_ACQUIRE)) {
        run_commands(w);
        t = lookup_ufrag(w, ufrag);
    }
    return t;
}

static sc_transport *find_by_id(sc_worker *w, uint64_t id)
{
    sc_transport *t = w->by_id[id % 1024];
    while (t && t->id != id)
        t = t->next_id;
    return t;
}

static void unlink_chain(sc_transport **head, sc_transport *t, bool by_ufrag)
{
    for (sc_transport **pp = head; *pp; pp = by_ufrag ? &(*pp)->next_ufrag : &(*pp)->next_id) {
        if (*pp == t) {
            *pp = by_ufrag ? t->next_ufrag : t->next_id;
            return;
        }
    }
}

static void attach(sc_worker *w, sc_transport *t)
{
    t->w = w;
    size_t hu = ufrag_bucket(t->neg.local_ufrag);
    t->next_ufrag = w->by_ufrag[hu];
    w->by_ufrag[hu] = t;
    t->next_id = w->by_id[t->id % 1024];
    w->by_id[t->id % 1024] = t;
    t->next_all = w->all;
    if (w->all)
        w->all->prev_all = t;
    w->all = t;
    t->room = sc__room_get(w, t->room_name, true);
    if (!t->room) {
        sc__transport_close(t, "closed");
        return;
    }
    sc__room_add(t->room, t);
}

/* Breakout groups: the transport leaves its room for another on this
 * worker (or, a publisher, for none: parked), keeping ICE, DTLS and SRTP.
 * Held packets were fanned out before commands run. */
static void move_transport(sc_worker *w, sc_transport *t, const char *room, int slot, uint64_t gen)
{
    if (t->room) {
        sc__room_remove(t->room, t);
        sc__room_free_if_empty(w, t->room);
        t->room = NULL;
    }
    snprintf(t->room_name, sizeof(t->room_name), "%s", room);
    t->in_group = strchr(room, '~') != NULL;
    if (t->kind == SC_SESSION_PUBLISH) {
        t->slot = slot;
        t->generation = gen; /* newer than whatever held the slot there */
    }
    if (!room[0])
        return;
    t->room = sc__room_get(w, room, true);
    if (!t->room) {
        sc__transport_close(t, "closed");
        return;
    }
    sc__room_add(t->room, t);
    if (t->kind == SC_SESSION_SUBSCRIBE)
        sc__sub_reanchor(t);
    if (t->connected)
        sc__room_on_connected(t); /* keyframes: of its slots, or of it */
}

static void detach_and_free(sc_worker *w, sc_transport *t)
{
    unlink_chain(&w->by_ufrag[ufrag_bucket(t->neg.local_ufrag)], t, true);
    unlink_chain(&w->by_id[t->id % 1024], t, false);
    if (t->prev_all)
        t->prev_all->next_all = t->next_all;
    else if (w->all == t)
        w->all = t->next_all;
    if (t->next_all)
        t->next_all->prev_all = t->prev_all;
    while (t->n_bindings)
        unlink_binding(w, t->bindings[0]);
    if (t->room) {
        sc__room_remove(t->room, t);
        sc__room_free_if_empty(w, t->room);
    }
    if (t->announce_close && !w->stop) {
        sc_sfu_event ev = {.type = SC_EVENT_SESSION_CLOSED, .session_id = t->id, .kind = t->kind,
                           .slot = t->kind == SC_SESSION_PUBLISH ? t->slot : -1,
                           .reason = t->close_reason ? t->close_reason : "closed"};
        snprintf(ev.room, sizeof(ev.room), "%s", t->room_name);
        snprintf(ev.name, sizeof(ev.name), "%s", t->name);
        snprintf(ev.user_id, sizeof(ev.user_id), "%s", t->user_id);
        sc__sfu_emit(w->sfu, &ev);
    }
    sc__transport_free(t);
}

void sc__transport_close(sc_transport *t, const char *reason)
{
    if (t->closing)
        return;
    t->closing = true;
    t->close_reason = reason;
    t->announce_close = true;
    t->next_closing = t->w->closing;
    t->w->closing = t;
}

static void reap_closing(sc_worker *w)
{
    sc__room_flush(w); /* held packets point at rooms and viewers */
    while (w->closing) {
        sc_transport *t = w->closing;
        w->closing = t->next_closing;
        detach_and_free(w, t);
    }
}

uint8_t *sc__worker_out_buf(sc_worker *w) { return sc_udp_out_buf(w->udp); }

void sc__worker_out_commit(sc_worker *w, size_t len, const sc_binding *to)
{
    if (sc_path_is_tcp(&to->path)) {
        /* The packet was written into the UDP batch's next slot, which
         * stays free: it is copied into the connection's queue instead.
         * RTP may be dropped there; STUN, DTLS and RTCP never are. */
        const uint8_t *buf = sc_udp_out_buf(w->udp);
        bool media = len >= 2 && buf[0] >= 128 && buf[0] <= 191 && !sc_rtp_is_rtcp(buf, len);
        if (!sc_tcp_send(&to->path, buf, len, media))
            return;
    } else {
        sc_udp_out_commit(w->udp, len, &to->path);
    }
    SC_COUNT(w, tx_packets, 1);
    SC_COUNT(w, tx_bytes, len);
}

void sc__worker_flush(sc_worker *w)
{
    sc_udp_flush(w->udp);
    if (w->tcp)
        sc_tcp_flush(w->tcp);
}

void sc__worker_dispatch(sc_worker *w, sc_media_pkt *pkt)
{
    /* Hand the packet by reference to the other workers first, so they
     * encrypt for their viewers while we do for ours. */
    for (int i = 0; i < w->n_workers; i++) {
        if (i == w->index)
            continue;
        sc_media_pkt_ref(pkt);
        if (!sc_ring_push(w->peers[i]->in[w->index], pkt)) {
            sc_media_pkt_unref(pkt);
            SC_COUNT(w, drop_queue_full, 1);
            continue;
        }
        /* Pairs with the fence in drain_rings: either the consumer sees this
         * packet, or we see its cleared flag and wake it. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&w->wake[i], __ATOMIC_RELAXED)) {
            __atomic_store_n(&w->wake[i], true, __ATOMIC_RELAXED);
            uint64_t one = 1;
            if (write(w->peers[i]->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                SC_WARN("worker", "eventfd write: %s", strerror(errno));
        }
    }
    sc__room_deliver(w, pkt);
}

static void drain_rings(sc_worker *w)
{
    for (int i = 0; i < w->n_workers; i++) {
        sc_ring *r = w->in[i];
        if (!r)
            continue;
        /* Let the producer wake us again for anything it pushes from now on. */
        __atomic_store_n(&w->peers[i]->wake[w->index], false, __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        sc_media_pkt *pkt;
        while ((pkt = sc_ring_pop(r))) {
            sc__room_deliver(w, pkt); /* fans out by itself when the batch is full */
            sc_media_pkt_unref(pkt);
        }
    }
    send_all(w);
}

void sc__worker_request_keyframe(sc_worker *w, int target, const char *room, int slot,
                                 int layer)
{
    if (target < 0 || target >= w->n_workers)
        return;
    struct sc_cmd c = {.type = CMD_KEYFRAME, .slot = slot, .arg = layer};
    snprintf(c.room, sizeof(c.room), "%s", room);
    send_cmd(w->peers[target], &c);
}

void sc__worker_set_record(sc_worker *w, uint64_t id, bool on)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_RECORD, .id = id, .arg = on});
}

void sc__worker_send_data(sc_worker *w, uint64_t id, uint8_t *buf, size_t len, bool binary)
{
    if (send_cmd(w, &(struct sc_cmd){.type = CMD_DATA, .id = id, .data = buf, .len = len,
                                     .arg = binary}) < 0)
        free(buf);
}

void sc__worker_sctp_wake(sc_worker *w, uint64_t id)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_SCTP_POLL, .id = id});
}

void sc__worker_set_layer(sc_worker *w, uint64_t id, int slot, int choice)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_LAYER, .id = id, .slot = slot, .arg = choice});
}

void sc__worker_set_viewport(sc_worker *w, uint64_t id, int slot, int width)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_VIEWPORT, .id = id, .slot = slot, .arg = width});
}

void sc__worker_set_muted(sc_worker *w, uint64_t id, int bits)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_MUTE, .id = id, .arg = bits});
}

int sc__worker_move(sc_worker *w, uint64_t id, const char *room, int slot, uint64_t gen)
{
    struct sc_cmd c = {.type = CMD_MOVE, .id = id, .slot = slot, .gen = gen};
    snprintf(c.room, sizeof(c.room), "%s", room ? room : "");
    return send_cmd(w, &c);
}

int sc__worker_set_talk(sc_worker *w, uint64_t id, char (*rooms)[SC_ROOM_NAME_MAX + 1], int n,
                        uint64_t gen)
{
    int rc = send_cmd(w, &(struct sc_cmd){.type = CMD_TALK, .id = id, .arg = n, .gen = gen,
                                          .data = (uint8_t *)rooms});
    if (rc < 0)
        free(rooms);
    return rc;
}

void sc__worker_set_temporal(sc_worker *w, uint64_t id, int slot, int max_tid)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_TEMPORAL, .id = id, .slot = slot, .arg = max_tid});
}

int sc__workers_link(sc_worker **workers, int n)
{
    for (int i = 0; i < n; i++) {
        workers[i]->n_workers = n;
        workers[i]->peers = workers;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            workers[i]->in[j] = sc_ring_new();
            if (!workers[i]->in[j])
                return -ENOMEM;
        }
    }
    return 0;
}

static void on_datagram(void *ud, uint8_t *buf, size_t len, const sc_path *from)
{
    sc_worker *w = ud;
    SC_COUNT(w, rx_packets, 1);
    SC_COUNT(w, rx_bytes, len);
    if (len > SC_MTU) {
        SC_COUNT(w, drop_oversize, 1);
        return;
    }
    if (len == 0)
        return;
    uint8_t b = buf[0];
    if (b < 4) {
        sc__transport_on_stun(w, buf, len, from);
        return;
    }
    /* Everything but STUN must come from an address a valid check bound
     * (DTLS included): nobody can reach a session's DTLS or SRTP before
     * proving they know its ICE password. */
    sc_binding *bnd = find_binding(w, from);
    if (!bnd || bnd->t->closing) {
        SC_COUNT(w, drop_unknown_source, 1);
        return;
    }
    sc__transport_on_packet(bnd->t, buf, len);
}

/* An ICE-TCP connection ended by itself (the peer closed it, an error, a
 * queue that could not take feedback): its binding goes, and the session
 * sends on another path or waits for consent to end it. */
static void on_tcp_closed(void *ud, const sc_path *path)
{
    sc_worker *w = ud;
    sc_binding *b = find_binding(w, path);
    if (b)
        unlink_binding(w, b);
}

/* Read from one of the worker's sockets (sc_udp_recv).  Held media is
 * fanned out when SC_DELIVER_BATCH packets are held (sc__room_deliver) and
 * after the rings are drained too (worker_main), not after each batch read:
 * a worker fed both by its socket and by other workers' rings then gives
 * each viewer longer runs to send as one GSO send. */
static int drain_one(sc_worker *w, int fd, int rounds, int max)
{
    return sc_udp_recv(w->udp, fd, rounds, max, on_datagram, w);
}

/* The control socket (STUN, DTLS, RTCP: see sc_udp_open) before every
 * batch of media, so that under overload joins, consent and feedback wait
 * for at most one batch's fan-out, not for the media queue. */
static void drain_socket(sc_worker *w)
{
    int media = sc_udp_media_fd(w->udp), control = sc_udp_control_fd(w->udp);
    uint64_t start = sc_mono_us();
    if (w->stall_us) { /* a test's stall (read_stall): one datagram, then sleep */
        if (control >= 0)
            drain_one(w, control, 8, SC_RECV_BATCH);
        drain_one(w, media, 1, 1);
        usleep((useconds_t)w->stall_us);
        return;
    }
    for (int rounds = 0; rounds < 64; rounds++) {
        if (control >= 0)
            drain_one(w, control, 8, SC_RECV_BATCH);
        if (drain_one(w, media, 1, SC_RECV_BATCH) < SC_RECV_BATCH)
            break;
        /* A saturated worker would otherwise stay here for seconds (a batch
         * to 2,000 viewers is tens of ms) while timers and commands wait. */
        if (sc_mono_us() - start >= SC_DRAIN_BUDGET_US)
            break;
    }
    if (control >= 0)
        drain_one(w, control, 8, SC_RECV_BATCH);
}

static void run_commands(sc_worker *w)
{
    uint64_t v;
    if (read(w->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        SC_WARN("worker", "eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&w->cmd_lock);
    struct sc_cmd *c = w->cmd_head;
    __atomic_store_n(&w->cmd_head, NULL, __ATOMIC_RELAXED);
    w->cmd_tail = NULL;
    pthread_mutex_unlock(&w->cmd_lock);
    if (c)
        sc__room_flush(w); /* held packets go out under the state they came in */
    while (c) {
        struct sc_cmd *next = c->next;
        if (c->type == CMD_ADD) {
            attach(w, c->t);
        } else if (c->type == CMD_KEYFRAME) {
            sc__room_keyframe_for_slot(w, c->room, c->slot, c->arg);
        } else if (c->type == CMD_RECORD) {
            sc_transport *t = find_by_id(w, c->id);
            if (t && t->kind == SC_SESSION_PUBLISH)
                t->record = c->arg != 0;
        } else if (c->type == CMD_DATA) {
            sc_transport *t = find_by_id(w, c->id);
            if (t && !t->closing)
                sc__transport_send_data(t, c->data, c->len, c->arg != 0);
            else
                SC_COUNT(w, drop_sctp, 1);
            free(c->data);
        } else if (c->type == CMD_SCTP_POLL) {
            sc_transport *t = find_by_id(w, c->id);
            if (t)
                sc__transport_sctp_poll(t);
        } else if (c->type == CMD_LAYER) {
            sc_transport *t = find_by_id(w, c->id);
            if (t)
                sc__sub_set_layer(t, c->slot, c->arg);
        } else if (c->type == CMD_VIEWPORT) {
            sc_transport *t = find_by_id(w, c->id);
            if (t)
                sc__sub_set_viewport(t, c->slot, c->arg);
        } else if (c->type == CMD_MUTE) {
            sc_transport *t = find_by_id(w, c->id);
            if (t && t->kind == SC_SESSION_PUBLISH) {
                bool was_video = t->muted_video;
                t->muted_audio = c->arg & 1;
                t->muted_video = (c->arg & 2) != 0;
                if (was_video && !t->muted_video) /* viewers need a fresh picture */
                    sc__pub_request_keyframe(t, -1, sc_mono_ms());
            }
        } else if (c->type == CMD_MOVE) {
            sc_transport *t = find_by_id(w, c->id);
            if (t && !t->closing)
                move_transport(w, t, c->room, c->slot, c->gen);
        } else if (c->type == CMD_TALK) {
            sc_transport *t = find_by_id(w, c->id);
            if (t && t->kind == SC_SESSION_PUBLISH) {
                free(t->talk_rooms);
                t->talk_rooms = (char (*)[SC_ROOM_NAME_MAX + 1])c->data;
                t->n_talk = c->arg;
                t->talk_generation = c->gen;
                c->data = NULL;
            }
            free(c->data);
        } else if (c->type == CMD_TEMPORAL) {
            sc_transport *t = find_by_id(w, c->id);
            if (t)
                sc__sub_set_temporal(t, c->slot, c->arg);
        } else {
            sc_transport *t = find_by_id(w, c->id);
            if (t)
                sc__transport_close(t, c->reason);
        }
        free(c);
        c = next;
    }
}

/* Once a second: the busy share of the last second, the sockets' drops, and
 * whether this worker is overloaded: for two seconds running busy nearly
 * all the time while media waits in its socket (SC_OVERLOAD_QUEUED, about a
 * hundred datagrams) or is dropped there.  sc_sfu_create_session then
 * places viewers elsewhere, or refuses them. */
static void measure_load(sc_worker *w)
{
    uint64_t now = sc_mono_us();
    uint64_t busy = w->stats.busy_us;
    uint64_t pct = 0, queued, media, control_queued, control;
    if (w->load_mark_us && now > w->load_mark_us) {
        pct = (busy - w->load_mark_busy) * 100 / (now - w->load_mark_us);
        if (pct > 100)
            pct = 100;
    }
    w->load_mark_us = now;
    w->load_mark_busy = busy;
    sc_udp_meminfo(sc_udp_media_fd(w->udp), &queued, &media);
    sc_udp_meminfo(sc_udp_control_fd(w->udp), &control_queued, &control);
    bool hot = pct >= SC_OVERLOAD_PCT &&
               (queued >= SC_OVERLOAD_QUEUED || media > w->stats.sock_drops_media);
    uint64_t over = hot && w->load_hot;
    w->load_hot = hot;
    if (over != w->stats.overloaded)
        SC_WARN("worker", "worker %d %s (busy %d %%, %llu bytes of media waiting, %llu dropped)",
                w->index, over ? "overloaded: new viewers go elsewhere or are refused"
                               : "no longer overloaded",
                (int)pct, (unsigned long long)queued,
                (unsigned long long)(media - w->stats.sock_drops_media));
    __atomic_store_n(&w->stats.load_pct, pct, __ATOMIC_RELAXED);
    __atomic_store_n(&w->stats.sock_drops_media, media, __ATOMIC_RELAXED);
    __atomic_store_n(&w->stats.sock_drops_control, control, __ATOMIC_RELAXED);
    __atomic_store_n(&w->stats.overloaded, over, __ATOMIC_RELAXED);
}

/* The test stall (sc_worker.stall_file): this worker's line of the file, or
 * none.  A missing file or line ends the stall.  Up to 5 s per datagram:
 * long enough for /healthz to see a stuck worker, short enough that a
 * mistaken value does not hang a test run. */
static void read_stall(sc_worker *w)
{
    FILE *f = fopen(w->stall_file, "r");
    uint64_t us = 0;
    int index;
    unsigned long long v;
    if (f) {
        while (fscanf(f, "%d %llu", &index, &v) == 2)
            if (index == w->index)
                us = v > 5000000 ? 5000000 : v;
        fclose(f);
    }
    if (us != w->stall_us)
        SC_WARN("worker", "worker %d: test stall %llu us per media datagram", w->index,
                (unsigned long long)us);
    w->stall_us = us;
}

static void tick(sc_worker *w)
{
    uint64_t now = sc_mono_ms();
    sc_sctp_tick(now); /* usrsctp's timers are global: any worker drives them */
    bool dtls_due = now - w->last_dtls_tick_ms >= 50;
    bool second_due = now - w->last_second_ms >= 1000;
    if (!dtls_due && !second_due)
        return;
    if (dtls_due)
        w->last_dtls_tick_ms = now;
    if (second_due) {
        w->last_second_ms = now;
        measure_load(w);
        if (w->stall_file)
            read_stall(w);
        if (w->tcp)
            sc_tcp_tick(w->tcp, now);
    }
    for (sc_transport *t = w->all; t; t = t->next_all)
        if (!t->closing)
            sc__transport_tick(t, now, dtls_due, second_due);
    for (size_t b = 0; second_due && b < SC_ARRAY_SIZE(w->rooms); b++)
        for (sc_room *r = w->rooms[b]; r; r = r->next)
            sc__room_demand_tick(w, r, now);
    sc__worker_flush(w);
}

static void *worker_main(void *arg)
{
    sc_worker *w = arg;
    struct epoll_event evs[8];
    while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(w->epfd, evs, SC_ARRAY_SIZE(evs), 20);
        uint64_t t0 = sc_mono_us();
        /* The wait times out every 20 ms, so an idle worker still turns. */
        __atomic_store_n(&w->stats.last_loop_ms, t0 / 1000, __ATOMIC_RELAXED);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == sc_udp_media_fd(w->udp) ||
                evs[i].data.fd == sc_udp_control_fd(w->udp))
                drain_socket(w);
            else if (w->tcp && evs[i].data.fd == sc_tcp_fd(w->tcp))
                sc_tcp_poll(w->tcp);
            else if (evs[i].data.fd == w->evfd)
                run_commands(w);
        }
        drain_rings(w);
        tick(w);
        sc__worker_flush(w);
        reap_closing(w);
        SC_COUNT(w, busy_us, sc_mono_us() - t0);
    }
    return NULL;
}

static void push_cmd(sc_worker *w, struct sc_cmd *c)
{
    pthread_mutex_lock(&w->cmd_lock);
    if (w->cmd_tail)
        w->cmd_tail->next = c;
    else
        __atomic_store_n(&w->cmd_head, c, __ATOMIC_RELEASE);
    w->cmd_tail = c;
    pthread_mutex_unlock(&w->cmd_lock);
    uint64_t one = 1;
    if (write(w->evfd, &one, sizeof(one)) < 0)
        SC_WARN("worker", "eventfd write: %s", strerror(errno));
}

/* Queue a copy of tmpl; -ENOMEM when it cannot be allocated. */
static int send_cmd(sc_worker *w, const struct sc_cmd *tmpl)
{
    struct sc_cmd *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    *c = *tmpl;
    c->next = NULL;
    push_cmd(w, c);
    return 0;
}

void sc__worker_add(sc_worker *w, sc_transport *t)
{
    if (send_cmd(w, &(struct sc_cmd){.type = CMD_ADD, .t = t}) < 0)
        sc__transport_free(t);
}

void sc__worker_close(sc_worker *w, uint64_t id, const char *reason)
{
    send_cmd(w, &(struct sc_cmd){.type = CMD_CLOSE, .id = id, .reason = reason});
}

/* The worker's ICE-TCP port, when the configuration has one. */
static int open_tcp(sc_worker *w, const char *ip, char *err, size_t errlen)
{
    const sc_sfu_config *cfg = sc__sfu_config(w->sfu);
    if (cfg->no_ice_tcp)
        return 0;
    w->tcp_port = (uint16_t)((cfg->tcp_port ? cfg->tcp_port : cfg->udp_port) + w->index);
    sc_tcp_handlers h = {.frame = on_datagram, .closed = on_tcp_closed, .ud = w};
    sc_tcp_counters c = {
        .accepted = &w->stats.tcp_accepted, .refused = &w->stats.tcp_refused,
        .unbound_closed = &w->stats.tcp_unbound_closed,
        .overflow_closed = &w->stats.tcp_overflow_closed,
        .media_dropped = &w->stats.tcp_media_dropped, .oversize = &w->stats.drop_oversize,
        .open = &w->stats.tcp_open,
    };
    w->tcp = sc_tcp_open(ip, w->tcp_port, cfg->max_tcp_per_worker, &h, &c, err, errlen);
    if (!w->tcp)
        return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sc_tcp_fd(w->tcp)};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, sc_tcp_fd(w->tcp), &ev);
    return 0;
}

sc_worker *sc__worker_new(sc_sfu *sfu, int index, const char *ip, uint16_t port, char *err,
                          size_t errlen)
{
    sc_worker *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->sfu = sfu;
    w->index = index;
    w->port = port;
    w->epfd = w->evfd = w->cpu = -1;
    w->stats.last_loop_ms = sc_mono_ms(); /* not stuck before its thread starts */
    pthread_mutex_init(&w->cmd_lock, NULL);
    const char *stall = getenv("STAGECAST_TEST_STALL_FILE");
    w->stall_file = stall && *stall ? stall : NULL;

    w->udp = sc_udp_open(ip, port, !sc__sfu_config(sfu)->no_udp_gso, err, errlen);
    if (!w->udp)
        goto fail;
    sc_udp_count_gso(w->udp, &w->stats.gso_sends, &w->stats.gso_segments);
    w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->evfd < 0 || w->epfd < 0) {
        snprintf(err, errlen, "epoll/eventfd: %s", strerror(errno));
        goto fail;
    }
    int media = sc_udp_media_fd(w->udp), control = sc_udp_control_fd(w->udp);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = media};
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, media, &ev);
    if (control >= 0) {
        ev.data.fd = control;
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, control, &ev);
    }
    ev.data.fd = w->evfd;
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->evfd, &ev);
    if (open_tcp(w, ip, err, errlen) < 0)
        goto fail;
    return w;
fail:
    sc__worker_free(w);
    return NULL;
}

int sc__worker_start(sc_worker *w)
{
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc != 0)
        return -rc;
    if (w->cpu >= 0) {
        /* Pinned from its first instruction (--worker-cpus). */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        rc = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
    }
    if (rc == 0)
        rc = pthread_create(&w->thread, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -rc;
    char name[16];
    snprintf(name, sizeof(name), "sc-worker-%d", w->index);
    pthread_setname_np(w->thread, name); /* top -H, perf, /proc */
    w->thread_started = true;
    return 0;
}

void sc__worker_stop(sc_worker *w)
{
    if (!w || !w->thread_started)
        return;
    __atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(w->evfd, &one, sizeof(one)) < 0)
        SC_WARN("worker", "eventfd write: %s", strerror(errno));
    pthread_join(w->thread, NULL);
    w->thread_started = false;
}

void sc__worker_free(sc_worker *w)
{
    if (!w)
        return;
    sc__worker_stop(w);
    w->stop = true; /* no events from here on */
    reap_closing(w);
    while (w->all)
        detach_and_free(w, w->all);
    for (struct sc_cmd *c = w->cmd_head, *n; c; c = n) {
        n = c->next;
        if (c->type == CMD_ADD)
            sc__transport_free(c->t);
        free(c->data);
        free(c);
    }
    for (int i = 0; i < 64; i++)
        sc_ring_free(w->in[i]);
    sc_tcp_close(w->tcp);
    sc_udp_close(w->udp);
    if (w->evfd >= 0)
        close(w->evfd);
    if (w->epfd >= 0)
        close(w->epfd);
    pthread_mutex_destroy(&w->cmd_lock);
    free(w);
}
