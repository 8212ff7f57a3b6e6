/* host_probe.c — the host probe: a compute-bound matmul and a memory-bound add, one-op networks
 * run by the executor and timed by the harness, as every brick is. */
#include "dlbricks/probe.h"

#include <stdio.h>

#include "dlbricks/exec.h"
#include "dlbricks/timing.h"

size_t dlb_host_probe_stream_bytes(uint64_t llc_bytes) {
    const uint64_t mib = (uint64_t)1 << 20;
    uint64_t b = llc_bytes;
    if (b < DLB_PROBE_STREAM_MIN_MIB * mib) b = DLB_PROBE_STREAM_MIN_MIB * mib;
    if (b > DLB_PROBE_STREAM_MAX_MIB * mib) b = DLB_PROBE_STREAM_MAX_MIB * mib;
    return (size_t)(b / mib * mib); /* whole MiB: the rows below are 1024 floats */
}

static dlb_status run_net(void *ctx) {
    return dlb_net_run(ctx);
}

/* Create the one-op network, time it, and return its median (ms). */
static dlb_status time_op(const dlb_op_spec *s, const char *name, double min_time_ms,
                          dlb_diag *diag, double *median_ms) {
    dlb_netdesc d = {.n_ops = 1, .ops = s, .name = name};
    dlb_net *net = NULL;
    dlb_status st = dlb_net_create(&d, NULL, diag, &net);
    if (st != DLB_OK) return st;
    dlb_timing_settings ts = {.min_time_ms = min_time_ms, .min_reps = 5, .warmup_reps = 2};
    dlb_timing_result r = {0};
    st = dlb_time_runs(run_net, NULL, net, &ts, &r);
    if (st == DLB_OK)
        *median_ms = r.stats.median;
    else
        dlb_error(diag, name, "host probe: timing failed: %s", dlb_strerror(st));
    dlb_timing_result_free(&r);
    dlb_net_free(net);
    return st;
}

dlb_status dlb_host_probe_run(size_t stream_bytes, double min_time_ms, dlb_diag *diag,
                              dlb_host_probe *out) {
    *out = (dlb_host_probe){0};
    if (stream_bytes < 4096 || !(min_time_ms > 0)) return DLB_EINVAL;
    const int64_t D = DLB_PROBE_MATMUL_DIM;
    dlb_operand a = {.dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {D, D}}, .plain_layout = 1};
    dlb_operand w = a, y = a;
    dlb_op_spec mm = {
        .op = DLB_LOP_MATMUL, .n_src = 1, .n_wei = 1, .n_dst = 1, .src = &a, .wei = &w, .dst = &y};
    dlb_status st = time_op(&mm, "host probe matmul", min_time_ms, diag, &out->compute_ms);
    if (st != DLB_OK) return st;
    out->gflops = 2.0 * (double)(D * D * D) / (out->compute_ms * 1e6);

    int64_t rows = (int64_t)(stream_bytes / (1024 * sizeof(float)));
    dlb_operand v = {
        .dtype = DLB_DT_F32, .shape = {.rank = 2, .dims = {rows, 1024}}, .plain_layout = 1};
    dlb_operand src[2] = {v, v}, dst = v;
    dlb_op_spec add = {
        .op = DLB_LOP_BINARY, .alg = DLB_ALG_ADD, .n_src = 2, .n_dst = 1, .src = src, .dst = &dst};
    st = time_op(&add, "host probe add", min_time_ms, diag, &out->stream_ms);
    if (st != DLB_OK) return st;
    double bytes = 3.0 * (double)rows * 1024 * sizeof(float);
    out->stream_gbs = bytes / (out->stream_ms * 1e6);
    out->stream_mib = (int32_t)(bytes / (1 << 20));
    out->ok = 1;
    return DLB_OK;
}

void dlb_host_probe_format(const dlb_host_probe *p, char *buf, size_t size) {
    if (!p->ok) {
        snprintf(buf, size, "failed");
        return;
    }
    snprintf(buf, size, "gflops=%.2f compute_ms=%.4f stream_gbs=%.2f stream_ms=%.3f stream_mib=%d",
             p->gflops, p->compute_ms, p->stream_gbs, p->stream_ms, (int)p->stream_mib);
}
