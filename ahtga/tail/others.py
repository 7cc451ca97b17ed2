"""Other tail-index estimators: Pickands, moment (Dekkers-Einmahl-de Haan), kernel type
(Groeneboom-Lopuhaa-de Wolf), and the alpha-stable estimator of Mohammadi-Mohammadpour-Ogata.

Conventions.  Descending order statistics x_(1) >= x_(2) >= ... along ``dim``; every other
axis is a batch.  The xi-estimators (Pickands, moment, kernel) estimate the extreme value
index xi and report alpha = 1/xi; xi <= 0 (a light or bounded tail, or ties) is reported as
alpha = inf with a :class:`~ahtga.tail.TailWarning`.  All estimators are invariant to
x -> c x (c > 0) and to permutations of the sample.
"""
from __future__ import annotations

import math

import torch

from .._validation import as_tensor, check_in_range, check_int
from .hill import TailWarning, check_k, tail_warn


def _sample(x, dim: int) -> tuple[torch.Tensor, int]:
    t = as_tensor("x", x)
    if t.ndim == 0:
        raise ValueError("`x` must have at least one dimension; got a scalar")
    t = torch.movedim(t, dim, -1)
    return t, t.shape[-1]


def _check_k(k, n: int, hi: int, rule: str) -> int:
    return check_k(k, n, hi, rule)


def _desc(t: torch.Tensor, need: int) -> torch.Tensor:
    n = t.shape[-1]
    if need < n:
        return torch.topk(t, need, dim=-1, largest=True, sorted=True).values
    return torch.sort(t, dim=-1, descending=True).values


def _positive_logs(top: torch.Tensor, name: str) -> torch.Tensor:
    if bool((top[..., -1] <= 0).any()):
        raise ValueError(f"`x` must be positive among its {top.shape[-1]} largest values for the "
                         f"{name} estimator; got a non-positive threshold (take absolute values "
                         "of signed data, drop zeros)")
    return torch.log(top)


def xi_to_alpha(xi: torch.Tensor, name: str) -> torch.Tensor:
    """alpha = 1/xi for xi > 0; xi <= 0 (or -inf) -> inf with a TailWarning; NaN is an error."""
    if bool(torch.isnan(xi).any()):
        raise ValueError(f"the {name} estimate is undefined (0/0) for some input; check for ties")
    light = xi <= 0
    alpha = torch.where(light, torch.full_like(xi, math.inf), 1.0 / torch.where(light, torch.ones_like(xi), xi))
    if bool(light.any()):
        tail_warn(f"{name} estimate xi <= 0 (light or bounded tail, or ties): reported as "
                  "alpha=inf", stacklevel=3)
    return alpha


def pickands(x, k: int, *, dim: int = -1) -> torch.Tensor:
    """Pickands (1975) estimator, alpha = 1/xi with

        xi = log((x_(k) - x_(2k)) / (x_(2k) - x_(4k))) / log 2,     1 <= k <= n/4.

    Location and scale invariant; works on any real data (upper tail).  Special cases:
    x_(k) = x_(4k) (no spread) and x_(k) = x_(2k) give xi <= 0 -> inf with a TailWarning;
    x_(2k) = x_(4k) < x_(k) (ties at the lower points) is an error.

    J. Pickands III (1975), "Statistical inference using extreme order statistics",
    Ann. Statist. 3(1):119-131.
    """
    t, n = _sample(x, dim)
    k = _check_k(k, n, n // 4, "1 <= k <= n/4")
    top = _desc(t, 4 * k)
    a, b, c = top[..., k - 1], top[..., 2 * k - 1], top[..., 4 * k - 1]
    num, den = a - b, b - c
    if bool(((den == 0) & (num > 0)).any()):
        raise ValueError(f"Pickands estimator undefined: ties x_(2k) = x_(4k) < x_(k) with k={k} "
                         "(x_(2k) - x_(4k) = 0); choose another `k`")
    flat = (den == 0) | (num == 0)
    xi = torch.where(flat, torch.full_like(num, -math.inf),
                     torch.log(torch.where(flat, torch.ones_like(num), num / torch.where(den == 0, torch.ones_like(den), den)))
                     / math.log(2.0))
    return xi_to_alpha(xi, "Pickands")


def moment(x, k: int, *, dim: int = -1) -> torch.Tensor:
    """Dekkers-Einmahl-de Haan (1989) moment estimator, alpha = 1/xi with

        M_j = (1/k) sum_{i<=k} (log x_(i) - log x_(k+1))^j,
        xi  = M_1 + 1 - (1/2) (1 - M_1^2 / M_2)^-1,          1 <= k <= n-1,

    threshold the (k+1)-th largest (positive among the top k+1).  M_2 = 0 (ties, constant
    data) and xi <= 0 give alpha = inf with a TailWarning.

    A. L. M. Dekkers, J. H. J. Einmahl, L. de Haan (1989), "A moment estimator for the index of
    an extreme-value distribution", Ann. Statist. 17(4):1833-1855.
    """
    t, n = _sample(x, dim)
    k = _check_k(k, n, n - 1, "1 <= k < n")
    logs = _positive_logs(_desc(t, k + 1), "moment")
    exc = logs[..., :k] - logs[..., k:k + 1]
    m1 = exc.mean(dim=-1)
    m2 = (exc * exc).mean(dim=-1)
    zero = m2 <= 0
    ratio = 1.0 - m1 * m1 / torch.where(zero, torch.ones_like(m2), m2)
    deg = zero | (ratio <= 0)
    xi = m1 + 1.0 - 0.5 / torch.where(deg, torch.ones_like(ratio), ratio)
    xi = torch.where(deg, torch.full_like(xi, -math.inf), xi)
    return xi_to_alpha(xi, "moment")


def kernel_type(x, k: int, *, a: float = 0.6, dim: int = -1) -> torch.Tensor:
    """Kernel-type estimator of Groeneboom, Lopuhaa and de Wolf (2003), biweight kernel.

    With bandwidth h = k/n, u_i = i/n, log spacings d_i = log x_(i) - log x_(i+1) (i < k),
    K_h(u) = phi(u/h)/h, phi(s) = (15/8)(1 - s^2)^2 on [0, 1], and a > 1/2:

        g  = sum_i u_i K_h(u_i) d_i                          (kernel Hill, xi > 0 part)
        q1 = sum_i u_i^a K_h(u_i) d_i
        q2 = sum_i [d/du (u^(1+a) K_h(u))](u_i) d_i
        xi = g - 1 + q2 / q1,      alpha = 1/xi.

    This is the form coded in the tail-estimation package (Voitalov et al. 2019), which we
    could not compare line by line with the paper's equation here (the paper's abstract
    describes the same construction: a kernel Hill part plus a correction extending it to all
    real xi).  For xi > 0, i d_i ~ xi Exp(1) gives g -> xi and q2/q1 -> 1 (integration by
    parts), so xi_hat -> xi.  Requires 3 <= k <= n and positive values among the top k;
    q1 = 0 (all spacings zero: ties, constant data) gives alpha = inf with a TailWarning.

    P. Groeneboom, H. P. Lopuhaa, P. P. de Wolf (2003), "Kernel-type estimators for the
    extreme value index", Ann. Statist. 31(6):1956-1995.
    """
    t, n = _sample(x, dim)
    k = _check_k(k, n, n, "3 <= k <= n")
    if k < 3:
        raise ValueError(f"`k` must satisfy 3 <= k <= n; got k={k} with n={n}")
    a = check_in_range("a", a, 0.5, math.inf, lo_open=True)
    logs = _positive_logs(_desc(t, k), "kernel-type")
    d = logs[..., :-1] - logs[..., 1:]                       # i = 1..k-1
    h = k / n
    u = torch.arange(1, k, device=t.device, dtype=t.dtype) / n
    s = u / h
    phi = (15.0 / 8.0) * (1 - s * s) ** 2
    dphi = -(15.0 / 2.0) * s * (1 - s * s)
    kh = phi / h
    w_g = u * kh
    w_q1 = u ** a * kh
    w_q2 = ((1 + a) * u ** a * phi + u ** (1 + a) * dphi / h) / h
    g = (d * w_g).sum(-1)
    q1 = (d * w_q1).sum(-1)
    q2 = (d * w_q2).sum(-1)
    zero = q1 <= 0
    xi = torch.where(zero, torch.full_like(g, -math.inf), g - 1 + q2 / torch.where(zero, torch.ones_like(q1), q1))
    return xi_to_alpha(xi, "kernel-type")


def stable_mmo(x, m: int | None = None, *, center: str | None = "mean", dim: int = -1) -> torch.Tensor:
    """alpha-stable index estimator of Mohammadi, Mohammadpour and Ogata (2015), for signed data.

    From N = n values X_j (centred, see ``center``), the first m * floor(N/m) are cut into
    blocks of m and summed, Y_i = sum_{j in block i} X_j; for symmetric stable X,
    Y_i =d m^(1/alpha) X, hence

        1/alpha_hat = (mean_i log|Y_i| - mean_j log|X_j|) / log m.

    This is the estimator used by Simsekli, Sagun and Gurbuzbalaban (2019) on centred
    gradient noise (they centre by the mean gradient; default ``center="mean"`` does the same;
    "median" or None are offered).  Default m = floor(sqrt(N)) (their code takes the largest
    divisor of N not above sqrt(N) and so never drops values).  It assumes symmetric stable
    data: it cannot report values much above 2 in a meaningful way and misreads positive
    data such as norms.  A non-positive difference gives alpha = inf with a TailWarning;
    all-equal data (all zeros after centring) likewise; an exact zero among |X_j| or |Y_i|
    otherwise is an error.

    M. Mohammadi, A. Mohammadpour, H. Ogata (2015), "On estimating the tail index and the
    spectral measure of multivariate alpha-stable distributions", Metrika 78(5):549-561.
    U. Simsekli, L. Sagun, M. Gurbuzbalaban (2019), "A tail-index analysis of stochastic
    gradient noise in deep neural networks", ICML.
    """
    t, n = _sample(x, dim)
    if n < 4:
        raise ValueError(f"`x` needs at least 4 values for the stable estimator; got n={n}")
    m = int(math.isqrt(n)) if m is None else check_int("m", m, min_value=2, max_value=n // 2)
    if center not in (None, "mean", "median"):
        raise ValueError(f"`center` must be one of None, 'mean', 'median'; got center={center!r}")
    # scale first (the estimate is scale invariant): values near the float maximum would
    # overflow in the mean and the block sums and come back as NaN
    top = t.abs().amax(dim=-1, keepdim=True)
    t = t / torch.where(top > 0, top, torch.ones_like(top))
    if center == "mean":
        t = t - t.mean(dim=-1, keepdim=True)
    elif center == "median":
        t = t - t.median(dim=-1, keepdim=True).values
    nb = n // m
    X = t[..., : nb * m]
    Y = X.reshape(*X.shape[:-1], nb, m).sum(dim=-1)
    ax, ay = X.abs(), Y.abs()
    all_zero = (ax == 0).all(dim=-1)
    if bool((((ax == 0).any(dim=-1) | (ay == 0).any(dim=-1)) & ~all_zero).any()):
        raise ValueError("`x` has exact zeros (after centring) or zero block sums; the stable "
                         "estimator takes logs of |X| and |Y|: drop zeros or change `m`")
    ax = torch.where(ax == 0, torch.ones_like(ax), ax)
    ay = torch.where(ay == 0, torch.ones_like(ay), ay)
    diff = (torch.log(ay).mean(-1) - torch.log(ax).mean(-1)) / math.log(m)
    diff = torch.where(all_zero, torch.zeros_like(diff), diff)
    light = diff <= 0
    alpha = torch.where(light, torch.full_like(diff, math.inf), 1.0 / torch.where(light, torch.ones_like(diff), diff))
    if bool(light.any()):
        tail_warn("stable estimator: block sums do not grow with m (constant data or no "
                  "tail); reported as alpha=inf", stacklevel=2)
    return alpha
