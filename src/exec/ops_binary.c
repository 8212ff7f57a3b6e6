/* ops_binary.c — binary ops with numpy broadcasting, on the producer's layout or, when only that
 * gives oneDNN a jit kernel, on plain data with the broadcast pattern's dims merged. */
#include <string.h>

#include "ops_simple.h"

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
                return dnnl_memory_desc_init_by_tag(md, nd, d, like->data_type, tags[nd - 3][t]) ==
                               dnnl_success
                           ? DLB_OK
                           : DLB_EDNNL;
        }
    return dlb__dense_md(md, nd, d, like->data_type);
}

/* Buffer of a binary operand: slot `loc` (>= 0) or weight -1 - loc, in `want`; `plain` is the
 * row-major layout of want's dims its data is set in. */
static dlb_status operand_buf(dlb_net *n, int op, int loc, const dnnl_memory_desc_t *want,
                              const dnnl_memory_desc_t *plain, int *buf) {
    dlb_status st;
    if (loc < 0) return dlb__weight_buf(n, op, -1 - loc, want, plain, buf);
    st = dlb__slot_buf(n, op, loc, want, buf);
    if (st == DLB_OK) dlb__fix_user_md(n, *buf, plain);
    return st;
}

/* src0 broadcast into dims dd: a reorder from a zero-stride view of its plain data into a new
 * plain buffer *out (descriptor *md). */
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

static dnnl_alg_kind_t binary_alg(dlb_alg alg, bool *commutative) {
    *commutative = alg != DLB_ALG_SUB && alg != DLB_ALG_DIV;
    return dlb__dnnl_binary_alg(alg);
}

/* One binary primitive: algorithm, src0 scale (0: none) and the dims of the dst, both sources
 * and each binary post-op operand, all of rank nd. */
typedef struct bin_plan {
    dnnl_alg_kind_t alg;
    float scale0;
    int nd;
    dnnl_dims_t dd, d0, d1, dp[DLB_MAX_POST];
} bin_plan;

/* The op's post-ops as attributes of plan p (binary operands in plain layouts of p's dims);
 * with bind, the operands' buffers are appended to kinds/bufs. */
static dlb_status plan_attr(dlb_net *n, int op, const bin_plan *p, bool bind,
                            dnnl_primitive_attr_t attr, int *na, int *kinds, int *bufs) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_post_ops_t po = NULL;
    bool comm;
    if (p->scale0 != 0)
        DLB_DNNL_CHECK(dnnl_primitive_attr_set_scales(attr, DNNL_ARG_SRC_0, 1, 0, &p->scale0));
    if (s->n_post == 0) return DLB_OK;
    DLB_DNNL_CHECK(dnnl_post_ops_create(&po));
    for (int k = 0, idx = 0; k < s->n_post; k++, idx++) {
        const dlb_postop *e = &s->post[k];
        dnnl_alg_kind_t alg;
        float a, b;
        if (e->kind == DLB_POST_BINARY) {
            dnnl_memory_desc_t md;
            DLB_TRY(dlb__dense_md(&md, p->nd, p->dp[k], dlb__dt_of(&e->operand)));
            DLB_DNNL_CHECK(dnnl_post_ops_append_binary(po, binary_alg(e->alg, &comm), &md));
            if (!bind) continue;
            int buf;
            DLB_TRY(dlb__slot_buf(n, op, s->n_src + k, &md, &buf));
            dlb__fix_user_md(n, buf, &md);
            kinds[*na] = DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx) | DNNL_ARG_SRC_1;
            bufs[(*na)++] = buf;
        } else if (e->kind == DLB_POST_ELTWISE && e->alg == DLB_ALG_HARDSIGMOID) {
            DLB_DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_linear,
                                                        (float)e->alpha, (float)e->beta));
            DLB_DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_clip_v2, 0, 1));
            idx++;
        } else if (e->kind == DLB_POST_ELTWISE &&
                   dlb__dnnl_eltwise(e->alg, e->alpha, e->beta, &alg, &a, &b)) {
            DLB_DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, alg, a, b));
        } else {
            dlb_error(diag, where, "op %d: post-op %d of a binary op is not supported", op, k);
            st = DLB_EUNSUPPORTED;
            goto cleanup;
        }
    }
    DLB_DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
cleanup:
    if (po) dnnl_post_ops_destroy(po);
    return st;
}

static void discard(void *ctx, dlb_severity sev, const char *line) {
    (void)ctx, (void)sev, (void)line;
}

/* Would oneDNN run plan p with sources in md0 / md1 in reference code (or not at all)? */
static bool plan_is_ref(dlb_net *n, int op, const bin_plan *p, const dnnl_memory_desc_t *md0,
                        const dnnl_memory_desc_t *md1) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_memory_desc_t dst;
    dnnl_binary_desc_t desc;
    int na = 0;
    bool ref = true;
    dlb_diag quiet = {.emit = discard}, *saved = n->diag;
    n->diag = &quiet; /* a plan oneDNN rejects is simply not taken */
    if (dnnl_primitive_attr_create(&attr) == dnnl_success &&
        plan_attr(n, op, p, false, attr, &na, NULL, NULL) == DLB_OK &&
        dnnl_memory_desc_init_by_tag(&dst, p->nd, p->dd, md0->data_type, dnnl_format_tag_any) ==
            dnnl_success &&
        dnnl_binary_desc_init(&desc, p->alg, md0, md1, &dst) == dnnl_success)
        ref = dlb__ref_impl(n, &desc, attr);
    n->diag = saved;
    if (attr) dnnl_primitive_attr_destroy(attr);
    return ref;
}

/* Plan c: p with the dims merged where every operand is either whole or broadcast (plain
 * row-major data keeps its order), unit dims dropped. */
static void merge_dims(const dlb_op_spec *s, const bin_plan *p, bin_plan *c) {
    const dnnl_dim_t *from[2 + DLB_MAX_POST];
    dnnl_dim_t *to[2 + DLB_MAX_POST];
    int k = 0, m = 0;
    unsigned prev = 0;
    *c = *p;
    from[k] = p->d0, to[k++] = c->d0;
    from[k] = p->d1, to[k++] = c->d1;
    for (int j = 0; j < s->n_post; j++)
        if (s->post[j].kind == DLB_POST_BINARY) from[k] = p->dp[j], to[k++] = c->dp[j];
    for (int i = 0; i < p->nd; i++) {
        if (p->dd[i] == 1) continue;
        unsigned sig = 0;
        for (int j = 0; j < k; j++) sig |= (unsigned)(from[j][i] == 1) << j;
        if (m > 0 && sig == prev) {
            c->dd[m - 1] *= p->dd[i];
            for (int j = 0; j < k; j++) to[j][m - 1] *= from[j][i];
        } else {
            c->dd[m] = p->dd[i];
            for (int j = 0; j < k; j++) to[j][m] = from[j][i];
            prev = sig;
            m++;
        }
    }
    if (m == 0) { /* every dim is 1 */
        c->dd[0] = 1;
        for (int j = 0; j < k; j++) to[j][0] = 1;
        m = 1;
    }
    c->nd = m;
}

/* Run plan c (merged dims) on plain buffers; the spec's dst is a view of the primitive's. */
static dlb_status add_merged(dlb_net *n, int op, const bin_plan *c, int loc0, int loc1,
                             int expanded) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int kinds[DLB__MAX_ARGS], bufs[DLB__MAX_ARGS], na = 0, b0, b1, b;
    dnnl_data_type_t dt = dlb__dt_of(&s->dst[0]);
    dnnl_memory_desc_t m0, m1, md;
    DLB_TRY(dlb__dense_md(&m0, c->nd, c->d0, dt));
    DLB_TRY(dlb__dense_md(&m1, c->nd, c->d1, dt));
    DLB_TRY(dlb__dense_md(&md, c->nd, c->dd, dt));
    if (expanded >= 0) { /* src0 already broadcast into a plain buffer of the dst's dims */
        DLB_TRY(dlb__new_buf(n, &m0, DLB__BUF_ALIAS, &b0));
        n->bufs[b0].alias_of = expanded;
    } else {
        DLB_TRY(operand_buf(n, op, loc0, &m0, &m0, &b0));
    }
    DLB_TRY(operand_buf(n, op, loc1, &m1, &m1, &b1));
    DLB_DNNL_CHECK(dnnl_primitive_attr_create(&attr));
    DLB_TRY(plan_attr(n, op, c, true, attr, &na, kinds, bufs));
    dnnl_binary_desc_t desc;
    DLB_DNNL_CHECK(dnnl_binary_desc_init(&desc, c->alg, &m0, &m1, &md));
    DLB_DNNL_CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, n->eng, NULL));
    DLB_TRY(dlb__new_buf(n, &md, DLB__BUF_ACT, &b));
    kinds[na] = DNNL_ARG_SRC_0, bufs[na++] = b0;
    kinds[na] = DNNL_ARG_SRC_1, bufs[na++] = b1;
    kinds[na] = DNNL_ARG_DST, bufs[na++] = b;
    DLB_TRY(dlb__set_dst_view(n, op, b));
    DLB_TRY(dlb__add_step(n, op, pd, na, kinds, bufs));
cleanup:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

/* Does operand dims d broadcast into dd (each dim 1 or equal)? */
static bool broadcasts(const dnnl_dims_t d, const dnnl_dims_t dd, int nd) {
    for (int i = 0; i < nd; i++)
        if (d[i] != 1 && d[i] != dd[i]) return false;
    return true;
}

dlb_status dlb__compile_binary(dlb_net *n, int op) {
    dlb_status st = DLB_OK;
    dlb_diag *diag = n->diag;
    const char *where = n->desc->name;
    const dlb_op_spec *s = &n->desc->ops[op];
    bool const_b = s->n_src == 1 && s->n_wei >= 1, commutative, has_sum = false;
    if (s->n_dst != 1 || !(s->n_src == 2 || const_b)) {
        dlb_error(diag, where, "op %d: binary needs two operands and one output", op);
        return DLB_EINVAL;
    }
    const dlb_operand *opd[2] = {&s->src[0], const_b ? &s->wei[0] : &s->src[1]};
    int loc[2] = {0, const_b ? -1 : 1};
    bin_plan p = {.nd = s->dst[0].shape.rank > 0 ? s->dst[0].shape.rank : 1};
    dnnl_dims_t d[2];
    padded_dims(&s->dst[0], p.nd, p.dd);
    bool ok = opd[0]->shape.rank <= p.nd && opd[1]->shape.rank <= p.nd;
    for (int k = 0; ok && k < 2; k++) {
        padded_dims(opd[k], p.nd, d[k]);
        ok = broadcasts(d[k], p.dd, p.nd);
    }
    for (int k = 0; ok && k < s->n_post; k++) {
        has_sum |= s->post[k].kind == DLB_POST_SUM;
        if (s->post[k].kind != DLB_POST_BINARY) continue;
        ok = s->post[k].operand.shape.rank <= p.nd;
        padded_dims(&s->post[k].operand, p.nd, p.dp[k]);
        ok = ok && broadcasts(p.dp[k], p.dd, p.nd);
    }
    if (!ok) {
        dlb_error(diag, where, "op %d: binary operands do not broadcast into the output", op);
        return DLB_EINVAL;
    }
    p.alg = binary_alg(s->alg, &commutative);
    if (p.alg == dnnl_alg_kind_undef) {
        dlb_error(diag, where, "op %d: unknown binary algorithm '%s'", op, dlb_alg_name(s->alg));
        return DLB_EUNSUPPORTED;
    }
    /* oneDNN broadcasts src1 only: swap when src0 is the broadcast one (a - b = -1 * b + a),
     * else first expand src0 to the dst's dims. */
    int first = 0;
    bool expand = false;
    if (!same_dims(d[0], p.dd, p.nd)) {
        if (same_dims(d[1], p.dd, p.nd) && commutative) {
            first = 1;
        } else if (same_dims(d[1], p.dd, p.nd) && p.alg == dnnl_binary_sub) {
            first = 1;
            p.alg = dnnl_binary_add;
            p.scale0 = -1;
        } else {
            expand = true;
        }
    }
    int i0 = first, i1 = 1 - first, b0 = -1, b1;
    memcpy(p.d0, d[i0], sizeof p.d0);
    memcpy(p.d1, d[i1], sizeof p.d1);
    dnnl_data_type_t dt = dlb__dt_of(&s->dst[0]);
    dnnl_memory_desc_t md0, md1, plain0, plain1, dst_md, dense;
    DLB_TRY(dlb__dense_md(&plain0, p.nd, p.d0, dt));
    DLB_TRY(dlb__dense_md(&plain1, p.nd, p.d1, dt));
    DLB_TRY(dlb__dense_md(&dense, p.nd, p.dd, dt));
    if (expand)
        md0 = dense;
    else if (loc[i0] >= 0 && opd[i0]->shape.rank == p.nd)
        DLB_TRY(dlb__slot_md(n, op, loc[i0], &md0));
    else
        md0 = plain0;
    if (same_dims(p.d1, p.dd, p.nd))
        md1 = md0;
    else
        DLB_TRY(like_md(&md0, p.d1, &md1));
    /* Where oneDNN has only a reference kernel (100x slower) for the producer's layout (e.g.
     * 8-channel blocks on AVX-512) or the broadcast pattern: try plain data, then plain data with
     * the broadcast pattern's dims merged; a reorder is much cheaper. */
    bin_plan c;
    bool merged = false, ref = !has_sum && plan_is_ref(n, op, &p, &md0, &md1);
    if (ref && !dnnl_memory_desc_equal(&md0, &dense) &&
        !plan_is_ref(n, op, &p, &dense, same_dims(p.d1, p.dd, p.nd) ? &dense : &plain1)) {
        md0 = dense;
        md1 = same_dims(p.d1, p.dd, p.nd) ? dense : plain1;
        ref = false;
    }
    if (ref) {
        merge_dims(s, &p, &c);
        dnnl_memory_desc_t c0, c1;
        DLB_TRY(dlb__dense_md(&c0, c.nd, c.d0, dt));
        DLB_TRY(dlb__dense_md(&c1, c.nd, c.d1, dt));
        merged =
            (c.nd != p.nd || !same_dims(c.dd, p.dd, p.nd)) && !plan_is_ref(n, op, &c, &c0, &c1);
    }
    if (expand) DLB_TRY(expand_src0(n, op, loc[i0], &plain0, p.dd, &md0, &b0));
    if (merged) return add_merged(n, op, &c, loc[i0], loc[i1], b0);
    if (!expand) DLB_TRY(operand_buf(n, op, loc[i0], &md0, &plain0, &b0));
    DLB_TRY(operand_buf(n, op, loc[i1], &md1, &plain1, &b1));
    DLB_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, p.nd, p.dd, dt, dnnl_format_tag_any));
    dnnl_binary_desc_t desc;
    DLB_DNNL_CHECK(dnnl_binary_desc_init(&desc, p.alg, &md0, &md1, &dst_md));
    dlb__simple_step ss = {.desc = &desc,
                           .n_fixed = 2,
                           .fixed_arg = {DNNL_ARG_SRC_0, DNNL_ARG_SRC_1},
                           .fixed_buf = {b0, b1},
                           .src0_scale = p.scale0};
    DLB_TRY(dlb__add_simple(n, op, &ss));
cleanup:
    return st;
}
