"""ResNet-12, the few-shot backbone of TADAM (Oreshkin et al. 2018) and MetaOptNet (Lee et al. 2019).

Four residual blocks of widths ``channels`` (default 64, 160, 320, 640). Each block: three
[3x3 conv -> norm -> LeakyReLU(0.1)] (the last activation after the residual sum), a 1x1 conv +
norm shortcut, then 2x2 max-pool. Global average pooling gives a ``channels[-1]`` embedding
(84x84 input -> 5x5 maps). DropBlock, used by MetaOptNet, is omitted. ``num_classes`` adds a linear
head (for pre-training); with ``None`` the model returns embeddings.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ._norm import norm2d


class _Block(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), norm2d(norm, cout), nn.LeakyReLU(0.1),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), norm2d(norm, cout), nn.LeakyReLU(0.1),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), norm2d(norm, cout))
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), norm2d(norm, cout))
        self.act = nn.LeakyReLU(0.1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.pool(self.act(self.body(x) + self.shortcut(x)))


class ResNet12(nn.Module):
    def __init__(self, *, in_channels: int = 3, channels: Sequence[int] = (64, 160, 320, 640), norm: str = "group",
                 num_classes: int | None = None):
        super().__init__()
        blocks, c = [], in_channels
        for w in channels:
            blocks.append(_Block(c, w, norm))
            c = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = c
        self.head = nn.Linear(c, num_classes) if num_classes else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.flatten(self.pool(self.blocks(x)), 1)
        return self.head(z) if self.head is not None else z
