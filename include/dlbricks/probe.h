/* probe.h — the host probe: two fixed kernels timed through the executor on every rank at a run's
 * start and end, so that runs, hours and hosts can be told apart (docs/timing.md, section 5). */
#ifndef DLBRICKS_PROBE_H
#define DLBRICKS_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "dlbricks/diag.h"
#include "dlbricks/status.h"

/* Compute: an f32 matmul of M = N = K = DLB_PROBE_MATMUL_DIM (3 MiB of operands, mostly in a
 * core's private caches): what the cores deliver.  Memory: y = a + b over three f32 arrays of
 * dlb_host_probe_stream_bytes() each (STREAM's "add"): what the memory system delivers. */
#define DLB_PROBE_MATMUL_DIM 512
#define DLB_PROBE_STREAM_MIN_MIB 16
#define DLB_PROBE_STREAM_MAX_MIB 128
#define DLB_PROBE_MIN_TIME_MS 100.0 /* each kernel, default */

typedef struct dlb_host_probe {
    double gflops;     /* 2 M N K / median time of the matmul, 1e9 FLOP/s */
    double stream_gbs; /* 3 x array bytes / median time of the add, 1e9 B/s (STREAM counts
                          the bytes a program names, not the write-allocate reads) */
    double compute_ms; /* the medians */
    double stream_ms;
    int32_t stream_mib; /* the add's working set: three arrays, MiB */
    int32_t ok;         /* 1: both kernels ran and were timed */
} dlb_host_probe;

/** \brief Bytes of each of the stream kernel's arrays for a process whose binding reaches
 *  \p llc_bytes of last-level cache (0: unknown): as many (the three arrays are then three times
 *  that cache), at least DLB_PROBE_STREAM_MIN_MIB, at most DLB_PROBE_STREAM_MAX_MIB MiB. */
size_t dlb_host_probe_stream_bytes(uint64_t llc_bytes);

/** \brief Time both kernels in this process with its threads (call after dlb_threads_setup):
 *  warm-up, then repetitions until \p min_time_ms and 5 repetitions; the figures come from the
 *  medians.  Creation and data fills are outside the timed region.
 *  \return DLB_OK (out->ok = 1); an executor or timing error, reported through \p diag, with
 *  out->ok = 0 and the figures of a kernel that did not run left 0 */
dlb_status dlb_host_probe_run(size_t stream_bytes, double min_time_ms, dlb_diag *diag,
                              dlb_host_probe *out);

/** \brief "gflops=G compute_ms=C stream_gbs=B stream_ms=S stream_mib=M" (or "failed") into
 *  \p buf. */
void dlb_host_probe_format(const dlb_host_probe *p, char *buf, size_t size);

#endif
