/* A tiny test harness: each check that fails prints where and why; main()
 * ends with SC_TEST_END, which prints "N passed, N failed" and sets the exit
 * status meson reads. */
#ifndef SC_TEST_H
#define SC_TEST_H

#include <stdio.h>
#include <string.h>

static int sc_test_passed, sc_test_failed;

#define SC_CHECK(cond)                                                                  \
    do {                                                                               \
        if (cond) {                                                                    \
            sc_test_passed++;                                                          \
        } else {                                                                       \
            sc_test_failed++;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                              \
    } while (0)

#define SC_CHECK_INT(a, b)                                                              \
    do {                                                                               \
        long long sc_a_ = (long long)(a), sc_b_ = (long long)(b);                      \
        if (sc_a_ == sc_b_) {                                                          \
            sc_test_passed++;                                                          \
        } else {                                                                       \
            sc_test_failed++;                                                          \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,      \
                    __LINE__, #a, sc_a_, #b, sc_b_);                                   \
        }                                                                              \
    } while (0)

#define SC_CHECK_STR(a, b)                                                              \
    do {                                                                               \
        const char *sc_a_ = (a), *sc_b_ = (b);                                         \
        if (sc_a_ && sc_b_ && strcmp(sc_a_, sc_b_) == 0) {                             \
            sc_test_passed++;                                                          \
        } else {                                                                       \
            sc_test_failed++;                                                          \
            fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,        \
                    __LINE__, #a, sc_a_ ? sc_a_ : "(null)", sc_b_ ? sc_b_ : "(null)");  \
        }                                                                              \
    } while (0)

#define SC_TEST_END()                                                                   \
    do {                                                                               \
        printf("%d passed, %d failed\n", sc_test_passed, sc_test_failed);             \
        return sc_test_failed ? 1 : 0;                                                 \
    } while (0)

#endif
