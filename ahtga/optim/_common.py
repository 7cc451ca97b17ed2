"""What every optimizer of this package shares with torch.optim's semantics.

* :func:`init_group`: one param group's parameters that have a gradient this step, their
  gradients and (optionally) their state buffers. A parameter whose ``.grad`` is None (frozen,
  unused in this step's graph, or set to None by ``zero_grad``) is left out, so it is untouched:
  no momentum, no weight decay, no state created (``torch/optim/sgd.py``'s ``_init_group``).
* :func:`check_state_dict` and :class:`CheckedLoad`: ``load_state_dict`` refuses a state dict
  whose group count, per-group parameter count or state-tensor shapes differ from this
  optimizer's parameters, with a message naming the parameter (torch's own check compares group
  sizes only, and a state of another shape fails later inside a kernel).
"""
from __future__ import annotations

from typing import Any

import torch

__all__ = ["init_group", "check_state_dict", "CheckedLoad"]


def init_group(optimizer: torch.optim.Optimizer, group: dict, *, buffer: str | None = None,
               lazy: bool = False):
    """``(params, grads, bufs)`` of the parameters of ``group`` whose ``.grad`` is not None.

    ``buffer``: the state key of a per-parameter buffer, or None (``bufs`` is then empty).
    ``lazy=False`` creates a missing buffer as zeros; ``lazy=True`` returns None for it (the
    kernel creates it from the first gradient, as ``torch.optim.SGD`` does).
    Sparse gradients raise ``RuntimeError`` naming the optimizer.
    """
    params, grads, bufs = [], [], []
    for p in group["params"]:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError(f"{type(optimizer).__name__} does not support sparse gradients")
        params.append(p)
        grads.append(p.grad)
        if buffer is not None:
            state = optimizer.state[p]
            if buffer not in state and not lazy:
                state[buffer] = torch.zeros_like(p, memory_format=torch.preserve_format)
            bufs.append(state.get(buffer))
    return params, grads, bufs


def check_state_dict(optimizer: torch.optim.Optimizer, state_dict: Any,
                     names: dict[int, str] | None = None) -> None:
    """Raise ``ValueError`` unless ``state_dict`` fits ``optimizer``'s parameters: the same
    number of param groups, of parameters per group, and every saved state tensor that is not
    a scalar has its parameter's shape. ``names`` maps ``id(param)`` to a name for messages."""
    if not isinstance(state_dict, dict) or not isinstance(state_dict.get("state"), dict) \
            or not isinstance(state_dict.get("param_groups"), list):
        raise ValueError("`state_dict` must be a dict with 'state' (a dict) and 'param_groups' "
                         f"(a list); got {type(state_dict).__name__} with keys "
                         f"{sorted(state_dict) if isinstance(state_dict, dict) else '-'}")
    saved, state = state_dict["param_groups"], state_dict["state"]
    groups = optimizer.param_groups
    if len(saved) != len(groups):
        raise ValueError(f"`state_dict` has {len(saved)} param groups; this "
                         f"{type(optimizer).__name__} has {len(groups)}")
    names = names or {}
    for gi, (g, s) in enumerate(zip(groups, saved)):
        keys = s.get("params", [])
        if len(keys) != len(g["params"]):
            raise ValueError(f"param_groups[{gi}] of `state_dict` holds {len(keys)} parameters; "
                             f"this {type(optimizer).__name__}'s holds {len(g['params'])} "
                             "(a checkpoint of another model?)")
        for j, (p, key) in enumerate(zip(g["params"], keys)):
            for k, v in (state.get(key) or {}).items():
                if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape != p.shape:
                    label = f"param_groups[{gi}]['params'][{j}]"
                    if id(p) in names:
                        label += f" ({names[id(p)]!r})"
                    raise ValueError(f"`state_dict` does not fit {label}: its saved {k!r} has "
                                     f"shape {tuple(v.shape)} but the parameter has shape "
                                     f"{tuple(p.shape)} (a checkpoint of another model?)")


class CheckedLoad:
    """Mixin (before ``torch.optim.Optimizer``): ``load_state_dict`` runs
    :func:`check_state_dict` first."""

    def load_state_dict(self, state_dict) -> None:
        check_state_dict(self, state_dict)
        super().load_state_dict(state_dict)
