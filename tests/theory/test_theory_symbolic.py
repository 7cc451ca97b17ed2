"""Symbolic theory (statements 1-6): outputs compared with closed forms, and checks that can fail."""
from __future__ import annotations

import pytest
import sympy as sp

from theory import convergence, flatness, generalization, hill_pareto, stable_laws, transform
from theory._check import is_zero
from theory.registry import CHECKS


# --- statement 1 -------------------------------------------------------------------------
def test_stmt1_transformed_index_closed_form():
    d = transform.derive_transformed_survival()
    assert sp.simplify(d["index"] - transform.alpha / (1 + transform.gamma)) == 0
    # a wrong closed form is rejected
    assert not is_zero(d["index"] - transform.alpha / (1 - transform.gamma))


def test_stmt1_exact_exponent_and_overshoot_threshold():
    assert sp.simplify(transform.derive_exact_exponent() - (transform.alpha / transform.alpha_star - 1)) == 0
    thr = transform.derive_overshoot_threshold()
    for sols in thr.values():
        assert len(sols) == 1 and sp.simplify(sols[0] - 1 / (transform.c * transform.alpha_star)) == 0


@pytest.mark.parametrize("a,s,c1,c2,expected", [
    (3.0, 2.0, 0.6, 0.1, True),     # above: c |d| a* = 1.2 > 1 -> overshoot
    (3.0, 2.0, 0.4, 0.1, False),    # 0.8 < 1 -> no overshoot
    (1.5, 2.0, 0.1, 1.5, True),     # below: 1.5 * 0.5 * 2 = 1.5 > 1, and c2 d^2 = 0.375 < 1
    (1.5, 2.0, 0.1, 0.5, False),    # 0.5
    (0.5, 2.0, 0.1, 1.0, None),     # c2 d^2 = 2.25 >= 1: transform not increasing
])
def test_stmt1_overshoot_examples(a, s, c1, c2, expected):
    got = transform.overshoots(sp.Rational(str(a)), sp.Rational(str(s)), sp.Rational(str(c1)), sp.Rational(str(c2)))
    assert got == expected


def test_stmt1_pareto_moment_finite_branch():
    pw = transform.derive_pareto_moment()
    val = pw.args[0][0]
    closed = transform.alpha * transform.m ** (-transform.gamma * transform.q) / (
        transform.alpha - transform.q * (1 + transform.gamma))
    assert sp.simplify(val - closed) == 0
    cond = transform.derive_pth_moment_condition()
    assert sp.simplify(cond.rhs - (transform.alpha / transform.p - 1)) == 0


# --- statement 2 -------------------------------------------------------------------------
def test_stmt2_hill_moments_closed_forms():
    d = hill_pareto.derive_hill_moments()
    k, a = hill_pareto.k, hill_pareto.alpha
    assert sp.simplify(d["mean"] - k * a / (k - 1)) == 0
    assert sp.simplify(d["var"] - k ** 2 * a ** 2 / ((k - 1) ** 2 * (k - 2))) == 0
    # numeric spot value of REFERENCES.md: alpha = 1.5, k = 10 -> 1.6667
    assert float(d["mean"].subs({k: 10, a: 1.5})) == pytest.approx(1.6666667, rel=1e-6)


def test_stmt2_wrong_threshold_factor():
    d = hill_pareto.derive_wrong_threshold()
    k, a = hill_pareto.k, hill_pareto.alpha
    # ratio to the correct-threshold mean 1/alpha is (k-1)/k
    assert sp.simplify(d["mean_H"] * a - (k - 1) / k) == 0


def test_stmt2_second_order_and_dpdv():
    d = hill_pareto.derive_second_order()
    assert sp.simplify(d["bias_H"] - hill_pareto.A / (1 - hill_pareto.rho)) == 0
    assert sp.simplify(d["var_Q"] - 4 * hill_pareto.g_ ** 4) == 0


# --- statement 3 -------------------------------------------------------------------------
@pytest.mark.parametrize("a", [0.5, 1.2, 1.5, 1.9])
def test_stmt3_tail_constant_values(a):
    # 2 Gamma(a) sin(pi a/2)/pi against the Samorodnitsky-Taqqu form, numerically
    import math
    st = (1 - a) / (math.gamma(2 - a) * math.cos(math.pi * a / 2))
    assert stable_laws.tail_constant(a) == pytest.approx(st, rel=1e-12)


def test_stmt3_tail_constant_alpha_1_5():
    assert stable_laws.tail_constant(1.5) == pytest.approx(0.3989422804, rel=1e-9)


def test_stmt3_vector_norm_constant():
    r = stable_laws.derive_vector_norm_tail()
    assert sp.simplify(r["norm_index"] - stable_laws.alpha) == 0


# --- statement 4 -------------------------------------------------------------------------
def test_stmt4_clipping_exponents():
    r = convergence.derive_clipping_exponents()
    p = convergence.p
    assert sp.simplify(r["rate_norm"] + (p - 1) / (3 * p - 2)) == 0
    assert r["rate_norm"].subs(p, 2) == sp.Rational(-1, 4)
    assert convergence._lp_best_exponent(1.5) == pytest.approx(float(r["rate_sq"].subs(p, 1.5)), abs=1e-8)


def test_stmt4_average_bound_optimum():
    r = convergence.derive_average_bound(sp.Integer(2))
    D, L, Q, T, k = convergence.D, convergence.L, convergence.Q, convergence.T, convergence.kappa
    assert sp.simplify(r["eta_star"].subs(r["K"], L / 2) - sp.sqrt(2 * D / (L * Q * T))) == 0
    # the optimum is not beaten at nearby step sizes (numeric), at p = 2 and at p = 1.5
    for pv in (sp.Integer(2), sp.Rational(3, 2)):
        rp = convergence.derive_average_bound(pv)
        vals = {D: 3, L: 2, Q: 5, T: 1000, k: 0.7, convergence.eps: 0.1, rp["K"]: 1.3}
        f = sp.lambdify(convergence.eta, rp["bound"].subs(vals))
        e0 = float(rp["eta_star"].subs(vals))
        assert f(e0) <= min(f(0.8 * e0), f(1.25 * e0))


def test_stmt4_rate_exponent_at_p():
    pp = sp.Symbol("pp", positive=True)
    rate = convergence.derive_average_bound(1 + pp)["rate"]
    assert float(rate.subs(pp, sp.Rational(1, 2))) == pytest.approx(-1 / 3)   # p = 1.5: T^(-1/3)
    assert float(rate.subs(pp, 1)) == pytest.approx(-0.5)


def test_stmt4_minibatch_moment_derived_not_typed():
    by_b, S, H2 = convergence.derive_minibatch_second_moment(b_max=3)
    # a covariance entry off the diagonal does not enter the squared norm
    assert "s01" not in str(by_b[3])
    assert sp.simplify(by_b[3] - (H2 + (S - H2) / 3)) == 0
    assert sp.simplify(by_b[3] - (H2 + (S - H2) / 9)) != 0


def test_stmt2_exact_moment_statistic_value():
    d = hill_pareto.derive_moment_statistic_exact()
    assert float(d["EQ"].subs({hill_pareto.k: 10, hill_pareto.alpha: 1.5})) == pytest.approx(-2 / (10 * 2.25))


def test_stmt3_one_big_jump_limits():
    r = stable_laws.derive_one_big_jump_bounds(4)
    assert r["upper0"] == 4 and r["lower0"] == 4
    assert float(r["upper"].subs({r["a"]: 1.5, r["delta"]: 0.1})) > 4 > float(r["lower"].subs({r["a"]: 1.5, r["delta"]: 0.1}))


def test_stmt5_improvement_factor():
    assert float(generalization.derive_improvement_factor(sp.Rational(3, 2))["inf"]) == pytest.approx(0.8660254, rel=1e-7)


def test_stmt6_width_vs_sharpness_and_brownian():
    r = flatness.derive_width_vs_sharpness()
    assert sp.simplify(r["levy_fixed_depth"] + flatness.alpha / 2) == 0
    # the quadrature grows like exp(2 dU/eps^2): dU = 1/2 gives about +1 per unit of 1/eps^2
    d = flatness.brownian_log_exit_time(0.1) - flatness.brownian_log_exit_time(0.2)
    assert 70 < d < 76                                      # 100 - 25 = 75 minus the prefactor's change


# --- statement 5/6 -----------------------------------------------------------------------
def test_stmt5_bound_increases_with_dimension():
    G = generalization.bound_form()
    vals = {generalization.n: 10_000, generalization.L: 3, generalization.delta: 0.05}
    g1, g2 = (float(G.subs({**vals, generalization.dH: v})) for v in (1.2, 1.8))
    assert g1 < g2


def test_stmt6_exit_time_and_eta2_numbers():
    assert flatness.exit_time_symmetric(1.0, 0.1, 1.5) == pytest.approx(79.2665, rel=1e-4)
    assert flatness.exit_time_symmetric(2.0, 0.1, 1.5) == pytest.approx(224.20, rel=1e-4)
    assert flatness.eta2(1, 1) == pytest.approx(2 / 3)
    assert flatness.eta2(2, 2) == pytest.approx(0.8)


# --- every registered symbolic check passes ------------------------------------------------
@pytest.mark.parametrize("entry", [e for e in CHECKS if e.kind == "symbolic"], ids=lambda e: e.check)
def test_symbolic_check_passes(entry):
    res = entry.function()()
    assert res.passed, (entry.check, res)
