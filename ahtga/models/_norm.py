"""Normalisation layers chosen by name.

``norm`` options: ``"group"`` (GroupNorm, the default for models trained with AHTGA: each
example is normalised alone, so per-example gradients are well defined; BatchNorm mixes the
examples of a batch and the per-example engine refuses it), ``"batch"`` (BatchNorm), ``"layer"``
(LayerNorm over features, 1-d inputs only) and ``"none"``.

GroupNorm uses ``gcd(groups, C)`` groups so any channel count works (32 groups, Wu and He 2018).
"""
from __future__ import annotations

import math

from torch import nn

from ahtga._validation import check_choice, check_int

NORMS = ("group", "batch", "none")


def norm2d(norm: str, channels: int, *, groups: int = 32) -> nn.Module:
    """A normalisation for ``[N, C, H, W]`` feature maps of ``channels`` channels."""
    check_choice("norm", norm, NORMS)
    if norm == "group":
        return nn.GroupNorm(math.gcd(check_int("groups", groups, min_value=1), channels), channels)
    if norm == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def norm1d(norm: str, features: int) -> nn.Module:
    """A normalisation for ``[N, F]`` features: "layer", "batch", "group" (= LayerNorm-like with
    32 groups) or "none"."""
    check_choice("norm", norm, ("layer", "batch", "group", "none"))
    if norm == "layer":
        return nn.LayerNorm(features)
    if norm == "batch":
        return nn.BatchNorm1d(features)
    if norm == "group":
        return nn.GroupNorm(math.gcd(32, features), features)
    return nn.Identity()
