#!/usr/bin/env bash
# test_mpi.sh — the main job under mpirun (1, 2, 4 ranks, dummy backend): every unique brick is
# timed exactly once, results identical to the single-process run, failures reported and skipped.
# Usage: tests/cli/test_mpi.sh BINARY SOURCE_DIR MPIEXEC
set -euo pipefail
BIN=$(realpath "$1")
SRC=$(realpath "$2")
MPIEXEC=$3
TINY="$SRC/zoo/tiny"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-mpi-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
N=0
fail() {
    echo "FAIL: $1" >&2
    echo "  command: $2" >&2
    exit 1
}
# Single process, no launcher: the reference table.
"$BIN" --backend dummy --quiet "$TINY" >"$TMP/ref.out" 2>"$TMP/ref.err"
grep -v '^bricks:' "$TMP/ref.out" >"$TMP/ref.models"
unique=$(sed -n 's/^bricks: unique=\([0-9]*\).*/\1/p' "$TMP/ref.out")
[ "$unique" -gt 0 ] || fail "no bricks in the reference run" "$BIN --backend dummy $TINY"
for np in 1 2 4; do
    cmd="$MPIEXEC -np $np --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --report-bindings --bricks-out $TMP/b$np.csv $TINY"
    $cmd >"$TMP/np$np.out" 2>"$TMP/np$np.err" || fail "exit status $? with $np ranks" "$cmd"
    grep -Ev '^(bricks|oversubscribed):' "$TMP/np$np.out" | cmp -s - "$TMP/ref.models" ||
        fail "model table differs from the single-process run with $np ranks" "$cmd"
    grep -Eq "^bricks: unique=$unique timed=$unique failed=0 ranks=$np " "$TMP/np$np.out" ||
        fail "bricks line with $np ranks: $(grep '^bricks:' "$TMP/np$np.out")" "$cmd"
    # every unique brick exactly once in the results file
    [ "$(tail -n +2 "$TMP/b$np.csv" | cut -d, -f1 | sort | uniq | wc -l)" -eq "$unique" ] &&
        [ "$(tail -n +2 "$TMP/b$np.csv" | wc -l)" -eq "$unique" ] ||
        fail "bricks file does not hold each brick once" "$cmd"
    [ "$(grep -c '^binding: rank=' "$TMP/np$np.err")" -eq "$np" ] ||
        fail "not one binding line per rank" "$cmd"
    N=$((N + 4))
done
# More ranks than cores without --allow-oversubscribe: refused before anything is timed.
ncores=$(nproc)
cmd="$MPIEXEC -np $((ncores + 1)) --oversubscribe --bind-to none $BIN --backend dummy --quiet $TINY"
set +e
$cmd >"$TMP/over.out" 2>"$TMP/over.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "oversubscription was not refused" "$cmd"
grep -q "allow-oversubscribe" "$TMP/over.err" || fail "no message naming --allow-oversubscribe" "$cmd"
N=$((N + 2))
# A failing brick on a worker: reported with its id, skipped, the run goes on.
first=$(awk -F, 'NR == 2 {print $1}' "$TMP/b2.csv")
cmd="$MPIEXEC -np 3 --oversubscribe -x DLB_DUMMY_FAIL=$first $BIN --backend dummy --quiet --allow-oversubscribe $TINY"
set +e
$cmd >"$TMP/fail.out" 2>"$TMP/fail.err"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "exit status $rc, expected 3" "$cmd"
grep -q "brick $first (.*injected failure" "$TMP/fail.err" || fail "failure not reported" "$cmd"
grep -Eq "^bricks: unique=$unique timed=$((unique - 1)) failed=1 " "$TMP/fail.out" ||
    fail "failure not counted" "$cmd"
N=$((N + 3))
echo "PASS: $N checks"
