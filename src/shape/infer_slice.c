/* infer_slice.c — shape inference of Slice, Split, Pad, Resize and Upsample. */
#include <math.h>
#include <string.h>

#include "infer_internal.h"

enum { MAXL = DLB_MAX_RANK };

dlb_status dlb__infer_slice(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "data shape unknown");
    int64_t starts[MAXL], ends[MAXL], axes[MAXL], steps[MAXL];
    int ns, ne, na, nst;
    bool ps, pe, pa, pst;
    dlb_status st;
    /* Opset 10+: inputs 1..4; before: attributes starts, ends, axes. */
    if ((st = dlb__ints_arg(c, n, 1, "starts", starts, MAXL, &ns, &ps)) != DLB_OK ||
        (st = dlb__ints_arg(c, n, 2, "ends", ends, MAXL, &ne, &pe)) != DLB_OK ||
        (st = dlb__ints_arg(c, n, 3, "axes", axes, MAXL, &na, &pa)) != DLB_OK ||
        (st = dlb__ints_arg(c, n, 4, NULL, steps, MAXL, &nst, &pst)) != DLB_OK)
        return st;
    if (!ps || !pe || ns != ne || (pa && na != ns) || (pst && nst != ns))
        return dlb__fail(c, n, DLB_ESHAPE, "starts, ends, axes and steps lengths differ");
    int64_t begin[MAXL], step[MAXL];
    bool seen[MAXL] = {false};
    dlb_shape out = *x;
    for (int d = 0; d < x->rank; d++) begin[d] = 0, step[d] = 1;
    for (int i = 0; i < ns; i++) {
        int a = dlb__axis(pa ? axes[i] : i, x->rank);
        if (a < 0 || seen[a]) return dlb__fail(c, n, DLB_ESHAPE, "invalid or repeated axis");
        seen[a] = true;
        int64_t dim = x->dims[a], s = pst ? steps[i] : 1, b = starts[i], e = ends[i];
        if (s == 0) return dlb__fail(c, n, DLB_ESHAPE, "step 0 on axis %d", a);
        if (b < 0) b = b < -dim ? -1 : b + dim; /* -1 marks "before the start" */
        if (e < 0) e = e < -dim ? -1 : e + dim;
        int64_t len;
        if (s > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            len = e > b ? (e - b - 1) / s + 1 : 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            /* [0, dim - 1] is empty when dim is 0: the clamps above cannot express that */
            len = dim > 0 && b > e ? (b - e - 1) / (s == INT64_MIN ? INT64_MAX : -s) + 1 : 0;
        }
        begin[a] = b;
        step[a] = s;
        out.dims[a] = len;
    }
    if ((st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    if (!v) return DLB_OK;
    int64_t cnt = dlb_shape_numel(&out), instride[MAXL], sz = 1;
    /* An empty value may have a huge dim next to its 0 (nothing is read then, and the product
     * of the dims would overflow); otherwise the product is its element count. */
    for (int d = x->rank - 1; d >= 0 && v->value.n > 0; d--) instride[d] = sz, sz *= x->dims[d];
    dlb_tensor *o = dlb__const_out(c, n, 0, cnt, &st);
    for (int64_t e = 0; o && e < cnt; e++) {
        int64_t rem = e, at = 0;
        for (int d = out.rank - 1; d >= 0; d--) {
            at += (begin[d] + (rem % out.dims[d]) * step[d]) * instride[d];
            rem /= out.dims[d];
        }
        dlb__put_elem(o, e, v, at);
    }
    return st;
}

dlb_status dlb__infer_split(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int axis = dlb__axis(dlb_node_attr_int(n, "axis", 0), x->rank);
    if (axis < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis out of range for rank %d", x->rank);
    int64_t sizes[64], dim = x->dims[axis];
    int cnt;
    bool present;
    /* Opset 13+: input 'split'; before: attribute 'split'. */
    dlb_status st = dlb__ints_arg(c, n, 1, "split", sizes, 64, &cnt, &present);
    if (st != DLB_OK) return st;
    int nout = n->n_out;
    if (present && cnt > 0) {
        if (cnt != nout)
            return dlb__fail(c, n, DLB_ESHAPE, "split has %d sizes for %d outputs", cnt, nout);
        int64_t sum = 0;
        for (int i = 0; i < cnt; i++)
            if (sizes[i] < 0 || !dlb__add_ok(sum, sizes[i], &sum))
                return dlb__fail(c, n, DLB_ESHAPE, "invalid split size");
        if (sum != dim)
            return dlb__fail(c, n, DLB_ESHAPE, "split sizes sum to %lld, dimension is %lld",
                             (long long)sum, (long long)dim);
    } else {
        int64_t parts = dlb_node_attr_int(n, "num_outputs", nout);
        if (parts < 1 || parts != nout || nout > 64)
            return dlb__fail(c, n, DLB_ESHAPE, "num_outputs %lld with %d outputs", (long long)parts,
                             nout);
        int64_t chunk = dim / parts + (dim % parts != 0); /* opset 18: last chunk smaller */
        for (int i = 0; i < nout; i++) {
            int64_t left = dim - chunk * i;
            sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
        }
    }
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    int64_t outer, inner, off = 0;
    if (!dlb__prod(x->dims, 0, axis, &outer) || !dlb__prod(x->dims, axis + 1, x->rank, &inner))
        return dlb__fail(c, n, DLB_EOVERFLOW, "element count overflows int64");
    for (int i = 0; i < nout; i++) {
        dlb_shape out = *x;
        out.dims[axis] = sizes[i];
        if ((st = dlb__set_out(c, n, i, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
        dlb_tensor *o = v ? dlb__const_out(c, n, i, dlb_shape_numel(&out), &st) : NULL;
        if (st != DLB_OK) return st;
        int64_t e = 0;
        for (int64_t a = 0; o && a < outer; a++)
            for (int64_t j = 0; j < sizes[i] * inner; j++)
                dlb__put_elem(o, e++, v, (a * dim + off) * inner + j);
        off += sizes[i];
    }
    return DLB_OK;
}

dlb_status dlb__infer_pad(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int64_t pads[2 * MAXL], axes[MAXL];
    int cnt, na;
    bool present, pa;
    /* Opset 11+: input 'pads' (and opset 18 'axes'); before: attribute 'pads'/'paddings'. */
    dlb_status st = dlb__ints_arg(c, n, 1, "pads", pads, 2 * MAXL, &cnt, &present);
    if (st == DLB_OK && !present)
        st = dlb__ints_arg(c, n, -1, "paddings", pads, 2 * MAXL, &cnt, &present);
    if (st == DLB_OK) st = dlb__ints_arg(c, n, 3, NULL, axes, MAXL, &na, &pa);
    if (st != DLB_OK) return st;
    if (!present) return dlb__fail(c, n, DLB_ESHAPE, "Pad without pads");
    if (!pa) {
        na = x->rank;
        for (int d = 0; d < na; d++) axes[d] = d;
    }
    if (cnt != 2 * na)
        return dlb__fail(c, n, DLB_ESHAPE, "pads has %d values for %d axes", cnt, na);
    dlb_shape out = *x;
    for (int i = 0; i < na; i++) {
        int a = dlb__axis(axes[i], x->rank);
        if (a < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis out of range");
        int64_t d;
        if (!dlb__add_ok(x->dims[a], pads[i], &d) || !dlb__add_ok(d, pads[i + na], &d))
            return dlb__fail(c, n, DLB_EOVERFLOW, "padded dimension overflows int64");
        if (d < 0)
            return dlb__fail(c, n, DLB_ESHAPE, "padded dimension %lld is negative", (long long)d);
        out.dims[a] = d;
    }
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

/* out = floor(in * scale) per axis (scales must cover every axis). */
static dlb_status apply_scales(dlb_infer_ctx *c, dlb_node *n, const dlb_shape *x,
                               const dlb_tensor *sc, dlb_shape *out) {
    if (sc->value.n != x->rank)
        return dlb__fail(c, n, DLB_ESHAPE, "%lld scales for rank %d", (long long)sc->value.n,
                         x->rank);
    for (int d = 0; d < x->rank; d++) {
        double s = dlb__vf(sc, d), o = floor((double)x->dims[d] * s);
        if (!(s > 0) || !(o < 9.2e18))
            return dlb__fail(c, n, DLB_ESHAPE, "invalid scale %g on axis %d", s, d);
        out->dims[d] = (int64_t)o;
    }
    return DLB_OK;
}

/* Resize: opset 10 (X, scales); 11+ (X, roi, scales, sizes), scales or sizes may be empty. */
dlb_status dlb__infer_resize(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int si = c->opset < 11 ? 1 : 2, zi = c->opset < 11 ? -1 : 3;
    const dlb_tensor *scales = dlb__in(c, n, si), *sizes = dlb__in(c, n, zi);
    /* An empty tensor (shape [0]) stands for an omitted input. */
    if (sizes && dlb_shape_known(&sizes->shape) && dlb_shape_numel(&sizes->shape) == 0)
        sizes = NULL;
    if (scales && dlb_shape_known(&scales->shape) && dlb_shape_numel(&scales->shape) == 0)
        scales = NULL;
    dlb_shape out = *x;
    int64_t v[MAXL], axes[MAXL];
    int cnt, na;
    bool present, pa;
    dlb_status st = dlb__ints_arg(c, n, -1, "axes", axes, MAXL, &na, &pa);
    if (st != DLB_OK) return st;
    if (!pa) {
        na = x->rank;
        for (int d = 0; d < na; d++) axes[d] = d;
    }
    if (sizes) {
        if ((st = dlb__ints_arg(c, n, zi, NULL, v, MAXL, &cnt, &present)) != DLB_OK) return st;
        if (cnt != na) return dlb__fail(c, n, DLB_ESHAPE, "%d sizes for %d axes", cnt, na);
        for (int i = 0; i < na; i++) {
            int a = dlb__axis(axes[i], x->rank);
            if (a < 0 || v[i] < 0) return dlb__fail(c, n, DLB_ESHAPE, "invalid sizes or axes");
            out.dims[a] = v[i];
        }
    } else if (scales) {
        const dlb_tensor *sc = dlb__in_const(c, n, si);
        if (!sc) return dlb__unknown(c, "scales '%s' is not a known constant", scales->name);
        if (pa) {
            if (sc->value.n != na) return dlb__fail(c, n, DLB_ESHAPE, "scales/axes mismatch");
            for (int i = 0; i < na; i++) {
                int a = dlb__axis(axes[i], x->rank);
                double o = a < 0 ? -1 : floor((double)x->dims[a] * dlb__vf(sc, i));
                if (!(o >= 0 && o < 9.2e18)) /* also an axis out of range (a < 0) */
                    return dlb__fail(c, n, DLB_ESHAPE, "invalid scale or axis");
                out.dims[a] = (int64_t)o;
            }
        } else if ((st = apply_scales(c, n, x, sc, &out)) != DLB_OK) {
            return st;
        }
    } else {
        return dlb__fail(c, n, DLB_ESHAPE, "Resize needs scales or sizes");
    }
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

/* Upsample (opset 7: scales attribute; 9: scales input). */
dlb_status dlb__infer_upsample(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    dlb_shape out = *x;
    dlb_status st;
    if (dlb__in(c, n, 1)) {
        const dlb_tensor *sc = dlb__in_const(c, n, 1);
        if (!sc) return dlb__unknown(c, "scales is not a known constant");
        if ((st = apply_scales(c, n, x, sc, &out)) != DLB_OK) return st;
    } else {
        const dlb_attr *a = dlb_node_attr(n, "scales");
        if (!a || a->type != DLB_ATTR_FLOATS || a->n != x->rank)
            return dlb__fail(c, n, DLB_ESHAPE, "Upsample without valid scales");
        for (int d = 0; d < x->rank; d++) {
            double o = floor((double)x->dims[d] * a->floats[d]);
            if (!(o >= 0 && o < 9.2e18)) return dlb__fail(c, n, DLB_ESHAPE, "invalid scale");
            out.dims[d] = (int64_t)o;
        }
    }
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}
