"""The standard protocol: ``loss.backward(); opt.step()`` with a mean- or sum-reduced loss (the
per-example quantities gathered during that backward) equals the three-line
``opt.step(per_example_losses)``; ``step(closure)``; gradient accumulation refused; autocast."""
from __future__ import annotations

import copy
import io

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from ahtga.optim.ahtga import AHTGA
from optim_ahtga_kit import fixed_k_hill

EST = fixed_k_hill(6)


class SharedTwice(nn.Module):
    """One Linear called twice (weight sharing) and a bare-parameter layer (fallback rule)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.s = nn.Parameter(torch.linspace(0.5, 1.5, 6))
        self.out = nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.tanh(self.a(torch.tanh(self.a(x)))) * self.s)


class EmbedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(9, 4, padding_idx=0)
        self.ln = nn.LayerNorm(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, idx):
        return self.fc(self.ln(self.emb(idx)).mean(1))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 5, batch_first=True)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[0][:, -1])


def _img(b, g):
    return torch.randn(b, 3, 6, 6, generator=g, dtype=torch.float64)


# (name, model factory, input factory (B, generator) -> x, engine options)
SETTINGS = [
    ("mlp-inplace-relu", lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(inplace=True),
                                               nn.Linear(8, 3)),
     lambda b, g: torch.randn(b, 5, generator=g, dtype=torch.float64), {}),
    ("cnn-groupnorm", lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.GroupNorm(2, 4),
                                            nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2), nn.Flatten(),
                                            nn.Linear(16, 3)), _img, {}),
    ("shared-and-fallback", SharedTwice,
     lambda b, g: torch.randn(b, 6, generator=g, dtype=torch.float64), {}),
    ("embedding-layernorm", EmbedNet,
     lambda b, g: torch.randint(0, 9, (b, 5), generator=g), {}),
    ("lstm-batched", LSTMNet,
     lambda b, g: torch.randn(b, 4, 3, generator=g, dtype=torch.float64), {}),
    ("batchnorm-batch-stat", lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4),
                                                   nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)),
     _img, {"batchnorm": "batch-stat"}),
]
IDS = [s[0] for s in SETTINGS]


def _build(setting, seed):
    _, make_model, _, _ = setting
    torch.manual_seed(seed)
    return make_model().double()


def _batch(setting, b, seed):
    g = torch.Generator().manual_seed(seed)
    x = setting[2](b, g)
    return x, torch.randint(0, 3, (b,), generator=g)


def _opt(model, setting, **kw):
    # a constant target and this batch's norms: gamma != 0 from the first step
    kw = {"lr": 0.1, "estimator": EST, "min_samples": 8, "exponent": "exact", "target": 1.5,
          "window": 1, **setting[3], **kw}
    return AHTGA(model, **kw)


def _reduce(losses, reduction):
    return losses.mean() if reduction == "mean" else losses.sum()


def _flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=14, deadline=None)
@given(idx=st.integers(0, len(SETTINGS) - 1), b=st.integers(9, 33), seed=st.integers(0, 2**16),
       reduction=st.sampled_from(["mean", "sum"]),
       transform=st.sampled_from(["direction", "sign_normalized"]), lag=st.integers(0, 1))
def test_both_protocols_give_the_same_parameters(idx, b, seed, reduction, transform, lag):
    setting = SETTINGS[idx]
    m1 = _build(setting, seed)
    m2 = copy.deepcopy(m1)
    kw = dict(transform=transform, estimate_lag=lag, weight_decay=0.01)
    o1 = _opt(m1, setting, **kw)
    o2 = _opt(m2, setting, loss_reduction=reduction, **kw)
    for step in range(3):
        x, y = _batch(setting, b, seed + step)
        s1 = o1.step(F.cross_entropy(m1(x), y, reduction="none"))
        o2.zero_grad()
        _reduce(F.cross_entropy(m2(x), y, reduction="none"), reduction).backward()
        s2 = o2.step()
        assert s1.n == s2.n == b and not s1.skipped and not s2.skipped and s1.gamma != 0
        assert s2.gamma == pytest.approx(s1.gamma, rel=1e-9, abs=1e-12)
        assert s2.q50 == pytest.approx(s1.q50, rel=1e-9)
        torch.testing.assert_close(_flat(m2), _flat(m1), rtol=1e-9, atol=1e-11,
                                   msg=f"{setting[0]} step {step}")


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))


def _data(step, b=16):
    g = torch.Generator().manual_seed(100 + step)
    return torch.randn(b, 5, generator=g), torch.randint(0, 3, (b,), generator=g)


def _kw(**kw):
    return {"lr": 0.1, "estimator": EST, "min_samples": 8, "target": 1.5, "window": 1, **kw}


def test_closure_step_equals_backward_then_step():
    m1, m2 = _mlp(), _mlp()
    o1 = AHTGA(m1, loss_reduction="mean", **_kw())
    o2 = AHTGA(m2, loss_reduction="mean", **_kw())
    for t in range(3):
        x, y = _data(t)
        o1.zero_grad()
        F.cross_entropy(m1(x), y).backward()
        stats = o1.step()

        def closure():
            o2.zero_grad()
            loss = F.cross_entropy(m2(x), y)
            loss.backward()
            return loss

        loss = o2.step(closure)
        assert isinstance(loss, torch.Tensor) and loss.ndim == 0
        assert o2.last_stats.gamma == stats.gamma
        assert torch.equal(_flat(m1), _flat(m2))


def test_three_line_call_works_on_the_standard_protocol_too():
    m1, m2 = _mlp(), _mlp()
    o1 = AHTGA(m1, loss_reduction="mean", **_kw())
    o2 = AHTGA(m2, **_kw())
    for t in range(3):
        x, y = _data(t)
        o1.step(F.cross_entropy(m1(x), y, reduction="none"))
        o2.step(F.cross_entropy(m2(x), y, reduction="none"))
        torch.testing.assert_close(_flat(m1), _flat(m2), rtol=1e-5, atol=1e-7)


def test_gradient_accumulation_is_refused_with_a_clear_error():
    m = _mlp()
    opt = AHTGA(m, loss_reduction="mean", **_kw())
    before = _flat(m)
    for t in range(2):                       # two backwards, no step in between
        x, y = _data(t)
        F.cross_entropy(m(x), y).backward()
    with pytest.raises(RuntimeError, match="gradient accumulation is not supported"):
        opt.step()
    assert torch.equal(_flat(m), before)
    x, y = _data(5)                           # the next step works again
    opt.zero_grad()
    F.cross_entropy(m(x), y).backward()
    assert not opt.step().skipped


def test_zero_grad_between_backwards_starts_a_new_step():
    """A backward, zero_grad, another backward, step: only the last backward counts (as for
    torch.optim), and zero_grad between forward and backward keeps the forward."""
    m1, m2 = _mlp(), _mlp()
    o1 = AHTGA(m1, loss_reduction="sum", **_kw())
    o2 = AHTGA(m2, loss_reduction="sum", **_kw())
    x0, y0 = _data(0)
    x1, y1 = _data(1)
    F.cross_entropy(m1(x0), y0, reduction="sum").backward()
    out = m1(x1)
    o1.zero_grad()
    F.cross_entropy(out, y1, reduction="sum").backward()
    o1.step()
    o2.zero_grad()
    F.cross_entropy(m2(x1), y1, reduction="sum").backward()
    o2.step()
    assert torch.equal(_flat(m1), _flat(m2))


def test_step_without_backward_or_without_declared_reduction_raises():
    m = _mlp()
    with pytest.raises(RuntimeError, match="no backward"):
        AHTGA(m, loss_reduction="mean", **_kw()).step()
    opt = AHTGA(_mlp(), **_kw())
    with pytest.raises(RuntimeError, match="loss_reduction='mean'"):
        opt.step()
    with pytest.raises(ValueError, match="loss_reduction"):
        AHTGA(_mlp(), loss_reduction="none", **_kw())
    with pytest.raises(ValueError, match="mode='fast'"):
        AHTGA(_mlp(), loss_reduction="mean", mode="reference", **_kw())


def test_frozen_and_unused_parameters_untouched_on_the_standard_protocol():
    m = _mlp()
    extra = nn.Linear(3, 3)
    model = nn.ModuleDict({"net": m, "extra": extra})
    opt = AHTGA(model, loss_reduction="mean", weight_decay=0.1, **_kw())
    before = [p.detach().clone() for p in extra.parameters()]
    m[0].requires_grad_(False)
    frozen = [p.detach().clone() for p in m[0].parameters()]
    for t in range(3):
        x, y = _data(t)
        opt.zero_grad()
        F.cross_entropy(m(x), y).backward()
        opt.step()
    assert all(torch.equal(p, q) for p, q in zip(extra.parameters(), before))
    assert all(torch.equal(p, q) for p, q in zip(m[0].parameters(), frozen))


def test_state_dict_resume_is_bit_identical_on_the_standard_protocol():
    def run(model, opt, steps):
        for t in steps:
            x, y = _data(t)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

    m = _mlp()
    opt = AHTGA(m, loss_reduction="mean", estimate_lag=1, **_kw())
    run(m, opt, range(3))
    buf = io.BytesIO()
    torch.save({"model": m.state_dict(), "opt": opt.state_dict()}, buf)
    run(m, opt, range(3, 6))
    buf.seek(0)
    ck = torch.load(buf)
    m2 = _mlp(seed=5)
    m2.load_state_dict(ck["model"])
    opt2 = AHTGA(m2, loss_reduction="mean", estimate_lag=1, **_kw())
    opt2.load_state_dict(ck["opt"])
    run(m2, opt2, range(3, 6))
    assert torch.equal(_flat(m), _flat(m2))


@pytest.mark.parametrize("protocol", ["standard", "three-line"])
def test_autocast_bf16_on_cpu(protocol):
    """Under torch.autocast("cpu", bfloat16) both protocols step like the float32 run to
    bfloat16 accuracy (relative error of the parameter change below 5e-2)."""
    torch.manual_seed(0)
    conv = lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),  # noqa: E731
                                 nn.Flatten(), nn.Linear(4 * 36, 3))
    m_ref = conv()
    m_bf = copy.deepcopy(m_ref)
    start = _flat(m_ref)
    kw = _kw(loss_reduction="mean") if protocol == "standard" else _kw()
    o_ref, o_bf = AHTGA(m_ref, **kw), AHTGA(m_bf, **kw)
    g = torch.Generator().manual_seed(3)
    for _ in range(2):
        x, y = torch.randn(24, 3, 6, 6, generator=g), torch.randint(0, 3, (24,), generator=g)
        for model, opt, cast in ((m_ref, o_ref, False), (m_bf, o_bf, True)):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cast):
                out = model(x)
                assert out.dtype == (torch.bfloat16 if cast else torch.float32)
                losses = F.cross_entropy(out.float(), y, reduction="none")
            if protocol == "standard":
                opt.zero_grad()
                losses.mean().backward()
                assert not opt.step().skipped
            else:
                assert not opt.step(losses).skipped
    d_ref, d_bf = _flat(m_ref) - start, _flat(m_bf) - start
    assert float((d_bf - d_ref).norm() / d_ref.norm()) < 5e-2


def test_nonfinite_loss_skips_the_step_on_the_standard_protocol():
    m = _mlp()
    opt = AHTGA(m, loss_reduction="mean", **_kw())
    before = _flat(m)
    x, y = _data(0)
    x[3] = float("nan")
    opt.zero_grad()
    F.cross_entropy(m(x), y).backward()
    with pytest.warns(RuntimeWarning, match="skipped"):
        assert opt.step().skipped
    assert torch.equal(_flat(m), before)
    x, y = _data(1)
    opt.zero_grad()
    F.cross_entropy(m(x), y).backward()
    assert not opt.step().skipped and not torch.equal(_flat(m), before)
