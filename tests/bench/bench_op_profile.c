/* bench_op_profile.c — every op of one model timed inside the whole model and as its brick. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlbricks/exec.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "dlbricks/timing.h"

/* Usage: bench_op_profile MODEL.onnx [MIN_MS [EVICT_MIB [BATCH [memory|distance [flush|keep]]]]]
 * Batch BATCH (default 1), one thread, one process.  The whole model runs step by step
 * (dlb_net_run_profiled) for at least MIN_MS (default 2000) ms; then every distinct op runs alone,
 * as a brick of one layer, for at least MIN_MS / 10 ms, its weights and cold inputs (with
 * "distance" at their reuse distance, --weights and --cold-inputs distance) rotating through a pool
 * of twice the last-level cache and, with EVICT_MIB > 0, its context evicted, its streamed
 * outputs aged and its near inputs rewritten, as `dlbricks-mpi` times bricks (docs/timing.md,
 * docs/bricks.md).  Each op's time in the model (with the reorders just before it) is printed next
 * to its brick's (with the brick's own reorders), summed per op kind, and the ops with the largest
 * differences are listed.  Both sides come from the same process minutes apart, so host drift moves
 * them less than it moves two separate runs: the differences show where the sum of bricks and the
 * whole model part.  Not a test: no pass/fail. */

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
    char kind[24];
    char key[160];
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

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(
            stderr,
            "usage: %s MODEL.onnx [MIN_MS [EVICT_MIB [BATCH [memory|distance [flush|keep]]]]]\n",
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
            continue;
        }
        dlb_netdesc bd = {.n_ops = 1, .ops = &nd.ops[j], .name = "brick"};
        dlb_net *b = NULL;
        if (dlb_net_create(&bd, NULL, &d, &b) != DLB_OK) continue;
        int bs = dlb_net_n_steps(b);
        double *bms = calloc((size_t)bs + 1, sizeof *bms);
        int copies = dlb_net_weight_copies(b, pool);
        bool warm = nd.ops[j].warm;
        if (bms && profile(b, min_ms / 10, pool, copies, warm ? NULL : ev, age, bms) > 0)
            for (int i = 0; i < bs; i++)
                *(dlb_net_step_op(b, i) < 0 ? &rows[j].brick_reorder_us : &rows[j].brick_us) +=
                    bms[i] * 1e3;
        free(bms);
        dlb_net_free(b);
    }

    double bricks = 0;
    for (int j = 0; j < nd.n_ops; j++) bricks += rows[j].brick_us + rows[j].brick_reorder_us;
    printf("model: %s ops=%d steps=%d runs=%d whole_ms=%.4f bricks_ms=%.4f error=%+.1f%% "
           "evict_mib=%zu batch=%lld\n",
           argv[1], nd.n_ops, ns, runs, whole, bricks * 1e-3, (bricks * 1e-3 - whole) / whole * 100,
           evict_mib, (long long)batch);
    printf("%-16s %5s %12s %12s %12s %12s %8s\n", "kind", "ops", "model_us", "reorders_us",
           "brick_us", "reorders_us", "ratio");
    for (int j = 0; j < nd.n_ops; j++) {
        int first = 1;
        for (int k = 0; k < j && first; k++) first = strcmp(rows[k].kind, rows[j].kind) != 0;
        if (!first) continue;
        double m = 0, mr = 0, b = 0, br = 0;
        int n = 0;
        for (int k = j; k < nd.n_ops; k++)
            if (!strcmp(rows[k].kind, rows[j].kind)) {
                m += rows[k].model_us, mr += rows[k].model_reorder_us;
                b += rows[k].brick_us, br += rows[k].brick_reorder_us;
                n++;
            }
        printf("%-16s %5d %12.1f %12.1f %12.1f %12.1f %8.3f\n", rows[j].kind, n, m, mr, b, br,
               b + br > 0 ? (m + mr) / (b + br) : NAN);
    }
    qsort(rows, (size_t)nd.n_ops, sizeof *rows, by_diff);
    printf("largest differences either way (model - brick, us; reorders in parentheses):\n");
    for (int j = 0; j < nd.n_ops && j < 12; j++)
        printf("%+9.1f  model %9.1f (%7.1f)  brick %9.1f (%7.1f)  %.110s\n",
               rows[j].model_us + rows[j].model_reorder_us - rows[j].brick_us -
                   rows[j].brick_reorder_us,
               rows[j].model_us, rows[j].model_reorder_us, rows[j].brick_us,
               rows[j].brick_reorder_us, rows[j].key);
    free(rows);
    free(model_ms);
    dlb_evictor_free(ev);
    dlb_weight_pool_free(pool);
    dlb_net_free(model);
    dlb_lowered_free(l);
    dlb_graph_free(g);
    return 0;
}
