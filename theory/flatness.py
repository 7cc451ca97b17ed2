"""Statement 6: tail index and flatness (exit times), and the linear-regression tail index.

(6a) Exit times (Imkeller & Pavlyukevich 2006, "First exit times of SDEs driven by stable Levy
     processes", Stoch. Proc. Appl. 116:611-642; used by Simsekli, Sagun, Gurbuzbalaban 2019).
     For dX = -U'(X) dt + eps dL_t, L a symmetric alpha-stable Levy process with
     E exp(i u L_1) = exp(-|u|^alpha) (Levy density c_alpha |y|^(-1-alpha),
     c_alpha = Gamma(alpha+1) sin(pi alpha/2)/pi), started at the minimum 0 of a well with
     boundaries -b < 0 < a, the first exit happens, to leading order as eps -> 0, at the first
     jump of eps L that leaves the well from 0, whose rate is the Levy measure of
     {y > a/eps} u {y < -b/eps}, i.e. (c_alpha/alpha) eps^alpha (a^-alpha + b^-alpha); so
        E tau ~ alpha / (c_alpha eps^alpha (a^-alpha + b^-alpha)),
     = pi (A/eps)^alpha / (2 Gamma(alpha) sin(pi alpha/2)) for a = b = A:
     polynomial in the width and, to leading order, independent of the depth of U.
     Brownian counterpart (Freidlin-Wentzell / Kramers, leading exponential order):
     E tau ~ exp(2 Delta U/eps^2) for dX = -U'(X) dt + eps dW, exponential in the depth
     (Delta U = h A^2/2 for U = h x^2/2, so exponential in the squared width).
(6b) Heavy-tail phenomenon on linear regression (Gurbuzbalaban, Simsekli, Zhu 2021, ICML):
     x_{k+1} = (I - (eta/b) H_k) x_k + q_k, H_k = sum_{i<=b} a_i a_i^T, a_i ~ N(0, sigma^2 I_d);
     the stationary tail index is the positive root alpha of h(alpha) = E||(I - (eta/b) H) e1||^alpha = 1.
     h is convex with h(0) = 1, so alpha > 2 iff h(2) < 1, and [our derivation]
        h(2) = 1 - 2 eta sigma^2 + eta^2 sigma^4 (d + b + 1)/b,
     hence alpha = 2 exactly at eta_2 = 2 b/(sigma^2 (d + b + 1)) (2/3 for d = b = sigma = 1), and
     alpha < 2 for eta_2 < eta (up to the stability limit).

Simulation counterparts in ``sim.theory_checks``: ``check_exit_time_width``,
``check_exit_time_depth``, ``check_linreg_root_vs_hill``, ``check_linreg_root_at_eta2``,
``check_linreg_root_decreasing``.
"""
from __future__ import annotations

import sympy as sp
from sympy.stats import E as Expect, Normal

from ._check import CheckResult, all_exact

alpha, eps, A, a, b, y, r, h, dU = sp.symbols("alpha epsilon A a b y r h Delta_U", positive=True)
eta, sigma, d, bs = sp.symbols("eta sigma d b_s", positive=True)


def levy_density_constant(alpha_=alpha):
    """c_alpha = Gamma(alpha+1) sin(pi alpha/2)/pi: Levy density c_alpha |y|^(-1-alpha) of exp(-|u|^alpha)."""
    return sp.gamma(alpha_ + 1) * sp.sin(sp.pi * alpha_ / 2) / sp.pi


def derive_exit_time(a_=a, b_=b):
    """(6a): 1 / (Levy measure of jumps of eps L leaving (-b, a) from 0), computed by integration."""
    cal = levy_density_constant()
    right = sp.integrate(cal * y ** (-1 - alpha), (y, a_ / eps, sp.oo), conds="none")
    left = sp.integrate(cal * y ** (-1 - alpha), (y, b_ / eps, sp.oo), conds="none")
    return sp.simplify(1 / (right + left))


def exit_time_symmetric(A_: float, eps_: float, alpha_: float) -> float:
    """E tau ~ pi (A/eps)^alpha / (2 Gamma(alpha) sin(pi alpha/2)) (float), for the well (-A, A)."""
    return float(sp.pi * (sp.Float(A_) / eps_) ** alpha_ / (2 * sp.gamma(alpha_) * sp.sin(sp.pi * alpha_ / 2)))


def check_exit_time_law() -> CheckResult:
    """(6a): symmetric case = pi (A/eps)^alpha/(2 Gamma(alpha) sin(pi alpha/2)); d log E tau/d log A
    = alpha; no dependence on the potential (depth) at leading order; Brownian
    d log E tau/d Delta U = 2/eps^2 and, for U = h x^2/2, log E tau = h A^2/eps^2."""
    sym = derive_exit_time(A, A)
    closed = sp.pi * (A / eps) ** alpha / (2 * sp.gamma(alpha) * sp.sin(sp.pi * alpha / 2))
    elasticity = sp.simplify(sp.diff(sp.log(sym), A) * A)
    depth_free = sp.diff(sym, h)                          # h (curvature/depth) does not appear
    brown = sp.exp(2 * dU / eps ** 2)
    b_el = sp.simplify(sp.diff(sp.log(brown), dU))
    b_width = sp.simplify(sp.log(brown.subs(dU, h * A ** 2 / 2)))
    return all_exact([(sym, closed), (elasticity, alpha), (depth_free, 0), (b_el, 2 / eps ** 2),
                      (b_width, h * A ** 2 / eps ** 2)])


def check_levy_constant_matches_tail() -> CheckResult:
    """(6a)/(3c): the Levy measure of {|y| > r} equals C_alpha r^-alpha, C_alpha = 2 Gamma(alpha) sin(pi alpha/2)/pi."""
    two_sided = 2 * sp.integrate(levy_density_constant() * y ** (-1 - alpha), (y, r, sp.oo), conds="none")
    return all_exact([(sp.gammasimp(two_sided * r ** alpha),
                       2 * sp.gamma(alpha) * sp.sin(sp.pi * alpha / 2) / sp.pi)])


def derive_h2(b_: int | None = None):
    """(6b): h(2) = E||e1 - (eta/b) sum_i a_i a_i1||^2, from Gaussian moments computed by sympy.stats.

    Expanding the square, with m2 = E a1^2, m4 = E a1^4 (same coordinate) and E a_k^2 a_1^2 = m2^2
    (k != 1): E||v||^2 = 1 - 2 (eta/b) b m2 + (eta/b)^2 [b (m4 + (d-1) m2^2) + b (b-1) m2^2].
    """
    Z = Normal("Z", 0, sigma)
    m2, m4 = sp.simplify(Expect(Z ** 2)), sp.simplify(Expect(Z ** 4))
    bb = bs if b_ is None else sp.Integer(b_)
    same = m4 + (d - 1) * m2 ** 2                      # E ||a||^2 a_1^2
    cross = m2 ** 2                                    # E (a_i . a_j) a_i1 a_j1, i != j
    val = 1 - 2 * (eta / bb) * bb * m2 + (eta / bb) ** 2 * (bb * same + bb * (bb - 1) * cross)
    return sp.simplify(val), (m2, m4)


def derive_eta2():
    """(6b): the step eta_2 > 0 at which h(2) = 1 (tail index exactly 2)."""
    h2, _ = derive_h2()
    sols = [s_ for s_ in sp.solve(sp.Eq(h2, 1), eta) if s_ != 0]
    if len(sols) != 1:
        raise RuntimeError(f"expected one positive root, got {sols}")
    return sp.simplify(sols[0])


def eta2(d_: int, b_: int, sigma_: float = 1.0) -> float:
    """eta_2 = 2 b/(sigma^2 (d + b + 1)) as a float."""
    return float(derive_eta2().subs({d: d_, bs: b_, sigma: sigma_}))


def check_linreg_h2() -> CheckResult:
    """(6b): Gaussian moments sigma^2, 3 sigma^4; h(2) closed form; eta_2 = 2b/(sigma^2 (d+b+1)); 2/3 at d=b=sigma=1."""
    h2, (m2, m4) = derive_h2()
    e2 = derive_eta2()
    return all_exact([(m2, sigma ** 2), (m4, 3 * sigma ** 4),
                      (h2, 1 - 2 * eta * sigma ** 2 + eta ** 2 * sigma ** 4 * (d + bs + 1) / bs),
                      (e2, 2 * bs / (sigma ** 2 * (d + bs + 1))),
                      (e2.subs({d: 1, bs: 1, sigma: 1}), sp.Rational(2, 3))])
