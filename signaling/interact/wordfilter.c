#include "signaling/interact/wordfilter.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct word {
    char s[SC_WORDFILTER_WORD_MAX + 1]; /* ASCII letters lower-cased */
    size_t len;
    bool ascii;                          /* whole-word match */
} word;

/* Words are bucketed by their first (lower-cased) byte, so scanning a text
 * tries at each position only the words that can start there. */
typedef struct bucket {
    uint32_t *idx;
    size_t n, cap;
} bucket;

struct sc_wordfilter {
    word *words;
    size_t n, cap;
    bucket buckets[256];
};

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static inline bool alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

int sc_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

size_t sc_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

sc_wordfilter *sc_wordfilter_new(void)
{
    return calloc(1, sizeof(sc_wordfilter));
}

void sc_wordfilter_clear(sc_wordfilter *wf)
{
    if (!wf)
        return;
    for (int b = 0; b < 256; b++)
        wf->buckets[b].n = 0;
    wf->n = 0;
}

void sc_wordfilter_free(sc_wordfilter *wf)
{
    if (!wf)
        return;
    for (int b = 0; b < 256; b++)
        free(wf->buckets[b].idx);
    free(wf->words);
    free(wf);
}

size_t sc_wordfilter_count(const sc_wordfilter *wf)
{
    return wf ? wf->n : 0;
}

int sc_wordfilter_add(sc_wordfilter *wf, const char *s, size_t len)
{
    word w;
    bucket *b;

    while (len && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                   s[len - 1] == '\n'))
        len--;
    if (!len || len > SC_WORDFILTER_WORD_MAX || !sc_utf8_valid(s, len))
        return -EINVAL;
    w.ascii = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return -EINVAL;
        if (c >= 0x80)
            w.ascii = false;
        w.s[i] = (char)lower(c);
    }
    w.s[len] = '\0';
    w.len = len;
    b = &wf->buckets[(unsigned char)w.s[0]];
    for (size_t i = 0; i < b->n; i++) {
        const word *o = &wf->words[b->idx[i]];
        if (o->len == len && memcmp(o->s, w.s, len) == 0)
            return 0;
    }
    if (wf->n >= SC_WORDFILTER_WORDS_MAX)
        return -ENOSPC;
    if (wf->n == wf->cap) {
        size_t cap = wf->cap ? wf->cap * 2 : 16;
        word *nw = realloc(wf->words, cap * sizeof(*nw));
        if (!nw)
            return -ENOMEM;
        wf->words = nw;
        wf->cap = cap;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4;
        uint32_t *ni = realloc(b->idx, cap * sizeof(*ni));
        if (!ni)
            return -ENOMEM;
        b->idx = ni;
        b->cap = cap;
    }
    wf->words[wf->n] = w;
    b->idx[b->n++] = (uint32_t)wf->n++;
    return 0;
}

int sc_wordfilter_load(sc_wordfilter *wf, const char *path)
{
    char line[512];
    int added = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (line[0] == '#')
            continue;
        /* A line longer than the buffer is not a word: skip its rest. */
        if (len && line[len - 1] != '\n' && !feof(f)) {
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        if (sc_wordfilter_add(wf, line, len) == 0)
            added++;
    }
    fclose(f);
    return added;
}

static bool match_at(const word *w, const unsigned char *t, size_t len, size_t i)
{
    if (len - i < w->len)
        return false;
    for (size_t k = 1; k < w->len; k++)
        if (lower(t[i + k]) != (unsigned char)w->s[k])
            return false;
    if (w->ascii) {
        if (i > 0 && alnum(t[i - 1]))
            return false;
        if (i + w->len < len && alnum(t[i + w->len]))
            return false;
    }
    return true;
}

int sc_wordfilter_apply(const sc_wordfilter *wf, const char *text, size_t len, char **out)
{
    const unsigned char *t = (const unsigned char *)text;
    unsigned char *mask = NULL;
    int hits = 0;
    char *o;
    size_t j = 0;

    if (out)
        *out = NULL;
    if (!wf || !wf->n || !len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        const bucket *b = &wf->buckets[lower(t[i])];
        for (size_t k = 0; k < b->n; k++) {
            const word *w = &wf->words[b->idx[k]];
            if (!match_at(w, t, len, i))
                continue;
            hits++;
            if (!out)
                continue;
            if (!mask && !(mask = calloc(1, len)))
                return -ENOMEM;
            memset(mask + i, 1, w->len);
        }
    }
    if (!out || !hits)
        return hits;
    o = malloc(len + 1);
    if (!o) {
        free(mask);
        return -ENOMEM;
    }
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(t + i, len - i);
        bool hit = false;
        if (!k)
            k = 1; /* invalid input: step a byte, never read past the end */
        for (size_t m = 0; m < k; m++)
            hit |= mask[i + m];
        if (hit) {
            o[j++] = '*';
        } else {
            memcpy(o + j, t + i, k);
            j += k;
        }
        i += k;
    }
    o[j] = '\0';
    free(mask);
    *out = o;
    return hits;
}
