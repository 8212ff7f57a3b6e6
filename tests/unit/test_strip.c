/* test_strip.c — dlb_onnx_strip_weights: a model with real weights, the zoo, malformed input. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>

#include "dlbricks/graph.h"
#include "onnx.pb-c.h"
#include "test_util.h"

/* ---- building models with protobuf-c (every allocation is freed by pool_free) ------------- */

static void *pool[4096];
static int n_pool;

static void *alloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p || n_pool == (int)(sizeof pool / sizeof *pool)) abort();
    pool[n_pool++] = p;
    return p;
}

static void pool_free(void) {
    while (n_pool > 0) free(pool[--n_pool]);
}

#define NEW(T, INIT) memcpy(alloc(sizeof(T)), &(T)INIT, sizeof(T))

static void **ptrs(int n, ...) {
    void **a = alloc((size_t)n * sizeof *a);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) a[i] = va_arg(ap, void *);
    va_end(ap);
    return a;
}

static Onnx__TensorProto *tensor(const char *name, int dtype, int rank, const int64_t *dims) {
    Onnx__TensorProto *t = NEW(Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = alloc((size_t)rank * sizeof(int64_t));
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof(int64_t));
    return t;
}

static int64_t numel(const Onnx__TensorProto *t) {
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) n *= t->dims[i];
    return n;
}

/* f32 data as raw_data bytes or as (packed) float_data. */
static Onnx__TensorProto *f32_tensor(const char *name, int rank, const int64_t *dims, bool raw) {
    Onnx__TensorProto *t = tensor(name, 1, rank, dims);
    size_t n = (size_t)numel(t);
    float *v = alloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (float)(i % 97) * 0.01f - 0.3f;
    if (raw) {
        t->has_raw_data = 1;
        t->raw_data = (ProtobufCBinaryData){n * sizeof *v, (uint8_t *)v};
    } else {
        t->n_float_data = n;
        t->float_data = v;
    }
    return t;
}

static Onnx__ValueInfoProto *value_info(const char *name, int rank, const int64_t *dims) {
    Onnx__TensorShapeProto *s = NEW(Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
    s->n_dim = (size_t)rank;
    s->dim = alloc((size_t)rank * sizeof *s->dim);
    for (int i = 0; i < rank; i++) {
        s->dim[i] =
            NEW(Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
        s->dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        s->dim[i]->dim_value = dims[i];
    }
    Onnx__TypeProto__Tensor *tt = NEW(Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
    tt->has_elem_type = 1;
    tt->elem_type = 1;
    tt->shape = s;
    Onnx__TypeProto *tp = NEW(Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    Onnx__ValueInfoProto *vi = NEW(Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
    vi->name = (char *)name;
    vi->type = tp;
    return vi;
}

static Onnx__AttributeProto *attr(const char *name, int type) {
    Onnx__AttributeProto *a = NEW(Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    return a;
}

static Onnx__AttributeProto *attr_ints(const char *name, int n, const int64_t *v) {
    Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)n;
    a->ints = alloc((size_t)n * sizeof(int64_t));
    memcpy(a->ints, v, (size_t)n * sizeof(int64_t));
    return a;
}

static Onnx__NodeProto *node(const char *op, const char *name, int n_in, char **in, char *out) {
    Onnx__NodeProto *n = NEW(Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
    n->op_type = (char *)op;
    n->name = (char *)name;
    n->n_input = (size_t)n_in;
    n->input = in;
    n->n_output = 1;
    n->output = (char **)ptrs(1, out);
    return n;
}

/* If branch: a graph whose only output is a big f32 initializer passed through Identity. */
static Onnx__GraphProto *branch(const char *init, const char *out) {
    static const int64_t d[2] = {64, 64};
    Onnx__GraphProto *g = NEW(Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
    g->name = (char *)out;
    g->n_initializer = 1;
    g->initializer = (Onnx__TensorProto **)ptrs(1, f32_tensor(init, 2, d, true));
    g->n_node = 1;
    g->node = (Onnx__NodeProto **)ptrs(
        1, node("Identity", out, 1, (char **)ptrs(1, (char *)init), (char *)out));
    g->n_output = 1;
    g->output = (Onnx__ValueInfoProto **)ptrs(1, value_info(out, 2, d));
    return g;
}

/* Conv with a 64x64x3x3 weight (raw_data), Reshape by an int64 initializer, Constant with a
 * 64x64 float tensor, If with a 64x64 initializer in each branch, a sparse initializer, an
 * external-data initializer and a model-local function holding a big Constant. */
static uint8_t *make_model(size_t *len, size_t *big_payload) {
    static const int64_t dw[4] = {64, 64, 3, 3}, db[1] = {64}, ds[1] = {2}, dc[2] = {64, 64};
    static const int64_t dx[4] = {1, 64, 16, 16}, dz[2] = {1, 16384}, de[1] = {1000};
    static const int64_t dsp[2] = {100, 100}, dnz[1] = {2000}, pads[4] = {1, 1, 1, 1};
    static const int64_t ks[2] = {3, 3};
    Onnx__TensorProto *w = f32_tensor("W", 4, dw, true), *b = f32_tensor("B", 1, db, false);
    Onnx__TensorProto *s = tensor("S", 7, 1, ds), *cond = tensor("cond", 9, 0, NULL);
    s->n_int64_data = 2;
    s->int64_data = alloc(2 * sizeof(int64_t));
    s->int64_data[0] = 1;
    s->int64_data[1] = -1;
    cond->has_raw_data = 1;
    cond->raw_data = (ProtobufCBinaryData){1, (uint8_t *)"\1"};
    Onnx__TensorProto *e = tensor("E", 1, 1, de);
    e->has_data_location = 1;
    e->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto *loc =
        NEW(Onnx__StringStringEntryProto, ONNX__STRING_STRING_ENTRY_PROTO__INIT);
    loc->key = (char *)"location";
    loc->value = (char *)"E.bin";
    e->n_external_data = 1;
    e->external_data = (Onnx__StringStringEntryProto **)ptrs(1, loc);

    Onnx__SparseTensorProto *sp = NEW(Onnx__SparseTensorProto, ONNX__SPARSE_TENSOR_PROTO__INIT);
    sp->values = f32_tensor("SP", 1, dnz, false);
    sp->indices = tensor("SP_idx", 7, 1, dnz);
    int64_t *idx = alloc(2000 * sizeof(int64_t));
    for (int i = 0; i < 2000; i++) idx[i] = i * 5;
    sp->indices->has_raw_data = 1;
    sp->indices->raw_data = (ProtobufCBinaryData){2000 * sizeof(int64_t), (uint8_t *)idx};
    sp->n_dims = 2;
    sp->dims = (int64_t *)dsp;

    Onnx__NodeProto *conv =
        node("Conv", "conv", 3, (char **)ptrs(3, (char *)"X", (char *)"W", (char *)"B"), "Y");
    conv->n_attribute = 2;
    conv->attribute = (Onnx__AttributeProto **)ptrs(2, attr_ints("pads", 4, pads),
                                                    attr_ints("kernel_shape", 2, ks));
    Onnx__NodeProto *reshape =
        node("Reshape", "reshape", 2, (char **)ptrs(2, (char *)"Y", (char *)"S"), "Z");
    Onnx__AttributeProto *cv = attr("value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    cv->t = f32_tensor("C_value", 2, dc, false);
    Onnx__NodeProto *cst = node("Constant", "const", 0, NULL, "C");
    cst->n_attribute = 1;
    cst->attribute = (Onnx__AttributeProto **)ptrs(1, cv);
    Onnx__AttributeProto *then_a =
        attr("then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    Onnx__AttributeProto *else_a =
        attr("else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    then_a->g = branch("T_then", "t_out");
    else_a->g = branch("T_else", "e_out");
    Onnx__NodeProto *iff = node("If", "if", 1, (char **)ptrs(1, (char *)"cond"), "I");
    iff->n_attribute = 2;
    iff->attribute = (Onnx__AttributeProto **)ptrs(2, then_a, else_a);

    Onnx__GraphProto *g = NEW(Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
    g->name = (char *)"strip_test";
    g->n_node = 4;
    g->node = (Onnx__NodeProto **)ptrs(4, conv, reshape, cst, iff);
    g->n_initializer = 5;
    g->initializer = (Onnx__TensorProto **)ptrs(5, w, b, s, cond, e);
    g->n_sparse_initializer = 1;
    g->sparse_initializer = (Onnx__SparseTensorProto **)ptrs(1, sp);
    g->n_input = 1;
    g->input = (Onnx__ValueInfoProto **)ptrs(1, value_info("X", 4, dx));
    g->n_output = 3;
    g->output = (Onnx__ValueInfoProto **)ptrs(3, value_info("Z", 2, dz), value_info("C", 2, dc),
                                              value_info("I", 2, dc));

    Onnx__AttributeProto *fv = attr("value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    fv->t = f32_tensor("F_value", 2, dc, true);
    Onnx__NodeProto *fc = node("Constant", "fconst", 0, NULL, "F");
    fc->n_attribute = 1;
    fc->attribute = (Onnx__AttributeProto **)ptrs(1, fv);
    Onnx__FunctionProto *fn = NEW(Onnx__FunctionProto, ONNX__FUNCTION_PROTO__INIT);
    fn->name = (char *)"fn";
    fn->domain = (char *)"custom";
    fn->n_output = 1;
    fn->output = (char **)ptrs(1, (char *)"F");
    fn->n_node = 1;
    fn->node = (Onnx__NodeProto **)ptrs(1, fc);

    Onnx__OperatorSetIdProto *op = NEW(Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT);
    op->domain = (char *)"";
    op->has_version = 1;
    op->version = 13;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.producer_name = (char *)"test_strip";
    m.n_opset_import = 1;
    m.opset_import = (Onnx__OperatorSetIdProto **)ptrs(1, op);
    m.graph = g;
    m.n_functions = 1;
    m.functions = (Onnx__FunctionProto **)ptrs(1, fn);

    /* W, Constant value, both branches, function constant, sparse values and indices. */
    *big_payload = 64 * 64 * 9 * 4 + 4 * 64 * 64 * 4 + 2000 * 4 + 2000 * 8;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(*len);
    if (!buf) abort();
    onnx__model_proto__pack(&m, buf);
    pool_free();
    return buf;
}

/* ---- comparing what the loader makes of two buffers ---------------------------------------- */

static dlb_graph *load(const void *data, size_t len, const char *path, test_diag_buf *buf) {
    dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = buf};
    dlb_graph *g = NULL;
    dlb_status st = dlb_graph_load_buffer(data, len, path, &d, &g);
    if (st == DLB_OK) dlb_graph_apply_batch(g, 0); /* symbolic batch: 1, as the tool does */
    if (st == DLB_OK) st = dlb_graph_infer_shapes(g, &d);
    if (st != DLB_OK) {
        fprintf(stderr, "%s: %s\n%s", path, dlb_errname(st), buf->text);
        dlb_graph_free(g);
        return NULL;
    }
    return g;
}

/* Same nodes and tensors, same shapes everywhere; same constants when \p same_consts. */
static void compare_graphs(const void *a, size_t na, const void *b, size_t nb, const char *path,
                           bool same_consts) {
    test_diag_buf ba = {0}, bb = {0};
    dlb_graph *ga = load(a, na, path, &ba), *gb = load(b, nb, path, &bb);
    ASSERT(ga != NULL && gb != NULL);
    if (ga && gb) {
        ASSERT_EQ_INT(ga->n_nodes, gb->n_nodes);
        ASSERT_EQ_INT(ga->n_tensors, gb->n_tensors);
        ASSERT_EQ_INT(ga->n_outputs, gb->n_outputs);
        ASSERT_EQ_INT(ga->shapes_ok, gb->shapes_ok);
        for (int i = 0; i < ga->n_outputs && i < gb->n_outputs; i++) {
            const dlb_tensor *x = &ga->tensors[ga->outputs[i]], *y = &gb->tensors[gb->outputs[i]];
            ASSERT_STREQ(x->name, y->name);
            ASSERT(dlb_shape_known(&x->shape));
            if (!dlb_shape_equal(&x->shape, &y->shape)) fprintf(stderr, "%s: %s\n", path, x->name);
            ASSERT(dlb_shape_equal(&x->shape, &y->shape));
        }
        for (int i = 0; i < ga->n_tensors && i < gb->n_tensors; i++) {
            const dlb_tensor *x = &ga->tensors[i], *y = &gb->tensors[i];
            ASSERT(dlb_shape_equal(&x->shape, &y->shape));
            ASSERT_EQ_INT(x->dtype, y->dtype);
            if (same_consts) ASSERT_EQ_INT(x->is_const, y->is_const);
        }
        if (same_consts) ASSERT_STREQ(ba.text, bb.text);
    }
    dlb_graph_free(ga);
    dlb_graph_free(gb);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const Onnx__TensorProto *find_init(const Onnx__GraphProto *g, const char *name) {
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, name)) return g->initializer[i];
    return NULL;
}

static bool no_data(const Onnx__TensorProto *t) {
    return t && !t->has_raw_data && !t->n_float_data && !t->n_int32_data && !t->n_string_data &&
           !t->n_int64_data && !t->n_double_data && !t->n_uint64_data;
}

static void test_weighted_model(void) {
    size_t len, big;
    uint8_t *orig = make_model(&len, &big);
    void *out = NULL;
    size_t out_len = 0;
    ASSERT_EQ_INT(dlb_onnx_strip_weights(orig, len, 4096, &out, &out_len), DLB_OK);
    ASSERT(out != NULL);
    if (!out) return;
    printf("weighted model: %zu -> %zu bytes (%zu bytes of large tensor data)\n", len, out_len,
           big);
    /* Smaller by the payloads plus a few bytes of tags and length prefixes per tensor. */
    ASSERT(len - out_len >= big);
    ASSERT(len - out_len <= big + 128);

    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, out_len, out);
    ASSERT(m != NULL && m->graph != NULL);
    if (m && m->graph) {
        const Onnx__GraphProto *g = m->graph;
        ASSERT_EQ_INT(m->ir_version, 7);
        ASSERT_STREQ(m->producer_name, "test_strip");
        ASSERT_EQ_INT(g->n_node, 4);
        ASSERT_EQ_INT(g->n_initializer, 5);
        const Onnx__TensorProto *w = find_init(g, "W"), *b = find_init(g, "B");
        const Onnx__TensorProto *s = find_init(g, "S"), *c = find_init(g, "cond");
        const Onnx__TensorProto *e = find_init(g, "E");
        ASSERT(w && no_data(w) && w->n_dims == 4 && w->data_type == 1);
        if (w) ASSERT(w->dims[0] == 64 && w->dims[1] == 64 && w->dims[2] == 3 && w->dims[3] == 3);
        ASSERT(b && b->n_float_data == 64);
        ASSERT(s && s->n_int64_data == 2 && s->int64_data[0] == 1 && s->int64_data[1] == -1);
        ASSERT(c && c->has_raw_data && c->raw_data.len == 1 && c->data_type == 9);
        ASSERT(e && e->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL);
        ASSERT(e && e->n_external_data == 1 && !strcmp(e->external_data[0]->value, "E.bin"));
        const Onnx__TensorProto *cv = g->node[2]->attribute[0]->t;
        ASSERT(no_data(cv) && cv->n_dims == 2 && !strcmp(cv->name, "C_value"));
        const Onnx__NodeProto *iff = g->node[3];
        ASSERT_EQ_INT(iff->n_attribute, 2);
        for (size_t k = 0; k < iff->n_attribute && k < 2; k++) {
            const Onnx__GraphProto *br = iff->attribute[k]->g;
            ASSERT(br && br->n_initializer == 1 && br->n_node == 1 && br->n_output == 1);
            if (br && br->n_initializer == 1)
                ASSERT(no_data(br->initializer[0]) && br->initializer[0]->n_dims == 2);
        }
        ASSERT_EQ_INT(g->n_sparse_initializer, 1);
        if (g->n_sparse_initializer == 1) {
            const Onnx__SparseTensorProto *sp = g->sparse_initializer[0];
            ASSERT(sp->n_dims == 2 && sp->dims[0] == 100 && sp->dims[1] == 100);
            ASSERT(no_data(sp->values) && sp->values->n_dims == 1 && sp->values->dims[0] == 2000);
            ASSERT(no_data(sp->indices) && !strcmp(sp->indices->name, "SP_idx"));
        }
        ASSERT_EQ_INT(m->n_functions, 1);
        if (m->n_functions == 1) ASSERT(no_data(m->functions[0]->node[0]->attribute[0]->t));
    }
    if (m) onnx__model_proto__free_unpacked(m, NULL);

    compare_graphs(orig, len, out, out_len, "strip_test.onnx", false);

    /* Stripping is idempotent, and with nothing to strip the bytes come back unchanged. */
    void *again = NULL, *same = NULL;
    size_t again_len = 0, same_len = 0;
    ASSERT_EQ_INT(dlb_onnx_strip_weights(out, out_len, 4096, &again, &again_len), DLB_OK);
    ASSERT(again_len == out_len && again && !memcmp(again, out, out_len));
    ASSERT_EQ_INT(dlb_onnx_strip_weights(orig, len, SIZE_MAX, &same, &same_len), DLB_OK);
    ASSERT(same_len == len && same && !memcmp(same, orig, len));
    /* max_keep = 0 removes the small ones too (but not the external reference). */
    void *all = NULL;
    size_t all_len = 0;
    ASSERT_EQ_INT(dlb_onnx_strip_weights(orig, len, 0, &all, &all_len), DLB_OK);
    m = all ? onnx__model_proto__unpack(NULL, all_len, all) : NULL;
    ASSERT(m != NULL);
    if (m) {
        ASSERT(no_data(find_init(m->graph, "S")) && no_data(find_init(m->graph, "B")));
        ASSERT_EQ_INT(find_init(m->graph, "E")->n_external_data, 1);
        onnx__model_proto__free_unpacked(m, NULL);
    }
    free(all);
    free(same);
    free(again);
    free(out);
    free(orig);
}

static int zoo_dir(const char *dir, size_t *in_total, size_t *out_total) {
    DIR *d = opendir(dir);
    ASSERT(d != NULL);
    if (!d) return 0;
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        size_t l = strlen(ent->d_name);
        if (l < 6 || strcmp(ent->d_name + l - 5, ".onnx") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        FILE *f = fopen(path, "rb");
        ASSERT(f != NULL);
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
        ASSERT(buf && size > 0 && fread(buf, 1, (size_t)size, f) == (size_t)size);
        fclose(f);
        void *out = NULL;
        size_t out_len = 0;
        dlb_status st = dlb_onnx_strip_weights(buf, (size_t)size, 64 * 1024, &out, &out_len);
        if (st != DLB_OK) fprintf(stderr, "%s: %s\n", path, dlb_errname(st));
        ASSERT_EQ_INT(st, DLB_OK);
        ASSERT(out_len <= (size_t)size);
        if (st == DLB_OK) compare_graphs(buf, (size_t)size, out, out_len, path, true);
        *in_total += (size_t)size;
        *out_total += out_len;
        free(out);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void test_zoo(const char *root) {
    char dir[1024];
    size_t in = 0, out = 0;
    snprintf(dir, sizeof dir, "%s/zoo", root);
    int n = zoo_dir(dir, &in, &out);
    snprintf(dir, sizeof dir, "%s/zoo/tiny", root);
    n += zoo_dir(dir, &in, &out);
    ASSERT(n >= 50);
    printf("zoo: %d models, %zu -> %zu bytes\n", n, in, out);
}

static void expect_eparse(const void *data, size_t len, const char *what) {
    void *out = (void *)&out;
    size_t out_len = 1;
    dlb_status st = dlb_onnx_strip_weights(data, len, 0, &out, &out_len);
    if (st != DLB_EPARSE) fprintf(stderr, "%s: %s\n", what, dlb_errname(st));
    ASSERT_EQ_INT(st, DLB_EPARSE);
    ASSERT(out == NULL && out_len == 0);
}

/* A model whose graph holds \p levels nested If nodes (then_branch in then_branch ...). */
static uint8_t *nested_model(int levels, size_t *len) {
    Onnx__GraphProto *g = NEW(Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
    for (int i = 0; i < levels; i++) {
        Onnx__AttributeProto *a = attr("then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
        a->g = g;
        Onnx__NodeProto *n = node("If", "if", 0, NULL, "o");
        n->n_attribute = 1;
        n->attribute = (Onnx__AttributeProto **)ptrs(1, a);
        g = NEW(Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
        g->n_node = 1;
        g->node = (Onnx__NodeProto **)ptrs(1, n);
    }
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.graph = g;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(*len);
    if (!buf) abort();
    onnx__model_proto__pack(&m, buf);
    pool_free();
    return buf;
}

static void test_malformed(void) {
    size_t len, big;
    uint8_t *orig = make_model(&len, &big);
    expect_eparse(orig, 0, "empty");
    expect_eparse(NULL, 10, "NULL");
    expect_eparse(orig, len / 2, "truncated at half");
    expect_eparse(orig, len - 1, "truncated by one byte");
    static const uint8_t ff[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    expect_eparse(ff, sizeof ff, "0xff garbage");
    expect_eparse("\x3a\x05"
                  "ab",
                  4, "graph longer than the buffer");
    expect_eparse("\x38\x01", 2, "graph as a varint");
    expect_eparse("\x3a\x04\x2a\x02\x0b\x00", 6, "initializer with a group tag");
    expect_eparse("\x3a\x03\x2a\x01\x80", 5, "initializer with a cut varint");
    expect_eparse("hello world, this is not ONNX", 29, "text");
    size_t nl;
    uint8_t *deep = nested_model(10, &nl);
    void *out = NULL;
    size_t out_len = 0;
    ASSERT_EQ_INT(dlb_onnx_strip_weights(deep, nl, 0, &out, &out_len), DLB_OK);
    ASSERT(out_len == nl && out && !memcmp(out, deep, nl));
    free(out);
    free(deep);
    deep = nested_model(100, &nl);
    expect_eparse(deep, nl, "400 levels of nesting");
    free(deep);

    /* Every prefix of the weightless model, and the model with each byte flipped: DLB_OK or
     * DLB_EPARSE, no crash (under ASan), never a longer output than the input. */
    void *small = NULL;
    size_t small_len = 0;
    ASSERT_EQ_INT(dlb_onnx_strip_weights(orig, len, 0, &small, &small_len), DLB_OK);
    uint8_t *mut = malloc(small_len);
    int n_ok = 0;
    for (size_t cut = 0; mut && cut <= small_len; cut++) {
        memcpy(mut, small, small_len);
        if (cut < small_len) mut[cut] ^= (uint8_t)(0x5a + cut);
        size_t sizes[2] = {cut, small_len};
        for (int k = 0; k < 2; k++) {
            dlb_status st = dlb_onnx_strip_weights(k ? mut : small, sizes[k], 0, &out, &out_len);
            ASSERT(st == DLB_OK || st == DLB_EPARSE);
            n_ok += st == DLB_OK;
            ASSERT(st != DLB_OK || out_len <= sizes[k]);
            free(out);
        }
    }
    printf("malformed: %zu prefixes and flips, %d accepted\n", 2 * (small_len + 1), n_ok);
    free(mut);
    free(small);
    free(orig);
}

int main(int argc, char **argv) {
    const char *root = argc > 1 ? argv[1] : ".";
    test_weighted_model();
    test_zoo(root);
    test_malformed();
    return test_summary("test_strip");
}
