"""Statement 4: convergence of direction-preserving AHTGA, and the clipped-SGD rate exponents.

[Our own derivation; see proofs/stmt_4_convergence.tex for assumptions and proof.]

Setting.  f is L-smooth and bounded below by f_*; D = f(theta_0) - f_*.  At step t, given the
past F_{t-1}, per-example gradients g_1..g_B are iid with E g = grad f(theta_t); the exponent
gamma_t in [gamma_min, gamma_max] (1 + gamma_min > 0) and the reference scale m_t in
[m_lo, m_hi] (m_lo > 0) are F_{t-1}-measurable (decoupled from the current batch); the update is
theta_{t+1} = theta_t - eta ghat_t with ghat_t = (1/B) sum_i s_i g_i, s_i = (||g_i||/m_t)^gamma_t
(no momentum).  Write h_t = E[s g | F_{t-1}] = kappa_t grad f + e_t.

(4a) Theorem.  If kappa_t >= kappa > 0, ||e_t|| <= eps and Q := sup m^(-2 gamma) E||g||^(2(1+gamma))
     < inf, then for any eta > 0
        (1/T) sum_t E||grad f(theta_t)||^2 <= 2 D/(eta kappa T) + eps^2/kappa^2 + L eta Q/kappa,
     and eta = sqrt(2 D/(L Q T)) gives 2 sqrt(2 D L Q / T)/kappa + eps^2/kappa^2.
(4b) Isotropic noise (g = grad f + zeta, law of zeta invariant under all orthogonal maps):
     e_t = 0 and kappa_t > 0 for every gamma > -1, because phi(x) = x (x^2 + w^2)^(gamma/2) is
     increasing for x > 0 (phi' = (x^2+w^2)^(gamma/2-1) ((1+gamma) x^2 + w^2)).  To first order in
     gamma, s = 1 + gamma log(||g||/m) + O(gamma^2) and e_t = gamma Cov(log||g||, g) + O(gamma^2).
(4c) Q < inf iff 2 (1 + gamma_max) < alpha when ||g|| has tail index alpha; in general the
     transformed gradients have a finite p-th moment iff gamma < alpha/p - 1 (statement 1e).
(4d) Reductions: gamma = 0 is SGD (kappa = 1, eps = 0, Q = E||g||^2); gamma -> -1 is per-example
     normalised SGD with ||s g|| = m (Q -> m^2 whatever the tails).  Clipping is not a special case.
(4e) Clipped SGD under a p-th moment (Zhang et al. 2020): balancing D/(eta T), eta tau^(2-p) and
     tau^(2(1-p)) gives tau ~ T^(1/(3p-2)), eta ~ T^(-p/(3p-2)) and a bound ~ T^(-2(p-1)/(3p-2))
     on the squared gradient norm, i.e. E||grad f|| ~ T^(-(p-1)/(3p-2)); p = 2 recovers T^(-1/4).
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


def check_minibatch_second_moment() -> CheckResult:
    """(4a) step: for iid v_i with mean h and E||v||^2 = S, E||mean_B v||^2 = ||h||^2 + (S - ||h||^2)/B,
    checked by expanding E||sum v_i||^2 = B S + B(B-1)||h||^2 symbolically; it is <= S."""
    S, H2 = sp.symbols("S H2", positive=True)
    second = (Bsz * S + Bsz * (Bsz - 1) * H2) / Bsz ** 2
    gap = sp.simplify(S - second)                                   # = (1 - 1/B)(S - ||h||^2) >= 0
    return all_exact([(second, H2 + (S - H2) / Bsz), (gap, (1 - 1 / Bsz) * (S - H2))])


def derive_average_bound():
    """(4a): telescope E f_{t+1} <= E f_t - (eta kappa/2) E||grad||^2 + eta eps^2/(2 kappa) + L eta^2 Q/2
    over t = 0..T-1 (sympy summation of the per-step terms) and solve for the average."""
    avg = sp.Symbol("avg", positive=True)                            # (1/T) sum E||grad f_t||^2
    per_step_gain = eta * kappa / 2
    slack = sp.summation(eta * eps ** 2 / (2 * kappa) + L * eta ** 2 * Q / 2, (t, 0, T - 1))
    # sum of decreases <= D + slack, with sum of decreases = per_step_gain * T * avg
    bound = sp.solve(sp.Eq(per_step_gain * T * avg, D + slack), avg)[0]
    eta_star = [s for s in sp.solve(sp.diff(bound, eta), eta) if s.is_positive is not False]
    best = sp.simplify(bound.subs(eta, eta_star[0]))
    return {"bound": sp.expand(bound), "eta_star": eta_star[0], "best": best}


def check_average_bound() -> CheckResult:
    """(4a): bound = 2D/(eta kappa T) + eps^2/kappa^2 + L eta Q/kappa; eta* = sqrt(2D/(LQT));
    value 2 sqrt(2 D L Q/T)/kappa + eps^2/kappa^2; and the second derivative in eta is positive."""
    r_ = derive_average_bound()
    curv = sp.diff(r_["bound"], eta, 2)
    ok = all_exact([(r_["bound"], 2 * D / (eta * kappa * T) + eps ** 2 / kappa ** 2 + L * eta * Q / kappa),
                    (r_["eta_star"], sp.sqrt(2 * D / (L * Q * T))),
                    (r_["best"], 2 * sp.sqrt(2 * D * L * Q / T) / kappa + eps ** 2 / kappa ** 2)])
    return CheckResult(ok.measured, ok.expected, 0.0, bool(ok.passed and sp.simplify(curv).is_positive))


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


def check_second_moment_condition() -> CheckResult:
    """(4c): with p = 2 the moment condition of statement 1e reads gamma < alpha/2 - 1; general p
    gives gamma < alpha/p - 1; and Q = m^(-2 gamma) E||g||^(2(1+gamma)) -> m^2 as gamma -> -1."""
    cond = derive_pth_moment_condition()
    two = cond.subs(sp.Symbol("p", positive=True), 2)
    Eg = sp.Function("E_norm_pow")                                    # E||g||^s as an opaque function
    Qexpr = m ** (-2 * gamma) * Eg(2 * (1 + gamma))
    lim = Qexpr.subs(gamma, -1)
    ok = (isinstance(two, sp.StrictLessThan) and is_zero(two.rhs - (alpha / 2 - 1))
          and is_zero(cond.rhs - (alpha / p - 1)))
    return CheckResult((two.rhs, cond.rhs, lim), (alpha / 2 - 1, alpha / p - 1, m ** 2 * Eg(0)), 0.0,
                       bool(ok and is_zero(lim - m ** 2 * Eg(0))))


def check_reductions() -> CheckResult:
    """(4d): gamma = 0 gives s = 1 (kappa = 1, eps = 0) and the classical 2 sqrt(2 D L Q/T) rate;
    gamma -> -1 gives ||s g|| = m for every g (per-example normalisation)."""
    s0 = (r / m) ** gamma
    best = derive_average_bound()["best"].subs({kappa: 1, eps: 0})
    norm_limit = sp.limit(r * (r / m) ** gamma, gamma, -1)
    return all_exact([(s0.subs(gamma, 0), 1), (best, 2 * sp.sqrt(2 * D * L * Q / T)), (norm_limit, m)])


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
    return CheckResult(ok.measured + (worst,), ok.expected + (0.0,), 1e-7, bool(ok.passed and worst < 1e-7))
