"""SGD (with momentum) after global gradient-norm clipping.

Rule, for one step with stochastic gradients ``g`` of all parameters:

    N      = || concat_p g_p ||_2                  (over every parameter of every group)
    s      = min(1, c / N)                         (s = 1 when N = 0)
    d_p    = s g_p + weight_decay * theta_p        (clip the loss gradient, then L2 decay)
    b_p    = d_p                      on the first step,
             mu b_p + (1 - dampening) d_p        afterwards
    d_p    = d_p + mu b_p  (nesterov)   or   b_p   (mu > 0)
    theta_p <- theta_p - lr d_p

so one step equals ``torch.nn.utils.clip_grad_norm_(params, c)`` followed by
``torch.optim.SGD(...).step()`` (torch divides by ``N + 1e-6``; here the coefficient is exactly
``min(1, c/N)``). ``norm_scope="group"`` clips each parameter group with the norm of that group
alone.

References
----------
Pascanu, Mikolov, Bengio (2013), "On the difficulty of training recurrent neural networks",
ICML (norm clipping ``g <- c g / ||g||`` when ``||g|| > c``).
Zhang, He, Sra, Jadbabaie (2020), "Why gradient clipping accelerates training: a theoretical
justification for adaptivity", ICLR.
Zhang, Karimireddy, Veit, Kim, Reddi, Kumar, Sra (2020), "Why are adaptive methods good for
attention models?", NeurIPS (clipped SGD under heavy-tailed noise with a bounded p-th moment).
The default ``max_norm = 1.0`` is the common practical choice (e.g. BERT/transformer training),
not a value from these papers; tune it with the learning rate.
"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch.optim import Optimizer

from ahtga._validation import check_choice, check_in_range, check_positive
from ahtga.optim._common import CheckedLoad, init_group

__all__ = ["ClippedSGD", "clip_coefficient", "clipped_sgd_update", "global_grad_norm"]


def global_grad_norm(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """L2 norm of the concatenation of ``tensors`` (0-d tensor, float32 at least; 0 if empty)."""
    tensors = [t for t in tensors if t is not None]
    if not tensors:
        return torch.zeros(())
    norms = [torch.linalg.vector_norm(t.detach(), dtype=torch.promote_types(t.dtype, torch.float32))
             for t in tensors]
    dev = norms[0].device
    return torch.linalg.vector_norm(torch.stack([n.to(dev) for n in norms]))


def check_finite_norm(norm: torch.Tensor, where: str) -> None:
    """Raise ``FloatingPointError`` when a gradient norm is NaN or Inf (parameters untouched)."""
    if not bool(torch.isfinite(norm)):
        raise FloatingPointError(
            f"{where}: gradient norm is {float(norm)} (NaN or Inf in the gradients); the step was "
            "not applied and the parameters are unchanged")


def clip_coefficient(total_norm: torch.Tensor, max_norm: float) -> torch.Tensor:
    """``min(1, max_norm / total_norm)``, equal to 1 when ``total_norm == 0``."""
    total_norm = torch.as_tensor(total_norm)
    safe = torch.where(total_norm > 0, total_norm, torch.ones_like(total_norm))
    return torch.where(total_norm > max_norm, max_norm / safe, torch.ones_like(total_norm))


def clipped_sgd_update(params: list[torch.Tensor], grads: list[torch.Tensor],
                       momentum_buffers: list[torch.Tensor | None], *, scale: torch.Tensor | float,
                       lr: float, momentum: float, dampening: float, nesterov: bool,
                       weight_decay: float) -> list[torch.Tensor | None]:
    """Apply the update above in place; ``scale`` is the clipping coefficient ``s``.

    ``momentum_buffers[i] is None`` marks a first step (the buffer becomes ``d_p``). Returns the
    (possibly new) buffers, so a caller can store them.
    """
    out = []
    for p, g, buf in zip(params, grads, momentum_buffers):
        d = g.mul(scale)
        if weight_decay != 0:
            d = d.add(p, alpha=weight_decay)
        if momentum != 0:
            if buf is None:
                buf = d.detach().clone()
            else:
                buf.mul_(momentum).add_(d, alpha=1 - dampening)
            d = d.add(buf, alpha=momentum) if nesterov else buf
        p.add_(d, alpha=-lr)
        out.append(buf)
    return out


def _check_options(lr, momentum, dampening, nesterov, weight_decay, max_norm):
    check_positive("lr", lr, allow_zero=True)
    check_in_range("momentum", momentum, 0.0, 1.0, hi_open=True)
    check_in_range("dampening", dampening, 0.0, 1.0)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_positive("max_norm", max_norm)
    if not isinstance(nesterov, bool):
        raise TypeError(f"`nesterov` must be a bool; got nesterov={nesterov!r}")
    if nesterov and (momentum <= 0 or dampening != 0):
        raise ValueError("`nesterov=True` needs momentum > 0 and dampening == 0; got "
                         f"momentum={momentum!r}, dampening={dampening!r}")


class ClippedSGD(CheckedLoad, Optimizer):
    """SGD with momentum on globally norm-clipped gradients (see the module docstring).

    Parameters
    ----------
    params : iterable of parameters or of dicts defining parameter groups.
    lr : learning rate (>= 0).
    momentum, dampening, nesterov : as ``torch.optim.SGD`` (heavy-ball buffer ``b = mu b +
        (1 - dampening) d``; ``dampening = momentum`` gives the EMA form).
    weight_decay : L2 penalty added to the clipped gradient.
    max_norm : clipping threshold ``c > 0``.
    norm_scope : ``"global"`` (norm over all parameters of all groups, as
        ``clip_grad_norm_(model.parameters(), c)``) or ``"group"`` (per group).
    """

    def __init__(self, params, lr: float = 0.1, *, momentum: float = 0.9, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, max_norm: float = 1.0,
                 norm_scope: str = "global"):
        _check_options(lr, momentum, dampening, nesterov, weight_decay, max_norm)
        check_choice("norm_scope", norm_scope, {"global", "group"})
        self.norm_scope = norm_scope
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                        weight_decay=weight_decay, max_norm=max_norm)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        try:
            _check_options(g["lr"], g["momentum"], g["dampening"], g["nesterov"],
                           g["weight_decay"], g["max_norm"])
        except (TypeError, ValueError):
            self.param_groups.pop()
            raise

    def state_dict(self):
        sd = super().state_dict()
        sd["norm_scope"] = self.norm_scope
        return sd

    def load_state_dict(self, state_dict) -> None:
        state_dict = dict(state_dict)
        scope = state_dict.pop("norm_scope", self.norm_scope)
        super().load_state_dict(state_dict)
        self.norm_scope = scope

    def _init_group(self, group):
        return init_group(self, group, buffer="momentum_buffer", lazy=True)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [self._init_group(g) for g in self.param_groups]
        if self.norm_scope == "global":
            norm = global_grad_norm([g for _, grads, _ in groups for g in grads])
            check_finite_norm(norm, "ClippedSGD.step")
            norms = [norm] * len(groups)
        else:
            norms = [global_grad_norm(grads) for _, grads, _ in groups]
            for n in norms:
                check_finite_norm(n, "ClippedSGD.step")
        for group, (params, grads, bufs), norm in zip(self.param_groups, groups, norms):
            if not params:
                continue
            scale = clip_coefficient(norm, group["max_norm"]).to(grads[0].device)
            new = clipped_sgd_update(params, grads, bufs, scale=scale, lr=group["lr"],
                                     momentum=group["momentum"], dampening=group["dampening"],
                                     nesterov=group["nesterov"], weight_decay=group["weight_decay"])
            if group["momentum"] != 0:
                for p, b in zip(params, new):
                    self.state[p]["momentum_buffer"] = b
        return loss
