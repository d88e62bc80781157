/* Internals shared by the media plane's worker, transport and room code.
 * Nothing outside sfu/ includes this: the public contract is sfu.h. */
#ifndef SC_PRIVATE_H
#define SC_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sfu/crypto/dtls.h"
#include "sfu/crypto/srtp.h"
#include "sfu/engine/answer.h"
#include "sfu/engine/bwe.h"
#include "sfu/engine/packet.h"
#include "sfu/engine/sctp.h"
#include "sfu/engine/stream.h"
#include "sfu/net/path.h"
#include "sfu/net/udp.h"
#include "sfu/sfu.h"

typedef struct sc_worker sc_worker;
typedef struct sc_room sc_room;
typedef struct sc_transport sc_transport;

#define SC_MAX_BINDINGS 4
#define SC_KEYFRAME_INTERVAL_MS 300   /* at most one PLI per publisher stream per this */
#define SC_RTX_MAX_AGE_MS 1000
#define SC_AUDIO_LEVEL_WINDOW_MS 250  /* publishers report their mean level this often */
#define SC_LAYER_TIMEOUT_MS 1000      /* a simulcast layer silent this long is gone */
#define SC_LOSS_STEP_DOWN 13          /* RR fraction lost (/256, ~5 %) that counts as lossy */
#define SC_LOSS_CALM 3                /* below this (~1 %) the path is calm */
#define SC_LOSSY_REPORTS 2            /* consecutive lossy reports before stepping down */
#define SC_STEP_UP_AFTER_MS 8000      /* calm this long before trying a layer up */
#define SC_ALLOC_EVERY_MS 500         /* viewers with an estimate re-plan their layers */
#define SC_AUDIO_BUDGET_BPS 40000     /* set aside per audio track in a viewer's budget */
#define SC_REMB_FRESH_MS 3000         /* a viewer's REMB counts this long */
#define SC_DYNACAST_HOLD_MS 3000      /* a layer nobody wants this long is paused */

/* What the control thread must know of a session's data channel without
 * touching the transport: shared by the control side's directory entry and
 * the transport, freed by whichever lets go last.  All fields atomic. */
#define SC_DC_RX_PENDING_MAX 256  /* DATA events not yet polled; more are dropped */
typedef struct sc_dc_gate {
    int refs;
    bool open;              /* worker: a channel is open */
    bool full;              /* worker: SCTP refused a message, until it drains */
    size_t inflight;        /* bytes queued to the worker, not yet given to SCTP */
    int rx_pending;         /* DATA events emitted, not yet delivered */
} sc_dc_gate;

sc_dc_gate *sc__dc_gate_new(void);
sc_dc_gate *sc__dc_gate_ref(sc_dc_gate *g);
void sc__dc_gate_unref(sc_dc_gate *g);

/* A remote path that a valid STUN check bound to a transport. */
typedef struct sc_binding {
    sc_path path;
    sc_transport *t;
    struct sc_binding *next; /* worker's address hash chain */
} sc_binding;

/* One SSRC a publisher sends us (a track, or one simulcast layer of it). */
typedef struct sc_rx_stream {
    uint32_t ssrc, rtx_ssrc;    /* announced or latched, 0 = not yet */
    /* RFC 3550 A.3 reception statistics for our receiver reports */
    bool seq_init;
    uint16_t max_seq;
    uint32_t cycles, base_seq, received, expected_prior, received_prior;
    bool have_sr;
    uint32_t last_sr_mid;       /* middle 32 bits of the last SR's NTP */
    uint64_t last_sr_ms;
    uint64_t last_pli_ms;
    bool kf_wanted;             /* a keyframe request waits for the interval */
} sc_rx_stream;

/* A track a publisher sends us. */
typedef struct sc_pub_track {
    int map;                    /* index into neg.tracks, -1 when absent */
    int n_layers;               /* 1, or the simulcast layers negotiated */
    sc_rx_stream layers[SC_MAX_LAYERS];
    /* RFC 6464 levels over the current reporting window (audio) */
    uint32_t level_sum, level_count;
    uint64_t level_window_ms;
} sc_pub_track;

/* A track we send a subscriber, for one stage slot. */
typedef enum sc_layer_choice {
    SC_CHOICE_AUTO, SC_CHOICE_LOW, SC_CHOICE_MEDIUM, SC_CHOICE_HIGH,
} sc_layer_choice;

typedef struct sc_sub_track {
    int map;                 /* index into neg.tracks, -1 when not negotiated */
    sc_rewriter rw;
    int8_t current_layer;    /* video: the layer being forwarded, -1 = waiting for a keyframe */
    int8_t target_layer;     /* video: the layer to switch to at its next keyframe */
    uint8_t choice;          /* sc_layer_choice */
    uint32_t epoch;          /* mirror epoch the target was chosen at */
    uint64_t waiting_since_ms;
    /* Auto: loss-driven adaptation from the viewer's receiver reports.  The
     * cap is the highest layer rank allowed (-1: none yet, no cap). */
    int8_t auto_cap;
    /* Auto with an estimate (transport-cc, or the viewer's REMB): the
     * highest layer rank the viewer's share of it pays for (-1: none yet). */
    int8_t bwe_cap;
    /* The size the viewer renders this slot at (pixels wide, 0: unknown):
     * no layer much wider than that is sent. */
    uint16_t max_width;
    /* VP8 temporal layers: the highest temporal layer id forwarded (3: all),
     * what the viewer asked for, what its estimate pays for, and the
     * current frame's verdict (decided at its first packet). */
    int8_t fwd_tid, user_tid, bwe_tid;
    bool frame_pass;
    int32_t frame_pid;
    uint8_t lossy_reports;
    uint64_t calm_since_ms, last_step_ms;
    uint16_t rtx_seq;
    uint32_t packets, octets;
    /* The last two sender reports sent on this track: the middle 32 bits
     * of their NTP time (what the viewer's LSR echoes) and when they left. */
    uint32_t sr_mid[2];
    uint64_t sr_sent_us[2];
    uint8_t sr_next;
} sc_sub_track;

struct sc_transport {
    uint64_t id;
    uint64_t generation;     /* increases with every session the SFU creates */
    sc_session_kind kind;
    int slot;                /* publisher's stage slot */
    char room_name[SC_ROOM_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    char user_id[SC_PEER_NAME_MAX + 1];
    uint64_t user_key;       /* hash of user_id, 0 without one */
    bool in_group;           /* its room is a breakout group ("CLASS~gN") */
    sc_negotiated neg;

    sc_worker *w;
    sc_room *room;
    int sub_index;           /* position in room->subs */

    sc_binding *bindings[SC_MAX_BINDINGS];
    int n_bindings;
    sc_binding *selected;    /* where we send */
    uint64_t created_ms, last_consent_ms;

    sc_dtls *dtls;
    sc_srtp *srtp;
    bool connected;
    sc_sctp *sctp;           /* data channels, once DTLS is up (neg.sctp) */
    sc_dc_gate *dc;          /* shared with the control side, NULL without neg.sctp */
    uint32_t rtcp_ssrc;      /* our SSRC in feedback we send */
    uint8_t fir_seq;

    /* subscriber: downlink estimate (transport-cc) or the viewer's REMB */
    sc_bwe *bwe;
    uint32_t remb_bps;
    uint64_t remb_ms, last_alloc_ms;
    uint16_t probe_k;        /* next recent packet a probe repeats */

    sc_pub_track audio, video;                 /* publisher */
    bool record;                               /* publisher: packets go to the tap */
    bool muted_audio, muted_video;             /* publisher: the host muted it (dropped here) */
    /* publisher: "talk to all" (breakout groups): its audio also goes to
     * these rooms, in slot SC_TALK_SLOT, under talk_generation */
    char (*talk_rooms)[SC_ROOM_NAME_MAX + 1];
    int n_talk;
    uint64_t talk_generation;
    sc_sub_track sub_audio[SC_MAX_SLOTS];      /* subscriber, by slot */
    sc_sub_track sub_video[SC_MAX_SLOTS];

    bool closing;
    const char *close_reason;
    bool announce_close;     /* emit SESSION_CLOSED when freed */

    sc_transport *next_ufrag, *next_id;   /* worker hash chains */
    sc_transport *prev_all, *next_all;    /* worker's list of transports */
    sc_transport *next_closing;
};

/* What one worker knows about a stage slot's current source, wherever the
 * publisher lives: its generation and worker, and the retransmission buffer
 * this worker's viewers' NACKs are served from. */
typedef struct sc_slot_mirror {
    uint64_t generation;
    int src_worker;
    sc_rtx_buffer *rtx[SC_MAX_LAYERS];
    uint64_t last_kf_request_ms[SC_MAX_LAYERS];
    uint64_t last_seen_ms[SC_MAX_LAYERS];
    uint16_t width[SC_MAX_LAYERS];  /* from each layer's last keyframe */
    uint8_t available;              /* bit per layer seen in the last SC_LAYER_TIMEOUT_MS */
    uint8_t known;                  /* bit per layer seen from this source (paused or not) */
    uint8_t declared;               /* bit per layer the source offers (its rids) */
    uint64_t wanted_ms[3];          /* dynacast: a viewer here last wanted low/medium/high */
    int16_t demand_sent;            /* mask last reported, -1 none */
    uint32_t bps[SC_MAX_LAYERS];    /* each layer's bitrate, smoothed */
    uint32_t bytes[SC_MAX_LAYERS];  /* in the current rate window */
    /* VP8 temporal layers per simulcast layer: bitrate of each temporal
     * layer id (0-2; 3 counts as 2) and the highest id seen (-1: none) */
    uint32_t tbps[SC_MAX_LAYERS][3];
    uint32_t tbytes[SC_MAX_LAYERS][3];
    int8_t max_tid[SC_MAX_LAYERS];
    uint64_t rate_window_ms;
    uint32_t epoch;                 /* changes whenever available or width does */
} sc_slot_mirror;

struct sc_room {
    char name[SC_ROOM_NAME_MAX + 1];
    sc_transport *slots[SC_MAX_SLOTS];       /* publishers on THIS worker */
    sc_slot_mirror mirrors[SC_MAX_SLOTS];
    sc_transport **subs;
    int n_subs, cap_subs;
    sc_room *next;
};

/* Counters; each worker writes its own with relaxed stores, readers sum. */
typedef struct sc_counters {
#define SC__FIELD(name, what) uint64_t name;
    SC_WORKER_COUNTERS(SC__FIELD)
#undef SC__FIELD
    /* Load, set by the worker once a second (measure_load): */
    uint64_t busy_us;                 /* time outside epoll_wait, cumulative */
    uint64_t load_pct;                /* busy share of the last second, 0-100 */
    uint64_t sock_drops_media;        /* the kernel's drops on its sockets */
    uint64_t sock_drops_control;
    uint64_t overloaded;              /* 1: see measure_load */
    uint64_t last_loop_ms;            /* sc_mono_ms() of its loop's latest turn:
                                         a health check sees a stuck worker */
    uint64_t tcp_open;                /* ICE-TCP connections open now */
    sc_hist rtt;                      /* viewers' round-trip times (subscriber.c) */
} sc_counters;

#define SC_OVERLOAD_PCT 95
#define SC_OVERLOAD_QUEUED (256 * 1024) /* bytes of media waiting in the socket */
/* A worker reads its socket for at most this long before it turns to the
 * rings, its timers and its commands. */
#define SC_DRAIN_BUDGET_US 5000

#define SC_COUNT(w, field, n) \
    __atomic_store_n(&(w)->stats.field, (w)->stats.field + (n), __ATOMIC_RELAXED)

/* worker.c */
/* Media packets a worker holds before fanning them out, so that each viewer
 * gets a run of consecutive packets (one GSO send) instead of one each. */
#define SC_DELIVER_BATCH 32
struct sc_worker {
    sc_sfu *sfu;
    int index;
    uint16_t port;
    pthread_t thread;
    bool thread_started;
    int cpu;                    /* pinned to this CPU, or -1 */
    int epfd, evfd;
    sc_udp *udp;                /* its port: sockets, receiving, GSO sends */
    struct sc_tcp *tcp;         /* its ICE-TCP port (sfu/net/tcp.c), or NULL */
    uint16_t tcp_port;
    uint64_t load_mark_us, load_mark_busy; /* measure_load's last reading */
    bool load_hot;                          /* its last second looked overloaded */
    /* Tests only: STAGECAST_TEST_STALL_FILE names a file of "WORKER US"
     * lines, read once a second; while this worker's line is there it reads
     * one media datagram per US microseconds, sleeping in between (counted
     * as busy; US at most 5 s), so a test can overload it whatever the
     * CPU's speed, or hold its loop still (/healthz). */
    const char *stall_file;
    uint64_t stall_us;
    bool stop;

    pthread_mutex_t cmd_lock;
    struct sc_cmd *cmd_head, *cmd_tail;

    int n_workers;
    sc_worker **peers;               /* every worker, self included */
    struct sc_ring *in[64];          /* packets from worker i, NULL for self */
    bool wake[64];                   /* worker i has packets from us queued */

    sc_transport *by_ufrag[1024];
    sc_transport *by_id[1024];
    sc_binding *by_addr[4096];
    sc_room *rooms[256];
    sc_transport *all;
    sc_transport *closing;

    /* Media packets waiting for sc__room_flush (references held). */
    int n_pend;
    sc_media_pkt *pend[SC_DELIVER_BATCH];
    sc_room *pend_room[SC_DELIVER_BATCH];

    uint64_t last_dtls_tick_ms, last_second_ms;
    sc_counters stats;
};

sc_worker *sc__worker_new(sc_sfu *sfu, int index, const char *ip, uint16_t port, char *err,
                          size_t errlen);
int sc__worker_start(sc_worker *w);
/* Stop every worker before freeing any: they push into each other's rings. */
void sc__worker_stop(sc_worker *w);
void sc__worker_free(sc_worker *w);
/* Control thread: hand a new transport to the worker (ownership moves). */
void sc__worker_add(sc_worker *w, sc_transport *t);
void sc__worker_close(sc_worker *w, uint64_t id, const char *reason);
/* Control thread, once, before the workers start: connect them. */
int sc__workers_link(sc_worker **workers, int n);
int sc__parse_cpu_list(const char *s, int *cpus, int max, char *err, size_t errlen);
/* Worker thread: deliver a packet here and on every other worker (the
 * caller keeps its reference). */
void sc__worker_dispatch(sc_worker *w, sc_media_pkt *pkt);
/* Any worker: ask the worker holding a room's publisher for a keyframe of
 * one layer. */
void sc__worker_request_keyframe(sc_worker *w, int target, const char *room, int slot,
                                 int layer);
/* Control thread: a viewer's layer choice for a stage slot. */
void sc__worker_set_layer(sc_worker *w, uint64_t id, int slot, int choice);
void sc__worker_set_viewport(sc_worker *w, uint64_t id, int slot, int width);
void sc__worker_set_temporal(sc_worker *w, uint64_t id, int slot, int max_tid);
/* Control thread: a publisher's media muted by the host (bit 1 audio, 2 video). */
void sc__worker_set_muted(sc_worker *w, uint64_t id, int bits);
/* Control thread: move a session into room on this worker ("" parks a
 * publisher), a publisher into slot with a new generation.  0 or -ENOMEM. */
int sc__worker_move(sc_worker *w, uint64_t id, const char *room, int slot, uint64_t gen);
/* Control thread: the rooms a publisher's audio also goes to (rooms
 * malloc'd, ownership moves, NULL with n 0 to stop).  0 or -ENOMEM. */
int sc__worker_set_talk(sc_worker *w, uint64_t id, char (*rooms)[SC_ROOM_NAME_MAX + 1], int n,
                        uint64_t gen);
/* Control thread: one data channel message for a session (buf malloc'd,
 * ownership moves; the gate's inflight already counts len). */
void sc__worker_send_data(sc_worker *w, uint64_t id, uint8_t *buf, size_t len, bool binary);
/* Any thread (usrsctp callbacks): have the worker poll a transport's SCTP. */
void sc__worker_sctp_wake(sc_worker *w, uint64_t id);
/* Control thread: turn recording of one publisher on or off. */
void sc__worker_set_record(sc_worker *w, uint64_t id, bool on);
/* Worker thread: an output buffer to fill, then commit it to go to addr. */
uint8_t *sc__worker_out_buf(sc_worker *w);
void sc__worker_out_commit(sc_worker *w, size_t len, const sc_binding *to);
void sc__worker_flush(sc_worker *w);
/* Worker thread: bind a path to a transport. */
sc_binding *sc__worker_bind(sc_worker *w, sc_transport *t, const sc_path *path);
sc_transport *sc__worker_find_ufrag(sc_worker *w, const char *ufrag);
/* Worker thread: close a transport after this loop iteration. */
void sc__transport_close(sc_transport *t, const char *reason);

/* transport.c */
sc_transport *sc__transport_new(const sc_negotiated *neg, const sc_session_params *p, int slot);
void sc__transport_free(sc_transport *t);
void sc__transport_on_stun(sc_worker *w, const uint8_t *buf, size_t len, const sc_path *from);
void sc__transport_on_packet(sc_transport *t, uint8_t *buf, size_t len);
void sc__transport_tick(sc_transport *t, uint64_t now_ms, bool dtls_due, bool second_due);
/* Worker thread: the transport's SCTP wants polling; a message to send. */
void sc__transport_sctp_poll(sc_transport *t);
void sc__transport_send_data(sc_transport *t, const uint8_t *buf, size_t len, bool binary);
/* Protect and send RTCP (buf has room for the SRTCP trailer). */
void sc__transport_send_rtcp(sc_transport *t, uint8_t *buf, size_t len);

/* room.c */
sc_room *sc__room_get(sc_worker *w, const char *name, bool create);
void sc__room_add(sc_room *r, sc_transport *t);
void sc__room_remove(sc_room *r, sc_transport *t);
void sc__room_free_if_empty(sc_worker *w, sc_room *r);
/* Once a second: report which layers this worker's viewers want (dynacast). */
void sc__room_demand_tick(sc_worker *w, sc_room *r, uint64_t now_ms);
void sc__room_on_connected(sc_transport *t);
/* Worker thread: a packet (local or from another worker) for this worker's
 * viewers.  Bookkeeping is done at once; the packet itself is held (a
 * reference) until sc__room_flush, which sends each viewer its packets of
 * the batch back to back. */
void sc__room_deliver(sc_worker *w, sc_media_pkt *pkt);
/* Worker thread: fan out the held packets.  Called before the output is
 * flushed and before anything that may free a room or a viewer. */
void sc__room_flush(sc_worker *w);
/* Worker thread: a keyframe request for a local publisher. */
void sc__room_keyframe_for_slot(sc_worker *w, const char *room, int slot, int layer);
void sc__room_on_rtp(sc_transport *t, uint8_t *buf, size_t len);
void sc__room_on_rtcp(sc_transport *t, uint8_t *buf, size_t len);
void sc__room_tick(sc_transport *t, uint64_t now_ms);
/* Any worker's room: ask for a keyframe of one layer of a slot's source,
 * wherever the publisher lives (collapsed per worker and layer). */
void sc__room_request_keyframe(sc_worker *w, sc_room *r, int slot, int layer, uint64_t now_ms);

/* subscriber.c: what a viewer gets and what its feedback means */
void sc__sub_set_layer(sc_transport *sub, int slot, int choice);
void sc__sub_set_viewport(sc_transport *sub, int slot, int width);
void sc__sub_set_temporal(sc_transport *sub, int slot, int max_tid);
/* The viewer moved to another room: every slot's tracks re-anchor on what
 * that room sends (video waits for a keyframe). */
void sc__sub_reanchor(sc_transport *sub);
/* Every 50 ms for connected viewers: layer plan and bandwidth probes. */
void sc__sub_fast_tick(sc_transport *t, uint64_t now_ms);
/* A sender report with this NTP time left on st now (room.c): its
 * answers in the viewer's receiver reports measure the round trip. */
void sc__sub_sr_sent(sc_sub_track *st, uint64_t ntp, uint64_t now_us);
/* One RTCP packet from a viewer (receiver reports with their round trips,
 * NACK, PLI/FIR, REMB, transport-cc feedback). */
void sc__sub_on_rtcp(sc_transport *sub, const sc_rtcp_pkt *pkt);
/* The layer a viewer should get of a slot now (-1: none flowing). */
int sc__sub_choose_layer(const sc_transport *sub, const sc_slot_mirror *m, const sc_sub_track *st);
/* The layers in `mask` ranked low to high (by keyframe width); returns how many. */
int sc__sub_rank_mask(const sc_slot_mirror *m, unsigned mask, int order[SC_MAX_LAYERS]);
/* The highest rank of order[0..n) worth sending a viewer that renders the
 * slot max_width pixels wide (0: no limit). */
int sc__sub_viewport_rank(const sc_slot_mirror *m, const int *order, int n, uint16_t max_width);

/* publisher.c: what a publisher's packets mean */
void sc__pub_init(sc_transport *t);
void sc__pub_on_rtp(sc_transport *t, uint8_t *buf, size_t len, const sc_rtp *rtp);
void sc__pub_on_rtcp(sc_transport *t, const sc_rtcp_pkt *pkt);
/* Ask for a keyframe of one layer (-1: every layer), at most once per
 * SC_KEYFRAME_INTERVAL_MS per layer. */
void sc__pub_request_keyframe(sc_transport *pub, int layer, uint64_t now_ms);
void sc__pub_pending_keyframes(sc_transport *pub, uint64_t now_ms);
/* Once a second: receiver reports and REMB. */
void sc__pub_tick(sc_transport *t, uint64_t now_ms);
/* Parse an RTCP packet we do not act on, so malformed ones are counted. */
bool sc__rtcp_well_formed(const sc_rtcp_pkt *pkt);

/* control.c */
void sc__sfu_emit(sc_sfu *sfu, const sc_sfu_event *ev);
sc_dtls_cert *sc__sfu_cert(sc_sfu *sfu);
const sc_sfu_config *sc__sfu_config(sc_sfu *sfu);

#endif
