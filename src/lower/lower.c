/* lower.c — turn a shape-inferred graph into layers: raw view or fusion view (docs/bricks.md). */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "lower_internal.h"
#include "shape/ops.h"

typedef struct lower_ctx {
    const dlb_graph *g;
    dlb_lowered *l;
    dlb_arena *a;
    char *assigned; /* node -> already part of a layer (or zero-cost) */
    int *last_pos;  /* layer -> topological position of its last node (for ordering) */
    int *pos;       /* node -> topological position */
    int cap;
    dlb_diag *diag;
} lower_ctx;

static dlb_layer *new_layer(lower_ctx *c) {
    if (c->l->n_layers == c->cap) return NULL; /* capacity = number of nodes: never reached */
    dlb_layer *L = &c->l->layers[c->l->n_layers++];
    memset(L, 0, sizeof *L);
    for (int i = 0; i < DLB_MAX_POST; i++) L->post_tensor[i] = -1;
    for (int i = 0; i < 4; i++) L->bn_tensors[i] = -1;
    return L;
}

static bool set_nodes(lower_ctx *c, dlb_layer *L, const int *nodes, int k) {
    L->nodes = dlb__arena_calloc(c->a, (size_t)k + 1, sizeof(int));
    if (!L->nodes) return false;
    memcpy(L->nodes, nodes, sizeof(int) * (size_t)k);
    L->n_nodes = k;
    int last = 0;
    for (int i = 0; i < k; i++) {
        c->assigned[nodes[i]] = 1;
        c->l->node_layer[nodes[i]] = (int)(L - c->l->layers);
        if (c->pos[nodes[i]] > last) last = c->pos[nodes[i]];
    }
    c->last_pos[L - c->l->layers] = last;
    return true;
}

static bool add_node(lower_ctx *c, dlb_layer *L, int node) {
    int *nodes = dlb__arena_calloc(c->a, (size_t)L->n_nodes + 2, sizeof(int));
    if (!nodes) return false;
    memcpy(nodes, L->nodes, sizeof(int) * (size_t)L->n_nodes);
    nodes[L->n_nodes] = node;
    return set_nodes(c, L, nodes, L->n_nodes + 1);
}

static dlb_operand operand(const dlb_graph *g, int t) {
    return (dlb_operand){.dtype = g->tensors[t].dtype, .shape = g->tensors[t].shape};
}

/* Replace the layer's (single) dst by tensor t, which has the same shape. */
static void set_dst(const dlb_graph *g, dlb_layer *L, int t) {
    L->dst_tensors[0] = t;
    L->spec.dst[0] = operand(g, t);
}

static bool can_post(const dlb_layer *L) {
    dlb_lop op = L->spec.op;
    return L->covered && L->spec.n_dst == 1 && L->spec.n_post < DLB_MAX_POST &&
           (op == DLB_LOP_CONV || op == DLB_LOP_DECONV || op == DLB_LOP_MATMUL ||
            op == DLB_LOP_INNER_PRODUCT || op == DLB_LOP_BINARY);
}

/* BatchNormalization -> Relu (pre-activation blocks, DenseNet): oneDNN's fused-relu flag. */
static bool absorb_bn_relu(lower_ctx *c, dlb_layer *L) {
    const dlb_graph *g = c->g;
    if (L->spec.op != DLB_LOP_BNORM || L->spec.n_post || L->spec.n_dst != 1) return true;
    int r = dlb__sole_consumer(g, L->dst_tensors[0]);
    if (r < 0 || c->assigned[r] || !dlb__op_is(&g->nodes[r], "Relu") || g->nodes[r].n_out < 1 ||
        g->nodes[r].out[0] < 0)
        return true;
    L->spec.post[L->spec.n_post++] = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = DLB_ALG_RELU};
    L->pattern = "bn+relu";
    L->dst_tensors[0] = g->nodes[r].out[0];
    L->spec.dst[0] = operand(g, g->nodes[r].out[0]);
    return add_node(c, L, r);
}

/* Does shape b broadcast into shape a (numpy rules, a unchanged)? */
static bool broadcasts_into(const dlb_shape *a, const dlb_shape *b) {
    if (b->rank > a->rank) return false;
    for (int i = 0; i < b->rank; i++) {
        int64_t da = a->dims[a->rank - 1 - i], db = b->dims[b->rank - 1 - i];
        if (db != da && db != 1) return false;
    }
    return true;
}

/* Is tensor t computed before node `anchor` runs?  A sum/binary post-op reads its operand when
 * the anchor executes, so the operand's producer must come earlier in topological order. */
static bool available_before(const lower_ctx *c, int t, int anchor) {
    int p = c->g->tensors[t].producer;
    return p < 0 || c->pos[p] < c->pos[anchor];
}

/* Absorb what follows an op into its post-op chain (rules in docs/bricks.md). */
static bool absorb_post_ops(lower_ctx *c, dlb_layer *L) {
    const dlb_graph *g = c->g;
    bool have_sum = false;
    for (;;) {
        if (!can_post(L)) return true;
        int cur = L->dst_tensors[0];
        const dlb_shape *ds = &g->tensors[cur].shape;
        dlb_postop *po = &L->spec.post[L->spec.n_post];
        dlb_pattern m;
        if (dlb__match_pattern(g, cur, c->assigned, true, &m) && m.op == DLB_LOP_ELTWISE) {
            *po = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = m.alg, .alpha = m.alpha};
            L->spec.n_post++;
            for (int i = 0; i < m.n_nodes; i++)
                if (!add_node(c, L, m.nodes[i])) return false;
            set_dst(g, L, m.out);
            continue;
        }
        int nx = dlb__sole_consumer(g, cur);
        if (nx < 0 || c->assigned[nx]) return true;
        const dlb_node *n = &g->nodes[nx];
        if (n->n_out < 1 || n->out[0] < 0 || !dlb_shape_equal(&g->tensors[n->out[0]].shape, ds))
            return true;
        dlb_alg alg;
        double alpha, beta, k;
        if (n->n_in >= 1 && n->in[0] == cur && dlb__unary_eltwise(g, n, &alg, &alpha, &beta)) {
            *po = (dlb_postop){.kind = DLB_POST_ELTWISE, .alg = alg, .alpha = alpha, .beta = beta};
        } else if (n->n_in == 2 && (dlb__op_is(n, "Add") || dlb__op_is(n, "Mul") ||
                                    dlb__op_is(n, "Sub") || dlb__op_is(n, "Div"))) {
            int other = n->in[0] == cur ? n->in[1] : n->in[0];
            bool cur_first = n->in[0] == cur;
            bool add = dlb__op_is(n, "Add"), mul = dlb__op_is(n, "Mul");
            if (other < 0 || other == cur || !available_before(c, other, L->nodes[0]))
                return true; /* an omitted input (value_info gave the shape), or x op x */
            if (dlb__const_scalar(g, other, &k) && (cur_first || add || mul)) {
                /* scale/shift by a constant: eltwise linear alpha*x + beta */
                double a_ = 1, b_ = 0;
                if (add)
                    b_ = k;
                else if (dlb__op_is(n, "Sub"))
                    b_ = -k;
                else if (mul)
                    a_ = k;
                else if (k != 0)
                    a_ = 1 / k;
                else
                    return true;
                *po = (dlb_postop){
                    .kind = DLB_POST_ELTWISE, .alg = DLB_ALG_LINEAR, .alpha = a_, .beta = b_};
            } else if (add && !have_sum && !dlb__is_weight(g, other) &&
                       dlb_shape_equal(&g->tensors[other].shape, ds) &&
                       g->tensors[other].dtype == g->tensors[cur].dtype &&
                       L->spec.op != DLB_LOP_BINARY) {
                *po = (dlb_postop){
                    .kind = DLB_POST_SUM, .alg = DLB_ALG_ADD, .operand = operand(g, other)};
                L->post_tensor[L->spec.n_post] = other;
                have_sum = true;
            } else if ((add || mul || cur_first) && broadcasts_into(ds, &g->tensors[other].shape)) {
                static const dlb_alg algs[4] = {DLB_ALG_ADD, DLB_ALG_MUL, DLB_ALG_SUB, DLB_ALG_DIV};
                int which = add ? 0 : mul ? 1 : dlb__op_is(n, "Sub") ? 2 : 3;
                *po = (dlb_postop){
                    .kind = DLB_POST_BINARY, .alg = algs[which], .operand = operand(g, other)};
                L->post_tensor[L->spec.n_post] = other;
            } else
                return true;
        } else
            return true;
        L->spec.n_post++;
        if (!add_node(c, L, nx)) return false;
        set_dst(g, L, n->out[0]);
    }
}

/* Conv -> BatchNormalization: fold (the exporter usually did it already). */
static bool absorb_bn(lower_ctx *c, dlb_layer *L) {
    const dlb_graph *g = c->g;
    if ((L->spec.op != DLB_LOP_CONV && L->spec.op != DLB_LOP_DECONV) || L->spec.n_post) return true;
    int bn = dlb__sole_consumer(g, L->dst_tensors[0]);
    if (bn < 0 || c->assigned[bn] || !dlb__op_is(&g->nodes[bn], "BatchNormalization")) return true;
    const dlb_node *n = &g->nodes[bn];
    if (n->n_in != 5) return true; /* X, scale, B, mean, var */
    for (int k = 1; k < n->n_in; k++)
        if (!dlb__is_weight(g, n->in[k])) return true;
    if (n->n_out < 1 || n->out[0] < 0) return true;
    for (int k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0) return true; /* training-mode outputs */
    if (!L->spec.p.has_bias) {           /* folding adds a bias of OC elements */
        dlb_operand *w = dlb__arena_calloc(c->a, (size_t)L->spec.n_wei + 2, sizeof *w);
        if (!w) return false;
        memcpy(w, L->spec.wei, sizeof *w * (size_t)L->spec.n_wei);
        int64_t oc = g->tensors[L->dst_tensors[0]].shape.dims[1];
        int *wt = dlb__arena_calloc(c->a, (size_t)L->spec.n_wei + 2, sizeof *wt);
        if (!wt) return false;
        memcpy(wt, L->wei_tensors, sizeof *wt * (size_t)L->spec.n_wei);
        wt[L->spec.n_wei] = -1; /* the folded bias is computed, not read */
        L->wei_tensors = wt;
        w[L->spec.n_wei++] = (dlb_operand){.dtype = w[0].dtype, .shape = {.rank = 1, .dims = {oc}}};
        L->spec.wei = w;
        L->spec.p.has_bias = true;
    }
    for (int k = 0; k < 4; k++) L->bn_tensors[k] = n->in[1 + k];
    L->bn_eps = dlb_node_attr_float(n, "epsilon", 1e-5);
    L->pattern = "conv+bn";
    set_dst(g, L, n->out[0]);
    return add_node(c, L, bn);
}

/* MatMul(x, W) -> Add(b) with a constant 1-D bias: matmul with bias. */
static bool absorb_matmul_bias(lower_ctx *c, dlb_layer *L) {
    const dlb_graph *g = c->g;
    if (L->spec.op != DLB_LOP_MATMUL || L->spec.p.has_bias || L->spec.n_wei != 1) return true;
    int cur = L->dst_tensors[0];
    int add = dlb__sole_consumer(g, cur);
    if (add < 0 || c->assigned[add] || !dlb__op_is(&g->nodes[add], "Add")) return true;
    const dlb_node *n = &g->nodes[add];
    if (n->n_in != 2 || n->n_out < 1 || n->out[0] < 0) return true;
    int b = n->in[0] == cur ? n->in[1] : n->in[0];
    if (!dlb__is_weight(g, b)) return true; /* also false for an omitted input (b < 0) */
    const dlb_shape *bs = &g->tensors[b].shape, *ds = &g->tensors[cur].shape;
    if (ds->rank < 1 || bs->rank != 1 || bs->dims[0] != ds->dims[ds->rank - 1]) return true;
    dlb_operand *w = dlb__arena_calloc(c->a, 3, sizeof *w);
    if (!w) return false;
    w[0] = L->spec.wei[0];
    w[1] = operand(g, b);
    int *wt = dlb__arena_calloc(c->a, 3, sizeof *wt);
    if (!wt) return false;
    wt[0] = L->wei_tensors[0];
    wt[1] = b;
    L->wei_tensors = wt;
    L->spec.wei = w;
    L->spec.n_wei = 2;
    L->spec.p.has_bias = true;
    set_dst(g, L, n->out[0]);
    return add_node(c, L, add);
}

static bool emit_node_layer(lower_ctx *c, int node) {
    dlb_layer *L = new_layer(c);
    const dlb_node *n = &c->g->nodes[node];
    if (!L) return false;
    L->name = n->name;
    L->op_type = n->op_type;
    const char *why = NULL;
    L->covered = dlb__build_node_op(c->g, node, c->a, &L->spec, &L->src_tensors, &L->dst_tensors,
                                    &L->wei_tensors, &why);
    if (!L->covered) {
        L->why_uncovered = why ? why : "out of memory";
        L->spec.op = DLB_LOP_UNCOVERED;
        dlb_warning(c->diag, n->name, "%s '%s' is not covered (%s)", "op", n->op_type,
                    L->why_uncovered);
    }
    return set_nodes(c, L, &node, 1);
}

static bool emit_pattern_layer(lower_ctx *c, const dlb_pattern *m, int x) {
    const dlb_graph *g = c->g;
    dlb_layer *L = new_layer(c);
    if (!L) return false;
    const dlb_node *first = &g->nodes[m->nodes[0]];
    L->name = first->name;
    L->op_type = first->op_type;
    L->pattern = m->name;
    L->covered = true;
    L->spec.op = m->op;
    L->spec.alg = m->alg;
    L->spec.p.alpha = m->alpha;
    L->spec.p.eps = m->eps;
    L->spec.p.axis = m->axis;
    int n_wei = m->op == DLB_LOP_LNORM ? m->n_weights : 0;
    L->src_tensors = dlb__arena_calloc(c->a, 2, sizeof(int));
    L->dst_tensors = dlb__arena_calloc(c->a, 2, sizeof(int));
    L->wei_tensors = dlb__arena_calloc(c->a, 3, sizeof(int));
    if (!L->src_tensors || !L->dst_tensors || !L->wei_tensors ||
        !dlb__spec_alloc(c->a, &L->spec, 1, n_wei, 1))
        return false;
    L->wei_tensors[0] = m->weights[0];
    L->wei_tensors[1] = m->weights[1];
    L->src_tensors[0] = x;
    L->spec.src[0] = operand(g, x);
    const dlb_shape *xs = &g->tensors[x].shape;
    int64_t c_dim = xs->rank > 0 ? xs->dims[xs->rank - 1] : 1; /* silu etc. on a scalar */
    for (int i = 0; i < n_wei; i++)
        L->spec.wei[i] =
            (dlb_operand){.dtype = g->tensors[x].dtype, .shape = {.rank = 1, .dims = {c_dim}}};
    L->dst_tensors[0] = m->out;
    L->spec.dst[0] = operand(g, m->out);
    return set_nodes(c, L, m->nodes, m->n_nodes);
}

static bool fuse_from(lower_ctx *c, int node) {
    const dlb_graph *g = c->g;
    const dlb_node *n = &g->nodes[node];
    dlb_pattern m;
    if (n->n_in > 0 && dlb__match_pattern(g, n->in[0], c->assigned, false, &m) &&
        m.nodes[0] == node)
        return emit_pattern_layer(c, &m, n->in[0]) &&
               absorb_post_ops(c, &c->l->layers[c->l->n_layers - 1]);
    if (!emit_node_layer(c, node)) return false;
    dlb_layer *L = &c->l->layers[c->l->n_layers - 1];
    if (!L->covered) return true;
    if (!absorb_bn(c, L) || !absorb_matmul_bias(c, L) || !absorb_post_ops(c, L) ||
        !absorb_bn_relu(c, L))
        return false;
    if (!L->pattern && L->n_nodes > 1) L->pattern = "post-ops";
    return true;
}

static int cmp_layer_pos(const void *a, const void *b, void *ctx) {
    const int *pos = ctx;
    return pos[*(const int *)a] - pos[*(const int *)b];
}

/* Order layers by the topological position of their last node (a valid topological order:
 * absorbed intermediate tensors never leave their layer). */
static bool order_layers(lower_ctx *c) {
    int n = c->l->n_layers;
    int *idx = malloc(sizeof(int) * (size_t)(n + 1));
    dlb_layer *sorted = dlb__arena_calloc(c->a, (size_t)n + 1, sizeof(dlb_layer));
    if (!idx || !sorted) {
        free(idx);
        return false;
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    qsort_r(idx, (size_t)n, sizeof(int), cmp_layer_pos, c->last_pos);
    for (int i = 0; i < n; i++) {
        sorted[i] = c->l->layers[idx[i]];
        for (int k = 0; k < sorted[i].n_nodes; k++) c->l->node_layer[sorted[i].nodes[k]] = i;
    }
    c->l->layers = sorted;
    free(idx);
    return true;
}

/* Mark the outputs of a node that (transitively) reads the values of a graph input.  A node that
 * does not is a constant subgraph (e.g. Swin's attention mask built with ScatterND/Where): runtimes
 * fold it once at load time, so it is zero-cost like shape arithmetic. */
static bool propagate_input_dependence(const dlb_graph *g, const dlb_node *n, char *varies) {
    bool v = false, all_const = n->n_out > 0;
    for (int k = 0; k < n->n_in; k++) v |= n->in[k] >= 0 && varies[n->in[k]];
    for (int k = 0; k < n->n_out; k++) all_const &= n->out[k] < 0 || g->tensors[n->out[k]].is_const;
    /* Static shapes: Shape and Size read only shapes, and folded outputs are constants. */
    if (all_const || dlb__op_is(n, "Shape") || dlb__op_is(n, "Size")) v = false;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0) varies[n->out[k]] = v;
    return v;
}

dlb_status dlb_lower(const dlb_graph *g, const dlb_lower_options *opt, dlb_diag *diag,
                     dlb_lowered **out) {
    *out = NULL;
    dlb_lowered *l = calloc(1, sizeof *l);
    lower_ctx c = {.g = g, .l = l, .diag = diag, .cap = g->n_nodes};
    if (!l || !(l->arena = dlb__arena_new())) goto oom;
    c.a = l->arena;
    l->graph = g;
    l->layers = dlb__arena_calloc(c.a, (size_t)g->n_nodes + 1, sizeof(dlb_layer));
    l->node_layer = dlb__arena_calloc(c.a, (size_t)g->n_nodes + 1, sizeof(int));
    c.assigned = dlb__arena_calloc(c.a, (size_t)g->n_nodes + 1, 1);
    c.last_pos = dlb__arena_calloc(c.a, (size_t)g->n_nodes + 1, sizeof(int));
    c.pos = dlb__arena_calloc(c.a, (size_t)g->n_nodes + 1, sizeof(int));
    if (!l->layers || !l->node_layer || !c.assigned || !c.last_pos || !c.pos) goto oom;
    for (int i = 0; i < g->n_nodes; i++) {
        c.pos[g->order[i]] = i;
        l->node_layer[i] = -1;
    }
    char *varies = dlb__arena_calloc(c.a, (size_t)g->n_tensors + 1, 1);
    if (!varies) goto oom;
    for (int i = 0; i < g->n_inputs; i++) varies[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_nodes; i++) {
        int node = g->order[i];
        bool input_dependent = propagate_input_dependence(g, &g->nodes[node], varies);
        if (c.assigned[node]) continue;
        if (!input_dependent || dlb__node_is_zero_cost(g, &g->nodes[node]) ||
            dlb__node_is_view(g, &g->nodes[node])) {
            c.assigned[node] = 1;
            l->n_zero_cost++;
            continue;
        }
        bool ok = opt && opt->fuse ? fuse_from(&c, node) : emit_node_layer(&c, node);
        if (!ok) goto oom;
    }
    if (!order_layers(&c)) goto oom;
    for (int i = 0; i < l->n_layers; i++) {
        dlb_layer *L = &l->layers[i];
        if (L->covered) dlb__op_cost(&L->spec, &L->flops, &L->bytes);
    }
    if (!dlb__assign_layouts(l, c.a, opt)) goto oom;
    *out = l;
    return DLB_OK;
oom:
    dlb_lowered_free(l);
    return DLB_ENOMEM;
}

void dlb_lowered_free(dlb_lowered *l) {
    if (!l) return;
    dlb__arena_free(l->arena);
    free(l);
}
