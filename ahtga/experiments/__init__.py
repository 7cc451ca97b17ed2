"""Experiments: configs, presets, tasks, the one training loop, result files and tables.

``python -m ahtga.experiments list | run PRESET ... | run-all --scale tiny --out DIR | status OUT
| plot OUT PRESET``; see :mod:`ahtga.experiments.cli`.  Result files:
``OUT/<preset>/<optimizer>/seed<k>.json`` with ``schema_version``, ``config``, ``code_version``,
``data``, ``hardware``, ``timings``, ``curves`` and ``final`` (:mod:`.runner`, :mod:`.loop`).

The parts, and who imports whom (module-level imports only; no cycle, checked by
``tests/experiments/test_experiments_imports.py``)::

    registry      tasks, presets, optimizer variants by name (leaf)
    config        RunConfig, --set coercion, validation           -> registry
    evaluation    per-example loss, predict, evaluate (leaf)
    store, locks  atomic files, code version, per-run locks (leaves)
    optimizers    label -> optimizer: the one options merge        -> registry, ahtga.optim
    loop          the one epoch/step/checkpoint loop               -> registry, optimizers, store, progress
    lr            the one learning-rate decision, the sweep        -> loop, optimizers, store, locks
    runner        one run: skip, lock, resume, train, write        -> lr, loop, store, locks
    tasks/*       classification, lm, glue, fewshot (one file each) -> registry, evaluation,
                  studies, _data, fewshot, glue (their data and metrics)
    presets       the built-in presets and variants                -> registry, config
    launch, cli   local processes or submitit (slurm), the command line

Adding a task.  Write one file ``ahtga/experiments/tasks/<name>.py`` with a class decorated
``@register_task("<name>")`` that subclasses ``registry.Task`` (or a task to reuse, e.g.
``tasks.classification.Classification``) and overrides the hooks that differ -- ``prepare``,
``build_model``, ``batches``, ``losses``, ``evaluate``, ``final_metrics`` ... (the list and their
defaults: :class:`ahtga.experiments.registry.Task`).  Every module of ``tasks/`` is imported on
the first task lookup, so nothing else changes; ``--set task=<name>`` or a preset selects it.

Adding a preset (and optimizer variants).  In the same file (or any task file)::

    from ahtga.experiments.registry import make_preset, register_preset, register_variant

    register_variant("ahtga_gamma_0.3", "ahtga", {"exponent": {"name": "fixed", "gamma": 0.3}})
    register_preset(make_preset(
        "my_study", "my_study", "what it compares",
        common={"task": "<name>", "optimizers": ("sgd", "ahtga", "ahtga_gamma_0.3"),
                "lr_from": "main"},
        tiny={}, small={"dataset": "mnist", "model": "small_cnn"}))

A preset overrides only what differs from ``config.SCALE_DEFAULTS``; an unknown key is an
error.  ``python -m ahtga.experiments list`` shows it and ``run my_study`` runs it.  A task
module imports ``registry`` (never ``presets``), so the preset table can load the task modules.
"""
from . import aggregate
from .aggregate import format_table, load_results, t_interval
from .config import RunConfig, apply_overrides, coerce, parse_set
from .presets import PRESETS, VARIANTS, resolve
from .registry import Task, make_preset, register_preset, register_task, register_variant
from .runner import run_one
from .store import result_path, write_json_atomic

__all__ = ["RunConfig", "apply_overrides", "coerce", "parse_set", "PRESETS", "VARIANTS", "resolve",
           "run_one", "result_path", "write_json_atomic", "aggregate", "format_table",
           "load_results", "t_interval", "Task", "register_task", "register_preset",
           "make_preset", "register_variant"]
