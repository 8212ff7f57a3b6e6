/* ops.c — the op table (sorted by name, binary search) and the zero-cost predicate. */
#include <stdlib.h>
#include <string.h>

#include "infer_internal.h"

/* Sorted by strcmp order of the name (checked by tests/unit/test_shape_ops.c). */
static const dlb_op_info op_table[] = {
    {"Abs", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Acos", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Acosh", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Add", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"And", DLB_OPC_COMPUTE, dlb__infer_logical},
    {"ArgMax", DLB_OPC_COMPUTE, dlb__infer_arg_reduce},
    {"ArgMin", DLB_OPC_COMPUTE, dlb__infer_arg_reduce},
    {"Asin", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Asinh", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Atan", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Atanh", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"AveragePool", DLB_OPC_COMPUTE, dlb__infer_pool},
    {"BatchNormalization", DLB_OPC_COMPUTE, dlb__infer_batchnorm},
    {"BitShift", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"Cast", DLB_OPC_COMPUTE, dlb__infer_cast},
    {"CastLike", DLB_OPC_COMPUTE, dlb__infer_cast_like},
    {"Ceil", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Celu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Clip", DLB_OPC_COMPUTE, dlb__infer_clip},
    {"Compress", DLB_OPC_COMPUTE, dlb__infer_data_dependent},
    {"Concat", DLB_OPC_COMPUTE, dlb__infer_concat},
    {"Constant", DLB_OPC_VIEW, dlb__infer_constant},
    {"ConstantOfShape", DLB_OPC_SHAPE, dlb__infer_constant_of_shape},
    {"Conv", DLB_OPC_COMPUTE, dlb__infer_conv},
    {"ConvTranspose", DLB_OPC_COMPUTE, dlb__infer_conv_transpose},
    {"Cos", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Cosh", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"CumSum", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"DepthToSpace", DLB_OPC_COMPUTE, dlb__infer_depth_to_space},
    {"Div", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"Dropout", DLB_OPC_VIEW, dlb__infer_dropout},
    {"Einsum", DLB_OPC_COMPUTE, dlb__infer_einsum},
    {"Elu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Equal", DLB_OPC_COMPUTE, dlb__infer_compare},
    {"Erf", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Exp", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Expand", DLB_OPC_COMPUTE, dlb__infer_expand},
    {"Flatten", DLB_OPC_VIEW, dlb__infer_flatten},
    {"Floor", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Gather", DLB_OPC_COMPUTE, dlb__infer_gather},
    {"GatherElements", DLB_OPC_COMPUTE, dlb__infer_gather_elements},
    {"Gelu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Gemm", DLB_OPC_COMPUTE, dlb__infer_gemm},
    {"GlobalAveragePool", DLB_OPC_COMPUTE, dlb__infer_global_pool},
    {"GlobalLpPool", DLB_OPC_COMPUTE, dlb__infer_global_pool},
    {"GlobalMaxPool", DLB_OPC_COMPUTE, dlb__infer_global_pool},
    {"Greater", DLB_OPC_COMPUTE, dlb__infer_compare},
    {"GreaterOrEqual", DLB_OPC_COMPUTE, dlb__infer_compare},
    {"GroupNormalization", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"HardSigmoid", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"HardSwish", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Hardmax", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"Identity", DLB_OPC_VIEW, dlb__infer_identity},
    {"InstanceNormalization", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"IsInf", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"IsNaN", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"LRN", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"LayerNormalization", DLB_OPC_COMPUTE, dlb__infer_layernorm},
    {"LeakyRelu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Less", DLB_OPC_COMPUTE, dlb__infer_compare},
    {"LessOrEqual", DLB_OPC_COMPUTE, dlb__infer_compare},
    {"Log", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"LogSoftmax", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"LpNormalization", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"LpPool", DLB_OPC_COMPUTE, dlb__infer_pool},
    {"MatMul", DLB_OPC_COMPUTE, dlb__infer_matmul},
    {"Max", DLB_OPC_COMPUTE, dlb__infer_variadic},
    {"MaxPool", DLB_OPC_COMPUTE, dlb__infer_pool},
    {"Mean", DLB_OPC_COMPUTE, dlb__infer_variadic},
    {"MeanVarianceNormalization", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"Min", DLB_OPC_COMPUTE, dlb__infer_variadic},
    {"Mish", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Mod", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"Mul", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"Neg", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"NonMaxSuppression", DLB_OPC_COMPUTE, dlb__infer_data_dependent},
    {"NonZero", DLB_OPC_COMPUTE, dlb__infer_data_dependent},
    {"Not", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Or", DLB_OPC_COMPUTE, dlb__infer_logical},
    {"PRelu", DLB_OPC_COMPUTE, dlb__infer_prelu},
    {"Pad", DLB_OPC_COMPUTE, dlb__infer_pad},
    {"Pow", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"Range", DLB_OPC_SHAPE, dlb__infer_range},
    {"Reciprocal", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"ReduceL1", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceL2", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceLogSum", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceLogSumExp", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceMax", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceMean", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceMin", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceProd", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceSum", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"ReduceSumSquare", DLB_OPC_COMPUTE, dlb__infer_reduce},
    {"Relu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Reshape", DLB_OPC_VIEW, dlb__infer_reshape},
    {"Resize", DLB_OPC_COMPUTE, dlb__infer_resize},
    {"Round", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"ScatterElements", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"ScatterND", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"Selu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Shape", DLB_OPC_SHAPE, dlb__infer_shape},
    {"Shrink", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Sigmoid", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Sign", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Sin", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Sinh", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Size", DLB_OPC_SHAPE, dlb__infer_size},
    {"Slice", DLB_OPC_COMPUTE, dlb__infer_slice},
    {"Softmax", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"Softplus", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Softsign", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"SpaceToDepth", DLB_OPC_COMPUTE, dlb__infer_space_to_depth},
    {"Split", DLB_OPC_COMPUTE, dlb__infer_split},
    {"Sqrt", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Squeeze", DLB_OPC_VIEW, dlb__infer_squeeze},
    {"Sub", DLB_OPC_COMPUTE, dlb__infer_binary},
    {"Sum", DLB_OPC_COMPUTE, dlb__infer_variadic},
    {"Tan", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Tanh", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"ThresholdedRelu", DLB_OPC_COMPUTE, dlb__infer_unary},
    {"Tile", DLB_OPC_COMPUTE, dlb__infer_tile},
    {"TopK", DLB_OPC_COMPUTE, dlb__infer_topk},
    {"Transpose", DLB_OPC_COMPUTE, dlb__infer_transpose},
    {"Trilu", DLB_OPC_COMPUTE, dlb__infer_same_as_input},
    {"Unique", DLB_OPC_COMPUTE, dlb__infer_data_dependent},
    {"Unsqueeze", DLB_OPC_VIEW, dlb__infer_unsqueeze},
    {"Upsample", DLB_OPC_COMPUTE, dlb__infer_upsample},
    {"Where", DLB_OPC_COMPUTE, dlb__infer_where},
    {"Xor", DLB_OPC_COMPUTE, dlb__infer_logical},
};

static int cmp_op(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const dlb_op_info *)elem)->name);
}

const dlb_op_info *dlb__op_info(const char *op_type) {
    if (!op_type) return NULL;
    return bsearch(op_type, op_table, sizeof op_table / sizeof op_table[0], sizeof op_table[0],
                   cmp_op);
}

const dlb_op_info *dlb__op_table(int *count) {
    *count = (int)(sizeof op_table / sizeof op_table[0]);
    return op_table;
}

bool dlb__is_onnx_domain(const char *domain) {
    return !domain || !domain[0] || !strcmp(domain, "ai.onnx");
}

bool dlb__node_is_zero_cost(const dlb_graph *g, const dlb_node *n) {
    const dlb_op_info *info = dlb__is_onnx_domain(n->domain) ? dlb__op_info(n->op_type) : NULL;
    if (info && info->cls != DLB_OPC_COMPUTE) return true;
    int present = 0;
    for (int i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0 || n->out[i] >= g->n_tensors) continue;
        if (!g->tensors[n->out[i]].is_const) return false;
        present++;
    }
    return present > 0;
}

/* Every element of a known integer constant input equals v (absent input: true). */
static bool const_all(const dlb_graph *g, const dlb_node *n, int input, int64_t v) {
    if (input >= n->n_in || n->in[input] < 0) return true;
    const dlb_tensor *t = &g->tensors[n->in[input]];
    if (!t->is_const || !t->value.i) return false;
    for (int64_t i = 0; i < t->value.n; i++)
        if (t->value.i[i] != v) return false;
    return true;
}

bool dlb__node_is_view(const dlb_graph *g, const dlb_node *n) {
    if (!dlb__is_onnx_domain(n->domain) || n->n_in < 1 || n->n_out < 1 || n->in[0] < 0 ||
        n->out[0] < 0)
        return false;
    const dlb_op_info *info = dlb__op_info(n->op_type);
    if (info && info->cls == DLB_OPC_VIEW) return strcmp(n->op_type, "Constant") != 0;
    const dlb_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
    if (!dlb_shape_known(&x->shape) || !dlb_shape_equal(&x->shape, &y->shape) ||
        x->dtype != y->dtype)
        return false;
    const char *op = n->op_type;
    if (!strcmp(op, "Pad")) { /* all pads zero (attribute before opset 11, input after) */
        const dlb_attr *a = dlb_node_attr(n, "pads");
        if (a && a->type == DLB_ATTR_INTS) {
            for (int i = 0; i < a->n; i++)
                if (a->ints[i] != 0) return false;
            return true;
        }
        return n->n_in > 1 && const_all(g, n, 1, 0);
    }
    if (!strcmp(op, "Slice")) return const_all(g, n, 4, 1); /* same shape, steps 1 */
    if (!strcmp(op, "Concat") || !strcmp(op, "Sum") || !strcmp(op, "Max") || !strcmp(op, "Min"))
        return n->n_in == 1; /* of a single input */
    return !strcmp(op, "Expand") || !strcmp(op, "Tile") || !strcmp(op, "Cast") ||
           !strcmp(op, "Resize") || !strcmp(op, "Upsample");
}

int dlb__view_source(const dlb_graph *g, int t) {
    for (int guard = 0; guard < g->n_nodes && t >= 0; guard++) {
        int p = g->tensors[t].producer;
        if (p < 0) break;
        const dlb_node *n = &g->nodes[p];
        if (!dlb__node_is_view(g, n)) break;
        t = n->in[0];
    }
    return t;
}
