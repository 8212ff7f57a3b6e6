#!/usr/bin/python3
"""torch_bench.py — whole-model latency of torchvision models in PyTorch (CPU, batch 1).

Usage: /usr/bin/python3 tests/bench/peers/torch_bench.py [--threads T] [--min-time-ms MS]
           [--min-reps N] [--warmup W] [--mode eager,ts] MODEL...

For each model: torchvision.models.MODEL() with random weights, eval(), under torch.no_grad().
  eager  the nn.Module as it is
  ts     torch.jit.trace -> torch.jit.freeze -> torch.jit.optimize_for_inference
Threads: torch.set_num_threads(T), torch.set_num_interop_threads(1).  Input: torch.rand of
the model's example shape (1x3x224x224 unless listed in SHAPES).  Timing rule as
dlbricks-mpi --time-model: W warm-up runs (default 5; the TorchScript profiling executor
needs a few to specialise), then runs timed one by one with time.perf_counter_ns until
their sum is >= MS ms (default 3000) and there are >= N of them (default 20).  median and
p90 are type-7 quantiles (docs/timing.md).
Output, one line per model and mode:
  torch: NAME mode=M threads=T median_ms=X min_ms=Y p90_ms=Z reps=N version=V

Note: Debian's python3-torch is built against the reference BLAS, so nn.Linear / matmul
(the whole of vit_b_16) are far from what a production PyTorch does; convolutions go
through mkldnn (oneDNN) and are representative.
"""
import argparse
import math
import sys
import time

import torch
import torchvision

SHAPES = {"inception_v3": (1, 3, 299, 299)}  # everything else here: 1x3x224x224


def quantile(sorted_x, p):  # Hyndman & Fan type 7
    n = len(sorted_x)
    h = (n - 1) * p
    lo = math.floor(h)
    if lo + 1 >= n:
        return sorted_x[-1]
    return sorted_x[lo] + (h - lo) * (sorted_x[lo + 1] - sorted_x[lo])


def time_fn(fn, x, warmup, min_time_ms, min_reps):
    for _ in range(max(1, warmup)):
        fn(x)
    times = []
    total = 0.0
    while total < min_time_ms or len(times) < max(1, min_reps):
        t0 = time.perf_counter_ns()
        fn(x)
        ms = (time.perf_counter_ns() - t0) / 1e6
        times.append(ms)
        total += ms
    times.sort()
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("-t", "--threads", type=int, default=1)
    ap.add_argument("--min-time-ms", type=float, default=3000)
    ap.add_argument("--min-reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--mode", default="eager,ts", help="comma list of eager, ts")
    args = ap.parse_args()
    modes = [m for m in args.mode.split(",") if m]
    for m in modes:
        if m not in ("eager", "ts"):
            ap.error(f"unknown mode {m}")

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)
    rc = 0
    for name in args.models:
        try:
            model = getattr(torchvision.models, name)().eval()
        except AttributeError:
            print(f"torch_bench: unknown torchvision model {name}", file=sys.stderr)
            rc = 1
            continue
        x = torch.rand(*SHAPES.get(name, (1, 3, 224, 224)))
        with torch.no_grad():
            for mode in modes:
                if mode == "eager":
                    fn = model
                else:
                    ts = torch.jit.trace(model, x)
                    ts = torch.jit.freeze(ts.eval())
                    fn = torch.jit.optimize_for_inference(ts)
                t = time_fn(fn, x, args.warmup, args.min_time_ms, args.min_reps)
                print(f"torch: {name} mode={mode} threads={args.threads} "
                      f"median_ms={quantile(t, 0.5):.4f} min_ms={t[0]:.4f} "
                      f"p90_ms={quantile(t, 0.9):.4f} reps={len(t)} version={torch.__version__}",
                      flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
