/* timing.h — benchdnn-style timing harness, statistics and thread/binding setup. */
#ifndef DLBRICKS_TIMING_H
#define DLBRICKS_TIMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dlbricks/status.h"

typedef struct dlb_timing_settings {
    double min_time_ms; /* keep repeating until this much time was measured ... */
    int min_reps;       /* ... and at least this many repetitions */
    int max_reps;       /* hard cap on repetitions (0: none) */
    int warmup_reps;    /* unmeasured executions first (>= 1: the first run generates kernels) */
    int max_samples;    /* raw samples kept (evenly thinned beyond this); statistics use all */
    bool cold_cache;    /* call the flush hook before every repetition (not timed) */
    bool cold_weights;  /* call it too: the caller points the weights at the next cold copy */
    bool flush_counts;  /* the hook's time counts toward min_time_ms (a hook that does work a
                           model does between two runs of a layer, e.g. evicting caches, so
                           that it would otherwise multiply the measurement's cost) */
} dlb_timing_settings;

/** \brief Defaults (chosen by measurement; see docs/timing.md). */
void dlb_timing_defaults(dlb_timing_settings *s);

/* Statistics of a sample, milliseconds. ci_* = distribution-free 95% CI of the median. */
typedef struct dlb_stats {
    int64_t n;
    double min, max, mean, stddev, median, p90, ci_low, ci_high;
} dlb_stats;

typedef struct dlb_timing_result {
    dlb_stats stats;
    double *samples; /* kept samples (ms), in measurement order; free with the result */
    int n_samples;
    double wall_ms; /* wall time of the whole measurement including warm-up and flushes */
} dlb_timing_result;

/* One execution; must be synchronous (return after the work is done). */
typedef dlb_status (*dlb_run_fn)(void *ctx);
/* Cold-cache hook, called before each timed repetition when settings.cold_cache is set. */
typedef void (*dlb_flush_fn)(void *ctx);

/** \brief Warm up, then time repetitions one by one with CLOCK_MONOTONIC until both
 *  min_time_ms and min_reps are reached (or max_reps).  A non-OK status from \p run stops the
 *  measurement and is returned. */
dlb_status dlb_time_runs(dlb_run_fn run, dlb_flush_fn flush, void *ctx,
                         const dlb_timing_settings *s, dlb_timing_result *out);
void dlb_timing_result_free(dlb_timing_result *r);

/** \brief Statistics of x[0..n) (x is not modified). */
dlb_status dlb_stats_compute(const double *x, int64_t n, dlb_stats *out);

/* Subnormal floats (docs/timing.md, "Subnormal numbers").  A subnormal operand or result costs
 * an x86 core a microcode assist of a hundred cycles or more, so a layer's time depends on its
 * data: bricks read random data in [-1, 1] and never meet one, while a whole model may make
 * many (swish and sigmoid of large negative values).  Inference runtimes flush them to zero. */
/** \brief Flush subnormal floats to zero (FTZ and DAZ) in the calling thread and every thread
 *  of OpenMP's pool (\p flush true), or keep them (false).  Call after dlb_threads_setup; threads
 *  created later by these inherit the mode.
 *  \return DLB_OK, or DLB_EUNSUPPORTED where the mode cannot be set (flush on a non-x86 CPU) */
dlb_status dlb_denormals_setup(bool flush);
/** \brief Does the calling thread flush subnormal floats (both FTZ and DAZ)? */
bool dlb_denormals_flushed(void);

/* Threads and binding of this process. */
typedef struct dlb_thread_info {
    int threads;        /* OpenMP threads set for oneDNN */
    int pus_in_binding; /* PUs in the process's CPU binding */
    char binding[256];  /* the binding as a hwloc list string, e.g. "0-1" */
    uint64_t llc_bytes; /* last-level cache the binding reaches: the sum of the caches of the
                           deepest cache level over it (hwloc); 0 when unknown */
} dlb_thread_info;

/** \brief Read the process binding with hwloc and set OpenMP's thread count to \p requested,
 *  or, when requested <= 0, to the number of PUs in the binding. */
dlb_status dlb_threads_setup(int requested, dlb_thread_info *info);

#endif
