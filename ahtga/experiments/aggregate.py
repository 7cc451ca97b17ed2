"""Tables over seeds from result files: mean and a 95% Student-t interval.

For the values ``v_1..v_n`` of one metric over seeds (runs whose value is missing or that
diverged are counted separately and left out), the table gives the mean, the sample standard
deviation ``s`` (ddof 1) and the half-width ``t_{0.975, n-1} s / sqrt(n)`` of the two-sided 95%
t-interval for the mean (``None`` when n < 2).  The paper's scripts call :func:`aggregate`.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from scipy import stats as _st

from .store import read_result


def t_interval(values: Iterable[float], *, level: float = 0.95) -> dict[str, Any]:
    """``{"n", "mean", "std", "half_width", "lo", "hi"}`` of the t-interval for the mean."""
    v = [float(x) for x in values]
    if not 0 < level < 1:
        raise ValueError(f"`level` must lie in (0, 1); got level={level!r}")
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "half_width": None, "lo": None, "hi": None}
    if any(not math.isfinite(x) for x in v):
        raise ValueError(f"`values` must be finite; got {v}")
    mean = sum(v) / n
    if n < 2:
        return {"n": 1, "mean": mean, "std": None, "half_width": None, "lo": None, "hi": None}
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / (n - 1))
    hw = float(_st.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "half_width": hw, "lo": mean - hw, "hi": mean + hw}


def load_results(out: str | Path, preset: str | None = None) -> list[dict]:
    """All result files ``OUT/<preset>/<optimizer>/seed<k>.json`` (one preset or all); a file
    that cannot be parsed is left out with a RuntimeWarning (``store.read_result``)."""
    root = Path(out)
    pattern = f"{preset}/*/seed*.json" if preset else "*/*/seed*.json"
    found = (read_result(p) for p in sorted(root.glob(pattern)))
    return [r for r in found if r is not None]


def _get(d: dict, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def aggregate(out: str | Path, preset: str, metrics: Iterable[str] = ("test_acc", "test_loss", "ece"),
              *, level: float = 0.95, results: list[dict] | None = None) -> dict[str, dict[str, dict]]:
    """``{optimizer: {metric: t_interval(...) + {"seeds", "missing", "diverged"}}}`` for a preset.

    ``metrics`` are keys of a result's ``final`` dict, dotted for nested ones (e.g.
    ``"ood.auroc"``, ``"perturbations.gaussian.test_acc"``).  Optimizers keep the order in which
    the preset's config lists them.
    """
    res = results if results is not None else load_results(out, preset)
    res = [r for r in res if r.get("preset") == preset]
    order: list[str] = []
    for r in res:
        for lab in r.get("config", {}).get("optimizers", []):
            if lab not in order:
                order.append(lab)
    for r in res:
        if r["optimizer"] not in order:
            order.append(r["optimizer"])
    table: dict[str, dict[str, dict]] = {}
    for lab in order:
        runs = sorted((r for r in res if r["optimizer"] == lab), key=lambda r: r["seed"])
        if not runs:
            continue
        table[lab] = {}
        for m in metrics:
            vals, seeds, missing, diverged = [], [], 0, 0
            for r in runs:
                if r["final"].get("diverged"):
                    diverged += 1
                    continue
                v = _get(r["final"], m)
                if v is None or not isinstance(v, (int, float)) or not math.isfinite(v):
                    missing += 1
                    continue
                vals.append(float(v))
                seeds.append(r["seed"])
            table[lab][m] = {**t_interval(vals, level=level), "seeds": seeds, "missing": missing,
                             "diverged": diverged}
    return table


def format_table(table: dict[str, dict[str, dict]], *, digits: int = 4) -> str:
    """Plain-text table: one row per optimizer, ``mean ± half-width (n)`` per metric."""
    if not table:
        return "(no results)"
    metrics = list(next(iter(table.values())))
    rows = [["optimizer", *metrics]]
    for lab, ms in table.items():
        row = [lab]
        for m in metrics:
            c = ms[m]
            if c["mean"] is None:
                row.append("-")
            else:
                hw = "" if c["half_width"] is None else f" ± {c['half_width']:.{digits}f}"
                row.append(f"{c['mean']:.{digits}f}{hw} ({c['n']})")
        rows.append(row)
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows)
