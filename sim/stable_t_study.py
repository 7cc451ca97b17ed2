"""Design study of the stable-or-Student-t choice in ``stable_t_dk`` (issue 14).

When both the stable and the Student-t model pass their goodness-of-fit tests, the default must
pick one, and at n ~ 1e3 the two overlap: the log-likelihood ratio of |Student-t(4)| samples
and of |stable| samples with alpha near 2 straddle zero (the table this module writes).  No
rule is right for both; the rule decides which cells pay.  This study measures the trade-off on
the atlas's *design* replications (rep = R..2R-1 of each issue-14 target cell, never used by the
atlas; ``sim.tail_candidates.reps_for``) for two statistics:

- ``llr``: the maximised log-likelihood ratio, t over stable; the rule "t when llr > c" is a
  Bayes choice with prior odds exp(c) for the stable law (c = 0: maximum likelihood, AIC, BIC);
- ``vuong``: Vuong's normalised ratio z = llr / (sqrt(n) sd(d_i)); "t when z > z_(1 - t_level)"
  is Vuong's one-sided test with the stable law as the null model.

For each rule it reports the RMSE of every cell and its ratio to the reference of issue 14's
target for that cell (``hill_db_te`` on the grid and the Pareto-type laws, ``hill_floor_sqrt``
on the small samples, both from the atlas's stored files: the reference's samples differ from
the design ones, so the ratios are indicative), and the worst ratio.  ``CHOSEN`` in
``ahtga.tail.stable_t`` is the rule with the smallest worst ratio here; the atlas then reports
it on its own replications.

It also reads laws outside the atlas with the default as coded (``extra``): exponential,
lognormal(0, 1), |N(0, 1)| (no power-law tail) and |Student-t| with nu = 3, 6, 10, at n in {256,
1000, 10000}, 40 samples each (numpy generator seeded 10000 + r): median estimate and the
share of each branch.

Run: ``python -m sim.stable_t_study --out paper/measured/atlas/_stable_t_design.json`` (about
ten minutes on one core; resumable per cell).
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import time
import warnings

import numpy as np
from scipy import stats

from ahtga.tail import stable_fit as SF
from ahtga.tail import stable_t as ST
from .bias.cells import draw, target
from .bias.run import write_json_atomic
from .tail_candidates import reps_for, target_cells

LEVEL = 1e-3
LLR_C = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
VUONG_LEVELS = (0.5, 0.25, 0.1, 0.05, 0.01)


def record(x: np.ndarray) -> dict:
    """The parts of ``stable_t_dk``'s decision for one sample (the estimate of every branch),
    on the sample sorted as the estimator sorts it."""
    x = np.sort(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hill = float(SF.hill_type(x)[0])
        if x.size < SF.STABLE_MIN_N:
            return {"hill": hill}
        fit = SF._fit(x)
        nu, _, ll_t, t_terms = ST._t_fit(x)
        _, p_t = ST._t_test(x, nu)
        rec = {"hill": hill, "alpha_s": fit["alpha"], "ok_s": bool(fit["inside"] and fit["p_value"] >= LEVEL),
               "nu": nu, "ok_t": bool(p_t >= LEVEL), "llr": None, "z": None}
        if rec["ok_s"] and rec["ok_t"]:
            ll_s, _, _, s_terms = ST.stable_loglik(x, fit["alpha"])
            d = t_terms - s_terms
            sd = float(np.std(d))
            rec["llr"] = float(ll_t - ll_s)
            rec["z"] = float(np.sum(d) / (math.sqrt(x.size) * sd)) if sd > 0 else 0.0
    return rec


def decide(rec: dict, stat: str, thr: float) -> float:
    """The estimate under the rule "t when ``stat`` > ``thr``" (else the branch rule as coded)."""
    if "ok_s" not in rec:
        return rec["hill"]
    if rec["ok_s"] and rec["ok_t"]:
        return rec["nu"] if rec[stat] > thr else rec["alpha_s"]
    if rec["ok_s"]:
        return rec["alpha_s"]
    if rec["ok_t"]:
        return rec["nu"]
    return rec["hill"]


def rules() -> list[tuple[str, str, float]]:
    out = [(f"llr>{c:g}", "llr", c) for c in LLR_C]
    out += [(f"vuong@{lv:g}", "z", float(stats.norm.isf(lv))) for lv in VUONG_LEVELS]
    out.append(("stable_only", "llr", math.inf))
    return out


def reference_rmse(atlas: pathlib.Path, law: str, a: float, n: int) -> float | None:
    name = "hill_floor_sqrt" if n <= 512 else "hill_db_te"
    path = atlas / name / f"{law}_a{a:g}_n{n}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text()).get("summary", {}).get("rmse")


def run(out: pathlib.Path, atlas: pathlib.Path) -> dict:
    res = json.loads(out.read_text()) if out.exists() else {"cells": {}}
    res["version"] = {"level": LEVEL, "stable_log_odds_coded": ST.STABLE_LOG_ODDS}
    for law, a, n in target_cells():
        key = f"{law}_a{a:g}_n{n}"
        if key in res["cells"]:
            continue
        t0 = time.perf_counter()
        recs = [record(np.abs(draw(law, a, n, rep))) for rep in reps_for(law, a, n, "design")]
        res["cells"][key] = {"law": law, "alpha": a, "n": n, "records": recs,
                             "reference_rmse": reference_rmse(atlas, law, a, n),
                             "seconds": time.perf_counter() - t0}
        write_json_atomic(out, res)
        print(f"{key}: {len(recs)} samples in {time.perf_counter() - t0:.0f} s", flush=True)
    res["rules"] = evaluate(res)
    if "extra" not in res:
        res["extra"] = extra_laws()
    write_json_atomic(out, res)
    return res


def evaluate(res: dict) -> dict:
    table = {}
    for name, stat, thr in rules():
        cells, worst = {}, (0.0, None)
        for key, c in res["cells"].items():
            tgt = target(c["law"], c["alpha"])[0]
            est = np.array([decide(r, stat, thr) for r in c["records"]], dtype=float)
            rmse = float(np.sqrt(np.mean((est - tgt) ** 2)))
            ref = c["reference_rmse"]
            ratio = rmse / ref if ref else None
            cells[key] = {"rmse": rmse, "ratio": ratio}
            if ratio is not None and ratio > worst[0]:
                worst = (ratio, key)
        table[name] = {"worst_ratio": worst[0], "worst_cell": worst[1], "cells": cells}
    return table


EXTRA_LAWS = ("exponential", "lognormal", "gauss", "t3", "t6", "t10")


def extra_laws(reps: int = 40) -> dict:
    out = {}
    for law in EXTRA_LAWS:
        for n in (256, 1000, 10_000):
            est, branches = [], {}
            for r in range(reps):
                rng = np.random.default_rng(10_000 + r)
                if law.startswith("t"):
                    x = np.abs(rng.standard_t(float(law[1:]), n))
                else:
                    x = {"exponential": lambda: rng.exponential(size=n),
                         "lognormal": lambda: rng.lognormal(size=n),
                         "gauss": lambda: np.abs(rng.standard_normal(n))}[law]()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    a, _, d = ST.stable_t_dk(x)
                est.append(a)
                branches[d["branch"]] = branches.get(d["branch"], 0) + 1
            out[f"{law}_n{n}"] = {"median": float(np.median(est)),
                                  "branches": {k: v / reps for k, v in sorted(branches.items())}}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.stable_t_study", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("paper/measured/atlas/_stable_t_design.json"))
    ap.add_argument("--atlas", type=pathlib.Path, default=pathlib.Path("paper/measured/atlas"))
    args = ap.parse_args(argv)
    res = run(args.out, args.atlas)
    for name, r in res["rules"].items():
        t4 = r["cells"].get("student_t_a4_n1000", {})
        s19 = r["cells"].get("stable_a1.9_n1000", {})
        print(f"{name:12s} worst ratio {r['worst_ratio']:.2f} ({r['worst_cell']}); t4 n=1e3 RMSE "
              f"{t4.get('rmse', float('nan')):.2f}; stable 1.9 n=1e3 {s19.get('rmse', float('nan')):.2f}")
    for key, v in res["extra"].items():
        print(f"{key:18s} median {v['median']:.2f}  " + ", ".join(f"{b} {s:.0%}" for b, s in v["branches"].items()))


if __name__ == "__main__":
    main()
