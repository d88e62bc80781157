/* Sensitive-word filter for chat, danmaku, Q&A and display names.
 *
 * A word made only of ASCII matches whole words (its neighbours are not
 * ASCII letters or digits), so "ass" does not hit "class" but does hit
 * "ass!" or "买ass了".  A word holding any non-ASCII character (CJK has no
 * spaces between words) matches as a substring.  ASCII letters compare
 * case-insensitively; other bytes exactly.  Matching works on bytes of valid
 * UTF-8, which is self-synchronising, so a match always starts and ends on
 * character boundaries.  Pure: no logging, no I/O except _load. */
#ifndef SC_WORDFILTER_H
#define SC_WORDFILTER_H

#include <stddef.h>

#define SC_WORDFILTER_WORD_MAX 64      /* bytes per word */
#define SC_WORDFILTER_WORDS_MAX 20000  /* words per list */

typedef struct sc_wordfilter sc_wordfilter;

sc_wordfilter *sc_wordfilter_new(void);
void sc_wordfilter_free(sc_wordfilter *wf);

/* Add one word (leading/trailing ASCII blanks are trimmed).  0, -EINVAL
 * (empty, too long, not UTF-8, control characters), -ENOSPC (list full),
 * -ENOMEM.  Adding a word twice is 0 and keeps one copy. */
int sc_wordfilter_add(sc_wordfilter *wf, const char *word, size_t len);
/* One word per line; blank lines and lines starting with '#' are skipped,
 * invalid lines too.  Number of words added, or -errno (missing file:
 * -ENOENT). */
int sc_wordfilter_load(sc_wordfilter *wf, const char *path);
void sc_wordfilter_clear(sc_wordfilter *wf);
size_t sc_wordfilter_count(const sc_wordfilter *wf);

/* Number of matches of wf's words in text (len bytes of UTF-8).  When out
 * is not NULL and there is a match, *out is a malloc'd NUL-terminated copy
 * with each matched character replaced by one '*' (else *out is NULL).
 * -ENOMEM if the copy cannot be made.  wf may be NULL (no words). */
int sc_wordfilter_apply(const sc_wordfilter *wf, const char *text, size_t len, char **out);

/* True when s (len bytes) is valid UTF-8 without overlongs/surrogates. */
int sc_utf8_valid(const char *s, size_t len);
/* Characters (code points) in valid UTF-8. */
size_t sc_utf8_chars(const char *s, size_t len);

#endif
