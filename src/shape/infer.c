/* infer.c — shape inference driver: reset, topological walk, fallbacks, checks; set_batch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"

dlb_status dlb__unknown(dlb_infer_ctx *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    return DLB_EUNSUPPORTED;
}

dlb_status dlb__fail(dlb_infer_ctx *c, const dlb_node *n, dlb_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dlb_diag_vreport(c->diag, DLB_SEV_ERROR, n ? n->name : NULL, fmt, ap);
    va_end(ap);
    return st;
}

/* Hard failure about a tensor rather than a node: the tensor's name goes in the NODE field. */
static dlb_status fail_at(dlb_infer_ctx *c, const char *where, dlb_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static dlb_status fail_at(dlb_infer_ctx *c, const char *where, dlb_status st, const char *fmt,
                          ...) {
    va_list ap;
    va_start(ap, fmt);
    dlb_diag_vreport(c->diag, DLB_SEV_ERROR, where, fmt, ap);
    va_end(ap);
    return st;
}

dlb_tensor *dlb__in(dlb_infer_ctx *c, const dlb_node *n, int i) {
    if (i < 0 || i >= n->n_in || n->in[i] < 0) return NULL;
    return &c->g->tensors[n->in[i]];
}

dlb_tensor *dlb__out(dlb_infer_ctx *c, const dlb_node *n, int i) {
    if (i < 0 || i >= n->n_out || n->out[i] < 0) return NULL;
    return &c->g->tensors[n->out[i]];
}

const dlb_shape *dlb__in_shape(dlb_infer_ctx *c, const dlb_node *n, int i) {
    const dlb_tensor *t = dlb__in(c, n, i);
    return (t && dlb_shape_known(&t->shape)) ? &t->shape : NULL;
}

const dlb_tensor *dlb__in_const(dlb_infer_ctx *c, const dlb_node *n, int i) {
    const dlb_tensor *t = dlb__in(c, n, i);
    if (!t || !t->is_const || !dlb_shape_known(&t->shape)) return NULL;
    if (t->value.n != dlb_shape_numel(&t->shape) || (!t->value.i && !t->value.f && t->value.n))
        return NULL;
    return t;
}

dlb_dtype dlb__in_dtype(dlb_infer_ctx *c, const dlb_node *n, int i) {
    const dlb_tensor *t = dlb__in(c, n, i);
    return t ? t->dtype : DLB_DT_UNDEFINED;
}

/* Element count of s with overflow detection; false on overflow or negative dims. */
static bool numel_checked(const dlb_shape *s, int64_t *out) {
    int64_t e = 1;
    for (int d = 0; d < s->rank; d++)
        if (s->dims[d] < 0 || !dlb__mul_ok(e, s->dims[d], &e)) return false;
    *out = e;
    return true;
}

dlb_status dlb__set_out(dlb_infer_ctx *c, const dlb_node *n, int i, const dlb_shape *s,
                        dlb_dtype dt) {
    dlb_tensor *t = dlb__out(c, n, i);
    if (!t) return DLB_OK;
    if (s->rank < 0 || s->rank > DLB_MAX_RANK)
        return dlb__fail(c, n, DLB_ESHAPE, "inferred rank %d of tensor '%s' is not supported",
                         s->rank, t->name);
    int64_t e = 1;
    for (int d = 0; d < s->rank; d++) {
        if (s->dims[d] < 0)
            return dlb__fail(c, n, DLB_ESHAPE, "negative dimension %lld in tensor '%s'",
                             (long long)s->dims[d], t->name);
        if (!dlb__mul_ok(e, s->dims[d], &e))
            return dlb__fail(c, n, DLB_EOVERFLOW, "element count of tensor '%s' overflows int64",
                             t->name);
    }
    t->shape = *s;
    if (dt != DLB_DT_UNDEFINED) t->dtype = dt;
    t->is_const = false;
    t->value = (dlb_value){0};
    return DLB_OK;
}

/* double -> int64 without undefined behaviour (saturating; NaN -> 0). */
static int64_t dbl_to_i64(double x) {
    if (x != x) return 0;
    if (x >= 9.2233720368547758e18) return INT64_MAX;
    if (x <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)x;
}

dlb_tensor *dlb__const_out(dlb_infer_ctx *c, const dlb_node *n, int i, int64_t count,
                           dlb_status *st) {
    *st = DLB_OK;
    dlb_tensor *t = dlb__out(c, n, i);
    if (!t || count < 0 || count > DLB_MAX_CONST_ELEMS) return NULL;
    if (dlb_shape_numel(&t->shape) != count) return NULL;
    size_t cnt = count ? (size_t)count : 1;
    dlb_value v = {.n = count};
    if (dlb_dtype_is_float(t->dtype))
        v.f = dlb__arena_calloc(c->g->arena, cnt, sizeof *v.f);
    else
        v.i = dlb__arena_calloc(c->g->arena, cnt, sizeof *v.i);
    if (!v.f && !v.i) {
        *st = DLB_ENOMEM;
        return NULL;
    }
    t->value = v;
    t->is_const = true;
    return t;
}

void dlb__const_drop(dlb_tensor *t) {
    t->is_const = false;
    t->value = (dlb_value){0};
}

void dlb__put_f(dlb_tensor *t, int64_t k, double x) {
    if (t->value.f) /* round to the precision the runtime would compute in */
        t->value.f[k] =
            (t->dtype == DLB_DT_F32 || t->dtype == DLB_DT_F16 || t->dtype == DLB_DT_BF16)
                ? (double)(float)x
                : x;
    else
        t->value.i[k] = t->dtype == DLB_DT_BOOL ? x != 0 : dbl_to_i64(x);
}

void dlb__put_i(dlb_tensor *t, int64_t k, int64_t x) {
    if (t->value.f)
        t->value.f[k] = (double)x;
    else
        t->value.i[k] = t->dtype == DLB_DT_BOOL ? x != 0 : x;
}

void dlb__put_elem(dlb_tensor *t, int64_t k, const dlb_tensor *src, int64_t j) {
    if (src->value.f)
        dlb__put_f(t, k, src->value.f[j]);
    else
        dlb__put_i(t, k, src->value.i[j]);
}

void dlb__const_share(dlb_tensor *t, const dlb_tensor *src) {
    if (!t || !src || !src->is_const || src->value.n != dlb_shape_numel(&t->shape)) return;
    t->value = src->value;
    t->is_const = true;
}

int64_t dlb__vi(const dlb_tensor *t, int64_t k) {
    if (t->value.i) return t->value.i[k];
    if (t->value.f) return dbl_to_i64(t->value.f[k]);
    return 0;
}

double dlb__vf(const dlb_tensor *t, int64_t k) {
    if (t->value.f) return t->value.f[k];
    if (t->value.i) return (double)t->value.i[k];
    return 0.0;
}

dlb_status dlb__ints_arg(dlb_infer_ctx *c, const dlb_node *n, int in_idx, const char *attr,
                         int64_t *v, int max, int *count, bool *present) {
    *count = 0;
    *present = false;
    const dlb_tensor *t = in_idx >= 0 ? dlb__in(c, n, in_idx) : NULL;
    if (t) {
        const dlb_tensor *k = dlb__in_const(c, n, in_idx);
        if (!k) return dlb__unknown(c, "input '%s' is not a known constant", t->name);
        if (k->value.n > max) return dlb__unknown(c, "input '%s' is too long", t->name);
        for (int64_t j = 0; j < k->value.n; j++) v[j] = dlb__vi(k, j);
        *count = (int)k->value.n;
        *present = true;
        return DLB_OK;
    }
    const dlb_attr *a = attr ? dlb_node_attr(n, attr) : NULL;
    if (!a) return DLB_OK;
    if (a->type == DLB_ATTR_INT) {
        v[0] = a->i;
        *count = 1;
    } else if (a->type == DLB_ATTR_INTS) {
        if (a->n > max) return dlb__unknown(c, "attribute '%s' is too long", attr);
        for (int j = 0; j < a->n; j++) v[j] = a->ints[j];
        *count = a->n;
    } else {
        return dlb__unknown(c, "attribute '%s' is not a list of ints", attr);
    }
    *present = true;
    return DLB_OK;
}

bool dlb__prod(const int64_t *dims, int from, int to, int64_t *r) {
    int64_t e = 1;
    for (int d = from; d < to; d++)
        if (!dlb__mul_ok(e, dims[d], &e)) return false;
    *r = e;
    return true;
}

int dlb__axis(int64_t axis, int rank) {
    if (axis < 0) axis += rank;
    return (axis < 0 || axis >= rank) ? -1 : (int)axis;
}

bool dlb__broadcast(const dlb_shape *a, const dlb_shape *b, dlb_shape *out) {
    int r = a->rank > b->rank ? a->rank : b->rank;
    if (r > DLB_MAX_RANK) return false;
    dlb_shape res = {.rank = r}; /* out may alias a or b */
    for (int d = 0; d < r; d++) {
        int ia = a->rank - r + d, ib = b->rank - r + d;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1)
            res.dims[d] = da;
        else if (da == 1)
            res.dims[d] = db;
        else
            return false;
    }
    *out = res;
    return true;
}

int64_t dlb__bcast_index(const dlb_shape *o, const dlb_shape *s, int64_t k) {
    int64_t idx = 0, stride = 1;
    for (int d = o->rank - 1; d >= 0; d--) {
        int64_t od = o->dims[d], pos = od ? k % od : 0;
        k = od ? k / od : 0;
        int sd = s->rank - o->rank + d;
        if (sd < 0) continue;
        if (s->dims[sd] != 1) idx += pos * stride;
        stride *= s->dims[sd];
    }
    return idx;
}

/* ---- driver ------------------------------------------------------------------------------ */

/* Node indices must refer to tensors; order must refer to nodes. */
static dlb_status check_indices(dlb_infer_ctx *c) {
    const dlb_graph *g = c->g;
    for (int k = 0; k < g->n_nodes; k++) {
        const dlb_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] < -1 || n->in[i] >= g->n_tensors)
                return dlb__fail(c, n, DLB_EMODEL, "input %d refers to no tensor (index %d)", i,
                                 n->in[i]);
        for (int i = 0; i < n->n_out; i++)
            if (n->out[i] < -1 || n->out[i] >= g->n_tensors)
                return dlb__fail(c, n, DLB_EMODEL, "output %d refers to no tensor (index %d)", i,
                                 n->out[i]);
    }
    for (int k = 0; k < g->n_nodes; k++)
        if (g->order[k] < 0 || g->order[k] >= g->n_nodes)
            return dlb__fail(c, NULL, DLB_EMODEL, "topological order refers to no node (%d)",
                             g->order[k]);
    for (int k = 0; k < g->n_inputs; k++)
        if (g->inputs[k] < 0 || g->inputs[k] >= g->n_tensors)
            return dlb__fail(c, NULL, DLB_EMODEL, "graph input refers to no tensor (%d)",
                             g->inputs[k]);
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] < 0 || g->outputs[k] >= g->n_tensors)
            return dlb__fail(c, NULL, DLB_EMODEL, "graph output refers to no tensor (%d)",
                             g->outputs[k]);
    return DLB_OK;
}

/* Graph inputs and initializers: zero or negative dims are errors (the loader gives -1 for a
 * symbolic dim_param, so only -1 is "unknown"), overflowing counts too; unknown input shapes are
 * warned about once and poison their consumers.  Errors name the tensor. */
static dlb_status check_sources(dlb_infer_ctx *c, unsigned char *poison) {
    dlb_graph *g = c->g;
    char buf[128];
    for (int k = 0; k < g->n_tensors; k++) {
        dlb_tensor *t = &g->tensors[k];
        if (t->producer >= 0 || !(t->is_input || t->is_initializer)) continue;
        if (t->shape.rank > DLB_MAX_RANK)
            return fail_at(c, t->name, DLB_ESHAPE, "rank %d of tensor '%s' is not supported",
                           t->shape.rank, t->name);
        for (int d = 0; d < t->shape.rank; d++)
            if (t->shape.dims[d] < -1 || (t->is_input && t->shape.dims[d] == 0))
                return fail_at(c, t->name, DLB_ESHAPE, "dimension %lld in %s '%s'",
                               (long long)t->shape.dims[d],
                               t->is_input ? "graph input" : "initializer", t->name);
        int64_t e;
        if (dlb_shape_known(&t->shape) && !numel_checked(&t->shape, &e))
            return fail_at(c, t->name, DLB_EOVERFLOW,
                           "element count of tensor '%s' overflows int64", t->name);
        if (t->is_input && !dlb_shape_known(&t->shape)) {
            dlb_shape_format(&t->shape, buf, (int)sizeof buf);
            dlb_warning(c->diag, t->name,
                        "graph input '%s' has no static shape (%s); set the batch size", t->name,
                        buf);
            poison[k] = 1;
        }
    }
    return DLB_OK;
}

/* Ops that move elements without looking at them: any dtype, strings included. */
static bool is_layout_op(const char *op) {
    static const char *const ops[] = {
        "Cast",           "Compress",  "Concat",          "Equal",     "Expand", "Gather",
        "GatherElements", "Pad",       "ScatterElements", "ScatterND", "Slice",  "Split",
        "Tile",           "Transpose", "Unique",          "Where"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(op, ops[i])) return true;
    return false;
}

/* Compute ops must not see empty activations (constants such as Resize's roi are fine) nor,
 * unless they only move data, strings. */
static dlb_status check_compute_inputs(dlb_infer_ctx *c, const dlb_node *n) {
    for (int i = 0; i < n->n_in; i++) {
        const dlb_tensor *t = dlb__in(c, n, i);
        if (!t) continue;
        if (t->dtype == DLB_DT_STRING && !is_layout_op(n->op_type))
            return dlb__fail(c, n, DLB_ESHAPE, "input '%s' has dtype %s, not supported by %s",
                             t->name, dlb_dtype_name(t->dtype), n->op_type);
        if (t->is_const || t->is_initializer || !dlb_shape_known(&t->shape)) continue;
        for (int d = 0; d < t->shape.rank; d++)
            if (t->shape.dims[d] == 0)
                return dlb__fail(c, n, DLB_ESHAPE, "dimension 0 in tensor '%s'", t->name);
    }
    return DLB_OK;
}

/* Warn when an inferred output contradicts its value_info. */
static void cross_check(dlb_infer_ctx *c, const dlb_node *n) {
    for (int i = 0; i < n->n_out; i++) {
        const dlb_tensor *t = dlb__out(c, n, i);
        if (!t || t->declared.rank < 0 || !dlb_shape_known(&t->shape)) continue;
        bool same = t->declared.rank == t->shape.rank;
        for (int d = 0; same && d < t->shape.rank; d++)
            if (t->declared.dims[d] >= 0 && t->declared.dims[d] != t->shape.dims[d]) same = false;
        if (same) continue;
        char a[128], b[128];
        dlb_shape_format(&t->shape, a, (int)sizeof a);
        dlb_shape_format(&t->declared, b, (int)sizeof b);
        dlb_warning(c->diag, n->name,
                    "inferred shape %s differs from value_info %s for tensor '%s'", a, b, t->name);
    }
}

/* A node that could not be resolved: fall back to value_info, poison the rest, warn once. */
static void unresolved(dlb_infer_ctx *c, const dlb_node *n, unsigned char *poison) {
    bool silent = false, fallback = false;
    for (int i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && poison[n->in[i]] && !n->has_subgraph) silent = true;
    for (int i = 0; i < n->n_out; i++) {
        dlb_tensor *t = dlb__out(c, n, i);
        if (!t) continue;
        if (dlb_shape_known(&t->shape)) continue; /* partially inferred node */
        t->is_const = false;
        t->value = (dlb_value){0};
        if (t->declared.rank >= 0) {
            t->shape = t->declared;
            fallback = true;
        }
        if (!dlb_shape_known(&t->shape)) poison[n->out[i]] = 1;
    }
    if (silent) return;
    if (!c->reason[0]) snprintf(c->reason, sizeof c->reason, "unknown reason");
    dlb_warning(c->diag, n->name, "cannot infer shapes of %s: %s%s", n->op_type, c->reason,
                fallback ? " (using value_info)" : "");
}

static dlb_status infer_node(dlb_infer_ctx *c, dlb_node *n, unsigned char *poison) {
    const dlb_op_info *info = dlb__is_onnx_domain(n->domain) ? dlb__op_info(n->op_type) : NULL;
    dlb_status st;
    c->reason[0] = 0;
    if (n->has_subgraph) {
        st = dlb__unknown(c, "%s has subgraphs (control flow is not supported)", n->op_type);
    } else if (!info) {
        st = dlb__unknown(c, "op %s%s%s is not covered", n->domain && n->domain[0] ? n->domain : "",
                          n->domain && n->domain[0] ? "." : "", n->op_type);
    } else {
        if (info->cls == DLB_OPC_COMPUTE && (st = check_compute_inputs(c, n)) != DLB_OK) return st;
        st = info->infer(c, n);
        if (st == DLB_OK)
            for (int i = 0; i < n->n_out; i++) {
                const dlb_tensor *t = dlb__out(c, n, i);
                if (t && !dlb_shape_known(&t->shape)) {
                    st = dlb__unknown(c, "output '%s' not inferred", t->name);
                    break;
                }
            }
    }
    if (st == DLB_EUNSUPPORTED) {
        unresolved(c, n, poison);
        return DLB_OK;
    }
    if (st != DLB_OK) return st;
    for (int i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0) poison[n->out[i]] = 0;
    cross_check(c, n);
    return DLB_OK;
}

static bool all_shapes_known(const dlb_graph *g) {
    for (int k = 0; k < g->n_nodes; k++) {
        const dlb_node *n = &g->nodes[k];
        if (!dlb__is_onnx_domain(n->domain) || !dlb__op_info(n->op_type)) continue;
        for (int i = 0; i < n->n_in; i++)
            if (n->in[i] >= 0 && !dlb_shape_known(&g->tensors[n->in[i]].shape)) return false;
    }
    for (int k = 0; k < g->n_outputs; k++)
        if (!dlb_shape_known(&g->tensors[g->outputs[k]].shape)) return false;
    return true;
}

dlb_status dlb_graph_infer_shapes(dlb_graph *g, dlb_diag *diag) {
    if (!g) return DLB_EINVAL;
    dlb_infer_ctx c = {.g = g, .diag = diag, .opset = g->opset};
    g->shapes_ok = false;
    dlb_status st = check_indices(&c);
    if (st != DLB_OK) return st;
    for (int k = 0; k < g->n_tensors; k++) {
        dlb_tensor *t = &g->tensors[k];
        if (t->producer < 0 || t->is_initializer) continue;
        t->shape.rank = -1;
        t->is_const = false;
        t->value = (dlb_value){0};
    }
    unsigned char *poison = calloc(g->n_tensors ? (size_t)g->n_tensors : 1, 1);
    if (!poison) return DLB_ENOMEM;
    st = check_sources(&c, poison);
    for (int k = 0; st == DLB_OK && k < g->n_nodes; k++)
        st = infer_node(&c, &g->nodes[g->order[k]], poison);
    free(poison);
    if (st == DLB_OK) g->shapes_ok = all_shapes_known(g);
    return st;
}

/* Inputs get the new leading dim.  When it changes, value_info shapes were written for the old
 * batch: their leading dims become unknown, so they neither trigger mismatch warnings nor serve
 * as (wrong) fallbacks. */
dlb_status dlb_graph_set_batch(dlb_graph *g, int64_t batch) {
    if (!g || batch < 1) return DLB_EINVAL;
    bool changed = false;
    for (int k = 0; k < g->n_inputs; k++) {
        if (g->inputs[k] < 0 || g->inputs[k] >= g->n_tensors) return DLB_EINVAL;
        dlb_tensor *t = &g->tensors[g->inputs[k]];
        if (t->shape.rank < 1 || t->shape.dims[0] == batch) continue;
        t->shape.dims[0] = batch;
        changed = true;
    }
    for (int k = 0; changed && k < g->n_tensors; k++) {
        dlb_tensor *t = &g->tensors[k];
        if (!t->is_input && !t->is_initializer && t->declared.rank >= 1) t->declared.dims[0] = -1;
    }
    return DLB_OK;
}
