"""The issue-14 candidate study (sim.tail_candidates): its pieces compute what they claim."""
import math

import numpy as np
import pytest

from ahtga.tail import estimate
from sim.bias.cells import draw
from sim.tail_candidates import CHOSEN, candidates, fits, grid, spacings


def _logs(x):
    return np.sort(np.log(np.asarray(x, float)))[::-1]


@pytest.mark.parametrize("law,alpha,n,rep", [("pareto", 1.0, 32, 0), ("stable", 1.5, 512, 3),
                                             ("stable", 1.8, 1000, 1), ("frechet", 1.5, 1000, 2)])
def test_hill_lep_is_the_default_below_its_bootstrap_cap(law, alpha, n, rep):
    x = np.abs(draw(law, alpha, n, rep))
    a, k = candidates(_logs(x))["hill_lep"]
    ref = estimate(x, "hill_lepski")
    assert k == ref.k and a == pytest.approx(ref.alpha, rel=1e-12)


def test_regression_fits_match_polyfit():
    rng = np.random.default_rng(5)
    logs = _logs((1.0 - rng.random(400)) ** (-1 / 1.3))
    c = spacings(logs)
    i = np.arange(1, 400)
    U = i * (logs[:-1] - logs[1:])
    g = np.array([20, 77, 300])
    H, a1, s1, a2 = fits(c, g)
    for j, k in enumerate(g):
        s_ref, a_ref = np.polyfit(i[:k], U[:k], 1)
        assert H[j] == pytest.approx(U[:k].mean(), rel=1e-12)
        assert (a1[j], s1[j]) == pytest.approx((a_ref, s_ref), rel=1e-8)
        assert a2[j] == pytest.approx(np.polyfit(i[:k], U[:k], 2)[-1], rel=1e-6)


def _from_spacings(U):
    """Descending logs whose scaled spacings i (L_i - L_{i+1}) are exactly U."""
    i = np.arange(1, U.size + 1)
    return np.concatenate([[0.0], -np.cumsum(U / i)])


def test_trend_rule_on_noiseless_spacings():
    n, gamma = 10_000, 1 / 1.5
    i = np.arange(1, n)
    # no drift: the trend finds none (k = n - 1) and every Hill estimate agrees, so the Lepski
    # cap is the grid's last point; the estimate is (k-1)/(k gamma)
    c = candidates(_from_spacings(np.full(n - 1, gamma)), **CHOSEN)
    k_last = int(grid(n, 50)[-1])
    assert c["hill_trend"] == (pytest.approx((k_last - 1) / (k_last * gamma), rel=1e-9), k_last)
    # a linear drift E U_i = gamma (1 + beta i / n), beta = -5: the plug-in k is Hill's
    # asymptotic MSE optimum for rho = -1, (2 n^2 / beta^2)^(1/3) = 200
    beta = -5.0
    logs = _from_spacings(gamma * (1 + beta * i / n))
    c = candidates(logs, **CHOSEN)
    k_opt = round((2 * n * n / beta ** 2) ** (1 / 3))
    assert c["plug_h"][1] == k_opt == 200
    assert c["hill_trend"][1] == k_opt
    assert grid(n, 50)[0] == 50


def test_drees_kaufmann_without_drift_takes_the_whole_sample():
    """Constant spacings: every Hill estimate equals gamma, no max statistic exceeds r_n, so
    Drees-Kaufmann's rule (both rho choices) falls back to k = n - 1."""
    n, gamma = 2_000, 0.5
    c = candidates(_from_spacings(np.full(n - 1, gamma)), **CHOSEN)
    for name in ("dk1", "dk"):
        assert c[name] == (pytest.approx((n - 2) / ((n - 1) * gamma), rel=1e-9), n - 1)
