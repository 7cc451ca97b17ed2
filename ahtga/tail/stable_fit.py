"""A |symmetric stable| quantile fit with a goodness-of-fit test, Hill at the Drees-Kaufmann k,
and ``stable_dk``, the default of :func:`ahtga.tail.estimate` that combines them.

**stable_quantile.**  For X symmetric alpha-stable, the ratios q_p / q_0.5 of the quantiles of
|X| depend on alpha only (not on the scale).  With the sample quantiles at
p in ``FIT_P`` = (0.25, 0.75, 0.9, 0.95, 0.98, 0.99) and the median, the vector
r = (log q_p - log q_0.5)_p is compared with its value R(alpha) under the law by generalised
least squares,

    S(alpha) = (r - R(alpha))' C(alpha)^{-1} (r - R(alpha)),

where C(alpha) is the asymptotic covariance of r: Cov(q_i, q_j) = p_i (1 - p_j) / (n f_i f_j)
for p_i <= p_j (f the density at the quantile), carried to the log ratios.  R and f come from a
table of |stable| quantiles (``_stable_table``, written by ``python -m sim.stable_table`` from
10^7 draws of the package's sampler per alpha on 0.60, 0.62, ..., 2.00; linear interpolation
in alpha of the log quantiles, ``f`` from finite differences in p).  alpha_hat minimises S on a
grid of step ``ALPHA_STEP``, refined by the parabola through the grid minimum and its two
neighbours (so alpha_hat moves continuously with the data); S(alpha_hat) is referred to chi-squared with ``len(FIT_P) - 1``
degrees of freedom (one parameter fitted): ``p_value``, a test of "|X| is |symmetric
stable|".  This is McCulloch's (1986) quantile idea made a weighted fit with a test.  Fit
range: alpha in [0.6, 2]; at the lower end the law is outside the table (p_value 0).

**hill_dk.**  Hill at the k of Drees and Kaufmann (1998) with rho = -1: kbar(r) = the first k
of a fine grid (ratio 1.02 from 3) with max_{2 <= i <= k} sqrt(i) |H(i) - H(k)| > r,
r_n = 2.5 gamma~ n^(1/4) (gamma~ = H(2 sqrt n)), xi = 0.7, and
k = 3^(-1) (2 gamma~^2)^(1/3) (kbar(r_n^xi) / kbar(r_n)^xi)^(1/(1-xi)), bounded below by
k_0 = max(10, floor(sqrt(n)/2)); no crossing: k = n - 1.  alpha = (k-1)/(k H(k)).

**stable_dk** (the default before ``stable_t_dk``).  When n >= ``STABLE_MIN_N`` and the stable law is not rejected
(``p_value >= level``, default 1e-3, with alpha_hat inside the table), the estimate is the stable
fit's alpha_hat (a fit at alpha = 2, a Gaussian, returns 2 with a TailWarning: no power-law
tail); otherwise Hill at the Drees-Kaufmann k from n >= ``DK_MIN_N`` = 1000 and ``hill_lepski``
below.  Diagnostics: ``branch`` ("stable" / "hill_dk" / "hill_lepski"), ``stable_alpha``,
``stable_p``, ``stable_stat``, ``gaussian`` (the stable branch at alpha = 2).

Why (measured in the bias atlas, ``paper/measured/atlas``).  Every Hill-type rule is biased
upward on |stable| data as alpha -> 2, because the stable tail reaches its power law only far
out (Hill's k must be tiny); the parametric fit uses the whole distribution and has RMSE
0.004-0.06 on the atlas's |stable| cells (n = 1e3-1e5).  On Pareto-type laws (Pareto, Frechet,
Burr, Student-t at n = 1e4) the test rejects the stable law and Drees-Kaufmann's k is close to
the double bootstrap's or better.  **Known failure**: at n ~ 1e3, |Student-t(4)| is not
distinguishable from a |stable| law with alpha ~ 1.7 below its 99% quantile (only ~10 points lie
above it), the test accepts it, and the estimate is that stable index (1.7), not the Pareto tail
index 4; lognormal samples of 1e3 read ~1.4 (90% accepted).  Below n ~ 500 the test has little
power: exponential and lognormal samples of 256 read ~1.5 (all accepted), so a sample that small
is read as if it were stable whatever it is (``sim.stable_dk_study``).  The default,
``stable_t_dk`` (``ahtga.tail.stable_t``), adds a Student-t model and a likelihood choice for the
first of these failures.  Data that may be
finite-variance or light-tailed at such sizes need ``hill_dk`` or ``hill_lepski`` as well; the optimizer keeps ``hill_lepski`` (``ahtga.optim.AHTGA``: per-example norms
are not |symmetric stable|).

Properties: scale and permutation invariant; the stable branch is deterministic (no seed).

References: J. H. McCulloch (1986), "Simple consistent estimators of stable distribution
parameters", Comm. Statist. Simul. Comput. 15(4):1109-1136.  H. Drees, E. Kaufmann (1998),
"Selecting the optimal sample fraction in univariate extreme value estimation", Stoch. Proc.
Appl. 75(2):149-172.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
from scipy import stats

from .._validation import check_in_range
from .hill import check_positive_sample, check_sample, tail_warn
from .lepski import hill_lepski, k_start

__all__ = ["stable_quantile_fit", "hill_dk", "stable_dk", "hill_type", "FIT_P", "STABLE_MIN_N", "DK_MIN_N",
           "MIN_N"]

#: Probabilities of the quantile ratios fitted (each against the median).  Adding 0.995, 0.998
#: and 0.999 where n (1 - p) >= 2 or 5 was tried on the design replications: it rejected 3-12%
#: of |stable| samples at n = 1e4 (the normal approximation fails that far out) and did not
#: change the reading of |Student-t(4)| or lognormal samples at n = 1e3.
FIT_P = (0.25, 0.75, 0.9, 0.95, 0.98, 0.99)
#: Resolution of the fitted alpha.
ALPHA_STEP = 0.002
#: The stable branch needs this many values (fewer: the Hill-type fallback alone).
STABLE_MIN_N = 32
#: From this n on the fallback is Hill at the Drees-Kaufmann k; below, ``hill_lepski``.
DK_MIN_N = 1000
#: The smallest sample of the three estimators.
MIN_N = {"stable_quantile": 16, "hill_dk": 16, "stable_dk": 3}


@functools.lru_cache(maxsize=1)
def _table():
    from . import _stable_table as T
    alphas = np.asarray(T.ALPHAS, dtype=float)
    P = np.asarray(T.P, dtype=float)
    lq = np.asarray(T.LOGQ, dtype=float)
    fine = np.round(np.arange(alphas[0], alphas[-1] + ALPHA_STEP / 2, ALPHA_STEP), 6)
    LQ = np.stack([np.interp(fine, alphas, lq[:, j]) for j in range(len(P))], axis=1)
    dlogq = np.gradient(np.exp(LQ), P, axis=1) / np.exp(LQ)      # d log q / dp
    idx = [int(np.argmin(np.abs(P - p))) for p in (*FIT_P, 0.5)]
    return fine, P, LQ, dlogq, idx



def _positive(x, min_n, what) -> np.ndarray:
    """``x`` as a float64 numpy array: 1-d, finite (``check_sample``), positive, >= ``min_n``."""
    t = check_sample(x, min_n, what)
    check_positive_sample(t, what)
    return t.detach().to("cpu", torch.float64).numpy()


def ratios(x: np.ndarray, p) -> np.ndarray:
    """log q_p - log q_0.5 of the positive sample ``x`` at the probabilities ``p`` (last: 0.5)."""
    logq = np.log(np.quantile(x, p))
    return logq[:-1] - logq[-1]


def gls_stat(p, r: np.ndarray, R: np.ndarray, g: np.ndarray, n: int) -> np.ndarray:
    """The generalised least-squares distance S of the observed log quantile ratios ``r`` (at the
    probabilities ``p``, the median last) from each row of ``R`` (the law's ratios), with the
    asymptotic covariance of sample quantiles; ``g`` (rows, len(p)): d log q / dp of each law
    at ``p``.  Shared by the stable fit and the Student-t check (``stable_t``)."""
    p = np.asarray(p, dtype=float)
    pm, pM = np.minimum.outer(p, p), np.maximum.outer(p, p)
    C = (pm * (1.0 - pM) / n)[None] * g[:, :, None] * g[:, None, :]
    m = len(p) - 1
    D = np.hstack([np.eye(m), -np.ones((m, 1))])
    Cr = D @ C @ D.T
    d = r[None, :] - R
    return np.einsum("ai,ai->a", d, np.linalg.solve(Cr, d[..., None])[..., 0])


def _fit(x: np.ndarray, fit_p=FIT_P) -> dict:
    """The fit on the ratios at ``fit_p`` (probabilities of the table; ``FIT_P`` by default)."""
    fine, P, LQ, dlogq, idx = _table()
    if tuple(fit_p) != FIT_P:
        idx = [int(np.flatnonzero(np.isclose(P, q))[0]) for q in fit_p] + [idx[-1]]
    p = P[idx]
    r = ratios(x, p)
    R = LQ[:, idx[:-1]] - LQ[:, [idx[-1]]]
    S = gls_stat(p, r, R, dlogq[:, idx], x.size)
    j = int(np.argmin(S))
    alpha, smin = float(fine[j]), float(S[j])
    if 0 < j < S.size - 1:             # the parabola through the grid minimum and its neighbours
        den = S[j - 1] - 2.0 * S[j] + S[j + 1]
        if den > 0:
            off = 0.5 * (S[j - 1] - S[j + 1]) / den          # in (-1/2, 1/2) grid steps
            alpha = float(fine[j] + off * (fine[1] - fine[0]))
            smin = max(0.0, float(S[j] - 0.25 * (S[j - 1] - S[j + 1]) * off))
    inside = j > 0
    m = len(idx) - 1
    pval = float(stats.chi2.sf(smin, m - 1)) if inside else 0.0
    return {"alpha": alpha, "p_value": pval, "stat": smin, "inside": inside, "df": m - 1,
            "at_top": bool(alpha >= fine[-1] - ALPHA_STEP)}


def stable_quantile_fit(x) -> tuple[float, dict]:
    """The |symmetric stable| quantile fit of the positive 1-d sample ``x`` (n >= 16):
    ``(alpha_hat, {"p_value", "stat", "inside", "df", "at_top"})`` (module docstring; ``at_top``:
    the fit is at the table's upper end, alpha = 2, a Gaussian)."""
    fit = _fit(_positive(x, MIN_N["stable_quantile"], "stable_quantile"))
    return fit.pop("alpha"), fit


def _hill_curve(x: np.ndarray) -> np.ndarray:
    """Hill's H(k) for k = 1..n-1 (threshold the (k+1)-th largest)."""
    logs = np.sort(np.log(x))[::-1]
    k = np.arange(1, x.size)
    return np.cumsum(logs[:-1]) / k - logs[1:]


def _dk_k(H: np.ndarray, n: int, xi: float = 0.7) -> tuple[int, dict]:
    k0 = min(n - 1, k_start(n))
    gt = float(H[min(n - 2, max(1, int(2 * math.sqrt(n))) - 1)])
    steps = int(math.log(max(n / 3, 1.0)) / math.log(1.02)) + 2
    fine = np.unique(np.round(3 * 1.02 ** np.arange(steps)).astype(np.int64))
    fine = fine[(fine >= 2) & (fine <= n - 1)]
    sq = np.sqrt(np.arange(1, n, dtype=float))
    M = np.array([float(np.max(sq[1:k] * np.abs(H[1:k] - H[k - 1]))) if k >= 2 else 0.0
                  for k in fine])

    def kbar(r):
        hit = np.flatnonzero(M > r)
        return int(fine[hit[0]]) if hit.size else None

    rn = 2.5 * gt * n ** 0.25
    kb, kx = kbar(rn), kbar(rn ** xi) if rn > 0 else None
    if kb is None or kx is None or gt <= 0:
        k = n - 1
    else:
        k = (1 / 3) * (2 * gt * gt) ** (1 / 3) * (kx / kb ** xi) ** (1 / (1 - xi))
        k = int(min(n - 1, max(k0, math.floor(k))))
    return k, {"kbar": kb, "kbar_xi": kx, "k_start": k0}


def _alpha_at(H: np.ndarray, k: int, what: str) -> float:
    h = float(H[k - 1])
    if h > 0:
        return (k - 1) / (k * h)
    tail_warn(f"{what}: the Hill estimate at k={k} is infinite: the top k+1 values are equal "
              "(ties at the threshold); there is no tail to measure", stacklevel=3)
    return math.inf


def hill_dk(x) -> tuple[float, int, dict]:
    """Hill at the Drees-Kaufmann k (rho = -1) of the positive 1-d sample ``x`` (n >= 16):
    ``(alpha, k, diagnostics)`` (module docstring)."""
    a = _positive(x, MIN_N["hill_dk"], "hill_dk")
    H = _hill_curve(a)
    k, diag = _dk_k(H, a.size)
    return _alpha_at(H, k, "hill_dk"), k, diag


def stable_dk(x, *, level: float = 1e-3) -> tuple[float, int | None, dict]:
    """The default estimate of the positive 1-d sample ``x`` (n >= 3): ``(alpha, k, diagnostics)``,
    k None on the stable branch (module docstring).  ``level``: the goodness-of-fit level below
    which the stable law is rejected, in (0, 1)."""
    level = check_in_range("level", level, 0.0, 1.0, lo_open=True, hi_open=True)
    a = _positive(x, MIN_N["stable_dk"], "stable_dk")
    n = a.size
    diag = {"branch": None, "stable_alpha": None, "stable_p": None, "stable_stat": None,
            "gaussian": False}
    if n >= STABLE_MIN_N:
        fit = _fit(a)
        diag.update(stable_alpha=fit["alpha"], stable_p=fit["p_value"], stable_stat=fit["stat"])
        if fit["inside"] and fit["p_value"] >= level:
            diag.update(branch="stable", gaussian=fit["at_top"])
            if fit["at_top"]:
                tail_warn("stable_dk: the sample fits a Gaussian (stable alpha = 2): no power-law "
                          "tail; 2 is the stable index, not a Pareto tail index", stacklevel=2)
            return fit["alpha"], None, diag
    alpha, k, extra = hill_type(a)
    diag.update(extra)
    return alpha, k, diag


def hill_type(a: np.ndarray) -> tuple[float, int, dict]:
    """``stable_dk``'s estimate when the stable law is rejected (or n < ``STABLE_MIN_N``): Hill at
    the Drees-Kaufmann k from n >= ``DK_MIN_N``, else ``hill_lepski``; ``(alpha, k, diagnostics
    with its "branch")``.  ``a``: a positive float64 array."""
    n = a.size
    if n >= DK_MIN_N:
        H = _hill_curve(a)
        k, dk = _dk_k(H, n)
        return _alpha_at(H, k, "stable_dk"), k, {"branch": "hill_dk", **dk}
    alpha, k, lep = hill_lepski(torch.from_numpy(a))
    return alpha, k, {"branch": "hill_lepski", **lep}
