/* RTCP (RFC 3550, 4585, 5104, REMB draft) parsing and building.  Parsers are
 * pure: they validate every length against the bytes present and return
 * -EINVAL on overrun (RELIABILITY 1-4), never read past the buffer. */
#ifndef SC_RTCP_H
#define SC_RTCP_H

#include <stddef.h>
#include <stdint.h>

enum {
    SC_RTCP_SR = 200,
    SC_RTCP_RR = 201,
    SC_RTCP_SDES = 202,
    SC_RTCP_BYE = 203,
    SC_RTCP_APP = 204,
    SC_RTCP_RTPFB = 205, /* fmt 1 NACK, fmt 15 transport-cc */
    SC_RTCP_PSFB = 206,  /* fmt 1 PLI, fmt 4 FIR, fmt 15 AFB (REMB) */
};

/* One packet of a compound. */
typedef struct sc_rtcp_pkt {
    uint8_t pt;
    uint8_t count;        /* the 5-bit RC / FMT field */
    const uint8_t *data;  /* whole packet including its 4-byte header */
    size_t len;           /* (length field + 1) * 4 */
} sc_rtcp_pkt;

/* Walk a compound packet: returns 1 and fills *out, 0 at the end, -EINVAL if
 * a header is truncated, not version 2, or its length is 0-words-too-short or
 * runs past the bytes left. Advances *p / *left. */
int sc_rtcp_next(const uint8_t **p, size_t *left, sc_rtcp_pkt *out);
/* Validate an entire compound (every packet as sc_rtcp_next would). 0 or -EINVAL. */
int sc_rtcp_validate(const uint8_t *buf, size_t len);

typedef struct sc_rtcp_report_block {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost;
    uint32_t highest_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} sc_rtcp_report_block;

typedef struct sc_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
} sc_rtcp_sr;

/* SR: fills *sr; report blocks (up to max) into blocks, count into *n. */
int sc_rtcp_parse_sr(const sc_rtcp_pkt *pkt, sc_rtcp_sr *sr, sc_rtcp_report_block *blocks,
                     int max, int *n);
/* RR: reporter SSRC and blocks. */
int sc_rtcp_parse_rr(const sc_rtcp_pkt *pkt, uint32_t *ssrc, sc_rtcp_report_block *blocks,
                     int max, int *n);

/* RTPFB / PSFB common header: sender and media SSRC. */
int sc_rtcp_parse_fb(const sc_rtcp_pkt *pkt, uint32_t *sender_ssrc, uint32_t *media_ssrc);

/* Generic NACK (RTPFB fmt 1): writes up to max lost sequence numbers into
 * seqs, count into *n (extra ones are dropped, not an error). */
int sc_rtcp_parse_nack(const sc_rtcp_pkt *pkt, uint16_t *seqs, int max, int *n);

/* FIR (PSFB fmt 4): the first FCI entry's target SSRC and sequence number. */
int sc_rtcp_parse_fir(const sc_rtcp_pkt *pkt, uint32_t *ssrc, uint8_t *seq_nr);

/* REMB (PSFB fmt 15 with "REMB"): bitrate in bit/s and up to max SSRCs.
 * Returns -ENOENT for an AFB that is not REMB. */
int sc_rtcp_parse_remb(const sc_rtcp_pkt *pkt, uint64_t *bitrate, uint32_t *ssrcs, int max,
                       int *n);

/* Transport-wide congestion control feedback (RTPFB fmt 15,
 * draft-holmer-rmcat-transport-wide-cc-extensions-01).  Packets the
 * feedback names as not received get SC_TWCC_LOST. */
#define SC_TWCC_LOST INT64_MIN
typedef struct sc_twcc_fb {
    uint16_t base_seq;
    uint16_t status_count;   /* as sent */
    int count;               /* statuses decoded into the caller's array (<= max) */
    uint8_t fb_count;
    int64_t ref_us;          /* reference time: 24-bit signed multiple of 64 ms */
} sc_twcc_fb;

/* Decode statuses and receive deltas: arrival_us[i] is the receive time of
 * packet base_seq + i on the receiver's clock (reference time + deltas), or
 * SC_TWCC_LOST.  Statuses past max are ignored (not an error); chunks or
 * deltas running past the packet are -EINVAL. */
int sc_rtcp_parse_twcc(const sc_rtcp_pkt *pkt, sc_twcc_fb *fb, int64_t *arrival_us, int max);

/* Builders write one packet into buf and return its length, or -ENOSPC. */
int sc_rtcp_build_sr(uint8_t *buf, size_t cap, const sc_rtcp_sr *sr);
int sc_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc,
                     const sc_rtcp_report_block *blocks, int n);
int sc_rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
int sc_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                      uint8_t seq_nr);
/* Packs seqs into PID/BLP pairs (seqs need not be sorted). */
int sc_rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       const uint16_t *seqs, int n);
int sc_rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate,
                       const uint32_t *ssrcs, int n);
/* Transport-cc feedback for n packets from base_seq (arrival_us as the
 * parser returns it; times are rounded to 250 us, the reference time to
 * 64 ms).  -EINVAL when a delta does not fit 16 bits, -ENOSPC. */
int sc_rtcp_build_twcc(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       uint16_t base_seq, uint8_t fb_count, const int64_t *arrival_us, int n);

#endif
