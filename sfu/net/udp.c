#include "sfu/net/udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

#define RECV_BUF 2048

struct sc_udp {
    int sock;     /* media, or everything */
    int ctl_sock; /* STUN, DTLS, RTCP (bind_sockets), or -1 */
    bool gso;     /* UDP_SEGMENT works on this socket */
    uint64_t *gso_sends, *gso_segments;

    /* Outgoing datagrams.  Consecutive ones to the same path with the same
     * length (the last of a run may be shorter) leave as one UDP GSO send:
     * one trip through the stack for the run. */
    int n_out;
    uint16_t out_len[SC_SEND_BATCH];
    const sc_path *out_to[SC_SEND_BATCH];
    struct mmsghdr out_msgs[SC_SEND_BATCH];
    struct iovec out_iov[SC_SEND_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } out_ctrl[SC_SEND_BATCH];
    uint8_t out_buf[SC_SEND_BATCH][SC_MTU + 64];
};

static void count(uint64_t *counter, uint64_t n)
{
    if (counter)
        __atomic_store_n(counter, *counter + n, __ATOMIC_RELAXED);
}

/* One UDP port, two sockets in a SO_REUSEPORT group: a classic BPF
 * program on the group sends RTP (publishers' media, the bulk) to the first
 * and everything else (STUN, DTLS with the data channels, RTCP) to the
 * second, which the worker reads first.  A worker that cannot keep up then
 * drops media at its own socket while viewers still join, answer consent
 * and send feedback.  Without the program (a kernel older than 4.5, or a
 * refused option) one socket takes everything, as before.  The reuseport
 * group only admits sockets of our own user. */
static int bind_sockets(sc_udp *u, const struct sockaddr_storage *ss, socklen_t sl)
{
    int one = 1, sz = 4 << 20; /* absorb bursts of fan-out */
    struct sockaddr_storage bound;
    socklen_t bl = sizeof(bound);

    /* SO_REUSEPORT would let a second server of ours bind the same port
     * (and get nothing): a plain bind first keeps "address in use" an error. */
    int probe = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return -1;
    if (bind(probe, (const struct sockaddr *)ss, sl) < 0) {
        int e = errno;
        close(probe);
        errno = e;
        return -1;
    }
    close(probe);
    u->sock = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->sock < 0)
        return -1;
    setsockopt(u->sock, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(u->sock, (const struct sockaddr *)ss, sl) < 0)
        return -1;
    setsockopt(u->sock, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(u->sock, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (getsockname(u->sock, (struct sockaddr *)&bound, &bl) < 0)
        return 0;

    /* The program sees the UDP payload.  Returns the socket's index in the
     * group (bind order): 0 media, 1 control.  A load past the end of a
     * short datagram ends the program with 0 (media: refused there). */
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),          /* A = first byte */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 128, 1, 0), /* RTP/RTCP range? */
        BPF_STMT(BPF_RET | BPF_K, 1),                   /* STUN, DTLS, other: control */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 192, 4, 0), /* not version 2: control */
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),          /* A = second byte */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 192, 0, 1), /* RTCP types 192-223 */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 224, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0),                   /* RTP: media */
        BPF_STMT(BPF_RET | BPF_K, 1),                   /* RTCP: control */
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    int ctl = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ctl < 0)
        return 0;
    int csz = 1 << 20;
    if (setsockopt(ctl, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(ctl, (struct sockaddr *)&bound, bl) < 0 ||
        setsockopt(u->sock, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0) {
        SC_WARN("worker", "no separate control socket (%s): media and control share one queue",
                strerror(errno));
        close(ctl);
        return 0;
    }
    setsockopt(ctl, SOL_SOCKET, SO_RCVBUF, &csz, sizeof(csz));
    u->ctl_sock = ctl;
    return 0;
}

sc_udp *sc_udp_open(const char *ip, uint16_t port, bool gso, char *err, size_t errlen)
{
    sc_udp *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->sock = u->ctl_sock = -1;

    sc_path where;
    if (sc_path_parse(&where, ip, port) < 0) {
        snprintf(err, errlen, "media address '%s' is not an IP address", ip);
        goto fail;
    }
    if (bind_sockets(u, &where.addr, where.len) < 0) {
        snprintf(err, errlen, "cannot bind UDP %s:%u: %s", ip, port, strerror(errno));
        goto fail;
    }
    /* UDP GSO (Linux 4.18): setting a zero segment size tells whether the
     * kernel knows the option; a device that cannot segment is found at the
     * first send (sc_udp_flush falls back). */
    int zero = 0;
    u->gso = gso && setsockopt(u->sock, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
    return u;
fail:
    sc_udp_close(u);
    return NULL;
}

void sc_udp_close(sc_udp *u)
{
    if (!u)
        return;
    if (u->sock >= 0)
        close(u->sock);
    if (u->ctl_sock >= 0)
        close(u->ctl_sock);
    free(u);
}

int sc_udp_media_fd(const sc_udp *u) { return u->sock; }
int sc_udp_control_fd(const sc_udp *u) { return u->ctl_sock; }

void sc_udp_count_gso(sc_udp *u, uint64_t *sends, uint64_t *segments)
{
    u->gso_sends = sends;
    u->gso_segments = segments;
}

uint8_t *sc_udp_out_buf(sc_udp *u)
{
    if (u->n_out == SC_SEND_BATCH)
        sc_udp_flush(u);
    return u->out_buf[u->n_out];
}

void sc_udp_out_commit(sc_udp *u, size_t len, const sc_path *to)
{
    u->out_len[u->n_out] = (uint16_t)len;
    u->out_to[u->n_out] = to;
    u->n_out++;
}

/* How many datagrams from `first` can leave as one GSO send: same path,
 * same length, except that the run may end with a shorter one. */
static int gso_run(const sc_udp *u, int first)
{
    int seg = u->out_len[first], total = seg, k = 1;
    while (first + k < u->n_out && k < SC_GSO_MAX_SEGS) {
        int len = u->out_len[first + k];
        if (u->out_to[first + k] != u->out_to[first] || len > seg || total + len > 65000)
            break;
        total += len;
        k++;
        if (len < seg)
            break;
    }
    return k;
}

/* Send datagrams [from, n_out).  Returns -1 when done, or the index to
 * start again from after the kernel refused a GSO send (u->gso is then
 * off: a device without checksum offload, an old kernel). */
static int send_out(sc_udp *u, int from)
{
    int first[SC_SEND_BATCH], n_msgs = 0;
    for (int i = from; i < u->n_out;) {
        int k = u->gso ? gso_run(u, i) : 1;
        struct msghdr *h = &u->out_msgs[n_msgs].msg_hdr;
        memset(h, 0, sizeof(*h));
        h->msg_name = (void *)&u->out_to[i]->addr;
        h->msg_namelen = u->out_to[i]->len;
        h->msg_iov = &u->out_iov[i];
        h->msg_iovlen = (size_t)k;
        for (int j = i; j < i + k; j++) {
            u->out_iov[j].iov_base = u->out_buf[j];
            u->out_iov[j].iov_len = u->out_len[j];
        }
        if (k > 1) {
            h->msg_control = u->out_ctrl[n_msgs].buf;
            h->msg_controllen = sizeof(u->out_ctrl[n_msgs].buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = u->out_len[i];
            memcpy(CMSG_DATA(c), &seg, sizeof(seg));
        }
        first[n_msgs++] = i;
        i += k;
    }
    int off = 0;
    while (off < n_msgs) {
        int n = sendmmsg(u->sock, u->out_msgs + off, (unsigned)(n_msgs - off), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (u->out_msgs[off].msg_hdr.msg_iovlen > 1 &&
                (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
                SC_WARN("worker", "UDP GSO refused (%s): sending datagrams one by one",
                        strerror(errno));
                u->gso = false;
                return first[off];
            }
            /* EAGAIN (socket buffer full) or an unreachable peer: the packet
             * is lost like on the wire; skip it and keep the rest. */
            off++;
            continue;
        }
        for (int i = off; i < off + n; i++) {
            size_t k = u->out_msgs[i].msg_hdr.msg_iovlen;
            if (k > 1) {
                count(u->gso_sends, 1);
                count(u->gso_segments, k);
            }
        }
        off += n;
    }
    return -1;
}

void sc_udp_flush(sc_udp *u)
{
    int from = 0;
    while (u->n_out && (from = send_out(u, from)) >= 0)
        ;
    u->n_out = 0;
}

int sc_udp_recv(sc_udp *u, int fd, int rounds, int max, sc_udp_recv_fn fn, void *ud)
{
    static __thread uint8_t bufs[SC_RECV_BATCH][RECV_BUF];
    struct mmsghdr msgs[SC_RECV_BATCH];
    struct iovec iov[SC_RECV_BATCH];
    sc_path from[SC_RECV_BATCH];
    int total = 0;

    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < SC_RECV_BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = RECV_BUF;
            memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i].addr;
            msgs[i].msg_hdr.msg_namelen = sizeof(from[i].addr);
        }
        int n = recvmmsg(fd, msgs, (unsigned)max, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        total += n;
        for (int i = 0; i < n; i++) {
            size_t len = msgs[i].msg_len;
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                len = SC_MTU + 1;
            from[i].len = msgs[i].msg_hdr.msg_namelen;
            from[i].tcp = NULL;
            fn(ud, bufs[i], len, &from[i]);
        }
        /* What handling the batch queued (STUN, DTLS and RTCP answers)
         * goes before the next batch is read. */
        sc_udp_flush(u);
        if (n < max)
            break;
    }
    return total;
}

void sc_udp_meminfo(int fd, uint64_t *queued, uint64_t *drops)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mem);
    *queued = *drops = 0;
    if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
        len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1))
        return;
    *queued = mem[SK_MEMINFO_RMEM_ALLOC];
    *drops = mem[SK_MEMINFO_DROPS];
}
