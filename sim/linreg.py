"""Heavy tails from multiplicative noise: SGD on Gaussian linear regression.

Gurbuzbalaban, Simsekli, Zhu (2021), "The heavy-tail phenomenon in SGD", ICML, PMLR 139.
Data a_i ~ N(0, I_d), y_i = a_i^T x_star + sigma eps_i. Mini-batch SGD with step eta and batch b,

    x_{k+1} = x_k - (eta/b) sum_{i in B_k} a_i (a_i^T x_k - y_i) = (I - (eta/b) H_k) x_k + q_k,
    H_k = sum_{i in B_k} a_i a_i^T,   q_k = (eta/b) sum_{i in B_k} a_i y_i,

is a random linear recursion (Kesten 1973; Goldie 1991). Writing x relative to x_star (we take
x_star = 0 without loss of generality, so q_k = (eta/b) sum a_i sigma eps_i), its stationary law
has a power tail P(||x|| > t) ~ c t^-alpha whose index alpha is the positive root of

    h(alpha) = E ||(I - (eta/b) H) e1||^alpha = 1

(the Gaussian data are rotation invariant, so any unit vector can replace e1). A root exists
when E log ||(I - (eta/b) H) e1|| < 0 (the recursion is stable; h'(0) < 0) and the norm exceeds
1 with positive probability; it is smaller (heavier tail) for larger eta/b at fixed b and for
smaller b at fixed eta/b in their experiments.

We estimate h by Monte Carlo with common random numbers: with r_j = ||(I - (eta/b) H_j) e1||,
j = 1..m, log h_m(alpha) = logsumexp(alpha log r_j) - log m, a convex function of alpha with
value 0 at alpha = 0; its positive zero is found by Brent's method. Since
(I - (eta/b) H) e1 = e1 - (eta/b) sum_i a_i a_{i1}, no matrix is formed.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp

from ahtga._validation import check_int, check_positive


def _contraction_norms(eta: float, b: int, d: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """r_j = ||e1 - (eta/b) sum_{i<=b} a_i a_{i1}||, j = 1..m, in chunks to bound memory."""
    out = np.empty(m)
    chunk = max(1, 2_000_000 // (b * d))
    for s in range(0, m, chunk):
        e = min(m, s + chunk)
        A = rng.standard_normal((e - s, b, d))
        v = -(eta / b) * np.einsum("jbd,jb->jd", A, A[:, :, 0])
        v[:, 0] += 1.0
        out[s:e] = np.linalg.norm(v, axis=1)
    return out


def log_h(alpha, *, eta: float, b: int = 1, d: int = 1, n_mc: int = 200_000, seed: int = 0):
    """Monte Carlo log E||(I - (eta/b) H) e1||^alpha (vectorised over ``alpha``)."""
    eta = check_positive("eta", eta)
    b = check_int("b", b, min_value=1)
    d = check_int("d", d, min_value=1)
    n_mc = check_int("n_mc", n_mc, min_value=100)
    logr = np.log(_contraction_norms(eta, b, d, n_mc, np.random.default_rng(seed)))
    a = np.atleast_1d(np.asarray(alpha, dtype=float))
    vals = logsumexp(np.outer(a, logr), axis=1) - math.log(n_mc)
    return vals if np.ndim(alpha) else float(vals[0])


def theoretical_tail_index(eta: float, *, b: int = 1, d: int = 1, n_mc: int = 200_000,
                           seed: int = 0, alpha_max: float = 64.0) -> float:
    """The root alpha > 0 of E||(I - (eta/b) H) e1||^alpha = 1 (Monte Carlo expectation).

    Returns ``inf`` when h(alpha) < 1 up to ``alpha_max`` (no power tail within reach: very
    light tails). Raises ``ValueError`` when E log r >= 0: the recursion is not stationary (the
    iterates diverge) for this ``eta``.

    The Monte Carlo error is O(m^-1/2) in h but grows with alpha (r^alpha is itself
    heavy-tailed under the tilted law); the default m = 2e5 gives about two decimals for
    roots below ~5.
    """
    eta = check_positive("eta", eta)
    b = check_int("b", b, min_value=1)
    d = check_int("d", d, min_value=1)
    n_mc = check_int("n_mc", n_mc, min_value=100)
    alpha_max = check_positive("alpha_max", alpha_max)
    logr = np.log(_contraction_norms(eta, b, d, n_mc, np.random.default_rng(seed)))
    if logr.mean() >= 0:
        raise ValueError(f"`eta` too large for a stationary recursion: E log||(I - eta/b H) e1|| = "
                         f"{logr.mean():.3g} >= 0 with eta={eta}, b={b}, d={d}")

    def f(a):
        return logsumexp(a * logr) - math.log(n_mc)

    if f(alpha_max) < 0:
        return math.inf
    lo = 1e-6
    while f(lo) >= 0:          # f is convex with f(0) = 0, f'(0) = E log r < 0
        lo /= 10
        if lo < 1e-14:
            raise RuntimeError("could not bracket the tail-index root near 0")
    return float(brentq(f, lo, alpha_max, xtol=1e-10))


def simulate_sgd(eta: float, *, b: int = 1, d: int = 1, n_chains: int = 10_000, n_steps: int = 500,
                 sigma: float = 1.0, seed: int = 0, x0=None) -> np.ndarray:
    """Run ``n_chains`` independent SGD chains for ``n_steps`` steps; return the final iterates.

    x_{k+1} = x_k - (eta/b) sum_i a_i (a_i^T x_k - sigma eps_i), x_star = 0, a_i ~ N(0, I_d),
    eps_i ~ N(0, 1), chains and batches independent. Returns an array (n_chains, d): after a
    burn-in of a few hundred steps these are iid draws from (close to) the stationary law, whose
    norms have tail index ``theoretical_tail_index(eta, b=b, d=d)``.
    """
    eta = check_positive("eta", eta)
    b = check_int("b", b, min_value=1)
    d = check_int("d", d, min_value=1)
    n_chains = check_int("n_chains", n_chains, min_value=1)
    n_steps = check_int("n_steps", n_steps, min_value=1)
    sigma = check_positive("sigma", sigma)
    rng = np.random.default_rng(seed)
    x = np.zeros((n_chains, d)) if x0 is None else np.array(np.broadcast_to(x0, (n_chains, d)), float)
    for _ in range(n_steps):
        A = rng.standard_normal((n_chains, b, d))
        resid = np.einsum("cbd,cd->cb", A, x) - sigma * rng.standard_normal((n_chains, b))
        x = x - (eta / b) * np.einsum("cbd,cb->cd", A, resid)
    if not np.isfinite(x).all():
        raise FloatingPointError(f"SGD iterates overflowed with eta={eta}, b={b}, d={d}: the "
                                 "recursion is not stationary or n_steps is too large")
    return x


def tail_index_study(etas, *, b: int = 1, d: int = 1, n_chains: int = 20_000, n_steps: int = 300,
                     sigma: float = 1.0, n_mc: int = 200_000, seed: int = 0,
                     estimators=("hill", "hill_db")) -> list[dict]:
    """For each step size: the Kesten root and what tail estimators read on simulated iterates.

    The estimators are called through ``ahtga.tail.estimate`` on the norms of ``n_chains``
    final iterates (``hill`` uses the registry's default k = round(sqrt(n))). Returns one dict
    per eta: ``{"eta", "eta_over_b", "root", <estimator>: alpha_hat, ...}``.
    """
    from ahtga.tail import estimate

    rows = []
    for i, eta in enumerate(etas):
        root = theoretical_tail_index(eta, b=b, d=d, n_mc=n_mc, seed=seed)
        x = simulate_sgd(eta, b=b, d=d, n_chains=n_chains, n_steps=n_steps, sigma=sigma, seed=seed + 1 + i)
        norms = np.linalg.norm(x, axis=1)
        row = {"eta": float(eta), "eta_over_b": float(eta) / b, "root": root}
        for name in estimators:
            row[name] = float(estimate(norms, estimator=name, seed=seed).alpha)
        rows.append(row)
    return rows
