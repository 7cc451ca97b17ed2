"""Test helpers for the AHTGA tests (not a test module): a slow, obviously-correct engine with
the PerExampleEngine interface (one autograd.grad per example), a fixed-k Hill estimator
callable, and small models and data.  The library's own engine is tested against it."""
from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from ahtga.tail import hill


class LoopEngine:
    """Per-example gradients by one ``torch.autograd.grad`` per loss (ground truth)."""

    def __init__(self, model: nn.Module):
        self.params = [p for p in model.parameters() if p.requires_grad]
        self._G = None

    def backward(self, losses):
        rows = []
        for i in range(losses.shape[0]):
            gs = torch.autograd.grad(losses[i], self.params, retain_graph=True, allow_unused=True)
            rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                   for p, g in zip(self.params, gs)]))
        self._G = torch.stack(rows)
        return self._G.norm(dim=1).detach()

    def _write(self, flat):
        off = 0
        for p in self.params:
            p.grad = flat[off:off + p.numel()].reshape(p.shape).clone()
            off += p.numel()

    def write_weighted_grad(self, weights):
        self._write(weights.to(self._G.dtype) @ self._G)

    def write_sign_grad(self, coeffs):
        self._write(coeffs.to(self._G.dtype) @ torch.sign(self._G))

    def release(self):
        self._G = None


def fixed_k_hill(k: int):
    """An estimator callable f(x, *, seed) -> .alpha, .k (Hill at k = min(k, n-1))."""
    def f(x, *, seed):
        kk = min(k, x.numel() - 1)
        return SimpleNamespace(alpha=float(hill(x, kk)), k=kk)
    return f


def mlp(seed: int = 0, d_in: int = 6, hidden: int = 16, d_out: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, hidden), nn.Tanh(), nn.Linear(hidden, d_out))


def batches(n_steps: int, B: int, *, seed: int = 1, d_in: int = 6, d_out: int = 3,
            heavy: bool = True):
    """A fixed list of (x, y) batches; inputs with Pareto(1.5) radii by default."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d_in, d_out, generator=g)
    out = []
    for _ in range(n_steps):
        if heavy:
            u = torch.rand(B, 1, generator=g).clamp_min(1e-12)
            x = torch.randn(B, d_in, generator=g) * u ** (-1 / 1.5)   # Pareto(1.5) radii
        else:
            x = torch.randn(B, d_in, generator=g)
        y = (x @ w + 0.5 * torch.randn(B, d_out, generator=g)).argmax(1)
        out.append((x, y))
    return out


def per_example_loss(model, x, y):
    return nn.functional.cross_entropy(model(x), y, reduction="none")

