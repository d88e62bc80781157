/* A viewer's UDP receive path: see rx.h. */
#include "rx.h"

#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sfu/proto/rtp.h"

void lg_rx_count(lg_rx_counters *c, const uint8_t *d, size_t len)
{
    atomic_fetch_add_explicit(&c->packets, 1, memory_order_relaxed);
    if (d[0] >= 128 && d[0] <= 191 && !sc_rtp_is_rtcp(d, len))
        atomic_fetch_add_explicit(&c->rtp, 1, memory_order_relaxed);
}

int lg_rx_udp_batch(lg_peer *p, lg_latency *lat, lg_rx_counters *c)
{
    /* A GRO buffer holds a whole GSO send (at most 64 KiB). */
    static uint8_t bufs[LG_RX_BATCH][65536];
    static char ctl[LG_RX_BATCH][CMSG_SPACE(sizeof(uint32_t)) +
                                 CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(int))];
    struct mmsghdr msgs[LG_RX_BATCH];
    struct iovec iov[LG_RX_BATCH];
    int n;

    for (int i = 0; i < LG_RX_BATCH; i++) {
        iov[i] = (struct iovec){ .iov_base = bufs[i], .iov_len = sizeof(bufs[i]) };
        msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1,
                                           .msg_control = ctl[i],
                                           .msg_controllen = sizeof(ctl[i]) };
    }
    n = recvmmsg(p->fd, msgs, LG_RX_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    int64_t now = lg_now_us();
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    /* SO_TIMESTAMPNS is CLOCK_REALTIME: map it onto CLOCK_MONOTONIC. */
    int64_t real_minus_mono = ((int64_t)rt.tv_sec * 1000000 + rt.tv_nsec / 1000) - now;
    for (int i = 0; i < n; i++) {
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
        int64_t rx = now;
        size_t seg = msgs[i].msg_len;
        for (; cm; cm = CMSG_NXTHDR(&msgs[i].msg_hdr, cm)) {
            if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
                int g;
                memcpy(&g, CMSG_DATA(cm), sizeof(g));
                if (g > 0)
                    seg = (size_t)g;
                continue;
            }
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
                uint32_t d;
                memcpy(&d, CMSG_DATA(cm), sizeof(d));
                if (d > p->rx_ovfl)
                    p->rx_ovfl = d;
            } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
                rx = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - real_minus_mono;
                if (rx > now)
                    rx = now;
            }
        }
        if (seg < msgs[i].msg_len)
            atomic_fetch_add_explicit(&c->coalesced, (msgs[i].msg_len + seg - 1) / seg,
                                      memory_order_relaxed);
        /* Every datagram of a GRO buffer is seg bytes but the last. */
        for (size_t off = 0; off < msgs[i].msg_len; off += seg) {
            uint8_t *d = bufs[i] + off;
            size_t len = msgs[i].msg_len - off < seg ? msgs[i].msg_len - off : seg;
            lg_rx_count(c, d, len);
            lg_peer_input(p, d, len, rx, now - rx, lat);
        }
    }
    return n;
}
