"""Tail monitor and the per-example probe: norms agree with the torch.func reference, the
optimizer's gradients are left untouched, the tail index separates heavy from light tails."""
import pytest
import torch
import torch.nn.functional as F

from ahtga.engine import PerExampleEngine
from ahtga.engine.reference import per_example_grads, per_example_norms
from ahtga.metrics import TailMonitor, probe_per_example


def _net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()


def _loss(o, y):
    return F.cross_entropy(o, y, reduction="none")


def test_probe_norms_match_reference_and_keep_grads():
    net = _net()
    x = torch.randn(40, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (40,))
    for p in net.parameters():
        p.grad = torch.full_like(p, 7.0)
    norms, grads = probe_per_example(net, _loss, x, y, want_grads=True)
    ref = per_example_grads(net, lambda o, t: F.cross_entropy(o, t), x, y)
    assert torch.allclose(norms.double(), per_example_norms(ref).double(), rtol=1e-5)
    for name, g in ref.items():
        assert torch.allclose(grads[name].double(), g, rtol=1e-5, atol=1e-10)
    assert all(bool((p.grad == 7.0).all()) for p in net.parameters())
    # the temporary engine removed its hooks: a later forward records nothing anywhere
    assert all(not m._forward_hooks for m in net.modules())


def test_probe_with_shared_engine_leaves_it_clean():
    net = _net()
    eng = PerExampleEngine(net)
    x = torch.randn(16, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (16,))
    n1, _ = probe_per_example(net, _loss, x, y, engine=eng)
    assert eng._pending == []  # released: no stale record reaches the optimizer's next backward
    n2 = eng.backward(_loss(net(x), y))
    assert torch.allclose(n1, n2)


def test_monitor_schedule_and_heavy_vs_light_tails():
    # a linear model with squared loss has ||g_i|| = |r_i| ||x_i||: Pareto(1) residuals give
    # heavy-tailed norms, Gaussian residuals light ones; the monitor's default estimator must order them.
    torch.manual_seed(1)
    n = 512
    x = torch.ones(n, 1, dtype=torch.float64)
    lin = torch.nn.Linear(1, 1, bias=False).double()
    torch.nn.init.zeros_(lin.weight)
    sq = lambda o, t: 0.5 * (o.squeeze(1) - t) ** 2  # noqa: E731
    g = torch.Generator().manual_seed(2)
    heavy = (torch.rand(n, generator=g, dtype=torch.float64) ** (-1.0 / 1.0))  # Pareto(alpha=1)
    light = torch.randn(n, generator=g, dtype=torch.float64)
    mh = TailMonitor(lin, sq, x, heavy, every=5, seed=0)
    ml = TailMonitor(lin, sq, x, light, every=5, seed=0)
    assert mh.maybe_measure(3) is None and mh.maybe_measure(5)["step"] == 5
    a_heavy = mh.measure(10)["alpha"]
    a_light = ml.measure(10)["alpha"]
    assert 0.6 < a_heavy < 1.6 and a_light > 2.0
    from ahtga.metrics.tail_monitor import NORM_ESTIMATOR
    assert mh.history[-1]["estimator"] == NORM_ESTIMATOR == "hill_lepski"
    assert len(mh.history) == 2
    with pytest.raises(ValueError, match="inputs"):
        TailMonitor(lin, sq, x[:4], heavy[:4])
