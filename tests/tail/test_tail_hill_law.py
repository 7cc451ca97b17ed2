"""The Hill law on exact Pareto data: k H ~ Gamma(k, rate alpha)."""
import numpy as np
import pytest
import torch

from ahtga.tail import hill


@pytest.mark.parametrize("alpha,k", [(1.5, 10), (1.5, 50), (0.8, 20), (2.5, 100)])
def test_hill_mean_and_variance_on_pareto(alpha, k):
    reps, n = 4000, 400
    rng = np.random.default_rng(1000 + k)
    x = torch.as_tensor((1.0 - rng.random((reps, n))) ** (-1.0 / alpha))
    a = hill(x, k).numpy()
    mean_th = k * alpha / (k - 1)
    var_th = k * k * alpha ** 2 / ((k - 1) ** 2 * (k - 2))
    se_mean = np.sqrt(var_th / reps)
    assert abs(a.mean() - mean_th) < 4 * se_mean, (a.mean(), mean_th)
    # the sample variance of an (approximately inverse-gamma) variable: 20 % band at 4000 reps
    assert a.var(ddof=1) == pytest.approx(var_th, rel=0.2)
    # threshold at x_(k) instead would give E H = (k-1)/(k alpha): the k-th-largest bug
    wrong = k / (k - 1) * mean_th
    assert abs(a.mean() - wrong) > 4 * se_mean or k >= 100
