/* The sensitive-word filter: whole words for Latin text, substrings for
 * CJK, ASCII case folding, masking one '*' per character, UTF-8 safety. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/sc_test.h"
#include "signaling/interact/wordfilter.h"

static char masked[1024];

/* Hits of text; masked[] holds the masked copy (or the text unchanged). */
static int apply(const sc_wordfilter *wf, const char *text)
{
    char *out = NULL;
    int n = sc_wordfilter_apply(wf, text, strlen(text), &out);
    snprintf(masked, sizeof(masked), "%s", out ? out : text);
    free(out);
    return n;
}

int main(void)
{
    sc_wordfilter *wf = sc_wordfilter_new();
    SC_CHECK(wf != NULL);
    if (!wf)
        return 1;

    SC_CHECK_INT(sc_wordfilter_add(wf, "scam", 4), 0);
    SC_CHECK_INT(sc_wordfilter_add(wf, "  Bad Word \n", 12), 0);
    SC_CHECK_INT(sc_wordfilter_add(wf, "赌博", strlen("赌博")), 0);
    SC_CHECK_INT(sc_wordfilter_add(wf, "fake币", strlen("fake币")), 0);
    SC_CHECK_INT(sc_wordfilter_add(wf, "SCAM", 4), 0); /* duplicate: kept once */
    SC_CHECK_INT(sc_wordfilter_count(wf), 4);

    /* refused words */
    SC_CHECK_INT(sc_wordfilter_add(wf, "", 0), -EINVAL);
    SC_CHECK_INT(sc_wordfilter_add(wf, "   ", 3), -EINVAL);
    SC_CHECK_INT(sc_wordfilter_add(wf, "\xc3\x28", 2), -EINVAL);       /* bad UTF-8 */
    SC_CHECK_INT(sc_wordfilter_add(wf, "\xc0\xaf", 2), -EINVAL);       /* overlong */
    SC_CHECK_INT(sc_wordfilter_add(wf, "\xed\xa0\x80", 3), -EINVAL);   /* surrogate */
    SC_CHECK_INT(sc_wordfilter_add(wf, "a\x01", 2), -EINVAL);
    {
        char longw[SC_WORDFILTER_WORD_MAX + 2];
        memset(longw, 'x', sizeof(longw));
        SC_CHECK_INT(sc_wordfilter_add(wf, longw, sizeof(longw)), -EINVAL);
    }
    SC_CHECK_INT(sc_wordfilter_count(wf), 4);

    /* Latin: whole words, any case */
    SC_CHECK_INT(apply(wf, "this is a scam!"), 1);
    SC_CHECK_STR(masked, "this is a ****!");
    SC_CHECK_INT(apply(wf, "SCAM"), 1);
    SC_CHECK_STR(masked, "****");
    SC_CHECK_INT(apply(wf, "Scams and scammers"), 0);
    SC_CHECK_STR(masked, "Scams and scammers");
    SC_CHECK_INT(apply(wf, "a bad word here, bad  word not"), 1);
    SC_CHECK_STR(masked, "a ******** here, bad  word not");
    SC_CHECK_INT(apply(wf, "scam2"), 0);
    SC_CHECK_INT(apply(wf, "_scam_"), 1); /* underscore is not a letter/digit */

    /* CJK: substring, one '*' per character; Latin words next to CJK
     * characters are whole words */
    SC_CHECK_INT(apply(wf, "不要赌博啊"), 1);
    SC_CHECK_STR(masked, "不要**啊");
    SC_CHECK_INT(apply(wf, "这是scam吗"), 1);
    SC_CHECK_STR(masked, "这是****吗");
    SC_CHECK_INT(apply(wf, "买FAKE币, 赌博 and Scam"), 3);
    SC_CHECK_STR(masked, "买*****, ** and ****");
    SC_CHECK_INT(apply(wf, "赌赌博博"), 1);
    SC_CHECK_STR(masked, "赌**博");
    SC_CHECK_INT(apply(wf, "博赌"), 0);

    /* no words, no text, NULL out */
    SC_CHECK_INT(sc_wordfilter_apply(wf, "scam", 4, NULL), 1);
    SC_CHECK_INT(sc_wordfilter_apply(NULL, "scam", 4, NULL), 0);
    SC_CHECK_INT(sc_wordfilter_apply(wf, "", 0, NULL), 0);

    /* A bad byte in the text never makes the scan read past the end. */
    SC_CHECK_INT(apply(wf, "\xe8\xb5"), 0);

    /* A CJK word's bytes cannot match across two other characters: 赌 is
     * e8 b5 8c; a text ending "\xe8\xb5" then a new character is not it. */
    SC_CHECK_INT(apply(wf, "x赌"), 0);

    /* overlapping words both count and both are masked */
    sc_wordfilter *w2 = sc_wordfilter_new();
    sc_wordfilter_add(w2, "ab", 2);
    sc_wordfilter_add(w2, "博彩", strlen("博彩"));
    sc_wordfilter_add(w2, "彩票", strlen("彩票"));
    SC_CHECK_INT(apply(w2, "博彩票"), 2);
    SC_CHECK_STR(masked, "***");
    SC_CHECK_INT(apply(w2, "ab ab-ab"), 3);
    SC_CHECK_STR(masked, "** **-**");
    sc_wordfilter_clear(w2);
    SC_CHECK_INT(sc_wordfilter_count(w2), 0);
    SC_CHECK_INT(apply(w2, "ab"), 0);
    sc_wordfilter_free(w2);

    /* loading a list file */
    {
        char path[] = "/tmp/sc-words-XXXXXX";
        int fd = mkstemp(path);
        SC_CHECK(fd >= 0);
        if (fd >= 0) {
            const char body[] = "# global list\n\nspam\n法轮\n\xff\xfe\nlottery-win\nlast";
            SC_CHECK(write(fd, body, sizeof(body) - 1) == (ssize_t)(sizeof(body) - 1));
            close(fd);
            sc_wordfilter *w3 = sc_wordfilter_new();
            SC_CHECK_INT(sc_wordfilter_load(w3, path), 4);
            SC_CHECK_INT(apply(w3, "Spam? lottery-win! last"), 3);
            SC_CHECK_STR(masked, "****? ***********! ****");
            sc_wordfilter_free(w3);
            unlink(path);
        }
        sc_wordfilter *w4 = sc_wordfilter_new();
        SC_CHECK_INT(sc_wordfilter_load(w4, "/nonexistent/words.txt"), -ENOENT);
        sc_wordfilter_free(w4);
    }

    /* UTF-8 helpers */
    SC_CHECK(sc_utf8_valid("héllo 你好", strlen("héllo 你好")));
    SC_CHECK(!sc_utf8_valid("\xf5\x80\x80\x80", 4));
    SC_CHECK_INT(sc_utf8_chars("héllo 你好", strlen("héllo 你好")), 8);

    sc_wordfilter_free(wf);
    sc_wordfilter_free(NULL);
    SC_TEST_END();
}
