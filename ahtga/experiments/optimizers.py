"""Optimizer labels -> optimizers: the one place where a label's options are merged.

A label of ``RunConfig.optimizers`` is a registry name of :func:`ahtga.optim.build_optimizer` or
a variant (``registry.VARIANTS``: a registry name with keyword arguments).  Its options, lowest
priority first: for AHTGA and its variants :data:`AHTGA_EXPERIMENT_KWARGS` (every run logs the
achieved tail index of the transformed norms, ``track_transformed=True``, at the cost of a
second tail estimate per step), ``cfg.optimizer_kwargs`` (every optimizer), ``cfg.ahtga_kwargs``
(AHTGA and its variants only), the variant's own kwargs (:func:`optimizer_kwargs`); then the
learning rate and a task's extras (:func:`make_optimizer`), and AHTGA's ``seed`` defaults to the
run's seed.

Options read from another run (``registry.VARIANT_FROM_RUN``, e.g. ``ahtga_gamma_matched``'s
gamma, the mean gamma of the adaptive run of the same preset and seed) are resolved by
:func:`optimizer_kwargs` given the results folder ``out`` and the ``seed``: from
``OUT/<preset>/<source label>/seed<k>.json`` -- the way ``lr_from`` reads a sweep record.  A
missing source result is refused (:class:`MissingSource` names what to run first); the resolved
options are part of the run's identity (``runner.run_key``) and of its result file.
"""
from __future__ import annotations

from pathlib import Path

from ..optim import DEFAULTS, OPTIMIZERS, build_optimizer
from .registry import VARIANT_FROM_RUN, VARIANTS
from .store import read_result, result_path

__all__ = ["AHTGA_EXPERIMENT_KWARGS", "MissingSource", "run_source", "check_labels", "resolve_optimizer", "optimizer_kwargs",
           "make_optimizer", "default_lr", "default_options"]


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


class MissingSource(LookupError):
    """A variant reads options from another run (``registry.VARIANT_FROM_RUN``) whose result
    is not under this ``--out``."""

    def __str__(self) -> str:
        return str(self.args[0])


def run_source(cfg, label: str, seed: int, out) -> tuple[dict, dict]:
    """``(options, provenance)`` of a variant whose options come from another run: the
    source's result ``OUT/<preset>/<source>/seed<k>.json`` given to its ``RunSource.options``;
    provenance = ``{"source", "run_key", "what"}``.  :class:`MissingSource` when the result is
    missing, ValueError when it cannot give the options (e.g. it diverged)."""
    src = VARIANT_FROM_RUN[label]
    path = result_path(out, cfg.preset, src.label, seed)
    res = read_result(path)
    if res is None:
        raise MissingSource(
            f"optimizer {label!r} of preset {cfg.preset!r} (seed {seed}) takes {src.what} from "
            f"{path}, which does not exist: run `python -m ahtga.experiments run {cfg.preset} "
            f"--scale {cfg.scale} --out {out} --set optimizers={src.label}` (with the same "
            f"--set/--data-dir) first; `run {cfg.preset}` runs {src.label} before {label}")
    try:
        opts = src.options(res)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"optimizer {label!r} of preset {cfg.preset!r} (seed {seed}) takes "
                         f"{src.what} from {path}, which cannot give it: {e}") from None
    return opts, {"source": str(path), "run_key": res.get("run_key"), "what": src.what}


def optimizer_kwargs(cfg, label: str, *, out=None, seed: int | None = None) -> dict:
    """The label's options without the learning rate (module docstring); what result files
    record as ``optimizer_spec.kwargs`` and :func:`runner.run_key` hashes.  For a variant whose
    options come from another run, ``out`` and ``seed`` resolve them (:func:`run_source`);
    without them its own static options are returned (not enough to build it:
    :func:`make_optimizer` refuses)."""
    name, kw = resolve_optimizer(label)
    if label in VARIANT_FROM_RUN and out is not None and seed is not None:
        kw = {**kw, **run_source(cfg, label, seed, Path(out))[0]}
    if name != "ahtga":
        return {**cfg.optimizer_kwargs, **kw}
    return {**AHTGA_EXPERIMENT_KWARGS, **cfg.optimizer_kwargs, **cfg.ahtga_kwargs, **kw}


#: Options a run sets apart from its options: the learning rate, AHTGA's seed (the run's) and
#: what a task passes (``Task.optimizer_extras``: an engine, parameter groups, the loss reduction)
_SET_BY_RUN = ("lr", "seed", "engine", "params", "loss_reduction")


def default_options(label: str, options: dict) -> dict:
    """What the label's optimizer takes for every option not in ``options`` (nor set by the run:
    lr, AHTGA's seed): :func:`ahtga.optim.registry.effective_defaults`.  Result files record it
    as ``optimizer_spec.defaults``, so a stored result made before a default changed is not
    taken for a current one (``runner``)."""
    from ahtga.optim.registry import effective_defaults

    name, _ = resolve_optimizer(label)
    return {k: v for k, v in effective_defaults(name, given=tuple(options)).items()
            if k not in _SET_BY_RUN}


def make_optimizer(cfg, label: str, model, lr: float, seed: int, *, options: dict | None = None,
                   **extra):
    """The label's optimizer on ``model`` with ``options`` (default :func:`optimizer_kwargs`;
    required for a variant whose options come from another run: the runner resolves them);
    ``extra`` (a task's options, e.g. an ``engine``) win."""
    name, _ = resolve_optimizer(label)
    if options is None:
        if label in VARIANT_FROM_RUN:
            raise ValueError(f"optimizer {label!r} takes {VARIANT_FROM_RUN[label].what} from "
                             f"another run; pass options=optimizer_kwargs(cfg, {label!r}, "
                             "out=OUT, seed=SEED) (the runner does)")
        options = optimizer_kwargs(cfg, label)
    kw = {**options, "lr": lr, **extra}
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
