/* The media plane's control side: worker startup, session creation (SDP
 * negotiation runs here, on the caller's thread, never on a worker), the
 * room directory (who holds which stage slot, how many watch) and the event
 * queue back to the signalling. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "sfu/crypto/srtp.h"
#include "sfu/engine/private.h"
#include "sfu/proto/sdp.h"

typedef struct dir_session {
    uint64_t id;
    sc_session_kind kind;
    int slot;
    int worker;
    char room[SC_ROOM_NAME_MAX + 1];
    char name[SC_PEER_NAME_MAX + 1];
    char user_id[SC_PEER_NAME_MAX + 1];
    char remote_ufrag[257];   /* to tell a trickle fragment from an ICE restart */
    int level;                /* last reported mean -dBov (publishers) */
    uint64_t level_ms;        /* when */
    sc_dc_gate *dc;           /* data channel state, NULL when none negotiated */
    bool record;              /* publisher: being recorded (dynacast keeps every layer) */
    int n_layers;             /* publisher: simulcast layers offered (rid order) */
} dir_session;

struct mute_entry {
    char room[SC_ROOM_NAME_MAX + 1];
    char user_id[SC_PEER_NAME_MAX + 1];
    int bits;                 /* 1 audio, 2 video */
};

/* Dynacast: what each worker's viewers of a room's slot want, and what the
 * slot's publisher was last told. */
typedef struct demand_state {
    char room[SC_ROOM_NAME_MAX + 1];
    int slot;
    uint8_t by_worker[64];
    int told;                 /* mask last sent, -1 never */
    uint64_t told_to;         /* the publisher session it was sent to */
} demand_state;

/* Who is talking in a room, as the viewers are told. */
typedef struct speaker_state {
    char room[SC_ROOM_NAME_MAX + 1];
    uint64_t current;         /* session id, 0 = nobody yet */
    uint64_t candidate;       /* louder than current since candidate_ms */
    uint64_t candidate_ms;
    uint64_t speech_ms;       /* when someone last spoke (a publisher above
                                 SPEAKING_LEVEL), 0 never */
} speaker_state;

#define SPEAKING_LEVEL 60     /* -dBov: quieter than -60 dBov is not speech */
#define LEVEL_FRESH_MS 1000   /* a level older than this means silence */
#define SPEAKER_HOLD_MS 600   /* a new speaker must stay loudest this long */

typedef struct event_node {
    sc_sfu_event ev;
    struct event_node *next;
} event_node;

struct sc_sfu {
    sc_sfu_config cfg;
    char media_ip[64];
    sc_dtls_cert *cert;
    int n_workers;
    sc_worker **workers;

    /* Control thread only. */
    dir_session *sessions;
    int n_sessions, cap_sessions;
    uint64_t joins_refused_overload;

    uint64_t generation;
    sc_video_codec preferred_codec;
    speaker_state *speakers;
    int n_speakers, cap_speakers;
    demand_state *demands;
    int n_demands, cap_demands;
    struct mute_entry *mutes;     /* users the host muted, by room */
    int n_mutes, cap_mutes;

    pthread_mutex_t ev_lock;
    event_node *ev_head, *ev_tail;
    bool sctp_ref;            /* holds a usrsctp global reference */
};

/* "0,2,4-7" -> cpus[] in that order; each must be one this process may run
 * on (sched_getaffinity).  Returns how many, or -EINVAL with err set. */
int sc__parse_cpu_list(const char *s, int *cpus, int max, char *err, size_t errlen)
{
    cpu_set_t allowed;
    int n = 0;
    const char *p = s;

    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
        CPU_ZERO(&allowed);
    while (*p) {
        char *end;
        long lo, hi;
        errno = 0;
        lo = strtol(p, &end, 10);
        if (end == p || errno || lo < 0 || lo >= CPU_SETSIZE)
            goto bad;
        hi = lo;
        p = end;
        if (*p == '-') {
            p++;
            hi = strtol(p, &end, 10);
            if (end == p || errno || hi < lo || hi >= CPU_SETSIZE)
                goto bad;
            p = end;
        }
        for (long c = lo; c <= hi; c++) {
            if (!CPU_ISSET((int)c, &allowed)) {
                snprintf(err, errlen, "worker CPU list '%s': CPU %ld is not one this process may run on",
                         s, c);
                return -EINVAL;
            }
            if (n == max) {
                snprintf(err, errlen, "worker CPU list '%s': more than %d CPUs", s, max);
                return -EINVAL;
            }
            cpus[n++] = (int)c;
        }
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    if (n == 0)
        goto bad;
    return n;
bad:
    snprintf(err, errlen, "worker CPU list '%s': expected CPU numbers and ranges, e.g. 0,2 or 2-3", s);
    return -EINVAL;
}

void sc_sfu_config_defaults(sc_sfu_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->media_ip = "127.0.0.1";
    cfg->udp_port = 10000;
    cfg->workers = 0;
    cfg->max_publishers_per_room = 6;
    cfg->max_viewers_per_room = 10000;
    cfg->publisher_max_bitrate = 2500000;
    cfg->consent_timeout_ms = 30000;
    cfg->dtls_timeout_ms = 20000;
    cfg->max_tcp_per_worker = 1024;
    cfg->video_codec = "vp8";
}

sc_dtls_cert *sc__sfu_cert(sc_sfu *sfu) { return sfu->cert; }
const sc_sfu_config *sc__sfu_config(sc_sfu *sfu) { return &sfu->cfg; }

static void push_event(sc_sfu *sfu, const sc_sfu_event *ev)
{
    event_node *n = malloc(sizeof(*n));
    if (!n) {
        free(ev->data); /* the queue owns a DATA event's bytes */
        return;
    }
    n->ev = *ev;
    n->next = NULL;
    pthread_mutex_lock(&sfu->ev_lock);
    if (sfu->ev_tail)
        sfu->ev_tail->next = n;
    else
        sfu->ev_head = n;
    sfu->ev_tail = n;
    pthread_mutex_unlock(&sfu->ev_lock);
    if (sfu->cfg.notify)
        sfu->cfg.notify(sfu->cfg.notify_ud);
}

void sc__sfu_emit(sc_sfu *sfu, const sc_sfu_event *ev) { push_event(sfu, ev); }

sc_dc_gate *sc__dc_gate_new(void)
{
    sc_dc_gate *g = calloc(1, sizeof(*g));
    if (g)
        g->refs = 1;
    return g;
}

sc_dc_gate *sc__dc_gate_ref(sc_dc_gate *g)
{
    if (g)
        __atomic_add_fetch(&g->refs, 1, __ATOMIC_RELAXED);
    return g;
}

void sc__dc_gate_unref(sc_dc_gate *g)
{
    if (g && __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(g);
}

static void srtp_init_once(void)
{
    if (sc_srtp_global_init() < 0)
        SC_ERROR("sfu", "libsrtp initialisation failed");
}

sc_sfu *sc_sfu_new(const sc_sfu_config *cfg, char *err, size_t errlen)
{
    static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
    sc_sfu *sfu = calloc(1, sizeof(*sfu));
    if (!sfu) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    sfu->cfg = *cfg;
    snprintf(sfu->media_ip, sizeof(sfu->media_ip), "%s", cfg->media_ip ? cfg->media_ip : "127.0.0.1");
    sfu->cfg.media_ip = sfu->media_ip;
    if (sfu->cfg.max_publishers_per_room <= 0 || sfu->cfg.max_publishers_per_room > SC_MAX_SLOTS)
        sfu->cfg.max_publishers_per_room = SC_MAX_SLOTS;
    if (sfu->cfg.consent_timeout_ms <= 0)
        sfu->cfg.consent_timeout_ms = 30000;
    if (cfg->video_codec && strcasecmp(cfg->video_codec, "h264") == 0) {
        sfu->preferred_codec = SC_CODEC_H264;
    } else if (cfg->video_codec && strcasecmp(cfg->video_codec, "vp8") != 0) {
        snprintf(err, errlen, "video codec '%s' is not vp8 or h264", cfg->video_codec);
        free(sfu);
        return NULL;
    }
    sfu->cfg.video_codec = sfu->preferred_codec == SC_CODEC_H264 ? "h264" : "vp8";
    pthread_mutex_init(&sfu->ev_lock, NULL);

    pthread_once(&srtp_once, srtp_init_once);
    sc_sctp_global_ref();
    sfu->sctp_ref = true;
    sfu->cert = sc_dtls_cert_new();
    if (!sfu->cert) {
        snprintf(err, errlen, "cannot create the DTLS certificate");
        goto fail;
    }
    sfu->n_workers = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (sfu->n_workers < 1)
        sfu->n_workers = 1;
    if (sfu->n_workers > 64)
        sfu->n_workers = 64;
    sfu->workers = calloc((size_t)sfu->n_workers, sizeof(*sfu->workers));
    if (!sfu->workers)
        goto fail;
    int cpus[64], n_cpus = 0;
    if (cfg->worker_cpus) {
        n_cpus = sc__parse_cpu_list(cfg->worker_cpus, cpus, 64, err, errlen);
        if (n_cpus < 0)
            goto fail;
    }
    for (int i = 0; i < sfu->n_workers; i++) {
        sfu->workers[i] = sc__worker_new(sfu, i, sfu->media_ip, (uint16_t)(cfg->udp_port + i), err, errlen);
        if (!sfu->workers[i])
            goto fail;
        sfu->workers[i]->cpu = n_cpus ? cpus[i % n_cpus] : -1;
    }
    if (sc__workers_link(sfu->workers, sfu->n_workers) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < sfu->n_workers; i++) {
        int rc = sc__worker_start(sfu->workers[i]);
        if (rc < 0) {
            snprintf(err, errlen, "cannot start worker thread: %s", strerror(-rc));
            goto fail;
        }
    }
    char tcp[48] = "";
    if (!cfg->no_ice_tcp)
        snprintf(tcp, sizeof(tcp), ", ICE-TCP %u-%u", sfu->workers[0]->tcp_port,
                 sfu->workers[sfu->n_workers - 1]->tcp_port);
    SC_INFO("sfu", "%d media worker(s) on %s UDP %u-%u%s%s%s", sfu->n_workers, sfu->media_ip,
            cfg->udp_port, cfg->udp_port + sfu->n_workers - 1, tcp,
            cfg->worker_cpus ? ", pinned to CPUs " : "", cfg->worker_cpus ? cfg->worker_cpus : "");
    return sfu;
fail:
    sc_sfu_free(sfu);
    return NULL;
}

void sc_sfu_free(sc_sfu *sfu)
{
    if (!sfu)
        return;
    for (int i = 0; sfu->workers && i < sfu->n_workers; i++)
        sc__worker_stop(sfu->workers[i]);
    for (int i = 0; sfu->workers && i < sfu->n_workers; i++)
        sc__worker_free(sfu->workers[i]);
    free(sfu->workers);
    if (sfu->sctp_ref)
        sc_sctp_global_unref(); /* every association went with the workers */
    sc_dtls_cert_free(sfu->cert);
    for (int i = 0; i < sfu->n_sessions; i++)
        sc__dc_gate_unref(sfu->sessions[i].dc);
    free(sfu->sessions);
    free(sfu->speakers);
    free(sfu->demands);
    free(sfu->mutes);
    for (event_node *n = sfu->ev_head, *next; n; n = next) {
        next = n->next;
        free(n->ev.data);
        free(n);
    }
    pthread_mutex_destroy(&sfu->ev_lock);
    free(sfu);
}

/* Sessions go to the worker with the fewest, so one room's viewers spread
 * over every core; a publisher's packets reach the other workers by
 * reference (sc__worker_dispatch).  Overloaded workers (measure_load) are
 * passed over while another is not; when every one is, -1 for a viewer
 * (refused: admitting it would take media from everyone already watching)
 * unless admission control is off.  Publishers are always placed: a stage
 * that cannot go live is worse than a slower one. */
static void sessions_per_worker(const sc_sfu *sfu, int counts[64])
{
    memset(counts, 0, 64 * sizeof(int));
    for (int i = 0; i < sfu->n_sessions; i++)
        counts[sfu->sessions[i].worker]++;
}

static int pick_worker(const sc_sfu *sfu, bool viewer)
{
    int counts[64];
    sessions_per_worker(sfu, counts);
    int any = 0;
    for (int i = 1; i < sfu->n_workers; i++)
        if (counts[i] < counts[any])
            any = i;
    /* Without admission control nobody is refused, so passing over an
     * overloaded worker only helps while the others are not much fuller:
     * past a sixteenth more sessions, the whole box is saturated, and sending
     * every viewer to the same worker would leave the others idle (measured:
     * 1,337 against 670 sessions, one worker dropping, a tenth of the
     * CPUs unused). */
    int cap = sfu->cfg.no_admission_control ? counts[any] + counts[any] / 16 + 8 : INT_MAX;
    int best = -1;
    for (int i = 0; i < sfu->n_workers; i++) {
        if (counts[i] > cap ||
            __atomic_load_n(&sfu->workers[i]->stats.overloaded, __ATOMIC_RELAXED))
            continue;
        if (best < 0 || counts[i] < counts[best])
            best = i;
    }
    if (best >= 0)
        return best;
    return viewer && !sfu->cfg.no_admission_control ? -1 : any;
}

static dir_session *find_session(sc_sfu *sfu, uint64_t id)
{
    for (int i = 0; i < sfu->n_sessions; i++)
        if (sfu->sessions[i].id == id)
            return &sfu->sessions[i];
    return NULL;
}

static int count_room(const sc_sfu *sfu, const char *room, sc_session_kind kind)
{
    int n = 0;
    for (int i = 0; i < sfu->n_sessions; i++)
        n += sfu->sessions[i].kind == kind && strcmp(sfu->sessions[i].room, room) == 0;
    return n;
}

static void fill_event(sc_sfu_event *ev, sc_sfu_event_type type, const dir_session *s, int viewers)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->session_id = s->id;
    ev->kind = s->kind;
    ev->slot = s->kind == SC_SESSION_PUBLISH ? s->slot : -1;
    ev->viewers = viewers;
    snprintf(ev->room, sizeof(ev->room), "%s", s->room);
    snprintf(ev->name, sizeof(ev->name), "%s", s->name);
    snprintf(ev->user_id, sizeof(ev->user_id), "%s", s->user_id);
}

static speaker_state *speaker_for(sc_sfu *sfu, const char *room, bool create);

/* A session left room (gone, or moved elsewhere): the speaker, the
 * publishers and the viewer count of that room are told.  copy is the
 * session as it was there; the directory no longer counts it in room. */
static void announce_left(sc_sfu *sfu, const dir_session *copy)
{
    sc_sfu_event ev;
    if (!copy->room[0])
        return; /* a parked publisher was in no room */
    speaker_state *st = speaker_for(sfu, copy->room, false);
    if (st && st->current == copy->id) {
        /* The speaker left: nobody speaks until the next one is heard. */
        st->current = st->candidate = 0;
        memset(&ev, 0, sizeof(ev));
        ev.type = SC_EVENT_ACTIVE_SPEAKER;
        ev.slot = -1;
        snprintf(ev.room, sizeof(ev.room), "%s", copy->room);
        push_event(sfu, &ev);
    }
    if (st && count_room(sfu, copy->room, SC_SESSION_PUBLISH) == 0)
        *st = sfu->speakers[--sfu->n_speakers]; /* the list must not grow with every room */
    if (copy->kind == SC_SESSION_PUBLISH) {
        fill_event(&ev, SC_EVENT_PUBLISHER_LEFT, copy,
                   count_room(sfu, copy->room, SC_SESSION_SUBSCRIBE));
        push_event(sfu, &ev);
    } else {
        fill_event(&ev, SC_EVENT_VIEWERS_CHANGED, copy,
                   count_room(sfu, copy->room, SC_SESSION_SUBSCRIBE));
        push_event(sfu, &ev);
    }
}

/* Remove a session from the directory and announce what changed for the room. */
static void forget_session(sc_sfu *sfu, dir_session *s)
{
    dir_session copy = *s;
    *s = sfu->sessions[--sfu->n_sessions];
    sc__dc_gate_unref(copy.dc);
    copy.dc = NULL;
    announce_left(sfu, &copy);
}

/* The first slot of room no publisher holds, below max (0: the configured
 * stage size); -ENOSPC when there is none. */
static int free_slot(const sc_sfu *sfu, const char *room, int max)
{
    bool used[SC_MAX_SLOTS] = {false};
    if (max <= 0)
        max = sfu->cfg.max_publishers_per_room;
    if (max > SC_MAX_SLOTS)
        max = SC_MAX_SLOTS;
    for (int i = 0; i < sfu->n_sessions; i++) {
        const dir_session *s = &sfu->sessions[i];
        if (s->kind == SC_SESSION_PUBLISH && strcmp(s->room, room) == 0)
            used[s->slot] = true;
    }
    for (int slot = 0; slot < max; slot++)
        if (!used[slot])
            return slot;
    return -ENOSPC;
}

static int pick_slot(sc_sfu *sfu, const sc_session_params *p, uint64_t *replace)
{
    *replace = 0;
    for (int i = 0; i < sfu->n_sessions; i++) {
        dir_session *s = &sfu->sessions[i];
        if (s->kind != SC_SESSION_PUBLISH || strcmp(s->room, p->room) != 0)
            continue;
        /* The same user publishing again (reconnect, new WHIP session) takes
         * over its slot, so viewers keep watching without renegotiating. */
        if (p->user_id && p->user_id[0] && strcmp(s->user_id, p->user_id) == 0) {
            *replace = s->id;
            return s->slot;
        }
    }
    return free_slot(sfu, p->room, p->max_publishers);
}

int sc_sfu_create_session(sc_sfu *sfu, const sc_session_params *p, const char *offer,
                          size_t offer_len, char **answer, uint64_t *session_id, char *err,
                          size_t errlen)
{
    int rc;
    *answer = NULL;
    if (!p->room || !p->room[0] || strlen(p->room) > SC_ROOM_NAME_MAX) {
        snprintf(err, errlen, "bad room name");
        return -EINVAL;
    }
    int slot = 0;
    uint64_t replace = 0;
    if (p->kind == SC_SESSION_PUBLISH) {
        slot = pick_slot(sfu, p, &replace);
        if (slot < 0) {
            snprintf(err, errlen, "the stage is full (%d publishers)",
                     p->max_publishers > 0 ? p->max_publishers : sfu->cfg.max_publishers_per_room);
            return -ENOSPC;
        }
    } else if (count_room(sfu, p->room, SC_SESSION_SUBSCRIBE) >= sfu->cfg.max_viewers_per_room) {
        snprintf(err, errlen, "the room is full (%d viewers)", sfu->cfg.max_viewers_per_room);
        return -ENOSPC;
    }

    sc_sdp *sdp = malloc(sizeof(*sdp));
    sc_negotiated *neg = malloc(sizeof(*neg));
    sc_transport *t = NULL;
    if (!sdp || !neg) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = sc_sdp_parse(offer, offer_len, sdp, err, errlen);
    if (rc < 0) {
        rc = -EINVAL;
        goto out;
    }
    int wi = pick_worker(sfu, p->kind == SC_SESSION_SUBSCRIBE);
    if (wi < 0) {
        sfu->joins_refused_overload++;
        rc = -EBUSY;
        snprintf(err, errlen, "every media worker is overloaded (busy, with media waiting or "
                              "dropped at its socket); try again shortly");
        goto out;
    }
    sc_answer_params ap = {
        .kind = p->kind,
        .fingerprint = sc_dtls_cert_fingerprint(sfu->cert),
        .ip = sfu->media_ip,
        .port = sfu->workers[wi]->port,
        .tcp_port = sfu->workers[wi]->tcp ? sfu->workers[wi]->tcp_port : 0,
        /* enough for a breakout group and the trainer's voice too */
        .max_slots = sfu->cfg.max_publishers_per_room > SC_VIEW_SLOTS
                         ? sfu->cfg.max_publishers_per_room
                         : SC_VIEW_SLOTS,
    };
    rc = sc_answer_build(sdp, &ap, neg, answer, err, errlen);
    if (rc < 0)
        goto out;
    t = sc__transport_new(neg, p, slot);
    if (t)
        t->generation = ++sfu->generation;
    if (t && neg->sctp && !(t->dc = sc__dc_gate_new())) {
        sc__transport_free(t);
        t = NULL;
    }
    if (sfu->n_sessions == sfu->cap_sessions) {
        int cap = sfu->cap_sessions ? sfu->cap_sessions * 2 : 64;
        dir_session *ns = realloc(sfu->sessions, (size_t)cap * sizeof(*ns));
        if (ns) {
            sfu->sessions = ns;
            sfu->cap_sessions = cap;
        }
    }
    if (!t || sfu->n_sessions == sfu->cap_sessions) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (replace) {
        dir_session *old = find_session(sfu, replace);
        sc__worker_close(sfu->workers[old->worker], replace, "replaced");
        forget_session(sfu, old);
    }
    dir_session *s = &sfu->sessions[sfu->n_sessions++];
    memset(s, 0, sizeof(*s));
    s->id = t->id;
    s->kind = p->kind;
    s->slot = slot;
    s->worker = wi;
    snprintf(s->room, sizeof(s->room), "%s", p->room);
    snprintf(s->name, sizeof(s->name), "%s", p->name ? p->name : "");
    snprintf(s->user_id, sizeof(s->user_id), "%s", p->user_id ? p->user_id : "");
    snprintf(s->remote_ufrag, sizeof(s->remote_ufrag), "%s", neg->remote_ufrag);
    s->dc = sc__dc_gate_ref(t->dc);
    s->record = p->kind == SC_SESSION_PUBLISH && p->record;
    for (int i = 0; i < neg->n_tracks; i++)
        if (p->kind == SC_SESSION_PUBLISH && neg->tracks[i].kind == SC_SDP_VIDEO)
            s->n_layers = neg->tracks[i].n_rids;
    *session_id = t->id;
    sc_sfu_event ev;
    int viewers = count_room(sfu, p->room, SC_SESSION_SUBSCRIBE);
    fill_event(&ev, p->kind == SC_SESSION_PUBLISH ? SC_EVENT_PUBLISHER_JOINED : SC_EVENT_VIEWERS_CHANGED,
               s, viewers);
    SC_INFO_CTX("sfu", p->room, t->id, "session %016llx: %s in room %s (slot %d, worker %d)",
                (unsigned long long)t->id, p->kind == SC_SESSION_PUBLISH ? "publisher" : "viewer",
                p->room, p->kind == SC_SESSION_PUBLISH ? slot : -1, wi);
    for (int i = 0; p->kind == SC_SESSION_PUBLISH && p->user_id && i < sfu->n_mutes; i++) {
        const struct mute_entry *me = &sfu->mutes[i];
        if (strcmp(me->room, p->room) == 0 && strcmp(me->user_id, p->user_id) == 0) {
            t->muted_audio = me->bits & 1; /* still muted after reconnecting */
            t->muted_video = (me->bits & 2) != 0;
        }
    }
    sc__worker_add(sfu->workers[wi], t);
    t = NULL;
    push_event(sfu, &ev);
    rc = 0;
out:
    if (rc < 0) {
        free(*answer);
        *answer = NULL;
    }
    sc__transport_free(t);
    free(sdp);
    free(neg);
    return rc;
}

int sc_sfu_close_session(sc_sfu *sfu, uint64_t session_id)
{
    return sc_sfu_close_session_because(sfu, session_id, "closed");
}

int sc_sfu_close_session_because(sc_sfu *sfu, uint64_t session_id, const char *reason)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s)
        return -ENOENT;
    sc__worker_close(sfu->workers[s->worker], session_id, reason);
    forget_session(sfu, s);
    return 0;
}

/* The mute bits the host set for user in room (0: none). */
static int mute_bits(const sc_sfu *sfu, const char *room, const char *user_id)
{
    for (int i = 0; user_id[0] && i < sfu->n_mutes; i++)
        if (strcmp(sfu->mutes[i].room, room) == 0 && strcmp(sfu->mutes[i].user_id, user_id) == 0)
            return sfu->mutes[i].bits;
    return 0;
}

int sc_sfu_move_session(sc_sfu *sfu, uint64_t session_id, const char *room, int max_publishers)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s)
        return -ENOENT;
    if (room && (!room[0] || strlen(room) > SC_ROOM_NAME_MAX))
        return -EINVAL;
    if (!room && s->kind != SC_SESSION_PUBLISH)
        return -EINVAL;
    const char *to = room ? room : "";
    if (strcmp(s->room, to) == 0)
        return 0;
    int slot = -1;
    if (s->kind == SC_SESSION_PUBLISH && room) {
        slot = free_slot(sfu, room, max_publishers);
        if (slot < 0)
            return -ENOSPC;
    } else if (s->kind == SC_SESSION_SUBSCRIBE &&
               count_room(sfu, room, SC_SESSION_SUBSCRIBE) >= sfu->cfg.max_viewers_per_room) {
        return -ENOSPC;
    }
    uint64_t gen = sfu->generation + 1;
    int rc = sc__worker_move(sfu->workers[s->worker], session_id, to, slot, gen);
    if (rc < 0)
        return rc;
    sfu->generation = gen;
    dir_session was = *s;
    snprintf(s->room, sizeof(s->room), "%s", to);
    s->slot = s->kind == SC_SESSION_PUBLISH ? slot : 0;
    s->level_ms = 0;
    announce_left(sfu, &was);
    if (s->kind == SC_SESSION_PUBLISH && room) {
        /* the host's mutes are per room: those of the room it enters hold */
        sc__worker_set_muted(sfu->workers[s->worker], s->id, mute_bits(sfu, room, s->user_id));
    }
    SC_INFO_CTX("sfu", to, session_id, "session %016llx: %s moved from room %s to %s%s",
                (unsigned long long)session_id,
                s->kind == SC_SESSION_PUBLISH ? "publisher" : "viewer",
                was.room[0] ? was.room : "(parked)", room ? room : "(parked)",
                s->kind == SC_SESSION_PUBLISH && room ? " (new slot)" : "");
    if (!room)
        return 0;
    sc_sfu_event ev;
    fill_event(&ev, s->kind == SC_SESSION_PUBLISH ? SC_EVENT_PUBLISHER_JOINED
                                                  : SC_EVENT_VIEWERS_CHANGED,
               s, count_room(sfu, room, SC_SESSION_SUBSCRIBE));
    push_event(sfu, &ev);
    return 0;
}

int sc_sfu_talking(sc_sfu *sfu, const char *room, sc_sfu_publisher_info *out, int max)
{
    uint64_t now = sc_mono_ms();
    int n = 0;
    for (int i = 0; i < sfu->n_sessions && n < max; i++) {
        const dir_session *s = &sfu->sessions[i];
        if (s->kind != SC_SESSION_PUBLISH || strcmp(s->room, room) != 0 || !s->level_ms ||
            now - s->level_ms > 2 * SC_AUDIO_LEVEL_WINDOW_MS || s->level > SPEAKING_LEVEL)
            continue;
        out[n].session_id = s->id;
        out[n].slot = s->slot;
        snprintf(out[n].name, sizeof(out[n].name), "%s", s->name);
        snprintf(out[n].user_id, sizeof(out[n].user_id), "%s", s->user_id);
        n++;
    }
    return n;
}

int64_t sc_sfu_room_quiet_ms(sc_sfu *sfu, const char *room)
{
    speaker_state *st = speaker_for(sfu, room, false);
    return st && st->speech_ms ? (int64_t)(sc_mono_ms() - st->speech_ms) : -1;
}

const char *sc_sfu_session_room(sc_sfu *sfu, uint64_t session_id)
{
    dir_session *s = find_session(sfu, session_id);
    return s ? s->room : NULL;
}

int sc_sfu_set_talk(sc_sfu *sfu, uint64_t session_id, const char *const *rooms, int n)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s || s->kind != SC_SESSION_PUBLISH)
        return -ENOENT;
    if (n < 0 || n > 256)
        return -EINVAL;
    char(*copy)[SC_ROOM_NAME_MAX + 1] = NULL;
    if (n) {
        copy = calloc((size_t)n, sizeof(*copy));
        if (!copy)
            return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (!rooms[i] || !rooms[i][0] || strlen(rooms[i]) > SC_ROOM_NAME_MAX) {
            free(copy);
            return -EINVAL;
        }
        snprintf(copy[i], sizeof(copy[i]), "%s", rooms[i]);
    }
    /* a generation of its own: the talk slot's viewers re-anchor on it */
    uint64_t gen = ++sfu->generation;
    return sc__worker_set_talk(sfu->workers[s->worker], session_id, copy, n, gen);
}

int sc_sfu_patch_session(sc_sfu *sfu, uint64_t session_id, const char *sdpfrag, size_t len,
                         char **frag, char *err, size_t errlen)
{
    *frag = NULL;
    dir_session *s = find_session(sfu, session_id);
    if (!s)
        return -ENOENT;
    /* Trickled candidates need nothing from an ICE-lite server: the peer's
     * checks arrive from them and bind them.  RFC 8840 fragments repeat the
     * current ufrag; a different one is an ICE restart, which needs new
     * transport state: refuse it clearly and the client starts a new session. */
    const char *p = sdpfrag, *end = sdpfrag + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (l >= 12 && memcmp(p, "a=ice-ufrag:", 12) == 0) {
            size_t ul = l - 12;
            while (ul && (p[12 + ul - 1] == '\r' || p[12 + ul - 1] == ' '))
                ul--;
            if (ul != strlen(s->remote_ufrag) || memcmp(p + 12, s->remote_ufrag, ul) != 0) {
                snprintf(err, errlen, "ICE restart is not supported; start a new session");
                return -ENOTSUP;
            }
        }
        p += l + 1;
    }
    return 0;
}

static speaker_state *speaker_for(sc_sfu *sfu, const char *room, bool create)
{
    for (int i = 0; i < sfu->n_speakers; i++)
        if (strcmp(sfu->speakers[i].room, room) == 0)
            return &sfu->speakers[i];
    if (!create)
        return NULL;
    if (sfu->n_speakers == sfu->cap_speakers) {
        int cap = sfu->cap_speakers ? sfu->cap_speakers * 2 : 16;
        speaker_state *ns = realloc(sfu->speakers, (size_t)cap * sizeof(*ns));
        if (!ns)
            return NULL;
        sfu->speakers = ns;
        sfu->cap_speakers = cap;
    }
    speaker_state *st = &sfu->speakers[sfu->n_speakers++];
    memset(st, 0, sizeof(*st));
    snprintf(st->room, sizeof(st->room), "%s", room);
    return st;
}

static void announce_speaker(sc_sfu *sfu, speaker_state *st, const dir_session *s,
                             sc_sfu_event_fn fn, void *ud)
{
    sc_sfu_event ev = {.type = SC_EVENT_ACTIVE_SPEAKER, .slot = -1};
    snprintf(ev.room, sizeof(ev.room), "%s", st->room);
    st->current = s ? s->id : 0;
    st->candidate = 0;
    if (s)
        fill_event(&ev, SC_EVENT_ACTIVE_SPEAKER, s, count_room(sfu, s->room, SC_SESSION_SUBSCRIBE));
    fn(ud, &ev);
}

/* The loudest fresh publisher of the room becomes its speaker once it has
 * stayed loudest for SPEAKER_HOLD_MS, so a cough does not switch the view.
 * Silence keeps the last speaker. */
static void on_audio_level(sc_sfu *sfu, const sc_sfu_event *lv, sc_sfu_event_fn fn, void *ud)
{
    dir_session *s = find_session(sfu, lv->session_id);
    if (!s)
        return;
    uint64_t now = sc_mono_ms();
    s->level = lv->level;
    s->level_ms = now;
    const dir_session *loudest = NULL;
    for (int i = 0; i < sfu->n_sessions; i++) {
        const dir_session *o = &sfu->sessions[i];
        if (o->kind != SC_SESSION_PUBLISH || strcmp(o->room, s->room) != 0 || !o->level_ms ||
            now - o->level_ms > LEVEL_FRESH_MS || o->level > SPEAKING_LEVEL)
            continue;
        if (!loudest || o->level < loudest->level)
            loudest = o;
    }
    speaker_state *st = speaker_for(sfu, s->room, loudest != NULL);
    if (st && loudest)
        st->speech_ms = now;
    if (!st || !loudest || loudest->id == st->current) {
        if (st)
            st->candidate = 0;
        return;
    }
    if (loudest->id != st->candidate) {
        st->candidate = loudest->id;
        st->candidate_ms = now;
    }
    if (!st->current || now - st->candidate_ms >= SPEAKER_HOLD_MS)
        announce_speaker(sfu, st, loudest, fn, ud);
}

int sc_sfu_set_recording(sc_sfu *sfu, const char *room, bool on)
{
    int n = 0;
    for (int i = 0; i < sfu->n_sessions; i++) {
        dir_session *s = &sfu->sessions[i];
        if (s->kind != SC_SESSION_PUBLISH || strcmp(s->room, room) != 0)
            continue;
        sc__worker_set_record(sfu->workers[s->worker], s->id, on);
        s->record = on;
        n++;
        sc_sfu_event ev = {.type = SC_EVENT_LAYER_DEMAND, .slot = s->slot, .worker = -1};
        snprintf(ev.room, sizeof(ev.room), "%s", s->room);
        push_event(sfu, &ev);
    }
    return n ? 0 : -ENOENT;
}

int sc_sfu_send_data(sc_sfu *sfu, uint64_t session_id, const void *buf, size_t len, bool binary)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s || !s->dc)
        return -ENOENT;
    if (len > SC_SCTP_MAX_MESSAGE)
        return -EMSGSIZE;
    sc_dc_gate *g = s->dc;
    if (!__atomic_load_n(&g->open, __ATOMIC_RELAXED) ||
        __atomic_load_n(&g->full, __ATOMIC_RELAXED) ||
        __atomic_load_n(&g->inflight, __ATOMIC_RELAXED) + len > SC_DC_QUEUE_MAX)
        return -EAGAIN;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return -ENOMEM;
    if (len)
        memcpy(copy, buf, len);
    __atomic_add_fetch(&g->inflight, len, __ATOMIC_RELAXED);
    sc__worker_send_data(sfu->workers[s->worker], session_id, copy, len, binary);
    return 0;
}

int sc_sfu_set_layer(sc_sfu *sfu, uint64_t session_id, int slot, sc_layer_pref pref)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s || s->kind != SC_SESSION_SUBSCRIBE)
        return -ENOENT;
    if (slot < 0 || slot >= SC_MAX_SLOTS || pref < SC_LAYER_AUTO || pref > SC_LAYER_HIGH)
        return -EINVAL;
    /* sc_layer_pref and the worker's sc_layer_choice share their values. */
    sc__worker_set_layer(sfu->workers[s->worker], session_id, slot, (int)pref);
    return 0;
}

int sc_sfu_set_muted(sc_sfu *sfu, const char *room, const char *user_id, bool audio, bool video)
{
    int bits = (audio ? 1 : 0) | (video ? 2 : 0);
    if (!room || !user_id || !*user_id)
        return -EINVAL;
    int at = -1;
    for (int i = 0; i < sfu->n_mutes && at < 0; i++)
        if (strcmp(sfu->mutes[i].room, room) == 0 && strcmp(sfu->mutes[i].user_id, user_id) == 0)
            at = i;
    if (!bits && at >= 0) {
        sfu->mutes[at] = sfu->mutes[--sfu->n_mutes];
    } else if (bits) {
        if (at < 0) {
            if (sfu->n_mutes == sfu->cap_mutes) {
                int cap = sfu->cap_mutes ? sfu->cap_mutes * 2 : 8;
                struct mute_entry *m = realloc(sfu->mutes, (size_t)cap * sizeof(*m));
                if (!m)
                    return -ENOMEM;
                sfu->mutes = m;
                sfu->cap_mutes = cap;
            }
            at = sfu->n_mutes++;
            snprintf(sfu->mutes[at].room, sizeof(sfu->mutes[at].room), "%s", room);
            snprintf(sfu->mutes[at].user_id, sizeof(sfu->mutes[at].user_id), "%s", user_id);
        }
        sfu->mutes[at].bits = bits;
    }
    for (int i = 0; i < sfu->n_sessions; i++) {
        const dir_session *s = &sfu->sessions[i];
        if (s->kind == SC_SESSION_PUBLISH && strcmp(s->room, room) == 0 &&
            strcmp(s->user_id, user_id) == 0)
            sc__worker_set_muted(sfu->workers[s->worker], s->id, bits);
    }
    return 0;
}

int sc_sfu_set_temporal(sc_sfu *sfu, uint64_t session_id, int slot, int max_tid)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s || s->kind != SC_SESSION_SUBSCRIBE)
        return -ENOENT;
    if (slot < 0 || slot >= SC_MAX_SLOTS || max_tid < 0 || max_tid > 3)
        return -EINVAL;
    sc__worker_set_temporal(sfu->workers[s->worker], session_id, slot, max_tid);
    return 0;
}

int sc_sfu_set_viewport(sc_sfu *sfu, uint64_t session_id, int slot, int width)
{
    dir_session *s = find_session(sfu, session_id);
    if (!s || s->kind != SC_SESSION_SUBSCRIBE)
        return -ENOENT;
    if (slot < 0 || slot >= SC_MAX_SLOTS || width < 0 || width > 16384)
        return -EINVAL;
    sc__worker_set_viewport(sfu->workers[s->worker], session_id, slot, width);
    return 0;
}

static demand_state *demand_for(sc_sfu *sfu, const char *room, int slot, bool create)
{
    for (int i = 0; i < sfu->n_demands; i++)
        if (sfu->demands[i].slot == slot && strcmp(sfu->demands[i].room, room) == 0)
            return &sfu->demands[i];
    if (!create)
        return NULL;
    if (sfu->n_demands == sfu->cap_demands) {
        int cap = sfu->cap_demands ? sfu->cap_demands * 2 : 8;
        demand_state *d = realloc(sfu->demands, (size_t)cap * sizeof(*d));
        if (!d)
            return NULL;
        sfu->demands = d;
        sfu->cap_demands = cap;
    }
    demand_state *d = &sfu->demands[sfu->n_demands++];
    memset(d, 0, sizeof(*d));
    snprintf(d->room, sizeof(d->room), "%s", room);
    d->slot = slot;
    d->told = -1;
    return d;
}

/* Tell the slot's publisher which layers to send when that changed (or it
 * is a new publisher).  Everything while it is recorded (the recording
 * takes the top layer); no demand at all pauses all but the lowest. */
static void tell_layers(sc_sfu *sfu, demand_state *d, sc_sfu_event_fn fn, void *ud)
{
    const dir_session *pub = NULL;
    for (int i = 0; i < sfu->n_sessions && !pub; i++) {
        const dir_session *o = &sfu->sessions[i];
        if (o->kind == SC_SESSION_PUBLISH && o->slot == d->slot && strcmp(o->room, d->room) == 0)
            pub = o;
    }
    if (!pub || pub->n_layers < 2)
        return; /* not simulcast: nothing to pause */
    int classes = 0;
    for (int w = 0; w < sfu->n_workers && w < 64; w++)
        classes |= d->by_worker[w];
    /* Classes onto the rids, lowest first (as the pages and encoders
     * order them); the lowest always, so a first viewer starts at once. */
    int n = pub->n_layers, mask = 1;
    if (classes & 2)
        mask |= 1 << ((n - 1) / 2);
    if (classes & 4)
        mask |= 1 << (n - 1);
    if (pub->record)
        mask = (1 << n) - 1;
    if (mask == d->told && pub->id == d->told_to)
        return;
    d->told = mask;
    d->told_to = pub->id;
    sc_sfu_event ev;
    fill_event(&ev, SC_EVENT_LAYERS, pub, 0);
    ev.layers = mask;
    fn(ud, &ev);
}

static void on_demand(sc_sfu *sfu, const sc_sfu_event *ev, sc_sfu_event_fn fn, void *ud)
{
    if (ev->slot < 0 || ev->slot >= SC_MAX_SLOTS || ev->worker >= 64)
        return;
    if (ev->worker < 0) { /* recording changed: tell again */
        demand_state *d = demand_for(sfu, ev->room, ev->slot, false);
        if (d)
            tell_layers(sfu, d, fn, ud);
        return;
    }
    demand_state *d = demand_for(sfu, ev->room, ev->slot, ev->layers != 0);
    if (!d)
        return;
    d->by_worker[ev->worker] = (uint8_t)ev->layers;
    tell_layers(sfu, d, fn, ud);
    bool any = false;
    for (int w = 0; w < 64; w++)
        any |= d->by_worker[w] != 0;
    if (!any) /* the list must not grow with every room ever watched */
        *d = sfu->demands[--sfu->n_demands];
}

void sc_sfu_poll_events(sc_sfu *sfu, sc_sfu_event_fn fn, void *ud)
{
    for (;;) {
        pthread_mutex_lock(&sfu->ev_lock);
        event_node *n = sfu->ev_head;
        sfu->ev_head = sfu->ev_tail = NULL;
        pthread_mutex_unlock(&sfu->ev_lock);
        if (!n)
            return;
        while (n) {
            event_node *next = n->next;
            if (n->ev.type == SC_EVENT_AUDIO_LEVEL) {
                on_audio_level(sfu, &n->ev, fn, ud);
            } else if (n->ev.type == SC_EVENT_LAYER_DEMAND) {
                on_demand(sfu, &n->ev, fn, ud);
            } else if (n->ev.type == SC_EVENT_PUBLISHER_JOINED) {
                fn(ud, &n->ev);
                demand_state *d = demand_for(sfu, n->ev.room, n->ev.slot, false);
                if (d)
                    tell_layers(sfu, d, fn, ud); /* a new publisher learns at once */
            } else if (n->ev.type == SC_EVENT_SESSION_CLOSED) {
                /* Closed by the worker (consent, DTLS): the directory learns
                 * here; closes we asked for were already forgotten. */
                dir_session *s = find_session(sfu, n->ev.session_id);
                fn(ud, &n->ev);
                if (s)
                    forget_session(sfu, s);
            } else {
                if (n->ev.type == SC_EVENT_DATA) {
                    dir_session *s = find_session(sfu, n->ev.session_id);
                    if (s && s->dc)
                        __atomic_sub_fetch(&s->dc->rx_pending, 1, __ATOMIC_RELAXED);
                }
                fn(ud, &n->ev);
            }
            free(n->ev.data);
            free(n);
            n = next;
        }
    }
}

int sc_sfu_room_info(sc_sfu *sfu, const char *room, sc_sfu_publisher_info *pubs, int max, int *n,
                     int *viewers)
{
    int found = 0;
    *n = 0;
    *viewers = 0;
    for (int i = 0; i < sfu->n_sessions; i++) {
        dir_session *s = &sfu->sessions[i];
        if (strcmp(s->room, room) != 0)
            continue;
        found++;
        if (s->kind == SC_SESSION_SUBSCRIBE) {
            (*viewers)++;
        } else if (*n < max) {
            sc_sfu_publisher_info *pi = &pubs[(*n)++];
            pi->session_id = s->id;
            pi->slot = s->slot;
            snprintf(pi->name, sizeof(pi->name), "%s", s->name);
            snprintf(pi->user_id, sizeof(pi->user_id), "%s", s->user_id);
        }
    }
    return found ? 0 : -ENOENT;
}

void sc_sfu_get_stats(sc_sfu *sfu, sc_sfu_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->sessions = (uint64_t)sfu->n_sessions;
    for (int i = 0; i < sfu->n_workers; i++) {
        const sc_counters *c = &sfu->workers[i]->stats;
#define ADD(f, what) out->f += __atomic_load_n(&c->f, __ATOMIC_RELAXED);
        SC_WORKER_COUNTERS(ADD)
#undef ADD
        out->socket_drops_media += __atomic_load_n(&c->sock_drops_media, __ATOMIC_RELAXED);
        out->socket_drops_control += __atomic_load_n(&c->sock_drops_control, __ATOMIC_RELAXED);
        out->workers_overloaded += __atomic_load_n(&c->overloaded, __ATOMIC_RELAXED);
        out->tcp_connections += __atomic_load_n(&c->tcp_open, __ATOMIC_RELAXED);
        sc_hist_add(&out->rtt, &c->rtt);
    }
    out->joins_refused_overload = sfu->joins_refused_overload;
}

int sc_sfu_worker_loads(sc_sfu *sfu, sc_sfu_worker_load *out, int max)
{
    int counts[64];
    sessions_per_worker(sfu, counts);
    for (int i = 0; i < sfu->n_workers && i < max; i++) {
        const sc_worker *w = sfu->workers[i];
        out[i] = (sc_sfu_worker_load){
            .index = i,
            .cpu = w->cpu,
            .sessions = counts[i],
            .load_pct = (int)__atomic_load_n(&w->stats.load_pct, __ATOMIC_RELAXED),
            .overloaded = __atomic_load_n(&w->stats.overloaded, __ATOMIC_RELAXED) != 0,
            .socket_drops_media = __atomic_load_n(&w->stats.sock_drops_media, __ATOMIC_RELAXED),
            .socket_drops_control = __atomic_load_n(&w->stats.sock_drops_control, __ATOMIC_RELAXED),
            .last_loop_ms = __atomic_load_n(&w->stats.last_loop_ms, __ATOMIC_RELAXED),
        };
    }
    return sfu->n_workers;
}
