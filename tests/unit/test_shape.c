/* test_shape.c — static shape inference and folding on the models of tests/data/models/shape/. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dlbricks/graph.h"
#include "shape/ops.h"
#include "test_util.h"

/* Directory holding models/shape/ and bad/ (argv[1]; default: run from the source root). */
static const char *data_dir = "tests/data";

typedef struct loaded {
    dlb_graph *g;
    dlb_diag diag;
    test_diag_buf buf;
    dlb_status load_st, st; /* loader status, inference status */
} loaded;

/* Load DATA_DIR/REL.onnx and infer its shapes, capturing diagnostics. */
static void load(loaded *l, const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", data_dir, rel);
    memset(l, 0, sizeof *l);
    l->diag = (dlb_diag){.file = rel, .emit = test_diag_capture, .ctx = &l->buf};
    l->load_st = dlb_graph_load(path, &l->diag, &l->g);
    ASSERT_EQ_INT(l->load_st, DLB_OK);
    if (l->load_st != DLB_OK) {
        fprintf(stderr, "cannot load %s:\n%s", path, l->buf.text);
        l->st = l->load_st;
        return;
    }
    l->st = dlb_graph_infer_shapes(l->g, &l->diag);
}

static void unload(loaded *l) {
    dlb_graph_free(l->g);
    l->g = NULL;
}

/* The named tensor; a placeholder with unknown shape when it does not exist. */
static const dlb_tensor *tensor(const loaded *l, const char *name) {
    static const dlb_tensor missing = {.name = "(missing)", .shape = {.rank = -1}};
    int k = l->g ? dlb_graph_find_tensor(l->g, name) : -1;
    if (k < 0) {
        fprintf(stderr, "no tensor '%s'\n", name);
        return &missing;
    }
    return &l->g->tensors[k];
}

static bool shapes_ok(const loaded *l) {
    return l->g && l->g->shapes_ok;
}

static dlb_node *find_node(const loaded *l, const char *name) {
    for (int k = 0; l->g && k < l->g->n_nodes; k++)
        if (!strcmp(l->g->nodes[k].name, name)) return &l->g->nodes[k];
    fprintf(stderr, "no node '%s'\n", name);
    return NULL;
}

static bool zero_cost(const loaded *l, const char *node) {
    const dlb_node *n = find_node(l, node);
    return n && dlb__node_is_zero_cost(l->g, n);
}

/* Shape of a tensor as dlb_shape_format prints it ("1x3x224x224", "scalar", "unknown"). */
static const char *shape_of(const loaded *l, const char *name, char *buf, int size) {
    const dlb_tensor *t = tensor(l, name);
    dlb_shape_format(&t->shape, buf, size);
    return buf;
}

#define EXPECT_SHAPE(l, name, want)                                                                \
    do {                                                                                           \
        char sbuf_[160];                                                                           \
        ASSERT_STREQ(shape_of((l), (name), sbuf_, (int)sizeof sbuf_), (want));                     \
    } while (0)

/* The known integer contents of a tensor, printed as "2,-1". */
static const char *ints_of(const loaded *l, const char *name, char *buf, size_t size) {
    const dlb_tensor *t = tensor(l, name);
    if (!t->is_const || !t->value.i) return "(not an integer constant)";
    size_t n = 0;
    buf[0] = 0;
    for (int64_t k = 0; k < t->value.n && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", k ? "," : "", (long long)t->value.i[k]);
    return buf;
}

#define EXPECT_INTS(l, name, want)                                                                 \
    do {                                                                                           \
        char ibuf_[256];                                                                           \
        ASSERT_STREQ(ints_of((l), (name), ibuf_, sizeof ibuf_), (want));                           \
    } while (0)

/* A model that must infer cleanly: OK, no warning, no error, shapes_ok. */
static void load_clean(loaded *l, const char *rel) {
    load(l, rel);
    ASSERT_EQ_INT(l->st, DLB_OK);
    ASSERT_EQ_INT(l->diag.n_warnings, 0);
    ASSERT_EQ_INT(l->diag.n_errors, 0);
    ASSERT(shapes_ok(l));
    if (l->buf.n) fprintf(stderr, "%s: unexpected diagnostics:\n%s", rel, l->buf.text);
}

static void test_op_table(void) {
    int n;
    const dlb_op_info *t = dlb__op_table(&n);
    ASSERT(n > 100);
    for (int i = 1; i < n; i++) ASSERT(strcmp(t[i - 1].name, t[i].name) < 0);
    for (int i = 0; i < n; i++) {
        ASSERT(dlb__op_info(t[i].name) == &t[i]);
        ASSERT(t[i].infer != NULL);
    }
    ASSERT(dlb__op_info("FooBar") == NULL);
    ASSERT(dlb__op_info("") == NULL);
    ASSERT(dlb__op_info(NULL) == NULL);
    ASSERT_EQ_INT(dlb__op_info("Conv")->cls, DLB_OPC_COMPUTE);
    ASSERT_EQ_INT(dlb__op_info("Gather")->cls, DLB_OPC_COMPUTE);
    const char *views[] = {"Reshape",  "Flatten", "Squeeze", "Unsqueeze",
                           "Identity", "Dropout", "Constant"};
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++)
        ASSERT_EQ_INT(dlb__op_info(views[i])->cls, DLB_OPC_VIEW);
    const char *shapes[] = {"Shape", "Size", "ConstantOfShape", "Range"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        ASSERT_EQ_INT(dlb__op_info(shapes[i])->cls, DLB_OPC_SHAPE);
    ASSERT(dlb__is_onnx_domain("") && dlb__is_onnx_domain("ai.onnx"));
    ASSERT(!dlb__is_onnx_domain("com.microsoft"));
}

static void test_conv(void) {
    loaded l;
    load_clean(&l, "models/shape/conv");
    EXPECT_SHAPE(&l, "same_upper", "1x8x9x9"); /* ceil(17/2) */
    EXPECT_SHAPE(&l, "same_lower", "1x8x6x6"); /* ceil(17/3) */
    EXPECT_SHAPE(&l, "asym", "1x8x17x19");     /* pads h 0+2, w 1+3 */
    EXPECT_SHAPE(&l, "valid", "1x8x8x8");      /* (17-3)/2+1 */
    EXPECT_SHAPE(&l, "conv1d", "1x6x5");       /* (10+2-3)/2+1, group 2 */
    EXPECT_SHAPE(&l, "conv3d", "1x4x3x4x5");
    EXPECT_SHAPE(&l, "dw", "1x3x17x17");
    unload(&l);

    load_clean(&l, "models/shape/convtranspose");
    EXPECT_SHAPE(&l, "y", "1x2x10x10");    /* 2*(5-1)+1+3-2 */
    EXPECT_SHAPE(&l, "y_os", "1x2x11x11"); /* output_shape */
    EXPECT_SHAPE(&l, "y_g", "1x6x10x10");  /* group 2 x 3; SAME_UPPER 5*2 */
    unload(&l);
}

static void test_pool_gemm_matmul(void) {
    loaded l;
    load_clean(&l, "models/shape/pool");
    EXPECT_SHAPE(&l, "ceil", "1x2x3x3");
    EXPECT_SHAPE(&l, "floor", "1x2x2x2");
    EXPECT_SHAPE(&l, "ceil_pad", "1x2x3x3"); /* last window would start in the right padding */
    EXPECT_SHAPE(&l, "dil", "1x2x4x4");
    EXPECT_SHAPE(&l, "idx", "1x2x4x4");
    ASSERT_EQ_INT(tensor(&l, "idx")->dtype, DLB_DT_S64);
    EXPECT_SHAPE(&l, "gap", "1x2x1x1");
    unload(&l);

    load_clean(&l, "models/shape/gemm");
    EXPECT_SHAPE(&l, "y", "2x4");
    EXPECT_SHAPE(&l, "y2", "2x4");
    unload(&l);

    load_clean(&l, "models/shape/matmul");
    EXPECT_SHAPE(&l, "bcast", "2x5x3x6");
    EXPECT_SHAPE(&l, "vec_left", "5x6");
    EXPECT_SHAPE(&l, "vec_right", "3");
    EXPECT_SHAPE(&l, "dot", "scalar");
    unload(&l);
}

static void test_resize(void) {
    loaded l;
    load_clean(&l, "models/shape/resize11");
    EXPECT_SHAPE(&l, "by_scales", "1x3x16x16");
    EXPECT_SHAPE(&l, "by_sizes", "1x3x5x7");
    unload(&l);
    load_clean(&l, "models/shape/resize13");
    EXPECT_SHAPE(&l, "by_sizes", "1x3x5x7");
    EXPECT_SHAPE(&l, "by_scales", "1x3x4x12");
    unload(&l);
}

static void test_slice_split_squeeze_clip(void) {
    loaded l;
    load_clean(&l, "models/shape/slice");
    EXPECT_SHAPE(&l, "y1", "3x20x15");
    EXPECT_SHAPE(&l, "y2", "10x7x30");
    EXPECT_SHAPE(&l, "y3", "8x5x30");
    unload(&l);

    load_clean(&l, "models/shape/split11");
    EXPECT_SHAPE(&l, "a", "4x2");
    EXPECT_SHAPE(&l, "b", "4x3");
    EXPECT_SHAPE(&l, "c", "4x5");
    EXPECT_SHAPE(&l, "d", "4x3");
    EXPECT_SHAPE(&l, "f", "4x3");
    unload(&l);
    load_clean(&l, "models/shape/split13");
    EXPECT_SHAPE(&l, "a", "4x1");
    EXPECT_SHAPE(&l, "b", "4x9");
    unload(&l);

    const char *sq[] = {"models/shape/squeeze11", "models/shape/squeeze13"};
    for (int i = 0; i < 2; i++) {
        load_clean(&l, sq[i]);
        EXPECT_SHAPE(&l, "sq", "3x5");
        EXPECT_SHAPE(&l, "unsq", "1x3x5x1");
        if (i == 0) EXPECT_SHAPE(&l, "sq_all", "3x5");
        unload(&l);
    }

    load_clean(&l, "models/shape/clip11");
    EXPECT_SHAPE(&l, "z", "2x3x4");
    EXPECT_SHAPE(&l, "y2", "2x3x4");
    unload(&l);
}

/* Opset 18 forms (the loader warns that 18 is beyond the tested range; inference is clean). */
static void test_opset18(void) {
    loaded l;
    load(&l, "models/shape/opset18");
    ASSERT_EQ_INT(l.st, DLB_OK);
    ASSERT_EQ_INT(l.diag.n_errors, 0);
    ASSERT(shapes_ok(&l));
    EXPECT_SHAPE(&l, "rm", "2x10");
    EXPECT_SHAPE(&l, "rall", "2x3x10");
    EXPECT_SHAPE(&l, "s0", "2x3x4");
    EXPECT_SHAPE(&l, "s1", "2x3x4");
    EXPECT_SHAPE(&l, "s2", "2x3x2");
    EXPECT_SHAPE(&l, "pad", "2x3x13");
    unload(&l);
}

static void test_misc(void) {
    loaded l;
    load_clean(&l, "models/shape/misc");
    EXPECT_SHAPE(&l, "pad", "2x3x8x11");
    EXPECT_SHAPE(&l, "tr", "5x4x3x2");
    EXPECT_SHAPE(&l, "tr2", "2x4x5x3");
    EXPECT_SHAPE(&l, "ex", "2x3x4");
    EXPECT_SHAPE(&l, "tile", "2x6x4x15");
    EXPECT_SHAPE(&l, "gat", "2x3x2x2x5");
    EXPECT_SHAPE(&l, "fl", "24x5");
    EXPECT_SHAPE(&l, "rsh", "2x12x5");
    EXPECT_SHAPE(&l, "rm", "2x4");
    EXPECT_SHAPE(&l, "rsum", "2x3x1x5");
    EXPECT_SHAPE(&l, "rmax", "scalar");
    EXPECT_SHAPE(&l, "sm", "2x3x4x5");
    EXPECT_SHAPE(&l, "tv", "2x2x4x5");
    EXPECT_SHAPE(&l, "ti", "2x2x4x5");
    EXPECT_SHAPE(&l, "cat", "2x6x4x5");
    EXPECT_SHAPE(&l, "wh", "2x3x4x5");
    EXPECT_SHAPE(&l, "dr", "2x3x4x5");
    EXPECT_SHAPE(&l, "mask", "2x3x4x5");
    ASSERT_EQ_INT(tensor(&l, "mask")->dtype, DLB_DT_BOOL);
    EXPECT_SHAPE(&l, "ein", "2x3x6");
    EXPECT_SHAPE(&l, "ln", "2x3x4x5");
    EXPECT_SHAPE(&l, "am", "2x3x5");
    EXPECT_SHAPE(&l, "d2s", "1x2x4x6");
    unload(&l);
}

/* Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains, no value_info: all folded. */
static void test_shape_chain(void) {
    loaded l;
    load_clean(&l, "models/shape/shape_chain");
    EXPECT_SHAPE(&l, "flat", "2x60");
    EXPECT_SHAPE(&l, "r3", "2x12x5");
    EXPECT_SHAPE(&l, "r2", "1x120");
    EXPECT_INTS(&l, "shp", "2,3,4,5");
    EXPECT_SHAPE(&l, "n", "scalar");
    EXPECT_INTS(&l, "n", "2");
    EXPECT_INTS(&l, "newshape", "2,-1");
    EXPECT_INTS(&l, "mid", "3,4"); /* Shape start=1 end=-1 (opset 15) */
    EXPECT_INTS(&l, "last", "5");  /* Gather index -1 */
    EXPECT_INTS(&l, "half", "2");  /* integer Div truncates */
    EXPECT_INTS(&l, "prod", "12");
    EXPECT_INTS(&l, "shape3", "2,12,5");
    EXPECT_INTS(&l, "rng", "0,1,2,3,4");
    EXPECT_SHAPE(&l, "cos", "3x4");
    EXPECT_INTS(&l, "cos", "7,7,7,7,7,7,7,7,7,7,7,7");
    EXPECT_INTS(&l, "size", "120");
    EXPECT_INTS(&l, "eq", "1,1");
    ASSERT_EQ_INT(tensor(&l, "eq")->dtype, DLB_DT_BOOL);
    EXPECT_INTS(&l, "wh", "3,4");
    EXPECT_INTS(&l, "cst", "1,-1");
    EXPECT_INTS(&l, "tail", "3,4,5");
    EXPECT_INTS(&l, "tail2", "6,8,10");
    const dlb_tensor *scale = tensor(&l, "scale");
    ASSERT(scale->is_const && scale->value.f && scale->value.n == 1);
    if (scale->value.f) ASSERT(fabs(scale->value.f[0] - 1.0 / sqrt(5.0)) < 1e-6);
    ASSERT_EQ_INT(tensor(&l, "lastf")->dtype, DLB_DT_F32);
    /* The data tensors are not constants. */
    ASSERT(!tensor(&l, "flat")->is_const);
    /* Zero cost: compute nodes whose outputs were all folded, and VIEW/SHAPE classes. */
    ASSERT(zero_cost(&l, "gather_n"));
    ASSERT(zero_cost(&l, "concat_shape"));
    ASSERT(zero_cost(&l, "mul_shape"));
    ASSERT(zero_cost(&l, "slice_shape"));
    ASSERT(zero_cost(&l, "shape"));
    ASSERT(zero_cost(&l, "reshape"));
    unload(&l);

    load_clean(&l, "models/shape/batch");
    ASSERT(!zero_cost(&l, "conv0"));
    ASSERT(!zero_cost(&l, "fc0"));
    ASSERT(zero_cost(&l, "gather0"));
    unload(&l);
}

/* Folding semantics on constants: ONNX integer Div/Mod, negative-step Slice, layout ops. */
static void test_fold(void) {
    loaded l;
    load_clean(&l, "models/shape/fold");
    EXPECT_INTS(&l, "div", "-3,-3");
    EXPECT_INTS(&l, "mod", "1,-1");
    EXPECT_INTS(&l, "fmod", "-1,1");
    EXPECT_INTS(&l, "sub", "-9,9");
    EXPECT_INTS(&l, "pow", "4,4");
    EXPECT_INTS(&l, "neg", "7,-7");
    EXPECT_INTS(&l, "abs", "7,7");
    EXPECT_INTS(&l, "max", "2,7");
    EXPECT_INTS(&l, "min", "-7,-2");
    EXPECT_INTS(&l, "lt", "1,0");
    EXPECT_INTS(&l, "gt", "0,1");
    EXPECT_INTS(&l, "nlt", "0,1");
    EXPECT_INTS(&l, "wh", "-7,-2");
    EXPECT_INTS(&l, "sl", "9,7,5,3,1");
    EXPECT_SHAPE(&l, "tr", "3x2");
    EXPECT_INTS(&l, "tr", "0,3,1,4,2,5");
    EXPECT_INTS(&l, "sp0", "0,1,2,3,4");
    EXPECT_INTS(&l, "sp1", "5,6,7,8,9");
    EXPECT_INTS(&l, "tile", "-7,7,-7,7,-7,7");
    EXPECT_SHAPE(&l, "ex", "2x2");
    EXPECT_INTS(&l, "ex", "-7,7,-7,7");
    EXPECT_INTS(&l, "clip", "-5,5");
    EXPECT_INTS(&l, "bool", "1,1");
    EXPECT_INTS(&l, "trunc", "-2,2");
    EXPECT_INTS(&l, "rsum", "3,12");
    EXPECT_SHAPE(&l, "rmax", "1x3");
    EXPECT_INTS(&l, "rmax", "3,4,5");
    EXPECT_SHAPE(&l, "flat", "1x6");
    EXPECT_INTS(&l, "irange", "10,7,4,1");
    EXPECT_INTS(&l, "gat", "2,0,5,3");
    const dlb_tensor *fr = tensor(&l, "frange");
    ASSERT(fr->is_const && fr->value.f && fr->value.n == 2);
    if (fr->value.f && fr->value.n == 2) ASSERT(fr->value.f[0] == 1.0 && fr->value.f[1] == 0.5);
    unload(&l);

    const char *bad[][2] = {
        {"models/shape/gather_oob", "gather_bad: index 5 out of range for dimension 3"},
        {"models/shape/reshape_bad", "reshape_bad: cannot reshape 2x3 to 4x2"},
        {"models/shape/concat_bad", "concat_bad: cannot concatenate 2x3 and 2x4 on axis 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        load(&l, bad[i][0]);
        ASSERT_EQ_INT(l.st, DLB_ESHAPE);
        ASSERT_EQ_INT(l.diag.n_errors, 1);
        ASSERT_CONTAINS(l.buf.text, bad[i][1]);
        unload(&l);
    }
}

static void test_value_info_mismatch(void) {
    loaded l;
    load(&l, "models/shape/vi_mismatch");
    ASSERT_EQ_INT(l.st, DLB_OK);
    ASSERT_EQ_INT(l.diag.n_warnings, 1);
    ASSERT_EQ_INT(l.diag.n_errors, 0);
    ASSERT_CONTAINS(l.buf.text, "warning: models/shape/vi_mismatch: relu_vi: ");
    ASSERT_CONTAINS(l.buf.text, "inferred shape 1x64 differs from value_info 1x65 for tensor 'r'");
    EXPECT_SHAPE(&l, "y", "1x64"); /* our inference wins */
    unload(&l);
}

static void test_errors(void) {
    loaded l;
    load(&l, "models/shape/zero_dim");
    ASSERT_EQ_INT(l.st, DLB_ESHAPE);
    ASSERT_CONTAINS(l.buf.text, "error: models/shape/zero_dim: x: dimension 0 in graph input 'x'");
    unload(&l);

    load(&l, "models/shape/overflow_input");
    ASSERT_EQ_INT(l.st, DLB_EOVERFLOW);
    ASSERT_CONTAINS(l.buf.text, "x: element count of tensor 'x' overflows int64");
    unload(&l);

    load(&l, "models/shape/overflow_fold");
    ASSERT_EQ_INT(l.st, DLB_EOVERFLOW);
    ASSERT_CONTAINS(l.buf.text, "mul_big: folded Mul of constant integers overflows int64");
    unload(&l);

    load(&l, "models/shape/bad_broadcast");
    ASSERT_EQ_INT(l.st, DLB_ESHAPE);
    ASSERT_CONTAINS(l.buf.text, "add_bad: shapes 2x3 and 4 do not broadcast");
    ASSERT(!shapes_ok(&l));
    unload(&l);

    load(&l, "bad/negative_dim_input");
    ASSERT_EQ_INT(l.st, DLB_ESHAPE);
    ASSERT_CONTAINS(l.buf.text, "x: dimension -3 in graph input 'x'");
    unload(&l);

    load(&l, "bad/conv_kernel_too_big");
    ASSERT_EQ_INT(l.st, DLB_ESHAPE);
    ASSERT_CONTAINS(l.buf.text, "conv0: output dimension 0");
    unload(&l);

    load(&l, "bad/string_input_conv");
    ASSERT_EQ_INT(l.st, DLB_ESHAPE);
    ASSERT_CONTAINS(l.buf.text, "conv0: input 'x' has dtype str");
    unload(&l);

    /* A node input index that refers to no tensor. */
    load(&l, "models/shape/gemm");
    ASSERT_EQ_INT(l.st, DLB_OK);
    if (l.g) {
        dlb_node *n = find_node(&l, "gemm_transb");
        if (n) n->in[1] = l.g->n_tensors + 5;
        ASSERT_EQ_INT(dlb_graph_infer_shapes(l.g, &l.diag), DLB_EMODEL);
        ASSERT_CONTAINS(l.buf.text, "gemm_transb: input 1 refers to no tensor");
        ASSERT(!shapes_ok(&l));
    }
    unload(&l);
}

/* One warning for the unresolvable node; its consumers stay silent and unknown. */
static void test_unknown_op(void) {
    loaded l;
    load(&l, "models/shape/unknown_op");
    ASSERT_EQ_INT(l.st, DLB_OK);
    ASSERT_EQ_INT(l.diag.n_warnings, 1);
    ASSERT_CONTAINS(l.buf.text, "warning: models/shape/unknown_op: foo0: ");
    ASSERT_CONTAINS(l.buf.text, "FooBar");
    EXPECT_SHAPE(&l, "r", "1x4");
    EXPECT_SHAPE(&l, "g", "unknown");
    EXPECT_SHAPE(&l, "y", "unknown");
    ASSERT(!shapes_ok(&l));
    unload(&l);

    /* Data-dependent NonZero: falls back to its value_info, so the rest resolves. */
    load(&l, "models/shape/nonzero_vi");
    ASSERT_EQ_INT(l.st, DLB_OK);
    ASSERT_EQ_INT(l.diag.n_warnings, 1);
    ASSERT_CONTAINS(l.buf.text, "nonzero0: ");
    ASSERT_CONTAINS(l.buf.text, "using value_info");
    EXPECT_SHAPE(&l, "t", "5x2");
    ASSERT_EQ_INT(tensor(&l, "nz")->dtype, DLB_DT_S64);
    ASSERT(shapes_ok(&l));
    unload(&l);

    load(&l, "bad/subgraphs_if_loop");
    ASSERT_EQ_INT(l.st, DLB_OK);
    ASSERT_CONTAINS(l.buf.text, "if0: ");
    ASSERT_CONTAINS(l.buf.text, "loop0: ");
    unload(&l);
}

static void test_batch(void) {
    loaded l;
    load_clean(&l, "models/shape/batch");
    EXPECT_SHAPE(&l, "flat", "1x256");
    EXPECT_SHAPE(&l, "y", "1x10");
    ASSERT_EQ_INT(dlb_graph_set_batch(l.g, 0), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_graph_set_batch(l.g, -3), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_graph_set_batch(l.g, 4), DLB_OK);
    EXPECT_SHAPE(&l, "x", "4x3x8x8");
    ASSERT_EQ_INT(dlb_graph_infer_shapes(l.g, &l.diag), DLB_OK);
    EXPECT_SHAPE(&l, "c", "4x4x8x8");
    EXPECT_INTS(&l, "ns", "4,-1");
    EXPECT_SHAPE(&l, "flat", "4x256");
    EXPECT_SHAPE(&l, "y", "4x10");
    ASSERT(shapes_ok(&l));
    /* Re-running is idempotent. */
    ASSERT_EQ_INT(dlb_graph_infer_shapes(l.g, &l.diag), DLB_OK);
    EXPECT_SHAPE(&l, "y", "4x10");
    ASSERT_EQ_INT(l.diag.n_warnings, 0);
    unload(&l);

    load(&l, "models/shape/dynamic_batch");
    ASSERT_EQ_INT(l.st, DLB_OK);
    ASSERT_EQ_INT(l.diag.n_warnings, 1);
    ASSERT_CONTAINS(l.buf.text, "x: graph input 'x' has no static shape (?x3x4)");
    ASSERT(!shapes_ok(&l));
    EXPECT_SHAPE(&l, "y", "unknown");
    ASSERT_EQ_INT(dlb_graph_set_batch(l.g, 2), DLB_OK);
    ASSERT_EQ_INT(dlb_graph_infer_shapes(l.g, &l.diag), DLB_OK);
    ASSERT_EQ_INT(l.diag.n_warnings, 1); /* no new warning */
    EXPECT_SHAPE(&l, "y", "2x3x4");
    ASSERT(shapes_ok(&l));
    unload(&l);

    ASSERT_EQ_INT(dlb_graph_set_batch(NULL, 1), DLB_EINVAL);
    ASSERT_EQ_INT(dlb_graph_infer_shapes(NULL, NULL), DLB_EINVAL);
}

int main(int argc, char **argv) {
    if (argc > 1) data_dir = argv[1];
    char probe[512];
    snprintf(probe, sizeof probe, "%s/models/shape/conv.onnx", data_dir);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        fprintf(stderr, "test_shape: cannot open %s (usage: test_shape TESTS_DATA_DIR)\n", probe);
        return 1;
    }
    fclose(f);
    test_op_table();
    test_conv();
    test_pool_gemm_matmul();
    test_resize();
    test_slice_split_squeeze_clip();
    test_misc();
    test_opset18();
    test_shape_chain();
    test_fold();
    test_value_info_mismatch();
    test_errors();
    test_unknown_op();
    test_batch();
    return test_summary("test_shape");
}
