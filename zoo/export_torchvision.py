# Export randomly-initialised torchvision models (and tiny test nets) to ONNX for the dlbricks-mpi model zoo.
"""Build the dlbricks-mpi ONNX model zoo from torchvision.

Every model is built with random weights (``weights=None``,
``weights_backbone=None``; nothing is downloaded) after
``torch.manual_seed(0)``, put in ``eval()`` mode and exported with
``torch.onnx.export`` (opset 13, ``do_constant_folding=True``,
``training=TrainingMode.EVAL``) with an example batch of 1 and a *dynamic
batch axis*: ``dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}``,
so dim 0 of the graph input and output is the symbolic ``dim_param``
``batch`` and all other dims are static.  Each model is exported in its own
subprocess with ``torch.set_num_threads(1)`` so that a crash loses one model
only.  One line is printed per model: status, seconds, node count, file size.

Post-processing of the saved file (the graph is otherwise left exactly as the
exporter wrote it: no shape inference, no folding of Shape->Gather->...
->Reshape chains, value_info untouched):

1. ``Identity`` nodes whose input is an initializer are turned back into
   initializers.  With random init, some parameters are bit-identical (e.g.
   every BatchNorm starts with weight=1, bias=0, mean=0, var=1); the exporter
   de-duplicates equal constants and then re-creates the aliases as
   ``Identity`` nodes.  Real trained weights never trigger this, so the
   aliases are an artefact of random init and are removed.
2. Unless ``--keep-weights`` is given, the payload of every floating-point
   initializer with more than 64 elements is cleared (``raw_data``,
   ``float_data``, ...); ``dims`` and ``data_type`` are kept so the graph
   remains structurally complete.  Integer initializers (shapes, axes, pads)
   and small float tensors (Clip bounds, Resize scales, GELU / LayerNorm
   constants, ...) are kept because they act as attributes.  Stripped files
   are meant for graph-level tests; they cannot be run numerically.

Why a dynamic batch: with a static batch of 1 the exporter constant-folds
every ``x.shape[0]`` into a literal 1 (Reshape targets such as [1, 49, 768],
the ViT class token Expand-ed to batch 1, ShuffleNet's channel shuffle
``view(1, 2, c, h, w)``, ...), so the graph only works for batch 1 and
``dlbricks-mpi --batch N`` (which rewrites the leading input dim and re-runs
its own shape inference) fails on shufflenet_v2_*, swin_t and vit_b_16.
Models that users export for inference usually have a dynamic batch anyway;
the batch-dependent values then stay as Shape->Gather->Unsqueeze->Concat->
Reshape (etc.) chains, which dlbricks-mpi resolves itself for any batch.

``--tiny`` exports a few small nn.Modules defined below to ``zoo/tiny/``
through the same exporter, always with their weights (each is < 50 KB).

Examples::

    /usr/bin/python3 zoo/export_torchvision.py -j 2            # whole zoo -> zoo/
    /usr/bin/python3 zoo/export_torchvision.py --tiny          # tiny nets -> zoo/tiny/
    /usr/bin/python3 zoo/export_torchvision.py resnet18 vit_b_16 --keep-weights --out /tmp/z
    /usr/bin/python3 zoo/export_torchvision.py --list
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))

# Floating-point initializers with at most this many elements are kept.
SMALL_TENSOR_ELEMS = 64

# Graph input/output names and the dim_param of their dynamic leading (batch) dim.
INPUT_NAME = "input"
OUTPUT_NAME = "output"
BATCH_DIM = "batch"

# ---------------------------------------------------------------------------
# Model table: name -> (input shape, extra constructor kwargs)
# The leading 1 is the example batch used for tracing; it is exported as the
# dynamic dim 'batch'.
# ---------------------------------------------------------------------------

_CLS = (1, 3, 224, 224)
_SEG = (1, 3, 520, 520)
_NO_AUX = {"aux_logits": False, "init_weights": True}

MODELS = {}


def _add(names, shape=_CLS, **kwargs):
    for n in names:
        MODELS[n] = (shape, kwargs)


_add(["alexnet"])
_add(["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"])
_add(["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"])
_add(["resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"])
_add(["wide_resnet50_2", "wide_resnet101_2"])
_add(["densenet121", "densenet161", "densenet169", "densenet201"])
_add(["squeezenet1_0", "squeezenet1_1"])
_add(["mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large"])
_add(["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"])
_add(["mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3"])
_add(["googlenet"], **_NO_AUX)
_add(["inception_v3"], (1, 3, 299, 299), **_NO_AUX)
# EfficientNet: torchvision's documented eval crop sizes (weights.transforms()).
_add(["efficientnet_b0"], (1, 3, 224, 224))
_add(["efficientnet_b1"], (1, 3, 240, 240))
_add(["efficientnet_b2"], (1, 3, 288, 288))
_add(["efficientnet_b3"], (1, 3, 300, 300))
_add(["regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
      "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf"])
# regnet_y_128gf (644M params, > 2 GB protobuf limit) is deliberately left out.
_add(["regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf",
      "regnet_y_8gf", "regnet_y_16gf", "regnet_y_32gf"])
_add(["convnext_tiny", "vit_b_16", "swin_t"])
_add(["fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large",
      "lraspp_mobilenet_v3_large"], _SEG)

SEGMENTATION = {"fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large",
                "lraspp_mobilenet_v3_large"}
# Segmentation models without an aux_loss argument.
_SEG_NO_AUX_ARG = {"lraspp_mobilenet_v3_large"}

# Tiny hand-written models (built by _tiny_model), input shapes.
TINY = {
    "tiny_resnet": (1, 3, 32, 32),
    "tiny_mobilenetv3": (1, 3, 32, 32),
    "tiny_transformer": (1, 16, 32),
    "tiny_efficientnet": (1, 3, 32, 32),
}


# ---------------------------------------------------------------------------
# Model construction (worker side; torch is imported lazily)
# ---------------------------------------------------------------------------

def _tiny_model(name):
    import torch
    from torch import nn

    class TinyResNet(nn.Module):
        """conv+BN+ReLU stem, maxpool, one basic residual block, GAP, Gemm."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(8), nn.ReLU())
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.c1 = nn.Conv2d(8, 8, 3, 1, 1, bias=False)
            self.b1 = nn.BatchNorm2d(8)
            self.c2 = nn.Conv2d(8, 8, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU()
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            x = self.pool(self.stem(x))
            y = self.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            x = self.relu(x + y)
            return self.fc(torch.flatten(self.gap(x), 1))

    class SE(nn.Module):
        def __init__(self, c, r):
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(c, r, 1)
            self.relu = nn.ReLU()
            self.fc2 = nn.Conv2d(r, c, 1)
            self.gate = nn.Hardsigmoid()

        def forward(self, x):
            s = self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))
            return x * s

    class TinyMobileNetV3(nn.Module):
        """Hardswish stem, inverted residual with depthwise conv + SE, ReLU6 (Clip)."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False),
                                      nn.BatchNorm2d(8), nn.Hardswish())
            self.expand = nn.Sequential(nn.Conv2d(8, 16, 1, bias=False),
                                        nn.BatchNorm2d(16), nn.ReLU6())
            self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1, groups=16, bias=False),
                                    nn.BatchNorm2d(16), nn.Hardswish())
            self.se = SE(16, 4)
            self.project = nn.Sequential(nn.Conv2d(16, 8, 1, bias=False), nn.BatchNorm2d(8))
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

        def forward(self, x):
            x = self.stem(x)
            x = x + self.project(self.se(self.dw(self.expand(x))))
            return self.head(x)

    class TinyTransformer(nn.Module):
        """Pre-LN transformer block; attention written out by hand with dims taken
        from x.shape.  With a fully static input the exporter folds x.shape into
        constants, so -- like swin_t -- the tokens are first padded to a multiple
        of the window size with a shape-derived pad; the Pad output shape is then
        unknown to the exporter and Shape->Gather->(Div->Cast)->Unsqueeze->
        Concat->Reshape chains survive exactly as in the real swin_t export."""

        def __init__(self, dim=32, heads=4, window=4):
            super().__init__()
            self.heads = heads
            self.window = window
            self.ln1 = nn.LayerNorm(dim)
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)
            self.ln2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

        def forward(self, x):
            t0 = x.shape[1]
            y = nn.functional.pad(self.ln1(x), (0, 0, 0, (self.window - t0 % self.window) % self.window))
            b, t, c = y.shape
            h = self.heads
            qkv = self.qkv(y).reshape(b, t, 3, h, c // h).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            att = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (c // h) ** -0.5, dim=-1)
            y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, c)
            x = x + self.proj(y[:, :t0])
            return x + self.mlp(self.ln2(x))

    class TinyEfficientNet(nn.Module):
        """SiLU stem, MBConv-style block (depthwise, SE with SiLU/Sigmoid), concat."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False),
                                      nn.BatchNorm2d(8), nn.SiLU())
            self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False),
                                    nn.BatchNorm2d(8), nn.SiLU())
            self.se1 = nn.Conv2d(8, 2, 1)
            self.se2 = nn.Conv2d(2, 8, 1)
            self.act = nn.SiLU()
            self.project = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8))
            self.branch = nn.Sequential(nn.Conv2d(8, 8, 1, bias=False), nn.BatchNorm2d(8), nn.SiLU())
            self.head = nn.Sequential(nn.Conv2d(16, 16, 1), nn.SiLU(), nn.AdaptiveAvgPool2d(1),
                                      nn.Flatten(), nn.Dropout(0.2), nn.Linear(16, 10))

        def forward(self, x):
            x = self.stem(x)
            y = self.dw(x)
            s = torch.sigmoid(self.se2(self.act(self.se1(y.mean((2, 3), keepdim=True)))))
            y = self.project(y * s)
            x = torch.cat([x + y, self.branch(x)], dim=1)
            return self.head(x)

    cls = {"tiny_resnet": TinyResNet, "tiny_mobilenetv3": TinyMobileNetV3,
           "tiny_transformer": TinyTransformer, "tiny_efficientnet": TinyEfficientNet}[name]
    model = cls()
    # Give BatchNorm non-trivial statistics so the folded numbers are not all 0/1.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
    return model


def _build(name):
    """Return (module, input shape) for a zoo or tiny model name."""
    import torch
    import torchvision

    if name in TINY:
        return _tiny_model(name), TINY[name]
    shape, kwargs = MODELS[name]
    if name in SEGMENTATION:
        seg = getattr(torchvision.models.segmentation, name)
        extra = {} if name in _SEG_NO_AUX_ARG else {"aux_loss": False}
        inner = seg(weights=None, weights_backbone=None, **extra)

        class OutOnly(torch.nn.Module):
            """Segmentation models return a dict; keep only the 'out' tensor."""

            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return self.m(x)["out"]

        return OutOnly(inner), shape
    return getattr(torchvision.models, name)(weights=None, **kwargs), shape


# ---------------------------------------------------------------------------
# ONNX post-processing
# ---------------------------------------------------------------------------

def _used_names(graph):
    """Names consumed by nodes of graph, including nodes of If/Loop subgraphs."""
    used = set()
    for n in graph.node:
        used.update(n.input)
        for a in n.attribute:
            for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                used |= _used_names(g)
    return used


def _identity_to_initializer(graph):
    """Replace Identity(initializer) nodes by a copy of the initializer; returns count."""
    inits = {t.name: t for t in graph.initializer}
    removed = 0
    changed = True
    while changed:
        changed = False
        keep = []
        for node in graph.node:
            if node.op_type == "Identity" and node.input[0] in inits:
                t = graph.initializer.add()
                t.CopyFrom(inits[node.input[0]])
                t.name = node.output[0]
                inits[t.name] = t
                removed += 1
                changed = True
            else:
                keep.append(node)
        if changed:
            del graph.node[:]
            graph.node.extend(keep)
    # Drop initializers nobody uses any more (the exporter's de-duplicated originals).
    used = _used_names(graph) | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    if len(kept) != len(graph.initializer):
        del graph.initializer[:]
        graph.initializer.extend(kept)
    return removed


def _strip_weights(graph):
    """Clear payload of float initializers with > SMALL_TENSOR_ELEMS elements."""
    from onnx import TensorProto

    floats = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE, TensorProto.BFLOAT16}
    stripped = 0
    for t in graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        if t.data_type in floats and n > SMALL_TENSOR_ELEMS:
            for field in ("raw_data", "float_data", "double_data", "int32_data"):
                t.ClearField(field)
            stripped += 1
    return stripped


# ---------------------------------------------------------------------------
# Worker: export one model (runs in its own process)
# ---------------------------------------------------------------------------

def _worker(name, out_dir, opset, keep_weights):
    import torch
    import onnx

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model, shape = _build(name)
    model.eval()
    x = torch.randn(*shape)
    path = os.path.join(out_dir, name + ".onnx")
    tmp = path + ".tmp"
    # No torch.no_grad(): nn.MultiheadAttention takes a fused fast path under
    # no_grad in eval mode, which has no ONNX symbolic (vit_b_16).
    # Dynamic batch axis (example batch 1): keeps x.shape[0] symbolic instead of
    # folding it into literal 1s, so the graph is valid for any batch size and
    # dlbricks-mpi --batch N works on every model (see the module docstring).
    torch.onnx.export(model, x, tmp, opset_version=opset, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL,
                      input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                      dynamic_axes={INPUT_NAME: {0: BATCH_DIM}, OUTPUT_NAME: {0: BATCH_DIM}})
    m = onnx.load(tmp)
    aliases = _identity_to_initializer(m.graph)
    stripped = 0 if keep_weights else _strip_weights(m.graph)
    onnx.save(m, path)
    os.remove(tmp)
    return {"nodes": len(m.graph.node), "bytes": os.path.getsize(path),
            "identity_removed": aliases, "stripped": stripped}


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def _run_one(name, args, keep_weights):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--out", args.out,
           "--opset", str(args.opset)] + (["--keep-weights"] if keep_weights else [])
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = -1, "", "timeout after %ds" % args.timeout
    dt = time.time() - t0
    res = None
    for line in out.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
    if rc == 0 and res:
        line = "ok      %-32s %7.1fs  nodes=%-5d size=%8.1f KB" % (
            name, dt, res["nodes"], res["bytes"] / 1024)
        if res["identity_removed"]:
            line += "  (identity->init: %d)" % res["identity_removed"]
        ok = True
    else:
        lines = [l for l in err.strip().splitlines() if l.strip()]
        line = "FAILED  %-32s %7.1fs  %s" % (name, dt, lines[-1] if lines else "rc=%d" % rc)
        if args.verbose:
            line += "\n" + err
        ok = False
    print(line, flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Default output: zoo/ (weights stripped); with --tiny: zoo/tiny/ (weights kept).")
    ap.add_argument("models", nargs="*", help="model names to export (default: all)")
    ap.add_argument("--out", help="output directory (default: zoo/ or zoo/tiny/)")
    ap.add_argument("--opset", type=int, default=13, help="ONNX opset version (default 13)")
    ap.add_argument("--keep-weights", action="store_true",
                    help="do not strip float initializer data (for numeric tests)")
    ap.add_argument("--tiny", action="store_true",
                    help="export the small built-in test models instead (weights always kept)")
    ap.add_argument("--list", action="store_true",
                    help="list model names and example input shapes (dim 0 is dynamic)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parallel exports (default 1)")
    ap.add_argument("--timeout", type=int, default=1800, help="per-model timeout in seconds")
    ap.add_argument("-v", "--verbose", action="store_true", help="print stderr of failed exports")
    ap.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        res = _worker(args.worker, args.out, args.opset, args.keep_weights)
        print("RESULT " + json.dumps(res), flush=True)
        return 0

    table = TINY if args.tiny else {n: s for n, (s, _) in MODELS.items()}
    if args.list:
        for n, s in table.items():
            print("%-32s %s" % (n, "x".join(map(str, s))))
        return 0
    names = args.models or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        ap.error("unknown model(s): %s (see --list%s)" % (", ".join(unknown),
                                                          " --tiny" if args.tiny else ""))
    if args.out is None:
        args.out = os.path.join(HERE, "tiny") if args.tiny else HERE
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    keep = args.keep_weights or args.tiny

    t0 = time.time()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda n: _run_one(n, args, keep), names))
    failed = [n for n, ok in zip(names, results) if not ok]
    print("done: %d ok, %d failed%s in %.0fs" % (
        len(names) - len(failed), len(failed),
        (" (" + ", ".join(failed) + ")") if failed else "", time.time() - t0), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
