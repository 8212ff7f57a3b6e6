#!/usr/bin/env python3
"""gen_bn_two_readers.py — writes models/bn_two_readers.onnx: two convolutions, their Concat, a
standalone BatchNormalization (it follows no convolution, so it is not folded) read by two 1x1
convolutions, and their sum.  A test of the cache state of a streamed output: only the first
reader of the batch norm's output finds it in memory (test_keys, test_streamed_outputs).
Run with Debian's python3 (onnx 1.12); deterministic: re-running writes identical bytes."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)


def init(name, shape, lo=-0.5, hi=0.5):
    return numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(np.float32), name)


inits = [init("wa", (16, 16, 3, 3)), init("wb", (16, 16, 3, 3)),
         init("scale", (32,)), init("bias", (32,)), init("mean", (32,)),
         init("var", (32,), 0.5, 1.5), init("wc", (16, 32, 1, 1)), init("wd", (16, 32, 1, 1))]
nodes = [
    helper.make_node("Conv", ["x", "wa"], ["a"], name="conv_a", pads=[1, 1, 1, 1]),
    helper.make_node("Conv", ["x", "wb"], ["b"], name="conv_b", pads=[1, 1, 1, 1]),
    helper.make_node("Concat", ["a", "b"], ["cat"], name="cat", axis=1),
    helper.make_node("BatchNormalization", ["cat", "scale", "bias", "mean", "var"], ["bn"],
                     name="bn"),
    helper.make_node("Conv", ["bn", "wc"], ["c"], name="conv_c"),
    helper.make_node("Conv", ["bn", "wd"], ["d"], name="conv_d"),
    helper.make_node("Add", ["c", "d"], ["y"], name="add"),
]
graph = helper.make_graph(
    nodes, "bn_two_readers",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 32, 32])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 32, 32])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "bn_two_readers.onnx")
onnx.save(model, out)
print(out)
