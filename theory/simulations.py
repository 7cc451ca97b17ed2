"""Simulation checks of the statements added in this package's theory (statements 2(d), 3(f)).

Like ``sim.theory_checks`` (the other simulation checks): each ``check_*`` is seeded and returns
``theory._check.CheckResult(measured, expected, tolerance, passed)``, with ``expected`` taken from
the closed form the theory module derives and a tolerance chosen so that a 10% error in that
closed form fails at the default size (stated per check).  ``theory.registry`` lists them.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from ahtga._validation import check_int

from . import hill_pareto, stable_laws, transform
from ._check import CheckResult


def _result(measured: float, expected: float, tol: float) -> CheckResult:
    measured, expected, tol = float(measured), float(expected), float(tol)
    return CheckResult(measured, expected, tol, bool(abs(measured - expected) <= tol))


def _pareto(alpha: float, size, rng) -> np.ndarray:
    return (1.0 - rng.random(size)) ** (-1.0 / alpha)


def transformed_minibatch_norms(*, alpha: float, gamma: float, m: float, B: int, n_batches: int,
                                seed: int) -> np.ndarray:
    """||(1/B) sum_i s_i g_i|| for n_batches batches of B iid per-example gradients in R^2, s_i =
    (||g_i||/m)^gamma with m and gamma fixed in advance (the lagged configuration).

    ||g|| ~ Pareto(alpha); the direction turns with the norm (angle 2 pi log||g||) and has a random
    sign, so the law has no limiting spectral measure (not multivariate regularly varying) and
    mean zero."""
    rng = np.random.default_rng(seed)
    r = _pareto(alpha, (n_batches, B), rng)
    ang = 2 * np.pi * np.log(r)
    sgn = rng.choice([-1.0, 1.0], size=(n_batches, B))
    w = r * (r / m) ** gamma * sgn
    sx, sy = (w * np.cos(ang)).sum(axis=1) / B, (w * np.sin(ang)).sum(axis=1) / B
    return np.hypot(sx, sy)


def check_one_big_jump_minibatch(*, alpha: float = 1.8, gamma: float = 0.5, B: int = 8, n_batches: int = 2_000_000,
                                 x1: float = 30.0, x2: float = 300.0, seed: int = 19) -> CheckResult:
    """(3f + 1a) fixed batch B: the norm of the mean of B transformed per-example gradients has the
    index alpha/(1+gamma) of one transformed norm (statement 1), with no stable limit and no
    multivariate regular variation.  Measured: log(N(>x1)/N(>x2))/log(x2/x1) for the batch-mean norms.
    Tolerance: 4 SE of the log-ratio (nested counts, expected from B C' (B x)^-a', C' from
    statement 1's constant) plus 0.02 for the finite-x correction; about 0.08 at the default
    size, so an index 10% off (0.12) fails."""
    n_batches = check_int("n_batches", n_batches, min_value=1_000)
    m = 2 ** (1 / alpha)                                      # the median of Pareto(alpha), fixed in advance
    surv = transform.derive_transformed_survival(sp.nsimplify(gamma))
    sub = {transform.alpha: sp.nsimplify(alpha), transform.C: 1, transform.m: sp.nsimplify(m)}
    a_new = float(surv["index"].subs(sub))
    c_new = float(surv["constant"].subs(sub))
    big_jump = float(stable_laws.derive_one_big_jump_bounds(B)["lower0"])           # = B
    norms = transformed_minibatch_norms(alpha=alpha, gamma=gamma, m=m, B=B, n_batches=n_batches, seed=seed)
    n1, n2 = int((norms > x1).sum()), int((norms > x2).sum())
    if n2 == 0:
        raise RuntimeError(f"no batch norm above x2={x2}: increase `n_batches`")
    got = math.log(n1 / n2) / math.log(x2 / x1)
    e1, e2 = (n_batches * big_jump * c_new * (B * x) ** -a_new for x in (x1, x2))
    se = math.sqrt(max(1 / e2 - 1 / e1, 0.0)) / math.log(x2 / x1)
    return _result(got, a_new, 4 * se + 0.02)


def check_one_big_jump_constant(*, alpha: float = 1.8, gamma: float = 0.5, B: int = 8, n_batches: int = 2_000_000,
                                x: float = 100.0, seed: int = 20) -> CheckResult:
    """(3f) the constant: P(||mean|| > x) / (B C' (B x)^-a') vs 1, with B from the one-big-jump bounds
    and C', a' from statement 1.  Tolerance 4 binomial SE (relative) + 0.03 for the finite-x
    correction; about 0.09 at the default size: dropping the factor B (8) fails by far."""
    n_batches = check_int("n_batches", n_batches, min_value=1_000)
    m = 2 ** (1 / alpha)
    surv = transform.derive_transformed_survival(sp.nsimplify(gamma))
    sub = {transform.alpha: sp.nsimplify(alpha), transform.C: 1, transform.m: sp.nsimplify(m)}
    a_new, c_new = float(surv["index"].subs(sub)), float(surv["constant"].subs(sub))
    big_jump = float(stable_laws.derive_one_big_jump_bounds(B)["lower0"])
    norms = transformed_minibatch_norms(alpha=alpha, gamma=gamma, m=m, B=B, n_batches=n_batches, seed=seed)
    p = big_jump * c_new * (B * x) ** -a_new
    return _result(float((norms > x).mean()) / p, 1.0, 4 * math.sqrt((1 - p) / (n_batches * p)) + 0.03)


def check_moment_statistic_pareto(*, alpha: float = 1.5, k: int = 10, n: int = 100, reps: int = 40_000,
                                  seed: int = 21) -> CheckResult:
    """(2d) Monte Carlo mean of Q = M - 2 H^2 (top-k log-excesses over x_(k+1)) on Pareto samples vs
    the exact finite-k value -2/(k alpha^2) (``theory.hill_pareto.derive_moment_statistic_exact``).
    Tolerance 4 SE with SD(Q) ~ 2 gamma^2/sqrt(k) (statement 2(d)): 0.0063 at the default size,
    against |E Q| = 0.089, so a 10% error (and the asymptotic value 0) fails."""
    k = check_int("k", k, min_value=3)
    rng = np.random.default_rng(seed)
    x = _pareto(alpha, (reps, n), rng)
    top = -np.sort(-x, axis=1)[:, :k + 1]
    z = np.log(top[:, :k]) - np.log(top[:, k:k + 1])
    Q = (z ** 2).mean(axis=1) - 2 * z.mean(axis=1) ** 2
    expected = float(hill_pareto.derive_moment_statistic_exact()["EQ"].subs({hill_pareto.k: k, hill_pareto.alpha: alpha}))
    sd = 2 / alpha ** 2 / math.sqrt(k)
    return _result(Q.mean(), expected, 4 * sd / math.sqrt(reps))


__all__ = sorted(n for n, v in dict(globals()).items()
                 if n.startswith("check_") and getattr(v, "__module__", None) == __name__)
