#!/usr/bin/env bash
# test_faults.sh — faults under mpirun, drawn from seeds: for every seed, a 3-rank run of the
# dummy backend (-o FILE.h5, --checkpoint-s 0.1) is killed with SIGKILL at a moment drawn from
# the seed, either on rank 0 (the coordinator, the only rank that writes the file) or on a
# worker (alternating by seed). Then: the file opens and holds only complete rows
# (docs/hdf5.md), or does not exist when the kill came before the first save; the same command
# with --resume reuses exactly the saved rows and times the rest; the final file holds every
# unique brick once. Last, SIGTERM of rank 0 under mpirun: exit status non-zero, the results so
# far saved, resume finishes.
# Every run has its own session (setsid): whatever mpirun leaves behind is killed, nothing hangs.
# Usage: tests/cli/test_faults.sh BINARY SOURCE_DIR MPIEXEC
#   DLB_FAULT_SEEDS="7 8 9"  runs these seeds too, after the fixed ones (e.g. $(seq 7 40)).
set -euo pipefail
BIN=$(realpath "$1")
SRC=$(realpath "$2")
MPIEXEC=$3
TINY="$SRC/zoo/tiny"
PY=/usr/bin/python3
SEEDS="1 2 3 4 5 6 ${DLB_FAULT_SEEDS:-}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-faults-test.XXXXXX")
SESSIONS=() # session ids of the runs started here (the pid of their mpirun)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
N=0

in_session() { ps -e -o pid=,sid= | awk -v s="$1" '$2 == s { print $1 }'; }
reap() { # SID: wait up to 5 s for the session's processes to end, then kill -9 what is left
    local t
    for t in $(seq 50); do
        [ -z "$(in_session "$1")" ] && return 0
        sleep 0.1
    done
    echo "note: session $1: killing leftover processes: $(in_session "$1" | xargs)" >&2
    in_session "$1" | xargs -r kill -9 2>/dev/null || true
    sleep 0.2
}
cleanup() {
    local s
    for s in "${SESSIONS[@]}"; do in_session "$s" | xargs -r kill -9 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
    echo "FAIL: $1" >&2
    [ -n "${2:-}" ] && echo "  command: $2" >&2
    for f in "$TMP"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -8 "$f" >&2; }; done
    exit 1
}
field() { sed -n "/^bricks: system=$2 /s/.* $3=\([0-9]*\).*/\1/p" "$1"; }

# launch NAME ARGS...: mpirun -np 3 in its own session, in the background; NAME.out / NAME.err.
# Sets LPID (to wait for) and SID (the session: mpirun and every rank, also after mpirun exits;
# Open MPI puts each rank in a process group of its own, so a process group is not enough).
launch() {
    local name=$1
    shift
    rm -f "$TMP/$name.sid"
    setsid -w bash -c 'echo $$ >"$0"; exec "$@"' "$TMP/$name.sid" "$MPIEXEC" -np 3 --oversubscribe \
        "$BIN" --backend dummy --quiet --allow-oversubscribe --system-name s1 --threads 1 -G 1 "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    LPID=$!
    local t
    for t in $(seq 100); do [ -s "$TMP/$name.sid" ] && break; sleep 0.05; done
    SID=$(cat "$TMP/$name.sid" 2>/dev/null) || fail "$name: mpirun did not start"
    SESSIONS+=("$SID")
}
rank_pid() { # RANK: the pid of that rank in session SID (OMPI_COMM_WORLD_RANK in its environment)
    local p
    for p in $(ps -e -o pid=,sid=,comm= | awk -v s="$SID" '$2 == s && $3 == "dlbricks-mpi" {
        print $1 }'); do
        grep -qxz "OMPI_COMM_WORLD_RANK=$1" "/proc/$p/environ" 2>/dev/null && echo "$p"
    done
    return 0
}
wait_ranks() { # until ranks 0, 1, 2 of session SID exist (10 s at most)
    local t
    for t in $(seq 500); do
        [ -n "$(rank_pid 0)" ] && [ -n "$(rank_pid 1)" ] && [ -n "$(rank_pid 2)" ] && return 0
        kill -0 "$LPID" 2>/dev/null || return 1
        sleep 0.02
    done
    return 1
}
finish() { # SECONDS: wait for mpirun (never longer), then for the session to empty; sets RC
    local t
    for t in $(seq $(($1 * 10))); do kill -0 "$LPID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$LPID" 2>/dev/null; then
        in_session "$SID" | xargs -r kill -9 2>/dev/null || true
        wait "$LPID" 2>/dev/null || true
        reap "$SID"
        return 1
    fi
    set +e
    wait "$LPID"
    RC=$?
    set -e
    reap "$SID"
}

# check FILE.h5 MODE: prints the rows saved (0 if FILE does not exist and MODE is partial).
# Invariants of docs/hdf5.md: schema, one row per brick (ids unique, all of the zoo's), status
# ok, each row's raw samples contiguous and in order (row i: samples[start : start + n]), run
# and settings known; estimates only from a finished run. MODE final: every brick exactly once.
check() {
    $PY - "$1" "$2" "$TMP/ids" <<'PY'
import json, os, sys, h5py
path, mode, ids_file = sys.argv[1:4]
if not os.path.exists(path):
    assert mode == "partial", "no file"
    print(0)
    sys.exit(0)
ids = {int(x, 16) for x in open(ids_file).read().split()}
f = h5py.File(path, "r")
assert int(f.attrs["format_version"]) >= 2  # the exact version: test_store.sh
schema = json.loads(f.attrs["schema"])
if "/systems/s1" not in f:  # the first save of a run is made before any brick is timed
    assert mode == "partial"
    print(0)
    sys.exit(0)
g = f["/systems/s1"]
b = g["bricks"][()]
assert list(b.dtype.names) == [c["name"] for c in schema["tables"]["bricks"]]
samples = g["samples"][()]
got = [int(i) for i in b["id"]]
assert len(got) == len(set(got)), "a brick saved twice"
assert set(got) <= ids, "a brick that is not in the zoo"
start = 0
for r in b:
    assert r["status"] == b"ok", r
    assert r["run_id"].decode() in f["/runs"], r["run_id"]
    assert r["settings"].decode() == g.attrs["settings"], r["settings"]
    assert r["threads"] == 1 and r["oversubscribed"] == 1 and 0 <= r["rank"] < 3, r
    assert r["remeasured"] == 0 and r["unstable"] == 0 and r["finished"] > 0, r
    assert 0 < r["n_samples"] <= r["reps"] and r["sample_start"] == start, r
    s = samples[start:start + r["n_samples"]]
    assert len(s) == r["n_samples"] and all(x == r["median_ms"] for x in s), r  # the dummy's
    assert r["ci_low_ms"] <= r["median_ms"] <= r["ci_high_ms"], r
    start += int(r["n_samples"])
assert start == len(samples), (start, len(samples))
est = g["estimates"][()]
assert len(est) == 0 or (len(est) == 4 and len(b) == len(ids)), (len(est), len(b))
if mode == "final":
    assert set(got) == ids and len(est) == 4, (len(got), len(ids), len(est))
    assert not os.path.exists(path + ".lock"), "lock file left by a finished run"
print(len(b))
PY
}

"$BIN" --dry-run -G 1 --csv "$TINY" 2>/dev/null | tail -n +2 | cut -d, -f4 | grep . | sort -u >"$TMP/ids"
unique=$(wc -l <"$TMP/ids")
[ "$unique" -gt 10 ] || fail "dry run: $unique unique bricks"

# ---- kill -9 of rank 0 or a worker, at a moment drawn from the seed -------------------------
# seed % 3 == 0: "early", 0-150 ms after the ranks started (MPI start-up; rank 0 makes the file
# ~0.5 s later): before the first save.  Otherwise "during": 0.8-2.8 s into a ~4 s run.  Odd
# seeds kill a worker (rank 1 or 2), even seeds rank 0.
early_before_file=0 mid=0
for seed in $SEEDS; do
    read -r mode victim delay < <(awk -v s="$seed" 'BEGIN { srand(s); r = rand()
        mode = s % 3 == 0 ? "early" : "during"
        victim = s % 2 == 0 ? 0 : 1 + int(rand() * 2)
        printf "%s %d %.3f\n", mode, victim, mode == "early" ? r * 0.15 : 0.8 + r * 2.0 }')
    f="$TMP/f$seed.h5"
    what="seed $seed: kill -9 of rank $victim, $mode, ${delay}s after start"
    export DLB_DUMMY_SLEEP_MS=200
    launch "k$seed" --checkpoint-s 0.1 -o "$f" "$TINY"
    wait_ranks || { finish 10 || true; fail "$what: the ranks did not start"; }
    sleep "$delay"
    existed=0
    [ -e "$f" ] && existed=1
    pid=$(rank_pid "$victim")
    [ -n "$pid" ] || { finish 10 || true; fail "$what: rank $victim gone before the kill"; }
    kill -9 "$pid"
    finish 30 || fail "$what: mpirun still running 30 s after the kill"
    [ "$RC" -ne 0 ] || fail "$what: mpirun exited 0"
    saved=$(check "$f" partial) || fail "$what: the file is not a complete snapshot"
    [ "$existed" = 1 ] && [ ! -e "$f" ] && fail "$what: the file disappeared"
    # A killed rank 0 leaves FILE.lock behind; its flock died with it, so it does not block.
    [ "$victim" = 0 ] && [ "$existed" = 1 ] && [ ! -e "$f.lock" ] &&
        fail "$what: no stale lock file"
    [ "$mode" = early ] && [ "$existed" = 0 ] && early_before_file=$((early_before_file + 1))
    [ "$saved" -gt 0 ] && [ "$saved" -lt "$unique" ] && mid=$((mid + 1))
    # The same command with --resume (shorter sleeps): a missing file starts afresh.
    export DLB_DUMMY_SLEEP_MS=10
    launch "r$seed" --checkpoint-s 0.1 -o "$f" --resume "$TINY"
    finish 60 || fail "$what: the --resume run hangs"
    [ "$RC" -eq 0 ] || fail "$what: --resume exited $RC"
    line=$(grep '^bricks:' "$TMP/r$seed.out") || fail "$what: no bricks: line after --resume"
    [ "$(field "$TMP/r$seed.out" s1 reused)" = "$saved" ] &&
        [ "$(field "$TMP/r$seed.out" s1 timed)" = $((unique - saved)) ] ||
        fail "$what: $saved rows saved, but resume says: $line"
    total=$(check "$f" final) || fail "$what: the final file"
    [ "$total" = "$unique" ] || fail "$what: $total rows in the final file, $unique bricks"
    echo "$what: file before kill=$existed, rows saved $saved of $unique; resume: $line"
    N=$((N + 7))
done
[ "$early_before_file" -gt 0 ] || fail "no kill came before the first save (early seeds: 3, 6, ...)"
[ "$mid" -gt 0 ] || fail "no kill came in the middle of a run (some rows saved, not all)"
N=$((N + 2))

# ---- SIGTERM of rank 0 under mpirun: no new work, results so far saved, exit non-zero ---------
# A long checkpoint interval: the file's first save has no brick, so rows come from the
# interrupt's save.
export DLB_DUMMY_SLEEP_MS=200
f="$TMP/t.h5"
launch term --checkpoint-s 1000 -o "$f" "$TINY"
wait_ranks || { finish 10 || true; fail "SIGTERM: the ranks did not start"; }
sleep 1.5
pid=$(rank_pid 0)
[ -n "$pid" ] || { finish 10 || true; fail "SIGTERM: rank 0 gone before the signal"; }
kill -TERM "$pid"
finish 30 || fail "SIGTERM: mpirun still running 30 s after SIGTERM of rank 0"
[ "$RC" -ne 0 ] || fail "SIGTERM of rank 0: mpirun exited 0"
grep -q "interrupted" "$TMP/term.err" || fail "SIGTERM: rank 0 did not say it was interrupted"
saved=$(check "$f" partial) || fail "SIGTERM: the file is not a complete snapshot"
[ "$saved" -gt 0 ] && [ "$saved" -lt "$unique" ] || fail "SIGTERM: $saved of $unique rows saved"
[ ! -e "$f.lock" ] || fail "SIGTERM: rank 0 left its lock file"
export DLB_DUMMY_SLEEP_MS=10
launch term2 --checkpoint-s 0.1 -o "$f" --resume "$TINY"
finish 60 || fail "SIGTERM: the --resume run hangs"
[ "$RC" -eq 0 ] || fail "SIGTERM: --resume exited $RC"
[ "$(field "$TMP/term2.out" s1 reused)" = "$saved" ] &&
    [ "$(field "$TMP/term2.out" s1 timed)" = $((unique - saved)) ] ||
    fail "SIGTERM: $saved rows saved, but resume says: $(grep '^bricks:' "$TMP/term2.out")"
[ "$(check "$f" final)" = "$unique" ] || fail "SIGTERM: the final file"
echo "SIGTERM of rank 0: rows saved $saved of $unique"
N=$((N + 7))
echo "PASS: $N checks"
