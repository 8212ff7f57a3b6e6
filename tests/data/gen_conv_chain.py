#!/usr/bin/env python3
"""gen_conv_chain.py — writes models/conv_chain.onnx: five 1x1 convolutions in a chain, each
output 1x16x256x256 f32 (4 MiB).  The executor places them on two arena slots in turn, so each
output lands on bytes an earlier layer (or the previous inference) left a known number of bytes
before: a hand-checked case of outputs at their reuse distance (test_cache_keys,
test_output_distances).  Run with Debian's python3 (onnx 1.12); deterministic: re-running writes
identical bytes."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(5)
names = ["x", "a", "b", "c", "d", "y"]
inits, nodes = [], []
for i in range(5):
    w = numpy_helper.from_array(rng.uniform(-0.25, 0.25, (16, 16, 1, 1)).astype(np.float32),
                                f"w{i}")
    b = numpy_helper.from_array(rng.uniform(-0.1, 0.1, (16,)).astype(np.float32), f"b{i}")
    inits += [w, b]
    nodes.append(helper.make_node("Conv", [names[i], f"w{i}", f"b{i}"], [names[i + 1]],
                                  name=f"conv{i}"))
graph = helper.make_graph(
    nodes, "conv_chain",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 256, 256])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 256, 256])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "conv_chain.onnx")
onnx.save(model, out)
print(out)
