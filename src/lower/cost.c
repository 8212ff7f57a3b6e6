/* cost.c — FLOPs and compulsory bytes of a lowered op (formulas documented in docs/bricks.md). */
#include "lower_internal.h"

static int64_t numel(const dlb_operand *o) {
    int64_t n = dlb_shape_numel(&o->shape);
    return n < 0 ? 0 : n;
}

/* Saturating helpers: costs are reported, never trusted for memory sizing. */
static int64_t mul_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t nbytes(const dlb_operand *o) {
    return mul_sat(numel(o), dlb_dtype_size(o->dtype));
}

int64_t dlb__add_sat(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

int64_t dlb__operands_bytes(const dlb_operand *o, int n) {
    int64_t b = 0;
    for (int i = 0; i < n; i++) b = dlb__add_sat(b, nbytes(&o[i]));
    return b;
}

static int64_t prod(const int64_t *v, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p = mul_sat(p, v[i]);
    return p;
}

/* Multiply-accumulates of the main computation. */
static int64_t macs(const dlb_op_spec *s) {
    const dlb_operand *x = &s->src[0], *y = &s->dst[0];
    switch (s->op) {
    case DLB_LOP_CONV: { /* N*OC*prod(out spatial) * IC/g * prod(kernel) */
        const dlb_shape *w = &s->wei[0].shape;
        return mul_sat(numel(y), prod(&w->dims[1], w->rank - 1));
    }
    case DLB_LOP_DECONV: { /* every input element scatters OC/g * prod(kernel) products */
        const dlb_shape *w = &s->wei[0].shape;
        return mul_sat(numel(x), prod(&w->dims[1], w->rank - 1));
    }
    case DLB_LOP_INNER_PRODUCT:
    case DLB_LOP_MATMUL: { /* batch * M * N * K; K is A's reduction dim */
        const dlb_shape *a = &x->shape;
        int64_t k =
            a->rank >= 1 ? a->dims[s->p.trans_a && a->rank >= 2 ? a->rank - 2 : a->rank - 1] : 1;
        return mul_sat(numel(y), k);
    }
    default:
        return 0;
    }
}

/* Spatial dims of a resampling (rank - 2, at least 1). */
static int resample_sp(const dlb_op_spec *s) {
    int r = s->n_src ? s->src[0].shape.rank - 2 : 1;
    return r < 1 ? 1 : r > 3 ? 3 : r;
}

void dlb__op_cost(const dlb_op_spec *s, int64_t *flops, int64_t *bytes) {
    int64_t out = s->n_dst ? numel(&s->dst[0]) : 0, in = s->n_src ? numel(&s->src[0]) : 0;
    int64_t f = mul_sat(2, macs(s));
    switch (s->op) {
    case DLB_LOP_CONV:
    case DLB_LOP_DECONV:
    case DLB_LOP_MATMUL:
    case DLB_LOP_INNER_PRODUCT:
        if (s->p.has_bias) f = dlb__add_sat(f, out);
        break;
    case DLB_LOP_POOL: /* one op per window element */
        f = mul_sat(out, prod(s->p.kernel, s->p.nsp));
        break;
    case DLB_LOP_ELTWISE:
    case DLB_LOP_BINARY:
        f = out;
        break;
    case DLB_LOP_BNORM: /* scale and shift after folding mean/var */
        f = mul_sat(2, out);
        break;
    case DLB_LOP_LNORM:
    case DLB_LOP_INORM: /* mean, variance, normalise, scale, shift */
        f = mul_sat(5, in);
        break;
    case DLB_LOP_LRN:
        f = mul_sat(in, dlb__add_sat(s->p.size, 3));
        break;
    case DLB_LOP_SOFTMAX: /* max, exp, sum, divide */
        f = mul_sat(4, in);
        break;
    case DLB_LOP_REDUCE:
        f = in;
        break;
    case DLB_LOP_RESAMPLE: /* linear: 2^nsp taps per output; nearest: data movement */
        f = s->alg == DLB_ALG_LINEAR_INTERP ? mul_sat(out, 2 * ((int64_t)1 << resample_sp(s))) : 0;
        break;
    default: /* concat, transpose, pad, slice, split, gather, expand: data movement only */
        f = 0;
    }
    for (int i = 0; i < s->n_post; i++) f = dlb__add_sat(f, out);
    int64_t b = dlb__add_sat(
        dlb__add_sat(dlb__operands_bytes(s->src, s->n_src), dlb__operands_bytes(s->wei, s->n_wei)),
        dlb__operands_bytes(s->dst, s->n_dst));
    for (int i = 0; i < s->n_post; i++)
        if (s->post[i].kind != DLB_POST_ELTWISE) b = dlb__add_sat(b, nbytes(&s->post[i].operand));
    *flops = f;
    *bytes = b;
}
