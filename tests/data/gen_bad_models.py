# Generates tests/data/bad/*.onnx (malformed / edge-case models) plus bad/README.md and bad/expected.tsv.
"""Run with Debian's python3 (onnx 1.12):  /usr/bin/python3 tests/data/gen_bad_models.py

Deterministic: fixed seeds, no timestamps.  Re-running rewrites bad/ (stale *.onnx are removed).
Each case is described once in CASES below; README.md and expected.tsv are generated from it.
"""
import os
import random
import struct
import sys
import warnings

import onnx
from onnx import TensorProto, helper, numpy_helper

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")
OPSET = 13
SIZE_LIMIT = 50 * 1024
# huge_attribute.onnx needs >= 1 byte per element for its 1e6-element INTS attribute, so it
# cannot fit under the 50 KB limit; it is the one allowed exception (about 1 MB).
SIZE_EXCEPTIONS = {"huge_attribute.onnx"}

F = TensorProto.FLOAT
I64 = TensorProto.INT64

CASES = []  # (file, what is wrong, expected line pattern, verdict)


def case(fname, wrong, pattern, verdict):
    CASES.append((fname, wrong, pattern, verdict))


def vi(name, dtype, shape):
    return helper.make_tensor_value_info(name, dtype, shape)


def weight(name, shape, seed):
    rng = np.random.default_rng(seed)
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def dims_only(name, shape):
    """A FLOAT initializer with dims but no data (as in a stripped model)."""
    t = TensorProto()
    t.name = name
    t.data_type = F
    t.dims.extend(shape)
    return t


def model(nodes, inputs, outputs, inits=(), opset=OPSET, value_info=(), name="g", opsets=None):
    g = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(inits),
                          value_info=list(value_info))
    if opsets is None:
        opsets = [helper.make_opsetid("", opset)]
    m = helper.make_model(g, opset_imports=opsets, producer_name="dlbricks-gen_bad_models")
    return m


def save(fname, m_or_bytes):
    path = os.path.join(OUT, fname)
    data = m_or_bytes if isinstance(m_or_bytes, (bytes, bytearray)) else m_or_bytes.SerializeToString()
    with open(path, "wb") as f:
        f.write(data)
    return data


def wire_ok(data):
    """Strict top-level walk of the protobuf wire format, like protobuf-c's scan: field number
    0, group wire types (3, 4), invalid wire types (6, 7) and overruns are errors."""
    i, n = 0, len(data)

    def varint(i):
        v, shift = 0, 0
        while True:
            if i >= n or shift > 63:
                raise ValueError("bad varint")
            b = data[i]
            v |= (b & 0x7F) << shift
            i, shift = i + 1, shift + 7
            if not b & 0x80:
                return v, i

    try:
        while i < n:
            key, i = varint(i)
            field, wt = key >> 3, key & 7
            if field == 0:
                return False
            if wt == 0:
                _, i = varint(i)
            elif wt == 1:
                i += 8
            elif wt == 5:
                i += 4
            elif wt == 2:
                ln, i = varint(i)
                i += ln
            else:
                return False
            if i > n:
                return False
    except ValueError:
        return False
    return True


def parses(data):
    """True if the bytes parse as a ModelProto both with python protobuf (without the partial-
    parse warning) and with the strict wire-format walk."""
    data = bytes(data)
    if not wire_ok(data):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            onnx.ModelProto.FromString(data)
            return True
        except Exception:  # DecodeError, or RuntimeWarning raised as error
            return False


def small_cnn():
    """A valid Conv-BN-Relu-Conv-GAP-Flatten-Gemm model with weights (about 12 KB)."""
    nodes = [
        helper.make_node("Conv", ["x", "conv0.weight", "conv0.bias"], ["c0"], name="conv0",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
        helper.make_node("Conv", ["r0", "conv1.weight"], ["c1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("GlobalAveragePool", ["r1"], ["p"], name="gap"),
        helper.make_node("Flatten", ["p"], ["fl"], name="flatten", axis=1),
        helper.make_node("Gemm", ["fl", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("conv0.weight", (16, 3, 3, 3), 1), weight("conv0.bias", (16,), 2),
             weight("conv1.weight", (32, 16, 3, 3), 3), weight("fc.weight", (10, 32), 4),
             weight("fc.bias", (10,), 5)]
    return model(nodes, [vi("x", F, [1, 3, 16, 16])], [vi("y", F, [1, 10])], inits)


def conv_relu(opset=OPSET, opsets=None):
    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["c"], name="conv0",
                              kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="relu0")]
    return model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4, 8, 8])],
                 [weight("conv0.weight", (4, 3, 3, 3), 7)], opset=opset, opsets=opsets)


def encode_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, payload):
    """Length-delimited protobuf field."""
    return encode_varint((num << 3) | 2) + encode_varint(len(payload)) + payload


def build():
    # ---------------------------------------------------------------- corrupt / non-ONNX bytes
    png = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
           + b"\x90wS\xde" + struct.pack(">I", 12) + b"IDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00"
           + b"\xc9\xfe\x92\xef" + struct.pack(">I", 0) + b"IEND\xaeB`\x82")
    assert not parses(png)
    save("not_onnx_png.onnx", png)
    case("not_onnx_png.onnx", "a 1x1 PNG image renamed .onnx (starts with 0x89 'PNG')",
         "error: FILE: .*not a valid ONNX protobuf", "error, skipped")

    text = (b"This is a plain text file, not an ONNX model.\n"
            b"Somebody renamed notes.txt to model.onnx.\n")
    assert not parses(text)
    save("not_onnx_text.onnx", text)
    case("not_onnx_text.onnx", "a text file renamed .onnx",
         "error: FILE: .*not a valid ONNX protobuf", "error, skipped")

    rnd = bytes(random.Random(20240601).getrandbits(8) for _ in range(4096))
    assert not parses(rnd)
    save("random_bytes.onnx", rnd)
    case("random_bytes.onnx", "4096 random bytes (seeded)",
         "error: FILE: .*not a valid ONNX protobuf", "error, skipped")

    full = small_cnn().SerializeToString()
    half = full[: len(full) // 2]
    assert not parses(half)
    save("truncated.onnx", half)
    case("truncated.onnx", "a valid %d-byte model cut to its first half (length-delimited field runs past EOF)" % len(full),
         "error: FILE: .*not a valid ONNX protobuf", "error, skipped")

    save("empty_file.onnx", b"")
    case("empty_file.onnx", "0-byte file (an empty protobuf is a valid empty ModelProto: no graph, no opset)",
         "error: FILE: .*(empty|no graph|invalid model)", "error, skipped")

    # ---------------------------------------------------------------- graph structure
    save("empty_graph.onnx", model([], [vi("x", F, [1, 3, 8, 8])], [vi("x", F, [1, 3, 8, 8])]))
    case("empty_graph.onnx", "graph with no nodes (input x is returned directly as output)",
         "error: FILE: .*(no nodes|empty|invalid model)", "error, skipped (nothing to run)")

    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="A"),
             helper.make_node("Relu", ["a"], ["b"], name="B")]
    save("cycle.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("b", F, [1, 4])]))
    case("cycle.onnx", "two-node cycle: A=Add(x,b) -> a, B=Relu(a) -> b",
         "error: FILE: (A|B): .*cycle", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="pre"),
             helper.make_node("Add", ["r", "y"], ["y"], name="selfloop")]
    save("self_loop.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, [1, 4])]))
    case("self_loop.onnx", "node selfloop=Add(r, y) -> y consumes its own output",
         "error: FILE: selfloop: .*cycle", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
             helper.make_node("Relu", ["ghost"], ["y"], name="relu1")]
    save("dangling_input.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, [1, 4])]))
    case("dangling_input.onnx", "relu1 consumes tensor 'ghost': no producer, not an input, not an initializer",
         "error: FILE: relu1: .*ghost", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    save("dangling_output.onnx", model(nodes, [vi("x", F, [1, 4])],
                                       [vi("y", F, [1, 4]), vi("nowhere", F, [1, 4])]))
    case("dangling_output.onnx", "graph output 'nowhere' is produced by no node and is no input",
         "error: FILE: .*nowhere", "error, skipped")

    nodes = [helper.make_node("Conv", ["x", "conv0.weight", "conv0.bias"], ["y"], name="conv0",
                              kernel_shape=[3, 3])]
    save("missing_initializer.onnx", model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4, 6, 6])],
                                           [weight("conv0.bias", (4,), 8)]))
    case("missing_initializer.onnx", "Conv weight 'conv0.weight' named but absent (bias present)",
         "error: FILE: conv0: .*conv0\\.weight", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu_a"),
             helper.make_node("Sigmoid", ["x"], ["y"], name="relu_b")]
    save("duplicate_tensor_names.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, [1, 4])]))
    case("duplicate_tensor_names.onnx", "relu_a and relu_b (Sigmoid) both produce tensor 'y'",
         "error: FILE: relu_b: .*\\by\\b", "error, skipped (NODE = second producer in file order)")

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="same"),
             helper.make_node("Sigmoid", ["r"], ["y"], name="same")]
    save("duplicate_node_names.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, [1, 4])]))
    case("duplicate_node_names.onnx", "two nodes both named 'same' (legal ONNX: names need not be unique)",
         "(no error, no warning)", "OK, fully covered")

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    save("duplicate_input_names.onnx", model(nodes, [vi("x", F, [1, 4]), vi("x", F, [2, 8])],
                                             [vi("y", F, [1, 4])]))
    case("duplicate_input_names.onnx", "graph input 'x' is declared twice, with shapes 1x4 and 2x8",
         "error: FILE: .*graph input 'x' is declared twice", "error, skipped")

    # ---------------------------------------------------------------- shapes
    def conv_on(shape, fname):
        nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["y"], name="conv0", kernel_shape=[1, 1])]
        save(fname, model(nodes, [vi("x", F, shape)], [vi("y", F, None)],
                          [weight("conv0.weight", (4, 3, 1, 1), 9)]))

    conv_on([1, 3, 0, 224], "zero_dim_input.onnx")
    case("zero_dim_input.onnx", "input x is 1x3x0x224 (dim_value 0) feeding conv0",
         "error: FILE: (x|conv0): .*(dim|shape)", "error, skipped (NODE: the input name or its consumer)")

    conv_on([1, 3, -3, 224], "negative_dim_input.onnx")
    case("negative_dim_input.onnx", "input x is 1x3x(-3)x224 (dim_value -3) feeding conv0",
         "error: FILE: (x|conv0): .*(dim|shape)", "error, skipped (NODE: the input name or its consumer)")

    big = 1 << 40
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    save("overflow_dims.onnx", model(nodes, [vi("x", F, [1, big, big, big])], [vi("y", F, [1, big, big, big])]))
    case("overflow_dims.onnx", "input x is 1x2^40x2^40x2^40 (element count 2^120 overflows int64); dims only, no data",
         "error: FILE: (x|relu0): .*overflow", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
             helper.make_node("Expand", ["r", "shape"], ["y"], name="expand0")]
    save("overflow_inferred_shape.onnx", model(nodes, [vi("x", F, [1, 1])], [vi("y", F, None)],
                                               [numpy_helper.from_array(np.array([1 << 32, 1 << 32], np.int64),
                                                                        "shape")]))
    case("overflow_inferred_shape.onnx", "expand0 = Expand(1x1, constant shape 2^32 x 2^32): the inferred element "
         "count 2^64 overflows int64 (every input is small)",
         "error: FILE: expand0: .*overflow", "error, skipped")

    nodes = [helper.make_node("MatMul", ["x", "big.weight"], ["y"], name="mm0")]
    save("overflow_initializer_dims.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, None)],
                                                 [dims_only("big.weight", (4, big, big))]))
    case("overflow_initializer_dims.onnx", "initializer big.weight has dims 4x2^40x2^40 (element count overflows "
         "int64); dims only, no data", "error: FILE: big\\.weight: .*overflow", "error, skipped")

    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["y"], name="conv0",
                              kernel_shape=[8, 8], pads=[1, 1, 1, 1])]
    save("conv_kernel_too_big.onnx", model(nodes, [vi("x", F, [1, 3, 4, 4])], [vi("y", F, None)],
                                           [weight("conv0.weight", (2, 3, 8, 8), 10)]))
    case("conv_kernel_too_big.onnx", "8x8 kernel on 4x4 input with pads 1: output dim 4+2-8+1 = -1",
         "error: FILE: conv0: .*(shape|dim|kernel)", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
             helper.make_node("Reshape", ["r"], ["y"], name="reshape0")]
    save("reshape_missing_shape.onnx", model(nodes, [vi("x", F, [1, 4, 4])], [vi("y", F, None)]))
    case("reshape_missing_shape.onnx", "Reshape node with 1 input (required 'shape' input missing entirely)",
         "error: FILE: reshape0: .*(input|shape)", "error, skipped")

    # ---------------------------------------------------------------- types / attributes
    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["y"], name="conv0", kernel_shape=[3, 3])]
    save("string_input_conv.onnx", model(nodes, [vi("x", TensorProto.STRING, [1, 3, 8, 8])],
                                         [vi("y", F, [1, 4, 6, 6])], [weight("conv0.weight", (4, 3, 3, 3), 11)]))
    case("string_input_conv.onnx", "graph input x has dtype STRING and feeds Conv",
         "error: FILE: conv0: .*(type|dtype|str)", "error, skipped")

    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["y"], name="conv0", kernel_shape=[3, 3])]
    save("int_input_conv.onnx", model(nodes, [vi("x", I64, [1, 3, 8, 8])], [vi("y", F, [1, 4, 6, 6])],
                                      [dims_only("conv0.weight", (4, 3, 3, 3))]))
    case("int_input_conv.onnx", "graph input x has dtype INT64 and feeds Conv (Conv takes float types only)",
         "error: FILE: conv0: .*dtype", "error, skipped")

    nodes = [helper.make_node("Add", ["x", "k"], ["y"], name="add0")]
    save("dtype_mismatch_add.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, [1, 4])],
                                          [numpy_helper.from_array(np.ones([1, 4], np.int64), "k")]))
    case("dtype_mismatch_add.onnx", "add0 = Add(x: FLOAT, k: INT64 initializer): ONNX needs one type T for both",
         "error: FILE: add0: .*dtype", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    save("unknown_dtype_code.onnx", model(nodes, [vi("x", 99, [1, 4])], [vi("y", F, [1, 4])]))
    case("unknown_dtype_code.onnx", "graph input x has elem_type 99 (no such TensorProto.DataType)",
         "warning: FILE: relu0: .*dtype", "warning, not covered (relu0)")

    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["y"], name="conv0", pads=[1] * 20000)]
    save("huge_pads_attribute.onnx", model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, None)],
                                           [dims_only("conv0.weight", (4, 3, 3, 3))]))
    case("huge_pads_attribute.onnx", "conv0 has a pads attribute of 20,000 ints (4 expected)",
         "warning: FILE: conv0: .*pads", "warning, not covered (conv0; no shape for its output)")

    # A legal Constant(value_ints=[1]*1e6) next to a Relu.  The INTS attribute is written as a
    # *packed* repeated field (1 byte per element) by hand: onnx.helper writes proto2 repeated
    # int64 unpacked (2 bytes per element); every protobuf parser must accept both encodings.
    n_big = 1000000
    attr = (field_bytes(1, b"value_ints")                            # AttributeProto.name
            + field_bytes(8, b"\x01" * n_big)                       # .ints, packed, all 1
            + encode_varint((20 << 3) | 0) + encode_varint(7))       # .type = INTS
    const = helper.make_node("Constant", [], ["big"], name="const_huge").SerializeToString()
    const += field_bytes(5, attr)                                    # NodeProto.attribute
    m = model([helper.make_node("Relu", ["x"], ["y"], name="relu0")],
              [vi("x", F, [1, 4])], [vi("y", F, [1, 4]), vi("big", I64, [n_big])])
    graph = m.graph.SerializeToString() + field_bytes(1, const)     # GraphProto.node (appended)
    m.ClearField("graph")
    data = m.SerializeToString() + field_bytes(7, graph)            # ModelProto.graph
    chk = onnx.ModelProto.FromString(data)
    assert len(chk.graph.node[1].attribute[0].ints) == n_big
    save("huge_attribute.onnx", data)
    case("huge_attribute.onnx", "const_huge = Constant(value_ints=[1]*1,000,000) (legal; packed INTS, file ~1 MB: "
         "the one exception to the 50 KB rule; far above DLB_MAX_CONST_ELEMS=4096, so its value must not be kept)",
         "(no error; Constant output big is s64[1000000]) or error: FILE: const_huge: .*(attribute|too (large|big))",
         "OK, fully covered (must not crash or be slow)")

    # ---------------------------------------------------------------- ops / domains / subgraphs
    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["c"], name="conv0", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("FooBar", ["c"], ["f"], name="foo0"),
             helper.make_node("Relu", ["f"], ["y"], name="relu0")]
    save("unknown_op.onnx", model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4, 8, 8])],
                                  [weight("conv0.weight", (4, 3, 3, 3), 12)],
                                  value_info=[vi("f", F, [1, 4, 8, 8])]))
    case("unknown_op.onnx", "op 'FooBar' in the default domain between conv0 and relu0 (its output has a value_info shape)",
         "warning: FILE: foo0: .*FooBar", "warning, partially covered (conv0, relu0)")

    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["c"], name="conv0", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("MyNorm", ["c"], ["f"], name="custom0", domain="com.example.custom", eps=1e-5),
             helper.make_node("Relu", ["f"], ["y"], name="relu0")]
    save("custom_domain_op.onnx", model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4, 8, 8])],
                                        [weight("conv0.weight", (4, 3, 3, 3), 13)],
                                        value_info=[vi("f", F, [1, 4, 8, 8])],
                                        opsets=[helper.make_opsetid("", OPSET),
                                                helper.make_opsetid("com.example.custom", 1)]))
    case("custom_domain_op.onnx", "op 'MyNorm' in domain 'com.example.custom' (declared in opset_import)",
         "warning: FILE: custom0: .*(com\\.example\\.custom|MyNorm)", "warning, partially covered (conv0, relu0)")

    then_g = helper.make_graph([helper.make_node("Relu", ["c"], ["t_out"], name="then_relu")], "then_branch",
                               [], [vi("t_out", F, [1, 4, 8, 8])])
    else_g = helper.make_graph([helper.make_node("Sigmoid", ["c"], ["e_out"], name="else_sigmoid")], "else_branch",
                               [], [vi("e_out", F, [1, 4, 8, 8])])
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
         helper.make_node("Add", ["v_in", "v_in"], ["v_out"], name="body_add")],
        "loop_body",
        [vi("iter", I64, []), vi("cond_in", TensorProto.BOOL, []), vi("v_in", F, [1, 4, 8, 8])],
        [vi("cond_out", TensorProto.BOOL, []), vi("v_out", F, [1, 4, 8, 8])])
    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["c"], name="conv0", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("If", ["flag"], ["i"], name="if0", then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["trip", "flag", "i"], ["l"], name="loop0", body=body),
             helper.make_node("Relu", ["l"], ["y"], name="relu0")]
    save("subgraphs_if_loop.onnx", model(
        nodes, [vi("x", F, [1, 3, 8, 8]), vi("flag", TensorProto.BOOL, [])], [vi("y", F, [1, 4, 8, 8])],
        [weight("conv0.weight", (4, 3, 3, 3), 14), numpy_helper.from_array(np.array(3, np.int64), "trip")],
        value_info=[vi("i", F, [1, 4, 8, 8]), vi("l", F, [1, 4, 8, 8])]))
    case("subgraphs_if_loop.onnx", "conv0 -> If(if0, then/else subgraphs) -> Loop(loop0, body subgraph) -> relu0",
         "warning: FILE: if0: .*(subgraph|If)  and  warning: FILE: loop0: .*(subgraph|Loop)",
         "warnings, partially covered (conv0, relu0)")

    # ---------------------------------------------------------------- external data
    w = weight("conv0.weight", (4, 3, 3, 3), 15)
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../../etc/passwd"), ("offset", "0"), ("length", "432")):
        e = w.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["c"], name="conv0", kernel_shape=[3, 3],
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="relu0")]
    save("external_data_passwd.onnx", model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4, 8, 8])], [w]))
    case("external_data_passwd.onnx", "conv0.weight is external data at '../../../etc/passwd' (must never be opened)",
         "(no error; at most note: FILE: conv0.weight: .*external)", "OK, fully covered (weights never read)")

    w = dims_only("conv0.weight", (4, 3, 3, 3))
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "/nonexistent-dlbricks/weights.bin"), ("offset", "0"), ("length", "432")):
        e = w.external_data.add()
        e.key, e.value = k, v
    nodes = [helper.make_node("Conv", ["x", "conv0.weight"], ["y"], name="conv0", kernel_shape=[3, 3])]
    save("external_data_absolute.onnx", model(nodes, [vi("x", F, [1, 3, 8, 8])], [vi("y", F, [1, 4, 6, 6])], [w]))
    case("external_data_absolute.onnx", "conv0.weight is external data at the absolute path "
         "'/nonexistent-dlbricks/weights.bin' (opening it would fail; strace shows no open)",
         "(no error; at most note: FILE: conv0.weight: .*external)", "OK, fully covered (weights never read)")

    # ---------------------------------------------------------------- opsets
    save("opset7.onnx", conv_relu(opset=7))
    case("opset7.onnx", "Conv+Relu with default-domain opset 7 (supported range is 11-17)",
         "error: FILE: .*opset 7", "error, skipped (a warning + best effort would also be defensible; "
         "Conv/Relu semantics did not change since opset 1/6)")

    save("opset_too_new.onnx", conv_relu(opset=18))
    case("opset_too_new.onnx", "Conv+Relu with default-domain opset 18 (newer than supported 11-17)",
         "warning: FILE: .*opset 18", "OK (warning: newer than the tested range; loaded best effort)")

    save("no_opset_import.onnx", conv_relu(opsets=[]))
    case("no_opset_import.onnx", "Conv+Relu model with an empty opset_import list",
         "error: FILE: .*opset", "error, skipped")

    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu0")]
    save("only_custom_opset.onnx", model(nodes, [vi("x", F, [1, 4])], [vi("y", F, [1, 4])],
                                         opsets=[helper.make_opsetid("com.example.custom", 1)]))
    case("only_custom_opset.onnx", "opset_import lists only 'com.example.custom', none for the default domain, "
         "yet relu0 uses the default domain", "error: FILE: .*opset", "error, skipped")


def checker_result(path):
    try:
        warnings.simplefilter("ignore")
        onnx.checker.check_model(onnx.load(path, load_external_data=False), full_check=True)
        return "pass"
    except Exception:
        return "fail"


def write_docs():
    rows = []
    for fname, wrong, pattern, verdict in CASES:
        size = os.path.getsize(os.path.join(OUT, fname))
        rows.append((fname, size, wrong, pattern, verdict, checker_result(os.path.join(OUT, fname))))
    with open(os.path.join(OUT, "expected.tsv"), "w") as f:
        f.write("# file\tbytes\texpected_pattern\tverdict\tonnx_checker\n")
        for fname, size, wrong, pattern, verdict, chk in rows:
            f.write("\t".join([fname, str(size), pattern, verdict, chk]) + "\n")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write("# Malformed and edge-case ONNX models\n\n"
                "Generated by `../gen_bad_models.py` (`/usr/bin/python3 tests/data/gen_bad_models.py`, "
                "onnx %s); do not edit by hand.\n\n" % onnx.__version__)
        f.write("Expected diagnostics follow `SEV: FILE: NODE: reason` (NODE omitted for file-level\n"
                "problems). In the pattern column `FILE` stands for the path as given on the command\n"
                "line; the rest is a POSIX ERE meant to be matched case-insensitively against one\n"
                "stderr line. Reason wording is a suggestion; FILE, NODE and the severity are the\n"
                "contract. Nodes are named explicitly so NODE is deterministic. `expected.tsv` holds\n"
                "the same data for tests. `onnx.checker` is `onnx.checker.check_model(full_check=True)`\n"
                "with onnx %s, for reference only. Checked once by hand with protobuf-c 1.4.1 and onnx.proto:\n"
                "exactly the four `not a valid ONNX protobuf` files fail to unpack; `empty_file.onnx`\n"
                "unpacks as an empty ModelProto (no graph), and the packed 1e6-element INTS of\n"
                "`huge_attribute.onnx` unpacks fine.\n\n" % onnx.__version__)
        f.write("| file | bytes | what is wrong | expected line(s) | verdict | onnx.checker |\n")
        f.write("|---|---|---|---|---|---|\n")
        for fname, size, wrong, pattern, verdict, chk in rows:
            f.write("| `%s` | %d | %s | `%s` | %s | %s |\n"
                    % (fname, size, wrong.replace("|", "\\|"), pattern.replace("|", "\\|"), verdict, chk))


def main():
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith(".onnx"):
            os.remove(os.path.join(OUT, fn))
    build()
    write_docs()
    for fname, *_ in CASES:
        size = os.path.getsize(os.path.join(OUT, fname))
        if size >= SIZE_LIMIT and fname not in SIZE_EXCEPTIONS:
            sys.exit("%s is %d bytes (limit %d)" % (fname, size, SIZE_LIMIT))
    print("wrote %d models to %s" % (len(CASES), OUT))


if __name__ == "__main__":
    main()
