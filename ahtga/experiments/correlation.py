"""Does the tail index track generalization?  The analysis of the gradient-tail study.

Reads every result file ``RESULTS/<preset>/<label>/seed<k>.json`` whose ``final.tail_pool`` is
there (the study of :class:`ahtga.experiments.studies.PooledTails`: the grid presets of
:mod:`ahtga.experiments.tasks.tailgrid`, and any other preset run with ``tail_pool`` > 0) and
did not diverge.  Runs are grouped by what they train (data set, model, task, scale): indices
and gaps of different models are not on one scale.  Within a group:

* a *cell* is one (preset, optimizer label): its learning rate, batch size and label noise, and
  the mean over its seeds (with the seeds' spread: a 95% t interval when there are >= 2) of
  each tail index -- ``norm_alpha`` (the package default estimator on the pooled per-example
  norms), ``noise_alpha`` (the same on |U|), ``noise_mmo_alpha`` (``stable_mmo`` on the signed
  noise), each at the end (``_end``) and as the median over training (``_median``) -- and of
  the generalization gap ``gap_loss`` (test minus train loss) and, for classifiers,
  ``gap_acc`` (train minus test accuracy);
* heavy-tailed: the share of a cell's seeds whose last measurement has the index below 2 and
  the power law not rejected (goodness-of-fit p >= 0.1), for the norms and for |U|;
* correlations over cells: Spearman's rank correlation (average ranks for ties) of each index
  against each gap, and against lr/batch (the known claim "alpha falls as lr/batch grows" is
  a negative rho), each with a percentile bootstrap 95% interval (cells resampled with
  replacement, ``n_boot`` resamples from numpy's generator seeded with ``seed``; a resample
  whose ranks are constant has no correlation and is left out, ``n_valid`` counts the rest).
  ``all`` uses every cell of the group (every optimizer), ``sgd_grid`` only the SGD cells of the
  ``tailgrid`` presets when the group has other cells too, ``clean`` only the cells without
  label noise when there are noisy ones (label noise moves the gap and the tails at once).

Per-example gradients of a finite training set have no true tail; the indices describe the
empirical distributions at the sizes the study measured (equal within a group).

Command line: ``python -m ahtga.experiments.correlation RESULTS [--out FILE] [--n-boot N]
[--seed S]`` prints a summary and writes the JSON (atomically) to ``FILE`` (default
``RESULTS/tailgrid_correlation.json``).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from scipy import stats

from .._validation import check_int, check_in_range
from . import store
from .registry import PRESETS, load_plugins

__all__ = ["spearman", "bootstrap_spearman", "collect_runs", "make_cells", "analyse", "main",
           "INDICES", "GAPS"]

#: Tail indices correlated (keys of ``final.tail_pool``).
INDICES = ("norm_alpha_end", "norm_alpha_median", "noise_alpha_end", "noise_alpha_median",
           "noise_mmo_alpha_end", "noise_mmo_alpha_median")
#: Generalization gaps (keys of ``final``): test - train loss, train - test accuracy.
GAPS = {"gap_loss": "gen_gap_loss", "gap_acc": "gen_gap_acc"}
HEAVY_ALPHA, GOF_LEVEL = 2.0, 0.1
STUDY = "tailgrid"


def _pair(x, y, xname: str = "x", yname: str = "y") -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    if x.size != y.size:
        raise ValueError(f"`{xname}` and `{yname}` must have the same length; got {x.size} and {y.size}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError(f"`{xname}` and `{yname}` must be finite; got {int((~np.isfinite(x)).sum())} "
                         f"and {int((~np.isfinite(y)).sum())} non-finite value(s)")
    return x, y


def _rho_rows(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row pair of rank arrays ``[B, n]`` (NaN where a row is constant)."""
    dx = rx - rx.mean(axis=1, keepdims=True)
    dy = ry - ry.mean(axis=1, keepdims=True)
    den = np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (dx * dy).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation: the Pearson correlation of the average ranks of ``x`` and
    ``y`` (NaN when either is constant).  Needs at least 3 pairs."""
    x, y = _pair(x, y)
    if x.size < 3:
        raise ValueError(f"`x` needs at least 3 pairs for a rank correlation; got n={x.size}")
    return float(_rho_rows(stats.rankdata(x)[None], stats.rankdata(y)[None])[0])


def bootstrap_spearman(x: Sequence[float], y: Sequence[float], *, n_boot: int = 2000,
                       seed: int = 0, level: float = 0.95) -> dict[str, Any]:
    """``rho`` = :func:`spearman` (x, y) and its percentile bootstrap interval ``[lo, hi]`` at
    ``level``: the pairs resampled with replacement ``n_boot`` times (numpy's default generator
    seeded with ``seed``), ranks recomputed in each resample (ties averaged); resamples with
    constant ranks are left out (``n_valid`` counts the rest; no interval when fewer than half
    remain).  All resamples at once."""
    x, y = _pair(x, y)
    n_boot = check_int("n_boot", n_boot, min_value=1)
    check_in_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    rho = spearman(x, y)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(n_boot, x.size))
    r = _rho_rows(stats.rankdata(x[idx], axis=1), stats.rankdata(y[idx], axis=1))
    r = r[np.isfinite(r)]
    out = {"rho": None if math.isnan(rho) else rho, "lo": None, "hi": None, "n": int(x.size),
           "n_boot": n_boot, "n_valid": int(r.size), "level": level, "seed": int(seed)}
    if r.size >= n_boot / 2:
        q = (1.0 - level) / 2.0
        out["lo"], out["hi"] = float(np.quantile(r, q)), float(np.quantile(r, 1.0 - q))
    return out


# ----------------------------------------------------------------------------- reading results
def collect_runs(results: str | Path) -> list[dict[str, Any]]:
    """One flat record per result file under ``results`` that carries ``final.tail_pool`` and
    did not diverge (module docstring), sorted by (preset, label, seed)."""
    root = Path(results)
    if not root.is_dir():
        raise FileNotFoundError(f"`results` must be a results directory; got results={str(results)!r} "
                                "(not a directory)")
    runs = []
    for path in sorted(root.glob("*/*/seed*.json")):
        res = store.read_result(path)
        if not res or not isinstance(res.get("final"), dict):
            continue
        fin = res["final"]
        tp = fin.get("tail_pool")
        if not tp or fin.get("diverged"):
            continue
        cfg = res.get("config", {})
        spec = res.get("optimizer_spec", {})
        rec = {"preset": res.get("preset"), "label": res.get("optimizer"), "seed": res.get("seed"),
               "optimizer": spec.get("name"), "lr": spec.get("lr"), "batch": cfg.get("batch_size"),
               "label_noise": cfg.get("label_noise", 0.0), "study": _study(res.get("preset")),
               "group": "/".join(str(cfg.get(k)) for k in ("scale", "task", "dataset", "model")),
               "test_acc": fin.get("test_acc"), "steps": fin.get("steps"),
               "probe_s": tp.get("seconds"), "gof_s": tp.get("gof_s"),
               "run_s": res.get("timings", {}).get("total_s")}
        for key, src in GAPS.items():
            rec[key] = fin.get(src)
        for key in INDICES:
            rec[key] = tp.get(key)
        for part in ("norm", "noise"):
            rec[f"heavy_{part}"] = tp.get(f"heavy_{part}")
            rec[f"{part}_gof_p_end"] = tp.get(f"{part}_gof_p_end")
        runs.append(rec)
    return runs


def _study(preset: str | None) -> str:
    """The registered study of ``preset`` ("" when it is not registered here)."""
    load_plugins()                      # the tailgrid presets register themselves
    return PRESETS[preset].study if preset in PRESETS else ""


def _t_half(vals: list[float]) -> float | None:
    if len(vals) < 2:
        return None
    return float(stats.t.ppf(0.975, len(vals) - 1) * statistics.stdev(vals) / math.sqrt(len(vals)))


def make_cells(runs: list[dict]) -> list[dict[str, Any]]:
    """Runs -> cells (one per group, preset and label): seeds averaged (module docstring)."""
    by: dict[tuple, list[dict]] = {}
    for r in runs:
        by.setdefault((r["group"], r["preset"], r["label"]), []).append(r)
    cells = []
    for (group, preset, label), rs in sorted(by.items()):
        c = {k: rs[0][k] for k in ("group", "preset", "label", "optimizer", "lr", "batch",
                                   "label_noise", "study")}
        c["seeds"] = sorted(r["seed"] for r in rs)
        c["lr_over_batch"] = (c["lr"] / c["batch"]) if c["lr"] and c["batch"] else None
        for key in (*INDICES, *GAPS, "test_acc", "norm_gof_p_end", "noise_gof_p_end"):
            vals = [float(r[key]) for r in rs if r.get(key) is not None and math.isfinite(r[key])]
            c[key] = statistics.fmean(vals) if vals else None
            c[f"{key}_ci"] = _t_half(vals)
        for part in ("norm", "noise"):
            flags = [r[f"heavy_{part}"] for r in rs if r.get(f"heavy_{part}") is not None]
            c[f"heavy_{part}_share"] = (sum(flags) / len(flags)) if flags else None
        probe = [r["probe_s"] for r in rs if r.get("probe_s") is not None]
        total = [r["run_s"] for r in rs if r.get("run_s")]
        c["probe_share"] = (sum(probe) / sum(total)) if probe and total else None
        cells.append(c)
    return cells


def _corr(cells: list[dict], xkey: str, ykey: str, n_boot: int, seed: int) -> dict[str, Any]:
    pts = [(c[xkey], c[ykey]) for c in cells if c.get(xkey) is not None and c.get(ykey) is not None]
    if len(pts) < 3:
        return {"rho": None, "lo": None, "hi": None, "n": len(pts),
                "note": "fewer than 3 cells with both values"}
    x, y = zip(*pts)
    return bootstrap_spearman(x, y, n_boot=n_boot, seed=seed)


def _group_report(cells: list[dict], n_boot: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {"n_cells": len(cells)}
    for part in ("norm", "noise"):
        shares = [c[f"heavy_{part}_share"] for c in cells if c[f"heavy_{part}_share"] is not None]
        out[f"heavy_{part}_cells"] = sum(1 for s in shares if s >= 0.5)
        out[f"heavy_{part}_tested"] = len(shares)
    corr = {}
    for ix in INDICES:
        corr[ix] = {**{g: _corr(cells, ix, g, n_boot, seed) for g in GAPS},
                    "lr_over_batch": _corr(cells, ix, "lr_over_batch", n_boot, seed)}
    out["correlations"] = corr
    return out


def analyse(results: str | Path, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The whole analysis of the study's results under ``results`` (module docstring), as a
    JSON-able dict: ``groups`` -> {``cells``, ``all`` and, where they differ, ``sgd_grid`` and
    ``clean``}."""
    n_boot = check_int("n_boot", n_boot, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    runs = collect_runs(results)
    cells = make_cells(runs)
    groups: dict[str, Any] = {}
    for g in sorted({c["group"] for c in cells}):
        gc = [c for c in cells if c["group"] == g]
        rep = {"cells": gc, "all": _group_report(gc, n_boot, seed)}
        grid = [c for c in gc if c["study"] == STUDY and c["optimizer"] == "sgd"]
        if grid and len(grid) != len(gc):
            rep["sgd_grid"] = _group_report(grid, n_boot, seed)
        clean = [c for c in gc if not c["label_noise"]]
        if clean and len(clean) != len(gc):
            rep["clean"] = _group_report(clean, n_boot, seed)
        groups[g] = rep
    return {"results": str(results), "n_runs": len(runs), "n_boot": n_boot, "seed": seed,
            "heavy_rule": f"index < {HEAVY_ALPHA:g} and goodness-of-fit p >= {GOF_LEVEL:g} at the "
                          "last measurement", "groups": groups}


def _fmt(c: dict) -> str:
    if c.get("rho") is None:
        return "n/a" + (f" ({c['note']})" if c.get("note") else "")
    iv = f"[{c['lo']:+.2f}, {c['hi']:+.2f}]" if c.get("lo") is not None else "[no interval]"
    return f"{c['rho']:+.2f} {iv} (n={c['n']})"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ahtga.experiments.correlation",
                                 description="tail index vs generalization gap over the "
                                             "gradient-tail study's cells")
    ap.add_argument("results", help="a results directory (--out of the experiments runner)")
    ap.add_argument("--out", default=None, help="JSON file (default RESULTS/tailgrid_correlation.json)")
    ap.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of the cells")
    ap.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    args = ap.parse_args(argv)
    try:
        rep = analyse(args.results, n_boot=args.n_boot, seed=args.seed)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(args.results) / "tailgrid_correlation.json"
    store.write_json_atomic(out, rep)
    print(f"{rep['n_runs']} run(s) with the gradient-tail study under {args.results}")
    for g, gr in rep["groups"].items():
        a = gr["all"]
        print(f"\n{g}: {a['n_cells']} cell(s); heavy-tailed at the end (norms): "
              f"{a['heavy_norm_cells']}/{a['heavy_norm_tested']}, (noise |U|): "
              f"{a['heavy_noise_cells']}/{a['heavy_noise_tested']}")
        for sub in ("all", "sgd_grid", "clean"):
            if sub not in gr:
                continue
            print(f"  [{sub}: {gr[sub]['n_cells']} cells]")
            for ix in INDICES:
                cr = gr[sub]["correlations"][ix]
                print(f"  {ix:24s} vs gap_loss {_fmt(cr['gap_loss'])}; vs lr/batch "
                      f"{_fmt(cr['lr_over_batch'])}")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
