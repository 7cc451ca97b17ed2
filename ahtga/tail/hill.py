"""The Hill estimator of the tail index, for one k or for every k at once.

With the sample sorted in descending order, x_(1) >= x_(2) >= ... >= x_(n) > 0,

    H(k)         = (1/k) sum_{i=1}^{k} log x_(i) - log x_(k+1),     1 <= k <= n - 1,
    alpha_hat(k) = 1 / H(k).

The threshold is the (k+1)-th largest value x_(k+1), not the k-th: with x_(k) one of the k
terms is always zero and H is biased by a factor (k-1)/k.  On exact Pareto(alpha) data
k H(k) ~ Gamma(k, rate alpha), so E alpha_hat = k alpha / (k-1) and
Var alpha_hat = k^2 alpha^2 / ((k-1)^2 (k-2)).

References: B. M. Hill (1975), "A simple general approach to inference about the tail of a
distribution", Ann. Statist. 3(5):1163-1174.

Special cases.  H(k) = 0 (all top k+1 values equal: ties at the threshold, or constant data)
gives alpha_hat = inf, documented and announced by a ``TailWarning``; there is no tail to
measure.  Non-positive values among the top k+1 are an error (take absolute values of signed
data first).
"""
from __future__ import annotations

import contextlib
import threading
import warnings

import numpy as np
import torch

from .._validation import as_tensor, check_int


class TailWarning(UserWarning):
    """Raised when an estimate is degenerate (infinite, clamped, or from too few points)."""


_collector = threading.local()


def tail_warn(message: str, stacklevel: int = 2) -> None:
    """Issue a :class:`TailWarning` -- or, inside :func:`collect_tail_warnings` on this thread,
    record its message there instead.  The estimators warn through this function."""
    sink = getattr(_collector, "messages", None)
    if sink is not None:
        sink.append(message)
    else:
        warnings.warn(message, TailWarning, stacklevel=stacklevel + 1)


@contextlib.contextmanager
def collect_tail_warnings():
    """Record the estimators' TailWarnings of this thread in the yielded list instead of issuing
    them.  Unlike ``warnings.catch_warnings``, this touches no process-wide state, so an
    estimate may run on a background thread (AHTGA's ``estimate_lag=1``) while the caller's
    thread uses the warnings machinery."""
    outer = getattr(_collector, "messages", None)
    _collector.messages = []
    try:
        yield _collector.messages
    finally:
        _collector.messages = outer


def check_sample(x, min_n: int, what: str) -> torch.Tensor:
    """``x`` as a 1-d tensor of at least ``min_n`` values; otherwise a ValueError that names
    ``what`` (the estimator) and the shape or size."""
    t = as_tensor("x", x)
    if t.ndim != 1:
        raise ValueError(f"`x` must be 1-d for {what}; got shape {tuple(t.shape)}")
    if t.shape[0] < min_n:
        raise ValueError(f"`x` needs at least {min_n} values for {what}; got n={t.shape[0]}")
    return t


def check_positive_sample(t: torch.Tensor, what: str) -> None:
    """A ValueError naming ``what`` and the count when any value of ``t`` is <= 0 (the
    estimators of positive data: norms, absolute values)."""
    if bool((t <= 0).any()):
        bad = int((t <= 0).sum())
        raise ValueError(f"`x` must be positive for {what}; got {bad} value(s) <= 0 "
                         "(take absolute values of signed data, drop zeros)")


def check_k(k, n: int, hi: int, rule: str) -> int:
    """``k`` as a Python int if it is an integer (Python, numpy or a 0-d integer tensor) with
    1 <= k <= hi; otherwise a ValueError naming ``k``, its value, ``n`` and ``rule``."""
    if isinstance(k, torch.Tensor) and k.ndim == 0 and not k.is_floating_point() \
            and k.dtype != torch.bool:
        k = int(k)
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= hi:
        raise ValueError(f"`k` must satisfy {rule}; got k={k!r} with n={n}")
    return int(k)


def _sorted_logs_desc(x: torch.Tensor, dim: int, name: str, need: int) -> torch.Tensor:
    """Logs of the top ``need`` values of ``x`` along ``dim``, descending, moved to the last axis."""
    x = torch.movedim(x, dim, -1)
    n = x.shape[-1]
    top = torch.topk(x, need, dim=-1, largest=True, sorted=True).values if need < n else \
        torch.sort(x, dim=-1, descending=True).values
    if bool((top[..., need - 1] <= 0).any()):
        raise ValueError(
            f"`{name}` must be positive among its {need} largest values for the Hill estimator; "
            f"got a non-positive threshold (take absolute values of signed data, drop zeros)")
    return torch.log(top)


def _finish(H: torch.Tensor) -> torch.Tensor:
    """alpha = 1/H, with H <= 0 (ties: rounding can make it -0) read as an infinite alpha."""
    alpha = torch.where(H > 0, 1.0 / H.clamp_min(torch.finfo(H.dtype).tiny), torch.full_like(H, float("inf")))
    if bool(torch.isinf(alpha).any()):
        tail_warn("Hill estimate is infinite: the top k+1 values are equal (ties at the "
                  "threshold or constant data); there is no tail to measure", stacklevel=3)
    return alpha


def hill_all_k(x, *, dim: int = -1, k_max: int | None = None) -> torch.Tensor:
    """Hill estimates for every k = 1 .. k_max (default n-1) at once, in O(n log n).

    Uses cumulative sums over the descending sorted logs:
    H(k) = cumsum(log x_desc)[k-1] / k - log x_desc[k].

    Parameters
    ----------
    x : tensor or array, shape (..., n) along ``dim``; positive among the k_max+1 largest.
    dim : axis holding the sample; the other axes are a batch.
    k_max : the largest k wanted (1 <= k_max <= n-1).

    Returns
    -------
    Tensor of shape (..., k_max): entry j is alpha_hat(k = j+1). Same device as ``x``.
    """
    t = as_tensor("x", x)
    n = t.shape[dim] if t.ndim else 0
    if n < 2:
        raise ValueError(f"`x` needs at least 2 values for the Hill estimator; got n={n}")
    k_max = n - 1 if k_max is None else check_int("k_max", k_max, min_value=1, max_value=n - 1)
    logs = _sorted_logs_desc(t, dim, "x", k_max + 1)
    csum = torch.cumsum(logs[..., :k_max], dim=-1)
    ks = torch.arange(1, k_max + 1, device=t.device, dtype=t.dtype)
    H = csum / ks - logs[..., 1:k_max + 1]
    # ties: x_(1) = x_(k+1) means all top k+1 equal; make H exactly 0 despite rounding
    H = torch.where(logs[..., :1] == logs[..., 1:k_max + 1], torch.zeros_like(H), H)
    return _finish(H)


def hill(x, k: int, *, dim: int = -1) -> torch.Tensor:
    """Hill estimate alpha_hat(k) with threshold the (k+1)-th largest value.

    Parameters
    ----------
    x : tensor or array, shape (..., n) along ``dim``.
    k : number of upper order statistics, 1 <= k <= n-1.

    Returns
    -------
    Tensor of the batch shape (a 0-d tensor for 1-d input), on the device of ``x``.
    """
    t = as_tensor("x", x)
    n = t.shape[dim] if t.ndim else 0
    if n < 2:
        raise ValueError(f"`x` needs at least 2 values for the Hill estimator; got n={n}")
    k = check_k(k, n, n - 1, "1 <= k < n")
    logs = _sorted_logs_desc(t, dim, "x", k + 1)
    H = (logs[..., :k] - logs[..., k:k + 1]).mean(dim=-1)     # exactly 0 when all tie
    return _finish(H)
