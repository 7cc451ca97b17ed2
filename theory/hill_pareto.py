"""Statement 2: the Hill estimator on Pareto data, its wrong-threshold bias, second-order theory.

Conventions (as ``ahtga.tail.hill``): descending order statistics x_(1) >= ... >= x_(n),
H(k) = (1/k) sum_{i<=k} log x_(i) - log x_(k+1), alpha_hat = 1/H, gamma = 1/alpha (EVT index).

(2a) Gamma law.  For X ~ Pareto(alpha), E = log X ~ Exp(rate alpha).  Telescoping,
     k H(k) = sum_{i=1}^{k} i (E_(i) - E_(i+1)), and by Renyi's representation the normalised
     spacings i (E_(i) - E_(i+1)) are iid Exp(rate alpha); so k H ~ Gamma(k, rate alpha), i.e.
     H = 1/alpha_hat ~ Gamma(k, rate k alpha).
(2b) E alpha_hat = k alpha/(k-1) (k > 1), Var alpha_hat = k^2 alpha^2 / ((k-1)^2 (k-2)) (k > 2).
(2c) Wrong threshold x_(k): H'(k) = (1/k) sum_{i<=k} log x_(i) - log x_(k) = ((k-1)/k) H(k-1), so
     k H' ~ Gamma(k-1, rate alpha), E H' = (k-1)/(k alpha) (a factor (k-1)/k low) and
     E[1/H'] = k alpha/(k-2).
(2d) Second order (Hall class): U(t) = F^<-(1 - 1/t) = C t^gamma (1 + D t^rho + o(t^rho)), rho < 0,
     A(t) = rho D t^rho.  In the representation log X_(i) - log X_(k+1) ~ gamma log Y + A(n/k)
     (Y^rho - 1)/rho with log Y ~ Exp(1):
       E H - gamma ~ A(n/k)/(1 - rho),                                   Var H ~ gamma^2/k,
       E[M - 2 H^2] ~ 2 gamma rho A(n/k)/(1 - rho)^2,                  Var[M - 2H^2] ~ 4 gamma^4/k,
     (M the second log-moment; "~": asymptotically, as k -> inf and A -> 0: on exact Pareto
     data (A = 0) at finite k, E[M - 2H^2] = -2 gamma^2/k exactly, from E M = E Z^2 = 2 gamma^2 for
     Z ~ Exp(mean gamma) and E H^2 = gamma^2 (1 + 1/k) from (2a)), so sqrt(k)(H - gamma) -> N(lambda/(1-rho), gamma^2) when
     sqrt(k) A(n/k) -> lambda (de Haan & Ferreira 2006, Thm 3.2.5), and by the delta method
     sqrt(k)(alpha_hat - alpha) -> N(-alpha^2 lambda/(1-rho), alpha^2).
     With A(t) = a t^rho the AMSE-optimal k of a statistic with variance V/k and bias B (n/k)^rho is
     k_opt = (V/(-2 rho B^2))^(1/(1-2rho)) n^(-2rho/(1-2rho)).  The ratio k_opt(H)/k_opt(M - 2H^2)
     is (1 - 1/rho)^(-2/(1-2rho)), and k_Q(n1)^2/k_Q(n2) = k_Q(n) for n2 = n1^2/n; with
     rho_hat = log k1/(2 log k1 - 2 log n1) (from k1 ~ n1^(-2rho/(1-2rho))) the ratio equals the
     double-bootstrap correction ((log k1)^2/(2 log n1 - log k1)^2)^((log n1 - log k1)/log n1) of
     Danielsson, de Haan, Peng, de Vries (2001).  [derivation ours, following that paper]

Simulation counterparts: ``sim.theory_checks.check_hill_pareto_moments``,
``check_hill_wrong_threshold``, ``check_hill_second_order_bias``.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ._check import CheckResult, all_exact, exact, is_zero

alpha, h, s, e = sp.symbols("alpha h s e", positive=True)
k = sp.Symbol("k", positive=True)
rho = sp.Symbol("rho", negative=True)
g_ = sp.Symbol("gamma", positive=True)           # EVT index 1/alpha
A, lam, a_, n, n1, k1 = sp.symbols("A lambda a n n1 k1", positive=True)


def gamma_density(shape, rate, var=h):
    """Gamma(shape, rate) density."""
    return rate ** shape * var ** (shape - 1) * sp.exp(-rate * var) / sp.gamma(shape)


def check_spacings_identity(k_max: int = 8) -> CheckResult:
    """(2a) telescoping: sum_{i<=k} (E_i - E_{k+1}) = sum_{i<=k} i (E_i - E_{i+1}), k = 1..k_max;
    and for the wrong threshold sum_{i<=k} (E_i - E_k) = sum_{i<k} i (E_i - E_{i+1})."""
    E = sp.symbols(f"E1:{k_max + 2}")
    pairs = []
    for kk in range(1, k_max + 1):
        pairs.append((sum(E[i] - E[kk] for i in range(kk)),
                      sum((i + 1) * (E[i] - E[i + 1]) for i in range(kk))))
        pairs.append((sum(E[i] - E[kk - 1] for i in range(kk)),
                      sum((i + 1) * (E[i] - E[i + 1]) for i in range(kk - 1))))
    return all_exact(pairs)


def derive_sum_of_exponentials_mgf():
    """(2a): Laplace transform of k iid Exp(rate alpha) vs that of Gamma(k, rate alpha)."""
    single = sp.integrate(sp.exp(-s * e) * alpha * sp.exp(-alpha * e), (e, 0, sp.oo))
    gamma_lt = sp.integrate(sp.exp(-s * h) * gamma_density(k, alpha), (h, 0, sp.oo), conds="none")
    return sp.simplify(single ** k), sp.simplify(gamma_lt)


def check_gamma_law() -> CheckResult:
    """(2a): E[exp(-s kH)] of the spacing sum equals the Gamma(k, alpha) transform."""
    lhs, rhs = derive_sum_of_exponentials_mgf()
    return exact(sp.log(lhs), sp.log(rhs))


@lru_cache(maxsize=None)
def derive_hill_moments():
    """(2b): E alpha_hat and Var alpha_hat from H ~ Gamma(k, rate k alpha) (k > 2 for the variance)."""
    dens = gamma_density(k, k * alpha)
    m1 = sp.gammasimp(sp.integrate(dens / h, (h, 0, sp.oo), conds="none"))
    m2 = sp.gammasimp(sp.integrate(dens / h ** 2, (h, 0, sp.oo), conds="none"))
    mean_H = sp.gammasimp(sp.integrate(dens * h, (h, 0, sp.oo), conds="none"))
    return {"mean": sp.simplify(m1), "var": sp.simplify(m2 - m1 ** 2), "mean_H": sp.simplify(mean_H)}


def check_hill_moments() -> CheckResult:
    """(2b): k alpha/(k-1), k^2 alpha^2/((k-1)^2 (k-2)), and E H = 1/alpha."""
    d = derive_hill_moments()
    return all_exact([(d["mean"], k * alpha / (k - 1)),
                      (d["var"], k ** 2 * alpha ** 2 / ((k - 1) ** 2 * (k - 2))),
                      (d["mean_H"], 1 / alpha)])


@lru_cache(maxsize=None)
def derive_wrong_threshold():
    """(2c): with k H' ~ Gamma(k-1, rate alpha): E H' and E[1/H'] (k > 2)."""
    dens = gamma_density(k - 1, alpha)           # law of k H'
    mean_kH = sp.integrate(h * dens, (h, 0, sp.oo), conds="none")
    inv = sp.integrate(k / h * dens, (h, 0, sp.oo), conds="none")
    return {"mean_H": sp.simplify(sp.gammasimp(mean_kH / k)), "mean_alpha": sp.simplify(sp.gammasimp(inv))}


def check_wrong_threshold() -> CheckResult:
    """(2c): E H' = (k-1)/(k alpha) and E[1/H'] = k alpha/(k-2)."""
    d = derive_wrong_threshold()
    return all_exact([(d["mean_H"], (k - 1) / (k * alpha)), (d["mean_alpha"], k * alpha / (k - 2))])


@lru_cache(maxsize=None)
def derive_second_order():
    """(2d): first-order bias of H and of Q = M - 2H^2, and the variance of Q, at A = A(n/k).

    Exact integrals over log Y ~ Exp(1); terms of order A^2 dropped.
    """
    w = sp.exp(-e)
    ey = lambda f: sp.simplify(sp.integrate(f * w, (e, 0, sp.oo)))  # noqa: E731
    z = g_ * e + A * (sp.exp(rho * e) - 1) / rho                    # log X_(i) - log X_(k+1)
    EH = ey(z)
    EM = ey(sp.expand(z ** 2))
    EH2 = EH ** 2                                                    # E H^2 = (E H)^2 + O(1/k)
    bias_H = sp.simplify(sp.series(EH - g_, A, 0, 2).removeO())
    bias_Q = sp.simplify(sp.series(EM - 2 * EH2, A, 0, 2).removeO())
    # Var Q to leading order: delta method on (mean z, mean z^2) at A = 0, Q = m2 - 2 m1^2.
    z0 = g_ * e
    mu1, mu2 = ey(z0), ey(z0 ** 2)
    cov = sp.Matrix([[ey(z0 ** 2) - mu1 ** 2, ey(z0 ** 3) - mu1 * mu2],
                     [ey(z0 ** 3) - mu1 * mu2, ey(z0 ** 4) - mu2 ** 2]])
    grad = sp.Matrix([-4 * mu1, 1])
    var_Q = sp.simplify((grad.T * cov * grad)[0])                   # times 1/k
    var_H = sp.simplify(cov[0, 0])
    return {"bias_H": bias_H, "bias_Q": bias_Q, "var_Q": var_Q, "var_H": var_H}


def check_second_order_biases() -> CheckResult:
    """(2d): bias_H = A/(1-rho), bias_Q = 2 gamma rho A/(1-rho)^2, k Var Q = 4 gamma^4, k Var H = gamma^2."""
    d = derive_second_order()
    return all_exact([(d["bias_H"], A / (1 - rho)), (d["bias_Q"], 2 * g_ * rho * A / (1 - rho) ** 2),
                      (d["var_Q"], 4 * g_ ** 4), (d["var_H"], g_ ** 2)])


@lru_cache(maxsize=None)
def derive_moment_statistic_exact():
    """(2d) at finite k on exact Pareto(alpha) data: E Q, Q = M - 2 H^2.

    Given the threshold, the k excesses log x_(i) - log x_(k+1) are iid Exp(rate alpha) (2a's
    Renyi representation), so E M = E Z^2 (integrated) and H ~ Gamma(k, rate k alpha) gives E H^2
    (integrated against the Gamma density).  Returns dict with ``EM``, ``EH2``, ``EQ``."""
    EM = sp.integrate(e ** 2 * alpha * sp.exp(-alpha * e), (e, 0, sp.oo))
    EH2 = sp.gammasimp(sp.integrate(h ** 2 * gamma_density(k, k * alpha), (h, 0, sp.oo), conds="none"))
    return {"EM": sp.simplify(EM), "EH2": sp.simplify(EH2), "EQ": sp.simplify(EM - 2 * EH2)}


def check_moment_statistic_exact() -> CheckResult:
    """(2d): E[M - 2H^2] = -2 gamma^2/k (gamma = 1/alpha) at finite k on Pareto data; 0 only as k -> inf."""
    d = derive_moment_statistic_exact()
    return all_exact([(d["EM"], 2 / alpha ** 2), (d["EH2"], (1 + 1 / k) / alpha ** 2),
                      (d["EQ"], -2 / (k * alpha ** 2)), (sp.limit(d["EQ"], k, sp.oo), 0)])


def derive_alpha_hat_asymptotics():
    """(2d): delta method for alpha_hat = 1/H: mean lambda/(1-rho) and variance gamma^2 of
    sqrt(k)(H - gamma) map to -alpha^2 lambda/(1-rho) and alpha^2."""
    dfd = sp.diff(1 / g_, g_)                                        # d(1/H)/dH at gamma
    mean = sp.simplify((dfd * lam / (1 - rho)).subs(g_, 1 / alpha))
    var = sp.simplify((dfd ** 2 * g_ ** 2).subs(g_, 1 / alpha))
    return {"mean": mean, "var": var}


def check_alpha_hat_asymptotics() -> CheckResult:
    d = derive_alpha_hat_asymptotics()
    return all_exact([(d["mean"], -alpha ** 2 * lam / (1 - rho)), (d["var"], alpha ** 2)])


_V, _B, _N, _r = sp.symbols("V B N r", positive=True)


@lru_cache(maxsize=None)
def k_opt_general():
    """AMSE-optimal k for AMSE(k) = V/k + B^2 (N/k)^(2 rho), solved by sympy from d/dk = 0.

    Returns the closed form in the symbols V, B, N (and rho): (-2 rho B^2 N^(2 rho)/V)^(1/(2rho-1)).
    """
    kk = sp.Symbol("kk", positive=True)
    amse = _V / kk + _B ** 2 * (_N / kk) ** (2 * rho)
    sol = [v for v in sp.solve(sp.Eq(sp.diff(amse, kk), 0), kk, check=False) if v != 0]
    if len(sol) != 1:                  # (stationarity re-checked numerically in the check below)
        raise RuntimeError(f"expected one stationary point, got {sol}")
    return sp.simplify(sol[0])


def derive_double_bootstrap_correction():
    """(2d): k_H(n)/k_Q(n); the identity k_Q(n1)^2/k_Q(n1^2/n) = k_Q(n); the DPDV factor with rho_hat.

    Works with log k_opt (a linear expression in log N, log V, log B) so the identities are
    checked by ``expand_log`` rather than by simplifying nested powers.
    """
    d = derive_second_order()
    # logs are taken with r = -rho > 0 so that every argument is positive
    log_k = sp.expand_log(sp.log(k_opt_general().subs(rho, -_r)), force=True)
    VH, BH = g_ ** 2, (a_ / (1 - rho)).subs(rho, -_r)
    VQ, BQ = d["var_Q"], (-sp.simplify(d["bias_Q"] / A) * a_).subs(rho, -_r)   # |bias| (squared)
    L = lambda V, B, N: log_k.subs({_V: V, _B: B, _N: N})  # noqa: E731
    log_ratio = sp.simplify(sp.expand_log(L(VH, BH, n) - L(VQ, BQ, n), force=True))
    # k_opt = (V/(-2 rho B^2))^(1/(1-2rho)) N^(..): the ratio is base^(1/(1-2 rho)) with
    base = sp.cancel((VH * BQ ** 2) / (BH ** 2 * VQ)).subs(_r, -rho)
    log_ident = sp.simplify(sp.expand_log(2 * L(VQ, BQ, n1) - L(VQ, BQ, n1 ** 2 / n) - L(VQ, BQ, n),
                                          force=True))
    rho_hat = sp.log(k1) / (2 * sp.log(k1) - 2 * sp.log(n1))
    dpdv = (sp.log(k1) ** 2 / (2 * sp.log(n1) - sp.log(k1)) ** 2) ** ((sp.log(n1) - sp.log(k1)) / sp.log(n1))
    return {"log_ratio": log_ratio, "base": base, "log_identity": log_ident, "rho_hat": rho_hat, "dpdv": dpdv,
            "k_opt": k_opt_general()}


def check_double_bootstrap_correction() -> CheckResult:
    """(2d): k_H/k_Q = (1 - 1/rho)^(-2/(1-2rho)); k_Q(n1)^2/k_Q(n1^2/n) = k_Q(n); ratio at rho_hat
    equals the DPDV factor.

    The last identity is checked on a grid of (k1, n1) with 1 < k1 < n1 (evaluated to 30 digits)
    because the symbolic logs do not simplify to one canonical form.
    """
    d = derive_double_bootstrap_correction()
    closed = (1 - 1 / rho) ** (-2 / (1 - 2 * rho))
    ok = is_zero(d["base"] - (1 - 1 / rho) ** -2)
    for rv in (-0.1, -0.5, -1, -2, -7.5):                           # the full ratio, numerically
        got = float(sp.exp(d["log_ratio"].subs(_r, -rv)))
        ok = ok and abs(got / float(closed.subs(rho, rv)) - 1) < 1e-12
    ok = ok and is_zero(d["log_identity"])
    ok = ok and is_zero(d["k_opt"] - (-2 * rho * _B ** 2 * _N ** (2 * rho) / _V) ** (1 / (2 * rho - 1)))
    kk = sp.Symbol("kk", positive=True)
    damse = sp.diff(_V / kk + _B ** 2 * (_N / kk) ** (2 * rho), kk)
    for vals in ({_V: 2, _B: 0.3, _N: 1e4, rho: -0.5}, {_V: 0.7, _B: 2.0, _N: 500, rho: -2.0}):
        k0 = d["k_opt"].subs(vals)
        ok = ok and abs(float(damse.subs(vals).subs(kk, k0)) * float(k0) ** 2) < 1e-9 * float(vals[_V])
    worst = 0.0
    for kk, nn in [(10, 1000), (30, 5000), (100, 20000), (57, 890), (5, 64)]:
        at = {k1: kk, n1: nn}
        r = float(closed.subs(rho, d["rho_hat"].subs(at)).evalf(30))
        worst = max(worst, abs(r / float(d["dpdv"].subs(at).evalf(30)) - 1))
    ok = ok and worst < 1e-12
    return CheckResult((d["base"] ** (1 / (1 - 2 * rho)), d["log_identity"], worst), (closed, 0, 0.0), 1e-12,
                       bool(ok))
