"""Properties (hypothesis, seeds drawn as integers so failures replay): a parameter without a
gradient is unchanged by a step; gamma = 0 is torch SGD with dampening = momentum; resuming after
any number of steps is bit-identical; the documented invariants of ``EMATracker``, the target
schedules and ``sign_coefficients``."""
from __future__ import annotations

import copy
import io
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ahtga.control import (ConstantTarget, FixedExponent, LinearTarget, ValidationTarget,
                           direction_coefficients, sign_coefficients)
from ahtga.optim import build_optimizer
from ahtga.optim.ahtga import AHTGA
from ahtga.tail import EMATracker
from optim_ahtga_kit import fixed_k_hill
from test_optim_baselines import CASES

EST = fixed_k_hill(6)


def _net(seed, width):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(),
                         nn.Linear(width, 3))


def _batch(seed, b):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 4, generator=g), torch.randint(0, 3, (b,), generator=g)


# ------------------------------------------------------------------ no gradient -> unchanged
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), frozen=st.sets(st.integers(0, 5), min_size=1, max_size=5),
       which=st.integers(-1, len(CASES) - 1), wd=st.sampled_from([0.0, 0.05]),
       protocol=st.sampled_from(["three-line", "standard"]))
def test_a_parameter_without_gradient_is_unchanged(seed, frozen, which, wd, protocol):
    """Parameters frozen after a first step (so momentum exists) stay bit-identical, for AHTGA
    (which = -1, both protocols) and every baseline of the shared table."""
    model = _net(seed, 5)
    params = list(model.parameters())
    if which < 0:
        kw = dict(lr=0.1, estimator=EST, min_samples=8, weight_decay=wd)
        if protocol == "standard":
            kw["loss_reduction"] = "mean"
        opt = AHTGA(model, **kw)
    else:
        name, opts = CASES[which]
        from ahtga.optim import optimizer_options
        if "weight_decay" in optimizer_options(name):
            opts = {**opts, "weight_decay": wd}
        opt = build_optimizer(name, model, **opts)

    def step(t):
        x, y = _batch(seed + t, 12)
        if which < 0 and protocol == "three-line":
            opt.step(F.cross_entropy(model(x), y, reduction="none"))
        else:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

    step(0)
    for i in frozen:
        params[i].requires_grad_(False)
    before = [params[i].detach().clone() for i in sorted(frozen)]
    if len(frozen) == len(params):
        return
    for t in range(1, 3):
        step(t)
    for i, b in zip(sorted(frozen), before):
        assert torch.equal(params[i], b), f"parameter {i} moved"


# ------------------------------------------------------------------ gamma = 0 is SGD
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), b1=st.floats(0.0, 0.95), lr=st.floats(1e-3, 0.5),
       b=st.integers(4, 40), transform=st.sampled_from(["direction", "three-line"]))
def test_gamma_zero_equals_torch_sgd_with_dampening_equal_to_momentum(seed, b1, lr, b, transform):
    m1 = _net(seed, 6).double()
    m2 = copy.deepcopy(m1)
    opt = AHTGA(m1, lr=lr, betas=(b1, 0.9), exponent=FixedExponent(0.0), estimator=EST,
                min_samples=2, loss_reduction=None if transform == "three-line" else "mean")
    sgd = torch.optim.SGD(m2.parameters(), lr=lr, momentum=b1, dampening=b1)
    for t in range(3):
        x, y = _batch(seed + t, b)
        x = x.double()
        if transform == "three-line":
            opt.step(F.cross_entropy(m1(x), y, reduction="none"))
        else:
            opt.zero_grad()
            F.cross_entropy(m1(x), y).backward()
            opt.step()
        sgd.zero_grad()
        F.cross_entropy(m2(x), y).backward()
        sgd.step()
        for p, q in zip(m1.parameters(), m2.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ resume
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), k=st.integers(0, 4), lag=st.integers(0, 1),
       protocol=st.sampled_from(["three-line", "standard"]))
def test_resume_after_any_number_of_steps_is_bit_identical(seed, k, lag, protocol):
    total = 5
    kw = dict(lr=0.1, betas=(0.8, 0.7), estimator=EST, min_samples=8, window=2,
              estimate_lag=lag, loss_reduction="mean" if protocol == "standard" else None)

    def run(model, opt, steps):
        for t in steps:
            x, y = _batch(seed + t, 16)
            if protocol == "standard":
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
            else:
                opt.step(F.cross_entropy(model(x), y, reduction="none"))

    model = _net(seed, 5)
    opt = AHTGA(model, **kw)
    run(model, opt, range(k))
    buf = io.BytesIO()
    torch.save({"m": model.state_dict(), "o": opt.state_dict()}, buf)
    run(model, opt, range(k, total))
    buf.seek(0)
    ck = torch.load(buf)
    model2 = _net(seed + 1, 5)
    model2.load_state_dict(ck["m"])
    opt2 = AHTGA(model2, **kw)
    opt2.load_state_dict(ck["o"])
    run(model2, opt2, range(k, total))
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p, q)


# ------------------------------------------------------------------ EMATracker
@given(beta=st.floats(0.0, 0.99), init=st.floats(0.5, 4.0),
       xs=st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(math.nan), st.just(math.inf)),
                   max_size=30))
def test_ema_tracker_stays_in_its_range_and_between_old_value_and_clamped_estimate(beta, init,
                                                                                  xs):
    tr = EMATracker(beta=beta, init=init, lo=0.1, hi=10.0)
    for x in xs:
        old, steps = tr.value, tr.steps
        new = tr.update(x)
        assert new == tr.value and 0.1 <= new <= 10.0
        if not math.isfinite(x):          # ignored, not counted
            assert new == old and tr.steps == steps and tr.last_ignored
            continue
        c = min(max(x, 0.1), 10.0)
        assert min(old, c) - 1e-12 <= new <= max(old, c) + 1e-12
        assert tr.last_clamped == (c != x) and tr.steps == steps + 1
    tr2 = EMATracker()
    tr2.load_state_dict(tr.state_dict())
    assert tr2.value == tr.value and tr2.steps == tr.steps


# ------------------------------------------------------------------ target schedules
@given(a_min=st.floats(0.5, 3.0), span=st.floats(0.0, 2.0), t_trans=st.floats(1.0, 1e4),
       ts=st.lists(st.integers(0, 10**5), min_size=2, max_size=20))
def test_linear_target_is_monotone_bounded_and_hits_its_ends(a_min, span, t_trans, ts):
    sched = LinearTarget(a_min, a_min + span, t_trans)
    vals = [sched.value(t) for t in sorted(ts)]
    assert all(a_min - 1e-12 <= v <= a_min + span + 1e-12 for v in vals)
    assert all(u <= v + 1e-12 for u, v in zip(vals, vals[1:]))
    assert sched.value(0) == pytest.approx(a_min)
    assert sched.value(int(math.ceil(t_trans)) + 1) == pytest.approx(a_min + span)


@given(base=st.floats(0.5, 3.0), delta=st.floats(0.01, 0.5),
       metrics=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=15),
       mode=st.sampled_from(["min", "max"]))
def test_validation_target_stays_within_its_offset_bounds_and_floor(base, delta, metrics, mode):
    sched = ValidationTarget(ConstantTarget(base), eval_frequency=2, delta=delta,
                             offset_min=-0.5, offset_max=0.5, alpha_min=0.1, mode=mode)
    for j, m in enumerate(metrics):
        sched.report(2 * (j + 1), m)
        v = sched.value(2 * (j + 1))
        assert v >= 0.1
        assert max(0.1, base - 0.5) - 1e-9 <= v <= base + 0.5 + 1e-9
    again = ValidationTarget(ConstantTarget(base), eval_frequency=2, delta=delta,
                             offset_min=-0.5, offset_max=0.5, alpha_min=0.1, mode=mode)
    again.load_state_dict(sched.state_dict())
    assert again.value(10**6) == sched.value(10**6)


# ------------------------------------------------------------------ sign_coefficients
@given(norms=st.lists(st.floats(0.0, 1e3), min_size=1, max_size=40),
       gamma=st.floats(-0.9, 3.0), scale=st.floats(1e-3, 10.0), eps=st.floats(1e-8, 1e-2))
def test_sign_coefficients_are_scale_times_norm_times_direction_coefficients(norms, gamma, scale,
                                                                          eps):
    x = torch.tensor(norms, dtype=torch.float64)
    c = sign_coefficients(x, gamma, eps, scale=scale)
    s = direction_coefficients(x, gamma, eps)
    assert c.shape == x.shape and bool((c >= 0).all()) and bool(torch.isfinite(c).all())
    assert bool((c[x == 0] == 0).all())
    torch.testing.assert_close(c, scale * x * s, rtol=1e-12, atol=0)
    # the coefficients' order follows the norms' order (gamma > -1: c_i ~ ||g_i||^(1+gamma))
    order = torch.argsort(x)
    assert bool((c[order][1:] >= c[order][:-1] * (1 - 1e-12)).all())
