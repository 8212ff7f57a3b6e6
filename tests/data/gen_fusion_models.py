# Builds one tiny ONNX model per fusion rule (onnx.helper, plus torch.onnx.export mirrors) into models/fusion/ with a README.
"""Run with Debian's python3 (torch 1.13, onnx 1.12):  /usr/bin/python3 tests/data/gen_fusion_models.py

NN_rule.onnx        built with onnx.helper: the exact node pattern is controlled, nodes are named
NN_rule_torch.onnx  the same idea exported from a real torch module (what users' files contain)
README.md           per file: opset, input shape, node op sequence, expected fused layer list
Deterministic: seeded weights; re-running produces identical bytes.
"""
import io
import math
import os
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models", "fusion")
FP = TensorProto.FLOAT

ENTRIES = []  # (file, how built, expected fused layers, note)


class G:
    """Tiny graph builder: named nodes, seeded float initializers."""

    def __init__(self, opset=13, seed=0):
        self.nodes, self.inits, self.opset = [], [], opset
        self.rng = np.random.default_rng(seed)

    def w(self, name, shape, lo=None, hi=None):
        a = (self.rng.uniform(lo, hi, shape) if lo is not None else self.rng.standard_normal(shape) * 0.1)
        self.inits.append(numpy_helper.from_array(np.asarray(a, np.float32), name))
        return name

    def c(self, name, value, dtype=np.float32):
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def n(self, op, name, ins, outs=None, **attrs):
        outs = outs or [name + "_out"]
        self.nodes.append(helper.make_node(op, ins, outs, name=name, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def const_node(self, name, value, dtype=np.float32):
        """A Constant node, as torch emits for scalars."""
        t = numpy_helper.from_array(np.asarray(value, dtype), name + "_value")
        return self.n("Constant", name, [], [name + "_out"], value=t)

    def save(self, fname, inputs, out_name, out_shape=None):
        g = helper.make_graph(self.nodes, fname[:-5], [helper.make_tensor_value_info(n, FP, s) for n, s in inputs],
                              [helper.make_tensor_value_info(out_name, FP, out_shape)], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", self.opset)],
                              producer_name="dlbricks-gen_fusion_models")
        m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
        onnx.checker.check_model(m, full_check=True)
        write(fname, m)


def write(fname, m):
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(m.SerializeToString())


def export(fname, module, x, opset=13, **kw):
    torch.manual_seed(1)
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), x, f, opset_version=opset, input_names=["x"], output_names=["y"], **kw)
    m = onnx.load_from_string(f.getvalue())
    onnx.checker.check_model(m, full_check=True)
    write(fname, m)


def entry(fname, how, expected, note=""):
    ENTRIES.append((fname, how, expected, note))


def seeded(module_fn):
    torch.manual_seed(0)
    return module_fn()


X = [("x", [1, 8, 16, 16])]
XT = lambda: torch.randn(1, 8, 16, 16)  # noqa: E731


def conv(g, name, x, cin=8, cout=8, k=3, bias=True):
    ins = [x, g.w(name + ".weight", (cout, cin, k, k))]
    if bias:
        ins.append(g.w(name + ".bias", (cout,)))
    return g.n("Conv", name, ins, kernel_shape=[k, k], pads=[k // 2] * 4)


def build():
    # ---------------------------------------------------------------- (1) Conv -> BatchNormalization
    g = G(seed=1)
    c = conv(g, "conv0", "x", bias=False)
    y = g.n("BatchNormalization", "bn0", [c, g.w("bn0.scale", (8,), 0.5, 1.5), g.w("bn0.bias", (8,)),
                                          g.w("bn0.mean", (8,)), g.w("bn0.var", (8,), 0.5, 1.5)], ["y"], epsilon=1e-5)
    g.save("01_conv_bn.onnx", X, y)
    entry("01_conv_bn.onnx", "helper", "conv0[bn_folded]")

    g = G(seed=2)
    c = conv(g, "conv0", "x", bias=True)
    b = g.n("BatchNormalization", "bn0", [c, g.w("bn0.scale", (8,), 0.5, 1.5), g.w("bn0.bias", (8,)),
                                          g.w("bn0.mean", (8,)), g.w("bn0.var", (8,), 0.5, 1.5)], epsilon=1e-5)
    y = g.n("Relu", "relu0", [b], ["y"])
    g.save("01_conv_bn_relu.onnx", X, y)
    entry("01_conv_bn_relu.onnx", "helper", "conv0[bn_folded,post=relu]", "conv has its own bias too")

    def conv_bn():
        m = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        with torch.no_grad():  # distinct stats, else torch dedups equal initializers into Identity nodes
            m[1].running_mean.uniform_(-0.5, 0.5)
            m[1].running_var.uniform_(0.5, 1.5)
            m[1].weight.uniform_(0.5, 1.5)
            m[1].bias.uniform_(-0.5, 0.5)
        return m
    export("01_conv_bn_torch.onnx", seeded(conv_bn), XT(), training=torch.onnx.TrainingMode.PRESERVE)
    entry("01_conv_bn_torch.onnx", "torch Conv2d+BatchNorm2d, training=PRESERVE", "conv[bn_folded]",
          "torch's default eval export already folds BN into the Conv (no BatchNormalization node); "
          "PRESERVE keeps it")

    # ---------------------------------------------------------------- (2) Conv(+bias) -> Relu
    g = G(seed=3)
    y = g.n("Relu", "relu0", [conv(g, "conv0", "x")], ["y"])
    g.save("02_conv_relu.onnx", X, y)
    entry("02_conv_relu.onnx", "helper", "conv0[post=relu]")
    export("02_conv_relu_torch.onnx", seeded(lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())), XT())
    entry("02_conv_relu_torch.onnx", "torch Conv2d+ReLU", "conv[post=relu]")

    # ---------------------------------------------------------------- (3) Conv -> Add(residual) -> Relu
    g = G(seed=4)
    c = conv(g, "conv0", "x")
    s = g.n("Add", "add0", [c, "x"])
    y = g.n("Relu", "relu0", [s], ["y"])
    g.save("03_conv_add_relu.onnx", X, y)
    entry("03_conv_add_relu.onnx", "helper", "conv0[post=sum(x)+relu]", "identity shortcut: Add(conv0, x)")

    g = G(seed=5)
    sc = conv(g, "shortcut", "x", k=1)
    r = g.n("Relu", "relu_a", [conv(g, "conv_a", "x")])
    c = conv(g, "conv_b", r)
    s = g.n("Add", "add0", [sc, c])
    y = g.n("Relu", "relu0", [s], ["y"])
    g.save("03_conv_add_relu_proj.onnx", X, y)
    entry("03_conv_add_relu_proj.onnx", "helper",
          "shortcut; conv_a[post=relu]; conv_b[post=sum(shortcut)+relu]",
          "projection shortcut (1x1 conv) as the *first* Add input; conv_b is later in topological order, "
          "so it is the one that takes the sum")

    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return F.relu(self.conv(x) + x)
    export("03_conv_add_relu_torch.onnx", seeded(Res), XT())
    entry("03_conv_add_relu_torch.onnx", "torch relu(conv(x) + x)", "conv[post=sum(x)+relu]")

    # ---------------------------------------------------------------- (4) Gemm -> Relu, MatMul -> Add -> Relu
    g = G(seed=6)
    y = g.n("Relu", "relu0", [g.n("Gemm", "fc0", ["x", g.w("fc0.weight", (32, 64)), g.w("fc0.bias", (32,))],
                                  transB=1)], ["y"])
    g.save("04_gemm_relu.onnx", [("x", [4, 64])], y)
    entry("04_gemm_relu.onnx", "helper", "fc0[post=relu] (inner product, bias from Gemm C)")

    g = G(seed=7)
    mm = g.n("MatMul", "matmul0", ["x", g.w("matmul0.weight", (64, 32))])
    a = g.n("Add", "add0", [mm, g.w("add0.bias", (32,))])
    y = g.n("Relu", "relu0", [a], ["y"])
    g.save("04_matmul_add_relu.onnx", [("x", [2, 4, 64])], y)
    entry("04_matmul_add_relu.onnx", "helper", "matmul0[bias,post=relu]",
          "3-D activation x[2,4,64] times constant 64x32; Add of a 1-D constant = bias")

    class Lin(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(64, 32)

        def forward(self, x):
            return F.relu(self.fc(x))
    export("04_gemm_relu_torch.onnx", seeded(Lin), torch.randn(4, 64))
    entry("04_gemm_relu_torch.onnx", "torch Linear+relu on 2-D input", "gemm[post=relu]")
    export("04_matmul_add_relu_torch.onnx", seeded(Lin), torch.randn(2, 4, 64))
    entry("04_matmul_add_relu_torch.onnx", "torch Linear+relu on 3-D input", "matmul[bias,post=relu]",
          "torch emits MatMul with a pre-transposed 64x32 initializer, then Add(bias)")

    # ---------------------------------------------------------------- (5) SiLU = x * Sigmoid(x)
    g = G(seed=8)
    c = conv(g, "conv0", "x")
    y = g.n("Mul", "mul0", [c, g.n("Sigmoid", "sigmoid0", [c])], ["y"])
    g.save("05_silu.onnx", X, y)
    entry("05_silu.onnx", "helper", "conv0[post=swish]", "Mul(conv0_out, Sigmoid(conv0_out))")
    export("05_silu_torch.onnx", seeded(lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.SiLU())), XT())
    entry("05_silu_torch.onnx", "torch Conv2d+SiLU, opset 13", "conv[post=swish]")
    export("05_silu_opset17_torch.onnx", seeded(lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.SiLU())),
           XT(), opset=17)
    entry("05_silu_opset17_torch.onnx", "torch Conv2d+SiLU, opset 17", "conv[post=swish]", "same nodes as opset 13")

    # ---------------------------------------------------------------- (6) HardSwish
    g = G(seed=9)
    c = conv(g, "conv0", "x")
    y = g.n("Mul", "mul0", [c, g.n("HardSigmoid", "hardsigmoid0", [c], alpha=1.0 / 6)], ["y"])
    g.save("06_hardswish_opset13.onnx", X, y)
    entry("06_hardswish_opset13.onnx", "helper", "conv0[post=hardswish]",
          "x*HardSigmoid(x) with alpha=1/6 and beta left at its ONNX default 0.5 (exactly what torch emits)")

    g = G(opset=14, seed=10)
    y = g.n("HardSwish", "hardswish0", [conv(g, "conv0", "x")], ["y"])
    g.save("06_hardswish_opset14.onnx", X, y)
    entry("06_hardswish_opset14.onnx", "helper", "conv0[post=hardswish]", "HardSwish op exists since opset 14")

    g = G(seed=11)
    c = conv(g, "conv0", "x")
    y = g.n("Mul", "mul0", [c, g.n("HardSigmoid", "hardsigmoid0", [c])], ["y"])
    g.save("06_hardswish_wrong_alpha.onnx", X, y)
    entry("06_hardswish_wrong_alpha.onnx", "helper", "conv0[post=hardsigmoid(0.2,0.5)]; mul0  (NOT hardswish)",
          "negative: HardSigmoid with default alpha=0.2 is not the HardSwish gate; at most fuse "
          "hardsigmoid + binary mul, never 'hardswish'")

    hsw = lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.Hardswish())  # noqa: E731
    export("06_hardswish_opset13_torch.onnx", seeded(hsw), XT(), opset=13)
    entry("06_hardswish_opset13_torch.onnx", "torch Conv2d+Hardswish, opset 13", "conv[post=hardswish]")
    export("06_hardswish_opset14_torch.onnx", seeded(hsw), XT(), opset=14)
    entry("06_hardswish_opset14_torch.onnx", "torch Conv2d+Hardswish, opset 14", "conv[post=hardswish]")

    # ---------------------------------------------------------------- (7) HardSigmoid SE gate
    g = G(seed=12)
    p = g.n("GlobalAveragePool", "gap0", ["x"])
    gate = g.n("HardSigmoid", "hardsigmoid0", [conv(g, "conv0", p, k=1)], alpha=1.0 / 6)
    y = g.n("Mul", "mul0", ["x", gate], ["y"])
    g.save("07_se_hardsigmoid.onnx", X, y)
    entry("07_se_hardsigmoid.onnx", "helper",
          "gap0; conv0[post=hardsigmoid]; mul0 (binary mul, gate 1x8x1x1 broadcast over x)",
          "x * HardSigmoid(conv(pool(x))); the Mul cannot be a post-op of conv0 (its output is x-sized)")
    se_hs = lambda: torchvision.ops.SqueezeExcitation(8, 4, scale_activation=nn.Hardsigmoid)  # noqa: E731
    export("07_se_hardsigmoid_torch.onnx", seeded(se_hs), XT())
    entry("07_se_hardsigmoid_torch.onnx", "torchvision.ops.SqueezeExcitation(8, 4, scale_activation=Hardsigmoid)",
          "gap; conv[post=relu]; conv[post=hardsigmoid]; mul (binary, broadcast)", "MobileNetV3 SE block")

    # ---------------------------------------------------------------- (8) GELU, erf form
    g = G(seed=13)
    fc = g.n("Gemm", "fc0", ["x", g.w("fc0.weight", (64, 32)), g.w("fc0.bias", (64,))], transB=1)
    d = g.n("Div", "div0", [fc, g.const_node("c_sqrt2", math.sqrt(2.0))])
    e = g.n("Erf", "erf0", [d])
    a = g.n("Add", "add0", [e, g.const_node("c_one", 1.0)])
    m = g.n("Mul", "mul0", [fc, a])
    y = g.n("Mul", "mul1", [m, g.const_node("c_half", 0.5)], ["y"])
    g.save("08_gelu_erf.onnx", [("x", [4, 32])], y)
    entry("08_gelu_erf.onnx", "helper (torch's node order, scalar Constant nodes)", "fc0[post=gelu_erf]",
          "Div(x, 1.4142135) -> Erf -> Add(1) -> Mul(x, .) -> Mul(., 0.5)")

    class LinGelu(nn.Module):
        def __init__(self, approximate="none"):
            super().__init__()
            self.fc, self.act = nn.Linear(32, 64), nn.GELU(approximate=approximate)

        def forward(self, x):
            return self.act(self.fc(x))
    export("08_gelu_erf_torch.onnx", seeded(LinGelu), torch.randn(4, 32))
    entry("08_gelu_erf_torch.onnx", "torch Linear+GELU, opset 13", "gemm[post=gelu_erf]")
    export("08_gelu_erf_opset17_torch.onnx", seeded(LinGelu), torch.randn(4, 32), opset=17)
    entry("08_gelu_erf_opset17_torch.onnx", "torch Linear+GELU, opset 17", "gemm[post=gelu_erf]",
          "same nodes as opset 13 (ONNX Gelu op only arrives in opset 20)")
    export("08_gelu_tanh_torch.onnx", seeded(lambda: LinGelu("tanh")), torch.randn(4, 32))
    entry("08_gelu_tanh_torch.onnx", "torch Linear+GELU(approximate='tanh'), opset 13", "gemm[post=gelu_tanh]",
          "0.5*x*(1+tanh(sqrt(2/pi)*(x+0.044715*x^3))): 13 nodes, x^3 as Mul(Mul(x,x),x)")

    # ---------------------------------------------------------------- (9) LayerNorm
    g = G(seed=14)
    mean = g.n("ReduceMean", "mean0", ["x"], axes=[-1])
    sub = g.n("Sub", "sub0", ["x", mean])
    pw = g.n("Pow", "pow0", [sub, g.const_node("c_two", 2.0)])
    var = g.n("ReduceMean", "mean1", [pw], axes=[-1])
    ad = g.n("Add", "add_eps", [var, g.const_node("c_eps", 1e-5)])
    sq = g.n("Sqrt", "sqrt0", [ad])
    dv = g.n("Div", "div0", [sub, sq])
    ml = g.n("Mul", "mul_gamma", [dv, g.w("ln.weight", (32,), 0.5, 1.5)])
    y = g.n("Add", "add_beta", [ml, g.w("ln.bias", (32,))], ["y"])
    g.save("09_layernorm_decomposed.onnx", [("x", [2, 16, 32])], y)
    entry("09_layernorm_decomposed.onnx", "helper (torch 1.13 opset-13 node order)",
          "layer_norm[axis=-1,eps=1e-5,affine]", "ReduceMean keeps dims (keepdims default 1)")

    g = G(opset=17, seed=15)
    y = g.n("LayerNormalization", "ln0", ["x", g.w("ln.weight", (32,), 0.5, 1.5), g.w("ln.bias", (32,))], ["y"],
            axis=-1, epsilon=1e-5)
    g.save("09_layernorm_opset17.onnx", [("x", [2, 16, 32])], y)
    entry("09_layernorm_opset17.onnx", "helper", "ln0[axis=-1,eps=1e-5,affine]", "LayerNormalization op (opset 17)")
    export("09_layernorm_decomposed_torch.onnx", seeded(lambda: nn.LayerNorm(32)), torch.randn(2, 16, 32), opset=13)
    entry("09_layernorm_decomposed_torch.onnx", "torch nn.LayerNorm(32), opset 13", "layer_norm[axis=-1,eps=1e-5,affine]")
    export("09_layernorm_opset17_torch.onnx", seeded(lambda: nn.LayerNorm(32)), torch.randn(2, 16, 32), opset=17)
    entry("09_layernorm_opset17_torch.onnx", "torch nn.LayerNorm(32), opset 17", "layer_norm[axis=-1,eps=1e-5,affine]")

    # ---------------------------------------------------------------- (10) SE with Sigmoid gate
    g = G(seed=16)
    p = g.n("GlobalAveragePool", "gap0", ["x"])
    r = g.n("Relu", "relu0", [conv(g, "fc1", p, cout=4, k=1)])
    s = g.n("Sigmoid", "sigmoid0", [conv(g, "fc2", r, cin=4, k=1)])
    y = g.n("Mul", "mul0", ["x", s], ["y"])
    g.save("10_se_sigmoid.onnx", X, y)
    entry("10_se_sigmoid.onnx", "helper", "gap0; fc1[post=relu]; fc2[post=sigmoid]; mul0 (binary, broadcast)")
    export("10_se_sigmoid_torch.onnx", seeded(lambda: torchvision.ops.SqueezeExcitation(8, 4)), XT())
    entry("10_se_sigmoid_torch.onnx", "torchvision.ops.SqueezeExcitation(8, 4)",
          "gap; conv[post=relu]; conv[post=sigmoid]; mul (binary, broadcast)")

    # ---------------------------------------------------------------- (11) ReLU6 = Clip(0, 6)
    g = G(seed=17)
    y = g.n("Clip", "clip0", [conv(g, "conv0", "x"), g.c("clip_min", 0.0), g.c("clip_max", 6.0)], ["y"])
    g.save("11_relu6.onnx", X, y)
    entry("11_relu6.onnx", "helper", "conv0[post=clip(0,6)]", "min/max as scalar initializers (opset >= 11)")
    export("11_relu6_torch.onnx", seeded(lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU6())), XT())
    entry("11_relu6_torch.onnx", "torch Conv2d+nn.ReLU6", "conv[post=clip(0,6)]", "min/max as Constant nodes")

    class FRelu6(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return F.relu6(self.conv(x))
    export("11_relu6_functional_torch.onnx", seeded(FRelu6), XT())
    entry("11_relu6_functional_torch.onnx", "torch Conv2d + F.relu6", "conv[post=relu+clip(0,6)] or conv[post=clip(0,6)]",
          "F.relu6 exports Relu THEN Clip(0,6) (nn.ReLU6 exports Clip only)")

    # ---------------------------------------------------------------- (12) negative: shared conv output
    g = G(seed=18)
    c = conv(g, "conv0", "x")
    r = g.n("Relu", "relu0", [c])
    y = g.n("Add", "add0", [r, c], ["y"])
    g.save("12_negative_shared_conv.onnx", X, y)
    entry("12_negative_shared_conv.onnx", "helper", "conv0 (NO post-op); relu0; add0",
          "conv0's output feeds relu0 and add0: fusing relu into conv0 would change add0's input")

    g = G(seed=19)
    c = conv(g, "conv0", "x")
    r = g.n("Relu", "relu0", [c], ["y"])
    gr = helper.make_graph(g.nodes, "12_negative_conv_graph_output", [helper.make_tensor_value_info("x", FP, X[0][1])],
                           [helper.make_tensor_value_info("y", FP, None),
                            helper.make_tensor_value_info(c, FP, None)], g.inits)
    m = onnx.shape_inference.infer_shapes(helper.make_model(gr, opset_imports=[helper.make_opsetid("", 13)],
                                                            producer_name="dlbricks-gen_fusion_models"))
    onnx.checker.check_model(m, full_check=True)
    write("12_negative_conv_graph_output.onnx", m)
    entry("12_negative_conv_graph_output.onnx", "helper", "conv0 (NO post-op); relu0",
          "conv0's output is also a graph output")

    class Neg(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            c = self.conv(x)
            return F.relu(c) + c
    export("12_negative_shared_conv_torch.onnx", seeded(Neg), XT())
    entry("12_negative_shared_conv_torch.onnx", "torch relu(c) + c", "conv (NO post-op); relu; add")

    # ---------------------------------------------------------------- (13) shape chain around MatMul
    g = G(seed=20)

    def dim(name, t, i):
        sh = g.n("Shape", name + "_shape", [t])
        gi = g.n("Gather", name + "_gather", [sh, g.c(name + "_idx", i, np.int64)], axis=0)
        return g.n("Unsqueeze", name + "_unsq", [gi, g.c(name + "_axes", [0], np.int64)])
    shp = g.n("Concat", "concat0", [dim("d0", "x", 0), dim("d1", "x", 1), g.c("minus1", [-1], np.int64)], axis=0)
    h = g.n("Reshape", "reshape0", ["x", shp])
    mm = g.n("MatMul", "matmul0", [h, g.w("matmul0.weight", (16, 8))])
    shp2 = g.n("Concat", "concat1", [dim("d2", mm, 0), g.c("minus1b", [-1], np.int64)], axis=0)
    y = g.n("Reshape", "reshape1", [mm, shp2], ["y"])
    g.save("13_shape_chain_matmul.onnx", [("x", [2, 4, 4, 4])], y, [2, 32])
    entry("13_shape_chain_matmul.onnx", "helper (static input 2x4x4x4)",
          "matmul0  (everything else zero-cost: Shape/Gather/Unsqueeze/Concat fold to constants, "
          "Reshape is a view)", "x.reshape(N, C, -1) @ W(16x8) then .reshape(N, -1); output 2x32")

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(16, 8))

        def forward(self, x):
            h = torch.matmul(x.reshape(x.size(0), x.size(1), -1), self.w)
            return h.reshape(h.size(0), -1)
    export("13_shape_chain_matmul_torch.onnx", seeded(Chain), torch.randn(2, 4, 4, 4),
           dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    entry("13_shape_chain_matmul_torch.onnx", "torch, dynamic batch N (dynamic_axes)",
          "matmul  (shape ops zero-cost once N is set)",
          "input is Nx4x4x4; with a static batch torch folds the chain to Constant+Reshape")


    class Shuffle(nn.Module):
        """ShuffleNet-V2-style channel shuffles (Reshape -> Transpose -> Reshape): of a concat of
        two convolutions (natural layout), and of the ReLU of a concat of the plain graph input
        and a convolution (a layout that depends on the CPU)."""

        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1), nn.Conv2d(16, 8, 1)

        def forward(self, x):
            y = torch.cat([self.a(x), self.b(x)], 1)
            y = y.reshape(1, 2, 8, 16, 16).transpose(1, 2).reshape(1, 16, 16, 16)
            z = torch.relu(torch.cat([x, self.c(y)], 1))
            return z.reshape(1, 2, 8, 16, 16).transpose(1, 2).reshape(1, 16, 16, 16)
    export("14_channel_shuffle_torch.onnx", seeded(Shuffle), XT())
    entry("14_channel_shuffle_torch.onnx", "torch, channel shuffles",
          "conv;conv;concat;transpose;conv;concat;relu;transpose",
          "the first transpose reads a view of natural data (`:view=1x16x16x16`), the second a view "
          "of a CPU-dependent layout (no `:view`)")


def fmt_shape(vi):
    d = [str(x.dim_value) if x.HasField("dim_value") else (x.dim_param or "?") for x in vi.type.tensor_type.shape.dim]
    return "x".join(d) if d else "scalar"


def write_readme():
    lines = ["# Fusion test models", "",
             "Generated by `../../gen_fusion_models.py` (`/usr/bin/python3 tests/data/gen_fusion_models.py`, "
             "torch %s, onnx %s); do not edit by hand." % (torch.__version__, onnx.__version__), "",
             "`NN_rule.onnx` is built with onnx.helper (exact pattern, named nodes); `*_torch.onnx` is a",
             "torch.onnx.export of a real module (node names are torch's `/conv/Conv`-style paths).",
             "", "Expected-layer notation: one entry per executed layer, `;`-separated, in topological",
             "order. `name[...]` uses the helper's node name (the anchor node of the fused group) or",
             "just the kind for torch files. `post=a+b` lists post-ops in order; `sum(t)` is an",
             "accumulate-into-dst of tensor t; `bn_folded` means the BatchNormalization is folded into",
             "the conv's weights/bias; `bias` for MatMul means a following Add of a constant vector.",
             "Constant nodes never count as layers. `NOT`/`NO post-op` marks negative cases.", "",
             "| file | opset | inputs | nodes (op sequence, file order) | expected fused layers | built by | note |",
             "|---|---|---|---|---|---|---|"]
    for fname, how, expected, note in ENTRIES:
        m = onnx.load(os.path.join(OUT, fname))
        inits = {t.name for t in m.graph.initializer}
        ins = ", ".join("%s:%s" % (i.name, fmt_shape(i)) for i in m.graph.input if i.name not in inits)
        ops = " ".join(n.op_type for n in m.graph.node)
        lines.append("| `%s` | %d | %s | %s | `%s` | %s | %s |" % (
            fname, m.opset_import[0].version, ins, ops, expected, how, note))
    lines += ["", "## torch %s export of activations (standalone modules, opset 11/13/14/17)" % torch.__version__, ""]
    lines += activation_table()
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


def activation_table():
    mods = [("nn.Hardswish", nn.Hardswish), ("nn.Hardsigmoid", nn.Hardsigmoid), ("nn.SiLU", nn.SiLU),
            ("nn.GELU()", nn.GELU), ("nn.GELU('tanh')", lambda: nn.GELU(approximate="tanh")),
            ("nn.LayerNorm(8)", lambda: nn.LayerNorm(8)), ("nn.ReLU6", nn.ReLU6), ("F.relu6", lambda: FnMod(F.relu6)),
            ("nn.Mish", nn.Mish)]
    out = ["| module | opset | nodes |", "|---|---|---|"]
    for label, fn in mods:
        for opset in (11, 13, 14, 17):
            f = io.BytesIO()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(fn().eval(), torch.randn(1, 4, 8), f, opset_version=opset)
            m = onnx.load_from_string(f.getvalue())
            out.append("| %s | %d | %s |" % (label, opset, " ".join(n.op_type for n in m.graph.node)))
    return out


class FnMod(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith(".onnx"):
            os.remove(os.path.join(OUT, fn))
    build()
    write_readme()
    print(open(os.path.join(OUT, "README.md")).read())


if __name__ == "__main__":
    main()
