"""Small argument checks shared by the whole package.

Every message names the argument, the value received and what is allowed, e.g.
"`k` must satisfy 1 <= k < n; got k=0 with n=50".
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """Return ``float(value)`` if it is finite and > 0 (>= 0 with ``allow_zero``)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real number; got {name}={value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"`{name}` must be finite and {bound}; got {name}={value!r}")
    return v


def check_in_range(name: str, value: float, lo: float, hi: float, *,
                   lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``float(value)`` if it lies in the interval [lo, hi] (ends open on request)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real number; got {name}={value!r}") from None
    ok = math.isfinite(v) or (math.isinf(hi) and v == math.inf and not hi_open)
    ok = ok and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"`{name}` must lie in {left}{lo}, {hi}{right}; got {name}={value!r}")
    return v


def check_int(name: str, value: Any, *, min_value: int | None = None,
              max_value: int | None = None) -> int:
    """Return ``int(value)`` if it is an integer within the optional bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TypeError(f"`{name}` must be an integer; got {name}={value!r}")
    v = int(value)
    if min_value is not None and v < min_value:
        raise ValueError(f"`{name}` must be >= {min_value}; got {name}={v}")
    if max_value is not None and v > max_value:
        raise ValueError(f"`{name}` must be <= {max_value}; got {name}={v}")
    return v


def check_choice(name: str, value: Any, choices) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}; got {name}={value!r}")
    return value


def as_tensor(name: str, x: Any, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert numpy arrays, lists or tensors to a floating tensor; reject NaN and Inf.

    Tensors keep their device; float32/float64 keep their dtype unless ``dtype`` is given;
    integer and other inputs become float64.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            t = torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError):
            raise TypeError(f"`{name}` must be array-like of numbers; got {type(x).__name__}") from None
    if t.is_complex():
        raise TypeError(f"`{name}` must hold real numbers; got complex dtype {t.dtype} "
                        "(take abs() or .real explicitly)")
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point() or t.dtype in (torch.float16, torch.bfloat16):
        t = t.to(torch.float64)
    if t.numel() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"`{name}` contains {bad} NaN or Inf value(s); remove them first")
    return t
