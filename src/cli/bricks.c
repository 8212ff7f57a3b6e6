/* bricks.c — the main job in one process: time every unique brick once, compose the models. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlbricks/exec.h"
#include "dlbricks/timing.h"

typedef dlb_cli_brick_result brick_result;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static dlb_status run_net(void *ctx) {
    return dlb_net_run(ctx);
}

static void flush_net(void *ctx) {
    dlb_net_flush_caches(ctx);
}

/* Time one brick; failures are reported with the brick id and op, and the run goes on. */
static void time_brick(const dlb_brick *b, const dlb_timing_settings *ts, brick_result *r,
                       double *timing_s) {
    char where[64];
    snprintf(where, sizeof where, "brick %016" PRIx64 " (%s)", b->id, dlb_lop_name(b->ops[0].op));
    dlb_diag d = {.file = where};
    dlb_netdesc nd;
    dlb_net *net = NULL;
    dlb_timing_result res = {0};
    memset(r, 0, sizeof *r);
    dlb_netdesc_of_brick(b, &nd);
    nd.name = NULL; /* messages name the brick through the diag file field */
    r->status = dlb_net_create(&nd, NULL, &d, &net);
    if (r->status == DLB_OK) {
        double t0 = now_s();
        r->status = dlb_time_runs(run_net, ts->cold_cache ? flush_net : NULL, net, ts, &res);
        *timing_s += now_s() - t0;
        if (r->status != DLB_OK) dlb_error(&d, NULL, "run failed: %s", dlb_strerror(r->status));
        r->stats = res.stats;
        snprintf(r->impl, sizeof r->impl, "%s", dlb_net_impl(net, 0));
    } else if (d.n_errors == 0) {
        dlb_error(&d, NULL, "cannot build: %s", dlb_strerror(r->status));
    }
    dlb_timing_result_free(&res);
    dlb_net_free(net);
}

/* The deterministic "dummy" backend (IOR's DUMMY pattern): a brick "takes"
 * 1 us + flops / 50 GFLOP/s + bytes / 20 GB/s, every repetition alike, so orchestration,
 * composition and storage can be tested exactly.  DLB_DUMMY_FAIL=<hex prefix> makes the bricks
 * whose id starts with it fail, as a oneDNN error would. */
static void dummy_brick(const dlb_brick *b, const dlb_timing_settings *ts, brick_result *r) {
    memset(r, 0, sizeof *r);
    char id[17];
    snprintf(id, sizeof id, "%016" PRIx64, b->id);
    const char *fail = getenv("DLB_DUMMY_FAIL");
    if (fail && *fail && !strncmp(id, fail, strlen(fail))) {
        dlb_diag d = {.file = "dummy"};
        dlb_error(&d, NULL, "brick %s (%s): injected failure", id, dlb_lop_name(b->ops[0].op));
        r->status = DLB_EDNNL;
        return;
    }
    double ms = 1e-3 + (double)b->flops / 50e9 * 1e3 + (double)b->bytes / 20e9 * 1e3;
    dlb_stats *s = &r->stats;
    s->n = ts->min_reps > 0 ? ts->min_reps : 1;
    s->min = s->max = s->mean = s->median = s->p90 = s->ci_low = s->ci_high = ms;
    snprintf(r->impl, sizeof r->impl, "dummy");
}

void dlb_cli_time_one_brick(const dlb_cli_options *opt, const dlb_timing_settings *ts,
                            const dlb_brick *b, dlb_cli_brick_result *r, double *timing_s) {
    if (opt->dummy)
        dummy_brick(b, ts, r);
    else
        time_brick(b, ts, r, timing_s);
}

static void progress(int done, int total, double start, bool final) {
    static double last;
    double t = now_s();
    if (!final && t - last < (isatty(STDERR_FILENO) ? 0.5 : 10.0)) return;
    last = t;
    double el = t - start, eta = done > 0 ? el / done * (total - done) : 0;
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\rprogress: bricks %d/%d  elapsed %.0f s  ETA %.0f s   %s", done, total,
                el, eta, final ? "\n" : "");
    else
        fprintf(stderr, "progress: bricks %d/%d elapsed_s=%.0f eta_s=%.0f\n", done, total, el, eta);
}

/* Until the HDF5 store lands: one CSV row per unique brick.  Refuses to overwrite a file. */
static FILE *open_bricks_csv(const char *path) {
    FILE *f = fopen(path, "wx");
    if (!f) {
        fprintf(stderr, "error: %s: cannot create (%s)\n", path,
                access(path, F_OK) == 0 ? "file exists; never overwritten" : "open failed");
        return NULL;
    }
    fputs("brick,op,status,median_ms,min_ms,mean_ms,stddev_ms,p90_ms,ci_low_ms,ci_high_ms,reps,"
          "flops,bytes,gflops_per_s,threads,binding,isa,dtype,impl,key\n",
          f);
    return f;
}

static void write_brick_row(FILE *f, const dlb_brick *b, const brick_result *r,
                            const dlb_thread_info *ti, dlb_dtype dt) {
    const dlb_stats *s = &r->stats;
    double gf = r->status == DLB_OK && s->median > 0 ? (double)b->flops / s->median / 1e6 : 0;
    fprintf(f,
            "%016" PRIx64 ",%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%" PRId64 ",%" PRId64
            ",%" PRId64 ",%.3f,",
            b->id, dlb_lop_name(b->ops[0].op), r->status == DLB_OK ? "ok" : dlb_errname(r->status),
            s->median, s->min, s->mean, s->stddev, s->p90, s->ci_low, s->ci_high, s->n, b->flops,
            b->bytes, gf);
    fprintf(f, "%d,", ti->threads);
    dlb_csv_field(ti->binding, f);
    fprintf(f, ",%s,%s,", dlb_exec_isa(), dlb_dtype_name(dt));
    dlb_csv_field(r->impl, f);
    fputc(',', f);
    dlb_csv_field(b->key, f);
    fputc('\n', f);
}

/* Estimate of one model: sum over brick occurrences of the brick's median. */
static double estimate_ms(const dlb_model_entry *m, const brick_result *br, bool *complete) {
    double sum = 0;
    *complete = m->n_covered == m->n_layers;
    for (int j = 0; j < m->n_layers; j++) {
        const dlb_model_layer *L = &m->layers[j];
        if (L->brick < 0 || !L->piece_start) continue;
        if (br[L->brick].status != DLB_OK) {
            *complete = false;
            continue;
        }
        sum += br[L->brick].stats.median;
    }
    return sum;
}

static void report_models(const dlb_registry *reg, const brick_result *br,
                          const dlb_cli_options *opt, FILE *out, double *model_timing_s) {
    int n = dlb_registry_n_models(reg), validated = 0, w5 = 0, w10 = 0;
    double log_ratio = 0;
    fprintf(out, "%-28s %6s %8s %12s %12s %8s %8s\n", "model", "batch", "bricks", "estimate_ms",
            "measured_ms", "error%", "coverage");
    for (int i = 0; i < n; i++) {
        const dlb_model_entry *m = dlb_registry_model(reg, i);
        bool complete;
        double est = estimate_ms(m, br, &complete);
        double cov = m->flops > 0 ? (double)m->flops_covered / (double)m->flops : 0;
        char meas[32] = "-", err[32] = "-";
        if (opt->validate) {
            dlb_timing_result res;
            double c;
            double t0 = now_s();
            if (dlb_cli_measure_model(m->path, m->batch, opt, &res, &c, NULL) == DLB_OK) {
                double e = (est - res.stats.median) / res.stats.median * 100;
                snprintf(meas, sizeof meas, "%.4f", res.stats.median);
                snprintf(err, sizeof err, "%+.1f", e);
                if (complete) {
                    validated++;
                    w5 += fabs(e) <= 5;
                    w10 += fabs(e) <= 10;
                    log_ratio += log(est / res.stats.median);
                }
            }
            *model_timing_s += now_s() - t0;
            dlb_timing_result_free(&res);
        }
        fprintf(out, "%-28s %6" PRId64 " %8d %12.4f %12s %8s %7.1f%%%s\n", m->name, m->batch,
                m->bricks_used, est, meas, err, 100 * cov, complete ? "" : " (partial)");
    }
    if (opt->validate && validated > 0)
        fprintf(out, "accuracy: models=%d within5=%.3f within10=%.3f geomean=%.4f\n", validated,
                (double)w5 / validated, (double)w10 / validated, exp(log_ratio / validated));
}

dlb_status dlb_cli_report_bricks(const dlb_cli_options *opt, const dlb_registry *reg,
                                 const dlb_cli_brick_result *br, const dlb_thread_info *ti,
                                 int ranks, double bricks_wall, double timing_s, FILE *out,
                                 dlb_cli_run_info *info) {
    int nb = dlb_registry_n_bricks(reg), failed = 0;
    FILE *csv = NULL;
    if (opt->bricks_out && !(csv = open_bricks_csv(opt->bricks_out))) return DLB_EIO;
    for (int i = 0; i < nb; i++) {
        if (csv) write_brick_row(csv, dlb_registry_brick(reg, i), &br[i], ti, opt->dtype);
        failed += br[i].status != DLB_OK;
    }
    if (csv && fclose(csv) != 0) fprintf(stderr, "error: %s: cannot write\n", opt->bricks_out);
    double model_timing_s = 0;
    report_models(reg, br, opt, out, &model_timing_s);
    fprintf(out,
            "bricks: unique=%d timed=%d failed=%d ranks=%d threads=%d wall_s=%.1f timing_s=%.1f "
            "overhead=%.1f%%\n",
            nb, nb - failed, failed, ranks, ti->threads, bricks_wall, timing_s,
            bricks_wall > 0 && timing_s > 0
                ? 100 * (bricks_wall * (ranks > 1 ? ranks - 1 : 1) - timing_s) /
                      (bricks_wall * (ranks > 1 ? ranks - 1 : 1))
                : 0);
    if (opt->validate)
        fprintf(out, "speedup: wall=%.3f\n", timing_s > 0 ? model_timing_s / timing_s : 0);
    info->n_skipped += failed > 0;
    return DLB_OK;
}

dlb_status dlb_cli_bricks(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info) {
    dlb_thread_info ti;
    dlb_status st = dlb_threads_setup(opt->threads, &ti);
    if (st != DLB_OK) return st;
    dlb_registry *reg;
    st = dlb_cli_build_registry(opt, &reg, info);
    if (st != DLB_OK) return st;
    int nb = dlb_registry_n_bricks(reg);
    brick_result *br = calloc((size_t)nb + 1, sizeof *br);
    if (!br) {
        dlb_registry_free(reg);
        return DLB_ENOMEM;
    }
    dlb_timing_settings ts;
    dlb_cli_timing_settings(opt, &ts);
    fprintf(stderr, "note: %d unique bricks, threads %d, binding %s, isa %s, dtype %s\n", nb,
            ti.threads, ti.binding, dlb_exec_isa(), dlb_dtype_name(opt->dtype));
    double brick_timing_s = 0, t_bricks = now_s();
    for (int i = 0; i < nb; i++) {
        const dlb_brick *b = dlb_registry_brick(reg, i);
        if (opt->verbose) fprintf(stderr, "brick: begin id=%016" PRIx64 "\n", b->id);
        dlb_cli_time_one_brick(opt, &ts, b, &br[i], &brick_timing_s);
        if (opt->verbose) fprintf(stderr, "brick: end id=%016" PRIx64 "\n", b->id);
        if (!opt->quiet) progress(i + 1, nb, t_bricks, i + 1 == nb);
    }
    st = dlb_cli_report_bricks(opt, reg, br, &ti, 1, now_s() - t_bricks, brick_timing_s, out, info);
    free(br);
    dlb_registry_free(reg);
    return st;
}
