"""Double bootstrap, k_search="grid": same distribution of estimates as the full search,
grid construction, the torch (accelerator) random path, thread independence."""
import importlib
import math

import numpy as np
import pytest
import scipy.stats
import torch

from ahtga.tail import double_bootstrap

dbm = importlib.import_module("ahtga.tail.double_bootstrap")


def _abs_t(df, n, seed):
    return np.abs(np.random.default_rng(seed).standard_t(df, n))


def _desc_logs(x):
    logs = torch.sort(torch.log(torch.as_tensor(x, dtype=torch.float64)), descending=True).values
    logs = logs - logs[0]
    return torch.cat([logs, logs[-1:]])


def _cums(logs):
    z = logs.new_zeros(1)
    return torch.cat([z, torch.cumsum(logs, 0)]), torch.cat([z, torch.cumsum(logs * logs, 0)])


@pytest.mark.parametrize("m", [4096, 5000, 31622])
def test_grid_points_are_spaced_and_in_range(m):
    b = dbm._grid_points(dbm._GRID_EXACT, m)
    assert b[0] >= dbm._GRID_EXACT + 1 and b[-1] <= m - 1
    assert np.all(np.diff(b) >= 2)
    # geometric: consecutive ratios close to the grid ratio once the steps are large
    big = b[:-1] >= 2000
    r = b[1:][big] / b[:-1][big]
    assert np.all(np.abs(r - dbm._GRID_RATIO) < 0.01)


def test_small_resamples_fall_back_to_the_full_search_bit_for_bit():
    x = _abs_t(1.5, 3000, 0)                    # n1 = 1347 < _GRID_MIN_M: both stages exact
    a = double_bootstrap(x, n_boot=50, seed=4, k_search="grid")
    b = double_bootstrap(x, n_boot=50, seed=4, k_search="full")
    assert (a.alpha, a.k, a.k1, a.k2) == (b.alpha, b.k, b.k1, b.k2)
    np.testing.assert_array_equal(a.diagnostics["mse1"], b.diagnostics["mse1"])


def test_grid_and_full_give_the_same_distribution_of_estimates():
    """40 seeds per mode on |t_1.5| data with n1 = 6804 (grid path in stage 1): KS on alpha,
    k*, k1 and means within 3.5 standard errors."""
    x = _abs_t(1.5, 18_000, 11)
    runs = {mode: [double_bootstrap(x, n_boot=120, seed=s + 1000 * (mode == "grid"), k_search=mode)
                   for s in range(40)] for mode in ("full", "grid")}
    assert runs["grid"][0].n1 >= dbm._GRID_MIN_M
    for key in ("alpha", "k", "k1"):
        f = np.array([getattr(r, key) for r in runs["full"]], dtype=float)
        g = np.array([getattr(r, key) for r in runs["grid"]], dtype=float)
        assert scipy.stats.ks_2samp(f, g).pvalue > 0.01, key
        se = math.sqrt(f.var(ddof=1) / len(f) + g.var(ddof=1) / len(g))
        assert abs(f.mean() - g.mean()) <= 3.5 * se + 1e-12, (key, f.mean(), g.mean(), se)


def test_coarse_curve_tracks_the_exact_curve_at_grid_points():
    """Q(k) from the coarse pass and from the exact search estimate the same expectation: with
    many resamples their log-ratio at the grid points is centred on 0 and small."""
    x = _abs_t(2.0, 20_000, 3)
    logs = _desc_logs(x)
    m = 6000
    gen = torch.Generator().manual_seed(2)
    coarse, _ = dbm._stage_curve_grid(logs, _cums(logs), m, 1500, gen)
    exact, _ = dbm._stage_curve(logs, m, 1500, False, torch.Generator().manual_seed(3))
    b = dbm._grid_points(dbm._GRID_EXACT, m)
    lr = np.log(coarse[b - 1] / exact[b - 1])
    assert np.all(np.isfinite(lr))
    assert abs(lr.mean()) < 0.05 and np.median(np.abs(lr)) < 0.1, (lr.mean(), np.abs(lr).max())
    # the exact head and the exact window are filled, the rest of the curve is NaN
    assert np.all(np.isfinite(coarse[:dbm._GRID_EXACT - 1]))
    assert np.isnan(coarse).sum() > m // 2


def test_grid_minimiser_lies_in_an_exact_window():
    """k1 is the minimiser over the exact values: the top range and the contiguous window
    around it (coarse values elsewhere are not candidates)."""
    x = _abs_t(1.5, 30_000, 5)
    r = double_bootstrap(x, n_boot=60, seed=0, k_search="grid")
    q1 = r.diagnostics["mse1"]
    assert q1.shape == (r.n1 - 1,)
    i = r.k1 - 1                                            # index of k1 in the curve
    finite = np.isfinite(q1)
    lo, hi = i, i
    while lo > 0 and finite[lo - 1]:
        lo -= 1
    while hi < len(q1) - 1 and finite[hi + 1]:
        hi += 1
    assert hi - lo >= 2                                     # a real window, not a lone grid point
    exact = np.concatenate([q1[1:dbm._GRID_EXACT - 1], q1[lo:hi + 1]])
    assert q1[i] == exact.min()


def test_torch_random_path_runs_and_agrees():
    """The non-CPU code path (torch generator draws, Marsaglia-Tsang gamma columns), exercised
    on the CPU: gamma moments, and a stage-1 minimiser close to the numpy path's."""
    gen = torch.Generator().manual_seed(0)
    shapes = torch.tensor([1.0, 2.5, 40.0, 3000.0], dtype=torch.float64)
    g = dbm._gamma_columns(shapes, 20_000, gen)
    assert g.shape == (20_000, 4) and bool((g > 0).all())
    np.testing.assert_allclose(g.mean(0).numpy(), shapes.numpy(), rtol=0.03)
    np.testing.assert_allclose(g.var(0).numpy(), shapes.numpy(), rtol=0.08)
    x = _abs_t(1.5, 20_000, 6)
    logs = _desc_logs(x)
    rng = dbm._Rng(torch.Generator().manual_seed(1), torch.device("cpu"), torch.float64)
    rng.np = None                                  # force the torch draws
    curve_t, k_t = dbm._stage_curve_grid(logs, _cums(logs), 7000, 200, rng)
    curve_n, k_n = dbm._stage_curve_grid(logs, _cums(logs), 7000, 200, torch.Generator().manual_seed(1))
    assert abs(math.log(k_t / k_n)) < 0.25, (k_t, k_n)
    both = np.isfinite(curve_t) & np.isfinite(curve_n)
    assert np.median(np.abs(np.log(curve_t[both] / curve_n[both]))) < 0.15


def test_result_does_not_depend_on_threads():
    """Stages run concurrently on two threads only when allowed; one stream per stage makes
    the result identical either way."""
    x = _abs_t(1.5, 60_000, 8)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = double_bootstrap(x, n_boot=300, seed=9, k_search="grid")
        torch.set_num_threads(1)
        b = double_bootstrap(x, n_boot=300, seed=9, k_search="grid")
    finally:
        torch.set_num_threads(before)
    assert 300 * a.n2 >= dbm._PARALLEL_MIN_WORK
    assert (a.alpha, a.k, a.k1, a.k2) == (b.alpha, b.k, b.k1, b.k2)
