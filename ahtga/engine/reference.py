"""Reference per-example gradients: ``torch.func`` (``vmap`` over ``grad``), for any model.

Ground truth for the fast engine's tests, and the slow-but-general baseline of the benchmarks.

For a model ``f(theta, x)`` and a loss ``l(f(theta, x_i), y_i)`` the per-example gradient is

    g_i = d l(f(theta, x_i), y_i) / d theta,

computed as ``vmap(grad(l o f))`` over the batch, each example run as a batch of one
(``x_i.unsqueeze(0)``), so models that expect a batch dimension work unchanged. ``chunk_size``
bounds the number of examples vmapped at once (memory ~ chunk_size x model gradient). Where
``vmap`` cannot run the model (e.g. ``nn.LSTM``'s fused kernel has no batching rule) it warns
and computes one autograd call per example instead (slow, exact).

Requires that examples do not interact in the forward pass (no BatchNorm in training mode).
References: the torch.func "per-sample gradients" tutorial (pytorch.org/tutorials/intermediate/
per_sample_grads.html); Horace He & Richard Zou, functorch (2021).
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from .._validation import check_choice, check_int

__all__ = ["per_example_grads", "per_example_norms", "batched_autograd_grads"]


def per_example_grads(model: nn.Module, loss_fn: Callable, inputs, targets, *,
                      chunk_size: int | None = None, params: dict | None = None,
                      randomness: str = "error") -> dict[str, torch.Tensor]:
    """Per-example gradients ``{name: Tensor[B, *param.shape]}`` of the trainable parameters.

    ``loss_fn(output, target)`` receives the model's output for one example kept as a batch of
    one and the matching target (also a batch of one); it must return a scalar (a tensor with
    one element, e.g. ``F.cross_entropy(out, t)``). ``inputs`` and ``targets`` are tensors (or
    tuples of tensors) whose dim 0 is the batch. ``params`` restricts the parameters
    differentiated (default: all with ``requires_grad``); other parameters and buffers are held
    fixed. ``randomness`` is passed to ``torch.func.vmap`` ("error", "different", "same") for
    models with dropout.
    """
    check_choice("randomness", randomness, {"error", "different", "same"})
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, min_value=1)
    if params is None:
        params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    else:
        params = {n: p.detach() for n, p in params.items()}
    if not params:
        raise ValueError("`model` has no trainable parameters (none with requires_grad=True)")
    frozen = {n: p.detach() for n, p in model.named_parameters() if n not in params}
    frozen.update({n: b for n, b in model.named_buffers()})
    xs = inputs if isinstance(inputs, tuple) else (inputs,)
    ys = targets if isinstance(targets, tuple) else (targets,)
    b = xs[0].shape[0]
    for name, t in (("inputs", xs), ("targets", ys)):
        for v in t:
            if not isinstance(v, torch.Tensor) or v.dim() == 0 or v.shape[0] != b:
                raise ValueError(f"`{name}` must be tensors with batch size {b} in dim 0; "
                                 f"got shape {getattr(v, 'shape', type(v).__name__)}")

    def loss_one(p, x_one, y_one):
        out = functional_call(model, ({**frozen, **p}), tuple(v.unsqueeze(0) for v in x_one))
        loss = loss_fn(out, *(v.unsqueeze(0) for v in y_one))
        if loss.numel() != 1:
            raise ValueError(f"`loss_fn` must return one value per example; got shape "
                             f"{tuple(loss.shape)}")
        return loss.reshape(())

    fn = vmap(grad(loss_one), in_dims=(None, 0, 0), chunk_size=chunk_size,
              randomness=randomness)
    try:
        return fn(params, xs, ys)
    except RuntimeError as err:  # e.g. nn.LSTM: no batching rule for its fused kernel
        warnings.warn(f"torch.func.vmap failed ({str(err).splitlines()[0][:120]}); computing "
                      "per-example gradients with one autograd call per example", RuntimeWarning,
                      stacklevel=2)
    live = {n: p.requires_grad_(True) for n, p in ((n, p.clone()) for n, p in params.items())}
    out = {n: [] for n in params}
    for i in range(b):
        with torch.enable_grad():
            loss = loss_one(live, tuple(v[i] for v in xs), tuple(v[i] for v in ys))
            gs = torch.autograd.grad(loss, list(live.values()), allow_unused=True)
        for (n, p), gi in zip(live.items(), gs):
            out[n].append(torch.zeros_like(p) if gi is None else gi)
    return {n: torch.stack(v) for n, v in out.items()}


def per_example_norms(grads: dict[str, torch.Tensor] | list[torch.Tensor]) -> torch.Tensor:
    """Per-example norms ``||g_i|| = sqrt(sum_p ||g_{i,p}||^2)``, shape [B] (float32; float64 kept)."""
    vals = list(grads.values()) if isinstance(grads, dict) else list(grads)
    if not vals:
        raise ValueError("`grads` is empty")
    total = None
    for g in vals:
        g = g.detach()
        g = g if g.dtype == torch.float64 else g.float()
        sq = g.reshape(g.shape[0], -1).pow(2).sum(1)
        total = sq if total is None else total + sq
    return total.sqrt()


def batched_autograd_grads(losses: torch.Tensor, params: list[torch.Tensor], *,
                           chunk_size: int | None = None,
                           retain_graph: bool = False) -> list[torch.Tensor]:
    """Per-example gradients ``d losses_i / d p`` from the graph of a vector of losses.

    Rows of the identity are pushed through the backward graph with
    ``torch.autograd.grad(..., is_grads_batched=True)`` (a vmap over the backward pass),
    ``chunk_size`` rows at a time. If an operation in the graph has no batching rule, falls back
    to one backward per example (slow, exact). Returns a list aligned with ``params`` of tensors
    ``[B, *p.shape]`` (zeros for a parameter the losses do not depend on).
    """
    if losses.dim() != 1:
        raise ValueError(f"`losses` must have shape [B]; got shape {tuple(losses.shape)}")
    b = losses.shape[0]
    step = b if chunk_size is None else check_int("chunk_size", chunk_size, min_value=1)
    eye = torch.eye(b, dtype=losses.dtype, device=losses.device)
    out: list[list[torch.Tensor]] = [[] for _ in params]
    try:
        for s in range(0, b, step):
            # The graph is kept until the end so the per-example fallback can still run.
            gs = torch.autograd.grad(losses, params, grad_outputs=eye[s:s + step],
                                     is_grads_batched=True, allow_unused=True,
                                     retain_graph=True)
            for j, (g, p) in enumerate(zip(gs, params)):
                n = min(step, b - s)
                out[j].append(torch.zeros((n, *p.shape), dtype=p.dtype, device=p.device)
                              if g is None else g)
    except RuntimeError:
        # No batching rule for some backward op: one backward per example.
        out = [[] for _ in params]
        for i in range(b):
            gs = torch.autograd.grad(losses[i], params, allow_unused=True,
                                     retain_graph=retain_graph or i < b - 1)
            for j, (g, p) in enumerate(zip(gs, params)):
                out[j].append((torch.zeros_like(p) if g is None else g).unsqueeze(0))
    return [torch.cat(o) for o in out]
