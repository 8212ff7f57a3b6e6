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
# The model table: every line between the bricks lines and the timing lines.
table() { grep -Ev '^(bricks|timing|oversubscribed|accuracy|speedup):' "$1"; }
# Single process, no launcher: the reference table.
"$BIN" --backend dummy --quiet --system-name ref --threads 1 "$TINY" >"$TMP/ref.out" 2>"$TMP/ref.err"
table "$TMP/ref.out" >"$TMP/ref.models"
unique=$(sed -n 's/^bricks: system=ref unique=\([0-9]*\).*/\1/p' "$TMP/ref.out")
[ "$unique" -gt 0 ] || fail "no bricks in the reference run" "$BIN --backend dummy $TINY"
for np in 1 2 4; do
    for mode in shared dedicated; do
        [ "$np" -eq 1 ] && [ "$mode" = dedicated ] && continue
        extra=""
        [ "$mode" = dedicated ] && extra="--dedicated-coordinator"
        out="$TMP/np$np$mode"
        cmd="$MPIEXEC -np $np --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --report-bindings --verbose --system-name ref $extra --bricks-out $out.csv -o $out.h5 $TINY"
        $cmd >"$out.out" 2>"$out.err" || fail "exit status $? with $np ranks ($mode)" "$cmd"
        table "$out.out" | cmp -s - "$TMP/ref.models" ||
            fail "model table differs from the single-process run with $np ranks ($mode)" "$cmd"
        timers=$np
        [ "$mode" = dedicated ] && timers=$((np - 1))
        grep -Eq "^bricks: system=ref unique=$unique timed=$unique reused=0 ranks=$timers wall_s=[0-9.]+ imbalance=[0-9.]+$" "$out.out" ||
            fail "bricks line with $np ranks ($mode): $(grep '^bricks:' "$out.out")" "$cmd"
        # every unique brick exactly once in the results, in the CSV and in the HDF5 file
        [ "$(tail -n +2 "$out.csv" | cut -d, -f1 | sort | uniq | wc -l)" -eq "$unique" ] &&
            [ "$(tail -n +2 "$out.csv" | wc -l)" -eq "$unique" ] ||
            fail "bricks file does not hold each brick once" "$cmd"
        /usr/bin/python3 - "$out.h5" "$unique" "$np" "$mode" "$out.err" <<'PY' || fail "HDF5 file: each brick once, from the right ranks; every rank's info" "$cmd"
import re, socket, sys, h5py
f = h5py.File(sys.argv[1], "r")
b = f["/systems/ref/bricks"][()]
ids = list(b["id"])
assert len(ids) == int(sys.argv[2]) == len(set(ids)), (len(ids), sys.argv[2])
ranks = set(int(r) for r in b["rank"])
np_, mode = int(sys.argv[3]), sys.argv[4]
if mode == "dedicated":
    assert 0 not in ranks, ranks
if np_ == 1:
    assert ranks == {0}, ranks
assert all(s == b"ok" for s in b["status"])
# every rank's info (a RankInfo message from each) in the run's provenance: the binding each
# rank reported, its host, system, threads, and which rank only coordinates
(run,) = list(f["runs"].values())
text = run.attrs["ranks"]
text = text.decode() if isinstance(text, bytes) else text
rows = [line.split() for line in text.splitlines()]
info = [dict(kv.split("=", 1) for kv in r if "=" in kv) for r in rows]
cpus = {int(m.group(1)): m.group(2) for m in
        re.finditer(r"^binding: rank=(\d+) .* cpus=(\S+)", open(sys.argv[5]).read(), re.M)}
assert [int(i["rank"]) for i in info] == list(range(np_)), text
for r, i in enumerate(info):
    assert i["host"] == socket.gethostname() and i["system"] == "ref", text
    assert i["binding"] == cpus[r] and int(i["threads"]) >= 1, (text, cpus)
    assert i["oversubscribed"] in ("0", "1"), text
    assert ("coordinator-only" in rows[r]) == (mode == "dedicated" and r == 0), text
PY
        [ "$(grep -c '^binding: rank=' "$out.err")" -eq "$np" ] ||
            fail "not one binding line per rank" "$cmd"
        # --verbose: every brick bracketed once, on whichever rank timed it
        tail -n +2 "$out.csv" | cut -d, -f1 | sort >"$out.ids"
        for w in begin end; do
            sed -n "s/^brick: $w id=\([0-9a-f]*\)$/\1/p" "$out.err" | sort | cmp -s - "$out.ids" ||
                fail "--verbose: the 'brick: $w' lines are not one per brick timed ($np ranks, $mode)" "$cmd"
        done
        N=$((N + 6))
    done
done
# Two systems in one job (MPMD): each times every unique brick among its own ranks.
cmd="$MPIEXEC --oversubscribe -np 1 $BIN --backend dummy --quiet --allow-oversubscribe --system-name a -o $TMP/mpmd.h5 $TINY : -np 2 $BIN --backend dummy --quiet --allow-oversubscribe --system-name b -o $TMP/mpmd.h5 $TINY"
$cmd >"$TMP/mpmd.out" 2>"$TMP/mpmd.err" || fail "MPMD exit status $?" "$cmd"
grep -Eq "^bricks: system=a unique=$unique timed=$unique reused=0 ranks=1 " "$TMP/mpmd.out" &&
    grep -Eq "^bricks: system=b unique=$unique timed=$unique reused=0 ranks=2 " "$TMP/mpmd.out" ||
    fail "MPMD: not one complete table per system: $(grep '^bricks:' "$TMP/mpmd.out")" "$cmd"
[ "$(grep -c "^a " "$TMP/mpmd.out")" -eq "$(grep -c "^b " "$TMP/mpmd.out")" ] ||
    fail "MPMD: estimates not given for both systems" "$cmd"
N=$((N + 2))
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
first=$(awk -F, 'NR == 2 {print $1}' "$TMP/np2shared.csv")
cmd="$MPIEXEC -np 3 --oversubscribe -x DLB_DUMMY_FAIL=$first $BIN --backend dummy --quiet --allow-oversubscribe $TINY"
set +e
$cmd >"$TMP/fail.out" 2>"$TMP/fail.err"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "exit status $rc, expected 3" "$cmd"
grep -q "brick $first (.*injected failure" "$TMP/fail.err" || fail "failure not reported" "$cmd"
grep -Eq "^bricks: system=[^ ]+ unique=$unique timed=$((unique - 1)) reused=0 ranks=3 " "$TMP/fail.out" &&
    grep -Eq "^timing: system=[^ ]+ failed=1 " "$TMP/fail.out" ||
    fail "failure not counted" "$cmd"
N=$((N + 3))
# --weights auto: two calibration passes on the three smallest models (validated; nothing of them
# stored), one calibration line, then the main pass with the chosen rule: its brick ids are the
# dry run's under that rule and not under the other one.  The same without a launcher.
CAL="$TMP/calzoo"
mkdir -p "$CAL"
for m in shufflenet_v2_x0_5 mobilenet_v3_small mnasnet0_5 resnet18; do ln -s "$SRC/zoo/$m.onnx" "$CAL/"; done
cmd="$MPIEXEC -np 2 --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --system-name cal --weights auto --min-time-ms 5 -o $TMP/auto.h5 $CAL"
$cmd >"$TMP/auto.out" 2>"$TMP/auto.err" || fail "--weights auto: exit status $?" "$cmd"
[ "$(grep -c '^calibration: ' "$TMP/auto.out")" -eq 1 ] || fail "--weights auto: not one calibration line" "$cmd"
line=$(grep '^calibration: ' "$TMP/auto.out")
[[ "$line" =~ ^calibration:\ models=shufflenet_v2_x0_5,mobilenet_v3_small,mnasnet0_5\ batch=stored\ validated=6,6\ cold_error_pct=[0-9.]+\ distance_error_pct=[0-9.]+\ weights=(cold|distance)\ wall_s=[0-9.]+$ ]] ||
    fail "--weights auto: calibration line: $line" "$cmd"
chosen=${BASH_REMATCH[1]}
other=cold
[ "$chosen" = cold ] && other=distance
rule() { [ "$1" = distance ] && echo "--weights distance --cold-inputs distance" || echo "--weights cold"; }
# shellcheck disable=SC2046
"$BIN" --dry-run --csv $(rule "$chosen") "$CAL" | tail -n +2 | awk -F, '{print $4}' | sort -u >"$TMP/auto.want"
# shellcheck disable=SC2046
"$BIN" --dry-run --csv $(rule "$other") "$CAL" | tail -n +2 | awk -F, '{print $4}' | sort -u >"$TMP/auto.other"
/usr/bin/python3 - "$TMP/auto.h5" "${line#calibration: }" >"$TMP/auto.ids" <<'PY' || fail "--weights auto: results file" "$cmd"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for b in f["/systems/cal/bricks"][()]:
    print("%016x" % b["id"])
runs = list(f["/runs"])
assert len(runs) == 1, runs  # the calibration passes store nothing
assert f["/runs"][runs[0]].attrs["weights_calibration"] == sys.argv[2], dict(f["/runs"][runs[0]].attrs)
PY
sort -u "$TMP/auto.ids" | cmp -s - "$TMP/auto.want" ||
    fail "--weights auto: the stored bricks are not the dry run's under weights=$chosen" "$cmd"
cmp -s "$TMP/auto.want" "$TMP/auto.other" && fail "--weights auto: both rules give the same bricks" "$cmd"
[ "$(grep -c "^cal " "$TMP/auto.out")" -eq 4 ] || fail "--weights auto: not 4 models in the table" "$cmd"
# --resume: the earlier run's choice is taken (no calibration pass), so nothing is timed again;
# a resume at another batch size calibrates anew.
run1=$(/usr/bin/python3 -c 'import sys,h5py; print(list(h5py.File(sys.argv[1],"r")["/runs"])[0])' "$TMP/auto.h5")
cmd="$MPIEXEC -np 2 --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --system-name cal --weights auto --min-time-ms 5 -o $TMP/auto.h5 --resume $CAL"
$cmd >"$TMP/auto2.out" 2>"$TMP/auto2.err" || fail "--weights auto --resume: exit status $?" "$cmd"
[ "$(grep '^calibration: ' "$TMP/auto2.out")" = "$line reused=$run1" ] ||
    fail "--weights auto --resume: calibration line: $(grep '^calibration: ' "$TMP/auto2.out")" "$cmd"
grep -q "calibration: .*unique bricks" "$TMP/auto2.err" && fail "--weights auto --resume: calibrated again" "$cmd"
grep -Eq "^bricks: system=cal unique=$(wc -l <"$TMP/auto.want") timed=0 reused=$(wc -l <"$TMP/auto.want") " "$TMP/auto2.out" ||
    fail "--weights auto --resume: bricks timed again: $(grep '^bricks:' "$TMP/auto2.out")" "$cmd"
cmd="$MPIEXEC -np 2 --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --system-name cal --weights auto --min-time-ms 5 --batch 2 -o $TMP/auto.h5 --resume $CAL"
$cmd >"$TMP/auto3.out" 2>"$TMP/auto3.err" || fail "--weights auto --resume --batch 2: exit status $?" "$cmd"
grep -Eq '^calibration: models=[^ ]+ batch=2 validated=6,6 .* wall_s=[0-9.]+$' "$TMP/auto3.out" ||
    fail "--weights auto --batch 2: not calibrated anew: $(grep '^calibration: ' "$TMP/auto3.out")" "$cmd"
cmd="$BIN --backend dummy --quiet --weights auto --min-time-ms 5 $CAL"
$cmd >"$TMP/auto1.out" 2>"$TMP/auto1.err" || fail "--weights auto without a launcher: exit status $?" "$cmd"
grep -Eq '^calibration: models=shufflenet_v2_x0_5,mobilenet_v3_small,mnasnet0_5 batch=stored validated=6,6 ' "$TMP/auto1.out" ||
    fail "--weights auto without a launcher: no calibration line" "$cmd"
# a results file the run would refuse stops it before the calibration, not a minute after it:
# an existing file without --resume (left as it was), and with --resume one that does not load
sum=$(md5sum <"$TMP/auto.h5")
cmd="$MPIEXEC -np 2 --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --system-name cal --weights auto --min-time-ms 5 -o $TMP/auto.h5 $CAL"
! $cmd >"$TMP/auto4.out" 2>"$TMP/auto4.err" &&
    grep -q "^error: $TMP/auto.h5: file exists; never overwritten" "$TMP/auto4.err" &&
    ! grep -q "calibration" "$TMP/auto4.err" "$TMP/auto4.out" && [ "$(md5sum <"$TMP/auto.h5")" = "$sum" ] ||
    fail "--weights auto, existing file without --resume: not refused before calibrating" "$cmd"
echo "not a results file" >"$TMP/notres.h5"
cmd="$BIN --backend dummy --quiet --weights auto --min-time-ms 5 -o $TMP/notres.h5 --resume $CAL"
! $cmd >"$TMP/auto5.out" 2>"$TMP/auto5.err" && grep -q "^error: $TMP/notres.h5" "$TMP/auto5.err" &&
    ! grep -q "calibration" "$TMP/auto5.err" "$TMP/auto5.out" ||
    fail "--weights auto --resume, unreadable file: not refused before calibrating" "$cmd"
N=$((N + 13))
# ---- the host probe (oneDNN): every rank times it at the start and the end; rank 0 stores all --
cmd="$MPIEXEC -np 2 --oversubscribe $BIN --quiet --allow-oversubscribe --threads 1 --min-time-ms 5 --min-reps 3 -o $TMP/probe.h5 $TINY/tiny_resnet.onnx"
$cmd >"$TMP/probe.out" 2>"$TMP/probe.err" || fail "host probe: exit status $?" "$cmd"
grep -Eq '^host: system=[^ ]+ ranks=2 start_gflops=[0-9.]+ end_gflops=[0-9.]+ start_stream_gbs=[0-9.]+ end_stream_gbs=[0-9.]+$' "$TMP/probe.out" ||
    fail "host probe: no host: line for 2 ranks" "$cmd"
/usr/bin/python3 - "$TMP/probe.h5" <<'PY' || fail "host probe: not every rank's figures stored" "$cmd"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
(run,) = list(f["runs"].values())
text = run.attrs["host_probe"]
text = text.decode() if isinstance(text, bytes) else text
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in text.splitlines()]
assert [(r["rank"], r["when"]) for r in rows] == [("0", "start"), ("0", "end"), ("1", "start"),
                                                  ("1", "end")], text
assert all(float(r["gflops"]) > 0 and float(r["stream_gbs"]) > 0 for r in rows), text
PY
N=$((N + 2))
echo "PASS: $N checks"
