"""Registries of the experiments: tasks, presets and optimizer variants, found by name.

A leaf module (it imports nothing else of ``ahtga.experiments`` at module level), so a task
module, the preset table and the training loop all import it and none imports another.

Tasks.  A task is an object with the hooks the one training loop (:mod:`.loop`) calls -- see
:class:`Task` for the list and their defaults.  It is registered by name with a decorator::

    @register_task("classification")
    class Classification(Task): ...

and looked up with :func:`get_task` (``RunConfig.task`` holds the name).  Every module of the
package ``ahtga.experiments.tasks`` is imported once, on the first lookup (:func:`load_plugins`),
so a new task is one new file in that folder.

Presets and variants.  :func:`register_preset` adds a named preset (:func:`make_preset` builds
one from per-scale overrides) and :func:`register_variant` an optimizer label (a registry name
of ``ahtga.optim`` with keyword arguments, optionally its own lr grid, and optionally options
read from another run's result: ``from_run``, see :func:`register_variant`).  The built-in ones are
registered by :mod:`.presets`; a task module may register its own next to the task, so a new
study -- task, presets and variants -- is one file under ``tasks/``.  Names must be new: a
second registration of a name is a ValueError (a typo would otherwise replace a preset).
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Task", "TASKS", "register_task", "get_task", "task_names", "load_plugins",
           "Preset", "PRESETS", "register_preset", "make_preset", "VARIANTS", "VARIANT_GRIDS",
           "register_variant", "SEEDS", "VARIANT_FROM_RUN", "RunSource"]


# ----------------------------------------------------------------------------- tasks
class Task:
    """What the training loop needs from a kind of experiment.  Subclass, override what differs
    from these defaults, and register with :func:`register_task`.

    ``adjust(cfg, overrides) -> cfg``    defaults that follow from other fields (called last by
                                         ``presets.resolve``)
    ``check(cfg)``                       refuse settings that do not apply (called by
                                         ``presets.resolve`` and the loop)
    ``prepare(cfg, seed) -> data``       the run's data (an object with ``.info``, a provenance
                                         dict stored as the result's ``data``); every data set
                                         the run needs is loaded here, before training
    ``build_model(cfg, data)``           the model (on the CPU; the loop moves it)
    ``check_optimizer(cfg, label)``      refuse an optimizer setting the task cannot train with
                                         (called before the data is loaded)
    ``optimizer_extras(cfg, label, model) -> dict``   extra keyword options of the optimizer
                                         (e.g. a custom per-example engine)
    ``to_device(data, device) -> data``  data moved for training on an accelerator
    ``steps_per_epoch(cfg, data)``       optimizer steps per epoch
    ``batches(cfg, data, gen, device)``  an iterator over one epoch's batches, drawn from the
                                         CPU generator ``gen`` (checkpointed by the loop)
    ``losses(model, batch, opt) -> (losses [B], extra)``   per-example losses with graph;
                                         ``extra`` (a dict of floats) is averaged per epoch
                                         into the epoch curves (``epoch_keys``)
    ``probes(cfg, model, data, seed, device, engine)``      monitors during training
                                         (``studies.EpochProbes`` or :class:`NoProbes`)
    ``evaluate(cfg, model, data, device, probes, epoch) -> dict``   validation/test metrics of
                                         an evaluation epoch: ``val_loss``, ``val_acc``,
                                         ``test_loss``, ``test_acc``, ``eff_rank``
    ``eval_due(cfg, epoch)``             whether ``epoch`` evaluates (default: every
                                         ``eval_every`` epochs and the last)
    ``final_metrics(cfg, model, data, device, *, seed, curves, engine) -> dict``   the
                                         task's part of ``final``
    ``distributed``                      False: refused under torchrun
    """

    name = ""
    distributed = True
    epoch_keys: tuple[str, ...] = ()

    def adjust(self, cfg, overrides: dict | None):
        return cfg

    def check(self, cfg) -> None:
        return None

    def prepare(self, cfg, seed: int):
        raise NotImplementedError

    def build_model(self, cfg, data):
        raise NotImplementedError

    def check_optimizer(self, cfg, label: str) -> None:
        return None

    def optimizer_extras(self, cfg, label: str, model) -> dict:
        return {}

    def to_device(self, data, device):
        return data

    def steps_per_epoch(self, cfg, data) -> int:
        raise NotImplementedError

    def batches(self, cfg, data, gen, device):
        raise NotImplementedError

    def losses(self, model, batch, opt):
        raise NotImplementedError

    def probes(self, cfg, model, data, seed, device, engine):
        return NoProbes()

    def eval_due(self, cfg, epoch: int) -> bool:
        return epoch % cfg.eval_every == 0 or epoch >= cfg.epochs

    def evaluate(self, cfg, model, data, device, probes, epoch: int) -> dict:
        raise NotImplementedError

    def final_metrics(self, cfg, model, data, device, *, seed, curves, engine) -> dict:
        raise NotImplementedError


class NoProbes:
    """Monitors of a task without any (the loop's calls do nothing)."""

    def load_history(self, curves):
        pass

    def at_start(self, curves):
        pass

    def after_step(self, step, curves):
        pass

    def at_end(self, step, curves):
        pass

    def effective_rank(self):
        return None


TASKS: dict[str, Task] = {}


def register_task(name: str) -> Callable[[type], type]:
    """Class decorator: register one instance of the class as task ``name``."""
    def deco(cls: type) -> type:
        if name in TASKS:
            raise ValueError(f"task {name!r} is already registered (by {type(TASKS[name]).__module__})")
        inst = cls()
        inst.name = name
        TASKS[name] = inst
        return cls
    return deco


_LOADED = False


def load_plugins() -> None:
    """Import every module of ``ahtga.experiments.tasks`` once (they register themselves)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    pkg = importlib.import_module("ahtga.experiments.tasks")
    for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if not m.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{m.name}")


def task_names() -> tuple[str, ...]:
    load_plugins()
    return tuple(TASKS)


def get_task(name: str) -> Task:
    """The registered task ``name`` (a ValueError lists the valid names)."""
    load_plugins()
    if name not in TASKS:
        raise ValueError(f"`task` must be one of {list(TASKS)}; got task={name!r}")
    return TASKS[name]


# ----------------------------------------------------------------------------- presets
@dataclass(frozen=True)
class Preset:
    name: str
    study: str                      # main | robustness | dynamics | ablation | lowdata | fewshot | ...
    description: str
    common: dict = field(default_factory=dict)     # overrides at every scale
    scales: dict = field(default_factory=dict)     # scale -> overrides (only scales listed run)
    seeds: dict = field(default_factory=dict)      # scale -> default seeds
    run_all: bool = True                           # included in ``run-all`` at its scales


#: Default seeds per scale.
SEEDS = {"tiny": (0, 1, 2), "small": (0, 1, 2), "full": (0, 1, 2, 3, 4)}

PRESETS: dict[str, Preset] = {}


def make_preset(name: str, study: str, description: str, common: dict | None = None,
                tiny: dict | None = None, small: dict | None = None, full: dict | None = None,
                seeds: dict | None = None, run_all: bool = True) -> Preset:
    """A :class:`Preset` with a version at each scale given (``None``: no version there)."""
    scales = {k: v for k, v in (("tiny", tiny), ("small", small), ("full", full)) if v is not None}
    return Preset(name, study, description, dict(common or {}), scales,
                  dict(seeds or {s: SEEDS[s] for s in scales}), run_all)


def register_preset(preset: Preset) -> Preset:
    """Add ``preset`` under its name (a duplicate name is a ValueError)."""
    if preset.name in PRESETS:
        raise ValueError(f"preset {preset.name!r} is already registered")
    PRESETS[preset.name] = preset
    return preset


# ----------------------------------------------------------------------------- variants
#: label -> (registry name of ahtga.optim, kwargs)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {}
#: label -> its own lr grid (else ``ahtga.optim.LR_GRIDS`` of its registry name)
VARIANT_GRIDS: dict[str, tuple[float, ...]] = {}


@dataclass(frozen=True)
class RunSource:
    """Options of a variant read from another run of the same preset and seed: the result of
    ``OUT/<preset>/<label>/seed<k>.json`` is passed to ``options(result) -> dict`` (keyword
    arguments merged over the variant's own; a ValueError when the result cannot give them).
    ``what`` says in words what is read (for error messages and result files)."""
    label: str
    options: Callable[[dict], dict]
    what: str


#: label -> the :class:`RunSource` of its options that depend on another run
VARIANT_FROM_RUN: dict[str, RunSource] = {}


def register_variant(label: str, name: str, kwargs: dict[str, Any] | None = None, *,
                     grid: tuple[float, ...] | None = None,
                     from_run: RunSource | None = None) -> None:
    """Add optimizer label ``label`` = registry optimizer ``name`` with ``kwargs`` (and its own
    learning-rate ``grid`` for sweeps, when its scale differs from its base optimizer's).
    ``from_run``: options read from another label's result of the same preset and seed (e.g. a
    fixed exponent at an adaptive run's mean gamma); such a run trains after its source
    (``optimizers.optimizer_kwargs`` resolves them, a missing source is refused)."""
    if label in VARIANTS:
        raise ValueError(f"optimizer variant {label!r} is already registered")
    if from_run is not None and from_run.label == label:
        raise ValueError(f"variant {label!r} cannot read its options from its own runs")
    VARIANTS[label] = (name, dict(kwargs or {}))
    if grid is not None:
        VARIANT_GRIDS[label] = tuple(float(v) for v in grid)
    if from_run is not None:
        VARIANT_FROM_RUN[label] = from_run
