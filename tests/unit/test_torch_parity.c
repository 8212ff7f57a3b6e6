/* test_torch_parity.c — whole models with weights through the executor vs PyTorch's output. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlbricks/exec.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "shape/ops.h"
#include "test_util.h"

/* Acceptance: max|ours - torch| / max|torch| <= TOL.  The per-element relative error is reported
 * (not asserted) over the elements with |torch| > REL_FLOOR. */
#define TOL 1e-3
#define REL_FLOOR 1e-2

/* Usage: test_torch_parity FIXTURE_DIR [MODEL...]; fixtures from tests/torch/make_fixtures.py:
 * MODEL.onnx (with weights), MODEL.input.f32 and MODEL.output.f32 (raw little-endian f32). */

/* Whole file as f32; *count elements.  NULL (after a message) on error. */
static float *read_f32(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open (run tests/torch/make_fixtures.py)\n", path);
        return NULL;
    }
    float *d = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size > 0 && size % 4 == 0 && fseek(f, 0, SEEK_SET) == 0) {
        d = malloc((size_t)size);
        if (d && fread(d, 1, (size_t)size, f) != (size_t)size) {
            free(d);
            d = NULL;
        }
    }
    fclose(f);
    if (!d) fprintf(stderr, "%s: cannot read %ld bytes of float32\n", path, size);
    *count = d ? (size_t)size / 4 : 0;
    return d;
}

static size_t shape_numel(const dlb_shape *s) {
    if (s->rank < 0) return 0;
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i] > 0 ? (size_t)s->dims[i] : 0;
    return n;
}

/* The tensor whose memory t shows, through view nodes (as the executor wires them). */
static int view_source(const dlb_graph *g, int t) {
    for (int guard = 0; guard < g->n_nodes && t >= 0; guard++) {
        int p = g->tensors[t].producer;
        if (p < 0) break;
        const dlb_node *nd = &g->nodes[p];
        const dlb_op_info *info = dlb__op_info(nd->op_type);
        if (!dlb__is_onnx_domain(nd->domain) || !info || info->cls != DLB_OPC_VIEW ||
            nd->n_in < 1 || !strcmp(nd->op_type, "Constant"))
            break;
        t = nd->in[0];
    }
    return t;
}

static const char *tname(const dlb_graph *g, int t) {
    return t >= 0 ? g->tensors[t].name : "-";
}

/* Uncovered layers: their consumers read random data, so parity cannot hold.  Returns count. */
static int report_uncovered(const char *model, const dlb_lowered *l) {
    int n = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        if (L->covered) continue;
        fprintf(stderr, "%s: uncovered layer %s (%s): %s\n", model, L->name, L->op_type,
                L->why_uncovered ? L->why_uncovered : "?");
        n++;
    }
    return n;
}

/* Weights without data (left random by dlb_net_load_model_weights), listed.  Returns count. */
static int report_missing_weights(const char *model, const dlb_lowered *l) {
    const dlb_graph *g = l->graph;
    int n = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        if (!L->covered) continue;
        bool bn = L->pattern && !strcmp(L->pattern, "conv+bn");
        for (int k = 0; bn && k < 4; k++)
            if (L->bn_tensors[k] < 0 || !g->tensors[L->bn_tensors[k]].weights) {
                fprintf(stderr, "%s: layer %s: folded BatchNorm input %d (%s) has no data\n", model,
                        L->name, k + 1, tname(g, L->bn_tensors[k]));
                n++;
            }
        for (int w = 0; w < L->spec.n_wei; w++) {
            if (bn && w > 0) break; /* the bias is synthesized when the conv has none */
            int t = L->wei_tensors ? L->wei_tensors[w] : -1;
            if (t >= 0 && g->tensors[t].weights) continue;
            fprintf(stderr, "%s: layer %s (%s): weight %d (%s) has no data\n", model, L->name,
                    L->pattern ? L->pattern : L->op_type, w,
                    t >= 0 ? tname(g, t) : "synthesized by the lowering");
            n++;
        }
    }
    return n;
}

/* Does tensor t (or what it is a view of) have contents in the file or from constant folding? */
static bool has_const_data(const dlb_graph *g, int t) {
    const dlb_tensor *a = &g->tensors[t], *b = &g->tensors[view_source(g, t)];
    return a->weights || b->weights || (a->is_const && a->value.n > 0) ||
           (b->is_const && b->value.n > 0);
}

/* External inputs of the network other than the model's graph inputs: slots with no edge, which
 * the executor fills with random data.  Those without any constant data (outputs of uncovered or
 * zero-cost compute nodes) are always listed and counted; constant ones (initializers, Constant
 * nodes, folded constants) must be filled by dlb_net_load_model_weights and are only counted
 * (*n_const) and, with \p list_const, listed: that is where to look when parity fails. */
static int report_external(const char *model, const dlb_lowered *l, const dlb_netdesc *d,
                           bool list_const, int *n_const) {
    const dlb_graph *g = l->graph;
    int n = 0, op = -1;
    *n_const = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        if (!L->covered) continue;
        op++;
        for (int s = 0; s < L->spec.n_src + L->spec.n_post; s++) {
            int t = s < L->spec.n_src ? L->src_tensors[s] : L->post_tensor[s - L->spec.n_src];
            if (t < 0) continue;
            bool wired = false;
            for (int e = 0; e < d->n_edges && !wired; e++)
                wired = d->edges[e].to_op == op && d->edges[e].to_src == s;
            int v = view_source(g, t);
            if (wired || g->tensors[v].is_input) continue;
            bool cst = has_const_data(g, t);
            *n_const += cst;
            n += !cst;
            if (cst && !list_const) continue;
            const dlb_tensor *T = &g->tensors[v];
            char from[512];
            if (T->is_initializer)
                snprintf(from, sizeof from, "initializer %s%s", T->name,
                         T->weights ? "" : " without data");
            else if (T->producer >= 0) {
                const dlb_node *nd = &g->nodes[T->producer];
                int pj = l->node_layer[T->producer];
                snprintf(from, sizeof from, "%s node %s%s%s", nd->op_type, nd->name,
                         pj < 0                   ? " (zero-cost, not in the network)"
                         : !l->layers[pj].covered ? " (uncovered layer)"
                                                  : "",
                         g->tensors[t].is_const ? ", value folded" : "");
            } else
                snprintf(from, sizeof from, "tensor %s", T->name);
            fprintf(
                stderr, "%s: %s external input: layer %s (%s) op %d slot %d (%s) tensor %s <- %s\n",
                model, cst ? "constant" : "RANDOM", L->name, L->pattern ? L->pattern : L->op_type,
                op, s, s < L->spec.n_src ? "src" : "post-op operand", tname(g, t), from);
        }
    }
    return n;
}

/* Runs one model; returns 0 when it agrees with torch. */
static int parity(const char *dir, const char *model) {
    char path[4096];
    int fails = test_failures;
    dlb_diag diag = {.quiet_warnings = 1};
    dlb_graph *g = NULL;
    dlb_lowered *l = NULL;
    dlb_net *net = NULL;
    float *x = NULL, *want = NULL, *got = NULL;
    size_t nx = 0, ny = 0;

    snprintf(path, sizeof path, "%s/%s.onnx", dir, model);
    diag.file = path;
    dlb_load_options lo = {.read_weights = true};
    ASSERT_EQ_INT(dlb_graph_load_ex(path, &lo, &diag, &g), DLB_OK);
    if (!g) goto out;
    ASSERT_EQ_INT(dlb_graph_apply_batch(g, 1), 1);
    ASSERT_EQ_INT(dlb_graph_infer_shapes(g, &diag), DLB_OK);
    ASSERT(g->shapes_ok);
    ASSERT_EQ_INT(g->n_inputs, 1);
    ASSERT_EQ_INT(g->n_outputs, 1);
    if (test_failures != fails) goto out;

    ASSERT_EQ_INT(dlb_lower(g, &(dlb_lower_options){.fuse = true}, &diag, &l), DLB_OK);
    if (!l) goto out;
    ASSERT_EQ_INT(report_uncovered(model, l), 0);

    dlb_netdesc d;
    ASSERT_EQ_INT(dlb_netdesc_of_model(l, &diag, &d), DLB_OK);
    int n_const = 0;
    ASSERT_EQ_INT(report_external(model, l, &d, false, &n_const), 0);
    dlb_status st = dlb_net_create(&d, &(dlb_exec_options){0}, &diag, &net);
    if (st != DLB_OK) fprintf(stderr, "%s: dlb_net_create: %s\n", model, dlb_errname(st));
    ASSERT_EQ_INT(st, DLB_OK);
    if (!net) goto out;

    int missing = -1;
    ASSERT_EQ_INT(dlb_net_load_model_weights(net, l, &missing), DLB_OK);
    if (missing) report_missing_weights(model, l);
    ASSERT_EQ_INT(missing, 0);

    /* Missing weights or random inputs above do not stop the comparison: its error is reported. */
    int io_fails = test_failures;
    snprintf(path, sizeof path, "%s/%s.input.f32", dir, model);
    x = read_f32(path, &nx);
    snprintf(path, sizeof path, "%s/%s.output.f32", dir, model);
    want = read_f32(path, &ny);
    ASSERT(x && want);
    if (!x || !want) goto out;
    ASSERT_EQ_INT(nx, shape_numel(&g->tensors[g->inputs[0]].shape));
    ASSERT_EQ_INT(ny, shape_numel(&g->tensors[g->outputs[0]].shape));
    if (test_failures != io_fails) goto out;

    got = malloc(ny * sizeof *got);
    ASSERT(got);
    if (!got) goto out;
    ASSERT_EQ_INT(dlb_net_set_model_input(net, l, 0, x, nx), DLB_OK);
    ASSERT_EQ_INT(dlb_net_run(net), DLB_OK);
    ASSERT_EQ_INT(dlb_net_get_model_output(net, l, 0, got, ny), DLB_OK);
    if (test_failures != io_fails) goto out;

    double max_abs = 0, max_ref = 0, max_rel_el = 0;
    size_t am_got = 0, am_want = 0, n_rel = 0, n_nan = 0;
    for (size_t i = 0; i < ny; i++) {
        double e = fabs((double)got[i] - want[i]), r = fabs((double)want[i]);
        if (isnan(e)) n_nan++;
        if (e > max_abs) max_abs = e;
        if (r > max_ref) max_ref = r;
        if (r > REL_FLOOR) {
            n_rel++;
            if (e / r > max_rel_el) max_rel_el = e / r;
        }
        if (got[i] > got[am_got]) am_got = i;
        if (want[i] > want[am_want]) am_want = i;
    }
    double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
    printf("%-20s ops=%-4d reorders=%-3d max|torch|=%.4g max_abs_err=%.3g rel_err=%.3g "
           "max_elem_rel_err=%.3g (%zu of %zu with |torch|>%g) argmax %zu/%zu%s\n",
           model, dlb_net_n_ops(net), dlb_net_n_reorders(net), max_ref, max_abs, rel, max_rel_el,
           n_rel, ny, REL_FLOOR, am_got, am_want, n_nan ? " NaN!" : "");
    ASSERT_EQ_INT(n_nan, 0);
    ASSERT(max_ref > 0); /* an all-zero reference would make the comparison void */
    ASSERT(rel <= TOL);
    if ((n_nan || !(rel <= TOL)) && n_const) {
        fprintf(stderr,
                "%s: %d constant external input(s), filled by the weight loader or random:\n",
                model, n_const);
        report_external(model, l, &d, true, &n_const);
    }

out:
    free(x);
    free(want);
    free(got);
    dlb_net_free(net);
    dlb_lowered_free(l);
    dlb_graph_free(g);
    return test_failures != fails;
}

int main(int argc, char **argv) {
    static const char *dflt[] = {"resnet18", "mobilenet_v3_small", "vit_b_16"};
    if (argc < 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR [MODEL...]\n", argv[0]);
        return 2;
    }
    int n = argc > 2 ? argc - 2 : 3;
    const char **models = argc > 2 ? (const char **)argv + 2 : dflt;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (parity(argv[1], models[i])) {
            fprintf(stderr, "%s: FAILED\n", models[i]);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "torch parity: %d of %d model(s) failed\n", bad, n);
    return test_summary("test_torch_parity");
}
