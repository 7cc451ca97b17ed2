"""Synthetic heavy-tailed sources and per-example gradient vectors.

Scalar laws (the tail index is the alpha with P(|X| > t) = L(t) t^-alpha, L slowly varying):

- ``"pareto"``: X = scale U^(-1/alpha), U ~ U(0, 1]; P(X > t) = (t/scale)^-alpha for t >= scale.
  Exact power law, tail index alpha. With ``signed=True`` a random sign is attached (|X| is
  still exact Pareto).
- ``"student_t"``: Student-t with ``df = alpha`` degrees of freedom; P(|T| > t) ~ c t^-df, tail
  index df (second-order parameter rho = -2, so Hill is less biased than on stable data).
- ``"stable"``: symmetric alpha-stable (S1, c = scale, beta = 0) from :mod:`sim.stable`;
  P(|X| > t) ~ 2 Gamma(alpha) sin(pi alpha/2)/pi (t/scale)^-alpha for alpha < 2; tail index
  alpha for alpha < 2. At alpha = 2 it is N(0, 2 scale^2): no power tail (index infinite).
- ``"gaussian"``: N(0, scale^2); tail index infinite (all moments finite).

Per-example gradient vectors g_i = mean + noise_i in R^d with iid noise coordinates
(``gradient_vectors``). Their norms have tail index alpha: for iid coordinates with
P(|X_j| > t) ~ C t^-alpha, the squares X_j^2 are regularly varying with index alpha/2 and
subexponential, so P(sum_j X_j^2 > s) ~ d P(X_1^2 > s) ("one big jump"), i.e.
P(||X|| > t) ~ d C t^-alpha; a fixed mean shifts ||g|| by at most ||mean|| and does not change
the index. (Embrechts, Klueppelberg, Mikosch 1997, "Modelling Extremal Events", Sec. 1.3.)
For Gaussian noise ||g - mean||/scale is chi with d degrees of freedom: no power tail.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ahtga._validation import check_choice, check_int, check_positive

from .stable import stable_rvs, stable_rvs_torch

LAWS = ("stable", "pareto", "student_t", "gaussian")
NOISES = ("stable", "student_t", "gaussian")


def true_tail_index(law: str, alpha: float | None = None) -> float:
    """The tail index of ``law`` in the Hill sense: alpha, or ``inf`` for a light tail.

    stable: alpha for alpha < 2, inf at alpha = 2 (normal); pareto: alpha; student_t: df = alpha;
    gaussian: inf.
    """
    check_choice("law", law, set(LAWS))
    if law == "gaussian":
        return math.inf
    a = check_positive("alpha", alpha)
    if law == "stable" and a >= 2.0:
        return math.inf
    return a


def pareto_rvs(alpha: float, *, size, scale: float = 1.0, rng=None) -> np.ndarray:
    """Exact Pareto draws: P(X > t) = (t/scale)^-alpha for t >= scale."""
    alpha = check_positive("alpha", alpha)
    scale = check_positive("scale", scale)
    rng = np.random.default_rng(rng)
    u = 1.0 - rng.random(size)          # in (0, 1]: no infinite draw
    return scale * u ** (-1.0 / alpha)


def law_rvs(law: str, alpha: float | None = None, *, size, signed: bool = False, scale: float = 1.0,
            rng=None) -> np.ndarray:
    """Draws from one of ``LAWS`` (see the module docstring).

    ``signed=False`` returns |X| (what the Hill-type estimators read, e.g. gradient norms);
    ``signed=True`` returns the symmetric signed variable (Pareto with a random sign), which the
    stable-law estimator of Mohammadi et al. needs. Both share one draw for a given ``rng``:
    ``abs(law_rvs(..., signed=True)) == law_rvs(..., signed=False)`` with the same seed.
    """
    check_choice("law", law, set(LAWS))
    scale = check_positive("scale", scale)
    rng = np.random.default_rng(rng)
    if law == "gaussian":
        x = scale * rng.standard_normal(size)
    elif law == "stable":
        x = stable_rvs(alpha, 0.0, size=size, parameterization="S1", scale=scale, rng=rng)
    elif law == "student_t":
        x = scale * rng.standard_t(check_positive("alpha", alpha), size)
    else:
        x = pareto_rvs(alpha, size=size, scale=scale, rng=rng)
        x = np.where(rng.random(size) < 0.5, -x, x)   # drawn either way so |x| does not depend on signed
    return x if signed else np.abs(x)


def gradient_vectors(n: int, d: int, *, noise: str = "stable", alpha: float = 1.5,
                     mean=0.0, scale: float = 1.0, backend: str = "numpy", seed: int | None = None,
                     device=None, dtype=torch.float64):
    """Per-example gradient vectors g_i = mean + scale * xi_i, i = 1..n, in R^d.

    Parameters
    ----------
    n, d : number of examples and dimension.
    noise : ``"stable"`` (iid symmetric alpha-stable S1 coordinates), ``"student_t"`` (iid t with
        df = alpha) or ``"gaussian"``.
    alpha : the noise tail index (ignored for gaussian).
    mean : a scalar or a length-d vector (the "true gradient").
    backend : ``"numpy"`` (returns ndarray) or ``"torch"`` (returns a tensor on ``device``).
    seed : integer seed (numpy Generator seed or torch Generator seed).

    Returns an (n, d) array whose row norms have tail index alpha (module docstring).
    """
    n = check_int("n", n, min_value=1)
    d = check_int("d", d, min_value=1)
    check_choice("noise", noise, set(NOISES))
    check_choice("backend", backend, {"numpy", "torch"})
    scale = check_positive("scale", scale)
    if noise != "gaussian":
        alpha = check_positive("alpha", alpha)
    if backend == "numpy":
        rng = np.random.default_rng(seed)
        if noise == "stable":
            xi = stable_rvs(alpha, 0.0, size=(n, d), parameterization="S1", rng=rng)
        elif noise == "student_t":
            xi = rng.standard_t(alpha, (n, d))
        else:
            xi = rng.standard_normal((n, d))
        m = np.broadcast_to(np.asarray(mean, dtype=float), (d,))
        return m + scale * xi
    g = torch.Generator(device=device or "cpu")
    if seed is not None:
        g.manual_seed(int(seed))
    if noise == "stable":
        xi = stable_rvs_torch(alpha, 0.0, size=(n, d), parameterization="S1", generator=g,
                              device=device, dtype=dtype)
    elif noise == "student_t":
        # T = Z / sqrt(V/df) with V ~ chi2(df); torch's Gamma sampler takes no generator, so V is
        # drawn by our own Marsaglia-Tsang loop to keep the draws reproducible from `seed`.
        z = torch.randn((n, d), generator=g, device=device, dtype=dtype)
        v = _chi2_torch(alpha, (n, d), g, device, dtype)
        xi = z / torch.sqrt(v / alpha)
    else:
        xi = torch.randn((n, d), generator=g, device=device, dtype=dtype)
    m = torch.as_tensor(mean, device=device, dtype=dtype).expand(d)
    return m + scale * xi


def _chi2_torch(df: float, size, g: torch.Generator, device, dtype) -> torch.Tensor:
    """chi2(df) draws with an explicit generator (Marsaglia-Tsang for Gamma(df/2, 1), times 2).

    Marsaglia and Tsang (2000), "A simple method for generating gamma variables", ACM TOMS
    26(3):363-372: for shape a >= 1, d = a - 1/3, c = 1/sqrt(9d), accept d v with
    v = (1 + c z)^3 when log u < z^2/2 + d - d v + d log v; shape a < 1 uses
    Gamma(a) = Gamma(a + 1) U^(1/a).
    """
    a = df / 2.0
    boost = a < 1.0
    a1 = a + 1.0 if boost else a
    dd = a1 - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * dd)
    out = torch.empty(size, device=device, dtype=dtype)
    todo = torch.ones(size, device=device, dtype=torch.bool)
    while bool(todo.any()):
        z = torch.randn(size, generator=g, device=device, dtype=dtype)
        u = torch.rand(size, generator=g, device=device, dtype=dtype).clamp_min(torch.finfo(dtype).tiny)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z * z + dd - dd * v + dd * torch.log(v.clamp_min(1e-300)))
        take = ok & todo
        out = torch.where(take, dd * v, out)
        todo = todo & ~ok
    if boost:
        u = torch.rand(size, generator=g, device=device, dtype=dtype).clamp_min(torch.finfo(dtype).tiny)
        out = out * u ** (1.0 / a)
    return 2.0 * out
