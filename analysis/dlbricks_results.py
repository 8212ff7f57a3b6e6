"""dlbricks_results: read a dlbricks-mpi HDF5 results file (docs/hdf5.md) into pandas DataFrames."""
import collections
import json
import math
import os

import h5py
import numpy as np
import pandas as pd

KNOWN_FORMAT_VERSIONS = (2, 3, 4)
_NUMPY = {"u64": np.uint64, "i64": np.int64, "i32": np.int32, "f64": np.float64, "str": object}
TABLES = ("bricks", "estimates", "layers", "model_bricks")
# dlbricks-mpi flags a brick unstable (bricks column 'unstable') when the 95 % CI of its median
# is wider than this share of the median, even after measuring it again: DLB_UNSTABLE_CI_WIDTH in
# src/cli/bricks.c (docs/timing.md).  The flag in the file is the C decision; this is only the
# threshold the reports name and the relative CI width they show is compared with.
UNSTABLE_CI_WIDTH = 0.05

Comparison = collections.namedtuple("Comparison", "models ops bricks only_base only_other")


class ResultsError(Exception):
    """A file that cannot be read as a results file; str() is 'FILE: reason'."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def _decode(v):
    return v.decode("utf-8", "replace") if isinstance(v, (bytes, np.bytes_)) else str(v)


def _attrs(g):
    """A group's attributes as name -> str, in creation order ('name' left out)."""
    return {k: _decode(v) if not isinstance(v, str) else v
            for k, v in g.attrs.items() if k != "name"}


def _named(parent):
    """[(original name, group)] of a group's subgroups, in creation order."""
    if parent is None:
        return []
    out = []
    for link, g in parent.items():
        if isinstance(g, h5py.Group):
            out.append((_decode(g.attrs["name"]) if "name" in g.attrs else link, g))
    return out


def open_results(path):
    """Open a results file; use as a context manager (`with open_results(p) as r:`)."""
    return Results(path)


class Results:
    """One results file, open read-only.  Tables come back as fresh DataFrames."""

    def __init__(self, path):
        self.path = str(path)
        if not os.path.exists(self.path):
            raise ResultsError(self.path, "no such file")
        if os.path.isdir(self.path):
            raise ResultsError(self.path, "is a directory")
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as e:
            try:
                hdf5 = h5py.is_hdf5(self.path)
            except OSError:
                hdf5 = True
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ResultsError(self.path, "not an HDF5 file" if not hdf5
                               else f"cannot open ({msg})") from None
        try:
            self._check()
        except ResultsError:
            self._f.close()
            raise

    def _check(self):
        a = self._f.attrs
        if "format_version" not in a:
            raise ResultsError(self.path, "not a dlbricks results file (no format_version)")
        try:
            self.format_version = int(np.asarray(a["format_version"]).reshape(-1)[0])
        except (TypeError, ValueError, IndexError):
            raise ResultsError(self.path, "format_version is not an integer") from None
        if self.format_version not in KNOWN_FORMAT_VERSIONS:
            known = " or ".join(str(v) for v in KNOWN_FORMAT_VERSIONS)
            raise ResultsError(self.path, f"format_version {self.format_version}, "
                                          f"but this reader reads format_version {known}")
        try:
            self.schema = json.loads(_decode(a["schema"]) if "schema" in a else "")
            tables = self.schema["tables"]
            self.columns = {t: [(c["name"], c["type"]) for c in tables[t]] for t in TABLES}
            sv = self.schema["format_version"]
        except (ValueError, KeyError, TypeError):
            raise ResultsError(self.path, "missing or malformed schema attribute") from None
        if sv != self.format_version:
            raise ResultsError(self.path, f"schema is format_version {sv}, "
                                          f"file is format_version {self.format_version}")
        for t, cols in self.columns.items():
            bad = [n for n, ty in cols if ty not in _NUMPY]
            if bad:
                raise ResultsError(self.path, f"schema table {t}: unknown type of {bad[0]}")
        self._systems = dict(_named(self._f.get("systems")))
        self._runs = _named(self._f.get("runs"))
        self._models = []  # (model, batch, group) in creation order
        for name, mg in _named(self._f.get("models")):
            for link, bg in mg.items():
                self._models.append((name, self._batch_of(bg, link), bg))

    def _batch_of(self, bg, link):
        """The batch of a b<batch> group: its 'batch' attribute (format 2) if present, else
        the number in the link name."""
        try:
            if "batch" in bg.attrs:
                return int(_decode(bg.attrs["batch"]))
            if not link.startswith("b"):
                raise ValueError(link)
            return int(link[1:])
        except ValueError:
            raise ResultsError(self.path, f"{bg.name}: bad batch group '{link}' (expected "
                                          f"b<N> or an integer 'batch' attribute)") from None

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- schema ------------------------------------------------------------------------------
    def units(self, table):
        """{column: unit} of a table, from the schema."""
        return {c["name"]: c["unit"] for c in self.schema["tables"][table]}

    def docs(self, table):
        """{column: description} of a table, from the schema."""
        return {c["name"]: c["doc"] for c in self.schema["tables"][table]}

    def _table(self, group, dsname, table):
        """A compound dataset as a DataFrame, checked against the schema; strings decoded."""
        cols = self.columns[table]
        ds = group.get(dsname) if group is not None else None
        if ds is None:  # a missing dataset reads as empty (as the C reader does)
            return pd.DataFrame({n: pd.Series([], dtype=_NUMPY[t]) for n, t in cols})
        names = list(ds.dtype.names or ())
        if names != [n for n, _ in cols]:
            raise ResultsError(self.path, f"{ds.name}: columns {names} differ from the schema "
                                          f"of table {table}")
        arr = ds[()]
        df = pd.DataFrame({n: (arr[n] if t != "str" else [_decode(v) for v in arr[n]])
                           for n, t in cols}, columns=[n for n, _ in cols])
        for n, t in cols:
            want = np.dtype(_NUMPY[t])
            got = df[n].dtype
            if t != "str" and (got.kind, got.itemsize) == (want.kind, want.itemsize):
                df[n] = df[n].astype(want)  # e.g. big-endian from another writer
            elif t != "str":
                raise ResultsError(self.path, f"{ds.name}: column {n} is {df[n].dtype}, "
                                              f"schema says {t}")
            if t == "str":
                df[n] = df[n].astype(object)
        df.attrs["units"] = self.units(table)
        return df

    def _system(self, system):
        if system not in self._systems:
            raise KeyError(f"no system {system!r} (systems: {', '.join(self._systems) or 'none'})")
        return self._systems[system]

    def _model(self, model, batch):
        for m, b, g in self._models:
            if m == model and b == int(batch):
                return g
        raise KeyError(f"no model {model!r} at batch {batch}")

    def _per_system(self, system, dsname, table):
        names = [system] if system is not None else list(self._systems)
        frames = []
        for s in names:
            df = self._table(self._system(s), dsname, table)
            df.insert(0, "system", pd.Series([s] * len(df), dtype=object))
            frames.append(df)
        if not frames:
            frames = [self._table(None, dsname, table)]
            frames[0].insert(0, "system", pd.Series([], dtype=object))
        out = pd.concat(frames, ignore_index=True)
        out.attrs["units"] = self.units(table)
        return out

    # --- accessors ---------------------------------------------------------------------------
    def systems(self):
        """One row per system: its name and identity attributes."""
        return pd.DataFrame([{"system": s, **_attrs(g)} for s, g in self._systems.items()],
                            columns=None if self._systems else ["system"])

    def runs(self):
        """One row per run: run_id and its provenance attributes."""
        return pd.DataFrame([{"run_id": r, **_attrs(g)} for r, g in self._runs],
                            columns=None if self._runs else ["run_id"])

    def host_probe(self):
        """One row per run, rank and time of the host probe (docs/timing.md, "Host probe"):
        run_id, rank, system (from the run's 'ranks' attribute), coordinator (a dedicated
        coordinator: it times no bricks), when ('start' or 'end'), ok, gflops, compute_ms,
        stream_gbs, stream_ms, stream_mib (NaN where the probe failed).  Runs without a probe
        (--no-host-probe, older files) have no rows."""
        rows = []
        for run_id, g in self._runs:
            a = _attrs(g)
            systems, coordinators = {}, set()
            for line in a.get("ranks", "").splitlines():
                kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
                if "rank" in kv:
                    systems[int(kv["rank"])] = kv.get("system")
                    if "coordinator-only" in line.split():
                        coordinators.add(int(kv["rank"]))
            for line in a.get("host_probe", "").splitlines():
                kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
                ok = "gflops" in kv
                rank = int(kv["rank"])
                row = {"run_id": run_id, "rank": rank, "system": systems.get(rank),
                       "coordinator": rank in coordinators, "when": kv["when"], "ok": ok}
                for k in _PROBE_FIGURES:
                    row[k] = float(kv[k]) if ok else math.nan
                rows.append(row)
        return pd.DataFrame(rows, columns=["run_id", "rank", "system", "coordinator", "when",
                                           "ok", *_PROBE_FIGURES])

    def models(self):
        """One row per (model, batch) decomposition: model, batch (int), view ('fuse=F G=K':
        the 'view' attribute, or made from 'fuse' / 'granularity' in files without it), then
        the other attributes (strings)."""
        rows = []
        for m, b, g in self._models:
            a = _attrs(g)
            a.pop("batch", None)
            rows.append({"model": m, "batch": b, "view": view_of(a),
                         **{k: v for k, v in a.items() if k != "view"}})
        return pd.DataFrame(rows, columns=None if rows else ["model", "batch", "view"])

    def bricks(self, system=None):
        """Brick rows of one system, or of all systems concatenated; a 'system' column first."""
        return self._per_system(system, "bricks", "bricks")

    def estimates(self, system=None):
        """Estimate rows of one system, or of all systems; a 'system' column first."""
        return self._per_system(system, "estimates", "estimates")

    def layers(self, model, batch):
        """The decomposition of (model, batch): one row per layer."""
        return self._table(self._model(model, batch), "layers", "layers")

    def model_bricks(self, model, batch):
        """The bricks of (model, batch) with their occurrence counts."""
        return self._table(self._model(model, batch), "bricks", "model_bricks")

    def current_bricks(self, system, settings=None):
        """The row that counts per brick id: the last 'ok' row (for these settings if given)."""
        b = self.bricks(system)
        b = b[b["status"] == "ok"]
        if settings is not None:
            b = b[b["settings"] == settings]
        return b.drop_duplicates("id", keep="last").reset_index(drop=True)

    def samples(self, system, brick_id, settings=None):
        """The raw samples (ms) of the row that counts for brick_id on system."""
        b = self.current_bricks(system, settings)
        row = b[b["id"] == np.uint64(brick_id)]
        if row.empty:
            raise KeyError(f"no ok row for brick {int(brick_id):016x} on system {system!r}")
        start, n = int(row["sample_start"].iloc[0]), int(row["n_samples"].iloc[0])
        ds = self._system(system).get("samples")
        return np.asarray(ds[start:start + n] if n > 0 else [], dtype=np.float64)


def parse_settings(settings):
    """'backend=dummy dtype=f32 ... G=1' -> dict of str."""
    return dict(t.split("=", 1) for t in settings.split() if "=" in t)


def view_of(attrs):
    """The decomposition view of a model entry, 'fuse=F G=K': its 'view' attribute (format 2)
    if present, else made from its 'fuse' and 'granularity' attributes ('?' where absent)."""
    if attrs.get("view"):
        return attrs["view"]
    return f"fuse={attrs.get('fuse', '?')} G={attrs.get('granularity', '?')}"


def _decomposition_matches(attrs, settings):
    """Whether a decomposition (model attributes) was made under these settings (same fuse
    and G; a key missing on either side does not count against it)."""
    s, v = parse_settings(settings), parse_settings(view_of(attrs))
    return all(s.get(k, v[k]) == v[k] or v[k] == "?" for k in ("fuse", "G") if k in v)


def _pick_settings(results, model, batch, system, attrs):
    """The settings compose() uses by default (see compose)."""
    order = run_order(results)
    est = results.estimates(system)
    est = est[(est["model"] == model) & (est["batch"] == batch)]
    cands = [(order.get(r, -1), s) for s, r in zip(est["settings"], est["run_id"])
             if _decomposition_matches(attrs, s)]
    if not cands:
        b = results.bricks(system)
        b = b[b["status"] == "ok"]
        cands = [(i, s) for i, s in enumerate(b["settings"]) if _decomposition_matches(attrs, s)]
    if not cands:
        raise ValueError(f"{model} b{batch}: system {system!r} has no bricks or estimates for "
                         f"the stored decomposition (fuse={attrs.get('fuse')} "
                         f"G={attrs.get('granularity')})")
    return max(cands)[1]


def compose(results, model, batch, system, stat="median", settings=None):
    """CHECKING TOOL ONLY: recompose the estimate of (model, batch) on system from the stored
    decomposition and the system's bricks (the last ok row per brick id for the settings), the
    way dlbricks-mpi does, to prove that the stored estimates are that sum (tests) or to ask
    "what if" with another stat.  Reports (dlbricks-report summary / compare) never use it:
    they read the estimates dlbricks-mpi stored (select_estimates), so there is one
    composition, the C one.

    settings=None takes the settings of the system's estimate of (model, batch) whose fuse / G
    match the stored decomposition (the newest run's if several), else of its newest ok bricks.
    Returns a Series: model, batch, system, stat, settings, estimate_ms, ci_low_ms, ci_high_ms,
    coverage, n_layers, n_uncovered (the estimates table's meanings).  Summed with math.fsum
    (correctly rounded, order-independent), as in C (src/util/fsum.c), so estimate_ms equals
    the stored value bit for bit, from the layers table or from brick counts alike."""
    col = f"{stat}_ms"
    if col not in dict(results.columns["bricks"]):
        raise ValueError(f"unknown stat {stat!r}: the bricks table has no column {col}")
    batch = int(batch)
    attrs = _attrs(results._model(model, batch))
    if settings is None:
        settings = _pick_settings(results, model, batch, system, attrs)
    elif not _decomposition_matches(attrs, settings):
        raise ValueError(f"{model} b{batch}: the stored decomposition (fuse={attrs.get('fuse')} "
                         f"G={attrs.get('granularity')}) was not made with settings {settings!r}")
    cur = results.current_bricks(system, settings).set_index("id")
    ids = [int(i) for i in cur.index]
    val, lo, hi = (dict(zip(ids, cur[c])) for c in (col, "ci_low_ms", "ci_high_ms"))
    layers = results.layers(model, batch)
    terms = ([], [], [])  # estimate, CI low, CI high: summed with fsum at the end
    uncovered, fl = 0, 0
    if len(layers):
        for bid, start, flops in zip(layers["brick_id"], layers["piece_start"], layers["flops"]):
            bid = int(bid)
            if bid == 0 or bid not in val:
                uncovered += 1
                continue
            fl += int(flops)
            if start:
                for t, d in zip(terms, (val, lo, hi)):
                    t.append(d[bid])
        total = int(attrs["flops"]) if "flops" in attrs else int(layers["flops"].sum())
        coverage = fl / total if total > 0 else 0.0
        if uncovered and coverage >= 1:
            coverage = 0.999
        n_layers = len(layers)
    else:  # counts only: the same correctly rounded sum
        mb = results.model_bricks(model, batch)
        for bid, n in zip(mb["brick_id"].map(int), mb["count"]):
            if bid in val:
                for t, d in zip(terms, (val, lo, hi)):
                    t.extend([d[bid]] * int(n))
            else:
                uncovered += int(n)
        coverage = math.nan  # n_uncovered counts brick occurrences here, not layers
        n_layers = int(attrs["n_layers"]) if "n_layers" in attrs else int(mb["count"].sum())
    est, ci_low, ci_high = (math.fsum(float(x) for x in t) for t in terms)
    return pd.Series({"model": model, "batch": batch, "system": system, "stat": stat,
                      "settings": settings, "estimate_ms": est, "ci_low_ms": ci_low,
                      "ci_high_ms": ci_high, "coverage": coverage, "n_layers": n_layers,
                      "n_uncovered": uncovered})


_PROBE_FIGURES = ("gflops", "compute_ms", "stream_gbs", "stream_ms", "stream_mib")


def host_probe_summary(results):
    """Per run and system: the medians over its ranks that time bricks (as dlbricks-mpi's
    host: line) of the host probe's GFLOP/s and GB/s at the start and the end (columns
    start_gflops, end_gflops, start_stream_gbs, end_stream_gbs), and how many ranks."""
    hp = results.host_probe()
    hp = hp[~hp["coordinator"].astype(bool)]
    cols = ["run_id", "system", "ranks", "start_gflops", "end_gflops", "start_stream_gbs",
            "end_stream_gbs"]
    if hp.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    order = run_order(results)
    for (run_id, system), g in hp.groupby(["run_id", "system"], sort=False, dropna=False):
        row = {"run_id": run_id, "system": system, "ranks": int(g["rank"].nunique())}
        for when in ("start", "end"):
            w = g[(g["when"] == when) & g["ok"]]
            row[f"{when}_gflops"] = float(w["gflops"].median()) if len(w) else math.nan
            row[f"{when}_stream_gbs"] = float(w["stream_gbs"].median()) if len(w) else math.nan
        rows.append(row)
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("run_id", key=lambda c: c.map(order), kind="stable",
                           ignore_index=True)


def run_order(results):
    """{run_id: position in /runs (creation order)}: larger is newer."""
    return {r: i for i, r in enumerate(results.runs()["run_id"])}


def select_estimates(results, system=None, stat=None, settings=None):
    """The stored estimate rows to report: one per (system, model, batch).

    Estimates are keyed by (model, batch, settings, stat), so a file may hold several rows for
    one model and batch on a system (runs with other settings or --stat).  stat / settings
    (exact strings) filter first; of what is left, the row of the newest run (order of /runs;
    the later row on a tie) is kept.  Rows keep the estimates table's columns, 'system' first,
    in the file's order."""
    e = results.estimates(system)
    if stat is not None:
        e = e[e["stat"] == stat]
    if settings is not None:
        e = e[e["settings"] == settings]
    order = run_order(results)
    e = e.assign(_run=[order.get(r, -1) for r in e["run_id"]], _pos=range(len(e)))
    keep = (e.sort_values(["_run", "_pos"], kind="stable")
            .drop_duplicates(["system", "model", "batch"], keep="last")["_pos"])
    out = e[e["_pos"].isin(set(keep))].drop(columns=["_run", "_pos"]).reset_index(drop=True)
    out.attrs["units"] = results.units("estimates")
    return out


def validated(est):
    """Estimate rows that count for accuracy, as dlbricks-mpi's 'accuracy:' line counts them:
    measured whole (measured_reps > 0), with an error, and fully covered."""
    return est[(est["measured_reps"] > 0) & np.isfinite(est["measured_median_ms"])
               & np.isfinite(est["error_pct"]) & (est["n_uncovered"] == 0)]


def accuracy(est):
    """dlbricks-mpi's accuracy and noise figures over validated(est) (one system's rows), or
    None when nothing is validated: models, within5, within10 (shares of |error_pct| <= 5 / 10),
    geomean (of close_estimate / measured, what error_pct is about), mean_abs_error,
    noise_median_pct (the upper median, as in C), noise_max_pct, main_geomean (estimate /
    measured, drift included)."""
    v = validated(est)
    if v.empty:
        return None
    err = v["error_pct"].abs()
    meas = v["measured_median_ms"]
    noise = np.sort(v["noise_floor_pct"].to_numpy())
    return {"models": len(v), "within5": float((err <= 5).mean()),
            "within10": float((err <= 10).mean()),
            "geomean": math.exp(np.log(v["close_estimate_ms"] / meas).mean()),
            "mean_abs_error": float(err.mean()),
            "noise_median_pct": float(noise[len(noise) // 2]),
            "noise_max_pct": float(noise.max()),
            "main_geomean": math.exp(np.log(v["estimate_ms"] / meas).mean())}


REPEAT_COLUMNS = ["system", "model", "batch", "error_a_pct", "error_b_pct", "diff_pct",
                  "mean_error_pct", "noise_a_pct", "noise_b_pct"]


def repeatability(est_a, est_b):
    """Two validations of the same models (est_a, est_b: select_estimates rows of two runs with
    the same settings) split each model's error into what the method gets wrong and what the
    host adds.  With error = bias + noise, noise independent between runs, diff = b - a carries
    the noise alone: one run's noise has the spread of diff / sqrt(2).

    Returns (rows, summary).  rows: REPEAT_COLUMNS, one per (system, model, batch) validated in
    both.  summary (None without rows): models; noise_sd_pct (sqrt(mean(diff^2) / 2));
    median_abs_diff_pct; ceiling5 / ceiling10 (share of |diff| / sqrt(2) <= 5 / 10: what a
    method without bias would score in one run at this noise); bias_mean_pct (mean of
    mean_error); bias_sd_pct (spread of the models' own errors with the noise taken out:
    sqrt(max(0, var(mean_error) - mean(diff^2) / 4)), NaN under two models)."""
    keys = ["system", "model", "batch"]
    cols = keys + ["error_pct", "noise_floor_pct"]
    m = validated(est_a)[cols].merge(validated(est_b)[cols], on=keys, suffixes=("_a", "_b"))
    rows = pd.DataFrame({
        "system": m["system"], "model": m["model"], "batch": m["batch"],
        "error_a_pct": m["error_pct_a"], "error_b_pct": m["error_pct_b"],
        "diff_pct": m["error_pct_b"] - m["error_pct_a"],
        "mean_error_pct": (m["error_pct_a"] + m["error_pct_b"]) / 2,
        "noise_a_pct": m["noise_floor_pct_a"], "noise_b_pct": m["noise_floor_pct_b"]},
        columns=REPEAT_COLUMNS).reset_index(drop=True)
    if rows.empty:
        return rows, None
    d = rows["diff_pct"].to_numpy()
    half = np.abs(d) / math.sqrt(2)
    msq = float(np.mean(d * d))
    me = rows["mean_error_pct"].to_numpy()
    bias_sd = (math.sqrt(max(0.0, float(np.var(me, ddof=1)) - msq / 4)) if len(me) >= 2
               else math.nan)
    return rows, {"models": len(rows), "noise_sd_pct": math.sqrt(msq / 2),
                  "median_abs_diff_pct": float(np.median(np.abs(d))),
                  "ceiling5": float(np.mean(half <= 5)), "ceiling10": float(np.mean(half <= 10)),
                  "bias_mean_pct": float(me.mean()), "bias_sd_pct": bias_sd}


def system_settings(results, system, est=None):
    """The settings whose bricks a report shows for a system: those of its newest selected
    estimate row (est: select_estimates rows, all systems or this one; default all), else of
    its newest ok brick row; None if it has neither."""
    est = select_estimates(results, system) if est is None else est
    est = est[est["system"] == system]
    if len(est):
        order = run_order(results)
        runs = [order.get(r, -1) for r in est["run_id"]]
        return est["settings"].iloc[max(range(len(runs)), key=lambda i: (runs[i], i))]
    b = results.bricks(system)
    b = b[b["status"] == "ok"]
    return b["settings"].iloc[-1] if len(b) else None


def brick_occurrences(results, models=None):
    """Occurrences of every brick over the stored decompositions (/models/*/b*/bricks counts):
    brick_id (uint64), occurrences (int64), n_models, models ('model(bN)xC; ...', in file
    order).  models: an iterable of (model, batch) to restrict to (default: all)."""
    want = None if models is None else {(m, int(b)) for m, b in models}
    occ, used = {}, {}
    for m in results.models().itertuples():
        if want is not None and (m.model, int(m.batch)) not in want:
            continue
        mb = results.model_bricks(m.model, m.batch)
        for bid, n in zip(mb["brick_id"], mb["count"]):
            bid = int(bid)
            occ[bid] = occ.get(bid, 0) + int(n)
            used.setdefault(bid, []).append(f"{m.model}(b{m.batch})x{int(n)}")
    ids = list(occ)
    return pd.DataFrame({"brick_id": np.array(ids, dtype=np.uint64),
                         "occurrences": np.array([occ[i] for i in ids], dtype=np.int64),
                         "n_models": np.array([len(used[i]) for i in ids], dtype=np.int64),
                         "models": pd.Series(["; ".join(used[i]) for i in ids], dtype=object)})


def _with_occurrences(bricks, occ):
    out = bricks.merge(occ.rename(columns={"brick_id": "id"}), on="id", how="left")
    out["occurrences"] = out["occurrences"].fillna(0).astype(np.int64)
    out["n_models"] = out["n_models"].fillna(0).astype(np.int64)
    out["models"] = out["models"].fillna("").astype(object)
    return out


def top_bricks(results, system, top=20, settings=None, stat="median"):
    """The bricks that take the most time over the whole zoo on a system: the current row
    (last ok, for `settings`; default system_settings) of every brick, total_ms = its stat x
    its occurrences over all stored models, largest first, `top` of them (None: all).
    Columns: id, op, key, <stat>_ms, occurrences, total_ms, share (of the sum of total_ms over
    all of the system's bricks), n_models, models, flops, bytes, threads."""
    col = f"{stat}_ms"
    if settings is None:
        settings = system_settings(results, system)
    cur = results.current_bricks(system, settings)
    t = _with_occurrences(cur[["id", "op", "key", col, "flops", "bytes", "threads"]],
                          brick_occurrences(results))
    t["total_ms"] = t[col] * t["occurrences"]
    whole = t["total_ms"].sum()
    t["share"] = t["total_ms"] / whole if whole > 0 else math.nan
    t = t.sort_values(["total_ms", col], ascending=False, kind="stable")
    t = t[["id", "op", "key", col, "occurrences", "total_ms", "share", "n_models", "models",
           "flops", "bytes", "threads"]]
    return (t if top is None else t.head(top)).reset_index(drop=True)


def op_times(results, system, settings=None, stat="median"):
    """Time per op on a system over the whole zoo: sum over its current bricks of
    stat x occurrences in all stored models.  Series indexed by op (sorted)."""
    t = top_bricks(results, system, None, settings, stat)
    return t.groupby("op", sort=True)["total_ms"].sum()


STABILITY_COLUMNS = ["id", "op", "key", "median_ms", "mean_ms", "stddev_ms", "cv", "ci_low_ms",
                     "ci_high_ms", "ci_width", "reps", "remeasured", "unstable", "oversubscribed",
                     "rank", "host"]


def brick_stability(results, system, settings=None):
    """Measurement sanity of a system's current bricks (the last ok row per brick for
    `settings`; default system_settings), in file order, one row each: id, op, key, median_ms,
    mean_ms, stddev_ms, cv (stddev / mean; NaN where mean <= 0), ci_low_ms, ci_high_ms,
    ci_width ((ci_high - ci_low) / median, the 95 % CI of the median relative to it, as
    dlbricks-mpi computes it: 0 where median <= 0), reps, remeasured (times measured again),
    unstable (dlbricks-mpi's flag: ci_width still > UNSTABLE_CI_WIDTH), oversubscribed (timed on
    a rank that shared cores), rank, host."""
    if settings is None:
        settings = system_settings(results, system)
    b = results.current_bricks(system, settings)
    mean, med = b["mean_ms"].to_numpy(), b["median_ms"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(mean > 0, b["stddev_ms"].to_numpy() / mean, np.nan)
        width = np.where(med > 0, (b["ci_high_ms"] - b["ci_low_ms"]).to_numpy() / med, 0.0)
    out = b.assign(cv=cv, ci_width=width)[STABILITY_COLUMNS].reset_index(drop=True)
    out.attrs["settings"] = settings
    return out


def stability_summary(stab):
    """Per-system figures of brick_stability rows (one system's): bricks, unstable (flagged),
    unstable_share (of bricks; NaN without bricks), remeasured (bricks measured again at least
    once), oversubscribed (bricks timed on an oversubscribed rank), ci_width_threshold
    (UNSTABLE_CI_WIDTH)."""
    n = len(stab)
    unstable = int((stab["unstable"] != 0).sum())
    return {"bricks": n, "unstable": unstable,
            "unstable_share": unstable / n if n else math.nan,
            "remeasured": int((stab["remeasured"] > 0).sum()),
            "oversubscribed": int((stab["oversubscribed"] != 0).sum()),
            "ci_width_threshold": UNSTABLE_CI_WIDTH}


def compare_systems(ra, a, rb, b, stat=None, settings_a=None, settings_b=None, top=10):
    """Compare system b (in results rb) with system a (in results ra, the base); ra and rb may
    be the same file.  Every ratio is time on b / time on a (< 1: b is faster).

    Estimates are the stored ones (select_estimates with `stat`, settings_a / settings_b);
    bricks are the current rows (last ok) for each system's settings (system_settings unless
    given), their median.  Returns Comparison(models, ops, bricks, only_base, only_other):
      models: per (model, batch) estimated on both: model, batch, base_ms, other_ms, ratio
      ops:    per op over the bricks timed on both: op, bricks, base_ms, other_ms, ratio
              (sums of the medians), base_zoo_ms, other_zoo_ms, zoo_ratio (median x
              occurrences in the compared models, i.e. what the op adds to their estimates)
      bricks: the `top` bricks (None: all) with the largest |delta_total_ms|: id, op, key,
              base_ms, other_ms, delta_ms (other - base), occurrences (in the compared
              models), delta_total_ms (delta_ms x occurrences), share (of the sum of
              delta_total_ms over all common bricks, which is the summed difference of the
              compared models' estimates where they are fully covered), models
      only_base, only_other: number of bricks timed ok on one side only."""
    ea = select_estimates(ra, a, stat, settings_a)
    eb = select_estimates(rb, b, stat, settings_b)
    mo = ea[["model", "batch", "estimate_ms"]].merge(
        eb[["model", "batch", "estimate_ms"]], on=["model", "batch"], suffixes=("_a", "_b"))
    mo = mo.rename(columns={"estimate_ms_a": "base_ms", "estimate_ms_b": "other_ms"})
    mo["ratio"] = mo["other_ms"] / mo["base_ms"]

    sa = settings_a if settings_a is not None else system_settings(ra, a, ea)
    sb = settings_b if settings_b is not None else system_settings(rb, b, eb)
    ca, cb = ra.current_bricks(a, sa), rb.current_bricks(b, sb)
    br = ca[["id", "op", "key", "median_ms"]].merge(cb[["id", "median_ms"]], on="id",
                                                    suffixes=("_a", "_b"))
    br = br.rename(columns={"median_ms_a": "base_ms", "median_ms_b": "other_ms"})
    only_base = len(set(ca["id"]) - set(br["id"]))
    only_other = len(set(cb["id"]) - set(br["id"]))
    pairs = list(zip(mo["model"], mo["batch"])) or None
    occ = brick_occurrences(ra, pairs)
    if rb is not ra:  # decompositions only the other file has
        have = {(m.model, int(m.batch)) for m in ra.models().itertuples()}
        extra = [(m.model, int(m.batch)) for m in rb.models().itertuples()
                 if (m.model, int(m.batch)) not in have
                 and (pairs is None or (m.model, int(m.batch)) in set(pairs))]
        if extra:
            occ = (pd.concat([occ, brick_occurrences(rb, extra)], ignore_index=True)
                   .groupby("brick_id", sort=False)
                   .agg(occurrences=("occurrences", "sum"), n_models=("n_models", "sum"),
                        models=("models", "; ".join)).reset_index())
    br = _with_occurrences(br, occ)
    br["delta_ms"] = br["other_ms"] - br["base_ms"]
    br["delta_total_ms"] = br["delta_ms"] * br["occurrences"]
    whole = br["delta_total_ms"].sum()
    br["share"] = br["delta_total_ms"] / whole if whole != 0 else math.nan

    ops = (br.assign(base_zoo_ms=br["base_ms"] * br["occurrences"],
                     other_zoo_ms=br["other_ms"] * br["occurrences"])
           .groupby("op", sort=True)
           .agg(bricks=("id", "size"), base_ms=("base_ms", "sum"), other_ms=("other_ms", "sum"),
                base_zoo_ms=("base_zoo_ms", "sum"), other_zoo_ms=("other_zoo_ms", "sum"))
           .reset_index())
    ops.insert(4, "ratio", ops["other_ms"] / ops["base_ms"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ops["zoo_ratio"] = ops["other_zoo_ms"] / ops["base_zoo_ms"].where(ops["base_zoo_ms"] > 0)

    br = br.assign(_abs=br["delta_total_ms"].abs()).sort_values(
        ["_abs", "occurrences"], ascending=False, kind="stable")
    br = br[["id", "op", "key", "base_ms", "other_ms", "delta_ms", "occurrences",
             "delta_total_ms", "share", "models"]]
    if top is not None:
        br = br.head(top)
    return Comparison(mo.reset_index(drop=True), ops, br.reset_index(drop=True),
                      only_base, only_other)
