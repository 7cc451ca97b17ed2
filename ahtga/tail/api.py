"""One entry point for every estimator: ``estimate(x, estimator=..., *, seed=None, **options)``.

Registry names (``ESTIMATORS``) and their options (an unknown option is an error):

=============  ==========================================================  ===============
name           what                                                        options
=============  ==========================================================  ===============
hill           Hill at fixed k (default k = round(sqrt(n)))                k
hill_db        Hill, k by double bootstrap, paper's correction             n_boot, n1, eps, k_search
hill_db_sqrt   same, square-root correction (as tail-estimation)           n_boot, n1, eps, k_search
hill_rbc       reduced-bias Hill (stable-aware defaults)                   k, k_aux, rho
pickands       Pickands (default k = min(n//4, round(sqrt(n))))            k
moment         Dekkers-Einmahl-de Haan (default k = round(sqrt(n)))        k
kernel         Groeneboom-Lopuhaa-de Wolf, biweight (default k = round(sqrt(n)), >= 3)  k, a
stable_mmo     Mohammadi-Mohammadpour-Ogata on signed data                  m, center
=============  ==========================================================  ===============

All but ``stable_mmo`` take positive data (norms); ``SIGNED`` lists the ones that take signed
data.  ``x`` is 1-d here; the underlying functions (``hill``, ``pickands``, ...) are batched.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

from .._validation import as_tensor
from .double_bootstrap import double_bootstrap
from .hill import hill
from .others import kernel_type, moment, pickands, stable_mmo
from .rbc import hill_rbc


@dataclass
class TailEstimate:
    """alpha: the estimate (may be inf, with a TailWarning); k: order statistics used (None
    for estimators without k); estimator: registry name; diagnostics: extra values."""

    alpha: float
    k: int | None
    estimator: str
    diagnostics: dict = field(default_factory=dict, repr=False)  # MSE curves etc.: kept out of repr


def _default_k(n: int) -> int:
    return max(1, min(n - 1, int(round(math.sqrt(n)))))


def _hill(t, *, k=None):
    k = _default_k(t.shape[0]) if k is None else k
    return TailEstimate(float(hill(t, k)), k, "hill")


def _db(name, correction):
    def run(t, *, seed=None, n_boot=500, n1=None, eps=None, k_search="full"):
        r = double_bootstrap(t, n_boot=n_boot, n1=n1, eps=eps, correction=correction,
                             k_search=k_search, seed=seed)
        diag = dict(r.diagnostics, k1=r.k1, k2=r.k2, n1=r.n1, n2=r.n2, rho=r.rho,
                    correction_factor=r.correction_factor)
        return TailEstimate(r.alpha, r.k, name, diag)
    return run


def _rbc(t, *, k=None, k_aux=None, rho=-1.0):
    k = _default_k(t.shape[0]) if k is None else k
    return TailEstimate(float(hill_rbc(t, k, k_aux=k_aux, rho=rho)), k, "hill_rbc")


def _pickands(t, *, k=None):
    n = t.shape[0]
    k = max(1, min(n // 4, int(round(math.sqrt(n))))) if k is None else k
    return TailEstimate(float(pickands(t, k)), k, "pickands")


def _moment(t, *, k=None):
    k = _default_k(t.shape[0]) if k is None else k
    return TailEstimate(float(moment(t, k)), k, "moment")


def _kernel(t, *, k=None, a=0.6):
    n = t.shape[0]
    k = min(n, max(3, int(round(math.sqrt(n))))) if k is None else k
    return TailEstimate(float(kernel_type(t, k, a=a)), k, "kernel")


def _mmo(t, *, m=None, center="mean"):
    n = t.shape[0]
    m_used = int(math.isqrt(n)) if m is None else m
    return TailEstimate(float(stable_mmo(t, m, center=center)), None, "stable_mmo", {"m": m_used})


ESTIMATORS: dict[str, Callable[..., TailEstimate]] = {
    "hill": _hill,
    "hill_db": _db("hill_db", "paper"),
    "hill_db_sqrt": _db("hill_db_sqrt", "sqrt"),
    "hill_rbc": _rbc,
    "pickands": _pickands,
    "moment": _moment,
    "kernel": _kernel,
    "stable_mmo": _mmo,
}
SIGNED = frozenset({"stable_mmo"})
RANDOM = frozenset({"hill_db", "hill_db_sqrt"})


def estimator_options(name: str) -> list[str]:
    """Keyword options accepted by a registered estimator (``seed`` is passed separately)."""
    fn = _lookup(name)
    return [p for p in inspect.signature(fn).parameters if p not in ("t", "seed")]


def _lookup(name: str):
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; valid names: {', '.join(sorted(ESTIMATORS))}")
    return ESTIMATORS[name]


def estimate(x, estimator: str = "hill_db", *, seed: int | None = None, **options) -> TailEstimate:
    """Estimate the tail index of the 1-d sample ``x`` with a registered estimator.

    ``seed`` seeds the random estimators (double bootstrap); the others ignore it.
    Unknown options raise a ValueError naming them and listing the valid ones.
    """
    fn = _lookup(estimator)
    valid = estimator_options(estimator)
    bad = [o for o in options if o not in valid]
    if bad:
        raise ValueError(f"unknown option(s) {bad} for estimator {estimator!r}; valid options: {valid}")
    t = as_tensor("x", x)
    if t.ndim != 1:
        if sum(s > 1 for s in t.shape) > 1:
            raise ValueError(f"`x` must be 1-d for estimate(); got shape {tuple(t.shape)}")
        t = t.reshape(-1)
    if estimator in RANDOM:
        return fn(t, seed=seed, **options)
    return fn(t, **options)

