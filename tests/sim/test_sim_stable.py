"""KS checks of the CMS sampler (numpy and torch) against scipy.stats.levy_stable.

Statistic: D = max over a grid of 100 probabilities p in [0.005, 0.995] of |F_n(x_p) - F(x_p)|,
where x_p are the sample quantiles of n = 20,000 draws and F is scipy's cdf (in the same
parameterisation, set on scipy's class attribute and restored by the fixture). D is at most
the full KS statistic, so by the Dvoretzky-Kiefer-Wolfowitz inequality (Massart's constant)
P(D > eps) <= 2 exp(-2 n eps^2); eps = 0.016 makes that <= 7e-5 per case. Seeds are fixed, so the
test is deterministic; the tolerance says how far from scipy's law a passing sampler can be.
Keeping the grid to 100 points keeps scipy's numerical cdf cheap (~15 ms a case).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import levy_stable

from sim.stable import stable_rvs, stable_rvs_torch

N = 20_000
EPS = 0.016
PROBS = np.linspace(0.005, 0.995, 100)
ALPHAS = [0.5, 0.8, 1.0, 1.2, 1.5, 1.9, 1.99, 2.0]
BETAS = [-1.0, 0.0, 0.5, 1.0]


@pytest.fixture
def scipy_param():
    """Set scipy's class-level parameterisation for one test and restore it afterwards."""
    old = levy_stable.parameterization

    def set_(p):
        levy_stable.parameterization = p

    yield set_
    levy_stable.parameterization = old


def _grid_ks(x: np.ndarray, cdf) -> float:
    xs = np.sort(x)
    q = np.quantile(xs, PROBS)
    emp = np.searchsorted(xs, q, side="right") / xs.size
    return float(np.max(np.abs(emp - cdf(q))))


def _cell_seed(alpha, beta, param, backend):
    return int(1000 * alpha) * 7919 + int(10 * (beta + 1)) * 31 + (param == "S0") * 3 + (backend == "torch")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("param", ["S0", "S1"])
@pytest.mark.parametrize("alpha", ALPHAS)
def test_sim_stable_ks_against_scipy(scipy_param, backend, param, alpha):
    scipy_param(param)
    for i, beta in enumerate(BETAS):
        # Alternate a non-trivial scale/location with the standard law.
        scale, loc = (1.7, 0.3) if i % 2 else (1.0, 0.0)
        seed = _cell_seed(alpha, beta, param, backend)
        if backend == "numpy":
            x = stable_rvs(alpha, beta, size=N, parameterization=param, scale=scale, loc=loc, rng=seed)
        else:
            g = torch.Generator().manual_seed(seed)
            x = stable_rvs_torch(alpha, beta, size=N, parameterization=param, scale=scale, loc=loc,
                                 generator=g).numpy()
        assert np.isfinite(x).all()
        D = _grid_ks(x, lambda q: levy_stable.cdf(q, alpha, beta, loc=loc, scale=scale))
        assert D < EPS, f"alpha={alpha} beta={beta} {param} {backend}: D={D:.4f}"


def test_sim_stable_parameterisations_differ_where_they_should(scipy_param):
    """The test above has power: S0 draws are rejected by the S1 cdf when beta tan(pi a/2) is large."""
    scipy_param("S1")
    x = stable_rvs(1.5, 1.0, size=N, parameterization="S0", rng=5)
    D = _grid_ks(x, lambda q: levy_stable.cdf(q, 1.5, 1.0))
    assert D > 5 * EPS


def test_sim_stable_alpha2_is_normal_with_sd_sqrt2():
    x = stable_rvs(2.0, 0.7, size=200_000, parameterization="S1", scale=0.5, rng=3)
    assert abs(x.mean()) < 0.01
    assert abs(x.std() - 0.5 * math.sqrt(2)) < 0.01


def test_sim_stable_symmetric_tail_constant():
    """P(|X| > t) ~ 2 Gamma(a) sin(pi a/2)/pi t^-a for the standard symmetric law."""
    a = 1.2
    x = np.abs(stable_rvs(a, 0.0, size=400_000, parameterization="S1", rng=11))
    t = 60.0
    c = 2 * math.gamma(a) * math.sin(math.pi * a / 2) / math.pi
    ratio = (x > t).mean() / (c * t ** -a)
    assert abs(ratio - 1) < 0.1  # ~4 sd of the count (~1,600 exceedances) plus O(t^-a) correction


def test_sim_stable_numpy_seed_reproducible_and_torch_device_dtype():
    a = stable_rvs(1.3, 0.2, size=50, parameterization="S0", rng=9)
    b = stable_rvs(1.3, 0.2, size=50, parameterization="S0", rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    assert np.shape(stable_rvs(1.3, 0.2, size=(), parameterization="S0", rng=9)) == ()
    assert stable_rvs(1.0, 0.5, size=(3, 2), parameterization="S1", rng=9).shape == (3, 2)
    t = stable_rvs_torch(1.3, 0.2, size=(4, 5), parameterization="S1", dtype=torch.float32,
                         generator=torch.Generator().manual_seed(0))
    assert t.shape == (4, 5) and t.dtype == torch.float32 and torch.isfinite(t).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=0.0), "`alpha` must lie in"),
    (dict(alpha=2.1), "`alpha` must lie in"),
    (dict(beta=1.5), "`beta` must lie in"),
    (dict(scale=-1.0), "`scale` must be finite and > 0"),
    (dict(parameterization="S2"), "`parameterization` must be one of"),
])
@pytest.mark.parametrize("fn", [stable_rvs, stable_rvs_torch])
def test_sim_stable_bad_input(fn, kwargs, match):
    args = dict(alpha=1.5, beta=0.0, size=10, parameterization="S1") | kwargs
    with pytest.raises(ValueError, match=match):
        fn(args.pop("alpha"), args.pop("beta"), **args)
