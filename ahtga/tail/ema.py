"""Exponential moving average of tail-index estimates, with clamping and a guard.

    value <- beta * value + (1 - beta) * clamp(alpha_hat, lo, hi)

Each incoming estimate is clamped into [lo, hi] (default [0.1, 10]: below 0.1 no moment of
order 0.1 exists, an implausible reading for gradient norms; above 10 the tail is light for
every practical purpose and Hill readings of light tails grow without bound, e.g. about 38
for Gaussian norms at k = 500).  Non-finite estimates (NaN, +-inf, for example the
``inf`` that the estimators return for data with no tail) are ignored: the value is kept.
``last_clamped`` / ``last_ignored`` record what happened at the last update.
"""
from __future__ import annotations

import math

from .._validation import check_in_range


class EMATracker:
    """EMA of alpha estimates: ``update(alpha_hat) -> float``, ``.value``, state_dict."""

    def __init__(self, beta: float = 0.9, init: float = 2.0, lo: float = 0.1, hi: float = 10.0):
        self.beta = check_in_range("beta", beta, 0.0, 1.0, hi_open=True)
        self.lo = check_in_range("lo", lo, 0.0, math.inf, lo_open=True)
        self.hi = check_in_range("hi", hi, 0.0, math.inf, lo_open=True)
        if not self.lo < self.hi:
            raise ValueError(f"`lo` must be < `hi`; got lo={lo!r}, hi={hi!r}")
        self.init = check_in_range("init", init, self.lo, self.hi)
        self.value = self.init
        self.steps = 0
        self.last_clamped = False
        self.last_ignored = False

    def update(self, alpha_hat) -> float:
        """Fold one estimate (float or 0-d tensor) into the average; return the new value."""
        try:
            a = float(alpha_hat)
        except (TypeError, ValueError):
            raise TypeError(f"`alpha_hat` must be a real number; got alpha_hat={alpha_hat!r}") from None
        self.last_ignored = not math.isfinite(a)
        self.last_clamped = False
        if self.last_ignored:
            return self.value
        c = min(max(a, self.lo), self.hi)
        self.last_clamped = c != a
        self.value = self.beta * self.value + (1.0 - self.beta) * c
        self.steps += 1
        return self.value

    def state_dict(self) -> dict:
        return {"beta": self.beta, "init": self.init, "lo": self.lo, "hi": self.hi,
                "value": self.value, "steps": self.steps, "last_clamped": self.last_clamped,
                "last_ignored": self.last_ignored}

    def load_state_dict(self, state: dict) -> None:
        missing = {"beta", "init", "lo", "hi", "value", "steps"} - set(state)
        if missing:
            raise KeyError(f"EMATracker state is missing {sorted(missing)}")
        fresh = EMATracker(state["beta"], state["init"], state["lo"], state["hi"])
        self.__dict__.update(fresh.__dict__)
        self.value = float(state["value"])
        self.steps = int(state["steps"])
        self.last_clamped = bool(state.get("last_clamped", False))
        self.last_ignored = bool(state.get("last_ignored", False))

    def __repr__(self) -> str:
        return (f"EMATracker(beta={self.beta}, init={self.init}, lo={self.lo}, hi={self.hi}, "
                f"value={self.value:.4g}, steps={self.steps})")
