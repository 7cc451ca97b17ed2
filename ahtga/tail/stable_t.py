"""``stable_t_dk``, the default of :func:`ahtga.tail.estimate`: a choice between two parametric
heavy-tailed models, |symmetric stable| and |Student-t|, by goodness of fit and likelihood,
with Hill at the Drees-Kaufmann k when neither fits.

**Why two models.**  ``stable_dk`` (``ahtga.tail.stable_fit``) tests only the stable law, and at
n ~ 1e3 its quantile test cannot tell a |Student-t(4)| sample from a |stable| one with
alpha ~ 1.7 (both fit the quantiles below 0.99): it then reads the stable index, 1.7, for a
Pareto tail of index 4.  The likelihood sees the whole sample, the largest values included,
where the two laws differ most (a power law of index alpha < 2 against one of index nu).
Stable and Student-t are the two parametric laws used for heavy-tailed gradient noise
(Simsekli et al. 2019 for the first; the second is the standard finite-variance alternative,
with a Gaussian-like body and any power-law tail).

**The rule** (n >= ``STABLE_MIN_N``):

1. the stable quantile fit (alpha_s, its chi-squared p-value p_s; ``stable_fit``);
2. the Student-t maximum-likelihood fit (nu, scale) of |X| (L-BFGS-B on (log nu, log scale),
   nu in [``NU_MIN``, ``NU_MAX``]), and the same quantile-ratio test at nu (p_t, 5 degrees of
   freedom, nu not fitted to the ratios);
3. a model is a candidate when its test is not rejected (p >= ``level``; the stable fit also
   inside its table).  With both, the Student-t is taken when its maximised log-likelihood
   exceeds the stable law's by more than ``stable_log_odds`` (default ``STABLE_LOG_ODDS`` =
   1.5): a Bayes choice with prior odds e^1.5 ~ 4.5 for the stable law (both models have two
   parameters, so 0 would be the maximum-likelihood, AIC and BIC choice).  The stable
   log-likelihood is maximised over (alpha, scale) from the quantile fit by Nelder-Mead on the
   tabulated density (``_stable_density``, written by ``python -m sim.stable_density``, cubic
   in log x); the estimate stays the quantile fit's alpha_s, whose error the atlas measures;
4. stable: alpha_s (at alpha = 2, a Gaussian: 2 with a TailWarning); Student-t: nu (at
   ``NU_MAX``, a Gaussian: with a TailWarning); neither: ``hill_type`` (Hill at the
   Drees-Kaufmann k from n = 1000, ``hill_lepski`` below).

**The choice, and what it costs** (``sim.stable_t_study``, on the atlas's design replications,
never used by the atlas).  At n = 1e3 the log-likelihood ratios of |Student-t(4)| samples and
of |stable| samples with alpha >= 1.7 overlap (a t with nu ~ 5-10 and a stable law near 2 fit
such a sample about equally), so every threshold misreads some samples of one law or the
other, and one misread costs a lot (nu ~ 10 read for alpha = 1.9).  Among the thresholds
0, 0.5, ..., 4 on the ratio and the levels 0.5..0.01 of Vuong's test, 1.5 had the smallest
worst RMSE ratio to issue 14's references over all its target cells (0.91).  What it costs
there: |stable| 1.7 and 1.9 at n = 1e3 had RMSE 0.56 and 1.62 instead of 0.04 (one or two
samples of 40 read as a Student-t); what it gains: |Student-t(4)| at n = 1e3, 0.81 instead of
2.32.  ``stable_dk`` (the stable fit alone) remains by name for data known to be stable.

Diagnostics: ``branch`` ("stable", "student_t", "hill_dk", "hill_lepski"), ``stable_alpha``,
``stable_p``, ``stable_stat``, ``t_nu``, ``t_scale``, ``t_p``, ``loglik_stable``, ``loglik_t``
(None unless both models are candidates), ``vuong_z`` (Vuong's normalised log-likelihood
ratio, t over stable, with both; reported, not used), ``gaussian``.

**Limits** (measured in the bias atlas and ``sim.stable_dk_study``): a law in neither family
that one of the tests accepts is read as that family's index; at n below a few hundred both tests
have little power, so small samples are read as whichever model fits better, whatever they are.
Properties: deterministic (no seed), scale and permutation invariant up to the optimisers'
tolerances.

References: Q. H. Vuong (1989), "Likelihood ratio tests for model selection and non-nested
hypotheses", Econometrica 57(2):307-333.  U. Simsekli, L. Sagun, M. Gurbuzbalaban (2019), "A
tail-index analysis of stochastic gradient noise in deep neural networks", ICML.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import interpolate, optimize, special, stats

from .._validation import check_in_range
from .hill import tail_warn
from .stable_fit import (FIT_P, STABLE_MIN_N, _fit, _positive, _table, gls_stat, hill_type,
                         ratios)

__all__ = ["stable_t_dk", "student_t_fit", "stable_logpdf", "stable_loglik", "NU_MIN", "NU_MAX",
           "MIN_N"]

#: Range of the Student-t's degrees of freedom (at ``NU_MAX`` the law is a Gaussian to within
#: the tests' resolution).
NU_MIN, NU_MAX = 0.05, 1000.0
MIN_N = 3
#: Above this many values the stable likelihood's search runs on evenly spaced order statistics.
SEARCH_N = 20_000
#: The prior log odds of the stable law when both models fit (module docstring, "The choice").
STABLE_LOG_ODDS = 1.5
_LOG2 = math.log(2.0)


@functools.lru_cache(maxsize=1)
def _density():
    from . import _stable_density as D
    alphas = np.asarray(D.ALPHAS, dtype=float)
    L = np.asarray(D.LOGF, dtype=float)
    lx = D.LOGX_LO + D.LOGX_STEP * np.arange(D.LOGX_N)
    with np.errstate(divide="ignore"):
        lead = np.log(2 * special.gamma(alphas + 1) * np.sin(np.pi * alphas / 2) / np.pi)
    return alphas, lx, L, lead


@functools.lru_cache(maxsize=None)
def _spline(i: int):
    alphas, lx, L, _ = _density()
    return interpolate.CubicSpline(lx, L[i])


def _row(i: int, y: np.ndarray) -> np.ndarray:
    """log density of |X| at the table's i-th alpha, at x = exp(y): a cubic spline in log x (the
    error of linear interpolation, ~0.01 in the body at alpha ~ 1.9, biased the likelihood by
    units per 1000 values), the density at 0 below the table and the leading power-law term
    above; alpha = 2 is the Gaussian's exact formula."""
    alphas, lx, L, lead = _density()
    if alphas[i] >= 2:
        return _LOG2 - np.exp(2 * y) / 4 - 0.5 * math.log(4 * math.pi)
    v = _spline(i)(np.clip(y, lx[0], lx[-1]))
    hi = y > lx[-1]
    if np.any(hi):
        v[hi] = lead[i] - (alphas[i] + 1) * y[hi]
    return v


def stable_logpdf(y, alpha: float) -> np.ndarray:
    """log density of |X|, X symmetric ``alpha``-stable (S1, scale 1), at x = exp(``y``);
    alpha in [0.6, 2], the density interpolated linearly in alpha between the table's rows."""
    alphas = _density()[0]
    alpha = check_in_range("alpha", alpha, float(alphas[0]), float(alphas[-1]))
    y = np.asarray(y, dtype=float)
    i = int(min(len(alphas) - 2, np.searchsorted(alphas, alpha, side="right") - 1))
    w = (alpha - alphas[i]) / (alphas[i + 1] - alphas[i])
    if w <= 1e-12:
        return _row(i, y)
    if w >= 1 - 1e-12:
        return _row(i + 1, y)
    return np.logaddexp(math.log1p(-w) + _row(i, y), math.log(w) + _row(i + 1, y))


def stable_loglik(x, alpha0: float) -> tuple[float, float, float, np.ndarray]:
    """The stable log-likelihood of the positive sample ``x`` maximised over (alpha, log scale)
    by Nelder-Mead from ``alpha0`` and the scale matching the median: ``(loglik, alpha, scale,
    per-value log densities)``.  Above ``SEARCH_N`` values the search runs on ``SEARCH_N``
    evenly spaced order statistics (their log-likelihood times n / ``SEARCH_N``, a quadrature of
    the full one), and the full log-likelihood is evaluated once, at the optimum found."""
    y = np.log(np.asarray(x, dtype=float))
    alphas = _density()[0]
    lo, hi = float(alphas[0]), float(alphas[-1])
    fine, P, LQ, _, idx = _table()
    a0 = float(np.clip(alpha0, lo, hi))
    ls0 = float(np.median(y) - np.interp(a0, fine, LQ[:, idx[-1]]))
    ys = y
    if y.size > SEARCH_N:
        ys = np.sort(y)[np.round(np.linspace(0, y.size - 1, SEARCH_N)).astype(np.int64)]
    w = y.size / ys.size

    def terms(th, v):
        return stable_logpdf(v - th[1], float(np.clip(th[0], lo, hi))) - th[1]

    def nll(th):
        return -w * float(np.sum(terms(th, ys)))

    step = 0.03 if a0 <= hi - 0.03 else -0.03
    res = optimize.minimize(nll, [a0, ls0], method="Nelder-Mead",
                            options={"xatol": 1e-4, "fatol": 1e-3,
                                     "initial_simplex": [[a0, ls0], [a0 + step, ls0], [a0, ls0 + 0.05]]})
    th = res.x if res.fun <= nll([a0, ls0]) else np.array([a0, ls0])
    t = terms(th, y)
    return float(np.sum(t)), float(np.clip(th[0], lo, hi)), float(math.exp(th[1])), t


def _t_terms(x: np.ndarray, nu: float, s: float) -> np.ndarray:
    z2 = (x / s) ** 2
    c = _LOG2 + special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2) - 0.5 * math.log(nu * math.pi) - math.log(s)
    return c - (nu + 1) / 2 * np.log1p(z2 / nu)


def _t_start(x: np.ndarray) -> tuple[float, float]:
    med = float(np.median(x))
    best = None
    for nu in (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0):
        s = med / float(stats.t.ppf(0.75, nu))
        v = float(np.sum(_t_terms(x, nu, s)))
        if best is None or v > best[0]:
            best = (v, nu, s)
    return best[1], best[2]


def student_t_fit(x) -> tuple[float, float, float, np.ndarray]:
    """Maximum-likelihood |Student-t| fit of the positive 1-d sample ``x`` (n >= 3):
    ``(nu, scale, loglik, per-value log densities)``, nu in [``NU_MIN``, ``NU_MAX``]."""
    return _t_fit(_positive(x, MIN_N, "student_t_fit"))


def _t_fit(a: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """``student_t_fit`` on the positive float64 array ``a`` (no checks)."""
    med = float(np.median(a))
    x = a / med
    nu0, s0 = _t_start(x)

    def f(th):
        nu, s = math.exp(th[0]), math.exp(th[1])
        z2 = (x / s) ** 2
        t = _t_terms(x, nu, s)
        g_nu = 0.5 * (special.digamma((nu + 1) / 2) - special.digamma(nu / 2) - 1 / nu) \
            - 0.5 * np.log1p(z2 / nu) + (nu + 1) / 2 * z2 / (nu * (nu + z2))
        g_s = -1.0 + (nu + 1) * z2 / (nu + z2)
        return -float(np.mean(t)), -np.array([nu * float(np.mean(g_nu)), float(np.mean(g_s))])

    res = optimize.minimize(f, [math.log(nu0), math.log(s0)], jac=True, method="L-BFGS-B",
                            bounds=[(math.log(NU_MIN), math.log(NU_MAX)), (None, None)],
                            options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 500})
    nu = min(max(math.exp(res.x[0]), NU_MIN), NU_MAX)
    s = math.exp(res.x[1]) * med
    terms = _t_terms(a, nu, s)
    return nu, s, float(np.sum(terms)), terms


def _t_test(a: np.ndarray, nu: float) -> tuple[float, float]:
    """The quantile-ratio test of |Student-t(nu)| on ``a``: ``(statistic, p-value)``."""
    p = np.array([*FIT_P, 0.5])
    q = stats.t.ppf((1 + p) / 2, nu)
    R = np.log(q[:-1]) - np.log(q[-1])
    g = 1.0 / (2.0 * stats.t.pdf(q, nu) * q)           # d log q / dp of |T|
    S = float(gls_stat(p, ratios(a, p), R[None, :], g[None, :], a.size)[0])
    return S, float(stats.chi2.sf(S, len(FIT_P) - 1))


def stable_t_dk(x, *, level: float = 1e-3, stable_log_odds: float = STABLE_LOG_ODDS
                ) -> tuple[float, int | None, dict]:
    """The default estimate of the positive 1-d sample ``x`` (n >= 3): ``(alpha, k, diagnostics)``,
    k None on the parametric branches (module docstring).  ``level``: the goodness-of-fit level
    below which a model is rejected, in (0, 1); ``stable_log_odds``: the prior log odds of the
    stable law when both models fit (the Student-t is taken when its maximised log-likelihood
    exceeds the stable one's by more), finite."""
    level = check_in_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    stable_log_odds = check_in_range("stable_log_odds", stable_log_odds, -math.inf, math.inf,
                                     lo_open=True, hi_open=True)
    a = np.sort(_positive(x, MIN_N, "stable_t_dk"))   # sorted: sums, hence fits, order-free
    diag = {"branch": None, "stable_alpha": None, "stable_p": None, "stable_stat": None,
            "t_nu": None, "t_scale": None, "t_p": None, "loglik_stable": None, "loglik_t": None,
            "vuong_z": None, "gaussian": False}
    if a.size >= STABLE_MIN_N:
        fit = _fit(a)
        nu, s, ll_t, t_terms = _t_fit(a)
        _, p_t = _t_test(a, nu)
        diag.update(stable_alpha=fit["alpha"], stable_p=fit["p_value"], stable_stat=fit["stat"],
                    t_nu=nu, t_scale=s, t_p=p_t)
        ok_s = fit["inside"] and fit["p_value"] >= level
        ok_t = p_t >= level
        choice = "stable" if ok_s else ("student_t" if ok_t else None)
        if ok_s and ok_t:
            ll_s, _, _, s_terms = stable_loglik(a, fit["alpha"])
            d = t_terms - s_terms
            sd = float(np.std(d))
            diag.update(loglik_stable=ll_s, loglik_t=ll_t,
                        vuong_z=float(np.sum(d) / (math.sqrt(a.size) * sd)) if sd > 0 else 0.0)
            choice = "student_t" if ll_t - ll_s > stable_log_odds else "stable"
        if choice == "stable":
            diag.update(branch="stable", gaussian=fit["at_top"])
            if fit["at_top"]:
                tail_warn("stable_t_dk: the sample fits a Gaussian (stable alpha = 2): no power-law "
                          "tail; 2 is the stable index, not a Pareto tail index", stacklevel=2)
            return fit["alpha"], None, diag
        if choice == "student_t":
            at_cap = nu >= NU_MAX * (1 - 1e-6)
            diag.update(branch="student_t", gaussian=at_cap)
            if at_cap:
                tail_warn(f"stable_t_dk: the sample fits a Student-t at its largest nu = {NU_MAX:g}, "
                          "a Gaussian: no power-law tail", stacklevel=2)
            return nu, None, diag
    alpha, k, extra = hill_type(a)
    diag.update(extra)
    return alpha, k, diag
