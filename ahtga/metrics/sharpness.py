"""Top Hessian eigenvalue (power iteration) and trace (Hutchinson) from Hessian-vector products.

Hessian-vector products use double backward (Pearlmutter 1994, "Fast exact multiplication by the
Hessian", Neural Computation 6(1)): with ``g = grad L(theta)`` built with ``create_graph=True``,
``H v = grad <g, v>``.  Nothing of size P x P is formed.

* :func:`hessian_top_eigenvalue`: power iteration ``v <- H v / ||H v||`` from a seeded Gaussian
  start; the estimate is the Rayleigh quotient ``v^T H v``.  Power iteration converges to the
  eigenvalue of largest *magnitude* (a large negative one if it dominates); the sign is kept.
  It stops when the relative change of the estimate falls below ``tol`` or after ``iters`` steps.
* :func:`hessian_trace`: Hutchinson (1990, Commun. Stat. Simul. Comput. 19(2)) estimator
  ``tr H ~ (1/m) sum_j z_j^T H z_j`` with Rademacher ``z_j`` (unbiased; its variance is
  ``2 sum_{i != k} H_ik^2`` per probe), returned with its standard error.

``loss_fn`` is a closure with no arguments returning the scalar loss at the current parameters
(for example the mean loss of a fixed batch); ``params`` the tensors to differentiate by.
Both functions are seeded by ``seed`` through a private ``torch.Generator`` (CPU), so the global
RNG is untouched and results replay.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .._validation import check_int, check_positive


def _params(params) -> list[torch.Tensor]:
    ps = [p for p in params if p.requires_grad]
    if not ps:
        raise ValueError("`params` must contain at least one tensor with requires_grad=True; got none")
    return ps


def _grads(loss_fn: Callable[[], torch.Tensor], ps: list[torch.Tensor]) -> list[torch.Tensor]:
    loss = loss_fn()
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("`loss_fn` must return a scalar tensor")
    gs = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(ps, gs)]


def hvp(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
        vec: Sequence[torch.Tensor], *, grads: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """``H v`` as a list shaped like ``params`` (``grads``: reuse a graph built by ``_grads``)."""
    ps = _params(params)
    gs = _grads(loss_fn, ps) if grads is None else grads
    dot = sum((g * v).sum() for g, v in zip(gs, vec))
    if not dot.requires_grad:  # loss linear in params: zero Hessian
        return [torch.zeros_like(p) for p in ps]
    hv = torch.autograd.grad(dot, ps, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if h is None else h.detach() for p, h in zip(ps, hv)]


def _dot(a, b) -> float:
    return float(sum((x.double() * y.double()).sum() for x, y in zip(a, b)))


def _randn_like(ps, gen):
    return [torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device) for p in ps]


def hessian_top_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                           iters: int = 50, tol: float = 1e-4, seed: int = 0) -> dict:
    """Power iteration on the Hessian; returns ``{"eigenvalue", "iterations", "converged"}``."""
    iters = check_int("iters", iters, min_value=1)
    tol = check_positive("tol", tol)
    seed = check_int("seed", seed)
    ps = _params(params)
    gen = torch.Generator().manual_seed(seed)
    gs = _grads(loss_fn, ps)
    v = _randn_like(ps, gen)
    nrm = math.sqrt(_dot(v, v))
    v = [x / nrm for x in v]
    lam, converged, it = 0.0, False, 0
    for it in range(1, iters + 1):
        hv = hvp(loss_fn, ps, v, grads=gs)
        new = _dot(v, hv)  # Rayleigh quotient at the current unit vector
        nrm = math.sqrt(_dot(hv, hv))
        if nrm == 0.0:
            lam, converged = 0.0, True
            break
        v = [x / nrm for x in hv]
        if it > 1 and abs(new - lam) <= tol * max(abs(new), 1e-12):
            lam, converged = new, True
            break
        lam = new
    return {"eigenvalue": float(lam), "iterations": it, "converged": converged}


def hessian_trace(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor], *,
                  samples: int = 20, seed: int = 0) -> dict:
    """Hutchinson's estimate; returns ``{"trace", "stderr", "samples"}`` (``stderr`` is None for one probe)."""
    samples = check_int("samples", samples, min_value=1)
    seed = check_int("seed", seed)
    ps = _params(params)
    gen = torch.Generator().manual_seed(seed)
    gs = _grads(loss_fn, ps)
    vals = []
    for _ in range(samples):
        z = [(torch.randint(0, 2, p.shape, generator=gen) * 2 - 1).to(dtype=p.dtype, device=p.device)
             for p in ps]
        vals.append(_dot(z, hvp(loss_fn, ps, z, grads=gs)))
    t = torch.tensor(vals, dtype=torch.float64)
    se = float(t.std(unbiased=True) / math.sqrt(samples)) if samples > 1 else None
    return {"trace": float(t.mean()), "stderr": se, "samples": samples}
