/* stats.c — sample statistics: mean, stddev, type-7 quantiles, order-statistic CI of the median. */
#include "dlbricks/timing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The distribution-free CI uses exact binomial ranks up to this n, the normal approximation
 * above it (the two agree to within one rank there; see docs/timing.md). */
#define DLB_CI_EXACT_MAX_N 1000
#define DLB_CI_ALPHA_HALF 0.025 /* two-sided 95% */
#define DLB_CI_Z_HALF 0.98      /* 1.96 / 2 */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type-7 (Hyndman & Fan; R's default, numpy "linear") quantile of sorted s[0..n). */
static double quantile7(const double *s, int64_t n, double p) {
    double h = (double)(n - 1) * p;
    int64_t lo = (int64_t)floor(h);
    if (lo >= n - 1) return s[n - 1];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

/* 1-based ranks [j, k] of the order statistics bounding the 95% CI of the median.
 * Coverage of [x_(j), x_(k)] is P(j <= B <= k-1), B ~ Binomial(n, 1/2). */
static void median_ci_ranks(int64_t n, int64_t *j, int64_t *k) {
    if (n <= DLB_CI_EXACT_MAX_N) {
        /* Largest j with P(B <= j-1) <= 0.025, k = n + 1 - j: coverage 1 - 2 P(B <= j-1).
         * n <= 5 admits no such j: fall back to [min, max] (coverage 1 - 2^(1-n) < 95%). */
        double pmf = ldexp(1.0, -(int)n), cdf = 0.0;
        *j = 1;
        for (int64_t i = 0; i < n / 2; i++) {
            cdf += pmf;
            if (cdf > DLB_CI_ALPHA_HALF) break;
            *j = i + 1;
            pmf *= (double)(n - i) / (double)(i + 1);
        }
        *k = n + 1 - *j;
        return;
    }
    double half = 0.5 * (double)n, w = DLB_CI_Z_HALF * sqrt((double)n);
    *j = (int64_t)floor(half - w);
    *k = (int64_t)ceil(half + 1.0 + w);
    if (*j < 1) *j = 1;
    if (*k > n) *k = n;
}

dlb_status dlb_stats_compute(const double *x, int64_t n, dlb_stats *out) {
    if (!out) return DLB_EINVAL;
    memset(out, 0, sizeof *out);
    if (!x || n <= 0 || (uint64_t)n > SIZE_MAX / sizeof(double)) return DLB_EINVAL;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return DLB_EINVAL;

    double *s = malloc((size_t)n * sizeof *s);
    if (!s) return DLB_ENOMEM;
    memcpy(s, x, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);

    /* Two-pass mean / variance over the sorted copy (ascending order adds small terms first). */
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += s[i];
    double mean = sum / (double)n, ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (s[i] - mean) * (s[i] - mean);

    int64_t j, k;
    median_ci_ranks(n, &j, &k);
    out->n = n;
    out->min = s[0];
    out->max = s[n - 1];
    out->mean = mean;
    out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
    out->median = quantile7(s, n, 0.5);
    out->p90 = quantile7(s, n, 0.9);
    out->ci_low = s[j - 1];
    out->ci_high = s[k - 1];
    free(s);
    return DLB_OK;
}
