"""Normalized SGD with momentum (NSGD-M).

Rule (Cutkosky and Mehta 2020, Algorithm 1), per step with stochastic gradient ``g``:

    d_p   = g_p + weight_decay * theta_p
    m_p   = beta m_p + (1 - beta) d_p                 (m_p = 0 before the first step)
    theta_p <- theta_p - lr * m_p / ||m||

``||m||`` is the L2 norm of the momentum of every parameter together (all groups whose
``per_layer`` is False), so each step has length exactly ``lr`` in parameter space. With
``per_layer=True`` each parameter tensor is normalised by its own norm (layer-wise
normalisation, as in LARS-style layer normalisation of the update; each tensor then moves by
``lr``). When a norm is 0 the corresponding step is 0 (no division by zero). ``beta = 0`` gives
plain normalized SGD ``theta <- theta - lr g/||g||``, the method analysed under heavy-tailed
noise (bounded p-th moment, p in (1, 2]) by Hübler, Fatkhullin and He.

Initialisation: ``m_0 = 0`` (so ``m_1 = (1 - beta) g_1``; the first step is along ``g_1`` in
either convention). The paper's own initialisation was not re-read for this implementation.

Defaults: ``beta = 0.9``; the papers' theory picks ``beta`` and ``lr`` from the horizon T (e.g.
``1 - beta ~ T^(-1/2)`` for p = 2 in Cutkosky and Mehta); 0.9 is the usual practical value, not
taken from either paper.

References
----------
Cutkosky, Mehta (2020), "Momentum improves normalized SGD", ICML (PMLR 119).
Hübler, Fatkhullin, He (2024), "From Gradient Clipping to Normalization for Heavy Tailed SGD",
arXiv:2410.13849 (AISTATS 2025 according to citing works; venue not checked in the paper).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.optim import Optimizer

from ahtga._validation import check_in_range, check_positive
from ahtga.optim._common import CheckedLoad, init_group
from ahtga.optim.clipped_sgd import check_finite_norm, global_grad_norm

__all__ = ["NormalizedSGD", "normalized_momentum_update", "normalized_apply"]


def normalized_momentum_update(params: list[torch.Tensor], grads: list[torch.Tensor],
                               bufs: list[torch.Tensor], *, beta: float,
                               weight_decay: float) -> None:
    """``m <- beta m + (1 - beta)(g + weight_decay theta)`` in place on ``bufs``."""
    for p, g, m in zip(params, grads, bufs):
        d = g if weight_decay == 0 else g.add(p, alpha=weight_decay)
        m.mul_(beta).add_(d, alpha=1 - beta)


def normalized_apply(params: list[torch.Tensor], bufs: list[torch.Tensor], *, lr: float,
                     norm: torch.Tensor | None) -> None:
    """``theta <- theta - lr m / ||m||``: one shared ``norm``, or per tensor when ``norm`` is None.

    A zero norm gives a zero step.
    """
    for p, m in zip(params, bufs):
        n = torch.linalg.vector_norm(m) if norm is None else norm.to(m.device)
        scale = torch.where(n > 0, lr / torch.where(n > 0, n, torch.ones_like(n)),
                            torch.zeros_like(n))
        p.sub_(m * scale.to(m.dtype))


def _check_options(lr, beta, weight_decay, per_layer):
    check_positive("lr", lr, allow_zero=True)
    check_in_range("beta", beta, 0.0, 1.0, hi_open=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    if not isinstance(per_layer, bool):
        raise TypeError(f"`per_layer` must be a bool; got per_layer={per_layer!r}")


class NormalizedSGD(CheckedLoad, Optimizer):
    """Normalized SGD with momentum (see the module docstring for the rule and references).

    Parameters
    ----------
    params : iterable of parameters or of dicts defining parameter groups.
    lr : step length in parameter space (>= 0).
    beta : momentum in [0, 1) (EMA form).
    weight_decay : L2 penalty added to the gradient before the momentum.
    per_layer : normalise each parameter tensor separately instead of the whole update.
    """

    def __init__(self, params, lr: float = 0.01, *, beta: float = 0.9,
                 weight_decay: float = 0.0, per_layer: bool = False):
        _check_options(lr, beta, weight_decay, per_layer)
        defaults = dict(lr=lr, beta=beta, weight_decay=weight_decay, per_layer=per_layer)
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        try:
            _check_options(g["lr"], g["beta"], g["weight_decay"], g["per_layer"])
        except (TypeError, ValueError):
            self.param_groups.pop()
            raise

    def _init_group(self, group):
        return init_group(self, group, buffer="momentum_buffer")

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [self._init_group(g) for g in self.param_groups]
        check_finite_norm(global_grad_norm([g for _, grads, _ in groups for g in grads]),
                          "NormalizedSGD.step")
        for group, (params, grads, bufs) in zip(self.param_groups, groups):
            normalized_momentum_update(params, grads, bufs, beta=group["beta"],
                                       weight_decay=group["weight_decay"])
        shared = global_grad_norm([m for group, (_, _, bufs) in zip(self.param_groups, groups)
                                   if not group["per_layer"] for m in bufs])
        for group, (params, _, bufs) in zip(self.param_groups, groups):
            normalized_apply(params, bufs, lr=group["lr"],
                             norm=None if group["per_layer"] else shared)
        return loss
