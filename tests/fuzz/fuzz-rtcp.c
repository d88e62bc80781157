/* libFuzzer target for sfu/proto/rtcp.c: walk the compound and hand every packet
 * to every typed parser, whatever its type, so each parser also meets
 * packets it must refuse. */
#include "sfu/proto/rtcp.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rebuild a parsed NACK and check the same set of seqs comes back. */
static void nack_roundtrip(const uint16_t *seqs, int n)
{
    static uint8_t in[65536 / 8], back[65536 / 8];
    uint8_t buf[1500];
    memset(in, 0, sizeof(in));
    memset(back, 0, sizeof(back));
    for (int i = 0; i < n; i++)
        in[seqs[i] >> 3] |= (uint8_t)(1u << (seqs[i] & 7));
    int len = sc_rtcp_build_nack(buf, sizeof(buf), 1, 2, seqs, n);
    if (len == -ENOSPC)
        return; /* very spread seqs may need more than one packet */
    if (len < 16)
        abort();
    const uint8_t *p = buf;
    size_t left = (size_t)len;
    sc_rtcp_pkt pkt;
    uint16_t out[1500 / 4 * 17];
    int m = 0;
    if (sc_rtcp_next(&p, &left, &pkt) != 1 || left != 0 ||
        sc_rtcp_parse_nack(&pkt, out, (int)sizeof(out) / sizeof(out[0]), &m) < 0)
        abort();
    for (int i = 0; i < m; i++)
        back[out[i] >> 3] |= (uint8_t)(1u << (out[i] & 7));
    if (memcmp(in, back, sizeof(in)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int valid = sc_rtcp_validate(data, size);
    const uint8_t *p = data;
    size_t left = size;
    sc_rtcp_pkt pkt;
    int r;
    size_t walked = 0;
    while ((r = sc_rtcp_next(&p, &left, &pkt)) == 1) {
        if (pkt.data < data || pkt.len < 8 || pkt.data + pkt.len > data + size)
            abort();
        walked += pkt.len;

        sc_rtcp_sr sr;
        sc_rtcp_report_block blocks[31];
        int n;
        uint32_t a, b;
        (void)sc_rtcp_parse_sr(&pkt, &sr, blocks, 31, &n);
        (void)sc_rtcp_parse_sr(&pkt, &sr, blocks, 1, &n);
        sc_twcc_fb tw;
        static int64_t arr[1024];
        (void)sc_rtcp_parse_twcc(&pkt, &tw, arr, 1024);
        (void)sc_rtcp_parse_twcc(&pkt, &tw, arr, 3);
        (void)sc_rtcp_parse_rr(&pkt, &a, blocks, 31, &n);
        (void)sc_rtcp_parse_fb(&pkt, &a, &b);

        uint16_t seqs[512];
        if (sc_rtcp_parse_nack(&pkt, seqs, 512, &n) == 0) {
            if (n < 1 || n > 512)
                abort();
            nack_roundtrip(seqs, n);
        }
        uint8_t fir_seq;
        (void)sc_rtcp_parse_fir(&pkt, &a, &fir_seq);
        uint64_t br;
        uint32_t ssrcs[255];
        (void)sc_rtcp_parse_remb(&pkt, &br, ssrcs, 255, &n);
    }
    /* validate and the walk must agree. */
    if ((valid == 0) != (r == 0 && walked == size && size > 0))
        abort();
    return 0;
}
