"""Synthetic sources: exact laws, tail indices of scalar draws and of gradient-vector norms."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ahtga.tail import hill
from sim.sources import gradient_vectors, law_rvs, pareto_rvs, true_tail_index

# DKW (Massart) bound for a full one-sample KS statistic: P(D > eps) <= 2 exp(-2 n eps^2).
def _dkw_eps(n, delta=1e-4):
    return math.sqrt(math.log(2 / delta) / (2 * n))


def test_sim_sources_pareto_exact_law_and_hill_mean():
    """|Pareto| is exact: KS against the cdf, and the Hill mean is k alpha/(k-1) (threshold x_(k+1))."""
    alpha, k, reps = 1.5, 10, 4000
    x = pareto_rvs(alpha, size=(reps, 200), rng=1)
    D = stats.kstest(x[0:50].ravel(), lambda t: 1 - t ** -alpha).statistic
    assert D < _dkw_eps(10_000)
    h = hill(x, k).numpy()
    se = alpha * k / (k - 1) * math.sqrt(1 / (k - 2)) / math.sqrt(reps)
    assert abs(h.mean() - k * alpha / (k - 1)) < 4 * se          # 1.6667 vs the x_(k) bug's 1.5
    assert abs(h.mean() - alpha) > 10 * se


@pytest.mark.parametrize("law", ["stable", "pareto", "student_t"])
def test_sim_sources_signed_and_abs_share_one_draw(law):
    s = law_rvs(law, 1.3, size=1000, signed=True, rng=4)
    a = law_rvs(law, 1.3, size=1000, signed=False, rng=4)
    np.testing.assert_array_equal(np.abs(s), a)
    assert (s < 0).mean() == pytest.approx(0.5, abs=0.06)


def test_sim_sources_student_t_law():
    x = law_rvs("student_t", 0.7, size=20_000, rng=3)
    assert stats.kstest(x, lambda q: 2 * stats.t.cdf(q, 0.7) - 1).statistic < _dkw_eps(20_000)


def test_sim_sources_true_tail_index():
    assert true_tail_index("stable", 1.5) == 1.5
    assert true_tail_index("stable", 2.0) == math.inf
    assert true_tail_index("pareto", 2.0) == 2.0
    assert true_tail_index("gaussian") == math.inf
    with pytest.raises(ValueError, match="`law` must be one of"):
        true_tail_index("cauchy", 1.0)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("noise", ["stable", "student_t"])
def test_sim_sources_gradient_norms_have_tail_index_alpha(noise, backend):
    """Norms of mean + iid heavy noise in R^10: Hill(k=200) averaged over 5 seeds reads alpha.

    Each Hill estimate has sd ~ alpha/sqrt(k) = 0.09; the mean of 5 has sd 0.04; the tolerance
    0.2 also allows the second-order bias at this k (n = 20,000 per seed).
    """
    alpha, d = 1.3, 10
    est = []
    for seed in range(5):
        g = gradient_vectors(20_000, d, noise=noise, alpha=alpha, mean=np.linspace(-1, 1, d),
                             backend=backend, seed=seed)
        nrm = np.linalg.norm(np.asarray(g), axis=1)
        est.append(float(hill(nrm, 200)))
    assert abs(np.mean(est) - alpha) < 0.2, est


def test_sim_sources_gradient_norm_tail_constant_is_d_times_coordinate():
    """One big jump: P(||X|| > t) ~ d * 2 Gamma(a) sin(pi a/2)/pi t^-a for iid symmetric stable."""
    a, d, n = 1.2, 8, 100_000
    g = gradient_vectors(n, d, noise="stable", alpha=a, seed=7)
    t = 150.0
    c = 2 * math.gamma(a) * math.sin(math.pi * a / 2) / math.pi
    ratio = (np.linalg.norm(g, axis=1) > t).mean() / (d * c * t ** -a)
    assert abs(ratio - 1) < 0.12      # ~1,900 exceedances: 4 sd is 0.09, plus O(t^-a) correction


def test_sim_sources_gaussian_vectors_and_torch_chi2():
    g = gradient_vectors(50_000, 3, noise="gaussian", mean=[1.0, 0.0, -1.0], scale=2.0, seed=1)
    np.testing.assert_allclose(g.mean(0), [1, 0, -1], atol=0.05)
    np.testing.assert_allclose(g.std(0), [2, 2, 2], atol=0.05)
    # torch Student-t (own chi2 sampler, shape < 1 and >= 1 branches)
    for df in (0.8, 5.0):
        t = gradient_vectors(20_000, 1, noise="student_t", alpha=df, backend="torch", seed=2)
        assert isinstance(t, torch.Tensor)
        D = stats.kstest(t.numpy().ravel(), stats.t(df).cdf).statistic
        assert D < _dkw_eps(20_000), (df, D)


@pytest.mark.parametrize("kwargs, match", [
    (dict(noise="cauchy"), "`noise` must be one of"),
    (dict(n=0), "`n` must be >= 1"),
    (dict(alpha=-1.0), "`alpha` must be finite and > 0"),
    (dict(backend="jax"), "`backend` must be one of"),
])
def test_sim_sources_bad_input(kwargs, match):
    args = dict(n=10, d=2) | kwargs
    with pytest.raises(ValueError, match=match):
        gradient_vectors(args.pop("n"), args.pop("d"), **args)
