/* ops_norm.c — batch, instance and layer normalisation and reductions. */
#include <math.h>
#include <string.h>

#include "ops_simple.h"

static int64_t numel(const dlb_operand *o) {
    int64_t k = 1;
    for (int i = 0; i < o->shape.rank; i++) k *= o->shape.dims[i];
    return k;
}

/* Per-channel weights w[0..count) of op, each of c elements, bound to the given arguments. */
static dlb_status channel_weights(dlb_net *n, int op, int count, int64_t c, const int *args,
                                  dlb__simple_step *ss) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_dims_t cd = {c};
    dnnl_memory_desc_t md;
    DLB_TRY(dlb__dense_md(&md, 1, cd, dlb__dt_of(&s->src[0])));
    for (int w = 0; w < count; w++) {
        if (numel(&s->wei[w]) != c) {
            dlb_error(diag, where, "op %d: weight %d has %lld elements, expected %lld", op, w,
                      (long long)numel(&s->wei[w]), (long long)c);
            return DLB_EINVAL;
        }
        int b;
        DLB_TRY(dlb__weight_buf(n, op, w, &md, &md, &b));
        if (args[w] == DNNL_ARG_VARIANCE && md.data_type == dnnl_f32) { /* must be positive */
            float *p = n->bufs[b].data;
            for (int64_t i = 0; i < c; i++) p[i] = fabsf(p[i]) + 0.5f;
            n->bufs[b].fixed = true;
        }
        ss->fixed_arg[ss->n_fixed] = args[w];
        ss->fixed_buf[ss->n_fixed++] = b;
    }
cleanup:
    return st;
}

/* BatchNormalization (inference: global stats, scale and shift) and InstanceNormalization
 * (batch 1 only: a batch norm computing its statistics). */
dlb_status dlb__compile_bnorm(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    bool inorm = s->op == DLB_LOP_INORM;
    int need = inorm ? 2 : 4;
    int nd = s->src[0].shape.rank;
    if (s->n_src != 1 || s->n_dst != 1 || s->n_wei < need || nd < 2 || nd > 5) {
        dlb_error(diag, where,
                  "op %d: %s needs one 2D to 5D source, %d constant weights and one output", op,
                  inorm ? "instance norm" : "batch norm", need);
        return DLB_EUNSUPPORTED;
    }
    if (inorm && s->src[0].shape.dims[0] != 1) {
        dlb_error(diag, where, "op %d: instance norm with a batch above 1 is not supported", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_memory_desc_t src_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (inorm ? 0u : dnnl_use_global_stats);
    /* The only post-op the lowering gives a batch norm is a relu: oneDNN's fused flag. */
    bool relu =
        s->n_post == 1 && s->post[0].kind == DLB_POST_ELTWISE && s->post[0].alg == DLB_ALG_RELU;
    if (s->n_post && !relu) {
        dlb_error(diag, where, "op %d: batch norm takes only a relu post-op", op);
        return DLB_EUNSUPPORTED;
    }
    if (relu) flags |= dnnl_fuse_norm_relu;
    dnnl_batch_normalization_desc_t desc;
    DLB_DNNL_CHECK(dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_inference,
                                                              &src_md, (float)s->p.eps, flags));
    /* ONNX order: scale, B, mean, var. */
    static const int args[4] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    dlb__simple_step ss = {
        .desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}, .no_post_ops = relu};
    DLB_TRY(channel_weights(n, op, need, s->src[0].shape.dims[1], args, &ss));
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}

/* LayerNormalization over the last axis, with gamma (and beta) when the spec has them. */
dlb_status dlb__compile_lnorm(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int nd = s->src[0].shape.rank;
    if (s->n_src != 1 || s->n_dst != 1 || s->n_wei > 2 || nd < 2 || nd > 5 || s->p.axis != nd - 1) {
        dlb_error(diag, where,
                  "op %d: layer norm needs one 2D to 5D source normalised over its last axis "
                  "and at most two weights",
                  op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_memory_desc_t src_md;
    DLB_TRY(dlb__plain_md(&src_md, &s->src[0]));
    unsigned flags = (s->n_wei >= 1 ? dnnl_use_scale : 0u) | (s->n_wei >= 2 ? dnnl_use_shift : 0u);
    dnnl_layer_normalization_desc_t desc; /* statistics: computed, oneDNN's default layout */
    DLB_DNNL_CHECK(dnnl_layer_normalization_forward_desc_init(
        &desc, dnnl_forward_inference, &src_md, NULL, (float)s->p.eps, flags));
    static const int args[2] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT};
    dlb__simple_step ss = {.desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}};
    DLB_TRY(channel_weights(n, op, s->n_wei, s->src[0].shape.dims[nd - 1], args, &ss));
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}

/* Reductions keep the rank in oneDNN: with keepdims = 0 the spec's dst is a view of a plain
 * dst with the reduced dims kept as 1s. */
dlb_status dlb__compile_reduce(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int nd = s->src[0].shape.rank;
    if (s->n_src != 1 || s->n_dst != 1 || nd < 1) {
        dlb_error(diag, where, "op %d: reduction needs one source of rank >= 1", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_alg_kind_t alg;
    float p = 0;
    switch (s->alg) {
    case DLB_ALG_REDUCE_MEAN:
        alg = dnnl_reduction_mean;
        break;
    case DLB_ALG_REDUCE_SUM:
        alg = dnnl_reduction_sum;
        break;
    case DLB_ALG_REDUCE_MAX:
        alg = dnnl_reduction_max;
        break;
    case DLB_ALG_REDUCE_MIN:
        alg = dnnl_reduction_min;
        break;
    case DLB_ALG_REDUCE_PROD:
        alg = dnnl_reduction_mul;
        break;
    case DLB_ALG_REDUCE_L2:
        alg = dnnl_reduction_norm_lp_sum, p = 2;
        break;
    default:
        dlb_error(diag, where, "op %d: unknown reduction '%s'", op, dlb_alg_name(s->alg));
        return DLB_EUNSUPPORTED;
    }
    dnnl_dims_t kd;
    for (int i = 0; i < nd; i++) kd[i] = s->src[0].shape.dims[i];
    for (int k = 0; k < s->p.n_axes; k++) {
        if (s->p.axes[k] < 0 || s->p.axes[k] >= nd) {
            dlb_error(diag, where, "op %d: reduction axis %lld out of range", op,
                      (long long)s->p.axes[k]);
            return DLB_EINVAL;
        }
        kd[s->p.axes[k]] = 1;
    }
    bool view = s->dst[0].shape.rank != nd;
    dnnl_memory_desc_t src_md, dst_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    if (view)
        DLB_TRY(dlb__dense_md(&dst_md, nd, kd, dlb__dt_of(&s->dst[0])));
    else
        DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, nd, kd, dlb__dt_of(&s->dst[0]),
                                                    dnnl_format_tag_any));
    dnnl_reduction_desc_t desc;
    DLB_DNNL_CHECK(dnnl_reduction_desc_init(&desc, alg, &src_md, &dst_md, p, 0.0f));
    /* oneDNN 2.6 reduces blocked layouts in reference code only (100x slower than a reorder to
     * plain and its jit kernel): take the plain layout when that has a faster kernel. */
    dnnl_memory_desc_t plain;
    DLB_TRY(dlb__plain_md(&plain, &s->src[0]));
    if (!dnnl_memory_desc_equal(&plain, &src_md) && dlb__ref_impl(n, &desc, NULL)) {
        dnnl_reduction_desc_t alt;
        DLB_DNNL_CHECK(dnnl_reduction_desc_init(&alt, alg, &plain, &dst_md, p, 0.0f));
        if (!dlb__ref_impl(n, &alt, NULL)) desc = alt;
    }
    dlb__simple_step ss = {
        .desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}, .dst_view = view};
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}
