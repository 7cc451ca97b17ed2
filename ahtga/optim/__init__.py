"""Optimizers: AHTGA and the baselines it is compared with, plus a registry.

Baselines (one module each, rule and references in its docstring): ``ClippedSGD``,
``NormalizedSGD``, ``SignSGD``, ``Signum``, ``TailOPT``; ``torch.optim.SGD`` and
``torch.optim.Adam`` are registered as they are. ``build_optimizer(name, model, **options)``,
``OPTIMIZERS``, ``DEFAULTS``, ``LR_GRIDS`` and ``train_step`` live in ``registry``.

``AHTGA``, ``ahtga_update`` (its functional kernel) and ``StepStats`` are imported on first access (module ``__getattr__``), so the
baselines import even when ``ahtga.optim.ahtga`` is missing or broken.
"""
from ahtga.optim.clipped_sgd import ClippedSGD
from ahtga.optim.normalized_sgd import NormalizedSGD
from ahtga.optim.registry import (DEFAULTS, LR_GRIDS, OPTIMIZERS, REFERENCES, build_optimizer,
                                  effective_defaults, optimizer_options, train_step)
from ahtga.optim.sign import SignSGD, Signum
from ahtga.optim.tailopt import TailOPT

__all__ = ["AHTGA", "StepStats", "ahtga_update", "ClippedSGD", "NormalizedSGD", "SignSGD", "Signum", "TailOPT",
           "build_optimizer", "OPTIMIZERS", "DEFAULTS", "LR_GRIDS", "REFERENCES",
           "optimizer_options", "effective_defaults", "train_step"]


def __getattr__(name: str):
    if name == "AHTGA":
        from ahtga.optim.ahtga import AHTGA
        return AHTGA
    if name == "ahtga_update":
        from ahtga.optim.ahtga import ahtga_update
        return ahtga_update
    if name == "StepStats":
        from ahtga.optim._stats import StepStats
        return StepStats
    raise AttributeError(f"module 'ahtga.optim' has no attribute {name!r}")
