/* Data channels over usrsctp; the threading design is in sctp.h. */
#include "sfu/engine/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include "common/clock.h"
#include "sfu/engine/util.h"
#include "sfu/proto/bytes.h"

/* Received items waiting for the owner beyond this are dropped (only a
 * peer flooding between two of the owner's drains gets there). */
#define IN_QUEUE_MAX (1024 * 1024)
#define OUT_QUEUE_MAX 512  /* packets; a timer burst never needs more */
#define SCTP_STREAMS 1024
#define SCTP_PMTU 1200     /* leaves room for DTLS and UDP/IP headers */

/* ---- DCEP codec ------------------------------------------------------------- */

static bool channel_type_ok(uint8_t t)
{
    uint8_t base = t & (uint8_t)~SC_DC_UNORDERED;
    return base == SC_DC_RELIABLE || base == SC_DC_PARTIAL_RELIABLE_REXMIT ||
           base == SC_DC_PARTIAL_RELIABLE_TIMED;
}

int sc_dcep_parse(const uint8_t *buf, size_t len, sc_dcep_msg *out)
{
    if (!buf || !out || len < 1)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->type = buf[0];
    if (buf[0] == SC_DCEP_ACK)
        return len == 1 ? 0 : -EINVAL;
    if (buf[0] != SC_DCEP_OPEN)
        return -ENOTSUP;
    if (len < SC_DCEP_OPEN_HEADER)
        return -EINVAL;
    out->channel_type = buf[1];
    out->priority = sc_rd16(buf + 2);
    out->reliability = sc_rd32(buf + 4);
    out->label_len = sc_rd16(buf + 8);
    out->protocol_len = sc_rd16(buf + 10);
    /* The lengths must account for exactly the bytes that follow (Janus
     * b45efcbf read past the message when they did not). */
    if ((size_t)out->label_len + out->protocol_len != len - SC_DCEP_OPEN_HEADER)
        return -EINVAL;
    if (!channel_type_ok(out->channel_type))
        return -EINVAL;
    out->label = buf + SC_DCEP_OPEN_HEADER;
    out->protocol = out->label + out->label_len;
    return 0;
}

int sc_dcep_build_open(const sc_dcep_msg *m, uint8_t *buf, size_t cap)
{
    if (!m || !buf || !channel_type_ok(m->channel_type) ||
        (m->label_len && !m->label) || (m->protocol_len && !m->protocol))
        return -EINVAL;
    size_t need = SC_DCEP_OPEN_HEADER + (size_t)m->label_len + m->protocol_len;
    if (need > cap || need > INT32_MAX)
        return -ENOSPC;
    buf[0] = SC_DCEP_OPEN;
    buf[1] = m->channel_type;
    sc_wr16(buf + 2, m->priority);
    sc_wr32(buf + 4, m->reliability);
    sc_wr16(buf + 8, m->label_len);
    sc_wr16(buf + 10, m->protocol_len);
    if (m->label_len)
        memcpy(buf + SC_DCEP_OPEN_HEADER, m->label, m->label_len);
    if (m->protocol_len)
        memcpy(buf + SC_DCEP_OPEN_HEADER + m->label_len, m->protocol, m->protocol_len);
    return (int)need;
}

int sc_dcep_build_ack(uint8_t *buf, size_t cap)
{
    if (!buf || cap < 1)
        return -ENOSPC;
    buf[0] = SC_DCEP_ACK;
    return 1;
}

/* ---- association state ---------------------------------------------------------- */

typedef struct pkt_node {
    struct pkt_node *next;
    size_t len;
    uint8_t data[];
} pkt_node;

typedef struct in_node {
    struct in_node *next;
    void *data;               /* usrsctp's malloc'd buffer, NULL = association ended */
    size_t len;
    uint16_t sid;
    uint32_t ppid;            /* host order */
    int flags;
} in_node;

typedef struct channel {
    bool used;
    bool open;
    bool reset_sent;          /* our outgoing stream is being reset */
    uint16_t stream;
    uint8_t type;
    uint32_t reliability;
    char label[SC_SCTP_LABEL_MAX + 1];
    char protocol[SC_SCTP_LABEL_MAX + 1];
} channel;

struct sc_sctp {
    uintptr_t handle;         /* what usrsctp knows us by */
    struct socket *sock;
    sc_sctp_events ev;
    void *ud;
    size_t max_send;
    channel chans[SC_SCTP_MAX_CHANNELS];
    bool was_full;
    bool draining;

    /* Reassembly of a message usrsctp hands over in parts. */
    uint8_t *rx;
    size_t rx_len;
    bool rx_busy, rx_too_large;
    uint16_t rx_sid;
    uint32_t rx_ppid;

    /* Under g_lock: filled by callbacks, emptied by the owner. */
    bool in_call;             /* the owner is inside usrsctp right now */
    bool wake_pending;
    pkt_node *out_head, *out_tail;
    size_t out_n;
    in_node *in_head, *in_tail;
    size_t in_bytes;
    unsigned in_dropped, out_dropped;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_refs;
static uint64_t g_last_tick_ms;
static sc_sctp **g_table;     /* index = (handle & 0xffff) - 1 */
static size_t g_cap, g_live;
static uint64_t g_serial;

static sc_sctp *lookup(void *addr)
{
    uintptr_t h = (uintptr_t)addr;
    size_t i = (size_t)(h & 0xffff);
    if (i == 0 || i > g_cap)
        return NULL;
    sc_sctp *a = g_table[i - 1];
    return a && a->handle == h ? a : NULL;
}

/* Under g_lock.  Handles are slot+1 in the low 16 bits and a serial above,
 * so a handle of a freed association never matches its slot's successor. */
static int table_add(sc_sctp *a)
{
    size_t i;
    for (i = 0; i < g_cap && g_table[i]; i++)
        ;
    if (i == g_cap) {
        if (g_cap >= 0xffff)
            return -ENOSPC;
        size_t cap = g_cap ? g_cap * 2 : 64;
        if (cap > 0xffff)
            cap = 0xffff;
        sc_sctp **nt = realloc(g_table, cap * sizeof(*nt));
        if (!nt)
            return -ENOMEM;
        memset(nt + g_cap, 0, (cap - g_cap) * sizeof(*nt));
        g_table = nt;
        g_cap = cap;
    }
    g_table[i] = a;
    a->handle = (uintptr_t)(++g_serial << 16) | (uintptr_t)(i + 1);
    g_live++;
    return 0;
}

static void table_remove(sc_sctp *a)
{
    size_t i = (size_t)(a->handle & 0xffff);
    if (i >= 1 && i <= g_cap && g_table[i - 1] == a) {
        g_table[i - 1] = NULL;
        g_live--;
    }
}

/* Under g_lock, from a callback: make sure the owner comes to drain. */
static void need_owner(sc_sctp *a)
{
    if (a->in_call || a->wake_pending)
        return;
    a->wake_pending = true;
    if (a->ev.wake)
        a->ev.wake(a->ud);
}

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    sc_sctp *a = lookup(addr);
    if (!a)
        return 0; /* freed: the packet goes nowhere, like on a dead path */
    if (a->out_n >= OUT_QUEUE_MAX) {
        a->out_dropped++;
        need_owner(a);
        return 0;
    }
    pkt_node *p = malloc(sizeof(*p) + len);
    if (!p)
        return ENOMEM;
    p->next = NULL;
    p->len = len;
    memcpy(p->data, buf, len);
    if (a->out_tail)
        a->out_tail->next = p;
    else
        a->out_head = p;
    a->out_tail = p;
    a->out_n++;
    need_owner(a);
    return 0;
}

static int on_receive(struct socket *sock, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
    sc_sctp *a = lookup(ulp_info);
    if (!a) {
        free(data);
        return 1;
    }
    if (data && a->in_bytes + len > IN_QUEUE_MAX) {
        free(data);
        a->in_dropped++;
        need_owner(a);
        return 1;
    }
    in_node *n = calloc(1, sizeof(*n));
    if (!n) {
        free(data);
        a->in_dropped++;
        return 1;
    }
    n->data = data;
    n->len = data ? len : 0;
    n->sid = rcv.rcv_sid;
    n->ppid = ntohl(rcv.rcv_ppid);
    n->flags = flags;
    if (a->in_tail)
        a->in_tail->next = n;
    else
        a->in_head = n;
    a->in_tail = n;
    a->in_bytes += n->len;
    need_owner(a);
    return 1;
}

/* ---- global ------------------------------------------------------------------ */

int sc_sctp_global_ref(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_refs++ == 0) {
        /* No UDP encapsulation port, no threads: packets leave through
         * conn_output and timers run from sc_sctp_tick. */
        usrsctp_init_nothreads(0, conn_output, NULL);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        g_last_tick_ms = sc_mono_ms();
    }
    pthread_mutex_unlock(&g_lock);
    return 0;
}

void sc_sctp_global_unref(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_refs > 0 && --g_refs == 0) {
        usrsctp_finish();
        free(g_table);
        g_table = NULL;
        g_cap = g_live = 0;
    }
    pthread_mutex_unlock(&g_lock);
}

void sc_sctp_tick(uint64_t now_ms)
{
    /* Whoever gets the lock runs the timers; a worker finding it busy
     * skips, the elapsed time is counted at the next tick. */
    if (pthread_mutex_trylock(&g_lock) != 0)
        return;
    if (g_refs > 0 && g_live > 0 && now_ms - g_last_tick_ms >= 10) {
        usrsctp_handle_timers((uint32_t)(now_ms - g_last_tick_ms));
        g_last_tick_ms = now_ms;
    } else if (g_live == 0) {
        g_last_tick_ms = now_ms;
    }
    pthread_mutex_unlock(&g_lock);
}

/* ---- owner side ------------------------------------------------------------------- */

static void drop(sc_sctp *a, const char *why)
{
    if (a->ev.drop)
        a->ev.drop(a->ud, why);
}

/* Send on a stream; 0, -EAGAIN, -EMSGSIZE, -EIO.  Owner thread. */
static int send_raw(sc_sctp *a, uint16_t sid, uint32_t ppid, uint8_t type, uint32_t rel,
                    const void *buf, size_t len)
{
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof(spa));
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    if (type & SC_DC_UNORDERED)
        spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    uint8_t base = type & (uint8_t)~SC_DC_UNORDERED;
    if (base == SC_DC_PARTIAL_RELIABLE_REXMIT || base == SC_DC_PARTIAL_RELIABLE_TIMED) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy =
            base == SC_DC_PARTIAL_RELIABLE_REXMIT ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = rel;
    }
    pthread_mutex_lock(&g_lock);
    a->in_call = true;
    ssize_t r = usrsctp_sendv(a->sock, buf, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
    int err = errno;
    a->in_call = false;
    pthread_mutex_unlock(&g_lock);
    if (r >= 0)
        return 0;
    if (err == EWOULDBLOCK || err == EAGAIN || err == ENOBUFS)
        return -EAGAIN;
    if (err == EMSGSIZE)
        return -EMSGSIZE;
    return -EIO;
}

static void reset_stream(sc_sctp *a, uint16_t sid)
{
    uint8_t raw[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)];
    struct sctp_reset_streams *srs = (struct sctp_reset_streams *)raw;
    memset(raw, 0, sizeof(raw));
    srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    srs->srs_number_streams = 1;
    srs->srs_stream_list[0] = sid;
    pthread_mutex_lock(&g_lock);
    a->in_call = true;
    usrsctp_setsockopt(a->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs, (socklen_t)sizeof(raw));
    a->in_call = false;
    pthread_mutex_unlock(&g_lock);
}

static channel *find_channel(sc_sctp *a, uint16_t sid)
{
    for (int i = 0; i < SC_SCTP_MAX_CHANNELS; i++)
        if (a->chans[i].used && a->chans[i].stream == sid)
            return &a->chans[i];
    return NULL;
}

static void close_channel(sc_sctp *a, channel *c, bool reset)
{
    if (c->open) {
        c->open = false;
        if (a->ev.closed)
            a->ev.closed(a->ud, c->stream, c->label);
    }
    if (reset && !c->reset_sent) {
        c->reset_sent = true;
        reset_stream(a, c->stream);
    }
}

static bool copy_name(char *dst, const uint8_t *src, size_t len)
{
    if (len > SC_SCTP_LABEL_MAX || (len && memchr(src, 0, len)))
        return false;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
    return true;
}

static void on_dcep(sc_sctp *a, uint16_t sid, const uint8_t *buf, size_t len)
{
    sc_dcep_msg m;
    if (sc_dcep_parse(buf, len, &m) < 0) {
        drop(a, "dcep-malformed");
        return;
    }
    if (m.type == SC_DCEP_ACK)
        return; /* we open no channels ourselves */
    channel *c = find_channel(a, sid);
    if (c && (c->open || !c->reset_sent)) {
        drop(a, "dcep-stream-in-use");
        return;
    }
    if (c) /* an old channel's stream being reused before its reset completed */
        memset(c, 0, sizeof(*c));
    for (int i = 0; !c && i < SC_SCTP_MAX_CHANNELS; i++)
        if (!a->chans[i].used)
            c = &a->chans[i];
    channel tmp = {.used = true, .stream = sid, .type = m.channel_type,
                   .reliability = m.reliability};
    if (!c || !copy_name(tmp.label, m.label, m.label_len) ||
        !copy_name(tmp.protocol, m.protocol, m.protocol_len)) {
        drop(a, c ? "dcep-label" : "too-many-channels");
        reset_stream(a, sid); /* the peer's channel closes instead of hanging */
        return;
    }
    *c = tmp;
    uint8_t ack[1];
    sc_dcep_build_ack(ack, sizeof(ack));
    if (send_raw(a, sid, SC_PPID_DCEP, SC_DC_RELIABLE, 0, ack, 1) < 0) {
        memset(c, 0, sizeof(*c));
        drop(a, "dcep-ack-failed");
        return;
    }
    c->open = true;
    if (a->ev.open)
        a->ev.open(a->ud, sid, c->label, c->protocol);
}

static void on_message(sc_sctp *a, uint16_t sid, uint32_t ppid, const uint8_t *buf, size_t len)
{
    if (ppid == SC_PPID_DCEP) {
        on_dcep(a, sid, buf, len);
        return;
    }
    bool binary;
    switch (ppid) {
    case SC_PPID_STRING:
    case SC_PPID_STRING_EMPTY:
        binary = false;
        break;
    case SC_PPID_BINARY:
    case SC_PPID_BINARY_EMPTY:
        binary = true;
        break;
    default:
        drop(a, "unknown-ppid");
        return;
    }
    if (ppid == SC_PPID_STRING_EMPTY || ppid == SC_PPID_BINARY_EMPTY)
        len = 0; /* one placeholder byte carries an empty message */
    channel *c = find_channel(a, sid);
    if (!c || !c->open) {
        drop(a, "no-channel");
        return;
    }
    if (a->ev.message)
        a->ev.message(a->ud, sid, c->label, buf, len, binary);
}

static void on_data(sc_sctp *a, in_node *n)
{
    bool eor = (n->flags & MSG_EOR) != 0;
    if (!a->rx_busy && eor) {
        if (n->len > SC_SCTP_MAX_MESSAGE)
            drop(a, "too-large");
        else
            on_message(a, n->sid, n->ppid, n->data, n->len);
        return;
    }
    /* Partial delivery: collect the parts (bounded), deliver at the end. */
    if (!a->rx_busy) {
        a->rx_busy = true;
        a->rx_too_large = false;
        a->rx_len = 0;
        a->rx_sid = n->sid;
        a->rx_ppid = n->ppid;
    }
    if (!a->rx_too_large) {
        if (n->sid != a->rx_sid || a->rx_len + n->len > SC_SCTP_MAX_MESSAGE) {
            a->rx_too_large = true;
        } else {
            if (!a->rx)
                a->rx = malloc(SC_SCTP_MAX_MESSAGE);
            if (!a->rx) {
                a->rx_too_large = true;
            } else {
                memcpy(a->rx + a->rx_len, n->data, n->len);
                a->rx_len += n->len;
            }
        }
    }
    if (!eor)
        return;
    a->rx_busy = false;
    if (a->rx_too_large)
        drop(a, "too-large");
    else
        on_message(a, a->rx_sid, a->rx_ppid, a->rx, a->rx_len);
    free(a->rx);
    a->rx = NULL;
}

static void close_all(sc_sctp *a)
{
    for (int i = 0; i < SC_SCTP_MAX_CHANNELS; i++) {
        if (a->chans[i].used) {
            close_channel(a, &a->chans[i], false);
            memset(&a->chans[i], 0, sizeof(a->chans[i]));
        }
    }
}

static void on_stream_reset(sc_sctp *a, const struct sctp_stream_reset_event *e, size_t len)
{
    if (len < sizeof(*e) || e->strreset_length > len || e->strreset_length < sizeof(*e))
        return;
    if (e->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED))
        return;
    size_t n = (e->strreset_length - sizeof(*e)) / sizeof(uint16_t);
    for (size_t i = 0; i < n; i++) {
        channel *c = find_channel(a, e->strreset_stream_list[i]);
        if (!c)
            continue;
        if (e->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) {
            /* The peer closed the channel: close our side too (RFC 8831 6.7). */
            close_channel(a, c, true);
        } else if (e->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
            if (!c->open && c->reset_sent)
                memset(c, 0, sizeof(*c)); /* both directions reset: stream reusable */
        }
    }
}

static void on_notification(sc_sctp *a, const uint8_t *buf, size_t len)
{
    union sctp_notification notif;
    if (len < sizeof(notif.sn_header))
        return;
    uint16_t type;
    memcpy(&type, buf, sizeof(type));
    if (type == SCTP_ASSOC_CHANGE) {
        if (len < sizeof(struct sctp_assoc_change))
            return;
        struct sctp_assoc_change ac;
        memcpy(&ac, buf, sizeof(ac));
        if (ac.sac_state == SCTP_COMM_LOST || ac.sac_state == SCTP_SHUTDOWN_COMP ||
            ac.sac_state == SCTP_CANT_STR_ASSOC)
            close_all(a);
    } else if (type == SCTP_STREAM_RESET_EVENT) {
        /* usrsctp aligns its buffers; the list follows the header. */
        on_stream_reset(a, (const struct sctp_stream_reset_event *)(const void *)buf, len);
    } else if (type == SCTP_SENDER_DRY_EVENT) {
        if (a->was_full) {
            a->was_full = false;
            if (a->ev.writable)
                a->ev.writable(a->ud);
        }
    }
}

/* Owner thread, outside the lock: hand out what the callbacks queued, until
 * nothing is left (handling an item may queue more). */
static void drain(sc_sctp *a)
{
    if (a->draining)
        return; /* an outer drain continues the loop */
    a->draining = true;
    for (;;) {
        pthread_mutex_lock(&g_lock);
        pkt_node *out = a->out_head;
        in_node *in = a->in_head;
        unsigned in_dropped = a->in_dropped, out_dropped = a->out_dropped;
        a->out_head = a->out_tail = NULL;
        a->in_head = a->in_tail = NULL;
        a->out_n = a->in_bytes = 0;
        a->in_dropped = a->out_dropped = 0;
        a->wake_pending = false;
        pthread_mutex_unlock(&g_lock);
        if (!out && !in && !in_dropped && !out_dropped)
            break;
        for (unsigned i = 0; i < in_dropped; i++)
            drop(a, "rx-queue-full");
        for (unsigned i = 0; i < out_dropped; i++)
            drop(a, "tx-queue-full");
        while (out) {
            pkt_node *next = out->next;
            if (a->ev.send)
                a->ev.send(a->ud, out->data, out->len);
            free(out);
            out = next;
        }
        while (in) {
            in_node *next = in->next;
            if (!in->data)
                close_all(a); /* the association ended */
            else if (in->flags & MSG_NOTIFICATION)
                on_notification(a, in->data, in->len);
            else
                on_data(a, in);
            free(in->data);
            free(in);
            in = next;
        }
    }
    a->draining = false;
}

static void setopt(struct socket *s, int level, int name, const void *v, socklen_t len)
{
    /* A refused option degrades the association; it does not stop it. */
    (void)usrsctp_setsockopt(s, level, name, v, len);
}

static void configure(struct socket *s)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = ABORT, nothing lingers */
    setopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    int on = 1;
    setopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on));
    setopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on));
    struct sctp_assoc_value av = {.assoc_id = SCTP_FUTURE_ASSOC,
                                  .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    setopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av));
    struct sctp_initmsg im = {.sinit_num_ostreams = SCTP_STREAMS,
                              .sinit_max_instreams = SCTP_STREAMS};
    setopt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im));
    uint32_t pd = SC_SCTP_MAX_MESSAGE;
    setopt(s, IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, &pd, sizeof(pd));
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                      SCTP_SENDER_DRY_EVENT};
    for (size_t i = 0; i < SC_ARRAY_SIZE(events); i++) {
        struct sctp_event e = {.se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i],
                               .se_on = 1};
        setopt(s, IPPROTO_SCTP, SCTP_EVENT, &e, sizeof(e));
    }
}

sc_sctp *sc_sctp_new(uint16_t remote_port, size_t peer_max_message, const sc_sctp_events *ev,
                     void *ud)
{
    sc_sctp *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->ev = *ev;
    a->ud = ud;
    a->max_send = SC_SCTP_MAX_MESSAGE;
    if (peer_max_message && peer_max_message < a->max_send)
        a->max_send = peer_max_message;

    pthread_mutex_lock(&g_lock);
    if (g_refs == 0 || table_add(a) < 0) {
        pthread_mutex_unlock(&g_lock);
        free(a);
        return NULL;
    }
    a->in_call = true;
    void *h = (void *)a->handle;
    usrsctp_register_address(h);
    a->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, on_receive, NULL, 0, h);
    bool ok = a->sock != NULL;
    if (ok) {
        usrsctp_set_non_blocking(a->sock, 1);
        configure(a->sock);
        struct sockaddr_conn local = {.sconn_family = AF_CONN,
                                      .sconn_port = htons(SC_SCTP_PORT), .sconn_addr = h};
        struct sockaddr_conn remote = local;
        remote.sconn_port = htons(remote_port ? remote_port : SC_SCTP_PORT);
        ok = usrsctp_bind(a->sock, (struct sockaddr *)&local, sizeof(local)) == 0;
        /* Both ends send INIT (RFC 8841 leaves it to either); SCTP resolves
         * the collision. */
        if (ok && usrsctp_connect(a->sock, (struct sockaddr *)&remote, sizeof(remote)) < 0 &&
            errno != EINPROGRESS)
            ok = false;
        if (ok) {
            struct sctp_paddrparams pp;
            memset(&pp, 0, sizeof(pp));
            memcpy(&pp.spp_address, &remote, sizeof(remote));
            pp.spp_flags = SPP_PMTUD_DISABLE;
            pp.spp_pathmtu = SCTP_PMTU;
            setopt(a->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp));
        }
    }
    a->in_call = false;
    pthread_mutex_unlock(&g_lock);
    if (!ok) {
        sc_sctp_free(a);
        return NULL;
    }
    drain(a);
    return a;
}

void sc_sctp_free(sc_sctp *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&g_lock);
    a->in_call = true;
    if (a->sock)
        usrsctp_close(a->sock);
    usrsctp_deregister_address((void *)a->handle);
    table_remove(a);
    pthread_mutex_unlock(&g_lock);
    /* Nothing can reach the queues any more: the handle is unknown. */
    for (pkt_node *p = a->out_head, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    for (in_node *p = a->in_head, *n; p; p = n) {
        n = p->next;
        free(p->data);
        free(p);
    }
    free(a->rx);
    free(a);
}

void sc_sctp_input(sc_sctp *a, const uint8_t *pkt, size_t len)
{
    if (!a || !len)
        return;
    pthread_mutex_lock(&g_lock);
    a->in_call = true;
    usrsctp_conninput((void *)a->handle, pkt, len, 0);
    a->in_call = false;
    pthread_mutex_unlock(&g_lock);
    drain(a);
}

void sc_sctp_poll(sc_sctp *a)
{
    if (a)
        drain(a);
}

bool sc_sctp_has_open_channel(const sc_sctp *a)
{
    for (int i = 0; a && i < SC_SCTP_MAX_CHANNELS; i++)
        if (a->chans[i].open)
            return true;
    return false;
}

int sc_sctp_send(sc_sctp *a, const uint8_t *buf, size_t len, bool binary)
{
    channel *c = NULL;
    for (int i = 0; a && i < SC_SCTP_MAX_CHANNELS && !c; i++)
        if (a->chans[i].open)
            c = &a->chans[i];
    if (!c)
        return -EAGAIN;
    if (len > a->max_send)
        return -EMSGSIZE;
    static const uint8_t zero = 0;
    uint32_t ppid = binary ? (len ? SC_PPID_BINARY : SC_PPID_BINARY_EMPTY)
                           : (len ? SC_PPID_STRING : SC_PPID_STRING_EMPTY);
    int r = send_raw(a, c->stream, ppid, c->type, c->reliability, len ? buf : &zero,
                     len ? len : 1);
    if (r == -EAGAIN)
        a->was_full = true;
    drain(a);
    return r;
}
