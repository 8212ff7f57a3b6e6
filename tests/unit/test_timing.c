/* test_timing.c — statistics on fixed samples, the measurement stop rule, thread/binding setup. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <time.h>

#include "dlbricks/timing.h"
#include "test_util.h"

#define ASSERT_NEAR(a, b, tol)                                                                     \
    do {                                                                                           \
        double x_ = (a), y_ = (b);                                                                 \
        if (!(fabs(x_ - y_) <= (tol))) {                                                           \
            fprintf(stderr, "%s:%d: %s ~= %s failed: %.12g != %.12g\n", __FILE__, __LINE__, #a,    \
                    #b, x_, y_);                                                                   \
            test_failures++;                                                                       \
        }                                                                                          \
    } while (0)

static bool is_sample_of(double v, const double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (x[i] == v) return true;
    return false;
}

/* Properties every result must have: CI bounds are sample values around the median. */
static void check_ci_shape(const dlb_stats *s, const double *x, int64_t n) {
    ASSERT(is_sample_of(s->ci_low, x, n));
    ASSERT(is_sample_of(s->ci_high, x, n));
    ASSERT(s->ci_low <= s->median && s->median <= s->ci_high);
    ASSERT(s->min <= s->ci_low && s->ci_high <= s->max);
}

static void test_stats_odd(void) {
    const double x[] = {5, 1, 4, 2, 3};
    double copy[5];
    memcpy(copy, x, sizeof x);
    dlb_stats s;
    ASSERT_EQ_INT(dlb_stats_compute(copy, 5, &s), DLB_OK);
    ASSERT(memcmp(copy, x, sizeof x) == 0); /* input untouched */
    ASSERT_EQ_INT(s.n, 5);
    ASSERT_NEAR(s.min, 1, 0);
    ASSERT_NEAR(s.max, 5, 0);
    ASSERT_NEAR(s.mean, 3, 1e-15);
    ASSERT_NEAR(s.stddev, sqrt(2.5), 1e-15); /* sum of squares 10, n - 1 = 4 */
    ASSERT_NEAR(s.median, 3, 0);
    ASSERT_NEAR(s.p90, 4.6, 1e-12); /* h = 0.9 * 4 = 3.6: x(4) + 0.6 * (x(5) - x(4)) */
    /* n = 5 < 6: no 95% order-statistic interval exists; documented fallback [min, max]. */
    ASSERT_NEAR(s.ci_low, 1, 0);
    ASSERT_NEAR(s.ci_high, 5, 0);
    check_ci_shape(&s, x, 5);
}

static void test_stats_even(void) {
    const double x[] = {7, 3, 10, 1, 9, 2, 8, 5, 4, 6};
    double copy[10];
    memcpy(copy, x, sizeof x);
    dlb_stats s;
    ASSERT_EQ_INT(dlb_stats_compute(copy, 10, &s), DLB_OK);
    ASSERT(memcmp(copy, x, sizeof x) == 0);
    ASSERT_EQ_INT(s.n, 10);
    ASSERT_NEAR(s.mean, 5.5, 1e-15);
    ASSERT_NEAR(s.stddev, sqrt(82.5 / 9.0), 1e-12); /* sum (i - 5.5)^2 = 82.5 */
    ASSERT_NEAR(s.median, 5.5, 0);                  /* h = 4.5: between x(5) = 5 and x(6) = 6 */
    ASSERT_NEAR(s.p90, 9.1, 1e-12);                 /* h = 8.1: 9 + 0.1 * (10 - 9) */
    /* Binomial(10, 1/2): P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024, so ranks 2 and 9
     * (coverage 1 - 22/1024 = 97.9%). */
    ASSERT_NEAR(s.ci_low, 2, 0);
    ASSERT_NEAR(s.ci_high, 9, 0);
    check_ci_shape(&s, x, 10);
}

static void test_stats_small_and_edge(void) {
    dlb_stats s;
    const double one[] = {2.5};
    ASSERT_EQ_INT(dlb_stats_compute(one, 1, &s), DLB_OK);
    ASSERT_NEAR(s.median, 2.5, 0);
    ASSERT_NEAR(s.p90, 2.5, 0);
    ASSERT_NEAR(s.stddev, 0, 0);
    ASSERT_NEAR(s.ci_low, 2.5, 0);
    ASSERT_NEAR(s.ci_high, 2.5, 0);
    const double six[] = {6, 5, 4, 3, 2, 1}; /* n = 6: P(B <= 0) = 1/64 <= 0.025: ranks 1, 6 */
    ASSERT_EQ_INT(dlb_stats_compute(six, 6, &s), DLB_OK);
    ASSERT_NEAR(s.ci_low, 1, 0);
    ASSERT_NEAR(s.ci_high, 6, 0);
    const double nine[] = {9, 1, 8, 2, 7, 3, 6, 4, 5}; /* P(B <= 1) = 10/512: ranks 2, 8 */
    ASSERT_EQ_INT(dlb_stats_compute(nine, 9, &s), DLB_OK);
    ASSERT_NEAR(s.median, 5, 0);
    ASSERT_NEAR(s.ci_low, 2, 0);
    ASSERT_NEAR(s.ci_high, 8, 0);
    check_ci_shape(&s, nine, 9);
    const double dup[] = {3, 3, 3, 3};
    ASSERT_EQ_INT(dlb_stats_compute(dup, 4, &s), DLB_OK);
    ASSERT_NEAR(s.stddev, 0, 0);
    ASSERT_NEAR(s.p90, 3, 0);

    ASSERT_EQ_INT(dlb_stats_compute(one, 0, &s), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_stats_compute(NULL, 3, &s), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_stats_compute(one, 1, NULL), DLB_EINVAL);
    const double bad[] = {1, NAN, 2};
    ASSERT_EQ_INT(dlb_stats_compute(bad, 3, &s), DLB_EINVAL);
}

/* Values 1..n in a scrambled order (a permutation: 37 is coprime with n in these tests). */
static double *permuted(int64_t n) {
    double *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = (double)((i * 37) % n + 1);
    return x;
}

static void test_stats_large(void) {
    dlb_stats s;
    /* n = 100, exact ranks: P(B <= 39) = 0.0176 <= 0.025 < P(B <= 40) = 0.0284: ranks 40, 61. */
    double *x = permuted(100);
    ASSERT_EQ_INT(dlb_stats_compute(x, 100, &s), DLB_OK);
    ASSERT_NEAR(s.median, 50.5, 0);
    ASSERT_NEAR(s.p90, 90.1, 1e-12); /* h = 89.1: 90 + 0.1 */
    ASSERT_NEAR(s.ci_low, 40, 0);
    ASSERT_NEAR(s.ci_high, 61, 0);
    ASSERT_NEAR(s.mean, 50.5, 1e-12);
    ASSERT_NEAR(s.stddev, sqrt(100.0 * 101.0 / 12.0), 1e-9); /* var of 1..n = n(n+1)/12 */
    check_ci_shape(&s, x, 100);
    free(x);
    /* n = 2000 > 1000, normal approximation: j = floor(1000 - 0.98 sqrt(2000)) = 956,
     * k = ceil(1001 + 0.98 sqrt(2000)) = 1045. */
    x = permuted(2000);
    ASSERT_EQ_INT(dlb_stats_compute(x, 2000, &s), DLB_OK);
    ASSERT_NEAR(s.median, 1000.5, 0);
    ASSERT_NEAR(s.p90, 1800.1, 1e-9); /* h = 1799.1 */
    ASSERT_NEAR(s.ci_low, 956, 0);
    ASSERT_NEAR(s.ci_high, 1045, 0);
    check_ci_shape(&s, x, 2000);
    free(x);
}

/* A run that counts its calls, busy-waits a little and may fail on a chosen call. */
typedef struct counter {
    int calls, flushes, fail_at; /* fail_at: 1-based call that returns fail_status (0: never) */
    dlb_status fail_status;
    double busy_ms;
} counter;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static dlb_status count_run(void *ctx) {
    counter *c = ctx;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) return c->fail_status;
    double end = now_ms() + c->busy_ms;
    while (now_ms() < end) {
    }
    return DLB_OK;
}

static void count_flush(void *ctx) {
    ((counter *)ctx)->flushes++;
}

/* A hook that takes 1 ms (a cache eviction's cost). */
static void slow_flush(void *ctx) {
    ((counter *)ctx)->flushes++;
    double end = now_ms() + 1.0;
    while (now_ms() < end) {
    }
}

static dlb_timing_settings settings(double min_time_ms, int min_reps, int warmup) {
    dlb_timing_settings s;
    dlb_timing_defaults(&s);
    s.min_time_ms = min_time_ms;
    s.min_reps = min_reps;
    s.warmup_reps = warmup;
    s.max_reps = 0;
    s.max_samples = 1 << 20;
    s.cold_cache = false;
    return s;
}

static void test_stop_rule_time(void) {
    counter c = {.busy_ms = 0.2};
    dlb_timing_settings s = settings(5.0, 3, 2);
    dlb_timing_result r;
    ASSERT_EQ_INT(dlb_time_runs(count_run, count_flush, &c, &s, &r), DLB_OK);
    ASSERT(r.stats.n >= 3);
    ASSERT_EQ_INT(c.calls, 2 + r.stats.n); /* warm-up count exact */
    ASSERT_EQ_INT(c.flushes, 0);           /* warm cache: flush never called */
    ASSERT_EQ_INT(r.n_samples, r.stats.n); /* below max_samples: everything kept */
    double sum = 0;
    for (int i = 0; i < r.n_samples; i++) sum += r.samples[i];
    ASSERT(sum >= 5.0 * (1 - 1e-9)); /* measured time reached min_time */
    /* ... and it stopped at the first repetition that reached it. */
    ASSERT(sum - r.samples[r.n_samples - 1] < 5.0 || r.stats.n == 3);
    ASSERT(r.wall_ms >= sum);
    dlb_stats again;
    ASSERT_EQ_INT(dlb_stats_compute(r.samples, r.n_samples, &again), DLB_OK);
    ASSERT(memcmp(&again, &r.stats, sizeof again) == 0);
    dlb_timing_result_free(&r);
    ASSERT(r.samples == NULL && r.n_samples == 0);
    dlb_timing_result_free(&r); /* idempotent */
}

static void test_stop_rule_reps(void) {
    /* min_time 0: exactly min_reps repetitions; warm-up 0 is raised to 1. */
    counter c = {0};
    dlb_timing_settings s = settings(0.0, 7, 0);
    dlb_timing_result r;
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(r.stats.n, 7);
    ASSERT_EQ_INT(c.calls, 1 + 7);
    dlb_timing_result_free(&r);

    /* max_reps caps a min_time that is never reached, and wins over min_reps. */
    c = (counter){0};
    s = settings(1e9, 10, 1);
    s.max_reps = 4;
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(r.stats.n, 4);
    ASSERT_EQ_INT(c.calls, 5);
    dlb_timing_result_free(&r);

    /* Many fast repetitions: the sample array grows past its warm-up estimate. */
    c = (counter){0};
    s = settings(0.0, 5000, 3);
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(r.stats.n, 5000);
    ASSERT_EQ_INT(r.n_samples, 5000);
    ASSERT_EQ_INT(c.calls, 5003);
    dlb_timing_result_free(&r);
}

static void test_cold_cache(void) {
    counter c = {.busy_ms = 0.05};
    dlb_timing_settings s = settings(1.0, 4, 3);
    s.cold_cache = true;
    dlb_timing_result r;
    ASSERT_EQ_INT(dlb_time_runs(count_run, count_flush, &c, &s, &r), DLB_OK);
    /* Exactly one flush before each timed repetition; none for the warm-up runs. */
    ASSERT_EQ_INT(c.flushes, r.stats.n);
    ASSERT_EQ_INT(c.calls, 3 + r.stats.n);
    dlb_timing_result_free(&r);
    /* Cold cache without a flush hook is an error. */
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_EINVAL);
    /* Cold weights: the hook (pointing the weights at the next copy) runs before each timed
     * repetition too, with no cap on repetitions; none for the warm-up runs.  20 ms of 10 µs
     * runs: about 2000, so a few ms lost to preemption on a busy CI machine (ctest -j) still
     * leave far more than 50 (2 ms failed there once). */
    c = (counter){.busy_ms = 0.01};
    s = settings(20.0, 4, 2);
    s.cold_weights = true;
    ASSERT_EQ_INT(dlb_time_runs(count_run, count_flush, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(c.flushes, r.stats.n);
    ASSERT_EQ_INT(c.calls, 2 + r.stats.n);
    ASSERT(r.stats.n > 50);
    dlb_timing_result_free(&r);
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_EINVAL);
}

/* flush_counts: a 1 ms hook before 10 µs runs.  The hook's time counts toward min_time_ms, so
 * 20 ms are reached after at most 20 repetitions (not the ~2000 the runs alone would need),
 * and min_reps still holds; without it the same settings run far longer. */
static void test_flush_counts(void) {
    counter c = {.busy_ms = 0.01};
    dlb_timing_settings s = settings(20.0, 5, 1);
    s.cold_weights = true;
    s.flush_counts = true;
    dlb_timing_result r;
    ASSERT_EQ_INT(dlb_time_runs(count_run, slow_flush, &c, &s, &r), DLB_OK);
    ASSERT(r.stats.n >= 5 && r.stats.n <= 20);
    ASSERT_EQ_INT(c.flushes, r.stats.n);
    ASSERT(r.stats.median < 0.5); /* the hook stays outside the timed interval */
    dlb_timing_result_free(&r);
    s.min_time_ms = 0.0; /* min_reps still applies when the budget is reached at once */
    c = (counter){.busy_ms = 0.01};
    ASSERT_EQ_INT(dlb_time_runs(count_run, slow_flush, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(r.stats.n, 5);
    dlb_timing_result_free(&r);
    s.min_time_ms = 20.0;
    s.flush_counts = false;
    c = (counter){.busy_ms = 0.01};
    ASSERT_EQ_INT(dlb_time_runs(count_run, count_flush, &c, &s, &r), DLB_OK);
    ASSERT(r.stats.n > 100);
    dlb_timing_result_free(&r);
}

static void test_thinning(void) {
    counter c = {0};
    dlb_timing_settings s = settings(0.0, 100, 1);
    s.max_samples = 10;
    dlb_timing_result r;
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(r.stats.n, 100);  /* statistics over all repetitions ... */
    ASSERT_EQ_INT(r.n_samples, 10); /* ... but only 10 samples kept */
    for (int i = 0; i < r.n_samples; i++)
        ASSERT(r.samples[i] >= r.stats.min && r.samples[i] <= r.stats.max);
    dlb_timing_result_free(&r);

    c = (counter){0};
    s.max_samples = 0; /* keep none */
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_OK);
    ASSERT_EQ_INT(r.stats.n, 100);
    ASSERT(r.samples == NULL && r.n_samples == 0);
    dlb_timing_result_free(&r);
}

static void test_failure_propagates(void) {
    dlb_timing_settings s = settings(1e9, 1, 2);
    dlb_timing_result r;
    counter c = {.fail_at = 5, .fail_status = DLB_EDNNL}; /* 2 warm-up + third timed rep */
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_EDNNL);
    ASSERT_EQ_INT(c.calls, 5);
    ASSERT(r.samples == NULL && r.n_samples == 0 && r.stats.n == 0);
    dlb_timing_result_free(&r);

    c = (counter){.fail_at = 1, .fail_status = DLB_ENOMEM}; /* fails in warm-up */
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_ENOMEM);
    ASSERT_EQ_INT(c.calls, 1);
    ASSERT(r.samples == NULL && r.stats.n == 0);

    ASSERT_EQ_INT(dlb_time_runs(NULL, NULL, &c, &s, &r), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, NULL, &r), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, NULL), DLB_EINVAL);
    s.min_time_ms = NAN;
    ASSERT_EQ_INT(dlb_time_runs(count_run, NULL, &c, &s, &r), DLB_EINVAL);
}

static void test_defaults(void) {
    dlb_timing_settings s;
    dlb_timing_defaults(&s);
    ASSERT(s.min_time_ms > 0);
    ASSERT(s.min_reps >= 1);
    ASSERT(s.warmup_reps >= 1);
    ASSERT(s.max_samples >= 1);
    ASSERT(s.max_reps == 0 || s.max_reps >= s.min_reps);
    ASSERT(!s.cold_cache);
}

static void test_threads(void) {
    dlb_thread_info info;
    ASSERT_EQ_INT(dlb_threads_setup(0, &info), DLB_OK);
    ASSERT(info.pus_in_binding >= 1);
    ASSERT(info.binding[0] != '\0');
    ASSERT_EQ_INT(info.threads, info.pus_in_binding);
    ASSERT_EQ_INT(omp_get_max_threads(), info.pus_in_binding);
    printf("binding %s: %d PU(s)\n", info.binding, info.pus_in_binding);

    ASSERT_EQ_INT(dlb_threads_setup(3, &info), DLB_OK);
    ASSERT_EQ_INT(info.threads, 3);
    ASSERT_EQ_INT(omp_get_max_threads(), 3);
    ASSERT(info.pus_in_binding >= 1);

    ASSERT_EQ_INT(dlb_threads_setup(0, NULL), DLB_EINVAL);
}

/* v * 1 in single precision, not folded by the compiler. */
static float times_one(float x) {
    volatile float v = x, one = 1.0f;
    return v * one;
}

/* Subnormal floats flushed (FTZ and DAZ) in the caller and in every OpenMP thread, then kept
 * again. */
static void test_denormals(void) {
    dlb_thread_info info;
    ASSERT_EQ_INT(dlb_threads_setup(3, &info), DLB_OK);
    const float tiny = 1e-39f;
    ASSERT(tiny > 0 && tiny < FLT_MIN); /* subnormal */
    for (int flush = 1; flush >= 0; flush--) {
        ASSERT_EQ_INT(dlb_denormals_setup(flush), DLB_OK);
        ASSERT_EQ_INT(dlb_denormals_flushed(), flush);
        int flushed = 0, zero = 0, threads = 0;
#pragma omp parallel reduction(+ : flushed, zero, threads)
        {
            flushed += dlb_denormals_flushed();
            float v = times_one(tiny);
            uint32_t bits;
            memcpy(&bits, &v, sizeof bits); /* under DAZ a subnormal also compares equal to 0 */
            zero += bits == 0;
            threads++;
        }
        ASSERT_EQ_INT(threads, 3);
        ASSERT_EQ_INT(flushed, flush ? 3 : 0);
        ASSERT_EQ_INT(zero, flush ? 3 : 0);
    }
    float kept = times_one(tiny); /* compared now that subnormals are kept */
    ASSERT(kept == tiny && kept != 0.0f);
}

int main(void) {
    test_stats_odd();
    test_stats_even();
    test_stats_small_and_edge();
    test_stats_large();
    test_stop_rule_time();
    test_stop_rule_reps();
    test_cold_cache();
    test_flush_counts();
    test_thinning();
    test_failure_propagates();
    test_defaults();
    test_denormals();
    test_threads();
    return test_summary("test_timing");
}
