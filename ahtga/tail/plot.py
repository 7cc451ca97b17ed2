"""One figure a user would rather look at than a number (``python -m ahtga.tail FILE --plot OUT``).

Three panels for the positive sample x (descending order statistics x_(1) >= ... >= x_(n)):

1. Hill plot: alpha_hat(k) = 1 / H(k) against k (log axis), with the pointwise 95% band
   alpha_hat(k) (1 +- 1.96 / sqrt(k)) (the asymptotic normal law of Hill's estimator,
   sd alpha / sqrt(k)), the chosen k and the reported alpha marked.
2. Survival function on log-log axes: the empirical P(X > x_(i)) = i / n and the fitted tail
   (k / n) (x / x_(k+1))^(-alpha) for x >= x_(k+1).
3. Pareto QQ plot: log x_(i) against the exponential quantiles -log(i / (n + 1)); a Pareto tail
   is a straight line of slope 1/alpha, drawn through the threshold point (k + 1).

matplotlib is needed (the package's ``research`` extra); the file is written atomically.
"""
from __future__ import annotations

import math
import os
import pathlib

import numpy as np


def tail_figure(x, est, path) -> pathlib.Path:
    """Draw the three panels for the sample ``x`` and the estimate ``est`` (a ``TailEstimate``
    with ``k``; without k, the band and marks use k = floor(sqrt(n))) into ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib (pip install 'ahtga[research]')") from None
    path = pathlib.Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise ValueError(f"--plot must name a .png, .pdf or .svg file; got {str(path)!r}")
    v = np.sort(np.asarray(x, dtype=np.float64).reshape(-1))[::-1]
    v = v[v > 0]
    n = v.size
    if n < 3:
        raise ValueError(f"--plot needs at least 3 positive values; got n={n}")
    logs = np.log(v)
    ks = np.arange(1, n)
    H = np.cumsum(logs[:-1]) / ks - logs[1:]
    with np.errstate(divide="ignore"):
        a_k = np.where(H > 0, 1.0 / H, np.inf)
    k = est.k if getattr(est, "k", None) else max(1, min(n - 1, math.isqrt(n)))
    alpha = float(est.alpha)
    fig, ax = plt.subplots(1, 3, figsize=(11.5, 3.5), constrained_layout=True)
    # 1. Hill plot
    kmax = n - 1
    sel = ks <= kmax
    lo, hi = a_k * (1 - 1.96 / np.sqrt(ks)), a_k * (1 + 1.96 / np.sqrt(ks))
    ax[0].fill_between(ks[sel], np.clip(lo[sel], 0, None), hi[sel], color="C0", alpha=0.2,
                       label="pointwise 95% band")
    ax[0].plot(ks[sel], a_k[sel], color="C0", lw=1, label="Hill alpha(k)")
    ax[0].axvline(k, color="C3", lw=1, ls="--", label=f"chosen k = {k}")
    ax[0].axhline(alpha, color="C3", lw=0.8, ls=":", label=f"{est.estimator}: {alpha:.3g}")
    finite = a_k[np.isfinite(a_k)]
    top = float(np.quantile(finite, 0.98)) if finite.size else 1.0
    ax[0].set_ylim(0, max(2 * alpha if math.isfinite(alpha) else 1.0, top) * 1.05)
    ax[0].set_xscale("log")
    ax[0].set_xlabel("k (order statistics used)")
    ax[0].set_ylabel("alpha")
    ax[0].set_title("Hill plot")
    ax[0].legend(fontsize=7)
    # 2. survival function
    surv = np.arange(1, n + 1) / n
    ax[1].loglog(v, surv, ".", ms=2, color="0.3", label="empirical P(X > x)")
    if math.isfinite(alpha) and k < n:
        xt = np.geomspace(v[k], v[0], 50)
        ax[1].loglog(xt, (k / n) * (xt / v[k]) ** (-alpha), color="C3", lw=1.5,
                     label=f"fitted tail, alpha = {alpha:.3g}")
        ax[1].axvline(v[k], color="C3", lw=0.8, ls="--", label="threshold x_(k+1)")
    ax[1].set_xlabel("x")
    ax[1].set_ylabel("P(X > x)")
    ax[1].set_title("survival function (log-log)")
    ax[1].legend(fontsize=7)
    # 3. Pareto QQ plot
    q = -np.log(np.arange(1, n + 1) / (n + 1))
    ax[2].plot(q, logs, ".", ms=2, color="0.3", label="log x_(i)")
    if math.isfinite(alpha) and k < n:
        qq = np.linspace(q[k], q[0], 20)
        ax[2].plot(qq, logs[k] + (qq - q[k]) / alpha, color="C3", lw=1.5, label=f"slope 1/{alpha:.3g}")
    ax[2].set_xlabel("exponential quantile -log(i/(n+1))")
    ax[2].set_ylabel("log x_(i)")
    ax[2].set_title("Pareto QQ plot")
    ax[2].legend(fontsize=7)
    fig.suptitle(f"n = {n}, {est.estimator}: alpha = {alpha:.4g}, k = {k}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp" + path.suffix)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path
