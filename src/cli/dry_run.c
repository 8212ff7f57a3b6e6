/* dry_run.c — the --dry-run pipeline: load, infer, lower, register every model, then report. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

#include "dlbricks/diag.h"
#include "dlbricks/graph.h"
#include "dlbricks/exec.h"
#include "dlbricks/layer.h"

/* Batch size shown for a model run without --batch: the leading dim of its first input. */
static int64_t stored_batch(const dlb_graph *g) {
    if (g->n_inputs < 1) return 0;
    const dlb_shape *s = &g->tensors[g->inputs[0]].shape;
    return s->rank >= 1 && s->dims[0] > 0 ? s->dims[0] : 0;
}

/* Every failure leaves one "error: FILE: ..." line: the library's own, or this one. */
static void ensure_reported(dlb_diag *d, int errors_before, dlb_status st, const char *what) {
    if (d->n_errors == errors_before) dlb_error(d, NULL, "%s: %s", what, dlb_strerror(st));
}

/* One (model, batch) pair: set the batch, infer shapes, lower, register.  The lowered model
 * is freed right away: the registry keeps self-contained copies. */
static dlb_status register_batch(dlb_registry *reg, dlb_graph *g, const dlb_cli_options *opt,
                                 int64_t batch, dlb_diag *d) {
    dlb_status st;
    int before = d->n_errors;
    int64_t used = dlb_graph_apply_batch(g, batch); /* symbolic batch without --batch: 1 */
    if (batch > 0 && used != batch) {
        char what[64];
        snprintf(what, sizeof what, "cannot set batch size %" PRId64, batch);
        ensure_reported(d, before, DLB_EINVAL, what);
        return DLB_EINVAL;
    }
    if (used > 0) batch = used;
    if ((st = dlb_graph_infer_shapes(g, d)) != DLB_OK) {
        ensure_reported(d, before, st, "shape inference");
        return st;
    }
    if (batch <= 0) batch = stored_batch(g);
    dlb_lower_options lo = {.fuse = opt->fuse,
                            .cold_distance = opt->cold_distance,
                            .weights_distance = opt->weights_distance,
                            .bnorm_cached_output = opt->dtype != DLB_DT_F32};
    dlb_lowered *l = NULL;
    if ((st = dlb_lower(g, &lo, d, &l)) != DLB_OK) {
        ensure_reported(d, before, st, "lowering");
        dlb_lowered_free(l);
        return st;
    }
    if (opt->dtype != DLB_DT_F32) dlb_lowered_set_dtype(l, opt->dtype);
    st = dlb_registry_add(reg, l, batch);
    dlb_lowered_free(l);
    if (st != DLB_OK) ensure_reported(d, before, st, "cannot register bricks");
    return st;
}

/* Process one model file with every batch size; each pair succeeds or fails on its own.
 * \return DLB_OK, the first failure, or DLB_ENOMEM (which stops everything). */
static dlb_status process_model(dlb_registry *reg, const char *path, const dlb_cli_options *opt,
                                bool *registered) {
    dlb_diag d = {.file = path};
    dlb_graph *g = NULL;
    *registered = false;
    dlb_status st = dlb_graph_load(path, &d, &g);
    if (st != DLB_OK) {
        ensure_reported(&d, 0, st, "cannot load model");
        dlb_graph_free(g);
        return st;
    }
    dlb_status first = DLB_OK;
    int nb = opt->n_batches > 0 ? opt->n_batches : 1;
    for (int b = 0; b < nb; b++) {
        int64_t batch = opt->n_batches > 0 ? opt->batches[b] : 0;
        st = register_batch(reg, g, opt, batch, &d);
        if (st == DLB_OK) *registered = true;
        if (st != DLB_OK && st != DLB_ENOMEM && batch > 0) /* say which pair was dropped */
            dlb_diag_report(&d, DLB_SEV_NOTE, NULL, "batch size %" PRId64 " skipped", batch);
        if (first == DLB_OK) first = st;
        if (st == DLB_ENOMEM) {
            first = st;
            break;
        }
    }
    dlb_graph_free(g);
    return first;
}

dlb_status dlb_cli_build_registry(const dlb_cli_options *opt, dlb_registry **out,
                                  dlb_cli_run_info *info) {
    memset(info, 0, sizeof *info);
    *out = NULL;
    dlb_cli_files files;
    dlb_status st = dlb_cli_collect_files(opt->paths, opt->n_paths, &files);
    if (st == DLB_ENOMEM) fputs("error: out of memory\n", stderr);
    if (st != DLB_OK) return st;
    info->n_files = files.n;
    info->n_skipped = files.n_errors; /* unreadable directories below a PATH */

    dlb_registry *reg = dlb_registry_new(opt->granularity);
    if (!reg) {
        fputs("error: out of memory\n", stderr);
        dlb_cli_files_free(&files);
        return DLB_ENOMEM;
    }
    for (int i = 0; i < files.n; i++) {
        bool registered;
        st = process_model(reg, files.paths[i], opt, &registered);
        if (registered) info->n_loaded++;
        if (st == DLB_ENOMEM) break; /* already reported with the file name */
        if (st != DLB_OK) info->n_skipped++;
        st = DLB_OK;
    }
    dlb_cli_files_free(&files);
    if (st != DLB_OK) {
        dlb_registry_free(reg);
        return st;
    }
    *out = reg;
    return DLB_OK;
}

dlb_status dlb_cli_dry_run(const dlb_cli_options *opt, FILE *out, dlb_cli_run_info *info) {
    dlb_registry *reg;
    dlb_status st = dlb_cli_build_registry(opt, &reg, info);
    if (st != DLB_OK) return st;
    if (opt->decomp_out && (st = dlb_cli_write_decomposition(opt, reg)) != DLB_OK) {
        dlb_registry_free(reg); /* no report: the file was asked for and is not there */
        return st;
    }
    if (opt->csv) {
        dlb_report_csv(reg, out);
    } else {
        dlb_report_context ctx = {.granularity = opt->granularity,
                                  .fuse = opt->fuse,
                                  .n_models = info->n_loaded,
                                  .n_skipped = info->n_skipped};
        dlb_report_text(reg, &ctx, out);
    }
    dlb_registry_free(reg);
    return DLB_OK;
}
