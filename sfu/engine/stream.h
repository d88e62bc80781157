/* Per-stream forwarding state: the rewriter that gives each viewer one
 * continuous stream whatever happens upstream, and the retransmission buffer
 * NACKs are served from.  Pure data structures, no I/O: unit-tested alone. */
#ifndef SC_STREAM_H
#define SC_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfu/engine/packet.h"
#include "sfu/proto/rtp.h"
#include "sfu/proto/vp8.h"

/* Rewrites a source's sequence numbers, timestamps and VP8 picture ids into
 * one output stream.  When the source changes (a publisher reconnects with a
 * new SSRC, or a new publisher takes the slot) the output continues: the next
 * sequence number follows the last one sent and the timestamp advances by
 * the wall-clock time that passed. */
typedef struct sc_rewriter {
    bool started;           /* something was sent */
    bool anchored;          /* offsets are valid for the current source */
    uint32_t src_ssrc;
    uint16_t anchor_seq;    /* first source seq of this anchoring */
    uint16_t seq_offset;
    uint32_t ts_offset;
    uint16_t last_seq;      /* last output values */
    uint32_t last_ts;
    uint64_t last_us;       /* when last_ts was sent */
    uint32_t clock;         /* Hz */
    /* VP8 */
    bool vp8;
    bool pid_anchored;
    uint16_t pid_offset;
    uint8_t tl0_offset;
    uint16_t last_pid;
    uint8_t last_tl0;
    /* Frames dropped to shave frame rate (VP8 temporal layers): each drop
     * lowers the offsets for what follows, so the viewer sees contiguous
     * sequence numbers and picture ids.  Packets that arrive late, and
     * NACKs, need the offsets of their time: the changes since the anchor
     * are kept in a ring (allocated at the first drop). */
    struct sc_rw_shift *shifts;
    uint8_t n_shifts, shift_next;
    bool base_limited;          /* the ring has wrapped: older seqs are unknown */
    uint16_t base_from;         /* ... before this source seq */
    uint16_t base_seq_offset, base_pid_offset;   /* before the oldest shift */
    bool have_max;
    uint16_t max_src_seq;       /* newest source seq mapped or dropped */
    int32_t dropped_pid;        /* picture id of the frame last dropped, -1 */
    uint16_t cur_pid_offset;    /* the picture id offset of the packet just mapped */
} sc_rewriter;

#define SC_RW_SHIFTS 32
/* Source packets more than this many sequence numbers behind the newest are
 * too late: dropped, and their NACKs find nothing (keeps every comparison
 * within half the 16-bit sequence space, whatever the stream's length). */
#define SC_RW_HORIZON 0x4000

void sc_rewriter_init(sc_rewriter *rw, uint32_t clock, bool vp8);
/* Forget the source: the next packet re-anchors (also what a new SSRC does). */
void sc_rewriter_reset_source(sc_rewriter *rw);
/* Map a source packet to output seq/ts.  Returns false when the packet must
 * be dropped (older than the current anchor, i.e. from before a switch). */
bool sc_rewriter_map(sc_rewriter *rw, uint32_t ssrc, uint16_t seq, uint32_t ts, uint64_t now_us,
                     uint16_t *out_seq, uint32_t *out_ts);
/* The source sequence number an output sequence number came from (for
 * NACKs); false when it predates the current anchor (or the oldest drop
 * remembered).  pid_offset (may be NULL) receives the picture id offset
 * the packet was sent with. */
bool sc_rewriter_unmap_seq(const sc_rewriter *rw, uint16_t out_seq, uint16_t *src_seq);
bool sc_rewriter_unmap(const sc_rewriter *rw, uint16_t out_seq, uint16_t *src_seq,
                       uint16_t *pid_offset);
/* A source packet is not forwarded (its frame's temporal layer is above
 * what the viewer gets): later packets close the gap, in sequence numbers
 * and, once per dropped frame (picture_id, -1 when absent), picture ids. */
void sc_rewriter_drop(sc_rewriter *rw, uint16_t seq, int32_t picture_id);
/* Frees the drop history (the rewriter itself is embedded). */
void sc_rewriter_release(sc_rewriter *rw);
/* VP8 picture id / TL0PICIDX continuity: map and rewrite in place. */
void sc_rewriter_vp8(sc_rewriter *rw, uint8_t *payload, const sc_vp8 *desc);

/* Retransmission buffer: references to a stream's packets of the last
 * max_age_ms (by the packet's recv_ms), indexed by sequence number.  Sized
 * by time: it starts small and doubles (up to SC_RTX_MAX_SLOTS) when a
 * packet would push out one still young enough to be asked for, so a
 * 300 kbit/s layer holds a few KiB and a 10 Mbit/s one still keeps its
 * whole second. */
#define SC_RTX_MIN_SLOTS 256
#define SC_RTX_MAX_SLOTS 8192

typedef struct sc_rtx_buffer sc_rtx_buffer;

sc_rtx_buffer *sc_rtx_buffer_new(uint32_t max_age_ms);
/* Drops every reference it holds. */
void sc_rtx_buffer_free(sc_rtx_buffer *b);
/* Slots allocated now (for tests and stats). */
uint32_t sc_rtx_buffer_slots(const sc_rtx_buffer *b);
/* Keep a reference to pkt under its RTP sequence number (replacing and
 * releasing whatever shared its slot). */
void sc_rtx_buffer_put(sc_rtx_buffer *b, sc_media_pkt *pkt);
/* The packet with sequence number seq (borrowed), or NULL when it is not
 * held: evicted, too old, never seen (a request 65,535 back finds nothing). */
sc_media_pkt *sc_rtx_buffer_get(const sc_rtx_buffer *b, uint16_t seq, uint64_t now_ms);

#endif
