"""VGG-16 (Simonyan and Zisserman 2015, configuration D) with an optional norm after each conv.

``norm``: "none" (the original), "batch" (VGG-16-BN) or "group". ``head="cifar"``: after the five
pools a 32x32 input is 1x1, followed by ``Linear(512 w, num_classes)``; ``head="imagenet"``:
adaptive average pool to 7x7, then 4096-4096-classes with ReLU and dropout 0.5. ``width`` scales
every channel count (64 = the paper's).
"""
from __future__ import annotations

import torch
from torch import nn

from ahtga._validation import check_choice, check_int
from ._norm import norm2d

VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG(nn.Module):
    def __init__(self, cfg=VGG16_CFG, *, num_classes: int = 10, norm: str = "none", head: str = "cifar",
                 in_channels: int = 3, width: int = 64, groups: int = 32):
        super().__init__()
        check_choice("head", head, ("cifar", "imagenet"))
        check_int("width", width, min_value=1)
        layers, c = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            out = max(1, v * width // 64)
            layers += [nn.Conv2d(c, out, 3, padding=1, bias=norm == "none"), norm2d(norm, out, groups=groups),
                       nn.ReLU()]
            c = out
        self.features = nn.Sequential(*layers)
        if head == "cifar":
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c, num_classes))
        else:
            h = max(1, 4096 * width // 64)
            self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(7), nn.Flatten(), nn.Linear(c * 49, h), nn.ReLU(),
                                            nn.Dropout(0.5), nn.Linear(h, h), nn.ReLU(), nn.Dropout(0.5),
                                            nn.Linear(h, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def vgg16(num_classes: int = 10, *, norm: str = "none", head: str = "cifar", **kw) -> VGG:
    return VGG(VGG16_CFG, num_classes=num_classes, norm=norm, head=head, **kw)
