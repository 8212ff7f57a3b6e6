/* onnx_mutator.c — structure-aware libFuzzer mutator for ONNX models (fuzz_pipeline only).
 *
 * Byte-level mutations of a protobuf rarely make a model that still decodes and yet is hostile
 * in an interesting way.  This mutator decodes the input as a ModelProto (protobuf-c, the same
 * generated code as the loader), applies one to three edits of the kinds that hostile models are
 * made of, and encodes it again: omitted ("") or rewired node inputs and outputs, attributes
 * with another type or extreme values, added and removed attributes, other op types, extreme
 * or symbolic dims, other dtypes, value_info shapes for outputs that shape inference cannot
 * resolve (the fallback the lowering then trusts), small integer constants, deleted, duplicated
 * and reordered nodes, other opsets.  A third of the time, or when the input does not decode,
 * libFuzzer's own byte-level mutation is used.  Memory: every string and array is malloc'd,
 * as protobuf-c's default allocator does, so free_unpacked releases edited messages too. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* ---- randomness and interesting values -------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s >> 16);
}

static size_t below(rng *r, size_t n) {
    return n ? rnd(r) % n : 0;
}

static int64_t interesting_int(rng *r) {
    /* clang-format off */
    static const int64_t v[] = {0, 1, -1, 2, 3, -2, -3, 7, 8, 16, 255, 4096, 65536, INT32_MAX,
                                INT32_MIN, 1LL << 31, 1LL << 32, 1LL << 40, 1LL << 62, INT64_MAX,
                                INT64_MIN, INT64_MAX - 1, -(1LL << 40)};
    /* clang-format on */
    return v[below(r, sizeof v / sizeof *v)];
}

static float interesting_float(rng *r) {
    static const float v[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 1e-5f, 1e30f, -1e30f, 3.4e38f, 6.0f};
    size_t k = below(r, sizeof v / sizeof *v + 2);
    if (k == sizeof v / sizeof *v) return NAN;
    if (k > sizeof v / sizeof *v) return INFINITY;
    return v[k];
}

/* clang-format off */
static const char *const OPS[] = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "MaxPool", "AveragePool", "GlobalAveragePool",
    "Relu", "Sigmoid", "Add", "Mul", "Sub", "Div", "Concat", "Reshape", "Flatten", "Transpose",
    "Squeeze", "Unsqueeze", "Slice", "Split", "Pad", "Resize", "Gather", "Shape", "Constant",
    "ConstantOfShape", "Range", "Expand", "Tile", "ReduceMean", "Softmax", "LayerNormalization",
    "BatchNormalization", "Clip", "Cast", "Where", "Identity", "Einsum", "LRN", "Erf", "Pow",
    "Sqrt", "DepthToSpace", "SpaceToDepth", "TopK", "ArgMax", "InstanceNormalization",
    "Upsample", "If", "Loop", "FooBar", "HardSigmoid", "HardSwish", "Size"};

static const char *const ATTRS[] = {
    "axis", "axes", "perm", "kernel_shape", "strides", "pads", "dilations", "group", "auto_pad",
    "mode", "keepdims", "epsilon", "alpha", "beta", "to", "value", "split", "starts", "ends",
    "ceil_mode", "transA", "transB", "size", "blocksize", "allowzero", "num_outputs",
    "output_shape", "output_padding", "count_include_pad", "min", "max", "equation", "scales",
    "then_branch", "value_ints", "value_float"};

static const char *const STRINGS[] = {
    "", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "nearest", "linear", "cubic", "reflect",
    "edge", "constant", "ij,jk->ik", "..."};
/* clang-format on */

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* Replace *slot by a copy of s (on out-of-memory, keep the old string). */
static void set_str(char **slot, const char *s) {
    char *p = xstrdup(s);
    if (!p) return;
    free(*slot);
    *slot = p;
}

/* Grow a malloc'd array of n elements of size sz to n+1 (zeroed); NULL on failure. */
static void *grow(void *arr, size_t n, size_t sz) {
    char *p = realloc(arr, (n + 1) * sz);
    if (p) memset(p + n * sz, 0, sz);
    return p;
}

/* ---- names of the graph's tensors --------------------------------------------------------- */

static const char *random_name(rng *r, const Onnx__GraphProto *g) {
    size_t n = g->n_input + g->n_initializer;
    for (size_t i = 0; i < g->n_node; i++) n += g->node[i]->n_output;
    if (!n) return "x";
    size_t k = below(r, n);
    if (k < g->n_input) return g->input[k]->name ? g->input[k]->name : "";
    k -= g->n_input;
    if (k < g->n_initializer) return g->initializer[k]->name ? g->initializer[k]->name : "";
    k -= g->n_initializer;
    for (size_t i = 0; i < g->n_node; i++) {
        if (k < g->node[i]->n_output) return g->node[i]->output[k] ? g->node[i]->output[k] : "";
        k -= g->node[i]->n_output;
    }
    return "";
}

/* ---- edits -------------------------------------------------------------------------------- */

static Onnx__NodeProto *random_node(rng *r, Onnx__GraphProto *g) {
    return g->n_node ? g->node[below(r, g->n_node)] : NULL;
}

static void edit_io_list(rng *r, Onnx__GraphProto *g, size_t *n, char ***list) {
    char name[32];
    const char *s;
    switch (below(r, 5)) {
    case 0: /* omit */
        s = "";
        break;
    case 1: /* a name nobody produces, or a fresh output */
        snprintf(name, sizeof name, "t%u", (unsigned)below(r, 64));
        s = name;
        break;
    default:
        s = random_name(r, g);
    }
    if (*n == 0 || below(r, 4) == 0) { /* append */
        char **p = grow(*list, *n, sizeof *p);
        if (!p) return;
        *list = p;
        p[*n] = xstrdup(s);
        if (p[*n]) (*n)++;
        return;
    }
    if (below(r, 6) == 0) { /* drop the last one */
        free((*list)[--*n]);
        return;
    }
    set_str(&(*list)[below(r, *n)], s);
}

static void fill_attr_value(rng *r, Onnx__AttributeProto *a) {
    a->has_type = 1;
    switch (below(r, 8)) {
    case 0:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = interesting_int(r);
        break;
    case 1:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = interesting_float(r);
        break;
    case 2: {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        const char *s = STRINGS[below(r, sizeof STRINGS / sizeof *STRINGS)];
        uint8_t *p = malloc(strlen(s) + 1);
        if (!p) return;
        memcpy(p, s, strlen(s) + 1);
        if (a->has_s) free(a->s.data);
        a->has_s = 1;
        a->s.data = p;
        a->s.len = strlen(s);
        break;
    }
    case 3: { /* FLOATS */
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        size_t n = below(r, 9);
        float *f = malloc((n ? n : 1) * sizeof *f);
        if (!f) return;
        for (size_t i = 0; i < n; i++) f[i] = below(r, 2) ? interesting_float(r) : 1.0f;
        free(a->floats);
        a->floats = f;
        a->n_floats = n;
        break;
    }
    case 4: /* only the declared type changes: the fields no longer match it */
        a->type = (Onnx__AttributeProto__AttributeType)(1 + below(r, 14));
        break;
    default: { /* INTS, the most common kind of geometry */
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        size_t n = below(r, 11);
        int64_t *v = malloc((n ? n : 1) * sizeof *v);
        if (!v) return;
        for (size_t i = 0; i < n; i++)
            v[i] = below(r, 3) ? (int64_t)below(r, 4) - 1 : interesting_int(r);
        free(a->ints);
        a->ints = v;
        a->n_ints = n;
    }
    }
}

static void edit_attr(rng *r, Onnx__GraphProto *g) {
    Onnx__NodeProto *n = random_node(r, g);
    if (!n) return;
    size_t what = below(r, 4);
    if (what == 0 || n->n_attribute == 0) { /* add one */
        Onnx__AttributeProto **p = grow(n->attribute, n->n_attribute, sizeof *p);
        if (!p) return;
        n->attribute = p;
        Onnx__AttributeProto *a = malloc(sizeof *a);
        if (!a) return;
        onnx__attribute_proto__init(a);
        a->name = xstrdup(ATTRS[below(r, sizeof ATTRS / sizeof *ATTRS)]);
        if (!a->name) {
            free(a);
            return;
        }
        fill_attr_value(r, a);
        p[n->n_attribute++] = a;
        return;
    }
    size_t k = below(r, n->n_attribute);
    Onnx__AttributeProto *a = n->attribute[k];
    if (what == 1) { /* remove it */
        onnx__attribute_proto__free_unpacked(a, NULL);
        n->attribute[k] = n->attribute[--n->n_attribute];
        return;
    }
    if (what == 2 && a->n_ints) { /* one element of a list */
        a->ints[below(r, a->n_ints)] = interesting_int(r);
        return;
    }
    fill_attr_value(r, a);
}

/* Shape of a value info: created when absent, then one dim edited, added or removed. */
static void edit_type(rng *r, Onnx__ValueInfoProto *vi) {
    if (!vi->type) {
        vi->type = malloc(sizeof *vi->type);
        if (!vi->type) return;
        onnx__type_proto__init(vi->type);
    }
    Onnx__TypeProto *tp = vi->type;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        if (tp->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET) return; /* sequences etc. */
        tp->tensor_type = malloc(sizeof *tp->tensor_type);
        if (!tp->tensor_type) return;
        onnx__type_proto__tensor__init(tp->tensor_type);
        tp->tensor_type->has_elem_type = 1;
        tp->tensor_type->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    }
    Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (below(r, 6) == 0) { /* another dtype */
        tt->has_elem_type = 1;
        tt->elem_type = (int32_t)below(r, 18);
        return;
    }
    if (!tt->shape) {
        tt->shape = malloc(sizeof *tt->shape);
        if (!tt->shape) return;
        onnx__tensor_shape_proto__init(tt->shape);
    }
    Onnx__TensorShapeProto *s = tt->shape;
    size_t what = below(r, 5);
    if (what == 0 || s->n_dim == 0) { /* add a dim */
        Onnx__TensorShapeProto__Dimension **p = grow(s->dim, s->n_dim, sizeof *p);
        if (!p) return;
        s->dim = p;
        Onnx__TensorShapeProto__Dimension *d = malloc(sizeof *d);
        if (!d) return;
        onnx__tensor_shape_proto__dimension__init(d);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = below(r, 2) ? (int64_t)below(r, 8) + 1 : interesting_int(r);
        p[s->n_dim++] = d;
        return;
    }
    size_t k = below(r, s->n_dim);
    Onnx__TensorShapeProto__Dimension *d = s->dim[k];
    if (what == 1) { /* remove it */
        protobuf_c_message_free_unpacked(&d->base, NULL);
        s->dim[k] = s->dim[--s->n_dim];
        return;
    }
    if (what == 2) { /* symbolic */
        char *p = xstrdup("N");
        if (!p) return;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            free(d->dim_param);
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = p;
        return;
    }
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) free(d->dim_param);
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = interesting_int(r);
}

/* A value_info (or graph output) for some node output, with the shape of another tensor or an
 * edited one: the shape inference falls back to it when it cannot resolve the node. */
static void add_value_info(rng *r, Onnx__GraphProto *g) {
    Onnx__NodeProto *n = random_node(r, g);
    if (!n || !n->n_output) return;
    const char *name = n->output[below(r, n->n_output)];
    if (!name || !name[0]) return;
    Onnx__ValueInfoProto *vi = NULL;
    /* Copy the type of an existing value info (pack + unpack is a deep copy). */
    size_t nv = g->n_input + g->n_value_info + g->n_output;
    if (nv) {
        size_t k = below(r, nv);
        const Onnx__ValueInfoProto *src = k < g->n_input ? g->input[k]
                                          : k < g->n_input + g->n_value_info
                                              ? g->value_info[k - g->n_input]
                                              : g->output[k - g->n_input - g->n_value_info];
        size_t len = onnx__value_info_proto__get_packed_size(src);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) return;
        onnx__value_info_proto__pack(src, buf);
        vi = onnx__value_info_proto__unpack(NULL, len, buf);
        free(buf);
    } else {
        vi = malloc(sizeof *vi);
        if (vi) onnx__value_info_proto__init(vi);
    }
    if (!vi) return;
    set_str(&vi->name, name);
    if (below(r, 2)) edit_type(r, vi);
    bool as_output = below(r, 4) == 0;
    size_t *cnt = as_output ? &g->n_output : &g->n_value_info;
    Onnx__ValueInfoProto ***arr = as_output ? &g->output : &g->value_info;
    Onnx__ValueInfoProto **p = grow(*arr, *cnt, sizeof *p);
    if (!p || !vi->name) {
        if (p) *arr = p;
        onnx__value_info_proto__free_unpacked(vi, NULL);
        return;
    }
    *arr = p;
    p[(*cnt)++] = vi;
}

static void edit_value_info(rng *r, Onnx__GraphProto *g) {
    size_t nv = g->n_input + g->n_value_info + g->n_output;
    if (!nv) return;
    size_t k = below(r, nv);
    Onnx__ValueInfoProto *vi = k < g->n_input ? g->input[k]
                               : k < g->n_input + g->n_value_info
                                   ? g->value_info[k - g->n_input]
                                   : g->output[k - g->n_input - g->n_value_info];
    edit_type(r, vi);
}

/* An initializer: other dims or dtype, or a small integer constant (shape arithmetic). */
static void edit_initializer(rng *r, Onnx__GraphProto *g) {
    if (!g->n_initializer) return;
    Onnx__TensorProto *t = g->initializer[below(r, g->n_initializer)];
    switch (below(r, 4)) {
    case 0:
        t->has_data_type = 1;
        t->data_type = (int32_t)below(r, 18);
        return;
    case 1:
        if (t->n_dims) {
            t->dims[below(r, t->n_dims)] = below(r, 2) ? (int64_t)below(r, 4) : interesting_int(r);
            return;
        }
        /* fall through */
    default: {
        size_t n = 1 + below(r, 4);
        int64_t *v = malloc(n * sizeof *v), *dims = malloc(sizeof *dims);
        if (!v || !dims) {
            free(v);
            free(dims);
            return;
        }
        for (size_t i = 0; i < n; i++)
            v[i] = below(r, 2) ? (int64_t)below(r, 6) - 2 : interesting_int(r);
        dims[0] = (int64_t)n;
        free(t->dims);
        t->dims = dims;
        t->n_dims = below(r, 8) ? 1 : 0;
        free(t->int64_data);
        t->int64_data = v;
        t->n_int64_data = n;
        if (t->has_raw_data) free(t->raw_data.data);
        t->has_raw_data = 0;
        t->raw_data = (ProtobufCBinaryData){0, NULL};
        free(t->float_data);
        t->float_data = NULL;
        t->n_float_data = 0;
        t->has_data_type = 1;
        t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    }
    }
}

static void edit_nodes(rng *r, Onnx__GraphProto *g) {
    if (!g->n_node) return;
    size_t k = below(r, g->n_node);
    switch (below(r, 3)) {
    case 0: /* delete */
        onnx__node_proto__free_unpacked(g->node[k], NULL);
        memmove(&g->node[k], &g->node[k + 1], (g->n_node - k - 1) * sizeof *g->node);
        g->n_node--;
        return;
    case 1: { /* swap two */
        size_t j = below(r, g->n_node);
        Onnx__NodeProto *t = g->node[k];
        g->node[k] = g->node[j];
        g->node[j] = t;
        return;
    }
    default: { /* duplicate (a deep copy), its outputs renamed or not */
        size_t len = onnx__node_proto__get_packed_size(g->node[k]);
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf) return;
        onnx__node_proto__pack(g->node[k], buf);
        Onnx__NodeProto *c = onnx__node_proto__unpack(NULL, len, buf);
        free(buf);
        Onnx__NodeProto **p = c ? grow(g->node, g->n_node, sizeof *p) : NULL;
        if (!p) {
            if (c) onnx__node_proto__free_unpacked(c, NULL);
            return;
        }
        g->node = p;
        for (size_t o = 0; o < c->n_output && below(r, 4); o++) {
            char name[48];
            snprintf(name, sizeof name, "dup%zu_%zu", g->n_node, o);
            set_str(&c->output[o], name);
        }
        p[g->n_node++] = c;
    }
    }
}

static void edit_model(rng *r, Onnx__ModelProto *m) {
    Onnx__GraphProto *g = m->graph;
    Onnx__NodeProto *n;
    switch (below(r, 12)) {
    case 0:
    case 1:
        if ((n = random_node(r, g))) edit_io_list(r, g, &n->n_input, &n->input);
        break;
    case 2:
        if ((n = random_node(r, g))) edit_io_list(r, g, &n->n_output, &n->output);
        break;
    case 3:
    case 4:
        edit_attr(r, g);
        break;
    case 5:
        if ((n = random_node(r, g))) set_str(&n->op_type, OPS[below(r, sizeof OPS / sizeof *OPS)]);
        break;
    case 6:
        edit_value_info(r, g);
        break;
    case 7:
    case 8:
        add_value_info(r, g);
        break;
    case 9:
        edit_initializer(r, g);
        break;
    case 10:
        edit_nodes(r, g);
        break;
    default:
        for (size_t i = 0; i < m->n_opset_import; i++)
            if (!m->opset_import[i]->domain || !m->opset_import[i]->domain[0]) {
                m->opset_import[i]->has_version = 1;
                m->opset_import[i]->version = 10 + (int64_t)below(r, 10);
            }
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    rng r = {.s = 0x9e3779b97f4a7c15ull ^ seed};
    if (below(&r, 3) == 0) return LLVMFuzzerMutate(data, size, max_size);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
    if (!m || !m->graph) {
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    for (size_t k = 1 + below(&r, 3); k > 0; k--) edit_model(&r, m);
    size_t len = onnx__model_proto__get_packed_size(m);
    if (len > max_size) {
        onnx__model_proto__free_unpacked(m, NULL);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    len = onnx__model_proto__pack(m, data);
    onnx__model_proto__free_unpacked(m, NULL);
    return len;
}
