"""A small convolutional network: two convolutions, two linear layers."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ahtga._validation import check_int
from ._norm import norm2d


class SmallCNN(nn.Module):
    """``[conv3x3 -> norm -> ReLU -> maxpool2] x 2 -> flatten -> Linear(hidden) -> ReLU -> Linear``.

    Convolutions use padding 1, so an ``H x W`` input reaches the linear layers as
    ``channels[1] x (H // 4) x (W // 4)``. ``norm`` "group" (default), "batch" or "none".
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, image_size: int | Sequence[int] = 28,
                 channels: Sequence[int] = (32, 64), hidden: int = 128, norm: str = "group"):
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
        check_int("image_size", h, min_value=4)
        check_int("image_size", w, min_value=4)
        c1, c2 = (check_int("channels", c, min_value=1) for c in channels)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 3, padding=1, bias=norm == "none"), norm2d(norm, c1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1, bias=norm == "none"), norm2d(norm, c2), nn.ReLU(),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), hidden),
                                        nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
