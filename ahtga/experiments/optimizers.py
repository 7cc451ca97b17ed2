"""Optimizer labels -> optimizers: the one place where a label's options are merged.

A label of ``RunConfig.optimizers`` is a registry name of :func:`ahtga.optim.build_optimizer` or
a variant (``registry.VARIANTS``: a registry name with keyword arguments).  Its options, lowest
priority first: for AHTGA and its variants :data:`AHTGA_EXPERIMENT_KWARGS` (every run logs the
achieved tail index of the transformed norms, ``track_transformed=True``, at the cost of a
second tail estimate per step), ``cfg.optimizer_kwargs`` (every optimizer), ``cfg.ahtga_kwargs``
(AHTGA and its variants only), the variant's own kwargs (:func:`optimizer_kwargs`); then the
learning rate and a task's extras (:func:`make_optimizer`), and AHTGA's ``seed`` defaults to the
run's seed.
"""
from __future__ import annotations

from ..optim import DEFAULTS, OPTIMIZERS, build_optimizer
from .registry import VARIANTS

__all__ = ["AHTGA_EXPERIMENT_KWARGS", "check_labels", "resolve_optimizer", "optimizer_kwargs",
           "make_optimizer", "default_lr"]


def _valid() -> str:
    return (f"valid: the registry names {', '.join(sorted(OPTIMIZERS))} and the variants "
            f"{', '.join(sorted(VARIANTS))}")


def resolve_optimizer(label: str) -> tuple[str, dict]:
    """(registry name, the variant's kwargs) of a label; an unknown label is a ValueError naming
    the valid ones."""
    if label in VARIANTS:
        name, kw = VARIANTS[label]
        return name, dict(kw)
    if label not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {label!r} in `optimizers`; {_valid()}")
    return label, {}


def check_labels(labels) -> None:
    """Every label known (see :func:`resolve_optimizer`)."""
    for lab in labels:
        resolve_optimizer(lab)


#: Options every AHTGA run of the experiments starts from (the loop's ``final.regime`` reads
#: ``StepStats.alpha_transformed``); ``ahtga_kwargs`` or a variant may override them.
AHTGA_EXPERIMENT_KWARGS = {"track_transformed": True}


def optimizer_kwargs(cfg, label: str) -> dict:
    """The label's options without the learning rate (module docstring); what result files
    record as ``optimizer_spec.kwargs`` and :func:`runner.run_key` hashes."""
    name, kw = resolve_optimizer(label)
    if name != "ahtga":
        return {**cfg.optimizer_kwargs, **kw}
    return {**AHTGA_EXPERIMENT_KWARGS, **cfg.optimizer_kwargs, **cfg.ahtga_kwargs, **kw}


def make_optimizer(cfg, label: str, model, lr: float, seed: int, **extra):
    """The label's optimizer on ``model``; ``extra`` (a task's options, e.g. an ``engine``) win."""
    name, _ = resolve_optimizer(label)
    kw = {**optimizer_kwargs(cfg, label), "lr": lr, **extra}
    if name == "ahtga":
        kw.setdefault("seed", seed)
    return build_optimizer(name, model, **kw)


def default_lr(label: str) -> float:
    """The registry's default lr (``ahtga.optim.DEFAULTS[name]["lr"]``) of the label's optimizer."""
    name, _ = resolve_optimizer(label)
    if "lr" not in DEFAULTS.get(name, {}):
        raise ValueError(f"optimizer {name!r} has no default learning rate in ahtga.optim.DEFAULTS; "
                         "set one with --set lr=... or lr_overrides")
    return float(DEFAULTS[name]["lr"])
