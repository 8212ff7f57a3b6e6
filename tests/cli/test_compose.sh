#!/usr/bin/env bash
# test_compose.sh — decomposition-only files (--dry-run --decompose-out) and --compose DECOMP RESULTS, with the
# dummy backend: exact agreement with the main job's stored estimates and Python's compose(),
# partial coverage and missing bricks, what the shareable file leaves out, and the errors.
# Usage: tests/cli/test_compose.sh BINARY SOURCE_DIR   (CTest "compose_cli")
set -euo pipefail
BIN=$(realpath "$1")
SRC=$(realpath "$2")
TINY="$SRC/zoo/tiny"
SQZ="$SRC/zoo/squeezenet1_0.onnx"
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-compose-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
N=0
LAST=

# run NAME ARGS...: run the binary; NAME.out, NAME.err, NAME.rc, NAME.cmd in $TMP.
run() {
    local name=$1
    shift
    printf '%q ' "$BIN" "$@" >"$TMP/$name.cmd"
    set +e
    "$BIN" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    echo $? >"$TMP/$name.rc"
    set -e
    LAST=$name
}
fail() {
    echo "FAIL: $1" >&2
    echo "  command: $(cat "$TMP/$LAST.cmd")" >&2
    echo "--- stdout (tail)" >&2
    tail -n 8 "$TMP/$LAST.out" >&2
    echo "--- stderr (tail)" >&2
    tail -n 8 "$TMP/$LAST.err" >&2
    exit 1
}
expect_rc() {
    local got
    got=$(cat "$TMP/$LAST.rc")
    [ "$got" = "$1" ] || fail "exit status $got, expected $1"
    N=$((N + 1))
}
expect_err() {
    grep -q -- "$1" "$TMP/$LAST.err" || fail "stderr lacks '$1'"
    N=$((N + 1))
}
D=(--backend dummy --quiet --threads 1 -G 1) # G=1 first, then G=2 into the same file (r3)

# ---- the results files: system s1 (G=1, then G=2 into the same file), s2 -------------------------
run r1 "${D[@]}" --system-name s1 -o "$TMP/r.h5" "$TINY"
expect_rc 0
run r2 "${D[@]}" --system-name s2 -o "$TMP/r.h5" --resume "$TINY"
expect_rc 0
cp "$TMP/r.h5" "$TMP/r1.h5" # G=1 decompositions only, for the layer-name checks below
run r3 "${D[@]}" --system-name s1 -G 2 -o "$TMP/r.h5" --resume "$TINY"
expect_rc 0

# ---- decomposition-only files ------------------------------------------------------------------
run d1 --dry-run -G 1 --decompose-out "$TMP/d.h5" "$TINY"
expect_rc 0
grep -q '^summary: models=4 ' "$TMP/d1.out" || fail "the dry-run report is still printed"
run d2 --dry-run -G 2 --decompose-out "$TMP/d2.h5" "$TINY"
expect_rc 0
run dp --dry-run -G 1 --decompose-out "$TMP/dp.h5" "$TINY" "$SQZ"
expect_rc 0
run dbf --dry-run -G 1 --dtype bf16 --decompose-out "$TMP/dbf.h5" "$TINY"
expect_rc 0
sum=$(md5sum <"$TMP/d.h5")
run exists --dry-run -G 1 --decompose-out "$TMP/d.h5" "$TINY"
expect_rc 1
expect_err "^error: $TMP/d.h5: file exists; never overwritten$"
[ -z "$(cat "$TMP/exists.out")" ] || fail "a refused dry run printed its report"
[ "$(md5sum <"$TMP/d.h5")" = "$sum" ] || fail "the refused dry run changed the file"
run nodir --dry-run --decompose-out "$TMP/no/such/dir.h5" "$TINY"
expect_rc 1
expect_err "^error: $TMP/no/such/dir.h5: No such file or directory$"
# -o stays what it was for a dry run: ignored (a job file's output file is not written).
run dry_o --dry-run -o "$TMP/not-written.h5" "$TINY"
expect_rc 0
[ ! -e "$TMP/not-written.h5" ] || fail "--dry-run -o wrote a file"
! ls "$TMP" | grep -q '\.tmp\.' || fail "temporary file left behind"
N=$((N + 3))

# What the shareable file holds (keys, counts, op, FLOPs, bytes, coverage, view) and what it
# leaves out (timings, layer table and names, paths, command line, weights).
$PY - "$TMP/d.h5" "$TMP/r1.h5" "$TINY" <<'PY' || fail "decomposition-only file content"
import json, os, sys, h5py
dpath, rpath, tiny = sys.argv[1:4]
d, r = h5py.File(dpath, "r"), h5py.File(rpath, "r")
assert int(d.attrs["format_version"]) == 4
schema = json.loads(d.attrs["schema"])
assert len(d["systems"]) == 0, "timings in a decomposition file"
datasets = []
d.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset) else None)
assert datasets and all(n.split("/")[-1] in ("bricks", "layers") for n in datasets), datasets
models = sorted(os.path.splitext(f)[0] for f in os.listdir(tiny) if f.endswith(".onnx"))
assert sorted(d["models"]) == models
for m in models:
    g, rg = d["models"][m]["b1"], r["models"][m]["b1"]
    assert g["layers"].shape == (0,), "a per-layer table leaks the topology"
    cols = [c["name"] for c in schema["tables"]["model_bricks"]]
    assert list(g["bricks"].dtype.names) == cols == ["brick_id", "key", "count", "op", "flops",
                                                     "bytes"]
    assert g["bricks"][()].tolist() == rg["bricks"][()].tolist(), m  # the main job's rows
    a = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in g.attrs.items()}
    assert "path" not in a and "path" in rg.attrs
    for k in ("coverage", "flops", "flops_covered", "n_layers", "n_covered", "batch"):
        assert a[k] == rg.attrs[k], (m, k)
    assert a["view"] == "fuse=1 G=1" and a["dtype"] == "f32" and a["uncovered_ops"] == ""
    assert sum(g["bricks"]["count"]) == sum(rg["layers"]["piece_start"] == 1)
    assert any(g["bricks"]["flops"] > 0) and all(g["bricks"]["bytes"] > 0)
run = d["runs"][list(d["runs"])[0]]
assert run.attrs["kind"] == "decomposition" and run.attrs["settings"] == "dtype=f32 fuse=1 G=1"
for a in ("command_line", "environment", "hosts", "ranks"):
    assert a not in run.attrs, a
raw, rraw = open(dpath, "rb").read(), open(rpath, "rb").read()
assert len(raw) < 128 * 1024, len(raw)
# Layer names: in the results file (control), nowhere in the decomposition file.
names = {n for m in models for n in r["models"][m]["b1"]["layers"]["name"] if len(n) >= 6}
assert names and all(n in rraw for n in names)
assert not [n for n in names if n in raw], [n for n in names if n in raw][:3]
assert tiny.encode() not in raw
try:  # weights: no initializer's bytes in the file
    import onnx
except ImportError:
    onnx = None
if onnx:
    n = 0
    for m in models:
        for t in onnx.load(os.path.join(tiny, m + ".onnx")).graph.initializer:
            if len(t.raw_data) >= 64 and len(set(t.raw_data[:64])) > 16:  # not zeros, ones
                n += 1
                assert t.raw_data[:64] not in raw, (m, t.name)
    assert n > 0
PY
N=$((N + 1))

# ---- compose: exact, equal to the main job's stored estimates and to Python's compose() ---------
run c1 --compose "$TMP/d.h5" "$TMP/r.h5" --csv
expect_rc 0
run c2 --compose "$TMP/d2.h5" "$TMP/r.h5" --system s1 --csv
expect_rc 0
for st in min mean; do
    run "c_$st" --compose "$TMP/d.h5" "$TMP/r.h5" --csv --stat "$st"
    expect_rc 0
done
run self --compose "$TMP/r1.h5" "$TMP/r1.h5" --csv # a results file is a decomposition too
expect_rc 0
$PY - "$TMP" "$SRC/analysis" <<'PY' || fail "C compose differs from the stored / Python estimates"
import csv, sys, h5py
tmp, analysis = sys.argv[1:3]
sys.path.insert(0, analysis)
import dlbricks_results as dr

def rows(name):
    with open(f"{tmp}/{name}.out") as f:
        return list(csv.DictReader(f))

f = h5py.File(f"{tmp}/r.h5", "r")
stored = {}
for s in ("s1", "s2"):
    for e in f["systems"][s]["estimates"][()]:
        stored[(s, e["model"].decode(), int(e["batch"]), e["settings"].decode(),
                e["stat"].decode())] = e
checked = 0
for name, n_rows, g in (("c1", 8, "1"), ("c2", 4, "2"), ("self", 8, "1")):
    out = rows(name)
    assert len(out) == n_rows, (name, len(out))
    for o in out:
        assert f" G={g} exec=" in o["settings"], o["settings"]
        e = stored[(o["system"], o["model"], int(o["batch"]), o["settings"], o["stat"])]
        for c in ("estimate_ms", "ci_low_ms", "ci_high_ms"):
            assert float(o[c]) == e[c], (name, o["model"], c, o[c], e[c])  # bit for bit
        assert o["coverage"] == "1" and o["missing"] == "0" and o["missing_bricks"] == ""
        assert int(o["found"]) == int(o["occurrences"]) > 0
        checked += 1
assert checked == 20
with dr.open_results(f"{tmp}/r1.h5") as r:  # G=1 decompositions: Python's compose
    for st, name in (("median", "c1"), ("min", "c_min"), ("mean", "c_mean")):
        for o in rows(name):
            c = dr.compose(r, o["model"], int(o["batch"]), o["system"], st)
            assert c["settings"] == o["settings"]
            for col in ("estimate_ms", "ci_low_ms", "ci_high_ms"):
                assert float(o[col]) == c[col], (st, o["model"], col, o[col], c[col])
        assert len({o["estimate_ms"] for o in rows(name)}) > 1
PY
N=$((N + 1))

# ---- the text table ------------------------------------------------------------------------------
run text --compose "$TMP/d.h5" "$TMP/r.h5" --system s2
expect_rc 0
head -n 1 "$TMP/text.out" | grep -Eq '^settings: system=s2 backend=dummy .* fuse=1 G=1 exec=[0-9]+$' ||
    fail "no settings: line first"
grep -Eq '^system +model +batch +bricks +estimate_ms +ci_low_ms +ci_high_ms +coverage +missing +uncovered$' \
    "$TMP/text.out" || fail "table header"
[ "$(grep -c '^s2 ' "$TMP/text.out")" = 4 ] && ! grep -q '^s1 ' "$TMP/text.out" ||
    fail "--system s2: 4 rows of s2 only"
grep -q '^s2 .* 100\.0% *0 *0$' "$TMP/text.out" || fail "complete rows: 100.0%, nothing missing"
[ "$(tail -n 1 "$TMP/text.out")" = "compose: systems=1 entries=4 rows=4 partial=0 missing=0 stat=median" ] ||
    fail "last line"
N=$((N + 4))

# ---- partial: a model whose bricks are not all in the results file --------------------------------
"$BIN" --dry-run -G 1 --csv "$SQZ" 2>/dev/null | tail -n +2 | cut -d, -f4 | grep . | sort -u >"$TMP/sqz.ids"
"$BIN" --dry-run -G 1 --csv "$TINY" 2>/dev/null | tail -n +2 | cut -d, -f4 | grep . | sort -u >"$TMP/tiny.ids"
want=$(comm -23 "$TMP/sqz.ids" "$TMP/tiny.ids" | wc -l)
run p1 --compose "$TMP/dp.h5" "$TMP/r.h5" --system s1 -v
expect_rc 3
grep -Eq "^s1 +squeezenet1_0 +1 +[0-9]+ .* $want +0 \(partial\)$" "$TMP/p1.out" ||
    fail "squeezenet1_0: $want bricks missing, marked partial"
[ "$(grep -c '^missing: system=s1 model=squeezenet1_0 batch=1 brick=' "$TMP/p1.out")" = "$want" ] ||
    fail "-v: one missing: line per missing brick"
grep -q '^missing: .* count=[1-9][0-9]* op=[a-z_]* key=[a-z]' "$TMP/p1.out" || fail "missing: line fields"
[ "$(tail -n 1 "$TMP/p1.out")" = "compose: systems=1 entries=5 rows=5 partial=1 missing=1 stat=median" ] ||
    fail "partial summary line"
run p2 --compose "$TMP/dp.h5" "$TMP/r.h5" --system s1 --csv
expect_rc 3
# One brick of tiny_resnet failed in the results file: coverage strictly between 0 and 1, and the
# estimate of the rest still equal to the main job's.
bid=$($PY -c "import h5py,sys; print('%016x' % h5py.File(sys.argv[1],'r')['models/tiny_resnet/b1/bricks'][0]['brick_id'])" "$TMP/d.h5")
export DLB_DUMMY_FAIL=$bid
run rf "${D[@]}" --system-name sf -o "$TMP/rf.h5" "$TINY"
unset DLB_DUMMY_FAIL
expect_rc 3
run p3 --compose "$TMP/d.h5" "$TMP/rf.h5" --csv
expect_rc 3
$PY - "$TMP" "$want" "$bid" <<'PY' || fail "partial rows"
import csv, sys, h5py
tmp, want, bid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sqz = set(open(f"{tmp}/sqz.ids").read().split()) - set(open(f"{tmp}/tiny.ids").read().split())
p2 = {o["model"]: o for o in csv.DictReader(open(f"{tmp}/p2.out"))}
s = p2["squeezenet1_0"]
assert int(s["missing"]) == want == len(sqz) and set(s["missing_bricks"].split()) == sqz
assert int(s["found"]) < int(s["occurrences"]) and float(s["coverage"]) < 1
assert all(o["missing"] == "0" for m, o in p2.items() if m != "squeezenet1_0")
f = h5py.File(f"{tmp}/rf.h5", "r")
est = {e["model"].decode(): e for e in f["systems/sf/estimates"][()]}
p3 = {o["model"]: o for o in csv.DictReader(open(f"{tmp}/p3.out"))}
bricks = f["models/tiny_resnet/b1/bricks"][()]
count = int(bricks[bricks["brick_id"] == int(bid, 16)]["count"][0])
r = p3["tiny_resnet"]
assert r["missing"] == "1" and r["missing_bricks"] == bid
occ = int(r["occurrences"])
assert int(r["found"]) == occ - count and float(r["coverage"]) == (occ - count) / occ
assert 0 < float(r["coverage"]) < 1
for m, o in p3.items():
    assert float(o["estimate_ms"]) == est[m]["estimate_ms"], m  # the main job's partial sums
PY
N=$((N + 1))

# Another view or data type than the results file's: nothing matches, all missing, a warning.
run view --compose "$TMP/d2.h5" "$TMP/r1.h5"
expect_rc 3
expect_err "warning: .*r1.h5: system s1 has no brick measured with fuse=1 G=2 dtype=f32"
grep -q '^s1 .* 0\.0% ' "$TMP/view.out" || fail "unmatched view: coverage 0.0%"
run dtype --compose "$TMP/dbf.h5" "$TMP/r.h5" --system s1
expect_rc 3
expect_err "no brick measured with fuse=1 G=1 dtype=bf16"

# ---- errors ------------------------------------------------------------------------------------
run e_onnx --compose "$TINY/tiny_resnet.onnx" "$TMP/r.h5"
expect_rc 1
expect_err "^error: $TINY/tiny_resnet.onnx: not an HDF5 file$"
$PY -c "import h5py,sys; h5py.File(sys.argv[1],'w').create_group('x')" "$TMP/other.h5"
run e_other --compose "$TMP/d.h5" "$TMP/other.h5"
expect_rc 1
expect_err "^error: $TMP/other.h5: not a dlbricks results file: no format_version attribute$"
run e_dec --compose "$TMP/d.h5" "$TMP/d.h5"
expect_rc 1
expect_err "^error: $TMP/d.h5: no brick timings in this file (/systems is empty: a decomposition-only file?)$"
cp "$TMP/d.h5" "$TMP/empty.h5"
$PY -c "import h5py,sys
f = h5py.File(sys.argv[1], 'r+')
for m in list(f['models']): del f['models'][m]" "$TMP/empty.h5"
run e_empty --compose "$TMP/empty.h5" "$TMP/r.h5"
expect_rc 1
expect_err "^error: $TMP/empty.h5: no model decompositions in this file"
run e_missing --compose "$TMP/nope.h5" "$TMP/r.h5"
expect_rc 1
expect_err "nope.h5: cannot open"
run e_sys --compose "$TMP/d.h5" "$TMP/r.h5" --system zz
expect_rc 1
expect_err "^error: $TMP/r.h5: no system 'zz' (systems: s1, s2)$"
[ -z "$(cat "$TMP/e_sys.out")" ] || fail "output before the error"
for args in "--compose $TMP/d.h5" "--compose $TMP/d.h5 $TMP/r.h5 $TMP/r.h5" \
    "--decompose-out $TMP/x.h5 $TINY" "--system s1 $TINY" \
    "--compose $TMP/d.h5 --dry-run $TMP/r.h5" "--time-model $TINY/tiny_resnet.onnx --decompose-out $TMP/x.h5"; do
    # shellcheck disable=SC2086
    run usage $args
    expect_rc 2
    grep -q "^try 'dlbricks-mpi --help'$" "$TMP/usage.err" || fail "usage error without the hint"
done

echo "test_compose: $N checks passed"
