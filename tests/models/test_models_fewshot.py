"""Prototypical Networks and MAML against hand derivations on toy problems."""
import pytest
import torch
from torch import nn

from ahtga.data import Episode
from ahtga.models import MAML, Conv4, ProtoNet, maml_adapt, prototypes, prototypical_loss


def test_protonet_loss_on_toy_episode():
    s = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [10.0, 2.0]])
    sy = torch.tensor([0, 0, 1, 1])
    q = torch.tensor([[1.0, 1.0], [9.0, 1.0]])
    qy = torch.tensor([0, 0])
    assert torch.equal(prototypes(s, sy), torch.tensor([[1.0, 0.0], [10.0, 1.0]]))
    # distances^2: q0 -> (1, 81), q1 -> (65, 1)
    loss, acc = prototypical_loss(s, sy, q, qy)
    l0 = -torch.log_softmax(torch.tensor([-1.0, -81.0]), 0)[0]
    l1 = -torch.log_softmax(torch.tensor([-65.0, -1.0]), 0)[0]
    assert float(loss) == pytest.approx(float((l0 + l1) / 2), rel=1e-6)
    assert float(acc) == 0.5
    with pytest.raises(ValueError, match="needs a support example"):
        prototypes(s, torch.tensor([0, 0, 2, 2]))


def test_protonet_module_trains_on_episode():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(5, 1, 28, 28, generator=g)                          # one template per class
    noisy = lambda n: x.repeat_interleave(n, 0) + 0.1 * torch.randn(5 * n, 1, 28, 28, generator=g)
    ep = Episode(noisy(2), torch.arange(5).repeat_interleave(2), noisy(3), torch.arange(5).repeat_interleave(3),
                 list(range(5)))
    net = ProtoNet(Conv4(1, hidden=8))
    loss, acc = net(ep)
    assert loss.ndim == 0 and 0 <= float(acc) <= 1
    per_query, _ = net(ep, reduction="none")
    assert per_query.shape == (15,) and float(per_query.mean().detach()) == pytest.approx(float(loss.detach()), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


class Scalar(nn.Module):
    """f(x) = w x with a scalar weight."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(float(w)))

    def forward(self, x):
        return self.w * x


def mse(out, y):
    return ((out - y) ** 2).mean()


def test_maml_first_and_second_order_match_hand_derivation():
    # support (x, y) = (2, 1), query (3, 2), w = 1, inner_lr a = 0.1, L = (w x - y)^2
    # inner: dL_S/dw = 2 x (w x - y) = 2*2*(2-1) = 4; d2L_S/dw2 = 2 x^2 = 8
    # w' = 1 - 0.1 * 4 = 0.6; query loss (0.6*3 - 2)^2 = 0.04; dL_Q/dw' = 2*3*(1.8-2) = -1.2
    # first order: -1.2; second order: -1.2 * (1 - a * d2L_S/dw2) = -1.2 * (1 - 0.1 * 8) = -0.24
    ep = Episode(torch.tensor([2.0]), torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([2.0]), [0])
    grads = {}
    for fo in (True, False):
        model = Scalar(1.0)
        loss, _ = MAML(model, inner_lr=0.1, steps=1, first_order=fo, loss_fn=mse)(ep)
        assert float(loss.detach()) == pytest.approx(0.04, rel=1e-5)
        loss.backward()
        grads[fo] = float(model.w.grad)
    assert grads[True] == pytest.approx(-1.2, rel=1e-5)
    assert grads[False] == pytest.approx(-0.24, rel=1e-5)


def test_maml_two_steps_and_adapt():
    model = Scalar(1.0)
    p = maml_adapt(model, dict(model.named_parameters()), torch.tensor([2.0]), torch.tensor([1.0]),
                   inner_lr=0.1, steps=2, loss_fn=mse)
    # w1 = 0.6; grad 2*2*(1.2-1) = 0.8; w2 = 0.6 - 0.08 = 0.52
    assert float(p["w"].detach()) == pytest.approx(0.52, rel=1e-6)
    assert float(model.w.detach()) == 1.0                                       # the module is untouched
    with pytest.raises(ValueError, match="`inner_lr`"):
        MAML(model, inner_lr=0.0)


def test_maml_second_order_differs_on_network():
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(1)
    eps = [Episode(torch.randn(10, 4, generator=g), torch.randint(0, 3, (10,), generator=g),
                   torch.randn(9, 4, generator=g), torch.randint(0, 3, (9,), generator=g), [0, 1, 2]) for _ in range(2)]
    base = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    grads = {}
    for fo in (True, False):
        m = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        m.load_state_dict(base.state_dict())
        loss, acc = MAML(m, inner_lr=0.5, steps=2, first_order=fo)(eps)
        loss.backward()
        grads[fo] = torch.cat([p.grad.flatten() for p in m.parameters()])
        assert 0 <= float(acc) <= 1
    rel = float((grads[True] - grads[False]).norm() / grads[False].norm())
    assert rel > 1e-3                       # second-order terms are not negligible here
    assert torch.isfinite(grads[False]).all()
