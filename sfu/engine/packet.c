#include "sfu/engine/packet.h"

#include <stdlib.h>
#include <string.h>

sc_media_pkt *sc_media_pkt_new_rtp(const uint8_t *buf, size_t len)
{
    if (len > SC_RTP_MAX_PACKET)
        return NULL;
    /* Only the bytes used are allocated: audio packets are small. */
    sc_media_pkt *p = malloc(sizeof(*p) + len);
    if (!p)
        return NULL;
    memset(p, 0, sizeof(*p));
    p->refs = 1;
    p->len = len;
    memcpy(p->data, buf, len);
    if (sc_rtp_parse(p->data, len, &p->rtp) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

sc_media_pkt *sc_media_pkt_new_sr(const sc_rtcp_sr *sr)
{
    sc_media_pkt *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->refs = 1;
    p->is_sr = true;
    p->sr = *sr;
    return p;
}

void sc_media_pkt_unref(sc_media_pkt *p)
{
    if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(p);
}

sc_ring *sc_ring_new(void)
{
    sc_ring *r = aligned_alloc(64, sizeof(sc_ring));
    if (r)
        memset(r, 0, sizeof(*r));
    return r;
}

void sc_ring_free(sc_ring *r)
{
    if (!r)
        return;
    sc_media_pkt *p;
    while ((p = sc_ring_pop(r)))
        sc_media_pkt_unref(p);
    free(r);
}

bool sc_ring_push(sc_ring *r, sc_media_pkt *p)
{
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (tail - head >= SC_RING_SIZE)
        return false;
    r->slots[tail % SC_RING_SIZE] = p;
    __atomic_store_n(&r->tail, tail + 1, __ATOMIC_RELEASE);
    return true;
}

sc_media_pkt *sc_ring_pop(sc_ring *r)
{
    uint32_t head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
    uint32_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    if (head == tail)
        return NULL;
    sc_media_pkt *p = r->slots[head % SC_RING_SIZE];
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
    return p;
}
