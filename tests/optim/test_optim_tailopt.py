"""TailOPT variants, each checked against a step worked out by hand from the update rules in
``ahtga.optim.tailopt`` (Algorithm 1 inner BiClip step, the outer rules, Algorithm 4 Bi2Clip).

Every expected value below is written as the arithmetic done by hand (no call into our code and
no shared numpy reference), on one float64 tensor of four coordinates:

    x0 = [1, -2, 0.5, 0]
    g1 = [3, -1e-5, 0.5, 0]       -> BiClip(g1; 1e-3, 1) = [1, -1e-3, 0.5, 0]
    g2 = [-0.5, 2, 0, 0]          -> BiClip(g2; 1e-3, 1) = [-0.5, 1, 0, 0]

The last coordinate always has a zero gradient: BiClip keeps exact zeros at zero
(``sign(0) = 0``), so it must never move.
"""
from __future__ import annotations

import math

import pytest
import torch

from ahtga.optim import TailOPT, build_optimizer
from ahtga.optim.tailopt import biclip, l2_biclip

X0 = [1.0, -2.0, 0.5, 0.0]
G1 = [3.0, -1e-5, 0.5, 0.0]
G2 = [-0.5, 2.0, 0.0, 0.0]
D, U = 1e-3, 1.0                     # inner thresholds used throughout
EPS = 1e-8


def _run(name, grads, **opts):
    x = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
    opt = build_optimizer(name, [x], **opts)
    out = []
    for g in grads:
        opt.zero_grad()
        (x * torch.tensor(g, dtype=torch.float64)).sum().backward()      # gradient = g
        opt.step()
        out.append(x.detach().clone().tolist())
    return out


def _close(got, want):
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15), (got, want)


def test_biclip_operator_raises_small_cuts_large_keeps_sign_and_zero():
    x = torch.tensor([3.0, -1e-5, 0.0, -0.5, 1e-3, -7.0], dtype=torch.float64)
    assert biclip(x, 1e-3, 1.0).tolist() == [1.0, -1e-3, 0.0, -0.5, 1e-3, -1.0]
    # lower = 0, upper = inf: the identity
    assert biclip(x, 0.0, math.inf).tolist() == x.tolist()


def test_l2_biclip_rescales_norm_into_interval():
    big = [torch.tensor([3.0]), torch.tensor([4.0])]                     # norm 5 -> 1
    assert [t.item() for t in l2_biclip(big, 0.1, 1.0)] == pytest.approx([0.6, 0.8])
    small = [torch.tensor([3e-3]), torch.tensor([4e-3])]                 # norm 5e-3 -> 0.1
    assert [t.item() for t in l2_biclip(small, 0.1, 1.0)] == pytest.approx([0.06, 0.08])
    inside = [torch.tensor([0.3]), torch.tensor([0.4])]                  # norm 0.5: unchanged
    assert [t.item() for t in l2_biclip(inside, 0.1, 1.0)] == pytest.approx([0.3, 0.4])


def test_adam_biclip_two_steps_by_hand():
    """Delta_t = -BiClip(g_t); m = 0.9 m + 0.1 Delta; v = 0.99 v + 0.01 Delta^2;
    x += lr m / (sqrt v + eps), no bias correction."""
    lr = 0.1
    got = _run("tailopt", [G1, G2], lr=lr, lower=D, upper=U, betas=(0.9, 0.99), eps=EPS)
    # step 1: Delta = [-1, 1e-3, -0.5, 0]; m = [-0.1, 1e-4, -0.05, 0];
    # v = [0.01, 1e-8, 0.0025, 0]; sqrt v = [0.1, 1e-4, 0.05, 0]
    x1 = [1.0 + lr * (-0.1 / (0.1 + EPS)), -2.0 + lr * (1e-4 / (1e-4 + EPS)),
          0.5 + lr * (-0.05 / (0.05 + EPS)), 0.0]
    _close(got[0], x1)
    # step 2: Delta = [0.5, -1, 0, 0]
    # m = [0.9(-0.1) + 0.05, 0.9(1e-4) - 0.1, 0.9(-0.05), 0] = [-0.04, -0.09991, -0.045, 0]
    # v = [0.99(0.01) + 0.0025, 0.99(1e-8) + 0.01, 0.99(0.0025), 0]
    m = [-0.04, -0.09991, -0.045]
    v = [0.0124, 0.0100000099, 0.002475]
    x2 = [a + lr * mi / (math.sqrt(vi) + EPS) for a, mi, vi in zip(x1[:3], m, v)] + [0.0]
    _close(got[1], x2)


def test_adagrad_biclip_two_steps_by_hand():
    """Adagrad outer: m as Adam (b1 = 0.9), v = v + Delta^2 (no decay)."""
    lr = 0.1
    got = _run("tailopt_adagrad", [G1, G2], lr=lr, lower=D, upper=U, eps=EPS)
    # step 1: m = [-0.1, 1e-4, -0.05], v = Delta^2 = [1, 1e-6, 0.25], sqrt = [1, 1e-3, 0.5]
    x1 = [1.0 + lr * (-0.1 / (1.0 + EPS)), -2.0 + lr * (1e-4 / (1e-3 + EPS)),
          0.5 + lr * (-0.05 / (0.5 + EPS)), 0.0]
    _close(got[0], x1)
    # step 2: m = [-0.04, -0.09991, -0.045]; v = [1 + 0.25, 1e-6 + 1, 0.25 + 0]
    m = [-0.04, -0.09991, -0.045]
    v = [1.25, 1.000001, 0.25]
    x2 = [a + lr * mi / (math.sqrt(vi) + EPS) for a, mi, vi in zip(x1[:3], m, v)] + [0.0]
    _close(got[1], x2)


def test_rmsprop_biclip_two_steps_by_hand():
    """RMSProp outer: v = 0.99 v + 0.01 Delta^2, U = Delta / (sqrt v + eps) (no momentum)."""
    lr = 0.01
    got = _run("tailopt_rmsprop", [G1, G2], lr=lr, lower=D, upper=U, betas=(0.9, 0.99),
               eps=EPS)
    # step 1: v = [0.01, 1e-8, 0.0025]; U = Delta / (0.1 |Delta| + eps)
    x1 = [1.0 + lr * (-1.0 / (0.1 + EPS)), -2.0 + lr * (1e-3 / (1e-4 + EPS)),
          0.5 + lr * (-0.5 / (0.05 + EPS)), 0.0]
    _close(got[0], x1)
    # step 2: Delta = [0.5, -1, 0]; v = [0.0124, 0.0100000099, 0.002475]
    d2 = [0.5, -1.0, 0.0]
    v = [0.0124, 0.0100000099, 0.002475]
    x2 = [a + lr * di / (math.sqrt(vi) + EPS) for a, di, vi in zip(x1[:3], d2, v)] + [0.0]
    _close(got[1], x2)


def test_biclip_sgd_with_outer_momentum_by_hand():
    """outer "avg" with heavy-ball momentum 0.5 and one local step: b = 0.5 b + Delta."""
    got = _run("tailopt", [G1, G2], lr=0.1, outer="avg", outer_momentum=0.5, lower=D, upper=U)
    # step 1: b = Delta1 = [-1, 1e-3, -0.5, 0]
    x1 = [1.0 - 0.1, -2.0 + 1e-4, 0.5 - 0.05, 0.0]
    _close(got[0], x1)
    # step 2: b = 0.5 [-1, 1e-3, -0.5] + [0.5, -1, 0] = [0, -0.9995, -0.25]
    x2 = [x1[0] + 0.0, x1[1] - 0.09995, x1[2] - 0.025, 0.0]
    _close(got[1], x2)


def test_bi2clip_one_round_of_two_local_steps_by_hand():
    """Algorithm 4 on one machine: z = 2 inner BiClip-SGD steps (inner_lr 0.5), then
    x_{t+1} = x_t + lr BiClip(Delta_t; d~, u~) with d~ = 0.3, u~ = 0.45, lr = 1."""
    got = _run("tailopt_bi2clip", [G1, G2], lr=1.0, inner_lr=0.5, local_steps=2, lower=D,
               upper=U, outer_lower=0.3, outer_upper=0.45)
    # inner step 1: x = x0 - 0.5 [1, -1e-3, 0.5, 0]: the model holds the local iterate
    _close(got[0], [0.5, -1.9995, 0.25, 0.0])
    # inner step 2: x = [0.5, -1.9995, 0.25, 0] - 0.5 [-0.5, 1, 0, 0] = [0.75, -2.4995, 0.25, 0]
    # Delta = x - x0 = [-0.25, -0.4995, -0.25, 0]
    # BiClip(Delta; 0.3, 0.45) = [-0.3, -0.45, -0.3, 0] (raised, cut, raised, zero kept)
    _close(got[1], [1.0 - 0.3, -2.0 - 0.45, 0.5 - 0.3, 0.0])


def test_bi2clip_second_round_uses_round_two_thresholds():
    """Schedules are indexed by the round t (Algorithm 4's u_t, d_t, u~_t, d~_t): with z = 1,
    outer thresholds d~ t^-1 and u~ t^1 give [0.4, 0.6] in round 1 and [0.2, 1.2] in round 2."""
    got = _run("tailopt_bi2clip", [G1, G2], lr=1.0, inner_lr=1.0, local_steps=1, lower=D,
               upper=U, outer_lower=0.4, outer_upper=0.6, outer_lower_exp=-1.0,
               outer_upper_exp=1.0)
    # round 1: Delta = [-1, 1e-3, -0.5, 0] -> BiClip(.; 0.4, 0.6) = [-0.6, 0.4, -0.5, 0]
    x1 = [0.4, -1.6, 0.0, 0.0]
    _close(got[0], x1)
    # round 2: Delta = [0.5, -1, 0, 0] -> BiClip(.; 0.2, 1.2) = [0.5, -1, 0, 0]
    _close(got[1], [0.9, -2.6, 0.0, 0.0])


def test_inner_schedules_use_the_round_index():
    """d_t = 0.1 t^-1, u_t = 1 t^1, eta_l,t = 1 t^-1, one local step, outer "avg", lr 1."""
    g = [1e-3, 5.0, 0.0, 0.0]
    got = _run("tailopt_biclip", [g, g], lr=1.0, lower=0.1, upper=1.0, lower_exp=-1.0,
               upper_exp=1.0, inner_lr_exp=-1.0)
    # t = 1: BiClip(g; 0.1, 1) = [0.1, 1]; t = 2: BiClip(g; 0.05, 2) = [0.05, 2], eta_l = 0.5
    _close(got[0], [1.0 - 0.1, -2.0 - 1.0, 0.5, 0.0])
    _close(got[1], [1.0 - 0.1 - 0.025, -2.0 - 1.0 - 1.0, 0.5, 0.0])


def test_bi2clip_with_one_local_step_is_biclip_sgd_on_the_intersection():
    """z = 1, inner_lr = 1: |Delta| = clamp(|g|, d, u), so the outer clip gives
    clamp(|g|, max(d, d~), min(u, u~)) -- BiClip-SGD with the intersected thresholds."""
    gen = torch.Generator().manual_seed(3)
    grads = [(torch.randn(4, generator=gen, dtype=torch.float64) * 10 ** torch.randint(
        -4, 2, (4,), generator=gen)).tolist() for _ in range(5)]
    a = _run("tailopt_bi2clip", grads, lr=0.7, inner_lr=1.0, local_steps=1, lower=1e-3,
             upper=2.0, outer_lower=1e-2, outer_upper=0.5)
    b = _run("tailopt_biclip", grads, lr=0.7, lower=1e-2, upper=0.5)
    for x, y in zip(a, b):
        _close(x, y)


def test_registered_variants_fix_the_outer_optimizer():
    x = [torch.zeros(2, requires_grad=True)]
    for name, outer in [("tailopt", "adam"), ("tailopt_biclip", "avg"),
                        ("tailopt_adagrad", "adagrad"), ("tailopt_rmsprop", "rmsprop"),
                        ("tailopt_bi2clip", "biclip")]:
        opt = build_optimizer(name, x)
        assert isinstance(opt, TailOPT)
        assert opt.param_groups[0]["outer"] == outer
        if name != "tailopt":
            with pytest.raises(TypeError, match=rf"\['outer'\] are fixed .*'{name}'"):
                build_optimizer(name, x, outer="adam")
    g = build_optimizer("tailopt_bi2clip", x).param_groups[0]
    assert g["local_steps"] == 4 and g["lr"] == 1.0 and g["inner_lr"] == 0.1


def test_outer_thresholds_must_stay_ordered_for_every_round():
    """Algorithm 1 requires u_t >= d_t >= 0; the outer pair of Algorithm 4 is checked the same
    way (a lower exponent above the upper one would cross them at some round)."""
    x = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"`outer_lower` must be <= `outer_upper`; got "
                                         r"outer_lower=2.0, outer_upper=1.0"):
        build_optimizer("tailopt_bi2clip", x, outer_lower=2.0, outer_upper=1.0)
    with pytest.raises(ValueError, match=r"`outer_lower_exp` must be <= `outer_upper_exp`"):
        build_optimizer("tailopt_bi2clip", x, outer_lower_exp=0.5, outer_upper_exp=0.0)
    with pytest.raises(ValueError, match=r"`outer_lower` .*got outer_lower=-0.1"):
        build_optimizer("tailopt_bi2clip", x, outer_lower=-0.1)
