"""Experiments: configs, presets, the runner, result files and tables over seeds.

``python -m ahtga.experiments list | run PRESET ... | run-all --scale tiny --out DIR``; see
:mod:`ahtga.experiments.cli`.  Result files: ``OUT/<preset>/<optimizer>/seed<k>.json`` with
``config``, ``code_version``, ``data``, ``hardware``, ``timings``, ``curves`` and ``final``
(see :mod:`ahtga.experiments.runner` and :mod:`ahtga.experiments.studies`).
"""
from .aggregate import aggregate, format_table, load_results, t_interval
from .config import RunConfig, apply_overrides, coerce, parse_set
from .presets import PRESETS, VARIANTS, resolve
from .runner import run_one
from .store import result_path, write_json_atomic

__all__ = ["RunConfig", "apply_overrides", "coerce", "parse_set", "PRESETS", "VARIANTS", "resolve",
           "run_one", "result_path", "write_json_atomic", "aggregate", "format_table",
           "load_results", "t_interval"]
