"""Tests of dlbricks_results.py and dlbricks-report, on files made with the dummy backend."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

ANALYSIS = Path(__file__).resolve().parents[1]
REPO = ANALYSIS.parent
REPORT = ANALYSIS / "dlbricks-report"
ZOO = REPO / "zoo" / "tiny"
MODELS = sorted(p.stem for p in ZOO.glob("*.onnx"))
BIN = Path(os.environ.get("DLB_BIN", REPO / "build" / "dlbricks-mpi"))
NUMPY = {"u64": np.uint64, "i64": np.int64, "i32": np.int32, "f64": np.float64}
sys.path.insert(0, str(ANALYSIS))
import dlbricks_results as dr  # noqa: E402



def dlb(*args, env=None, rc=0):
    """Run dlbricks-mpi with the dummy backend; check its exit status (skip if it is not built)."""
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"dlbricks-mpi not built ({BIN}; set DLB_BIN)")
    e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", **(env or {}))
    p = subprocess.run([str(BIN), "--backend", "dummy", "--quiet", *map(str, args)],
                       capture_output=True, text=True, timeout=120, env=e)
    assert p.returncode == rc, f"{args}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def report(*args):
    return subprocess.run([str(REPORT), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="session")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("dlb")


@pytest.fixture(scope="session")
def two(tmp):
    """Systems a and b in one file (b added with --resume), batch sizes 1 and 2."""
    f = tmp / "two.h5"
    dlb("--system-name", "a", "--batch", "1,2", "-o", f, ZOO)
    dlb("--system-name", "b", "--batch", "1,2", "-o", f, "--resume", ZOO)
    return f


@pytest.fixture(scope="session", params=["median", "min", "mean"])
def stat_file(tmp, request):
    f = tmp / f"stat_{request.param}.h5"
    if not f.exists():
        dlb("--stat", request.param, "--system-name", "s", "-o", f, ZOO)
    return f, request.param


@pytest.fixture(scope="session")
def validated(tmp):
    f = tmp / "validated.h5"
    out = dlb("--validate", "--min-time-ms", "1", "--min-reps", "3", "--system-name", "v",
              "-o", f, ZOO).stdout
    return f, out


def h5table(ds):
    a = ds[()]
    return {n: [v.decode() for v in a[n]] if a.dtype[n].kind == "O" else a[n]
            for n in a.dtype.names}


def copy_with(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def assert_frame_matches(df, ds, columns, extra=()):
    """df (a reader table) has the schema's columns and the dataset's values."""
    assert list(df.columns) == list(extra) + [n for n, _ in columns]
    raw = h5table(ds)
    assert len(df) == ds.shape[0]
    for name, ty in columns:
        if ty == "str":
            assert df[name].map(type).eq(str).all(), name
            assert list(df[name]) == raw[name], name
        else:
            assert df[name].dtype == np.dtype(NUMPY[ty]), name
            np.testing.assert_array_equal(df[name].to_numpy(), raw[name], err_msg=name)


def test_schema_matches_every_dataset(two):
    with dr.open_results(two) as r, h5py.File(two, "r") as f:
        assert r.format_version == 2 and r.format_version in dr.KNOWN_FORMAT_VERSIONS
        assert r.schema == json.loads(f.attrs["schema"])
        datasets = [(g["bricks"], "bricks") for g in f["systems"].values()]
        datasets += [(g["estimates"], "estimates") for g in f["systems"].values()]
        for m in f["models"].values():
            datasets += [(b["layers"], "layers") for b in m.values()]
            datasets += [(b["bricks"], "model_bricks") for b in m.values()]
        assert len(datasets) == 4 + 2 * 2 * len(MODELS)
        for ds, table in datasets:
            assert list(ds.dtype.names) == [n for n, _ in r.columns[table]], ds.name
        assert r.units("bricks")["median_ms"] == "ms"


def test_tables_match_h5py(two):
    with dr.open_results(two) as r, h5py.File(two, "r") as f:
        assert list(r.systems()["system"]) == ["a", "b"]
        for s in ("a", "b"):
            g = f["systems"][s]
            assert_frame_matches(r.bricks(s), g["bricks"], r.columns["bricks"], ["system"])
            assert_frame_matches(r.estimates(s), g["estimates"], r.columns["estimates"],
                                 ["system"])
            assert set(r.bricks(s)["system"]) == {s}
        assert len(r.bricks()) == sum(len(g["bricks"]) for g in f["systems"].values())
        assert list(r.estimates()["system"].unique()) == ["a", "b"]
        for m in MODELS:
            for b in (1, 2):
                g = f["models"][m][f"b{b}"]
                assert_frame_matches(r.layers(m, b), g["layers"], r.columns["layers"])
                assert_frame_matches(r.model_bricks(m, b), g["bricks"], r.columns["model_bricks"])
        with pytest.raises(KeyError):
            r.layers(MODELS[0], 3)
        with pytest.raises(KeyError):
            r.bricks("nope")


def test_samples_match_h5py(two):
    with dr.open_results(two) as r, h5py.File(two, "r") as f:
        raw = f["systems/a/samples"][()]
        cur = r.current_bricks("a")
        assert len(cur) == cur["id"].nunique() == len(r.bricks("a"))
        for row in cur.itertuples():
            x = r.samples("a", row.id)
            assert len(x) == row.n_samples > 0
            np.testing.assert_array_equal(x, raw[row.sample_start:row.sample_start + row.n_samples])
            assert np.all(x == row.median_ms)  # the dummy backend: every sample is the same
        with pytest.raises(KeyError):
            r.samples("a", 12345)


def test_models_runs_systems_match_h5py(two):
    with dr.open_results(two) as r, h5py.File(two, "r") as f:
        models = r.models()
        want = [(m.attrs["name"], int(b[1:]), dict(g.attrs)) for m in f["models"].values()
                for b, g in m.items()]
        assert len(models) == len(want) == 2 * len(MODELS)
        assert sorted(set(models["model"])) == MODELS and set(models["batch"]) == {1, 2}
        for row, (name, batch, attrs) in zip(models.to_dict("records"), want):
            assert (row["model"], row["batch"]) == (name, batch)
            assert {k: row[k] for k in attrs} == attrs and int(row["flops"]) > 0
        runs = r.runs()
        assert list(runs["run_id"]) == [g.attrs["name"] for g in f["runs"].values()]
        assert len(runs) == 2 and "--system-name b" in runs["command_line"].iloc[1]
        assert set(runs["systems"]) == {"a", "b"}
        sysdf = r.systems().set_index("system")
        for s in ("a", "b"):
            assert sysdf.loc[s, "cpu_model"] == f["systems"][s].attrs["cpu_model"]


def test_names_come_from_the_name_attribute(two, tmp):
    f = copy_with(two, tmp / "renamed.h5", lambda h: h.move("systems/a", "systems/x_y"))
    with dr.open_results(f) as r:
        assert list(r.systems()["system"]) == ["b", "a"]  # creation order of the links
        assert len(r.bricks("a")) > 0
        with pytest.raises(KeyError):
            r.bricks("x_y")


def assert_compose_equals_stored(path, stat=None):
    with dr.open_results(path) as r:
        est = r.estimates()
        assert len(est) >= len(MODELS)
        for row in est.itertuples():
            if stat:
                assert row.stat == stat
            c = dr.compose(r, row.model, row.batch, row.system, row.stat)
            assert c["settings"] == row.settings
            for col in ("estimate_ms", "ci_low_ms", "ci_high_ms", "coverage", "n_layers",
                        "n_uncovered"):
                assert c[col] == getattr(row, col), (row.model, row.batch, col)
        return est


def test_compose_equals_stored_estimates(stat_file):
    assert_compose_equals_stored(*stat_file)


def test_compose_equals_stored_estimates_two_systems_two_batches(two):
    assert len(assert_compose_equals_stored(two)) == 2 * 2 * len(MODELS)


def test_compose_reads_the_stat_column(two, tmp):
    def edit(f):  # min = median / 2, mean = 2 * median: exact in binary, so are the sums
        ds = f["systems/a/bricks"]
        a = ds[()]
        a["min_ms"], a["mean_ms"] = a["median_ms"] * 0.5, a["median_ms"] * 2
        ds[...] = a

    f = copy_with(two, tmp / "scaled.h5", edit)
    with dr.open_results(f) as r:
        for row in r.estimates("a").itertuples():
            c = lambda st: dr.compose(r, row.model, row.batch, "a", st)["estimate_ms"]  # noqa
            assert c("median") == row.estimate_ms > 0
            assert c("min") == row.estimate_ms * 0.5
            assert c("mean") == row.estimate_ms * 2
        with pytest.raises(ValueError, match="bogus"):
            dr.compose(r, MODELS[0], 1, "a", "bogus")


def test_compose_from_counts_only(two, tmp):
    """A decomposition stored with keys and counts only (empty layers table)."""
    f = copy_with(two, tmp / "counts.h5",
                  lambda h: [b["layers"].resize((0,)) for m in h["models"].values()
                             for b in m.values()])
    with dr.open_results(f) as r:
        for row in r.estimates().itertuples():
            assert len(r.layers(row.model, row.batch)) == 0
            c = dr.compose(r, row.model, row.batch, row.system)
            assert np.isclose(c["estimate_ms"], row.estimate_ms, rtol=1e-12, atol=0)
            assert c["n_layers"] == row.n_layers and c["n_uncovered"] == 0


def test_compose_with_a_failed_brick(tmp, two):
    with dr.open_results(two) as r:  # a brick of the first model, made to fail
        bid = int(r.model_bricks(MODELS[0], 1)["brick_id"].iloc[0])
    f = tmp / "partial.h5"
    dlb("--system-name", "p", "-o", f, ZOO, env={"DLB_DUMMY_FAIL": f"{bid:016x}"}, rc=3)
    est = assert_compose_equals_stored(f)
    assert (est["n_uncovered"] > 0).sum() >= 1 and (est["coverage"] < 1).sum() >= 1
    with dr.open_results(f) as r:
        assert "DLB_E" in "".join(r.bricks("p")["status"])
        with pytest.raises(KeyError):
            r.samples("p", bid)
    dlb("--system-name", "p", "-o", f, "--resume", ZOO)  # times the failed brick again
    est = assert_compose_equals_stored(f)
    assert (est["n_uncovered"] == 0).all() and (est["coverage"] == 1).all()
    with dr.open_results(f) as r:
        rows = r.bricks("p")
        assert list(rows[rows["id"] == np.uint64(bid)]["status"].str[:5]) == ["DLB_E", "ok"]
        assert len(r.samples("p", bid)) > 0


def test_compose_takes_the_rows_of_its_settings(tmp):
    f = tmp / "settings.h5"
    dlb("--system-name", "t", "-o", f, ZOO)
    dlb("--system-name", "t", "--min-time-ms", "50", "--resume", "-o", f, ZOO)

    def old_slower(h):  # the first run's rows twice as slow
        ds = h["systems/t/bricks"]
        a = ds[()]
        old = a["run_id"] == a["run_id"][0]
        a["median_ms"][old] *= 2
        ds[...] = a

    with dr.open_results(copy_with(f, tmp / "settings2.h5", old_slower)) as r:
        est = r.estimates("t")
        new = est[est["settings"].str.contains("min_time_ms=50 ")]
        old = est[~est.index.isin(new.index)]
        assert len(new) == len(old) == len(MODELS)
        for n, o in zip(new.itertuples(), old.itertuples()):
            assert dr.compose(r, n.model, n.batch, "t")["estimate_ms"] == n.estimate_ms
            c = dr.compose(r, o.model, o.batch, "t", settings=o.settings)
            assert c["estimate_ms"] == 2 * o.estimate_ms
        cur = r.current_bricks("t")
        assert len(cur) == cur["id"].nunique() == len(r.bricks("t")) // 2
        assert cur["settings"].str.contains("min_time_ms=50 ").all()


def test_compose_refuses_a_replaced_decomposition(tmp):
    f = tmp / "g12.h5"
    dlb("--system-name", "g", "-o", f, ZOO)
    dlb("--system-name", "g", "-G", "2", "--resume", "-o", f, ZOO)
    with dr.open_results(f) as r:
        est = r.estimates("g")
        g1 = est[est["settings"].str.endswith("G=1")]
        g2 = est[est["settings"].str.endswith("G=2")]
        assert len(g1) == len(g2) == len(MODELS)
        for row in g2.itertuples():
            assert dr.compose(r, row.model, row.batch, "g")["estimate_ms"] == row.estimate_ms
        for row in g1.itertuples():
            with pytest.raises(ValueError, match="decomposition"):
                dr.compose(r, row.model, row.batch, "g", settings=row.settings)


def test_compare_systems(two, tmp):
    with dr.open_results(two) as r:
        c = dr.compare_systems(r, "a", "b")
        assert list(c.bricks.columns) == ["id", "median_a", "median_b", "ratio", "op", "key"]
        assert len(c.bricks) == r.current_bricks("a")["id"].nunique() > 0
        assert (c.bricks["ratio"] == 1.0).all() and (c.ops["ratio"] == 1.0).all()
        assert c.ops["bricks"].sum() == len(c.bricks)
        assert len(c.models) == 2 * len(MODELS) and (c.models["ratio"] == 1.0).all()

    def slower_b(f):  # b twice as slow: every ratio is exactly 0.5
        for name in ("bricks", "estimates"):
            ds = f[f"systems/b/{name}"]
            a = ds[()]
            a["median_ms" if name == "bricks" else "estimate_ms"] *= 2
            ds[...] = a

    with dr.open_results(copy_with(two, tmp / "slow_b.h5", slower_b)) as r:
        c = dr.compare_systems(r, "a", "b")
        assert (c.bricks["ratio"] == 0.5).all() and (c.models["ratio"] == 0.5).all()
        assert np.allclose(c.ops["ratio"], 0.5)


def test_report_lists_every_model_and_compares(two):
    p = report(two, "--compare", "a", "b")
    assert p.returncode == 0, p.stderr
    with dr.open_results(two) as r:
        est = r.estimates()
        ops = set(r.bricks()["op"])
    for m in MODELS:
        assert m in p.stdout
    for row in est.itertuples():  # every model/batch row, with its estimate
        line = [l for l in p.stdout.splitlines()
                if l.split()[:3] == [row.model, str(row.batch), row.stat]]
        assert line and all(f"{row.estimate_ms:.4f}" in x for x in line)
    assert "estimates (system a)" in p.stdout and "estimates (system b)" in p.stdout
    compare = p.stdout.split("compare: a vs b", 1)[1]
    op_lines = [l.split() for l in compare.splitlines() if l.split()[:1] and l.split()[0] in ops]
    assert {l[0] for l in op_lines} == ops and all(l[-2:] == ["1.000", "1.000"] for l in op_lines)
    assert "accuracy:" not in p.stdout
    q = report(two, "--system", "b")
    assert q.returncode == 0 and "estimates (system a)" not in q.stdout
    assert "estimates (system b)" in q.stdout


def test_report_validated_accuracy_and_plots(validated, two, tmp):
    f, out = validated
    p = report(f, "--plots", tmp / "plots_v")
    assert p.returncode == 0, p.stderr
    for what in ("accuracy", "noise"):  # the same figures as the binary's own lines
        mine = [l for l in p.stdout.splitlines() if l.startswith(f"{what}: system=v ")]
        theirs = [l for l in out.splitlines() if l.startswith(f"{what}: system=v ")]
        if what == "noise" and not theirs:
            continue  # a binary from before the noise line
        assert len(theirs) == 1 and len(mine) == 1 and mine[0].startswith(theirs[0]), (mine, out)
    names = {"estimate_vs_measured.png", "op_time_share.png", "brick_gflops_by_op.png"}
    assert {x.name for x in (tmp / "plots_v").iterdir()} == names
    for x in (tmp / "plots_v").iterdir():
        assert x.stat().st_size > 1000 and x.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = report(two, "--plots", tmp / "plots_d")  # not validated: no scatter
    assert p.returncode == 0, p.stderr
    assert {x.name for x in (tmp / "plots_d").iterdir()} == names - {"estimate_vs_measured.png"}


def test_report_csv(two, tmp):
    p = report(two, "--csv", tmp / "csv", "--compare", "a", "b")
    assert p.returncode == 0, p.stderr
    with dr.open_results(two) as r:
        b = pd.read_csv(tmp / "csv" / "bricks.csv")
        assert len(b) == len(r.bricks()) and list(b.columns) == list(r.bricks().columns)
        e = pd.read_csv(tmp / "csv" / "estimates.csv", float_precision="round_trip")
        assert list(e.columns) == ["system"] + [n for n, _ in r.columns["estimates"]]
        assert np.array_equal(e["estimate_ms"], r.estimates()["estimate_ms"])
        assert len(pd.read_csv(tmp / "csv" / "compare_models.csv")) == 2 * len(MODELS)
        assert len(pd.read_csv(tmp / "csv" / "layers.csv")) == sum(
            len(r.layers(m, b)) for m in MODELS for b in (1, 2))


def assert_one_line_error(p, path, reason):
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.splitlines() == [p.stderr.strip()], p.stderr
    assert p.stderr.startswith(f"error: {path}: {reason}"), p.stderr


def test_wrong_format_version(two, tmp):
    f = copy_with(two, tmp / "v99.h5",
                  lambda h: h.attrs.modify("format_version", np.int32(99)))
    with pytest.raises(dr.ResultsError, match="format_version 99, but this reader reads"):
        dr.open_results(f)
    assert_one_line_error(report(f), f, "format_version 99, but this reader reads format_version 2")


def test_not_a_results_file(tmp):
    text = tmp / "notes.txt"
    text.write_text("not hdf5\n")
    assert_one_line_error(report(text), text, "not an HDF5 file")
    assert_one_line_error(report(tmp / "missing.h5"), tmp / "missing.h5", "no such file")
    other = tmp / "other.h5"
    with h5py.File(other, "w") as h:
        h.create_group("x")
    assert_one_line_error(report(other), other, "not a dlbricks results file")
    with pytest.raises(dr.ResultsError):
        dr.open_results(other)


def test_report_unknown_system(two):
    assert_one_line_error(report(two, "--system", "zz"), two, "no system 'zz'")
    assert_one_line_error(report(two, "--compare", "a", "zz"), two, "no system 'zz'")
