"""Per-layer fallback for modules without a fast rule (LSTM, MultiheadAttention, custom layers).

For one recorded call ``y = m(x; theta)`` with output gradient ``g = d sum_i loss_i / d y``, the
per-example gradient of the module's parameters is the vector-Jacobian product of example ``i``
alone, ``g_i = d <m(x_i; theta), g_i_out> / d theta``: computed with ``torch.func``
(``vmap`` over ``grad`` of ``functional_call``, each example as a batch of one) from the stored
inputs, no other part of the model re-run. If ``vmap`` cannot run the module, one autograd call
per example is used instead (slow, exact).

Batch dimensions: dim 0 by default; recurrent modules (``nn.RNNBase``) and
``nn.MultiheadAttention`` use dim 1 when ``batch_first=False`` for their sequence inputs and
outputs, and dim 1 for the hidden states ``h``/``c``. A tensor argument whose size along its
batch dim differs from the batch size is passed whole to every example (e.g. an ``attn_mask``).
The module's forward is assumed deterministic: dropout inside it is re-drawn, so set its
dropout to 0 (or use eval mode) when exact per-example gradients are needed.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["output_batch_dims", "fallback_grads"]


def _seq_dim(m) -> int:
    return 0 if getattr(m, "batch_first", True) else 1


def input_batch_dims(m, args, kwargs, batch: int):
    """in_dims pytrees for ``args`` and ``kwargs`` (None for unbatched leaves)."""
    seq = _seq_dim(m)

    def leaf_dim(v, pos):
        if not isinstance(v, torch.Tensor):
            return None
        if isinstance(m, nn.RNNBase):
            bd = seq if pos == 0 else 1
        elif isinstance(m, nn.MultiheadAttention):
            bd = seq if pos in (0, 1, 2) else 0
        else:
            bd = 0
        if v.dim() > bd and v.shape[bd] == batch:
            return bd
        return None

    a_dims = tuple(tree_map(lambda v, j=j: leaf_dim(v, j), a) for j, a in enumerate(args))
    k_dims = {k: tree_map(lambda v, k=k: leaf_dim(v, k), v) for k, v in kwargs.items()}
    return a_dims, k_dims


def output_batch_dims(m, n_leaves: int) -> list[int]:
    """Batch dim of each flattened tensor output of ``m``."""
    if isinstance(m, nn.RNNBase):
        return [_seq_dim(m)] + [1] * (n_leaves - 1)
    if isinstance(m, nn.MultiheadAttention):
        return [_seq_dim(m)] + [0] * (n_leaves - 1)
    return [0] * n_leaves


def _unsq(v, d):
    return v.unsqueeze(d) if d is not None and isinstance(v, torch.Tensor) else v


def fallback_grads(m: nn.Module, names: list[str], args, kwargs, gouts, out_dims, batch: int,
                   on_loop=None) -> dict[str, torch.Tensor]:
    """Per-example gradients ``{name: [B, *shape]}`` of ``m``'s parameters ``names``.

    ``gouts`` is the flat list of output gradients (None where an output got no gradient),
    ``out_dims`` their batch dims. ``on_loop`` is called (once per call) if the per-example
    autograd loop is used instead of ``vmap``.
    """
    params = dict(m.named_parameters())
    pdict = {n: params[n].detach() for n in names}
    a_dims, k_dims = input_batch_dims(m, args, kwargs, batch)
    used = [(j, g, d) for j, (g, d) in enumerate(zip(gouts, out_dims)) if g is not None]
    g_list = [g for _, g, _ in used]
    g_dims = [d for _, _, d in used]

    def objective(p, a, k, gs, a_d=None, k_d=None):
        a1 = tuple(tree_map(_unsq, ai, di) if di is not None else ai
                   for ai, di in zip(a, a_d if a_d is not None else a_dims))
        k1 = {kk: (tree_map(_unsq, kv, (k_d or k_dims)[kk]) if (k_d or k_dims)[kk] is not None
                   else kv) for kk, kv in k.items()}
        out = functional_call(m, p, a1, k1)
        leaves, _ = tree_flatten(out)
        leaves = [v for v in leaves if isinstance(v, torch.Tensor)]
        total = 0.0
        for (j, _, d), gi in zip(used, gs):
            total = total + (leaves[j] * gi.unsqueeze(d)).sum()
        return total

    try:
        fn = vmap(grad(objective), in_dims=(None, a_dims, k_dims, g_dims))
        return fn(pdict, tuple(args), dict(kwargs), g_list)
    except Exception:  # noqa: BLE001 - no batching rule or data-dependent control flow
        if on_loop is not None:
            on_loop()
    # One autograd call per example.
    outs = {n: [] for n in names}
    plist = [params[n] for n in names]

    def pick(v, d, i):
        return v.select(d, i) if d is not None else v

    for i in range(batch):
        a_i = tuple(tree_map(lambda v, d: pick(v, d, i), ai, di) if di is not None else ai
                    for ai, di in zip(args, a_dims))
        k_i = {kk: tree_map(lambda v, d: pick(v, d, i), kv, k_dims[kk])
               if k_dims[kk] is not None else kv for kk, kv in kwargs.items()}
        g_i = [g.select(d, i) for g, d in zip(g_list, g_dims)]
        with torch.enable_grad():
            val = objective({n: params[n] for n in names}, a_i, k_i, g_i)
            gs = torch.autograd.grad(val, plist, allow_unused=True)
        for n, g, p in zip(names, gs, plist):
            outs[n].append(torch.zeros_like(p) if g is None else g)
    return {n: torch.stack(v) for n, v in outs.items()}
