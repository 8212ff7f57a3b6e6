#!/usr/bin/env bash
# run_peers.sh — whole-model latency of the dlbricks-mpi executor next to onnxruntime and
# PyTorch on this machine, batch 1, at 1 and 2 threads.  Not a test (see tests/bench/README.md).
#
# Usage: tests/bench/peers/run_peers.sh   (relative paths, e.g. BUILD, are from the repo root)
# Settings (environment):
#   MODELS       models to run        (default: resnet50 mobilenet_v2 vgg16 densenet121
#                                      efficientnet_b0 vit_b_16)
#   THREADS      thread counts        (default: "1 2"; T threads are pinned to cores 0..T-1)
#   REPEATS      sweeps of everything (default 2)
#   MIN_TIME_MS  / MIN_REPS           timing rule for every tool (default 3000 / 20)
#   ONNX_DIR     weighted ONNX files  (default /tmp/peers_onnx; made with
#                /usr/bin/python3 zoo/export_torchvision.py --keep-weights --out DIR MODEL...)
#   ORT_NODE_DIR folder with node_modules/onnxruntime-node (default /tmp/peers_ort)
#   TORCH_SKIP   models not run in PyTorch (default vit_b_16: Debian's torch uses the
#                reference BLAS, so its Linear/matmul times mean nothing)
#   BUILD        build folder of dlbricks-mpi (default build)
#   OUT          folder for the raw results (default: a new /tmp/peers_run.XXXXXX)
#   PYTHON       python with torch/torchvision (default /usr/bin/python3)
# Order: for each repeat, for each model, for each T: ours, ORT, torch (TorchScript, eager)
# back to back, so slow drift of the machine hits all tools alike.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.." || exit 1   # the repository root: relative paths below start there
MODELS=${MODELS:-"resnet50 mobilenet_v2 vgg16 densenet121 efficientnet_b0 vit_b_16"}
THREADS=${THREADS:-"1 2"}
REPEATS=${REPEATS:-2}
MIN_TIME_MS=${MIN_TIME_MS:-3000}
MIN_REPS=${MIN_REPS:-20}
ONNX_DIR=${ONNX_DIR:-/tmp/peers_onnx}
ORT_NODE_DIR=${ORT_NODE_DIR:-/tmp/peers_ort}
TORCH_SKIP=${TORCH_SKIP:-vit_b_16}
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$(mktemp -d /tmp/peers_run.XXXXXX)}
export ORT_NODE_DIR

die() { echo "run_peers: $*" >&2; exit 1; }
[ -x "$BUILD/dlbricks-mpi" ] || die "$BUILD/dlbricks-mpi missing: cmake -S . -B $BUILD && cmake --build $BUILD -j2"
[ -d "$ORT_NODE_DIR/node_modules/onnxruntime-node" ] ||
    die "no onnxruntime-node in $ORT_NODE_DIR: mkdir -p $ORT_NODE_DIR && cd $ORT_NODE_DIR && ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node"
for m in $MODELS; do
    [ -f "$ONNX_DIR/$m.onnx" ] ||
        die "$ONNX_DIR/$m.onnx missing: $PYTHON zoo/export_torchvision.py --keep-weights --out $ONNX_DIR $MODELS"
done
command -v taskset >/dev/null || die "taskset not found (util-linux)"
mkdir -p "$OUT"
raw=$OUT/raw.txt
: > "$raw"
echo "run_peers: raw results in $raw" >&2
# A private copy of the binary, so that a rebuild of $BUILD during the sweep changes nothing.
exe=$OUT/dlbricks-mpi
cp "$BUILD/dlbricks-mpi" "$exe" || die "cannot copy $BUILD/dlbricks-mpi"
echo "binary $(sha256sum < "$exe" | cut -c1-16) git=$(git describe --always --dirty 2>/dev/null || echo none)" |
    tee -a "$raw" >&2
# Other load: per step, the CPU time of the whole machine (/proc/stat) minus that of this
# script's children (bash 'times'), and the time the hypervisor stole; in jiffies (1/100 s).
machine_cpu() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat; }
# ('times' must run in this shell, not in a $(...) subshell, to see this shell's children.)
children_cpu() {
    awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/)
                   printf "%.0f\n", 100 * (60 * u[1] + u[2] + 60 * s[1] + s[2]) }' "$OUT/times.txt"
}

cpus() { seq -s, 0 $(($1 - 1)); }
skip_torch() { case " $TORCH_SKIP " in *" $1 "*) return 0 ;; esac; return 1; }

# FLOPs per model (batch 1), from the dry run on the weightless zoo file (same graph).
for m in $MODELS; do
    f=zoo/$m.onnx; [ -f "$f" ] || f=$ONNX_DIR/$m.onnx
    "$exe" --dry-run --csv "$f" 2>/dev/null |
        awk -F, -v m="$m" 'NR > 1 { s += $NF } END { printf "flops %s %.0f\n", m, s }' >> "$raw"
done

# Compute peak: single-core FMA loop.
cc -O3 -o "$OUT/fma_peak" "$here/fma_peak.c" || die "cannot build fma_peak.c"
taskset -c 0 "$OUT/fma_peak" 1 | tee -a "$raw" >&2

for rep in $(seq 1 "$REPEATS"); do
    for m in $MODELS; do
        for t in $THREADS; do
            pin="taskset -c $(cpus "$t")"
            echo "run_peers: rep $rep $m T=$t" >&2
            t0=$(date +%s.%N); read -r busy0 steal0 < <(machine_cpu)
            times > "$OUT/times.txt"; kids0=$(children_cpu)
            $pin "$exe" --time-model "$ONNX_DIR/$m.onnx" --threads "$t" \
                --min-time-ms "$MIN_TIME_MS" --min-reps "$MIN_REPS" 2>>"$OUT/stderr.txt" |
                sed -n "s/^model: /ours rep=$rep threads=$t /p" >> "$raw"
            $pin node "$here/ort_bench.js" --threads "$t" --min-time-ms "$MIN_TIME_MS" \
                --min-reps "$MIN_REPS" "$ONNX_DIR/$m.onnx" 2>>"$OUT/stderr.txt" |
                sed -n "s/^ort: /ort rep=$rep /p" >> "$raw"
            if ! skip_torch "$m"; then
                $pin "$PYTHON" -W ignore "$here/torch_bench.py" --threads "$t" --mode ts,eager \
                    --min-time-ms "$MIN_TIME_MS" --min-reps "$MIN_REPS" "$m" 2>>"$OUT/stderr.txt" |
                    sed -n "s/^torch: \([^ ]*\) mode=\([a-z]*\) /\2 rep=$rep \1 /p" >> "$raw"
            fi
            times > "$OUT/times.txt"; kids1=$(children_cpu)
            read -r busy1 steal1 < <(machine_cpu); t1=$(date +%s.%N)
            echo "step rep=$rep $m threads=$t wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" \
                "others_jiffies=$((busy1 - busy0 - (kids1 - kids0)))" \
                "steal_jiffies=$((steal1 - steal0))" >> "$raw"
        done
    done
done

"$PYTHON" - "$raw" "$MODELS" "$THREADS" <<'PY'
import statistics, sys
raw, models, threads = sys.argv[1], sys.argv[2].split(), [int(t) for t in sys.argv[3].split()]
flops, peak, res, busy, binary = {}, None, {}, set(), ""  # res[(tool, model, T)] = [median per repeat]
for line in open(raw):
    w = line.split()
    if not w:
        continue
    if w[0] == "flops":
        flops[w[1]] = float(w[2])
    elif w[0] == "binary":
        binary = " ".join(w[1:])
    elif w[0] == "step":
        kv = dict(x.split("=", 1) for x in w[1:] if "=" in x)
        wall = float(kv["wall_s"]) * 100  # jiffies
        if int(kv["others_jiffies"]) > 0.10 * wall:  # others used > 10% of a core
            busy.add((w[2], int(kv["threads"]), "busy@" + kv["rep"]))
        if int(kv["steal_jiffies"]) > 0.05 * wall:
            busy.add((w[2], int(kv["threads"]), "steal@" + kv["rep"]))
    elif w[0] == "fma_peak" and w[1] == "avx512":
        peak = float(w[2].split("=")[1])
    elif w[0] in ("ours", "ort", "ts", "eager"):
        kv = dict(x.split("=", 1) for x in w[1:] if "=" in x)
        name = [x for x in w[1:] if "=" not in x][0]
        res.setdefault((w[0], name, int(kv["threads"])), []).append(float(kv["median_ms"]))

def med(k):
    v = res.get(k)
    return statistics.median(v) if v else None

def spread(k):  # max/min - 1 over the repeats
    v = res.get(k)
    return max(v) / min(v) - 1 if v and len(v) > 1 else 0.0

f = lambda x, fmt="%.2f": "-" if x is None else fmt % x
print(f"\ndlbricks-mpi: sha256 {binary}")
print(f"fma peak (1 core, avx512): {f(peak, '%.1f')} GFLOP/s; medians over repeats in ms; "
      "flag: a tool whose repeats differ by > 10%; busy@R / steal@R: in repeat R other "
      "processes used > 10% of a core / the hypervisor stole > 5% of a core")
hdr = ("model", "T", "ours_ms", "ort_ms", "ts_ms", "eager_ms", "ours/ort", "ours/ts",
       "GFLOP/s", "%peak", "reps(ours;ort;ts;eager)", "flag")
print("| " + " | ".join(hdr) + " |")
print("|" + "|".join("---" for _ in hdr) + "|")
for m in models:
    for t in threads:
        o, r, s, e = (med((k, m, t)) for k in ("ours", "ort", "ts", "eager"))
        gf = flops.get(m, 0) / o / 1e6 if o else None
        pk = 100 * gf / (peak * t) if gf and peak else None
        reps = ";".join("/".join("%.2f" % x for x in res.get((k, m, t), [])) or "-"
                        for k in ("ours", "ort", "ts", "eager"))
        flag = [k for k in ("ours", "ort", "ts", "eager") if spread((k, m, t)) > 0.10]
        flag += sorted(r for (bm, bt, r) in busy if bm == m and bt == t)
        flag = ",".join(flag)
        print("| " + " | ".join((m, str(t), f(o), f(r), f(s), f(e),
                                 f(o / r if o and r else None), f(o / s if o and s else None),
                                 f(gf, "%.1f"), f(pk, "%.0f%%"), reps, flag or "")) + " |")
PY
