#!/usr/bin/env bash
# bench_scaling.sh — strong scaling of the MPI main job (1 -> N ranks, oneDNN) on a zoo: wall
# time, efficiency, orchestration overhead, imbalance and peak RSS per rank; then the scheduler
# replay at larger rank counts from the measured costs.
# Usage: tests/bench/bench_scaling.sh BINARY ZOO [MAX_RANKS (default: cores)] [extra options...]
set -euo pipefail
BIN=$(realpath "$1")
ZOO=$2
MAX=${3:-$(nproc)}
shift $(($# >= 3 ? 3 : $#))
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-scaling.XXXXXX")
# DLB_BENCH_KEEP=1 keeps the per-run outputs (CSV, HDF5) for a closer look.
[ -n "${DLB_BENCH_KEEP:-}" ] && echo "keeping the outputs in $TMP" || trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
wall1=""
printf '%-6s %10s %10s %9s %9s %9s %9s %s\n' ranks wall_s efficiency overhead setup idle imbalance \
    "peak_rss_MiB(rank0,others)"
for np in $(seq 1 "$MAX"); do
    out="$TMP/np$np"
    # /usr/bin/time around each rank: its peak RSS (KiB), one line per rank on stderr
    mpirun -np "$np" --bind-to core \
        sh -c 'exec /usr/bin/time -f "rss_kb=%M rank=$OMPI_COMM_WORLD_RANK" "$0" "$@"' \
        "$BIN" --quiet --bricks-out "$out.csv" -o "$out.h5" "$@" "$ZOO" >"$out.out" 2>"$out.err" || true
    line=$(grep '^bricks:' "$out.out" | head -1)
    timing=$(grep '^timing:' "$out.out" | head -1)
    wall=$(sed -n 's/.* wall_s=\([0-9.]*\).*/\1/p' <<<"$line")
    imb=$(sed -n 's/.* imbalance=\([0-9.]*\).*/\1/p' <<<"$line")
    ovh=$(sed -n 's/.* overhead=\([0-9.]*%\).*/\1/p' <<<"$timing")
    idle=$(sed -n 's/.* idle=\([0-9.]*%\).*/\1/p' <<<"$timing")
    setup=$(sed -n 's/.* setup=\([0-9.]*%\).*/\1/p' <<<"$timing")
    [ -z "$wall1" ] && wall1=$wall
    eff=$(awk -v a="$wall1" -v b="$wall" -v n="$np" 'BEGIN { printf "%.3f", a / (n * b) }')
    rss=$(grep -o 'rss_kb=[0-9]* rank=[0-9]*' "$out.err" | sort -t= -k3 -n | cut -d' ' -f1 |
        cut -d= -f2 | awk '{ printf "%s%.0f", (NR > 1 ? "," : ""), $1 / 1024 }')
    printf '%-6s %10s %10s %9s %9s %9s %9s %s\n' "$np" "$wall" "$eff" "$ovh" "$setup" "$idle" "$imb" "$rss"
done
echo
echo "scheduler replay with the costs measured by the 1-rank run:"
"$BIN" --simulate-ranks 16,64,256,1024 --costs "$TMP/np1.csv" "$@"
"$BIN" --simulate-ranks 16,64,256,1024 --dedicated-coordinator --costs "$TMP/np1.csv" "$@" |
    tail -n +2
