"""AHTGA optimizer: equivalences, functional references, telemetry, guards, schedulers."""
import copy
import math
import warnings

import pytest
import torch
from torch import nn

from ahtga.control import (ConstantTarget, ExactExponent, FixedExponent, LinearTarget,
                           transform_direction, transform_sign)
from ahtga.optim._stats import StepStats
from ahtga.optim.ahtga import AHTGA, DEFAULT_ALPHA_CLAMP, ahtga_update
from optim_ahtga_kit import LoopEngine, batches, fixed_k_hill, mlp, per_example_loss

B = 40
EST = fixed_k_hill(10)


def _real_engine_available():
    try:
        from ahtga.engine import PerExampleEngine  # noqa: F401
        return True
    except ImportError:
        return False


ENGINE_KINDS = ["loop"] + (["fast", "reference"] if _real_engine_available() else [])


def make(model, kind, **kw):
    # the step's mechanics are checked one batch per estimate (the source's window=1); the
    # pooled default is tested in test_optim_ahtga_controller.py
    kw.setdefault("estimator", EST)
    if "pool_size" not in kw:
        kw.setdefault("window", 1)
    if kind == "loop":
        return AHTGA(model, engine=LoopEngine(model), **kw)
    return AHTGA(model, mode=kind, **kw)


def flat_params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def per_example_grads(model, x, y):
    eng = LoopEngine(model)
    eng.backward(per_example_loss(model, x, y))
    return eng._G


@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_gamma_zero_is_sgd_with_dampened_momentum(kind):
    b1 = 0.8
    m1, m2 = mlp(), mlp()
    opt = make(m1, kind, lr=0.1, betas=(b1, 0.9), exponent=FixedExponent(0.0))
    sgd = torch.optim.SGD(m2.parameters(), lr=0.1, momentum=b1, dampening=b1)
    for x, y in batches(8, B):
        st = opt.step(per_example_loss(m1, x, y))
        assert st.gamma == 0.0 and not st.skipped
        sgd.zero_grad()
        per_example_loss(m2, x, y).mean().backward()
        sgd.step()
        torch.testing.assert_close(flat_params(m1), flat_params(m2), rtol=1e-5, atol=1e-6)
    # the momentum buffers agree as well
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(opt.state[p]["momentum_buffer"],
                                   sgd.state[q]["momentum_buffer"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ENGINE_KINDS)
@pytest.mark.parametrize("transform", ["direction", "sign", "sign_normalized"])
def test_step_matches_functional_reference(kind, transform):
    """Each step = kernel(mean_i T(g_i)) with T from the explicit-gradient functional forms."""
    gamma, lr, b1, wd = 0.6, 0.05, 0.7, 0.01
    model = mlp(3)
    ref = copy.deepcopy(model)
    opt = make(model, kind, lr=lr, betas=(b1, 0.9), weight_decay=wd, transform=transform,
               exponent=FixedExponent(gamma), eps=1e-6)
    bufs = [None] * len(list(ref.parameters()))
    d = sum(p.numel() for p in ref.parameters())
    for x, y in batches(4, B, seed=5):
        opt.step(per_example_loss(model, x, y))
        G = per_example_grads(ref, x, y)
        if transform == "direction":
            g = transform_direction(G, gamma, 1e-6).mean(0)
        else:
            g = transform_sign(G, gamma, 1e-6, normalize=transform == "sign_normalized").mean(0)
        grads, off = [], 0
        for p in ref.parameters():
            grads.append(g[off:off + p.numel()].reshape(p.shape))
            off += p.numel()
        with torch.no_grad():
            ahtga_update(list(ref.parameters()), grads, bufs, lr=lr, beta1=b1, weight_decay=wd)
        assert off == d
        torch.testing.assert_close(flat_params(model), flat_params(ref), rtol=1e-5, atol=1e-6)


def test_update_kernel_by_hand():
    p = torch.tensor([1.0, -2.0])
    g1, g2 = torch.tensor([0.5, 1.0]), torch.tensor([-1.0, 2.0])
    bufs = [None]
    ahtga_update([p], [g1], bufs, lr=0.1, beta1=0.9, weight_decay=0.5)
    # theta = (1 - 0.05) theta - 0.1 g1 ; m = g1
    torch.testing.assert_close(p, torch.tensor([0.95 - 0.05, -1.9 - 0.1]))
    torch.testing.assert_close(bufs[0], g1)
    ahtga_update([p], [g2], bufs, lr=0.1, beta1=0.9, weight_decay=0.0)
    m = 0.9 * g1 + 0.1 * g2
    torch.testing.assert_close(bufs[0], m)
    torch.testing.assert_close(p, torch.tensor([0.9, -2.0]) - 0.1 * m)
    with pytest.raises(ValueError, match="equal lengths"):
        ahtga_update([p], [], [], lr=0.1, beta1=0.9)


def test_stats_and_ema():
    model = mlp()
    tgt = LinearTarget(1.2, 1.8, 4)
    opt = make(model, "loop", lr=0.01, betas=(0.9, 0.8), target=tgt, alpha_init=2.0,
               exponent=ExactExponent())
    alpha = 2.0
    lo, hi = DEFAULT_ALPHA_CLAMP
    assert opt.tracker.clamp == (lo, hi)
    for t, (x, y) in enumerate(batches(3, B)):
        losses = per_example_loss(model, x, y)
        norms = per_example_grads(copy.deepcopy(model), x, y).norm(dim=1)
        st = opt.step(losses)
        a_hat = float(EST(norms.double(), seed=0).alpha)
        alpha = 0.8 * alpha + 0.2 * min(hi, max(lo, a_hat))
        assert isinstance(st, StepStats) and st.step == t and st.n == B and st.k == 10
        assert st.alpha_hat == pytest.approx(min(hi, max(lo, a_hat)), rel=1e-5)
        assert st.clamped == (not lo <= a_hat <= hi)
        assert st.alpha == pytest.approx(alpha, rel=1e-5)
        assert st.alpha_star == tgt.value(t)
        assert st.gamma == pytest.approx(alpha / tgt.value(t) - 1, rel=1e-6)
        q = torch.quantile(norms.double(), torch.tensor([0.05, 0.5, 0.95, 1.0], dtype=torch.float64))
        assert [st.q05, st.q50, st.q95, st.max] == pytest.approx(q.tolist(), rel=1e-5)
        d = st.as_dict()
        assert set(d) >= {"alpha_hat", "alpha", "alpha_star", "gamma", "k", "q05", "q50", "q95",
                          "max", "clamped", "gamma_guarded", "skipped", "step"}
        assert all(isinstance(v, (int, float, bool)) for v in d.values())


def test_clamp_guard_records_flag():
    class Light:
        def __call__(self, x, *, seed):
            return type("R", (), {"alpha": 37.6, "k": 5})()
    model = mlp()
    opt = make(model, "loop", estimator=Light(), alpha_clamp=(0.2, 4.0), betas=(0.9, 0.5))
    (x, y), = batches(1, B)
    st = opt.step(per_example_loss(model, x, y))
    assert st.clamped and st.alpha_hat == 4.0 and st.alpha == pytest.approx(0.5 * 2 + 0.5 * 4)


def test_quadratic_guard_flag_reaches_stats():
    model = mlp()
    opt = make(model, "loop", target=3.0, alpha_init=0.5, betas=(0.9, 0.0),
               exponent={"name": "quadratic", "c1": 1.0, "c2": 1.0, "gamma_floor": 0.25},
               estimator=lambda x, *, seed: type("R", (), {"alpha": 0.5, "k": 3})())
    (x, y), = batches(1, B)
    st = opt.step(per_example_loss(model, x, y))
    assert st.gamma_guarded and st.gamma == pytest.approx(-0.75)


def _bad(**kw):
    model = mlp()
    kw.setdefault("estimator", EST)
    return lambda: AHTGA(model, engine=LoopEngine(model), **kw)


@pytest.mark.parametrize("ctor, err, match", [
    (_bad(lr=-0.1), ValueError, r"`lr` must be finite and >= 0; got lr=-0.1"),
    (_bad(lr=float("nan")), ValueError, r"got lr=nan"),
    (_bad(betas=(1.0, 0.9)), ValueError, r"`betas\[0\]` must lie in \[0.0, 1.0\); got betas\[0\]=1.0"),
    (_bad(betas=(0.9, -0.1)), ValueError, r"`betas\[1\]` must lie in"),
    (_bad(betas=0.9), ValueError, r"`betas` must be a pair"),
    (_bad(weight_decay=-1e-4), ValueError, r"`weight_decay` must be finite and >= 0"),
    (_bad(exponent={"name": "quadratic", "c1": -1.0}), ValueError, r"`c1` must be finite and >= 0; got c1=-1.0"),
    (_bad(exponent={"name": "quadratic", "c2": -2}), ValueError, r"`c2` must be finite and >= 0; got c2=-2"),
    (_bad(target=0.0), ValueError, r"`alpha_star` must be finite and > 0; got alpha_star=0.0"),
    (_bad(target=-1.5), ValueError, r"alpha_star=-1.5"),
    (_bad(target={"name": "linear", "a_min": 2.0, "a_max": 1.0, "t_trans": 10}), ValueError,
     r"`a_min` must be <= `a_max`; got a_min=2.0, a_max=1.0"),
    (_bad(transform="clip"), ValueError, r"`transform` must be one of"),
    (_bad(mode="slow"), ValueError, r"`mode` must be one of"),
    (_bad(nonfinite="ignore"), ValueError, r"`nonfinite` must be one of"),
    (_bad(eps=-1.0), ValueError, r"`eps` must be finite and >= 0"),
    (_bad(window=0), ValueError, r"`window` must be >= 1; got window=0"),
    (_bad(alpha_init=0.0), ValueError, r"`alpha_init` must be finite and > 0"),
    (_bad(alpha_clamp=(3.0, 1.0)), ValueError, r"`clamp` must satisfy lo < hi"),
    (_bad(min_samples=1), ValueError, r"`min_samples` must be >= 2"),
    (_bad(estimator=42), TypeError, r"`estimator` must be a name or a callable"),
    (_bad(params=[nn.Parameter(torch.zeros(3))]), ValueError, r"`params` must be trainable parameters of `model`"),
    (lambda: AHTGA(nn.Linear(2, 2), engine=object(), estimator=EST), TypeError, r"lacks 'params'"),
    (lambda: AHTGA([nn.Parameter(torch.zeros(2))], estimator=EST), TypeError, r"`model` must be a torch.nn.Module"),
])
def test_bad_input(ctor, err, match):
    with pytest.raises(err, match=match):
        ctor()


def test_batch_smaller_than_estimator_needs_is_an_error():
    model = mlp()
    opt = make(model, "loop", min_samples=32)
    (x, y), = batches(1, 16)
    before = flat_params(model).clone()
    with pytest.raises(ValueError, match=r"needs at least min_samples=32 per-example norms; got "
                                         r"a batch of B=16 with window=1"):
        opt.step(per_example_loss(model, x, y))
    assert torch.equal(flat_params(model), before)
    with pytest.raises(ValueError, match=r"`losses` must be a non-empty 1-d tensor"):
        opt.step(per_example_loss(model, x, y).mean())
    with pytest.raises(ValueError, match=r"`losses` must require grad"):
        opt.step(per_example_loss(model, x, y).detach())


def _nan_in_loss(model, x, y):
    losses = per_example_loss(model, x, y)
    return losses * torch.where(torch.arange(len(y)) == 3, float("nan"), 1.0)


def _nan_in_grad(model, x, y):
    # finite losses whose gradient is NaN for example 0: d sqrt(u)/du at u = 0 times 0
    losses = per_example_loss(model, x, y)
    z = model(x)[:, 0] * 0.0
    return losses + torch.sqrt(z * z) * torch.where(torch.arange(len(y)) == 0, 1.0, 0.0)


@pytest.mark.parametrize("kind", ENGINE_KINDS)
@pytest.mark.parametrize("make_losses, why", [(_nan_in_loss, "losses"),
                                              (_nan_in_grad, "gradient norms")])
def test_nonfinite_skips_step(kind, make_losses, why):
    model = mlp()
    opt = make(model, kind, lr=0.1)
    data = batches(3, B)
    x, y = data[0]
    opt.step(per_example_loss(model, x, y))
    before = flat_params(model).clone()
    bufs = [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    ema, count = opt.tracker.value, opt.tracker.count
    x, y = data[1]
    losses = make_losses(model, x, y)
    assert bool(torch.isfinite(losses).all()) == (why != "losses")
    with pytest.warns(RuntimeWarning, match=f"step 1 skipped: NaN or Inf in the per-example {why}"):
        st = opt.step(losses)
    assert st.skipped and math.isnan(st.gamma) and st.step == 1
    assert torch.equal(flat_params(model), before)
    assert all(torch.equal(opt.state[p]["momentum_buffer"], b) for p, b in zip(model.parameters(), bufs))
    assert (opt.tracker.value, opt.tracker.count) == (ema, count)
    # the next step works and is numbered 1 (skipped steps do not advance the schedule)
    x, y = data[2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        st = opt.step(per_example_loss(model, x, y))
    assert st.step == 1 and not st.skipped and bool(torch.isfinite(flat_params(model)).all())
    opt2 = make(mlp(), kind, nonfinite="raise")
    with pytest.raises(FloatingPointError, match="skipped"):
        opt2.step(make_losses(opt2.model, x, y))


@pytest.mark.parametrize("kind", ENGINE_KINDS)
def test_lr_scheduler_and_param_groups(kind):
    m1, m2 = mlp(), mlp()
    groups1 = [{"params": list(m1[0].parameters())}, {"params": list(m1[2].parameters()), "lr": 0.02}]
    groups2 = [{"params": list(m2[0].parameters())}, {"params": list(m2[2].parameters()), "lr": 0.02}]
    opt = make(m1, kind, lr=0.1, betas=(0.5, 0.9), exponent=FixedExponent(0.0), params=groups1)
    sgd = torch.optim.SGD(groups2, lr=0.1, momentum=0.5, dampening=0.5)
    s1 = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.3)
    s2 = torch.optim.lr_scheduler.StepLR(sgd, step_size=2, gamma=0.3)
    for x, y in batches(6, B):
        opt.step(per_example_loss(m1, x, y))
        sgd.zero_grad()
        per_example_loss(m2, x, y).mean().backward()
        sgd.step()
        s1.step()
        s2.step()
        torch.testing.assert_close(flat_params(m1), flat_params(m2), rtol=1e-5, atol=1e-6)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.1 * 0.3 ** 3, 0.02 * 0.3 ** 3])


def test_subset_of_params_leaves_others_unchanged():
    model = mlp()
    frozen = [p.detach().clone() for p in model[2].parameters()]
    opt = make(model, "loop", lr=0.1, params=model[0].parameters())
    for x, y in batches(2, B):
        opt.step(per_example_loss(model, x, y))
    assert all(torch.equal(p, q) for p, q in zip(model[2].parameters(), frozen))
    assert not torch.equal(model[0].weight, mlp()[0].weight)


def test_too_few_positive_norms_keeps_previous_alpha():
    model = mlp()
    opt = make(model, "loop", min_samples=32, betas=(0.9, 0.5))
    data = batches(2, B)
    x, y = data[0]
    opt.step(per_example_loss(model, x, y))
    alpha = opt.tracker.value
    before = flat_params(model).clone()
    x, y = data[1]
    mask = (torch.arange(B) < 10).float()          # 30 of 40 examples have zero gradient
    st = opt.step(per_example_loss(model, x, y) * mask)
    assert not st.estimated and st.k == 0 and math.isnan(st.alpha_hat) and not st.skipped
    assert st.alpha == alpha == opt.tracker.value
    assert not torch.equal(flat_params(model), before)     # the update itself went ahead


def test_nonfinite_written_gradient_skips_and_restores_tracker():
    class Overflowing(LoopEngine):
        def write_weighted_grad(self, weights):
            super().write_weighted_grad(weights)
            self.params[0].grad[0, 0] = float("inf")
    model = mlp()
    opt = AHTGA(model, engine=Overflowing(model), estimator=EST)
    before = flat_params(model).clone()
    (x, y), = batches(1, B)
    with pytest.warns(RuntimeWarning, match="NaN or Inf in the written batch gradient"):
        st = opt.step(per_example_loss(model, x, y))
    assert st.skipped and torch.equal(flat_params(model), before)
    assert opt.tracker.count == 0 and opt.tracker.value == 2.0 and opt._step == 0
