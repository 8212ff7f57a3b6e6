/* job_report.c — the end of a main job: compose per-model estimates, validate them against
 * whole-model runs, print the report lines and store everything. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlbricks/exec.h"
#include "dlbricks/store.h"
#include "fsum.h"

/* The brick statistic summed into estimates (--stat). */
static double stat_of(const dlb_stats *s, const char *stat) {
    if (!strcmp(stat, "min")) return s->min;
    if (!strcmp(stat, "mean")) return s->mean;
    return s->median;
}

/* Estimate of one model on one system: the sum over brick occurrences of the brick statistic;
 * the CI ends are the sums of the bricks' CI ends of the median (a conservative interval).
 * Sums are correctly rounded (fsum.h), so composing from brick counts (--compose, Python's
 * compose) gives the same doubles. */
static void compose(const dlb_model_entry *m, const dlb_cli_brick_result *br, const char *stat,
                    dlb_estimate_row *e) {
    dlb_fsum est = {0}, lo = {0}, hi = {0};
    e->n_layers = m->n_layers;
    e->n_uncovered = 0;
    int64_t fl = 0;
    for (int j = 0; j < m->n_layers; j++) {
        const dlb_model_layer *L = &m->layers[j];
        if (L->brick < 0 || br[L->brick].status != DLB_OK) {
            e->n_uncovered++;
            continue;
        }
        if (__builtin_add_overflow(fl, L->flops, &fl)) fl = INT64_MAX; /* saturating */
        if (!L->piece_start) continue;
        const dlb_stats *s = &br[L->brick].stats;
        dlb_fsum_add(&est, stat_of(s, stat));
        dlb_fsum_add(&lo, s->ci_low);
        dlb_fsum_add(&hi, s->ci_high);
    }
    e->estimate_ms = dlb_fsum_value(&est);
    e->ci_low_ms = dlb_fsum_value(&lo);
    e->ci_high_ms = dlb_fsum_value(&hi);
    e->coverage = m->flops > 0 ? (double)fl / (double)m->flops : 0;
    /* Critical path: the longest chain of dependent layers (what an executor running parallel
     * branches concurrently could reach at best; ours runs layers one after the other). */
    double *cp = malloc(sizeof(double) * ((size_t)m->n_layers + 1));
    e->critical_path_ms = NAN;
    if (cp) {
        double best = 0;
        for (int j = 0; j < m->n_layers; j++) {
            const dlb_model_layer *L = &m->layers[j];
            double w = L->brick >= 0 && L->piece_start && br[L->brick].status == DLB_OK
                           ? stat_of(&br[L->brick].stats, stat)
                           : 0;
            double before = 0;
            for (int d = 0; d < L->n_deps; d++)
                if (L->deps[d] < j && cp[L->deps[d]] > before) before = cp[L->deps[d]];
            cp[j] = before + w;
            if (cp[j] > best) best = cp[j];
        }
        e->critical_path_ms = best;
        free(cp);
    }
    if (e->n_uncovered > 0 && e->coverage >= 1) e->coverage = 0.999;
}

/* Until the HDF5 store is everywhere: one CSV row per brick and system.  Never overwrites. */
static FILE *open_bricks_csv(const char *path) {
    FILE *f = fopen(path, "wx");
    if (!f) {
        fprintf(stderr, "error: %s: cannot create (%s)\n", path,
                access(path, F_OK) == 0 ? "file exists; never overwritten" : "open failed");
        return NULL;
    }
    fputs("brick,op,status,median_ms,min_ms,mean_ms,stddev_ms,p90_ms,ci_low_ms,ci_high_ms,reps,"
          "flops,bytes,gflops_per_s,threads,binding,isa,dtype,impl,key,system,source\n",
          f);
    return f;
}

static void write_brick_row(FILE *f, const dlb_job *j, const dlb_job_system *s, int i) {
    const dlb_brick *b = dlb_registry_brick(j->reg, i);
    const dlb_cli_brick_result *r = &s->br[i];
    const dlb_stats *t = &r->stats;
    const dlb_rank_info *ri = &j->ranks[0];
    for (int k = 0; k < j->n_ranks; k++)
        if (j->rank_system[k] == (int)(s - j->sys)) {
            ri = &j->ranks[k];
            break;
        }
    double gf = r->status == DLB_OK && t->median > 0 ? (double)b->flops / t->median / 1e6 : 0;
    fprintf(f,
            "%016" PRIx64 ",%s,%s,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%" PRId64 ",%" PRId64
            ",%" PRId64 ",%.3f,%d,",
            b->id, dlb_lop_name(b->ops[0].op), r->status == DLB_OK ? "ok" : dlb_errname(r->status),
            t->median, t->min, t->mean, t->stddev, t->p90, t->ci_low, t->ci_high, t->n, b->flops,
            b->bytes, gf, ri->threads);
    dlb_csv_field(ri->binding, f);
    fprintf(f, ",%s,%s,", ri->isa, dlb_dtype_name(j->opt->dtype));
    dlb_csv_field(r->impl, f);
    fputc(',', f);
    dlb_csv_field(b->key, f);
    fputc(',', f);
    dlb_csv_field(s->name, f);
    fprintf(f, ",%s\n", s->state[i] == DLB_BRICK_REUSED ? "reused" : "timed");
}

/* max/mean - 1 of the times the system's ranks delivered their last result. */
static double imbalance(const dlb_job *j, int sys) {
    double mx = 0, sum = 0;
    int n = 0;
    for (int r = 0; r < j->n_ranks; r++) {
        if (j->rank_system[r] != sys) continue;
        mx = fmax(mx, j->rank_end[r]);
        sum += j->rank_end[r];
        n++;
    }
    return n > 1 && sum > 0 ? mx / (sum / n) - 1 : 0;
}

typedef struct accuracy {
    int validated, w5, w10;
    double log_ratio, abs_log_ratio, log_ratio_main, sum_measured, max_noise;
    double *noise; /* per validated model, for the median */
} accuracy;

static int by_double(const void *p, const void *q) {
    double x = *(const double *)p, y = *(const double *)q;
    return x < y ? -1 : x > y;
}

/* A check's groups (W G1 W G2 ... W GR W, src/cli/validate.c): E[g] = count x statistic summed over
 * the re-timed bricks of group g.  Returns R, or -1 when a brick of the check failed or does not
 * match the model's bricks. */
static int check_groups(const dlb_job *j, const dlb_model_entry *m, const dlb_check_result *c,
                        double E[DLB_VALIDATE_MAX_ROUNDS]) {
    int *idx = malloc(sizeof(int) * ((size_t)m->n_layers + 1));
    int64_t *counts = malloc(sizeof(int64_t) * ((size_t)m->n_layers + 1));
    int n = idx && counts ? dlb_cli_model_bricks(m, idx, counts) : -1;
    int rounds = n == c->n_bricks ? dlb_cli_check_rounds(j->opt, n) : -1;
    bool ok = rounds > 0;
    for (int g = 0; ok && g < rounds; g++) {
        E[g] = 0;
        for (int k = g * n / rounds; ok && k < (g + 1) * n / rounds; k++) {
            ok = c->bricks[k].status == DLB_OK;
            E[g] += (double)counts[k] * stat_of(&c->bricks[k].stats, j->opt->stat);
        }
    }
    free(idx);
    free(counts);
    return ok ? rounds : -1;
}

/* A check's drift-paired ratio estimate / measured, NaN when it has none.  Group g's bricks ran
 * between whole-model runs g and g + 1, so they are compared with the host's speed then,
 * (W_g + W_g+1) / 2: ratio = sum_g E_g / ((W_g + W_g+1) / 2).  A host that slows down for a
 * stretch of the check slows a group and the runs around it alike (tests/bench/README.md,
 * section 8, session 21). */
static double ratio_of(const dlb_job *j, const dlb_model_entry *m, const dlb_check_result *c) {
    double E[DLB_VALIDATE_MAX_ROUNDS];
    int rounds = check_groups(j, m, c, E);
    if (rounds < 1 || c->n_wholes != rounds + 1) return NAN;
    double ratio = 0;
    for (int g = 0; g < rounds; g++) {
        double around = (c->wholes[g].stats.median + c->wholes[g + 1].stats.median) / 2;
        if (!(around > 0)) return NAN;
        ratio += E[g] / around;
    }
    return ratio;
}

/* One check: its whole-model medians appended to med (*w of them), its minimum, p90 and
 * repetitions folded into e; returns its drift-paired ratio (ratio_of). */
static double check_ratio(const dlb_job *j, const dlb_model_entry *m, const dlb_check_result *c,
                          double *med, int *w, dlb_estimate_row *e) {
    int n = c->n_wholes < DLB_VALIDATE_MAX_RUNS ? c->n_wholes : DLB_VALIDATE_MAX_RUNS;
    for (int i = 0; i < n; i++) {
        const dlb_stats *x = &c->wholes[i].stats;
        med[(*w)++] = x->median;
        e->measured_min_ms = fmin(e->measured_min_ms, x->min);
        e->measured_p90_ms = fmax(e->measured_p90_ms, x->p90);
        e->measured_reps += x->n;
    }
    return ratio_of(j, m, c);
}

double dlb_job_check_ratio(const dlb_job *j, int entry, const dlb_check_result *c) {
    return dlb_check_result_ok(c) ? ratio_of(j, dlb_registry_model(j->reg, entry), c) : NAN;
}

/* Fill the measured columns of an estimate row from the model's checks (--validate; more than one
 * with --validate-passes), and count it in the report's tally a (may be NULL).  Measured: the
 * median of the whole-model medians of all its checks (for two runs, their mean); noise floor:
 * their range relative to it; estimate: measured x the geometric mean of the checks' ratios (one
 * check: its groups at the speed of its median). */
static void use_check(const dlb_job *j, const dlb_model_entry *m, const dlb_check_result *checks,
                      int n_checks, dlb_estimate_row *e, accuracy *a) {
    double med[DLB_VALIDATE_MAX_PASSES * DLB_VALIDATE_MAX_RUNS], log_ratio = 0;
    int w = 0, paired = 0;
    e->measured_min_ms = INFINITY;
    e->measured_p90_ms = -INFINITY;
    e->measured_reps = 0;
    for (int k = 0; k < n_checks && k < DLB_VALIDATE_MAX_PASSES; k++) {
        if (!dlb_check_result_ok(&checks[k])) continue;
        double ratio = check_ratio(j, m, &checks[k], med, &w, e);
        if (ratio > 0) log_ratio += log(ratio), paired++;
    }
    if (w == 0) { /* no check succeeded: nothing measured */
        e->measured_min_ms = e->measured_p90_ms = NAN;
        return;
    }
    qsort(med, (size_t)w, sizeof *med, by_double);
    double meas = w % 2 ? med[w / 2] : (med[w / 2 - 1] + med[w / 2]) / 2;
    e->measured_median_ms = meas;
    e->noise_floor_pct = meas > 0 ? 100 * (med[w - 1] - med[0]) / meas : NAN;
    e->main_error_pct = meas > 0 ? 100 * (e->estimate_ms - meas) / meas : NAN;
    if (paired == 0 || !(meas > 0)) return;
    double close = meas * exp(log_ratio / paired);
    e->close_estimate_ms = close;
    e->error_pct = 100 * (close - meas) / meas;
    if (e->n_uncovered > 0 || !a) return; /* a: the report's tally, NULL when storing one row */
    a->noise[a->validated++] = e->noise_floor_pct;
    a->w5 += fabs(e->error_pct) <= 5;
    a->w10 += fabs(e->error_pct) <= 10;
    a->log_ratio += log(close / meas);
    a->abs_log_ratio += fabs(log(close / meas));
    a->log_ratio_main += log(e->estimate_ms / meas);
    a->sum_measured += meas;
    a->max_noise = fmax(a->max_noise, e->noise_floor_pct);
}

/* --verbose: a check's timeline on one line, to see how the host moved during it: the whole-model
 * medians in the order they were timed (before, between and after the groups) and each group's
 * bricks summed (count x statistic, before the drift pairing), in ms. */
static void print_check_timeline(const dlb_job *j, const char *sys, const dlb_model_entry *m,
                                 const dlb_check_result *c, int pass, FILE *out) {
    double E[DLB_VALIDATE_MAX_ROUNDS];
    int rounds = dlb_check_result_ok(c) ? check_groups(j, m, c, E) : -1;
    if (rounds < 1) return;
    fprintf(out, "check: system=%s model=%s batch=%" PRId64 " pass=%d wholes=", sys, m->name,
            m->batch, pass);
    for (int i = 0; i < c->n_wholes && i < DLB_VALIDATE_MAX_RUNS; i++)
        fprintf(out, "%s%.9g", i ? "," : "", c->wholes[i].stats.median);
    fprintf(out, " groups=");
    for (int g = 0; g < rounds; g++) fprintf(out, "%s%.9g", g ? "," : "", E[g]);
    fputc('\n', out);
}

/* Compose model i's estimate row on system sys (measured columns from its check when it has
 * one) and put it into the document. */
static dlb_status put_estimate(dlb_job *j, int sys, int dsys, int i, accuracy *a,
                               dlb_estimate_row *e) {
    dlb_job_system *s = &j->sys[sys];
    const dlb_model_entry *m = dlb_registry_model(j->reg, i);
    *e = (dlb_estimate_row){.model = m->name,
                            .batch = m->batch,
                            .stat = j->opt->stat,
                            .measured_median_ms = NAN,
                            .measured_min_ms = NAN,
                            .close_estimate_ms = NAN,
                            .main_error_pct = NAN,
                            .measured_p90_ms = NAN,
                            .error_pct = NAN,
                            .noise_floor_pct = NAN,
                            .settings = s->settings,
                            .run_id = j->run_id};
    compose(m, s->br, j->opt->stat, e);
    if (j->opt->validate && s->check && s->check_done[i] > 0)
        use_check(j, m, &s->check[i * dlb_cli_check_slots(j->opt)], s->check_done[i], e, a);
    return dlb_results_put_estimate(j->doc, dsys, e);
}

/* A model's check just arrived: store its row now, so that an interrupted run keeps it.  A
 * failed or interrupted check stores nothing (it must not replace an earlier measured row). */
dlb_status dlb_job_put_check(dlb_job *j, int sys, int entry) {
    const dlb_job_system *s = &j->sys[sys];
    int slots = dlb_cli_check_slots(j->opt), ok = 0;
    for (int k = 0; k < s->check_done[entry]; k++)
        ok += dlb_check_result_ok(&s->check[entry * slots + k]);
    if (ok == 0) return DLB_OK;
    int dsys = dlb_results_system(j->doc, j->sys[sys].name, true);
    if (dsys < 0) return DLB_ENOMEM;
    dlb_estimate_row e;
    return put_estimate(j, sys, dsys, entry, NULL, &e);
}

static dlb_status report_system(dlb_job *j, int sys, FILE *out) {
    dlb_job_system *s = &j->sys[sys];
    int dsys = dlb_results_system(j->doc, s->name, true);
    if (dsys < 0) return DLB_ENOMEM;
    bool validating = j->opt->validate && s->check;
    accuracy a = {0};
    a.noise = calloc((size_t)dlb_registry_n_models(j->reg) + 1, sizeof *a.noise);
    if (!a.noise) return DLB_ENOMEM;
    dlb_status st = DLB_OK;
    for (int i = 0; i < dlb_registry_n_models(j->reg) && st == DLB_OK; i++) {
        const dlb_model_entry *m = dlb_registry_model(j->reg, i);
        dlb_estimate_row e;
        st = put_estimate(j, sys, dsys, i, &a, &e);
        char meas[32] = "-", err[32] = "-", noise[32] = "-";
        if (e.measured_reps > 0) {
            snprintf(meas, sizeof meas, "%.4f", e.measured_median_ms);
            snprintf(noise, sizeof noise, "%.1f", e.noise_floor_pct);
        }
        if (e.error_pct == e.error_pct) snprintf(err, sizeof err, "%+.1f", e.error_pct);
        fprintf(out, "%-*s %-28s %6" PRId64 " %8d %12.4f %12s %8s %7s %7.1f%%%s\n", j->name_width,
                s->name, m->name, m->batch, m->bricks_used, e.estimate_ms, meas, err, noise,
                100 * e.coverage, e.n_uncovered ? " (partial)" : "");
        for (int k = 0; j->opt->verbose && validating && k < s->check_done[i]; k++)
            print_check_timeline(j, s->name, m, &s->check[i * dlb_cli_check_slots(j->opt) + k],
                                 k + 1, out);
    }
    if (validating && a.validated > 0) {
        double bricks_sum = 0, reused_s = 0;
        for (int i = 0; i < dlb_registry_n_bricks(j->reg); i++) {
            if (s->br[i].status != DLB_OK) continue;
            bricks_sum += s->br[i].stats.median;
            /* a reused brick was timed in an earlier run: its timing loop, from its stats */
            if (s->state[i] == DLB_BRICK_REUSED)
                reused_s +=
                    (double)(s->br[i].stats.n + j->ts.warmup_reps) * s->br[i].stats.median * 1e-3;
        }
        double brick_s = s->timing_s + reused_s;
        qsort(a.noise, (size_t)a.validated, sizeof *a.noise, by_double);
        fprintf(out, "accuracy: system=%s models=%d within5=%.3f within10=%.3f geomean=%.4f\n",
                s->name, a.validated, (double)a.w5 / a.validated, (double)a.w10 / a.validated,
                exp(a.log_ratio / a.validated));
        fprintf(out, "noise: system=%s median_pct=%.1f max_pct=%.1f main_geomean=%.4f\n", s->name,
                a.noise[a.validated / 2], a.max_noise, exp(a.log_ratio_main / a.validated));
        fprintf(out, "speedup: system=%s latency_sum=%.3f wall=%.3f\n", s->name,
                bricks_sum > 0 ? a.sum_measured / bricks_sum : 0,
                brick_s > 0 ? s->model_s / brick_s : 0);
    }
    free(a.noise);
    return st;
}

dlb_status dlb_job_check_error(dlb_job *j, dlb_cli_check_error *err) {
    *err = (dlb_cli_check_error){0};
    for (int k = 0; k < j->n_systems; k++) {
        if (!j->opt->validate || !j->sys[k].check) continue;
        int dsys = dlb_results_system(j->doc, j->sys[k].name, true);
        if (dsys < 0) return DLB_ENOMEM;
        accuracy a = {0};
        a.noise = calloc((size_t)dlb_registry_n_models(j->reg) + 1, sizeof *a.noise);
        if (!a.noise) return DLB_ENOMEM;
        dlb_status st = DLB_OK;
        for (int i = 0; i < dlb_registry_n_models(j->reg) && st == DLB_OK; i++) {
            dlb_estimate_row e;
            st = put_estimate(j, k, dsys, i, &a, &e);
        }
        free(a.noise);
        if (st != DLB_OK) return st;
        err->models += a.validated;
        err->abs_log_ratio += a.abs_log_ratio;
    }
    return DLB_OK;
}

dlb_status dlb_job_finish(dlb_job *j, FILE *out, dlb_cli_run_info *info) {
    dlb_status st = DLB_OK;
    if (j->progress_open) dlb_job_progress(j, true);
    FILE *csv = NULL;
    if (j->opt->bricks_out && !(csv = open_bricks_csv(j->opt->bricks_out))) st = DLB_EIO;
    int nb = dlb_registry_n_bricks(j->reg), any_failed = 0;
    for (int k = 0; k < j->n_systems; k++) {
        dlb_job_system *s = &j->sys[k];
        for (int i = 0; csv && i < nb; i++) write_brick_row(csv, j, s, i);
        fprintf(out,
                "bricks: system=%s unique=%d timed=%d reused=%d ranks=%d wall_s=%.1f "
                "imbalance=%.3f\n",
                s->name, nb, s->n_timed, s->n_reused, s->n_ranks, s->end, imbalance(j, k));
        any_failed |= s->n_failed > 0;
    }
    if (csv && fclose(csv) != 0) {
        fprintf(stderr, "error: %s: cannot write\n", j->opt->bricks_out);
        st = DLB_EIO;
    }
    j->name_width = 6;
    for (int k = 0; k < j->n_systems; k++)
        if ((int)strlen(j->sys[k].name) > j->name_width)
            j->name_width = (int)strlen(j->sys[k].name);
    fprintf(out, "%-*s %-28s %6s %8s %12s %12s %8s %7s %8s\n", j->name_width, "system", "model",
            "batch", "bricks", "estimate_ms", "measured_ms", "error%", "noise%", "coverage");
    for (int k = 0; k < j->n_systems; k++) {
        dlb_status s2 = report_system(j, k, out);
        if (st == DLB_OK) st = s2;
    }
    bool over = false;
    for (int r = 0; r < j->n_ranks; r++) over |= j->ranks[r].oversubscribed != 0;
    for (int k = 0; k < j->n_systems; k++) {
        const dlb_job_system *s = &j->sys[k];
        double busy = s->end * s->n_ranks;
        /* overhead: rank time outside timing loops; setup: its part spent creating and freeing
         * bricks (the rest: coordination, saving, idling) */
        fprintf(out,
                "timing: system=%s failed=%d timing_s=%.1f overhead=%.1f%% setup=%.1f%% "
                "idle=%.1f%%%s\n",
                s->name, s->n_failed, s->timing_s,
                busy > 0 && s->timing_s > 0 ? 100 * (busy - s->timing_s) / busy : 0,
                busy > 0 && s->timing_s > 0 ? 100 * s->setup_s / busy : 0,
                busy > 0 ? 100 * s->idle_s / busy : 0, over ? " oversubscribed=1" : "");
    }
    dlb_status s4 = dlb_job_host_probe(j, out);
    if (st == DLB_OK) st = s4;
    if (over) fprintf(out, "oversubscribed: ranks=%d (results not for figures)\n", j->n_ranks);
    info->n_skipped += any_failed;
    time_t now = time(NULL);
    struct tm tm;
    char buf[32];
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    dlb_status s3 = dlb_results_run_attr(j->doc, j->run_id, "end_time", buf);
    if (s3 == DLB_OK) s3 = dlb_job_save(j);
    return st != DLB_OK ? st : s3;
}
