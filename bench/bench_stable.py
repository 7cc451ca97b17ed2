"""Benchmark: 1e6 alpha-stable draws, our CMS sampler (numpy, torch CPU) vs scipy.

Baseline: ``scipy.stats.levy_stable.rvs`` (parameterisation S1 passed through the class
attribute, restored afterwards), run in the same process. Each timing is the best of
``repeats`` runs (the machine is shared, so the minimum is the least noisy statistic).
Target: scipy / ours >= 3 on the CPU. Ratios only; no absolute time is asserted.
"""
from __future__ import annotations

import json
import pathlib
import time

import numpy as np
import torch
from scipy.stats import levy_stable

from sim.stable import stable_rvs, stable_rvs_torch

N = 1_000_000
CASES = [(1.5, 0.0), (1.2, 0.5), (1.0, 0.5)]


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(out_dir, *, n: int = N, repeats: int = 5) -> dict:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    old = levy_stable.parameterization
    levy_stable.parameterization = "S1"
    rows = []
    try:
        for alpha, beta in CASES:
            g = torch.Generator().manual_seed(0)
            t_scipy = _best(lambda: levy_stable.rvs(alpha, beta, size=n, random_state=0), repeats)
            t_np = _best(lambda: stable_rvs(alpha, beta, size=n, parameterization="S1", rng=0), repeats)
            t_torch = _best(lambda: stable_rvs_torch(alpha, beta, size=n, parameterization="S1",
                                                     generator=g), repeats)
            row = {"alpha": alpha, "beta": beta, "n": n, "scipy_s": t_scipy, "numpy_s": t_np,
                   "torch_s": t_torch, "ratio_numpy": t_scipy / t_np, "ratio_torch": t_scipy / t_torch}
            rows.append(row)
            print(f"alpha={alpha} beta={beta} n={n:.0e}: scipy {t_scipy:.3f}s, ours numpy "
                  f"{t_np:.3f}s ({row['ratio_numpy']:.1f}x), torch {t_torch:.3f}s "
                  f"({row['ratio_torch']:.1f}x)  [target >= 3x]", flush=True)
    finally:
        levy_stable.parameterization = old
    res = {"cases": rows, "target_ratio": 3.0, "torch_threads": torch.get_num_threads(),
           "min_ratio_numpy": min(r["ratio_numpy"] for r in rows),
           "min_ratio_torch": min(r["ratio_torch"] for r in rows),
           "meets_target": bool(min(min(r["ratio_numpy"], r["ratio_torch"]) for r in rows) >= 3.0)}
    tmp = out_dir / "bench_stable.json.tmp"
    tmp.write_text(json.dumps(res, indent=2))
    tmp.replace(out_dir / "bench_stable.json")
    return res


if __name__ == "__main__":
    import sys

    print(json.dumps(main(sys.argv[1] if len(sys.argv) > 1 else "bench/out"), indent=2))
