/* patterns.c — recognise exporter chains that a runtime executes as one op (SiLU, GELU, ...). */
#include <math.h>
#include <string.h>

#include "lower_internal.h"

static bool near(double a, double b) {
    return fabs(a - b) <= 1e-3 * fmax(1.0, fabs(b));
}

/* The other input of a two-input node, given one of them; -1 if t is not an input. */
static int other_input(const dlb_node *n, int t) {
    if (n->n_in != 2) return -1;
    if (n->in[0] == t) return n->in[1];
    if (n->in[1] == t) return n->in[0];
    return -1;
}

/* Consumer of x with the given op type (first found, not yet assigned); -1 if none. */
static int consumer_op(const dlb_graph *g, int x, const char *op, const char *assigned) {
    const dlb_tensor *t = &g->tensors[x];
    for (int c = 0; c < t->n_consumers; c++) {
        int n = t->consumers[c];
        if (!assigned[n] && dlb__op_is(&g->nodes[n], op)) return n;
    }
    return -1;
}

/* Every consumer of x is one of nodes[0..k) (counting repeated consumption). */
static bool consumers_within(const dlb_graph *g, int x, const int *nodes, int k) {
    const dlb_tensor *t = &g->tensors[x];
    if (t->is_output) return false;
    for (int c = 0; c < t->n_consumers; c++) {
        bool found = false;
        for (int i = 0; i < k && !found; i++) found = t->consumers[c] == nodes[i];
        if (!found) return false;
    }
    return true;
}

static int out0(const dlb_graph *g, int n) {
    return g->nodes[n].n_out > 0 ? g->nodes[n].out[0] : -1;
}

/* The sole consumer of tensor t if it has op type `op`; -1 otherwise. */
static int next_op(const dlb_graph *g, int t, const char *op) {
    int c = dlb__sole_consumer(g, t);
    return c >= 0 && dlb__op_is(&g->nodes[c], op) ? c : -1;
}

/* x * Sigmoid(x) -> swish;  x * HardSigmoid(x) (alpha 1/6, beta 1/2) -> hardswish. */
static bool match_gated(const dlb_graph *g, int x, const char *assigned, dlb_pattern *m) {
    static const struct {
        const char *gate, *name;
        dlb_alg alg;
    } forms[] = {{"Sigmoid", "silu", DLB_ALG_SWISH},
                 {"HardSigmoid", "hardswish", DLB_ALG_HARDSWISH}};
    for (size_t f = 0; f < 2; f++) {
        int s = consumer_op(g, x, forms[f].gate, assigned);
        if (s < 0) continue;
        if (forms[f].alg == DLB_ALG_HARDSWISH &&
            (!near(dlb_node_attr_float(&g->nodes[s], "alpha", 0.2), 1.0 / 6) ||
             !near(dlb_node_attr_float(&g->nodes[s], "beta", 0.5), 0.5)))
            continue;
        int mul = next_op(g, out0(g, s), "Mul");
        if (mul < 0 || other_input(&g->nodes[mul], out0(g, s)) != x) continue;
        *m = (dlb_pattern){.name = forms[f].name,
                           .op = DLB_LOP_ELTWISE,
                           .alg = forms[f].alg,
                           .nodes = {s, mul},
                           .n_nodes = 2,
                           .out = out0(g, mul)};
        if (forms[f].alg == DLB_ALG_SWISH) m->alpha = 1.0;
        return true;
    }
    return false;
}

/* GELU, erf form as exported by torch: Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5
 * (also Mul(x, 1/sqrt 2) and the 0.5 applied to x first). */
static bool match_gelu(const dlb_graph *g, int x, const char *assigned, dlb_pattern *m) {
    double c;
    int d = consumer_op(g, x, "Div", assigned), scale_ok = 0;
    if (d >= 0 && g->nodes[d].in[0] == x && dlb__const_scalar(g, g->nodes[d].in[1], &c))
        scale_ok = near(c, sqrt(2.0));
    if (!scale_ok) {
        d = consumer_op(g, x, "Mul", assigned);
        int o = d >= 0 ? other_input(&g->nodes[d], x) : -1;
        scale_ok = o >= 0 && dlb__const_scalar(g, o, &c) && near(c, 1 / sqrt(2.0));
    }
    if (!scale_ok) return false;
    int e = next_op(g, out0(g, d), "Erf");
    int a = e >= 0 ? next_op(g, out0(g, e), "Add") : -1;
    if (a < 0 || !dlb__const_scalar(g, other_input(&g->nodes[a], out0(g, e)), &c) || !near(c, 1))
        return false;
    int m1 = next_op(g, out0(g, a), "Mul");
    if (m1 < 0) return false;
    int nodes[6] = {d, e, a, m1};
    int k = 4, m2 = -1;
    int o = other_input(&g->nodes[m1], out0(g, a));
    if (o == x) { /* (x * (1 + erf)) * 0.5 */
        m2 = next_op(g, out0(g, m1), "Mul");
        if (m2 < 0 || !dlb__const_scalar(g, other_input(&g->nodes[m2], out0(g, m1)), &c) ||
            !near(c, 0.5))
            return false;
    } else { /* (x * 0.5) * (1 + erf) */
        m2 = o >= 0 ? g->tensors[o].producer : -1;
        if (m2 < 0 || assigned[m2] || !dlb__op_is(&g->nodes[m2], "Mul") ||
            other_input(&g->nodes[m2], x) < 0 ||
            !dlb__const_scalar(g, other_input(&g->nodes[m2], x), &c) || !near(c, 0.5) ||
            dlb__sole_consumer(g, o) != m1)
            return false;
        int t = nodes[3];
        nodes[3] = m2;
        m2 = t; /* keep topological order: Mul 0.5 may come before Erf's chain */
    }
    nodes[k++] = m2;
    *m = (dlb_pattern){.name = "gelu_erf",
                       .op = DLB_LOP_ELTWISE,
                       .alg = DLB_ALG_GELU_ERF,
                       .n_nodes = k,
                       .out = out0(g, nodes[k - 1])};
    memcpy(m->nodes, nodes, sizeof(int) * (size_t)k);
    return true;
}

/* LayerNorm as exported by torch at opset < 17: ReduceMean -> Sub -> Pow 2 -> ReduceMean ->
 * Add eps -> Sqrt -> Div, then optionally Mul gamma -> Add beta. */
static bool match_layernorm(const dlb_graph *g, int x, const char *assigned, dlb_pattern *m) {
    int rm1 = consumer_op(g, x, "ReduceMean", assigned);
    int sub = consumer_op(g, x, "Sub", assigned);
    if (rm1 < 0 || sub < 0 || g->nodes[sub].in[0] != x || g->nodes[sub].in[1] != out0(g, rm1))
        return false;
    const dlb_attr *axes = dlb_node_attr(&g->nodes[rm1], "axes");
    int rank = g->tensors[x].shape.rank;
    if (rank < 1 || !axes || axes->type != DLB_ATTR_INTS || axes->n != 1 ||
        (axes->ints[0] != -1 && axes->ints[0] != rank - 1))
        return false;
    int d = out0(g, sub);
    if (d < 0) return false; /* Sub's output omitted */
    const dlb_tensor *dt = &g->tensors[d];
    if (dt->n_consumers != 2 || dt->is_output) return false;
    int pw = consumer_op(g, d, "Pow", assigned), div = consumer_op(g, d, "Div", assigned);
    double c, eps;
    if (pw < 0 || div < 0 || g->nodes[div].in[0] != d ||
        !dlb__const_scalar(g, g->nodes[pw].in[1], &c) || !near(c, 2))
        return false;
    int rm2 = next_op(g, out0(g, pw), "ReduceMean");
    int add = rm2 >= 0 ? next_op(g, out0(g, rm2), "Add") : -1;
    int sq = add >= 0 ? next_op(g, out0(g, add), "Sqrt") : -1;
    if (sq < 0 || !dlb__const_scalar(g, other_input(&g->nodes[add], out0(g, rm2)), &eps) ||
        next_op(g, out0(g, sq), "Div") != div)
        return false;
    int nodes[12] = {rm1, sub, pw, rm2, add, sq, div};
    int k = 7, weights = 0, wt[2] = {-1, -1};
    int mul = next_op(g, out0(g, div), "Mul");
    if (mul >= 0 && dlb__is_weight(g, other_input(&g->nodes[mul], out0(g, div)))) {
        nodes[k++] = mul;
        weights = 1;
        wt[0] = other_input(&g->nodes[mul], out0(g, div));
        int badd = next_op(g, out0(g, mul), "Add");
        if (badd >= 0 && dlb__is_weight(g, other_input(&g->nodes[badd], out0(g, mul)))) {
            nodes[k++] = badd;
            weights = 2;
            wt[1] = other_input(&g->nodes[badd], out0(g, mul));
        }
    }
    *m = (dlb_pattern){.name = "layernorm",
                       .op = DLB_LOP_LNORM,
                       .eps = eps,
                       .axis = rank - 1,
                       .n_nodes = k,
                       .out = out0(g, nodes[k - 1]),
                       .n_weights = weights,
                       .weights = {wt[0], wt[1]}};
    memcpy(m->nodes, nodes, sizeof(int) * (size_t)k);
    return true;
}

bool dlb__match_pattern(const dlb_graph *g, int x, const char *assigned, bool exclusive,
                        dlb_pattern *m) {
    if (x < 0 || !dlb_shape_known(&g->tensors[x].shape)) return false;
    if (!dlb_dtype_is_float(g->tensors[x].dtype)) return false;
    if (!match_gated(g, x, assigned, m) && !match_gelu(g, x, assigned, m) &&
        !match_layernorm(g, x, assigned, m))
        return false;
    if (m->out < 0) return false; /* the last node's output is omitted */
    /* As a post-op, x is absorbed: nothing but the pattern may read it. */
    return !exclusive || consumers_within(g, x, m->nodes, m->n_nodes);
}
