/* graph_build.c — build tensors, nodes and attributes of the graph IR from ONNX messages. */
#include "graph_build.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

/* ---- tensor contents ---------------------------------------------------------------------- */

static bool numel_of_dims(const int64_t *dims, size_t n, int64_t *numel) {
    int64_t p = 1;
    for (size_t i = 0; i < n; i++) {
        if (dims[i] < 0 || __builtin_mul_overflow(p, dims[i], &p)) return false;
    }
    *numel = p;
    return true;
}

static double half_to_double(uint16_t h, bool bf16) {
    if (bf16) {
        uint32_t u = (uint32_t)h << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = mant * (1.0 / (1 << 24));
    else if (exp == 31)
        v = mant ? 0.0 / 0.0 : 1.0 / 0.0;
    else
        v = (1.0 + mant / 1024.0) * (double)(1LL << exp) / (double)(1 << 15);
    return sign ? -v : v;
}

/* Element i of raw little-endian data of dtype dt, as integer or double. */
static void raw_element(const uint8_t *p, dlb_dtype dt, int64_t *iv, double *fv) {
    switch (dt) {
    case DLB_DT_F32: {
        float f;
        memcpy(&f, p, 4);
        *fv = f;
        return;
    }
    case DLB_DT_F64:
        memcpy(fv, p, 8);
        return;
    case DLB_DT_F16:
    case DLB_DT_BF16: {
        uint16_t h;
        memcpy(&h, p, 2);
        *fv = half_to_double(h, dt == DLB_DT_BF16);
        return;
    }
    case DLB_DT_S8:
        *iv = (int8_t)p[0];
        return;
    case DLB_DT_U8:
    case DLB_DT_BOOL:
        *iv = p[0];
        return;
    case DLB_DT_S16: {
        int16_t v;
        memcpy(&v, p, 2);
        *iv = v;
        return;
    }
    case DLB_DT_U16: {
        uint16_t v;
        memcpy(&v, p, 2);
        *iv = v;
        return;
    }
    case DLB_DT_S32: {
        int32_t v;
        memcpy(&v, p, 4);
        *iv = v;
        return;
    }
    case DLB_DT_U32: {
        uint32_t v;
        memcpy(&v, p, 4);
        *iv = v;
        return;
    }
    case DLB_DT_S64:
    case DLB_DT_U64:
        memcpy(iv, p, 8);
        return;
    default:
        return;
    }
}

bool dlb__tensor_proto_value(dlb_arena *a, const Onnx__TensorProto *t, dlb_value *v) {
    dlb_dtype dt = (dlb_dtype)t->data_type;
    bool is_int = dlb_dtype_is_integer(dt), is_float = dlb_dtype_is_float(dt);
    int64_t n;
    if ((!is_int && !is_float) || !numel_of_dims(t->dims, t->n_dims, &n)) return false;
    if (n > DLB_MAX_CONST_ELEMS) return false;
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return false; /* external files are never opened */
    int64_t *iv = is_int ? dlb__arena_calloc(a, (size_t)n + 1, sizeof *iv) : NULL;
    double *fv = is_float ? dlb__arena_calloc(a, (size_t)n + 1, sizeof *fv) : NULL;
    if (!iv && !fv) return false;
    int esize = dlb_dtype_size(dt);
    if (t->has_raw_data && t->raw_data.len > 0) {
        if (t->raw_data.len != (size_t)n * (size_t)esize) return false;
        for (int64_t i = 0; i < n; i++)
            raw_element(t->raw_data.data + i * esize, dt, iv ? &iv[i] : &(int64_t){0},
                        fv ? &fv[i] : &(double){0});
    } else if (dt == DLB_DT_F32 && t->n_float_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++) fv[i] = t->float_data[i];
    } else if (dt == DLB_DT_F64 && t->n_double_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++) fv[i] = t->double_data[i];
    } else if (dt == DLB_DT_S64 && t->n_int64_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++) iv[i] = t->int64_data[i];
    } else if ((dt == DLB_DT_U64 || dt == DLB_DT_U32) && t->n_uint64_data == (size_t)n) {
        for (int64_t i = 0; i < n; i++) iv[i] = (int64_t)t->uint64_data[i];
    } else if (t->n_int32_data == (size_t)n && n > 0) {
        for (int64_t i = 0; i < n; i++) {
            if (is_int)
                iv[i] = t->int32_data[i];
            else
                fv[i] = half_to_double((uint16_t)t->int32_data[i], dt == DLB_DT_BF16);
        }
    } else if (n > 0) {
        return false; /* no data in the file (stripped weights) */
    }
    v->n = n;
    v->i = iv;
    v->f = fv;
    return true;
}

/* All elements of an f32 initializer (raw_data or float_data); NULL if the file has none. */
static const float *f32_weights(dlb_graph *g, const Onnx__TensorProto *t) {
    int64_t n;
    if (!numel_of_dims(t->dims, t->n_dims, &n) || n == 0) return NULL;
    if (t->has_raw_data && t->raw_data.len == (size_t)n * 4)
        return dlb__arena_memdup(g->arena, t->raw_data.data, (size_t)n * 4);
    if (t->n_float_data == (size_t)n)
        return dlb__arena_memdup(g->arena, t->float_data, (size_t)n * 4);
    return NULL;
}

/* ---- shapes from type protos -------------------------------------------------------------- */

static void shape_from_type(const Onnx__TypeProto *tp, dlb_dtype *dt, dlb_shape *s) {
    s->rank = -1;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type && dt) *dt = (dlb_dtype)tt->elem_type;
    if (!tt->shape || tt->shape->n_dim > DLB_MAX_RANK) return;
    s->rank = (int)tt->shape->n_dim;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        s->dims[i] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                         ? d->dim_value
                         : -1;
    }
}

/* ---- attributes ---------------------------------------------------------------------------- */

static dlb_status convert_attr(dlb_graph *g, const Onnx__AttributeProto *p, dlb_attr *a,
                               dlb_node *n) {
    a->name = dlb__arena_strdup(g->arena, p->name ? p->name : "");
    if (!a->name) return DLB_ENOMEM;
    a->type = p->has_type ? (dlb_attr_type)p->type : DLB_ATTR_UNDEFINED;
    a->i = p->i;
    a->f = p->f;
    if (p->has_s) { /* protobuf-c gives data == NULL for an empty string */
        a->s = p->s.data ? dlb__arena_strndup(g->arena, (const char *)p->s.data, p->s.len)
                         : dlb__arena_strdup(g->arena, "");
        if (!a->s) return DLB_ENOMEM;
    }
    if (p->n_ints) {
        a->ints = dlb__arena_memdup(g->arena, p->ints, p->n_ints * sizeof(int64_t));
        if (!a->ints) return DLB_ENOMEM;
    }
    if (p->n_floats) {
        a->floats = dlb__arena_calloc(g->arena, p->n_floats, sizeof(double));
        if (!a->floats) return DLB_ENOMEM;
        for (size_t i = 0; i < p->n_floats; i++) a->floats[i] = p->floats[i];
    }
    /* n counts the list that the type names.  A file may carry other lists as well (ints with
     * type FLOATS, ...); readers check the type, then index ints[] or floats[] up to n. */
    size_t cnt = a->type == DLB_ATTR_INTS      ? p->n_ints
                 : a->type == DLB_ATTR_FLOATS  ? p->n_floats
                 : a->type == DLB_ATTR_STRINGS ? p->n_strings
                                               : 0;
    a->n = cnt > INT_MAX ? INT_MAX : (int)cnt;
    if (p->t) {
        const Onnx__TensorProto *t = p->t;
        a->t_type = (dlb_dtype)t->data_type;
        a->t_shape.rank = t->n_dims <= DLB_MAX_RANK ? (int)t->n_dims : -1;
        for (size_t i = 0; i < t->n_dims && i < DLB_MAX_RANK; i++) a->t_shape.dims[i] = t->dims[i];
        a->t_has_value = dlb__tensor_proto_value(g->arena, t, &a->t_value);
        if (a->type == DLB_ATTR_UNDEFINED) a->type = DLB_ATTR_TENSOR;
    }
    if (p->g || p->n_graphs) n->has_subgraph = true;
    return DLB_OK;
}

/* ---- graph assembly ------------------------------------------------------------------------ */

static int add_tensor(dlb_graph *g, const char *name, int *idx) {
    int t = dlb_graph_find_tensor(g, name);
    if (t >= 0) {
        *idx = t;
        return 0;
    }
    dlb_tensor *x = &g->tensors[g->n_tensors];
    x->name = dlb__arena_strdup(g->arena, name);
    if (!x->name) return -1;
    x->producer = -1;
    x->shape.rank = -1;
    x->declared.rank = -1;
    if (dlb__name_index_insert(g, x->name, g->n_tensors) != 0) return -1;
    *idx = g->n_tensors++;
    return 0;
}

static dlb_status add_initializers(dlb_graph *g, const dlb__graph_source *src, dlb_diag *diag) {
    for (size_t i = 0; i < src->n_inits; i++) {
        const Onnx__TensorProto *t = src->inits[i];
        const char *name = t->name ? t->name : "";
        if (dlb_graph_find_tensor(g, name) >= 0) {
            dlb_error(diag, NULL, "initializer '%s' is declared twice", name);
            return DLB_EMODEL;
        }
        int idx;
        if (add_tensor(g, name, &idx) != 0) return DLB_ENOMEM;
        dlb_tensor *x = &g->tensors[idx];
        if (t->n_dims > DLB_MAX_RANK) {
            dlb_error(diag, NULL, "initializer '%s' has rank %zu (max %d)", name, t->n_dims,
                      DLB_MAX_RANK);
            return DLB_EMODEL;
        }
        x->is_initializer = true;
        x->dtype = (dlb_dtype)t->data_type;
        x->shape.rank = (int)t->n_dims;
        for (size_t k = 0; k < t->n_dims; k++) x->shape.dims[k] = t->dims[k];
        x->is_external =
            t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        x->has_data = src->init_has_data[i] || x->is_external;
        x->is_const = dlb__tensor_proto_value(g->arena, t, &x->value);
        if (src->read_weights && x->dtype == DLB_DT_F32) x->weights = f32_weights(g, t);
    }
    return DLB_OK;
}

static dlb_status add_graph_io(dlb_graph *g, const Onnx__GraphProto *gp, dlb_diag *diag) {
    g->inputs = dlb__arena_calloc(g->arena, gp->n_input + 1, sizeof(int));
    g->outputs = dlb__arena_calloc(g->arena, gp->n_output + 1, sizeof(int));
    if (!g->inputs || !g->outputs) return DLB_ENOMEM;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        int idx;
        if (add_tensor(g, vi->name ? vi->name : "", &idx) != 0) return DLB_ENOMEM;
        dlb_tensor *x = &g->tensors[idx];
        if (x->is_initializer) { /* IR < 4 lists initializers as inputs too */
            shape_from_type(vi->type, NULL, &x->declared);
            continue;
        }
        if (x->is_input) { /* a second declaration would silently replace the first */
            dlb_error(diag, NULL, "graph input '%s' is declared twice", x->name);
            return DLB_EMODEL;
        }
        x->is_input = true;
        shape_from_type(vi->type, &x->dtype, &x->shape);
        x->declared = x->shape;
        g->inputs[g->n_inputs++] = idx;
    }
    return DLB_OK;
}

static dlb_status add_nodes(dlb_graph *g, const Onnx__GraphProto *gp, dlb_diag *diag) {
    g->nodes = dlb__arena_calloc(g->arena, gp->n_node + 1, sizeof(dlb_node));
    if (!g->nodes) return DLB_ENOMEM;
    g->n_nodes = (int)gp->n_node;
    /* First pass: producers, so that nodes may appear in any order in the file. */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *p = gp->node[i];
        dlb_node *n = &g->nodes[i];
        char fallback[48];
        snprintf(fallback, sizeof fallback, "#%zu", i);
        n->name = dlb__arena_strdup(g->arena, p->name && p->name[0] ? p->name : fallback);
        n->op_type = dlb__arena_strdup(g->arena, p->op_type ? p->op_type : "");
        n->domain = dlb__arena_strdup(g->arena, p->domain ? p->domain : "");
        n->in = dlb__arena_calloc(g->arena, p->n_input + 1, sizeof(int));
        n->out = dlb__arena_calloc(g->arena, p->n_output + 1, sizeof(int));
        n->attrs = dlb__arena_calloc(g->arena, p->n_attribute + 1, sizeof(dlb_attr));
        if (!n->name || !n->op_type || !n->domain || !n->in || !n->out || !n->attrs)
            return DLB_ENOMEM;
        if (!strcmp(n->domain, "ai.onnx")) n->domain = "";
        n->n_in = (int)p->n_input;
        n->n_out = (int)p->n_output;
        n->n_attrs = (int)p->n_attribute;
        for (size_t k = 0; k < p->n_attribute; k++) {
            dlb_status st = convert_attr(g, p->attribute[k], &n->attrs[k], n);
            if (st != DLB_OK) return st;
        }
        for (size_t k = 0; k < p->n_output; k++) {
            if (!p->output[k] || !p->output[k][0]) {
                n->out[k] = -1;
                continue;
            }
            int idx;
            if (add_tensor(g, p->output[k], &idx) != 0) return DLB_ENOMEM;
            dlb_tensor *x = &g->tensors[idx];
            if (x->producer >= 0 || x->is_initializer || x->is_input) {
                dlb_error(diag, n->name, "output '%s' is already %s", x->name,
                          x->producer >= 0 ? "produced by another node"
                                           : "a graph input or initializer");
                return DLB_EMODEL;
            }
            x->producer = (int)i;
            n->out[k] = idx;
        }
    }
    /* Second pass: inputs must refer to something. */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *p = gp->node[i];
        dlb_node *n = &g->nodes[i];
        for (size_t k = 0; k < p->n_input; k++) {
            if (!p->input[k] || !p->input[k][0]) {
                n->in[k] = -1;
                continue;
            }
            int idx = dlb_graph_find_tensor(g, p->input[k]);
            if (idx < 0) {
                dlb_error(diag, n->name,
                          "input '%s' is not produced by any node, graph input or initializer",
                          p->input[k]);
                return DLB_EMODEL;
            }
            n->in[k] = idx;
            g->tensors[idx].n_consumers++;
        }
    }
    return DLB_OK;
}

static dlb_status link_consumers(dlb_graph *g) {
    for (int t = 0; t < g->n_tensors; t++) {
        dlb_tensor *x = &g->tensors[t];
        x->consumers = dlb__arena_calloc(g->arena, (size_t)x->n_consumers + 1, sizeof(int));
        if (!x->consumers) return DLB_ENOMEM;
        x->n_consumers = 0;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int t = g->nodes[i].in[k];
            if (t >= 0) g->tensors[t].consumers[g->tensors[t].n_consumers++] = i;
        }
    return DLB_OK;
}

static dlb_status add_outputs_and_value_info(dlb_graph *g, const Onnx__GraphProto *gp,
                                             dlb_diag *diag) {
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int idx = dlb_graph_find_tensor(g, vi->name ? vi->name : "");
        if (idx < 0) {
            dlb_error(diag, NULL, "graph output '%s' is not produced by any node",
                      vi->name ? vi->name : "");
            return DLB_EMODEL;
        }
        dlb_tensor *x = &g->tensors[idx];
        x->is_output = true;
        dlb_dtype dt = x->dtype;
        shape_from_type(vi->type, &dt, &x->declared);
        if (x->dtype == DLB_DT_UNDEFINED) x->dtype = dt;
        g->outputs[g->n_outputs++] = idx;
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int idx = dlb_graph_find_tensor(g, vi->name ? vi->name : "");
        if (idx < 0) continue; /* value_info for a tensor nobody uses: harmless */
        dlb_dtype dt = DLB_DT_UNDEFINED;
        shape_from_type(vi->type, &dt, &g->tensors[idx].declared);
    }
    return DLB_OK;
}

dlb_status dlb__graph_build(const dlb__graph_source *src, const char *path, dlb_diag *diag,
                            dlb_graph **out) {
    const Onnx__GraphProto *gp = src->graph;
    dlb_graph *g = calloc(1, sizeof *g);
    if (!g) return DLB_ENOMEM;
    dlb_status st = DLB_ENOMEM;
    g->arena = dlb__arena_new();
    if (!g->arena) goto fail;
    size_t cap = src->n_inits + gp->n_input + gp->n_output + 1;
    for (size_t i = 0; i < gp->n_node; i++) cap += gp->node[i]->n_output;
    g->tensors = dlb__arena_calloc(g->arena, cap, sizeof(dlb_tensor));
    if (!g->tensors || dlb__name_index_build(g) != 0) goto fail;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    g->path = dlb__arena_strdup(g->arena, path);
    g->name = dlb__arena_strndup(g->arena, base,
                                 dot && dot != base ? (size_t)(dot - base) : strlen(base));
    if (!g->path || !g->name) goto fail;
    g->opset = src->opset;
    g->ir_version = src->ir_version;
    if ((st = add_initializers(g, src, diag)) != DLB_OK) goto fail;
    if ((st = add_graph_io(g, gp, diag)) != DLB_OK) goto fail;
    if ((st = add_nodes(g, gp, diag)) != DLB_OK) goto fail;
    if ((st = add_outputs_and_value_info(g, gp, diag)) != DLB_OK) goto fail;
    if ((st = link_consumers(g)) != DLB_OK) goto fail;
    if (g->n_nodes == 0) {
        dlb_error(diag, NULL, "graph has no nodes");
        st = DLB_EMODEL;
        goto fail;
    }
    if ((st = dlb__graph_toposort(g, diag)) != DLB_OK) goto fail;
    *out = g;
    return DLB_OK;
fail:
    dlb_graph_free(g);
    return st;
}
