# Exports one small CNN with torch.onnx.export at opsets 11/13/17 (+ stripped/float_data/external variants) into models/opset/.
"""Run with Debian's python3 (torch 1.13, onnx 1.12):  /usr/bin/python3 tests/data/gen_opset_models.py

Outputs (models/opset/):
  cnn_opset{11,13,17}.onnx           weights as raw_data (torch's default)
  cnn_opset{11,13,17}_stripped.onnx  float initializers with > 64 elements have no data (dims/dtype
                                     kept); integer initializers and small float tensors kept
  cnn_opset13_float_data.onnx        every float initializer stored as typed float_data
  cnn_opset13_external.onnx          float tensors >= 256 bytes stored as external data in
                                     cnn_opset13_external.onnx.data, which is then DELETED: a
                                     reader that opens it fails (ours must never open it)
  expected.txt                       per file: input/output shapes, node count, op histogram
                                     (from onnx.shape_inference, see its header)
  expected_shapes.txt                every node output's inferred shape, per opset
Deterministic: seeded weights; re-running produces identical bytes.
"""
import collections
import io
import os
import warnings

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper, shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models", "opset")
INPUT_SHAPE = (1, 3, 32, 32)
KEEP_FLOAT_ELEMS = 64


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, 16, 1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):                               # 1x3x32x32
        x = F.relu(self.bn1(self.conv1(x)))             # Conv (BN folded by torch) + Relu
        x = self.pool(x)                                # MaxPool -> 1x8x16x16
        x = x + F.relu(self.conv2(x))                   # Conv + Relu, residual Add
        x = F.relu6(x)                                  # Clip(0, 6)
        a, b = torch.split(x, 4, dim=1)                 # Split -> 2 x 1x4x16x16
        m = a.mean(dim=1, keepdim=True)                 # ReduceMean -> 1x1x16x16
        m = m.squeeze(1).unsqueeze(1)                   # Squeeze / Unsqueeze pair
        x = torch.cat([a - m, b], dim=1)                # Sub, Concat -> 1x8x16x16
        x = F.pad(x, (1, 1, 1, 1))                      # Pad -> 1x8x18x18
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # Resize -> 1x8x36x36
        x = F.relu(self.conv3(x))                       # Conv 1x1 + Relu -> 1x16x36x36
        x = F.adaptive_avg_pool2d(x, 1)                 # GlobalAveragePool
        x = torch.flatten(x, 1)                         # Flatten
        return self.fc(x)                               # Gemm -> 1x10


def make_net():
    torch.manual_seed(0)
    net = SmallCNN()
    with torch.no_grad():  # non-trivial BN statistics so the folded conv differs from conv1
        net.bn1.running_mean.uniform_(-0.5, 0.5)
        net.bn1.running_var.uniform_(0.5, 1.5)
        net.bn1.weight.uniform_(0.5, 1.5)
        net.bn1.bias.uniform_(-0.5, 0.5)
    return net.eval()


def export(net, opset):
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, torch.randn(*INPUT_SHAPE), f, opset_version=opset,
                          input_names=["input"], output_names=["logits"])
    return onnx.load_from_string(f.getvalue())


def numel(t):
    return int(np.prod(t.dims)) if len(t.dims) else 1


def is_float(t):
    return t.data_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16,
                           onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16)


def strip(model):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    tensors = list(m.graph.initializer)
    for n in m.graph.node:  # Constant nodes' value tensors too (torch rarely emits large ones)
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                tensors.append(a.t)
    for t in tensors:
        if is_float(t) and numel(t) > KEEP_FLOAT_ELEMS:
            for fld in ("raw_data", "float_data", "double_data", "int32_data"):
                t.ClearField(fld)
    return m


def to_float_data(model):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in m.graph.initializer:
        if t.data_type == onnx.TensorProto.FLOAT and t.HasField("raw_data"):
            arr = numpy_helper.to_array(t)
            t.ClearField("raw_data")
            t.float_data.extend(arr.flatten().tolist())
    return m


def save(model, fname):
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(model.SerializeToString())


def save_external(model, fname):
    m = onnx.ModelProto()
    m.CopyFrom(model)
    loc = fname + ".data"
    onnx.save_model(m, os.path.join(OUT, fname), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=loc, size_threshold=256)
    os.remove(os.path.join(OUT, loc))  # the reader must never need it
    ext = [t.name for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert ext, "no tensor went external"
    return ext


def dims_str(vi):
    d = [str(x.dim_value) if x.HasField("dim_value") else (x.dim_param or "?")
         for x in vi.type.tensor_type.shape.dim]
    return "x".join(d) if d else "scalar"


def fold_constants(model):
    """Copy of model where every node whose inputs are all constant is evaluated with numpy and
    replaced by an initializer (only the ops torch uses for shape/pads arithmetic).  Needed
    because onnx 1.12 shape inference cannot see through torch 1.13's F.pad lowering
    (ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Reshape -> Cast -> Pad)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    const = {}
    for t in m.graph.initializer:  # weights: only if present; stripped/external ones stay unknown
        if t.data_location != onnx.TensorProto.EXTERNAL and (numel(t) == 0 or t.raw_data or t.float_data
                                                              or t.int64_data or t.int32_data):
            const[t.name] = numpy_helper.to_array(t)
    keep = []
    for n in m.graph.node:
        ins = [const.get(i) for i in n.input]
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        out = None
        if n.op_type == "Constant":
            out = numpy_helper.to_array(a["value"])
        elif all(v is not None for v in ins) and n.input:
            if n.op_type == "ConstantOfShape":
                v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
                out = np.full(tuple(ins[0]), v.flatten()[0], v.dtype)
            elif n.op_type == "Concat":
                out = np.concatenate(ins, axis=a["axis"])
            elif n.op_type == "Reshape":
                shape = [d if d != 0 else ins[0].shape[k] for k, d in enumerate(ins[1])]
                out = ins[0].reshape(shape)
            elif n.op_type == "Slice":
                starts, ends = ins[1], ins[2]
                axes = ins[3] if len(ins) > 3 else range(len(starts))
                steps = ins[4] if len(ins) > 4 else [1] * len(starts)
                sl = [slice(None)] * ins[0].ndim
                for st, en, ax, sp in zip(starts, ends, axes, steps):
                    dim = ins[0].shape[ax]
                    st, en = int(st), int(en)
                    if sp < 0:
                        st = max(min(st + dim if st < 0 else st, dim - 1), -1)
                        en = max(min(en + dim if en < 0 else en, dim - 1), -1)
                        sl[ax] = slice(st, en if en >= 0 else None, int(sp))
                    else:
                        sl[ax] = slice(max(min(st, dim), -dim), max(min(en, dim), -dim), int(sp))
                out = ins[0][tuple(sl)]
            elif n.op_type == "Transpose":
                out = np.transpose(ins[0], a.get("perm"))
            elif n.op_type == "Cast":
                out = ins[0].astype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[a["to"]])
        if out is None:
            keep.append(n)
        else:
            const[n.output[0]] = np.asarray(out)
            m.graph.initializer.append(numpy_helper.from_array(np.asarray(out), n.output[0]))
    del m.graph.node[:]
    m.graph.node.extend(keep)
    for o in m.graph.output:  # forget torch's declared output shape, infer it
        o.type.tensor_type.ClearField("shape")
    return m


def infer(fname):
    m = onnx.load(os.path.join(OUT, fname), load_external_data=False)
    inf = shape_inference.infer_shapes(fold_constants(m), strict_mode=True)
    return m, inf


def describe(fname):
    m, inf = infer(fname)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    init_names = {t.name for t in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in init_names]
    with_data = sum(1 for t in m.graph.initializer
                    if t.HasField("raw_data") or len(t.float_data) or len(t.int64_data) or len(t.int32_data))
    external = sum(1 for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL)
    return ("%s opset=%d nodes=%d input=%s:%s output=%s:%s declared_output=%s initializers=%d with_data=%d "
            "external=%d ops=%s"
            % (fname, m.opset_import[0].version, len(m.graph.node),
               ",".join(i.name for i in ins), ",".join(dims_str(i) for i in ins),
               ",".join(o.name for o in inf.graph.output), ",".join(dims_str(o) for o in inf.graph.output),
               ",".join(dims_str(o) for o in m.graph.output),
               len(m.graph.initializer), with_data, external,
               ",".join("%s:%d" % kv for kv in sorted(ops.items()))))


def tensor_shapes(fname):
    """Lines "node_name op_type output_name shape" for every node output, in file order."""
    m, inf = infer(fname)
    shapes = {v.name: dims_str(v) for v in list(inf.graph.value_info) + list(inf.graph.output)}
    for t in inf.graph.initializer:
        shapes.setdefault(t.name, "x".join(str(d) for d in t.dims) or "scalar")
    return ["%s %s %s %s" % (n.name, n.op_type, o, shapes.get(o, "?")) for n in m.graph.node for o in n.output]


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith(".onnx") or fn.endswith(".data"):
            os.remove(os.path.join(OUT, fn))
    net = make_net()
    files = []
    for opset in (11, 13, 17):
        m = export(net, opset)
        onnx.checker.check_model(m)
        save(m, "cnn_opset%d.onnx" % opset)
        save(strip(m), "cnn_opset%d_stripped.onnx" % opset)
        files += ["cnn_opset%d.onnx" % opset, "cnn_opset%d_stripped.onnx" % opset]
        if opset == 13:
            save(to_float_data(m), "cnn_opset13_float_data.onnx")
            save_external(m, "cnn_opset13_external.onnx")
            files += ["cnn_opset13_float_data.onnx", "cnn_opset13_external.onnx"]
    with torch.no_grad():
        torch_out = "x".join(str(d) for d in net(torch.randn(*INPUT_SHAPE)).shape)
    lines = [describe(fn) for fn in files]
    for ln in lines:
        assert " output=logits:%s " % torch_out in ln, (ln, torch_out)
    with open(os.path.join(OUT, "expected.txt"), "w") as f:
        f.write("# Generated by tests/data/gen_opset_models.py (torch %s, onnx %s).\n"
                "# Shapes: onnx.shape_inference.infer_shapes(strict_mode=True) after folding constant\n"
                "# subgraphs (plain onnx inference leaves every dim after Pad unknown, because torch\n"
                "# computes Pad's pads with ConstantOfShape/Concat/Reshape/Slice/Transpose/Reshape/Cast);\n"
                "# checked against the torch module's output shape (%s). declared_output is the shape\n"
                "# torch wrote into graph.output (its dim 0 is symbolic). nodes counts Constant nodes.\n"
                "# Fields: file opset nodes input=name:shape output=name:shape declared_output\n"
                "#         initializers with_data external ops=op:count,...\n"
                % (torch.__version__, onnx.__version__, torch_out))
        for ln in lines:
            f.write(ln + "\n")
    with open(os.path.join(OUT, "expected_shapes.txt"), "w") as f:
        f.write("# Generated by tests/data/gen_opset_models.py: every node output of the three opset\n"
                "# exports (the _stripped/_float_data/_external variants have the same graph as their\n"
                "# base file). Fields: node_name op_type output_name shape (inferred as in expected.txt).\n")
        for opset in (11, 13, 17):
            f.write("\n[cnn_opset%d.onnx]\n" % opset)
            for ln in tensor_shapes("cnn_opset%d.onnx" % opset):
                f.write(ln + "\n")
    print(open(os.path.join(OUT, "expected.txt")).read())


if __name__ == "__main__":
    main()
