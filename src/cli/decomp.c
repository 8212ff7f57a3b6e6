/* decomp.c — a model's decomposition as a results-file entry, and the decomposition-only file
 * that --dry-run --decompose-out writes (brick keys and counts: no layers, weights or timings). */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dlbricks/store.h"

static int by_brick(const void *a, const void *b) {
    uint64_t x = ((const dlb_model_brick_row *)a)->brick_id;
    uint64_t y = ((const dlb_model_brick_row *)b)->brick_id;
    return x < y ? -1 : x > y;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "Resize=2 Einsum=1": the ONNX op types of the uncovered layers with their counts, in name
 * order ("" when every layer is covered).  malloc'd; NULL on out-of-memory. */
static char *uncovered_ops(const dlb_model_entry *m) {
    const char **ops = malloc(sizeof *ops * ((size_t)m->n_layers + 1));
    if (!ops) return NULL;
    int n = 0;
    size_t len = 1;
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].brick < 0) {
            ops[n] = m->layers[i].op_type ? m->layers[i].op_type : "?";
            len += strlen(ops[n++]) + 24;
        }
    qsort(ops, (size_t)n, sizeof *ops, by_name);
    char *s = malloc(len);
    if (s) {
        size_t at = 0;
        s[0] = 0;
        for (int i = 0; i < n;) {
            int k = i;
            while (k < n && !strcmp(ops[k], ops[i])) k++;
            at += (size_t)snprintf(s + at, len - at, "%s%s=%d", at ? " " : "", ops[i], k - i);
            i = k;
        }
    }
    free(ops);
    return s;
}

dlb_status dlb_cli_put_decomposition(dlb_results *doc, const dlb_registry *reg,
                                     const dlb_model_entry *m, const dlb_cli_options *opt,
                                     const char *run_id, bool with_layers) {
    int n = m->n_layers, nb = 0;
    dlb_layer_row *layers = calloc((size_t)n + 1, sizeof *layers);
    dlb_model_brick_row *bricks = calloc((size_t)n + 1, sizeof *bricks);
    char *unc = uncovered_ops(m);
    dlb_status st = layers && bricks && unc ? DLB_OK : DLB_ENOMEM;
    for (int i = 0; i < n && st == DLB_OK; i++) {
        const dlb_model_layer *L = &m->layers[i];
        const dlb_brick *b = L->brick >= 0 ? dlb_registry_brick(reg, L->brick) : NULL;
        layers[i] = (dlb_layer_row){.index = i,
                                    .name = L->name ? L->name : "",
                                    .op_type = L->op_type ? L->op_type : "",
                                    .brick_id = b ? b->id : 0,
                                    .piece_start = L->piece_start,
                                    .flops = L->flops};
        if (b && L->piece_start)
            bricks[nb++] = (dlb_model_brick_row){
                .brick_id = b->id,
                .key = b->key,
                .count = 1,
                .op = b->n_ops > 0 ? dlb_lop_name(b->ops[0].op) : "?",
                .flops = b->flops,
                .bytes = b->bytes,
            };
    }
    if (st == DLB_OK && nb > 0) { /* merge equal ids into counts */
        qsort(bricks, (size_t)nb, sizeof *bricks, by_brick);
        int w = 0;
        for (int i = 1; i < nb; i++) {
            if (bricks[i].brick_id == bricks[w].brick_id)
                bricks[w].count++;
            else
                bricks[++w] = bricks[i];
        }
        nb = w + 1;
    }
    char cov[32], fl[32], flc[32], g[16], nl[16], nc[16], bt[32], view[48];
    snprintf(bt, sizeof bt, "%" PRId64, m->batch);
    snprintf(view, sizeof view, "fuse=%d G=%d", opt->fuse, opt->granularity);
    snprintf(cov, sizeof cov, "%.17g", m->flops > 0 ? (double)m->flops_covered / m->flops : 0.0);
    snprintf(fl, sizeof fl, "%" PRId64, m->flops);
    snprintf(flc, sizeof flc, "%" PRId64, m->flops_covered);
    snprintf(g, sizeof g, "%d", opt->granularity);
    snprintf(nl, sizeof nl, "%d", m->n_layers);
    snprintf(nc, sizeof nc, "%d", m->n_covered);
    /* The path only in full entries: a shared decomposition does not say where the model is. */
    dlb_store_attr attrs[] = {
        {"path", m->path ? m->path : ""},
        {"coverage", cov},
        {"flops", fl},
        {"flops_covered", flc},
        {"granularity", g},
        {"fuse", opt->fuse ? "1" : "0"},
        {"dtype", dlb_dtype_name(opt->dtype)},
        {"n_layers", nl},
        {"n_covered", nc},
        {"uncovered_ops", unc ? unc : ""},
        {"run_id", run_id},
        {"batch", bt},
        {"view", view},
    };
    int skip = with_layers ? 0 : 1, n_attrs = (int)(sizeof attrs / sizeof *attrs) - skip;
    if (st == DLB_OK)
        st = dlb_results_put_model(doc, m->name, m->batch, attrs + skip, n_attrs, layers,
                                   with_layers ? n : 0, bricks, nb);
    free(layers);
    free(bricks);
    free(unc);
    return st;
}

/* Run id, as the main job makes it: UTC time and pid. */
static void make_run_id(char *buf, size_t size, char *when, size_t when_size) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    strftime(when, when_size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(buf, size, "%s-%d", ts, (int)getpid());
}

dlb_status dlb_cli_write_decomposition(const dlb_cli_options *opt, const dlb_registry *reg) {
    const char *path = opt->decomp_out;
    /* Claim the name first (O_EXCL): an existing file is never overwritten, not even one made
     * meanwhile.  The save then renames the finished file over this empty one. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "error: %s: %s\n", path,
                errno == EEXIST ? "file exists; never overwritten" : strerror(errno));
        return DLB_EIO;
    }
    close(fd);
    dlb_results *doc = dlb_results_new();
    char run_id[48], when[32], settings[96], *versions = NULL;
    size_t vn = 0;
    make_run_id(run_id, sizeof run_id, when, sizeof when);
    snprintf(settings, sizeof settings, "dtype=%s fuse=%d G=%d", dlb_dtype_name(opt->dtype),
             opt->fuse, opt->granularity);
    FILE *mf = open_memstream(&versions, &vn);
    if (mf) {
        dlb_cli_print_version(mf);
        fclose(mf);
    }
    /* No command line, hosts or environment: they would name the model files' paths. */
    const char *run_attrs[][2] = {{"start_time", when},
                                  {"end_time", when},
                                  {"kind", "decomposition"},
                                  {"settings", settings},
                                  {"versions", versions ? versions : ""}};
    dlb_status st = doc ? dlb_results_add_run(doc, run_id) : DLB_ENOMEM;
    for (size_t i = 0; i < sizeof run_attrs / sizeof *run_attrs && st == DLB_OK; i++)
        st = dlb_results_run_attr(doc, run_id, run_attrs[i][0], run_attrs[i][1]);
    free(versions);
    for (int i = 0; i < dlb_registry_n_models(reg) && st == DLB_OK; i++)
        st = dlb_cli_put_decomposition(doc, reg, dlb_registry_model(reg, i), opt, run_id, false);
    if (st == DLB_OK) {
        dlb_diag d = {.file = path};
        st = dlb_results_save(doc, path, &d);
    } else if (st == DLB_ENOMEM) {
        fputs("error: out of memory\n", stderr);
    }
    if (st != DLB_OK) unlink(path); /* the empty placeholder: no half-made file is left */
    dlb_results_free(doc);
    return st;
}
