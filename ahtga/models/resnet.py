"""ResNet-18 and ResNet-50 (He et al. 2016) with a CIFAR or an ImageNet stem.

* ``stem="imagenet"``: 7x7 stride-2 convolution, norm, ReLU, 3x3 stride-2 max-pool (224x224
  inputs), as in the paper and torchvision.
* ``stem="cifar"``: one 3x3 stride-1 convolution, norm, ReLU, no pooling (32x32 inputs), the
  usual CIFAR adaptation (e.g. kuangliu/pytorch-cifar).

Stages of widths ``width * (1, 2, 4, 8)`` with strides (1, 2, 2, 2); downsampling shortcuts are
1x1 convolutions + norm (option B). ResNet-50 uses bottlenecks with expansion 4 and the stride
on the 3x3 convolution (the "v1.5" placement of torchvision). Global average pooling, then a
linear classifier. Convolutions before a norm have no bias.

Parameter counts at 10 classes (same for GroupNorm and BatchNorm, whose affine parameters match):
ResNet-18 CIFAR stem 11,173,962; ResNet-50 ImageNet stem 23,528,522, CIFAR stem 23,520,842.
"""
from __future__ import annotations

import torch
from torch import nn

from ahtga._validation import check_choice, check_int
from ._norm import norm2d


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int, norm: str, groups: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.n1 = norm2d(norm, planes, groups=groups)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.n2 = norm2d(norm, planes, groups=groups)
        self.relu = nn.ReLU()
        self.shortcut = _shortcut(cin, planes, stride, norm, groups)

    def forward(self, x):
        out = self.relu(self.n1(self.conv1(x)))
        out = self.n2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int, norm: str, groups: int):
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.n1 = norm2d(norm, planes, groups=groups)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.n2 = norm2d(norm, planes, groups=groups)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.n3 = norm2d(norm, cout, groups=groups)
        self.relu = nn.ReLU()
        self.shortcut = _shortcut(cin, cout, stride, norm, groups)

    def forward(self, x):
        out = self.relu(self.n1(self.conv1(x)))
        out = self.relu(self.n2(self.conv2(out)))
        out = self.n3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _shortcut(cin, cout, stride, norm, groups) -> nn.Module:
    if stride == 1 and cin == cout:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), norm2d(norm, cout, groups=groups))


class ResNet(nn.Module):
    """Generic ResNet; use :func:`resnet18` / :func:`resnet50`."""

    def __init__(self, block, layers, *, num_classes: int = 10, stem: str = "cifar", norm: str = "group",
                 groups: int = 32, in_channels: int = 3, width: int = 64):
        super().__init__()
        check_choice("stem", stem, ("cifar", "imagenet"))
        check_int("num_classes", num_classes, min_value=1)
        check_int("width", width, min_value=1)
        if stem == "cifar":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
                                      norm2d(norm, width, groups=groups), nn.ReLU())
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, 2, 3, bias=False),
                                      norm2d(norm, width, groups=groups), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
        stages, cin = [], width
        for i, n in enumerate(layers):
            planes, blocks = width * 2 ** i, []
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1, norm, groups))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)
        self.feature_dim = cin
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.layers(self.stem(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def resnet18(num_classes: int = 10, *, stem: str = "cifar", norm: str = "group", **kw) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2)."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes=num_classes, stem=stem, norm=norm, **kw)


def resnet50(num_classes: int = 10, *, stem: str = "imagenet", norm: str = "group", **kw) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), expansion 4."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes=num_classes, stem=stem, norm=norm, **kw)
