"""Goodness of fit: ``ahtga.tail.gof`` against the ``powerlaw`` package (same method, Clauset,
Shalizi and Newman 2009), in one process.

Data: a lognormal body with a Pareto(1.5) tail above 3 (half the sample each), fixed seed.
Two rows, each printed as a time ratio powerlaw / ours:

- n = 1e5: ours does the whole job (x_min scan on its grid of tail sizes, then the likelihood
  ratios against exponential, lognormal and stretched exponential); powerlaw is given our x_min
  (``Fit(x, xmin=...)``) and only fits and compares -- a lower bound on its cost, since its own
  scan over every distinct value (n^2/2 operations) takes many minutes at this size.
- n = 5000: both do the whole job, each with its own full scan (ours switches to its grid
  above 2000 candidates, so this row also times that switch).

The bootstrap p-value (``n_boot`` refits) is not part of either row: powerlaw has none.
Skipped (with a note) when powerlaw is not installed (it is in the ``test`` extra).
"""
from __future__ import annotations

import pathlib
import time
import warnings

import numpy as np

from bench import save_json


def _data(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.lognormal(0.0, 1.0, n // 2), 3.0 * (1.0 - rng.random(n - n // 2)) ** (-1 / 1.5)]


def _ours(x):
    from ahtga.tail.gof import compare, fit_power_law
    f = fit_power_law(x)
    return f, compare(x, f)


def _theirs(x, xmin=None):
    import powerlaw
    F = powerlaw.Fit(x, xmin=xmin, verbose=0)
    comps = {k: F.distribution_compare("power_law", k) for k in
             ("exponential", "lognormal", "stretched_exponential")}
    return F, comps


def main(out_dir, *, n_big: int = 100_000, n_small: int = 5_000) -> dict:
    out_dir = pathlib.Path(out_dir)
    try:
        import powerlaw  # noqa: F401
    except ImportError:
        print("powerlaw is not installed (pip install 'ahtga[test]'): goodness-of-fit benchmark skipped")
        res = {"skipped": "powerlaw not installed"}
        save_json(out_dir, "bench_gof.json", res)
        return res
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _ours(_data(2000, 1))                          # warm-up (imports, scipy)
        _theirs(_data(300, 1))
        for label, n, fixed in (("n=1e5, powerlaw at our x_min", n_big, True),
                                ("n=5000, both scan x_min", n_small, False)):
            x = _data(n)
            t0 = time.perf_counter()
            f, c = _ours(x)
            t_ours = time.perf_counter() - t0
            t0 = time.perf_counter()
            F, C = _theirs(x, xmin=f.xmin if fixed else None)
            t_theirs = time.perf_counter() - t0
            rows[label] = {"n": n, "seconds_ours": t_ours, "seconds_powerlaw": t_theirs,
                           "ratio": t_theirs / t_ours, "xmin_ours": f.xmin,
                           "xmin_powerlaw": float(F.xmin), "alpha_ours": f.alpha,
                           "alpha_powerlaw": float(F.power_law.alpha) - 1.0,
                           "R_exponential": [c["exponential"]["R"], float(C["exponential"][0])],
                           "candidates_ours": f.candidates}
            r = rows[label]
            print(f"gof {label}: ours {t_ours:.2f} s, powerlaw {t_theirs:.2f} s -> {r['ratio']:.1f}x; "
                  f"x_min {r['xmin_ours']:.4g} / {r['xmin_powerlaw']:.4g}, tail index "
                  f"{r['alpha_ours']:.4f} / {r['alpha_powerlaw']:.4f}")
    res = {"case": "lognormal body + Pareto(1.5) tail above 3, seed 0", "rows": rows}
    save_json(out_dir, "bench_gof.json", res)
    return res


if __name__ == "__main__":
    import sys
    main(sys.argv[1] if len(sys.argv) > 1 else "bench/out")
