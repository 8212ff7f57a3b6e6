#!/usr/bin/env python3
"""gen_gemm_model.py — writes models/gemm_alpha_beta.onnx: Gemm(A, B^T, C) with alpha 0.5, beta 2,
weights included (a test of Gemm scaling in the executor's weight loading)."""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
B = rng.uniform(-1, 1, (6, 5)).astype(np.float32)   # transB: [N, K]
C = rng.uniform(-1, 1, (6,)).astype(np.float32)
node = helper.make_node("Gemm", ["A", "B", "C"], ["Y"], name="gemm0", alpha=0.5, beta=2.0, transB=1)
graph = helper.make_graph(
    [node], "gemm_alpha_beta",
    [helper.make_tensor_value_info("A", TensorProto.FLOAT, [3, 5])],
    [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [3, 6])],
    [numpy_helper.from_array(B, "B"), numpy_helper.from_array(C, "C")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "gemm_alpha_beta.onnx")
onnx.save(model, out)
print(out)
