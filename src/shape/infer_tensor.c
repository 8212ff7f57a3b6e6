/* infer_tensor.c — shape inference of layout ops: Concat, Reshape, Transpose, Gather, ... */
#include <string.h>

#include "infer_internal.h"

static void fmt2(const dlb_shape *a, char *buf, int size) {
    dlb_shape_format(a, buf, size);
}

dlb_status dlb__infer_concat(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_attr *ax = dlb_node_attr(n, "axis");
    if (!ax || ax->type != DLB_ATTR_INT) return dlb__fail(c, n, DLB_ESHAPE, "Concat without axis");
    const dlb_shape *first = NULL;
    bool all_const = true;
    int nin = 0;
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        const dlb_shape *s = dlb__in_shape(c, n, i);
        if (!s) return dlb__unknown(c, "input %d shape unknown", i);
        if (!first) first = s;
        if (!dlb__in_const(c, n, i)) all_const = false;
        nin++;
    }
    if (!first) return dlb__fail(c, n, DLB_ESHAPE, "Concat without inputs");
    int axis = dlb__axis(ax->i, first->rank);
    if (axis < 0)
        return dlb__fail(c, n, DLB_ESHAPE, "axis %lld out of range for rank %d", (long long)ax->i,
                         first->rank);
    dlb_shape out = *first;
    out.dims[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        const dlb_shape *s = dlb__in_shape(c, n, i);
        if (!s) continue;
        bool ok = s->rank == first->rank;
        for (int d = 0; ok && d < s->rank; d++)
            if (d != axis && s->dims[d] != first->dims[d]) ok = false;
        if (!ok) {
            char a[128], b[128];
            fmt2(first, a, (int)sizeof a);
            fmt2(s, b, (int)sizeof b);
            return dlb__fail(c, n, DLB_ESHAPE, "cannot concatenate %s and %s on axis %d", a, b,
                             axis);
        }
        if (!dlb__add_ok(out.dims[axis], s->dims[axis], &out.dims[axis]))
            return dlb__fail(c, n, DLB_EOVERFLOW, "concatenated dimension overflows int64");
    }
    dlb_status st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
    if (st != DLB_OK || !all_const || nin == 0) return st;
    int64_t outer, inner;
    if (!dlb__prod(out.dims, 0, axis, &outer) || !dlb__prod(out.dims, axis + 1, out.rank, &inner))
        return DLB_OK;
    dlb_tensor *o = dlb__const_out(c, n, 0, dlb_shape_numel(&out), &st);
    int64_t k = 0;
    for (int64_t a = 0; o && a < outer; a++)
        for (int i = 0; i < n->n_in; i++) {
            const dlb_tensor *t = dlb__in_const(c, n, i);
            if (!t) continue;
            int64_t block = t->shape.dims[axis] * inner;
            for (int64_t j = 0; j < block; j++) dlb__put_elem(o, k++, t, a * block + j);
        }
    return st;
}

dlb_status dlb__infer_reshape(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "data shape unknown");
    int64_t v[DLB_MAX_RANK + 1];
    int cnt;
    bool present;
    dlb_status st = dlb__ints_arg(c, n, 1, "shape", v, DLB_MAX_RANK, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present) return dlb__fail(c, n, DLB_ESHAPE, "Reshape without a shape");
    bool allowzero = dlb_node_attr_int(n, "allowzero", 0) != 0;
    dlb_shape out = {.rank = cnt};
    int infer_at = -1;
    int64_t known = 1, total = dlb_shape_numel(x);
    for (int i = 0; i < cnt; i++) {
        int64_t d = v[i];
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return dlb__fail(c, n, DLB_ESHAPE, "shape copies dim %d of a rank-%d input", i,
                                 x->rank);
            d = x->dims[i];
        } else if (d == -1) {
            if (infer_at >= 0) return dlb__fail(c, n, DLB_ESHAPE, "more than one -1 in shape");
            infer_at = i;
            continue;
        } else if (d < 0) {
            return dlb__fail(c, n, DLB_ESHAPE, "invalid dimension %lld in shape", (long long)d);
        }
        out.dims[i] = d;
        if (!dlb__mul_ok(known, d, &known))
            return dlb__fail(c, n, DLB_EOVERFLOW, "element count of the shape overflows int64");
    }
    char a[128];
    fmt2(x, a, (int)sizeof a);
    if (infer_at >= 0) {
        if (known == 0 || total % known)
            return dlb__fail(c, n, DLB_ESHAPE, "cannot infer -1 when reshaping %s", a);
        out.dims[infer_at] = total / known;
    } else if (known != total) {
        char b[128];
        fmt2(&out, b, (int)sizeof b);
        return dlb__fail(c, n, DLB_ESHAPE, "cannot reshape %s to %s", a, b);
    }
    st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
    if (st == DLB_OK) dlb__const_share(dlb__out(c, n, 0), dlb__in_const(c, n, 0));
    return st;
}

dlb_status dlb__infer_flatten(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t axis = dlb_node_attr_int(n, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis > x->rank)
        return dlb__fail(c, n, DLB_ESHAPE, "axis out of range for rank %d", x->rank);
    dlb_shape out = {.rank = 2};
    if (!dlb__prod(x->dims, 0, (int)axis, &out.dims[0]) ||
        !dlb__prod(x->dims, (int)axis, x->rank, &out.dims[1]))
        return dlb__fail(c, n, DLB_EOVERFLOW, "element count overflows int64");
    dlb_status st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
    if (st == DLB_OK) dlb__const_share(dlb__out(c, n, 0), dlb__in_const(c, n, 0));
    return st;
}

dlb_status dlb__infer_transpose(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t perm[DLB_MAX_RANK];
    int cnt;
    bool present, seen[DLB_MAX_RANK] = {false};
    dlb_status st = dlb__ints_arg(c, n, -1, "perm", perm, DLB_MAX_RANK, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present) {
        cnt = x->rank;
        for (int i = 0; i < cnt; i++) perm[i] = cnt - 1 - i;
    }
    if (cnt != x->rank)
        return dlb__fail(c, n, DLB_ESHAPE, "perm length %d != rank %d", cnt, x->rank);
    dlb_shape out = {.rank = cnt};
    for (int i = 0; i < cnt; i++) {
        int p = dlb__axis(perm[i], cnt);
        if (p < 0 || seen[p]) return dlb__fail(c, n, DLB_ESHAPE, "invalid perm");
        seen[p] = true;
        perm[i] = p;
        out.dims[i] = x->dims[p];
    }
    if ((st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    if (!v) return DLB_OK;
    int64_t instride[DLB_MAX_RANK], s = 1;
    /* Not for an empty value: a huge dim next to its 0 would overflow the product. */
    for (int d = x->rank - 1; d >= 0 && v->value.n > 0; d--) {
        instride[d] = s;
        s *= x->dims[d];
    }
    dlb_tensor *o = dlb__const_out(c, n, 0, v->value.n, &st);
    for (int64_t e = 0; o && e < v->value.n; e++) {
        int64_t rem = e, at = 0;
        for (int d = cnt - 1; d >= 0; d--) {
            at += (rem % out.dims[d]) * instride[perm[d]];
            rem /= out.dims[d];
        }
        dlb__put_elem(o, e, v, at);
    }
    return st;
}

/* Axes from input 1 (opset 13+) or the 'axes' attribute. */
static dlb_status read_axes(dlb_infer_ctx *c, dlb_node *n, int64_t *axes, int *cnt, bool *present) {
    return dlb__ints_arg(c, n, 1, "axes", axes, DLB_MAX_RANK, cnt, present);
}

dlb_status dlb__infer_squeeze(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t axes[DLB_MAX_RANK];
    int cnt;
    bool present, drop[DLB_MAX_RANK] = {false};
    dlb_status st = read_axes(c, n, axes, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present || cnt == 0)
        for (int d = 0; d < x->rank; d++) drop[d] = x->dims[d] == 1;
    for (int i = 0; present && i < cnt; i++) {
        int a = dlb__axis(axes[i], x->rank);
        if (a < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis %lld out of range", (long long)axes[i]);
        if (x->dims[a] != 1)
            return dlb__fail(c, n, DLB_ESHAPE, "cannot squeeze axis %d of size %lld", a,
                             (long long)x->dims[a]);
        drop[a] = true;
    }
    dlb_shape out = {.rank = 0};
    for (int d = 0; d < x->rank; d++)
        if (!drop[d]) out.dims[out.rank++] = x->dims[d];
    st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
    if (st == DLB_OK) dlb__const_share(dlb__out(c, n, 0), dlb__in_const(c, n, 0));
    return st;
}

dlb_status dlb__infer_unsqueeze(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t axes[DLB_MAX_RANK];
    int cnt;
    bool present, ins[DLB_MAX_RANK] = {false};
    dlb_status st = read_axes(c, n, axes, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present) return dlb__fail(c, n, DLB_ESHAPE, "Unsqueeze without axes");
    int r = x->rank + cnt;
    if (r > DLB_MAX_RANK) return dlb__fail(c, n, DLB_ESHAPE, "rank %d exceeds %d", r, DLB_MAX_RANK);
    for (int i = 0; i < cnt; i++) {
        int a = dlb__axis(axes[i], r);
        if (a < 0 || ins[a])
            return dlb__fail(c, n, DLB_ESHAPE, "invalid axis %lld", (long long)axes[i]);
        ins[a] = true;
    }
    dlb_shape out = {.rank = r};
    for (int d = 0, k = 0; d < r; d++) out.dims[d] = ins[d] ? 1 : x->dims[k++];
    st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
    if (st == DLB_OK) dlb__const_share(dlb__out(c, n, 0), dlb__in_const(c, n, 0));
    return st;
}

/* Copy a known input into a broadcast/tiled output: element e of o comes from map(e). */
static dlb_status fold_expand(dlb_infer_ctx *c, dlb_node *n, const dlb_tensor *v, bool tile) {
    dlb_status st = DLB_OK;
    const dlb_tensor *o0 = dlb__out(c, n, 0);
    if (!v || !o0) return DLB_OK;
    int64_t cnt = dlb_shape_numel(&o0->shape);
    dlb_tensor *o = dlb__const_out(c, n, 0, cnt, &st);
    for (int64_t e = 0; o && e < cnt; e++) {
        int64_t at = 0;
        if (tile) {
            int64_t rem = e, stride = 1;
            for (int d = o->shape.rank - 1; d >= 0; d--) {
                at += (rem % o->shape.dims[d]) % v->shape.dims[d] * stride;
                rem /= o->shape.dims[d];
                stride *= v->shape.dims[d];
            }
        } else {
            at = dlb__bcast_index(&o->shape, &v->shape, e);
        }
        dlb__put_elem(o, e, v, at);
    }
    return st;
}

dlb_status dlb__infer_expand(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t v[DLB_MAX_RANK + 1];
    int cnt;
    bool present;
    dlb_status st = dlb__ints_arg(c, n, 1, NULL, v, DLB_MAX_RANK, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present) return dlb__fail(c, n, DLB_ESHAPE, "Expand without a shape");
    dlb_shape sh = {.rank = cnt}, out;
    for (int i = 0; i < cnt; i++) {
        if (v[i] < 0) return dlb__fail(c, n, DLB_ESHAPE, "negative dim in Expand shape");
        sh.dims[i] = v[i];
    }
    if (!dlb__broadcast(x, &sh, &out))
        return dlb__fail(c, n, DLB_ESHAPE, "input does not broadcast to the Expand shape");
    if ((st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
    return fold_expand(c, n, dlb__in_const(c, n, 0), false);
}

dlb_status dlb__infer_tile(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t rep[DLB_MAX_RANK];
    int cnt;
    bool present;
    dlb_status st = dlb__ints_arg(c, n, 1, NULL, rep, DLB_MAX_RANK, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present || cnt != x->rank)
        return dlb__fail(c, n, DLB_ESHAPE, "repeats must have %d values", x->rank);
    dlb_shape out = *x;
    for (int d = 0; d < x->rank; d++) {
        if (rep[d] < 0) return dlb__fail(c, n, DLB_ESHAPE, "negative repeat");
        if (!dlb__mul_ok(x->dims[d], rep[d], &out.dims[d]))
            return dlb__fail(c, n, DLB_EOVERFLOW, "tiled dimension overflows int64");
    }
    if ((st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
    return fold_expand(c, n, dlb__in_const(c, n, 0), true);
}

dlb_status dlb__infer_gather(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0), *ix = dlb__in_shape(c, n, 1);
    if (!x || !ix) return dlb__unknown(c, "data or indices shape unknown");
    int axis = dlb__axis(dlb_node_attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis out of range for rank %d", x->rank);
    int r = x->rank - 1 + ix->rank;
    if (r > DLB_MAX_RANK) return dlb__fail(c, n, DLB_ESHAPE, "rank %d exceeds %d", r, DLB_MAX_RANK);
    dlb_shape out = {.rank = r};
    int k = 0;
    for (int d = 0; d < axis; d++) out.dims[k++] = x->dims[d];
    for (int d = 0; d < ix->rank; d++) out.dims[k++] = ix->dims[d];
    for (int d = axis + 1; d < x->rank; d++) out.dims[k++] = x->dims[d];
    const dlb_tensor *iv = dlb__in_const(c, n, 1), *dv = dlb__in_const(c, n, 0);
    int64_t dim = x->dims[axis];
    for (int64_t j = 0; iv && j < iv->value.n; j++) {
        int64_t i = dlb__vi(iv, j);
        if (i < -dim || i >= dim)
            return dlb__fail(c, n, DLB_ESHAPE, "index %lld out of range for dimension %lld",
                             (long long)i, (long long)dim);
    }
    dlb_status st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
    if (st != DLB_OK || !iv || !dv) return st;
    int64_t outer, inner;
    if (!dlb__prod(x->dims, 0, axis, &outer) || !dlb__prod(x->dims, axis + 1, x->rank, &inner))
        return DLB_OK;
    dlb_tensor *o = dlb__const_out(c, n, 0, dlb_shape_numel(&out), &st);
    int64_t e = 0;
    for (int64_t a = 0; o && a < outer; a++)
        for (int64_t j = 0; j < iv->value.n; j++) {
            int64_t i = dlb__vi(iv, j);
            if (i < 0) i += dim;
            for (int64_t b = 0; b < inner; b++)
                dlb__put_elem(o, e++, dv, (a * dim + i) * inner + b);
        }
    return st;
}

dlb_status dlb__infer_gather_elements(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0), *ix = dlb__in_shape(c, n, 1);
    if (!x || !ix) return dlb__unknown(c, "data or indices shape unknown");
    if (x->rank != ix->rank) return dlb__fail(c, n, DLB_ESHAPE, "data and indices ranks differ");
    return dlb__set_out(c, n, 0, ix, dlb__in_dtype(c, n, 0));
}

static dlb_status space_depth(dlb_infer_ctx *c, dlb_node *n, bool to_space) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t b = dlb_node_attr_int(n, "blocksize", 0), bb;
    if (x->rank != 4 || b < 1 || !dlb__mul_ok(b, b, &bb))
        return dlb__fail(c, n, DLB_ESHAPE, "needs a 4-D input and a positive blocksize");
    dlb_shape out = *x;
    if (to_space) {
        if (x->dims[1] % bb) return dlb__fail(c, n, DLB_ESHAPE, "channels not divisible");
        out.dims[1] /= bb;
        if (!dlb__mul_ok(x->dims[2], b, &out.dims[2]) || !dlb__mul_ok(x->dims[3], b, &out.dims[3]))
            return dlb__fail(c, n, DLB_EOVERFLOW, "dimension overflows int64");
    } else {
        if (x->dims[2] % b || x->dims[3] % b)
            return dlb__fail(c, n, DLB_ESHAPE, "spatial dims not divisible by blocksize");
        out.dims[2] /= b;
        out.dims[3] /= b;
        if (!dlb__mul_ok(x->dims[1], bb, &out.dims[1]))
            return dlb__fail(c, n, DLB_EOVERFLOW, "dimension overflows int64");
    }
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

dlb_status dlb__infer_depth_to_space(dlb_infer_ctx *c, dlb_node *n) {
    return space_depth(c, n, true);
}

dlb_status dlb__infer_space_to_depth(dlb_infer_ctx *c, dlb_node *n) {
    return space_depth(c, n, false);
}
