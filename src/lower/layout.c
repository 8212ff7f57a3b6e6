/* layout.c — layout class of every brick input: does the whole model hand it over plain, or in
 * the layout a convolution producing it would choose?  (docs/bricks.md, section 3) */
#include "arena.h"
#include "lower_internal.h"
#include "shape/ops.h"

/* Layout classes of a tensor as the whole-model executor (src/exec) leaves it. */
enum { CLASS_NATURAL = 0, CLASS_PLAIN = 1 };

typedef struct layout_ctx {
    const dlb_graph *g;
    signed char *out_class; /* tensor -> class of a covered layer's output; -1 if not one */
} layout_ctx;

/* Class of tensor t where a layer reads it (operand dims = t's shape).  The model executor
 * (dlb__slot_md / dlb__slot_buf) hands over the producer's buffer as it is when the dims agree,
 * and brings it to plain layout when a view changes them.  Tensors no covered layer produces
 * (graph inputs, initializers, folded constants, outputs of uncovered ops) are plain. */
static int class_of(const layout_ctx *c, int t) {
    if (t < 0 || t >= c->g->n_tensors) return CLASS_PLAIN;
    int s = dlb__view_source(c->g, t);
    if (s < 0 || c->out_class[s] < 0) return CLASS_PLAIN;
    if (!dlb_shape_equal(&c->g->tensors[s].shape, &c->g->tensors[t].shape)) return CLASS_PLAIN;
    return c->out_class[s];
}

/* Dims of shape s padded with leading 1s to rank nd. */
static void padded(const dlb_shape *s, int nd, int64_t *d) {
    int off = nd - s->rank;
    for (int i = 0; i < nd; i++) d[i] = i < off ? 1 : s->dims[i - off];
}

static bool dims_equal(const int64_t *a, const int64_t *b, int nd) {
    for (int i = 0; i < nd; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Binary (ops_binary.c): the dst follows the layout of the operand with the dst's full dims
 * (src0, or src1 of a commutative op or a subtraction when src0 is the broadcast one) when it is
 * an activation of the dst's rank; a broadcast src0 is first expanded into a plain buffer. */
static int binary_class(const layout_ctx *c, const dlb_layer *L) {
    const dlb_op_spec *s = &L->spec;
    int nd = s->dst[0].shape.rank > 0 ? s->dst[0].shape.rank : 1;
    if (nd > DLB_MAX_RANK || s->n_src < 1) return CLASS_PLAIN;
    int64_t dd[DLB_MAX_RANK], d0[DLB_MAX_RANK], d1[DLB_MAX_RANK];
    const dlb_operand *b = s->n_src >= 2 ? &s->src[1] : s->n_wei >= 1 ? &s->wei[0] : NULL;
    if (!b || s->src[0].shape.rank > nd || b->shape.rank > nd) return CLASS_PLAIN;
    padded(&s->dst[0].shape, nd, dd);
    padded(&s->src[0].shape, nd, d0);
    padded(&b->shape, nd, d1);
    int first = -1;
    if (dims_equal(d0, dd, nd))
        first = 0;
    else if (dims_equal(d1, dd, nd) && s->alg != DLB_ALG_DIV)
        first = 1;
    if (first < 0 || first >= s->n_src || s->src[first].shape.rank != nd) return CLASS_PLAIN;
    return class_of(c, L->src_tensors[first]);
}

/* Concat (oneDNN's choice of dst format for format_tag_any): the layout of its first blocked
 * source, else of its first plain-format (abcd or nhwc) one: natural when any source is. */
static int concat_class(const layout_ctx *c, const dlb_layer *L) {
    for (int i = 0; i < L->spec.n_src; i++)
        if (class_of(c, L->src_tensors[i]) == CLASS_NATURAL) return CLASS_NATURAL;
    return CLASS_PLAIN;
}

/* Class of a covered layer's outputs, from the compile function of its op in src/exec. */
static int output_class(const layout_ctx *c, const dlb_layer *L) {
    const dlb_op_spec *s = &L->spec;
    switch (s->op) {
    case DLB_LOP_CONV:
    case DLB_LOP_DECONV:
        return CLASS_NATURAL; /* format_tag_any: oneDNN's choice */
    case DLB_LOP_ELTWISE:
        if (s->alg == DLB_ALG_ERF) return CLASS_PLAIN; /* our own kernel, plain */
        /* fall through */
    case DLB_LOP_POOL:
    case DLB_LOP_LRN:
    case DLB_LOP_SOFTMAX:
    case DLB_LOP_RESAMPLE:
    case DLB_LOP_BNORM:
    case DLB_LOP_INORM:
        /* created on the source's format; the dst follows it */
        return s->n_src >= 1 ? class_of(c, L->src_tensors[0]) : CLASS_PLAIN;
    case DLB_LOP_BINARY:
        return binary_class(c, L);
    case DLB_LOP_CONCAT:
        return concat_class(c, L);
    default:
        /* matmul, inner product (plain dst), layer norm (plain source), reduction (plain:
         * oneDNN 2.6 reduces blocked data in reference code only, so the executor takes the
         * plain source), transpose, pad, slice, split, gather, expand (plain dst) */
        return CLASS_PLAIN;
    }
}

bool dlb__assign_layouts(dlb_lowered *l, dlb_arena *a) {
    const dlb_graph *g = l->graph;
    layout_ctx c = {.g = g};
    c.out_class = dlb__arena_alloc(a, (size_t)g->n_tensors + 1);
    if (!c.out_class) return false;
    for (int t = 0; t <= g->n_tensors; t++) c.out_class[t] = -1;
    /* Layers are in topological order: every layer's sources are classified before it. */
    for (int j = 0; j < l->n_layers; j++) {
        dlb_layer *L = &l->layers[j];
        if (!L->covered) continue;
        dlb_op_spec *s = &L->spec;
        for (int i = 0; i < s->n_src; i++)
            s->src[i].plain_layout = class_of(&c, L->src_tensors[i]) == CLASS_PLAIN;
        for (int k = 0; k < s->n_post; k++)
            if (s->post[k].kind != DLB_POST_ELTWISE && L->post_tensor[k] >= 0)
                s->post[k].operand.plain_layout = class_of(&c, L->post_tensor[k]) == CLASS_PLAIN;
        int cls = output_class(&c, L);
        for (int o = 0; o < s->n_dst; o++)
            if (L->dst_tensors[o] >= 0 && L->dst_tensors[o] < g->n_tensors)
                c.out_class[L->dst_tensors[o]] = (signed char)cls;
    }
    return true;
}
