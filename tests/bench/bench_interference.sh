#!/usr/bin/env bash
# bench_interference.sh — brick times measured alone vs with every other core busy timing the
# same bricks: the per-brick ratio busy/alone (median, quartiles, worst) by op type.
# Usage: tests/bench/bench_interference.sh BINARY MODEL.onnx... (a few models: their bricks)
set -euo pipefail
BIN=$(realpath "$1")
shift
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-interference.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
N=$(nproc)
# Alone: one process on core 0, the other cores idle.
taskset -c 0 "$BIN" --quiet --threads 1 --bricks-out "$TMP/alone.csv" "$@" >/dev/null
# Busy: the same on core 0 while every other core times the same bricks (in a loop until done).
pids=()
for c in $(seq 1 $((N - 1))); do
    (while [ ! -e "$TMP/done" ]; do
        taskset -c "$c" "$BIN" --quiet --threads 1 "$@" >/dev/null 2>&1 || true
    done) &
    pids+=($!)
done
sleep 2 # let the noise start
taskset -c 0 "$BIN" --quiet --threads 1 --bricks-out "$TMP/busy.csv" "$@" >/dev/null
touch "$TMP/done"
for p in "${pids[@]}"; do
    pkill -P "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
done
/usr/bin/python3 - "$TMP/alone.csv" "$TMP/busy.csv" <<'PY'
import csv, statistics, sys
a = {r["brick"]: r for r in csv.DictReader(open(sys.argv[1])) if r["status"] == "ok"}
b = {r["brick"]: r for r in csv.DictReader(open(sys.argv[2])) if r["status"] == "ok"}
ratios = {}
for k in a.keys() & b.keys():
    ratios.setdefault(a[k]["op"], []).append(float(b[k]["median_ms"]) / float(a[k]["median_ms"]))
allr = sorted(x for v in ratios.values() for x in v)
def q(v, p): return v[min(len(v) - 1, int(p * len(v)))]
print("%-14s %6s %8s %8s %8s %8s" % ("op", "bricks", "p25", "median", "p75", "max"))
for op, v in sorted(ratios.items(), key=lambda kv: -len(kv[1])):
    v.sort()
    print("%-14s %6d %8.3f %8.3f %8.3f %8.3f" % (op, len(v), q(v, .25), q(v, .5), q(v, .75), v[-1]))
print("%-14s %6d %8.3f %8.3f %8.3f %8.3f" % ("all", len(allr), q(allr, .25), q(allr, .5), q(allr, .75), allr[-1]))
print("time-weighted ratio (sum busy / sum alone): %.3f" % (
    sum(float(b[k]["median_ms"]) for k in a.keys() & b.keys()) /
    sum(float(a[k]["median_ms"]) for k in a.keys() & b.keys())))
PY
