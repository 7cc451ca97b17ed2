"""Per-example transforms of AHTGA, as coefficients on the per-example gradients g_i.

With m = median_i ||g_i|| (the ordinary median: the mean of the two middle values for even B)
and s_i = (||g_i|| / (eps + m))^gamma,

* direction-preserving form: T(g_i) = s_i g_i, so the batch gradient is (1/B) sum_i s_i g_i;
  :func:`direction_coefficients` returns s_i.
* sign form (the source's): T(g_i) = ||g_i|| s_i sign(g_i) (elementwise sign), batch gradient
  (1/B) sum_i c_i sign(g_i) with c_i = ||g_i|| s_i; :func:`sign_coefficients` returns c_i.

Scale of the sign form.  ||sign(g)|| = sqrt(nnz(g)), so ||T(g)|| = ||g|| s sqrt(nnz(g)): with d
dense parameters a sign-form step is about sqrt(d) times the direction-form step at the same
learning rate (REFERENCES.md, "The transform and its exponent"); its learning rate must be scaled
down accordingly.  ``normalize=True`` (the "sign_normalized" transform of the optimizer) divides
c_i by sqrt(d), which makes ||T(g_i)|| = ||g_i|| s_i exactly when g_i has no zero entries (and
smaller otherwise).  This variant is this package's addition, not the source's.

Numerics.  The norms X have tail index alpha; X (X/m)^gamma is what the transform produces, so
its norms have tail index alpha / (1 + gamma) (see :mod:`ahtga.control.exponents`).  The
coefficients are computed in float64 in log space, log s_i = gamma (log ||g_i|| - log(eps + m)),
and the log of each transformed norm (log s_i + log ||g_i||) is clamped at
log(finfo(out).max) - log(B) - 4, so the sum over the batch can never overflow the output dtype
(out = float64 for float64 norms, float32 otherwise).  An example with ||g_i|| = 0 gets
coefficient 0 (its gradient is zero, and for gamma < 0 the limit of ||T(g)|| is 0 as well).
``eps`` >= 0 only protects a zero median.

An external reference scale.  ``median=`` replaces the batch median m by a given value (a float or
a 0-d tensor, finite and >= 0; the denominator is still eps + median).  The optimizer's
``median_lag=1`` passes the previous step's median this way, so the weights of a batch no longer
depend on the batch's own median (the lagged configuration of the convergence statement).
"""
from __future__ import annotations

import math
import numbers

import torch

from .._validation import as_tensor, check_in_range, check_positive

__all__ = ["median", "direction_coefficients", "sign_coefficients", "transform_direction",
           "transform_sign"]


def _check_norms(norms) -> torch.Tensor:
    t = as_tensor("norms", norms)
    if t.ndim != 1 or t.numel() == 0:
        raise ValueError(f"`norms` must be a non-empty 1-d tensor [B]; got shape {tuple(t.shape)}")
    if bool((t < 0).any()):
        raise ValueError(f"`norms` must be >= 0; got min {float(t.min())!r}")
    return t


def median(norms: torch.Tensor) -> torch.Tensor:
    """The median of a 1-d tensor: the mean of the two middle values for an even count (float64)."""
    return torch.quantile(norms.to(torch.float64), 0.5)


def _reference(x64: torch.Tensor, ref, validate: bool) -> torch.Tensor:
    """The scale m of the transform: the batch median, or ``ref`` (float or 0-d tensor)."""
    if ref is None:
        return median(x64)
    if isinstance(ref, torch.Tensor):
        if ref.numel() != 1:
            raise ValueError(f"`median` must be a scalar; got a tensor of shape {tuple(ref.shape)}")
        r = ref.reshape(()).to(device=x64.device, dtype=torch.float64)
        if validate:
            check_positive("median", float(r), allow_zero=True)
        return r
    if isinstance(ref, bool) or not isinstance(ref, numbers.Real):
        raise ValueError(f"`median` must be a finite number >= 0; got median={ref!r}")
    return torch.tensor(check_positive("median", ref, allow_zero=True), dtype=torch.float64,
                        device=x64.device)


def _log_coefficients(norms, gamma: float, eps: float, power: float,
                      validate: bool = True, ref=None) -> tuple[torch.Tensor, torch.dtype]:
    """log of ||g_i||^power (||g_i|| / (eps + m))^gamma in float64, clamped as documented; m is
    the median of ``norms``, or ``ref`` when given.

    ``validate=False`` (for callers that checked the norms already, e.g. the optimizer) skips
    the data checks, which each synchronise a GPU; a zero median with eps = 0 is then replaced
    by the smallest positive float instead of raising."""
    gamma = check_in_range("gamma", gamma, -1.0, math.inf, lo_open=True, hi_open=True)
    eps = check_positive("eps", eps, allow_zero=True)
    x = _check_norms(norms) if validate else norms
    out = torch.float64 if x.dtype == torch.float64 else torch.float32
    x64 = x.to(torch.float64)
    m = _reference(x64, ref, validate) + eps
    if validate and not bool(m > 0):
        what = "the median of `norms`" if ref is None else "`median`"
        raise ValueError(f"{what} is 0 and eps=0: the transform is undefined; use eps > 0")
    m = m.clamp_min(torch.finfo(torch.float64).tiny)
    logx = torch.log(x64)                                   # -inf for zero norms
    logc = gamma * (logx - torch.log(m)) + power * logx
    cap = math.log(torch.finfo(out).max) - math.log(x.numel()) - 4.0
    logc = torch.minimum(logc, cap - (1.0 - power) * logx)  # cap on log(coefficient * norm)
    logc = torch.where(x64 > 0, logc, torch.full_like(logc, -math.inf))
    return logc, out


def direction_coefficients(norms, gamma: float, eps: float = 1e-8, *,
                           validate: bool = True, median=None) -> torch.Tensor:
    """s_i = (||g_i|| / (eps + median_j ||g_j||))^gamma, with s_i = 0 where ||g_i|| = 0.

    ``norms``: [B] non-negative; ``gamma`` > -1; returns [B] on the norms' device.
    ``validate=False`` skips the checks of the norms (they synchronise a GPU).
    ``median``: a reference scale used instead of the batch median (see the module docstring).
    """
    logc, out = _log_coefficients(norms, gamma, eps, power=0.0, validate=validate, ref=median)
    return torch.exp(logc).to(out)


def sign_coefficients(norms, gamma: float, eps: float = 1e-8, *, scale: float = 1.0,
                      validate: bool = True, median=None) -> torch.Tensor:
    """c_i = scale * ||g_i|| (||g_i|| / (eps + median_j ||g_j||))^gamma (0 where ||g_i|| = 0).

    ``scale`` > 0 multiplies every c_i (the optimizer passes 1/sqrt(d) for the normalised form);
    ``median`` as for :func:`direction_coefficients`.
    """
    scale = check_positive("scale", scale)
    logc, out = _log_coefficients(norms, gamma, eps, power=1.0, validate=validate, ref=median)
    return (torch.exp(logc) * scale).to(out)


def _check_G(G) -> torch.Tensor:
    t = as_tensor("G", G)
    if t.ndim != 2:
        raise ValueError(f"`G` must have shape [B, d] (one row per example); got {tuple(t.shape)}")
    return t


def transform_direction(G, gamma: float, eps: float = 1e-8) -> torch.Tensor:
    """Rows T(g_i) = s_i g_i of the direction-preserving form, for explicit per-example gradients
    ``G`` of shape [B, d] (a reference for tests; the batch gradient is ``.mean(0)``)."""
    t = _check_G(G)
    s = direction_coefficients(torch.linalg.vector_norm(t, dim=1), gamma, eps)
    return t * s.to(t.dtype)[:, None]


def transform_sign(G, gamma: float, eps: float = 1e-8, *, normalize: bool = False) -> torch.Tensor:
    """Rows T(g_i) = c_i sign(g_i) of the sign form for ``G`` [B, d]; ``normalize`` divides by
    sqrt(d) (see the module docstring)."""
    t = _check_G(G)
    scale = 1.0 / math.sqrt(t.shape[1]) if normalize else 1.0
    c = sign_coefficients(torch.linalg.vector_norm(t, dim=1), gamma, eps, scale=scale)
    return torch.sign(t) * c.to(t.dtype)[:, None]
