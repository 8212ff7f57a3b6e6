/* netdesc.c — networks to run: one brick, or a whole model wired through its view ops. */
#include <string.h>

#include "arena.h"
#include "dlbricks/exec.h"
#include "shape/ops.h"

void dlb_netdesc_of_brick(const dlb_brick *b, dlb_netdesc *d) {
    *d = (dlb_netdesc){
        .n_ops = b->n_ops, .ops = b->ops, .n_edges = b->n_edges, .edges = b->edges, .name = b->key};
}

/* Layer and output that produce tensor t, or -1. */
static int producing_layer(const dlb_lowered *l, int t, int *out) {
    int p = l->graph->tensors[t].producer;
    if (p < 0) return -1;
    int j = l->node_layer[p];
    if (j < 0) return -1;
    const dlb_layer *L = &l->layers[j];
    for (int o = 0; o < L->spec.n_dst; o++)
        if (L->dst_tensors[o] == t) {
            *out = o;
            return j;
        }
    return -1;
}

dlb_status dlb_netdesc_of_model(const dlb_lowered *l, dlb_diag *diag, dlb_netdesc *d) {
    (void)diag;
    int n_slots = 0, n_ops = 0;
    dlb_op_spec *ops = dlb__arena_calloc(l->arena, (size_t)l->n_layers + 1, sizeof *ops);
    int *op_of = dlb__arena_calloc(l->arena, (size_t)l->n_layers + 1, sizeof *op_of);
    if (!ops || !op_of) return DLB_ENOMEM;
    /* Uncovered layers are left out: their consumers read external (random) inputs instead. */
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        op_of[j] = L->covered ? n_ops : -1;
        if (!L->covered) continue;
        ops[n_ops++] = L->spec;
        n_slots += L->spec.n_src + L->spec.n_post;
    }
    dlb_brick_edge *edges = dlb__arena_calloc(l->arena, (size_t)n_slots + 1, sizeof *edges);
    if (!edges) return DLB_ENOMEM;
    int ne = 0;
    for (int j = 0; j < l->n_layers; j++) {
        const dlb_layer *L = &l->layers[j];
        if (!L->covered) continue;
        for (int s = 0; s < L->spec.n_src + L->spec.n_post; s++) {
            int t = s < L->spec.n_src ? L->src_tensors[s] : L->post_tensor[s - L->spec.n_src];
            if (t < 0) continue;
            int out = 0, from = producing_layer(l, dlb__view_source(l->graph, t), &out);
            if (from >= 0 && op_of[from] >= 0)
                edges[ne++] = (dlb_brick_edge){op_of[j], s, op_of[from], out};
        }
    }
    *d = (dlb_netdesc){
        .n_ops = n_ops, .ops = ops, .n_edges = ne, .edges = edges, .name = l->graph->name};
    return DLB_OK;
}
