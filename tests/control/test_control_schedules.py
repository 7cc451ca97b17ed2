import pytest

from ahtga.control import (ConstantTarget, LinearTarget, ValidationTarget, make_target)


def test_constant_target():
    s = ConstantTarget(1.4)
    assert [s.value(t) for t in (0, 1, 10_000)] == [1.4, 1.4, 1.4]


def test_linear_target_formula():
    s = LinearTarget(1.2, 1.8, 100)
    for t, want in [(0, 1.2), (25, 1.35), (50, 1.5), (100, 1.8), (1000, 1.8)]:
        assert s.value(t) == pytest.approx(want, abs=1e-12)
    flat = LinearTarget(1.5, 1.5, 3)
    assert flat.value(0) == flat.value(7) == 1.5


@pytest.mark.parametrize("ctor, match", [
    (lambda: ConstantTarget(0.0), r"`alpha_star` must be finite and > 0; got alpha_star=0.0"),
    (lambda: ConstantTarget(-1), r"alpha_star=-1"),
    (lambda: ConstantTarget(float("nan")), r"alpha_star=nan"),
    (lambda: LinearTarget(2.0, 1.0, 10), r"`a_min` must be <= `a_max`; got a_min=2.0, a_max=1.0"),
    (lambda: LinearTarget(0.0, 1.0, 10), r"`a_min` must be finite and > 0"),
    (lambda: LinearTarget(1.0, 2.0, 0), r"`t_trans` must be finite and > 0; got t_trans=0"),
    (lambda: ValidationTarget(ConstantTarget(1.5), eval_frequency=0), r"`eval_frequency` must be >= 1"),
    (lambda: ValidationTarget(ConstantTarget(1.5), eval_frequency=5, delta=0), r"`delta`"),
    (lambda: ValidationTarget(ConstantTarget(1.5), eval_frequency=5, offset_min=0.2), r"`offset_min`"),
    (lambda: ValidationTarget(ConstantTarget(1.5), eval_frequency=5, mode="up"), r"`mode` must be one of"),
    (lambda: ValidationTarget(1.5, eval_frequency=5), r"`base` must be a TargetSchedule"),
    (lambda: make_target({"name": "cosine"}), r"target\['name'\]"),
])
def test_schedule_bad_input(ctor, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ctor()


def test_schedule_bad_step():
    with pytest.raises(ValueError, match=r"`step` must be >= 0; got step=-1"):
        LinearTarget(1, 2, 3).value(-1)


def test_validation_target_rule():
    # loss: 1.0 -> 0.9 (improves 10%: keep) -> 0.899 (stall: explore) -> 0.95 (degrades: stabilise)
    s = ValidationTarget(ConstantTarget(1.5), eval_frequency=10, tol=0.01, delta=0.1,
                         offset_min=-0.25, offset_max=0.15)
    assert s.report(10, 1.0) == 0.0 and s.value(10) == 1.5          # first report: reference only
    assert s.report(20, 0.9) == 0.0 and s.last_action == "keep"
    assert s.report(30, 0.899) == pytest.approx(-0.1) and s.last_action == "explore"
    assert s.value(30) == pytest.approx(1.4)
    s.report(40, 0.8985)                                             # stall again
    s.report(50, 0.8984)                                             # stall: clipped at -0.25
    assert s.offset == pytest.approx(-0.25) and s.value(50) == pytest.approx(1.25)
    s.report(60, 0.95)
    assert s.last_action == "stabilise" and s.offset == pytest.approx(-0.15)
    for t in (70, 80, 90, 100):                                      # keeps degrading: clip at max
        s.report(t, 0.95 * 1.1 ** (t // 10 - 6))
    assert s.offset == pytest.approx(0.15)


def test_validation_target_max_mode_window_and_floor():
    s = ValidationTarget(LinearTarget(0.3, 0.5, 10), eval_frequency=1, mode="max", window=2,
                         delta=0.5, offset_min=-1.0, alpha_min=0.2)
    s.report(1, 0.50)
    s.report(2, 0.60)       # accuracy up 20%: keep
    assert s.offset == 0.0
    s.report(3, 0.55)       # ref = mean(0.5, 0.6) = 0.55: stall -> explore
    assert s.offset == -0.5
    assert s.value(3) == pytest.approx(0.2)   # 0.36 - 0.5 < alpha_min: floored


def test_validation_target_report_errors():
    s = ValidationTarget(ConstantTarget(1.5), eval_frequency=10)
    s.report(10, 1.0)
    with pytest.raises(ValueError, match=r"at least eval_frequency=10 after the previous report at "
                                         r"step 10; got step=15"):
        s.report(15, 1.0)
    with pytest.raises(ValueError, match=r"`metric` must be finite; got metric=nan"):
        s.report(20, float("nan"))


def test_validation_target_state_dict_roundtrip():
    a = ValidationTarget(ConstantTarget(1.5), eval_frequency=5)
    for t, m in [(5, 1.0), (10, 0.999), (15, 1.2)]:
        a.report(t, m)
    b = ValidationTarget(ConstantTarget(1.5), eval_frequency=5)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == a.state_dict()
    assert a.report(20, 1.19) == b.report(20, 1.19)
    assert a.value(20) == b.value(20)


def test_make_target_specs():
    assert isinstance(make_target(1.3), ConstantTarget)
    lin = make_target({"name": "linear", "a_min": 1.0, "a_max": 2.0, "t_trans": 4})
    assert lin.value(2) == 1.5
    v = make_target({"name": "validation", "base": 1.5, "eval_frequency": 3})
    assert isinstance(v, ValidationTarget) and v.value(0) == 1.5
    with pytest.raises(TypeError, match="`target` must be"):
        make_target("fast")
