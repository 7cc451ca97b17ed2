"""Per-channel means and standard deviations of the training images (pixels in [0, 1]), and
:func:`normalize`.

MNIST and CIFAR-10 were recomputed here from the offline copies (MNIST train: 0.1307, 0.3081
exactly; CIFAR-10 from the lossless 4000-image subset only: within 2e-3 of the values below);
Fashion-MNIST, CIFAR-100 and ImageNet are the widely used values (recalled, not re-checked).
"""
from __future__ import annotations

import torch

MEAN_STD = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion_mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """``(x - mean[c]) / std[c]`` over the channel dimension 1 of ``[N, C, H, W]`` (or 0 of ``[C, H, W]``)."""
    shape = (-1, 1, 1)
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(shape)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(shape)
    if bool((s <= 0).any()):
        raise ValueError(f"`std` must be > 0; got std={list(map(float, s.flatten()))}")
    return (x - m) / s
