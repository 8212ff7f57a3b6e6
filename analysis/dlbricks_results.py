"""dlbricks_results: read a dlbricks-mpi HDF5 results file (docs/hdf5.md) into pandas DataFrames."""
import collections
import json
import math
import os

import h5py
import numpy as np
import pandas as pd

KNOWN_FORMAT_VERSIONS = (2,)
_NUMPY = {"u64": np.uint64, "i64": np.int64, "i32": np.int32, "f64": np.float64, "str": object}
TABLES = ("bricks", "estimates", "layers", "model_bricks")

Comparison = collections.namedtuple("Comparison", "bricks ops models")


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
                try:
                    self._models.append((name, int(link[1:]), bg))
                except ValueError:
                    raise ResultsError(self.path, f"/models/{mg.name}: bad batch group "
                                                  f"'{link}' (expected b<N>)") from None

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

    def models(self):
        """One row per (model, batch) decomposition with its attributes (strings)."""
        return pd.DataFrame([{"model": m, "batch": b, **_attrs(g)} for m, b, g in self._models],
                            columns=None if self._models else ["model", "batch"])

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


def _decomposition_matches(attrs, settings):
    s = parse_settings(settings)
    return (s.get("fuse", attrs.get("fuse")) == attrs.get("fuse")
            and s.get("G", attrs.get("granularity")) == attrs.get("granularity"))


def _pick_settings(results, model, batch, system, attrs):
    """The settings compose() uses by default (see compose)."""
    order = {r: i for i, r in enumerate(results.runs()["run_id"])}
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
    """Recompose the estimate of (model, batch) on system from the stored decomposition and the
    system's bricks (the last ok row per brick id for the settings), as dlbricks-mpi does.

    settings=None takes the settings of the system's estimate of (model, batch) whose fuse / G
    match the stored decomposition (the newest run's if several), else of its newest ok bricks.
    Returns a Series: model, batch, system, stat, settings, estimate_ms, ci_low_ms, ci_high_ms,
    coverage, n_layers, n_uncovered (the estimates table's meanings).  Summed in layer order,
    as in C, so estimate_ms equals the stored value bit for bit."""
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
    est = ci_low = ci_high = 0.0
    uncovered, fl = 0, 0
    if len(layers):
        for bid, start, flops in zip(layers["brick_id"], layers["piece_start"], layers["flops"]):
            bid = int(bid)
            if bid == 0 or bid not in val:
                uncovered += 1
                continue
            fl += int(flops)
            if start:
                est, ci_low, ci_high = est + val[bid], ci_low + lo[bid], ci_high + hi[bid]
        total = int(attrs["flops"]) if "flops" in attrs else int(layers["flops"].sum())
        coverage = fl / total if total > 0 else 0.0
        if uncovered and coverage >= 1:
            coverage = 0.999
        n_layers = len(layers)
    else:  # counts only: same sum, possibly not bit-identical (other order)
        mb = results.model_bricks(model, batch)
        for bid, n in zip(mb["brick_id"].map(int), mb["count"]):
            if bid in val:
                est, ci_low = est + n * val[bid], ci_low + n * lo[bid]
                ci_high += n * hi[bid]
            else:
                uncovered += int(n)
        coverage = math.nan  # n_uncovered counts brick occurrences here, not layers
        n_layers = int(attrs["n_layers"]) if "n_layers" in attrs else int(mb["count"].sum())
    return pd.Series({"model": model, "batch": batch, "system": system, "stat": stat,
                      "settings": settings, "estimate_ms": est, "ci_low_ms": ci_low,
                      "ci_high_ms": ci_high, "coverage": coverage, "n_layers": n_layers,
                      "n_uncovered": uncovered})


def compare_systems(results, a, b, settings_a=None, settings_b=None):
    """Compare systems a and b.  ratio = time on a / time on b (> 1: b is faster).
    Returns Comparison(bricks, ops, models):
      bricks: per brick id timed ok on both: id, median_a, median_b, ratio, op, key
      ops:    per op over those bricks: op, bricks, sum_a, sum_b, ratio, geomean_ratio
      models: per (model, batch) estimated on both: model, batch, estimate_a, estimate_b, ratio
    """
    ca, cb = results.current_bricks(a, settings_a), results.current_bricks(b, settings_b)
    br = ca[["id", "median_ms", "op", "key"]].merge(cb[["id", "median_ms"]], on="id",
                                                    suffixes=("_a", "_b"))
    br = br.rename(columns={"median_ms_a": "median_a", "median_ms_b": "median_b"})
    br["ratio"] = br["median_a"] / br["median_b"]
    br = br[["id", "median_a", "median_b", "ratio", "op", "key"]]
    ops = (br.assign(log_ratio=np.log(br["ratio"]))
           .groupby("op", sort=True)
           .agg(bricks=("id", "size"), sum_a=("median_a", "sum"), sum_b=("median_b", "sum"),
                log_ratio=("log_ratio", "mean"))
           .reset_index())
    ops["ratio"] = ops["sum_a"] / ops["sum_b"]
    ops["geomean_ratio"] = np.exp(ops.pop("log_ratio"))

    def est(system, settings):
        e = results.estimates(system)
        if settings is not None:
            e = e[e["settings"] == settings]
        return e.drop_duplicates(["model", "batch"], keep="last")[["model", "batch", "estimate_ms"]]

    mo = est(a, settings_a).merge(est(b, settings_b), on=["model", "batch"], suffixes=("_a", "_b"))
    mo = mo.rename(columns={"estimate_ms_a": "estimate_a", "estimate_ms_b": "estimate_b"})
    mo["ratio"] = mo["estimate_a"] / mo["estimate_b"]
    return Comparison(br.reset_index(drop=True), ops, mo.reset_index(drop=True))
