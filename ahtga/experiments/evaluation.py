"""Evaluation primitives shared by every task, the training loop and the end-of-run metrics.

A leaf module: it imports torch only, so any part of ``ahtga.experiments`` (and a study added
later) can use it without an import cycle.

* :func:`per_example_loss` -- cross-entropy per example ``[B]``; for language-model outputs
  ``[B, L, V]`` an example is a sequence and its loss the mean token loss over its L positions;
* :func:`predict` -- logits in eval mode, in float64 on the CPU (classification sets);
* :func:`loss_acc` -- mean loss and accuracy of stored logits;
* :func:`evaluate` -- mean loss and accuracy streamed in batches (nothing stored: a language
  model's logits over a test set would not fit in memory);
* :func:`fixed_indices` -- the fixed probe rows of a run (tail monitor, effective rank,
  Hessian batch), drawn from ``seed`` so every optimizer probes the same examples.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["per_example_loss", "predict", "loss_acc", "evaluate", "fixed_indices"]


def per_example_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per example ``[B]`` (see the module docstring)."""
    if out.dim() == 3:
        return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
    return F.cross_entropy(out, y, reduction="none")


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int, device) -> torch.Tensor:
    """Logits of ``x`` in eval mode (the model's mode is restored), on CPU in float64."""
    was = model.training
    model.eval()
    outs = [model(x[i:i + batch_size].to(device)).double().cpu() for i in range(0, x.shape[0], batch_size)]
    model.train(was)
    return torch.cat(outs) if outs else torch.zeros(0)


def loss_acc(logits: torch.Tensor, y: torch.Tensor) -> tuple[float | None, float | None]:
    """Mean cross-entropy and accuracy of logits ``[N, C]`` (or ``[N, L, V]`` per token);
    ``(None, None)`` for no rows, a None loss when it is not finite."""
    if logits.numel() == 0:
        return None, None
    loss = float(per_example_loss(logits, y).mean())
    return (loss if math.isfinite(loss) else None), float((logits.argmax(-1) == y).double().mean())


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, device
             ) -> tuple[float | None, float | None]:
    """Mean per-example loss and accuracy of ``(x, y)`` streamed in batches.  For a language
    model the loss is the mean token NLL (equal-length sequences) and the accuracy next-token."""
    if x.shape[0] == 0:
        return None, None
    was = model.training
    model.eval()
    tot_loss, tot_acc, n = 0.0, 0.0, 0
    for i in range(0, x.shape[0], batch_size):
        xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
        out = model(xb).double()
        tot_loss += float(per_example_loss(out, yb).sum())
        tot_acc += float((out.argmax(-1) == yb).double().reshape(xb.shape[0], -1).mean(1).sum())
        n += xb.shape[0]
    model.train(was)
    loss = tot_loss / n
    return (loss if math.isfinite(loss) else None), tot_acc / n


def fixed_indices(n: int, m: int, seed: int) -> torch.Tensor:
    """``min(m, n)`` distinct row indices of ``range(n)``, from a generator seeded
    ``10_000 + seed`` (the same rows for every optimizer of a seed)."""
    g = torch.Generator().manual_seed(10_000 + int(seed))
    return torch.randperm(n, generator=g)[:min(m, n)]
