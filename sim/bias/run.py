"""Run the bias atlas: one JSON file per (estimator, law, alpha, n) cell, resumable.

Estimators come from the registry ``ahtga.tail.ESTIMATORS`` at run time and are called through
``ahtga.tail.estimate(x, estimator=name, seed=..., **options)``: one implementation of each
estimator, shared with the optimizer. Names asked for but not (yet) registered are skipped
with a note. Estimators that take signed data (``stable_mmo``, or any registered callable with
a true ``takes_signed`` attribute) receive the signed sample; the others its absolute values.

Work is grouped by (law, alpha, n): each replication's sample is drawn once and handed to every
pending estimator of that group; each estimator's file is then written atomically (``.tmp`` then
``os.replace``), so an interrupted run leaves only complete files and a rerun does only the
missing cells. A file counts as done when its replications and options match the request.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import pathlib
import platform
import subprocess
import time
import warnings
from typing import Callable

import numpy as np

from ahtga._validation import check_int

from .cells import SCALES, Cell, draw, estimator_seed, target

SIGNED_NAMES = {"stable_mmo"}
SCHEMA = 1


# ----------------------------------------------------------------------------- registry access
def _tail_module():
    import ahtga.tail as tail

    if hasattr(tail, "ESTIMATORS") and hasattr(tail, "estimate"):
        return tail
    try:                                   # registry written but not yet exported
        import ahtga.tail.api as api
    except ImportError:
        raise RuntimeError("ahtga.tail has no ESTIMATORS/estimate yet: the bias atlas needs the "
                           "estimator registry (docs/CONTRACTS.md)") from None
    return api


def default_registry() -> tuple[dict, Callable]:
    """``(ESTIMATORS, estimate)`` from ``ahtga.tail``; a clear error if they are not there yet."""
    tail = _tail_module()
    return tail.ESTIMATORS, tail.estimate


def takes_signed(name: str, fn) -> bool:
    """True for estimators of signed data: a ``takes_signed`` attribute on the registered
    callable, else membership of ``ahtga.tail.SIGNED`` (fallback: ``{"stable_mmo"}``)."""
    flag = getattr(fn, "takes_signed", None)
    if flag is not None:
        return bool(flag)
    try:
        signed = getattr(_tail_module(), "SIGNED", SIGNED_NAMES)
    except RuntimeError:
        signed = SIGNED_NAMES
    return name in signed


def resolve_estimators(requested, registry: dict) -> tuple[list[str], list[str]]:
    """Registered names to run (in the registry's order) and requested names that are missing."""
    if not requested:
        return list(registry), []
    missing = [n for n in requested if n not in registry]
    return [n for n in registry if n in requested], missing


# ----------------------------------------------------------------------------- files
def write_json_atomic(path: pathlib.Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=1, allow_nan=False))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def is_done(path: pathlib.Path, reps: int, options: dict) -> bool:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (rec.get("schema") == SCHEMA and rec["config"]["reps"] == reps
            and rec["config"]["options"] == options)


def code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=pathlib.Path(__file__).parent, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ----------------------------------------------------------------------------- statistics
def _finite_or_none(v):
    return float(v) if v is not None and math.isfinite(v) else None


def summarise(estimates: list, tgt: float) -> dict:
    """bias, sd, RMSE over the finite estimates; infinities and failures are counted apart."""
    vals = np.array([e for e in estimates if e is not None and math.isfinite(e)], float)
    n_inf = sum(1 for e in estimates if e is not None and math.isinf(e))
    n_fail = sum(1 for e in estimates if e is None)
    out = {"n_finite": int(vals.size), "n_inf": n_inf, "n_failed": n_fail}
    if vals.size:
        mean = float(vals.mean())
        sd = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
        out.update(mean=mean, median=float(np.median(vals)), sd=sd, bias=mean - tgt,
                   rmse=float(np.sqrt(np.mean((vals - tgt) ** 2))),
                   median_bias=float(np.median(vals)) - tgt,
                   q10=float(np.quantile(vals, 0.1)), q90=float(np.quantile(vals, 0.9)))
    else:
        out.update(mean=None, median=None, sd=None, bias=None, rmse=None, median_bias=None,
                   q10=None, q90=None)
    return out


# ----------------------------------------------------------------------------- one group
def run_group(law: str, alpha: float, n: int, names: list[str], reps: int, options: dict,
              out: str, meta: dict, registry=None) -> list[str]:
    """Run every estimator in ``names`` on the ``reps`` samples of (law, alpha, n); write files."""
    import torch

    torch.set_num_threads(1)
    estimators, estimate = registry if registry is not None else default_registry()
    tgt, convention = target(law, alpha)
    rec = {nm: {"est": [], "k": [], "seeds": [], "errors": [], "warnings": 0, "seconds": 0.0}
           for nm in names}
    for r in range(reps):
        x = draw(law, alpha, n, r)
        ax = np.abs(x)
        for nm in names:
            s = estimator_seed(nm, law, alpha, n, r)
            data = x if takes_signed(nm, estimators[nm]) else ax
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    te = estimate(data, estimator=nm, seed=s, **options.get(nm, {}))
                    a, k = float(te.alpha), te.k
                except (ValueError, RuntimeError, ArithmeticError) as err:   # recorded, not fatal
                    a, k = None, None
                    if len(rec[nm]["errors"]) < 3:
                        rec[nm]["errors"].append(f"rep {r}: {type(err).__name__}: {err}")
            rec[nm]["seconds"] += time.perf_counter() - t0
            rec[nm]["warnings"] += len(caught)
            rec[nm]["est"].append(a)
            rec[nm]["k"].append(None if k is None else int(k))
            rec[nm]["seeds"].append(s)
    written = []
    for nm in names:
        cell = Cell(nm, law, alpha, n)
        r_ = rec[nm]
        obj = {
            "schema": SCHEMA,
            "cell": {"estimator": nm, "law": law, "alpha": alpha, "n": n},
            "config": {"reps": reps, "options": options.get(nm, {}),
                       "signed_input": takes_signed(nm, estimators[nm]),
                       "data": "sim.bias.cells.draw(law, alpha, n, rep), rep = 0..reps-1",
                       "data_seed": "SeedSequence([BASE_SEED, law code, round(1e4 alpha), n, rep])"},
            "target": tgt, "target_convention": convention,
            "estimates": [_finite_or_none(e) for e in r_["est"]],
            "nonfinite": ["inf" if (e is not None and math.isinf(e)) else None for e in r_["est"]],
            "k": r_["k"], "estimator_seeds": r_["seeds"],
            "errors": r_["errors"], "n_warnings": r_["warnings"],
            "seconds_per_estimate": r_["seconds"] / reps,
            "summary": summarise(r_["est"], tgt),
            "k_median": (float(np.median([k for k in r_["k"] if k is not None]))
                         if any(k is not None for k in r_["k"]) else None),
            **meta,
        }
        write_json_atomic(pathlib.Path(out) / cell.relpath, obj)
        written.append(cell.relpath)
    return written


# ----------------------------------------------------------------------------- the sweep
def plan(out: pathlib.Path, scale: str, names: list[str], options: dict,
         laws=None) -> tuple[list[tuple], int, int]:
    """Pending groups [(law, alpha, n, [names], reps)], the numbers of pending and finished cells."""
    groups, pending, done = [], 0, 0
    for (law, alpha, n), reps in SCALES[scale].reps_by_cell().items():
        if laws and law not in laws:
            continue
        todo = [nm for nm in names
                if not is_done(out / Cell(nm, law, alpha, n).relpath, reps, options.get(nm, {}))]
        done += len(names) - len(todo)
        if todo:
            groups.append((law, alpha, n, todo, reps))
            pending += len(todo)
    # Big n first, so the long groups do not end up last on one worker.
    groups.sort(key=lambda g: -g[2] * len(g[3]) * g[4])
    return groups, pending, done


def run(out, *, scale: str = "quick", estimators=None, workers: int = 1, options: dict | None = None,
        laws=None, registry=None, progress: bool = True) -> dict:
    """Run (or resume) the atlas into ``out``; returns a small record of what happened.

    ``registry`` is ``(ESTIMATORS, estimate)``; by default ``ahtga.tail``'s. With ``workers > 1``
    groups run in separate processes (each with one torch thread) and only the default registry
    can be used.
    """
    from tqdm import tqdm

    if scale not in SCALES:
        raise ValueError(f"`scale` must be one of {sorted(SCALES)}; got scale={scale!r}")
    workers = check_int("workers", workers, min_value=1)
    if registry is not None and workers > 1:
        raise ValueError("`registry` can only be injected with workers=1")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.rglob("*.tmp"):             # left by a run killed while writing
        stale.unlink()
    options = options or {}
    reg = registry if registry is not None else default_registry()
    names, missing = resolve_estimators(estimators, reg[0])
    for m in missing:
        print(f"note: estimator {m!r} is not in ahtga.tail.ESTIMATORS yet; skipped", flush=True)
    groups, pending, done = plan(out, scale, names, options, laws)
    meta = {"scale": scale, "code_version": code_version(), "python": platform.python_version(),
            "machine": platform.machine()}
    t0 = time.perf_counter()
    bar = tqdm(total=pending + done, initial=done, unit="cell", disable=not progress,
               desc=f"bias atlas ({scale})")
    try:
        if workers == 1:
            for law, alpha, n, todo, reps in groups:
                run_group(law, alpha, n, todo, reps, options, str(out), meta, registry)
                bar.update(len(todo))
        else:
            with cf.ProcessPoolExecutor(max_workers=workers) as ex:
                futs = {ex.submit(run_group, law, alpha, n, todo, reps, options, str(out), meta):
                        len(todo) for law, alpha, n, todo, reps in groups}
                try:
                    for f in cf.as_completed(futs):
                        f.result()
                        bar.update(futs[f])
                except BaseException:
                    for f in futs:
                        f.cancel()
                    raise
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    info = {"scale": scale, "estimators": names, "missing": missing, "ran_cells": pending,
            "skipped_cells": done, "wall_seconds": wall, "workers": workers}
    write_json_atomic(out / f"_run_{scale}.json", info)
    return info
