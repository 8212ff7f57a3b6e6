/* infer_elementwise.c — unary, broadcasting binary/variadic ops, Where, Clip, Cast; folding. */
#include <math.h>
#include <string.h>

#include "infer_internal.h"

/* A folding operand: a known value and its shape. */
typedef struct operand {
    const dlb_tensor *t;
    const dlb_shape *s;
} operand;

/* ---- unary ------------------------------------------------------------------------------- */

typedef enum unop {
    U_NONE,
    U_NEG,
    U_ABS,
    U_SQRT,
    U_FLOOR,
    U_CEIL,
    U_ROUND,
    U_RECIP,
    U_EXP,
    U_LOG,
    U_SIGN,
    U_NOT,
    U_RELU,
    U_ERF,
    U_TANH,
    U_SIGMOID,
    U_SIN,
    U_COS
} unop;

static unop unary_kind(const char *op) {
    static const struct {
        const char *name;
        unop k;
    } map[] = {{"Neg", U_NEG},   {"Abs", U_ABS},     {"Sqrt", U_SQRT},        {"Floor", U_FLOOR},
               {"Ceil", U_CEIL}, {"Round", U_ROUND}, {"Reciprocal", U_RECIP}, {"Exp", U_EXP},
               {"Log", U_LOG},   {"Sign", U_SIGN},   {"Not", U_NOT},          {"Relu", U_RELU},
               {"Erf", U_ERF},   {"Tanh", U_TANH},   {"Sigmoid", U_SIGMOID},  {"Sin", U_SIN},
               {"Cos", U_COS}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(op, map[i].name)) return map[i].k;
    return U_NONE;
}

static double unary_f(unop k, double x) {
    switch (k) {
    case U_NEG:
        return -x;
    case U_ABS:
        return fabs(x);
    case U_SQRT:
        return sqrt(x);
    case U_FLOOR:
        return floor(x);
    case U_CEIL:
        return ceil(x);
    case U_ROUND:
        return nearbyint(x); /* default rounding: half to even, as ONNX Round */
    case U_RECIP:
        return 1.0 / x;
    case U_EXP:
        return exp(x);
    case U_LOG:
        return log(x);
    case U_SIGN:
        return (x > 0) - (x < 0);
    case U_NOT:
        return x == 0;
    case U_RELU:
        return x > 0 ? x : 0;
    case U_ERF:
        return erf(x);
    case U_TANH:
        return tanh(x);
    case U_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case U_SIN:
        return sin(x);
    case U_COS:
        return cos(x);
    default:
        return x;
    }
}

/* Integer unary ops that are exact; false when the op is not integral or overflows. */
static bool unary_i(unop k, int64_t x, int64_t *r) {
    switch (k) {
    case U_NEG:
        if (x == INT64_MIN) return false;
        *r = -x;
        return true;
    case U_ABS:
        if (x == INT64_MIN) return false;
        *r = x < 0 ? -x : x;
        return true;
    case U_FLOOR:
    case U_CEIL:
    case U_ROUND:
        *r = x;
        return true;
    case U_SIGN:
        *r = (x > 0) - (x < 0);
        return true;
    case U_NOT:
        *r = x == 0;
        return true;
    case U_RELU:
        *r = x > 0 ? x : 0;
        return true;
    default:
        return false;
    }
}

dlb_status dlb__infer_unary(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    dlb_status st = dlb__set_out(c, n, 0, x, dlb__in_dtype(c, n, 0));
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    unop k = unary_kind(n->op_type);
    if (st != DLB_OK || !v || k == U_NONE) return st;
    dlb_tensor *o = dlb__const_out(c, n, 0, v->value.n, &st);
    if (!o) return st;
    bool fl = o->value.f || dlb_dtype_is_float(v->dtype);
    for (int64_t j = 0; j < v->value.n; j++) {
        int64_t r;
        if (fl) {
            dlb__put_f(o, j, unary_f(k, dlb__vf(v, j)));
        } else if (unary_i(k, dlb__vi(v, j), &r)) {
            dlb__put_i(o, j, r);
        } else {
            dlb__const_drop(o);
            break;
        }
    }
    return DLB_OK;
}

/* ---- broadcasting binary ops --------------------------------------------------------------- */

typedef enum binop {
    B_ADD,
    B_SUB,
    B_MUL,
    B_DIV,
    B_MOD,
    B_FMOD,
    B_POW,
    B_MAX,
    B_MIN,
    B_EQ,
    B_LT,
    B_GT,
    B_LE,
    B_GE,
    B_AND,
    B_OR,
    B_XOR,
    B_NONE
} binop;

static binop binary_kind(const dlb_node *n) {
    static const struct {
        const char *name;
        binop k;
    } map[] = {{"Add", B_ADD},        {"Sub", B_SUB},           {"Mul", B_MUL}, {"Div", B_DIV},
               {"Mod", B_MOD},        {"Pow", B_POW},           {"Max", B_MAX}, {"Min", B_MIN},
               {"Sum", B_ADD},        {"Equal", B_EQ},          {"Less", B_LT}, {"Greater", B_GT},
               {"LessOrEqual", B_LE}, {"GreaterOrEqual", B_GE}, {"And", B_AND}, {"Or", B_OR},
               {"Xor", B_XOR}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(n->op_type, map[i].name)) {
            if (map[i].k == B_MOD && dlb_node_attr_int(n, "fmod", 0)) return B_FMOD;
            return map[i].k;
        }
    return B_NONE;
}

static double binary_f(binop k, double a, double b) {
    switch (k) {
    case B_ADD:
        return a + b;
    case B_SUB:
        return a - b;
    case B_MUL:
        return a * b;
    case B_DIV:
        return a / b;
    case B_MOD: {
        double r = fmod(a, b);
        return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
    }
    case B_FMOD:
        return fmod(a, b);
    case B_POW:
        return pow(a, b);
    case B_MAX:
        return a > b ? a : b;
    case B_MIN:
        return a < b ? a : b;
    case B_EQ:
        return a == b;
    case B_LT:
        return a < b;
    case B_GT:
        return a > b;
    case B_LE:
        return a <= b;
    case B_GE:
        return a >= b;
    case B_AND:
        return (a != 0) && (b != 0);
    case B_OR:
        return (a != 0) || (b != 0);
    case B_XOR:
        return (a != 0) != (b != 0);
    default:
        return 0;
    }
}

/* Exact integer arithmetic; 0 ok, 1 not foldable (division by zero, negative power),
 * 2 overflow. */
static int binary_i(binop k, int64_t a, int64_t b, int64_t *r) {
    switch (k) {
    case B_ADD:
        return dlb__add_ok(a, b, r) ? 0 : 2;
    case B_SUB:
        return __builtin_sub_overflow(a, b, r) ? 2 : 0;
    case B_MUL:
        return dlb__mul_ok(a, b, r) ? 0 : 2;
    case B_DIV: /* ONNX integer Div truncates toward zero (C semantics) */
        if (b == 0) return 1;
        if (a == INT64_MIN && b == -1) return 2;
        *r = a / b;
        return 0;
    case B_MOD:
    case B_FMOD:
        if (b == 0) return 1;
        if (b == -1) {
            *r = 0;
            return 0;
        }
        *r = a % b;
        if (k == B_MOD && *r != 0 && ((*r < 0) != (b < 0))) *r += b;
        return 0;
    case B_POW: {
        if (b < 0) return 1;
        int64_t acc = 1;
        for (; b > 0; b--) {
            if (!dlb__mul_ok(acc, a, &acc)) return 2;
            if (acc == 0 || acc == 1) break;
        }
        *r = acc;
        return 0;
    }
    default: /* exact, never through a double (INT64_MAX does not convert back) */
        if (k == B_MAX)
            *r = a > b ? a : b;
        else if (k == B_MIN)
            *r = a < b ? a : b;
        else if (k == B_EQ)
            *r = a == b;
        else if (k == B_LT)
            *r = a < b;
        else if (k == B_GT)
            *r = a > b;
        else if (k == B_LE)
            *r = a <= b;
        else if (k == B_GE)
            *r = a >= b;
        else /* And, Or, Xor: 0 or 1 */
            *r = binary_f(k, a != 0, b != 0) != 0;
        return 0;
    }
}

static bool is_predicate(binop k) {
    return k >= B_EQ && k <= B_XOR;
}

/* Fold a chain of binary ops (variadic Sum/Max/Min included) over known operands. */
static dlb_status fold_binary(dlb_infer_ctx *c, dlb_node *n, binop k, const operand *ops, int nops,
                              const dlb_shape *out) {
    const dlb_tensor *o0 = dlb__out(c, n, 0);
    if (!o0) return DLB_OK;
    /* Compute in floats when any operand is a float (or the result is). */
    bool fl = dlb_dtype_is_float(o0->dtype);
    for (int j = 0; j < nops; j++)
        if (dlb_dtype_is_float(ops[j].t->dtype) || (ops[j].t->value.f && !ops[j].t->value.i))
            fl = true;
    if (fl && !dlb_dtype_is_float(o0->dtype) && !is_predicate(k)) return DLB_OK; /* odd mix */
    dlb_status st;
    int64_t cnt = dlb_shape_numel(out);
    dlb_tensor *o = dlb__const_out(c, n, 0, cnt, &st);
    if (!o) return st;
    for (int64_t e = 0; e < cnt; e++) {
        int64_t i0 = dlb__bcast_index(out, ops[0].s, e);
        if (fl) {
            double acc = dlb__vf(ops[0].t, i0);
            for (int j = 1; j < nops; j++)
                acc = binary_f(k, acc, dlb__vf(ops[j].t, dlb__bcast_index(out, ops[j].s, e)));
            dlb__put_f(o, e, acc);
            continue;
        }
        int64_t acc = dlb__vi(ops[0].t, i0);
        for (int j = 1; j < nops; j++) {
            int r = binary_i(k, acc, dlb__vi(ops[j].t, dlb__bcast_index(out, ops[j].s, e)), &acc);
            if (r == 1) {
                dlb__const_drop(o);
                return DLB_OK;
            }
            if (r == 2)
                return dlb__fail(c, n, DLB_EOVERFLOW,
                                 "folded %s of constant integers overflows int64", n->op_type);
        }
        dlb__put_i(o, e, acc);
    }
    return DLB_OK;
}

/* Broadcast all present inputs; fold when every input is a known constant. */
static dlb_status broadcast_op(dlb_infer_ctx *c, dlb_node *n, binop k, dlb_dtype out_dt) {
    operand ops[16];
    int nops = 0;
    bool all_const = true;
    dlb_shape out = {.rank = 0};
    for (int i = 0; i < n->n_in; i++) {
        if (n->in[i] < 0) continue;
        const dlb_shape *s = dlb__in_shape(c, n, i);
        if (!s) return dlb__unknown(c, "input %d shape unknown", i);
        if (nops == 16) return dlb__unknown(c, "too many inputs");
        if (!dlb__broadcast(&out, s, &out)) {
            char a[128], b[128];
            dlb_shape_format(&out, a, (int)sizeof a);
            dlb_shape_format(s, b, (int)sizeof b);
            return dlb__fail(c, n, DLB_ESHAPE, "shapes %s and %s do not broadcast", a, b);
        }
        ops[nops++] = (operand){dlb__in_const(c, n, i), s};
        if (!ops[nops - 1].t) all_const = false;
    }
    if (!nops) return dlb__fail(c, n, DLB_ESHAPE, "no inputs");
    if (out_dt == DLB_DT_UNDEFINED)
        for (int i = 0; i < n->n_in && out_dt == DLB_DT_UNDEFINED; i++)
            out_dt = dlb__in_dtype(c, n, i);
    dlb_status st = dlb__set_out(c, n, 0, &out, out_dt);
    if (st != DLB_OK || !all_const || k == B_NONE) return st;
    return fold_binary(c, n, k, ops, nops, &out);
}

dlb_status dlb__infer_binary(dlb_infer_ctx *c, dlb_node *n) {
    if (n->n_in != 2) return dlb__fail(c, n, DLB_ESHAPE, "expected 2 inputs, got %d", n->n_in);
    /* Both inputs have one type T (only Pow's exponent may differ). */
    dlb_dtype a = dlb__in_dtype(c, n, 0), b = dlb__in_dtype(c, n, 1);
    if (a != DLB_DT_UNDEFINED && b != DLB_DT_UNDEFINED && a != b && strcmp(n->op_type, "Pow"))
        return dlb__fail(c, n, DLB_ESHAPE, "inputs '%s' and '%s' have different dtypes (%s, %s)",
                         dlb__in(c, n, 0)->name, dlb__in(c, n, 1)->name, dlb_dtype_name(a),
                         dlb_dtype_name(b));
    return broadcast_op(c, n, binary_kind(n), dlb__in_dtype(c, n, 0));
}

dlb_status dlb__infer_compare(dlb_infer_ctx *c, dlb_node *n) {
    return broadcast_op(c, n, binary_kind(n), DLB_DT_BOOL);
}

dlb_status dlb__infer_logical(dlb_infer_ctx *c, dlb_node *n) {
    return broadcast_op(c, n, binary_kind(n), DLB_DT_BOOL);
}

/* Sum, Max, Min, Mean (Mean is not folded). */
dlb_status dlb__infer_variadic(dlb_infer_ctx *c, dlb_node *n) {
    binop k = strcmp(n->op_type, "Mean") ? binary_kind(n) : B_NONE;
    return broadcast_op(c, n, k, DLB_DT_UNDEFINED);
}

dlb_status dlb__infer_where(dlb_infer_ctx *c, dlb_node *n) {
    if (n->n_in != 3) return dlb__fail(c, n, DLB_ESHAPE, "Where needs 3 inputs");
    dlb_status st = broadcast_op(c, n, B_NONE, dlb__in_dtype(c, n, 1));
    operand ops[3];
    for (int i = 0; i < 3; i++) ops[i] = (operand){dlb__in_const(c, n, i), dlb__in_shape(c, n, i)};
    if (st != DLB_OK || !ops[0].t || !ops[1].t || !ops[2].t) return st;
    const dlb_tensor *o0 = dlb__out(c, n, 0);
    if (!o0) return DLB_OK;
    int64_t cnt = dlb_shape_numel(&o0->shape);
    dlb_tensor *o = dlb__const_out(c, n, 0, cnt, &st);
    if (!o) return st;
    for (int64_t e = 0; e < cnt; e++) {
        bool cond = dlb__vi(ops[0].t, dlb__bcast_index(&o->shape, ops[0].s, e)) != 0;
        const operand *src = cond ? &ops[1] : &ops[2];
        int64_t at = dlb__bcast_index(&o->shape, src->s, e);
        if (src->t->value.f)
            dlb__put_f(o, e, src->t->value.f[at]);
        else
            dlb__put_i(o, e, dlb__vi(src->t, at));
    }
    return DLB_OK;
}

/* Clip: bounds are inputs since opset 11 (attributes min/max before). */
dlb_status dlb__infer_clip(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    dlb_status st = dlb__set_out(c, n, 0, x, dlb__in_dtype(c, n, 0));
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    if (st != DLB_OK || !v) return st;
    double lo = -INFINITY, hi = INFINITY;
    for (int i = 1; i <= 2; i++) {
        const dlb_tensor *b = dlb__in(c, n, i);
        if (b) {
            const dlb_tensor *k = dlb__in_const(c, n, i);
            if (!k || k->value.n != 1) return DLB_OK; /* shape known, value not folded */
            if (i == 1)
                lo = dlb__vf(k, 0);
            else
                hi = dlb__vf(k, 0);
        } else if (c->opset < 11) {
            const dlb_attr *a = dlb_node_attr(n, i == 1 ? "min" : "max");
            if (a) {
                if (i == 1)
                    lo = a->f;
                else
                    hi = a->f;
            }
        }
    }
    dlb_tensor *o = dlb__const_out(c, n, 0, v->value.n, &st);
    for (int64_t j = 0; o && j < v->value.n; j++) {
        double x0 = dlb__vf(v, j);
        if (x0 < lo) x0 = lo;
        if (x0 > hi) x0 = hi;
        if (v->value.i && x0 == (double)v->value.i[j])
            dlb__put_i(o, j, v->value.i[j]); /* exact for large integers */
        else
            dlb__put_f(o, j, x0);
    }
    return st;
}

/* PRelu: slope broadcasts to X (unidirectional). */
dlb_status dlb__infer_prelu(dlb_infer_ctx *c, dlb_node *n) {
    return broadcast_op(c, n, B_NONE, dlb__in_dtype(c, n, 0));
}

static dlb_status cast_to(dlb_infer_ctx *c, dlb_node *n, dlb_dtype to) {
    const dlb_shape *x = dlb__in_shape(c, n, 0);
    if (!x) return dlb__unknown(c, "input shape unknown");
    dlb_status st = dlb__set_out(c, n, 0, x, to);
    const dlb_tensor *v = dlb__in_const(c, n, 0);
    if (st != DLB_OK || !v) return st;
    bool from_float = dlb_dtype_is_float(v->dtype) || (v->value.f && !v->value.i);
    dlb_tensor *o = (dlb_dtype_is_float(to) || dlb_dtype_is_integer(to))
                        ? dlb__const_out(c, n, 0, v->value.n, &st)
                        : NULL;
    for (int64_t j = 0; o && j < v->value.n; j++) {
        if (dlb_dtype_is_float(to))
            dlb__put_f(o, j, dlb__vf(v, j));
        else if (from_float)
            dlb__put_f(o, j, to == DLB_DT_BOOL ? dlb__vf(v, j) != 0 : trunc(dlb__vf(v, j)));
        else
            dlb__put_i(o, j, dlb__vi(v, j));
    }
    return st;
}

dlb_status dlb__infer_cast(dlb_infer_ctx *c, dlb_node *n) {
    const dlb_attr *to = dlb_node_attr(n, "to");
    if (!to || to->type != DLB_ATTR_INT || !dlb_dtype_size((dlb_dtype)to->i))
        return dlb__fail(c, n, DLB_ESHAPE, "Cast without a valid 'to' attribute");
    return cast_to(c, n, (dlb_dtype)to->i);
}

dlb_status dlb__infer_cast_like(dlb_infer_ctx *c, dlb_node *n) {
    dlb_dtype to = dlb__in_dtype(c, n, 1);
    if (to == DLB_DT_UNDEFINED) return dlb__unknown(c, "target dtype unknown");
    return cast_to(c, n, to);
}
