"""One entry point for every estimator: ``estimate(x, estimator=..., *, seed=None, **options)``.

Registry names (``ESTIMATORS``), their options (an unknown option is an error) and the smallest
sample each accepts (``MIN_N``; fewer values is an error naming the estimator):

=============  ==========================================================  ======  ==============
name           what                                                        min n   options
=============  ==========================================================  ======  ==============
stable_t_dk    **default**: |symmetric stable| or |Student-t|, whichever      3       level,
               passes its goodness-of-fit test (p >= level = 1e-3),               stable_log_odds
               by likelihood when both do (the t needs log-likelihood
               1.5 above the stable law's); else Hill at the
               Drees-Kaufmann k (n >= 1000) or hill_lepski (n < 1000);
               n >= 32 for the models (``ahtga.tail.stable_t``)
stable_dk      the |symmetric stable| quantile fit when its                3       level
               goodness-of-fit test does not reject the stable law
               (p >= level = 1e-3, n >= 32), else Hill at the
               Drees-Kaufmann k (n >= 1000) or hill_lepski (n < 1000)
               (``ahtga.tail.stable_fit``; the default until the t check:
               reads |Student-t(4)| at n ~ 1e3 as stable 1.7)
stable_quantile  the |symmetric stable| quantile fit alone (alpha in      16      --
               [0.6, 2]; diagnostics: p_value of the fit's test)
hill_dk        Hill at the Drees-Kaufmann (1998) k, rho = -1               16      --
hill_lepski    Hill, k by Lepski's rule (largest k whose                   3       r, cap_n,
               estimate agrees with all smaller k's within r standard              n_boot
               deviations), capped by hill_db_te's k* from n >= cap_n =
               5000; alpha = (k-1)/(k H(k)) (see ``ahtga.tail.lepski``)
hill           Hill at fixed k (default k = round(sqrt(n)))                2       k
hill_floor_    Hill at k = floor(sqrt(n)) (the small-sample baseline of    2       --
sqrt           the bias atlas)
hill_db        Hill, k by double bootstrap, paper's correction factor c,   16      n_boot, n1, eps,
               first-stage resample n1 = floor(n^0.9) (as R's tea)                 k_search,
                                                                                   max_redraws
hill_db_sqrt   the same with the square-root factor sqrt(c); resample      16      as hill_db
               size still n1 = floor(n^0.9) -- *not* tail-estimation's
hill_db_te     tail-estimation's settings (Voitalov et al. 2019): factor   16      as hill_db
               sqrt(c), n1 = floor(n^((1 + log(floor(n/2))/log n)/2)),
               i.e. about sqrt(n floor(n/2)) ~ 0.71 n, n_boot = 500
hill_rbc       reduced-bias Hill (stable-aware defaults)                   8       k, k_aux, rho
pickands       Pickands (default k = min(n//4, round(sqrt(n))))            4       k
moment         Dekkers-Einmahl-de Haan (default k = round(sqrt(n)))        2       k
kernel         Groeneboom-Lopuhaa-de Wolf, biweight (default k =           3       k, a
               round(sqrt(n)), >= 3)
stable_mmo     Mohammadi-Mohammadpour-Ogata on signed data                 4       m, center
=============  ==========================================================  ======  ==============

The three double-bootstrap entries share the procedure of :func:`double_bootstrap` (k* never
below 2; when k2 >= k1 both stages are drawn again, at most ``max_redraws`` times, then k*
falls back to floor(sqrt(n)) with a warning).  They differ only in the correction factor and
the first-stage resample size n1 (the second stage is always n2 = floor(n1^2/n)):
``hill_db`` and ``hill_db_sqrt`` use n1 = floor(n^0.9); tail-estimation uses about 0.71 n,
which ``hill_db_te`` reproduces (its search also stops at k <= 0.99 n_s; ours searches every
k < n_s, which changes nothing unless the minimum is in the last 1%).

All but ``stable_mmo`` take positive data (norms); ``SIGNED`` lists the ones that take signed
data.  ``x`` is 1-d here (a batch shape with one non-trivial axis is flattened); the
underlying functions (``hill``, ``pickands``, ...) are batched.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

from .._validation import as_tensor
from .double_bootstrap import double_bootstrap, te_n1
from .hill import hill
from .lepski import MIN_N as _LEPSKI_MIN_N, hill_lepski
from .others import kernel_type, moment, pickands, stable_mmo
from .rbc import hill_rbc
from .stable_fit import MIN_N as _SF_MIN_N, hill_dk, stable_dk, stable_quantile_fit
from .stable_t import MIN_N as _ST_MIN_N, STABLE_LOG_ODDS, stable_t_dk


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


def _db(name, correction, te_sizes=False):
    def run(t, *, seed=None, n_boot=500, n1=None, eps=None, k_search="full", max_redraws=10):
        if te_sizes and n1 is None and eps is None:
            n1 = min(te_n1(t.shape[0]), t.shape[0] - 1)
        r = double_bootstrap(t, n_boot=n_boot, n1=n1, eps=eps, correction=correction,
                             k_search=k_search, max_redraws=max_redraws, seed=seed)
        diag = dict(r.diagnostics, k1=r.k1, k2=r.k2, n1=r.n1, n2=r.n2, rho=r.rho,
                    correction_factor=r.correction_factor)
        return TailEstimate(r.alpha, r.k, name, diag)
    return run


def _hill_floor_sqrt(t):
    k = max(1, min(t.shape[0] - 1, math.isqrt(t.shape[0])))
    return TailEstimate(float(hill(t, k)), k, "hill_floor_sqrt")


def _lepski(t, *, seed=None, r=2.0, cap_n=5000, n_boot=500):
    alpha, k, diag = hill_lepski(t, r=r, cap_n=cap_n, n_boot=n_boot, seed=seed)
    return TailEstimate(alpha, k, "hill_lepski", diag)


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


def _stable_dk(t, *, level=1e-3):
    alpha, k, diag = stable_dk(t, level=level)
    return TailEstimate(alpha, k, "stable_dk", diag)


def _stable_t_dk(t, *, level=1e-3, stable_log_odds=STABLE_LOG_ODDS):
    alpha, k, diag = stable_t_dk(t, level=level, stable_log_odds=stable_log_odds)
    return TailEstimate(alpha, k, "stable_t_dk", diag)


def _stable_quantile(t):
    alpha, diag = stable_quantile_fit(t)
    return TailEstimate(alpha, None, "stable_quantile", diag)


def _hill_dk(t):
    alpha, k, diag = hill_dk(t)
    return TailEstimate(alpha, k, "hill_dk", diag)


DEFAULT = "stable_t_dk"
ESTIMATORS: dict[str, Callable[..., TailEstimate]] = {
    "stable_t_dk": _stable_t_dk,
    "stable_dk": _stable_dk,
    "stable_quantile": _stable_quantile,
    "hill_dk": _hill_dk,
    "hill_lepski": _lepski,
    "hill": _hill,
    "hill_floor_sqrt": _hill_floor_sqrt,
    "hill_db": _db("hill_db", "paper"),
    "hill_db_sqrt": _db("hill_db_sqrt", "sqrt"),
    "hill_db_te": _db("hill_db_te", "sqrt", te_sizes=True),
    "hill_rbc": _rbc,
    "pickands": _pickands,
    "moment": _moment,
    "kernel": _kernel,
    "stable_mmo": _mmo,
}
SIGNED = frozenset({"stable_mmo"})
RANDOM = frozenset({"hill_lepski", "hill_db", "hill_db_sqrt", "hill_db_te"})
#: the smallest sample each registered estimator accepts (module docstring)
MIN_N: dict[str, int] = {"stable_t_dk": _ST_MIN_N, **_SF_MIN_N, "hill_lepski": _LEPSKI_MIN_N, "hill": 2, "hill_floor_sqrt": 2, "hill_db": 16, "hill_db_sqrt": 16, "hill_db_te": 16,
                         "hill_rbc": 8, "pickands": 4, "moment": 2, "kernel": 3, "stable_mmo": 4}


def estimator_options(name: str) -> list[str]:
    """Keyword options accepted by a registered estimator (``seed`` is passed separately)."""
    fn = _lookup(name)
    return [p for p in inspect.signature(fn).parameters if p not in ("t", "seed")]


def _lookup(name: str):
    if name not in ESTIMATORS:
        raise ValueError(f"unknown estimator {name!r}; valid names: {', '.join(sorted(ESTIMATORS))}")
    return ESTIMATORS[name]


def estimate(x, estimator: str = DEFAULT, *, seed: int | None = None, **options) -> TailEstimate:
    """Estimate the tail index of the 1-d sample ``x`` with a registered estimator.

    The default, ``stable_t_dk``, reads the |symmetric stable| or the |Student-t| model,
    whichever fits (by likelihood when both do), else Hill at the Drees-Kaufmann k
    (``hill_lepski`` below n = 1000); see :mod:`ahtga.tail.stable_t` for the choice and what it
    costs.  ``stable_dk`` (the previous default, the stable model alone), ``hill_lepski``
    (AHTGA's), ``hill_db``, ``hill_db_sqrt`` and ``hill_db_te`` are kept by name.  ``seed`` seeds the random
    estimators (double bootstraps; ``hill_lepski`` only from n = cap_n); the others ignore it.
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
    n = t.shape[0] if t.ndim else 0
    need = MIN_N.get(estimator, 2)
    if n < need:
        raise ValueError(f"estimator {estimator!r} needs at least {need} values; got n={n}")
    if estimator in RANDOM:
        return fn(t, seed=seed, **options)
    return fn(t, **options)

