/* calibrate.c — --weights auto: a validated run on the zoo's smallest models picks, per run,
 * whether brick weights (and cold inputs) come from memory or from their reuse distance. */
#include "cli.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "dlbricks/store.h"

typedef struct sized_path {
    char *path;
    int64_t flops; /* of one inference at batch 1 */
} sized_path;

static int by_flops(const void *p, const void *q) {
    const sized_path *a = p, *b = q;
    if (a->flops != b->flops) return a->flops < b->flops ? -1 : 1;
    return strcmp(a->path, b->path);
}

static void discard(void *ctx, dlb_severity sev, const char *line) {
    (void)ctx, (void)sev, (void)line;
}

/* FLOPs of one batch-1 inference of the model at path; -1 when it does not load, infer or
 * lower (quietly: the main pass reports it). */
static int64_t model_flops(const char *path, const dlb_cli_options *opt) {
    dlb_diag d = {.file = path, .emit = discard};
    dlb_graph *g = NULL;
    dlb_lowered *l = NULL;
    int64_t flops = -1;
    dlb_lower_options lo = {.fuse = opt->fuse};
    if (dlb_graph_load(path, &d, &g) == DLB_OK && dlb_graph_apply_batch(g, 1) == 1 &&
        dlb_graph_infer_shapes(g, &d) == DLB_OK && dlb_lower(g, &lo, &d, &l) == DLB_OK) {
        flops = 0;
        for (int i = 0; i < l->n_layers; i++) flops += l->layers[i].flops;
    }
    dlb_lowered_free(l);
    dlb_graph_free(g);
    return flops;
}

/* "1,16", or "stored" without --batch: the batch sizes a calibration holds for. */
static void batch_list(const dlb_cli_options *opt, char *buf, size_t size) {
    snprintf(buf, size, "%s", opt->n_batches > 0 ? "" : "stored");
    size_t n = strlen(buf);
    for (int i = 0; i < opt->n_batches && n + 1 < size; i++) {
        int k = snprintf(buf + n, size - n, "%s%" PRId64, i ? "," : "", opt->batches[i]);
        if (k > 0) n += (size_t)k;
    }
}

dlb_status dlb_cli_calibration_models(const dlb_cli_options *opt, dlb_cli_calibration *c) {
    memset(c, 0, sizeof *c);
    batch_list(opt, c->batches, sizeof c->batches);
    dlb_status st = dlb_cli_collect_files(opt->paths, opt->n_paths, &c->files);
    if (st != DLB_OK) return st;
    sized_path *v = calloc((size_t)c->files.n + 1, sizeof *v);
    if (!v) return DLB_ENOMEM;
    int n = 0;
    for (int i = 0; i < c->files.n; i++) {
        int64_t f = model_flops(c->files.paths[i], opt);
        if (f >= 0) v[n++] = (sized_path){c->files.paths[i], f};
    }
    qsort(v, (size_t)n, sizeof *v, by_flops);
    /* The smallest models of at least DLB_CALIBRATION_MIN_FLOPS: their weights fit a
     * last-level cache, so the two rules differ most on them, and they validate in
     * milliseconds.  Too few: the largest of the smaller ones (a zoo of toys calibrates on
     * toys). */
    int first = 0;
    while (first < n && v[first].flops < DLB_CALIBRATION_MIN_FLOPS) first++;
    if (n - first < DLB_CALIBRATION_MODELS)
        first = n > DLB_CALIBRATION_MODELS ? n - DLB_CALIBRATION_MODELS : 0;
    for (int i = first; i < n && c->n < DLB_CALIBRATION_MODELS; i++) c->paths[c->n++] = v[i].path;
    free(v);
    return c->n > 0 ? DLB_OK : DLB_ENOTFOUND;
}

bool dlb_cli_calibration_pass_distance(int pass) {
    return pass % 4 == 1 || pass % 4 == 2;
}

void dlb_cli_calibration_add(dlb_cli_calibration *c, int pass, const dlb_cli_check_error *e) {
    dlb_cli_check_error *sum = &c->err[dlb_cli_calibration_pass_distance(pass)];
    sum->models += e->models;
    sum->abs_log_ratio += e->abs_log_ratio;
}

void dlb_cli_weights_choice(dlb_cli_options *o, bool distance) {
    o->weights_auto = false;
    o->warm_weights = false;
    o->weights_distance = distance;
    if (!o->cold_inputs_given) o->cold_distance = distance;
}

void dlb_cli_calibration_options(const dlb_cli_options *opt, const dlb_cli_calibration *c,
                                 bool distance, dlb_cli_options *out) {
    *out = *opt;
    dlb_cli_weights_choice(out, distance);
    out->paths = c->paths;
    out->n_paths = c->n;
    out->validate = true;
    out->validate_passes = 1; /* a calibration pass checks each model once: its passes alternate */
    out->validate_recheck = 0;
    out->output = NULL; /* nothing of a calibration pass is stored: the main pass times again */
    out->resume = out->force = false;
    out->bricks_out = NULL;
    out->quiet = true;
    out->verbose = false;
}

/* 100 (e^x − 1): a mean |ln(estimate/measured)| as a percentage. */
static double as_pct(const dlb_cli_check_error *e) {
    return e->models > 0 ? 100 * expm1(e->abs_log_ratio / e->models) : NAN;
}

bool dlb_cli_calibration_choose(dlb_cli_calibration *c, FILE *out) {
    const dlb_cli_check_error *cold = &c->err[0], *dist = &c->err[1];
    c->distance = cold->models > 0 && dist->models > 0 &&
                  dist->abs_log_ratio / dist->models <
                      cold->abs_log_ratio / cold->models - DLB_CALIBRATION_MARGIN;
    char names[160] = "";
    size_t used = 0;
    for (int i = 0; i < c->n && used + 1 < sizeof names; i++) {
        const char *base = strrchr(c->paths[i], '/');
        base = base ? base + 1 : c->paths[i];
        int k = snprintf(names + used, sizeof names - used, "%s%.*s", i ? "," : "",
                         (int)(strcspn(base, ".")), base);
        if (k > 0) used += (size_t)k;
    }
    if (used >= sizeof names) used = sizeof names - 1;
    snprintf(c->summary, sizeof c->summary,
             "models=%s batch=%s validated=%d,%d cold_error_pct=%.1f distance_error_pct=%.1f "
             "weights=%s wall_s=%.1f",
             names, c->batches, cold->models, dist->models, as_pct(cold), as_pct(dist),
             c->distance ? "distance" : "cold", c->wall_s);
    fprintf(out, "calibration: %s\n", c->summary);
    if (cold->models == 0 || dist->models == 0)
        fprintf(stderr,
                "warning: --weights auto: the calibration validated no model under %s; "
                "weights stay cold\n",
                cold->models == 0 ? "cold weights" : "distance");
    return c->distance;
}

void dlb_cli_calibration_apply(dlb_cli_calibration *c, bool ran, FILE *out,
                               dlb_cli_options *run_opt) {
    if (!c->reused && !ran)
        fputs("warning: --weights auto: the calibration could not run; weights stay cold\n",
              stderr);
    bool distance = c->reused ? c->distance : ran && dlb_cli_calibration_choose(c, out);
    dlb_cli_weights_choice(run_opt, distance);
    run_opt->calibration = c->reused || ran ? c->summary : NULL;
}

/* The value of " key=" in a calibration summary, up to the next space, or NULL. */
static const char *field(const char *summary, const char *key, char *buf, size_t size) {
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(summary, pat);
    if (!p) return NULL;
    p += strlen(pat);
    snprintf(buf, size, "%.*s", (int)strcspn(p, " "), p);
    return buf;
}

dlb_status dlb_cli_calibration_reuse(const dlb_cli_options *opt, const char *systems,
                                     dlb_cli_calibration *c, FILE *out) {
    memset(c, 0, sizeof *c);
    if (!opt->resume || !opt->output || access(opt->output, F_OK) != 0) return DLB_OK;
    dlb_diag d = {.file = opt->output};
    dlb_results *doc = NULL;
    if (dlb_results_load(opt->output, &d, &doc) != DLB_OK) {
        dlb_results_free(doc);
        return DLB_EIO; /* reported: stop before the calibration, not after it */
    }
    char batches[sizeof c->batches], b[64], w[16], orig[64];
    batch_list(opt, batches, sizeof batches);
    for (int i = dlb_results_n_runs(doc) - 1; i >= 0 && !c->reused; i--) {
        const char *id = dlb_results_run_id(doc, i);
        const char *sum = dlb_results_run_get(doc, id, "weights_calibration");
        const char *sys = dlb_results_run_get(doc, id, "systems");
        if (!sum || !sys || strcmp(sys, systems) != 0) continue;
        if (!field(sum, "batch", b, sizeof b) || strcmp(b, batches) != 0) continue;
        if (!field(sum, "weights", w, sizeof w) || (strcmp(w, "cold") && strcmp(w, "distance")))
            continue;
        /* the run that calibrated: this one, or the one it reused */
        if (!field(sum, "reused", orig, sizeof orig)) snprintf(orig, sizeof orig, "%s", id);
        size_t keep = strcspn(sum, "\n");
        const char *r = strstr(sum, " reused=");
        if (r && (size_t)(r - sum) < keep) keep = (size_t)(r - sum);
        snprintf(c->summary, sizeof c->summary, "%.*s reused=%s", (int)keep, sum, orig);
        snprintf(c->batches, sizeof c->batches, "%s", batches);
        c->distance = !strcmp(w, "distance");
        c->reused = true;
    }
    dlb_results_free(doc);
    if (c->reused) fprintf(out, "calibration: %s\n", c->summary);
    return DLB_OK;
}

void dlb_cli_calibration_free(dlb_cli_calibration *c) {
    dlb_cli_files_free(&c->files);
    memset(c, 0, sizeof *c);
}
