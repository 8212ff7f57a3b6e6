/* fma_peak.c — single-core f32 FMA throughput (the machine's compute peak for the peers table).
 *
 * Build: cc -O3 -o /tmp/fma_peak   (the kernels pick their ISA by attribute)
 *         tests/bench/peers/fma_peak.c
 * Run:   taskset -c 0 /tmp/fma_peak [SECONDS]      (default 1 s per kernel, best of 5)
 *
 * Each kernel keeps NACC independent accumulators (enough to hide the FMA latency on every
 * recent x86 core) and does acc = acc * b + c in a loop with no loads.  FLOPs counted as
 * 2 per lane per FMA.  Prints GFLOP/s for AVX2 (8 lanes) and AVX-512 (16 lanes). */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NACC 12
#define INNER 1000

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define KERNEL(NAME, VT, SET1, FMA, ADD, LANES, ATTR)                                              \
    ATTR static double NAME(long iters, float *sink) {                                             \
        VT acc[NACC];                                                                              \
        for (int i = 0; i < NACC; i++) acc[i] = SET1(1.0f + 1e-3f * (float)i);                     \
        VT b = SET1(0.999999f), c = SET1(1e-7f);                                                   \
        for (long it = 0; it < iters; it++) {                                                      \
            for (int k = 0; k < INNER; k++) {                                                      \
                _Pragma("GCC unroll 12") for (int i = 0; i < NACC; i++) acc[i] =                   \
                    FMA(acc[i], b, c);                                                             \
            }                                                                                      \
            __asm__ volatile("" ::: "memory");                                                     \
        }                                                                                          \
        VT s = acc[0];                                                                             \
        for (int i = 1; i < NACC; i++) s = ADD(s, acc[i]);                                         \
        float out[LANES];                                                                          \
        memcpy_vec(out, &s, sizeof s);                                                             \
        *sink += out[0];                                                                           \
        return 2.0 * LANES * NACC * INNER * (double)iters;                                         \
    }

static void memcpy_vec(float *dst, const void *src, size_t n) {
    const float *s = src;
    for (size_t i = 0; i < n / sizeof(float); i++) dst[i] = s[i];
}

KERNEL(fma_avx2, __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, 8,
       __attribute__((target("avx2,fma"))))
KERNEL(fma_avx512, __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, 16,
       __attribute__((target("avx512f"))))

typedef double (*kern)(long, float *);

static double measure(kern k, double seconds, float *sink) {
    long iters = 1000;
    double t0 = now();
    k(iters, sink);
    double dt = now() - t0;
    if (dt > 0) iters = (long)(iters * (seconds / 5.0) / dt) + 1; /* ~seconds/5 per try */
    double best = 0;
    for (int r = 0; r < 5; r++) {
        t0 = now();
        double flops = k(iters, sink);
        dt = now() - t0;
        if (flops / dt > best) best = flops / dt;
    }
    return best * 1e-9;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    float sink = 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        printf("fma_peak avx2    GFLOP/s=%.1f\n", measure(fma_avx2, seconds, &sink));
    if (__builtin_cpu_supports("avx512f"))
        printf("fma_peak avx512  GFLOP/s=%.1f\n", measure(fma_avx512, seconds, &sink));
    return sink == 12345.0f ? 1 : 0;
}
