#!/usr/bin/env bash
# test_cli.sh — end-to-end tests of the dlbricks-mpi command line (dry run) on zoo/tiny and bad models.
# usage: tests/cli/test_cli.sh BINARY SOURCE_DIR   (registered in CTest as "cli")
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 BINARY SOURCE_DIR" >&2
    exit 2
fi
BIN=$(realpath "$1")
SRC=$(realpath "$2")
TINY=$SRC/zoo/tiny
BAD=$SRC/tests/data/bad
MODELS=$SRC/tests/data/models
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dlb-cli-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export LC_ALL=C
N_CHECKS=0
LAST=

# run NAME ARGS...: run the binary; keep NAME.out, NAME.err, NAME.rc and NAME.cmd in $TMP.
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

# fail MESSAGE [NAME...]: print the exact commands (default: the last one) and stop.
fail() {
    local msg=$1
    shift
    [ $# -gt 0 ] || set -- "$LAST"
    echo "FAIL: $msg" >&2
    for n in "$@"; do
        echo "  command: $(cat "$TMP/$n.cmd")" >&2
        echo "  exit status: $(cat "$TMP/$n.rc")" >&2
        tail -n 8 "$TMP/$n.err" | sed 's/^/  stderr: /' >&2
        tail -n 4 "$TMP/$n.out" | sed 's/^/  stdout: /' >&2
    done
    exit 1
}

check() { N_CHECKS=$((N_CHECKS + 1)); }
rc_of() { cat "$TMP/$1.rc"; }
expect_rc() { # NAME STATUS
    [ "$(rc_of "$1")" -eq "$2" ] || fail "expected exit status $2" "$1"
    check
}

SUMMARY_RE='^summary: models=[0-9]+ layers=[0-9]+ unique=[0-9]+$'
# summary NAME: "M L U" from the last line, after checking its format and uniqueness.
summary() {
    local last
    last=$(tail -n 1 "$TMP/$1.out")
    [[ $last =~ $SUMMARY_RE ]] || fail "last line is not a summary line: '$last'" "$1"
    [ "$(grep -c '^summary:' "$TMP/$1.out")" -eq 1 ] || fail "more than one summary line" "$1"
    sed -E 's/^summary: models=([0-9]+) layers=([0-9]+) unique=([0-9]+)$/\1 \2 \3/' <<<"$last"
}
field() { cut -d' ' -f"$2" <<<"$1"; } # field "M L U" 1..3

FIELD='([^,"]*|"([^"]|"")*")'
ROW_RE="^$FIELD,$FIELD,$FIELD,([0-9a-f]{16})?,[0-9]+\$"
# check_csv NAME: header and the format of every row.
check_csv() {
    [ "$(head -n 1 "$TMP/$1.out")" = "model,layer,op,brick,flops" ] || fail "bad CSV header" "$1"
    local bad
    bad=$(tail -n +2 "$TMP/$1.out" | grep -Evc "$ROW_RE" || true)
    [ "$bad" -eq 0 ] || fail "$bad CSV rows do not match $ROW_RE" "$1"
    [ "$(wc -l <"$TMP/$1.out")" -gt 1 ] || fail "CSV has no rows" "$1"
    check
}
rows() { tail -n +2 "$TMP/$1.out"; }                  # CSV rows without the header
ids() { rows "$1" | awk -F, '$4 != "" {print $4}' | sort -u; } # distinct brick ids (plain names)

[ -d "$TINY" ] || { echo "FAIL: $TINY missing (zoo/export_torchvision.py --tiny)" >&2; exit 1; }
tiny_files=("$TINY"/*.onnx) # sorted (LC_ALL=C), as the tool sorts them
[ -f "${tiny_files[0]}" ] || { echo "FAIL: no models in $TINY" >&2; exit 1; }
n_tiny=${#tiny_files[@]}
good=${tiny_files[0]}

# ---- --help, --version ------------------------------------------------------------------
run help --help
expect_rc help 0
for o in --dry-run --batch -G --granularity --no-fuse --csv --help --version; do
    grep -q -- "$o" "$TMP/help.out" || fail "--help does not mention $o" help
done
grep -q '^usage: dlbricks-mpi' "$TMP/help.out" || fail "--help has no usage line" help
check
run version --version
expect_rc version 0
grep -Eq '^dlbricks-mpi [0-9]+\.[0-9]+\.[0-9]+ \(git [^)]+\)$' <(head -n 1 "$TMP/version.out") ||
    fail "bad first --version line" version
# The revision is read at build time: a build after a commit or an edit names the tree it was
# built from, not the one its build folder was configured at (src/cli/git_revision.cmake).
rev=$(git -C "$SRC" describe --always --dirty --tags 2>/dev/null) || rev=unknown
grep -Fq "(git $rev)" <(head -n 1 "$TMP/version.out") ||
    fail "--version names another revision than the source tree's ($rev)" version
for lib in oneDNN MPI HDF5 hwloc protobuf-c; do
    [ "$(grep -c "^$lib: ." "$TMP/version.out")" -eq 1 ] || fail "--version lacks '$lib: '" version
done
# The executor's revision, as the header defines it (the --resume key's exec=N).
erev=$(sed -n 's/^#define DLB_EXEC_REVISION \([0-9][0-9]*\)$/\1/p' "$SRC/include/dlbricks/exec.h")
[ -n "$erev" ] && [ "$(sed -n 2p "$TMP/version.out")" = "executor: revision $erev" ] ||
    fail "--version: second line is not 'executor: revision $erev'" version
check

# ---- usage errors: exit 2, "error: ..." + hint on stderr, nothing on stdout ----------------
usage_cases=(
    ""                                   # no PATH
    "--dry-run --time-model $TINY/tiny_resnet.onnx"   # two modes
    "--time-model"                       # missing FILE
    "--time-model $TINY/tiny_resnet.onnx $TINY"       # PATH with --time-model
    "--threads 0 $TINY"
    "--min-time-ms -1 $TINY"
    "--min-reps 0 $TINY"
    "--simulate-ranks 16"                # needs --costs
    "--simulate-ranks 1 --costs x.csv"   # at least 2 ranks
    "--dry-run"                          # no PATH
    "--dry-run --bogus $TINY"            # unknown option
    "--dry-run -x $TINY"                 # unknown short option
    "--dry $TINY"                        # abbreviations are refused
    "--dry-run $TINY --batch"            # missing value
    "--dry-run $TINY -G"                 # missing value
    "--dry-run --batch 0 $TINY"
    "--dry-run --batch 1,,4 $TINY"
    "--dry-run --batch 1,1 $TINY"
    "--dry-run --batch -4 $TINY"
    "--dry-run --batch 4x $TINY"
    "--dry-run --batch 99999999999 $TINY"
    "--dry-run -G 0 $TINY"
    "--dry-run -G 1025 $TINY"
    "--dry-run --granularity=two $TINY"
    "--dry-run --csv=yes $TINY"
    "--dry-run --cold-inputs far $TINY"
    "--dry-run --weights hot $TINY"
    "--dry-run --weights auto $TINY"     # auto calibrates while timing
    "--weights auto --cold-cache $TINY"
    "--dry-run --cold-inputs $TINY"      # PATH taken as the value: refused
)
i=0
for c in "${usage_cases[@]}"; do
    # shellcheck disable=SC2086 # split on purpose: no case has spaces inside an argument
    run "usage$i" $c
    expect_rc "usage$i" 2
    [ ! -s "$TMP/usage$i.out" ] || fail "usage error wrote to stdout" "usage$i"
    [ "$(wc -l <"$TMP/usage$i.err")" -eq 2 ] || fail "usage error is not 2 lines" "usage$i"
    grep -Eq '^error: .+' <(head -n 1 "$TMP/usage$i.err") || fail "no 'error: ' line" "usage$i"
    [ "$(tail -n 1 "$TMP/usage$i.err")" = "try 'dlbricks-mpi --help'" ] || fail "no hint" "usage$i"
    i=$((i + 1))
done

# ---- failures: exit 1 ------------------------------------------------------------------
mkdir -p "$TMP/empty/sub"
echo "not a model" >"$TMP/empty/sub/readme.txt"
run nofiles --dry-run "$TMP/empty"
expect_rc nofiles 1
grep -qx "error: $TMP/empty: no .onnx files found" "$TMP/nofiles.err" || fail "message" nofiles
run missing --dry-run "$TMP/does-not-exist" "$TINY"
expect_rc missing 1
grep -q "^error: $TMP/does-not-exist: " "$TMP/missing.err" || fail "message" missing
[ ! -s "$TMP/missing.out" ] || fail "a bad PATH must stop before any output" missing

# ---- text report on the tiny zoo ---------------------------------------------------------
run text --dry-run "$TINY"
expect_rc text 0
s_text=$(summary text)
[ "$(field "$s_text" 1)" -eq "$n_tiny" ] || fail "models= is not $n_tiny" text
[ "$(field "$s_text" 2)" -gt 0 ] || fail "no layers" text
[ "$(field "$s_text" 3)" -gt 0 ] || fail "no bricks" text
# Table lines (header, rules, rows, total) all have the same width.
widths=$(awk 'NR > 1 && /^$/ {exit} NR > 1 {print length($0)}' "$TMP/text.out" | sort -u | wc -l)
[ "$widths" -eq 1 ] || fail "table lines are not aligned" text
for f in "${tiny_files[@]}"; do
    grep -q "^$(basename "$f" .onnx) " "$TMP/text.out" || fail "no table row for $f" text
done
check

# Determinism: identical bytes on a second run, text and CSV.
run text2 --dry-run "$TINY"
cmp -s "$TMP/text.out" "$TMP/text2.out" || fail "two text runs differ" text text2
run csv --dry-run --csv "$TINY"
expect_rc csv 0
check_csv csv
run csv2 --dry-run --csv "$TINY"
cmp -s "$TMP/csv.out" "$TMP/csv2.out" || fail "two CSV runs differ" csv csv2
# One CSV row per layer occurrence: as many rows as layers=.
[ "$(rows csv | wc -l)" -eq "$(field "$s_text" 2)" ] || fail "CSV rows != layers=" csv text
# Distinct brick ids in the CSV are the unique bricks.
[ "$(ids csv | wc -l)" -eq "$(field "$s_text" 3)" ] || fail "CSV brick ids != unique=" csv text
check

# ---- file order and name invariance; symlinks -------------------------------------------
# Copy the tiny zoo under other names, in another order and nesting, add a symlink loop and
# a symlink to a model (a duplicate: processed once).
SHUF=$TMP/shuffled
mkdir -p "$SHUF/sub/deeper"
declare -A newname
k=0
for ((j = n_tiny - 1; j >= 0; j--)); do
    f=${tiny_files[j]}
    stem=$(basename "$f" .onnx)
    nn="m${k}_$(rev <<<"$stem")"
    if [ $((k % 2)) -eq 0 ]; then dst=$SHUF/sub/deeper/$nn.onnx; else dst=$SHUF/$nn.onnx; fi
    cp "$f" "$dst"
    newname[$stem]=$nn
    k=$((k + 1))
done
ln -s ../.. "$SHUF/sub/deeper/loop"
deep=("$SHUF"/sub/deeper/*.onnx)
ln -s "${deep[0]}" "$SHUF/zz_duplicate.onnx"
run shuf --dry-run "$SHUF"
expect_rc shuf 0
[ "$(summary shuf)" = "$s_text" ] || fail "summary changed by renaming/reordering" shuf text
run shufcsv --dry-run --csv "$SHUF"
check_csv shufcsv
for stem in "${!newname[@]}"; do
    a=$(rows csv | awk -F, -v m="$stem" '$1 == m' | cut -d, -f2-)
    b=$(rows shufcsv | awk -F, -v m="${newname[$stem]}" '$1 == m' | cut -d, -f2-)
    [ -n "$a" ] || fail "no rows for $stem" csv
    [ "$a" = "$b" ] || fail "layers/bricks of $stem changed when renamed" csv shufcsv
done
check
# The same directory twice, or a file inside it again: still each model once.
run twice --dry-run "$TINY" "$TINY/" "$good"
expect_rc twice 0
[ "$(summary twice)" = "$s_text" ] || fail "repeated PATHs counted twice" twice text

# ---- --batch --------------------------------------------------------------------------
run b1 --dry-run --csv --batch 1 "$TINY"
run b4 --dry-run --csv --batch 4 "$TINY"
run b14 --dry-run --csv --batch 1,4 "$TINY"
run b14text --dry-run --batch 1,4 "$TINY"
for n in b1 b4 b14; do
    expect_rc "$n" 0
    check_csv "$n"
done
s_b14=$(summary b14text)
# The tiny zoo is exported with batch 1: --batch 1 changes nothing.
cmp -s "$TMP/b1.out" "$TMP/csv.out" || fail "--batch 1 differs from the stored batch 1" b1 csv
# Other batch sizes give other bricks.
[ "$(ids b4)" != "$(ids b1)" ] || fail "--batch 4 gives the same brick ids as batch 1" b4 b1
[ "$(comm -12 <(ids b1) <(ids b4) | wc -l)" -lt "$(ids b1 | wc -l)" ] || fail "no new ids" b4
[ "$(field "$s_b14" 1)" -eq "$n_tiny" ] || fail "models= counts batch sizes" b14text
[ "$(field "$s_b14" 2)" -eq $((2 * $(field "$s_text" 2))) ] || fail "layers= not doubled" b14text
[ "$(field "$s_b14" 3)" -gt "$(field "$s_text" 3)" ] || fail "unique= did not grow" b14text
# Rows of one model: all batch-1 rows, then all batch-4 rows; models in file order.
expect=$(for f in "${tiny_files[@]}"; do
    m=$(basename "$f" .onnx)
    rows b1 | awk -F, -v m="$m" '$1 == m'
    rows b4 | awk -F, -v m="$m" '$1 == m'
done)
[ "$(rows b14)" = "$expect" ] || fail "--batch 1,4 rows are not batch 1 then batch 4 per model" b14
check

# ---- --no-fuse: the raw view has more layers -------------------------------------------
run raw --dry-run --no-fuse "$TINY"
expect_rc raw 0
s_raw=$(summary raw)
[ "$(field "$s_raw" 2)" -gt "$(field "$s_text" 2)" ] || fail "--no-fuse: layers not more" raw text
[ "$(field "$s_raw" 1)" -eq "$n_tiny" ] || fail "--no-fuse: models=" raw

# ---- -G 3 --------------------------------------------------------------------------------
# Documented (docs/cli.md): -G never changes layers= nor which layers are uncovered; each
# brick holds <= k layers so unique= <= covered layers.  That unique= does not grow is what
# the tiny zoo shows (few distinct pieces), not a law for every zoo.
run g3 --dry-run -G 3 "$TINY"
run g3csv --dry-run --csv -G 3 "$TINY"
expect_rc g3 0
check_csv g3csv
s_g3=$(summary g3)
[ "$(field "$s_g3" 2)" -eq "$(field "$s_text" 2)" ] || fail "-G 3 changed layers=" g3 text
[ "$(field "$s_g3" 3)" -ge 1 ] || fail "-G 3: no bricks" g3
[ "$(field "$s_g3" 3)" -le "$(field "$s_text" 3)" ] || fail "-G 3: more unique bricks" g3 text
[ "$(rows g3csv | awk -F, '$4 == ""' | cut -d, -f1,2)" = \
    "$(rows csv | awk -F, '$4 == ""' | cut -d, -f1,2)" ] || fail "-G 3 changed uncovered" g3csv
[ "$(rows g3csv | cut -d, -f1,2,3,5)" = "$(rows csv | cut -d, -f1,2,3,5)" ] ||
    fail "-G 3 changed the layers" g3csv csv
grep -q '^brick registry (granularity 3, fused view):' "$TMP/g3.out" || fail "G not shown" g3
grep -q '^brick registry (granularity 2, fused view):' "$TMP/text.out" || fail "default granularity is not 2" text
check

# ---- --weights distance: the same layers, the weights' reuse distance in the brick keys ------
# (a model that touches more than DLB_COLD_DISTANCE per inference; tiny models are warm: no change)
run wdist --dry-run --csv --weights distance "$SRC/zoo/mobilenet_v3_small.onnx"
run wmem --dry-run --csv "$SRC/zoo/mobilenet_v3_small.onnx"
expect_rc wdist 0
[ "$(rows wdist | cut -d, -f1,2,3,5)" = "$(rows wmem | cut -d, -f1,2,3,5)" ] ||
    fail "--weights distance changed the layers" wdist wmem
# every brick holding a weighted layer gets a new id; weightless pieces keep theirs
[ -z "$(comm -12 <(rows wdist | awk -F, '$3 ~ /^(Conv|Gemm)$/ {print $4}' | sort -u) <(ids wmem))" ] ||
    fail "--weights distance: a weighted brick kept its id" wdist wmem
[ -n "$(comm -12 <(ids wdist) <(ids wmem))" ] || fail "--weights distance: no weightless brick shared" wdist
run wtiny --dry-run --csv --weights distance "$TINY"
[ "$(ids wtiny)" = "$(ids csv)" ] || fail "--weights distance changed warm bricks" wtiny csv
check

# ---- skipped models: exit 3, the good ones still reported ---------------------------------
MIX=$TMP/mixed
mkdir -p "$MIX"
cp "$good" "$MIX/good.onnx"
printf '\211PNG\r\n\032\n\0\0\0\rIHDR' >"$MIX/broken.onnx"
run mix --dry-run "$MIX"
expect_rc mix 3
grep -q "^error: $MIX/broken.onnx: " "$TMP/mix.err" || fail "no error line for broken.onnx" mix
good_rows=$(rows csv | awk -F, -v m="$(basename "$good" .onnx)" '$1 == m' | wc -l)
s_mix=$(summary mix)
[ "$(field "$s_mix" 1)" -eq 1 ] || fail "expected models=1" mix
[ "$(field "$s_mix" 2)" -eq "$good_rows" ] || fail "expected layers=$good_rows" mix
grep -q '^good ' "$TMP/mix.out" || fail "good model missing from the table" mix
run mixcsv --dry-run --csv "$MIX"
expect_rc mixcsv 3
check_csv mixcsv
[ "$(rows mixcsv | cut -d, -f2-)" = "$(rows csv | awk -F, -v m="$(basename "$good" .onnx)" \
    '$1 == m' | cut -d, -f2-)" ] || fail "good model's rows differ" mixcsv csv
check
# A dangling *.onnx symlink is a model that cannot be read: skipped, exit 3.
ln -s "$TMP/nowhere.onnx" "$MIX/dangling.onnx"
run dangling --dry-run "$MIX"
expect_rc dangling 3
grep -q "^error: $MIX/dangling.onnx: " "$TMP/dangling.err" || fail "no error for dangling" dangling

# ---- CSV quoting (RFC 4180): a model file named with a comma and a quote -------------------
Q=$TMP/quote
mkdir -p "$Q"
cp "$good" "$Q/a,b\"c.onnx"
run quote --dry-run --csv "$Q"
expect_rc quote 0
check_csv quote
[ "$(rows quote | grep -vc '^"a,b""c",' || true)" -eq 0 ] || fail "model field not quoted" quote

# ---- malformed models and other test models (when present) --------------------------------
if [ -d "$BAD" ]; then
    run bad --dry-run "$BAD"
    expect_rc bad 3
    summary bad >/dev/null
    [ "$(grep -Evc '^(error|warning|note): ' "$TMP/bad.err" || true)" -eq 0 ] ||
        fail "stderr lines not in 'SEV: FILE: ...' form" bad
    grep -q "^error: $BAD/cycle.onnx: " "$TMP/bad.err" || fail "cycle.onnx not reported" bad
fi
if [ -d "$MODELS" ]; then
    run models --dry-run --csv "$MODELS"
    [ "$(rc_of models)" -eq 0 ] || [ "$(rc_of models)" -eq 3 ] || fail "exit status" models
    check_csv models
fi

# ---- main job with the deterministic dummy backend ----------------------------------------
run dummy1 --backend dummy --quiet -G 1 --bricks-out "$TMP/dummy1.csv" "$TINY"
expect_rc dummy1 0
run dummy2 --backend dummy --quiet -G 1 "$TINY"
# identical but for the wall-clock figure (a loaded machine may round it differently)
cmp -s <(sed 's/ wall_s=[0-9.]* / /' "$TMP/dummy1.out") <(sed 's/ wall_s=[0-9.]* / /' "$TMP/dummy2.out") ||
    fail "dummy runs differ" dummy2
check
grep -Eq '^bricks: system=[^ ]+ unique=([0-9]+) timed=[0-9]+ reused=0 ranks=1 wall_s=[0-9.]+ imbalance=0\.000$' "$TMP/dummy1.out" ||
    fail "bricks line" dummy1
u=$(sed -n 's/^bricks: .* unique=\([0-9]*\) timed=\([0-9]*\) .*/\1 \2/p' "$TMP/dummy1.out")
[ "${u% *}" = "${u#* }" ] && [ "${u% *}" -gt 0 ] || fail "not every unique brick timed: $u" dummy1
check
# Composition: each model's estimate is the sum of its layers' brick times (G=1: one brick
# occurrence per covered layer), from the brick table and the dry run's layer list.
run dummycsv --dry-run --csv -G 1 "$TINY"
/usr/bin/python3 - "$TMP/dummy1.csv" "$TMP/dummycsv.out" "$TMP/dummy1.out" <<'PY' ||
import csv, sys
t = {r["brick"]: float(r["median_ms"]) for r in csv.DictReader(open(sys.argv[1]))}
want = {}
for r in csv.DictReader(open(sys.argv[2])):
    if r["brick"]:
        want[r["model"]] = want.get(r["model"], 0.0) + t[r["brick"]]
got = {l.split()[1]: float(l.split()[4]) for l in open(sys.argv[3])
       if len(l.split()) > 4 and l.split()[1] in want}
assert got.keys() == want.keys(), (got, want)
for m in want:
    assert abs(got[m] - want[m]) <= 1e-4 * 0.51, (m, got[m], want[m])  # printed with 4 decimals
PY
    fail "estimates are not the sum of brick times" dummy1
check
# A failing brick is reported with its id and skipped; the run goes on; its models are partial.
first=$(awk -F, 'NR == 2 {print $1}' "$TMP/dummy1.csv")
DLB_DUMMY_FAIL=$first run dummyfail --backend dummy --quiet -G 1 "$TINY"
expect_rc dummyfail 3
grep -q "^error: dummy: brick $first (" "$TMP/dummyfail.err" || fail "failure not reported" dummyfail
grep -Eq "^timing: system=[^ ]+ failed=1 " "$TMP/dummyfail.out" || fail "failure not counted" dummyfail
grep -q "(partial)" "$TMP/dummyfail.out" || fail "model not marked partial" dummyfail
check
# The scheduler replay: one worker does everything (efficiency 1); more workers never take
# longer than one.
run sim --simulate-ranks 2,3,8 --dedicated-coordinator --costs "$TMP/dummy1.csv"
expect_rc sim 0
grep -Eq '^simulate: ranks=2 workers=1 makespan_s=[0-9.]+ efficiency=1\.000 ' "$TMP/sim.out" ||
    fail "one worker must be 100% efficient" sim
[ "$(grep -c '^simulate: ranks=' "$TMP/sim.out")" -eq 3 ] || fail "one line per rank count" sim
[ "$(grep -Ec '^lpt: ranks=[0-9]+ workers=[0-9]+ makespan_s=[0-9.]+ efficiency=[0-9.]+$' "$TMP/sim.out")" -eq 3 ] ||
    fail "one LPT line per rank count" sim
# Rank 0 timing too: 2 timing ranks, never slower than one dedicated worker.
run sim2 --simulate-ranks 2 --costs "$TMP/dummy1.csv"
expect_rc sim2 0
d=$(sed -n 's/^simulate: ranks=2 workers=1 makespan_s=\([0-9.]*\) .*/\1/p' "$TMP/sim.out")
s=$(sed -n 's/^simulate: ranks=2 workers=2 makespan_s=\([0-9.]*\) .*/\1/p' "$TMP/sim2.out")
awk -v d="$d" -v s="$s" 'BEGIN { exit !(s > 0 && s <= d) }' || fail "shared makespan $s > dedicated $d" sim2
check
# Results files are never overwritten.
run dummyexists --backend dummy --quiet --bricks-out "$TMP/dummy1.csv" "$TINY"
expect_rc dummyexists 1
grep -q "never overwritten" "$TMP/dummyexists.err" || fail "overwrite not refused" dummyexists
check

# ---- --max-brick-mem: bricks above the limit are refused, not attempted ---------------------
run bigmem --backend dummy --quiet --max-brick-mem 1 "$SRC/zoo/resnet18.onnx"
expect_rc bigmem 3
grep -Eq "^error: brick [0-9a-f]{16} \(conv\): working set [0-9]+ MiB exceeds --max-brick-mem 1 MiB; not attempted$" "$TMP/bigmem.err" ||
    fail "refusal not reported" bigmem
nref=$(grep -c "not attempted" "$TMP/bigmem.err")
grep -Eq "^timing: system=[^ ]+ failed=$nref " "$TMP/bigmem.out" || fail "refused bricks not counted" bigmem
grep -q "(partial)" "$TMP/bigmem.out" || fail "model not marked partial" bigmem
check

# ---- job files --------------------------------------------------------------------------------
cat >"$TMP/job.ini" <<INI
# a job file
[zoo]
paths = $TINY
batch = 1,2
[timing]
min_reps = 3
[ranks]
system_name = fromjob
[output]
file = $TMP/job.h5
INI
run job --job "$TMP/job.ini" --backend dummy --quiet
expect_rc job 0
grep -Eq '^bricks: system=fromjob ' "$TMP/job.out" || fail "job file keys not applied" job
[ "$(grep -c ' tiny_resnet ' "$TMP/job.out")" -eq 2 ] || fail "job file batch list not applied" job
/usr/bin/python3 - "$TMP/job.h5" "$TMP/job.ini" <<'PY' || fail "job file not in the provenance" job
import sys, h5py
f = h5py.File(sys.argv[1], "r")
run = f["/runs"][list(f["/runs"])[0]]
assert run.attrs["job_file_contents"] == open(sys.argv[2]).read()
assert run.attrs["job_file"] == sys.argv[2]
PY
check
# The command line overrides the file, and its PATHs replace the file's paths.
run joboverride --job "$TMP/job.ini" --backend dummy --quiet --system-name cmd --force \
    "$TINY/tiny_resnet.onnx"
expect_rc joboverride 0
grep -Eq '^bricks: system=cmd ' "$TMP/joboverride.out" || fail "option not overridden" joboverride
[ "$(grep -c '^cmd ' "$TMP/joboverride.out")" -eq 2 ] || fail "PATH not overridden" joboverride
check
# Errors name the file, the line and the key.
printf '[zoo]\npaths = %s\n\n[timing]\nmin_reps = many\n' "$TINY" >"$TMP/bad1.ini"
run jobbad1 --job "$TMP/bad1.ini" --backend dummy
expect_rc jobbad1 2
grep -q "^error: $TMP/bad1.ini:5: key 'min_reps': --min-reps: invalid value 'many'" "$TMP/jobbad1.err" ||
    fail "bad value: no file:line:key" jobbad1
printf '[zoo]\npaths = %s\n[output]\nfile_name = x.h5\n' "$TINY" >"$TMP/bad2.ini"
run jobbad2 --job "$TMP/bad2.ini" --backend dummy
expect_rc jobbad2 2
grep -q "^error: $TMP/bad2.ini:4: unknown key 'file_name' in section \[output\]" "$TMP/jobbad2.err" ||
    fail "unknown key: no file:line:key" jobbad2
[ "$(wc -l <"$TMP/jobbad2.err")" -eq 1 ] || fail "more than one error line" jobbad2
check
# The shipped examples parse (checked on a dry run of their zoo settings).
for j in "$SRC"/jobs/*.ini; do
    (cd "$SRC" && "$BIN" --job "$j" --dry-run >/dev/null 2>"$TMP/jobex.err") ||
        fail "shipped job file $j: $(head -1 "$TMP/jobex.err")" jobex
done
check

# --cold-inputs distance (docs/cli.md): the same layers, but cold inputs carry their reuse
# distance in the key, so some brick ids change; the default is "memory"; the job file key
# [timing] cold_inputs does the same as the option.
R18=$SRC/zoo/resnet18.onnx
run cimem --dry-run --csv "$R18"
run cidef --dry-run --csv --cold-inputs memory "$R18"
run cidist --dry-run --csv --cold-inputs distance "$R18"
printf '[zoo]\npaths = %s\n[timing]\ncold_inputs = distance\n' "$R18" >"$TMP/ci.ini"
run cijob --dry-run --csv --job "$TMP/ci.ini"
for n in cimem cidef cidist cijob; do expect_rc $n 0; check_csv $n; done
cmp -s "$TMP/cimem.out" "$TMP/cidef.out" || fail "--cold-inputs memory is not the default" cidef
[ "$(rows cidist | wc -l)" -eq "$(rows cimem | wc -l)" ] || fail "layers differ" cidist cimem
[ "$(ids cidist)" != "$(ids cimem)" ] || fail "distance changed no brick id" cidist cimem
cmp -s "$TMP/cidist.out" "$TMP/cijob.out" || fail "[timing] cold_inputs differs from the option" cijob
check

echo "PASS: $N_CHECKS checks"
