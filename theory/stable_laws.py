"""Statement 3: alpha-stable laws (parameterisations, CMS, tails, norms, generalized CLT).

Characteristic functions (scipy.stats.levy_stable / Nolan conventions; alpha != 1):
  S1: log phi(t) = i mu t - |c t|^alpha (1 - i beta sign(t) tan(pi alpha/2)),
  S0: log phi(t) = i mu t - |c t|^alpha (1 + i beta sign(t) tan(pi alpha/2) (|c t|^(1-alpha) - 1)).
(3a) S0 with location mu0 is S1 with location mu0 - beta c tan(pi alpha/2); alpha = 2 is N(0, 2c^2).
(3b) Chambers-Mallows-Stuck (1976): for beta = 0 the S1 draw is
     X = sin(alpha V)/cos(V)^(1/alpha) (cos((1-alpha) V)/W)^((1-alpha)/alpha), V ~ U(-pi/2, pi/2),
     W ~ Exp(1); it is tan V (standard Cauchy, phi = e^-|t|) at alpha = 1 (also as the limit) and
     2 sin(V) sqrt(W) = sqrt(2) R sin V with R Rayleigh (N(0, 2), Box-Muller) at alpha = 2.
(3c) Tail constant of the symmetric standard law (phi = exp(-|t|^alpha), 0 < alpha < 2):
     P(|X| > t) ~ C_alpha t^-alpha with C_alpha = (int_0^inf x^-alpha sin x dx)^-1
     = (1-alpha)/(Gamma(2-alpha) cos(pi alpha/2)) = 2 Gamma(alpha) sin(pi alpha/2)/pi (= 2/pi at 1)
     (Samorodnitsky & Taqqu 1994, Property 1.2.15); the same constant follows from the leading
     term (1/pi) Gamma(alpha+1) sin(pi alpha/2) x^(-alpha-1) of the density's asymptotic series.
(3d) Norm of a vector of d iid such coordinates: X_j^2 has tail index alpha/2 (statement 1 with
     gamma = 1), sums of iid subexponential variables satisfy P(S > s) ~ d P(X^2 > s)
     (Embrechts, Klueppelberg, Mikosch 1997, Cor. 1.3.2), so P(||X|| > t) ~ d C_alpha t^-alpha:
     tail index alpha.
(3e) Generalized CLT scaling: the mean of B iid S1(alpha, beta, c, 0) is S1(alpha, beta,
     c B^(1/alpha - 1), 0) exactly (alpha != 1); for iid laws in the domain of attraction the
     same B^(1/alpha - 1) scaling holds asymptotically (Gnedenko & Kolmogorov 1954).

(3f) One big jump at fixed B [our statement; the scalar case is Feller's]: if v_1..v_B are iid
     random vectors (no multivariate regular variation assumed) and P(||v|| > x) ~ C x^-a, then
     P(||v_1 + ... + v_B|| > x) ~ B C x^-a: the norm of the sum keeps the index a.  Upper bound:
     the triangle inequality and {sum ||v_i|| > x} c  U_i {||v_i|| > (1-delta) x} u {two of the
     ||v_i|| > delta x/(B-1)}; lower bound: one ||v_j|| > (1+delta) x while the other norms sum to
     at most delta x.  The ratios of both bounds to C x^-a tend to B (1 -+ delta)^-a, then delta -> 0.

Simulation counterparts in ``sim.theory_checks``: ``check_cms_characteristic_function``,
``check_stable_tail_constant``, ``check_stable_vector_norm_index``, ``check_gclt_scaling``.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._check import CheckResult, all_exact, is_zero
from .transform import derive_transformed_survival

alpha = sp.Symbol("alpha", positive=True)
beta = sp.Symbol("beta", real=True)
c, t, x, mu, W, B, d = sp.symbols("c t x mu W B d", positive=True)
V = sp.Symbol("V", real=True)
GRID = (0.3, 0.7, 1.2, 1.5, 1.9)


def log_cf(param: str, t_, alpha_=alpha, beta_=beta, c_=c, mu_=mu):
    """Log characteristic function in S0 or S1 (alpha != 1), for real t_ of either sign."""
    sgn = sp.sign(t_)
    z = sp.Abs(c_ * t_)
    tan = sp.tan(sp.pi * alpha_ / 2)
    if param == "S1":
        return sp.I * mu_ * t_ - z ** alpha_ * (1 - sp.I * beta_ * sgn * tan)
    if param == "S0":
        return sp.I * mu_ * t_ - z ** alpha_ * (1 + sp.I * beta_ * sgn * tan * (z ** (1 - alpha_) - 1))
    raise ValueError(f"`param` must be 'S0' or 'S1'; got param={param!r}")


def check_s0_s1_shift() -> CheckResult:
    """(3a): log phi_S0(t; mu0) = log phi_S1(t; mu0 - beta c tan(pi alpha/2)) for t > 0 and t < 0,
    and alpha = 2 gives exp(-c^2 t^2), the CF of N(0, 2 c^2)."""
    mu1 = mu - beta * c * sp.tan(sp.pi * alpha / 2)
    pairs = [(log_cf("S0", tt), log_cf("S1", tt, mu_=mu1)) for tt in (t, -t)]
    s = sp.Symbol("s", real=True)
    normal_cf = sp.integrate(sp.exp(sp.I * t * s) * sp.exp(-s ** 2 / (4 * c ** 2)) / sp.sqrt(4 * sp.pi * c ** 2),
                             (s, -sp.oo, sp.oo))
    pairs.append((log_cf("S1", t, alpha_=2, mu_=0), sp.log(normal_cf)))
    return all_exact(pairs)


def cms_symmetric(alpha_, V_=V, W_=W):
    """The CMS S1 draw for beta = 0 as a sympy expression in V, W."""
    alpha_ = sp.sympify(alpha_)
    return (sp.sin(alpha_ * V_) / sp.cos(V_) ** (sp.Integer(1) / alpha_)
            * (sp.cos((1 - alpha_) * V_) / W_) ** ((1 - alpha_) / alpha_))


def check_cms_special_cases() -> CheckResult:
    """(3b): alpha = 2 gives 2 sin(V) sqrt(W); alpha = 1 (and alpha -> 1) gives tan V, whose law is
    standard Cauchy with CF exp(-|t|); sqrt(2W) is Rayleigh (P(sqrt(2W) <= r) = 1 - exp(-r^2/2))."""
    Vp = sp.Symbol("Vp", positive=True)          # cos V > 0 on (-pi/2, pi/2); check on V in (0, pi/2)
    a2 = sp.simplify(cms_symmetric(2, Vp).rewrite(sp.sin))
    a1 = sp.simplify(cms_symmetric(1, Vp))
    lim1 = sp.limit(cms_symmetric(alpha, sp.Rational(1, 3)), alpha, 1)
    xs = sp.Symbol("xs", real=True)
    cauchy_cdf = (sp.atan(xs) + sp.pi / 2) / sp.pi              # P(tan V <= x), V ~ U(-pi/2, pi/2)
    dens = sp.diff(cauchy_cdf, xs)
    cf = sp.integrate(sp.cos(t * xs) * dens, (xs, -sp.oo, sp.oo))
    r, w = sp.symbols("r w", positive=True)
    rayleigh = sp.integrate(sp.exp(-w), (w, 0, r ** 2 / 2))      # P(sqrt(2W) <= r), W ~ Exp(1)
    pairs = [(sp.simplify(a2 - 2 * sp.sin(Vp) * sp.sqrt(W)), 0), (a1, sp.tan(Vp)),
             (lim1, sp.tan(sp.Rational(1, 3))), (dens, 1 / (sp.pi * (1 + xs ** 2))), (cf, sp.exp(-t)),
             (1 - sp.exp(-(r ** 2 / 2)), rayleigh)]
    return all_exact(pairs)


def derive_tail_constant():
    """(3c): C_alpha = 1/int_0^inf x^-alpha sin x dx (sympy's closed form), and the constant from
    the density's leading term (1/pi) Gamma(alpha+1) sin(pi alpha/2) x^(-alpha-1), integrated
    over |X| > t (both tails).  Returns dict with ``from_integral``, ``from_density``, ``closed``,
    ``st_form`` (Samorodnitsky-Taqqu's (1-alpha)/(Gamma(2-alpha) cos(pi alpha/2)))."""
    integ = sp.integrate(x ** (-alpha) * sp.sin(x), (x, 0, sp.oo), conds="none")
    s = sp.Symbol("s", positive=True)
    mellin_cos = sp.integrate(x ** (s - 1) * sp.cos(x), (x, 0, sp.oo), conds="none")
    # -(1/pi) int_0^inf u^alpha cos(u y) du = -(1/pi) y^(-alpha-1) M_cos(alpha+1)  (continued)
    lead = -mellin_cos.subs(s, alpha + 1) / sp.pi
    tail = 2 * sp.integrate(lead * x ** (-alpha - 1), (x, t, sp.oo), conds="none") * t ** alpha
    return {"from_integral": 1 / integ, "from_density": sp.simplify(tail),
            "closed": 2 * sp.gamma(alpha) * sp.sin(sp.pi * alpha / 2) / sp.pi,
            "st_form": (1 - alpha) / (sp.gamma(2 - alpha) * sp.cos(sp.pi * alpha / 2)),
            "density_lead": lead}


def tail_constant(alpha_: float) -> float:
    """C_alpha = 2 Gamma(alpha) sin(pi alpha/2)/pi, for 0 < alpha < 2 (float)."""
    return float(2 * sp.gamma(alpha_) * sp.sin(sp.pi * alpha_ / 2) / sp.pi)


def check_tail_constant() -> CheckResult:
    """(3c): the three forms agree (identity of Gamma functions checked symbolically when sympy
    can, and to 25 digits on alpha in GRID otherwise); the limit at alpha = 1 is 2/pi."""
    dd = derive_tail_constant()
    closed = dd["closed"]
    worst = 0.0
    for key in ("from_integral", "from_density", "st_form"):
        if is_zero(sp.gammasimp(dd[key] - closed)):
            continue
        for a in GRID:
            if a == 1:
                continue
            v, w = (sp.N(e.subs(alpha, sp.nsimplify(a)), 30) for e in (dd[key], closed))
            worst = max(worst, float(abs(v / w - 1)))
    lim = sp.limit(dd["st_form"], alpha, 1)
    ok = worst < 1e-20 and is_zero(lim - 2 / sp.pi) and is_zero(closed.subs(alpha, 1) - 2 / sp.pi)
    return CheckResult((dd["from_integral"], dd["from_density"], dd["st_form"], lim, worst),
                       (closed, closed, closed, 2 / sp.pi, 0.0), 1e-20, bool(ok))


def derive_vector_norm_tail():
    """(3d): index and constant of ||X|| via X^2 (gamma = 1), the d-fold sum, then sqrt (gamma = -1/2)."""
    sq = derive_transformed_survival(sp.Integer(1))                # Y = X^2 (m = 1 below)
    sq_index = sq["index"]
    sq_const = sq["constant"].subs(sp.Symbol("m", positive=True), 1)
    Csym = sp.Symbol("C", positive=True)
    summed_const = d * sq_const                                    # one big jump: d times
    root = derive_transformed_survival(sp.Rational(-1, 2))         # ||X|| = S^(1/2)
    idx = root["index"].subs(sp.Symbol("alpha", positive=True), sq_index)
    const = root["constant"].subs({sp.Symbol("alpha", positive=True): sq_index,
                                   sp.Symbol("m", positive=True): 1, Csym: summed_const})
    return {"square_index": sq_index, "norm_index": sp.simplify(idx), "norm_constant": sp.simplify(const)}


def check_vector_norm_index() -> CheckResult:
    """(3d): X^2 has index alpha/2; ||X|| has index alpha and constant d C."""
    r = derive_vector_norm_tail()
    Csym = sp.Symbol("C", positive=True)
    return all_exact([(r["square_index"], alpha / 2), (r["norm_index"], alpha), (r["norm_constant"], d * Csym)])


@lru_cache(maxsize=None)
def derive_one_big_jump_bounds(B_: int):
    """(3f) for Pareto norms P(||v|| > x) = x^-a (x >= 1): the limits as x -> oo of the upper and lower
    bounds of P(||sum_{i<=B} v_i|| > x) / P(||v|| > x), as functions of delta, and their limits at delta -> 0.

    upper = B Fbar((1-delta) x) + C(B,2) Fbar(delta x/(B-1))^2,
    lower = B Fbar((1+delta) x) (1 - (B-1) Fbar(delta x/(B-1))) - C(B,2) Fbar((1+delta) x)^2.
    """
    a_, xx, dl = sp.Symbol("a", positive=True), sp.Symbol("x", positive=True), sp.Symbol("delta", positive=True)
    Fb = lambda z: z ** (-a_)  # noqa: E731  (tail of a Pareto(a) norm, valid for z >= 1)
    y = dl * xx / (B_ - 1)
    upper = B_ * Fb((1 - dl) * xx) + sp.binomial(B_, 2) * Fb(y) ** 2
    lower = B_ * Fb((1 + dl) * xx) * (1 - (B_ - 1) * Fb(y)) - sp.binomial(B_, 2) * Fb((1 + dl) * xx) ** 2
    up_lim = sp.simplify(sp.limit(sp.powsimp(sp.expand(upper / Fb(xx)), force=True), xx, sp.oo))
    lo_lim = sp.simplify(sp.limit(sp.powsimp(sp.expand(lower / Fb(xx)), force=True), xx, sp.oo))
    return {"a": a_, "delta": dl, "upper": up_lim, "lower": lo_lim,
            "upper0": sp.limit(up_lim, dl, 0, "+"), "lower0": sp.limit(lo_lim, dl, 0, "+")}


def check_one_big_jump() -> CheckResult:
    """(3f): for B = 2, 4, 8 the bounds' limits are B (1-delta)^-a and B (1+delta)^-a, both -> B as
    delta -> 0: P(||sum of B iid vectors|| > x) ~ B P(||v|| > x)."""
    pairs = []
    for b in (2, 4, 8):
        r = derive_one_big_jump_bounds(b)
        a_, dl = r["a"], r["delta"]
        pairs += [(r["upper"], b * (1 - dl) ** (-a_)), (r["lower"], b * (1 + dl) ** (-a_)),
                  (r["upper0"], b), (r["lower0"], b)]
    return all_exact(pairs)


def check_gclt_scaling() -> CheckResult:
    """(3e): B log phi(t/B) for S1(alpha, beta, c, 0) equals log phi(t) with scale c B^(1/alpha-1),
    for t > 0 and t < 0 (alpha != 1)."""
    Bp = sp.Symbol("B", positive=True)
    pairs = []
    for tt in (t, -t):
        mean_cf = Bp * log_cf("S1", tt / Bp, mu_=0)
        pairs.append((sp.expand_power_base(sp.expand(mean_cf), force=True),
                      sp.expand_power_base(sp.expand(log_cf("S1", tt, c_=c * Bp ** (1 / alpha - 1), mu_=0)),
                                           force=True)))
    return all_exact(pairs)
