"""AHTGA's swappable pieces: target schedules, exponent rules, transforms, the tail tracker.

Each ablation is a different piece (for example ``ExactExponent()`` instead of the source's
``QuadraticExponent``), not a flag inside the optimizer.
"""
from .exponents import ExactExponent, ExponentRule, FixedExponent, QuadraticExponent, make_exponent
from .schedules import (ConstantTarget, LinearTarget, RelativeTarget, TargetSchedule,
                        ValidationTarget, make_target)
from .regime import REGIME_KEYS, RegimeCounter, regime_shares
from .tail_tracker import TailTracker, TrackerUpdate, step_seed
from .transforms import (direction_coefficients, median, sign_coefficients, transform_direction,
                         transform_sign)

__all__ = [
    "ConstantTarget", "LinearTarget", "ValidationTarget", "RelativeTarget", "TargetSchedule",
    "make_target",
    "QuadraticExponent", "ExactExponent", "FixedExponent", "ExponentRule", "make_exponent",
    "direction_coefficients", "sign_coefficients", "transform_direction", "transform_sign",
    "median", "TailTracker", "TrackerUpdate", "step_seed", "regime_shares", "REGIME_KEYS",
    "RegimeCounter",
]
