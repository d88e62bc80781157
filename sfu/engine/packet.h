/* A received media packet shared, by reference, between the workers that
 * have viewers of its room: the publisher's worker parses it once, every
 * worker encrypts and sends its own viewers' copies.  Immutable once
 * dispatched; freed by whichever thread drops the last reference. */
#ifndef SC_PACKET_H
#define SC_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/proto/rtcp.h"
#include "sfu/proto/rtp.h"
#include "sfu/proto/vp8.h"
#include "sfu/sfu.h"

typedef struct sc_media_pkt {
    uint32_t refs;             /* atomic */
    bool video;
    bool keyframe;
    bool is_sr;                /* a sender report, not RTP: only `sr` is valid */
    int slot;                  /* the publisher's stage slot */
    int layer;                 /* simulcast layer (index in the publisher's rids), 0 otherwise */
    int n_layers;              /* the publisher's simulcast video layers (1: none) */
    int codec;                 /* video: sc_video_codec */
    int src_worker;            /* where the publisher lives (keyframe requests go there) */
    uint64_t generation;       /* the publisher session's generation: a newer one on
                                  the same slot replaces the older everywhere */
    uint64_t recv_ms;
    uint64_t self_key;         /* in a breakout group: the publisher's user key
                                  (its own media is not sent back to that user's
                                  viewer session); 0 elsewhere */
    char room[SC_ROOM_NAME_MAX + 1];
    sc_rtp rtp;                /* points into data */
    sc_vp8 desc;               /* video only */
    sc_rtcp_sr sr;
    size_t len;
    uint8_t data[];            /* len bytes */
} sc_media_pkt;

/* Copy an RTP packet that sc_rtp_parse accepted; refs = 1.  NULL on ENOMEM
 * or if it does not parse again (it always should). */
sc_media_pkt *sc_media_pkt_new_rtp(const uint8_t *buf, size_t len);
/* A sender report; refs = 1. */
sc_media_pkt *sc_media_pkt_new_sr(const sc_rtcp_sr *sr);
static inline void sc_media_pkt_ref(sc_media_pkt *p)
{
    __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
}
void sc_media_pkt_unref(sc_media_pkt *p);

/* Single-producer single-consumer ring of packet pointers between two
 * workers: no lock, one release store per push and per pop. */
#define SC_RING_SIZE 8192

typedef struct sc_ring {
    uint32_t head __attribute__((aligned(64)));  /* consumer's */
    uint32_t tail __attribute__((aligned(64)));  /* producer's */
    sc_media_pkt *slots[SC_RING_SIZE] __attribute__((aligned(64)));
} sc_ring;

sc_ring *sc_ring_new(void);
/* Drops the references of packets still queued. */
void sc_ring_free(sc_ring *r);
/* Producer: false when full (the caller keeps its reference). */
bool sc_ring_push(sc_ring *r, sc_media_pkt *p);
/* Consumer: NULL when empty; the reference moves to the caller. */
sc_media_pkt *sc_ring_pop(sc_ring *r);

#endif
