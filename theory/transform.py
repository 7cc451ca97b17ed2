"""Statement 1: the power transform of gradient norms and AHTGA's exponent rules.

Setting.  X > 0 with a Pareto-type tail P(X > x) ~ C x^-alpha (x -> inf), a reference scale
m > 0 (in AHTGA: eps + the median norm) and the map

    Y = X (X/m)^gamma = m^-gamma X^(1+gamma).

(1a) Transform law.  If 1 + gamma > 0 the map is increasing and
     P(Y > y) = P(X > (m^gamma y)^(1/(1+gamma))) ~ C m^(-alpha gamma/(1+gamma)) y^(-alpha/(1+gamma)),
     so Y has tail index alpha/(1+gamma).
(1b) Exact exponent.  alpha/(1+gamma) = alpha*  <=>  gamma = alpha/alpha* - 1.
(1c) Quadratic rule of the source: gamma = c1 (alpha - alpha*)^2 if alpha > alpha*, else
     -c2 (alpha - alpha*)^2.  With d = alpha - alpha* and c the constant of the active branch,
     alpha/(1+gamma) - alpha* = d (1 - c alpha* |d|) / (1 + gamma), so (when 1 + gamma > 0) the
     transformed index lands on the other side of alpha* (overshoots) iff c |d| alpha* > 1, hits
     it exactly iff c |d| alpha* = 1, and otherwise moves toward alpha* without reaching it.
     [our derivation]
(1d) Monotonicity: dY/dX = (1+gamma) m^-gamma X^gamma, so the transform is increasing iff
     1 + gamma > 0; for the quadratic rule below the target this is c2 (alpha - alpha*)^2 < 1.
(1e) Moments (1 + gamma > 0, or X bounded away from 0): E Y^q < inf (q > 0) iff q (1 + gamma) < alpha;
     without that hypothesis small X matter: if X has a density positive near 0 and
     q (1 + gamma) <= -1, E Y^q = inf whatever the tail.  For Pareto(alpha, x_m = 1) (X >= 1),
     E Y^q = alpha m^(-gamma q) / (alpha - q (1+gamma)).  A p-th-moment analysis of the transformed
     gradients therefore needs gamma < alpha/p - 1.

Each ``derive_*`` returns sympy objects; each ``check_*`` a :class:`theory._check.CheckResult`.
The simulation counterpart of (1a) is ``sim.theory_checks.check_transform_law_pareto`` /
``check_transform_law_stable``.
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import sympy as sp

from ._check import CheckResult, all_exact, is_zero

alpha, alpha_star, m, C = sp.symbols("alpha alpha_star m C", positive=True)
gamma = sp.Symbol("gamma", real=True)
c, c1, c2, q, p = sp.symbols("c c1 c2 q p", positive=True)
x, y, u = sp.symbols("x y u", positive=True)


@lru_cache(maxsize=None)
def derive_transformed_survival(gamma_=None):
    """Survival function of Y = m^-gamma X^(1+gamma) when P(X > x) = C x^-alpha (1 + gamma > 0).

    Derived by inverting the increasing map y = m^-gamma x^(1+gamma) (solved by sympy) and
    substituting into the survival of X.  Returns a dict with ``survival`` (in y), ``index``
    (the tail index -d log S / d log y, computed from the survival) and ``constant``.
    """
    g = sp.Symbol("gamma_p", positive=True) - 1 if gamma_ is None else gamma_   # 1+gamma > 0
    sol = sp.solve(sp.Eq(m ** (-g) * x ** (1 + g), y), x)
    if len(sol) != 1:
        raise RuntimeError(f"expected one positive inverse, got {sol}")
    surv = sp.simplify(C * sol[0] ** (-alpha))
    index = sp.simplify(-sp.diff(sp.log(surv.subs(y, sp.exp(u))), u))
    const = sp.simplify(surv * y ** index)
    if gamma_ is None:
        back = {sp.Symbol("gamma_p", positive=True): 1 + gamma}
        surv, index, const = (sp.simplify(e.subs(back)) for e in (surv, index, const))
    return {"survival": surv, "index": index, "constant": const}


def check_tail_index_law() -> CheckResult:
    """(1a): the index is alpha/(1+gamma) and the constant C m^(-alpha gamma/(1+gamma))."""
    d = derive_transformed_survival()
    return all_exact([(d["index"], alpha / (1 + gamma)),
                      (sp.log(d["constant"]), sp.log(C * m ** (-alpha * gamma / (1 + gamma))))])


def derive_exact_exponent():
    """(1b): the gamma solving alpha/(1+gamma) = alpha*."""
    sol = sp.solve(sp.Eq(alpha / (1 + gamma), alpha_star), gamma)
    if len(sol) != 1:
        raise RuntimeError(f"expected one solution, got {sol}")
    return sol[0]


def check_exact_exponent() -> CheckResult:
    """(1b): gamma = alpha/alpha* - 1, and with it the transformed index is alpha*."""
    g = derive_exact_exponent()
    return all_exact([(g, alpha / alpha_star - 1),
                      (derive_transformed_survival(g)["index"], alpha_star)])


def quadratic_exponent(alpha_, alpha_star_, c1_, c2_):
    """The source's rule: c1 (a - a*)^2 above the target, -c2 (a - a*)^2 at or below it."""
    return sp.Piecewise((c1_ * (alpha_ - alpha_star_) ** 2, alpha_ > alpha_star_),
                        (-c2_ * (alpha_ - alpha_star_) ** 2, True))


def derive_overshoot_gap():
    """(1c): alpha/(1+gamma) - alpha* for each branch, as a factored numerator over 1+gamma.

    ``x`` = |alpha - alpha*| > 0, ``c`` the branch constant.  Returns dict
    branch -> (numerator, denominator, closed form d (1 - c alpha* |d|)).
    """
    out = {}
    for name, a_, g_, d_ in (("above", alpha_star + x, c * x ** 2, x),
                             ("below", alpha_star - x, -c * x ** 2, -x)):
        gap = sp.together(a_ / (1 + g_) - alpha_star)
        num, den = sp.fraction(gap)
        out[name] = (sp.factor(num), den, d_ * (1 - c * alpha_star * x))
    return out


def derive_overshoot_threshold():
    """(1c): the |alpha - alpha*| at which the quadratic rule lands exactly on alpha*.

    Solves alpha/(1+gamma) = alpha* on each branch for x = |d| > 0; both give 1/(c alpha*).
    """
    res = {}
    for name, a_, g_ in (("above", alpha_star + x, c * x ** 2), ("below", alpha_star - x, -c * x ** 2)):
        sols = [s for s in sp.solve(sp.Eq(a_, alpha_star * (1 + g_)), x) if s != 0]
        res[name] = sols
    return res


def overshoots(alpha_, alpha_star_, c1_, c2_) -> bool | None:
    """Direct numeric test: does the quadratic rule move the index past alpha*?

    Returns None when 1 + gamma <= 0 (the transform is not increasing; no tail law applies).
    """
    g = float(quadratic_exponent(sp.nsimplify(alpha_), sp.nsimplify(alpha_star_), c1_, c2_))
    if 1 + g <= 0:
        return None
    new = alpha_ / (1 + g)
    return (alpha_ - alpha_star_) * (new - alpha_star_) < 0


def check_overshoot_condition() -> CheckResult:
    """(1c): symbolic factorisation, threshold 1/(c alpha*), and an exhaustive numeric grid.

    The grid compares the direct test ``overshoots`` with c |alpha - alpha*| alpha* > 1 on
    alpha, alpha* in {0.5, ..., 4} and c1, c2 in {0.05, ..., 3} (exact rationals, so no ties are
    misread); it counts disagreements (expected 0).
    """
    gaps = derive_overshoot_gap()
    ok = all(is_zero(num - closed) and is_zero(den - (1 + (1 if k == "above" else -1) * c * x ** 2))
             for k, (num, den, closed) in gaps.items())
    thr = derive_overshoot_threshold()
    ok = ok and all(len(v) == 1 and is_zero(v[0] - 1 / (c * alpha_star)) for v in thr.values())
    vals = [sp.Rational(k, 4) for k in range(2, 17, 3)]
    cs = [sp.Rational(1, 20), sp.Rational(1, 2), sp.Integer(1), sp.Integer(3)]
    bad = n = 0
    for a_, s_, k1, k2 in itertools.product(vals, vals, cs, cs):
        if a_ == s_:
            continue
        got = overshoots(a_, s_, k1, k2)
        if got is None:
            continue
        cc = k1 if a_ > s_ else k2
        n += 1
        bad += got != bool(cc * abs(a_ - s_) * s_ > 1)
    passed = bool(ok and bad == 0 and n > 100)
    return CheckResult({"disagreements": bad, "cases": n}, {"disagreements": 0}, 0.0, passed)


def derive_monotonicity():
    """(1d): dY/dX for Y = m^-gamma X^(1+gamma), and the quadratic rule's condition below target."""
    deriv = sp.diff(m ** (-gamma) * x ** (1 + gamma), x)
    below = sp.solve(1 - c2 * x ** 2 > 0, x)         # x = |alpha - alpha*| > 0
    return {"derivative": sp.simplify(deriv), "below_target_interval": below}


def check_monotonicity() -> CheckResult:
    """(1d): dY/dX = (1+gamma) m^-gamma X^gamma; below target 1+gamma > 0 iff |d| < c2^-1/2."""
    d = derive_monotonicity()
    ok_deriv = is_zero(d["derivative"] - (1 + gamma) * m ** (-gamma) * x ** gamma)
    got = d["below_target_interval"]
    ok_below = isinstance(got, sp.StrictLessThan) and got.lhs == x and is_zero(got.rhs - 1 / sp.sqrt(c2))
    return CheckResult((d["derivative"], got), ((1 + gamma) * m ** (-gamma) * x ** gamma,
                                                x < 1 / sp.sqrt(c2)), 0.0, bool(ok_deriv and ok_below))


def derive_pareto_moment():
    """(1e): E Y^q for X ~ Pareto(alpha, x_m = 1), as sympy's Piecewise (finite branch + condition)."""
    return sp.integrate((m ** (-gamma) * x ** (1 + gamma)) ** q * alpha * x ** (-alpha - 1),
                        (x, 1, sp.oo), conds="piecewise")


def derive_divergence_at_or_above():
    """(1e): for s = alpha + t (t >= 0), int_1^R alpha x^(s-alpha-1) dx -> oo as R -> oo."""
    t = sp.Symbol("t", nonnegative=True)
    R = sp.Symbol("R", positive=True)
    lim_pos = sp.limit(sp.integrate(alpha * x ** (sp.Symbol("tp", positive=True) - 1), (x, 1, R)), R, sp.oo)
    lim_zero = sp.limit(sp.integrate(alpha * x ** (t - 1), (x, 1, R)).subs(t, 0), R, sp.oo)
    return lim_pos, lim_zero


def derive_pth_moment_condition():
    """(1e): solve p (1 + gamma) < alpha for gamma (p > 0): gamma < alpha/p - 1."""
    return sp.solve(p * (1 + gamma) < alpha, gamma)


def derive_small_x_moment():
    """(1e) hypothesis: the contribution of small X with a density near 0, lim_{e -> 0+} int_e^1 x^s dx,
    for s = -1 + r (r > 0: finite, 1/r) and s = -1 - r' (r' >= 0: infinite), s = q (1 + gamma)."""
    r_, r2, e_ = sp.Symbol("r", positive=True), sp.Symbol("r2", nonnegative=True), sp.Symbol("e", positive=True)
    above = sp.limit(sp.integrate(x ** (-1 + r_), (x, e_, 1)), e_, 0, "+")
    at_or_below = [sp.limit(sp.integrate(x ** (-1 - v), (x, e_, 1)), e_, 0, "+")
                   for v in (sp.Integer(0), sp.Symbol("r3", positive=True))]
    return r_, above, at_or_below


def check_moments() -> CheckResult:
    """(1e): finite branch alpha m^(-gamma q)/(alpha - q(1+gamma)) under q(1+gamma) < alpha,
    divergence otherwise, the p-th moment condition gamma < alpha/p - 1, and the need for the
    hypothesis: near 0, int_0^1 x^(q(1+gamma)) dx is finite (1/(1 + q(1+gamma))) iff q(1+gamma) > -1,
    so with 1 + gamma < 0 small norms alone can make E Y^q infinite."""
    r_, above, below = derive_small_x_moment()
    ok_small = is_zero(above - 1 / r_) and all(v == sp.oo for v in below)
    pw = derive_pareto_moment()
    (val, cond), _ = pw.args[0], pw.args[1]
    ok = is_zero(val - alpha * m ** (-gamma * q) / (alpha - q * (1 + gamma)))
    ok = ok and (sp.simplify(cond) == sp.simplify(alpha - q * (1 + gamma) > 0)
                 or sp.simplify(cond) == sp.simplify(q * (1 + gamma) < alpha))
    lp, lz = derive_divergence_at_or_above()
    ok = ok and lp == sp.oo and lz == sp.oo
    cond_p = derive_pth_moment_condition()
    gam_bound = [s for s in sp.solve(sp.Eq(p * (1 + gamma), alpha), gamma)]
    ok = ok and len(gam_bound) == 1 and is_zero(gam_bound[0] - (alpha / p - 1))
    ok = ok and isinstance(cond_p, sp.StrictLessThan) and cond_p.lhs == gamma
    ok = ok and is_zero(cond_p.rhs - (alpha / p - 1)) and ok_small
    return CheckResult((val, cond, gam_bound[0]),
                       (alpha * m ** (-gamma * q) / (alpha - q * (1 + gamma)), q * (1 + gamma) < alpha,
                        alpha / p - 1), 0.0, bool(ok))
