"""ahtga: Adaptive Heavy-Tail Gradient Amplification.

Subpackages: ``tail`` (estimators), ``control`` (schedules, exponent rules, transforms),
``engine`` (per-example gradients), ``optim`` (AHTGA and baselines), ``metrics``, ``data``,
``models``, ``experiments``.
"""
__version__ = "0.1.0"
