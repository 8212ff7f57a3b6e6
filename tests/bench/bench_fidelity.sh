#!/usr/bin/env bash
# bench_fidelity.sh — estimate vs whole-model latency over a zoo (issue #5's fidelity target).
# usage: tests/bench/bench_fidelity.sh BIN ZOO RANKS OUT.h5 [dlbricks-mpi options...]
# Runs `mpirun -np RANKS --bind-to core BIN --validate -o OUT.h5 --resume [options] ZOO`
# (an existing OUT.h5 is extended: bricks already timed with the same settings are reused, only
# the models are checked again), then prints the report lines and the error distribution:
# share within 5 % / 10 %, the geometric mean, and the models furthest off.  Prints figures
# only; never checks them.  Run it on an otherwise idle machine.
set -euo pipefail
BIN=$(realpath "$1")
ZOO=$2
NP=$3
OUT=$4
shift 4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
log=$(mktemp)
trap 'rm -f "$log" "$log.rows"' EXIT
start=$(date +%s)
mpirun -np "$NP" --bind-to core "$BIN" --quiet --validate -o "$OUT" --resume "$@" "$ZOO" >"$log" ||
    echo "note: exit status $? (partial models are listed in the table)"
echo "wall: $(($(date +%s) - start)) s"
grep -E '^(calibration|bricks|accuracy|noise|speedup|timing|host):' "$log"
echo
echo "models by |error| (estimate vs the whole model timed before, between and after its bricks):"
awk 'NF >= 9 && $7 ~ /^[-+]?[0-9.]+$/ && $1 != "system" {
         e = $7 + 0; a = e < 0 ? -e : e
         printf "%8.1f %8.1f %12s %12s  %s b%s\n", e, $8 + 0, $5, $6, $2, $3 }' "$log" |
    sort -g >"$log.rows"
awk '{ e = $1 + 0; a = e < 0 ? -e : e; n++; if (a <= 5) w5++; if (a <= 10) w10++
       s += log(1 + e / 100) }
     END { if (n) printf "models=%d within5=%.3f within10=%.3f geomean=%.4f\n",
                         n, w5 / n, w10 / n, exp(s / n) }' "$log.rows"
printf '%8s %8s %12s %12s  %s\n' error% noise% estimate_ms measured_ms model
awk '{ e = $1 + 0; print (e < 0 ? -e : e), $0 }' "$log.rows" | sort -g -r | head -15 | cut -d' ' -f2-
rm -f "$log.rows"
