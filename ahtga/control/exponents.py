"""Exponent rules: from the smoothed tail index alpha and the target alpha* to the exponent gamma
of the per-example transform ``T(g) = g (||g|| / m)^gamma`` (see :mod:`ahtga.control.transforms`).

Why these rules.  If the norms X have tail index alpha, then Y = X (X/m)^gamma with 1 + gamma > 0
has tail index alpha / (1 + gamma) (P(Y > y) = P(X > m (y/m)^(1/(1+gamma)))).  Hence

* :class:`ExactExponent`: gamma = alpha / alpha* - 1 maps tail index alpha exactly to alpha*;
  optional bounds [gamma_min, gamma_max] with 1 + gamma_min > 0.
* :class:`QuadraticExponent` (the source's rule):
  gamma = c1 (alpha - alpha*)^2 if alpha > alpha*, else -c2 (alpha - alpha*)^2.
  Without a guard the transform stops being increasing in ||g|| once c2 (alpha - alpha*)^2 >= 1
  (1 + gamma <= 0), so gamma is raised to ``gamma_floor - 1`` whenever 1 + gamma < gamma_floor.
  The rule overshoots alpha* (the transformed tail index passes the target) iff
  c |alpha - alpha*| alpha* > 1 (REFERENCES.md, "The transform and its exponent").
* :class:`FixedExponent`: a constant gamma (gamma = 0 turns AHTGA into momentum SGD), for
  ablations and tests.

Every rule has ``compute(alpha, alpha_star) -> (gamma, guarded)`` where ``guarded`` says that a
guard or bound changed the raw value, and ``__call__(alpha, alpha_star) -> gamma``.
"""
from __future__ import annotations

import math
from typing import Any

from .._validation import check_choice, check_in_range, check_positive

__all__ = ["ExponentRule", "QuadraticExponent", "ExactExponent", "FixedExponent", "make_exponent"]


class ExponentRule:
    """Interface: ``compute(alpha, alpha_star) -> (gamma, guarded)``; stateless."""

    def compute(self, alpha: float, alpha_star: float) -> tuple[float, bool]:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, alpha: float, alpha_star: float) -> float:
        return self.compute(alpha, alpha_star)[0]

    @staticmethod
    def _check(alpha: float, alpha_star: float) -> tuple[float, float]:
        return check_positive("alpha", alpha), check_positive("alpha_star", alpha_star)


class QuadraticExponent(ExponentRule):
    """gamma = c1 (alpha - a*)^2 if alpha > a*, else -c2 (alpha - a*)^2, then guarded so that
    1 + gamma >= gamma_floor.

    Parameters
    ----------
    c1 : gain when the tails are lighter than the target (alpha > a*), >= 0.
    c2 : gain when they are heavier (alpha < a*), >= 0.
    gamma_floor : lower bound of 1 + gamma, in (0, 1]; keeps T increasing in ||g||.
    gamma_max : optional upper bound of gamma (> 0), or None for the source's unbounded rule.
        Light-tailed norms read as huge alpha (Hill on Gaussian norms: ~30+; clamped by the
        tracker at 5 by default), and with a* = 1.5 the unbounded rule then gives gamma ~ 3: the
        largest per-example gradients are raised to the 4th power of their ratio to the median
        and training diverges (measured on digits, see the paper's ablation).  AHTGA's default
        uses gamma_max = 1; pass None for the source's rule.  Both bounds set the guard flag.

    The defaults c1 = c2 = 0.25 are this package's choice, not the source's (whose values we
    could not confirm): with a* = 1.5 they do not overshoot for alpha in (0, 4.1].
    """

    def __init__(self, c1: float = 0.25, c2: float = 0.25, gamma_floor: float = 0.1,
                 gamma_max: float | None = None):
        self.c1 = check_positive("c1", c1, allow_zero=True)
        self.c2 = check_positive("c2", c2, allow_zero=True)
        self.gamma_floor = check_in_range("gamma_floor", gamma_floor, 0.0, 1.0, lo_open=True)
        self.gamma_max = None if gamma_max is None else check_positive("gamma_max", gamma_max)

    def compute(self, alpha: float, alpha_star: float) -> tuple[float, bool]:
        alpha, alpha_star = self._check(alpha, alpha_star)
        d2 = (alpha - alpha_star) ** 2
        gamma = self.c1 * d2 if alpha > alpha_star else -self.c2 * d2
        if 1.0 + gamma < self.gamma_floor:
            return self.gamma_floor - 1.0, True
        if self.gamma_max is not None and gamma > self.gamma_max:
            return self.gamma_max, True
        return gamma, False

    def __repr__(self) -> str:
        return (f"QuadraticExponent(c1={self.c1}, c2={self.c2}, gamma_floor={self.gamma_floor}, "
                f"gamma_max={self.gamma_max})")


class ExactExponent(ExponentRule):
    """gamma = alpha / alpha* - 1, clipped to [gamma_min, gamma_max] when given.

    ``gamma_min`` (if given) must satisfy 1 + gamma_min > 0; ``gamma_min <= gamma_max``.
    Unbounded, 1 + gamma = alpha/alpha* > 0 always.
    """

    def __init__(self, gamma_min: float | None = None, gamma_max: float | None = None):
        self.gamma_min = None if gamma_min is None else check_in_range(
            "gamma_min", gamma_min, -1.0, math.inf, lo_open=True, hi_open=True)
        self.gamma_max = None if gamma_max is None else check_in_range(
            "gamma_max", gamma_max, -1.0, math.inf, lo_open=True, hi_open=True)
        if self.gamma_min is not None and self.gamma_max is not None and \
                self.gamma_min > self.gamma_max:
            raise ValueError(f"`gamma_min` must be <= `gamma_max`; got gamma_min={gamma_min!r}, "
                             f"gamma_max={gamma_max!r}")

    def compute(self, alpha: float, alpha_star: float) -> tuple[float, bool]:
        alpha, alpha_star = self._check(alpha, alpha_star)
        gamma = alpha / alpha_star - 1.0
        if self.gamma_min is not None and gamma < self.gamma_min:
            return self.gamma_min, True
        if self.gamma_max is not None and gamma > self.gamma_max:
            return self.gamma_max, True
        return gamma, False

    def __repr__(self) -> str:
        return f"ExactExponent(gamma_min={self.gamma_min}, gamma_max={self.gamma_max})"


class FixedExponent(ExponentRule):
    """A constant gamma with 1 + gamma > 0, whatever alpha and alpha* are."""

    def __init__(self, gamma: float = 0.0):
        self.gamma = check_in_range("gamma", gamma, -1.0, math.inf, lo_open=True, hi_open=True)

    def compute(self, alpha: float, alpha_star: float) -> tuple[float, bool]:
        self._check(alpha, alpha_star)
        return self.gamma, False

    def __repr__(self) -> str:
        return f"FixedExponent(gamma={self.gamma})"


def make_exponent(spec: Any) -> ExponentRule:
    """A rule from a rule (returned as is), a name ("quadratic", "exact", with default options)
    or a dict such as ``{"name": "quadratic", "c1": 0.5, "c2": 0.5, "gamma_floor": 0.1}``."""
    if isinstance(spec, ExponentRule):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    if isinstance(spec, dict):
        opts = dict(spec)
        name = check_choice("exponent['name']", opts.pop("name", None),
                            {"quadratic", "exact", "fixed"})
        cls = {"quadratic": QuadraticExponent, "exact": ExactExponent, "fixed": FixedExponent}[name]
        return cls(**opts)
    raise TypeError(f"`exponent` must be a name, a dict or an ExponentRule; got exponent={spec!r}")
