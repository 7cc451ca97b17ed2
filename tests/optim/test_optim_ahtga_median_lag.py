"""AHTGA with ``median_lag=1``: the transform's reference scale at step t is the median of step
t-1's norms (step 0: its own), so with ``estimate_lag=1`` and ``betas=(0, b2)`` a step's weights
are fixed by earlier batches (the configuration of the paper's Statement 4).  Checked against a
hand-written loop, through checkpoints, skipped steps and bad input."""
import math

import pytest
import torch

from ahtga.control import make_exponent
from ahtga.control.tail_tracker import TailTracker
from ahtga.control.transforms import direction_coefficients, median, sign_coefficients
from ahtga.optim.ahtga import AHTGA, ahtga_update
from optim_ahtga_kit import LoopEngine, batches, fixed_k_hill, mlp, per_example_loss

# the configuration of Statement 4: no momentum, lagged exponent and lagged median
KW = dict(lr=0.05, betas=(0.0, 0.7), target=1.3, exponent="exact", min_samples=16, seed=5,
          window=1)


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("transform", ["direction", "sign"])
def test_lagged_median_equals_a_hand_written_loop(transform):
    data = batches(6, 32, seed=4)
    model = mlp(3)
    opt = AHTGA(model, engine=LoopEngine(model), estimator=fixed_k_hill(8), estimate_lag=1,
                median_lag=1, transform=transform, **KW)
    stats = [opt.step(per_example_loss(model, x, y)) for x, y in data]

    ref = mlp(3)
    eng = LoopEngine(ref)
    tracker = TailTracker(fixed_k_hill(8), beta=0.7, min_samples=16, seed=5)
    rule = make_exponent("exact")
    bufs = [None] * len(eng.params)
    prev = None
    for t, (x, y) in enumerate(data):
        norms = eng.backward(per_example_loss(ref, x, y))
        alpha = tracker.value if prev is None else tracker.update(prev).alpha
        gamma, _ = rule.compute(alpha, 1.3)
        assert stats[t].gamma == gamma
        m = median(norms) if prev is None else median(prev)   # step 0: its own median
        if transform == "direction":
            eng.write_weighted_grad(direction_coefficients(norms, gamma, 1e-8, median=m)
                                    / norms.numel())
        else:
            eng.write_sign_grad(sign_coefficients(norms, gamma, 1e-8, median=m) / norms.numel())
        with torch.no_grad():
            ahtga_update(eng.params, [p.grad for p in eng.params], bufs, lr=0.05, beta1=0.0)
        prev = norms
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-12)


def _first_weight_at_step_1(median_lag: int, scale: float) -> float:
    """Example 0's weight at step 1 (gamma fixed at 0.7, estimate lagged) when the other
    examples' inputs of that batch are multiplied by ``scale`` (their norms and median move)."""
    data = batches(2, 32, seed=8)
    x1, y1 = data[1]
    model = mlp(1)
    opt = AHTGA(model, engine=LoopEngine(model), estimate_lag=1, median_lag=median_lag,
                exponent={"name": "fixed", "gamma": 0.7},
                **{k: v for k, v in KW.items() if k != "exponent"})
    opt.step(per_example_loss(model, *data[0]))
    xs = x1.clone()
    xs[1:] *= scale
    captured = {}
    orig = opt.engine.write_weighted_grad
    opt.engine.write_weighted_grad = lambda w: (captured.setdefault("w", w.clone()), orig(w))[1]
    opt.step(per_example_loss(model, xs, y1))
    return captured["w"][0].item()


def test_a_step_weights_do_not_depend_on_its_own_batch_median():
    """With both lags, the coefficient of example i at step t >= 1 is a function of ||g_i|| and
    of earlier batches only: replacing the rest of the batch changes nothing for example i."""
    seen = [_first_weight_at_step_1(1, scale) for scale in (1.0, 50.0)]
    assert seen[0] == pytest.approx(seen[1], rel=1e-12)
    # the same run without the median lag: example 0's weight moves with the batch median
    moved = [_first_weight_at_step_1(0, scale) for scale in (1.0, 50.0)]
    assert abs(moved[0] - moved[1]) > 1e-3 * abs(moved[0])


def test_checkpoint_resume_is_bit_identical_with_the_median_lag():
    data = batches(8, 32, seed=3)
    full = mlp(2)
    opt = AHTGA(full, estimate_lag=1, median_lag=1, **KW)
    for x, y in data:
        opt.step(per_example_loss(full, x, y))

    part = mlp(2)
    opt1 = AHTGA(part, estimate_lag=1, median_lag=1, **KW)
    for x, y in data[:4]:
        opt1.step(per_example_loss(part, x, y))
    sd = opt1.state_dict()
    assert "median_prev" in sd["ahtga"]
    resumed = mlp(99)
    resumed.load_state_dict(part.state_dict())
    opt2 = AHTGA(resumed, estimate_lag=1, median_lag=1, **KW)
    opt2.load_state_dict(sd)
    for x, y in data[4:]:
        opt2.step(per_example_loss(resumed, x, y))
    for p, q in zip(full.parameters(), resumed.parameters()):
        assert torch.equal(p, q)


def test_the_stored_median_is_the_last_completed_steps():
    data = batches(3, 32, seed=2)
    model = mlp(0)
    opt = AHTGA(model, engine=LoopEngine(model), median_lag=1, **KW)
    assert "median_prev" not in opt.state_dict()["ahtga"]
    for x, y in data:
        losses = per_example_loss(model, x, y)
        norms = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(
            l, list(model.parameters()), retain_graph=True)]).norm() for l in losses]).detach()
        opt.step(losses)
        assert float(opt.state_dict()["ahtga"]["median_prev"]) == pytest.approx(
            float(median(norms)), rel=1e-12)


def test_a_skipped_step_keeps_the_previous_median():
    data = batches(3, 32, seed=6)
    model = mlp(2)
    opt = AHTGA(model, median_lag=1, **KW)
    opt.step(per_example_loss(model, *data[0]))
    before = float(opt.state_dict()["ahtga"]["median_prev"])
    with pytest.warns(RuntimeWarning, match="skipped"):
        st = opt.step(per_example_loss(model, *data[1]) * torch.tensor(float("nan")))
    assert st.skipped
    assert float(opt.state_dict()["ahtga"]["median_prev"]) == before


def test_median_lag_zero_is_the_default_and_unchanged():
    data = batches(4, 32, seed=9)
    runs = []
    for kw in ({}, {"median_lag": 0}):
        model = mlp(4)
        opt = AHTGA(model, **KW, **kw)
        for x, y in data:
            opt.step(per_example_loss(model, x, y))
        assert "median_prev" not in opt.state_dict()["ahtga"]
        runs.append(_params(model))
    assert all(torch.equal(a, b) for a, b in zip(*runs))


@pytest.mark.parametrize("bad", [2, -1, 0.5, "1", True])
def test_bad_median_lag_names_the_argument(bad):
    with pytest.raises((ValueError, TypeError), match="median_lag"):
        AHTGA(mlp(0), median_lag=bad)


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "x", torch.ones(2)])
def test_bad_external_median_names_the_argument(bad):
    with pytest.raises(ValueError, match="median"):
        direction_coefficients(torch.rand(8) + 0.1, 0.5, 1e-8, median=bad)


def test_external_median_gives_the_formula():
    x = torch.rand(16, dtype=torch.float64) + 0.05
    for m in (0.3, torch.tensor(2.0), 1):
        got = direction_coefficients(x, 0.4, 1e-8, median=m)
        want = (x / (1e-8 + float(m))) ** 0.4
        assert torch.allclose(got, want, rtol=1e-12)
        got_s = sign_coefficients(x, -0.3, 0.0, median=m, scale=0.5)
        assert torch.allclose(got_s, 0.5 * x * (x / float(m)) ** -0.3, rtol=1e-12)
    # without it, the batch median
    assert torch.allclose(direction_coefficients(x, 0.4, 0.0),
                          direction_coefficients(x, 0.4, 0.0, median=float(median(x))))
    with pytest.raises(ValueError, match="`median` is 0"):
        direction_coefficients(x, 0.4, 0.0, median=0.0)
