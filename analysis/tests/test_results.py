"""Tests of dlbricks_results.py and dlbricks-report, on files made by the real binary (the dummy
backend, exact and fast, except for the validated models and one small oneDNN run)."""
import collections
import contextlib
import importlib.machinery
import importlib.util
import io
import json
import math
import os
import re
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



def dlb(*args, env=None, rc=0, backend="dummy"):
    """Run dlbricks-mpi (the dummy backend unless told); check its exit status (skip if it is
    not built)."""
    if not os.access(BIN, os.X_OK):
        pytest.skip(f"dlbricks-mpi not built ({BIN}; set DLB_BIN)")
    e = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", **(env or {}))
    p = subprocess.run([str(BIN), "--backend", backend, "--quiet", *map(str, args)],
                       capture_output=True, text=True, timeout=120, env=e)
    assert p.returncode == rc, f"{args}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def report_process(*args):
    """dlbricks-report run as a program (its shebang: /usr/bin/python3)."""
    return subprocess.run([str(REPORT), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


_report_module = None


def report(*args):
    """dlbricks-report's main() run in this process (much faster than a new interpreter per
    call); the same CompletedProcess as report_process.  A few tests run the program itself."""
    global _report_module
    if _report_module is None:
        loader = importlib.machinery.SourceFileLoader("dlbricks_report", str(REPORT))
        spec = importlib.util.spec_from_loader("dlbricks_report", loader)
        _report_module = importlib.util.module_from_spec(spec)
        loader.exec_module(_report_module)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = _report_module.main([str(a) for a in args])
        except SystemExit as e:  # argparse
            rc = e.code
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def ok(*args):
    """Run dlbricks-report, expect exit status 0; the CompletedProcess."""
    p = report(*args)
    assert p.returncode == 0, f"{args}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def read_csv(text):
    return pd.read_csv(io.StringIO(text), float_precision="round_trip",
                       keep_default_na=False, na_values=[""])


def csv_tables(text):
    """compare --csv: {name: DataFrame} of the '# name' sections."""
    out = {}
    for part in text.split("\n\n"):
        head, body = part.split("\n", 1)
        assert head.startswith("# "), head
        out[head[2:]] = read_csv(body)
    return out


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
    """--validate: bricks from the dummy backend, whole models measured with oneDNN."""
    f = tmp / "validated.h5"
    out = dlb("--validate", "--min-time-ms", "1", "--min-reps", "3", "--system-name", "v",
              "-o", f, ZOO).stdout
    return f, out


@pytest.fixture(scope="session")
def real(tmp):
    """A small real run: oneDNN timings of tiny_resnet's bricks."""
    f = tmp / "real.h5"
    dlb("--min-time-ms", "5", "--min-reps", "3", "--system-name", "r", "-o", f,
        ZOO / "tiny_resnet.onnx", backend="onednn")
    return f


@pytest.fixture(scope="session")
def pair(tmp):
    """Two files, systems x and y (two -o runs); y's conv bricks made 3 times as slow and its
    estimates recomposed from them (compose, the checking tool), so the difference is known."""
    fx, fy = tmp / "x.h5", tmp / "y.h5"
    dlb("--system-name", "x", "-o", fx, ZOO)
    dlb("--system-name", "y", "-o", fy, ZOO)
    with h5py.File(fy, "r+") as h:
        ds = h["systems/y/bricks"]
        a = ds[()]
        conv = a["op"] == b"conv"
        assert conv.any() and not conv.all()
        for c in ("min_ms", "median_ms", "mean_ms", "p90_ms", "ci_low_ms", "ci_high_ms"):
            a[c][conv] *= 3
        ds[...] = a
    with dr.open_results(fy) as r:
        new = [dr.compose(r, e.model, e.batch, "y")["estimate_ms"]
               for e in r.estimates("y").itertuples()]
    with h5py.File(fy, "r+") as h:
        ds = h["systems/y/estimates"]
        a = ds[()]
        a["estimate_ms"] = new
        ds[...] = a
    return fx, fy


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
        assert r.format_version == 4 and r.format_version in dr.KNOWN_FORMAT_VERSIONS
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
            assert {k: str(row[k]) for k in attrs} == attrs and int(row["flops"]) > 0
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


def assert_compose_equals_stored(path, stat=None, rows=len(MODELS)):
    with dr.open_results(path) as r:
        est = r.estimates()
        assert len(est) >= rows
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
            assert c["estimate_ms"] == row.estimate_ms  # fsum: exact from counts too
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
    dlb("--system-name", "g", "-G", "1", "-o", f, ZOO)
    dlb("--system-name", "g", "-G", "2", "--resume", "-o", f, ZOO)
    with dr.open_results(f) as r:
        est = r.estimates("g")
        g1 = est[est["settings"].str.contains(" G=1 ")]
        g2 = est[est["settings"].str.contains(" G=2 ")]
        assert len(g1) == len(g2) == len(MODELS)
        for row in g2.itertuples():
            assert dr.compose(r, row.model, row.batch, "g")["estimate_ms"] == row.estimate_ms
        for row in g1.itertuples():
            with pytest.raises(ValueError, match="decomposition"):
                dr.compose(r, row.model, row.batch, "g", settings=row.settings)


def test_models_batch_and_view_attributes(two, tmp):
    """Format 2 model attributes: 'batch' is preferred to the link name, 'view' to fuse / G."""
    def edit(h):
        g = h["models"][MODELS[0]]
        g.move("b1", "one")
        g["one"].attrs["batch"] = "1"
        h["models"][MODELS[1]]["b2"].attrs["view"] = "fuse=0 G=3"

    f = copy_with(two, tmp / "attrs.h5", edit)
    with dr.open_results(f) as r:
        m = r.models()
        assert sorted(zip(m["model"], m["batch"])) == sorted((x, b) for x in MODELS
                                                             for b in (1, 2))
        assert "batch" not in list(m.columns)[3:] and m["batch"].dtype == np.int64
        views = dict(zip(zip(m["model"], m["batch"]), m["view"]))
        assert views.pop((MODELS[1], 2)) == "fuse=0 G=3"
        assert set(views.values()) == {"fuse=1 G=2"}  # from fuse / granularity (default G=2)
        assert len(r.layers(MODELS[0], 1)) > 0
        row = r.estimates("a").iloc[0]
        c = dr.compose(r, MODELS[0], 1, "a")
        assert c["estimate_ms"] == r.estimates("a").set_index(["model", "batch"]).loc[
            (MODELS[0], 1), "estimate_ms"]
        with pytest.raises(ValueError, match="decomposition"):
            dr.compose(r, MODELS[1], 2, "a", settings=row.settings)
    def badlink(h):  # a renamed link and no batch attribute to fall back on
        h["models"][MODELS[0]].move("b1", "one")
        if "batch" in h["models"][MODELS[0]]["one"].attrs:
            del h["models"][MODELS[0]]["one"].attrs["batch"]
    bad = copy_with(two, tmp / "badlink.h5", badlink)
    with pytest.raises(dr.ResultsError, match="bad batch group 'one'"):
        dr.open_results(bad)


def test_compare_systems_module(pair, two):
    fx, fy = pair
    with dr.open_results(fx) as rx, dr.open_results(fy) as ry:
        c = dr.compare_systems(rx, "x", ry, "y", top=None)
        assert list(c.models.columns) == ["model", "batch", "base_ms", "other_ms", "ratio"]
        assert list(c.ops.columns) == ["op", "bricks", "base_ms", "other_ms", "ratio",
                                       "base_zoo_ms", "other_zoo_ms", "zoo_ratio"]
        assert list(c.bricks.columns) == ["id", "op", "key", "base_ms", "other_ms", "delta_ms",
                                          "occurrences", "delta_total_ms", "share", "models"]
        assert len(c.models) == len(MODELS) and c.only_base == c.only_other == 0
        assert len(c.bricks) == rx.current_bricks("x")["id"].nunique()
        ops = c.ops.set_index("op")
        assert np.allclose(ops.loc["conv", ["ratio", "zoo_ratio"]], 3)
        assert (ops.drop("conv")["ratio"] == 1.0).all()
        diff = (c.models["other_ms"] - c.models["base_ms"]).sum()
        assert np.isclose(c.bricks["delta_total_ms"].sum(), diff, rtol=1e-9, atol=0)
        assert np.isclose(c.bricks["share"].sum(), 1.0)
        assert set(c.bricks[c.bricks["delta_ms"] != 0]["op"]) == {"conv"}
    with dr.open_results(two) as r:
        c = dr.compare_systems(r, "a", r, "b")
        assert len(c.models) == 2 * len(MODELS) and (c.models["ratio"] == 1.0).all()
        assert (c.ops["ratio"] == 1.0).all() and len(c.bricks) == 10
        assert (c.bricks["delta_ms"] == 0).all() and c.bricks["share"].isna().all()


def occurrences_h5(path):
    """{brick id: (occurrences over all stored models, {model names})}, read with h5py."""
    occ = {}
    with h5py.File(path, "r") as h:
        for m in h["models"].values():
            for bg in m.values():
                for bid, n in zip(bg["bricks"]["brick_id"], bg["bricks"]["count"]):
                    k, names = occ.get(int(bid), (0, set()))
                    occ[int(bid)] = (k + int(n), names | {m.attrs["name"]})
    return occ


def stored(path, system):
    with dr.open_results(path) as r:
        return r.estimates(system)


SUMMARY_COLUMNS = ["system", "model", "batch", "estimate_ms", "measured_ms", "error_pct",
                   "coverage"]


def test_summary_csv_not_validated(two):
    p = report_process("summary", "--csv", two)  # the program itself, once
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout == ok("summary", "--csv", two).stdout
    lines = p.stdout.splitlines()
    assert lines[0] == ",".join(SUMMARY_COLUMNS)
    assert len(lines) == 1 + 2 * 2 * len(MODELS)
    for line in lines[1:]:  # measured_ms and error_pct empty: not validated
        fields = line.split(",")
        assert len(fields) == 7 and fields[4] == fields[5] == "", line
    df = read_csv(p.stdout)
    assert list(df.columns) == SUMMARY_COLUMNS
    assert df["measured_ms"].isna().all() and df["error_pct"].isna().all()
    est = pd.concat([stored(two, "a"), stored(two, "b")], ignore_index=True)
    assert list(df["system"]) == list(est["system"])
    assert list(zip(df["model"], df["batch"])) == list(zip(est["model"], est["batch"]))
    assert np.array_equal(df["estimate_ms"], est["estimate_ms"])  # full precision
    assert (df["coverage"] == 1.0).all()
    one = read_csv(ok("summary", "--csv", "--system", "b", two).stdout)
    assert set(one["system"]) == {"b"} and len(one) == 2 * len(MODELS)


def test_summary_text(two):
    p = ok("summary", two)
    assert "system a (" in p.stdout and "system b (" in p.stdout
    est = pd.concat([stored(two, "a"), stored(two, "b")], ignore_index=True)
    for row in est.itertuples():
        line = [x for x in p.stdout.splitlines()
                if x.split()[:3] == [row.system, row.model, str(row.batch)]]
        assert len(line) == 1 and line[0].split()[3:] == [f"{row.estimate_ms:.4f}", "-", "-",
                                                          "100.0%"], line
    assert "accuracy:" not in p.stdout and "not shown" not in p.stdout


def test_summary_validated(validated):
    f, out = validated
    df = read_csv(ok("summary", "--csv", f).stdout)
    est = stored(f, "v")
    assert list(df.columns) == SUMMARY_COLUMNS and len(df) == len(MODELS)
    # whole models were timed with oneDNN: real numbers, so consistency, not values
    assert np.isfinite(df["measured_ms"]).all() and (df["measured_ms"] > 0).all()
    assert np.isfinite(df["error_pct"]).all()
    assert np.array_equal(df["measured_ms"], est["measured_median_ms"])
    assert np.array_equal(df["estimate_ms"], est["estimate_ms"])
    assert np.allclose(df["error_pct"], 100 * (est["close_estimate_ms"] - df["measured_ms"])
                       / df["measured_ms"], rtol=1e-9)
    text = ok("summary", f).stdout
    for what in ("accuracy", "noise"):  # the same figures as the binary's own lines
        mine = [x for x in text.splitlines() if x.startswith(f"{what}: system=v ")]
        theirs = [x for x in out.splitlines() if x.startswith(f"{what}: system=v ")]
        assert len(theirs) == 1 and len(mine) == 1 and mine[0].startswith(theirs[0]), (mine, out)
    for row in est.itertuples():
        line = [x.split() for x in text.splitlines() if x.split()[:2] == ["v", row.model]]
        assert len(line) == 1 and line[0][4:6] == [f"{row.measured_median_ms:.4f}",
                                                   f"{row.error_pct:+.1f}"]


def with_errors(src, dst, errors, unvalidated=()):
    """A copy of a validated file whose estimate rows carry these error_pct values (in row
    order), the models named in unvalidated with measured_reps 0 (not validated)."""
    def edit(h):
        ds = h["systems/v/estimates"]
        a = ds[()]
        assert len(a) == len(errors)
        a["error_pct"] = errors
        for i, m in enumerate(a["model"]):
            if m.decode() in unvalidated:
                a["measured_reps"][i] = 0
        ds[...] = a
    return copy_with(src, dst, edit)


def test_repeat_hand_computed(validated, tmp):
    """Four models, errors chosen by hand: diff = 2, -7, 0, 10 gives mean(diff^2) = 38.25,
    noise_sd = sqrt(19.125), |diff|/sqrt(2) = 1.41, 4.95, 0, 7.07 (3 of 4 within 5, all within
    10); mean errors 2, -5.5, 4, 5: bias_mean 1.375, sample variance 22.5625, minus 38.25 / 4
    leaves 13, bias_sd sqrt(13)."""
    f, _ = validated
    assert len(MODELS) == 4
    a = with_errors(f, tmp / "rep_a.h5", [1.0, -2.0, 4.0, 0.0])
    b = with_errors(f, tmp / "rep_b.h5", [3.0, -9.0, 4.0, 10.0])
    with dr.open_results(a) as ra, dr.open_results(b) as rb:
        rows, s = dr.repeatability(dr.select_estimates(ra, "v"), dr.select_estimates(rb, "v"))
        models = list(stored(a, "v")["model"])
    assert list(rows.columns) == dr.REPEAT_COLUMNS and list(rows["model"]) == models
    assert list(rows["diff_pct"]) == [2.0, -7.0, 0.0, 10.0]
    assert list(rows["mean_error_pct"]) == [2.0, -5.5, 4.0, 5.0]
    assert s["models"] == 4
    assert s["noise_sd_pct"] == pytest.approx(math.sqrt(19.125))
    assert s["median_abs_diff_pct"] == pytest.approx(4.5)
    assert (s["ceiling5"], s["ceiling10"]) == (0.75, 1.0)
    assert s["bias_mean_pct"] == pytest.approx(1.375)
    assert s["bias_sd_pct"] == pytest.approx(math.sqrt(13.0))
    text = ok("repeat", a, b).stdout
    line = [x for x in text.splitlines() if x.startswith("repeat: system=v ")]
    assert line == ["repeat: system=v models=4 noise_sd_pct=4.37 median_abs_diff_pct=4.50 "
                    "ceiling5=0.750 ceiling10=1.000 bias_mean_pct=+1.38 bias_sd_pct=3.61"]
    csv = read_csv(ok("repeat", "--csv", a, b).stdout)
    assert list(csv.columns) == dr.REPEAT_COLUMNS and list(csv["diff_pct"]) == [2, -7, 0, 10]


def test_repeat_only_models_validated_in_both(validated, tmp):
    f, _ = validated
    models = list(stored(f, "v")["model"])
    a = with_errors(f, tmp / "rep_c.h5", [1.0, 2.0, 3.0, 4.0])
    b = with_errors(f, tmp / "rep_d.h5", [1.0, 2.0, 3.0, 4.0], unvalidated={models[1]})
    with dr.open_results(a) as ra, dr.open_results(b) as rb:
        rows, s = dr.repeatability(dr.select_estimates(ra, "v"), dr.select_estimates(rb, "v"))
    assert list(rows["model"]) == [m for m in models if m != models[1]]
    # the same errors twice: no noise, every model within the ceiling, the bias their spread
    assert s["noise_sd_pct"] == 0 and s["ceiling5"] == 1.0
    assert s["bias_sd_pct"] == pytest.approx(float(np.std([1.0, 3.0, 4.0], ddof=1)))


def test_repeat_errors(validated, two, tmp):
    f, _ = validated
    p = report("repeat", f, two)  # systems v and a, b: none in both
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr.startswith(f"error: {f}: no model validated in both") and \
        p.stderr.count("\n") == 1, p.stderr
    p = report("repeat", "--system", "zz", f, f)
    assert p.returncode == 1 and "system 'zz' is not in both files" in p.stderr, p.stderr
    p = report("repeat", two, two)  # not validated
    assert p.returncode == 1 and "no model validated in both" in p.stderr, p.stderr


def test_repeat_warns_about_other_settings(validated, tmp):
    f, _ = validated

    def other(h):
        ds = h["systems/v/estimates"]
        a = ds[()]
        a["settings"] = [x + b" G=9" for x in a["settings"]]
        ds[...] = a
    g = copy_with(f, tmp / "rep_other.h5", other)
    p = ok("repeat", f, g)
    assert p.stderr.startswith(f"warning: {g}: system v: other settings than {f} (") and \
        p.stderr.rstrip().endswith("diff is not noise alone"), p.stderr
    assert ok("repeat", f, f).stderr == ""


def test_summary_picks_the_newest_run_or_the_filter(tmp):
    f = tmp / "runs3.h5"
    dlb("--system-name", "s", "-o", f, ZOO)                                    # median
    dlb("--system-name", "s", "-o", f, "--resume", "--stat", "min", ZOO)       # min
    dlb("--system-name", "s", "-o", f, "--resume", "--min-time-ms", "50", ZOO)  # other settings
    with dr.open_results(f) as r:
        runs = list(r.runs()["run_id"])
        every = r.estimates("s")
        assert len(every) == 3 * len(MODELS) and len(runs) == 3
        sel = dr.select_estimates(r)
        assert len(sel) == len(MODELS) and set(sel["run_id"]) == {runs[2]}
        mins = dr.select_estimates(r, stat="min")
        assert set(mins["run_id"]) == {runs[1]} and set(mins["stat"]) == {"min"}
        old = every["settings"].iloc[0]
        first = dr.select_estimates(r, stat="median", settings=old)
        assert set(first["run_id"]) == {runs[0]} and len(first) == len(MODELS)
        assert dr.system_settings(r, "s") == sel["settings"].iloc[0] != old
    text = ok("summary", f).stdout
    assert f"({2 * len(MODELS)} other rows not shown" in text and "stat: median" in text
    assert "min_time_ms=50 " in text
    assert "stat: min" in ok("summary", f, "--stat", "min").stdout
    df = read_csv(ok("summary", "--csv", f, "--stat", "median", "--settings", old).stdout)
    assert list(df["model"]) == list(first["model"])
    assert np.array_equal(df["estimate_ms"], first["estimate_ms"])
    none = ok("summary", "--csv", f, "--stat", "nope").stdout
    assert none.splitlines() == [",".join(SUMMARY_COLUMNS)]


def test_compare_two_files(pair, tmp):
    fx, fy = pair
    t = csv_tables(ok("compare", "--csv", "--top", "1000", fx, fy).stdout)
    assert list(t) == ["models", "ops", "bricks"]
    mo, ops, br = t["models"], t["ops"], t["bricks"]
    assert list(mo.columns) == ["base", "other", "model", "batch", "base_ms", "other_ms", "ratio"]
    assert list(ops.columns) == ["base", "other", "op", "bricks", "base_ms", "other_ms", "ratio",
                                 "base_zoo_ms", "other_zoo_ms", "zoo_ratio"]
    assert list(br.columns) == ["base", "other", "id", "op", "key", "base_ms", "other_ms",
                                "delta_ms", "occurrences", "delta_total_ms", "share", "models"]
    for df in (mo, ops, br):
        assert set(df["base"]) == {"x"} and set(df["other"]) == {"y"}
    ex, ey = stored(fx, "x"), stored(fy, "y")
    assert len(mo) == len(MODELS)
    assert np.array_equal(mo["base_ms"], ex["estimate_ms"])  # the stored estimates
    assert np.array_equal(mo["other_ms"], ey["estimate_ms"])
    assert np.allclose(mo["ratio"], mo["other_ms"] / mo["base_ms"]) and (mo["ratio"] >= 1).all()
    assert (mo["ratio"] > 1).sum() == len(MODELS) - 1  # tiny_transformer has no conv
    o = ops.set_index("op")
    assert np.isclose(o.loc["conv", "ratio"], 3) and (o.drop("conv")["ratio"] == 1.0).all()
    assert np.allclose(o["base_ms"] * o["ratio"], o["other_ms"])
    # the bricks explain the difference: all of it, conv only, largest |delta x count| first
    assert np.isclose(br["delta_total_ms"].sum(), (mo["other_ms"] - mo["base_ms"]).sum(),
                      rtol=1e-9, atol=0)
    assert np.isclose(br["share"].sum(), 1.0)
    assert list(br["delta_total_ms"].abs()) == sorted(br["delta_total_ms"].abs(), reverse=True)
    assert np.allclose(br["delta_total_ms"], br["delta_ms"] * br["occurrences"])
    assert set(br[br["delta_ms"] != 0]["op"]) == {"conv"} == set(br.head(5)["op"])
    occ = occurrences_h5(fx)
    assert len(br) == len(occ)
    for row in br.itertuples():
        n, names = occ[int(row.id, 16)]
        assert row.occurrences == n
        assert {m.split("(")[0] for m in row.models.split("; ")} == names
    top = csv_tables(ok("compare", "--csv", fx, fy).stdout)["bricks"]  # default --top 10
    assert len(top) == 10 and list(top["id"]) == list(br["id"][:10])
    p = ok("compare", "--csv-dir", tmp / "cmp", "--top", "1000", fx, fy)
    assert len(p.stdout.splitlines()) == 3
    for name, df in t.items():
        back = pd.read_csv(tmp / "cmp" / f"compare_{name}.csv", float_precision="round_trip")
        pd.testing.assert_frame_equal(back, df)
    text = ok("compare", fx, fy).stdout
    assert text.startswith("compare: y vs x (ratio = time on y / time on x")
    for what in ("per model", "per op", "bricks that explain the difference"):
        assert what in text
    for row in mo.itertuples():
        assert any(x.split()[:2] == [row.model, str(row.batch)]
                   and x.split()[-1] == f"{row.ratio:.3f}" for x in text.splitlines())


def test_compare_one_file_two_systems(two):
    t = csv_tables(ok("compare", "--csv", two).stdout)
    assert len(t["models"]) == 2 * len(MODELS) and (t["models"]["ratio"] == 1.0).all()
    assert (t["ops"]["ratio"] == 1.0).all() and (t["bricks"]["delta_ms"] == 0).all()
    assert t["bricks"]["share"].isna().all() and len(t["bricks"]) == 10
    assert set(t["models"]["base"]) == {"a"} and set(t["models"]["other"]) == {"b"}
    assert "compare: b vs a" in ok("compare", two).stdout
    t = csv_tables(ok("compare", "--csv", two, "--system", "b", "--system", "a").stdout)
    assert set(t["models"]["base"]) == {"b"} and set(t["models"]["other"]) == {"a"}


def test_compare_more_than_two_systems(pair, two, tmp):
    fx, fy = pair
    t = csv_tables(ok("compare", "--csv", fx, fy, two).stdout)
    mo = t["models"]
    assert set(mo["base"]) == {"x"} and list(dict.fromkeys(mo["other"])) == ["y", "a", "b"]
    assert (mo.groupby("other").size() == len(MODELS)).all()  # batch 1 only in x.h5
    assert np.allclose(mo[mo["other"] != "y"]["ratio"], 1.0)
    assert ok("compare", fx, fy, two).stdout.count("compare: ") == 3
    copy = tmp / "two_copy.h5"  # the same names in two files: FILE:NAME labels
    shutil.copy(two, copy)
    t = csv_tables(ok("compare", "--csv", two, copy, "--system", f"{copy}:b",
                      "--system", "a").stdout)
    assert set(t["models"]["base"]) == {f"{copy}:b"}
    assert list(dict.fromkeys(t["models"]["other"])) == [f"{two}:a", f"{copy}:a"]


BRICKS_COLUMNS = ["system", "id", "op", "key", "median_ms", "occurrences", "total_ms", "share",
                  "n_models", "models", "flops", "bytes", "threads"]


def test_bricks_top(pair, two):
    fx, _ = pair
    df = read_csv(ok("bricks", "--csv", "--top", "5", fx).stdout)
    assert list(df.columns) == BRICKS_COLUMNS and len(df) == 5 and set(df["system"]) == {"x"}
    assert list(df["total_ms"]) == sorted(df["total_ms"], reverse=True)
    assert np.allclose(df["total_ms"], df["median_ms"] * df["occurrences"])
    occ = occurrences_h5(fx)
    with h5py.File(fx, "r") as h:
        b = h["systems/x/bricks"][()]
    every = sorted((float(m) * occ.get(int(i), (0,))[0] for i, m in zip(b["id"], b["median_ms"])),
                   reverse=True)
    assert np.allclose(df["total_ms"], every[:5])
    assert np.allclose(df["share"], df["total_ms"] / sum(every))
    for row in df.itertuples():
        n, names = occ[int(row.id, 16)]
        assert row.occurrences == n and row.n_models == len(row.models.split("; "))
        assert {m.split("(")[0] for m in row.models.split("; ")} == names
    assert len(read_csv(ok("bricks", "--csv", fx).stdout)) == 20  # default --top
    both = read_csv(ok("bricks", "--csv", "--top", "3", two).stdout)
    assert list(both["system"]) == ["a"] * 3 + ["b"] * 3
    text = ok("bricks", "--top", "3", two).stdout
    assert "system a: top 3 bricks" in text and "system b: top 3 bricks" in text
    assert all(f"{i}" in text for i in both["id"])


# --- unstable: measurement sanity ------------------------------------------------------------
def zoo_ids():
    """The unique brick ids of the tiny zoo (16 hex digits), from the dry run."""
    out = dlb("--dry-run", "--csv", ZOO).stdout
    df = pd.read_csv(io.StringIO(out), dtype=str, keep_default_na=False)
    return sorted(set(df["brick"]) - {""})


@pytest.fixture(scope="session")
def noisy(tmp):
    """Systems n and q in one file.  On n, the bricks whose id starts with the most common first
    hex digit stay unstable (DLB_DUMMY_NOISY: samples over +-10 %, so the median's CI is ~16 %
    wide after two re-measurements), and those of the next digit are measured again once, then
    stable (DLB_DUMMY_UNSTABLE).  q (added with --resume) has neither.  Returns the file, all
    ids, the ids that must be flagged and the ids measured again once."""
    ids = zoo_ids()
    digits = [d for d, _ in collections.Counter(i[0] for i in ids).most_common()]
    assert len(digits) >= 2
    f = tmp / "noisy.h5"
    dlb("--system-name", "n", "-o", f, ZOO,
        env={"DLB_DUMMY_NOISY": digits[0], "DLB_DUMMY_UNSTABLE": digits[1]})
    dlb("--system-name", "q", "-o", f, "--resume", ZOO)
    flagged = {i for i in ids if i.startswith(digits[0])}
    again = {i for i in ids if i.startswith(digits[1])}
    assert flagged and again and len(flagged) < len(ids)
    return f, ids, flagged, again


def test_unstable_threshold_is_the_c_one():
    src = (REPO / "src" / "cli" / "bricks.c").read_text()
    m = re.search(r"#define DLB_UNSTABLE_CI_WIDTH ([0-9.]+)", src)
    assert m and float(m.group(1)) == dr.UNSTABLE_CI_WIDTH


def test_unstable_module(noisy):
    f, ids, flagged, again = noisy
    with dr.open_results(f) as r, h5py.File(f, "r") as h:
        t = dr.brick_stability(r, "n")
        assert list(t.columns) == dr.STABILITY_COLUMNS
        hx = [f"{int(i):016x}" for i in t["id"]]
        assert sorted(hx) == ids
        assert {i for i, u in zip(hx, t["unstable"]) if u} == flagged  # exactly
        want = {i: 2 if i in flagged else 1 if i in again else 0 for i in ids}
        assert [want[i] for i in hx] == list(t["remeasured"])
        # the C rule, recomputed: flagged iff the CI is wider than the threshold
        assert list(t["unstable"] == 1) == list(t["ci_width"] > dr.UNSTABLE_CI_WIDTH)
        raw = h["systems/n/bricks"][()]
        assert np.array_equal(t["id"], raw["id"])  # one row per brick, file order
        assert np.array_equal(t["cv"], raw["stddev_ms"] / raw["mean_ms"])
        assert np.array_equal(t["ci_width"],
                              (raw["ci_high_ms"] - raw["ci_low_ms"]) / raw["median_ms"])
        noisy_rows = t[t["unstable"] == 1]
        assert (noisy_rows["cv"] > 0.05).all() and (noisy_rows["ci_width"] > 0.15).all()
        assert (t[t["unstable"] == 0]["cv"] == 0).all()  # the dummy's other bricks: no spread
        st = dr.stability_summary(t)
        assert st == {"bricks": len(ids), "unstable": len(flagged),
                      "unstable_share": len(flagged) / len(ids),
                      "remeasured": len(flagged | again), "oversubscribed": 0,
                      "ci_width_threshold": 0.05}
        q = dr.stability_summary(dr.brick_stability(r, "q"))
        assert (q["bricks"], q["unstable"], q["remeasured"]) == (len(ids), 0, 0)


UNSTABLE_SYSTEMS = ["system", "bricks", "unstable", "unstable_share", "remeasured",
                    "oversubscribed", "ci_width_threshold", "settings"]


def test_unstable_csv(noisy):
    f, ids, flagged, again = noisy
    tabs = csv_tables(ok("unstable", "--csv", f).stdout)
    assert list(tabs) == ["systems", "bricks"]
    sy, br = tabs["systems"], tabs["bricks"]
    assert list(sy.columns) == UNSTABLE_SYSTEMS and list(sy["system"]) == ["n", "q"]
    assert list(sy["bricks"]) == [len(ids)] * 2 and list(sy["unstable"]) == [len(flagged), 0]
    assert list(sy["remeasured"]) == [len(flagged | again), 0]
    assert list(sy["oversubscribed"]) == [0, 0] and (sy["ci_width_threshold"] == 0.05).all()
    assert sy["unstable_share"].iloc[0] == len(flagged) / len(ids)
    assert sy["settings"].str.startswith("backend=dummy ").all()
    assert list(br.columns) == ["system"] + dr.STABILITY_COLUMNS
    assert set(br["system"]) == {"n"} and set(br["id"]) == flagged and len(br) == len(flagged)
    assert (br["unstable"] == 1).all() and (br["remeasured"] == 2).all()
    assert list(br["ci_width"]) == sorted(br["ci_width"], reverse=True)
    every = csv_tables(ok("unstable", "--csv", "--all", f).stdout)["bricks"]
    assert list(every["system"]) == ["n"] * len(ids) + ["q"] * len(ids)
    assert set(every[every["unstable"] == 1]["id"]) == flagged
    q = csv_tables(ok("unstable", "--csv", "--system", "q", f).stdout)
    assert list(q["systems"]["system"]) == ["q"] and q["bricks"].empty


def test_unstable_text(noisy):
    f, ids, flagged, again = noisy
    p = report_process("unstable", f)  # the program itself, once
    assert p.returncode == 0 and p.stderr == "", p.stderr
    assert p.stdout == ok("unstable", f).stdout
    text = p.stdout
    assert "wider than 5% of the median" in text
    assert {i for i in ids if i in text} == flagged
    lines = [x for x in text.splitlines() if x.startswith("stability: ")]
    assert lines == [
        f"stability: system=n bricks={len(ids)} unstable={len(flagged)} "
        f"unstable_share={len(flagged) / len(ids):.3f} remeasured={len(flagged | again)} "
        f"oversubscribed=0 ci_width_threshold=0.05",
        f"stability: system=q bricks={len(ids)} unstable=0 unstable_share=0.000 remeasured=0 "
        f"oversubscribed=0 ci_width_threshold=0.05"]
    for i in flagged:  # id op median cv ci_width reps remeasured oversub key...
        row = [x.split() for x in text.splitlines() if x.split()[:1] == [i]]
        assert len(row) == 1 and row[0][4:8] == ["15.6%", "10", "2", "0"], row
    assert "system q: bricks flagged unstable" in text and "(none)" in text
    assert {i for i in ids if i in ok("unstable", "--all", f).stdout} == set(ids)


def test_unstable_oversubscribed(noisy, tmp):
    f, ids, flagged, again = noisy

    def mark(h):  # as if the bricks of `again` had been timed on an oversubscribed rank
        ds = h["systems/n/bricks"]
        a = ds[()]
        a["oversubscribed"] = [f"{int(i):016x}" in again for i in a["id"]]
        ds[...] = a

    g = copy_with(f, tmp / "oversub.h5", mark)
    sy = csv_tables(ok("unstable", "--csv", "--all", g).stdout)
    assert list(sy["systems"]["oversubscribed"]) == [len(again), 0]
    b = sy["bricks"]
    assert set(b[(b["system"] == "n") & (b["oversubscribed"] == 1)]["id"]) == again
    assert f"oversubscribed={len(again)} " in ok("summary", g).stdout


def test_summary_shows_unstable(noisy, two):
    f, ids, flagged, again = noisy
    text = ok("summary", f).stdout
    want = [x for x in ok("unstable", f).stdout.splitlines() if x.startswith("stability: ")]
    assert [x for x in text.splitlines() if x.startswith("stability: ")] == want
    assert f"stability: system=n bricks={len(ids)} unstable={len(flagged)} " in text
    one = ok("summary", "--system", "q", f).stdout
    assert [x for x in one.splitlines() if x.startswith("stability: ")] == want[1:]
    assert "unstable=0 " in ok("summary", two).stdout


def test_unstable_real_run(real):
    """oneDNN timings: whatever was flagged, the report agrees with the C rule, row for row."""
    p = ok("unstable", "--csv", "--all", real)
    t = csv_tables(p.stdout)
    b, sy = t["bricks"], t["systems"]
    assert len(b) == sy["bricks"].iloc[0] > 0
    assert list(b["unstable"] == 1) == list(b["ci_width"] > dr.UNSTABLE_CI_WIDTH)
    assert sy["unstable"].iloc[0] == (b["unstable"] == 1).sum()
    assert ((b["remeasured"] >= 0) & (b["remeasured"] <= 2)).all()


PNG = b"\x89PNG\r\n\x1a\n"
ALL_PLOTS = {"estimate_vs_measured.png", "error_by_model.png", "systems.png", "roofline.png",
             "op_time.png"}


def assert_plots(p, d, names):
    assert p.returncode == 0, p.stderr
    assert {x.name for x in d.iterdir()} == names
    for x in d.iterdir():
        assert x.stat().st_size > 1000 and x.read_bytes()[:8] == PNG
    for skipped in ALL_PLOTS - names:
        assert f"note: {skipped} skipped" in p.stderr


def test_plot_validated(validated, tmp):
    d = tmp / "plots_v"
    assert_plots(report("plot", validated[0], "-o", d), d, ALL_PLOTS - {"systems.png"})


def test_plot_two_systems_not_validated(two, tmp):
    d = tmp / "plots_two"
    p = report("plot", two, "-o", d, "--peak-gflops", "1000", "--peak-gbps", "50")
    assert_plots(p, d, {"systems.png", "roofline.png", "op_time.png"})


def test_real_run_summary_and_plot(real, tmp):
    df = read_csv(ok("summary", "--csv", real).stdout)
    assert list(df.columns) == SUMMARY_COLUMNS and len(df) == 1
    row = df.iloc[0]
    assert (row["system"], row["model"], row["batch"]) == ("r", "tiny_resnet", 1)
    assert np.isfinite(row["estimate_ms"]) and row["estimate_ms"] > 0 and row["coverage"] == 1
    assert np.isnan(row["measured_ms"]) and np.isnan(row["error_pct"])
    assert row["estimate_ms"] == stored(real, "r")["estimate_ms"].iloc[0]
    assert_compose_equals_stored(real, rows=1)  # oneDNN timings, still the same sum
    with dr.open_results(real) as r:
        assert (r.bricks("r")["impl"] != "dummy").all()
    assert "tiny_resnet" in ok("summary", real).stdout
    d = tmp / "plots_real"
    assert_plots(report("plot", real, "-o", d), d, {"roofline.png", "op_time.png"})


def test_host_probe_real_run(real, two):
    """The host probe of a oneDNN run: rank 0 at the start and the end, as stored and printed."""
    with dr.open_results(real) as r:
        hp = r.host_probe()
        summ = dr.host_probe_summary(r)
    assert list(hp[["rank", "system", "when"]].itertuples(index=False, name=None)) == \
        [(0, "r", "start"), (0, "r", "end")]
    assert hp["ok"].all() and (hp["gflops"] > 0).all() and (hp["stream_gbs"] > 0).all()
    assert (hp["stream_mib"] >= 48).all()  # three arrays of at least 16 MiB
    assert len(summ) == 1 and summ["ranks"][0] == 1
    assert summ["start_gflops"][0] == hp["gflops"][0] and summ["end_stream_gbs"][0] == \
        hp["stream_gbs"][1]
    lines = [x for x in ok("summary", real).stdout.splitlines() if x.startswith("host:")]
    s = summ.iloc[0]
    assert lines == [f"host: system=r run={s.run_id} ranks=1 start_gflops={s.start_gflops:.2f} "
                     f"end_gflops={s.end_gflops:.2f} start_stream_gbs={s.start_stream_gbs:.2f} "
                     f"end_stream_gbs={s.end_stream_gbs:.2f}"]
    with dr.open_results(two) as r:  # the dummy backend times no probe
        assert r.host_probe().empty and dr.host_probe_summary(r).empty
    assert "host:" not in ok("summary", two).stdout


PROBE_TEXT = ("rank=0 when=start gflops=10.00 compute_ms=26.8 stream_gbs=8.00 stream_ms=300 "
              "stream_mib=768\nrank=0 when=end gflops=20.00 compute_ms=13.4 stream_gbs=6.00 "
              "stream_ms=400 stream_mib=768\nrank=1 when=start failed\nrank=1 when=end "
              "gflops=40.00 compute_ms=6.7 stream_gbs=2.00 stream_ms=1200 stream_mib=768\n"
              "rank=2 when=start gflops=30.00 compute_ms=8.9 stream_gbs=9.00 stream_ms=270 "
              "stream_mib=768\nrank=2 when=end gflops=30.00 compute_ms=8.9 stream_gbs=9.00 "
              "stream_ms=270 stream_mib=768\n")


def with_probe(src, dst, systems, coordinator=-1):
    """A copy of src whose first run has PROBE_TEXT for three ranks of these systems (rank
    coordinator: a dedicated coordinator)."""
    def edit(h):
        run = next(iter(h["runs"].values()))
        run.attrs["host_probe"] = PROBE_TEXT
        run.attrs["ranks"] = "".join(f"rank={i} host=h system={s} binding=0 threads=1 "
                                     f"oversubscribed=0"
                                     + (" coordinator-only" if i == coordinator else "") + "\n"
                                     for i, s in enumerate(systems))
    return copy_with(src, dst, edit)


def test_host_probe_medians_by_hand(validated, tmp):
    """Medians over each system's ranks, a failed probe left out: system v has ranks 0 and 1
    (rank 1's start failed), w has rank 2."""
    f, _ = validated
    a = with_probe(f, tmp / "probe_a.h5", ["v", "v", "w"])
    with dr.open_results(a) as r:
        hp = r.host_probe()
        summ = dr.host_probe_summary(r).set_index("system")
    assert len(hp) == 6 and list(hp["ok"]) == [True, True, False, True, True, True]
    assert math.isnan(hp["gflops"][2])
    v, w = summ.loc["v"], summ.loc["w"]
    assert (v.ranks, v.start_gflops, v.end_gflops) == (2, 10.0, 30.0)  # end: median of 20, 40
    assert (v.start_stream_gbs, v.end_stream_gbs) == (8.0, 4.0)
    assert (w.ranks, w.start_gflops, w.end_stream_gbs) == (1, 30.0, 9.0)
    # repeat shows each file's host state before its summary line
    b = with_probe(with_errors(f, tmp / "probe_e.h5", [1.0, 2.0, 3.0, 4.0]),
                   tmp / "probe_b.h5", ["v", "v", "w"])
    text = ok("repeat", a, b).stdout.splitlines()
    host = [x for x in text if x.startswith("host: system=v ")]
    assert len(host) == 2 and f"file={a} " in host[0] and f"file={b} " in host[1], host
    assert host[0].endswith("ranks=2 start_gflops=10.00 end_gflops=30.00 start_stream_gbs=8.00 "
                            "end_stream_gbs=4.00"), host[0]
    first_repeat = next(i for i, x in enumerate(text) if x.startswith("repeat: system=v "))
    assert text.index(host[1]) < first_repeat
    # a dedicated coordinator times no bricks: left out of the medians, as dlbricks-mpi does
    c = with_probe(f, tmp / "probe_c.h5", ["v", "v", "w"], coordinator=1)
    with dr.open_results(c) as r:
        assert list(r.host_probe()["coordinator"]) == [False, False, True, True, False, False]
        v = dr.host_probe_summary(r).set_index("system").loc["v"]
    assert (v.ranks, v.start_gflops, v.end_gflops, v.end_stream_gbs) == (1, 10.0, 20.0, 6.0)


def assert_one_line_error(p, path, reason):
    assert p.returncode == 1 and p.stdout == "", (p.stdout, p.stderr)
    assert p.stderr.splitlines() == [p.stderr.strip()], p.stderr
    assert p.stderr.startswith(f"error: {path}: {reason}"), p.stderr


def argv(cmd, f, tmp):
    return [cmd, f] + (["-o", tmp / "plots_err"] if cmd == "plot" else [])


COMMANDS = ["summary", "compare", "bricks", "unstable", "plot"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_errors_bad_files(cmd, two, tmp):
    missing = tmp / "missing.h5"
    assert_one_line_error(report(*argv(cmd, missing, tmp)), missing, "no such file")
    text = tmp / "notes.txt"
    text.write_text("not hdf5\n")
    assert_one_line_error(report(*argv(cmd, text, tmp)), text, "not an HDF5 file")
    other = tmp / "other.h5"
    with h5py.File(other, "w") as h:
        h.create_group("x")
    assert_one_line_error(report(*argv(cmd, other, tmp)), other, "not a dlbricks results file")
    v99 = tmp / "v99.h5"
    if not v99.exists():
        copy_with(two, v99, lambda h: h.attrs.modify("format_version", np.int32(99)))
    assert_one_line_error(report(*argv(cmd, v99, tmp)), v99,
                          "format_version 99, but this reader reads format_version 2 or 3 or 4")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_errors_unknown_system(cmd, two, tmp):
    assert_one_line_error(report(*argv(cmd, two, tmp), "--system", "zz"), two,
                          "no system 'zz' (systems: a, b)")


def test_errors_compare_and_plot(two, validated, tmp):
    f = validated[0]
    assert_one_line_error(report("compare", f), f, "compare needs two systems, found only 'v'")
    assert_one_line_error(report("compare", two, "--system", "a"), two,
                          "compare needs two systems")
    missing = tmp / "missing.h5"
    assert_one_line_error(report("compare", two, missing), missing, "no such file")
    plain = tmp / "plain_file"
    plain.write_text("")
    assert_one_line_error(report("plot", two, "-o", plain), plain, "not a directory")
    assert_one_line_error(report("compare", two, "--csv-dir", plain), plain, "not a directory")
    assert_one_line_error(report_process("bricks", missing), missing, "no such file")
    for bad in ([], [two], ["summary"], ["plot", two], ["bricks", two, "--top", "0"],
                ["compare", two, "--csv", "--csv-dir", tmp]):
        p = report(*bad)  # usage errors: argparse, exit status 2
        assert p.returncode == 2 and p.stdout == "" and "usage:" in p.stderr, bad


def test_wrong_format_version_module(two, tmp):
    f = copy_with(two, tmp / "v98.h5", lambda h: h.attrs.modify("format_version", np.int32(98)))
    with pytest.raises(dr.ResultsError, match="format_version 98, but this reader reads"):
        dr.open_results(f)
