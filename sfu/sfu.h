/* The media plane's contract with the rest of the platform.
 *
 * The SFU runs its own worker threads (one epoll loop and one UDP socket per
 * worker).  Everything in this header is called from ONE control thread (the
 * signalling thread); the functions are thread-safe with respect to the
 * workers but not to each other.  Events flow back up through
 * sc_sfu_poll_events(), which the control thread calls after `notify` told it
 * events are waiting (notify itself runs on a worker thread and must only
 * wake the control thread, e.g. lws_cancel_service()). */
#ifndef SC_SFU_H
#define SC_SFU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/histogram.h"

#define SC_ROOM_USER_MAX 64    /* room names a token gives: [A-Za-z0-9_-], 1..64 chars */
#define SC_ROOM_NAME_MAX 72    /* and internal ones: a class's breakout groups are
                                  "CLASS~gN" (the '~' keeps them apart) */
/* Breakout groups: the publishers a group holds, and the slot the
 * trainer's "talk to all" voice takes in every group (so a viewer offers
 * SC_VIEW_SLOTS pairs to see a full group and hear the trainer). */
#define SC_GROUP_MAX_PUBLISHERS 12
#define SC_TALK_SLOT 12
#define SC_VIEW_SLOTS 13
#define SC_PEER_NAME_MAX 64
#define SC_DC_LABEL_MAX 128    /* data channel labels (longer ones are refused) */

typedef struct sc_sfu sc_sfu;
/* A received media packet, shared by reference (sfu/engine/packet.h). */
typedef struct sc_media_pkt sc_media_pkt;

typedef struct sc_sfu_config {
    const char *media_ip;           /* address advertised and bound, default "127.0.0.1" */
    uint16_t udp_port;              /* first worker's port; worker i uses udp_port + i */
    bool no_ice_tcp;                /* no ICE-TCP (default: each worker also listens on TCP
                                       and answers offer a passive TCP candidate, ranked
                                       below UDP, for networks that block UDP) */
    uint16_t tcp_port;              /* first worker's ICE-TCP port (worker i: + i);
                                       0 = the same numbers as UDP */
    int max_tcp_per_worker;         /* ICE-TCP connections a worker holds; more are
                                       accepted and closed at once (default 1024) */
    int dtls_timeout_ms;            /* a session whose DTLS handshake has not completed
                                       this long after the answer ends (default 20000) */
    int workers;                    /* 0 = one per core */
    const char *worker_cpus;        /* "0,2" or "2-3": worker i is pinned to the i-th
                                       CPU listed, cycling; NULL = not pinned */
    int max_publishers_per_room;    /* default 6 (the stage) */
    int max_viewers_per_room;       /* default 10000 */
    uint32_t publisher_max_bitrate; /* REMB we send publishers, bit/s; default 2500000 */
    int consent_timeout_ms;         /* RFC 7675; default 30000 */
    bool no_admission_control;      /* admit viewers even when every worker is
                                       overloaded (default: refuse, -EBUSY) */
    bool no_udp_gso;                /* send every datagram on its own (default: runs of
                                       datagrams to one viewer leave as one UDP GSO send) */
    const char *video_codec;        /* "vp8" (default) or "h264": checked here, told
                                       to the pages (they put it first in their
                                       offers); a publisher sends what its offer
                                       lists first, viewers take both */
    void (*notify)(void *ud);       /* events are waiting (called on a worker thread) */
    void *notify_ud;
    /* Every packet (RTP and sender reports) of publishers being recorded, on
     * the publisher's worker thread, before it is forwarded.  The callee
     * takes its own reference if it keeps the packet, and must not block. */
    void (*tap)(void *ud, sc_media_pkt *pkt);
    void *tap_ud;
} sc_sfu_config;

void sc_sfu_config_defaults(sc_sfu_config *cfg);

/* Starts the workers.  NULL on failure with a reason in err. */
sc_sfu *sc_sfu_new(const sc_sfu_config *cfg, char *err, size_t errlen);
/* Stops the workers, closes every session (no events are delivered). */
void sc_sfu_free(sc_sfu *sfu);

typedef enum sc_session_kind {
    SC_SESSION_PUBLISH,   /* sends media to the room */
    SC_SESSION_SUBSCRIBE, /* receives every publisher of the room */
} sc_session_kind;

typedef struct sc_session_params {
    const char *room;
    const char *name;       /* display name, may be NULL */
    const char *user_id;    /* token subject; a publisher with the same user_id
                               that reconnects takes over its stage slot */
    sc_session_kind kind;
    bool record;            /* publisher: hand its packets to the tap */
    int max_publishers;     /* publisher: the room's stage size (a breakout group's
                               is SC_GROUP_MAX_PUBLISHERS); 0 = the configured one */
} sc_session_params;

/* Create a session from an SDP offer and return the SDP answer (malloc'd,
 * caller frees) and the session id (random, unguessable, never 0).
 * Errors: -EINVAL malformed SDP (reason in err), -ENOTSUP nothing acceptable
 * offered (no Opus/VP8, no DTLS fingerprint, no BUNDLE-able media), -ENOSPC
 * the room is full (publishers or viewers), -ENOMEM. */
int sc_sfu_create_session(sc_sfu *sfu, const sc_session_params *p, const char *offer,
                          size_t offer_len, char **answer, uint64_t *session_id, char *err,
                          size_t errlen);

/* End a session (WHIP/WHEP DELETE, WebSocket closed).  0 or -ENOENT.  The
 * session's SESSION_CLOSED event follows. */
int sc_sfu_close_session(sc_sfu *sfu, uint64_t session_id);
/* The same with the reason SESSION_CLOSED carries (a static string, e.g.
 * "replaced": the same viewer opened the room elsewhere). */
int sc_sfu_close_session_because(sc_sfu *sfu, uint64_t session_id, const char *reason);

/* Breakout groups: move a session into another room on the same
 * transport, without a new ICE or DTLS handshake.  A viewer then receives
 * that room's publishers on the tracks it has (re-anchored; video from the
 * next keyframe, which is asked for); a publisher takes a free slot there
 * (at most max_publishers, 0 = the configured stage size) under a new
 * generation and its media goes only there.  room NULL parks a publisher:
 * it keeps its transport and nothing of it is forwarded.  Each room is
 * told (PUBLISHER_LEFT/JOINED, VIEWERS_CHANGED).  0; -ENOENT; -EINVAL (bad
 * room, or parking a viewer); -ENOSPC (no free slot, or the room's viewer
 * cap); -ENOMEM. */
int sc_sfu_move_session(sc_sfu *sfu, uint64_t session_id, const char *room, int max_publishers);
/* The publishers of room talking now (their last audio level, at most
 * half a second old, above -60 dBov), up to max; how many. */
typedef struct sc_sfu_publisher_info sc_sfu_publisher_info;
int sc_sfu_talking(sc_sfu *sfu, const char *room, sc_sfu_publisher_info *out, int max);
/* How long since anyone spoke in room (a publisher's audio above -60 dBov),
 * in ms; -1 when nobody has (or nobody publishes there). */
int64_t sc_sfu_room_quiet_ms(sc_sfu *sfu, const char *room);
/* The room a session is in now ("" parked); NULL when there is none. */
const char *sc_sfu_session_room(sc_sfu *sfu, uint64_t session_id);
/* "Talk to all": a publisher's audio also goes to each of rooms[0..n) in
 * slot SC_TALK_SLOT (n 0 stops it).  0, -ENOENT (no such publisher),
 * -EINVAL, -ENOMEM. */
int sc_sfu_set_talk(sc_sfu *sfu, uint64_t session_id, const char *const *rooms, int n);

/* Start or stop recording a room's publishers (those on stage now; later
 * ones follow their sc_session_params.record).  0 or -ENOENT (no publisher
 * in the room). */
int sc_sfu_set_recording(sc_sfu *sfu, const char *room, bool on);

/* WHIP/WHEP PATCH with an SDP fragment (RFC 8840).  Trickled candidates are
 * accepted and ignored (we are ICE-lite: the peer's checks reach us).  An
 * ICE restart (a different a=ice-ufrag from the session's)
 * is refused with -ENOTSUP (reason in err): the client starts a new
 * session instead.  *frag is always NULL for now.  0, -ENOENT, -ENOTSUP. */
int sc_sfu_patch_session(sc_sfu *sfu, uint64_t session_id, const char *sdpfrag, size_t len,
                         char **frag, char *err, size_t errlen);

/* Which simulcast layer a viewer receives of a stage slot. */
typedef enum sc_layer_pref {
    SC_LAYER_AUTO,    /* the best the viewer's downlink carries (transport-cc
                         estimate, its REMB, or its loss reports) and its
                         rendered size calls for */
    SC_LAYER_LOW,
    SC_LAYER_MEDIUM,
    SC_LAYER_HIGH,
} sc_layer_pref;

/* A viewer's layer choice for a stage slot; applied at the next keyframe of
 * that layer (one is requested).  0, -ENOENT (no such viewer session),
 * -EINVAL (slot out of range). */
int sc_sfu_set_layer(sc_sfu *sfu, uint64_t session_id, int slot, sc_layer_pref pref);

/* The width (CSS pixels times the device pixel ratio) a viewer renders a
 * stage slot at; Auto then sends no layer much wider than that (0: no
 * limit).  0, -ENOENT, -EINVAL. */
int sc_sfu_set_viewport(sc_sfu *sfu, uint64_t session_id, int slot, int width);

/* The host mutes a co-host: the media plane drops that user's audio and/or
 * video in the room (not only its page), now and in any publisher session
 * the user opens later, until unmuted (both false).  0, -ENOMEM. */
int sc_sfu_set_muted(sc_sfu *sfu, const char *room, const char *user_id, bool audio, bool video);

/* The highest VP8 temporal layer a viewer gets of a slot (0: the base
 * frame rate only ... 3: every frame, the default); frames above it are
 * dropped with the sequence numbers and picture ids closed up.  The
 * viewer's estimate may shave further.  0, -ENOENT, -EINVAL. */
int sc_sfu_set_temporal(sc_sfu *sfu, uint64_t session_id, int slot, int max_tid);

typedef enum sc_sfu_event_type {
    SC_EVENT_SESSION_CONNECTED,   /* ICE + DTLS done, media can flow */
    SC_EVENT_SESSION_CLOSED,      /* any reason; reason set */
    SC_EVENT_PUBLISHER_JOINED,    /* slot set */
    SC_EVENT_PUBLISHER_LEFT,
    SC_EVENT_VIEWERS_CHANGED,     /* viewers set */
    SC_EVENT_ACTIVE_SPEAKER,      /* the room's loudest publisher changed
                                     (debounced): session_id/slot/name/user_id
                                     of the new speaker, slot -1 = nobody */
    SC_EVENT_LAYERS,              /* dynacast: which simulcast layers the
                                     publisher session_id (slot) should send:
                                     bit i of `layers` = its i-th layer in its
                                     offer's rid order; the others no viewer
                                     asks for (pause them to save uplink) */
    SC_EVENT_AUDIO_LEVEL,         /* internal (worker -> control), never delivered */
    SC_EVENT_LAYER_DEMAND,        /* internal: one worker's viewers' demand */
    /* Data channels (RFC 8831), for sessions whose offer had an
     * m=application webrtc-datachannel section: */
    SC_EVENT_DATA_OPEN,           /* the session's first channel opened (label set);
                                     sc_sfu_send_data works from now on */
    SC_EVENT_DATA,                /* one message: label, data/len, binary */
    SC_EVENT_DATA_CLOSED,         /* its last open channel closed (the media
                                     session goes on; SESSION_CLOSED also ends
                                     the channels, without this event) */
} sc_sfu_event_type;

typedef struct sc_sfu_event {
    sc_sfu_event_type type;
    uint64_t session_id;
    sc_session_kind kind;
    char room[SC_ROOM_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    char user_id[SC_PEER_NAME_MAX + 1];
    int slot;                     /* stage slot of a publisher, -1 otherwise */
    int viewers;                  /* room's subscriber count after the change */
    int level;                    /* SC_EVENT_AUDIO_LEVEL: mean -dBov (0 loud .. 127 silent) */
    int layers;                   /* SC_EVENT_LAYERS / LAYER_DEMAND: layer bits */
    int worker;                   /* internal: the reporting worker */
    bool tcp;                     /* SESSION_CONNECTED: over ICE-TCP (else UDP) */
    const char *reason;           /* static string for SESSION_CLOSED:
                                     "closed", "consent-expired", "dtls-failed", "dtls-timeout",
                                     "replaced", "shutdown" */
    char label[SC_DC_LABEL_MAX + 1]; /* DATA_OPEN, DATA, DATA_CLOSED: the channel */
    /* SC_EVENT_DATA: the message.  The event queue owns the bytes: they are
     * freed when the callback returns (copy what you keep).  NUL-terminated
     * for convenience (len excludes the NUL); text is as the peer sent it,
     * not checked for UTF-8. */
    uint8_t *data;
    size_t len;
    bool binary;
} sc_sfu_event;

/* Send one message on a session's data channel (its first open channel),
 * as text (PPID 51) or binary (53); a copy is queued to the session's worker,
 * this never blocks.  0; -ENOENT (no such session, or no data channel was
 * negotiated); -EAGAIN (no channel open yet / any more, or over
 * SC_DC_QUEUE_MAX bytes are waiting: the peer is not reading); -EMSGSIZE
 * (over 64 KiB or the peer's a=max-message-size); -ENOMEM. */
#define SC_DC_QUEUE_MAX (1024 * 1024)
int sc_sfu_send_data(sc_sfu *sfu, uint64_t session_id, const void *buf, size_t len, bool binary);

typedef void (*sc_sfu_event_fn)(void *ud, const sc_sfu_event *ev);
/* Deliver every queued event to fn, on the calling (control) thread. */
void sc_sfu_poll_events(sc_sfu *sfu, sc_sfu_event_fn fn, void *ud);

typedef struct sc_sfu_publisher_info {
    uint64_t session_id;
    int slot;
    char name[SC_PEER_NAME_MAX + 1];
    char user_id[SC_PEER_NAME_MAX + 1];
} sc_sfu_publisher_info;

/* Snapshot of a room: publishers (up to max, count in *n) and viewers.
 * Returns 0 or -ENOENT when the room has no sessions. */
int sc_sfu_room_info(sc_sfu *sfu, const char *room, sc_sfu_publisher_info *pubs, int max,
                     int *n, int *viewers);

/* Every counter a media worker keeps, once: X(name, what it counts).  The
 * list makes the workers' counters (private.h), the summed sc_sfu_stats
 * and /api/stats; every drop is counted. */
#define SC_WORKER_COUNTERS(X)                                                                      \
    X(rx_packets, "datagrams received")                                                            \
    X(tx_packets, "datagrams sent")                                                                \
    X(rx_bytes, "bytes received")                                                                  \
    X(tx_bytes, "bytes sent")                                                                      \
    X(forwarded_packets, "RTP packets sent to viewers")                                            \
    X(drop_unknown_source, "datagrams from an address no STUN check bound")                        \
    X(drop_stun_invalid, "STUN malformed, with bad integrity or for an unknown ufrag")             \
    X(drop_dtls, "DTLS records refused")                                                           \
    X(drop_srtp, "SRTP/SRTCP authentication or replay failures")                                   \
    X(drop_rtp_invalid, "RTP that failed parsing after decryption")                                \
    X(drop_rtcp_invalid, "RTCP compounds that failed validation")                                  \
    X(drop_unknown_ssrc, "RTP for no known stream")                                                \
    X(drop_oversize, "datagrams larger than the MTU")                                              \
    X(drop_queue_full, "packets a busy worker could not take")                                     \
    X(probe_packets, "recent packets resent to probe a viewer's path")                             \
    X(muted_packets, "packets from publishers the host muted, not forwarded")                      \
    X(temporal_dropped, "packets not sent to a viewer: above its temporal layer")                  \
    X(gso_sends, "UDP GSO sends (several datagrams to one viewer at once)")                        \
    X(gso_segments, "datagrams that left in UDP GSO sends")                                        \
    X(fanout_batches, "batches of a room's packets fanned out together")                           \
    X(fanout_packets, "packets in those batches")                                                  \
    X(nacks_received, "NACK feedback received from viewers")                                       \
    X(retransmits_sent, "packets retransmitted for NACKs")                                         \
    X(plis_sent, "keyframe requests sent to publishers")                                           \
    X(consent_expired, "sessions ended because ICE consent expired")                               \
    X(dtls_handshakes, "DTLS handshakes completed (one per session: moving a session into "        \
                       "a breakout group needs none)")                                             \
    X(dtls_failed, "DTLS handshakes that failed")                                                  \
    X(dtls_timeouts, "sessions ended because DTLS did not complete in time after the answer")      \
    X(tcp_accepted, "ICE-TCP connections accepted")                                                \
    X(tcp_refused, "ICE-TCP connections refused: at the cap or out of descriptors")                \
    X(tcp_unbound_closed, "ICE-TCP connections closed: no valid STUN check in 10 s")               \
    X(tcp_overflow_closed, "ICE-TCP connections closed: even control could not be queued")        \
    X(tcp_media_dropped, "media packets dropped: a TCP viewer's write queue was full")             \
    X(dc_messages_rx, "data channel messages delivered")                                           \
    X(dc_messages_tx, "data channel messages sent")                                                \
    X(drop_sctp, "data channel messages refused (malformed DCEP, oversized, unknown "              \
                 "PPID, on no open channel, or a peer flooding faster than signalling reads)")

/* What the SFU reports besides the workers' counters: X(name, what), values
 * of now (gauges) and counts since start (counters), apart because
 * /metrics types them. */
#define SC_SFU_GAUGES(X)                                                                           \
    X(sessions, "sessions open now")                                                               \
    X(workers_overloaded, "workers overloaded now")                                                \
    X(tcp_connections, "ICE-TCP connections open now")
#define SC_SFU_COUNTERS(X)                                                                         \
    X(socket_drops_media, "media datagrams the kernel dropped at the workers' sockets")            \
    X(socket_drops_control, "control datagrams the kernel dropped there")                          \
    X(joins_refused_overload, "viewers refused because every worker was overloaded")

/* Round-trip times to viewers, one per receiver report block that answers
 * a sender report we sent (RFC 3550 6.4.1: arrival - LSR - DLSR): upper
 * bounds of the histogram's buckets, in microseconds. */
#define SC_SFU_RTT_BUCKETS 10
extern const uint64_t sc_sfu_rtt_le_us[SC_SFU_RTT_BUCKETS];

/* Counters for /api/stats, /metrics and the bad-input tests: the gauges,
 * the SFU's counters, then every worker's counters summed; the workers'
 * round-trip times summed too. */
typedef struct sc_sfu_stats {
#define SC__FIELD(name, what) uint64_t name;
    SC_SFU_GAUGES(SC__FIELD)
    SC_SFU_COUNTERS(SC__FIELD)
    SC_WORKER_COUNTERS(SC__FIELD)
#undef SC__FIELD
    sc_hist rtt;
} sc_sfu_stats;

void sc_sfu_get_stats(sc_sfu *sfu, sc_sfu_stats *out);

/* One media worker's load, as it measured it over its last second. */
typedef struct sc_sfu_worker_load {
    int index;
    int cpu;                       /* --worker-cpus, or -1 */
    int sessions;                  /* placed on it */
    int load_pct;                  /* time outside epoll_wait, 0-100 */
    bool overloaded;               /* 2 s running: load >= 95 % with media waiting
                                      (256 KiB) or dropped at its socket */
    uint64_t socket_drops_media, socket_drops_control;
    uint64_t last_loop_ms;         /* sc_mono_ms() when its loop last turned (at
                                      least every 20 ms unless it is stuck) */
} sc_sfu_worker_load;

/* Fills up to max entries; returns the number of workers. */
int sc_sfu_worker_loads(sc_sfu *sfu, sc_sfu_worker_load *out, int max);

#endif
