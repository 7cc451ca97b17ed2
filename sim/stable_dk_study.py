"""Design checks of the default ``stable_dk`` beyond the atlas (issue 14).

1. Laws outside the atlas, read by the default: exponential, lognormal(0, 1) and |N(0, 1)| at
   n in {256, 1000, 10000}, 40 samples each (numpy generator seeded 10000 + r): the median
   estimate and the share of samples the stable test accepts.  Neither law has a power-law tail.
2. The quantile set of the stable fit: ``FIT_P`` against ``FIT_P`` plus 0.995, 0.998, 0.999 where
   n (1 - p) >= 2, on the *design* replications of the atlas cells (rep R..2R-1, never used by the
   atlas; ``sim.tail_candidates.reps_for``): RMSE and the share of samples the stable test accepts.

Run: ``python -m sim.stable_dk_study --out paper/measured/atlas/_stable_dk_design.json`` (a few
minutes on one core).
"""
from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

from ahtga.tail import stable_fit as SF
from .bias.cells import draw
from .bias.run import write_json_atomic
from .tail_candidates import reps_for, target_cells

EXTRA_P = (0.995, 0.998, 0.999)
TAIL_POINTS = 2


def stable_dk_with(x: np.ndarray, fit_p) -> tuple[float, bool]:
    """``stable_dk``'s estimate with the stable fit on ``fit_p`` (the branch rule unchanged)."""
    if x.size >= SF.STABLE_MIN_N:
        fit = SF._fit(x, fit_p)
        if fit["inside"] and fit["p_value"] >= 1e-3:
            return fit["alpha"], True
    return SF.hill_type(x)[0], False


def extra_laws() -> dict:
    out = {}
    for law in ("exponential", "lognormal", "gauss"):
        for n in (256, 1000, 10_000):
            est, acc = [], 0
            for r in range(40):
                rng = np.random.default_rng(10_000 + r)
                x = {"exponential": lambda: rng.exponential(size=n),
                     "lognormal": lambda: rng.lognormal(size=n),
                     "gauss": lambda: np.abs(rng.standard_normal(n))}[law]()
                a, ok = stable_dk_with(x, SF.FIT_P)
                est.append(a)
                acc += ok
            out[f"{law}_n{n}"] = {"median": float(np.median(est)), "stable_share": acc / 40}
    return out


def quantile_sets() -> dict:
    out = {}
    for law, a, n in target_cells():
        sets = {"fit_p": SF.FIT_P,
                "fit_p_plus_extreme": SF.FIT_P + tuple(p for p in EXTRA_P if n * (1 - p) >= TAIL_POINTS)}
        row = {}
        for name, fp in sets.items():
            est, acc = [], 0
            for rep in reps_for(law, a, n, "design"):
                al, ok = stable_dk_with(np.abs(draw(law, a, n, rep)), fp)
                est.append(al)
                acc += ok
            e = np.array(est)
            row[name] = {"rmse": float(np.sqrt(np.mean((e - a) ** 2))), "stable_share": acc / len(e)}
        out[f"{law}_a{a:g}_n{n}"] = row
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = {"extra_laws": extra_laws(), "quantile_sets_design": quantile_sets()}
    res["seconds"] = time.perf_counter() - t0
    write_json_atomic(pathlib.Path(a.out), res)
    for k, v in res["extra_laws"].items():
        print(f"{k}: median {v['median']:.2f}, stable {v['stable_share']:.2f}")
    for k, v in res["quantile_sets_design"].items():
        print(k, "  ".join(f"{nm}: rmse {r['rmse']:.3f} stable {r['stable_share']:.2f}" for nm, r in v.items()))


if __name__ == "__main__":
    main()
