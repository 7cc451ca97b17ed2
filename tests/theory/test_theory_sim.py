"""Simulation cross-checks at small size, plus checks that a wrong expectation is detected."""
from __future__ import annotations

import numpy as np
import pytest

import sim.theory_checks as S
from theory.registry import CHECKS

SIM = [e for e in CHECKS if e.kind == "simulation"]


@pytest.mark.parametrize("entry", SIM, ids=lambda e: e.check)
def test_simulation_check_small(entry):
    res = entry.function()(**entry.small)
    assert np.isfinite(res.measured) and np.isfinite(res.expected) and res.tolerance >= 0
    assert res.passed, (entry.check, res)


def test_every_sim_check_is_registered():
    registered = {e.check.rsplit(".", 1)[1] for e in SIM if e.check.startswith("sim.")}
    assert set(S.__all__) == registered
    import theory.simulations as X
    assert set(X.__all__) == {e.check.rsplit(".", 1)[1] for e in SIM if e.check.startswith("theory.simulations.")}


def test_transform_law_detects_wrong_gamma():
    # applying gamma = 0.5 but expecting the untransformed index must fail: the check has power
    res = S.check_transform_law_pareto(n=20_000, k=1_000, gamma=0.5)
    assert res.passed and abs(res.measured - 1.5) > res.tolerance


def test_hill_mean_differs_from_unbiased_alpha():
    # the k/(k-1) bias is resolved: the measured mean is far from alpha itself at k = 10
    res = S.check_hill_pareto_mean(reps=2_000)
    assert res.passed and abs(res.measured - 1.5) > 3 * res.tolerance / 4


def test_exit_time_simulation_seeded():
    a = S.check_exit_time_level(n_paths=200, seed=3)
    b = S.check_exit_time_level(n_paths=200, seed=3)
    assert a.measured == b.measured
