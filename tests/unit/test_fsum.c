/* test_fsum.c — correctly rounded sums (src/util/fsum.c): known cases, order independence. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fsum.h"
#include "test_util.h"

static int same(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

static double sum_of(const double *x, int n) {
    dlb_fsum s = {0};
    for (int i = 0; i < n; i++) dlb_fsum_add(&s, x[i]);
    return dlb_fsum_value(&s);
}

static uint64_t rng = 88172645463325252ull;
static double rnd(void) { /* xorshift64: values over many magnitudes */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    double m = (double)(rng >> 11) / 9007199254740992.0;
    return ldexp(m, (int)(rng % 60) - 40) * (rng & (1u << 20) ? -1 : 1);
}

static void test_known(void) {
    double a[] = {1e16, 1.0, -1e16};
    ASSERT(sum_of(a, 3) == 1.0); /* a naive sum gives 0 */
    double b[] = {1e-16, 1.0, 1e16};
    ASSERT(sum_of(b, 3) == 10000000000000002.0); /* half-even across partials (math.fsum) */
    double c[10];
    for (int i = 0; i < 10; i++) c[i] = 0.1;
    ASSERT(sum_of(c, 10) == 1.0);
    ASSERT(same(sum_of(c, 0), 0.0));
    dlb_fsum s = {0};
    dlb_fsum_add(&s, 1.0);
    dlb_fsum_add(&s, INFINITY);
    ASSERT(isinf(dlb_fsum_value(&s)));
    dlb_fsum_add(&s, NAN);
    ASSERT(isnan(dlb_fsum_value(&s)));
}

static void test_order_and_counts(void) {
    enum { N = 2000 };
    static double x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = rnd();
    double fwd = sum_of(x, N);
    for (int i = 0; i < N; i++) y[i] = x[N - 1 - i];
    ASSERT(same(sum_of(y, N), fwd));
    for (int i = N - 1; i > 0; i--) { /* shuffled */
        int j = (int)(rnd() * 1e9) % (i + 1);
        if (j < 0) j = -j;
        double t = y[i];
        y[i] = y[j];
        y[j] = t;
    }
    ASSERT(same(sum_of(y, N), fwd));
    /* count x value, added with an fma split, equals adding it count times */
    for (int k = 0; k < 200; k++) {
        dlb_fsum once = {0}, many = {0};
        double v = fabs(rnd());
        int64_t n = 1 + (int64_t)(fabs(rnd()) * 1e6) % 997;
        double w = rnd();
        dlb_fsum_add(&once, w);
        dlb_fsum_add(&many, w);
        dlb_fsum_add_times(&once, n, v);
        for (int64_t i = 0; i < n; i++) dlb_fsum_add(&many, v);
        ASSERT(same(dlb_fsum_value(&once), dlb_fsum_value(&many)));
    }
}

int main(void) {
    test_known();
    test_order_and_counts();
    return test_summary("test_fsum");
}
