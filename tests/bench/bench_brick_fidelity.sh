#!/usr/bin/env bash
# bench_brick_fidelity.sh — brick medians vs oneDNN's own per-primitive times (ONEDNN_VERBOSE).
# Usage: tests/bench/bench_brick_fidelity.sh BUILD_DIR SOURCE_DIR [THREADS]
# Times every unique brick of resnet50 and mobilenet_v2 twice: once plainly (our medians), once
# with ONEDNN_VERBOSE=1 (oneDNN's exec times of the same primitives, bracketed by
# 'brick: begin/end' lines).  Prints, per conv brick, both medians and the difference.
set -euo pipefail
build=${1:?BUILD_DIR}
src=${2:?SOURCE_DIR}
threads=${3:-1}
cpus=$(seq -s, 0 $((threads - 1)))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models=("$src/zoo/resnet50.onnx" "$src/zoo/mobilenet_v2.onnx")
taskset -c "$cpus" "$build/dlbricks-mpi" --quiet --threads "$threads" \
    --bricks-out "$tmp/ours.csv" "${models[@]}" >/dev/null
ONEDNN_VERBOSE=1 taskset -c "$cpus" "$build/dlbricks-mpi" --quiet -v --threads "$threads" \
    --bricks-out "$tmp/verbose.csv" "${models[@]}" >"$tmp/verbose.log" 2>&1
/usr/bin/python3 - "$tmp/ours.csv" "$tmp/verbose.log" <<'PY'
import csv, statistics, sys
ours = {r["brick"]: r for r in csv.DictReader(open(sys.argv[1]))}
execs, cur = {}, None
for line in open(sys.argv[2]):
    if line.startswith("brick: begin id="):
        cur = line.strip().split("=")[1]; execs[cur] = []
    elif line.startswith("brick: end"):
        cur = None
    elif cur and line.startswith("onednn_verbose,exec,cpu,convolution"):
        execs[cur].append(float(line.rsplit(",", 1)[1]))
rows = []
for bid, r in ours.items():
    if r["op"] != "conv" or not execs.get(bid):
        continue
    t = execs[bid][2:] or execs[bid]          # drop the 2 warm-up runs
    v = statistics.median(t)
    o = float(r["median_ms"])
    rows.append((abs(o / v - 1), bid, o, v, r["key"][:70]))
rows.sort(reverse=True)
print(f"{'brick':16} {'ours_ms':>9} {'onednn_ms':>9} {'diff%':>7}  key")
for d, bid, o, v, key in rows:
    print(f"{bid} {o:9.4f} {v:9.4f} {100 * (o / v - 1):+7.2f}  {key}")
within = sum(d <= 0.03 for d, *_ in rows)
print(f"fidelity: conv_bricks={len(rows)} within3pct={within} "
      f"median_abs_diff_pct={100 * statistics.median(d for d, *_ in rows):.2f}")
PY
