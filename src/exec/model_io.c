/* model_io.c — real weights, inputs and outputs of a whole-model network (validation only). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dlbricks/exec.h"
#include "shape/ops.h"

/* Network op index of each layer (uncovered layers are not in the network), or -1. */
static int op_of_layer(const dlb_lowered *l, int layer) {
    if (!l->layers[layer].covered) return -1;
    int op = 0;
    for (int j = 0; j < layer; j++) op += l->layers[j].covered;
    return op;
}

static int64_t numel(const dlb_operand *o) {
    int64_t n = dlb_shape_numel(&o->shape);
    return n < 0 ? 0 : n;
}

/* Conv weights and bias with a BatchNormalization folded in: w' = w*s, b' = (b - mean)*s + beta,
 * s = gamma / sqrt(var + eps). */
static dlb_status load_folded_conv(dlb_net *n, int op, const dlb_layer *L, const dlb_graph *g) {
    const float *bn[4];
    for (int k = 0; k < 4; k++) {
        bn[k] = L->bn_tensors[k] >= 0 ? g->tensors[L->bn_tensors[k]].weights : NULL;
        if (!bn[k]) return DLB_ENOTFOUND;
    }
    const dlb_operand *wo = &L->spec.wei[0];
    const float *w = L->wei_tensors[0] >= 0 ? g->tensors[L->wei_tensors[0]].weights : NULL;
    const float *b =
        L->spec.n_wei > 1 && L->wei_tensors[1] >= 0 ? g->tensors[L->wei_tensors[1]].weights : NULL;
    if (!w) return DLB_ENOTFOUND;
    int64_t nw = numel(wo), oc = wo->shape.dims[0], per = nw / oc;
    float *w2 = malloc(sizeof *w2 * (size_t)nw), *b2 = malloc(sizeof *b2 * (size_t)oc);
    dlb_status st = DLB_ENOMEM;
    if (w2 && b2) {
        for (int64_t c = 0; c < oc; c++) {
            double s = bn[0][c] / sqrt((double)bn[3][c] + L->bn_eps);
            for (int64_t i = 0; i < per; i++) w2[c * per + i] = (float)(w[c * per + i] * s);
            b2[c] = (float)(((b ? b[c] : 0) - bn[2][c]) * s + bn[1][c]);
        }
        st = dlb_net_set_weight(n, op, 0, w2, (size_t)nw);
        if (st == DLB_OK) st = dlb_net_set_weight(n, op, 1, b2, (size_t)oc);
    }
    free(w2);
    free(b2);
    return st;
}

/* The tensor whose memory tensor t shows, through views. */
static int through_views(const dlb_graph *g, int t) {
    for (int guard = 0; guard < g->n_nodes && t >= 0; guard++) {
        int p = g->tensors[t].producer;
        if (p < 0) break;
        const dlb_node *nd = &g->nodes[p];
        if (!dlb__node_is_view(g, nd)) break;
        t = nd->in[0];
    }
    return t;
}

/* Contents of tensor t (or of what it is a view of) as \p count values in the layout the
 * executor keeps operand \p o in: f32, or s32 bit patterns for integer operands (gather indices).
 * Initializer data (read_weights) first, then values the loader or shape inference knows
 * (Constant nodes, folded constants such as ViT's class token Expand).  NULL when unknown;
 * *tmp owns a converted copy. */
static const float *const_data(const dlb_graph *g, int t, const dlb_operand *o, float **tmp) {
    int64_t count = numel(o);
    bool to_int = dlb_dtype_is_integer(o->dtype);
    *tmp = NULL;
    if (t < 0 || count < 1 || (to_int && dlb_dtype_size(o->dtype) < 4)) return NULL;
    int cand[2] = {t, through_views(g, t)};
    for (int c = 0; c < 2; c++) {
        const dlb_tensor *T = &g->tensors[cand[c]];
        if (!to_int && T->weights && dlb_shape_numel(&T->shape) == count) return T->weights;
        if (!T->is_const || T->value.n != count || (!T->value.f && !T->value.i)) continue;
        float *d = malloc(sizeof *d * (size_t)count);
        if (!d) return NULL;
        for (int64_t i = 0; i < count; i++) {
            double v = T->value.f ? T->value.f[i] : (double)T->value.i[i];
            if (to_int) {
                int32_t k = (int32_t)v;
                memcpy(&d[i], &k, sizeof k);
            } else
                d[i] = (float)v;
        }
        return *tmp = d;
    }
    return NULL;
}

/* True when the network computes tensor t (through views) in a covered layer. */
static bool produced_in_net(const dlb_lowered *l, int t) {
    int p = l->graph->tensors[through_views(l->graph, t)].producer;
    int j = p >= 0 ? l->node_layer[p] : -1;
    return j >= 0 && l->layers[j].covered;
}

/* Gemm: alpha scales B (weight 0), beta scales C (the bias, weight 1); fold them in. */
static dlb_status set_scaled_weight(dlb_net *n, int op, int w, const dlb_layer *L,
                                    const float *data) {
    size_t count = (size_t)numel(&L->spec.wei[w]);
    bool gemm = L->spec.op == DLB_LOP_MATMUL || L->spec.op == DLB_LOP_INNER_PRODUCT;
    double scale = !gemm || w > 1 ? 1 : w == 0 ? L->spec.p.alpha : L->spec.p.beta;
    if (scale == 0 || scale == 1) return dlb_net_set_weight(n, op, w, data, count);
    float *s = malloc(sizeof *s * count);
    if (!s) return DLB_ENOMEM;
    for (size_t i = 0; i < count; i++) s[i] = (float)(data[i] * scale);
    dlb_status st = dlb_net_set_weight(n, op, w, s, count);
    free(s);
    return st;
}

dlb_status dlb_net_load_model_weights(dlb_net *n, const dlb_lowered *l, int *missing) {
    const dlb_graph *g = l->graph;
    *missing = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        int op = op_of_layer(l, j);
        if (op < 0) continue;
        dlb_status st = DLB_OK;
        if (L->pattern && !strcmp(L->pattern, "conv+bn")) {
            st = load_folded_conv(n, op, L, g);
            if (st == DLB_ENOTFOUND) {
                (*missing)++;
                st = DLB_OK;
            }
        } else
            for (int w = 0; w < L->spec.n_wei && st == DLB_OK; w++) {
                float *tmp;
                const float *data =
                    const_data(g, L->wei_tensors ? L->wei_tensors[w] : -1, &L->spec.wei[w], &tmp);
                if (data)
                    st = set_scaled_weight(n, op, w, L, data);
                else
                    (*missing)++;
                free(tmp);
            }
        /* Constant activations: sources and binary post-op operands that are initializers or
         * folded constants (LayerNorm gamma/beta as post-ops, a class token) are external inputs
         * of the network; fill them with their real values instead of random data. */
        for (int s = 0; s < L->spec.n_src + L->spec.n_post && st == DLB_OK; s++) {
            bool src = s < L->spec.n_src;
            int t = src ? L->src_tensors[s] : L->post_tensor[s - L->spec.n_src];
            if (t < 0 || produced_in_net(l, t) || g->tensors[through_views(g, t)].is_input)
                continue;
            const dlb_operand *o = src ? &L->spec.src[s] : &L->spec.post[s - L->spec.n_src].operand;
            float *tmp;
            const float *data = const_data(g, t, o, &tmp);
            if (data)
                st = dlb_net_set_input(n, op, s, data, (size_t)numel(o));
            else
                (*missing)++;
            free(tmp);
        }
        if (st != DLB_OK) return st;
    }
    return DLB_OK;
}

dlb_status dlb_net_set_model_input(dlb_net *n, const dlb_lowered *l, int i, const float *data,
                                   size_t count) {
    const dlb_graph *g = l->graph;
    if (i < 0 || i >= g->n_inputs) return DLB_EINVAL;
    int want = g->inputs[i], found = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        int op = op_of_layer(l, j);
        if (op < 0) continue;
        for (int s = 0; s < L->spec.n_src + L->spec.n_post; s++) {
            int t = s < L->spec.n_src ? L->src_tensors[s] : L->post_tensor[s - L->spec.n_src];
            if (t < 0 || through_views(g, t) != want) continue;
            /* A view of the input has the same elements in the same order. */
            dlb_status st = dlb_net_set_input(n, op, s, data, count);
            if (st != DLB_OK) return st;
            found++;
        }
    }
    return found ? DLB_OK : DLB_ENOTFOUND;
}

dlb_status dlb_net_get_model_output(dlb_net *n, const dlb_lowered *l, int i, float *data,
                                    size_t count) {
    const dlb_graph *g = l->graph;
    if (i < 0 || i >= g->n_outputs) return DLB_EINVAL;
    int t = through_views(g, g->outputs[i]);
    int p = g->tensors[t].producer;
    int j = p >= 0 ? l->node_layer[p] : -1;
    if (j < 0 || op_of_layer(l, j) < 0) return DLB_ENOTFOUND;
    const dlb_layer *L = &l->layers[j];
    for (int k = 0; k < L->spec.n_dst; k++)
        if (L->dst_tensors[k] == t) return dlb_net_get_output(n, op_of_layer(l, j), k, data, count);
    return DLB_ENOTFOUND;
}
