"""Hill with an adaptive k by Lepski's method, capped by the double bootstrap at large n.

The default estimator of ``ahtga.tail.estimate`` (registry name ``hill_lepski``).

With the Hill estimates H(k) = (1/k) sum_{i<=k} log x_(i) - log x_(k+1) (threshold the (k+1)-th
largest value) on a geometric grid k_0 < k_1 < ... (ratio 1.1, from k_0 = max(10,
floor(sqrt(n)/2)), capped at n-1), Lepski's rule keeps the largest grid point k_j such that
every grid point up to it agrees with all smaller ones within their noise:

    |H(k_i) - H(k_l)| <= r H(k_l) / sqrt(k_i)     for all i < l <= j,

(H(k) has standard deviation gamma / sqrt(k) on a Pareto tail; ``r = 2`` by default).  On an
exact power law H(k) is flat in k and the rule runs to k ~ n; where the second-order term of the
tail appears (on |stable| data as alpha -> 2, Hill drifts upward in alpha with k) it stops
before the drift exceeds the noise.  This is the adaptive choice of Boucheron and Thomas (2015)
in a simple form (their threshold constants differ).

Large samples (n >= ``cap_n``, default 5000): k is also capped by the double bootstrap with
tail-estimation's settings (``hill_db_te``: square-root factor, n1 ~ 0.71 n, ``n_boot``
resamples, the coarse-to-fine ``k_search="grid"``): k = max(k_0, min(k_Lepski, k_DB)).  On
Pareto-type tails (Frechet, Burr, Student-t) Lepski's rule at r = 2 runs past the
double bootstrap's k into the bias; the cap stops it there.  Below ``cap_n`` the double
bootstrap's small-k* outliers cost more than the cap gains (measured while designing on
|stable| and Pareto-type laws at n = 1e3), so k is Lepski's alone and the estimate does not
depend on a seed.

The estimate is alpha_hat = (k - 1) / (k H(k)): on an exact Pareto tail k H(k) ~ Gamma(k, alpha)
and (k - 1)/(k H) is unbiased with variance alpha^2/(k - 2), against k alpha/(k - 1) and
k^2 alpha^2/((k-1)^2 (k-2)) for 1/H.  That is the small-sample path too: at n = 32..512 (one
AHTGA batch) k is Lepski's choice from k_0 = 10 up, with no bootstrap.

Properties.  Scale invariant (x -> c x), permutation invariant, and equivariant under powers:
x -> x^(1/c) multiplies every H(k) by 1/c, leaves every comparison above (and the double
bootstrap's argmins) unchanged, and so gives exactly c times the estimate; a heavier tail reads
as a smaller alpha (the property tests check this).  Ties at the threshold (H = 0) give
alpha = inf with a TailWarning, as for Hill.

Accuracy and cost are measured by the bias atlas (``python -m sim.bias``, estimator
``hill_lepski``) and ``bench/bench_tail.py`` (cost against ``hill_db`` at n = 1e5).

References: S. Boucheron, M. Thomas (2015), "Tail index estimation, concentration and
adaptivity", Electron. J. Statist. 9(2):2751-2792.  O. V. Lepski (1991), "On a problem of
adaptive estimation in Gaussian white noise", Theory Probab. Appl. 35(3):454-466.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_int, check_positive
from .double_bootstrap import double_bootstrap, te_n1
from .hill import check_positive_sample, check_sample, collect_tail_warnings, tail_warn

MIN_N = 3
GRID_RATIO = 1.1


def k_start(n: int) -> int:
    """The first grid point k_0 = max(10, floor(sqrt(n)/2)), at most n - 1."""
    return max(1, min(n - 1, max(10, math.isqrt(n) // 2)))


def k_grid(n: int, k0: int) -> np.ndarray:
    """Geometric grid k_0 < k_1 < ... <= n - 1 with ratio ``GRID_RATIO`` (distinct integers)."""
    steps = int(math.ceil(math.log(max(n - 1, k0) / k0) / math.log(GRID_RATIO))) + 2
    g = np.unique(np.round(k0 * GRID_RATIO ** np.arange(steps)).astype(np.int64))
    g = g[g <= n - 1]
    return g if g.size else np.array([n - 1], dtype=np.int64)


def lepski_k(H: torch.Tensor, grid: np.ndarray, r: float) -> int:
    """Largest grid point up to which all Hill estimates agree (module docstring).

    ``H``: H(k) at the grid points (1-d, same length as ``grid``).
    """
    G = H.shape[0]
    if G == 1:
        return int(grid[0])
    g = torch.as_tensor(grid, dtype=H.dtype, device=H.device)
    # bad[i, l]: H(k_i) and H(k_l) disagree, for i < l
    thr = r * H[None, :] / torch.sqrt(g)[:, None]
    bad = (H[:, None] - H[None, :]).abs() > thr
    bad = torch.triu(bad, diagonal=1)
    fails = bad.any(dim=0)                       # grid point l disagrees with some smaller one
    idx = torch.nonzero(fails)
    last = (int(idx[0]) - 1) if idx.numel() else G - 1
    return int(grid[max(last, 0)])


def hill_lepski(x, *, r: float = 2.0, cap_n: int = 5000, n_boot: int = 500,
                seed: int | None = None) -> tuple[float, int, dict]:
    """The ``hill_lepski`` estimate of the 1-d positive sample ``x``: ``(alpha, k, diagnostics)``.

    Parameters (formulas in the module docstring)
    ----------
    x : 1-d tensor or array of positive, finite values, n >= 3.
    r : Lepski's threshold in standard deviations, > 0.
    cap_n : from this n on, k is capped by the double bootstrap (tail-estimation's settings,
        grid search); ``cap_n >= 16``.  A larger value than n turns the cap off.
    n_boot : resamples per stage of that double bootstrap.
    seed : seeds the double bootstrap (used only when n >= cap_n).

    Diagnostics: ``k_lepski``, ``k_db`` (None below ``cap_n``), ``k_start``, ``capped`` (the
    double bootstrap's k was the smaller), ``grid_size``.
    """
    t = check_sample(x, MIN_N, "hill_lepski")
    n = t.shape[0]
    r = check_positive("r", r)
    cap_n = check_int("cap_n", cap_n, min_value=16)
    n_boot = check_int("n_boot", n_boot, min_value=2)
    check_positive_sample(t, "hill_lepski")
    logs = torch.sort(torch.log(t.detach().to(torch.float64)), descending=True).values
    csum = torch.cumsum(logs[:-1], dim=0)
    k0 = k_start(n)
    grid = k_grid(n, k0)
    gi = torch.as_tensor(grid, device=logs.device)
    Hg = csum[gi - 1] / gi.to(logs.dtype) - logs[gi]
    Hg = torch.where(logs[gi] == logs[0], torch.zeros_like(Hg), Hg)   # all top k+1 tie: exactly 0
    k_lep = lepski_k(Hg, grid, r)
    k_db = None
    k = k_lep
    if n >= cap_n:
        with collect_tail_warnings():               # its bound warnings concern its own k*
            db = double_bootstrap(t, n_boot=n_boot, n1=min(te_n1(n), n - 1), correction="sqrt",
                                  k_search="grid", seed=seed)
        k_db = db.k
        k = max(k0, min(k_lep, k_db))
    H = 0.0 if bool(logs[k] == logs[0]) else float(csum[k - 1] / k - logs[k])
    if H > 0:
        alpha = (k - 1) / (k * H)
    else:
        alpha = math.inf
        tail_warn(f"hill_lepski: the Hill estimate at k={k} is infinite: the top k+1 values are "
                  "equal (ties at the threshold); there is no tail to measure", stacklevel=2)
    diag = {"k_lepski": k_lep, "k_db": k_db, "k_start": k0, "capped": k_db is not None and k < k_lep,
            "grid_size": int(grid.size)}
    return alpha, k, diag
