"""BatchNorm refusal, the batch-stat convention, eval-mode BatchNorm; hypothesis properties."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from ahtga.engine import PerExampleEngine, per_example_grads, per_example_norms
from engine_models import ce


def _bn_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 16, 5), nn.BatchNorm1d(5, affine=False),
                         nn.Linear(5, 3)).double()


def _batch(b=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(b, 3, 4, 4, generator=g, dtype=torch.float64),
            torch.randint(0, 3, (b,), generator=g))


def test_engine_batchnorm_refused_at_construction():
    with pytest.raises(RuntimeError, match=r"BatchNorm2d in training mode couples.*GroupNorm"):
        PerExampleEngine(_bn_net())


def test_engine_batchnorm_refused_at_forward_after_train():
    model = _bn_net().eval()
    eng = PerExampleEngine(model)
    model.train()
    with pytest.raises(RuntimeError, match="batchnorm='batch-stat'"):
        model(_batch()[0])
    eng.remove()


def test_engine_batchnorm_eval_mode_is_exact():
    model = _bn_net()
    model(_batch(seed=3)[0])  # non-trivial running statistics
    model.eval()
    x, y = _batch()
    eng = PerExampleEngine(model)
    norms = eng.backward(ce(model(x), y))
    ref = per_example_norms(per_example_grads(model, lambda o, t: ce(o, t).sum(), x, y))
    torch.testing.assert_close(norms, ref, rtol=1e-5, atol=0)


def test_engine_batchnorm_batch_stat_convention():
    """Per-example terms sum to the batch gradient; BN weight terms use batch statistics."""
    model = _bn_net()
    x, y = _batch()
    eng = PerExampleEngine(model, batchnorm="batch-stat")
    norms = eng.backward(ce(model(x), y))
    assert bool(torch.isfinite(norms).all()) and bool((norms > 0).all())
    w = torch.linspace(0.1, 1.0, 6, dtype=torch.float64)
    eng.write_weighted_grad(torch.ones(6, dtype=torch.float64))
    ones = {n: p.grad.clone() for n, p in model.named_parameters()}
    per = eng.per_example_grads()
    model.zero_grad()
    ce(model(x), y).sum().backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(ones[n], p.grad, rtol=1e-8, atol=1e-12)
    # BN weight term of example i: sum over positions of xhat_i * g_i, xhat from batch stats
    eng.remove()
    bn = model[1]
    h = model[0](x).detach()
    xhat = (h - h.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        h.var((0, 2, 3), unbiased=False, keepdim=True) + bn.eps)
    z = bn(h)
    z.retain_grad()
    ce(model[2:](z), y).sum().backward()
    torch.testing.assert_close(per["1.weight"], (xhat * z.grad).sum((2, 3)), rtol=1e-8,
                               atol=1e-12)
    torch.testing.assert_close(per["1.bias"], z.grad.sum((2, 3)), rtol=1e-8, atol=1e-12)
    torch.testing.assert_close(torch.tensordot(w, per["1.weight"], 1),
                               torch.tensordot(w, (xhat * z.grad).sum((2, 3)), 1))


@given(b=st.integers(1, 9), seed=st.integers(0, 2 ** 16), t=st.integers(1, 5))
def test_engine_property_random_batches(b, seed, t):
    """Random batch sizes, sequence lengths and weights: norms, weighted and sign grads."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5), nn.Tanh(), nn.Linear(5, 3)).double()
    x = torch.randn(b, t, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (b, t), generator=g)
    eng = PerExampleEngine(model, chunk_elems=int(torch.randint(1, 200, (1,), generator=g)))
    norms = eng.backward(ce(model(x), y))
    ref = per_example_grads(model, lambda o, tt: ce(o, tt).sum(), x, y)
    torch.testing.assert_close(norms, per_example_norms(ref), rtol=1e-5, atol=0)
    w = torch.randn(b, generator=g, dtype=torch.float64)
    eng.write_weighted_grad(w)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, torch.tensordot(w, ref[n], 1), rtol=1e-7, atol=1e-12)
    eng.write_sign_grad(w)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, torch.tensordot(w, ref[n].sign(), 1),
                                   rtol=1e-7, atol=1e-12)
