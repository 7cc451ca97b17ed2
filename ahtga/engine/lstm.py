"""Exact per-example gradients of ``nn.LSTM`` without the per-example loop of the fallback.

``torch.func.vmap`` has no batching rule for the fused LSTM kernels (mkldnn on the CPU, cuDNN on
a GPU), so the generic fallback (:mod:`ahtga.engine.fallback`) runs the LSTM once per example:
on the PTB model of ``ptb_lstm`` (2 x 200 units, batch 32, 35 steps) an AHTGA step cost 4.3 s
against SGD's 0.7 s on one CPU thread.  An LSTM never mixes the examples of a batch, so one
batched recomputation gives every example's share at once:

1. recompute the layers from the stored input and initial state, unrolled in time, with the
   gate pre-activations ``a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh`` kept (PyTorch's gate
   order i, f, g, o; ``c_t = f c_{t-1} + i g``, ``h_t = o tanh(c_t)``);
2. one ``torch.autograd.grad`` of the outputs (sequence output, ``h_n``, ``c_n``) against the
   recorded output gradients gives ``d a_t`` for every example, layer and step (row ``b`` of
   ``d a_t`` depends on example ``b`` alone);
3. the per-example gradients are sums over time of outer products:
   ``dW_ih[b] = sum_t d a_t[b] x_t[b]^T``, ``dW_hh[b] = sum_t d a_t[b] h_{t-1}[b]^T``,
   ``db_ih[b] = db_hh[b] = sum_t d a_t[b]``.

Supported (:func:`supported`): ``nn.LSTM`` itself (not a subclass with its own ``forward``),
one direction, no projection (``proj_size = 0``), a padded tensor input (not a
``PackedSequence``), with or without an initial state, and dropout between layers only when it
is 0 or the module is in eval mode (a re-drawn dropout mask would not be the forward's).
Anything else keeps the exact generic fallback.  Tested against it and against
``torch.func`` on the whole model (``tests/engine/test_engine_lstm.py``).
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["supported", "per_example_grads"]


def supported(m: nn.Module, args, kwargs) -> bool:
    """Whether :func:`per_example_grads` handles this recorded call of ``m`` (see the module
    docstring); False sends it to the generic fallback."""
    if type(m).forward is not nn.LSTM.forward or not isinstance(m, nn.LSTM):
        return False
    if m.bidirectional or getattr(m, "proj_size", 0) or (m.dropout and m.training and m.num_layers > 1):
        return False
    if set(kwargs) - {"hx"} or len(args) > 2:
        return False
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        return False
    hx = _hx(args, kwargs)
    return hx is None or (isinstance(hx, (tuple, list)) and len(hx) == 2
                          and all(isinstance(h, torch.Tensor) and h.dim() == 3 for h in hx))


def _hx(args, kwargs):
    """The initial state ``(h0, c0)`` the call got, or None."""
    return args[1] if len(args) > 1 else kwargs.get("hx")


def _layer_params(m: nn.LSTM, layer: int):
    w_ih = getattr(m, f"weight_ih_l{layer}").detach()
    w_hh = getattr(m, f"weight_hh_l{layer}").detach()
    b = None
    if m.bias:
        b = getattr(m, f"bias_ih_l{layer}").detach() + getattr(m, f"bias_hh_l{layer}").detach()
    return w_ih, w_hh, b


def per_example_grads(m: nn.LSTM, names: list[str], args, kwargs, gouts, batch: int
                      ) -> dict[str, torch.Tensor]:
    """Per-example gradients ``{name: [B, *shape]}`` of the LSTM parameters ``names`` for one
    recorded call (``args``/``kwargs`` as the forward got them, detached), ``gouts`` the output
    gradients of its flattened outputs ``(output, h_n, c_n)`` (None where one got none)."""
    x = args[0]
    if not m.batch_first:
        x = x.transpose(0, 1)
    B, T, _ = x.shape
    if B != batch:
        raise RuntimeError(f"LSTM ran on a batch of {B} examples but `losses` has {batch}")
    gl = list(gouts) + [None] * (3 - len(gouts))      # (output, h_n, c_n)
    if all(g is None for g in gl):
        return {}
    if gl[0] is not None and not m.batch_first:
        gl[0] = gl[0].transpose(0, 1)
    L, H = m.num_layers, m.hidden_size
    hx = _hx(args, kwargs)
    h0, c0 = (x.new_zeros(L, B, H), x.new_zeros(L, B, H)) if hx is None else hx
    with torch.enable_grad():
        seq = x.detach().requires_grad_(True)      # the root of the recomputed graph
        pre, layer_in, layer_hprev, hn, cn = [], [], [], [], []
        for layer in range(L):
            w_ih, w_hh, b = _layer_params(m, layer)
            proj = seq @ w_ih.t()                  # [B, T, 4H], all steps at once
            if b is not None:
                proj = proj + b
            h, c = h0[layer].detach(), c0[layer].detach()
            hs, acts = [], []
            for t in range(T):
                a = proj[:, t] + h @ w_hh.t()
                acts.append(a)
                i, f, g, o = a.chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                hs.append(h)
            pre.append(acts)
            layer_in.append(seq.detach())
            # h_{t-1} for every step: h0, then the outputs of steps 0 .. T-2
            layer_hprev.append(torch.stack([h0[layer].detach(), *(v.detach() for v in hs[:-1])], dim=1))
            hn.append(h)
            cn.append(c)
            seq = torch.stack(hs, dim=1)
        outs = [seq, torch.stack(hn), torch.stack(cn)]
        used = [(o, g) for o, g in zip(outs, gl) if g is not None]
        grads = torch.autograd.grad([o for o, _ in used], [a for acts in pre for a in acts],
                                    grad_outputs=[g.to(o.dtype) for o, g in used],
                                    allow_unused=True)
    out: dict[str, torch.Tensor] = {}
    want = set(names)
    for layer in range(L):
        ga = grads[layer * T:(layer + 1) * T]
        da = torch.stack([g if g is not None else torch.zeros_like(pre[layer][t])
                          for t, g in enumerate(ga)], dim=1)                    # [B, T, 4H]
        if f"weight_ih_l{layer}" in want:
            out[f"weight_ih_l{layer}"] = torch.einsum("btg,btd->bgd", da, layer_in[layer])
        if f"weight_hh_l{layer}" in want:
            out[f"weight_hh_l{layer}"] = torch.einsum("btg,bth->bgh", da, layer_hprev[layer])
        if m.bias:
            s = da.sum(1)
            for n in (f"bias_ih_l{layer}", f"bias_hh_l{layer}"):
                if n in want:
                    out[n] = s
    return out
