"""Second-order reduced-bias Hill estimator (Caeiro, Gomes and Pestana 2005).

With gamma = 1/alpha, the Hill estimator H(k) (threshold x_(k+1)) has, under a second-order
condition with parameters (beta, rho), rho < 0, the dominant bias gamma beta (n/k)^rho / (1 - rho).
The corrected estimator removes it:

    Hbar(k) = H(k) (1 - beta_hat / (1 - rho_hat) (n/k)^rho_hat),     alpha_hat = 1 / Hbar(k).

(beta, rho) are estimated once, "externally", at k_aux.  The literature's choice is a large
k_aux = floor(n^0.995) with rho estimated; here the defaults are *stable-aware*: rho = -1
fixed (the value for symmetric stable laws, see below) and k_aux = max(k, floor(n^0.6)).
Reason (measured, |stable| n = 1e4, 40 seeds): at k_aux ~ n^0.995 the log spacings come
from the body of a stable law, which is nothing like a Pareto tail, and beta_hat has the wrong
sign (about +1 instead of about -23 at alpha = 1.8), so the correction does nothing; at
k_aux = n^0.6 with rho = -1, beta_hat is about -15 and at k = sqrt(n) the median estimate is
1.86 (Hill 2.09) at alpha = 1.8 and 2.27 (Hill 2.75) at alpha = 1.9, at the price of a larger
spread (sd 0.28 vs 0.22) and a slight downward bias on exact Pareto data (1.45 vs 1.49).
Pass ``rho=None, k_aux=int(n**0.995)`` for the literature's estimator:

- rho (Fraga Alves, Gomes and de Haan 2003, tau = 0): with M_j(k) = (1/k) sum_{i<=k}
  (log x_(i) - log x_(k+1))^j,
      T(k) = (log M_1 - (1/2) log(M_2/2)) / ((1/2) log(M_2/2) - (1/3) log(M_3/6)),
      rho_hat = -|3 (T - 1) / (T - 3)|;
- beta (Gomes and Martins 2002): with scaled log spacings U_i = i (log x_(i) - log x_(i+1)),
      d(a) = (1/k) sum_{i<=k} (i/k)^(-a),  D(a) = (1/k) sum_{i<=k} (i/k)^(-a) U_i,
      beta_hat = (k/n)^rho_hat (d(rho) D(0) - D(rho)) / (d(rho) D(rho) - D(2 rho)).

Formulas recalled from the literature (not re-read from the papers here).  The beta_hat form
was re-derived: with E U_i ~ gamma (1 + beta (i/n)^(-rho)), D(a) ~ gamma/(1-a) +
gamma beta (k/n)^(-rho) / (1-a-rho) and d(a) ~ 1/(1-a), so the ratio above tends to beta.
For |symmetric stable| data, P(|X| > x) = c1 x^-alpha (1 + (c2/c1) x^-alpha + ...) with
c1 = (2/pi) Gamma(alpha+1) sin(pi alpha/2), c2 = -(1/pi) Gamma(2 alpha+1) sin(pi alpha),
which gives rho = -1 and beta = -(c2/c1)/c1 (about -23 at alpha = 1.8: a large, negative
second-order term, hence the upward bias of Hill's alpha).  The tests check the behaviour:
on |stable| alpha = 1.8, n = 1e4 the bias at the same k shrinks.  ``rho`` may be fixed instead of
estimated: symmetric stable laws have rho = -1 (P(|X| > x) = c x^-alpha (1 + d x^-alpha + ...)).

References: F. Caeiro, M. I. Gomes, D. Pestana (2005), "Direct reduction of bias of the
classical Hill estimator", REVSTAT 3(2):113-136.  M. I. Fraga Alves, M. I. Gomes, L. de Haan
(2003), "A new class of semi-parametric estimators of the second order parameter",
Portugaliae Math. 60(2):193-213.  M. I. Gomes, M. J. Martins (2002), "'Asymptotically
unbiased' estimators of the tail index based on external estimation of the second order
parameter", Extremes 5(1):5-31.
"""
from __future__ import annotations

import math

import torch

from .._validation import as_tensor, check_in_range, check_int
from .hill import _finish, check_k


def second_order_params(logs_desc: torch.Tensor, n: int, k_aux: int,
                        rho: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(beta_hat, rho_hat) from descending logs (..., >= k_aux + 1) at k = k_aux."""
    L = logs_desc[..., : k_aux + 1]
    exc = L[..., :k_aux] - L[..., k_aux:k_aux + 1]
    if rho is None:
        m1 = exc.mean(-1)
        m2 = (exc ** 2).mean(-1)
        m3 = (exc ** 3).mean(-1)
        T = (torch.log(m1) - 0.5 * torch.log(m2 / 2)) / (0.5 * torch.log(m2 / 2) - torch.log(m3 / 6) / 3)
        rho_t = -torch.abs(3 * (T - 1) / (T - 3))
    else:
        rho_t = torch.full(L.shape[:-1], float(rho), device=L.device, dtype=L.dtype)
    i = torch.arange(1, k_aux + 1, device=L.device, dtype=L.dtype)
    U = i * (L[..., :k_aux] - L[..., 1:k_aux + 1])
    w = (i / k_aux)

    def d(a):
        return (w ** (-a[..., None])).mean(-1)

    def D(a):
        return (w ** (-a[..., None]) * U).mean(-1)

    zero = torch.zeros_like(rho_t)
    num = d(rho_t) * D(zero) - D(rho_t)
    den = d(rho_t) * D(rho_t) - D(2 * rho_t)
    beta = (k_aux / n) ** rho_t * num / den
    return beta, rho_t


def hill_rbc(x, k: int, *, k_aux: int | None = None, rho: float | None = -1.0,
             dim: int = -1) -> torch.Tensor:
    """Reduced-bias Hill estimate alpha_hat = 1 / Hbar(k) (formulas in the module docstring).

    Parameters
    ----------
    x : tensor or array (..., n) along ``dim``, positive among the values used.
    k : 1 <= k <= n-1, number of upper order statistics (threshold x_(k+1)).
    k_aux : the k at which (beta, rho) are estimated, 2 <= k_aux <= n-1; default
        min(n-1, max(k, floor(n^0.6))).
    rho : the fixed second-order parameter rho < 0 (default -1, symmetric stable laws), or
        None to estimate it at k_aux (Fraga Alves et al. 2003).

    Non-finite (beta, rho) estimates (ties, degenerate data) leave the Hill estimate
    uncorrected; a corrected Hbar <= 0 gives alpha = inf with a TailWarning.
    """
    t = as_tensor("x", x)
    t = torch.movedim(t, dim, -1)
    n = t.shape[-1] if t.ndim else 0
    if n < 8:
        raise ValueError(f"`x` needs at least 8 values for the reduced-bias Hill estimator; got n={n}")
    k = check_k(k, n, n - 1, "1 <= k < n")
    if k_aux is None:
        k_aux = min(n - 1, max(k, int(math.floor(n ** 0.6))))
    k_aux = check_int("k_aux", k_aux, min_value=2, max_value=n - 1)
    if rho is not None:
        rho = check_in_range("rho", rho, -math.inf, 0.0, hi_open=True)
    need = max(k, k_aux) + 1
    top = torch.topk(t, need, dim=-1, sorted=True).values if need < n else torch.sort(t, dim=-1, descending=True).values
    if bool((top[..., -1] <= 0).any()):
        raise ValueError(f"`x` must be positive among its {need} largest values for the reduced-bias "
                         "Hill estimator (take absolute values of signed data, drop zeros)")
    logs = torch.log(top)
    H = (logs[..., :k] - logs[..., k:k + 1]).mean(-1)
    beta, rho_t = second_order_params(logs, n, k_aux, rho)
    corr = 1 - beta / (1 - rho_t) * (n / k) ** rho_t
    corr = torch.where(torch.isfinite(corr), corr, torch.ones_like(corr))
    return _finish(H * corr)
