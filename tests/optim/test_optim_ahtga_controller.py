"""AHTGA's controller defaults: the pooled estimate, the relative target, the achieved tail index
of the transformed norms, and what a skipped step leaves of them."""
import math
import warnings

import pytest
import torch

from ahtga.control import FixedExponent, RelativeTarget, regime_shares
from ahtga.optim.ahtga import AHTGA, DEFAULT_POOL_SIZE, DEFAULT_TARGET
from ahtga.tail import hill
from optim_ahtga_kit import LoopEngine, batches, fixed_k_hill, mlp, per_example_loss

B = 40


def test_defaults_pool_the_last_norms_and_hold_gamma_at_zero_during_the_warmup():
    model = mlp()
    seen = []

    def spy(x, *, seed):
        seen.append(x.numel())
        return fixed_k_hill(10)(x, seed=seed)
    opt = AHTGA(model, engine=LoopEngine(model), lr=0.01, estimator=spy, pool_size=120)
    assert isinstance(opt.target, RelativeTarget) and opt.target.base.value(0) == 0.9
    stats = [opt.step(per_example_loss(model, x, y)) for x, y in batches(6, B)]
    # no estimate before the pool of 120 norms is full (3 batches of 40), then 120 each time
    assert [s.estimated for s in stats] == [False, False, True, True, True, True]
    assert seen == [120] * 4
    # warm-up: alpha* follows alpha, so gamma = 0 and both are equal
    assert all(s.gamma == 0.0 and s.alpha_star == s.alpha for s in stats)
    assert DEFAULT_TARGET["warmup"] == opt.target.warmup


def test_default_pool_size_and_the_source_configuration():
    model = mlp()
    opt = AHTGA(model, engine=LoopEngine(model))
    assert opt.tracker.pool_size == DEFAULT_POOL_SIZE and opt.tracker.estimator == "hill_lepski"
    src = AHTGA(model, engine=LoopEngine(model), target=1.5, window=1, estimator="hill_db")
    assert src.tracker.pool_size is None and src.tracker.window == 1
    assert src.target.value(0) == 1.5
    with pytest.raises(ValueError, match=r"either `window`.*pool_size"):
        AHTGA(model, engine=LoopEngine(model), window=2, pool_size=64)


def test_relative_target_departs_after_the_warmup_and_both_branches_run():
    model = mlp()
    tgt = RelativeTarget(1.0, warmup=3, horizon=5)
    opt = AHTGA(model, engine=LoopEngine(model), lr=0.01, window=1, target=tgt,
                estimator=fixed_k_hill(8), exponent={"name": "quadratic", "c1": 0.25,
                                                     "c2": 0.25, "gamma_max": 0.5})
    stats = [opt.step(per_example_loss(model, x, y)) for x, y in batches(30, B, seed=3)]
    after = stats[3:]
    # alpha* is the median of the last 5 estimates: the smoothed alpha lies on both sides
    r = regime_shares(after)
    assert r["above"] > 0 and r["below"] > 0 and r["cap"] == 0
    assert any(s.gamma > 0 for s in after) and any(s.gamma < 0 for s in after)
    last = [s.alpha_hat for s in stats[-5:]]
    assert stats[-1].alpha_star == pytest.approx(sorted(last)[2])


def test_alpha_transformed_is_the_index_the_transform_achieved():
    # Hill is equivariant under powers: hill(x^(1+g)) = hill(x) / (1+g), and the median's scale
    # does not matter, so with one batch per estimate the achieved index is exact
    model = mlp()
    opt = AHTGA(model, engine=LoopEngine(model), lr=0.01, window=1, estimator="hill",
                estimator_options={"k": 10}, exponent=FixedExponent(0.5), target=1.5,
                alpha_clamp=(1e-3, 1e3), track_transformed=True)
    for x, y in batches(4, B):
        st = opt.step(per_example_loss(model, x, y))
        assert st.alpha_transformed == pytest.approx(st.alpha_hat / 1.5, rel=1e-9)
    off = AHTGA(model, engine=LoopEngine(model), window=1)
    x, y = next(iter(batches(1, B)))
    assert math.isnan(off.step(per_example_loss(model, x, y)).alpha_transformed)


def test_a_skipped_step_leaves_the_target_and_trackers_unchanged():
    model = mlp()
    opt = AHTGA(model, engine=LoopEngine(model), lr=0.01, pool_size=80,
                estimator=fixed_k_hill(8), target=RelativeTarget(0.9, warmup=2, horizon=3),
                track_transformed=True)
    for x, y in batches(4, B):
        opt.step(per_example_loss(model, x, y))
    before = opt.state_dict()["ahtga"]
    x, y = next(iter(batches(1, B, seed=9)))
    losses = per_example_loss(model, x, y) * torch.tensor([float("nan")] + [1.0] * (B - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        st = opt.step(losses)
    assert st.skipped and st.alpha_star == pytest.approx(opt.target.value(4))
    after = opt.state_dict()["ahtga"]
    assert after["target"] == before["target"] and after["step"] == before["step"]
    assert after["transformed_tracker"]["count"] == before["transformed_tracker"]["count"]


@pytest.mark.parametrize("lag", [0, 1])
def test_resume_with_the_defaults_is_bit_identical(lag):
    def run(split):
        model = mlp()
        kw = dict(engine=LoopEngine(model), lr=0.05, pool_size=80, estimate_lag=lag,
                  target=RelativeTarget(0.9, warmup=3, horizon=4), track_transformed=True)
        opt = AHTGA(model, **kw)
        data = list(batches(10, B, seed=4))
        out = []
        for t, (x, y) in enumerate(data):
            if t == split:
                sd = opt.state_dict()
                model2 = mlp(seed=5)
                model2.load_state_dict(model.state_dict())
                kw["engine"] = LoopEngine(model2)
                opt = AHTGA(model2, **kw)
                opt.load_state_dict(sd)
                model = model2
            out.append(opt.step(per_example_loss(model, x, y)).as_dict())
        return out, torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    ref, p_ref = run(split=-1)
    got, p_got = run(split=6)
    assert torch.equal(p_ref, p_got)
    for a, b in zip(ref, got):
        assert a.keys() == b.keys()
        for k in a:
            assert (a[k] == b[k]) or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])), k
