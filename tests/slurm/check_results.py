#!/usr/bin/python3
"""check_results.py — check a results file written by a Slurm job (tests/slurm/test_slurm.sh).

Usage: check_results.py FILE.h5 --unique U [--system NAME]... [--nsystems N] [--launcher L]
                        [--threads T] [--ranks R] [--nodes N]

Every system in the file must hold all U unique bricks (status ok), exactly the bricks its
models' decompositions use; every run must record its launcher (L: srun or mpirun) and the
Slurm job in its environment. Prints one line per system; exits 1 with the reasons otherwise.
"""
import argparse
import sys

import h5py


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--unique", type=int, required=True, help="unique bricks per system")
    ap.add_argument("--system", action="append", default=[], help="expected system names")
    ap.add_argument("--nsystems", type=int, help="expected number of systems")
    ap.add_argument("--launcher", choices=("srun", "mpirun"))
    ap.add_argument("--threads", type=int, help="threads column of every brick row")
    ap.add_argument("--ranks", type=int, help="ranks per run (lines of the run's 'ranks')")
    ap.add_argument("--nodes", type=int, help="SLURM_JOB_NUM_NODES of every run")
    a = ap.parse_args()
    errors, notes = [], []

    with h5py.File(a.file, "r") as f:
        used = set()  # brick ids used by the stored decompositions
        for m in f["/models"].values():
            for b in m.values():
                used |= {int(i) for i in b["bricks"]["brick_id"]}
        if len(used) != a.unique:
            errors.append(f"the models use {len(used)} unique bricks, expected {a.unique}")

        systems = {text(g.attrs["name"]): g for g in f["/systems"].values()}
        if a.system and sorted(systems) != sorted(a.system):
            errors.append(f"systems {sorted(systems)}, expected {sorted(a.system)}")
        if a.nsystems is not None and len(systems) != a.nsystems:
            errors.append(f"{len(systems)} systems {sorted(systems)}, expected {a.nsystems}")
        for name, g in systems.items():
            rows = g["bricks"][()]
            ok = {int(i) for i, s in zip(rows["id"], rows["status"]) if s == b"ok"}
            bad = [text(s) for s in rows["status"] if s != b"ok"]
            if bad:
                errors.append(f"system {name}: {len(bad)} failed brick rows ({bad[:3]})")
            if ok != used:
                errors.append(f"system {name}: {len(ok)} ok bricks, {len(ok & used)} of the "
                              f"{len(used)} the models use, {len(ok - used)} others")
            if a.threads is not None and {int(t) for t in rows["threads"]} != {a.threads}:
                errors.append(f"system {name}: threads {sorted(set(rows['threads']))}, "
                              f"expected {a.threads}")
            print(f"system {name}: {len(ok)} bricks ok, {len(rows)} rows, "
                  f"{len(g['estimates'])} estimates")

        runs = list(f["/runs"].values())
        if not runs:
            errors.append("no run recorded")
        for r in runs:
            run = text(r.attrs["name"])
            launcher = text(r.attrs.get("launcher", ""))
            env = dict(line.split("=", 1) for line in text(r.attrs.get("environment", ""))
                       .splitlines() if "=" in line)
            if "SLURM_JOB_ID" not in env:
                errors.append(f"run {run}: no SLURM_JOB_ID in its environment attribute")
            if "OMP_NUM_THREADS" not in env:
                errors.append(f"run {run}: no OMP_NUM_THREADS in its environment attribute")
            if a.launcher == "srun" and launcher != "srun":
                errors.append(f"run {run}: launcher '{launcher}', expected 'srun'")
            if a.launcher == "mpirun" and launcher != "mpirun (Open MPI)":
                errors.append(f"run {run}: launcher '{launcher}', expected 'mpirun (Open MPI)'")
            nranks = len(text(r.attrs.get("ranks", "")).splitlines())
            if a.ranks is not None and nranks != a.ranks:
                errors.append(f"run {run}: {nranks} ranks, expected {a.ranks}")
            if a.nodes is not None and env.get("SLURM_JOB_NUM_NODES") != str(a.nodes):
                errors.append(f"run {run}: SLURM_JOB_NUM_NODES={env.get('SLURM_JOB_NUM_NODES')}"
                              f", expected {a.nodes}")
            print(f"run {run}: launcher '{launcher}', job {env.get('SLURM_JOB_ID')}, "
                  f"{nranks} ranks, nodes {env.get('SLURM_JOB_NODELIST')}")

    for n in notes:
        print(f"note: {n}")
    for e in errors:
        print(f"error: {a.file}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
