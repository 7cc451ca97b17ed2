"""The estimator piece of AHTGA: per-example gradient norms -> alpha_hat -> guarded EMA alpha.

One call of :meth:`TailTracker.update` per optimizer step:

1. pool the positive norms of this step with those of the previous ``window - 1`` steps
   (``window = 1``, the default, is the source's choice: this batch only.  One batch is few
   samples for a tail estimate and averaging estimates does not remove the small-k bias, so a
   window of a few steps pools more order statistics.  Measured here with ``hill_db`` on exact
   Pareto samples (60 seeds, alpha = 1.5 / 2.5): at n = 64, 15% of the k* were <= 2 and 5% /
   10% of the estimates exceeded 5 (IQR 1.50-1.92 / 2.50-3.20); at n = 512 none (IQR
   1.46-1.56 / 2.44-2.60).  Pooling to n >= 256 is advisable; the bias atlas refines this);
2. estimate alpha_hat with any estimator of :mod:`ahtga.tail` (default ``"hill_db"``: Hill with
   the double-bootstrap k*), seeded with a per-step seed derived from ``seed`` and the step
   counter (numpy ``SeedSequence([seed, t])``), so a resumed run draws the same bootstrap
   resamples as an uninterrupted one;
3. guard (done by :class:`ahtga.tail.EMATracker`): an estimate outside ``clamp = (lo, hi)`` is
   clamped into it; a non-finite one (NaN, or the inf Hill returns for tied top values) is
   ignored, the EMA keeping its value; either way the update records ``clamped = True``.  Light
   tails read as huge values (Hill on Gaussian norms gives ~37, REFERENCES.md), and one such
   value would drag the EMA for ~1/(1-beta) steps.  The tracker's default (0.1, 5.0) is
   tighter than EMATracker's own hi = 10: above 5 the exponent rules would already ask for
   extreme amplification at an absolute alpha* (the exact rule gives gamma = 5/alpha* - 1).
   AHTGA passes its own ``DEFAULT_ALPHA_CLAMP`` = (0.1, 50): with a target relative to the
   readings the clamp must not decide them (see ``ahtga.optim.ahtga``);
4. smooth: alpha_t = beta alpha_{t-1} + (1 - beta) alpha_hat_clamped, alpha_0 = ``alpha_init``
   (source values beta = 0.9, alpha_0 = 2.0).

Too few samples.  ``ValueError`` when the configuration can never work: a batch of B norms with
B * window < ``min_samples``.  Otherwise, when the pool holds fewer than ``min_samples``
positive norms (zero gradients, e.g. a saturated classifier, or a window still filling), no
estimate is made and alpha keeps its previous value (``estimated = False``; k = 0,
alpha_hat = NaN in the step's stats).  An estimator that raises ``ValueError`` on the pool is
re-raised with the sample size named.

Cost.  On a CPU, ``hill_db`` (500 resamples per stage) took 5-7 ms at n = 64, 10-16 ms at
n = 128-256 and 30-45 ms at n = 1024 per estimate (shared 2-core machine, 60 Pareto samples):
more than an SGD step of a small model.  ``estimate_every = E`` divides that cost by E.

Where the estimate runs (``estimate_device``).  The estimators run on the device of their
input.  On an accelerator a double bootstrap over a batch of norms is a few dozen tiny kernels
and a few host synchronisations; on one H200 it added ~9.5 ms to a 21 ms ResNet-18 step
(bench/gpu_step.py), while the same estimate takes 1.5-3 ms on one CPU core at n = 128.  The
default ``"auto"`` therefore copies a pool of at most ``AUTO_CPU_MAX`` = 65536 norms to the CPU
(one small device-to-host copy; the estimate needs a host value anyway) and estimates there;
``"cpu"`` always does, ``"same"`` never does.  The CPU and accelerator random streams differ,
so the bootstrap resamples (not their law) depend on this choice.

Estimator warnings.  ``TailWarning``s of the estimator (for example a double-bootstrap k*
outside [1, n-1] at small n) are collected (``ahtga.tail.hill.collect_tail_warnings``, per
thread): the first is re-issued once per tracker, every one is recorded as ``warned = True``
(``StepStats.estimator_warning``).  A callable estimator's ``TailWarning``s are caught the same
way on the main thread; on a background thread (``estimate_lag=1``) they pass through unless
it warns with ``ahtga.tail.hill.tail_warn``.
"""
from __future__ import annotations

import math
import threading
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from .._validation import check_choice, check_in_range, check_int, check_positive

__all__ = ["AUTO_CPU_MAX", "TailTracker", "TrackerUpdate", "estimate_device_for", "step_seed"]

AUTO_CPU_MAX = 65536    # estimate_device="auto": pools up to this size are estimated on the CPU


def step_seed(seed: int, step: int) -> int:
    """A 63-bit seed for step ``step`` of a run seeded with ``seed`` (independent streams)."""
    state = np.random.SeedSequence([int(seed), int(step)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def estimate_device_for(device, n: int, policy: str) -> torch.device:
    """The device the estimate of a pool of ``n`` norms held on ``device`` runs on under
    ``policy`` ("auto", "cpu" or "same"; see the module docstring)."""
    device = torch.device(device)
    if device.type == "cpu" or policy == "same" or (policy == "auto" and n > AUTO_CPU_MAX):
        return device
    return torch.device("cpu")


@dataclass(frozen=True)
class TrackerUpdate:
    """What one update saw: the raw estimate, the clamped one (non-finite raw values are
    passed through and ignored by the EMA), the smoothed alpha, k, the pooled n, the guard
    flag, whether an estimate was made at all, and whether the estimator warned."""
    alpha_hat_raw: float
    alpha_hat: float
    alpha: float
    k: int
    n: int
    clamped: bool
    estimated: bool
    warned: bool


class TailTracker:
    """Guarded, EMA-smoothed tail-index estimate of per-example gradient norms.

    Parameters
    ----------
    estimator : a name of ``ahtga.tail.ESTIMATORS`` (default ``"hill_db"``) or a callable
        ``f(x, *, seed) -> object with .alpha (float) and .k (int or None)``.
    beta : EMA factor in [0, 1) (the optimizer's beta2).
    alpha_init : alpha_0 > 0, the EMA's starting value.
    clamp : (lo, hi), 0 < lo < hi, the range a single estimate is clamped into.
    window : number of steps whose norms are pooled (int >= 1; default 1 unless ``pool_size``).
    pool_size : pool by count instead: the estimate uses the most recent ``pool_size`` positive
        norms (of as many steps as that takes) and is made only once the pool is full, so the
        sample size of every estimate is the same and one batch moves it by at most B/pool_size
        of its data.  Exclusive with ``window``.
    min_samples : least number of positive norms in the pool (int >= 2).
    seed : base seed of the estimator's randomness (bootstrap).
    estimate_every : estimate on updates 0, E, 2E, ... only and keep alpha in between
        (int >= 1, default 1); the window still collects every step's norms.
    estimator_options : keyword options passed to ``ahtga.tail.estimate`` (named estimators).
    estimate_device : "auto" (default: on the CPU for pools of at most ``AUTO_CPU_MAX`` norms,
        else where the norms are), "cpu" or "same" (where the norms are).
    """

    def __init__(self, estimator: str | Callable = "hill_db", *, beta: float = 0.9,
                 alpha_init: float = 2.0, clamp: tuple[float, float] = (0.1, 5.0),
                 window: int | None = None, min_samples: int = 32, seed: int = 0,
                 estimate_every: int = 1, estimator_options: dict[str, Any] | None = None,
                 estimate_device: str = "auto", pool_size: int | None = None):
        if isinstance(estimator, str):
            from ..tail import ESTIMATORS  # local import: ahtga.tail grows independently
            if estimator not in ESTIMATORS:
                raise ValueError(f"`estimator` must be one of {sorted(ESTIMATORS)}; "
                                 f"got estimator={estimator!r}")
        elif not callable(estimator):
            raise TypeError(f"`estimator` must be a name or a callable; got estimator={estimator!r}")
        if estimator_options and not isinstance(estimator, str):
            raise ValueError("`estimator_options` apply to named estimators only; got a callable "
                             f"estimator with estimator_options={estimator_options!r}")
        self.estimator = estimator
        self.estimator_options = dict(estimator_options or {})
        self.beta = check_in_range("beta", beta, 0.0, 1.0, hi_open=True)
        self.alpha_init = check_positive("alpha_init", alpha_init)
        try:
            lo, hi = clamp
        except (TypeError, ValueError):
            raise ValueError(f"`clamp` must be a pair (lo, hi); got clamp={clamp!r}") from None
        lo, hi = check_positive("clamp[0]", lo), check_positive("clamp[1]", hi)
        if lo >= hi:
            raise ValueError(f"`clamp` must satisfy lo < hi; got clamp={clamp!r}")
        self.clamp = (lo, hi)
        if window is not None and pool_size is not None:
            raise ValueError("give either `window` (steps pooled) or `pool_size` (norms pooled), "
                             f"not both; got window={window!r}, pool_size={pool_size!r}")
        self.min_samples = check_int("min_samples", min_samples, min_value=2)
        if pool_size is not None:
            self.pool_size: int | None = check_int("pool_size", pool_size,
                                                   min_value=self.min_samples)
            self.window = 1    # steps are pooled by count, not by number (see pool_size)
        else:
            self.pool_size = None
            self.window = check_int("window", 1 if window is None else window, min_value=1)
        self.seed = check_int("seed", seed, min_value=0)
        self.estimate_every = check_int("estimate_every", estimate_every, min_value=1)
        self.estimate_device = check_choice("estimate_device", estimate_device,
                                            {"auto", "cpu", "same"})
        from ..tail import EMATracker
        self._ema = EMATracker(beta=self.beta, init=self.alpha_init, lo=lo, hi=hi)
        self._buffer: deque[torch.Tensor] = self._new_buffer()  # previous steps' norms
        self.count = 0  # number of updates made (the per-step seed index)
        self._warned = False

    def _new_buffer(self, items=()) -> deque:
        """Previous steps' positive norms: the last ``window - 1`` steps, or (pool_size mode)
        as many steps as needed to hold ``pool_size`` norms with the next step's."""
        return deque(items, maxlen=None if self.pool_size is not None else self.window - 1)

    @property
    def pooled(self) -> bool:
        """True when more than the current step's norms enter the estimate."""
        return self.pool_size is not None or self.window > 1

    @property
    def value(self) -> float:
        """The smoothed alpha (alpha_init before the first update)."""
        return float(self._ema.value)

    def _estimate(self, x: torch.Tensor, seed: int) -> tuple[float, int, bool]:
        from ..tail import TailWarning
        from ..tail.hill import collect_tail_warnings
        try:
            # the estimators' TailWarnings are collected per thread (no process-wide warnings
            # state is touched, so this may run on a background thread)
            with collect_tail_warnings() as tail_w:
                if isinstance(self.estimator, str):
                    from ..tail import estimate
                    res = estimate(x, estimator=self.estimator, seed=seed,
                                   **self.estimator_options)
                elif threading.current_thread() is threading.main_thread():
                    # a callable may warn with warnings.warn: catch its TailWarnings too
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", TailWarning)
                        res = self.estimator(x, seed=seed)
                    for w in caught:
                        if issubclass(w.category, TailWarning):
                            tail_w.append(str(w.message))
                        else:   # pass other warnings on unchanged
                            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                else:
                    res = self.estimator(x, seed=seed)
        except ValueError as err:
            raise ValueError(f"tail estimator {self.estimator!r} failed on the pooled norms "
                             f"(n={x.numel()}): {err}") from err
        if tail_w and not self._warned:
            self._warned = True
            warnings.warn(f"tail estimator {self.estimator!r}: {tail_w[0]} (further "
                          "estimator warnings are only recorded in StepStats.estimator_warning)",
                          TailWarning, stacklevel=4)
        return float(res.alpha), (0 if res.k is None else int(res.k)), bool(tail_w)

    def check_batch(self, B: int) -> None:
        """``ValueError`` when batches of ``B`` norms can never give an estimate
        (B * window < min_samples)."""
        if self.pool_size is not None:
            if B < 1:
                raise ValueError(f"the tail estimate needs at least one norm per step; got B={B}")
            return
        if B * self.window < self.min_samples:
            raise ValueError(
                f"the tail estimate needs at least min_samples={self.min_samples} per-example "
                f"norms; got a batch of B={B} with window={self.window} (B * window = "
                f"{B * self.window}): raise the batch size or the window")

    def update(self, norms: torch.Tensor, *, checked: bool = False) -> TrackerUpdate:
        """Pool, estimate, clamp and smooth; ``norms`` is the [B] tensor of this step (global
        batch under DDP).  See the module docstring for too-small samples.  ``checked=True``
        skips the finiteness check (the caller made it)."""
        if not isinstance(norms, torch.Tensor) or norms.ndim != 1:
            raise ValueError(f"`norms` must be a 1-d tensor [B]; got {type(norms).__name__} "
                             f"of shape {tuple(getattr(norms, 'shape', ()))}")
        if not checked and not bool(torch.isfinite(norms).all()):
            raise ValueError("`norms` contains NaN or Inf; the caller must skip this step")
        B = norms.numel()
        self.check_batch(B)
        # Move the norms first when the estimate will run on the CPU: one small device-to-host
        # copy instead of masking kernels on the device (B * window bounds the pool size).
        size = self.pool_size if self.pool_size is not None else B * self.window
        dev = estimate_device_for(norms.device, size, self.estimate_device)
        x = norms.detach().to(dev)
        pos = x[x > 0]
        pool = torch.cat([*(b.to(dev) for b in self._buffer), pos]) if self.pooled else pos
        if self.pool_size is not None:
            pool = pool[-self.pool_size:]      # the most recent pool_size positive norms
        n = int(pool.numel())
        if self.pooled:
            self._buffer.append(pos.clone())
            if self.pool_size is not None:     # drop steps no longer needed to fill the pool
                held = sum(int(b.numel()) for b in self._buffer)
                while self._buffer and held - int(self._buffer[0].numel()) >= self.pool_size:
                    held -= int(self._buffer.popleft().numel())
        seed = step_seed(self.seed, self.count)
        self.count += 1
        need = self.min_samples if self.pool_size is None else self.pool_size
        if n < need or (self.count - 1) % self.estimate_every:
            # transient shortage of positive norms, or not an estimation step: keep alpha
            return TrackerUpdate(alpha_hat_raw=math.nan, alpha_hat=math.nan, alpha=self.value,
                                 k=0, n=n, clamped=False, estimated=False, warned=False)
        pool = pool.to(estimate_device_for(pool.device, n, self.estimate_device))
        raw, k, warned = self._estimate(pool.to(torch.float64), seed)
        lo, hi = self.clamp
        alpha = float(self._ema.update(raw))
        clamped = bool(self._ema.last_clamped or self._ema.last_ignored)
        a_hat = min(hi, max(lo, raw)) if math.isfinite(raw) else raw
        return TrackerUpdate(alpha_hat_raw=raw, alpha_hat=a_hat, alpha=alpha, k=k, n=n,
                             clamped=clamped, estimated=True, warned=warned)

    def state_dict(self) -> dict[str, Any]:
        return {"ema": self._ema.state_dict(), "buffer": [b.clone() for b in self._buffer],
                "count": self.count, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._ema.load_state_dict(state["ema"])
        self._buffer = self._new_buffer(b.clone() for b in state["buffer"])
        self.count = int(state["count"])
        self.seed = int(state["seed"])
