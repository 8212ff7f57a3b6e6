/* ops_compute.c — convolution, deconvolution, matmul and inner product with fused post-ops. */
#include <string.h>

#include "net_internal.h"

static void dims_of(const dlb_operand *o, dnnl_dims_t d) {
    for (int i = 0; i < o->shape.rank; i++) d[i] = o->shape.dims[i];
}

static dnnl_data_type_t dt_of(const dlb_operand *o) {
    dnnl_memory_desc_t md;
    return dlb__plain_md(&md, o) == DLB_OK ? md.data_type : dnnl_data_type_undef;
}

/* Weights of a (de)convolution in oneDNN's dims: [g,] OC/g, IC/g, spatial... and the plain
 * layout of the ONNX weight (Conv: OC x IC/g x k; ConvTranspose: IC x OC/g x k). */
static dlb_status conv_weight_mds(const dlb_op_spec *s, dnnl_memory_desc_t *any,
                                  dnnl_memory_desc_t *user) {
    const dlb_shape *w = &s->wei[0].shape;
    int nsp = s->p.nsp, nd = 0;
    int64_t g = s->p.group, oc = s->dst[0].shape.dims[1], ic = s->src[0].shape.dims[1];
    dnnl_dims_t dims, strides;
    if (g > 1) dims[nd++] = g;
    dims[nd++] = oc / g;
    dims[nd++] = ic / g;
    for (int i = 0; i < nsp; i++) dims[nd++] = w->dims[2 + i];
    dnnl_data_type_t dt = dt_of(&s->wei[0]);
    if (dnnl_memory_desc_init_by_tag(any, nd, dims, dt, dnnl_format_tag_any)) return DLB_EDNNL;
    /* Strides of the ONNX layout expressed on oneDNN's dims. */
    int64_t ksz = 1;
    for (int i = 0; i < nsp; i++) ksz *= w->dims[2 + i];
    int64_t s_oc, s_ic, s_g;
    if (s->op == DLB_LOP_CONV) { /* [g*OC/g][IC/g][k] */
        s_ic = ksz;
        s_oc = (ic / g) * ksz;
        s_g = (oc / g) * s_oc;
    } else { /* [g*IC/g][OC/g][k] */
        s_oc = ksz;
        s_ic = (oc / g) * ksz;
        s_g = (ic / g) * s_ic;
    }
    nd = 0;
    if (g > 1) strides[nd++] = s_g;
    strides[nd++] = s_oc;
    strides[nd++] = s_ic;
    int64_t k = 1;
    for (int i = nsp - 1; i >= 0; i--) {
        strides[nd + i] = k;
        k *= w->dims[2 + i];
    }
    nd += nsp;
    return dnnl_memory_desc_init_by_strides(user, nd, dims, dt, strides) ? DLB_EDNNL : DLB_OK;
}

dlb_status dlb__compile_conv(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], na = 0, sum_slot;
    if (s->n_src != 1 || s->n_wei < 1 || s->n_dst != 1) {
        dlb_error(diag, where, "op %d: convolution needs one source, weights and one output", op);
        return DLB_EINVAL;
    }
    int nsp = s->p.nsp, nd = s->src[0].shape.rank;
    dnnl_dims_t sd, dd, strides, dil, pl, pr;
    dims_of(&s->src[0], sd);
    dims_of(&s->dst[0], dd);
    for (int i = 0; i < nsp; i++) {
        strides[i] = s->p.stride[i];
        dil[i] = s->p.dilation[i] - 1; /* oneDNN counts inserted zeros */
        pl[i] = s->p.pad_begin[i];
        pr[i] = s->p.pad_end[i];
    }
    dnnl_memory_desc_t src_md, dst_md, wei_md, wei_user, bias_md;
    dnnl_data_type_t dt = dt_of(&s->src[0]);
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&src_md, nd, sd, dt, dnnl_format_tag_any));
    DLB_DNNL_CHECK(
        dnnl_memory_desc_init_by_tag(&dst_md, nd, dd, dt_of(&s->dst[0]), dnnl_format_tag_any));
    DLB_TRY(conv_weight_mds(s, &wei_md, &wei_user));
    bool bias = s->p.has_bias && s->n_wei >= 2;
    if (bias) {
        dnnl_dims_t bd = {dd[1]};
        DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dt_of(&s->wei[1]), dnnl_a));
    }
    DLB_TRY(dlb__post_ops(n, op, &attr, &na, kinds, bufs, &sum_slot));
    if (s->op == DLB_LOP_CONV) {
        dnnl_convolution_desc_t cd;
        DLB_DNNL_CHECK(dnnl_dilated_convolution_forward_desc_init(
            &cd, dnnl_forward_inference, dnnl_convolution_direct, &src_md, &wei_md,
            bias ? &bias_md : NULL, &dst_md, strides, dil, pl, pr));
        DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, n->eng, NULL));
    } else {
        dnnl_deconvolution_desc_t dc;
        DLB_DNNL_CHECK(dnnl_dilated_deconvolution_forward_desc_init(
            &dc, dnnl_forward_inference, dnnl_deconvolution_direct, &src_md, &wei_md,
            bias ? &bias_md : NULL, &dst_md, strides, dil, pl, pr));
        DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, &dc, attr, n->eng, NULL));
    }
    const dnnl_memory_desc_t *want_src = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *want_wei = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *want_dst = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    int b;
    DLB_TRY(dlb__slot_buf(n, op, 0, want_src, &b));
    kinds[na] = DNNL_ARG_SRC;
    bufs[na++] = b;
    DLB_TRY(dlb__weight_buf(n, op, 0, want_wei, &wei_user, &b));
    kinds[na] = DNNL_ARG_WEIGHTS;
    bufs[na++] = b;
    if (bias) {
        DLB_TRY(dlb__weight_buf(n, op, 1, &bias_md, NULL, &b));
        kinds[na] = DNNL_ARG_BIAS;
        bufs[na++] = b;
    }
    DLB_TRY(dlb__dst_buf(n, op, want_dst, sum_slot, &b));
    kinds[na] = DNNL_ARG_DST;
    bufs[na++] = b;
    DLB_TRY(dlb__add_step(n, op, pd, na, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* Descriptor of a matmul operand of rank r padded to rank nd, optionally transposed (the last
 * two dims swapped in a row-major buffer). */
static dlb_status matmul_md(const dlb_operand *o, int nd, bool trans, bool any,
                            dnnl_memory_desc_t *md) {
    dnnl_dims_t d, strides;
    int r = o->shape.rank, off = nd - r;
    for (int i = 0; i < nd; i++) d[i] = i < off ? 1 : o->shape.dims[i - off];
    dnnl_data_type_t dt = dt_of(o);
    if (trans) { /* logical [.., K, N] stored as [.., N, K] */
        int64_t t = d[nd - 1];
        d[nd - 1] = d[nd - 2];
        d[nd - 2] = t;
    }
    if (any)
        return dnnl_memory_desc_init_by_tag(md, nd, d, dt, dnnl_format_tag_any) ? DLB_EDNNL
                                                                                : DLB_OK;
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = s;
        s *= d[i];
    }
    if (trans) { /* physical row-major of the stored (untransposed) matrix */
        strides[nd - 1] = d[nd - 2];
        strides[nd - 2] = 1;
    }
    return dnnl_memory_desc_init_by_strides(md, nd, d, dt, strides) ? DLB_EDNNL : DLB_OK;
}

dlb_status dlb__compile_matmul(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], na = 0, sum_slot;
    bool b_is_weight = s->n_src == 1;
    if (s->n_dst != 1 || (b_is_weight ? s->n_wei < 1 : s->n_src != 2)) {
        dlb_error(diag, where, "op %d: matmul needs two operands and one output", op);
        return DLB_EINVAL;
    }
    const dlb_operand *A = &s->src[0], *B = b_is_weight ? &s->wei[0] : &s->src[1];
    int nd = s->dst[0].shape.rank;
    /* numpy's 1-D rules: a 1-D A is a row [1, K], a 1-D B a column [K, 1]; the unit dim is
     * dropped from the result, which the executor sees as a view. */
    dlb_operand A1 = *A, B1 = *B, D1 = s->dst[0];
    if (A->shape.rank == 1 || B->shape.rank == 1) {
        if (A->shape.rank == 1 && B->shape.rank == 1) {
            dlb_error(diag, where, "op %d: a dot product of two vectors is not supported", op);
            return DLB_EUNSUPPORTED;
        }
        if (A->shape.rank == 1) {
            A1.shape = (dlb_shape){.rank = 2, .dims = {1, A->shape.dims[0]}};
            D1.shape.rank = B->shape.rank;
            for (int i = 0; i < B->shape.rank - 2; i++) D1.shape.dims[i] = B->shape.dims[i];
            D1.shape.dims[B->shape.rank - 2] = 1;
            D1.shape.dims[B->shape.rank - 1] = B->shape.dims[B->shape.rank - 1];
        } else {
            B1.shape = (dlb_shape){.rank = 2, .dims = {B->shape.dims[0], 1}};
            D1.shape.rank = A->shape.rank;
            for (int i = 0; i < A->shape.rank - 1; i++) D1.shape.dims[i] = A->shape.dims[i];
            D1.shape.dims[A->shape.rank - 1] = 1;
        }
        A = &A1;
        B = &B1;
        nd = D1.shape.rank;
    }
    if (nd < 2) {
        dlb_error(diag, where, "op %d: matmul output of rank < 2", op);
        return DLB_EUNSUPPORTED;
    }
    bool bias = s->p.has_bias && s->n_wei >= 2;
    /* x[..., K] times a 2-D weight: one [rows, K] x [K, N] product, as runtimes do — oneDNN
     * would otherwise run a batch of many small products (ViT's attention projections on a
     * [197, 1, 768] input: 30 instead of 100 GFLOP/s).  Not with binary post-ops, whose operand
     * ranks follow the dst's. */
    bool binary_post = false;
    for (int k = 0; k < s->n_post; k++) binary_post |= s->post[k].kind == DLB_POST_BINARY;
    dlb_operand A2 = *A, D2 = D1;
    if (b_is_weight && B->shape.rank == 2 && nd > 2 && !s->p.trans_a && !binary_post &&
        A->shape.rank == nd) {
        int64_t rows = 1;
        for (int i = 0; i < nd - 1; i++) rows *= A->shape.dims[i];
        A2.shape = (dlb_shape){.rank = 2, .dims = {rows, A->shape.dims[nd - 1]}};
        D2.shape = (dlb_shape){.rank = 2, .dims = {rows, D1.shape.dims[nd - 1]}};
        A = &A2;
        nd = 2;
    }
    dnnl_memory_desc_t a_md, b_md, b_user, d_md, bias_md;
    DLB_TRY(matmul_md(A, nd, s->p.trans_a, false, &a_md));
    DLB_TRY(matmul_md(B, nd, s->p.trans_b, b_is_weight, &b_md));
    DLB_TRY(matmul_md(B, nd, s->p.trans_b, false, &b_user));
    DLB_TRY(matmul_md(&D2, nd, false, false, &d_md));
    if (bias) { /* [1, ..., 1, N] */
        dnnl_dims_t bd;
        for (int i = 0; i < nd; i++) bd[i] = i == nd - 1 ? d_md.dims[nd - 1] : 1;
        DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&bias_md, nd, bd, dt_of(&s->wei[1]),
                                                    nd == 2   ? dnnl_ab
                                                    : nd == 3 ? dnnl_abc
                                                              : dnnl_abcd));
    }
    /* Gemm's alpha and beta scale a constant B and C: folded into the weights when real ones
     * are loaded (dlb_net_load_model_weights); the cost is the same. */
    if (s->p.alpha != 0 && s->p.alpha != 1 && !b_is_weight) {
        dlb_error(diag, where, "op %d: Gemm alpha != 1 with a non-constant B is not supported", op);
        return DLB_EUNSUPPORTED;
    }
    dnnl_matmul_desc_t md;
    DLB_DNNL_CHECK(dnnl_matmul_desc_init(&md, &a_md, &b_md, bias ? &bias_md : NULL, &d_md));
    int split;
    DLB_TRY(dlb__fast_pd(n, op, &md, &attr, &na, kinds, bufs, &sum_slot, &split, &pd));
    const dnnl_memory_desc_t *want_b = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    int b;
    DLB_TRY(dlb__slot_buf(n, op, 0, &a_md, &b));
    kinds[na] = DNNL_ARG_SRC;
    bufs[na++] = b;
    if (b_is_weight)
        DLB_TRY(dlb__weight_buf(n, op, 0, want_b, &b_user, &b));
    else
        DLB_TRY(dlb__slot_buf(n, op, 1, &b_md, &b));
    kinds[na] = DNNL_ARG_WEIGHTS;
    bufs[na++] = b;
    if (bias) {
        DLB_TRY(dlb__weight_buf(n, op, 1, &bias_md, &bias_md, &b));
        kinds[na] = DNNL_ARG_BIAS;
        bufs[na++] = b;
    }
    DLB_TRY(dlb__dst_buf(n, op, &d_md, sum_slot, &b));
    kinds[na] = DNNL_ARG_DST;
    bufs[na++] = b;
    DLB_TRY(dlb__add_step(n, op, pd, na, kinds, bufs));
    DLB_TRY(dlb__add_split_binary(n, op, split, b));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}
