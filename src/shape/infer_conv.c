/* infer_conv.c — shape inference of Conv, ConvTranspose, pooling, Gemm, MatMul, norms, Einsum. */
#include <string.h>

#include "infer_internal.h"

enum { MAX_SP = DLB_MAX_RANK - 2 };

typedef enum pad_mode { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } pad_mode;

/* Spatial attributes shared by Conv, ConvTranspose and the pools. */
typedef struct spatial {
    int nsp;
    pad_mode mode;
    int64_t kernel[MAX_SP], strides[MAX_SP], dil[MAX_SP], pads[2 * MAX_SP];
} spatial;

/* Attribute list of exactly `want` values into v (room for want), or dflt everywhere. */
static dlb_status read_list(dlb_infer_ctx *c, dlb_node *n, const char *attr, int64_t *v, int want,
                            int64_t dflt) {
    int cnt;
    bool present;
    int64_t buf[2 * MAX_SP]; /* v may be shorter than the longest list accepted here */
    dlb_status st = dlb__ints_arg(c, n, -1, attr, buf, 2 * MAX_SP, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present) {
        for (int i = 0; i < want; i++) v[i] = dflt;
        return DLB_OK;
    }
    if (cnt != want)
        return dlb__fail(c, n, DLB_ESHAPE, "attribute '%s' has %d values, expected %d", attr, cnt,
                         want);
    memcpy(v, buf, sizeof *v * (size_t)want);
    return DLB_OK;
}

/* Read auto_pad, strides, dilations and pads; the kernel must be filled by the caller. */
static dlb_status read_spatial(dlb_infer_ctx *c, dlb_node *n, spatial *sp) {
    const char *ap = dlb_node_attr_string(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER"))
        sp->mode = PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER"))
        sp->mode = PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID"))
        sp->mode = PAD_VALID;
    else if (!strcmp(ap, "NOTSET") || !ap[0])
        sp->mode = PAD_NOTSET;
    else
        return dlb__fail(c, n, DLB_ESHAPE, "unknown auto_pad '%s'", ap);
    dlb_status st;
    if ((st = read_list(c, n, "strides", sp->strides, sp->nsp, 1)) != DLB_OK) return st;
    if ((st = read_list(c, n, "dilations", sp->dil, sp->nsp, 1)) != DLB_OK) return st;
    if ((st = read_list(c, n, "pads", sp->pads, 2 * sp->nsp, 0)) != DLB_OK) return st;
    for (int i = 0; i < sp->nsp; i++) {
        if (sp->strides[i] < 1 || sp->dil[i] < 1 || sp->kernel[i] < 1)
            return dlb__fail(c, n, DLB_ESHAPE, "non-positive kernel, stride or dilation");
        if (sp->pads[i] < 0 || sp->pads[i + sp->nsp] < 0)
            return dlb__fail(c, n, DLB_ESHAPE, "negative pads");
        if (sp->mode != PAD_NOTSET) sp->pads[i] = sp->pads[i + sp->nsp] = 0;
    }
    return DLB_OK;
}

/* Output spatial dims of a convolution or pooling window. */
static dlb_status window_out(dlb_infer_ctx *c, dlb_node *n, const spatial *sp, const dlb_shape *x,
                             bool ceil_mode, dlb_shape *out) {
    for (int i = 0; i < sp->nsp; i++) {
        int64_t in = x->dims[2 + i], s = sp->strides[i], ek, o, len;
        if (!dlb__mul_ok(sp->kernel[i] - 1, sp->dil[i], &ek) || !dlb__add_ok(ek, 1, &ek))
            return dlb__fail(c, n, DLB_EOVERFLOW, "kernel extent overflows int64");
        if (sp->mode == PAD_SAME_UPPER || sp->mode == PAD_SAME_LOWER) {
            o = in / s + (in % s != 0);
        } else {
            if (!dlb__add_ok(in, sp->pads[i], &len) ||
                !dlb__add_ok(len, sp->pads[i + sp->nsp], &len))
                return dlb__fail(c, n, DLB_EOVERFLOW, "padded extent overflows int64");
            len -= ek;
            if (len < 0) {
                o = 0;
            } else {
                o = len / s + 1;
                if (ceil_mode && len % s) {
                    o++;
                    /* The last window must start inside the input or its left padding. */
                    if ((o - 1) * s >= in + sp->pads[i]) o--;
                }
            }
        }
        if (o < 1)
            return dlb__fail(c, n, DLB_ESHAPE,
                             "output dimension %lld of spatial axis %d is not positive "
                             "(input %lld, kernel extent %lld)",
                             (long long)o, i, (long long)in, (long long)ek);
        out->dims[2 + i] = o;
    }
    return DLB_OK;
}

/* Conv and ConvTranspose take floating-point tensors only (ConvInteger is another op). */
static dlb_status float_input(dlb_infer_ctx *c, dlb_node *n) {
    dlb_dtype dt = dlb__in_dtype(c, n, 0);
    if (dt == DLB_DT_UNDEFINED || dlb_dtype_is_float(dt)) return DLB_OK;
    return dlb__fail(c, n, DLB_ESHAPE, "input '%s' has dtype %s; %s takes floating point",
                     dlb__in(c, n, 0)->name, dlb_dtype_name(dt), n->op_type);
}

dlb_status dlb__infer_conv(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0), *w = dlb__in_shape(c, n, 1);
    if (!x || !w) return dlb__unknown(c, "input or weight shape unknown");
    if (x->rank < 3 || w->rank != x->rank)
        return dlb__fail(c, n, DLB_ESHAPE, "input rank %d and weight rank %d do not match", x->rank,
                         w->rank);
    int64_t group = dlb_node_attr_int(n, "group", 1), cin;
    if (group < 1) return dlb__fail(c, n, DLB_ESHAPE, "group %lld", (long long)group);
    if (!dlb__mul_ok(w->dims[1], group, &cin) || cin != x->dims[1])
        return dlb__fail(c, n, DLB_ESHAPE,
                         "input channels %lld do not match weight channels %lld x group %lld",
                         (long long)x->dims[1], (long long)w->dims[1], (long long)group);
    if (w->dims[0] % group)
        return dlb__fail(c, n, DLB_ESHAPE, "output channels %lld not divisible by group %lld",
                         (long long)w->dims[0], (long long)group);
    dlb_status st = float_input(c, n);
    if (st != DLB_OK) return st;
    spatial sp = {.nsp = x->rank - 2};
    st = read_list(c, n, "kernel_shape", sp.kernel, sp.nsp, 0);
    if (st != DLB_OK) return st;
    for (int i = 0; i < sp.nsp; i++) {
        if (!sp.kernel[i]) sp.kernel[i] = w->dims[2 + i];
        if (sp.kernel[i] != w->dims[2 + i])
            return dlb__fail(c, n, DLB_ESHAPE, "kernel_shape does not match the weight");
    }
    if ((st = read_spatial(c, n, &sp)) != DLB_OK) return st;
    dlb_shape out = {.rank = x->rank, .dims = {x->dims[0], w->dims[0]}};
    if ((st = window_out(c, n, &sp, x, false, &out)) != DLB_OK) return st;
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

dlb_status dlb__infer_conv_transpose(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0), *w = dlb__in_shape(c, n, 1);
    if (!x || !w) return dlb__unknown(c, "input or weight shape unknown");
    if (x->rank < 3 || w->rank != x->rank)
        return dlb__fail(c, n, DLB_ESHAPE, "input rank %d and weight rank %d do not match", x->rank,
                         w->rank);
    int64_t group = dlb_node_attr_int(n, "group", 1), cout;
    if (group < 1 || w->dims[0] != x->dims[1])
        return dlb__fail(c, n, DLB_ESHAPE, "input channels %lld do not match weight dim %lld",
                         (long long)x->dims[1], (long long)w->dims[0]);
    if (!dlb__mul_ok(w->dims[1], group, &cout))
        return dlb__fail(c, n, DLB_EOVERFLOW, "output channels overflow int64");
    dlb_status st = float_input(c, n);
    if (st != DLB_OK) return st;
    spatial sp = {.nsp = x->rank - 2};
    st = read_list(c, n, "kernel_shape", sp.kernel, sp.nsp, 0);
    if (st != DLB_OK) return st;
    for (int i = 0; i < sp.nsp; i++)
        if (!sp.kernel[i]) sp.kernel[i] = w->dims[2 + i];
    if ((st = read_spatial(c, n, &sp)) != DLB_OK) return st;
    int64_t opad[MAX_SP], oshape[2 + MAX_SP];
    int cnt;
    bool has_os;
    if ((st = read_list(c, n, "output_padding", opad, sp.nsp, 0)) != DLB_OK) return st;
    if ((st = dlb__ints_arg(c, n, -1, "output_shape", oshape, 2 + MAX_SP, &cnt, &has_os)))
        return st;
    dlb_shape out = {.rank = x->rank, .dims = {x->dims[0], cout}};
    for (int i = 0; i < sp.nsp; i++) {
        int64_t in = x->dims[2 + i], s = sp.strides[i], o, ek;
        if (has_os) {
            if (cnt < sp.nsp) return dlb__fail(c, n, DLB_ESHAPE, "output_shape too short");
            o = oshape[cnt - sp.nsp + i];
        } else if (sp.mode == PAD_SAME_UPPER || sp.mode == PAD_SAME_LOWER) {
            if (!dlb__mul_ok(in, s, &o)) return dlb__fail(c, n, DLB_EOVERFLOW, "overflow");
        } else {
            int64_t pads; /* every step checked: output_padding and pads come from the file */
            if (!dlb__mul_ok(sp.kernel[i] - 1, sp.dil[i], &ek) || !dlb__mul_ok(in - 1, s, &o) ||
                !dlb__add_ok(o, ek, &o) || !dlb__add_ok(o, 1, &o) || !dlb__add_ok(o, opad[i], &o) ||
                !dlb__add_ok(sp.pads[i], sp.pads[i + sp.nsp], &pads) ||
                __builtin_sub_overflow(o, pads, &o))
                return dlb__fail(c, n, DLB_EOVERFLOW, "output extent overflows int64");
        }
        if (o < 1)
            return dlb__fail(c, n, DLB_ESHAPE, "output dimension %lld is not positive",
                             (long long)o);
        out.dims[2 + i] = o;
    }
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

/* MaxPool, AveragePool, LpPool (kernel_shape attribute; ceil_mode; Indices output). */
dlb_status dlb__infer_pool(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    if (x->rank < 3) return dlb__fail(c, n, DLB_ESHAPE, "input rank %d < 3", x->rank);
    spatial sp = {.nsp = x->rank - 2};
    int cnt;
    bool present;
    dlb_status st = dlb__ints_arg(c, n, -1, "kernel_shape", sp.kernel, MAX_SP, &cnt, &present);
    if (st != DLB_OK) return st;
    if (!present || cnt != sp.nsp)
        return dlb__fail(c, n, DLB_ESHAPE, "kernel_shape missing or of wrong length");
    if ((st = read_spatial(c, n, &sp)) != DLB_OK) return st;
    dlb_shape out = {.rank = x->rank, .dims = {x->dims[0], x->dims[1]}};
    bool ceil_mode = dlb_node_attr_int(n, "ceil_mode", 0) != 0;
    if ((st = window_out(c, n, &sp, x, ceil_mode, &out)) != DLB_OK) return st;
    if ((st = dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0))) != DLB_OK) return st;
    return dlb__set_out(c, n, 1, &out, DLB_DT_S64);
}

dlb_status dlb__infer_global_pool(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    if (x->rank < 2) return dlb__fail(c, n, DLB_ESHAPE, "input rank %d < 2", x->rank);
    dlb_shape out = *x;
    for (int d = 2; d < out.rank; d++) out.dims[d] = 1;
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

dlb_status dlb__infer_gemm(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *a = dlb__in_shape(c, n, 0), *b = dlb__in_shape(c, n, 1);
    if (!a || !b) return dlb__unknown(c, "operand shape unknown");
    if (a->rank != 2 || b->rank != 2)
        return dlb__fail(c, n, DLB_ESHAPE, "operands must be matrices (ranks %d, %d)", a->rank,
                         b->rank);
    bool ta = dlb_node_attr_int(n, "transA", 0), tb = dlb_node_attr_int(n, "transB", 0);
    int64_t m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1];
    int64_t kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
    if (ka != kb)
        return dlb__fail(c, n, DLB_ESHAPE, "inner dimensions %lld and %lld differ", (long long)ka,
                         (long long)kb);
    dlb_shape out = {.rank = 2, .dims = {m, nn}};
    const dlb_shape *bias = dlb__in_shape(c, n, 2);
    dlb_shape tmp;
    if (bias &&
        (bias->rank > 2 || !dlb__broadcast(&out, bias, &tmp) || !dlb_shape_equal(&tmp, &out)))
        return dlb__fail(c, n, DLB_ESHAPE, "bias does not broadcast to %lldx%lld", (long long)m,
                         (long long)nn);
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

dlb_status dlb__infer_matmul(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *pa = dlb__in_shape(c, n, 0), *pb = dlb__in_shape(c, n, 1);
    if (!pa || !pb) return dlb__unknown(c, "operand shape unknown");
    if (pa->rank < 1 || pb->rank < 1)
        return dlb__fail(c, n, DLB_ESHAPE, "MatMul operands must have rank >= 1");
    dlb_shape a = *pa, b = *pb;
    bool va = a.rank == 1, vb = b.rank == 1;
    if (va) a = (dlb_shape){.rank = 2, .dims = {1, pa->dims[0]}};
    if (vb) b = (dlb_shape){.rank = 2, .dims = {pb->dims[0], 1}};
    int64_t m = a.dims[a.rank - 2], k1 = a.dims[a.rank - 1];
    int64_t k2 = b.dims[b.rank - 2], nn = b.dims[b.rank - 1];
    if (k1 != k2)
        return dlb__fail(c, n, DLB_ESHAPE, "inner dimensions %lld and %lld differ", (long long)k1,
                         (long long)k2);
    dlb_shape ba = {.rank = a.rank - 2}, bb = {.rank = b.rank - 2}, out;
    memcpy(ba.dims, a.dims, sizeof(int64_t) * (size_t)ba.rank);
    memcpy(bb.dims, b.dims, sizeof(int64_t) * (size_t)bb.rank);
    if (!dlb__broadcast(&ba, &bb, &out) || out.rank + 2 > DLB_MAX_RANK)
        return dlb__fail(c, n, DLB_ESHAPE, "batch dimensions do not broadcast");
    if (!va) out.dims[out.rank++] = m;
    if (!vb) out.dims[out.rank++] = nn;
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}

/* BatchNormalization: Y like X; training outputs (mean, var, saved stats) are [C]. */
dlb_status dlb__infer_batchnorm(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    if (x->rank < 2) return dlb__fail(c, n, DLB_ESHAPE, "input rank %d < 2", x->rank);
    dlb_status st = dlb__set_out(c, n, 0, x, dlb__in_dtype(c, n, 0));
    dlb_shape ch = {.rank = 1, .dims = {x->dims[1]}};
    for (int i = 1; st == DLB_OK && i < n->n_out; i++)
        st = dlb__set_out(c, n, i, &ch, dlb__in_dtype(c, n, 0));
    return st;
}

/* Ops whose (only) output has the shape and dtype of input 0 (normalizations, Softmax, ...). */
dlb_status dlb__infer_same_as_input(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    return dlb__set_out(c, n, 0, x, dlb__in_dtype(c, n, 0));
}

/* LayerNormalization: Y like X; Mean and InvStdDev keep dims before axis, 1 after. */
dlb_status dlb__infer_layernorm(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    int axis = dlb__axis(dlb_node_attr_int(n, "axis", -1), x->rank);
    if (axis < 0) return dlb__fail(c, n, DLB_ESHAPE, "axis out of range");
    dlb_status st = dlb__set_out(c, n, 0, x, dlb__in_dtype(c, n, 0));
    dlb_shape stat = *x;
    for (int d = axis; d < stat.rank; d++) stat.dims[d] = 1;
    for (int i = 1; st == DLB_OK && i < 3; i++) st = dlb__set_out(c, n, i, &stat, DLB_DT_F32);
    return st;
}

/* Einsum with explicit letters (no ellipsis): output dims from the letters' sizes. */
dlb_status dlb__infer_einsum(dlb_infer_ctx *c, dlb_node *n) {
    const char *eq = dlb_node_attr_string(n, "equation", NULL);
    if (!eq) return dlb__fail(c, n, DLB_ESHAPE, "Einsum without equation");
    if (strstr(eq, "...")) return dlb__unknown(c, "Einsum with ellipsis is not supported");
    int64_t size[128];
    int count[128] = {0};
    for (int i = 0; i < 128; i++) size[i] = -1;
    const char *p = eq;
    int in = 0;
    for (;; in++) {
        const dlb_shape *s = dlb__in_shape(c, n, in);
        if (!s) return dlb__unknown(c, "operand shape unknown");
        int d = 0;
        for (; *p && *p != ',' && *p != '-'; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch == ' ') continue;
            if (ch >= 128 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) ||
                d >= s->rank)
                return dlb__fail(c, n, DLB_ESHAPE, "bad Einsum equation '%s'", eq);
            int64_t dim = s->dims[d++];
            if (size[ch] < 0 || size[ch] == 1)
                size[ch] = dim;
            else if (dim != 1 && dim != size[ch])
                return dlb__fail(c, n, DLB_ESHAPE, "Einsum label '%c' has sizes %lld and %lld", ch,
                                 (long long)size[ch], (long long)dim);
            count[ch]++;
        }
        if (d != s->rank) return dlb__fail(c, n, DLB_ESHAPE, "bad Einsum equation '%s'", eq);
        if (*p != ',') break;
        p++;
    }
    if (in + 1 != n->n_in) return dlb__fail(c, n, DLB_ESHAPE, "Einsum operand count mismatch");
    dlb_shape out = {.rank = 0};
    if (*p == '-') {
        if (p[1] != '>') return dlb__fail(c, n, DLB_ESHAPE, "bad Einsum equation '%s'", eq);
        for (p += 2; *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch == ' ') continue;
            if (ch >= 128 || size[ch] < 0 || out.rank >= DLB_MAX_RANK)
                return dlb__fail(c, n, DLB_ESHAPE, "bad Einsum output in '%s'", eq);
            out.dims[out.rank++] = size[ch];
        }
    } else {
        for (int ch = 0; ch < 128; ch++)
            if (count[ch] == 1) {
                if (out.rank >= DLB_MAX_RANK) return dlb__unknown(c, "Einsum rank too large");
                out.dims[out.rank++] = size[ch];
            }
    }
    return dlb__set_out(c, n, 0, &out, dlb__in_dtype(c, n, 0));
}
