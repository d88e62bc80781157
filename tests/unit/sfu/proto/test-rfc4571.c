/* sfu/proto/rfc4571.c: frames split across reads at every byte, several in
 * one read, empty frames, over-long frames read past without losing the
 * stream's framing.
 *
 * `test-sfu-rfc4571 --write-corpus DIR` writes the streams it feeds to DIR
 * (the seed of tests/fuzz/corpus/rfc4571/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfu/proto/rfc4571.h"
#include "tests/unit/sc_test.h"

static const char *corpus_dir;

typedef struct seen {
    int n;
    size_t lens[64];
    uint8_t first[64];
} seen;

static void on_frame(void *ud, uint8_t *frame, size_t len)
{
    seen *s = ud;
    if (s->n < 64) {
        s->lens[s->n] = len;
        s->first[s->n] = frame[0];
    }
    s->n++;
}

static size_t put_frame(uint8_t *out, size_t len, uint8_t fill)
{
    sc_rfc4571_header(out, len);
    memset(out + 2, fill, len);
    return len + 2;
}

/* Feeds stream in pieces of `chunk` bytes (as reads of a socket would). */
static void feed(sc_rfc4571_rx *rx, const uint8_t *stream, size_t n, size_t chunk, seen *s,
                 uint64_t *oversize)
{
    size_t off = 0;
    while (off < n) {
        size_t k = n - off < chunk ? n - off : chunk;
        if (k > sc_rfc4571_room(rx))
            k = sc_rfc4571_room(rx);
        memcpy(sc_rfc4571_space(rx), stream + off, k);
        sc_rfc4571_consume(rx, k, on_frame, s, oversize);
        off += k;
    }
}

static void write_corpus(const char *name, const uint8_t *buf, size_t n)
{
    if (!corpus_dir)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", corpus_dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, n, f);
        fclose(f);
    }
}

static void test_split_everywhere(void)
{
    static uint8_t stream[8192];
    size_t n = 0;
    n += put_frame(stream + n, 20, 0x01);   /* STUN-sized */
    n += put_frame(stream + n, 1200, 0x80); /* RTP */
    n += put_frame(stream + n, 0, 0);       /* empty: skipped */
    n += put_frame(stream + n, 90, 0x16);   /* DTLS */
    n += put_frame(stream + n, SC_RFC4571_MAX_FRAME, 0x90);
    write_corpus("mixed", stream, n);
    for (size_t chunk = 1; chunk <= n; chunk = chunk < 16 ? chunk + 1 : chunk * 2 + 1) {
        sc_rfc4571_rx rx = {0};
        seen s = {0};
        uint64_t over = 0;
        feed(&rx, stream, n, chunk, &s, &over);
        SC_CHECK_INT(s.n, 4);
        SC_CHECK_INT(s.lens[0], 20);
        SC_CHECK_INT(s.lens[1], 1200);
        SC_CHECK_INT(s.lens[2], 90);
        SC_CHECK_INT(s.lens[3], SC_RFC4571_MAX_FRAME);
        SC_CHECK(s.first[0] == 0x01 && s.first[1] == 0x80 && s.first[2] == 0x16 &&
                 s.first[3] == 0x90);
        SC_CHECK_INT(over, 0);
        SC_CHECK_INT(rx.len, 0);
    }
}

static void test_oversize_skipped(void)
{
    static uint8_t stream[80000];
    size_t n = 0;
    n += put_frame(stream + n, 30, 0x01);
    n += put_frame(stream + n, 65535, 0xee); /* the longest the length allows */
    n += put_frame(stream + n, SC_RFC4571_MAX_FRAME + 1, 0xee);
    n += put_frame(stream + n, 40, 0x80);
    write_corpus("oversize", stream, n);
    size_t chunks[] = {1, 7, 1000, 4096, sizeof(stream)};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        sc_rfc4571_rx rx = {0};
        seen s = {0};
        uint64_t over = 0;
        feed(&rx, stream, n, chunks[i], &s, &over);
        SC_CHECK_INT(s.n, 2);
        SC_CHECK_INT(s.lens[0], 30);
        SC_CHECK_INT(s.lens[1], 40);
        SC_CHECK(s.first[1] == 0x80);
        SC_CHECK_INT(over, 2);
        SC_CHECK_INT(rx.skip, 0);
    }
}

static void test_partial_kept(void)
{
    uint8_t stream[64];
    size_t n = put_frame(stream, 50, 0x42);
    sc_rfc4571_rx rx = {0};
    seen s = {0};
    uint64_t over = 0;
    feed(&rx, stream, 1, 1, &s, &over); /* half a length */
    SC_CHECK_INT(s.n, 0);
    SC_CHECK_INT(rx.len, 1);
    feed(&rx, stream + 1, 30, 30, &s, &over);
    SC_CHECK_INT(s.n, 0);
    SC_CHECK_INT(rx.len, 31);
    feed(&rx, stream + 31, n - 31, n, &s, &over);
    SC_CHECK_INT(s.n, 1);
    SC_CHECK_INT(s.lens[0], 50);
    SC_CHECK_INT(rx.len, 0);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        corpus_dir = argv[2];
    test_split_everywhere();
    test_oversize_skipped();
    test_partial_kept();
    SC_TEST_END();
}
