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
     polynomial in the width and, to leading order, independent of the depth of U (that is
     Imkeller-Pavlyukevich's theorem, cited; the simulation check_exit_time_depth tests it).
     Brownian counterpart [derived here]: for dX = -U'(X) dt + eps dW on (-A, A), U even, the mean
     exit time from x solves (eps^2/2) T'' - U' T' = -1, T(A) = 0, T'(0) = 0, whose solution is
        T(x) = (2/eps^2) int_x^A exp(2U(y)/eps^2) int_0^y exp(-2U(z)/eps^2) dz dy,
     and by Laplace's method log T(0) = 2 Delta U/eps^2 + O(log(1/eps)): exponential in the depth.
(6a') Width and sharpness.  For the quadratic basin U = h x^2/2 (h: the curvature, "sharpness")
     with barrier Delta U = h A^2/2 at the width A: at fixed width the stable-driven E tau does not
     depend on h, the Brownian log E tau = h A^2/eps^2 grows linearly in h; at fixed barrier
     height, A = sqrt(2 Delta U/h) and the stable-driven E tau ~ h^(-alpha/2) (d log E tau/d log h =
     -alpha/2).  So the exit-time statement ranks basins by width; it speaks about the Hessian's top
     eigenvalue only through the width, i.e. given the barrier height, which the experiments do not
     measure.
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

from ._check import CheckResult, all_exact, is_zero

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
    """(6a) (algebra on Imkeller-Pavlyukevich's first-jump law): integrating the Levy density over the
    jumps that leave (-A, A) gives pi (A/eps)^alpha/(2 Gamma(alpha) sin(pi alpha/2)), whose elasticity in
    the width A is alpha; for an asymmetric well (-b, a) the time is alpha/(c_alpha eps^alpha (a^-alpha + b^-alpha))."""
    sym = derive_exit_time(A, A)
    closed = sp.pi * (A / eps) ** alpha / (2 * sp.gamma(alpha) * sp.sin(sp.pi * alpha / 2))
    elasticity = sp.simplify(sp.diff(sp.log(sym), A) * A)
    asym = derive_exit_time(a, b)
    return all_exact([(sym, closed), (elasticity, alpha),
                      (asym, alpha / (levy_density_constant() * eps ** alpha * (a ** -alpha + b ** -alpha)))])


def derive_brownian_exit_time():
    """(6a) Brownian: the candidate T(x) (double integral) for a generic even potential U, and the
    residual of (eps^2/2) T'' - U' T' + 1 (sympy differentiates the integrals by Leibniz's rule),
    with T(A) and T'(0)."""
    xx, yy, zz = sp.symbols("x y z", real=True)
    U = sp.Function("U")
    inner = sp.Integral(sp.exp(-2 * U(zz) / eps ** 2), (zz, 0, yy))
    T = 2 / eps ** 2 * sp.Integral(sp.exp(2 * U(yy) / eps ** 2) * inner, (yy, xx, A))
    resid = sp.simplify(eps ** 2 / 2 * sp.diff(T, xx, 2) - sp.diff(U(xx), xx) * sp.diff(T, xx) + 1)
    return {"T": T, "residual": resid, "at_A": T.subs(xx, A).doit(), "slope_at_0": sp.diff(T, xx).subs(xx, 0).doit()}


def brownian_log_exit_time(eps_: float, h_: float = 1.0, A_: float = 1.0) -> float:
    """log T(0) for U = h x^2/2 on (-A, A), by quadrature of the double integral (mpmath, 30 digits)."""
    import mpmath as mp
    mp.mp.dps = 30
    e2 = mp.mpf(eps_) ** 2
    c = mp.sqrt(mp.mpf(h_) / e2)                    # int_0^y exp(-h z^2/eps^2) dz = sqrt(pi) erf(c y)/(2 c)
    inner = lambda y_: mp.sqrt(mp.pi) * mp.erf(c * y_) / (2 * c)  # noqa: E731
    val = 2 / e2 * mp.quad(lambda y_: mp.e ** (h_ * y_ ** 2 / e2) * inner(y_), [0, A_ / 2, A_])
    return float(mp.log(val))


def brownian_log_rate(dU_, eps_):
    """The Brownian law as stated: log E tau ~ 2 Delta U/eps^2 (leading exponential order)."""
    return 2 * dU_ / eps_ ** 2


def check_brownian_exit_time() -> CheckResult:
    """(6a) Brownian [derived]: the double integral solves the exit-time equation with T(A) = 0,
    T'(0) = 0; and the exponent of its growth, (log T(0) at eps^2 = 1/200 minus at 1/100) per unit of
    1/eps^2, is 2 Delta U = h A^2 = 1 for U = x^2/2, A = 1 (to 1%: the prefactor adds O(log(1/eps)))."""
    d = derive_brownian_exit_time()
    ok = is_zero(d["residual"]) and is_zero(d["at_A"]) and is_zero(d["slope_at_0"])
    s1, s2 = 100.0, 200.0
    slope = (brownian_log_exit_time(s2 ** -0.5) - brownian_log_exit_time(s1 ** -0.5)) / (s2 - s1)
    expected = float(brownian_log_rate(sp.Rational(1, 2), 1))          # per unit of 1/eps^2, Delta U = 1/2
    return CheckResult((d["residual"], slope), (0, expected), 0.01, bool(ok and abs(slope - expected) <= 0.01))


def derive_width_vs_sharpness():
    """(6a'): log E tau for U = h x^2/2, as a function of (h, A) and of (h, Delta U) (A = sqrt(2 Delta U/h)),
    for the stable-driven law (derive_exit_time) and the Brownian one (log T = 2 Delta U/eps^2)."""
    levy = sp.log(derive_exit_time(A, A))
    brown = brownian_log_rate(h * A ** 2 / 2, eps)
    width = sp.sqrt(2 * dU / h)
    return {"levy_fixed_width": sp.diff(levy, h), "brown_fixed_width": sp.simplify(sp.diff(brown, h)),
            "levy_fixed_depth": sp.simplify(sp.diff(levy.subs(A, width), h) * h),
            "brown_fixed_depth": sp.simplify(sp.diff(brown.subs(A, width), h))}


def check_width_vs_sharpness() -> CheckResult:
    """(6a'): d log E tau/dh at fixed width: 0 (stable) and A^2/eps^2 (Brownian); d log E tau/d log h at
    fixed barrier height: -alpha/2 (stable) and 0 (Brownian)."""
    r = derive_width_vs_sharpness()
    return all_exact([(r["levy_fixed_width"], 0), (r["brown_fixed_width"], A ** 2 / eps ** 2),
                      (r["levy_fixed_depth"], -alpha / 2), (r["brown_fixed_depth"], 0)])


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


def derive_h2_by_expansion(d_: int, b_: int):
    """(6b) h(2) = E||e1 - (eta/b) sum_i a_i a_i1||^2 for concrete d, b, by expanding the square and
    taking Gaussian moments monomial by monomial (theory._moments, Isserlis), a_i independent."""
    from ._moments import expect, gaussian_moment
    vecs = [sp.symbols(f"a{i}_0:{d_}", real=True) for i in range(b_)]
    v = [(1 if c == 0 else 0) - eta / b_ * sum(ai[c] * ai[0] for ai in vecs) for c in range(d_)]
    return sp.simplify(expect(sum(vc ** 2 for vc in v), vecs, gaussian_moment(sigma)))


def check_linreg_h2() -> CheckResult:
    """(6b): Gaussian moments sigma^2, 3 sigma^4; h(2) closed form equal to the expansion derived for
    (d, b) in {(1,1), (2,2), (3,2), (2,3)}; eta_2 = 2b/(sigma^2 (d+b+1)); 2/3 at d=b=sigma=1."""
    h2, (m2, m4) = derive_h2()
    e2 = derive_eta2()
    closed = 1 - 2 * eta * sigma ** 2 + eta ** 2 * sigma ** 4 * (d + bs + 1) / bs
    pairs = [(m2, sigma ** 2), (m4, 3 * sigma ** 4), (h2, closed),
             (e2, 2 * bs / (sigma ** 2 * (d + bs + 1))), (e2.subs({d: 1, bs: 1, sigma: 1}), sp.Rational(2, 3))]
    pairs += [(derive_h2_by_expansion(dd, bb), closed.subs({d: dd, bs: bb})) for dd, bb in ((1, 1), (2, 2), (3, 2), (2, 3))]
    return all_exact(pairs)
