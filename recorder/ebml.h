/* EBML, the binary format under Matroska and WebM: the one reader of its
 * element headers and values, pure and bounded, for the WebM demuxer
 * (webmread.c), the writer's crash repair (webm.c) and the catalog's
 * duration probe (signaling/catalog.c).  Nothing here allocates, logs or
 * reads outside [p, p + len). */
#ifndef SC_EBML_H
#define SC_EBML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The "unknown" data size (all value bits set), e.g. a Segment or Cluster
 * still being written. */
#define SC_EBML_UNKNOWN UINT64_MAX

/* One element header at p[0..len): its ID (1..4 bytes, marker bits kept,
 * as IDs are written), its data size (SC_EBML_UNKNOWN for all ones) and the
 * header's length.  0; -ENODATA when the header runs past len; -EINVAL when
 * it is malformed (an ID longer than 4 bytes, a zero length byte). */
int sc_ebml_header(const uint8_t *p, size_t len, uint32_t *id, uint64_t *size, size_t *hlen);

/* A variable-length integer at p[0..len) without its marker (a Block's
 * track number): its length (1..8), or 0 when malformed or cut. */
size_t sc_ebml_vint(const uint8_t *p, size_t len, uint64_t *v);

/* An unsigned integer element's value (0..8 bytes, big-endian); false when
 * longer. */
bool sc_ebml_uint(const uint8_t *d, uint64_t n, uint64_t *v);

/* A float element's value (4 or 8 bytes); false otherwise. */
bool sc_ebml_float(const uint8_t *d, uint64_t n, double *v);

#endif
