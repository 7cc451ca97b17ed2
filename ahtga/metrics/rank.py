"""Effective rank of the per-example gradient covariance, from the Gram matrix of a batch.

Entropy effective rank (Roy and Vetterli 2007, "The effective rank: a measure of effective
dimensionality", 15th European Signal Processing Conference (EUSIPCO), pp. 606-610): for the
singular values ``sigma_1 >= ... >= sigma_Q >= 0`` of a matrix, not all zero,

    p_k = sigma_k / sum_j sigma_j,   H = -sum_k p_k log p_k  (0 log 0 = 0),   erank = exp(H).

It lies in [1, rank]; it equals r for r equal non-zero singular values.

Per-example gradients ``g_1..g_B`` (rows of ``G``, B x P) have the covariance
``C = (1/B) sum_i (g_i - gbar)(g_i - gbar)^T`` (P x P).  Its non-zero eigenvalues (which are its
singular values, C being symmetric PSD) equal those of the B x B matrix ``(1/B) Gc Gc^T`` with
``Gc = G - 1 gbar^T``, i.e. of the doubly centred Gram matrix ``(1/B) J K J`` with
``K_ij = <g_i, g_j>`` and ``J = I - 11^T / B``.  So the effective rank of C is computed from the
Gram matrix of the batch without forming any P x P matrix.  ``center=False`` uses the
uncentred second moment ``(1/B) G^T G`` instead.  The 1/B scale does not change erank.
Centring removes one dimension: the centred erank is at most B - 1.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor


def effective_rank(spectrum, *, tol: float = 0.0) -> float:
    """Entropy effective rank ``exp(-sum p_k log p_k)``, ``p = s / sum s``, of non-negative ``s``.

    ``spectrum``: singular values (or eigenvalues of a PSD matrix).  Entries below
    ``tol * max(s)`` are treated as zero (round-off of a PSD eigendecomposition can give tiny
    negative values: those within ``1e-12 * max`` are clipped to zero; larger ones are an error).
    """
    s = as_tensor("spectrum", spectrum, dtype=torch.float64).reshape(-1)
    if s.numel() == 0:
        raise ValueError("`spectrum` must be non-empty; got 0 values")
    smax = float(s.abs().max())
    if bool((s < -1e-12 * max(smax, 1e-300)).any()):
        raise ValueError(f"`spectrum` must be non-negative; got min={float(s.min())!r}")
    s = s.clamp_min(0.0)
    if tol:
        s = torch.where(s < tol * smax, torch.zeros_like(s), s)
    total = float(s.sum())
    if total <= 0:
        raise ValueError("`spectrum` must have a positive entry; got all zeros "
                         "(effective rank of the zero matrix is undefined)")
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * torch.log(p)).sum()))


def gram_matrix(per_example_grads) -> torch.Tensor:
    """``K_ij = <g_i, g_j>`` summed over all parameter tensors, in float64.

    ``per_example_grads``: a ``[B, ...]`` tensor, or a dict / sequence of them (for example the
    output of ``ahtga.engine.per_example_grads``); each is flattened past the batch dimension.
    """
    if isinstance(per_example_grads, torch.Tensor):
        parts = [per_example_grads]
    elif isinstance(per_example_grads, dict):
        parts = list(per_example_grads.values())
    else:
        parts = list(per_example_grads)
    if not parts:
        raise ValueError("`per_example_grads` must hold at least one tensor; got none")
    B = parts[0].shape[0]
    K = None
    for t in parts:
        if t.shape[0] != B:
            raise ValueError(f"`per_example_grads` tensors must share the batch size {B}; "
                             f"got one with {t.shape[0]}")
        g = t.detach().reshape(B, -1).double()
        K = g @ g.T if K is None else K + g @ g.T
    return K


def gradient_effective_rank(gram, *, center: bool = True) -> float:
    """Effective rank of the per-example gradient covariance from the Gram matrix ``[B, B]``.

    See the module docstring: eigenvalues of ``J K J / B`` (``center=True``) or ``K / B``.
    """
    K = as_tensor("gram", gram, dtype=torch.float64)
    if K.dim() != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 2:
        raise ValueError(f"`gram` must be a square [B, B] matrix with B >= 2; got shape {tuple(K.shape)}")
    K = 0.5 * (K + K.T)
    B = K.shape[0]
    if center:
        J = torch.eye(B, dtype=K.dtype, device=K.device) - 1.0 / B
        K = J @ K @ J
    ev = torch.linalg.eigvalsh(K / B)
    scale = float(ev.abs().max())
    ev = torch.where(ev.abs() <= 1e-10 * max(scale, 1e-300), torch.zeros_like(ev), ev)
    return effective_rank(ev)
