"""The pieces that make AHTGA's controller operate: a pool of a fixed number of norms, targets
relative to the index read in a warm-up, and the regime summary (branch and guard shares)."""
import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ahtga.control import (ConstantTarget, LinearTarget, QuadraticExponent, RelativeTarget,
                           TailTracker, ValidationTarget, make_target)
from ahtga.control.regime import REGIME_KEYS, RegimeCounter, regime_shares


def _spy(seen):
    def f(x, *, seed):
        seen.append(x.clone())
        return SimpleNamespace(alpha=float(len(seen)), k=3)
    return f


def test_pool_size_uses_the_last_norms_and_waits_until_full():
    seen = []
    tr = TailTracker(_spy(seen), pool_size=50, min_samples=10, beta=0.0)
    ups = [tr.update(torch.arange(1, 21, dtype=torch.float64) + 100 * t) for t in range(6)]
    assert [u.estimated for u in ups] == [False, False, True, True, True, True]
    assert [u.n for u in ups] == [20, 40, 50, 50, 50, 50]
    # the pool is the most recent 50 positive norms, across step boundaries
    want = torch.cat([torch.arange(1, 21) + 100 * t for t in (3, 4, 5)]).double()[-50:]
    assert torch.equal(seen[-1], want)
    # the buffer keeps no more steps than the pool needs
    assert sum(b.numel() for b in tr._buffer) < 50 + 20
    # zero norms are not pooled
    u = tr.update(torch.cat([torch.zeros(15), torch.ones(5) * 7.0]))
    assert u.n == 50 and torch.equal(seen[-1][-5:], torch.full((5,), 7.0, dtype=torch.float64))


def test_pool_size_resumes_identically():
    rng = np.random.default_rng(0)
    batches = [torch.from_numpy(rng.pareto(1.5, 24) + 1.0) for _ in range(9)]
    a = TailTracker("hill", pool_size=64, estimator_options={"k": 8})
    for b in batches[:4]:
        a.update(b)
    b_ = TailTracker("hill", pool_size=64, estimator_options={"k": 8})
    b_.load_state_dict(a.state_dict())
    for b in batches[4:]:
        ua, ub = a.update(b), b_.update(b)
        assert ua == ub


@pytest.mark.parametrize("kw, match", [
    (dict(pool_size=64, window=2), r"either `window`.*got window=2, pool_size=64"),
    (dict(pool_size=16), r"`pool_size` must be >= 32; got pool_size=16"),
    (dict(pool_size=1.5), r"pool_size"),
])
def test_pool_size_bad_input(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        TailTracker("hill_db", **kw)


def test_relative_target_holds_during_warmup_then_scales_the_median_reading():
    s = RelativeTarget(ConstantTarget(0.8), warmup=4, reference="warmup")
    readings = [2.0, math.nan, 3.0, 4.0]
    for t, a_hat in enumerate(readings):
        s.observe(t, 2.5 + t, a_hat)
        assert s.value(t) == 2.5 + t          # alpha* = alpha: gamma = 0 for every rule
        assert QuadraticExponent(gamma_max=0.5)(s.value(t), 2.5 + t) == 0.0
    s.observe(4, 9.0, 9.0)                    # the end of the warm-up fixes ref
    assert s.ref == 3.0                       # median of the finite warm-up estimates
    assert s.value(4) == pytest.approx(2.4) and s.value(100) == pytest.approx(2.4)
    s.observe(5, 1.0, 1.0)                    # later readings do not move ref
    assert s.ref == 3.0


def test_relative_target_schedules_and_validation_in_ratio_units():
    lin = RelativeTarget(LinearTarget(0.5, 1.0, 10), warmup=1, reference="warmup")
    lin.observe(0, 2.0, 2.0)
    lin.observe(1, 2.0, 2.0)
    assert lin.value(0) == pytest.approx(1.0) and lin.value(10) == pytest.approx(2.0)
    assert not hasattr(lin, "report")         # only validation-driven bases take reports
    val = make_target({"name": "relative", "warmup": 1, "reference": "warmup",
                       "base": {"name": "validation", "base": 1.0, "eval_frequency": 1,
                                "delta": 0.1}})
    val.observe(0, 2.0, 2.0)
    val.observe(1, 2.0, 2.0)
    val.report(1, 1.0)
    val.report(2, 1.0)                         # stalled: explore, ratio 0.9
    assert val.value(2) == pytest.approx(1.8)


def test_relative_target_state_round_trip_and_errors():
    s = RelativeTarget(0.9, warmup=3, reference="warmup")
    with pytest.raises(RuntimeError, match="before observe"):
        s.value(0)
    for t in range(5):
        s.observe(t, 1.0 + t, 1.0 + t)
    s2 = RelativeTarget(0.9, warmup=3, reference="warmup")
    s2.load_state_dict(s.state_dict())
    assert s2.ref == s.ref == 2.0 and s2.value(7) == s.value(7)
    with pytest.raises(ValueError, match=r"`warmup` must be >= 1; got warmup=0"):
        RelativeTarget(0.9, warmup=0)
    with pytest.raises(ValueError, match=r"`alpha` must be finite and > 0"):
        s.observe(6, float("nan"), 1.0)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.2, 8.0), min_size=1, max_size=30), st.floats(0.3, 2.0))
def test_relative_target_ref_is_a_median_of_the_readings(readings, ratio):
    s = RelativeTarget(ratio, warmup=len(readings), reference="warmup")
    for t, r in enumerate(readings):
        s.observe(t, 1.0, r)
    s.observe(len(readings), 1.0, 1.0)
    assert s.ref == pytest.approx(float(np.median(readings)))
    assert min(readings) <= s.ref <= max(readings)
    assert s.value(len(readings)) == pytest.approx(ratio * s.ref)


def test_running_reference_follows_a_drifting_index():
    s = RelativeTarget(1.0, warmup=3, horizon=4)
    for t, a in enumerate([3.0, 3.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0]):
        s.observe(t, a, a)
        if t == 3:
            assert s.ref == 3.0               # median of 3, 3, 3, 2
        if t >= 2:
            assert s.value(t) == s.ref or t < 3
    assert s.ref == 1.0                       # the last 4 readings only
    assert len(s.readings) == 4
    s.observe(8, 1.0, float("nan"))           # no estimate: ref kept
    assert s.ref == 1.0
    with pytest.raises(ValueError, match=r"`reference` must be one of"):
        RelativeTarget(1.0, reference="fixed")
    with pytest.raises(ValueError, match=r"`horizon` must be >= 1; got horizon=0"):
        RelativeTarget(1.0, horizon=0)


def _row(alpha, alpha_star, gamma, guarded=False, **kw):
    return dict(alpha=alpha, alpha_star=alpha_star, gamma=gamma, gamma_guarded=guarded, **kw)


def test_regime_shares_counts_branches_and_guards():
    rule = QuadraticExponent(c1=0.25, c2=0.25, gamma_floor=0.1, gamma_max=0.5)
    rows = []
    for alpha, a_star in [(5.0, 1.5), (1.6, 1.5), (1.0, 1.5), (1.5, 1.5), (0.1, 3.0)]:
        g, guarded = rule.compute(alpha, a_star)
        rows.append(_row(alpha, a_star, g, guarded, clamped=alpha == 5.0))
    rows.append(_row(2.0, 1.5, float("nan"), skipped=True))     # skipped steps are left out
    r = regime_shares(rows)
    assert tuple(r) == REGIME_KEYS and r["steps"] == 5
    assert (r["above"], r["below"], r["equal"]) == (0.4, 0.4, 0.2)
    assert (r["cap"], r["floor"], r["clamped"]) == (0.2, 0.2, 0.2)
    assert r["alpha_median"] == 1.5 and math.isnan(r["alpha_transformed_median"])
    assert r["gamma_mean"] == pytest.approx(sum(x["gamma"] for x in rows[:5]) / 5)


def test_regime_shares_empty_and_bad_input():
    r = regime_shares([])
    assert r["steps"] == 0 and math.isnan(r["above"])
    with pytest.raises(ValueError, match="lacks"):
        regime_shares([{"alpha": 1.0}])
    with pytest.raises(TypeError, match="StepStats or dicts"):
        regime_shares([3.0])


def test_regime_counter_agrees_with_regime_shares_and_resumes():
    rule = QuadraticExponent(c1=0.25, c2=0.25, gamma_floor=0.1, gamma_max=0.5)
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(60):
        a, a_star = float(rng.uniform(0.2, 6.0)), float(rng.choice([1.5, 2.0]))
        g, guarded = rule.compute(a, a_star)
        rows.append(_row(a, a_star, g, guarded, clamped=bool(rng.random() < 0.1),
                         alpha_transformed=a / (1 + g)))
    rows.append(_row(2.0, 1.5, float("nan"), skipped=True))
    c = RegimeCounter()
    for r in rows[:25]:
        c.add(r)
    c2 = RegimeCounter()
    c2.load_state_dict(json.loads(json.dumps(c.state_dict())))   # JSON round trip
    for r in rows[25:]:
        c2.add(r)
    got, want = c2.shares(), regime_shares(rows)
    for k in ("steps", "above", "below", "equal", "cap", "floor", "clamped", "estimated",
              "gamma_mean"):
        assert got[k] == pytest.approx(want[k]), k
    assert got["alpha_transformed_mean"] == pytest.approx(
        np.mean([r["alpha_transformed"] for r in rows[:60]]))
    assert RegimeCounter().shares()["above"] is None
