/* test_probe.c — the host probe: array sizes, figures consistent with the medians behind them,
 * refused settings, and the text stored in a run's provenance. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dlbricks/probe.h"
#include "dlbricks/timing.h"
#include "test_util.h"

#define MIB ((size_t)1 << 20)

static void test_stream_bytes(void) {
    ASSERT_EQ_INT(dlb_host_probe_stream_bytes(0), DLB_PROBE_STREAM_MIN_MIB * MIB); /* unknown */
    ASSERT_EQ_INT(dlb_host_probe_stream_bytes(2 * MIB), DLB_PROBE_STREAM_MIN_MIB * MIB);
    ASSERT_EQ_INT(dlb_host_probe_stream_bytes(100 * MIB + 12345), 100 * MIB); /* whole MiB */
    ASSERT_EQ_INT(dlb_host_probe_stream_bytes((uint64_t)480 * MIB), DLB_PROBE_STREAM_MAX_MIB * MIB);
}

static void test_run(void) {
    dlb_thread_info ti;
    ASSERT_EQ_INT(dlb_threads_setup(1, &ti), DLB_OK);
    dlb_host_probe p;
    test_diag_buf buf = {0};
    dlb_diag diag = {.file = "test", .emit = test_diag_capture, .ctx = &buf};
    ASSERT_EQ_INT(dlb_host_probe_run(4 * MIB, 5.0, &diag, &p), DLB_OK);
    if (buf.n) fprintf(stderr, "%s", buf.text);
    ASSERT_EQ_INT(p.ok, 1);
    ASSERT(p.compute_ms > 0 && p.stream_ms > 0);
    /* the figures are the kernels' work over their medians */
    double D = DLB_PROBE_MATMUL_DIM;
    ASSERT(fabs(p.gflops - 2 * D * D * D / (p.compute_ms * 1e6)) <= 1e-9 * p.gflops);
    ASSERT(fabs(p.stream_gbs - 3.0 * 4 * MIB / (p.stream_ms * 1e6)) <= 1e-9 * p.stream_gbs);
    ASSERT_EQ_INT(p.stream_mib, 12); /* three arrays of 4 MiB */
    char text[256];
    dlb_host_probe_format(&p, text, sizeof text);
    double g = 0, c = 0, s = 0, sm = 0;
    int mib = 0;
    ASSERT_EQ_INT(sscanf(text,
                         "gflops=%lf compute_ms=%lf stream_gbs=%lf stream_ms=%lf stream_mib=%d", &g,
                         &c, &s, &sm, &mib),
                  5);
    ASSERT(fabs(g - p.gflops) <= 0.01 && fabs(s - p.stream_gbs) <= 0.01 && mib == 12);
}

static void test_refused(void) {
    dlb_host_probe p = {.ok = 1, .gflops = 1};
    ASSERT_EQ_INT(dlb_host_probe_run(100, 5.0, NULL, &p), DLB_EINVAL); /* under a page */
    ASSERT_EQ_INT(p.ok, 0);
    ASSERT(p.gflops == 0);
    ASSERT_EQ_INT(dlb_host_probe_run(4 * MIB, 0, NULL, &p), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_host_probe_run(4 * MIB, NAN, NULL, &p), DLB_EINVAL);
    char text[64];
    dlb_host_probe_format(&p, text, sizeof text);
    ASSERT_STREQ(text, "failed");
}

int main(void) {
    test_stream_bytes();
    test_refused();
    test_run();
    return test_summary("test_probe");
}
