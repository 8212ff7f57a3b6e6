/* op_build.c — map one ONNX node to a lowered op spec with normalised attributes. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "arena.h"
#include "lower_internal.h"
#include "shape/ops.h"

/* ---- small helpers ------------------------------------------------------------------------ */

const dlb_tensor *dlb__tensor(const dlb_graph *g, int t) {
    return t >= 0 && t < g->n_tensors ? &g->tensors[t] : NULL;
}

bool dlb__is_weight(const dlb_graph *g, int t) {
    /* An initializer or a Constant, possibly seen through views (exporters alias tied or
     * bit-identical parameters with Identity nodes). */
    for (int guard = 0; guard < g->n_nodes; guard++) {
        const dlb_tensor *x = dlb__tensor(g, t);
        if (!x) return false;
        if (x->is_initializer) return true;
        if (x->producer < 0) return false;
        const dlb_node *n = &g->nodes[x->producer];
        if (dlb__op_is(n, "Constant")) return true;
        if (!dlb__node_is_view(g, n)) return false;
        t = n->in[0];
    }
    return false;
}

bool dlb__const_scalar(const dlb_graph *g, int t, double *v) {
    const dlb_tensor *x = dlb__tensor(g, t);
    if (!x || !x->is_const || x->value.n != 1) return false;
    *v = x->value.f ? x->value.f[0] : (double)x->value.i[0];
    return true;
}

int dlb__sole_consumer(const dlb_graph *g, int t) {
    const dlb_tensor *x = dlb__tensor(g, t);
    if (!x || x->is_output || x->n_consumers != 1) return -1;
    return x->consumers[0];
}

bool dlb__op_is(const dlb_node *n, const char *op_type) {
    return dlb__is_onnx_domain(n->domain) && !strcmp(n->op_type, op_type);
}

bool dlb__spec_alloc(dlb_arena *a, dlb_op_spec *s, int n_src, int n_wei, int n_dst) {
    s->n_src = n_src;
    s->n_wei = n_wei;
    s->n_dst = n_dst;
    s->src = dlb__arena_calloc(a, (size_t)n_src + 1, sizeof(dlb_operand));
    s->wei = dlb__arena_calloc(a, (size_t)n_wei + 1, sizeof(dlb_operand));
    s->dst = dlb__arena_calloc(a, (size_t)n_dst + 1, sizeof(dlb_operand));
    return s->src && s->wei && s->dst;
}

static dlb_operand operand_of(const dlb_graph *g, int t) {
    const dlb_tensor *x = &g->tensors[t];
    return (dlb_operand){.dtype = x->dtype, .shape = x->shape};
}

static int norm_axis(int64_t axis, int rank) {
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < (rank > 0 ? rank : 1) ? (int)axis : -1;
}

/* Integer list from an attribute, or (opset >= the switch) from a constant input. */
static int ints_of(const dlb_graph *g, const dlb_node *n, const char *attr, int input, int64_t *out,
                   int max) {
    const dlb_attr *a = dlb_node_attr(n, attr);
    if (a && a->type == DLB_ATTR_INTS) {
        int k = a->n < max ? a->n : max;
        if (k > 0) memcpy(out, a->ints, (size_t)k * sizeof *out); /* ints is NULL when empty */
        return k;
    }
    if (input >= 0 && input < n->n_in && n->in[input] >= 0) {
        const dlb_tensor *x = &g->tensors[n->in[input]];
        if (!x->is_const || !x->value.i || x->value.n > max) return -1;
        memcpy(out, x->value.i, (size_t)x->value.n * sizeof *out);
        return (int)x->value.n;
    }
    return 0;
}

/* ---- conv / pool geometry ----------------------------------------------------------------- */

/* Attribute `name` when it is a list of ints; NULL when absent or of another type. */
static const dlb_attr *ints_attr(const dlb_node *n, const char *name) {
    const dlb_attr *a = dlb_node_attr(n, name);
    return a && a->type == DLB_ATTR_INTS ? a : NULL;
}

/* Conv and pooling geometry attributes that are present must be lists of ints.  Shape inference
 * says so too, but falls back to value_info shapes, and then the node comes here anyway. */
static bool geometry_attrs_ok(const dlb_node *n, const char **why) {
    static const char *const names[] = {"kernel_shape", "strides", "dilations", "pads"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const dlb_attr *a = dlb_node_attr(n, names[i]);
        if (a && a->type != DLB_ATTR_INTS) {
            *why = "kernel_shape, strides, dilations or pads is not a list of ints";
            return false;
        }
    }
    return true;
}

/* a * b + c - d; false on int64 overflow. */
static bool mul_add_sub(int64_t a, int64_t b, int64_t c, int64_t d, int64_t *r) {
    return !__builtin_mul_overflow(a, b, r) && !__builtin_add_overflow(*r, c, r) &&
           !__builtin_sub_overflow(*r, d, r);
}

/* Normalise pads: explicit, or derived from auto_pad and the inferred output size.  false when
 * the geometry overflows int64 (value_info shapes: the attributes were never checked). */
static bool spatial_params(const dlb_node *n, const dlb_shape *in, const dlb_shape *out,
                           const int64_t *kernel, bool transposed, dlb_params *p,
                           const char **why) {
    int nsp = p->nsp;
    const dlb_attr *st = ints_attr(n, "strides"), *di = ints_attr(n, "dilations");
    const dlb_attr *pa = ints_attr(n, "pads");
    const char *auto_pad = dlb_node_attr_string(n, "auto_pad", "NOTSET");
    for (int i = 0; i < nsp; i++) {
        p->kernel[i] = kernel[i];
        p->stride[i] = st && st->n > i ? st->ints[i] : 1;
        p->dilation[i] = di && di->n > i ? di->ints[i] : 1;
        p->pad_begin[i] = pa && pa->n == 2 * nsp ? pa->ints[i] : 0;
        p->pad_end[i] = pa && pa->n == 2 * nsp ? pa->ints[nsp + i] : 0;
    }
    bool upper = !strcmp(auto_pad, "SAME_UPPER"), lower = !strcmp(auto_pad, "SAME_LOWER");
    if (!upper && !lower) return true;
    for (int i = 0; i < nsp; i++) {
        int64_t ext, total, km1;
        bool ok = !__builtin_sub_overflow(kernel[i], 1, &km1) &&
                  mul_add_sub(km1, p->dilation[i], 1, 0, &ext);
        if (ok && transposed) /* out = (in-1)*s + ext - pads */
            ok = mul_add_sub(in->dims[2 + i] - 1, p->stride[i], ext, out->dims[2 + i], &total);
        else if (ok)
            ok = mul_add_sub(out->dims[2 + i] - 1, p->stride[i], ext, in->dims[2 + i], &total);
        if (!ok) {
            *why = "kernel, stride or dilation overflows int64";
            return false;
        }
        if (total < 0) total = 0;
        p->pad_begin[i] = upper ? total / 2 : total - total / 2;
        p->pad_end[i] = total - p->pad_begin[i];
    }
    return true;
}

static bool build_conv(const dlb_graph *g, const dlb_node *n, dlb_op_spec *s, const char **why) {
    const dlb_tensor *x = &g->tensors[n->in[0]], *w = dlb__tensor(g, n->n_in > 1 ? n->in[1] : -1);
    const dlb_tensor *y = &g->tensors[n->out[0]];
    if (!w || w->shape.rank != x->shape.rank || x->shape.rank < 3 || x->shape.rank > 5) {
        *why = "Conv needs a weight of the input's rank (1D to 3D convolution)";
        return false;
    }
    if (!geometry_attrs_ok(n, why)) return false;
    s->p.nsp = x->shape.rank - 2;
    s->p.group = dlb_node_attr_int(n, "group", 1);
    s->p.has_bias = n->n_in > 2 && n->in[2] >= 0;
    return spatial_params(n, &x->shape, &y->shape, &w->shape.dims[2],
                          dlb__op_is(n, "ConvTranspose"), &s->p, why);
}

static bool build_pool(const dlb_graph *g, const dlb_node *n, dlb_op_spec *s, const char **why) {
    const dlb_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    if (x->shape.rank < 3 || x->shape.rank > 5) {
        *why = "pooling needs a 1D to 3D spatial input";
        return false;
    }
    if (!geometry_attrs_ok(n, why)) return false;
    s->p.nsp = x->shape.rank - 2;
    int64_t kernel[3] = {1, 1, 1};
    bool global = !strncmp(n->op_type, "Global", 6);
    const dlb_attr *ks = dlb_node_attr(n, "kernel_shape");
    for (int i = 0; i < s->p.nsp; i++)
        kernel[i] = global ? x->shape.dims[2 + i] : (ks && ks->n > i ? ks->ints[i] : 1);
    if (global) {
        for (int i = 0; i < s->p.nsp; i++) {
            s->p.kernel[i] = kernel[i];
            s->p.stride[i] = kernel[i];
            s->p.dilation[i] = 1;
        }
    } else if (!spatial_params(n, &x->shape, &y->shape, kernel, false, &s->p, why)) {
        return false;
    }
    s->p.ceil_mode = dlb_node_attr_int(n, "ceil_mode", 0) != 0;
    if (strstr(n->op_type, "MaxPool"))
        s->alg = DLB_ALG_POOL_MAX;
    else if (global || dlb_node_attr_int(n, "count_include_pad", 0) == 0)
        s->alg = DLB_ALG_POOL_AVG_EXCLUDE;
    else
        s->alg = DLB_ALG_POOL_AVG_INCLUDE;
    return true;
}

/* ---- eltwise ------------------------------------------------------------------------------- */

bool dlb__unary_eltwise(const dlb_graph *g, const dlb_node *n, dlb_alg *alg, double *alpha,
                        double *beta) {
    if (!dlb__is_onnx_domain(n->domain)) return false;
    const char *op = n->op_type;
    *alpha = 0;
    *beta = 0;
    if (!strcmp(op, "Relu"))
        *alg = DLB_ALG_RELU;
    else if (!strcmp(op, "LeakyRelu")) {
        *alg = DLB_ALG_LEAKY_RELU; /* oneDNN relu with negative slope alpha */
        *alpha = dlb_node_attr_float(n, "alpha", 0.01);
    } else if (!strcmp(op, "Clip")) {
        *alg = DLB_ALG_CLIP;
        *alpha = dlb_node_attr_float(n, "min", -FLT_MAX);
        *beta = dlb_node_attr_float(n, "max", FLT_MAX);
        if (n->n_in > 1 && n->in[1] >= 0 && !dlb__const_scalar(g, n->in[1], alpha)) return false;
        if (n->n_in > 2 && n->in[2] >= 0 && !dlb__const_scalar(g, n->in[2], beta)) return false;
    } else if (!strcmp(op, "Sigmoid"))
        *alg = DLB_ALG_LOGISTIC;
    else if (!strcmp(op, "Tanh"))
        *alg = DLB_ALG_TANH;
    else if (!strcmp(op, "HardSigmoid")) {
        *alg = DLB_ALG_HARDSIGMOID;
        *alpha = dlb_node_attr_float(n, "alpha", 0.2);
        *beta = dlb_node_attr_float(n, "beta", 0.5);
    } else if (!strcmp(op, "HardSwish")) {
        *alg = DLB_ALG_HARDSWISH;
        *alpha = 1.0 / 6.0;
        *beta = 0.5;
    } else if (!strcmp(op, "Gelu"))
        *alg = DLB_ALG_GELU_ERF;
    else if (!strcmp(op, "Elu")) {
        *alg = DLB_ALG_ELU;
        *alpha = dlb_node_attr_float(n, "alpha", 1.0);
    } else if (!strcmp(op, "Softplus")) {
        *alg = DLB_ALG_SOFTPLUS;
        *alpha = 1;
    } else if (!strcmp(op, "Exp"))
        *alg = DLB_ALG_EXP;
    else if (!strcmp(op, "Log"))
        *alg = DLB_ALG_LOG;
    else if (!strcmp(op, "Sqrt"))
        *alg = DLB_ALG_SQRT;
    else if (!strcmp(op, "Abs"))
        *alg = DLB_ALG_ABS;
    else if (!strcmp(op, "Erf"))
        *alg = DLB_ALG_ERF;
    else if (!strcmp(op, "Round"))
        *alg = DLB_ALG_ROUND;
    else if (!strcmp(op, "Neg")) {
        *alg = DLB_ALG_LINEAR;
        *alpha = -1;
    } else if (!strcmp(op, "Reciprocal")) {
        *alg = DLB_ALG_POW;
        *alpha = 1;
        *beta = -1;
    } else if (!strcmp(op, "Pow")) { /* x ^ constant scalar */
        double e;
        if (n->n_in < 2 || !dlb__const_scalar(g, n->in[1], &e)) return false;
        *alg = DLB_ALG_POW;
        *alpha = 1;
        *beta = e;
    } else
        return false;
    return true;
}

static const struct {
    const char *op;
    dlb_alg alg;
} binary_ops[] = {{"Add", DLB_ALG_ADD}, {"Sub", DLB_ALG_SUB}, {"Mul", DLB_ALG_MUL},
                  {"Div", DLB_ALG_DIV}, {"Max", DLB_ALG_MAX}, {"Min", DLB_ALG_MIN}};

static const struct {
    const char *op;
    dlb_alg alg;
} reduce_ops[] = {{"ReduceMean", DLB_ALG_REDUCE_MEAN}, {"ReduceSum", DLB_ALG_REDUCE_SUM},
                  {"ReduceMax", DLB_ALG_REDUCE_MAX},   {"ReduceMin", DLB_ALG_REDUCE_MIN},
                  {"ReduceProd", DLB_ALG_REDUCE_PROD}, {"ReduceL2", DLB_ALG_REDUCE_L2}};

/* ---- the node -> op switch ----------------------------------------------------------------- */

static bool classify(const dlb_graph *g, const dlb_node *n, dlb_op_spec *s, const char **why) {
    const char *op = n->op_type;
    const dlb_shape *xs = &g->tensors[n->in[0]].shape;
    int rank = xs->rank;
    double a, b;
    if (!strcmp(op, "Conv")) {
        s->op = DLB_LOP_CONV;
        return build_conv(g, n, s, why);
    }
    if (!strcmp(op, "ConvTranspose")) {
        s->op = DLB_LOP_DECONV;
        return build_conv(g, n, s, why);
    }
    if (!strcmp(op, "Gemm")) {
        bool const_b = n->n_in > 1 && dlb__is_weight(g, n->in[1]);
        s->p.trans_a = dlb_node_attr_int(n, "transA", 0) != 0;
        s->p.trans_b = dlb_node_attr_int(n, "transB", 0) != 0;
        s->p.alpha = dlb_node_attr_float(n, "alpha", 1.0);
        s->p.beta = dlb_node_attr_float(n, "beta", 1.0);
        s->p.has_bias = n->n_in > 2 && n->in[2] >= 0;
        s->op =
            const_b && !s->p.trans_a && s->p.alpha == 1.0 ? DLB_LOP_INNER_PRODUCT : DLB_LOP_MATMUL;
        return true;
    }
    if (!strcmp(op, "MatMul")) {
        s->op = DLB_LOP_MATMUL;
        return true;
    }
    if (strstr(op, "Pool") && (strstr(op, "Max") || strstr(op, "Average"))) {
        if (!strcmp(op, "MaxPool") && n->n_out > 1 && n->out[1] >= 0) {
            *why = "MaxPool with an indices output";
            return false;
        }
        s->op = DLB_LOP_POOL;
        return build_pool(g, n, s, why);
    }
    if (!strcmp(op, "BatchNormalization")) {
        s->op = DLB_LOP_BNORM;
        s->p.eps = dlb_node_attr_float(n, "epsilon", 1e-5);
        return true;
    }
    if (!strcmp(op, "LayerNormalization")) {
        s->op = DLB_LOP_LNORM;
        s->p.axis = norm_axis(dlb_node_attr_int(n, "axis", -1), rank);
        s->p.eps = dlb_node_attr_float(n, "epsilon", 1e-5);
        return true;
    }
    if (!strcmp(op, "InstanceNormalization")) {
        s->op = DLB_LOP_INORM;
        s->p.eps = dlb_node_attr_float(n, "epsilon", 1e-5);
        return true;
    }
    if (!strcmp(op, "LRN")) {
        s->op = DLB_LOP_LRN;
        s->p.size = dlb_node_attr_int(n, "size", 1);
        s->p.alpha = dlb_node_attr_float(n, "alpha", 1e-4);
        s->p.beta = dlb_node_attr_float(n, "beta", 0.75);
        s->p.eps = dlb_node_attr_float(n, "bias", 1.0);
        return true;
    }
    if (dlb__unary_eltwise(g, n, &s->alg, &a, &b)) {
        s->op = DLB_LOP_ELTWISE;
        s->p.alpha = a;
        s->p.beta = b;
        return true;
    }
    for (size_t i = 0; i < sizeof binary_ops / sizeof *binary_ops; i++)
        if (!strcmp(op, binary_ops[i].op) && n->n_in == 2) {
            s->op = DLB_LOP_BINARY;
            s->alg = binary_ops[i].alg;
            return true;
        }
    for (size_t i = 0; i < sizeof reduce_ops / sizeof *reduce_ops; i++)
        if (!strcmp(op, reduce_ops[i].op)) {
            s->op = DLB_LOP_REDUCE;
            s->alg = reduce_ops[i].alg;
            s->p.keepdims = dlb_node_attr_int(n, "keepdims", 1) != 0;
            int k = ints_of(g, n, "axes", g->opset >= 18 ? 1 : -1, s->p.axes, DLB_MAX_RANK);
            if (k < 0) {
                *why = "reduction axes are not constant";
                return false;
            }
            if (k == 0) /* all axes */
                for (k = 0; k < rank; k++) s->p.axes[k] = k;
            for (int j = 0; j < k; j++) s->p.axes[j] = norm_axis(s->p.axes[j], rank);
            s->p.n_axes = k;
            return true;
        }
    if (!strcmp(op, "Concat")) {
        s->op = DLB_LOP_CONCAT;
        s->p.axis = norm_axis(dlb_node_attr_int(n, "axis", 0), rank);
        return true;
    }
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        s->op = DLB_LOP_SOFTMAX;
        s->alg = op[0] == 'S' ? DLB_ALG_SOFTMAX : DLB_ALG_LOGSOFTMAX;
        s->p.axis = norm_axis(dlb_node_attr_int(n, "axis", g->opset >= 13 ? -1 : 1), rank);
        return true;
    }
    if (!strcmp(op, "Resize") || !strcmp(op, "Upsample")) {
        const char *mode = dlb_node_attr_string(n, "mode", "nearest");
        s->op = DLB_LOP_RESAMPLE;
        if (!strcmp(mode, "nearest"))
            s->alg = DLB_ALG_NEAREST;
        else if (!strcmp(mode, "linear") || !strcmp(mode, "bilinear"))
            s->alg = DLB_ALG_LINEAR_INTERP;
        else {
            *why = "Resize mode other than nearest/linear";
            return false;
        }
        return true;
    }
    if (!strcmp(op, "Transpose")) {
        s->op = DLB_LOP_TRANSPOSE;
        int k = ints_of(g, n, "perm", -1, s->p.axes, DLB_MAX_RANK);
        if (k <= 0)
            for (k = 0; k < rank; k++) s->p.axes[k] = rank - 1 - k;
        s->p.n_axes = k;
        return true;
    }
    if (!strcmp(op, "Pad")) {
        const char *mode = dlb_node_attr_string(n, "mode", "constant");
        int64_t pads[2 * DLB_MAX_RANK];
        int k = ints_of(g, n, "pads", 1, pads, 2 * DLB_MAX_RANK);
        if (k != 2 * rank) {
            *why = "Pad pads are not constant";
            return false;
        }
        s->op = DLB_LOP_PAD;
        s->p.pad_mode = !strcmp(mode, "reflect") ? 1 : !strcmp(mode, "edge") ? 2 : 0;
        for (int i = 0; i < rank; i++) {
            s->p.pad_begin[i] = pads[i];
            s->p.pad_end[i] = pads[rank + i];
        }
        return true;
    }
    if (!strcmp(op, "Slice")) {
        s->op = DLB_LOP_SLICE; /* cost is set by src/dst shapes; offsets do not matter */
        /* Where it starts matters to numeric runs: per-dim start and step, normalised as in
         * shape inference, when all are constant (p.n_axes = rank); else n_axes = 0. */
        int64_t st[DLB_MAX_RANK], en[DLB_MAX_RANK], ax[DLB_MAX_RANK], sp[DLB_MAX_RANK];
        int ks = ints_of(g, n, "starts", 1, st, DLB_MAX_RANK);
        int ke = ints_of(g, n, "ends", 2, en, DLB_MAX_RANK);
        int ka = ints_of(g, n, "axes", 3, ax, DLB_MAX_RANK);
        int kp = ints_of(g, n, "steps", 4, sp, DLB_MAX_RANK);
        if (ks <= 0 || ke != ks || (ka != 0 && ka != ks) || (kp != 0 && kp != ks)) return true;
        for (int d = 0; d < rank; d++) {
            s->p.starts[d] = 0;
            s->p.ends[d] = xs->dims[d];
            s->p.steps[d] = 1;
            s->p.axes[d] = d;
        }
        for (int i = 0; i < ks; i++) {
            int axis = norm_axis(ka ? ax[i] : i, rank);
            if (axis < 0 || (kp && sp[i] == 0)) return true;
            int64_t dim = xs->dims[axis], step = kp ? sp[i] : 1, from = st[i], to = en[i];
            if (from < 0) from = from < -dim ? -1 : from + dim;
            if (to < 0) to = to < -dim ? -1 : to + dim;
            int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
            s->p.starts[axis] = from < 0 ? 0 : from > hi ? hi : from;
            s->p.ends[axis] = to < lo ? lo : to > hi ? hi : to;
            s->p.steps[axis] = step;
        }
        s->p.n_axes = rank;
        return true;
    }
    if (!strcmp(op, "Split")) {
        s->op = DLB_LOP_SPLIT;
        s->p.axis = norm_axis(dlb_node_attr_int(n, "axis", 0), rank);
        return true;
    }
    if (!strcmp(op, "Gather")) {
        if (n->n_in < 2 || !dlb__tensor(g, n->in[1]) || !dlb__tensor(g, n->in[1])->is_const) {
            *why = "Gather with non-constant indices";
            return false;
        }
        s->op = DLB_LOP_GATHER;
        s->p.axis = norm_axis(dlb_node_attr_int(n, "axis", 0), rank);
        return true;
    }
    if (!strcmp(op, "Expand") || !strcmp(op, "Tile")) {
        s->op = DLB_LOP_EXPAND;
        return true;
    }
    *why = "no oneDNN mapping for this op";
    return false;
}

/* Inputs after the first that are weights or known constants (folded shape arithmetic). */
static bool param_input(const dlb_graph *g, int t, int k) {
    return k > 0 && (dlb__is_weight(g, t) || g->tensors[t].is_const);
}

bool dlb__build_node_op(const dlb_graph *g, int node, dlb_arena *a, dlb_op_spec *s,
                        int **src_tensors, int **dst_tensors, int **wei_tensors, const char **why) {
    const dlb_node *n = &g->nodes[node];
    memset(s, 0, sizeof *s);
    s->op = DLB_LOP_UNCOVERED;
    if (!dlb__is_onnx_domain(n->domain)) {
        *why = "op from a custom domain";
        return false;
    }
    if (n->has_subgraph) {
        *why = "control flow with subgraphs is not benchmarked";
        return false;
    }
    if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) {
        *why = "node without inputs or outputs";
        return false;
    }
    /* Every tensor touched needs a static shape. */
    int n_src = 0, n_wei = 0, n_dst = 0;
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t < 0) continue;
        if (!dlb_shape_known(&g->tensors[t].shape)) {
            *why = "input shape is not static";
            return false;
        }
        if (param_input(g, t, k))
            n_wei++;
        else
            n_src++;
    }
    for (int k = 0; k < n->n_out; k++) {
        int t = n->out[k];
        if (t < 0) continue;
        if (!dlb_shape_known(&g->tensors[t].shape)) {
            *why = "output shape is not static";
            return false;
        }
        n_dst++;
    }
    if (!dlb_dtype_is_float(g->tensors[n->in[0]].dtype) &&
        !dlb_dtype_is_integer(g->tensors[n->in[0]].dtype)) {
        *why = "unsupported input dtype";
        return false;
    }
    if (!classify(g, n, s, why)) return false;
    /* Pad, Slice, Reduce, Clip, Resize, Gather: constant inputs after the first act as
     * attributes and are not operands, except Gather's indices (they size the work). */
    bool attrs_only = s->op == DLB_LOP_PAD || s->op == DLB_LOP_SLICE || s->op == DLB_LOP_REDUCE ||
                      s->op == DLB_LOP_RESAMPLE || s->op == DLB_LOP_EXPAND ||
                      s->op == DLB_LOP_SPLIT || (s->op == DLB_LOP_ELTWISE);
    if (attrs_only) n_wei = 0;
    if (!dlb__spec_alloc(a, s, n_src, n_wei, n_dst)) return false;
    *src_tensors = dlb__arena_calloc(a, (size_t)n_src + 1, sizeof(int));
    *dst_tensors = dlb__arena_calloc(a, (size_t)n_dst + 1, sizeof(int));
    *wei_tensors = dlb__arena_calloc(a, (size_t)n_wei + 1, sizeof(int));
    if (!*src_tensors || !*dst_tensors || !*wei_tensors) return false;
    int is = 0, iw = 0, id = 0;
    for (int k = 0; k < n->n_in; k++) {
        int t = n->in[k];
        if (t < 0) continue;
        if (param_input(g, t, k)) {
            if (!attrs_only) {
                (*wei_tensors)[iw] = t;
                s->wei[iw++] = operand_of(g, t);
            }
        } else {
            (*src_tensors)[is] = t;
            s->src[is++] = operand_of(g, t);
        }
    }
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0) {
            (*dst_tensors)[id] = n->out[k];
            s->dst[id++] = operand_of(g, n->out[k]);
        }
    return true;
}
