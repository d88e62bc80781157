#include "sfu/net/tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/proto/rfc4571.h"

/* Reads per connection per poll: a fast sender cannot keep the worker on
 * its connection while others wait (epoll is level-triggered: the rest
 * comes at the next turn). */
#define READS_PER_POLL 8
#define ACCEPTS_PER_POLL 32
#define QUEUE_MIN (16 * 1024)

typedef struct sc_tcp_conn {
    sc_tcp *owner;
    int fd;
    sc_path path;             /* the peer's address, .tcp = this */
    uint64_t accepted_ms;
    bool bound;               /* a valid check bound it */
    bool closing;             /* released or failed: in the graveyard */
    bool failed;              /* the owner is to be told (closed handler) */
    bool dirty;               /* on the owner's dirty list */
    bool want_out;            /* EPOLLOUT armed */
    uint8_t *q;               /* write queue: q[head, head + len) */
    size_t q_head, q_len, q_cap;
    sc_rfc4571_rx rx;
    struct sc_tcp_conn *prev, *next; /* open connections */
    struct sc_tcp_conn *next_dirty, *next_grave;
} sc_tcp_conn;

struct sc_tcp {
    int listen_fd, epfd;
    bool listening;           /* the listener is in epfd */
    uint64_t resume_ms;       /* out of descriptors: listen again at this time */
    int max_conns, n_conns;
    sc_tcp_handlers h;
    sc_tcp_counters c;
    sc_tcp_conn *conns, *dirty, *graves, *failed_head;
};

static void count(uint64_t *counter, uint64_t n)
{
    if (counter)
        __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

static void set_open(sc_tcp *t)
{
    if (t->c.open)
        __atomic_store_n(t->c.open, (uint64_t)t->n_conns, __ATOMIC_RELAXED);
}

static void watch(sc_tcp_conn *c, bool out)
{
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(c->owner->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = out;
}

/* Off the open list, its descriptor closed; freed at the next poll (a
 * frame being handled may still point into it). */
static void bury(sc_tcp_conn *c)
{
    sc_tcp *t = c->owner;
    if (c->closing)
        return;
    c->closing = true;
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        t->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    t->n_conns--;
    set_open(t);
    if (c->dirty) {
        for (sc_tcp_conn **pp = &t->dirty; *pp; pp = &(*pp)->next_dirty) {
            if (*pp == c) {
                *pp = c->next_dirty;
                break;
            }
        }
        c->dirty = false;
    }
    c->next_grave = t->graves;
    t->graves = c;
}

/* A connection that broke by itself: buried now, its owner told at the next
 * poll or tick (never from inside a send or a flush, which the owner may be
 * running while it walks its own bindings). */
static void fail(sc_tcp_conn *c)
{
    if (c->closing)
        return;
    c->failed = true;
    bury(c);
}

static void tell_failed(sc_tcp *t)
{
    for (sc_tcp_conn *c = t->graves; c; c = c->next_grave) {
        if (c->failed) {
            c->failed = false;
            if (t->h.closed)
                t->h.closed(t->h.ud, &c->path);
        }
    }
}

static void free_graves(sc_tcp *t)
{
    tell_failed(t);
    while (t->graves) {
        sc_tcp_conn *c = t->graves;
        t->graves = c->next_grave;
        free(c->q);
        free(c);
    }
}

static int bind_listener(sc_tcp *t, const char *ip, uint16_t port, char *err, size_t errlen)
{
    sc_path where;
    if (sc_path_parse(&where, ip, port) < 0) {
        snprintf(err, errlen, "media address '%s' is not an IP address", ip);
        return -1;
    }
    int one = 1;
    t->listen_fd = socket(where.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->listen_fd < 0 ||
        setsockopt(t->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(t->listen_fd, sc_path_sockaddr(&where), where.len) < 0 || listen(t->listen_fd, 128) < 0) {
        snprintf(err, errlen, "cannot listen on TCP %s:%u: %s", ip, port, strerror(errno));
        return -1;
    }
    return 0;
}

static void listen_on(sc_tcp *t, bool on)
{
    if (on == t->listening)
        return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(t->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, t->listen_fd, &ev);
    t->listening = on;
}

sc_tcp *sc_tcp_open(const char *ip, uint16_t port, int max_conns, const sc_tcp_handlers *h,
                    const sc_tcp_counters *c, char *err, size_t errlen)
{
    sc_tcp *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->listen_fd = -1;
    t->max_conns = max_conns > 0 ? max_conns : 1;
    t->h = *h;
    if (c)
        t->c = *c;
    t->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t->epfd < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        goto fail;
    }
    if (bind_listener(t, ip, port, err, errlen) < 0)
        goto fail;
    listen_on(t, true);
    return t;
fail:
    sc_tcp_close(t);
    return NULL;
}

void sc_tcp_close(sc_tcp *t)
{
    if (!t)
        return;
    while (t->conns)
        bury(t->conns);
    for (sc_tcp_conn *c = t->graves; c; c = c->next_grave)
        c->failed = false; /* nobody is told any more */
    free_graves(t);
    if (t->listen_fd >= 0)
        close(t->listen_fd);
    if (t->epfd >= 0)
        close(t->epfd);
    free(t);
}

int sc_tcp_fd(const sc_tcp *t) { return t->epfd; }

uint16_t sc_tcp_local_port(const sc_tcp *t)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(t->listen_fd, (struct sockaddr *)&ss, &sl) < 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void accept_some(sc_tcp *t)
{
    for (int i = 0; i < ACCEPTS_PER_POLL; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(t->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The connection stays in the backlog and the listener
                 * readable: stop listening for a second instead of
                 * spinning on it. */
                SC_WARN("tcp", "ICE-TCP accept: %s; not accepting for a second",
                        strerror(errno));
                count(t->c.refused, 1);
                listen_on(t, false);
                t->resume_ms = sc_mono_ms() + 1000;
            }
            return;
        }
        if (t->n_conns >= t->max_conns) {
            count(t->c.refused, 1);
            close(fd);
            continue;
        }
        sc_tcp_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            count(t->c.refused, 1);
            close(fd);
            continue;
        }
        /* A fixed send buffer (no autotuning to megabytes): what a slow
         * viewer cannot take waits in our queue, where media is dropped
         * first, instead of as seconds of delay in the kernel's. */
        int one = 1, sndbuf = SC_TCP_SNDBUF;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        c->owner = t;
        c->fd = fd;
        sc_path_set(&c->path, (struct sockaddr *)&ss, sl);
        c->path.tcp = c;
        c->accepted_ms = sc_mono_ms();
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            count(t->c.refused, 1);
            close(fd);
            free(c);
            continue;
        }
        c->next = t->conns;
        if (t->conns)
            t->conns->prev = c;
        t->conns = c;
        t->n_conns++;
        set_open(t);
        count(t->c.accepted, 1);
    }
}

typedef struct frame_ctx {
    sc_tcp *t;
    sc_tcp_conn *c;
} frame_ctx;

static void on_frame(void *ud, uint8_t *frame, size_t len)
{
    frame_ctx *f = ud;
    if (f->c->closing) /* released by a frame before this one */
        return;
    f->t->h.frame(f->t->h.ud, frame, len, &f->c->path);
}

static void read_conn(sc_tcp *t, sc_tcp_conn *c)
{
    frame_ctx f = {t, c};
    for (int i = 0; i < READS_PER_POLL && !c->closing; i++) {
        ssize_t n = recv(c->fd, sc_rfc4571_space(&c->rx), sc_rfc4571_room(&c->rx), 0);
        if (n == 0) {
            fail(c);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                fail(c);
            return;
        }
        uint64_t oversize = 0;
        sc_rfc4571_consume(&c->rx, (size_t)n, on_frame, &f, &oversize);
        if (oversize)
            count(t->c.oversize, oversize);
    }
}

/* Writes the queue as far as the socket takes it; EPOLLOUT for the rest. */
static void write_conn(sc_tcp_conn *c)
{
    while (c->q_len) {
        ssize_t n = send(c->fd, c->q + c->q_head, c->q_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                fail(c);
            break;
        }
        c->q_head += (size_t)n;
        c->q_len -= (size_t)n;
    }
    if (c->closing)
        return;
    if (!c->q_len) {
        c->q_head = 0;
        if (c->q_cap > 4 * QUEUE_MIN) { /* a burst is over: give the memory back */
            free(c->q);
            c->q = NULL;
            c->q_cap = 0;
        }
    }
    if ((c->q_len != 0) != c->want_out)
        watch(c, c->q_len != 0);
}

void sc_tcp_poll(sc_tcp *t)
{
    free_graves(t);
    struct epoll_event evs[64];
    int n = epoll_wait(t->epfd, evs, 64, 0);
    for (int i = 0; i < n; i++) {
        sc_tcp_conn *c = evs[i].data.ptr;
        if (!c) {
            accept_some(t);
            continue;
        }
        if (c->closing)
            continue;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            read_conn(t, c);
        if (!c->closing && (evs[i].events & EPOLLOUT))
            write_conn(c);
    }
    tell_failed(t);
}

void sc_tcp_tick(sc_tcp *t, uint64_t now_ms)
{
    for (sc_tcp_conn *c = t->conns, *next; c; c = next) {
        next = c->next;
        if (!c->bound && now_ms - c->accepted_ms > SC_TCP_BIND_TIMEOUT_MS) {
            count(t->c.unbound_closed, 1);
            bury(c);
        }
    }
    if (!t->listening && now_ms >= t->resume_ms)
        listen_on(t, true);
    tell_failed(t);
}

/* Room for need more bytes at the end of the queue, growing it up to limit
 * bytes queued.  False when the queue would pass the limit. */
static bool reserve(sc_tcp_conn *c, size_t need, size_t limit)
{
    if (c->q_len + need > limit)
        return false;
    if (c->q_head + c->q_len + need <= c->q_cap)
        return true;
    if (c->q_head) {
        memmove(c->q, c->q + c->q_head, c->q_len);
        c->q_head = 0;
        if (c->q_len + need <= c->q_cap)
            return true;
    }
    size_t cap = c->q_cap ? c->q_cap : QUEUE_MIN;
    while (cap < c->q_len + need)
        cap *= 2;
    uint8_t *q = realloc(c->q, cap);
    if (!q)
        return false;
    c->q = q;
    c->q_cap = cap;
    return true;
}

bool sc_tcp_send(const sc_path *to, const uint8_t *buf, size_t len, bool media)
{
    sc_tcp_conn *c = to->tcp;
    if (c->closing || len > 0xffff)
        return false;
    size_t limit = SC_TCP_QUEUE + (media ? 0 : SC_TCP_CONTROL_RESERVE);
    if (!reserve(c, len + 2, limit)) {
        if (media) {
            count(c->owner->c.media_dropped, 1);
        } else {
            /* Feedback and keepalives cannot get through: the viewer is
             * gone in all but name. */
            count(c->owner->c.overflow_closed, 1);
            fail(c);
        }
        return false;
    }
    uint8_t *p = c->q + c->q_head + c->q_len;
    sc_rfc4571_header(p, len);
    memcpy(p + 2, buf, len);
    c->q_len += len + 2;
    if (!c->dirty) {
        c->dirty = true;
        c->next_dirty = c->owner->dirty;
        c->owner->dirty = c;
    }
    return true;
}

void sc_tcp_flush(sc_tcp *t)
{
    while (t->dirty) {
        sc_tcp_conn *c = t->dirty;
        t->dirty = c->next_dirty;
        c->dirty = false;
        if (!c->want_out) /* else the socket is full: EPOLLOUT says when */
            write_conn(c);
    }
}

void sc_tcp_bound(const sc_path *p) { p->tcp->bound = true; }

void sc_tcp_release(const sc_path *p)
{
    sc_tcp_conn *c = p->tcp;
    c->failed = false;
    bury(c);
}
