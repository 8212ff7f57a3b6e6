/* test_util.h — libuv-style assertion macros and helpers shared by the C unit tests. */
#ifndef DLB_TEST_UTIL_H
#define DLB_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlbricks/diag.h"

static int test_failures;

#define ASSERT(expr)                                                                               \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #expr);           \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                                        \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    a_, b_);                                                                       \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  got:      %s\n  expected: %s\n", __FILE__, \
                    __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__,             \
                    h_ ? h_ : "(null)", n_);                                                       \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

/* Diagnostics captured into a buffer (all lines, '\n'-separated). */
typedef struct test_diag_buf {
    char text[16384];
    size_t n;
} test_diag_buf;

static inline void test_diag_capture(void *ctx, dlb_severity sev, const char *line) {
    (void)sev;
    test_diag_buf *b = ctx;
    int w = snprintf(b->text + b->n, sizeof b->text - b->n, "%s\n", line);
    if (w > 0 && b->n + (size_t)w < sizeof b->text) b->n += (size_t)w;
}

static inline int test_summary(const char *name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d assertion(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: all assertions passed\n", name);
    return 0;
}

#endif
