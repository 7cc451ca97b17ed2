"""Statement 4: convergence of AHTGA under a p-th moment (p in (1, 2]); clipped-SGD rate exponents.

[Our own derivation; see proofs/stmt_4_convergence.tex for assumptions and proof.]

Setting.  f is L-smooth and bounded below by f_*; D = f(theta_0) - f_*; for p < 2 also
G-Lipschitz (||grad f|| <= G).  At step t, given the past F_{t-1}, per-example gradients
g_1..g_B are iid with E g = grad f(theta_t); the exponent gamma_t in [gamma_min, gamma_max]
(1 + gamma_min > 0) and the reference scale m_t in [m_lo, m_hi] (m_lo > 0) are
F_{t-1}-measurable (computed from earlier batches: the lagged configuration, in the package
AHTGA(betas=(0, b2), estimate_lag=1, median_lag=1) from step 1 on); the update is
theta_{t+1} = theta_t - eta ghat_t, ghat_t = (1/B) sum_i s_i g_i, s_i = (||g_i||/m_t)^gamma_t
(no momentum).  Write h_t = E[s g | F_{t-1}] = kappa_t grad f + e_t.

(4a) Remainder.  For a step Delta, f(theta + Delta) - f(theta) - <grad f, Delta> is at most
     (L/2)||Delta||^2 (smoothness) and at most 2 G ||Delta|| (Lipschitz), hence at most
     K ||Delta||^p with K = (L/2)^(p-1) (2 G)^(2-p), because min(u, v) <= u^(p-1) v^(2-p).
(4b) Theorem.  If kappa_t >= kappa > 0, ||e_t|| <= eps and
     Q_p := sup_t E[ m_t^(-p gamma_t) ||g||^(p (1 + gamma_t)) | F_{t-1} ] < inf, then
        (1/T) sum_t E||grad f(theta_t)||^2 <= 2 D/(eta kappa T) + eps^2/kappa^2 + 2 K eta^(p-1) Q_p/kappa,
     minimised at eta* = (D/((p-1) K Q_p T))^(1/p), where the bound is of order T^(-(p-1)/p) (plus
     the floor eps^2/kappa^2).  At p = 2, K = L/2 (no Lipschitz constant) and the bound is the
     classical 2 D/(eta kappa T) + eps^2/kappa^2 + L eta Q_2/kappa with eta* = sqrt(2 D/(L Q_2 T)).
(4c) Moments.  E||ghat||^p <= E||s g||^p (r -> r^p is convex for p >= 1) and
     E||s g||^p = m^(-p gamma) E||g||^(p (1+gamma)): finite iff p (1 + gamma) < alpha when ||g|| has
     tail index alpha (statement 1e), i.e. gamma_max < alpha/p - 1.  For Pareto norms log Q_p is
     convex in gamma, so its sup over [gamma_min, gamma_max] is at an end point.
(4d) Isotropic noise (g = grad f + zeta, law of zeta invariant under all orthogonal maps):
     e_t = 0 and kappa_t > 0 for every gamma > -1, because phi(x) = x (x^2 + w^2)^(gamma/2) is
     increasing for x > 0 (phi' = (x^2+w^2)^(gamma/2-1) ((1+gamma) x^2 + w^2)).  To first order in
     gamma, s = 1 + gamma log(||g||/m) + O(gamma^2).
(4e) Clipped SGD under a p-th moment (Zhang et al. 2020): balancing D/(eta T), eta tau^(2-p) and
     tau^(2(1-p)) gives tau ~ T^(1/(3p-2)), eta ~ T^(-p/(3p-2)) and a bound ~ T^(-2(p-1)/(3p-2))
     on the squared gradient norm; it is faster than (4b)'s T^(-(p-1)/p) for p in (1, 2) (the
     difference of the exponents is (p-1)(2-p)/(p(3p-2)) >= 0) and equal at p = 2.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.optimize import linprog

from ._check import CheckResult, all_exact, is_zero
from .transform import derive_pth_moment_condition

D, L, Q, T, eta, kappa, eps, G = sp.symbols("D L Q T eta kappa epsilon G", positive=True)
gamma = sp.Symbol("gamma", real=True)
x, w, r, m, alpha, p, Bsz = sp.symbols("x w r m alpha p B", positive=True)
t = sp.Symbol("t", integer=True, nonnegative=True)


def check_young_step() -> CheckResult:
    """(4a) step: kappa g^2 - eps g - (kappa/2 g^2 - eps^2/(2 kappa)) = (kappa g - eps)^2/(2 kappa) >= 0."""
    gn = sp.Symbol("gn", nonnegative=True)
    lhs = kappa * gn ** 2 - eps * gn - (kappa / 2 * gn ** 2 - eps ** 2 / (2 * kappa))
    return all_exact([(lhs, (kappa * gn - eps) ** 2 / (2 * kappa))])


def derive_minibatch_second_moment(b_max: int = 5, dim: int = 2):
    """(4c) step: E||mean of B iid v_i||^2 for v_i = h + z_i, z_i centred with covariance Sigma,
    by expanding the square and taking expectations monomial by monomial (theory._moments):
    independence kills every cross term between examples.  Returns ({B: expression} for
    B = 1..b_max, S = E||v||^2, ||h||^2) in the symbols of h (``h0..``) and Sigma (``s00, s01, ..``)."""
    from ._moments import centred_second_order_moment, expect

    hs = sp.symbols(f"h0:{dim}", real=True)
    Sig = sp.Matrix(dim, dim, lambda i, j: sp.Symbol(f"s{min(i, j)}{max(i, j)}", real=True))
    out = {}
    for b in range(1, b_max + 1):
        zs = [sp.symbols(f"z{i}_0:{dim}", real=True) for i in range(b)]
        mean = [sum(hs[c] + zs[i][c] for i in range(b)) / b for c in range(dim)]
        out[b] = expect(sum(mc ** 2 for mc in mean), zs, centred_second_order_moment(Sig))
    H2 = sum(hc ** 2 for hc in hs)
    z1 = sp.symbols(f"z_0:{dim}", real=True)
    S = expect(sum((hs[c] + z1[c]) ** 2 for c in range(dim)), [z1], centred_second_order_moment(Sig))
    return out, S, H2


def minibatch_second_moment(H2, S, B):
    """The statement: E||mean of B iid v||^2 = ||h||^2 + (S - ||h||^2)/B, S = E||v||^2."""
    return H2 + (S - H2) / B


def check_minibatch_second_moment() -> CheckResult:
    """(4c) step: the derived E||mean_B v||^2 equals ||h||^2 + (S - ||h||^2)/B for B = 1..5 (S = E||v||^2,
    itself derived), and S minus it is (1 - 1/B)(S - ||h||^2) >= 0."""
    by_b, S, H2 = derive_minibatch_second_moment()
    pairs = []
    for b, val in by_b.items():
        pairs += [(val, minibatch_second_moment(H2, S, b)), (S - val, (1 - sp.Rational(1, b)) * (S - H2))]
    return all_exact(pairs)


def check_remainder_interpolation() -> CheckResult:
    """(4a): with v = r u, u^(p-1) v^(2-p)/u = r^(2-p) (>= 1 when r >= 1) and u^(p-1) v^(2-p)/v = r^(1-p)
    (>= 1 when r <= 1), for p in [1, 2]: so min(u, v) <= u^(p-1) v^(2-p); and
    (L x^2/2)^(p-1) (2 G x)^(2-p) = K x^p with K = (L/2)^(p-1) (2G)^(2-p).  The inequality
    min(a x^2, b x) <= a^(p-1) b^(2-p) x^p is also confirmed on a numeric grid."""
    u, rr, xx = sp.symbols("u r x", positive=True)
    geo = u ** (p - 1) * (rr * u) ** (2 - p)
    K = (L / 2) ** (p - 1) * (2 * G) ** (2 - p)
    pairs = [(sp.powsimp(sp.expand_power_base(geo / u, force=True), force=True), rr ** (2 - p)),
             (sp.powsimp(sp.expand_power_base(geo / (rr * u), force=True), force=True), rr ** (1 - p)),
             (sp.expand_power_base((L * xx ** 2 / 2) ** (p - 1) * (2 * G * xx) ** (2 - p), force=True),
              sp.expand_power_base(K * xx ** p, force=True))]
    res = all_exact(pairs)
    worst = 0.0
    for pv in (1.0, 1.2, 1.5, 1.8, 2.0):
        for av, bv in ((0.5, 3.0), (2.0, 0.1), (1.0, 1.0)):
            for xv in np.geomspace(1e-3, 1e3, 13):
                worst = max(worst, min(av * xv ** 2, bv * xv) / (av ** (pv - 1) * bv ** (2 - pv) * xv ** pv) - 1)
    return CheckResult(res.measured + (worst,), res.expected + (0.0,), 0.0,
                       bool(res.passed and worst <= 1e-12))


def derive_average_bound(p_=p):
    """(4b): telescope E f_{t+1} <= E f_t - (eta kappa/2) E||grad||^2 + eta eps^2/(2 kappa) + K eta^p Q
    over t = 0..T-1 (sympy summation), solve for the average, minimise over eta (the stationary point
    of the derivative) and read the T-exponent of the minimum (eps = 0) as d log(bound)/d log T."""
    avg, K = sp.Symbol("avg", positive=True), sp.Symbol("K", positive=True)
    slack = sp.summation(eta * eps ** 2 / (2 * kappa) + K * eta ** p_ * Q, (t, 0, T - 1))
    bound = sp.solve(sp.Eq(eta * kappa / 2 * T * avg, D + slack), avg)[0]
    stat = [s_ for s_ in sp.solve(sp.diff(bound, eta), eta) if s_.is_positive is not False]
    if len(stat) != 1:
        raise RuntimeError(f"expected one positive stationary step, got {stat}")
    best = sp.simplify(bound.subs(eta, stat[0]))
    Tl = sp.Symbol("logT", real=True)
    rate = sp.simplify(sp.diff(sp.log(best.subs(eps, 0)).subs(T, sp.exp(Tl)), Tl))
    return {"bound": sp.expand(bound), "eta_star": sp.simplify(stat[0]), "best": best, "rate": rate, "K": K}


def check_average_bound() -> CheckResult:
    """(4b): bound = 2D/(eta kappa T) + eps^2/kappa^2 + 2 K eta^(p-1) Q/kappa; eta* =
    (D/((p-1) K Q T))^(1/p); the optimised bound decays like T^(-(p-1)/p) (-1/2 at p = 2); the
    stationary point is the minimum (eta^2 times the derivative is increasing); and at p = 2 with K = L/2 it is SGD's classical bound with
    eta* = sqrt(2 D/(L Q T)) and value 2 sqrt(2 D L Q/T)/kappa + eps^2/kappa^2."""
    pp = sp.Symbol("pp", positive=True)                        # p = 1 + pp > 1
    r_ = derive_average_bound(1 + pp)
    K = r_["K"]
    two = derive_average_bound(sp.Integer(2))
    sub2 = {two["K"]: L / 2}
    res = all_exact([
        (r_["bound"], 2 * D / (eta * kappa * T) + eps ** 2 / kappa ** 2 + 2 * K * eta ** pp * Q / kappa),
        (sp.log(r_["eta_star"]), sp.log((D / (pp * K * Q * T)) ** (1 / (1 + pp)))),
        (r_["rate"], -pp / (1 + pp)),
        (two["bound"].subs(sub2), 2 * D / (eta * kappa * T) + eps ** 2 / kappa ** 2 + L * eta * Q / kappa),
        (two["eta_star"].subs(sub2), sp.sqrt(2 * D / (L * Q * T))),
        (two["best"].subs(sub2), 2 * sp.sqrt(2 * D * L * Q / T) / kappa + eps ** 2 / kappa ** 2)])
    # eta^2 d(bound)/d(eta) is increasing in eta: the derivative changes sign once, so eta* is the minimum
    slope = sp.simplify(sp.diff(sp.expand(sp.diff(r_["bound"], eta) * eta ** 2), eta))
    unique_min = slope.is_positive
    return CheckResult(res.measured + (unique_min,), res.expected + (True,), 0.0,
                       bool(res.passed and unique_min))


def derive_isotropic_monotonicity():
    """(4b): d/dx [x (x^2 + w^2)^(gamma/2)] in factored form."""
    return sp.factor(sp.simplify(sp.diff(x * (x ** 2 + w ** 2) ** (gamma / 2), x)))


def check_isotropic_alignment() -> CheckResult:
    """(4b): phi'(x) = (x^2+w^2)^(gamma/2 - 1) ((1+gamma) x^2 + w^2), positive when 1 + gamma > 0
    (checked with gamma = gp - 1, gp > 0); and the first-order expansion of s in gamma."""
    der = derive_isotropic_monotonicity()
    closed = (x ** 2 + w ** 2) ** (gamma / 2 - 1) * ((1 + gamma) * x ** 2 + w ** 2)
    gp = sp.Symbol("gp", positive=True)
    positive = sp.simplify(closed.subs(gamma, gp - 1)).is_positive
    ser = sp.series((r / m) ** gamma, gamma, 0, 2).removeO()
    ok = all_exact([(der, closed), (sp.expand_log(ser, force=True), 1 + gamma * (sp.log(r) - sp.log(m)))])
    return CheckResult(ok.measured + (positive,), ok.expected + (True,), 0.0, bool(ok.passed and positive))


def check_moment_condition() -> CheckResult:
    """(4c): E||s g||^p for Pareto(alpha) norms is m^(-p gamma) alpha/(alpha - p(1+gamma)) (statement 1e's
    integral with q = p), finite iff gamma < alpha/p - 1; d^2 log Q_p/d gamma^2 = p^2/(alpha - p(1+gamma))^2
    > 0 (so the sup over an interval of gamma is at an end point); and r^p is convex for p >= 1
    (second derivative p (p-1) r^(p-2)), which gives E||mean||^p <= E||s g||^p."""
    from .transform import alpha as a1, derive_pareto_moment, gamma as g1, m as m1, p as p1, q as q1
    val, _ = derive_pareto_moment().args[0]
    Qp = val.subs(q1, p1)
    cond_p = derive_pth_moment_condition()
    curv = sp.simplify(sp.diff(sp.log(Qp), g1, 2))
    rr = sp.Symbol("rr", positive=True)
    conv = sp.factor(sp.diff(rr ** p1, rr, 2))
    res = all_exact([(Qp, m1 ** (-p1 * g1) * a1 / (a1 - p1 * (1 + g1))), (cond_p.rhs, a1 / p1 - 1),
                     (curv, p1 ** 2 / (a1 - p1 * (1 + g1)) ** 2), (conv, p1 * (p1 - 1) * rr ** (p1 - 2))])
    ok = res.passed and isinstance(cond_p, sp.StrictLessThan) and cond_p.lhs == g1
    return CheckResult(res.measured, res.expected, 0.0, bool(ok))


def derive_clipping_exponents():
    """(4e): with eta = T^a, tau = T^b, equate the exponents of D/(eta T), eta tau^(2-p), tau^(2(1-p))."""
    a, b = sp.symbols("a b", real=True)
    e1, e2, e3 = -1 - a, a + b * (2 - p), 2 * b * (1 - p)
    sol = sp.solve([sp.Eq(e1, e2), sp.Eq(e2, e3)], [a, b], dict=True)[0]
    rate_sq = sp.simplify(e3.subs(sol))
    return {"a": sp.simplify(sol[a]), "b": sp.simplify(sol[b]), "rate_sq": rate_sq,
            "rate_norm": sp.simplify(rate_sq / 2), "exponents": (e1, e2, e3)}


def _lp_best_exponent(pv: float) -> float:
    """min over (a, b) of max(e1, e2, e3) by linear programming (an independent numeric check)."""
    # variables (a, b, z): minimise z s.t. e_i(a, b) <= z
    A_ub = [[-1, 0, -1], [1, 2 - pv, -1], [0, 2 * (1 - pv), -1]]
    b_ub = [1, 0, 0]
    res = linprog([0, 0, 1], A_ub=A_ub, b_ub=b_ub, bounds=[(-5, 5), (-5, 5), (-5, 5)], method="highs")
    if not res.success:
        raise RuntimeError(f"linprog failed at p={pv}: {res.message}")
    return float(res.x[2])


def check_clipping_exponents() -> CheckResult:
    """(4e): b = 1/(3p-2), a = -p/(3p-2), squared-norm rate -2(p-1)/(3p-2), norm rate
    -(p-1)/(3p-2) (-1/4 at p = 2); and the equalised exponent is the LP minimax for p in (1, 2]."""
    r_ = derive_clipping_exponents()
    ok = all_exact([(r_["b"], 1 / (3 * p - 2)), (r_["a"], -p / (3 * p - 2)),
                    (r_["rate_sq"], -2 * (p - 1) / (3 * p - 2)), (r_["rate_norm"], -(p - 1) / (3 * p - 2)),
                    (r_["rate_norm"].subs(p, 2), sp.Rational(-1, 4))])
    worst = max(abs(_lp_best_exponent(pv) - float(r_["rate_sq"].subs(p, pv)))
                for pv in np.linspace(1.1, 2.0, 10))
    # (4b) against clipping: ours decays like T^(-(p-1)/p) (derive_average_bound with p = 1 + pp)
    pp = sp.Symbol("pp", positive=True)
    ours = derive_average_bound(1 + pp)["rate"].subs(pp, p - 1)
    gap = sp.factor(sp.simplify(ours - r_["rate_sq"]))
    closed_gap = (p - 1) * (2 - p) / (p * (3 * p - 2))
    return CheckResult(ok.measured + (worst, gap), ok.expected + (0.0, closed_gap), 1e-7,
                       bool(ok.passed and worst < 1e-7 and is_zero(gap - closed_gap)))
