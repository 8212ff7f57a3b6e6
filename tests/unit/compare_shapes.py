#!/usr/bin/python3
# compare_shapes.py — compare dump_shapes output with onnx.shape_inference on ONNX models.
"""Usage: /usr/bin/python3 tests/unit/compare_shapes.py BUILD/dump_shapes MODEL.onnx...

For every tensor that onnx's own inference (data_prop=True) gives a fully static shape, checks
that dlbricks-mpi inferred the same shape.  Prints one line per model and a total; lists the first
disagreements.  Not a test: onnx 1.12 has its own gaps (it cannot fold every Shape chain), so
tensors that only we resolve are counted separately.
"""
import subprocess
import sys

import onnx
from onnx import shape_inference


def onnx_shapes(path):
    m = onnx.load(path, load_external_data=False)
    try:
        m = shape_inference.infer_shapes(m, data_prop=True)
    except Exception as e:  # noqa: BLE001 - report and continue
        print(f"  onnx inference failed: {e}")
    out = {}
    g = m.graph
    for vi in list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if all(d is not None for d in dims):
            out[vi.name] = "x".join(str(d) for d in dims) if dims else ""
    produced = {o for n in g.node for o in n.output if o}
    return out, produced


def our_shapes(tool, path):
    r = subprocess.run([tool, path], capture_output=True, text=True)
    shapes, status = {}, "?"
    for line in r.stdout.splitlines():
        if line.startswith("# model"):
            status = line.split()[3:]
            continue
        parts = line.split("\t")
        if len(parts) >= 3:
            shapes[parts[0]] = parts[1]
    return shapes, " ".join(status), r.stderr.count("warning:"), r.stderr.count("error:")


def main():
    tool, models = sys.argv[1], sys.argv[2:]
    tot = dict(both=0, agree=0, differ=0, ours_unknown=0, only_ours=0, produced=0, ours=0)
    for path in models:
        ref, produced = onnx_shapes(path)
        ours, status, nwarn, nerr = our_shapes(tool, path)
        c = dict(both=0, agree=0, differ=0, ours_unknown=0, only_ours=0)
        bad = []
        for name, s in ref.items():
            if name not in produced:
                continue
            c["both"] += 1
            o = ours.get(name, "unknown")
            if "unknown" in o or "?" in o:
                c["ours_unknown"] += 1
                bad.append((name, s, o))
            elif o == s:
                c["agree"] += 1
            else:
                c["differ"] += 1
                bad.append((name, s, o))
        known = [t for t in produced if t in ours and "unknown" not in ours[t] and "?" not in ours[t]]
        c["only_ours"] = sum(1 for t in known if t not in ref)
        tot["produced"] += len(produced)
        tot["ours"] += len(known)
        for k in c:
            tot[k] += c[k]
        print(f"{path}: {status} warn={nwarn} err={nerr} produced={len(produced)} "
              f"ours_static={len(known)} onnx_static={c['both']} agree={c['agree']} "
              f"differ={c['differ']} ours_unknown={c['ours_unknown']} only_ours={c['only_ours']}")
        for name, s, o in bad[:5]:
            print(f"    {name}: onnx {s or 'scalar'} ours {o or 'scalar'}")
    print("TOTAL " + " ".join(f"{k}={v}" for k, v in tot.items()))


if __name__ == "__main__":
    main()
