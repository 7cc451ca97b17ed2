"""Label noise, input perturbations, subsets and augmentation."""
import math

import pytest
import torch
from hypothesis import given, strategies as st

from ahtga.data import (CIFAR10_FLIPS, MNIST_FLIPS, asymmetric_label_noise, cifar100_flips, contrast,
                        gaussian_blur, gaussian_kernel1d, gaussian_noise, noise_transition_matrix,
                        random_crop_flip, stratified_subset, symmetric_label_noise)


@given(rate=st.sampled_from([0.0, 0.2, 0.4, 1.0]), seed=st.integers(0, 2**31 - 1), C=st.integers(2, 12))
def test_symmetric_noise_exact_rate_and_other_class(rate, seed, C):
    y = torch.arange(500) % C
    noisy, mask = symmetric_label_noise(y, rate, C, seed=seed)
    assert int(mask.sum()) == round(rate * 500)
    assert torch.equal(noisy != y, mask)                   # every flip lands on a different class
    assert int(noisy.min()) >= 0 and int(noisy.max()) < C


def test_symmetric_noise_is_uniform_over_other_classes():
    y = torch.zeros(20000, dtype=torch.long)
    noisy, mask = symmetric_label_noise(y, 0.4, 5, seed=0)
    counts = torch.bincount(noisy[mask], minlength=5).float()
    assert counts[0] == 0
    # each of the 4 other classes gets 1/4 of 8000 flips: binomial sd ~ 39; 5 sd tolerance
    assert (counts[1:] - 2000).abs().max() < 200
    assert torch.equal(symmetric_label_noise(y, 0.4, 5, seed=0)[0], noisy)


def test_asymmetric_noise_mappings():
    y = torch.arange(10).repeat(100)
    noisy, mask = asymmetric_label_noise(y, 0.4, CIFAR10_FLIPS, seed=3)
    T = noise_transition_matrix(y, noisy, 10)
    for c in range(10):
        if c in CIFAR10_FLIPS:
            assert T[c, c] == pytest.approx(0.6) and T[c, CIFAR10_FLIPS[c]] == pytest.approx(0.4)
        else:
            assert T[c, c] == 1.0
    assert int(mask.sum()) == 5 * 40
    assert MNIST_FLIPS[2] == 7 and MNIST_FLIPS[5] == 6 and MNIST_FLIPS[6] == 5
    with pytest.raises(ValueError, match="`mapping`"):
        asymmetric_label_noise(y, 0.2, {1: 1})
    with pytest.raises(ValueError, match="`rate`"):
        asymmetric_label_noise(y, 1.5, CIFAR10_FLIPS)


def test_cifar100_flips_cycle_within_superclass():
    fine = torch.arange(10)
    coarse = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    m = cifar100_flips(fine, coarse)
    assert m == {0: 2, 2: 4, 4: 6, 6: 8, 8: 0, 1: 3, 3: 5, 5: 7, 7: 9, 9: 1}


def test_label_noise_argument_errors():
    with pytest.raises(TypeError, match="`y`"):
        symmetric_label_noise(torch.rand(5), 0.2, 3)
    with pytest.raises(ValueError, match="`num_classes`=3 but `y` holds label 4"):
        symmetric_label_noise(torch.tensor([4, 0]), 0.2, 3)


def test_gaussian_noise_statistics():
    x = torch.full((4, 3, 16, 16), 0.5)
    out = gaussian_noise(x, 0.1, seed=1, clip=False)
    d = out - x
    assert abs(float(d.mean())) < 0.01 and float(d.std()) == pytest.approx(0.1, rel=0.05)
    assert float(gaussian_noise(x, 2.0, seed=1).max()) <= 1.0
    with pytest.raises(ValueError, match="`sigma`"):
        gaussian_noise(x, -1.0)


def test_blur_kernel_and_properties():
    k = gaussian_kernel1d(1.0)
    assert len(k) == 7 and float(k.sum()) == pytest.approx(1.0)
    assert float(k[4] / k[3]) == pytest.approx(math.exp(-0.5), rel=1e-6)
    x = torch.zeros(1, 1, 15, 15)
    x[0, 0, 7, 7] = 1.0
    out = gaussian_blur(x, 1.0)
    assert torch.allclose(out[0, 0, 4:11, 4:11], torch.outer(k, k), atol=1e-7)   # impulse response
    const = torch.full((2, 3, 9, 9), 0.3)
    assert torch.allclose(gaussian_blur(const, 2.0), const, atol=1e-6)        # constants unchanged
    img = torch.rand(2, 3, 20, 20, generator=torch.Generator().manual_seed(0))
    assert float(gaussian_blur(img, 1.5).var()) < float(img.var())
    assert gaussian_blur(torch.rand(1, 1, 3, 3), 3.0).shape == (1, 1, 3, 3)   # radius > size: replicate pad


def test_contrast():
    img = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    low = contrast(img, 0.5)
    m = img.mean(dim=(1, 2, 3), keepdim=True)
    assert torch.allclose(low - m, 0.5 * (img - m), atol=1e-6)
    assert torch.allclose(contrast(img, 0.0), m.expand_as(img))
    assert torch.allclose(contrast(img, 1.0), img)


def test_stratified_subset():
    y = torch.cat([torch.zeros(1000), torch.ones(300), torch.full((50,), 2)]).long()
    idx = stratified_subset(y, 0.01, seed=0)
    assert torch.bincount(y[idx]).tolist() == [10, 3, 1]                        # min_per_class=1
    idx10 = stratified_subset(y, 0.1, seed=0)
    assert torch.bincount(y[idx10]).tolist() == [100, 30, 5]
    assert torch.equal(idx10, stratified_subset(y, 0.1, seed=0))
    assert not torch.equal(idx10, stratified_subset(y, 0.1, seed=1))
    assert torch.equal(idx10, torch.unique(idx10))                               # sorted, no repeats
    with pytest.raises(ValueError, match="`fraction`"):
        stratified_subset(y, 0.0)


def test_random_crop_flip():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6)
    g = torch.Generator().manual_seed(0)
    out = random_crop_flip(x, padding=0, flip=False, generator=g)
    assert torch.equal(out, x)
    out = random_crop_flip(x, padding=2, flip=True, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    # every output image is a shifted (possibly mirrored) window of the zero-padded input
    xp = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        ok = any(torch.equal(out[i, 0], w) or torch.equal(out[i, 0], w.flip(-1))
                 for dy in range(5) for dx in range(5) for w in [xp[i, 0, dy:dy + 6, dx:dx + 6]])
        assert ok
