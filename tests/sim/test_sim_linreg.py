"""Heavy-tailed SGD on linear regression: the Kesten root and a simulation."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from ahtga.tail import hill
from sim.linreg import log_h, simulate_sgd, tail_index_study, theoretical_tail_index


def _quad_root_d1(eta):
    """Independent check for d = b = 1: h(a) = E|1 - eta Z^2|^a by quadrature."""
    r = 1 / math.sqrt(eta)

    def h(a):
        f = lambda z: abs(1 - eta * z * z) ** a * stats.norm.pdf(z)
        return 2 * (integrate.quad(f, 0, r)[0] + integrate.quad(f, r, np.inf)[0])

    return optimize.brentq(lambda a: h(a) - 1, 0.2, 20)


def test_sim_linreg_root_matches_quadrature_and_reference():
    q = _quad_root_d1(0.8)
    assert q == pytest.approx(1.546, abs=0.001)          # REFERENCES.md (checked there)
    mc = theoretical_tail_index(0.8, n_mc=400_000, seed=1)
    assert mc == pytest.approx(q, abs=0.02)               # Monte Carlo error at m = 4e5


def test_sim_linreg_root_decreasing_in_eta_over_b():
    etas = [0.3, 0.5, 0.8, 1.0, 1.2]
    roots = [theoretical_tail_index(e, n_mc=100_000) for e in etas]
    assert all(a > b for a, b in zip(roots, roots[1:])), roots
    # larger batch at the same eta: lighter tail
    assert theoretical_tail_index(0.5, b=1, d=2) < theoretical_tail_index(0.5, b=4, d=2)
    # h is 1 at alpha = 0 and at the root
    r = theoretical_tail_index(0.8, n_mc=50_000, seed=3)
    assert abs(log_h(r, eta=0.8, n_mc=50_000, seed=3)) < 1e-8
    assert log_h(0.0, eta=0.8) == pytest.approx(0.0, abs=1e-12)


def test_sim_linreg_simulation_agrees_with_root():
    """50,000 chains x 250 steps (d = b = 1, eta = 0.8): Hill(k=500) on |x| is within 0.25 of
    the root 1.546 (sd of Hill ~ 1.55/sqrt(500) = 0.07; Hill reads ~1.59 at this k)."""
    x = simulate_sgd(0.8, n_chains=50_000, n_steps=250, seed=2)
    a_hat = float(hill(np.linalg.norm(x, axis=1), 500))
    assert abs(a_hat - 1.546) < 0.25
    # a smaller step gives a visibly lighter tail in simulation too (root 2.88 at eta = 0.5)
    x2 = simulate_sgd(0.5, n_chains=50_000, n_steps=250, seed=2)
    assert float(hill(np.linalg.norm(x2, axis=1), 500)) > a_hat + 0.6


def test_sim_linreg_errors():
    with pytest.raises(ValueError, match="`eta` too large"):
        theoretical_tail_index(3.0)
    with pytest.raises(ValueError, match="`b` must be >= 1"):
        theoretical_tail_index(0.5, b=0)
    with pytest.raises(ValueError, match="`eta` must be finite and > 0"):
        simulate_sgd(-0.1)
    assert theoretical_tail_index(0.01, n_mc=1000) == math.inf


def test_sim_linreg_study_reads_heavier_tails_for_larger_steps():
    rows = tail_index_study([0.5, 0.8, 1.1], n_chains=20_000, n_steps=150, n_mc=50_000, seed=4)
    roots = [r["root"] for r in rows]
    hills = [r["hill"] for r in rows]
    assert roots == sorted(roots, reverse=True) and hills == sorted(hills, reverse=True)
    for r in rows:   # Hill at k = sqrt(n) = 141: sd ~ root/12; bias small at this k
        assert abs(r["hill"] - r["root"]) < 0.35 * r["root"], r
        assert math.isfinite(r["hill_db"])
