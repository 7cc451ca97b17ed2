"""A parameter whose true gradient is exactly zero (an attention key bias: softmax over keys
ignores a shift common to all scores) must not trip the engine's first-step verification,
whose relative check would otherwise compare rounding noise with rounding noise."""
import torch
from torch import nn

from ahtga.engine import PerExampleEngine
from ahtga.engine.reference import per_example_grads


class KeyBiasAttention(nn.Module):
    def __init__(self, d=8, T=5, classes=3):
        super().__init__()
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)          # k.bias gets an exactly-zero gradient
        self.v = nn.Linear(d, d)
        self.out = nn.Linear(d, classes)
        self.T = T

    def forward(self, x):                 # x: [B, T, d]
        q, k, v = self.q(x), self.k(x), self.v(x)
        att = torch.softmax(q @ k.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
        return self.out((att @ v).mean(dim=1))


def test_zero_gradient_parameter_passes_verification_and_matches_reference():
    torch.manual_seed(0)
    model = KeyBiasAttention()            # float32: the two sides round differently
    x = torch.randn(12, 5, 8)
    y = torch.randint(0, 3, (12,))
    loss_fn = lambda out, t: nn.functional.cross_entropy(out, t, reduction="none")  # noqa: E731
    eng = PerExampleEngine(model, mode="fast", verify=True)
    norms = eng.backward(loss_fn(model(x), y))   # raised "per-example gradients of parameter ..." before
    eng.release()
    ref = per_example_grads(model, lambda out, t: nn.functional.cross_entropy(out, t), x, y)
    ref_norms = torch.sqrt(sum(g.reshape(g.shape[0], -1).pow(2).sum(1) for g in ref.values()))
    torch.testing.assert_close(norms.to(ref_norms.dtype), ref_norms, rtol=1e-4, atol=1e-6)
    assert float(ref["k.bias"].abs().max()) < 1e-5    # the premise: its true gradient is zero
