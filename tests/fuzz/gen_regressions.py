# Generates tests/fuzz/regressions/*.onnx: hand-made reproducers of bugs the fuzz campaign (and
# the review that went with it) found; each one crashed or hit undefined behaviour before its fix.
"""Run with Debian's python3 (onnx 1.12):  /usr/bin/python3 tests/fuzz/gen_regressions.py

Deterministic.  Files found by libFuzzer itself are kept in regressions/ as they were minimized
and are not made here.  tests/fuzz/README.md lists every file with the bug and the fix.
Weights are stripped (dims only): the loader never needs them.
"""
import os

import numpy as np
from onnx import AttributeProto, TensorProto as TP, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "regressions")
F = TP.FLOAT


def vi(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def weight(name, shape):
    """A float initializer with dims but no data (stripped weights)."""
    t = TP()
    t.name = name
    t.data_type = F
    t.dims.extend(shape)
    return t


def i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def floats_attr(name, values):
    return helper.make_attribute(name, [float(v) for v in values])


def save(fname, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="dlbricks-gen_regressions")
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(m.SerializeToString())


def node(op, ins, outs, name, **attrs):
    return helper.make_node(op, ins, outs, name=name, **attrs)


def main():
    os.makedirs(OUT, exist_ok=True)
    x4 = [vi("x", [1, 3, 8, 8])]
    w = [weight("w", [4, 3, 3, 3])]

    # src/lower/patterns.c: ReduceMean 'axes' given as FLOATS -> axes->ints is NULL.
    rm = node("ReduceMean", ["x"], ["m"], "rm")
    rm.attribute.append(floats_attr("axes", [1]))
    save("lower_layernorm_axes_floats_null_ints.onnx", [rm, node("Sub", ["x", "m"], ["d"], "sub")],
         [vi("x", [1, 4])], [vi("d", [1, 4])])

    # src/lower/op_build.c: Conv 'strides' as FLOATS (shape from the graph output) -> NULL ints.
    cv = node("Conv", ["x", "w"], ["y"], "conv0")
    cv.attribute.append(floats_attr("strides", [1, 1]))
    save("lower_conv_strides_floats_null_ints.onnx", [cv], x4, [vi("y", [1, 4, 6, 6])], w)

    # src/lower/op_build.c: MaxPool 'kernel_shape' as FLOATS -> NULL ints.
    mp = node("MaxPool", ["x"], ["y"], "pool0")
    mp.attribute.append(floats_attr("kernel_shape", [2, 2]))
    save("lower_pool_kernel_floats_null_ints.onnx", [mp], x4, [vi("y", [1, 3, 4, 4])])

    # src/lower/op_build.c: SAME_UPPER geometry with strides 2^62 (ConvTranspose whose
    # output_shape is FLOATS: shapes from the graph output) -> int64 overflow.
    ct = node("ConvTranspose", ["x", "w"], ["y"], "deconv0", strides=[2**62, 2**62],
              auto_pad="SAME_UPPER")
    ct.attribute.append(floats_attr("output_shape", [8, 8]))
    save("lower_deconv_same_huge_strides_overflow.onnx", [ct], x4, [vi("y", [1, 4, 8, 8])],
         [weight("w", [3, 4, 3, 3])])

    # src/lower/lower.c absorb_post_ops: Add with an omitted second input -> tensors[-1].
    save("lower_postop_add_omitted_input_oob.onnx",
         [node("Conv", ["x", "w"], ["y"], "conv0"), node("Add", ["y", ""], ["z"], "add")],
         x4, [vi("z", [1, 4, 6, 6])], w)
    save("lower_matmul_add_omitted_input_oob.onnx",
         [node("MatMul", ["x", "w"], ["y"], "mm"), node("Add", ["y", ""], ["z"], "add")],
         [vi("x", [2, 4])], [vi("z", [2, 5])], [weight("w", [4, 5])])

    # src/lower/lower.c absorb_bn: BatchNormalization with one input -> in[1..4] read past the end.
    save("lower_conv_bn_one_input_oob.onnx",
         [node("Conv", ["x", "w"], ["y"], "conv0"),
          node("BatchNormalization", ["y"], ["z"], "bn0")],
         x4, [vi("z", [1, 4, 6, 6])], w)

    # src/lower/lower.c emit_pattern_layer: SiLU on a scalar -> dims[rank - 1] = dims[-1].
    save("lower_silu_scalar_dims_minus1.onnx",
         [node("Sigmoid", ["x"], ["s"], "sig"), node("Mul", ["x", "s"], ["y"], "mul")],
         [vi("x", [])], [vi("y", [])])

    # src/lower/lower.c absorb_matmul_bias: 1-D x 1-D MatMul (scalar) + bias -> dims[-1].
    save("lower_matmul_scalar_bias_dims_minus1.onnx",
         [node("MatMul", ["x", "w"], ["y"], "mm"), node("Add", ["y", "b"], ["z"], "add")],
         [vi("x", [4])], [vi("z", [1])],
         [weight("w", [4]), numpy_helper.from_array(np.zeros([1], np.float32), "b")])

    # src/lower/op_build.c: Gather with an omitted indices input -> NULL tensor.
    save("lower_gather_omitted_indices_null.onnx",
         [node("Relu", ["x"], ["r"], "r0"), node("Gather", ["r", ""], ["y"], "ga")],
         [vi("x", [4, 8])], [vi("y", [2, 8])])

    # src/lower/cost.c: LRN size INT64_MAX -> size + 3 overflows.
    save("cost_lrn_size_max_overflow.onnx", [node("LRN", ["x"], ["y"], "lrn0", size=2**63 - 1)],
         x4, [vi("y", [1, 3, 8, 8])])

    # src/lower/cost.c: 2^62 f32 elements -> bytes = numel * 4 overflows.
    save("cost_huge_numel_bytes_overflow.onnx", [node("Relu", ["x"], ["y"], "relu0")],
         [vi("x", [1, 2**31, 2**31])], [vi("y", [1, 2**31, 2**31])])

    # src/bricks/registry.c: the FLOPs of two saturated convolutions (each INT64_MAX) summed.
    save("registry_flops_sum_overflow.onnx",
         [node("Conv", ["x", "w"], ["y"], "conv0"), node("Conv", ["y", "w"], ["z"], "conv1")],
         [vi("x", [1, 65536, 65536, 65536])], [vi("z", [1, 65536, 65532, 65532])],
         [weight("w", [65536, 65536, 3, 3])])

    # src/bricks/registry.c piece_key: a Concat of 300 operands in a 2-layer piece overran the
    # edge buffer (64 per layer); 300 distinct external inputs hit the ext[256] limit, which was
    # reported as out of memory (and stops the whole run).
    save("registry_concat_300_inputs_edges_overflow.onnx",
         [node("Relu", ["x"], ["r"], "relu0"), node("Concat", ["r"] * 300, ["y"], "cat", axis=1)],
         [vi("x", [1, 2])], [vi("y", [1, 600])])
    save("registry_concat_300_external_inputs.onnx",
         [node("Relu", ["x"], ["r"], "relu0"),
          node("Concat", ["r"] + ["i%d" % k for k in range(300)], ["y"], "cat", axis=1)],
         [vi("x", [1, 2])] + [vi("i%d" % k, [1, 1]) for k in range(300)], [vi("y", [1, 302])])

    # src/load/graph_build.c: an empty STRING attribute (protobuf-c: data == NULL) -> memcpy
    # from NULL.
    save("load_empty_string_attribute_null.onnx",
         [node("Conv", ["x", "w"], ["y"], "conv0", auto_pad="")], x4, [vi("y", [1, 4, 6, 6])], w)

    # src/load/graph_build.c: attribute 'axes' of type INTS that carries FLOATS: the element
    # count came from the floats while ints[] was NULL (read by shape inference and lowering).
    rm = node("ReduceMean", ["x"], ["y"], "rm0")
    axes = helper.make_attribute("axes", [1.0])
    axes.type = AttributeProto.INTS
    rm.attribute.append(axes)
    save("load_ints_type_with_floats_null.onnx", [node("Relu", ["x0"], ["x"], "r0"), rm],
         [vi("x0", [2, 4])], [vi("y", [2, 1])])

    # src/shape/infer_slice.c: Slice with step -1 on an axis of length 0 (a folded empty
    # constant) was given length 1, and folding read past the empty value (found by libFuzzer).
    save("shape_slice_negative_step_empty_axis_oob.onnx",
         [node("ConstantOfShape", ["shp"], ["z"], "cos0"),
          node("Slice", ["z", "st", "en", "ax", "sp"], ["y"], "slice0"),
          node("Relu", ["x"], ["r"], "r0")],
         [vi("x", [1, 2])], [vi("y", None), vi("r", [1, 2])],
         [i64("shp", [0, 2]), i64("st", [-1]), i64("en", [-2**63 + 1]), i64("ax", [0]),
          i64("sp", [-1])])

    # src/shape/infer_elementwise.c: folding Max of int64 constants went through a double, and
    # (int64_t)(double)INT64_MAX is out of range (found by libFuzzer).
    save("shape_fold_max_int64_max_double.onnx",
         [node("Max", ["a", "b"], ["m"], "max0"), node("Reshape", ["x", "shp"], ["y"], "reshape0")],
         [vi("x", [2, 3])], [vi("m", None), vi("y", None)],
         [i64("a", [2**63 - 1]), i64("b", [1]), i64("shp", [3, 2])])

    # src/shape/infer_slice.c: Resize (opset 18) with scales and an 'axes' attribute out of
    # range read dims[-1] before the axis was checked.
    g = helper.make_graph([node("Resize", ["x", "", "sc"], ["y"], "resize0", axes=[5])], "g",
                          [vi("x", [1, 3, 4, 4])], [vi("y", None)],
                          [numpy_helper.from_array(np.array([2.0], np.float32), "sc")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)],
                          producer_name="dlbricks-gen_regressions")
    with open(os.path.join(OUT, "shape_resize_axes_out_of_range.onnx"), "wb") as f:
        f.write(m.SerializeToString())

    # src/shape/infer_conv.c read_list: output_padding of up to 12 values was read into an array
    # of 6 (stack overflow; kernel_shape, strides and dilations overran into the next fields)
    # (found by libFuzzer).
    save("shape_deconv_output_padding_12_stack_overflow.onnx",
         [node("ConvTranspose", ["x", "w"], ["y"], "deconv0", output_padding=[0] * 12)],
         x4, [vi("y", None)], [weight("w", [3, 4, 3, 3])])

    # src/shape/infer_conv.c: ConvTranspose output extent with output_padding INT64_MAX - 1 (and
    # pads summing past INT64_MAX) was computed unchecked (found by libFuzzer).
    save("shape_deconv_output_padding_overflow.onnx",
         [node("ConvTranspose", ["x", "w"], ["y"], "deconv0", output_padding=[2**63 - 2, 0])],
         x4, [vi("y", None)], [weight("w", [3, 4, 3, 3])])
    save("shape_deconv_pads_sum_overflow.onnx",
         [node("ConvTranspose", ["x", "w"], ["y"], "deconv0",
               pads=[2**62, 0, 2**62 + 2**61, 0])],
         x4, [vi("y", None)], [weight("w", [3, 4, 3, 3])])

    # src/shape/infer_tensor.c, infer_slice.c: folding Transpose or Slice of an empty constant
    # of shape 0 x 2^62 x 8 multiplied the dims into strides: int64 overflow (found by
    # libFuzzer).
    for op, name, ins, inits, attrs in (
            ("Transpose", "shape_fold_transpose_empty_huge_dims.onnx", ["z"], [],
             {"perm": [0, 2, 1]}),
            ("Slice", "shape_fold_slice_empty_huge_dims.onnx", ["z", "st", "en"],
             [i64("st", [0]), i64("en", [1])], {})):
        save(name,
             [node("ConstantOfShape", ["shp"], ["z"], "cos0"), node(op, ins, ["y"], "op0", **attrs),
              node("Relu", ["x"], ["r"], "r0")],
             [vi("x", [1, 2])], [vi("y", None), vi("r", [1, 2])],
             [i64("shp", [0, 2**62, 8])] + inits)

    # src/lower/patterns.c, lower.c, op_build.c: patterns and fusions whose last node has its
    # output omitted ("") read tensors[-1]: the LayerNorm matcher (Sub without output, found by
    # libFuzzer), SiLU (Mul), BatchNormalization + Relu, MatMul + bias Add, and a Conv whose first
    # output is omitted (its second has a value_info shape) with SAME_UPPER padding.
    save("lower_layernorm_sub_no_output_oob.onnx",
         [node("ReduceMean", ["x"], ["m"], "rm", axes=[-1]), node("Sub", ["x", "m"], [""], "sub"),
          node("Relu", ["x"], ["y"], "r0")],
         [vi("x", [1, 4])], [vi("y", [1, 4])])
    save("lower_silu_mul_no_output_oob.onnx",
         [node("Relu", ["x0"], ["x"], "r0"), node("Sigmoid", ["x"], ["s"], "sig"),
          node("Mul", ["x", "s"], [""], "mul"), node("Relu", ["x"], ["y"], "r1")],
         [vi("x0", [1, 4])], [vi("y", [1, 4])])
    bn = [numpy_helper.from_array(np.ones([3], np.float32), k) for k in ("sc", "bb", "mu", "va")]
    save("lower_bn_relu_no_output_oob.onnx",
         [node("Relu", ["x0"], ["x"], "r0"),
          node("BatchNormalization", ["x", "sc", "bb", "mu", "va"], ["b"], "bn0"),
          node("Relu", ["b"], [""], "r1"), node("Relu", ["x"], ["y"], "r2")],
         [vi("x0", [1, 3, 4, 4])], [vi("y", [1, 3, 4, 4])], bn)
    save("lower_matmul_bias_no_output_oob.onnx",
         [node("MatMul", ["x", "w"], ["y"], "mm"), node("Add", ["y", "b"], [""], "add"),
          node("Relu", ["x"], ["z"], "r")],
         [vi("x", [2, 4])], [vi("z", [2, 4])],
         [weight("w", [4, 5]), numpy_helper.from_array(np.zeros([5], np.float32), "b")])
    save("lower_conv_out0_omitted_same_oob.onnx",
         [node("Conv", ["x", "w"], ["", "y"], "conv0", auto_pad="SAME_UPPER")],
         x4, [vi("y", [1, 4, 8, 8])], w)


if __name__ == "__main__":
    main()
