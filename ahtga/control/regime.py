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
from typing import Any, Iterable, Mapping

__all__ = ["REGIME_KEYS", "regime_shares"]

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
    vals = sorted(v for v in vals if math.isfinite(v))
    if not vals:
        return math.nan
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else 0.5 * (vals[mid - 1] + vals[mid])


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

    out["above"] = share(lambda r: r["alpha"] > r["alpha_star"])
    out["below"] = share(lambda r: r["alpha"] < r["alpha_star"])
    out["equal"] = share(lambda r: r["alpha"] == r["alpha_star"])
    out["cap"] = share(lambda r: bool(r.get("gamma_guarded", False)) and r["gamma"] > 0)
    out["floor"] = share(lambda r: bool(r.get("gamma_guarded", False)) and r["gamma"] < 0)
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
