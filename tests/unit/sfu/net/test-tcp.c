/* sfu/net/tcp.c over loopback: frames in both directions, the connection
 * cap (a further connection is accepted and closed, never left to spin),
 * the timeout for connections no check binds, and the bounded write queue
 * of a peer that stops reading (media dropped and counted, control kept
 * until even that cannot be queued, then the connection closed and its
 * owner told). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "sfu/net/tcp.h"
#include "sfu/proto/rfc4571.h"
#include "tests/unit/sc_test.h"

typedef struct counters {
    uint64_t accepted, refused, unbound, overflow, dropped, oversize, open;
} counters;

typedef struct owner {
    int frames, closed;
    size_t last_len;
    uint8_t last_first;
    sc_path last_from;
    bool have_path;
} owner;

static void on_frame(void *ud, uint8_t *buf, size_t len, const sc_path *from)
{
    owner *o = ud;
    o->frames++;
    o->last_len = len;
    o->last_first = buf[0];
    o->last_from = *from;
    o->have_path = true;
}

static void on_closed(void *ud, const sc_path *path)
{
    owner *o = ud;
    (void)path;
    o->closed++;
}

static sc_tcp *open_port(owner *o, counters *c, int max_conns)
{
    sc_tcp_handlers h = {.frame = on_frame, .closed = on_closed, .ud = o};
    sc_tcp_counters pc = {.accepted = &c->accepted, .refused = &c->refused,
                          .unbound_closed = &c->unbound, .overflow_closed = &c->overflow,
                          .media_dropped = &c->dropped, .oversize = &c->oversize,
                          .open = &c->open};
    char err[256];
    sc_tcp *t = sc_tcp_open("127.0.0.1", 0, max_conns, &h, &pc, err, sizeof(err));
    if (!t)
        fprintf(stderr, "sc_tcp_open: %s\n", err);
    return t;
}

static int connect_to(sc_tcp *t)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(sc_tcp_local_port(t))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("connect");
        return -1;
    }
    return fd;
}

/* Polls the port until cond holds or a generous deadline passes (the
 * deadline only bounds a failing run; the checks are on the outcome). */
#define POLL_UNTIL(t, cond)                                                                  \
    do {                                                                                      \
        uint64_t until_ = sc_mono_ms() + 5000;                                                \
        while (!(cond) && sc_mono_ms() < until_) {                                            \
            struct pollfd p_ = {.fd = sc_tcp_fd(t), .events = POLLIN};                        \
            poll(&p_, 1, 20);                                                                 \
            sc_tcp_poll(t);                                                                   \
        }                                                                                     \
    } while (0)

static void send_frame(int fd, uint8_t first, size_t len)
{
    uint8_t buf[4096];
    sc_rfc4571_header(buf, len);
    memset(buf + 2, first, len);
    for (size_t off = 0; off < len + 2;) { /* byte by byte at first: framing across reads */
        size_t k = off < 3 ? 1 : len + 2 - off;
        ssize_t n = send(fd, buf + off, k, 0);
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

static void test_frames_both_ways(void)
{
    owner o = {0};
    counters c = {0};
    sc_tcp *t = open_port(&o, &c, 8);
    SC_CHECK(t != NULL);
    if (!t)
        return;
    int fd = connect_to(t);
    send_frame(fd, 0x01, 20);
    send_frame(fd, 0x80, 1200);
    POLL_UNTIL(t, o.frames == 2);
    SC_CHECK_INT(o.frames, 2);
    SC_CHECK_INT(o.last_len, 1200);
    SC_CHECK(o.last_first == 0x80);
    SC_CHECK_INT(c.accepted, 1);
    SC_CHECK_INT(c.open, 1);
    SC_CHECK(o.have_path && sc_path_is_tcp(&o.last_from));

    /* Back: two packets queued, flushed, read framed by the peer. */
    uint8_t pkt[300];
    memset(pkt, 0xab, sizeof(pkt));
    SC_CHECK(sc_tcp_send(&o.last_from, pkt, sizeof(pkt), true));
    SC_CHECK(sc_tcp_send(&o.last_from, pkt, 10, false));
    sc_tcp_flush(t);
    uint8_t in[512];
    size_t got = 0;
    while (got < 2 + 300 + 2 + 10) {
        ssize_t n = recv(fd, in + got, sizeof(in) - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    SC_CHECK_INT(got, 314);
    SC_CHECK(in[0] == 1 && in[1] == 44 && in[2] == 0xab && in[302] == 0 && in[303] == 10);

    /* The peer goes: the owner is told once. */
    close(fd);
    POLL_UNTIL(t, o.closed == 1);
    SC_CHECK_INT(o.closed, 1);
    SC_CHECK_INT(c.open, 0);
    sc_tcp_close(t);
}

static void test_cap_and_unbound_timeout(void)
{
    owner o = {0};
    counters c = {0};
    sc_tcp *t = open_port(&o, &c, 2);
    if (!t)
        return;
    int a = connect_to(t), b = connect_to(t);
    POLL_UNTIL(t, c.accepted == 2);
    int d = connect_to(t); /* over the cap: accepted and closed at once */
    POLL_UNTIL(t, c.refused == 1);
    SC_CHECK_INT(c.accepted, 2);
    SC_CHECK_INT(c.refused, 1);
    char ch;
    SC_CHECK_INT(recv(d, &ch, 1, 0), 0); /* the refused one sees its end */

    /* a is bound (a check would have done it), b is not: b goes after the
     * bind timeout, without its owner being told (it never had a session). */
    send_frame(a, 0x01, 20);
    POLL_UNTIL(t, o.frames == 1);
    sc_tcp_bound(&o.last_from);
    sc_tcp_tick(t, sc_mono_ms() + SC_TCP_BIND_TIMEOUT_MS + 1000);
    SC_CHECK_INT(c.unbound, 1);
    SC_CHECK_INT(c.open, 1);
    SC_CHECK_INT(o.closed, 0);
    SC_CHECK_INT(recv(b, &ch, 1, 0), 0);

    /* The owner releases a: closed without a callback. */
    sc_tcp_release(&o.last_from);
    SC_CHECK_INT(c.open, 0);
    SC_CHECK_INT(recv(a, &ch, 1, 0), 0);
    sc_tcp_poll(t);
    SC_CHECK_INT(o.closed, 0);
    close(a);
    close(b);
    close(d);
    sc_tcp_close(t);
}

static void test_stalled_reader(void)
{
    owner o = {0};
    counters c = {0};
    sc_tcp *t = open_port(&o, &c, 8);
    if (!t)
        return;
    int fd = connect_to(t);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    send_frame(fd, 0x01, 20);
    POLL_UNTIL(t, o.frames == 1);
    sc_tcp_bound(&o.last_from);
    sc_path p = o.last_from;

    /* The peer never reads: the kernel's buffers fill, then the queue;
     * media beyond SC_TCP_QUEUE is dropped and counted. */
    uint8_t pkt[1200];
    memset(pkt, 0x80, sizeof(pkt));
    int sent = 0, dropped = 0;
    for (int i = 0; i < 4000; i++) {
        if (sc_tcp_send(&p, pkt, sizeof(pkt), true))
            sent++;
        else
            dropped++;
        if (i % 16 == 0)
            sc_tcp_flush(t);
    }
    SC_CHECK(dropped > 0);
    SC_CHECK_INT(c.dropped, dropped);
    SC_CHECK(sent > 0);
    SC_CHECK_INT(c.overflow, 0);
    /* Control still goes in, into the reserve. */
    SC_CHECK(sc_tcp_send(&p, pkt, 100, false));
    /* Until even the reserve is full: then the connection is closed, and
     * the owner told at the next poll, not from inside the send. */
    int ok = 0;
    for (int i = 0; i < 200 && sc_tcp_send(&p, pkt, sizeof(pkt), false); i++)
        ok++;
    SC_CHECK(ok > 0 && ok < 200);
    SC_CHECK_INT(c.overflow, 1);
    SC_CHECK_INT(o.closed, 0);
    sc_tcp_poll(t);
    SC_CHECK_INT(o.closed, 1);
    SC_CHECK_INT(c.open, 0);
    close(fd);
    sc_tcp_close(t);
}

int main(void)
{
    test_frames_both_ways();
    test_cap_and_unbound_timeout();
    test_stalled_reader();
    SC_TEST_END();
}
