/* ops_simple.c — pooling, eltwise, LRN, softmax and resampling on the producer's layout. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ops_simple.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

dnnl_data_type_t dlb__dt_of(const dlb_operand *o) {
    dnnl_memory_desc_t md;
    return dlb__plain_md(&md, o) == DLB_OK ? md.data_type : dnnl_data_type_undef;
}

dlb_status dlb__dense_md(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t d, dnnl_data_type_t dt) {
    dnnl_dims_t strides;
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = s;
        s *= d[i] > 0 ? d[i] : 1;
    }
    return dnnl_memory_desc_init_by_strides(md, nd, d, dt, strides) == dnnl_success
               ? DLB_OK
               : DLB_EUNSUPPORTED;
}

static void dims_of(const dlb_operand *o, dnnl_dims_t d) {
    for (int i = 0; i < o->shape.rank; i++) d[i] = o->shape.dims[i];
}

/* An external input created in a descriptor of other dims than its operand (rank padded with
 * leading 1s, or dims merged) is set in the plain layout of those dims: it holds the same
 * elements in the same order. */
void dlb__fix_user_md(dlb_net *n, int buf, const dnnl_memory_desc_t *plain) {
    dlb__buf *b = &n->bufs[buf];
    if (b->kind != DLB__BUF_EXTERNAL ||
        dnnl_memory_desc_get_size(&b->user_md) != dnnl_memory_desc_get_size(plain))
        return;
    bool same = b->user_md.ndims == plain->ndims;
    for (int i = 0; same && i < plain->ndims; i++) same = b->user_md.dims[i] == plain->dims[i];
    if (!same) b->user_md = *plain;
}

dlb_status dlb__add_simple(dlb_net *n, int op, const dlb__simple_step *ss) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], na = 0, sum_slot, b;
    if (ss->no_post_ops)
        DLB_TRY(dlb__post_ops_range(n, op, 0, 0, &attr, &na, kinds, bufs, &sum_slot));
    else
        DLB_TRY(dlb__post_ops(n, op, &attr, &na, kinds, bufs, &sum_slot));
    if (ss->src0_scale != 0)
        DLB_DNNL_CHECK(dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_0, 1, 0, &ss->src0_scale));
    DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, ss->desc, attr, n->eng, NULL));
    for (int i = 0; i < ss->n_in; i++) {
        const dnnl_memory_desc_t *want =
            dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, ss->in_arg[i]);
        dnnl_memory_desc_t plain;
        DLB_TRY(dlb__slot_buf(n, op, ss->in_slot[i], want, &b));
        DLB_TRY(dlb__dense_md(&plain, want->ndims, want->dims, want->data_type));
        dlb__fix_user_md(n, b, &plain);
        kinds[na] = ss->in_arg[i];
        bufs[na++] = b;
    }
    for (int i = 0; i < ss->n_fixed; i++) {
        kinds[na] = ss->fixed_arg[i];
        bufs[na++] = ss->fixed_buf[i];
    }
    /* Statistics the primitive writes (normalisations computing their own). */
    static const int stats[2] = {DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    for (int k = 0; k < 2; k++) {
        bool given = false;
        for (int i = 0; i < ss->n_fixed; i++) given |= ss->fixed_arg[i] == stats[k];
        const dnnl_memory_desc_t *md =
            dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, stats[k]);
        if (given || !md || md->ndims == 0) continue;
        DLB_TRY(dlb__new_buf(n, md, DLB__BUF_ACT, &b));
        kinds[na] = stats[k];
        bufs[na++] = b;
    }
    const dnnl_memory_desc_t *want_dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    DLB_TRY(dlb__dst_buf(n, op, want_dst, sum_slot, &b));
    kinds[na] = DNNL_ARG_DST;
    bufs[na++] = b;
    if (ss->dst_view) DLB_TRY(dlb__set_dst_view(n, op, b)); /* same data, no unit dims */
    DLB_TRY(dlb__add_step(n, op, pd, na, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* True if oneDNN runs desc with a reference kernel (`ref`), or with `simple` C loops too when
 * also_simple, or cannot create it at all. */
static bool slow_impl(dlb_net *n, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
                      bool also_simple) {
    dnnl_primitive_desc_t pd = NULL;
    const char *impl = NULL;
    bool slow = dnnl_primitive_desc_create(&pd, desc, attr, n->eng, NULL) != dnnl_success ||
                dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success ||
                !impl || !strncmp(impl, "ref", 3) || (also_simple && !strncmp(impl, "simple", 6));
    if (pd) dnnl_primitive_desc_destroy(pd);
    return slow;
}

bool dlb__ref_impl(dlb_net *n, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr) {
    return slow_impl(n, desc, attr, false);
}

static dlb_status one_to_one(const dlb_op_spec *s, dlb_diag *diag, const char *where, int op) {
    if (s->n_src == 1 && s->n_dst == 1) return DLB_OK;
    dlb_error(diag, where, "op %d (%s) needs one source and one output", op, dlb_lop_name(s->op));
    return DLB_EINVAL;
}

/* ---- pooling ------------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static dlb_status compile_pool(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    DLB_TRY(one_to_one(s, diag, where, op));
    int nsp = s->p.nsp, nd = s->src[0].shape.rank;
    if (nsp < 1 || nsp > 3 || nd != nsp + 2 || s->dst[0].shape.rank != nd) {
        dlb_error(diag, where, "op %d: pooling needs a 1D to 3D spatial input", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_dims_t dd, strides, kernel, dil, pl, pr;
    dims_of(&s->dst[0], dd);
    for (int i = 0; i < nsp; i++) {
        int64_t in = s->src[0].shape.dims[2 + i], out = dd[2 + i];
        int64_t k = s->p.kernel[i], str = s->p.stride[i] > 0 ? s->p.stride[i] : 1;
        int64_t d = s->p.dilation[i] > 0 ? s->p.dilation[i] : 1, ext = (k - 1) * d + 1;
        strides[i] = str;
        kernel[i] = k;
        dil[i] = d - 1;
        pl[i] = s->p.pad_begin[i];
        pr[i] = s->p.pad_end[i];
        /* ceil_mode: oneDNN rounds down, so extend the right pad until the sizes agree. */
        if (floor_div(in + pl[i] + pr[i] - ext, str) + 1 != out)
            pr[i] = (out - 1) * str + ext - in - pl[i];
    }
    dnnl_alg_kind_t alg;
    switch (s->alg) {
    case DLB_ALG_POOL_MAX:
        alg = dnnl_pooling_max;
        break;
    case DLB_ALG_POOL_AVG_INCLUDE:
        alg = dnnl_pooling_avg_include_padding;
        break;
    case DLB_ALG_POOL_AVG_EXCLUDE:
        alg = dnnl_pooling_avg_exclude_padding;
        break;
    default:
        dlb_error(diag, where, "op %d: unknown pooling algorithm '%s'", op, dlb_alg_name(s->alg));
        return DLB_EUNSUPPORTED;
    }
    dnnl_memory_desc_t src_md, dst_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    DLB_DNNL_CHECK(
        dnnl_memory_desc_init_by_tag(&dst_md, nd, dd, src_md.data_type, dnnl_format_tag_any));
    dnnl_pooling_v2_desc_t desc;
    DLB_DNNL_CHECK(dnnl_pooling_v2_forward_desc_init(&desc, dnnl_forward_inference, alg, &src_md,
                                                     &dst_md, strides, kernel, dil, pl, pr));
    /* oneDNN 2.6 pools a plain input with a C loop (simple_nchw; on AlexNet's first max pool,
     * fed plain by its gemm convolution, 3.1 ms where its jit kernel takes 0.18): reorder such
     * an input to the layout a convolution would give it, if that has a faster kernel. */
    dnnl_memory_desc_t conv_md;
    if (slow_impl(n, &desc, NULL, true) && dlb__conv_layout_md(n, &s->src[0], &conv_md) == DLB_OK &&
        !dnnl_memory_desc_equal(&conv_md, &src_md)) {
        dnnl_pooling_v2_desc_t alt;
        DLB_DNNL_CHECK(dnnl_pooling_v2_forward_desc_init(
            &alt, dnnl_forward_inference, alg, &conv_md, &dst_md, strides, kernel, dil, pl, pr));
        if (!slow_impl(n, &alt, NULL, true)) desc = alt;
    }
    dlb__simple_step ss = {.desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}};
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}

/* ---- eltwise ------------------------------------------------------------------------------- */

/* erf has no oneDNN algorithm: a plain f32 loop. */
static void erf_kernel(dlb__step *step, dlb_net *n) {
    const float *x = n->bufs[step->arg_buf[0]].data;
    float *y = n->bufs[step->arg_buf[1]].data;
    ptrdiff_t count = (ptrdiff_t)(n->bufs[step->arg_buf[1]].size / sizeof(float));
#pragma omp parallel for schedule(static)
    for (ptrdiff_t i = 0; i < count; i++) y[i] = erff(x[i]);
}

static dlb_status compile_erf(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    if (s->n_post || s->src[0].dtype != DLB_DT_F32 || s->dst[0].dtype != DLB_DT_F32) {
        dlb_error(diag, where, "op %d: erf is supported on f32 without post-ops only", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_memory_desc_t src_md, dst_md;
    DLB_TRY(dlb__plain_md(&src_md, &s->src[0]));
    DLB_TRY(dlb__plain_md(&dst_md, &s->dst[0]));
    if (dnnl_memory_desc_get_size(&src_md) != dnnl_memory_desc_get_size(&dst_md)) {
        dlb_error(diag, where, "op %d: erf changes the element count", op);
        return DLB_EINVAL;
    }
    int bufs[2], kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    DLB_TRY(dlb__slot_buf(n, op, 0, &src_md, &bufs[0]));
    DLB_TRY(dlb__dst_buf(n, op, &dst_md, -1, &bufs[1]));
    DLB_TRY(dlb__add_custom_step(n, op, erf_kernel, 2, kinds, bufs, NULL));
cleanup:
    return st;
}

/* clip_v2(0, 1) of buffer buf, in place (the second half of hardsigmoid). */
static dlb_status clip_in_place(dlb_net *n, int op, int buf) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_eltwise_desc_t desc;
    dnnl_memory_desc_t md = n->bufs[buf].md;
    DLB_DNNL_CHECK(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference,
                                                  dnnl_eltwise_clip_v2, &md, 0.0f, 1.0f));
    DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, n->eng, NULL));
    int kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST}, bufs[2] = {buf, buf};
    DLB_TRY(dlb__add_step(n, op, pd, 2, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

static dlb_status compile_eltwise(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    DLB_TRY(one_to_one(s, diag, where, op));
    if (s->alg == DLB_ALG_ERF) return compile_erf(n, op);
    dnnl_alg_kind_t alg;
    float a, b;
    bool hardsigmoid = s->alg == DLB_ALG_HARDSIGMOID; /* clip(alpha x + beta, 0, 1) */
    if (hardsigmoid && s->n_post) {
        dlb_error(diag, where, "op %d: hardsigmoid with post-ops is not supported", op);
        return DLB_EUNSUPPORTED;
    }
    if (hardsigmoid) {
        alg = dnnl_eltwise_linear;
        a = (float)s->p.alpha;
        b = (float)s->p.beta;
    } else if (!dlb__dnnl_eltwise(s->alg, s->p.alpha, s->p.beta, &alg, &a, &b)) {
        dlb_error(diag, where, "op %d: eltwise '%s' has no oneDNN form", op, dlb_alg_name(s->alg));
        return DLB_EUNSUPPORTED;
    }
    dnnl_memory_desc_t src_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    dnnl_eltwise_desc_t desc;
    DLB_DNNL_CHECK(
        dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, alg, &src_md, a, b));
    dlb__simple_step ss = {.desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}};
    DLB_TRY(dlb__add_simple(n, op, &ss));
    /* clip in place: oneDNN 2.6 runs an eltwise with eltwise post-ops in ref code only */
    if (hardsigmoid) DLB_TRY(clip_in_place(n, op, n->dst_buf[op][0]));
cleanup:
    return st;
}

/* ---- LRN, softmax, resampling --------------------------------------------------------------- */

static dlb_status compile_lrn(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    DLB_TRY(one_to_one(s, diag, where, op));
    dnnl_memory_desc_t src_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    dnnl_lrn_desc_t desc; /* ONNX: x / (bias + alpha / size * sum x^2)^beta, as oneDNN's */
    DLB_DNNL_CHECK(dnnl_lrn_forward_desc_init(
        &desc, dnnl_forward_inference, dnnl_lrn_across_channels, &src_md, s->p.size,
        (float)s->p.alpha, (float)s->p.beta, (float)s->p.eps));
    dlb__simple_step ss = {.desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}};
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}

static dlb_status compile_softmax(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    DLB_TRY(one_to_one(s, diag, where, op));
    int nd = s->src[0].shape.rank;
    if (s->p.axis < 0 || s->p.axis >= (nd > 0 ? nd : 1) || s->dst[0].shape.rank != nd) {
        dlb_error(diag, where, "op %d: softmax axis %lld out of range", op, (long long)s->p.axis);
        return DLB_EINVAL;
    }
    dnnl_memory_desc_t src_md, dst_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, src_md.ndims, src_md.dims,
                                                dlb__dt_of(&s->dst[0]), dnnl_format_tag_any));
    dnnl_softmax_v2_desc_t desc;
    DLB_DNNL_CHECK(dnnl_softmax_v2_forward_desc_init(
        &desc, dnnl_forward_inference,
        s->alg == DLB_ALG_LOGSOFTMAX ? dnnl_softmax_log : dnnl_softmax_accurate, &src_md, &dst_md,
        (int)s->p.axis));
    dlb__simple_step ss = {.desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}};
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}

static dlb_status compile_resample(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    DLB_TRY(one_to_one(s, diag, where, op));
    int nd = s->src[0].shape.rank;
    const int64_t *sd = s->src[0].shape.dims, *od = s->dst[0].shape.dims;
    if (nd < 3 || nd > 5 || s->dst[0].shape.rank != nd || sd[0] != od[0] || sd[1] != od[1]) {
        dlb_error(diag, where, "op %d: resampling of spatial dims of a 3D to 5D tensor only", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_dims_t dd;
    dims_of(&s->dst[0], dd);
    dnnl_memory_desc_t src_md, dst_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    DLB_DNNL_CHECK(
        dnnl_memory_desc_init_by_tag(&dst_md, nd, dd, src_md.data_type, dnnl_format_tag_any));
    dnnl_resampling_desc_t desc; /* half_pixel coordinates, as ONNX's default */
    DLB_DNNL_CHECK(dnnl_resampling_forward_desc_init(
        &desc, dnnl_forward_inference,
        s->alg == DLB_ALG_LINEAR_INTERP ? dnnl_resampling_linear : dnnl_resampling_nearest, NULL,
        &src_md, &dst_md));
    dlb__simple_step ss = {.desc = &desc, .n_in = 1, .in_arg = {DNNL_ARG_SRC}, .in_slot = {0}};
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}

/* ---- dispatch ------------------------------------------------------------------------------- */

dlb_status dlb__compile_simple(dlb_net *n, int op) {
    switch (n->desc->ops[op].op) {
    case DLB_LOP_POOL:
        return compile_pool(n, op);
    case DLB_LOP_ELTWISE:
        return compile_eltwise(n, op);
    case DLB_LOP_BINARY:
        return dlb__compile_binary(n, op);
    case DLB_LOP_BNORM:
    case DLB_LOP_INORM:
        return dlb__compile_bnorm(n, op);
    case DLB_LOP_LNORM:
        return dlb__compile_lnorm(n, op);
    case DLB_LOP_LRN:
        return compile_lrn(n, op);
    case DLB_LOP_SOFTMAX:
        return compile_softmax(n, op);
    case DLB_LOP_REDUCE:
        return dlb__compile_reduce(n, op);
    case DLB_LOP_RESAMPLE:
        return compile_resample(n, op);
    default:
        dlb_error(n->diag, n->desc->name, "op %d (%s) is not implemented in the executor", op,
                  dlb_lop_name(n->desc->ops[op].op));
        return DLB_EUNSUPPORTED;
    }
}
