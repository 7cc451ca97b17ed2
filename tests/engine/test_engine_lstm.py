"""Batched exact per-example gradients of nn.LSTM (ahtga.engine.lstm) against the generic
torch.func fallback, call by call, and against torch.func on whole models through the engine."""
import warnings

import pytest
import torch
from torch import nn

from ahtga.engine import PerExampleEngine
from ahtga.engine import lstm as L
from ahtga.engine.fallback import fallback_grads, output_batch_dims
from ahtga.engine.reference import per_example_grads
from ahtga.models.lm import LSTMLM


def _names(m):
    return [n for n, p in m.named_parameters() if p.requires_grad]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_call_matches_generic_fallback(batch_first, with_state, bias):
    torch.manual_seed(0)
    B, T, D, H, layers = 5, 7, 4, 6, 2
    m = nn.LSTM(D, H, layers, batch_first=batch_first, bias=bias).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    if not batch_first:
        x = x.transpose(0, 1).contiguous()
    args = (x,)
    if with_state:
        args = (x, (torch.randn(layers, B, H, dtype=torch.float64), torch.randn(layers, B, H, dtype=torch.float64)))
    out, (h, c) = m(*args)
    gouts = [torch.randn_like(out), torch.randn_like(h), None if with_state else torch.randn_like(c)]
    assert L.supported(m, args, {})
    got = L.per_example_grads(m, _names(m), args, {}, gouts, B)
    want = fallback_grads(m, _names(m), args, {}, gouts, output_batch_dims(m, 3), B)
    assert set(got) == set(want) == set(_names(m))
    for n in want:
        torch.testing.assert_close(got[n], want[n], rtol=1e-9, atol=1e-11)


def test_unsupported_variants_keep_the_generic_fallback():
    x = torch.randn(3, 4, 2)
    assert not L.supported(nn.LSTM(2, 3, bidirectional=True), (x,), {})
    assert not L.supported(nn.LSTM(2, 4, proj_size=2), (x,), {})
    drop = nn.LSTM(2, 3, 2, dropout=0.5)
    assert not L.supported(drop, (x,), {}) and L.supported(drop.eval(), (x,), {})
    assert not L.supported(nn.GRU(2, 3), (x,), {})
    packed = nn.utils.rnn.pack_padded_sequence(x, [4, 3, 2], batch_first=True)
    assert not L.supported(nn.LSTM(2, 3, batch_first=True), (packed,), {})

    class Custom(nn.LSTM):
        def forward(self, x, hx=None):
            return super().forward(2 * x, hx)
    assert not L.supported(Custom(2, 3), (x,), {})


@pytest.mark.parametrize("mode", ["norms", "weighted"])
def test_engine_on_the_lstm_lm_matches_torch_func(mode):
    """The whole LM (embedding, 2-layer LSTM, head) through the engine: per-example norms and
    the weighted gradient equal torch.func's, and no fallback warning is raised for the LSTM."""
    torch.manual_seed(1)
    V, B, T = 50, 6, 9
    model = LSTMLM(V, emb_dim=8, hidden=10, layers=2).double()
    ids = torch.randint(0, V, (B, T + 1))
    x, y = ids[:, :-1], ids[:, 1:]

    def lf(out, t):
        return nn.functional.cross_entropy(out.transpose(1, 2), t, reduction="none").mean(1).sum()
    ref = per_example_grads(model, lf, x, y)
    eng = PerExampleEngine(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # no "no fast per-example rule" warning
        losses = nn.functional.cross_entropy(model(x).transpose(1, 2), y, reduction="none").mean(1)
        norms = eng.backward(losses)
    want = torch.sqrt(sum(g.reshape(B, -1).pow(2).sum(1) for g in ref.values()))
    torch.testing.assert_close(norms, want, rtol=1e-8, atol=1e-10)
    if mode == "weighted":
        w = torch.rand(B, dtype=torch.float64)
        eng.write_weighted_grad(w)
        for n, p in model.named_parameters():
            torch.testing.assert_close(p.grad, torch.einsum("b,b...->...", w, ref[n]), rtol=1e-8, atol=1e-10)
