/* infer_fold.c — shape-arithmetic ops (Shape, Size, Constant*, Range), Identity, reductions. */
#include <math.h>
#include <string.h>

#include "infer_internal.h"

dlb_status dlb__infer_shape(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t r = x->rank, b = dlb_node_attr_int(n, "start", 0), e = dlb_node_attr_int(n, "end", r);
    if (b < 0) b += r;
    if (e < 0) e += r;
    b = b < 0 ? 0 : b > r ? r : b;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t len = e > b ? e - b : 0;
    dlb_shape out = {.rank = 1, .dims = {len}};
    dlb_status st = dlb__set_out(c, n, 0, &out, DLB_DT_S64);
    dlb_tensor *o = st == DLB_OK ? dlb__const_out(c, n, 0, len, &st) : NULL;
    for (int64_t k = 0; o && k < len; k++) dlb__put_i(o, k, x->dims[b + k]);
    return st;
}

dlb_status dlb__infer_size(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    dlb_shape out = {.rank = 0};
    dlb_status st = dlb__set_out(c, n, 0, &out, DLB_DT_S64);
    dlb_tensor *o = st == DLB_OK ? dlb__const_out(c, n, 0, 1, &st) : NULL;
    if (o) dlb__put_i(o, 0, dlb_shape_numel(x));
    return st;
}

/* Constant: value (tensor), value_int(s), value_float(s). */
dlb_status dlb__infer_constant(dlb_infer_ctx *c, dlb_node *n) {
    dlb_status st;
    const dlb_attr *a = NULL;
    for (int i = 0; i < n->n_attrs && !a; i++)
        if (!strncmp(n->attrs[i].name, "value", 5) || !strcmp(n->attrs[i].name, "sparse_value"))
            a = &n->attrs[i];
    if (!a) return dlb__fail(c, n, DLB_ESHAPE, "Constant without a value");
    if (!strcmp(a->name, "value") && a->type == DLB_ATTR_TENSOR) {
        if (a->t_shape.rank < 0) return dlb__unknown(c, "Constant of rank > %d", DLB_MAX_RANK);
        if ((st = dlb__set_out(c, n, 0, &a->t_shape, a->t_type)) != DLB_OK) return st;
        dlb_tensor *o = dlb__out(c, n, 0);
        if (o && a->t_has_value && a->t_value.n == dlb_shape_numel(&a->t_shape) &&
            a->t_value.n <= DLB_MAX_CONST_ELEMS &&
            (dlb_dtype_is_float(a->t_type) ? a->t_value.f != NULL : a->t_value.i != NULL)) {
            o->value = a->t_value;
            o->is_const = true;
        }
        return DLB_OK;
    }
    bool is_int = !strcmp(a->name, "value_int") || !strcmp(a->name, "value_ints");
    bool is_float = !strcmp(a->name, "value_float") || !strcmp(a->name, "value_floats");
    if (!is_int && !is_float)
        return dlb__unknown(c, "Constant attribute '%s' not supported", a->name);
    bool scalar = a->type == DLB_ATTR_INT || a->type == DLB_ATTR_FLOAT;
    dlb_shape out = {.rank = scalar ? 0 : 1, .dims = {scalar ? 1 : a->n}};
    if ((st = dlb__set_out(c, n, 0, &out, is_int ? DLB_DT_S64 : DLB_DT_F32)) != DLB_OK) return st;
    int64_t cnt = scalar ? 1 : a->n;
    dlb_tensor *o = dlb__const_out(c, n, 0, cnt, &st);
    for (int64_t k = 0; o && k < cnt; k++) {
        if (a->type == DLB_ATTR_INT) dlb__put_i(o, k, a->i);
        if (a->type == DLB_ATTR_INTS) dlb__put_i(o, k, a->ints[k]);
        if (a->type == DLB_ATTR_FLOAT) dlb__put_f(o, k, (double)(float)a->f);
        if (a->type == DLB_ATTR_FLOATS) dlb__put_f(o, k, (double)(float)a->floats[k]);
    }
    return st;
}

dlb_status dlb__infer_constant_of_shape(dlb_infer_ctx *c, dlb_node *n) {
    int64_t v[DLB_MAX_RANK + 1];
    int cnt;
    bool present;
    dlb_status st = dlb__ints_arg(c, n, 0, NULL, v, DLB_MAX_RANK, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present) return dlb__fail(c, n, DLB_ESHAPE, "ConstantOfShape without input");
    dlb_shape out = {.rank = cnt};
    for (int i = 0; i < cnt; i++) {
        if (v[i] < 0)
            return dlb__fail(c, n, DLB_ESHAPE, "negative dimension %lld", (long long)v[i]);
        out.dims[i] = v[i];
    }
    const dlb_attr *a = dlb_node_attr(n, "value");
    dlb_dtype dt = (a && a->type == DLB_ATTR_TENSOR) ? a->t_type : DLB_DT_F32;
    if ((st = dlb__set_out(c, n, 0, &out, dt)) != DLB_OK) return st;
    dlb_tensor *o = dlb__const_out(c, n, 0, dlb_shape_numel(&out), &st);
    if (!o) return st;
    bool have = a && a->type == DLB_ATTR_TENSOR && a->t_has_value && a->t_value.n >= 1;
    double f = have && a->t_value.f ? a->t_value.f[0] : 0.0;
    int64_t i = have && a->t_value.i ? a->t_value.i[0] : 0;
    for (int64_t k = 0; k < o->value.n; k++) {
        if (have && a->t_value.f)
            dlb__put_f(o, k, f);
        else
            dlb__put_i(o, k, i);
    }
    return DLB_OK;
}

dlb_status dlb__infer_range(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_tensor *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = dlb__in_const(c, n, i);
        if (!t[i] || t[i]->value.n != 1) {
            const dlb_tensor *in = dlb__in(c, n, i);
            return dlb__unknown(c, "%s '%s' is not a known scalar",
                                i ? i == 1 ? "limit" : "delta" : "start", in ? in->name : "?");
        }
    }
    dlb_dtype dt = t[0]->dtype;
    bool fl = dlb_dtype_is_float(dt) || (t[0]->value.f && !t[0]->value.i);
    int64_t len;
    if (fl) {
        double s = dlb__vf(t[0], 0), l = dlb__vf(t[1], 0), d = dlb__vf(t[2], 0);
        if (d == 0) return dlb__fail(c, n, DLB_ESHAPE, "Range with delta 0");
        double k = ceil((l - s) / d);
        if (!(k < 9.2e18)) return dlb__fail(c, n, DLB_EOVERFLOW, "Range length overflows int64");
        len = k > 0 ? (int64_t)k : 0;
    } else {
        int64_t s = dlb__vi(t[0], 0), l = dlb__vi(t[1], 0), d = dlb__vi(t[2], 0), diff;
        if (d == 0) return dlb__fail(c, n, DLB_ESHAPE, "Range with delta 0");
        if (__builtin_sub_overflow(l, s, &diff))
            return dlb__fail(c, n, DLB_EOVERFLOW, "Range length overflows int64");
        if ((diff > 0) != (d > 0) || diff == 0)
            len = 0;
        else if (d > 0)
            len = diff / d + (diff % d != 0);
        else
            len = diff / d + (diff % d != 0); /* both negative: quotient positive */
    }
    dlb_shape out = {.rank = 1, .dims = {len}};
    dlb_status st = dlb__set_out(c, n, 0, &out, dt);
    dlb_tensor *o = st == DLB_OK ? dlb__const_out(c, n, 0, len, &st) : NULL;
    for (int64_t k = 0; o && k < len; k++) {
        if (fl)
            dlb__put_f(o, k, dlb__vf(t[0], 0) + (double)k * dlb__vf(t[2], 0));
        else
            dlb__put_i(o, k, dlb__vi(t[0], 0) + k * dlb__vi(t[2], 0));
    }
    return st;
}

dlb_status dlb__infer_identity(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    dlb_status st = dlb__set_out(c, n, 0, x, dlb__in_dtype(c, n, 0));
    if (st == DLB_OK) dlb__const_share(dlb__out(c, n, 0), dlb__in_const(c, n, 0));
    return st;
}

/* Dropout (inference: identity) with an optional boolean mask output. */
dlb_status dlb__infer_dropout(dlb_infer_ctx *c, dlb_node *n) {
    dlb_status st = dlb__infer_identity(c, n);
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (st != DLB_OK || !x) return st;
    return dlb__set_out(c, n, 1, x, DLB_DT_BOOL);
}

typedef enum red { R_SUM, R_PROD, R_MAX, R_MIN, R_MEAN, R_OTHER } red;

static red reduce_kind(const char *op) {
    if (!strcmp(op, "ReduceSum")) return R_SUM;
    if (!strcmp(op, "ReduceProd")) return R_PROD;
    if (!strcmp(op, "ReduceMax")) return R_MAX;
    if (!strcmp(op, "ReduceMin")) return R_MIN;
    if (!strcmp(op, "ReduceMean")) return R_MEAN;
    return R_OTHER;
}

/* Fold a reduction of a known input in one pass (integer overflow is an error). */
static dlb_status fold_reduce(dlb_infer_ctx *c, dlb_node *n, const dlb_tensor *v, const bool *rd) {
    red k = reduce_kind(n->op_type);
    const dlb_tensor *o0 = dlb__out(c, n, 0);
    if (k == R_OTHER || !o0) return DLB_OK;
    dlb_status st;
    int64_t cnt = dlb_shape_numel(&o0->shape);
    dlb_tensor *o = dlb__const_out(c, n, 0, cnt, &st);
    if (!o) return st;
    double *fo = o->value.f;
    int64_t *io = o->value.i;
    for (int64_t e = 0; e < cnt; e++) {
        if (fo) fo[e] = k == R_PROD ? 1 : k == R_MAX ? -INFINITY : k == R_MIN ? INFINITY : 0;
        if (io) io[e] = k == R_PROD ? 1 : k == R_MAX ? INT64_MIN : k == R_MIN ? INT64_MAX : 0;
    }
    const dlb_shape *x = &v->shape;
    for (int64_t j = 0; j < v->value.n; j++) {
        int64_t rem = j, at = 0, stride = 1; /* output position of input element j */
        for (int d = x->rank - 1; d >= 0; d--) {
            int64_t pos = rem % x->dims[d];
            rem /= x->dims[d];
            if (!rd[d]) {
                at += pos * stride;
                stride *= x->dims[d];
            }
        }
        if (fo) {
            double f = dlb__vf(v, j), *acc = &fo[at];
            if (k == R_SUM || k == R_MEAN) *acc += f;
            if (k == R_PROD) *acc *= f;
            if (k == R_MAX && f > *acc) *acc = f;
            if (k == R_MIN && f < *acc) *acc = f;
            continue;
        }
        int64_t i = dlb__vi(v, j), *acc = &io[at];
        bool ok = true;
        if (k == R_SUM || k == R_MEAN) ok = dlb__add_ok(*acc, i, acc);
        if (k == R_PROD) ok = dlb__mul_ok(*acc, i, acc);
        if (k == R_MAX && i > *acc) *acc = i;
        if (k == R_MIN && i < *acc) *acc = i;
        if (!ok) return dlb__fail(c, n, DLB_EOVERFLOW, "folded %s overflows int64", n->op_type);
    }
    int64_t group = cnt ? v->value.n / cnt : 0;
    if (k == R_MEAN && !group) {
        dlb__const_drop(o);
        return DLB_OK;
    }
    for (int64_t e = 0; k == R_MEAN && e < cnt; e++) {
        if (fo) fo[e] /= (double)group;
        if (io) io[e] /= group;
    }
    for (int64_t e = 0; fo && e < cnt; e++) dlb__put_f(o, e, fo[e]); /* dtype rounding */
    return DLB_OK;
}

/* ReduceX: axes attribute, or input 1 (ReduceSum since 13, the others since 18). */
dlb_status dlb__infer_reduce(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t axes[DLB_MAX_RANK];
    int cnt;
    bool present, rd[DLB_MAX_RANK] = {false};
    dlb_status st = dlb__ints_arg(c, n, 1, "axes", axes, DLB_MAX_RANK, &cnt, &present);
    if (st != DLB_OK) return st;
    bool keep = dlb_node_attr_int(n, "keepdims", 1) != 0;
    if (!present || cnt == 0) {
        if (dlb_node_attr_int(n, "noop_with_empty_axes", 0)) return dlb__infer_identity(c, n);
        for (int d = 0; d < x->rank; d++) rd[d] = true;
    }
    for (int i = 0; i < cnt; i++) {
        int a = dlb__axis(axes[i], x->rank);
        if (a < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis %lld out of range", (long long)axes[i]);
        rd[a] = true;
    }
    dlb_shape out = {.rank = 0};
    for (int d = 0; d < x->rank; d++) {
        if (!rd[d])
            out.dims[out.rank++] = x->dims[d];
        else if (keep)
            out.dims[out.rank++] = 1;
    }
    dlb_dtype dt = dlb__in_dtype(c, n, 0);
    if ((st = dlb__set_out(c, n, 0, &out, dt)) != DLB_OK) return st;
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    return v ? fold_reduce(c, n, v, rd) : DLB_OK;
}

/* ArgMax, ArgMin: one axis, int64 output. */
dlb_status dlb__infer_arg_reduce(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int axis = dlb__axis(dlb_node_attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis out of range for rank %d", x->rank);
    dlb_shape out = *x;
    if (dlb_node_attr_int(n, "keepdims", 1)) {
        out.dims[axis] = 1;
    } else {
        memmove(&out.dims[axis], &out.dims[axis + 1],
                sizeof(int64_t) * (size_t)(x->rank - axis - 1));
        out.rank--;
    }
    return dlb__set_out(c, n, 0, &out, DLB_DT_S64);
}

/* TopK: K from input 1 (opset 10+) or attribute k; values and int64 indices. */
dlb_status dlb__infer_topk(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t k[1];
    int cnt;
    bool present;
    dlb_status st = dlb__ints_arg(c, n, 1, "k", k, 1, &cnt, &present);
    if (st != DLB_OK) return st;
    int axis = dlb__axis(dlb_node_attr_int(n, "axis", -1), x->rank);
    if (!present || cnt != 1 || axis < 0) return dlb__fail(c, n, DLB_ESHAPE, "invalid K or axis");
    if (k[0] < 0 || k[0] > x->dims[axis])
        return dlb__fail(c, n, DLB_ESHAPE, "K %lld exceeds dimension %lld", (long long)k[0],
                         (long long)x->dims[axis]);
    dlb_shape out = *x;
    out.dims[axis] = k[0];
    if ((st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
    return dlb__set_out(c, n, 1, &out, DLB_DT_S64);
}

/* NonZero, NonMaxSuppression, Unique, Compress, ...: output shape depends on data. */
dlb_status dlb__infer_data_dependent(dlb_infer_ctx *c, dlb_node *n) {
    bool idx = !strcmp(n->op_type, "NonZero") || !strcmp(n->op_type, "NonMaxSuppression");
    for (int i = 0; i < n->n_out; i++) {
        dlb_tensor *t = dlb__out(c, n, i);
        if (t) t->dtype = (idx || i > 0) ? DLB_DT_S64 : dlb__in_dtype(c, n, 0);
    }
    return dlb__unknown(c, "output shape depends on input values");
}
