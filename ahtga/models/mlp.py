"""Multi-layer perceptron on flattened inputs."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ahtga._validation import check_int
from ._norm import norm1d


class MLP(nn.Module):
    """``x -> flatten -> [Linear -> norm -> ReLU] * len(hidden) -> Linear(num_classes)``.

    ``in_features`` is the flattened input size (e.g. 64 for 8x8 digits, 784 for MNIST).
    ``norm`` is "none" (default), "layer", "group" or "batch".
    """

    def __init__(self, in_features: int, num_classes: int, *, hidden: Sequence[int] = (256, 256),
                 norm: str = "none", dropout: float = 0.0):
        super().__init__()
        check_int("in_features", in_features, min_value=1)
        check_int("num_classes", num_classes, min_value=1)
        layers: list[nn.Module] = [nn.Flatten()]
        d = in_features
        for i, h in enumerate(hidden):
            check_int(f"hidden[{i}]", h, min_value=1)
            layers += [nn.Linear(d, h), norm1d(norm, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            d = h
        layers.append(nn.Linear(d, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
