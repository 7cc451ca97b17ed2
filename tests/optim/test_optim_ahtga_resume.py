"""Resuming AHTGA from a checkpoint continues bit-identically on CPU."""
import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ahtga.control import ConstantTarget, ValidationTarget
from ahtga.optim.ahtga import AHTGA
from ahtga.tail import hill
from optim_ahtga_kit import LoopEngine, batches, mlp, per_example_loss


def seeded_estimator(x, *, seed):
    """Randomised on purpose: Hill at k = 8 on a random half of the sample drawn from ``seed``,
    so a resume that lost the estimator's RNG state would diverge."""
    idx = np.random.default_rng(seed).choice(x.numel(), x.numel() // 2, replace=False)
    return SimpleNamespace(alpha=float(hill(x[torch.from_numpy(idx)], 8)), k=8)


def _estimators():
    out = [seeded_estimator]
    try:
        from ahtga.tail import ESTIMATORS
        if "hill_db" in ESTIMATORS:
            out.append("hill_db")
    except ImportError:
        pass
    return out


def build(kind, estimator, lag=0):
    model = mlp(7)
    target = ValidationTarget(ConstantTarget(1.6), eval_frequency=2, delta=0.2)
    kw = dict(lr=0.05, betas=(0.8, 0.7), weight_decay=1e-3, target=target, exponent="exact",
              estimator=estimator, window=3, min_samples=16, seed=11, estimate_lag=lag)
    if estimator == "hill_db":
        kw["estimator_options"] = {"n_boot": 50}
    if kind == "loop":
        return model, AHTGA(model, engine=LoopEngine(model), **kw)
    return model, AHTGA(model, mode=kind, **kw)


def run(model, opt, data, start):
    for t, (x, y) in enumerate(data, start=start):
        st = opt.step(per_example_loss(model, x, y))
        assert not st.skipped
        if t % 2 == 1:   # validation reports drive the schedule's state
            with torch.no_grad():
                opt.target.report(t + 1, float(per_example_loss(model, x, y).mean()))


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: getattr(e, "__name__", e))
@pytest.mark.parametrize("kind,lag", [("loop", 0), ("fast", 0), ("fast", 1)])
def test_resume_is_bit_identical(kind, lag, estimator):
    if kind == "fast":
        pytest.importorskip("ahtga.engine")
    data = batches(10, 24, seed=3)
    model, opt = build(kind, estimator, lag)
    run(model, opt, data[:5], 0)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    run(model, opt, data[5:], 5)

    buf.seek(0)
    ck = torch.load(buf)
    model2, opt2 = build(kind, estimator, lag)
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["opt"])
    # with the lag, step 4's norms are still to be estimated: they travel in the checkpoint
    assert opt2.tracker.count == 5 - lag and len(opt2.tracker._buffer) == 2
    assert ("pending_norms" in ck["opt"]["ahtga"]) == bool(lag)
    run(model2, opt2, data[5:], 5)

    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(p, q)
    # (the checkpointed tracker: with the lag a background estimate may still be running)
    assert opt.state_dict()["ahtga"]["tracker"]["ema"] == opt2.state_dict()["ahtga"]["tracker"]["ema"]
    assert opt.target.state_dict() == opt2.target.state_dict()
    assert opt.target.offset != 0.0 or opt.target.history  # the schedule did carry state
    for p, q in zip(model.parameters(), model2.parameters()):
        assert torch.equal(opt.state[p]["momentum_buffer"], opt2.state[q]["momentum_buffer"])


def test_resume_without_estimator_state_would_differ():
    """The check above can fail: a fresh optimizer given only the model weights diverges."""
    data = batches(8, 24, seed=3)
    model, opt = build("loop", seeded_estimator)
    run(model, opt, data[:4], 0)
    sd = model.state_dict()
    run(model, opt, data[4:], 4)
    model2, opt2 = build("loop", seeded_estimator)
    model2.load_state_dict(sd)
    run(model2, opt2, data[4:], 4)
    assert not all(torch.equal(p, q) for p, q in zip(model.parameters(), model2.parameters()))


def test_load_rejects_foreign_state_dict():
    model, opt = build("loop", seeded_estimator)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lacks the 'ahtga' entry"):
        opt.load_state_dict(sgd.state_dict())
