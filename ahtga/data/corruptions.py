"""Label noise, input perturbations and low-data subsets, all seeded and pure.

Label noise (returns ``(noisy_labels, flipped_mask)``; exactly ``round(rate * n)`` labels change,
chosen uniformly at random, so the realised rate equals the nominal one up to rounding):

* :func:`symmetric_label_noise`: a flipped label becomes a uniformly drawn *different* class
  (the "pair-free" symmetric noise of e.g. Patrini et al. 2017; some papers draw from all
  classes, true one included, which flips only ``rate (C-1)/C``: say which is used).
* :func:`asymmetric_label_noise`: class-dependent flips ``c -> mapping[c]`` applied to exactly
  ``round(rate * n_c)`` examples of each mapped class ``c`` (classes not in ``mapping`` keep their
  labels). Standard mappings (Patrini et al. 2017, CVPR, "Making deep neural networks robust to
  label noise: a loss correction approach", sec. 5; recalled):
  CIFAR-10 ``truck->automobile, bird->airplane, deer->horse, cat<->dog`` (:data:`CIFAR10_FLIPS`),
  MNIST ``2->7, 3->8, 7->1, 5<->6`` (:data:`MNIST_FLIPS`), CIFAR-100: each class to the next
  class of its superclass, cyclically (:func:`cifar100_flips`).

Input perturbations on ``[N, C, H, W]`` images in ``[0, 1]`` (results clipped to ``[0, 1]``):
additive Gaussian noise, Gaussian blur (separable convolution with a sampled, normalised
Gaussian kernel of radius ``ceil(3 sigma)``, reflect padding), and contrast
``x' = (x - m) c + m`` with ``m`` the per-image mean over channels and pixels (as ImageNet-C's
contrast corruption, Hendrycks and Dietterich 2019).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ahtga._validation import check_in_range, check_int, check_positive

CIFAR10_FLIPS = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
MNIST_FLIPS = {2: 7, 3: 8, 7: 1, 5: 6, 6: 5}


def _labels(y) -> torch.Tensor:
    y = torch.as_tensor(y)
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8) or y.ndim != 1:
        raise TypeError(f"`y` must be a 1-d integer tensor of labels; got dtype={y.dtype}, shape={tuple(y.shape)}")
    return y.long()


def symmetric_label_noise(y, rate: float, num_classes: int, *, seed: int = 0):
    """Flip exactly ``round(rate * n)`` labels to a uniformly drawn other class."""
    y = _labels(y)
    check_in_range("rate", rate, 0.0, 1.0)
    C = check_int("num_classes", num_classes, min_value=2)
    if len(y) and int(y.max()) >= C:
        raise ValueError(f"`num_classes`={C} but `y` holds label {int(y.max())}")
    g = torch.Generator().manual_seed(check_int("seed", seed))
    k = int(round(rate * len(y)))
    idx = torch.randperm(len(y), generator=g)[:k]
    shift = torch.randint(1, C, (k,), generator=g)
    noisy = y.clone()
    noisy[idx] = (y[idx] + shift) % C          # uniform over the C - 1 other classes
    mask = torch.zeros(len(y), dtype=torch.bool)
    mask[idx] = True
    return noisy, mask


def asymmetric_label_noise(y, rate: float, mapping: dict[int, int], *, seed: int = 0):
    """Flip exactly ``round(rate * n_c)`` examples of each class ``c`` in ``mapping`` to ``mapping[c]``."""
    y = _labels(y)
    check_in_range("rate", rate, 0.0, 1.0)
    if not mapping or any(int(a) == int(b) for a, b in mapping.items()):
        raise ValueError(f"`mapping` must be a non-empty dict of class -> different class; got mapping={mapping!r}")
    g = torch.Generator().manual_seed(check_int("seed", seed))
    noisy = y.clone()
    mask = torch.zeros(len(y), dtype=torch.bool)
    for c in sorted(mapping):
        idx = torch.nonzero(y == int(c)).flatten()
        k = int(round(rate * len(idx)))
        pick = idx[torch.randperm(len(idx), generator=g)[:k]]
        noisy[pick] = int(mapping[c])
        mask[pick] = True
    return noisy, mask


def cifar100_flips(fine_labels, coarse_labels) -> dict[int, int]:
    """Each fine class -> the next fine class (by id) of its superclass, cyclically, read from the
    paired ``fine_labels`` and ``coarse_labels`` of a CIFAR-100 split."""
    fine, coarse = _labels(fine_labels), _labels(coarse_labels)
    groups: dict[int, set[int]] = {}
    for f, c in zip(fine.tolist(), coarse.tolist()):
        groups.setdefault(c, set()).add(f)
    out = {}
    for members in groups.values():
        m = sorted(members)
        for i, f in enumerate(m):
            if len(m) > 1:
                out[f] = m[(i + 1) % len(m)]
    return out


def noise_transition_matrix(y_clean, y_noisy, num_classes: int) -> torch.Tensor:
    """Empirical ``T[i, j] = P(noisy = j | clean = i)`` (rows of absent classes are zero)."""
    C = check_int("num_classes", num_classes, min_value=1)
    T = torch.zeros(C, C, dtype=torch.float64)
    T.index_put_((_labels(y_clean), _labels(y_noisy)), torch.ones(len(y_clean), dtype=torch.float64), accumulate=True)
    return T / T.sum(1, keepdim=True).clamp_min(1)


def _images(x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise TypeError(f"`x` must be a float tensor [N, C, H, W]; got {type(x).__name__} "
                        f"{tuple(getattr(x, 'shape', ()))}")
    return x


def gaussian_noise(x, sigma: float, *, seed: int = 0, clip: bool = True) -> torch.Tensor:
    """``x + sigma * N(0, 1)`` (seeded), clipped to [0, 1] when ``clip``."""
    x = _images(x)
    check_positive("sigma", sigma, allow_zero=True)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    out = x + sigma * torch.randn(x.shape, generator=g, dtype=x.dtype).to(x.device)
    return out.clamp(0, 1) if clip else out


def gaussian_kernel1d(sigma: float, *, radius: int | None = None, dtype=torch.float32) -> torch.Tensor:
    """``k[j] = exp(-j^2 / (2 sigma^2)) / sum``, ``j = -r..r``, ``r = ceil(3 sigma)`` by default."""
    s = check_positive("sigma", sigma)
    r = math.ceil(3 * s) if radius is None else check_int("radius", radius, min_value=0)
    j = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-j ** 2 / (2 * s * s))
    return (k / k.sum()).to(dtype)


def gaussian_blur(x, sigma: float, *, radius: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur of each channel (depthwise convolution, reflect padding)."""
    x = _images(x)
    if sigma == 0:
        return x.clone()
    k = gaussian_kernel1d(sigma, radius=radius, dtype=x.dtype).to(x.device)
    r = (len(k) - 1) // 2
    C = x.shape[1]
    mode = "reflect" if r < min(x.shape[-2:]) else "replicate"
    h = F.conv2d(F.pad(x, (r, r, 0, 0), mode=mode), k.view(1, 1, 1, -1).expand(C, 1, 1, -1), groups=C)
    return F.conv2d(F.pad(h, (0, 0, r, r), mode=mode), k.view(1, 1, -1, 1).expand(C, 1, -1, 1), groups=C)


def contrast(x, factor: float) -> torch.Tensor:
    """``(x - m) * factor + m`` with ``m`` each image's mean; ``factor < 1`` lowers contrast."""
    x = _images(x)
    check_positive("factor", factor, allow_zero=True)
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - m) * factor + m).clamp(0, 1)


def stratified_subset(y, fraction: float, *, seed: int = 0, min_per_class: int = 1) -> torch.Tensor:
    """Sorted indices of a seeded subset keeping ``max(min_per_class, round(fraction * n_c))``
    examples of each class (capped at ``n_c``): the 1% / 10% low-data regimes."""
    y = _labels(y)
    check_in_range("fraction", fraction, 0.0, 1.0, lo_open=True)
    check_int("min_per_class", min_per_class, min_value=0)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    keep = []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        k = min(len(idx), max(min_per_class, int(round(fraction * len(idx)))))
        keep.append(idx[torch.randperm(len(idx), generator=g)[:k]])
    return torch.sort(torch.cat(keep)).values if keep else torch.zeros(0, dtype=torch.int64)


def random_crop_flip(x, *, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """The standard CIFAR training augmentation on a batch: zero-pad by ``padding``, take a random
    crop of the original size per image, and mirror each image with probability 1/2."""
    x = _images(x)
    p = check_int("padding", padding, min_value=0)
    N, C, H, W = x.shape
    xp = F.pad(x, (p, p, p, p))
    dy = torch.randint(0, 2 * p + 1, (N,), generator=generator)
    dx = torch.randint(0, 2 * p + 1, (N,), generator=generator)
    rows = (dy[:, None] + torch.arange(H)[None]).to(x.device)      # [N, H]
    cols = (dx[:, None] + torch.arange(W)[None]).to(x.device)      # [N, W]
    out = xp[torch.arange(N, device=x.device)[:, None, None, None], torch.arange(C, device=x.device)[None, :, None, None],
             rows[:, None, :, None], cols[:, None, None, :]]
    if flip:
        m = (torch.rand(N, generator=generator) < 0.5).to(x.device)
        out = torch.where(m[:, None, None, None], out.flip(-1), out)
    return out
