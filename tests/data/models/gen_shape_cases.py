# Writes the small ONNX models used by tests/unit/test_shape*.c into models/shape/.
"""Run with Debian's python3 (onnx 1.12):  /usr/bin/python3 tests/data/models/gen_shape_cases.py

Every model is built with onnx.helper (no torch), has explicit node names and, unless a case says
otherwise, no value_info: shapes must come from dlbricks-mpi's own inference.  Expected shapes are
asserted in tests/unit/test_shape.c (comments there give the arithmetic).  Deterministic: re-running
produces identical bytes.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "shape")
F, I64 = TensorProto.FLOAT, TensorProto.INT64
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)


def inp(name, shape, dt=F):
    return helper.make_tensor_value_info(name, dt, shape)


def out(name, dt=F, shape=None):
    return helper.make_tensor_value_info(name, dt, shape)


def ints(name, vals):
    return numpy_helper.from_array(np.array(vals, dtype=np.int64), name)


def floats(name, vals, shape=None):
    a = np.array(vals, dtype=np.float32)
    return numpy_helper.from_array(a.reshape(shape) if shape is not None else a, name)


def weight(name, shape):
    """A float weight with dims only (no data), like the stripped zoo."""
    t = TensorProto()
    t.name = name
    t.data_type = F
    t.dims.extend(shape)
    return t


def node(op, ins, outs, name, **attrs):
    return helper.make_node(op, ins, outs, name=name, **attrs)


def model(name, nodes, inputs, outputs, inits=(), opset=13, value_info=()):
    g = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits),
                          value_info=list(value_info))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gen_shape_cases")
    m.ir_version = 8 if opset >= 15 else 7
    save(m, os.path.join(OUT, name + ".onnx"))


def conv_cases():
    model("conv", [
        # 17x17, k3, d2 (extent 5), s2, SAME_UPPER -> ceil(17/2) = 9
        node("Conv", ["x", "w"], ["same_upper"], "conv_same_upper", auto_pad="SAME_UPPER",
             strides=[2, 2], dilations=[2, 2]),
        # SAME_LOWER, s3 -> ceil(17/3) = 6
        node("Conv", ["x", "w"], ["same_lower"], "conv_same_lower", auto_pad="SAME_LOWER",
             strides=[3, 3]),
        # pads [h0=0, w0=1, h1=2, w1=3]: H 17+0+2-3+1 = 17, W 17+1+3-3+1 = 19
        node("Conv", ["x", "w"], ["asym"], "conv_asym", pads=[0, 1, 2, 3]),
        # VALID, k3 s2: (17-3)/2+1 = 8
        node("Conv", ["x", "w"], ["valid"], "conv_valid", auto_pad="VALID", strides=[2, 2]),
        # 1-D grouped: 1x4x10, w 6x2x3, group 2, pads 1, s2: (10+2-3)/2+1 = 5
        node("Conv", ["x1", "w1"], ["conv1d"], "conv1d", group=2, pads=[1, 1], strides=[2]),
        # 3-D: 1x2x5x6x7, k3 -> 3x4x5
        node("Conv", ["x3", "w3"], ["conv3d"], "conv3d"),
        # depthwise 3x3 s1 p1 with bias
        node("Conv", ["x", "wd", "bd"], ["dw"], "conv_dw", group=3, pads=[1, 1, 1, 1],
             kernel_shape=[3, 3]),
    ], [inp("x", [1, 3, 17, 17]), inp("x1", [1, 4, 10]), inp("x3", [1, 2, 5, 6, 7])],
        [out("same_upper"), out("same_lower"), out("asym"), out("valid"), out("conv1d"),
         out("conv3d"), out("dw")],
        [weight("w", [8, 3, 3, 3]), weight("w1", [6, 2, 3]), weight("w3", [4, 2, 3, 3, 3]),
         weight("wd", [3, 1, 3, 3]), floats("bd", [0.0, 0.0, 0.0])])

    model("convtranspose", [
        # s2, pads 1, output_padding 1: 2*(5-1) + 1 + 3 - 2 = 10
        node("ConvTranspose", ["x", "w"], ["y"], "deconv", strides=[2, 2], pads=[1, 1, 1, 1],
             output_padding=[1, 1]),
        # explicit output_shape
        node("ConvTranspose", ["x", "w"], ["y_os"], "deconv_os", strides=[2, 2],
             output_shape=[11, 11]),
        # group 2: channels 3*2 = 6; SAME_UPPER: 5*2 = 10
        node("ConvTranspose", ["x", "wg"], ["y_g"], "deconv_group", group=2, strides=[2, 2],
             auto_pad="SAME_UPPER"),
    ], [inp("x", [1, 4, 5, 5])], [out("y"), out("y_os"), out("y_g")],
        [weight("w", [4, 2, 3, 3]), weight("wg", [4, 3, 3, 3])])


def pool_gemm_matmul_cases():
    model("pool", [
        # 6x6 k3 s2 ceil: (6-3)/2 = 1.5 -> 2 + 1 = 3
        node("MaxPool", ["x"], ["ceil"], "pool_ceil", kernel_shape=[3, 3], strides=[2, 2],
             ceil_mode=1),
        node("MaxPool", ["x"], ["floor"], "pool_floor", kernel_shape=[3, 3], strides=[2, 2]),
        # 5x5 k2 s2 p1 ceil: 5+2-2 = 5 -> ceil(5/2)+1 = 4, but window 4 would start at 6 >= 5+1,
        # so 3 (PyTorch / onnxruntime rule)
        node("AveragePool", ["x5"], ["ceil_pad"], "pool_ceil_pad", kernel_shape=[2, 2],
             strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
        # dilated max pool: 6x6 k2 d2 (extent 3) s1 -> 4
        node("MaxPool", ["x"], ["dil", "idx"], "pool_dil", kernel_shape=[2, 2], dilations=[2, 2]),
        node("GlobalAveragePool", ["x"], ["gap"], "gap"),
    ], [inp("x", [1, 2, 6, 6]), inp("x5", [1, 2, 5, 5])],
        [out("ceil"), out("floor"), out("ceil_pad"), out("dil"), out("idx", I64), out("gap")])

    model("gemm", [
        node("Gemm", ["a", "b", "c"], ["y"], "gemm_transb", transB=1),
        node("Gemm", ["at", "bt"], ["y2"], "gemm_transa", transA=1),
    ], [inp("a", [2, 8]), inp("at", [8, 2])], [out("y"), out("y2")],
        [weight("b", [4, 8]), floats("c", [0, 0, 0, 0]), weight("bt", [8, 4])])

    model("matmul", [
        node("MatMul", ["a", "b"], ["bcast"], "mm_bcast"),  # 2x1x3x4 @ 5x4x6 -> 2x5x3x6
        node("MatMul", ["v", "b"], ["vec_left"], "mm_vec_left"),  # [4] @ 5x4x6 -> 5x6
        node("MatMul", ["m", "v"], ["vec_right"], "mm_vec_right"),  # 3x4 @ [4] -> [3]
        node("MatMul", ["v", "v"], ["dot"], "mm_dot"),  # [4] @ [4] -> scalar
    ], [inp("a", [2, 1, 3, 4]), inp("b", [5, 4, 6]), inp("v", [4]), inp("m", [3, 4])],
        [out("bcast"), out("vec_left"), out("vec_right"), out("dot")])


def resize_cases():
    x = inp("x", [1, 3, 8, 8])
    model("resize11", [
        node("Resize", ["x", "roi", "scales"], ["by_scales"], "resize_scales", mode="nearest"),
        node("Resize", ["x", "roi", "empty", "sizes"], ["by_sizes"], "resize_sizes"),
    ], [x], [out("by_scales"), out("by_sizes")],
        [floats("roi", []), floats("scales", [1, 1, 2, 2]), floats("empty", []),
         ints("sizes", [1, 3, 5, 7])], opset=11)
    model("resize13", [
        node("Resize", ["x", "", "", "sizes"], ["by_sizes"], "resize_sizes"),
        node("Resize", ["x", "", "scales"], ["by_scales"], "resize_scales"),
    ], [x], [out("by_sizes"), out("by_scales")],
        [ints("sizes", [1, 3, 5, 7]), floats("scales", [1, 1, 0.5, 1.5])], opset=13)


def slice_split_squeeze_cases():
    model("slice", [
        # axis 0: -3..INT64_MAX -> 7..10 = 3; axis 2: 0..-1 step 2 -> 0..29 step 2 = 15
        node("Slice", ["x", "s1", "e1", "a1", "st1"], ["y1"], "slice_pos"),
        # axis 1 backwards from -1 to INT64_MIN step -3: 19, 16, ..., 1 = 7
        node("Slice", ["x", "s2", "e2", "a2", "st2"], ["y2"], "slice_neg"),
        # no axes/steps; ends clamp: [2:100, -100:5] -> 8x5
        node("Slice", ["x", "s3", "e3"], ["y3"], "slice_clamp"),
    ], [inp("x", [10, 20, 30])], [out("y1"), out("y2"), out("y3")],
        [ints("s1", [-3, 0]), ints("e1", [INT64_MAX, -1]), ints("a1", [0, -1]),
         ints("st1", [1, 2]), ints("s2", [-1]), ints("e2", [INT64_MIN]), ints("a2", [1]),
         ints("st2", [-3]), ints("s3", [2, -100]), ints("e3", [100, 5])])

    model("split11", [
        node("Split", ["x"], ["a", "b", "c"], "split_attr", axis=1, split=[2, 3, 5]),
        node("Split", ["y"], ["d", "e", "f"], "split_equal", axis=-1),
    ], [inp("x", [4, 10]), inp("y", [4, 9])],
        [out(n) for n in "abcdef"], opset=11)
    model("split13", [
        node("Split", ["x", "sizes"], ["a", "b"], "split_input", axis=1),
    ], [inp("x", [4, 10])], [out("a"), out("b")], [ints("sizes", [1, 9])], opset=13)

    model("squeeze11", [
        node("Squeeze", ["x"], ["sq"], "squeeze_attr", axes=[0, -2]),
        node("Unsqueeze", ["sq"], ["unsq"], "unsqueeze_attr", axes=[0, 3]),
        node("Squeeze", ["x"], ["sq_all"], "squeeze_all"),
    ], [inp("x", [1, 3, 1, 5])], [out("unsq"), out("sq_all")], opset=11)
    model("squeeze13", [
        node("Squeeze", ["x", "axes_sq"], ["sq"], "squeeze_input"),
        node("Unsqueeze", ["sq", "axes_unsq"], ["unsq"], "unsqueeze_input"),
    ], [inp("x", [1, 3, 1, 5])], [out("unsq")],
        [ints("axes_sq", [0, -2]), ints("axes_unsq", [0, 3])], opset=13)

    model("clip11", [
        node("Clip", ["x", "lo", "hi"], ["y"], "clip_inputs"),
        node("Clip", ["x", "", "hi"], ["y2"], "clip_max_only"),
        node("Relu", ["y"], ["z"], "relu"),
    ], [inp("x", [2, 3, 4])], [out("z"), out("y2")],
        [floats("lo", 0.0, []), floats("hi", 6.0, [])], opset=11)


def shape_chain_cases():
    # x: 2x3x4x5.  Shape -> Gather(0) -> Unsqueeze -> Concat([n, -1]) -> Reshape: 2x60.
    # Also: Shape(start=1, end=-1) = [3, 4]; Div of ints; attention-like float scale.
    nodes = [
        node("Shape", ["x"], ["shp"], "shape"),
        node("Gather", ["shp", "zero"], ["n"], "gather_n", axis=0),
        node("Unsqueeze", ["n", "axes0"], ["n1"], "unsqueeze_n"),
        node("Concat", ["n1", "minus1"], ["newshape"], "concat_shape", axis=0),
        node("Reshape", ["x", "newshape"], ["flat"], "reshape"),
        node("Shape", ["x"], ["mid"], "shape_mid", start=1, end=-1),
        node("Gather", ["shp", "neg1"], ["last"], "gather_last", axis=0),  # index -1 -> 5
        node("Div", ["last", "two"], ["half"], "div_int"),  # 5 / 2 = 2 (truncation)
        node("Cast", ["last"], ["lastf"], "cast_f", to=F),
        node("Sqrt", ["lastf"], ["sq"], "sqrt"),
        node("Div", ["one_f", "sq"], ["scale"], "scale"),  # 1/sqrt(5)
        node("ReduceProd", ["mid"], ["prod"], "reduce_prod", keepdims=1),  # 12
        node("Concat", ["n1", "prod", "last1"], ["shape3"], "concat3", axis=0),
        node("Reshape", ["x", "shape3"], ["r3"], "reshape3"),  # 2x12x5
        node("Unsqueeze", ["last", "axes0"], ["last1"], "unsqueeze_last"),
        node("Range", ["zero", "last", "one"], ["rng"], "range"),  # [0..5)
        node("ConstantOfShape", ["mid"], ["cos"], "const_of_shape",
             value=helper.make_tensor("v", I64, [1], [7])),
        node("Size", ["x"], ["size"], "size"),
        node("Equal", ["mid", "mid"], ["eq"], "equal"),
        node("Where", ["eq", "mid", "minus1"], ["wh"], "where"),
        node("Constant", [], ["cst"], "constant", value_ints=[1, -1]),
        node("Reshape", ["x", "cst"], ["r2"], "reshape_const"),  # 1x120
        node("Slice", ["shp", "one", "big"], ["tail"], "slice_shape"),  # [3, 4, 5]
        node("Mul", ["tail", "two"], ["tail2"], "mul_shape"),  # [6, 8, 10]
    ]
    model("shape_chain", nodes, [inp("x", [2, 3, 4, 5])],
          [out("flat"), out("r3"), out("r2"), out("half", I64), out("scale"), out("rng", I64),
           out("cos", I64), out("size", I64), out("wh", I64), out("tail2", I64)],
          [ints("zero", 0), ints("axes0", [0]), ints("minus1", [-1]), ints("neg1", -1),
           ints("two", 2), floats("one_f", 1.0, []), ints("one", 1), ints("big", [INT64_MAX])],
          opset=15)


def diag_cases():
    model("vi_mismatch", [
        node("Relu", ["x"], ["r"], "relu_vi"),
        node("Sigmoid", ["r"], ["y"], "sig"),
    ], [inp("x", [1, 64])], [out("y")], value_info=[out("r", F, [1, 65])])
    model("zero_dim", [node("Relu", ["x"], ["y"], "relu0")], [inp("x", [1, 0, 4])], [out("y")])
    model("overflow_input", [node("Relu", ["x"], ["y"], "relu0")],
          [inp("x", [2**40, 2**40])], [out("y")])
    model("overflow_fold", [
        node("Mul", ["a", "a"], ["p"], "mul_big"),
        node("Reshape", ["x", "p"], ["y"], "reshape0"),
    ], [inp("x", [4])], [out("y")], [ints("a", [2**40])])
    # FooBar (unknown, no value_info) feeds two more nodes: exactly one warning, naming foo0.
    model("unknown_op", [
        node("Relu", ["x"], ["r"], "relu0"),
        node("FooBar", ["r"], ["f"], "foo0"),
        node("Relu", ["f"], ["g"], "relu1"),
        node("Add", ["g", "r"], ["y"], "add0"),
    ], [inp("x", [1, 4])], [out("y")])
    # data-dependent NonZero with a value_info fallback for its output.
    model("nonzero_vi", [
        node("NonZero", ["x"], ["nz"], "nonzero0"),
        node("Transpose", ["nz"], ["t"], "transpose0"),
    ], [inp("x", [3, 4])], [out("t", I64)], value_info=[out("nz", I64, [2, 5])])


def batch_cases():
    # Conv -> Shape chain -> Reshape(batch, -1) -> Gemm: the batch flows through folding.  The
    # graph output declares 1x10 (written for batch 1: no warning once the batch is rewritten).
    model("batch", [
        node("Conv", ["x", "w"], ["c"], "conv0", pads=[1, 1, 1, 1]),
        node("Shape", ["c"], ["s"], "shape0"),
        node("Gather", ["s", "zero"], ["n"], "gather0", axis=0),
        node("Unsqueeze", ["n", "axes0"], ["n1"], "unsqueeze0"),
        node("Concat", ["n1", "minus1"], ["ns"], "concat0", axis=0),
        node("Reshape", ["c", "ns"], ["flat"], "reshape0"),
        node("Gemm", ["flat", "fc", "fcb"], ["y"], "fc0", transB=1),
    ], [inp("x", [1, 3, 8, 8])], [out("y", F, [1, 10])],
        [weight("w", [4, 3, 3, 3]), ints("zero", 0), ints("axes0", [0]), ints("minus1", [-1]),
         weight("fc", [10, 256]), weight("fcb", [10])])
    model("dynamic_batch", [node("Relu", ["x"], ["y"], "relu0")],
          [inp("x", ["N", 3, 4])], [out("y")])


def misc_cases():
    model("misc", [
        node("Pad", ["x", "pads"], ["pad"], "pad0"),  # 2x3x4x5 + [0,0,1,2]/[0,0,3,4] -> 2x3x8x11
        node("Transpose", ["x"], ["tr"], "transpose_default"),  # reversed: 5x4x3x2
        node("Transpose", ["x"], ["tr2"], "transpose_perm", perm=[0, 2, 3, 1]),
        node("Expand", ["b", "eshape"], ["ex"], "expand0"),  # 3x1 -> 2x3x4
        node("Tile", ["x", "reps"], ["tile"], "tile0"),  # 2x3x4x5 * [1,2,1,3]
        node("Gather", ["x", "gidx"], ["gat"], "gather0", axis=-2),  # idx 2x2 -> 2x3x2x2x5
        node("Flatten", ["x"], ["fl"], "flatten0", axis=-1),  # 24x5
        node("Reshape", ["x", "rs"], ["rsh"], "reshape0"),  # [0, -1, 5] -> 2x12x5
        node("ReduceMean", ["x"], ["rm"], "reduce_mean", axes=[1, -1], keepdims=0),  # 2x4
        node("ReduceSum", ["x", "raxes"], ["rsum"], "reduce_sum"),  # axes [2] keep -> 2x3x1x5
        node("ReduceMax", ["x"], ["rmax"], "reduce_max_all", keepdims=0),  # scalar
        node("Softmax", ["x"], ["sm"], "softmax0"),
        node("TopK", ["x", "k"], ["tv", "ti"], "topk0", axis=1),  # 2x2x4x5
        node("Concat", ["x", "x"], ["cat"], "concat_neg", axis=-3),  # 2x6x4x5
        node("Where", ["cond", "x", "zero_f"], ["wh"], "where0"),  # broadcast 4x5 -> 2x3x4x5
        node("Dropout", ["x"], ["dr", "mask"], "dropout0"),
        node("Einsum", ["m1", "m2"], ["ein"], "einsum0", equation="bij,bjk->bik"),  # 2x3x6
        node("LayerNormalization", ["x", "g5", "b5"], ["ln"], "ln0", axis=-1),
        node("ArgMax", ["x"], ["am"], "argmax0", axis=2, keepdims=0),  # 2x3x5
        node("DepthToSpace", ["d"], ["d2s"], "d2s0", blocksize=2),  # 1x8x2x3 -> 1x2x4x6
    ], [inp("x", [2, 3, 4, 5]), inp("b", [3, 1]), inp("cond", [4, 5], TensorProto.BOOL),
             inp("m1", [2, 3, 4]), inp("m2", [2, 4, 6]), inp("d", [1, 8, 2, 3])],
        [out(n) for n in ["pad", "tr", "tr2", "ex", "tile", "gat", "fl", "rsh", "rm", "rsum",
                          "rmax", "sm", "tv", "wh", "dr", "ein", "ln", "d2s", "cat"]]
        + [out("ti", I64), out("mask", TensorProto.BOOL), out("am", I64)],
        [ints("pads", [0, 0, 1, 2, 0, 0, 3, 4]), ints("eshape", [2, 1, 4]), ints("reps", [1, 2, 1, 3]),
         ints("gidx", [[0, -1], [1, 2]]), ints("rs", [0, -1, 5]), ints("raxes", [2]),
         ints("k", [2]), floats("zero_f", 0.0, []), floats("g5", [1] * 5), floats("b5", [0] * 5)],
        opset=17)
    model("bad_broadcast", [node("Add", ["x", "b"], ["y"], "add_bad")],
          [inp("x", [2, 3]), inp("b", [4])], [out("y")])


def fold_cases():
    # Integer and float folding semantics on constants (every result is a graph output).
    B = TensorProto.BOOL
    nodes = [
        node("Div", ["a", "b"], ["div"], "div"),  # [-7, 7] / [2, -2] -> [-3, -3] (truncation)
        node("Mod", ["a", "b"], ["mod"], "mod"),  # sign of divisor: [1, -1]
        node("Mod", ["a", "b"], ["fmod"], "fmod", fmod=1),  # sign of dividend: [-1, 1]
        node("Sub", ["a", "b"], ["sub"], "sub"),  # [-9, 9]
        node("Pow", ["b", "two"], ["pow"], "pow"),  # [4, 4]
        node("Neg", ["a"], ["neg"], "neg"),
        node("Abs", ["a"], ["abs"], "abs"),
        node("Max", ["a", "b", "zero"], ["max"], "max3"),  # [2, 7]
        node("Min", ["a", "b"], ["min"], "min"),  # [-7, -2]
        node("Less", ["a", "b"], ["lt"], "less"),  # [1, 0]
        node("Greater", ["a", "b"], ["gt"], "greater"),  # [0, 1]
        node("Not", ["lt"], ["nlt"], "not"),  # [0, 1]
        node("Where", ["lt", "a", "b"], ["wh"], "where"),  # [-7, -2]
        node("Slice", ["r10", "s9", "ebig", "ax0", "stm2"], ["sl"], "slice_rev"),  # 9,7,5,3,1
        node("Transpose", ["m23"], ["tr"], "transpose"),  # [[0,3],[1,4],[2,5]]
        node("Split", ["r10"], ["sp0", "sp1"], "split", axis=0),  # 0..4, 5..9
        node("Tile", ["a", "reps"], ["tile"], "tile"),  # [-7, 7, -7, 7, -7, 7]
        node("Expand", ["a", "eshape"], ["ex"], "expand"),  # 2x2: -7,7,-7,7
        node("Clip", ["a", "cmin", "cmax"], ["clip"], "clip"),  # [-5, 5]
        node("Cast", ["a"], ["bool"], "cast_bool", to=B),  # [1, 1]
        node("Cast", ["half_f"], ["trunc"], "cast_trunc", to=I64),  # [-2.5, 2.5] -> [-2, 2]
        node("ReduceSum", ["m23", "ax1"], ["rsum"], "reduce_sum", keepdims=0),  # [3, 12]
        node("ReduceMax", ["m23"], ["rmax"], "reduce_max", axes=[0], keepdims=1),  # [[3,4,5]]
        node("Flatten", ["m23"], ["flat"], "flatten", axis=0),  # 1x6
        node("Range", ["fstart", "flimit", "fdelta"], ["frange"], "range_f"),  # 1.0, 0.5 (2)
        node("Range", ["ten", "zero", "mthree"], ["irange"], "range_neg"),  # 10, 7, 4, 1
        node("Gather", ["m23", "gidx"], ["gat"], "gather_rows", axis=1),  # [[2,0],[5,3]]
    ]
    model("fold", nodes, [inp("x", [1])],
          [out(n, I64) for n in ["div", "mod", "fmod", "sub", "pow", "neg", "abs", "max", "min",
                                 "wh", "sl", "tr", "sp0", "sp1", "tile", "ex", "clip", "trunc",
                                 "rsum", "rmax", "flat", "irange", "gat"]]
          + [out(n, B) for n in ["lt", "gt", "nlt", "bool"]] + [out("frange", F)],
          [ints("a", [-7, 7]), ints("b", [2, -2]), ints("two", 2), ints("zero", 0),
           ints("r10", list(range(10))), ints("s9", [-1]), ints("ebig", [INT64_MIN]),
           ints("ax0", [0]), ints("stm2", [-2]), ints("m23", [[0, 1, 2], [3, 4, 5]]),
           ints("reps", [3]), ints("eshape", [2, 1]), ints("cmin", -5), ints("cmax", 5),
           floats("half_f", [-2.5, 2.5]), ints("ax1", [1]), floats("fstart", 1.0, []),
           floats("flimit", 0.0, []), floats("fdelta", -0.5, []), ints("ten", 10),
           ints("mthree", -3), ints("gidx", [2, 0])])
    model("gather_oob", [node("Gather", ["x", "i"], ["y"], "gather_bad", axis=1)],
          [inp("x", [2, 3])], [out("y")], [ints("i", [5])])
    model("reshape_bad", [node("Reshape", ["x", "s"], ["y"], "reshape_bad")],
          [inp("x", [2, 3])], [out("y")], [ints("s", [4, 2])])
    model("concat_bad", [node("Concat", ["x", "z"], ["y"], "concat_bad", axis=0)],
          [inp("x", [2, 3]), inp("z", [2, 4])], [out("y")])


def opset18_cases():
    # Opset 18: Reduce* axes as an input, Split num_outputs (uneven: 4, 4, 2), Pad axes input.
    model("opset18", [
        node("ReduceMean", ["x", "axes"], ["rm"], "reduce_mean", keepdims=0),  # 2x10
        node("ReduceMax", ["x"], ["rall"], "reduce_noop", noop_with_empty_axes=1),  # 2x3x10
        node("Split", ["x"], ["s0", "s1", "s2"], "split_num", axis=2, num_outputs=3),
        node("Pad", ["x", "pads", "", "paxes"], ["pad"], "pad_axes"),  # axis 2: 10+1+2
    ], [inp("x", [2, 3, 10])],
        [out("rm"), out("rall"), out("s0"), out("s1"), out("s2"), out("pad")],
        [ints("axes", [1]), ints("pads", [1, 2]), ints("paxes", [-1])], opset=18)


def main():
    os.makedirs(OUT, exist_ok=True)
    conv_cases()
    pool_gemm_matmul_cases()
    resize_cases()
    slice_split_squeeze_cases()
    shape_chain_cases()
    diag_cases()
    batch_cases()
    misc_cases()
    fold_cases()
    opset18_cases()


if __name__ == "__main__":
    main()
