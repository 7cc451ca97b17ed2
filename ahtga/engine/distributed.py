"""Helpers for data-parallel AHTGA under ``torch.distributed`` (e.g. started with ``torchrun``).

Each rank runs the engine on its local batch. The optimizer then

1. gathers the per-example norms of all ranks, ``global = gather_norms(local)`` (ranks may hold
   different batch sizes; the result is ordered by rank), so the tail estimate and the median
   use the global batch;
2. computes the coefficients on the global norms and takes its own slice,
   ``local_w = global_w[offset : offset + B_local]`` with ``offset`` from
   ``gather_norms(..., return_offset=True)``;
3. writes ``p.grad = sum_{i local} w_i g_i`` with the engine and calls
   ``allreduce_grads(params)`` (a sum), which gives ``sum_{i global} w_i g_i`` on every rank.

Pass weights already divided by the global batch size for a mean. Without an initialised
process group every function is the single-process identity. The model must not be wrapped in
``DistributedDataParallel`` (its reducer expects gradients from the backward pass).
"""
from __future__ import annotations

import torch
import torch.distributed as dist

__all__ = ["is_distributed", "gather_norms", "allreduce_grads"]


def is_distributed() -> bool:
    """True when ``torch.distributed`` is available, initialised and has more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_norms(local_norms: torch.Tensor, *, group=None, return_offset: bool = False):
    """All ranks' per-example norms concatenated in rank order, shape [sum_r B_r].

    Batch sizes may differ between ranks: sizes are exchanged first, each rank's norms padded
    to the largest size for ``all_gather`` and trimmed afterwards. With ``return_offset`` also
    returns this rank's first index in the result.
    """
    if not isinstance(local_norms, torch.Tensor) or local_norms.dim() != 1:
        raise ValueError("`local_norms` must be a tensor of shape [B]; got "
                         f"{getattr(local_norms, 'shape', type(local_norms).__name__)}")
    if not is_distributed():
        return (local_norms, 0) if return_offset else local_norms
    world = dist.get_world_size(group)
    rank = dist.get_rank(group)
    dev = local_norms.device
    n = torch.tensor([local_norms.shape[0]], dtype=torch.long, device=dev)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n, group=group)
    sizes = [int(s) for s in sizes]
    biggest = max(sizes)
    padded = torch.zeros(biggest, dtype=local_norms.dtype, device=dev)
    padded[: local_norms.shape[0]] = local_norms.detach()
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded, group=group)
    out = torch.cat([p[:s] for p, s in zip(parts, sizes)])
    if return_offset:
        return out, sum(sizes[:rank])
    return out


def allreduce_grads(params, *, group=None, average: bool = False) -> None:
    """Sum (or average) ``p.grad`` over ranks, in place, one flat buffer per dtype/device."""
    if not is_distributed():
        return
    grads = [p.grad for p in params if p.grad is not None]
    buckets: dict = {}
    for g in grads:
        buckets.setdefault((g.dtype, g.device), []).append(g)
    world = dist.get_world_size(group)
    for gs in buckets.values():
        flat = torch.cat([g.reshape(-1) for g in gs])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
        if average:
            flat /= world
        i = 0
        for g in gs:
            g.copy_(flat[i:i + g.numel()].view_as(g))
            i += g.numel()
