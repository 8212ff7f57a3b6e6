/* bench_timing_defaults.c — measures how min_time/min_reps/warm-up/max_samples affect stability. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlbricks/timing.h"

/* Usage: bench_timing_defaults [REPEATS]   (default 10; every figure is over REPEATS runs)
 * Single-threaded, fixed CPU workloads (naive f32 matmuls kept in L1/L2).  Prints the tables
 * quoted in docs/timing.md.  Not a test: no pass/fail, excluded from the default ctest run. */

#define FLUSH_BYTES (64u << 20) /* 2x the 32 MiB L3 of the reference machine */

typedef struct work {
    const char *name;
    int n;     /* matrix size */
    int times; /* matmuls per run */
    float *a, *b, *c;
    volatile float sink;
} work;

static void matmul(int n, const float *restrict a, const float *restrict b, float *restrict c) {
    for (int i = 0; i < n; i++) {
        float *restrict ci = c + (size_t)i * (size_t)n;
        for (int j = 0; j < n; j++) ci[j] = 0;
        for (int k = 0; k < n; k++) {
            const float aik = a[(size_t)i * (size_t)n + (size_t)k];
            const float *restrict bk = b + (size_t)k * (size_t)n;
            for (int j = 0; j < n; j++) ci[j] += aik * bk[j];
        }
    }
}

static dlb_status work_run(void *ctx) {
    work *w = ctx;
    for (int t = 0; t < w->times; t++) matmul(w->n, w->a, w->b, w->c);
    w->sink = w->c[w->n + 1];
    return DLB_OK;
}

static bool work_alloc(work *w) {
    size_t sz = (size_t)w->n * (size_t)w->n * sizeof(float);
    w->a = malloc(sz);
    w->b = malloc(sz);
    w->c = malloc(sz); /* left untouched: the first run takes its page faults, as a new brick */
    if (!w->a || !w->b || !w->c) return false;
    for (int i = 0; i < w->n * w->n; i++) {
        w->a[i] = (float)(i % 7) * 0.25f;
        w->b[i] = (float)(i % 5) * 0.5f;
    }
    return true;
}

static void work_free(work *w) {
    free(w->a);
    free(w->b);
    free(w->c);
    w->a = w->b = w->c = NULL;
}

static unsigned char *flush_buf;
static void flush_caches(void *ctx) {
    (void)ctx;
    for (size_t i = 0; i < FLUSH_BYTES; i += 64) flush_buf[i]++;
}

static void print_load(const char *when) {
    char line[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    printf("load average %s: %s%s", when, line, strchr(line, '\n') ? "" : "\n");
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median_of(double *v, int n) { /* sorts v */
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Repeat-to-repeat spread of the reported median, in % of the median of the medians:
 * range (max - min), RSD (stddev / mean) and MAD (median absolute deviation; robust to the
 * odd repeat that ran while another process shared the core). */
typedef struct spread {
    double center, range_pct, rsd_pct, mad_pct;
    int within1; /* repeats whose median is within +-1% of the median of the medians */
} spread;

static spread spread_of(const double *m, int n) {
    double *v = malloc((size_t)n * sizeof *v), mean = 0, ss = 0;
    memcpy(v, m, (size_t)n * sizeof *v);
    spread s = {.center = median_of(v, n)};
    for (int i = 0; i < n; i++) mean += m[i] / n;
    for (int i = 0; i < n; i++) ss += (m[i] - mean) * (m[i] - mean);
    s.range_pct = 100.0 * (v[n - 1] - v[0]) / s.center;
    s.rsd_pct = n > 1 ? 100.0 * sqrt(ss / (n - 1)) / mean : 0;
    for (int i = 0; i < n; i++) {
        v[i] = fabs(m[i] - s.center);
        s.within1 += v[i] <= 0.01 * s.center;
    }
    s.mad_pct = 100.0 * median_of(v, n) / s.center;
    free(v);
    return s;
}

static void report_clock(void) {
    struct timespec res;
    clock_getres(CLOCK_MONOTONIC, &res);
    enum { N = 200000 };
    static double d[N];
    for (int i = 0; i < N; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        d[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    }
    double med = median_of(d, N);
    printf("clock: CLOCK_MONOTONIC resolution %ld ns; back-to-back clock_gettime median %.0f ns, "
           "p99 %.0f ns\n",
           (long)res.tv_nsec + (long)res.tv_sec * 1000000000L, med, d[(int)(0.99 * N)]);
    double t = now_ms();
    flush_caches(NULL);
    flush_caches(NULL);
    t = now_ms() - t;
    printf("flush: touching %u MiB costs %.2f ms per flush\n\n", FLUSH_BYTES >> 20, t / 2);
}

/* Scalar code at -O2 (GCC does not vectorise these loops for a run-time n). */
static work works[] = {
    {"mm32", 32, 1},     /* ~10 us */
    {"mm64", 64, 1},     /* ~0.1 ms */
    {"mm144", 144, 1},   /* ~1 ms */
    {"mm256x2", 256, 2}, /* ~10 ms (min_reps experiment only) */
};
enum { N_WORKS_MT = 3, W_SLOW = 3 };

static dlb_timing_settings base_settings(void) {
    dlb_timing_settings s;
    dlb_timing_defaults(&s);
    s.max_reps = 0;
    s.max_samples = 1 << 30; /* keep everything: experiment D thins by hand */
    s.cold_cache = false;
    return s;
}

/* A: min_time_ms sweep (min_reps 1): spread of the median over repeats, and the cost. */
static void exp_min_time(int repeats) {
    static const double mts[] = {10, 50, 100, 200, 500};
    enum { NMT = sizeof mts / sizeof mts[0] };
    double *med = calloc((size_t)(N_WORKS_MT * NMT * repeats), sizeof *med);
    double reps[N_WORKS_MT][NMT] = {{0}}, wall[N_WORKS_MT][NMT] = {{0}},
           ci[N_WORKS_MT][NMT] = {{0}};
    for (int r = 0; r < repeats; r++) /* interleaved so that drift hits every setting alike */
        for (int w = 0; w < N_WORKS_MT; w++)
            for (int m = 0; m < NMT; m++) {
                dlb_timing_settings s = base_settings();
                s.min_time_ms = mts[m];
                s.min_reps = 1;
                dlb_timing_result res;
                if (dlb_time_runs(work_run, NULL, &works[w], &s, &res) != DLB_OK) exit(1);
                med[(w * NMT + m) * repeats + r] = res.stats.median;
                reps[w][m] += (double)res.stats.n / repeats;
                wall[w][m] += res.wall_ms / repeats;
                ci[w][m] +=
                    50.0 * (res.stats.ci_high - res.stats.ci_low) / res.stats.median / repeats;
                dlb_timing_result_free(&res);
            }
    printf("A. min_time_ms sweep (min_reps 1, warm-up %d), %d repeats each\n",
           base_settings().warmup_reps, repeats);
    printf("%-8s %7s %10s %8s %7s %7s %5s %7s %8s %9s\n", "work", "min_ms", "median_ms", "range%",
           "rsd%", "mad%", "in1%", "ci+-%", "reps", "cost_ms");
    for (int w = 0; w < N_WORKS_MT; w++)
        for (int m = 0; m < NMT; m++) {
            spread sp = spread_of(&med[(w * NMT + m) * repeats], repeats);
            printf("%-8s %7.0f %10.4f %8.2f %7.2f %7.2f %2d/%-2d %7.2f %8.0f %9.1f\n",
                   works[w].name, mts[m], sp.center, sp.range_pct, sp.rsd_pct, sp.mad_pct,
                   sp.within1, repeats, ci[w][m], reps[w][m], wall[w][m]);
        }
    printf("\n");
    free(med);
}

/* B: min_reps sweep for a slow brick (min_time 0 so min_reps alone stops). */
static void exp_min_reps(int repeats) {
    static const int mrs[] = {3, 6, 10, 20};
    enum { NMR = sizeof mrs / sizeof mrs[0] };
    double *med = calloc((size_t)(NMR * repeats), sizeof *med), wall[NMR] = {0};
    for (int r = 0; r < repeats; r++)
        for (int m = 0; m < NMR; m++) {
            dlb_timing_settings s = base_settings();
            s.min_time_ms = 0;
            s.min_reps = mrs[m];
            dlb_timing_result res;
            if (dlb_time_runs(work_run, NULL, &works[W_SLOW], &s, &res) != DLB_OK) exit(1);
            med[m * repeats + r] = res.stats.median;
            wall[m] += res.wall_ms / repeats;
            dlb_timing_result_free(&res);
        }
    printf("B. min_reps sweep on %s (min_time 0), %d repeats each\n", works[W_SLOW].name, repeats);
    printf("%-8s %8s %10s %8s %7s %7s %5s %9s\n", "work", "min_reps", "median_ms", "range%", "rsd%",
           "mad%", "in1%", "cost_ms");
    for (int m = 0; m < NMR; m++) {
        spread sp = spread_of(&med[m * repeats], repeats);
        printf("%-8s %8d %10.4f %8.2f %7.2f %7.2f %2d/%-2d %9.1f\n", works[W_SLOW].name, mrs[m],
               sp.center, sp.range_pct, sp.rsd_pct, sp.mad_pct, sp.within1, repeats, wall[m]);
    }
    printf("\n");
    free(med);
}

/* C: first runs of a fresh brick after the caches were thrashed, relative to steady state. */
static void exp_warmup(int repeats) {
    enum { FIRST = 6, STEADY = 30 };
    printf("C. warm-up: run i / steady median (fresh buffers, caches thrashed before), median "
           "over %d trials\n%-8s",
           repeats, "work");
    for (int i = 1; i <= FIRST; i++) printf("  run%-3d", i);
    printf("\n");
    for (int w = 0; w < N_WORKS_MT + 1; w++) {
        double *ratio = calloc((size_t)(FIRST * repeats), sizeof *ratio), steady[STEADY];
        for (int r = 0; r < repeats; r++) {
            work fresh = works[w];
            flush_caches(NULL);
            if (!work_alloc(&fresh)) exit(1);
            double first[FIRST];
            for (int i = 0; i < FIRST; i++) {
                double t = now_ms();
                work_run(&fresh);
                first[i] = now_ms() - t;
            }
            for (int i = 0; i < STEADY; i++) {
                double t = now_ms();
                work_run(&fresh);
                steady[i] = now_ms() - t;
            }
            double sm = median_of(steady, STEADY);
            for (int i = 0; i < FIRST; i++) ratio[i * repeats + r] = first[i] / sm;
            work_free(&fresh);
        }
        printf("%-8s", works[w].name);
        for (int i = 0; i < FIRST; i++) printf("  %6.3f", median_of(&ratio[i * repeats], repeats));
        printf("\n");
        free(ratio);
    }
    printf("\n");
}

/* D: evenly thinned samples (index floor(i n / m)) vs all samples: worst deviation, in %. */
static void exp_thinning(int repeats) {
    static const int ms[] = {16, 64, 256, 1024};
    enum { NM = sizeof ms / sizeof ms[0] };
    double dev_med[NM] = {0}, dev_p90[NM] = {0}, ci_pct = 0, n_all = 0;
    for (int r = 0; r < repeats; r++) {
        dlb_timing_settings s = base_settings();
        s.min_time_ms = 100;
        s.min_reps = 1;
        dlb_timing_result res;
        if (dlb_time_runs(work_run, NULL, &works[0], &s, &res) != DLB_OK) exit(1);
        int n = res.n_samples;
        n_all += (double)n / repeats;
        ci_pct += 50.0 * (res.stats.ci_high - res.stats.ci_low) / res.stats.median / repeats;
        double *sub = malloc((size_t)n * sizeof *sub);
        for (int k = 0; k < NM; k++) {
            int m = ms[k] < n ? ms[k] : n;
            for (int i = 0; i < m; i++) sub[i] = res.samples[(int64_t)i * n / m];
            dlb_stats st;
            if (dlb_stats_compute(sub, m, &st) != DLB_OK) exit(1);
            double dm = 100.0 * fabs(st.median / res.stats.median - 1);
            double dp = 100.0 * fabs(st.p90 / res.stats.p90 - 1);
            if (dm > dev_med[k]) dev_med[k] = dm;
            if (dp > dev_p90[k]) dev_p90[k] = dp;
        }
        free(sub);
        dlb_timing_result_free(&res);
    }
    printf("D. thinning %s (min_time 100 ms: %.0f samples, median CI +-%.2f%%), worst of %d\n",
           works[0].name, n_all, ci_pct, repeats);
    printf("%-12s %14s %14s\n", "max_samples", "median_dev%", "p90_dev%");
    for (int k = 0; k < NM; k++) printf("%-12d %14.3f %14.3f\n", ms[k], dev_med[k], dev_p90[k]);
    printf("\n");
}

int main(int argc, char **argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 10;
    if (repeats < 2) repeats = 2;
    flush_buf = calloc(FLUSH_BYTES, 1);
    if (!flush_buf) return 1;
    for (size_t w = 0; w < sizeof works / sizeof works[0]; w++)
        if (!work_alloc(&works[w])) return 1;
    dlb_thread_info ti;
    if (dlb_threads_setup(1, &ti) == DLB_OK)
        printf("binding %s (%d PUs)\n", ti.binding, ti.pus_in_binding);
    print_load("at start");
    report_clock();
    exp_warmup(repeats);
    exp_min_time(repeats);
    exp_min_reps(repeats);
    exp_thinning(repeats);
    print_load("at end");
    for (size_t w = 0; w < sizeof works / sizeof works[0]; w++) work_free(&works[w]);
    free(flush_buf);
    return 0;
}
