import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from ahtga.control import (ExactExponent, direction_coefficients, median, sign_coefficients,
                           transform_direction, transform_sign)
from ahtga.tail import hill

seeds = st.integers(0, 2**32 - 1)


def _pareto(alpha, n, seed):
    """Classical Pareto(alpha, x_m = 1): numpy's pareto() is Lomax, shifted by 1."""
    return torch.from_numpy(np.random.default_rng(seed).pareto(alpha, n) + 1.0)


def test_median_convention():
    assert float(median(torch.tensor([3.0, 1.0, 2.0, 10.0]))) == 2.5
    assert float(median(torch.tensor([3.0, 1.0, 2.0]))) == 2.0


def test_coefficients_by_hand():
    x = torch.tensor([1.0, 2.0, 4.0, 0.0], dtype=torch.float64)   # median 1.5
    s = direction_coefficients(x, 0.5, eps=0.0)
    want = torch.tensor([(1 / 1.5) ** 0.5, (2 / 1.5) ** 0.5, (4 / 1.5) ** 0.5, 0.0], dtype=torch.float64)
    torch.testing.assert_close(s, want, rtol=1e-14, atol=0)
    c = sign_coefficients(x, 0.5, eps=0.0)
    torch.testing.assert_close(c, x * want, rtol=1e-14, atol=0)
    assert direction_coefficients(x.float(), 0.5).dtype == torch.float32
    assert direction_coefficients(x, 0.0, eps=0.0).tolist() == [1.0, 1.0, 1.0, 0.0]


@given(seed=seeds, gamma=st.floats(-0.9, 3.0), scale=st.floats(1e-6, 1e6))
def test_direction_coefficients_scale_and_permutation_invariant(seed, gamma, scale):
    g = torch.Generator().manual_seed(seed % 2**31)
    x = torch.rand(33, generator=g, dtype=torch.float64) + 0.01
    s = direction_coefficients(x, gamma, eps=0.0)
    torch.testing.assert_close(direction_coefficients(x * scale, gamma, eps=0.0), s, rtol=1e-9, atol=0)
    perm = torch.randperm(33, generator=g)
    torch.testing.assert_close(direction_coefficients(x[perm], gamma, eps=0.0), s[perm])


@given(seed=seeds, gamma=st.floats(-0.95, 4.0))
def test_transformed_norm_is_increasing(seed, gamma):
    x = torch.sort(_pareto(1.5, 64, seed)).values
    y = x * direction_coefficients(x, gamma)
    assert bool((y[1:] >= y[:-1]).all())


def test_no_overflow_with_extreme_exponent():
    x = torch.tensor([1e-30, 1.0, 1.0, 1e30])
    for gamma in (50.0, -0.999):
        for c in (direction_coefficients(x, gamma) * x, sign_coefficients(x, gamma)):
            assert bool(torch.isfinite(c).all()) and bool(torch.isfinite(c.sum()))
            assert bool((c >= 0).all())


@pytest.mark.parametrize("call, match", [
    (lambda: direction_coefficients(torch.tensor([1.0, -1.0]), 0.1), r"`norms` must be >= 0"),
    (lambda: direction_coefficients(torch.tensor([1.0, float("nan")]), 0.1), r"`norms` contains 1 NaN"),
    (lambda: direction_coefficients(torch.ones(2, 2), 0.1), r"`norms` must be a non-empty 1-d"),
    (lambda: direction_coefficients(torch.ones(3), -1.0), r"`gamma` must lie in \(-1.0, inf\)"),
    (lambda: sign_coefficients(torch.ones(3), 0.0, eps=-1.0), r"`eps` must be finite and >= 0"),
    (lambda: sign_coefficients(torch.ones(3), 0.0, scale=0.0), r"`scale` must be finite and > 0"),
    (lambda: direction_coefficients(torch.tensor([0.0, 0.0, 1.0]), 1.0, eps=0.0), r"median .* is 0"),
    (lambda: transform_direction(torch.ones(3), 0.0), r"`G` must have shape \[B, d\]"),
])
def test_transform_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_functional_forms():
    g = torch.Generator().manual_seed(0)
    G = torch.randn(16, 40, generator=g, dtype=torch.float64) * (torch.rand(16, 1, generator=g,
                                                                           dtype=torch.float64) * 5)
    G[3, :7] = 0.0
    n = G.norm(dim=1)
    m = median(n)
    s = (n / (1e-8 + m)) ** 0.7
    torch.testing.assert_close(transform_direction(G, 0.7), G * s[:, None])
    torch.testing.assert_close(transform_sign(G, 0.7), torch.sign(G) * (n * s)[:, None])
    # gamma = 0: direction form is the identity, so the batch gradient is the plain mean
    torch.testing.assert_close(transform_direction(G, 0.0).mean(0), G.mean(0), rtol=1e-14, atol=0)
    # norms of the sign form: ||g|| s sqrt(nnz); normalised: divided by sqrt(d)
    T = transform_sign(G, 0.7)
    nnz = (G != 0).sum(1).double()
    torch.testing.assert_close(T.norm(dim=1), n * s * nnz.sqrt())
    Tn = transform_sign(G, 0.7, normalize=True)
    torch.testing.assert_close(Tn.norm(dim=1), n * s * (nnz / 40).sqrt())
    dense = torch.arange(16) != 3
    torch.testing.assert_close(Tn.norm(dim=1)[dense], (n * s)[dense])


# --- tail index of the transformed norms -------------------------------------------------
# On exact Pareto(alpha) norms X, Y = X (X/m)^gamma = X^(1+gamma) m^(-gamma) is exactly
# Pareto(alpha/(1+gamma)); Hill at k = 4000 of n = 40000 has relative sd 1/sqrt(k) = 1.6%,
# so the band below (8% relative) is 5 sd.
BAND = 0.08


@given(seed=seeds, alpha=st.floats(0.8, 3.0), gamma=st.floats(-0.6, 2.0))
def test_transformed_norms_have_tail_index_alpha_over_one_plus_gamma(seed, alpha, gamma):
    x = _pareto(alpha, 40_000, seed)
    y = x * direction_coefficients(x, gamma)
    a_y = float(hill(y, 4000))
    assert a_y == pytest.approx(alpha / (1 + gamma), rel=BAND)
    # Hill is equivariant under this power map: exactly (up to rounding) alpha_hat_X/(1+gamma)
    assert a_y == pytest.approx(float(hill(x, 4000)) / (1 + gamma), rel=1e-9)
    # the sign coefficients c_i = ||g_i|| s_i are these transformed norms
    torch.testing.assert_close(sign_coefficients(x, gamma), y)


@pytest.mark.parametrize("alpha, alpha_star", [(2.6, 1.5), (1.1, 1.8), (1.5, 1.5)])
def test_exact_rule_reaches_target(alpha, alpha_star):
    # estimate alpha on one sample, transform an independent one: its tail index is alpha*
    a_hat = float(hill(_pareto(alpha, 40_000, 1), 4000))
    gamma = ExactExponent()(a_hat, alpha_star)
    x = _pareto(alpha, 40_000, 2)
    a_y = float(hill(x * direction_coefficients(x, gamma), 4000))
    assert a_y == pytest.approx(alpha_star, rel=BAND)
    assert math.isclose(gamma, alpha / alpha_star - 1, abs_tol=0.1 * alpha / alpha_star)
