"""The public registration point: a user's rule for their own layer (``engine_models.Gate``,
registered with ``register_rule``) replaces the fallback, is exact, and serves both protocols;
registration refuses bad input and silent overrides; every built-in layer type is registered."""
from __future__ import annotations

import copy
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ahtga.engine import (PerExampleEngine, per_example_grads, per_example_norms, register_rule,
                          registered_types, rule_for)
from ahtga.optim.ahtga import AHTGA
from engine_models import Gate, GateNet, ce


def _data(b=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 4, 6, generator=g, dtype=torch.float64), torch.randint(0, 3, (b,),
                                                                                 generator=g)


def test_registered_rule_is_used_without_fallback_and_is_exact():
    torch.manual_seed(0)
    model = GateNet().double()
    x, y = _data()
    assert rule_for(model.gate).fn.__name__ == "gate_rule"
    ref = per_example_grads(model, lambda o, t: ce(o, t).sum(), x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the fallback would warn
        eng = PerExampleEngine(model)
        norms = eng.backward(ce(model(x), y))
    assert model.gate not in eng._fallback_params
    torch.testing.assert_close(norms, per_example_norms(ref), rtol=1e-10, atol=0)
    got = eng.per_example_grads()
    for n in ("gate.w", "gate.b"):
        torch.testing.assert_close(got[n], ref[n], rtol=1e-10, atol=1e-12)


def test_registered_rule_serves_both_optimizer_protocols():
    torch.manual_seed(1)
    m1 = GateNet().double()
    m2 = copy.deepcopy(m1)
    kw = dict(lr=0.1, min_samples=8, estimator="hill")
    kw["estimator_options"] = {"k": 4}
    o1, o2 = AHTGA(m1, **kw), AHTGA(m2, loss_reduction="mean", **kw)
    for t in range(2):
        x, y = _data(12, seed=t)
        o1.step(ce(m1(x), y))
        o2.zero_grad()
        F.cross_entropy(m2(x), y).backward()
        o2.step()
    for p, q in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    assert not torch.equal(m1.gate.w, GateNet().double().gate.w)


def test_registration_refuses_bad_input_and_silent_overrides():
    class Mine(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="nn.Module subclasses"):
        register_rule(int)
    with pytest.raises(TypeError, match="nn.Module subclasses"):
        register_rule()
    with pytest.raises(ValueError, match="already registered.*replace=True"):
        register_rule(Gate)(lambda ctx: [])
    with pytest.raises(ValueError, match="already registered"):
        register_rule(nn.Linear)(lambda ctx: [])
    register_rule(Mine)(lambda ctx: [])
    register_rule(Mine, replace=True)(lambda ctx: [])
    assert rule_for(Mine()) is not None


def test_subclass_with_its_own_forward_falls_back():
    class Doubled(nn.Linear):
        def forward(self, x):
            return super().forward(2 * x)

    class Plain(nn.Linear):
        pass

    assert rule_for(Doubled(2, 2)) is None
    assert rule_for(Plain(2, 2)) is rule_for(nn.Linear(2, 2))


def test_every_built_in_layer_type_is_registered():
    types = set(registered_types())
    assert {nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding, nn.LayerNorm, nn.RMSNorm,
            nn.GroupNorm, nn.modules.batchnorm._BatchNorm} <= types
    assert rule_for(nn.BatchNorm1d(3)) is rule_for(nn.BatchNorm2d(3))
