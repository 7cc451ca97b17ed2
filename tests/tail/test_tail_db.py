"""Double bootstrap: vectorised resampler against a naive reference, corrections, known point."""
import math
import warnings

import numpy as np
import pytest
import scipy.stats
import torch

from ahtga.tail import TailWarning, double_bootstrap, hill
import importlib
_stage_curve = importlib.import_module("ahtga.tail.double_bootstrap")._stage_curve
from bench.bench_tail import naive_curve, naive_double_bootstrap


def _desc_logs(x):
    logs = torch.sort(torch.log(torch.as_tensor(x, dtype=torch.float64)), descending=True).values
    logs = logs - logs[0]
    return torch.cat([logs, logs[-1:]])


@pytest.mark.parametrize("data,m", [("t2", 120), ("grid", 30)])
def test_bootstrap_curve_matches_naive_expectation(data, m):
    """Q(k) averaged over many resamples: vectorised and naive estimate the same expectation
    (z-scores against the Monte Carlo standard error of the difference)."""
    rng = np.random.default_rng(3)
    x = np.abs(rng.standard_t(2.0, 300)) + 1e-3 if data == "t2" else np.arange(1.0, 41.0)
    B = 3000
    adaptive = False
    gen = torch.Generator().manual_seed(5)
    fast, _ = _stage_curve(_desc_logs(x), m, B, adaptive, gen)
    desc = np.sort(x)[::-1]
    # per-k standard error from naive resamples run in batches
    batches = np.stack([naive_curve(desc, m, B // 10, rng) for _ in range(10)])
    slow = batches.mean(0)
    se = batches.std(0, ddof=1) / np.sqrt(10) * np.sqrt(2)       # se of the difference
    z = (fast - slow) / np.maximum(se, 1e-300)
    ks = np.arange(2, m - 1)                                      # k >= 2 as in the search
    assert np.mean(np.abs(z[ks - 1]) < 3.5) > 0.97, np.abs(z).max()
    assert abs(np.mean(z[ks - 1])) < 1.0


def test_k_and_alpha_distribution_match_naive_over_seeds():
    x = np.abs(np.random.default_rng(4).standard_t(1.5, 1500))
    fast = [double_bootstrap(x, n_boot=100, seed=s) for s in range(40)]
    slow = [naive_double_bootstrap(x, n_boot=100, rng=100 + s) for s in range(40)]
    fa, sa = np.array([r.alpha for r in fast]), np.array([r["alpha"] for r in slow])
    fk, sk = np.array([r.k for r in fast]), np.array([r["k"] for r in slow])
    assert scipy.stats.ks_2samp(fa, sa).pvalue > 0.01
    assert scipy.stats.ks_2samp(fk, sk).pvalue > 0.01
    assert abs(fa.mean() - sa.mean()) < 3 * np.sqrt(fa.var() / 40 + sa.var() / 40) + 1e-9
    assert {r.n1 for r in fast} == {r["n1"] for r in slow}


def test_sqrt_and_paper_corrections():
    x = np.abs(np.random.default_rng(5).standard_cauchy(3000))
    p = double_bootstrap(x, n_boot=60, seed=1)
    q = double_bootstrap(x, n_boot=60, seed=1, correction="sqrt")
    assert (p.k1, p.k2) == (q.k1, q.k2)                   # same resamples, same stages
    assert q.correction_factor == pytest.approx(math.sqrt(p.correction_factor), rel=1e-12)
    lk1, ln1 = math.log(p.k1), math.log(p.n1)
    c = (lk1 ** 2 / (2 * ln1 - lk1) ** 2) ** ((ln1 - lk1) / ln1)
    assert p.correction_factor == pytest.approx(c, rel=1e-12)
    assert 0 < p.correction_factor < q.correction_factor < 1
    assert p.diagnostics["k_star_raw"] == pytest.approx(p.k1 ** 2 / p.k2 * c, rel=1e-12)
    assert p.rho == pytest.approx(lk1 / (2 * lk1 - 2 * ln1)) and p.rho < 0
    assert p.n1 == math.floor(3000 ** 0.9) and p.n2 == p.n1 ** 2 // 3000
    assert p.diagnostics["mse1"].shape == (p.n1 - 1,)


def test_seeding_and_generator():
    x = np.abs(np.random.default_rng(6).standard_cauchy(500))
    a = double_bootstrap(x, n_boot=40, seed=3)
    b = double_bootstrap(x, n_boot=40, generator=torch.Generator().manual_seed(3))
    assert (a.k, a.alpha) == (b.k, b.alpha)
    np.testing.assert_array_equal(a.diagnostics["mse1"], b.diagnostics["mse1"])


def test_small_n_and_adaptive_variant():
    x = np.abs(np.random.default_rng(8).standard_cauchy(64))
    r = double_bootstrap(x, n_boot=200, seed=0)
    assert 1 <= r.k <= 63 and math.isfinite(r.alpha)
    # adaptive equals full whenever the search range reaches n_s (small n)
    a = double_bootstrap(x, n_boot=200, seed=0, k_search="adaptive")
    assert (a.k, a.alpha) == (r.k, r.alpha)


def _fake_stages(monkeypatch, pairs):
    """Replace the stage search: successive calls return curves with their minimum at the
    given k (entry j of a curve is k = j+1), as (curve, k_min)."""
    import importlib
    dbm = importlib.import_module("ahtga.tail.double_bootstrap")
    ks = iter(pairs)
    calls = []

    def fake(logs, m, *a, **kw):
        k = next(ks)
        calls.append(m)
        return np.abs(np.arange(1.0, m) - k), k
    monkeypatch.setattr(dbm, "_stage_curve", fake)
    return dbm, calls


@pytest.mark.parametrize("pairs,expect,match", [
    ((3, 2), 2, "clamped to k=2"),                 # k1^2/k2 * c = 0.14: never below 2
    (("n1-1", 2), 399, "clamped to k=399"),        # far above n-1
])
def test_k_star_clamped_into_2_to_n_minus_1(monkeypatch, pairs, expect, match):
    x = (1 - np.random.default_rng(9).random(400)) ** (-1 / 1.5)
    n1 = math.floor(400 ** 0.9)
    pairs = tuple(n1 - 1 if p == "n1-1" else p for p in pairs)
    dbm, _ = _fake_stages(monkeypatch, pairs)
    with pytest.warns(TailWarning, match=match):
        r = dbm.double_bootstrap(x, n_boot=50, seed=0)
    assert r.k == expect and r.diagnostics["clamped"] and r.diagnostics["redraws"] == 0


def test_k_star_at_a_bound_warns_without_clamping(monkeypatch):
    x = (1 - np.random.default_rng(9).random(400)) ** (-1 / 1.5)
    dbm, _ = _fake_stages(monkeypatch, (6, 2))        # k* = 36 c / 2 = 2.09 with n1 = 219
    with pytest.warns(TailWarning, match="k\\* = 2 is at a bound"):
        r = dbm.double_bootstrap(x, n_boot=50, seed=0)
    assert r.k == 2 and not r.diagnostics["clamped"]


def test_k2_not_below_k1_redraws_then_falls_back(monkeypatch):
    x = (1 - np.random.default_rng(9).random(400)) ** (-1 / 1.5)
    # every draw: k1 = 20, k2 = 25 (a false minimum) -> 3 redraws, then floor(sqrt(400)) = 20
    dbm, calls = _fake_stages(monkeypatch, (20, 25) * 4)
    with pytest.warns(TailWarning, match="k2=25 is not below the first-stage k1=20 after 3 redraw"):
        r = dbm.double_bootstrap(x, n_boot=50, seed=0, max_redraws=3)
    assert len(calls) == 8 and r.diagnostics["redraws"] == 3 and r.diagnostics["fallback"]
    assert r.k == 20 and r.alpha == pytest.approx(float(hill(x, 20)))
    # the search start moves up by int(0.005 n) = 2 per redraw, as in tail-estimation
    assert r.diagnostics["k_lo"] == 2 + 3 * 2
    # a redraw that succeeds: the second draw has k2 < k1 and is used
    dbm, calls = _fake_stages(monkeypatch, (20, 25, 30, 12))
    r = dbm.double_bootstrap(x, n_boot=50, seed=0)
    assert (r.k1, r.k2, r.diagnostics["redraws"], r.diagnostics["fallback"]) == (30, 12, 1, False)


def test_redraws_are_seeded_and_counted_on_real_data():
    """Small samples often give k2 >= k1: redraws happen, are reproducible from the seed, and
    k* never drops below 2."""
    rng = np.random.default_rng(11)
    seen = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TailWarning)
        for s in range(30):
            x = np.abs(rng.standard_cauchy(50)) + 1e-9
            a = double_bootstrap(x, n_boot=100, seed=s)
            b = double_bootstrap(x, n_boot=100, seed=s)
            assert (a.k, a.alpha, a.diagnostics["redraws"]) == (b.k, b.alpha, b.diagnostics["redraws"])
            assert a.k >= 2 and (a.k2 < a.k1 or a.diagnostics["fallback"])
            seen += a.diagnostics["redraws"] > 0
    assert seen >= 3


def test_all_equal_and_ties():
    with pytest.warns(TailWarning, match="no tail"):
        r = double_bootstrap(np.full(50, 3.0), n_boot=20, seed=0)
    assert math.isinf(r.alpha)


@pytest.mark.slow
def test_known_point_stable_1p5_sqrt_variant():
    """|symmetric stable| alpha = 1.5, n = 1e5: REFERENCES.md lists about 1.70 for the
    sqrt-corrected double bootstrap (tail-estimation).  Cheap version: 100 resamples."""
    from sim.stable import stable_rvs
    x = np.abs(stable_rvs(1.5, 0.0, size=100_000, parameterization="S1", rng=2024))
    r = double_bootstrap(x, n_boot=100, seed=0, correction="sqrt", n1=int(1e5 * 0.5 ** 0.5))
    assert 1.62 < r.alpha < 1.78, r
    p = double_bootstrap(x, n_boot=100, seed=0, correction="sqrt")     # default n1 = n^0.9
    assert 1.62 < p.alpha < 1.78, p
