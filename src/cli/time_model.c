/* time_model.c — --time-model: one whole model through the same executor that times bricks. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "dlbricks/exec.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "dlbricks/timing.h"

void dlb_cli_timing_settings(const dlb_cli_options *opt, dlb_timing_settings *s) {
    dlb_timing_defaults(s);
    if (opt->min_time_ms >= 0) s->min_time_ms = opt->min_time_ms;
    if (opt->min_reps > 0) s->min_reps = opt->min_reps;
    s->cold_cache = opt->cold_cache;
    /* Bricks only (a whole model has its weights as they come); --cold-cache evicts all. */
    s->cold_weights = !opt->warm_weights && !opt->cold_cache;
    /* A flush costs ~25 ms here: cap the repetitions of tiny bricks (docs/timing.md). */
    if (s->cold_cache && s->max_reps == 0) s->max_reps = 50;
}

static dlb_status run_net(void *ctx) {
    return dlb_net_run(ctx);
}

static void flush_net(void *ctx) {
    dlb_net_flush_caches(ctx);
}

dlb_status dlb_cli_model_open(const char *path, const void *buf, size_t len, int64_t batch,
                              const dlb_cli_options *opt, dlb_cli_model *m) {
    memset(m, 0, sizeof *m);
    m->diag.file = path;
    dlb_netdesc nd;
    dlb_status st = buf ? dlb_graph_load_buffer(buf, len, path, &m->diag, &m->g)
                        : dlb_graph_load(path, &m->diag, &m->g);
    if (st == DLB_OK) dlb_graph_apply_batch(m->g, batch);
    if (st == DLB_OK) st = dlb_graph_infer_shapes(m->g, &m->diag);
    dlb_lower_options lo = {.fuse = opt->fuse,
                            .cold_distance = opt->cold_distance,
                            .weights_distance = opt->weights_distance,
                            .bnorm_cached_output = opt->dtype != DLB_DT_F32};
    if (st == DLB_OK) st = dlb_lower(m->g, &lo, &m->diag, &m->l);
    if (st == DLB_OK) {
        int64_t all = 0, covered = 0;
        for (int i = 0; i < m->l->n_layers; i++) {
            all += m->l->layers[i].flops;
            if (m->l->layers[i].covered) covered += m->l->layers[i].flops;
        }
        /* Uncovered layers have no FLOP count; count them as layers instead. */
        m->coverage = all > 0 ? (double)covered / (double)all : 0;
        for (int i = 0; i < m->l->n_layers; i++)
            if (!m->l->layers[i].covered && m->coverage >= 1) m->coverage = 0.999;
        if (opt->dtype != DLB_DT_F32) dlb_lowered_set_dtype(m->l, opt->dtype);
        st = dlb_netdesc_of_model(m->l, &m->diag, &nd);
    }
    if (st == DLB_OK) st = dlb_net_create(&nd, NULL, &m->diag, &m->net);
    if (st != DLB_OK && m->diag.n_errors == 0) dlb_error(&m->diag, NULL, "%s", dlb_strerror(st));
    if (st != DLB_OK) dlb_cli_model_close(m);
    return st;
}

dlb_status dlb_cli_model_time(dlb_cli_model *m, const dlb_timing_settings *ts,
                              dlb_timing_result *res) {
    dlb_timing_settings whole = *ts;
    whole.cold_weights = false;
    dlb_status st = dlb_time_runs(run_net, flush_net, m->net, &whole, res);
    if (st != DLB_OK) dlb_error(&m->diag, NULL, "whole-model run failed: %s", dlb_strerror(st));
    return st;
}

void dlb_cli_model_close(dlb_cli_model *m) {
    dlb_net_free(m->net);
    dlb_lowered_free(m->l);
    dlb_graph_free(m->g);
    m->net = NULL;
    m->l = NULL;
    m->g = NULL;
}

dlb_status dlb_cli_measure_model(const char *path, int64_t batch, const dlb_cli_options *opt,
                                 dlb_timing_result *res, double *coverage, size_t *net_bytes) {
    dlb_cli_model m;
    memset(res, 0, sizeof *res);
    dlb_status st = dlb_cli_model_open(path, NULL, 0, batch, opt, &m);
    if (st != DLB_OK) return st;
    *coverage = m.coverage;
    if (net_bytes) *net_bytes = dlb_net_memory_bytes(m.net);
    dlb_timing_settings ts;
    dlb_cli_timing_settings(opt, &ts);
    st = dlb_cli_model_time(&m, &ts, res);
    dlb_cli_model_close(&m);
    return st;
}

dlb_status dlb_cli_threads_setup(const dlb_cli_options *opt, dlb_thread_info *ti) {
    dlb_status st = dlb_threads_setup(opt->threads, ti);
    if (st == DLB_OK && dlb_denormals_setup(!opt->keep_denormals) != DLB_OK)
        fprintf(stderr, "warning: --denormals flush: this CPU's threads keep subnormal floats\n");
    return st;
}

dlb_status dlb_cli_time_model(const dlb_cli_options *opt, FILE *out) {
    dlb_thread_info ti;
    dlb_status st = dlb_cli_threads_setup(opt, &ti);
    if (st != DLB_OK) return st;
    dlb_timing_result res;
    double coverage = 0;
    size_t bytes = 0;
    int64_t batch = opt->n_batches > 0 ? opt->batches[0] : 0;
    st = dlb_cli_measure_model(opt->time_model, batch, opt, &res, &coverage, &bytes);
    if (st != DLB_OK) return st;
    const char *base = strrchr(opt->time_model, '/');
    base = base ? base + 1 : opt->time_model;
    size_t len = strcspn(base, ".");
    fprintf(out, "model: %.*s median_ms=%.4f min_ms=%.4f p90_ms=%.4f coverage=%.3f\n", (int)len,
            base, res.stats.median, res.stats.min, res.stats.p90, coverage);
    fprintf(stderr,
            "note: %s: %" PRId64 " reps, mean %.4f ms, stddev %.4f ms, 95%% CI of median "
            "[%.4f, %.4f] ms, threads %d, binding %s, isa %s, dtype %s, buffers %.1f MiB\n",
            opt->time_model, res.stats.n, res.stats.mean, res.stats.stddev, res.stats.ci_low,
            res.stats.ci_high, ti.threads, ti.binding, dlb_exec_isa(), dlb_dtype_name(opt->dtype),
            bytes / 1048576.0);
    dlb_timing_result_free(&res);
    return DLB_OK;
}
