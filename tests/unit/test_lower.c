/* test_lower.c — fusion rules, raw view, brick keys and G partitioning on small ONNX models. */
#include <stdint.h>

#include "dlbricks/brick.h"
#include "dlbricks/graph.h"
#include "dlbricks/layer.h"
#include "test_util.h"

static const char *data_dir;

typedef struct loaded {
    dlb_graph *g;
    dlb_lowered *l;
    test_diag_buf diag;
} loaded;

static int load_lowered(const char *rel, bool fuse, int64_t batch, loaded *out) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", data_dir, rel);
    memset(out, 0, sizeof *out);
    dlb_diag d = {.file = path, .emit = test_diag_capture, .ctx = &out->diag};
    if (dlb_graph_load(path, &d, &out->g) != DLB_OK) {
        fprintf(stderr, "cannot load %s:\n%s", path, out->diag.text);
        return -1;
    }
    if (batch > 0) dlb_graph_set_batch(out->g, batch);
    if (dlb_graph_infer_shapes(out->g, &d) != DLB_OK) {
        fprintf(stderr, "shape inference failed for %s:\n%s", path, out->diag.text);
        return -1;
    }
    dlb_lower_options o = {.fuse = fuse};
    if (dlb_lower(out->g, &o, &d, &out->l) != DLB_OK) return -1;
    return 0;
}

static void unload(loaded *x) {
    dlb_lowered_free(x->l);
    dlb_graph_free(x->g);
}

/* "conv{bn}[relu,sum]; binary:mul" — the shape of the fused view, for comparisons. */
static void describe(const dlb_lowered *l, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < l->n_layers && n < size; i++) {
        const dlb_layer *L = &l->layers[i];
        const dlb_op_spec *s = &L->spec;
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? "; " : "", dlb_lop_name(s->op));
        if (s->alg != DLB_ALG_NONE)
            n += (size_t)snprintf(buf + n, size - n, ":%s", dlb_alg_name(s->alg));
        if ((s->op == DLB_LOP_MATMUL) && s->p.has_bias)
            n += (size_t)snprintf(buf + n, size - n, "+bias");
        if (L->pattern && !strcmp(L->pattern, "conv+bn"))
            n += (size_t)snprintf(buf + n, size - n, "{bn}");
        for (int k = 0; k < s->n_post; k++) {
            const dlb_postop *p = &s->post[k];
            const char *w = p->kind == DLB_POST_SUM      ? "sum"
                            : p->kind == DLB_POST_BINARY ? "binary"
                                                         : dlb_alg_name(p->alg);
            n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? "," : "[", w);
        }
        if (s->n_post) n += (size_t)snprintf(buf + n, size - n, "]");
    }
}

static const struct {
    const char *file, *expected;
} fusion_cases[] = {
    {"fusion/01_conv_bn.onnx", "conv{bn}"},
    {"fusion/01_conv_bn_relu.onnx", "conv{bn}[relu]"},
    {"fusion/01_conv_bn_torch.onnx", "conv{bn}"},
    {"fusion/02_conv_relu.onnx", "conv[relu]"},
    {"fusion/02_conv_relu_torch.onnx", "conv[relu]"},
    {"fusion/03_conv_add_relu.onnx", "conv[sum,relu]"},
    {"fusion/03_conv_add_relu_torch.onnx", "conv[sum,relu]"},
    {"fusion/03_conv_add_relu_proj.onnx", "conv; conv[relu]; conv[sum,relu]"},
    {"fusion/04_gemm_relu.onnx", "inner_product[relu]"},
    {"fusion/04_gemm_relu_torch.onnx", "inner_product[relu]"},
    {"fusion/04_matmul_add_relu.onnx", "matmul+bias[relu]"},
    {"fusion/04_matmul_add_relu_torch.onnx", "matmul+bias[relu]"},
    {"fusion/05_silu.onnx", "conv[swish]"},
    {"fusion/05_silu_torch.onnx", "conv[swish]"},
    {"fusion/05_silu_opset17_torch.onnx", "conv[swish]"},
    {"fusion/06_hardswish_opset13.onnx", "conv[hardswish]"},
    {"fusion/06_hardswish_opset13_torch.onnx", "conv[hardswish]"},
    {"fusion/06_hardswish_opset14.onnx", "conv[hardswish]"},
    {"fusion/06_hardswish_opset14_torch.onnx", "conv[hardswish]"},
    {"fusion/06_hardswish_wrong_alpha.onnx", "conv; eltwise:hardsigmoid; binary:mul"},
    {"fusion/07_se_hardsigmoid.onnx", "pool:avg_exclude; conv[hardsigmoid]; binary:mul"},
    {"fusion/07_se_hardsigmoid_torch.onnx",
     "pool:avg_exclude; conv[relu]; conv[hardsigmoid]; binary:mul"},
    {"fusion/08_gelu_erf.onnx", "inner_product[gelu_erf]"},
    {"fusion/08_gelu_erf_torch.onnx", "inner_product[gelu_erf]"},
    {"fusion/08_gelu_erf_opset17_torch.onnx", "inner_product[gelu_erf]"},
    {"fusion/09_layernorm_decomposed.onnx", "lnorm"},
    {"fusion/09_layernorm_decomposed_torch.onnx", "lnorm"},
    {"fusion/09_layernorm_opset17.onnx", "lnorm"},
    {"fusion/09_layernorm_opset17_torch.onnx", "lnorm"},
    {"fusion/10_se_sigmoid.onnx", "pool:avg_exclude; conv[relu]; conv[logistic]; binary:mul"},
    {"fusion/10_se_sigmoid_torch.onnx", "pool:avg_exclude; conv[relu]; conv[logistic]; binary:mul"},
    {"fusion/11_relu6.onnx", "conv[clip]"},
    {"fusion/11_relu6_torch.onnx", "conv[clip]"},
    {"fusion/11_relu6_functional_torch.onnx", "conv[relu,clip]"},
    {"fusion/12_negative_shared_conv.onnx", "conv; eltwise:relu; binary:add"},
    {"fusion/12_negative_shared_conv_torch.onnx", "conv; eltwise:relu; binary:add"},
    {"fusion/12_negative_conv_graph_output.onnx", "conv; eltwise:relu"},
    {"fusion/13_shape_chain_matmul.onnx", "matmul"},
};

static void test_fusion_rules(void) {
    for (size_t i = 0; i < sizeof fusion_cases / sizeof *fusion_cases; i++) {
        loaded x;
        if (load_lowered(fusion_cases[i].file, true, 0, &x) != 0) {
            test_failures++;
            continue;
        }
        char got[1024];
        describe(x.l, got, sizeof got);
        if (strcmp(got, fusion_cases[i].expected) != 0)
            fprintf(stderr, "fusion case %s\n", fusion_cases[i].file);
        ASSERT_STREQ(got, fusion_cases[i].expected);
        for (int k = 0; k < x.l->n_layers; k++) ASSERT(x.l->layers[k].covered);
        unload(&x);
    }
}

/* The torch export with a dynamic batch resolves its shape chain once the batch is set. */
static void test_dynamic_batch_chain(void) {
    loaded x;
    ASSERT_EQ_INT(load_lowered("fusion/13_shape_chain_matmul_torch.onnx", true, 3, &x), 0);
    if (!x.l) return;
    char got[256];
    describe(x.l, got, sizeof got);
    ASSERT_STREQ(got, "matmul");
    ASSERT_EQ_INT(x.l->layers[0].spec.src[0].shape.dims[0], 3);
    unload(&x);
}

/* Raw view: one layer per non-zero-cost node, nothing folded. */
static void test_raw_view(void) {
    loaded x;
    ASSERT_EQ_INT(load_lowered("fusion/09_layernorm_decomposed_torch.onnx", false, 0, &x), 0);
    if (!x.l) return;
    ASSERT_EQ_INT(x.l->n_layers, 9); /* ReduceMean Sub Pow ReduceMean Add Sqrt Div Mul Add */
    unload(&x);
    ASSERT_EQ_INT(load_lowered("fusion/01_conv_bn_relu.onnx", false, 0, &x), 0);
    if (!x.l) return;
    char got[256];
    describe(x.l, got, sizeof got);
    ASSERT_STREQ(got, "conv; bnorm; eltwise:relu");
    unload(&x);
}

/* Exact FLOPs of a conv: 2 * N*OC*OH*OW * IC/g*KH*KW (+ bias, + one per post-op). */
static void test_conv_flops(void) {
    loaded x;
    ASSERT_EQ_INT(load_lowered("fusion/02_conv_relu.onnx", true, 0, &x), 0);
    if (!x.l) return;
    const dlb_layer *L = &x.l->layers[0];
    const dlb_shape *w = &L->spec.wei[0].shape, *y = &L->spec.dst[0].shape;
    int64_t out = y->dims[0] * y->dims[1] * y->dims[2] * y->dims[3];
    int64_t expect =
        2 * out * w->dims[1] * w->dims[2] * w->dims[3] + out * L->spec.p.has_bias + out;
    ASSERT_EQ_INT(L->flops, expect);
    unload(&x);
}

int main(int argc, char **argv) {
    data_dir = argc > 1 ? argv[1] : "tests/data/models";
    test_fusion_rules();
    test_dynamic_batch_chain();
    test_raw_view();
    test_conv_flops();
    return test_summary("test_lower");
}
