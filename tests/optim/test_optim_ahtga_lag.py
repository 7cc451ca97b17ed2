"""AHTGA with ``estimate_lag=1``: step t uses the estimate up to step t-1's norms (computed on a
background thread), equals a hand-written loop, skips a bad step without losing the pending
estimate, and reports estimator errors at the next step."""
from types import SimpleNamespace

import pytest
import torch

from ahtga.control import make_exponent
from ahtga.control.tail_tracker import TailTracker
from ahtga.control.transforms import direction_coefficients
from ahtga.optim.ahtga import AHTGA, DEFAULT_ALPHA_CLAMP, ahtga_update
from ahtga.tail import hill
from optim_ahtga_kit import LoopEngine, batches, fixed_k_hill, mlp, per_example_loss

KW = dict(lr=0.05, betas=(0.8, 0.7), target=1.3, exponent="exact", min_samples=16, seed=5,
          window=1)   # one batch per estimate: the lag's bookkeeping is checked step by step


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_lagged_step_equals_a_hand_written_loop():
    data = batches(7, 32, seed=4)
    model = mlp(3)
    opt = AHTGA(model, engine=LoopEngine(model), estimator=fixed_k_hill(8), estimate_lag=1, **KW)
    stats = [opt.step(per_example_loss(model, x, y)) for x, y in data]

    ref = mlp(3)
    eng = LoopEngine(ref)
    tracker = TailTracker(fixed_k_hill(8), beta=0.7, min_samples=16, seed=5,
                          clamp=DEFAULT_ALPHA_CLAMP)
    rule = make_exponent("exact")
    bufs = [None] * len(eng.params)
    prev = None
    for t, (x, y) in enumerate(data):
        norms = eng.backward(per_example_loss(ref, x, y))
        alpha = tracker.value if prev is None else tracker.update(prev).alpha  # lag 1
        gamma, _ = rule.compute(alpha, 1.3)
        assert stats[t].gamma == gamma and stats[t].alpha == alpha
        eng.write_weighted_grad(direction_coefficients(norms, gamma, 1e-8) / norms.numel())
        with torch.no_grad():
            ahtga_update(eng.params, [p.grad for p in eng.params], bufs, lr=0.05, beta1=0.8)
        prev = norms
    assert stats[0].estimated is False and all(s.estimated for s in stats[1:])
    assert len({s.gamma for s in stats}) > 2          # the exponent did move
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("where", ["loss", "grad"])
def test_bad_step_is_skipped_and_the_pending_estimate_kept(where):
    data = batches(5, 32, seed=6)
    runs = []
    for bad in (False, True):
        model = mlp(2)
        opt = AHTGA(model, mode="fast", estimate_lag=1, **KW)
        stats = []
        for t, (x, y) in enumerate(data):
            if bad and t == 2:
                losses = per_example_loss(model, x, y)
                if where == "loss":
                    losses = losses * torch.tensor(float("nan"))
                else:   # finite losses, an infinite gradient
                    losses = losses + (model[0].weight.sum() * torch.tensor(float("inf"))) * 0.0 \
                        + model[0].bias[0] * torch.tensor(float("inf"))
                before = _params(model)
                with pytest.warns(RuntimeWarning, match="skipped"):
                    st = opt.step(losses)
                assert st.skipped and all(torch.equal(a, b) for a, b in zip(before, _params(model)))
            stats.append(opt.step(per_example_loss(model, x, y)).as_dict())
        runs.append((_params(model), stats, opt.state_dict()["ahtga"]["tracker"]["count"]))
    (p0, s0, c0), (p1, s1, c1) = runs
    assert c0 == c1 == 4
    assert s0 == s1   # the skipped step changed nothing, the estimate included
    assert all(torch.equal(a, b) for a, b in zip(p0, p1))


def test_estimator_error_surfaces_at_the_next_step():
    calls = []

    def flaky(x, *, seed):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("boom")
        return SimpleNamespace(alpha=float(hill(x, 8)), k=8)

    data = batches(4, 32, seed=8)
    model = mlp(1)
    opt = AHTGA(model, mode="fast", estimator=flaky, estimate_lag=1, **KW)
    opt.step(per_example_loss(model, *data[0]))
    opt.step(per_example_loss(model, *data[1]))   # starts the second estimate, which fails
    before = _params(model)
    with pytest.raises(ValueError, match="boom"):
        opt.step(per_example_loss(model, *data[2]))
    assert all(torch.equal(a, b) for a, b in zip(before, _params(model)))
    st = opt.step(per_example_loss(model, *data[2]))   # the estimate is redone, then succeeds
    assert st.estimated and not st.skipped
    assert 3 <= len(calls) <= 4   # the redone estimate; the next one may have started


def test_lagged_checkpoint_loads_into_an_unlagged_optimizer():
    data = batches(4, 32, seed=2)
    model = mlp(4)
    opt = AHTGA(model, mode="fast", estimate_lag=1, **KW)
    for x, y in data[:3]:
        opt.step(per_example_loss(model, x, y))
    sd = opt.state_dict()
    assert opt.state_dict()["ahtga"]["tracker"]["count"] == 2   # step 2's norms pending
    opt0 = AHTGA(model, mode="fast", **KW)
    opt0.load_state_dict(sd)
    assert opt0.tracker.count == 3     # the pending norms were folded in
    assert not opt0.step(per_example_loss(model, *data[3])).skipped


@pytest.mark.parametrize("bad,err", [(2, ValueError), (-1, ValueError), ("1", TypeError),
                                     (True, TypeError)])
def test_estimate_lag_must_be_0_or_1(bad, err):
    model = mlp(0)
    with pytest.raises(err, match="estimate_lag"):
        AHTGA(model, estimate_lag=bad)


def test_too_small_batch_is_an_error_with_the_lag():
    model = mlp(0)
    opt = AHTGA(model, mode="fast", estimate_lag=1, **KW)
    x, y = batches(1, 8, seed=1)[0]
    with pytest.raises(ValueError, match="min_samples=16"):
        opt.step(per_example_loss(model, x, y))


def test_background_estimate_leaves_the_callers_thread_count_alone(monkeypatch):
    """The double bootstrap runs single-threaded by setting torch's (process-wide) thread count
    on the main thread; on the background thread it must not touch it."""
    import importlib
    import threading

    db = importlib.import_module("ahtga.tail.double_bootstrap")   # the module, not the function

    calls = []
    real = torch.set_num_threads

    def spy(n):
        calls.append(threading.current_thread() is threading.main_thread())
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", spy)
    x = torch.rand(256, dtype=torch.float64).pow(-1 / 1.5)
    db.double_bootstrap(x, seed=0, n_boot=20)       # main thread: sets and restores
    assert calls == [True, True]
    calls.clear()
    t = threading.Thread(target=db.double_bootstrap, args=(x,), kwargs={"seed": 0, "n_boot": 20})
    t.start()
    t.join()
    assert calls == []
    model = mlp(0)
    opt = AHTGA(model, mode="fast", estimate_lag=1, estimator_options={"n_boot": 20}, **KW)
    for x_, y_ in batches(3, 64, seed=3):
        opt.step(per_example_loss(model, x_, y_))
    opt.load_state_dict(opt.state_dict())   # waits for the last background estimate
    assert calls == []
