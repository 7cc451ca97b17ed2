"""signSGD and Signum (sign of the momentum).

Rules, per step with stochastic gradient ``g`` (``sign(0) = 0``, elementwise):

    signSGD:  d = g + weight_decay theta;                          theta <- theta - lr sign(d)
    Signum:   d = g + weight_decay theta;  m <- beta m + (1 - beta) d;  theta <- theta - lr sign(m)

with ``m = 0`` before the first step (so Signum's first step equals signSGD's). Signum's
momentum ``m`` is kept across steps and saved in ``state_dict``: at least one widely used
PyTorch optimizer collection re-creates the buffer inside every ``step`` so that its "Signum" is
signSGD; the test suite checks that ours remembers the previous gradients.

Weight decay is an L2 term added to the gradient before the sign (our convention; the authors'
MXNet implementation also offered a decoupled form, not reproduced here).

Defaults: ``beta = 0.9`` as in Bernstein et al.'s experiments (recalled from the paper, not
re-read); learning rates of signed methods are per-coordinate step sizes and are typically
1e-4 ... 1e-2, much smaller than SGD's.

Reference
---------
Bernstein, Wang, Azizzadenesheli, Anandkumar (2018), "signSGD: Compressed Optimisation for
Non-Convex Problems", ICML (PMLR 80): Algorithm 1 (signSGD) and Algorithm 2 (Signum).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.optim import Optimizer

from ahtga._validation import check_in_range, check_positive
from ahtga.optim._common import CheckedLoad, init_group
from ahtga.optim.clipped_sgd import check_finite_norm, global_grad_norm

__all__ = ["SignSGD", "Signum", "signsgd_update", "signum_update"]


def signsgd_update(params: list[torch.Tensor], grads: list[torch.Tensor], *, lr: float,
                   weight_decay: float) -> None:
    """``theta <- theta - lr sign(g + weight_decay theta)`` in place."""
    for p, g in zip(params, grads):
        d = g if weight_decay == 0 else g.add(p, alpha=weight_decay)
        p.add_(torch.sign(d), alpha=-lr)


def signum_update(params: list[torch.Tensor], grads: list[torch.Tensor],
                  bufs: list[torch.Tensor], *, lr: float, beta: float,
                  weight_decay: float) -> None:
    """``m <- beta m + (1 - beta)(g + wd theta)``; ``theta <- theta - lr sign(m)`` in place."""
    for p, g, m in zip(params, grads, bufs):
        d = g if weight_decay == 0 else g.add(p, alpha=weight_decay)
        m.mul_(beta).add_(d, alpha=1 - beta)
        p.add_(torch.sign(m), alpha=-lr)


class SignSGD(CheckedLoad, Optimizer):
    """signSGD: ``theta <- theta - lr sign(g + weight_decay theta)`` (see module docstring).

    Parameters
    ----------
    params : iterable of parameters or of dicts defining parameter groups.
    lr : per-coordinate step size (>= 0).
    weight_decay : L2 penalty added to the gradient before the sign.
    """

    def __init__(self, params, lr: float = 1e-3, *, weight_decay: float = 0.0):
        check_positive("lr", lr, allow_zero=True)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay))

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        try:
            check_positive("lr", g["lr"], allow_zero=True)
            check_positive("weight_decay", g["weight_decay"], allow_zero=True)
        except (TypeError, ValueError):
            self.param_groups.pop()
            raise

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [init_group(self, g) for g in self.param_groups]
        check_finite_norm(global_grad_norm([g for _, gs, _ in groups for g in gs]),
                          "SignSGD.step")
        for group, (params, grads, _) in zip(self.param_groups, groups):
            signsgd_update(params, grads, lr=group["lr"], weight_decay=group["weight_decay"])
        return loss


class Signum(CheckedLoad, Optimizer):
    """Signum: sign of an EMA momentum that persists across steps (see module docstring).

    Parameters
    ----------
    params : iterable of parameters or of dicts defining parameter groups.
    lr : per-coordinate step size (>= 0).
    beta : momentum in [0, 1) (EMA form; ``beta = 0`` is signSGD).
    weight_decay : L2 penalty added to the gradient before the momentum.
    """

    def __init__(self, params, lr: float = 1e-3, *, beta: float = 0.9,
                 weight_decay: float = 0.0):
        self._check(lr, beta, weight_decay)
        super().__init__(params, dict(lr=lr, beta=beta, weight_decay=weight_decay))

    @staticmethod
    def _check(lr, beta, weight_decay):
        check_positive("lr", lr, allow_zero=True)
        check_in_range("beta", beta, 0.0, 1.0, hi_open=True)
        check_positive("weight_decay", weight_decay, allow_zero=True)

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        try:
            self._check(g["lr"], g["beta"], g["weight_decay"])
        except (TypeError, ValueError):
            self.param_groups.pop()
            raise

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = [init_group(self, g, buffer="momentum_buffer") for g in self.param_groups]
        check_finite_norm(global_grad_norm([g for _, gs, _ in groups for g in gs]),
                          "Signum.step")
        for group, (params, grads, bufs) in zip(self.param_groups, groups):
            signum_update(params, grads, bufs, lr=group["lr"], beta=group["beta"],
                          weight_decay=group["weight_decay"])
        return loss
