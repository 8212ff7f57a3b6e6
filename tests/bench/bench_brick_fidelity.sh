#!/usr/bin/env bash
# bench_brick_fidelity.sh — brick medians vs oneDNN's own per-primitive times (ONEDNN_VERBOSE).
# Usage: tests/bench/bench_brick_fidelity.sh BUILD_DIR SOURCE_DIR [THREADS] [ROUNDS]
# Times every unique brick of resnet50 and mobilenet_v2 plainly (our medians) and with
# ONEDNN_VERBOSE=1 (oneDNN's exec times of the same primitives, bracketed by 'brick: begin/end'
# lines), alternating ROUNDS times (default 3) so that machine drift hits both sides alike; per
# brick, the median over rounds of each side.  Prints, per conv brick, both and the difference.
set -euo pipefail
build=${1:?BUILD_DIR}
src=${2:?SOURCE_DIR}
threads=${3:-1}
rounds=${4:-3}
cpus=$(seq -s, 0 $((threads - 1)))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
models=("$src/zoo/resnet50.onnx" "$src/zoo/mobilenet_v2.onnx")
for r in $(seq "$rounds"); do
    taskset -c "$cpus" "$build/dlbricks-mpi" --quiet --threads "$threads" \
        --bricks-out "$tmp/ours$r.csv" "${models[@]}" >/dev/null
    ONEDNN_VERBOSE=1 taskset -c "$cpus" "$build/dlbricks-mpi" --quiet -v --threads "$threads" \
        --bricks-out "$tmp/verbose$r.csv" "${models[@]}" >"$tmp/verbose$r.log" 2>&1
done
/usr/bin/python3 - "$tmp" "$rounds" <<'PY'
import csv, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
ours, keys, onednn = {}, {}, {}
for r in range(1, rounds + 1):
    for row in csv.DictReader(open(f"{tmp}/ours{r}.csv")):
        if row["op"] == "conv":
            ours.setdefault(row["brick"], []).append(float(row["median_ms"]))
            keys[row["brick"]] = row["key"]
    execs, cur = {}, None
    for line in open(f"{tmp}/verbose{r}.log"):
        if line.startswith("brick: begin id="):
            cur = line.strip().split("=")[1]; execs[cur] = []
        elif line.startswith("brick: end"):
            cur = None
        elif cur and line.startswith("onednn_verbose,exec,cpu,convolution"):
            execs[cur].append(float(line.rsplit(",", 1)[1]))
    for bid, t in execs.items():
        if t:
            onednn.setdefault(bid, []).append(statistics.median(t[2:] or t))  # no warm-up
rows = []
for bid, o in ours.items():
    if bid not in onednn:
        continue
    o, v = statistics.median(o), statistics.median(onednn[bid])
    rows.append((abs(o / v - 1), bid, o, v, keys[bid][:70]))
rows.sort(reverse=True)
print(f"{'brick':16} {'ours_ms':>9} {'onednn_ms':>9} {'diff%':>7}  key")
for d, bid, o, v, key in rows:
    print(f"{bid} {o:9.4f} {v:9.4f} {100 * (o / v - 1):+7.2f}  {key}")
within = sum(d <= 0.03 for d, *_ in rows)
print(f"fidelity: rounds={rounds} conv_bricks={len(rows)} within3pct={within} "
      f"median_abs_diff_pct={100 * statistics.median(d for d, *_ in rows):.2f}")
PY
