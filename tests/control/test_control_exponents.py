import math

import pytest
from hypothesis import given, strategies as st

from ahtga.control import ExactExponent, FixedExponent, QuadraticExponent, make_exponent

pos = st.floats(0.05, 6.0, allow_nan=False)


def test_quadratic_values():
    q = QuadraticExponent(c1=0.5, c2=0.25, gamma_floor=0.1)
    assert q.compute(2.5, 1.5) == (pytest.approx(0.5), False)      # 0.5 * 1^2
    assert q.compute(1.0, 1.5) == (pytest.approx(-0.0625), False)  # -0.25 * 0.5^2
    assert q.compute(1.5, 1.5) == (0.0, False)
    assert q(2.5, 1.5) == pytest.approx(0.5)


def test_quadratic_guard_fires_and_is_flagged():
    q = QuadraticExponent(c1=1.0, c2=1.0, gamma_floor=0.2)
    gamma, guarded = q.compute(0.5, 2.0)          # raw -2.25: transform would not be increasing
    assert guarded and gamma == pytest.approx(-0.8) and 1 + gamma == pytest.approx(0.2)
    gamma, guarded = q.compute(1.2, 2.0)          # raw -0.64 -> 1 + gamma = 0.36 >= 0.2
    assert not guarded and gamma == pytest.approx(-0.64)


@given(alpha=pos, alpha_star=pos, c1=st.floats(0, 5), c2=st.floats(0, 5),
       floor=st.floats(0.01, 1.0))
def test_quadratic_keeps_transform_increasing(alpha, alpha_star, c1, c2, floor):
    gamma, guarded = QuadraticExponent(c1, c2, floor).compute(alpha, alpha_star)
    assert 1 + gamma >= floor - 1e-12
    raw = c1 * (alpha - alpha_star) ** 2 if alpha > alpha_star else -c2 * (alpha - alpha_star) ** 2
    assert guarded == (1 + raw < floor)
    if not guarded:
        assert gamma == raw


@given(alpha=pos, alpha_star=pos)
def test_exact_maps_alpha_to_target(alpha, alpha_star):
    gamma, guarded = ExactExponent().compute(alpha, alpha_star)
    assert not guarded and 1 + gamma > 0
    assert alpha / (1 + gamma) == pytest.approx(alpha_star, rel=1e-12)


def test_exact_bounds():
    e = ExactExponent(gamma_min=-0.5, gamma_max=1.0)
    assert e.compute(4.0, 1.0) == (1.0, True)
    assert e.compute(0.25, 1.0) == (-0.5, True)
    assert e.compute(1.5, 1.0) == (pytest.approx(0.5), False)


def test_fixed_exponent_ignores_alpha():
    assert FixedExponent(0.0).compute(3.0, 1.2) == (0.0, False)
    assert FixedExponent(-0.3)(0.7, 1.9) == -0.3


@pytest.mark.parametrize("ctor, match", [
    (lambda: QuadraticExponent(c1=-1.0), r"`c1` must be finite and >= 0; got c1=-1.0"),
    (lambda: QuadraticExponent(c2=-0.1), r"`c2` must be finite and >= 0; got c2=-0.1"),
    (lambda: QuadraticExponent(gamma_floor=0.0), r"`gamma_floor` must lie in \(0.0, 1.0\]"),
    (lambda: QuadraticExponent(gamma_floor=1.5), r"gamma_floor=1.5"),
    (lambda: ExactExponent(gamma_min=-1.0), r"`gamma_min` must lie in \(-1.0, inf\)"),
    (lambda: ExactExponent(gamma_min=1.0, gamma_max=0.5), r"`gamma_min` must be <= `gamma_max`"),
    (lambda: FixedExponent(-1.0), r"`gamma` must lie in"),
    (lambda: QuadraticExponent().compute(0.0, 1.5), r"`alpha` must be finite and > 0; got alpha=0.0"),
    (lambda: ExactExponent().compute(1.0, -2), r"`alpha_star` must be finite and > 0; got alpha_star=-2"),
    (lambda: make_exponent("cubic"), r"exponent\['name'\]"),
    (lambda: make_exponent(3), r"`exponent` must be"),
])
def test_exponent_bad_input(ctor, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ctor()


def test_make_exponent_specs():
    assert isinstance(make_exponent("quadratic"), QuadraticExponent)
    e = make_exponent({"name": "exact", "gamma_max": 2.0})
    assert isinstance(e, ExactExponent) and e.gamma_max == 2.0
    q = make_exponent({"name": "quadratic", "c1": 0.5, "c2": 0.1, "gamma_floor": 0.3})
    assert (q.c1, q.c2, q.gamma_floor) == (0.5, 0.1, 0.3)
    assert math.isclose(make_exponent({"name": "fixed", "gamma": 0.2})(1, 1), 0.2)


def test_quadratic_gamma_max_bounds_light_tail_amplification():
    # alpha at the tracker's clamp (light tails) with a* = 1.5: raw gamma = 0.25 * 3.5^2 = 3.06
    assert QuadraticExponent().compute(5.0, 1.5) == (pytest.approx(3.0625), False)
    gamma, guarded = QuadraticExponent(gamma_max=0.5).compute(5.0, 1.5)
    assert guarded and gamma == 0.5
    assert QuadraticExponent(gamma_max=0.5).compute(2.0, 1.5) == (pytest.approx(0.0625), False)
    with pytest.raises(ValueError, match=r"`gamma_max` must be finite and > 0; got gamma_max=0"):
        QuadraticExponent(gamma_max=0)


def test_ahtga_default_exponent_is_the_bounded_quadratic_rule():
    import torch
    from ahtga.optim import AHTGA
    opt = AHTGA(torch.nn.Linear(3, 2))
    assert isinstance(opt.exponent, QuadraticExponent) and opt.exponent.gamma_max == 0.5
    assert AHTGA(torch.nn.Linear(3, 2), exponent="quadratic").exponent.gamma_max is None
