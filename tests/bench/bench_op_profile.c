/* bench_op_profile.c — every op of one model timed inside the whole model and as its brick. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlbricks/brick.h"
#include "dlbricks/exec.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "dlbricks/timing.h"

/* Usage: bench_op_profile MODEL.onnx [MIN_MS [EVICT_MIB [BATCH [memory|distance [flush|keep
 * [G]]]]]]
 *
 * Batch BATCH (default 1), one thread, one process.  The whole model runs step by step
 * (dlb_net_run_profiled) for at least MIN_MS (default 2000) ms; then every distinct op runs alone,
 * as a brick of one layer, for at least MIN_MS / 10 ms, its weights and cold inputs (with
 * "distance" at their reuse distance, --weights and --cold-inputs distance) rotating through a pool
 * of twice the last-level cache, its streamed outputs aged and its near inputs rewritten, and with
 * EVICT_MIB > 0 its context evicted, as `dlbricks-mpi` times bricks (docs/timing.md,
 * docs/bricks.md).  Each op's time in the model (with the reorders just before it) is printed next
 * to its brick's (with the brick's own reorders), summed per op kind, and the ops with the largest
 * differences are listed.  Both sides come from the same process minutes apart, so host drift moves
 * them less than it moves two separate runs: the differences show where the sum of bricks and the
 * whole model part.  Ops whose brick runs another oneDNN implementation than the model runs for
 * them are listed first.  With G > 1 the same follows for the pieces of at most G layers that
 * `dlbricks-mpi -G G` times (the default is 2): each piece's time in the model (its ops and the
 * reorders before them, summed over its occurrences) next to its brick's.  Not a test: no
 * pass/fail. */

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Mean time per step of net over runs taking at least min_ms (at least 10), after 2 warm-up
 * runs; before each run, the next weight copy (when copies >= 2), the eviction, the streamed
 * outputs' ageing and the near inputs' rewriting (age: NULL for none). */
static int profile(dlb_net *net, double min_ms, dlb_weight_pool *pool, int copies, dlb_evictor *ev,
                   dlb_evictor *age, double *step_ms) {
    int ns = dlb_net_n_steps(net), runs = 0;
    double *warm = calloc((size_t)ns + 1, sizeof *warm);
    if (!warm) return -1;
    for (int i = 0; i < 2; i++)
        if (dlb_net_run_profiled(net, warm) != DLB_OK) runs = -1;
    free(warm);
    double spent = 0;
    for (int i = 0; i < ns; i++) step_ms[i] = 0;
    while (runs >= 0 && (runs < 10 || spent < min_ms)) {
        if (copies >= 2) dlb_net_use_weight_copy(net, pool, runs);
        if (ev) dlb_net_evict_context(net, ev);
        if (age) dlb_net_age_streamed_outputs(net, age);
        if (age) dlb_net_age_near_inputs(net, age);
        double t = now_ms();
        if (dlb_net_run_profiled(net, step_ms) != DLB_OK) return -1;
        spent += now_ms() - t;
        runs++;
    }
    for (int i = 0; runs > 0 && i < ns; i++) step_ms[i] /= runs;
    return runs;
}

typedef struct op_row {
    double model_us, model_reorder_us, brick_us, brick_reorder_us;
    char kind[48];
    char key[200];
    char model_impl[48], brick_impl[48]; /* oneDNN implementation names */
} op_row;

/* Op kind: the key up to its first ':' or ' ' ("conv", "pool", "concat", ...). */
static void kind_of(const char *key, char *kind, size_t size) {
    size_t n = strcspn(key, ": ");
    if (n >= size) n = size - 1;
    memcpy(kind, key, n);
    kind[n] = 0;
}

static int by_diff(const void *a, const void *b) {
    const op_row *x = a, *y = b;
    double dx = x->model_us + x->model_reorder_us - x->brick_us - x->brick_reorder_us;
    double dy = y->model_us + y->model_reorder_us - y->brick_us - y->brick_reorder_us;
    return (fabs(dx) < fabs(dy)) - (fabs(dx) > fabs(dy)); /* largest |difference| first */
}

/* Time in the model and as bricks, summed per kind, then the rows with the largest differences
 * (sorts rows). */
static void print_rows(op_row *rows, int n, const char *what) {
    printf("%-16s %5s %12s %12s %12s %12s %8s\n", "kind", what, "model_us", "reorders_us",
           "brick_us", "reorders_us", "ratio");
    for (int j = 0; j < n; j++) {
        int first = 1;
        for (int k = 0; k < j && first; k++) first = strcmp(rows[k].kind, rows[j].kind) != 0;
        if (!first) continue;
        double m = 0, mr = 0, b = 0, br = 0;
        int cnt = 0;
        for (int k = j; k < n; k++)
            if (!strcmp(rows[k].kind, rows[j].kind)) {
                m += rows[k].model_us, mr += rows[k].model_reorder_us;
                b += rows[k].brick_us, br += rows[k].brick_reorder_us;
                cnt++;
            }
        printf("%-16s %5d %12.1f %12.1f %12.1f %12.1f %8.3f\n", rows[j].kind, cnt, m, mr, b, br,
               b + br > 0 ? (m + mr) / (b + br) : NAN);
    }
    qsort(rows, (size_t)n, sizeof *rows, by_diff);
    printf("largest differences either way (model - brick, us; reorders in parentheses):\n");
    for (int j = 0; j < n && j < 12; j++)
        printf("%+9.1f  model %9.1f (%7.1f)  brick %9.1f (%7.1f)  %.150s\n",
               rows[j].model_us + rows[j].model_reorder_us - rows[j].brick_us -
                   rows[j].brick_reorder_us,
               rows[j].model_us, rows[j].model_reorder_us, rows[j].brick_us,
               rows[j].brick_reorder_us, rows[j].key);
}

/* Ops whose brick runs another oneDNN implementation than the whole model runs for them. */
static void print_impl_mismatches(const op_row *rows, int n) {
    int bad = 0;
    for (int j = 0; j < n; j++) bad += strcmp(rows[j].model_impl, rows[j].brick_impl) != 0;
    printf("implementation mismatches (model vs brick): %d of %d ops\n", bad, n);
    for (int j = 0; j < n; j++)
        if (strcmp(rows[j].model_impl, rows[j].brick_impl))
            printf("  %-24s %-24s %.120s\n", rows[j].model_impl, rows[j].brick_impl, rows[j].key);
}

/* Time one brick's net as dlbricks-mpi does (its weights and cold inputs rotating through the
 * pool, its context evicted unless every op is warm, its streamed outputs and near inputs aged)
 * and add scale times its steps' mean times, in us, to *us (ops) and *reorder_us (the brick's own
 * reorders). */
static void time_brick(dlb_net *net, bool warm, double min_ms, dlb_weight_pool *pool,
                       dlb_evictor *ev, dlb_evictor *age, double scale, double *us,
                       double *reorder_us) {
    int bs = dlb_net_n_steps(net);
    double *bms = calloc((size_t)bs + 1, sizeof *bms);
    int copies = dlb_net_weight_copies(net, pool);
    if (bms && profile(net, min_ms, pool, copies, warm ? NULL : ev, age, bms) > 0)
        for (int i = 0; i < bs; i++)
            *(dlb_net_step_op(net, i) < 0 ? reorder_us : us) += bms[i] * 1e3 * scale;
    free(bms);
}

/* The ops of a piece, by kind ("conv+conv", "pool"), from its brick. */
static void piece_kinds(const dlb_brick *b, char *out, size_t size) {
    out[0] = 0;
    for (int i = 0; i < b->n_ops; i++) {
        char key[16384], kind[48];
        dlb_op_spec_key(&b->ops[i], key, sizeof key);
        kind_of(key, kind, sizeof kind);
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", i ? "+" : "", kind);
    }
}

/* Granularity g: the model's time per piece (from rows, per op, summed over the occurrences) next
 * to the piece's brick timed alone, as dlbricks-mpi times it; printed like the per-op tables. */
static int profile_pieces(const dlb_lowered *l, int64_t batch, int g, const op_row *rows, int n_ops,
                          double min_ms, dlb_weight_pool *pool, dlb_evictor *ev, dlb_evictor *age,
                          dlb_diag *d) {
    dlb_registry *reg = dlb_registry_new(g);
    if (!reg || dlb_registry_add(reg, l, batch) != DLB_OK) {
        dlb_registry_free(reg);
        return -1;
    }
    const dlb_model_entry *m = dlb_registry_model(reg, 0);
    int nb = dlb_registry_n_bricks(reg), op = -1;
    op_row *pr = calloc((size_t)nb + 1, sizeof *pr);
    int *occ = calloc((size_t)nb + 1, sizeof *occ), *first = calloc((size_t)nb + 1, sizeof *first);
    if (!pr || !occ || !first) nb = -1;
    for (int j = 0; nb > 0 && j < m->n_layers; j++) {
        const dlb_model_layer *L = &m->layers[j];
        if (L->brick < 0 || ++op >= n_ops) continue;
        if (L->piece_start && occ[L->brick]++ == 0) first[L->brick] = op;
        pr[L->brick].model_us += rows[op].model_us;
        pr[L->brick].model_reorder_us += rows[op].model_reorder_us;
    }
    double whole = 0, bricks = 0;
    for (int b = 0; b < nb; b++) {
        const dlb_brick *br = dlb_registry_brick(reg, b);
        piece_kinds(br, pr[b].kind, sizeof pr[b].kind);
        snprintf(pr[b].key, sizeof pr[b].key, "x%d %016llx %s", occ[b], (unsigned long long)br->id,
                 br->key);
        dlb_netdesc bd;
        dlb_netdesc_of_brick(br, &bd);
        dlb_net *net = NULL;
        if (dlb_net_create(&bd, NULL, d, &net) != DLB_OK) {
            printf("piece %016llx: not created, left out of both sums\n",
                   (unsigned long long)br->id);
            continue;
        }
        for (int i = 0; i < br->n_ops && first[b] + i < n_ops; i++)
            if (strcmp(dlb_net_impl(net, i), rows[first[b] + i].model_impl))
                printf("piece %016llx op %d: model runs %s, brick runs %s\n",
                       (unsigned long long)br->id, i, rows[first[b] + i].model_impl,
                       dlb_net_impl(net, i));
        bool warm = true;
        for (int i = 0; i < br->n_ops; i++) warm = warm && br->ops[i].warm;
        time_brick(net, warm, min_ms / 10, pool, ev, age, occ[b], &pr[b].brick_us,
                   &pr[b].brick_reorder_us);
        dlb_net_free(net);
        whole += pr[b].model_us + pr[b].model_reorder_us;
        bricks += pr[b].brick_us + pr[b].brick_reorder_us;
    }
    if (nb >= 0) {
        printf("pieces: G=%d bricks=%d model_ms=%.4f bricks_ms=%.4f error=%+.1f%%\n", g, nb,
               whole * 1e-3, bricks * 1e-3, (bricks - whole) / whole * 100);
        print_rows(pr, nb, "pieces");
    }
    free(pr);
    free(occ);
    free(first);
    dlb_registry_free(reg);
    return nb;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr,
                "usage: %s MODEL.onnx [MIN_MS [EVICT_MIB [BATCH [memory|distance [flush|keep "
                "[G]]]]]]\n",
                argv[0]);
        return 2;
    }
    double min_ms = argc > 2 ? atof(argv[2]) : 2000;
    size_t evict_mib = argc > 3 ? (size_t)atoi(argv[3]) : 0;
    int64_t batch = argc > 4 ? atoll(argv[4]) : 1;
    if (batch < 1) {
        fprintf(stderr, "%s: BATCH must be at least 1\n", argv[0]);
        return 2;
    }
    dlb_diag d = {.file = argv[1]};
    dlb_thread_info ti;
    dlb_graph *g = NULL;
    dlb_lowered *l = NULL;
    dlb_netdesc nd;
    dlb_net *model = NULL;
    /* subnormal floats flushed, as dlbricks-mpi does by default, unless "keep" */
    bool keep = argc > 6 && !strcmp(argv[6], "keep");
    int gran = argc > 7 ? atoi(argv[7]) : 1;
    if (dlb_exec_setup_process(&d) != DLB_OK || dlb_threads_setup(1, &ti) != DLB_OK ||
        dlb_denormals_setup(!keep) != DLB_OK || dlb_graph_load(argv[1], &d, &g) != DLB_OK)
        return 1;
    dlb_graph_apply_batch(g, batch);
    if (dlb_graph_infer_shapes(g, &d) != DLB_OK) return 1;
    /* weights and cold inputs from memory (the default) or at their reuse distance
     * (--weights distance --cold-inputs distance) */
    bool distance = argc > 5 && !strcmp(argv[5], "distance");
    dlb_lower_options lo = {.fuse = true, .cold_distance = distance, .weights_distance = distance};
    if (dlb_lower(g, &lo, &d, &l) != DLB_OK || dlb_netdesc_of_model(l, &d, &nd) != DLB_OK ||
        dlb_net_create(&nd, NULL, &d, &model) != DLB_OK)
        return 1;
    size_t pool_bytes = ti.llc_bytes > 0 ? 2 * ti.llc_bytes : (size_t)64 << 20;
    dlb_weight_pool *pool = NULL;
    dlb_evictor *ev = NULL, *age = NULL;
    if (dlb_weight_pool_create(pool_bytes, &pool) != DLB_OK ||
        (evict_mib > 0 && dlb_evictor_create(evict_mib << 20, &ev) != DLB_OK) ||
        dlb_evictor_create((size_t)DLB_COLD_DISTANCE, &age) != DLB_OK)
        return 1;

    int ns = dlb_net_n_steps(model);
    double *model_ms = calloc((size_t)ns + 1, sizeof *model_ms);
    op_row *rows = calloc((size_t)nd.n_ops + 1, sizeof *rows);
    if (!model_ms || !rows) return 1;
    int runs = profile(model, min_ms, NULL, 0, NULL, NULL, model_ms);
    if (runs < 0) return 1;
    double whole = 0, pending = 0;
    for (int i = 0; i < ns; i++) {
        whole += model_ms[i];
        int op = dlb_net_step_op(model, i);
        if (op < 0) {
            pending += model_ms[i]; /* a reorder: charged to the op after it */
            continue;
        }
        rows[op].model_us += model_ms[i] * 1e3;
        rows[op].model_reorder_us += pending * 1e3;
        pending = 0;
    }

    /* Every distinct op as a one-layer brick (the same spec, so the same key). */
    char key[16384];
    for (int j = 0; j < nd.n_ops; j++) {
        dlb_op_spec_key(&nd.ops[j], key, sizeof key);
        memcpy(rows[j].key, key, sizeof rows[j].key - 1); /* a prefix is enough to print */
        snprintf(rows[j].model_impl, sizeof rows[j].model_impl, "%s", dlb_net_impl(model, j));
        kind_of(key, rows[j].kind, sizeof rows[j].kind);
        int same = -1;
        for (int k = 0; k < j && same < 0; k++) {
            char other[16384];
            dlb_op_spec_key(&nd.ops[k], other, sizeof other);
            if (!strcmp(key, other)) same = k;
        }
        if (same >= 0) {
            rows[j].brick_us = rows[same].brick_us;
            rows[j].brick_reorder_us = rows[same].brick_reorder_us;
            memcpy(rows[j].brick_impl, rows[same].brick_impl, sizeof rows[j].brick_impl);
            continue;
        }
        dlb_netdesc bd = {.n_ops = 1, .ops = &nd.ops[j], .name = "brick"};
        dlb_net *b = NULL;
        if (dlb_net_create(&bd, NULL, &d, &b) != DLB_OK) continue;
        snprintf(rows[j].brick_impl, sizeof rows[j].brick_impl, "%s", dlb_net_impl(b, 0));
        time_brick(b, nd.ops[j].warm, min_ms / 10, pool, ev, age, 1, &rows[j].brick_us,
                   &rows[j].brick_reorder_us);
        dlb_net_free(b);
    }

    double bricks = 0;
    for (int j = 0; j < nd.n_ops; j++) bricks += rows[j].brick_us + rows[j].brick_reorder_us;
    printf("model: %s ops=%d steps=%d runs=%d whole_ms=%.4f bricks_ms=%.4f error=%+.1f%% "
           "evict_mib=%zu batch=%lld\n",
           argv[1], nd.n_ops, ns, runs, whole, bricks * 1e-3, (bricks * 1e-3 - whole) / whole * 100,
           evict_mib, (long long)batch);
    print_impl_mismatches(rows, nd.n_ops);
    op_row *sorted = malloc(sizeof *rows * ((size_t)nd.n_ops + 1));
    if (!sorted) return 1;
    memcpy(sorted, rows, sizeof *rows * (size_t)nd.n_ops);
    print_rows(sorted, nd.n_ops, "ops");
    free(sorted);
    if (gran > 1 && profile_pieces(l, batch, gran, rows, nd.n_ops, min_ms, pool, ev, age, &d) < 0)
        return 1;
    free(rows);
    free(model_ms);
    dlb_evictor_free(ev);
    dlb_evictor_free(age);
    dlb_weight_pool_free(pool);
    dlb_net_free(model);
    dlb_lowered_free(l);
    dlb_graph_free(g);
    return 0;
}
