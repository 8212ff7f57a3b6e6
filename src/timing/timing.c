/* timing.c — benchdnn-style measurement loop: warm-up, per-repetition timing, stop rule. */
#include "dlbricks/timing.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Defaults measured with tests/bench/bench_timing_defaults.c; figures in docs/timing.md. */
#define DLB_DEFAULT_MIN_TIME_MS 100.0
#define DLB_DEFAULT_MIN_REPS 10
#define DLB_DEFAULT_MAX_REPS 0
#define DLB_DEFAULT_WARMUP_REPS 2
#define DLB_DEFAULT_MAX_SAMPLES 256

/* Initial sample capacity is sized from the warm-up estimate, but never above this (the array
 * still grows geometrically, between repetitions, if the estimate was low). */
#define DLB_SAMPLES_PRESIZE_MAX (1 << 20)

void dlb_timing_defaults(dlb_timing_settings *s) {
    if (!s) return;
    s->min_time_ms = DLB_DEFAULT_MIN_TIME_MS;
    s->min_reps = DLB_DEFAULT_MIN_REPS;
    s->max_reps = DLB_DEFAULT_MAX_REPS;
    s->warmup_reps = DLB_DEFAULT_WARMUP_REPS;
    s->max_samples = DLB_DEFAULT_MAX_SAMPLES;
    s->cold_cache = false;
    s->cold_weights = false;
    s->flush_counts = false;
}

static int64_t now_ns(void) {
    struct timespec t;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Grow *buf to at least need elements (geometric); false on overflow or out-of-memory. */
static bool grow(double **buf, int *cap, int need) {
    if (need <= *cap) return true;
    int64_t c = *cap > 0 ? *cap : 64;
    while (c < need) c *= 2;
    if (c > INT_MAX) c = INT_MAX;
    double *p = realloc(*buf, (size_t)c * sizeof *p);
    if (!p) return false;
    *buf = p;
    *cap = (int)c;
    return true;
}

/* Keep max_samples of n samples, evenly spaced in measurement order: index floor(i * n / m). */
static void thin(dlb_timing_result *out, int n, int max_samples) {
    if (max_samples <= 0) {
        free(out->samples);
        out->samples = NULL;
        out->n_samples = 0;
        return;
    }
    int m = n < max_samples ? n : max_samples;
    if (m < n) /* index(i) >= i: the in-place forward copy never overwrites a pending source */
        for (int i = 0; i < m; i++) out->samples[i] = out->samples[(int64_t)i * n / m];
    double *p = realloc(out->samples, (size_t)m * sizeof *p);
    if (p) out->samples = p; /* a failed shrink keeps the larger block */
    out->n_samples = m;
}

dlb_status dlb_time_runs(dlb_run_fn run, dlb_flush_fn flush, void *ctx,
                         const dlb_timing_settings *s, dlb_timing_result *out) {
    if (!out) return DLB_EINVAL;
    memset(out, 0, sizeof *out);
    if (!run || !s || !(s->min_time_ms >= 0.0) || !isfinite(s->min_time_ms) || s->max_reps < 0 ||
        ((s->cold_cache || s->cold_weights) && !flush))
        return DLB_EINVAL;
    const bool cold = s->cold_cache || s->cold_weights;
    const int warmup = s->warmup_reps < 1 ? 1 : s->warmup_reps;
    const int min_reps = s->min_reps < 1 ? 1 : s->min_reps;
    const int max_reps = s->max_reps > 0 ? s->max_reps : INT_MAX;
    const int64_t min_time_ns = (int64_t)ceil(s->min_time_ms * 1e6);
    dlb_status st = DLB_OK;
    const int64_t wall0 = now_ns();

    /* Warm-up: not measured and never flushed; the last one sizes the sample array. */
    int64_t warm_ns = 0;
    for (int i = 0; i < warmup; i++) {
        int64_t t0 = now_ns();
        if ((st = run(ctx)) != DLB_OK) return st;
        warm_ns = now_ns() - t0;
    }
    int64_t est = warm_ns > 0 ? min_time_ns / warm_ns + 1 : min_reps;
    est += est / 4;
    if (est < min_reps) est = min_reps;
    if (est > DLB_SAMPLES_PRESIZE_MAX) est = DLB_SAMPLES_PRESIZE_MAX;
    if (est > max_reps) est = max_reps;
    double *x = NULL;
    int cap = 0, n = 0;
    if (!grow(&x, &cap, (int)est)) return DLB_ENOMEM;

    /* Measured repetitions: only run() lies between the two clock reads. */
    int64_t budget_ns = 0; /* measured time, and the hook's time with flush_counts */
    for (;;) {
        if (n == cap && !grow(&x, &cap, n + 1)) {
            st = DLB_ENOMEM;
            goto fail;
        }
        if (cold && s->flush_counts) {
            int64_t f0 = now_ns();
            flush(ctx);
            budget_ns += now_ns() - f0;
        } else if (cold) {
            flush(ctx);
        }
        int64_t t0 = now_ns();
        st = run(ctx);
        int64_t dt = now_ns() - t0;
        if (st != DLB_OK) goto fail;
        x[n++] = (double)dt * 1e-6;
        budget_ns += dt;
        if (n >= max_reps || (n >= min_reps && budget_ns >= min_time_ns)) break;
    }
    out->wall_ms = (double)(now_ns() - wall0) * 1e-6;

    if ((st = dlb_stats_compute(x, n, &out->stats)) != DLB_OK) goto fail;
    out->samples = x;
    thin(out, n, s->max_samples);
    return DLB_OK;
fail:
    free(x);
    memset(out, 0, sizeof *out);
    return st;
}

void dlb_timing_result_free(dlb_timing_result *r) {
    if (!r) return;
    free(r->samples);
    memset(r, 0, sizeof *r);
}
