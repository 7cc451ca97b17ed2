"""Where AHTGA's controller ran: shares of steps in each branch of the exponent rule and at each
guard, from the per-step telemetry (``StepStats`` or their ``as_dict()``).

A controller that operates uses both branches (alpha above and below alpha*) and keeps gamma off
its bounds most of the time; one that sits on one side of its target with gamma at the cap is a
fixed transform in disguise.  :func:`regime_shares` answers which, for one run:

* ``above`` / ``below`` / ``equal``: share of (non-skipped) steps with alpha > alpha*,
  alpha < alpha* and alpha = alpha* (the last: a relative target's warm-up, where gamma = 0);
* ``cap`` / ``floor``: share of steps where the exponent rule's upper bound (gamma_max) or its
  lower guard (1 + gamma >= gamma_floor, or gamma_min) set gamma; a guarded gamma > 0 is the
  cap, a guarded gamma < 0 the floor;
* ``clamped``: share of estimates clamped into the tracker's range or ignored as non-finite;
* ``estimated``: share of steps with a tail estimate;
* medians of alpha, alpha*, gamma, the achieved tail index of the transformed norms
  (``alpha_transformed``, when the optimizer measured it) and the mean gamma.

Shares are over the steps given (a logger that keeps every k-th step gives shares of those).
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Iterable, Mapping

__all__ = ["REGIME_KEYS", "regime_shares", "RegimeCounter"]

#: The keys of :func:`regime_shares`'s result, in order.
REGIME_KEYS = ("steps", "above", "below", "equal", "cap", "floor", "clamped", "estimated",
               "gamma_mean", "gamma_median", "alpha_median", "alpha_star_median",
               "alpha_transformed_median")


def _as_mapping(rec: Any) -> Mapping[str, Any]:
    if isinstance(rec, Mapping):
        return rec
    if hasattr(rec, "as_dict"):
        return rec.as_dict()
    raise TypeError(f"`records` must hold StepStats or dicts; got an item of type "
                    f"{type(rec).__name__}")


def _median(vals: list[float]) -> float:
    """The median of the finite values (NaN when there is none)."""
    vals = [v for v in vals if math.isfinite(v)]
    return statistics.median(vals) if vals else math.nan


def _branch_guard(r: Mapping[str, Any]) -> tuple[str, str]:
    a, a_star, g = float(r["alpha"]), float(r["alpha_star"]), float(r["gamma"])
    branch = "above" if a > a_star else "below" if a < a_star else "equal"
    guarded = bool(r.get("gamma_guarded", False))
    guard = "cap" if guarded and g > 0 else "floor" if guarded and g < 0 else "none"
    return branch, guard


class RegimeCounter:
    """:func:`regime_shares` accumulated step by step in constant memory, for training loops
    that checkpoint: ``add(stats)`` each step, ``shares()`` at the end; ``state_dict()`` /
    ``load_state_dict()`` are plain JSON-able dicts.  Medians are not kept (they need every
    value); ``shares()`` reports means of alpha, alpha* and the achieved index instead."""

    _COUNTS = ("steps", "above", "below", "equal", "cap", "floor", "clamped", "estimated")
    _SUMS = ("gamma", "alpha", "alpha_star", "alpha_transformed")

    def __init__(self):
        self.counts = {k: 0 for k in self._COUNTS}
        self.sums = {k: 0.0 for k in self._SUMS}
        self.finite = {k: 0 for k in self._SUMS}

    def add(self, rec: Any) -> None:
        r = _as_mapping(rec)
        if r.get("skipped", False) or not all(k in r for k in ("alpha", "alpha_star", "gamma")):
            return
        vals = [float(r[k]) for k in ("alpha", "alpha_star", "gamma")]
        if not all(math.isfinite(v) for v in vals):
            return
        branch, guard = _branch_guard(r)
        self.counts["steps"] += 1
        self.counts[branch] += 1
        if guard != "none":
            self.counts[guard] += 1
        self.counts["clamped"] += int(bool(r.get("clamped", False)))
        self.counts["estimated"] += int(bool(r.get("estimated", True)))
        for k in self._SUMS:
            v = float(r.get(k, math.nan))
            if math.isfinite(v):
                self.sums[k] += v
                self.finite[k] += 1

    def shares(self) -> dict[str, float | None]:
        """Shares of the counted steps (None when none was counted) and means: ``steps``,
        ``above``, ``below``, ``equal``, ``cap``, ``floor``, ``clamped``, ``estimated``,
        ``gamma_mean``, ``alpha_mean``, ``alpha_star_mean``, ``alpha_transformed_mean``."""
        n = self.counts["steps"]
        out: dict[str, float | None] = {"steps": n}
        for k in self._COUNTS[1:]:
            out[k] = self.counts[k] / n if n else None
        for k in self._SUMS:
            out[f"{k}_mean"] = self.sums[k] / self.finite[k] if self.finite[k] else None
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "sums": dict(self.sums), "finite": dict(self.finite)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.counts = {k: int(state["counts"][k]) for k in self._COUNTS}
        self.sums = {k: float(state["sums"][k]) for k in self._SUMS}
        self.finite = {k: int(state["finite"][k]) for k in self._SUMS}


def regime_shares(records: Iterable[Any]) -> dict[str, float]:
    """The controller's regime over ``records`` (StepStats or their dicts; skipped steps are
    left out).  Keys: :data:`REGIME_KEYS`; shares are NaN when no step is left."""
    rows = []
    for rec in records:
        r = _as_mapping(rec)
        missing = [k for k in ("alpha", "alpha_star", "gamma") if k not in r]
        if missing:
            raise ValueError(f"`records` items need the keys alpha, alpha_star and gamma; an item "
                             f"lacks {missing}")
        if not r.get("skipped", False):
            rows.append(r)
    n = len(rows)
    out: dict[str, float] = {"steps": float(n)}
    if n == 0:
        out.update({k: math.nan for k in REGIME_KEYS[1:]})
        return out

    def share(pred) -> float:
        return sum(1 for r in rows if pred(r)) / n

    for key in ("above", "below", "equal"):
        out[key] = share(lambda r, key=key: _branch_guard(r)[0] == key)
    for key in ("cap", "floor"):
        out[key] = share(lambda r, key=key: _branch_guard(r)[1] == key)
    out["clamped"] = share(lambda r: bool(r.get("clamped", False)))
    out["estimated"] = share(lambda r: bool(r.get("estimated", True)))
    gammas = [float(r["gamma"]) for r in rows]
    finite = [g for g in gammas if math.isfinite(g)]
    out["gamma_mean"] = sum(finite) / len(finite) if finite else math.nan
    out["gamma_median"] = _median(gammas)
    out["alpha_median"] = _median([float(r["alpha"]) for r in rows])
    out["alpha_star_median"] = _median([float(r["alpha_star"]) for r in rows])
    out["alpha_transformed_median"] = _median(
        [float(r.get("alpha_transformed", math.nan)) for r in rows])
    return out
