#!/usr/bin/env bash
# test_store.sh — the HDF5 results file of the main job (dummy backend): layout and composition,
# refusal to overwrite, --resume (nothing re-timed, only new bricks timed), kill -9 mid-run,
# SIGTERM, and the same under mpirun with a killed worker.
# Usage: tests/cli/test_store.sh BINARY SOURCE_DIR MPIEXEC
set -euo pipefail
BIN=$(realpath "$1")
SRC=$(realpath "$2")
MPIEXEC=$3
TINY="$SRC/zoo/tiny"
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-store-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
N=0
fail() {
    echo "FAIL: $1" >&2
    [ -n "${2:-}" ] && echo "  command: $2" >&2
    for f in "$TMP"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
    exit 1
}
field() { sed -n "/^bricks: system=$2 /s/.* $3=\([0-9]*\).*/\1/p" "$1"; }
D="$BIN --backend dummy --quiet --system-name s1 --threads 1 -G 1" # -G 1: 38 bricks, the kill windows below

# ---- a fresh file: layout, schema, one row per brick, composition by hand -------------------
$D -o "$TMP/r.h5" "$TINY" >"$TMP/a.out" 2>"$TMP/a.err" || fail "first run" "$D -o r.h5"
unique=$(field "$TMP/a.out" s1 unique)
[ "$(field "$TMP/a.out" s1 timed)" = "$unique" ] && [ "$unique" -gt 0 ] || fail "not all timed"
! ls "$TMP" | grep -q '\.tmp' || fail "temporary file left behind"
h5dump -H "$TMP/r.h5" >/dev/null || fail "h5dump cannot read the file"
h5ls -r "$TMP/r.h5" | grep -q '^/systems/s1/bricks ' || fail "h5ls: no /systems/s1/bricks"
N=$((N + 4))
$PY - "$TMP/r.h5" "$unique" "$TMP/a.out" <<'PY' || fail "layout or composition"
import json, math, sys, h5py
f = h5py.File(sys.argv[1], "r")
assert int(f.attrs["format_version"]) == 4
schema = json.loads(f.attrs["schema"])
b = f["/systems/s1/bricks"][()]
assert list(b.dtype.names) == [c["name"] for c in schema["tables"]["bricks"]]
assert len(b) == int(sys.argv[2]) == len(set(b["id"]))
samples = f["/systems/s1/samples"][()]
for row in b:  # the dummy backend's samples all equal the brick's median
    s = samples[row["sample_start"]:row["sample_start"] + row["n_samples"]]
    assert row["n_samples"] > 0 and all(abs(x - row["median_ms"]) < 1e-12 for x in s)
    assert row["status"] == b"ok" and row["run_id"].decode() in f["/runs"]
med = {int(r["id"]): float(r["median_ms"]) for r in b}
# Estimate = sum over the model's bricks of count x median, computed here by hand.
est = {(r["model"].decode(), int(r["batch"])): r for r in f["/systems/s1/estimates"][()]}
assert len(est) == len(f["/models"]) == 4, (len(est), list(f["/models"]))
for name in f["/models"]:
    for bgrp in f["/models"][name]:
        g = f["/models"][name][bgrp]
        want = sum(int(r["count"]) * med[int(r["brick_id"])] for r in g["bricks"][()])
        e = est[(g.attrs["name"] if "name" in g.attrs else name, int(bgrp[1:]))]
        assert abs(e["estimate_ms"] - want) <= 1e-9 * max(1, want), (name, e["estimate_ms"], want)
        assert e["critical_path_ms"] <= e["estimate_ms"] + 1e-12
        layers = g["layers"][()]
        assert sum(int(r["count"]) for r in g["bricks"][()]) == sum(layers["piece_start"] == 1)
        assert math.isnan(e["measured_median_ms"])
run = f["/runs"][list(f["/runs"])[0]]
for a in ("command_line", "start_time", "end_time", "versions", "hosts", "ranks", "settings"):
    assert a in run.attrs, a
assert "--system-name s1" in run.attrs["command_line"]
PY
N=$((N + 1))

# ---- unstable medians are measured again (DLB_DUMMY_UNSTABLE makes some bricks look unstable) --
pre=$($PY -c "import h5py,sys; print('%016x' % h5py.File(sys.argv[1],'r')['/systems/s1/bricks'][0]['id'])" "$TMP/r.h5" | cut -c1-2)
DLB_DUMMY_UNSTABLE=$pre $D -o "$TMP/u.h5" "$TINY" >"$TMP/u.out" 2>"$TMP/u.err" || fail "unstable run"
$PY - "$TMP/u.h5" "$pre" <<'PY' || fail "re-measurement not recorded"
import sys, h5py
b = h5py.File(sys.argv[1], "r")["/systems/s1/bricks"][()]
hit = [r for r in b if ("%016x" % r["id"]).startswith(sys.argv[2])]
assert hit and all(r["remeasured"] == 1 and r["unstable"] == 0 for r in hit)
assert all(r["remeasured"] == 0 for r in b if not ("%016x" % r["id"]).startswith(sys.argv[2]))
PY
N=$((N + 1))

# ---- never overwrite; --force replaces -----------------------------------------------------
sum1=$(md5sum <"$TMP/r.h5")
set +e
$D -o "$TMP/r.h5" "$TINY" >"$TMP/b.out" 2>"$TMP/b.err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "never overwritten" "$TMP/b.err" || fail "existing file not refused"
[ "$(md5sum <"$TMP/r.h5")" = "$sum1" ] || fail "refused run changed the file"
cp "$TMP/r.h5" "$TMP/f.h5"
$D -o "$TMP/f.h5" --force "$TINY" >"$TMP/f.out" 2>"$TMP/f.err" || fail "--force"
grep -q "replacing" "$TMP/f.err" || fail "--force did not say it replaces the file"
N=$((N + 3))

# ---- --resume: nothing timed again; a new model times only its new bricks ------------------
$D -o "$TMP/r.h5" --resume "$TINY" >"$TMP/c.out" 2>"$TMP/c.err" || fail "--resume"
[ "$(field "$TMP/c.out" s1 timed)" = 0 ] && [ "$(field "$TMP/c.out" s1 reused)" = "$unique" ] ||
    fail "resume re-timed bricks: $(grep '^bricks:' "$TMP/c.out")"
diff <(grep -Ev '^(bricks|timing):' "$TMP/a.out") <(grep -Ev '^(bricks|timing):' "$TMP/c.out") ||
    fail "estimates changed on resume"
mkdir -p "$TMP/zoo2"
cp "$TINY"/*.onnx "$TMP/zoo2/"
cp "$SRC/zoo/squeezenet1_0.onnx" "$TMP/zoo2/"
$BIN --dry-run -G 1 --csv "$TMP/zoo2" 2>/dev/null | tail -n +2 | cut -d, -f4 | grep . | sort -u >"$TMP/all.ids"
$BIN --dry-run -G 1 --csv "$TINY" 2>/dev/null | tail -n +2 | cut -d, -f4 | grep . | sort -u >"$TMP/old.ids"
new=$(comm -23 "$TMP/all.ids" "$TMP/old.ids" | wc -l)
$D -o "$TMP/r.h5" --resume "$TMP/zoo2" >"$TMP/d.out" 2>"$TMP/d.err" || fail "resume with a new model"
[ "$(field "$TMP/d.out" s1 timed)" = "$new" ] && [ "$new" -gt 0 ] ||
    fail "new model: expected $new bricks timed: $(grep '^bricks:' "$TMP/d.out")"
[ "$(field "$TMP/d.out" s1 reused)" = "$unique" ] || fail "new model: old bricks not reused"
# Other settings are another cache entry: nothing reused.
$D -o "$TMP/r.h5" --resume --min-reps 3 "$TINY" >"$TMP/e.out" 2>"$TMP/e.err" || fail "other settings"
[ "$(field "$TMP/e.out" s1 reused)" = 0 ] || fail "bricks reused across timing settings"
N=$((N + 5))
# Subnormals kept (--denormals keep) are another cache entry; flushed, the default, is unsaid
# in the settings string, so files from before the flush stay resumable (docs/timing.md).
$D -o "$TMP/r.h5" --resume --denormals keep "$TINY" >"$TMP/k.out" 2>"$TMP/k.err" || fail "--denormals keep"
[ "$(field "$TMP/k.out" s1 reused)" = 0 ] && [ "$(field "$TMP/k.out" s1 timed)" = "$unique" ] ||
    fail "--denormals keep reused flushed bricks: $(grep '^bricks:' "$TMP/k.out")"
$D -o "$TMP/r.h5" --resume --denormals flush "$TINY" >"$TMP/f.out" 2>"$TMP/f.err" || fail "--denormals flush"
[ "$(field "$TMP/f.out" s1 timed)" = 0 ] || fail "--denormals flush is not the default"
$PY - "$TMP/r.h5" <<'PY' || fail "--denormals: settings strings"
import sys, h5py
b = h5py.File(sys.argv[1], "r")["/systems/s1/bricks"][()]
keep = [s for s in b["settings"] if b" denormals=keep " in s]
assert keep and len(keep) < len(b), (len(keep), len(b))
assert not any(b"denormals=flush" in s for s in b["settings"])
PY
$D --denormals none "$TINY" >"$TMP/dn.out" 2>"$TMP/dn.err" && fail "--denormals none accepted"
grep -q "^error: --denormals: invalid value 'none' (flush or keep)" "$TMP/dn.err" || fail "--denormals none: message"
N=$((N + 5))

# ---- the executor's revision is part of the resume key --------------------------------------
# Every row says exec=N (N of --version); rows of another revision (or none: files from before
# it was recorded) are timed again, not reused.
erev=$($BIN --version | sed -n 's/^executor: revision \([0-9][0-9]*\)$/\1/p')
[ -n "$erev" ] || fail "--version names no executor revision"
cp "$TMP/r.h5" "$TMP/x.h5"
$PY - "$TMP/x.h5" "$erev" <<'PY' || fail "exec=: settings strings"
import sys, h5py
f = h5py.File(sys.argv[1], "r+")
d = f["/systems/s1/bricks"]
b = d[()]
tag = b" exec=%s" % sys.argv[2].encode()
assert all(s.endswith(tag) for s in b["settings"]), set(b["settings"])
b["settings"] = [s.replace(tag, b" exec=0") if i % 2 else s.replace(tag, b"") for i, s in enumerate(b["settings"])]
d[...] = b
PY
$D -o "$TMP/x.h5" --resume "$TINY" >"$TMP/x.out" 2>"$TMP/x.err" || fail "resume after an executor revision"
[ "$(field "$TMP/x.out" s1 reused)" = 0 ] && [ "$(field "$TMP/x.out" s1 timed)" = "$unique" ] ||
    fail "bricks of another executor revision reused: $(grep '^bricks:' "$TMP/x.out")"
$D -o "$TMP/x.h5" --resume "$TINY" >"$TMP/x2.out" 2>"$TMP/x2.err" || fail "second resume"
[ "$(field "$TMP/x2.out" s1 timed)" = 0 ] || fail "second resume re-timed: $(grep '^bricks:' "$TMP/x2.out")"
N=$((N + 4))

# ---- the oneDNN backend: where rank time goes (timing loops, brick set-up, the rest) ----------
$BIN --quiet --threads 1 --min-time-ms 30 --min-reps 3 -o "$TMP/real.h5" "$TINY/tiny_resnet.onnx" \
    >"$TMP/real.out" 2>"$TMP/real.err" || fail "oneDNN main job"
line=$(grep '^timing: ' "$TMP/real.out")
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] + 0 } }
     END { exit !(v["timing_s"] > 0 && v["setup"] > 0 && v["setup"] <= v["overhead"] + 0.1 &&
                  v["overhead"] < 100 && v["idle"] == 0) }' <<<"$line" ||
    fail "timing line: setup must be a part of the overhead: $line"

# ---- the host probe: timed at the start and the end, stored per rank, one "host:" line ------------
grep -q '^host: system=[^ ]* ranks=1 start_gflops=[0-9.]* end_gflops=[0-9.]* start_stream_gbs=[0-9.]* end_stream_gbs=[0-9.]*$' \
    "$TMP/real.out" || fail "no host: line" "$(grep '^host:' "$TMP/real.out")"
$BIN --quiet --threads 1 --min-time-ms 5 --min-reps 3 --no-host-probe -o "$TMP/noprobe.h5" \
    "$TINY/tiny_resnet.onnx" >"$TMP/noprobe.out" 2>"$TMP/noprobe.err" || fail "--no-host-probe"
! grep -q '^host:' "$TMP/noprobe.out" || fail "--no-host-probe printed a host: line"
printf '[zoo]\npaths = %s\n[timing]\nhost_probe = no\nmin_time_ms = 5\nmin_reps = 3\n[ranks]\nthreads = 1\n' \
    "$TINY/tiny_resnet.onnx" >"$TMP/noprobe.ini"
$BIN --quiet --job "$TMP/noprobe.ini" >"$TMP/noprobejob.out" 2>"$TMP/noprobejob.err" || fail "host_probe = no"
grep -q '^timing:' "$TMP/noprobejob.out" && ! grep -q '^host:' "$TMP/noprobejob.out" ||
    fail "[timing] host_probe = no printed a host: line"
PYTHONPATH="$SRC/analysis" $PY - "$TMP/real.h5" "$TMP/real.out" "$TMP/noprobe.h5" "$TMP/r.h5" <<'PY' ||
import sys, h5py
import dlbricks_results as dr
f = h5py.File(sys.argv[1], "r")
(run,) = list(f["runs"].values())
text = run.attrs["host_probe"]
text = text.decode() if isinstance(text, bytes) else text
rows = [dict(kv.split("=", 1) for kv in line.split()) for line in text.splitlines()]
assert [(r["rank"], r["when"]) for r in rows] == [("0", "start"), ("0", "end")], text
for r in rows:
    assert float(r["gflops"]) > 0 and float(r["stream_gbs"]) > 0, r
    assert int(r["stream_mib"]) >= 48 and float(r["stream_ms"]) > 0, r  # 3 arrays of >= 16 MiB
# the printed line is the one rank's figures; the reader gives the same
line = next(l for l in open(sys.argv[2]) if l.startswith("host:"))
kv = dict(f.split("=", 1) for f in line.split()[1:])
for when in ("start", "end"):
    r = next(r for r in rows if r["when"] == when)
    assert abs(float(kv[when + "_gflops"]) - float(r["gflops"])) < 0.006, (line, r)
    assert abs(float(kv[when + "_stream_gbs"]) - float(r["stream_gbs"])) < 0.006, (line, r)
with dr.open_results(sys.argv[1]) as res:
    s = dr.host_probe_summary(res)
    assert len(s) == 1 and s["ranks"][0] == 1 and s["system"][0] == kv["system"], s
    assert abs(s["end_gflops"][0] - float(rows[1]["gflops"])) < 1e-6, s
# --no-host-probe and the dummy backend store none
for path in sys.argv[3:]:
    with h5py.File(path, "r") as g:
        assert all("host_probe" not in r.attrs for r in g["runs"].values()), path
    with dr.open_results(path) as res:
        assert res.host_probe().empty and dr.host_probe_summary(res).empty, path
PY
    fail "host probe: stored figures"
N=$((N + 5))

# ---- --evict-mib: context eviction before every repetition; its cost counts toward the budget --
SQ="$SRC/zoo/squeezenet1_1.onnx" # 39 MiB per inference: its bricks are not warm
for e in 0 8; do
    $BIN --quiet --threads 1 --min-time-ms 5 --min-reps 3 --evict-mib $e -o "$TMP/ev$e.h5" "$SQ" \
        >"$TMP/ev$e.out" 2>"$TMP/ev$e.err" || fail "--evict-mib $e" "--evict-mib $e $SQ"
done
$BIN --quiet --evict-mib -1 "$SQ" >"$TMP/evbad.out" 2>"$TMP/evbad.err" && fail "--evict-mib -1 accepted"
grep -q "^error: --evict-mib: invalid value '-1'" "$TMP/evbad.err" || fail "--evict-mib -1: message"
$PY - "$TMP/ev0.h5" "$TMP/ev8.h5" <<'PY' || fail "--evict-mib: settings or repetitions"
import sys, h5py
def bricks(path):
    f = h5py.File(path, "r")
    (name,) = list(f["systems"])
    b = f["/systems/%s/bricks" % name][()]
    assert len(b) > 10 and all(s == b"ok" for s in b["status"]), path
    return b
off, on = bricks(sys.argv[1]), bricks(sys.argv[2])
# the setting is part of the resume key only when on (older files stay resumable)
assert all(b"evict=" not in s for s in off["settings"])
assert all(b" evict=8MiB " in s for s in on["settings"]), on["settings"][0]
assert all(r >= 3 for r in on["reps"])
# writing 8 MiB (at least ~80 us anywhere) counts toward the 5 ms: fewer repetitions
assert on["reps"].sum() < off["reps"].sum() / 2, (on["reps"].sum(), off["reps"].sum())
PY
N=$((N + 4))

# ---- --validate: each model timed whole before, between and after groups of its bricks -------
check_validated() { # FILE.h5 SYSTEM ROUNDS [PASSES]: measured and close-in-time estimates for every model
    $PY - "$1" "$2" "$3" "${4:-1}" <<'PY'
import math, sys, h5py
f = h5py.File(sys.argv[1], "r")
rounds, passes = int(sys.argv[3]), int(sys.argv[4])
e = f["/systems/%s/estimates" % sys.argv[2]][()]
assert len(e) == 4
for r in e:
    name = r["model"].decode()
    nb = len(f["/models/%s/b%d/bricks" % (name, r["batch"])][()])
    # --min-time-ms 0 --min-reps 3: every whole-model run is exactly 3 repetitions, and a
    # check runs the model min(R, distinct bricks) + 1 times; --validate-passes P: P checks
    assert r["measured_reps"] == 3 * (min(rounds, nb) + 1) * passes, (name, nb, r["measured_reps"])
    assert r["measured_min_ms"] <= r["measured_median_ms"] <= r["measured_p90_ms"], r
    # the range of the whole-model medians over their median: its arithmetic is checked against
    # the check: lines below; no upper bound, since under --oversubscribe (3 ranks on 2 cores,
    # ASan) a rank descheduled through a whole-model run of a 30 us model makes it 10x as long
    assert math.isfinite(r["noise_floor_pct"]) and r["noise_floor_pct"] >= 0, (name, r)
    # the close estimate is the re-timed bricks at the speed of the measured median (drift-paired;
    # its arithmetic is checked with the check: lines below). With one group there is nothing to
    # pair, and the dummy backend is deterministic: re-timed bricks give the main estimate exactly
    assert r["close_estimate_ms"] > 0, r
    if min(rounds, nb) == 1 and passes == 1:
        assert abs(r["close_estimate_ms"] - r["estimate_ms"]) <= 1e-12 * r["estimate_ms"], r
    want = (r["close_estimate_ms"] - r["measured_median_ms"]) / r["measured_median_ms"] * 100
    main = (r["estimate_ms"] - r["measured_median_ms"]) / r["measured_median_ms"] * 100
    assert abs(r["error_pct"] - want) < 1e-9 and abs(r["main_error_pct"] - main) < 1e-9, r
PY
}
V="--validate --min-time-ms 0 --min-reps 3"
$D -o "$TMP/v.h5" $V "$TINY" >"$TMP/v.out" 2>"$TMP/v.err" || fail "--validate"
check_validated "$TMP/v.h5" s1 4 || fail "--validate: estimates table"
# the final save compresses every dataset (checkpoints of a running job do not)
$PY -c "
import h5py, sys
f = h5py.File(sys.argv[1], 'r')
for n in ('bricks', 'samples', 'estimates'):
    assert f['/systems/s1/' + n].compression == 'gzip', n
" "$TMP/v.h5" || fail "final save: datasets not compressed"
grep -Eq '^accuracy: system=s1 models=4 within5=[0-9.]+ within10=[0-9.]+ geomean=[0-9.]+$' "$TMP/v.out" &&
    grep -Eq '^speedup: system=s1 latency_sum=[0-9.]+ wall=[0-9.]+$' "$TMP/v.out" &&
    grep -Eq '^noise: system=s1 ' "$TMP/v.out" || fail "--validate: report lines"
for r in 1 64; do
    $D -o "$TMP/v$r.h5" $V --validate-rounds $r "$TINY" >"$TMP/v$r.out" 2>"$TMP/v$r.err" ||
        fail "--validate-rounds $r"
    check_validated "$TMP/v$r.h5" s1 $r || fail "--validate-rounds $r: estimates table"
done
# --verbose: one check: line per validated model, the whole-model medians in the order they were
# timed and each group's bricks summed. The dummy backend is deterministic, so the groups add up to
# the main estimate; the stored close estimate is each group at the speed of the measured median,
# by the two whole-model runs around it: sum_g E_g * median(W) / ((W_g + W_g+1) / 2)
$D -o "$TMP/vv.h5" $V --verbose "$TINY" >"$TMP/vv.out" 2>"$TMP/vv.err" || fail "--validate --verbose"
$PY - "$TMP/vv.h5" "$TMP/vv.out" <<'PY' || fail "--verbose: check: lines"
import statistics, sys, h5py
f = h5py.File(sys.argv[1], "r")
rows = {r["model"].decode(): r for r in f["/systems/s1/estimates"][()]}
lines = [l.split() for l in open(sys.argv[2]) if l.startswith("check: ")]
assert len(lines) == len(rows) == 4, (len(lines), len(rows))
for l in lines:
    kv = dict(x.split("=", 1) for x in l[1:])
    assert kv["system"] == "s1" and kv["batch"] == "1", kv
    r = rows[kv["model"]]
    nb = len(f["/models/%s/b1/bricks" % kv["model"]][()])
    wholes = [float(x) for x in kv["wholes"].split(",")]
    groups = [float(x) for x in kv["groups"].split(",")]
    assert len(groups) == min(4, nb) and len(wholes) == len(groups) + 1, (kv, nb)
    med = statistics.median(wholes)
    assert abs(med - r["measured_median_ms"]) <= 1e-6 * med, (med, r)
    assert abs(sum(groups) - r["estimate_ms"]) <= 1e-6 * r["estimate_ms"], (groups, r)
    close = sum(e * med / ((wholes[g] + wholes[g + 1]) / 2) for g, e in enumerate(groups))
    assert abs(close - r["close_estimate_ms"]) <= 1e-6 * close, (close, wholes, groups, r)
PY
grep -q "^check: " "$TMP/v.out" && fail "check: lines without --verbose"
for r in 0 65 x; do
    ! $D -o "$TMP/vbad.h5" $V --validate-rounds $r "$TINY" >/dev/null 2>"$TMP/vbad.err" &&
        grep -q "^error: --validate-rounds: invalid value '$r' (1 to 64)" "$TMP/vbad.err" ||
        fail "--validate-rounds $r accepted"
    p=$([ "$r" = 65 ] && echo 17 || echo "$r")
    ! $D -o "$TMP/vbad.h5" $V --validate-passes $p "$TINY" >/dev/null 2>"$TMP/vbad.err" &&
        grep -q "^error: --validate-passes: invalid value '$p' (1 to 16)" "$TMP/vbad.err" ||
        fail "--validate-passes $p accepted"
done
# --validate-passes 3: every model checked three times, one pass over the models after another
# (in the order the passes were handed out, so pass=1 lines come from the first pass); measured =
# the median of all the checks' whole-model medians, estimate = measured x the geometric mean of
# the checks' paired ratios sum_g E_g / ((W_g + W_g+1) / 2)
$D -o "$TMP/vp3.h5" $V --verbose --validate-passes 3 "$TINY" >"$TMP/vp3.out" 2>"$TMP/vp3.err" ||
    fail "--validate-passes 3"
check_validated "$TMP/vp3.h5" s1 4 3 || fail "--validate-passes 3: estimates table"
$PY - "$TMP/vp3.h5" "$TMP/vp3.out" <<'PY' || fail "--validate-passes 3: combined checks"
import math, statistics, sys, h5py
f = h5py.File(sys.argv[1], "r")
rows = {r["model"].decode(): r for r in f["/systems/s1/estimates"][()]}
checks = {}
for l in open(sys.argv[2]):
    if l.startswith("check: "):
        kv = dict(x.split("=", 1) for x in l.split()[1:])
        checks.setdefault(kv["model"], []).append(kv)
assert sorted(checks) == sorted(rows) and len(rows) == 4, (sorted(checks), sorted(rows))
for name, cs in checks.items():
    assert [c["pass"] for c in cs] == ["1", "2", "3"], cs
    wholes = [[float(x) for x in c["wholes"].split(",")] for c in cs]
    groups = [[float(x) for x in c["groups"].split(",")] for c in cs]
    med = statistics.median([w for ws in wholes for w in ws])
    ratios = [sum(e / ((w[g] + w[g + 1]) / 2) for g, e in enumerate(gs)) for w, gs in zip(wholes, groups)]
    close = med * math.exp(sum(math.log(x) for x in ratios) / 3)
    r = rows[name]
    assert abs(med - r["measured_median_ms"]) <= 1e-6 * med, (name, med, r)
    assert abs(close - r["close_estimate_ms"]) <= 1e-6 * close, (name, close, r)
    spread = (max(map(max, wholes)) - min(map(min, wholes))) / med * 100
    assert abs(spread - r["noise_floor_pct"]) <= 1e-4 * max(spread, 1), (name, spread, r)
PY
grep -Eq '^accuracy: system=s1 models=4 ' "$TMP/vp3.out" || fail "--validate-passes 3: accuracy line"
# progress lines: once every brick is timed, the ETA still counts the checks to come
DLB_DUMMY_SLEEP_MS=100 $BIN --backend dummy --system-name s1 --threads 1 $V --progress-s 0 \
    -o "$TMP/vp.h5" "$TINY" >"$TMP/vp.out" 2>"$TMP/vp.err" || fail "--progress-s 0"
awk '/^progress: bricks / { last = $0; split($3, b, "/"); split($5, m, "/"); sub("eta_s=", "", $7)
         if (b[1] == b[2] && m[1] < m[2]) { n++; if ($7 + 0 <= 0) bad++ } }
     END { exit !(n > 0 && !bad && last ~ / models 4\/4 .* eta_s=0$/) }' "$TMP/vp.err" ||
    fail "progress: no ETA for the checks left ($(grep -c '^progress:' "$TMP/vp.err") lines)"
! $D --progress-s -1 "$TINY" >/dev/null 2>"$TMP/vpbad.err" &&
    grep -q "^error: --progress-s: invalid value '-1' (0 to 86400)" "$TMP/vpbad.err" ||
    fail "--progress-s -1 accepted"
cmd="$MPIEXEC -np 3 --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --system-name s2 --threads 1 $V --validate-rounds 3 -o $TMP/vm.h5 $TINY"
$cmd >"$TMP/vm.out" 2>"$TMP/vm.err" || fail "--validate under MPI" "$cmd"
check_validated "$TMP/vm.h5" s2 3 || fail "--validate under MPI: estimates table" "$cmd"
# idle is a share of the brick pass: waits for checks after it are not counted (was 832 %)
line=$(grep '^timing: ' "$TMP/vm.out")
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] + 0 } }
     END { exit !("idle" in v && v["idle"] >= 0 && v["idle"] <= 100) }' <<<"$line" ||
    fail "--validate under MPI: idle share beyond the brick pass: $line" "$cmd"
cmd="$MPIEXEC -np 3 --oversubscribe $BIN --backend dummy --allow-oversubscribe --system-name s2 --threads 1 $V --validate-passes 2 --progress-s 0 -o $TMP/vm2.h5 $TINY"
$cmd >"$TMP/vm2.out" 2>"$TMP/vm2.err" || fail "--validate-passes under MPI" "$cmd"
check_validated "$TMP/vm2.h5" s2 4 2 || fail "--validate-passes under MPI: estimates table" "$cmd"
grep -q '^progress: .* checks 8/8 .*eta_s=0$' "$TMP/vm2.err" ||
    fail "--validate-passes under MPI: progress does not end at checks 8/8" "$cmd"
# --validate-recheck N: after the P passes a model is checked again, up to N times, while the
# standard error of its checks' log ratios is above --validate-se S %; the estimate combines all of
# its checks as above.  The rule is recomputed here from the check: lines (the K-th line of a model
# is its K-th check): every check after the P-th was called for by the ones before it, and a model
# with fewer than P + N checks stopped because its checks agree.
check_rechecked() { # FILE.h5 OUT SYSTEM ROUNDS P N S
    $PY - "$@" <<'PY'
import math, statistics, sys, h5py
path, out, system = sys.argv[1:4]
R, P, N, S = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
f = h5py.File(path, "r")
rows = {r["model"].decode(): r for r in f["/systems/%s/estimates" % system][()]}
checks = {}
for l in open(out):
    if l.startswith("check: "):
        kv = dict(x.split("=", 1) for x in l.split()[1:])
        checks.setdefault(kv["model"], []).append(kv)
assert sorted(checks) == sorted(rows) and len(rows) == 4, (sorted(checks), sorted(rows))
def se(v):
    return 100 * statistics.stdev([math.log(x) for x in v]) / math.sqrt(len(v))
extra = 0
for name, cs in checks.items():
    n = len(cs)
    assert P <= n <= P + N and [c["pass"] for c in cs] == [str(k + 1) for k in range(n)], (name, cs)
    wholes = [[float(x) for x in c["wholes"].split(",")] for c in cs]
    groups = [[float(x) for x in c["groups"].split(",")] for c in cs]
    ratios = [sum(e / ((w[g] + w[g + 1]) / 2) for g, e in enumerate(gs)) for w, gs in zip(wholes, groups)]
    for k in range(P, n):  # each recheck was called for (1e-6: the lines print 9 digits)
        assert se(ratios[:k]) > S - 1e-6, (name, k, ratios)
    if n < P + N:
        assert se(ratios) <= S + 1e-6, (name, n, ratios)
    extra += n - P
    r = rows[name]
    nb = len(f["/models/%s/b%d/bricks" % (name, r["batch"])][()])
    assert r["measured_reps"] == 3 * (min(R, nb) + 1) * n, (name, nb, n, r["measured_reps"])
    med = statistics.median([w for ws in wholes for w in ws])
    close = med * math.exp(sum(math.log(x) for x in ratios) / n)
    assert abs(med - r["measured_median_ms"]) <= 1e-6 * med, (name, med, r)
    assert abs(close - r["close_estimate_ms"]) <= 1e-6 * close, (name, close, r)
print(extra)
PY
}
$BIN --backend dummy --system-name s1 --threads 1 -G 1 -o "$TMP/vr.h5" $V --verbose --validate-passes 2 --validate-recheck 3 --validate-se 0 \
    --progress-s 0 "$TINY" >"$TMP/vr.out" 2>"$TMP/vr.err" || fail "--validate-recheck 3"
extra=$(check_rechecked "$TMP/vr.h5" "$TMP/vr.out" s1 4 2 3 0) || fail "--validate-recheck 3: rule"
# --validate-se 0: any disagreement calls for a recheck, and real whole-model runs always disagree
[ "$extra" -gt 0 ] || fail "--validate-recheck 3 --validate-se 0: no model was checked again"
grep -q "^progress: .* checks $((8 + extra))/$((8 + extra)) .*eta_s=0$" "$TMP/vr.err" ||
    fail "--validate-recheck: progress does not end at checks $((8 + extra))/$((8 + extra))"
cmd="$MPIEXEC -np 3 --oversubscribe $BIN --backend dummy --allow-oversubscribe --system-name s2 --threads 1 $V --verbose --validate-passes 2 --validate-recheck 2 --validate-se 1 -o $TMP/vmr.h5 $TINY"
$cmd >"$TMP/vmr.out" 2>"$TMP/vmr.err" || fail "--validate-recheck under MPI" "$cmd"
check_rechecked "$TMP/vmr.h5" "$TMP/vmr.out" s2 4 2 2 1 >/dev/null ||
    fail "--validate-recheck under MPI: rule" "$cmd"
for bad in "--validate-recheck 16" "--validate-recheck -1" "--validate-se 101" "--validate-se x"; do
    ! $D -o "$TMP/vbad.h5" $V $bad "$TINY" >/dev/null 2>"$TMP/vbad.err" &&
        grep -q "^error: ${bad% *}: invalid value '${bad#* }'" "$TMP/vbad.err" || fail "$bad accepted"
done
! $D -o "$TMP/vbad.h5" $V --validate-passes 10 --validate-recheck 7 "$TINY" >/dev/null 2>"$TMP/vbad.err" &&
    grep -q "^error: --validate-passes 10 plus --validate-recheck 7: more than 16 checks" "$TMP/vbad.err" ||
    fail "--validate-passes 10 --validate-recheck 7 accepted"
N=$((N + 37))

# ---- kill -9 mid-run: the file opens and holds what was saved; --resume finishes ------------
export DLB_DUMMY_SLEEP_MS=40
DLB_DUMMY_SLEEP_MS=100 $D -o "$TMP/k.h5" --checkpoint-s 0.1 "$TINY" >"$TMP/k.out" 2>"$TMP/k.err" &
pid=$!
# Kill once a checkpoint holds a brick, not after a fixed sleep: a loaded sanitizer build had
# saved none after 1.2 s.  Checkpoints are renamed into place, so reading k.h5 meanwhile is safe.
$PY - "$TMP/k.h5" <<'PY' || { kill -9 "$pid"; fail "kill -9: no checkpoint with a brick within 60 s"; }
import sys, time, h5py
t0 = time.monotonic()
while time.monotonic() - t0 < 60:
    try:
        with h5py.File(sys.argv[1], "r") as f:
            if len(f["/systems/s1/bricks"]) > 0:
                sys.exit(0)
    except (OSError, KeyError):
        pass
    time.sleep(0.02)
sys.exit(1)
PY
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
saved=$($PY -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['/systems/s1/bricks']))" "$TMP/k.h5") ||
    fail "file unreadable after kill -9"
[ "$saved" -gt 0 ] && [ "$saved" -lt "$unique" ] || fail "kill -9: $saved of $unique saved (want some, not all)"
$D -o "$TMP/k.h5" --resume "$TINY" >"$TMP/k2.out" 2>"$TMP/k2.err" || fail "resume after kill -9"
[ "$(field "$TMP/k2.out" s1 reused)" = "$saved" ] &&
    [ "$(field "$TMP/k2.out" s1 timed)" = $((unique - saved)) ] || fail "resume after kill: $(grep '^bricks:' "$TMP/k2.out")"
N=$((N + 3))

# ---- SIGTERM: save, exit non-zero ------------------------------------------------------------
$D -o "$TMP/t.h5" --checkpoint-s 1000 "$TINY" >"$TMP/t.out" 2>"$TMP/t.err" &
pid=$!
sleep 1
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q "interrupted" "$TMP/t.err" || fail "SIGTERM: exit $rc"
saved=$($PY -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['/systems/s1/bricks']))" "$TMP/t.h5")
[ "$saved" -gt 0 ] || fail "SIGTERM: nothing saved although the checkpoint interval is long"
N=$((N + 2))

# ---- SIGTERM during --validate: every check finished so far is in the file ------------------
# r.h5 holds every brick (same settings) and no measured rows; each check re-times its bricks
# (300 ms each here), so the run is still checking when the first validated row appears.
cp "$TMP/r.h5" "$TMP/vt.h5"
DLB_DUMMY_SLEEP_MS=300 $D -o "$TMP/vt.h5" --resume --validate --checkpoint-s 0.01 "$TINY" \
    >"$TMP/vt.out" 2>"$TMP/vt.err" &
pid=$!
validated_rows() { # FILE.h5 [WAIT_S]: validated estimate rows (waits up to WAIT_S for one)
    $PY - "$1" "${2:-0}" <<'PY'
import sys, time, h5py
deadline = time.time() + float(sys.argv[2])
while True:
    try:
        with h5py.File(sys.argv[1], "r") as f:
            e = f["/systems/s1/estimates"][()]
            n = int(sum(1 for r in e if r["measured_reps"] > 0 and r["error_pct"] == r["error_pct"]))
    except (OSError, KeyError):
        n = 0
    if n > 0 or time.time() >= deadline:
        print(n)
        break
    time.sleep(0.05)
PY
}
seen=$(validated_rows "$TMP/vt.h5" 60)
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
kept=$(validated_rows "$TMP/vt.h5")
[ "$seen" -gt 0 ] || fail "--validate: no check stored while the run went on"
[ "$rc" -ne 0 ] && grep -q "interrupted" "$TMP/vt.err" || fail "SIGTERM during --validate: exit $rc"
[ "$kept" -ge "$seen" ] && [ "$kept" -lt 4 ] || fail "SIGTERM during --validate: $kept rows kept, $seen seen"
N=$((N + 3))

# ---- under mpirun: kill -9 of a worker; the file holds every flushed brick; resume finishes --
export DLB_DUMMY_SLEEP_MS=250
cmd="$MPIEXEC -np 3 --oversubscribe $BIN --backend dummy --quiet --allow-oversubscribe --system-name s1 --threads 1 -G 1 --checkpoint-s 0.1 -o $TMP/m.h5 $TINY"
$cmd >"$TMP/m.out" 2>"$TMP/m.err" &
mpid=$!
sleep 2.5
victim=$(pgrep -f -- "--checkpoint-s 0.1 -o $TMP/m.h5" | while read -r p; do
    [ "$(ps -o comm= -p "$p")" = dlbricks-mpi ] && echo "$p"; done | sort -n | tail -1)
[ -n "$victim" ] && kill -9 "$victim"
wait "$mpid" 2>/dev/null || true
saved=$($PY -c "import h5py,sys; print(len(h5py.File(sys.argv[1],'r')['/systems/s1/bricks']))" "$TMP/m.h5") ||
    fail "MPI: file unreadable after a worker was killed"
[ "$saved" -lt "$unique" ] || fail "MPI: the worker was killed too late ($saved saved)"
$cmd --resume >"$TMP/m2.out" 2>"$TMP/m2.err" || fail "MPI resume" "$cmd --resume"
[ "$(field "$TMP/m2.out" s1 reused)" = "$saved" ] &&
    [ "$(field "$TMP/m2.out" s1 timed)" = $((unique - saved)) ] || fail "MPI resume: $(grep '^bricks:' "$TMP/m2.out")"
N=$((N + 3))
echo "PASS: $N checks"
