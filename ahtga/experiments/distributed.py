"""Data-parallel runs of the experiments runner under ``torchrun`` (the ``full`` scale).

    torchrun --nproc_per_node N python -m ahtga.experiments run PRESET --scale full ...

What changes with ``W > 1`` processes (each a *rank*; nothing changes with one process):

* **process group** -- :func:`init_from_env` reads torchrun's ``RANK``/``WORLD_SIZE``/
  ``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT`` and starts ``torch.distributed`` with the
  ``nccl`` backend on CUDA (each rank on ``cuda:LOCAL_RANK``) and ``gloo`` on CPU;
* **data** -- every rank draws the *same* seeded permutation of the training set, so the
  global batches are those of a one-process run; :func:`shard` gives rank ``r`` the contiguous
  slice ``[r B/W, (r + 1) B/W)`` of each global batch of ``B = batch_size`` examples (a hand-written
  ``DistributedSampler`` that keeps the global batch and its order: concatenated in rank order the
  shards are the one-process batch, which AHTGA's gathered norms rely on for an identical tail
  estimate).  ``batch_size`` must be a multiple of ``W``;
* **gradients** -- AHTGA is never wrapped: it gathers the per-example norms of all ranks and
  all-reduces its weighted gradient itself (:mod:`ahtga.engine.distributed`).  Every other
  optimizer gets the model wrapped in ``DistributedDataParallel`` (:func:`wrap_model`), whose
  all-reduce averages the ranks' mean-loss gradients: with equal shards that is the gradient of
  the global mean loss;
* **logging** -- the logged training loss is the global batch mean (:func:`global_mean`, one
  all-reduce), so curves and the divergence test agree on every rank and with one process;
* **evaluation** -- runs on every rank on the full validation/test sets (identical replicas give
  identical numbers; this keeps a validation-driven alpha* schedule in step on all ranks);
* **files** -- only rank 0 writes result files, sweep records and checkpoints
  (:func:`is_main`); :func:`barrier` after each result so no rank reads a half-finished state.
  A resumed run loads rank 0's checkpoint on every rank (one machine or a shared file system).

``task="fewshot"`` runs in one process only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "init_from_env", "is_distributed", "rank", "world_size", "is_main",
           "barrier", "shard", "global_mean", "wrap_model", "unwrap", "device_for", "check_device"]


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    backend: str | None


def is_distributed() -> bool:
    """True when a process group of more than one rank is initialised."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0 (or a single process): the one that writes files and shows progress."""
    return rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def init_from_env(device: str = "cpu") -> DistInfo:
    """Start the process group from torchrun's environment when ``WORLD_SIZE > 1`` (else do
    nothing).  Backend: ``nccl`` when ``device`` is CUDA and CUDA is available (the rank's device
    becomes ``cuda:LOCAL_RANK``), else ``gloo``.  Idempotent."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world <= 1:
        return DistInfo(0, 1, 0, None)
    cuda = str(device).startswith("cuda") and torch.cuda.is_available()
    backend = "nccl" if cuda else "gloo"
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local, dist.get_backend())


def check_device(device: str) -> None:
    """Refuse a device this torch build or machine cannot use (ValueError naming ``device``),
    before any data is loaded or trained."""
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"`device` must be a torch device such as cpu, cuda or cuda:1; got "
                         f"device={device!r} ({e})") from None
    if d.type == "cuda":
        if torch.version.cuda is None:
            raise ValueError(f"`device`={device!r}, but this torch build ({torch.__version__}) has no "
                             "CUDA support; use --set device=cpu or install a CUDA build of torch")
        if not torch.cuda.is_available():
            raise ValueError(f"`device`={device!r}, but CUDA sees no GPU on this machine; use "
                             "--set device=cpu")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise ValueError(f"`device`={device!r}, but this machine has {torch.cuda.device_count()} "
                             "CUDA device(s)")
    elif d.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"`device`={device!r}, but MPS is not available in this torch build or machine")


def device_for(device: str) -> torch.device:
    """``cuda`` -> this rank's ``cuda:LOCAL_RANK`` under torchrun; anything else unchanged."""
    d = torch.device(device)
    if d.type == "cuda" and d.index is None and is_distributed():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return d


def shard(batch_idx: torch.Tensor) -> torch.Tensor:
    """This rank's contiguous slice of a global batch of indices (identity with one process)."""
    w = world_size()
    if w == 1:
        return batch_idx
    n = batch_idx.shape[0]
    if n % w:
        raise ValueError(f"`batch_size` must be a multiple of the number of ranks; got "
                         f"batch_size={n} with world_size={w}")
    r, m = rank(), n // w
    return batch_idx[r * m:(r + 1) * m]


def global_mean(local: torch.Tensor) -> float:
    """Mean of ``local`` values over all ranks' elements (one all-reduce of sum and count)."""
    if not is_distributed():   # as the one-process runner always logged it
        return float(local.mean())
    t = torch.stack([local.detach().double().sum(),
                     torch.tensor(float(local.numel()), dtype=torch.float64, device=local.device)])
    dist.all_reduce(t)
    return float(t[0] / t[1])


def wrap_model(model: torch.nn.Module, optimizer_name: str) -> torch.nn.Module:
    """``DistributedDataParallel(model)`` for every optimizer but AHTGA (which synchronises its
    own gradients and must not be wrapped); the model itself with one process."""
    if not is_distributed() or optimizer_name == "ahtga":
        return model
    from torch.nn.parallel import DistributedDataParallel as DDP

    dev = next(model.parameters()).device
    ids = [dev.index] if dev.type == "cuda" else None
    return DDP(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model
