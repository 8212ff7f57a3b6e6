# Export torchvision models with weights and record torch's output on a fixed input (parity fixtures).
"""Fixtures for tests/unit/test_torch_parity.c.

Usage: /usr/bin/python3 tests/torch/make_fixtures.py OUTDIR MODEL...

For each MODEL (a name of zoo/export_torchvision.py, e.g. resnet18,
mobilenet_v3_small, vit_b_16) this writes to OUTDIR:

  MODEL.onnx        the model exported exactly as zoo/export_torchvision.py exports it
                    (its _build, the same torch.onnx.export arguments: opset 13, eval,
                    constant folding, dynamic batch axis; Identity->initializer), with
                    its weights kept (as --keep-weights)
  MODEL.input.f32   a fixed random input (batch 1, the model's input size), raw
                    little-endian float32, row-major
  MODEL.output.f32  torch's output of the same model on that input (eval, no_grad)
  MODEL.json        shapes, seeds, versions and a stamp used to skip up-to-date models

Weights: torchvision's random init after torch.manual_seed(0) (as the zoo), made
non-degenerate before the export, because plain random init makes a weak or void test:
vit_b_16's head and class token are all zeros (its output is exactly 0), mobilenet_v3_small's
activations shrink to ~1e-9 (fan-out init of depthwise convs, identity BatchNorm statistics)
so every Hardswish/Hardsigmoid only sees its linear part, and gamma=1/beta=0 hides a missing
norm scale or shift.  So (seeded): all-zero parameters get N(0, 0.02); BatchNorm/LayerNorm
gamma ~ U(0.5, 1.5), beta ~ U(-0.1, 0.1); BatchNorm running statistics are calibrated on
CALIB_BATCH random inputs (train-mode forward, cumulative average) so activations are O(1)
as in a trained network.  The same module object is exported and run, so MODEL.onnx holds
exactly the weights torch used.  Fixtures whose stamp (torch/torchvision versions, this
script and the exporter) is unchanged are reused.
"""

import hashlib
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ZOO = os.path.join(HERE, "..", "..", "zoo")
sys.path.insert(0, os.path.abspath(ZOO))

import export_torchvision as ex  # noqa: E402  (the zoo exporter)

INPUT_SEED = 1234  # seed of the random input (independent of the weights' seed 0)
PERTURB_SEED = 7  # seed of the weight adjustments and of the calibration inputs
CALIB_BATCH = 8
OPSET = 13


def _stamp():
    import torch
    import torchvision

    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), os.path.abspath(ex.__file__)):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(("%s %s %d %d" % (torch.__version__, torchvision.__version__, OPSET,
                               INPUT_SEED)).encode())
    return h.hexdigest()[:16]


def _write_f32(path, t):
    """Raw little-endian float32, row-major."""
    tmp = path + ".tmp"
    t.detach().contiguous().numpy().astype("<f4").tofile(tmp)
    os.replace(tmp, path)


def _nondegenerate(model, shape):
    """Make random-init weights a meaningful test (see the module docstring)."""
    import torch
    from torch import nn

    g = torch.Generator().manual_seed(PERTURB_SEED)
    norms = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
    with torch.no_grad():
        for p in model.parameters():
            if p.is_floating_point() and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
        for m in model.modules():
            if isinstance(m, norms) and getattr(m, "weight", None) is not None:
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_((torch.rand(m.bias.shape, generator=g) - 0.5) * 0.2)
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if bns:
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batch
            model.train()
            model(torch.randn((CALIB_BATCH,) + tuple(shape[1:]), generator=g))
    model.eval()


def _export(model, shape, path):
    """torch.onnx.export with the zoo exporter's arguments, then its Identity clean-up."""
    import onnx
    import torch

    tmp = path + ".tmp"
    # Like the zoo exporter: no torch.no_grad() here (MultiheadAttention's fused no_grad fast
    # path has no ONNX symbolic); dynamic batch axis, example batch 1.
    torch.onnx.export(model, torch.zeros(*shape), tmp, opset_version=OPSET,
                      do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL,
                      input_names=[ex.INPUT_NAME], output_names=[ex.OUTPUT_NAME],
                      dynamic_axes={ex.INPUT_NAME: {0: ex.BATCH_DIM},
                                    ex.OUTPUT_NAME: {0: ex.BATCH_DIM}})
    m = onnx.load(tmp)
    ex._identity_to_initializer(m.graph)
    onnx.save(m, path)
    os.remove(tmp)
    return len(m.graph.node), os.path.getsize(path)


def make(outdir, name, stamp):
    import torch

    meta_path = os.path.join(outdir, name + ".json")
    files = [os.path.join(outdir, name + s) for s in (".onnx", ".input.f32", ".output.f32")]
    if os.path.exists(meta_path) and all(os.path.exists(f) for f in files):
        with open(meta_path) as f:
            if json.load(f).get("stamp") == stamp:
                print("up to date  %s" % name, flush=True)
                return

    t0 = time.time()
    torch.manual_seed(0)  # as the zoo exporter's worker
    model, shape = ex._build(name)
    _nondegenerate(model, shape)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(INPUT_SEED))
    # no_grad is fine here: the MultiheadAttention pitfall only concerns the export.
    with torch.no_grad():
        y = model(x)
    t_run = time.time() - t0
    nodes, size = _export(model, shape, files[0])
    t_export = time.time() - t0 - t_run
    _write_f32(files[1], x)
    _write_f32(files[2], y)
    meta = {
        "model": name,
        "input_shape": list(x.shape),
        "output_shape": list(y.shape),
        "dtype": "float32-le",
        "input_seed": INPUT_SEED,
        "weights": "torchvision init, manual_seed(0), made non-degenerate (seed %d, BN "
                   "calibrated on %d inputs)" % (PERTURB_SEED, CALIB_BATCH),
        "opset": OPSET,
        "onnx_nodes": nodes,
        "onnx_bytes": size,
        "output_max_abs": float(y.abs().max()),
        "torch": torch.__version__,
        "stamp": stamp,
    }
    with open(meta_path + ".tmp", "w") as f:
        json.dump(meta, f, indent=1)
    os.replace(meta_path + ".tmp", meta_path)
    print("ok          %-20s torch %5.1fs  export %5.1fs  in=%s out=%s max|out|=%.3g  %.1f MB" % (
        name, t_run, t_export, "x".join(map(str, x.shape)), "x".join(map(str, y.shape)),
        meta["output_max_abs"], size / 1e6), flush=True)


def main(argv):
    if len(argv) < 3 or argv[1].startswith("-"):
        sys.stderr.write("usage: %s OUTDIR MODEL...\n" % argv[0])
        return 2
    outdir, names = os.path.abspath(argv[1]), argv[2:]
    unknown = [n for n in names if n not in ex.MODELS and n not in ex.TINY]
    if unknown:
        sys.stderr.write("unknown model(s): %s\n" % ", ".join(unknown))
        return 2
    import torch

    torch.set_num_threads(2)
    os.makedirs(outdir, exist_ok=True)
    stamp = _stamp()
    t0 = time.time()
    for n in names:
        make(outdir, n, stamp)
    print("fixtures: %d model(s) in %.0fs -> %s" % (len(names), time.time() - t0, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
