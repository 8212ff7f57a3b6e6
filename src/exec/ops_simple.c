/* ops_simple.c — pooling, eltwise, binary, LRN, softmax and resampling on the producer's layout. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "ops_simple.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

dnnl_data_type_t dlb__dt_of(const dlb_operand *o) {
    dnnl_memory_desc_t md;
    return dlb__plain_md(&md, o) == DLB_OK ? md.data_type : dnnl_data_type_undef;
}

dlb_status dlb__dense_md(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t d,
                         dnnl_data_type_t dt) {
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

/* An external input created in a rank-padded descriptor (leading 1s) is set in that rank: its
 * plain layout holds the same elements in the same order. */
static void fix_user_md(dlb_net *n, int buf, const dnnl_memory_desc_t *plain) {
    dlb__buf *b = &n->bufs[buf];
    if (b->kind == DLB__BUF_EXTERNAL && b->user_md.ndims != plain->ndims &&
        dnnl_memory_desc_get_size(&b->user_md) == dnnl_memory_desc_get_size(plain))
        b->user_md = *plain;
}

dlb_status dlb__add_simple(dlb_net *n, int op, const dlb__simple_step *ss) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], na = 0, sum_slot, b;
    DLB_TRY(dlb__post_ops(n, op, &attr, &na, kinds, bufs, &sum_slot));
    if (ss->src0_scale != 0)
        DLB_DNNL_CHECK(
            dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_0, 1, 0, &ss->src0_scale));
    DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, ss->desc, attr, n->eng, NULL));
    for (int i = 0; i < ss->n_in; i++) {
        const dnnl_memory_desc_t *want =
            dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, ss->in_arg[i]);
        dnnl_memory_desc_t plain;
        DLB_TRY(dlb__slot_buf(n, op, ss->in_slot[i], want, &b));
        DLB_TRY(dlb__dense_md(&plain, want->ndims, want->dims, want->data_type));
        fix_user_md(n, b, &plain);
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
    if (ss->dst_view) { /* the spec's dst: the same data without the unit dims */
        dnnl_memory_desc_t view;
        int v;
        DLB_TRY(dlb__plain_md(&view, &n->desc->ops[op].dst[0]));
        DLB_TRY(dlb__new_buf(n, &view, DLB__BUF_ALIAS, &v));
        n->bufs[v].alias_of = b;
        dlb__set_dst(n, op, 0, v);
    }
    DLB_TRY(dlb__add_step(n, op, pd, na, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
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
    case DLB_ALG_POOL_MAX: alg = dnnl_pooling_max; break;
    case DLB_ALG_POOL_AVG_INCLUDE: alg = dnnl_pooling_avg_include_padding; break;
    case DLB_ALG_POOL_AVG_EXCLUDE: alg = dnnl_pooling_avg_exclude_padding; break;
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

/* ---- binary (numpy broadcasting) ------------------------------------------------------------ */

/* Dims of an operand with leading 1s up to rank nd. */
static void padded_dims(const dlb_operand *o, int nd, dnnl_dims_t d) {
    int off = nd - o->shape.rank;
    for (int i = 0; i < nd; i++) d[i] = i < off ? 1 : o->shape.dims[i - off];
}

static bool same_dims(const dnnl_dims_t a, const dnnl_dims_t b, int nd) {
    for (int i = 0; i < nd; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/* Descriptor of dims d in the format of `like` when that is one of the common plain or
 * channel-blocked formats (oneDNN's jit binary wants both sources in one format), else plain. */
static dlb_status like_md(const dnnl_memory_desc_t *like, const dnnl_dims_t d,
                          dnnl_memory_desc_t *md) {
    static const dnnl_format_tag_t tags[3][4] = {
        {dnnl_acb, dnnl_aBc16b, dnnl_aBc8b, dnnl_aBc4b},
        {dnnl_acdb, dnnl_aBcd16b, dnnl_aBcd8b, dnnl_aBcd4b},
        {dnnl_acdeb, dnnl_aBcde16b, dnnl_aBcde8b, dnnl_aBcde4b}};
    int nd = like->ndims;
    if (nd >= 3 && nd <= 5)
        for (int t = 0; t < 4; t++) {
            dnnl_memory_desc_t probe;
            if (dnnl_memory_desc_init_by_tag(&probe, nd, like->dims, like->data_type,
                                             tags[nd - 3][t]) == dnnl_success &&
                dnnl_memory_desc_equal(&probe, like))
                return dnnl_memory_desc_init_by_tag(md, nd, d, like->data_type,
                                                    tags[nd - 3][t]) == dnnl_success
                           ? DLB_OK
                           : DLB_EDNNL;
        }
    return dlb__dense_md(md, nd, d, like->data_type);
}

/* Buffer of a binary operand: slot `loc` (>= 0) or weight -1 - loc, in `want`; `plain` is the
 * rank-padded row-major layout its data is set in. */
static dlb_status operand_buf(dlb_net *n, int op, int loc, const dnnl_memory_desc_t *want,
                              const dnnl_memory_desc_t *plain, int *buf) {
    dlb_status st;
    if (loc < 0) return dlb__weight_buf(n, op, -1 - loc, want, plain, buf);
    st = dlb__slot_buf(n, op, loc, want, buf);
    if (st == DLB_OK) fix_user_md(n, *buf, plain);
    return st;
}

/* src0 broadcast into the dst's dims: a reorder from a zero-stride view of its plain data. */
static dlb_status expand_src0(dlb_net *n, int op, int loc, const dnnl_memory_desc_t *plain,
                              const dnnl_dims_t dd, dnnl_memory_desc_t *md, int *out) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    dnnl_primitive_desc_t pd = NULL;
    int nd = plain->ndims, src, view;
    DLB_TRY(operand_buf(n, op, loc, plain, plain, &src));
    dnnl_dims_t strides;
    for (int i = 0; i < nd; i++)
        strides[i] = plain->dims[i] == dd[i] ? plain->format_desc.blocking.strides[i] : 0;
    dnnl_memory_desc_t bc;
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_strides(&bc, nd, dd, plain->data_type, strides));
    DLB_TRY(dlb__new_buf(n, &bc, DLB__BUF_ALIAS, &view));
    n->bufs[view].alias_of = src;
    DLB_TRY(dlb__dense_md(md, nd, dd, plain->data_type));
    DLB_TRY(dlb__new_buf(n, md, DLB__BUF_ACT, out));
    DLB_DNNL_CHECK(dnnl_reorder_primitive_desc_create(&pd, &bc, n->eng, md, n->eng, NULL));
    int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, bufs[2] = {view, *out};
    DLB_TRY(dlb__add_step(n, op, pd, 2, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    return st;
}

static dlb_status compile_binary(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    bool const_b = s->n_src == 1 && s->n_wei >= 1;
    if (s->n_dst != 1 || !(s->n_src == 2 || const_b)) {
        dlb_error(diag, where, "op %d: binary needs two operands and one output", op);
        return DLB_EINVAL;
    }
    const dlb_operand *opd[2] = {&s->src[0], const_b ? &s->wei[0] : &s->src[1]};
    int loc[2] = {0, const_b ? -1 : 1};
    int nd = s->dst[0].shape.rank > 0 ? s->dst[0].shape.rank : 1;
    if (opd[0]->shape.rank > nd || opd[1]->shape.rank > nd) {
        dlb_error(diag, where, "op %d: binary operand of higher rank than its output", op);
        return DLB_EINVAL;
    }
    dnnl_dims_t dd, d[2];
    padded_dims(&s->dst[0], nd, dd);
    padded_dims(opd[0], nd, d[0]);
    padded_dims(opd[1], nd, d[1]);
    dnnl_data_type_t dt = dlb__dt_of(&s->dst[0]);
    dnnl_alg_kind_t alg;
    bool commutative = true;
    switch (s->alg) {
    case DLB_ALG_ADD: alg = dnnl_binary_add; break;
    case DLB_ALG_SUB: alg = dnnl_binary_sub, commutative = false; break;
    case DLB_ALG_MUL: alg = dnnl_binary_mul; break;
    case DLB_ALG_DIV: alg = dnnl_binary_div, commutative = false; break;
    case DLB_ALG_MAX: alg = dnnl_binary_max; break;
    case DLB_ALG_MIN: alg = dnnl_binary_min; break;
    default:
        dlb_error(diag, where, "op %d: unknown binary algorithm '%s'", op, dlb_alg_name(s->alg));
        return DLB_EUNSUPPORTED;
    }
    /* oneDNN broadcasts src1 only: swap when src0 is the broadcast one (a - b = -1 * b + a),
     * else first expand src0 to the dst's dims. */
    int first = 0;
    float scale0 = 0;
    bool expand = false;
    if (!same_dims(d[0], dd, nd)) {
        if (same_dims(d[1], dd, nd) && commutative) {
            first = 1;
        } else if (same_dims(d[1], dd, nd) && alg == dnnl_binary_sub) {
            first = 1;
            alg = dnnl_binary_add;
            scale0 = -1;
        } else {
            expand = true;
        }
    }
    int i0 = first, i1 = 1 - first, b0, b1;
    dnnl_memory_desc_t md0, md1, plain0, plain1, dst_md;
    DLB_TRY(dlb__dense_md(&plain0, nd, d[i0], dt));
    DLB_TRY(dlb__dense_md(&plain1, nd, d[i1], dt));
    if (expand) {
        DLB_TRY(expand_src0(n, op, loc[i0], &plain0, dd, &md0, &b0));
    } else {
        if (loc[i0] >= 0 && opd[i0]->shape.rank == nd)
            DLB_TRY(dlb__slot_md(n, op, loc[i0], &md0));
        else
            md0 = plain0;
        DLB_TRY(operand_buf(n, op, loc[i0], &md0, &plain0, &b0));
    }
    if (same_dims(d[i1], dd, nd))
        md1 = md0;
    else
        DLB_TRY(like_md(&md0, d[i1], &md1));
    DLB_TRY(operand_buf(n, op, loc[i1], &md1, &plain1, &b1));
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, nd, dd, dt, dnnl_format_tag_any));
    dnnl_binary_desc_t desc;
    DLB_DNNL_CHECK(dnnl_binary_desc_init(&desc, alg, &md0, &md1, &dst_md));
    dlb__simple_step ss = {.desc = &desc, .n_fixed = 2, .fixed_arg = {DNNL_ARG_SRC_0,
                           DNNL_ARG_SRC_1}, .fixed_buf = {b0, b1}, .src0_scale = scale0};
    DLB_TRY(dlb__add_simple(n, op, &ss));
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
    DLB_DNNL_CHECK(dnnl_lrn_forward_desc_init(&desc, dnnl_forward_inference,
                                              dnnl_lrn_across_channels, &src_md, s->p.size,
                                              (float)s->p.alpha, (float)s->p.beta,
                                              (float)s->p.eps));
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
        dlb_error(diag, where, "op %d: softmax axis %lld out of range", op,
                  (long long)s->p.axis);
        return DLB_EINVAL;
    }
    dnnl_memory_desc_t src_md, dst_md;
    DLB_TRY(dlb__slot_md(n, op, 0, &src_md));
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, src_md.ndims, src_md.dims,
                                                dlb__dt_of(&s->dst[0]), dnnl_format_tag_any));
    dnnl_softmax_v2_desc_t desc;
    DLB_DNNL_CHECK(dnnl_softmax_v2_forward_desc_init(
        &desc, dnnl_forward_inference,
        s->alg == DLB_ALG_LOGSOFTMAX ? dnnl_softmax_log : dnnl_softmax_accurate, &src_md,
        &dst_md, (int)s->p.axis));
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
    case DLB_LOP_POOL: return compile_pool(n, op);
    case DLB_LOP_ELTWISE: return compile_eltwise(n, op);
    case DLB_LOP_BINARY: return compile_binary(n, op);
    case DLB_LOP_BNORM:
    case DLB_LOP_INORM: return dlb__compile_bnorm(n, op);
    case DLB_LOP_LNORM: return dlb__compile_lnorm(n, op);
    case DLB_LOP_LRN: return compile_lrn(n, op);
    case DLB_LOP_SOFTMAX: return compile_softmax(n, op);
    case DLB_LOP_REDUCE: return dlb__compile_reduce(n, op);
    case DLB_LOP_RESAMPLE: return compile_resample(n, op);
    default:
        dlb_error(n->diag, n->desc->name, "op %d (%s) is not implemented in the executor", op,
                  dlb_lop_name(n->desc->ops[op].op));
        return DLB_EUNSUPPORTED;
    }
}
