/* ops_common.c — shared pieces of the op compilers: eltwise algorithms, post-ops, sum dst. */
#include <string.h>

#include "net_internal.h"

bool dlb__dnnl_eltwise(dlb_alg alg, double alpha, double beta, dnnl_alg_kind_t *k, float *a,
                       float *b) {
    *a = (float)alpha;
    *b = (float)beta;
    switch (alg) {
    case DLB_ALG_RELU:
        *k = dnnl_eltwise_relu;
        *a = 0;
        break;
    case DLB_ALG_LEAKY_RELU:
        *k = dnnl_eltwise_relu;
        break;
    case DLB_ALG_CLIP:
        *k = dnnl_eltwise_clip_v2;
        break;
    case DLB_ALG_LOGISTIC:
        *k = dnnl_eltwise_logistic;
        break;
    case DLB_ALG_TANH:
        *k = dnnl_eltwise_tanh;
        break;
    case DLB_ALG_HARDSWISH:
        *k = dnnl_eltwise_hardswish;
        *a = 0;
        *b = 0;
        break;
    case DLB_ALG_SWISH:
        *k = dnnl_eltwise_swish;
        *a = alpha != 0 ? (float)alpha : 1.0f;
        break;
    case DLB_ALG_GELU_ERF:
        *k = dnnl_eltwise_gelu_erf;
        break;
    case DLB_ALG_GELU_TANH:
        *k = dnnl_eltwise_gelu_tanh;
        break;
    case DLB_ALG_ELU:
        *k = dnnl_eltwise_elu;
        break;
    case DLB_ALG_SOFTPLUS:
        *k = dnnl_eltwise_soft_relu;
        break;
    case DLB_ALG_EXP:
        *k = dnnl_eltwise_exp;
        break;
    case DLB_ALG_LOG:
        *k = dnnl_eltwise_log;
        break;
    case DLB_ALG_SQRT:
        *k = dnnl_eltwise_sqrt;
        break;
    case DLB_ALG_POW:
        *k = dnnl_eltwise_pow;
        break;
    case DLB_ALG_ABS:
        *k = dnnl_eltwise_abs;
        break;
    case DLB_ALG_LINEAR:
        *k = dnnl_eltwise_linear;
        break;
    case DLB_ALG_ROUND:
        *k = dnnl_eltwise_round;
        break;
    default:
        return false; /* hardsigmoid (two entries), erf (custom kernel) */
    }
    return true;
}

dnnl_alg_kind_t dlb__dnnl_binary_alg(dlb_alg alg) {
    switch (alg) {
    case DLB_ALG_ADD:
        return dnnl_binary_add;
    case DLB_ALG_SUB:
        return dnnl_binary_sub;
    case DLB_ALG_MUL:
        return dnnl_binary_mul;
    case DLB_ALG_DIV:
        return dnnl_binary_div;
    case DLB_ALG_MAX:
        return dnnl_binary_max;
    case DLB_ALG_MIN:
        return dnnl_binary_min;
    default:
        return dnnl_alg_kind_undef;
    }
}

/* Plain descriptor of a post-op operand, with leading 1s so its rank is the dst's. */
static dlb_status padded_md(const dlb_operand *o, int rank, dnnl_memory_desc_t *md) {
    dlb_operand p = {.dtype = o->dtype, .shape = {.rank = rank}};
    int off = rank - o->shape.rank;
    if (off < 0) return DLB_EINVAL;
    for (int i = 0; i < rank; i++) p.shape.dims[i] = i < off ? 1 : o->shape.dims[i - off];
    return dlb__plain_md(md, &p);
}

dlb_status dlb__post_ops(dlb_net *n, int op, dnnl_primitive_attr_t *attr, int *n_args, int *kinds,
                         int *bufs, int *sum_slot) {
    return dlb__post_ops_range(n, op, 0, n->desc->ops[op].n_post, attr, n_args, kinds, bufs,
                               sum_slot);
}

dlb_status dlb__post_ops_range(dlb_net *n, int op, int first, int end, dnnl_primitive_attr_t *attr,
                               int *n_args, int *kinds, int *bufs, int *sum_slot) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_post_ops_t po = NULL;
    *sum_slot = -1;
    *attr = NULL;
    DLB_DNNL_CHECK(dnnl_primitive_attr_create(attr));
    if (end <= first) return DLB_OK;
    DLB_DNNL_CHECK(dnnl_post_ops_create(&po));
    int idx = 0; /* index of the entry in oneDNN's chain */
    for (int k = first; k < end; k++, idx++) {
        const dlb_postop *p = &s->post[k];
        if (p->kind == DLB_POST_SUM) {
            DLB_DNNL_CHECK(dnnl_post_ops_append_sum(po, 1.0f));
            *sum_slot = s->n_src + k;
        } else if (p->kind == DLB_POST_BINARY) {
            dnnl_memory_desc_t md;
            DLB_TRY(padded_md(&p->operand, s->dst[0].shape.rank, &md));
            DLB_DNNL_CHECK(dnnl_post_ops_append_binary(po, dlb__dnnl_binary_alg(p->alg), &md));
            int b;
            DLB_TRY(dlb__slot_buf(n, op, s->n_src + k, &md, &b));
            kinds[*n_args] = DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx) | DNNL_ARG_SRC_1;
            bufs[(*n_args)++] = b;
        } else if (p->alg == DLB_ALG_HARDSIGMOID) { /* clip(alpha x + beta, 0, 1) */
            DLB_DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                                        (float)p->alpha, (float)p->beta));
            DLB_DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip_v2, 0, 1));
            idx++;
        } else {
            dnnl_alg_kind_t alg;
            float a, b;
            if (!dlb__dnnl_eltwise(p->alg, p->alpha, p->beta, &alg, &a, &b)) {
                dlb_error(diag, where, "op %d: post-op '%s' has no oneDNN form", op,
                          dlb_alg_name(p->alg));
                st = DLB_EUNSUPPORTED;
                goto cleanup;
            }
            DLB_DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, alg, a, b));
        }
    }
    DLB_DNNL_CHECK(dnnl_primitive_attr_set_post_ops(*attr, po));
cleanup:
    if (po) dnnl_post_ops_destroy(po);
    if (st != DLB_OK && *attr) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
    }
    return st;
}

/* Is output (from_op, from_out) read by any op after `op`, or by another slot of `op`? */
static bool read_again(const dlb_netdesc *d, const dlb_brick_edge *self) {
    for (int i = 0; i < d->n_edges; i++) {
        const dlb_brick_edge *e = &d->edges[i];
        if (e == self || e->from_op != self->from_op || e->from_out != self->from_out) continue;
        if (e->to_op > self->to_op || (e->to_op == self->to_op && e->to_src != self->to_src))
            return true;
    }
    return false;
}

dlb_status dlb__dst_buf(dlb_net *n, int op, const dnnl_memory_desc_t *dst_md, int sum_slot,
                        int *buf) {
    dlb_status st;
    if (sum_slot < 0) {
        st = dlb__new_buf(n, dst_md, DLB__BUF_ACT, buf);
    } else {
        /* oneDNN's sum accumulates into dst: dst must hold the residual.  Write in place when
         * nothing reads the residual afterwards, else into a copy (as a runtime would). */
        const dlb_brick_edge *self = NULL;
        for (int i = 0; i < n->desc->n_edges && !self; i++)
            if (n->desc->edges[i].to_op == op && n->desc->edges[i].to_src == sum_slot &&
                n->desc->edges[i].from_op >= 0)
                self = &n->desc->edges[i];
        int src;
        st = dlb__slot_buf(n, op, sum_slot, dst_md, &src);
        if (st == DLB_OK && self && read_again(n->desc, self)) {
            st = dlb__new_buf(n, dst_md, DLB__BUF_ACT, buf);
            if (st != DLB_OK) return st;
            dnnl_primitive_desc_t pd = NULL;
            if (dnnl_reorder_primitive_desc_create(&pd, dst_md, n->eng, dst_md, n->eng, NULL))
                return DLB_EDNNL;
            int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO}, bufs[2] = {src, *buf};
            st = dlb__add_step(n, -1, pd, 2, kinds, bufs);
            dnnl_primitive_desc_destroy(pd);
            n->n_reorders++;
        } else {
            *buf = src;
        }
    }
    if (st == DLB_OK) dlb__set_dst(n, op, 0, *buf);
    return st;
}

dlb_status dlb__fast_pd(dlb_net *n, int op, const void *op_desc, dnnl_primitive_attr_t *attr,
                        int *n_args, int *kinds, int *bufs, int *sum_slot, int *split,
                        dnnl_primitive_desc_t *pd) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    int base_args = *n_args;
    *split = s->n_post;
    *pd = NULL;
    DLB_TRY(dlb__post_ops(n, op, attr, n_args, kinds, bufs, sum_slot));
    DLB_DNNL_CHECK(dnnl_primitive_desc_create(pd, op_desc, *attr, n->eng, NULL));
    const char *impl = NULL;
    DLB_DNNL_CHECK(dnnl_primitive_desc_query(*pd, dnnl_query_impl_info_str, 0, &impl));
    int kb = -1;
    for (int k = 0; k < s->n_post && kb < 0; k++)
        if (s->post[k].kind == DLB_POST_BINARY) kb = k;
    if (!impl || strncmp(impl, "ref", 3) != 0 || kb < 0) return DLB_OK;
    /* Reference kernel because of a binary post-op (e.g. a broadcast oneDNN's fast matmul
     * does not take): fuse what precedes it, run the rest as a binary primitive. */
    bool sum_after = false;
    for (int k = kb; k < s->n_post; k++) sum_after |= s->post[k].kind == DLB_POST_SUM;
    if (sum_after) return DLB_OK;
    dnnl_primitive_desc_t fast = NULL;
    dnnl_primitive_attr_t a2 = NULL;
    int na = base_args, ss;
    DLB_TRY(dlb__post_ops_range(n, op, 0, kb, &a2, &na, kinds, bufs, &ss));
    if (dnnl_primitive_desc_create(&fast, op_desc, a2, n->eng, NULL) != dnnl_success) {
        dnnl_primitive_attr_destroy(a2);
        return DLB_OK; /* keep the fused reference kernel */
    }
    dnnl_primitive_desc_destroy(*pd);
    dnnl_primitive_attr_destroy(*attr);
    *pd = fast;
    *attr = a2;
    *n_args = na;
    *sum_slot = ss;
    *split = kb;
cleanup:
    return st;
}

dlb_status dlb__add_split_binary(dlb_net *n, int op, int split, int dst) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    if (split >= s->n_post) return DLB_OK;
    const dlb_postop *p = &s->post[split];
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], na = 0, ss, b;
    dnnl_memory_desc_t src1;
    const dnnl_memory_desc_t *dmd = &n->bufs[dst].md;
    DLB_TRY(padded_md(&p->operand, dmd->ndims, &src1));
    DLB_TRY(dlb__post_ops_range(n, op, split + 1, s->n_post, &attr, &na, kinds, bufs, &ss));
    dnnl_binary_desc_t bd;
    DLB_DNNL_CHECK(dnnl_binary_desc_init(&bd, dlb__dnnl_binary_alg(p->alg), dmd, &src1, dmd));
    DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, &bd, attr, n->eng, NULL));
    DLB_TRY(dlb__slot_buf(n, op, s->n_src + split, &src1, &b));
    kinds[na] = DNNL_ARG_SRC_0;
    bufs[na++] = dst;
    kinds[na] = DNNL_ARG_SRC_1;
    bufs[na++] = b;
    kinds[na] = DNNL_ARG_DST;
    bufs[na++] = dst;
    DLB_TRY(dlb__add_step(n, op, pd, na, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}
