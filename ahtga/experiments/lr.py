"""Learning rates: the one decision of which lr a run uses, and the validation sweep.

:func:`lr_decision` is the only place the rule is written; :func:`resolve_lr` (runs),
:func:`known_lr` (is a stored result still current?) and :func:`needs_sweep` (what the command
line sweeps first) all read it.  In order:

1. ``lr_overrides[label]``, then ``lr`` when > 0 (``fixed``);
2. ``lr_from``: the choice recorded by that preset's finished sweep for the label -- or, for an
   AHTGA variant without its own grid (``registry.VARIANT_GRIDS``), for its registry name --
   made for the same setting (:data:`SWEEP_SETTING`) and, when the label has ``lr_grids``, over
   that grid (``recorded``);
3. ``lr_sweep``: this preset's own finished sweep over :func:`sweep_grid` (``recorded``), else a
   sweep to run (``sweep``);
4. ``lr_from`` without a record and without ``lr_sweep``: refused (``missing``: a
   :class:`MissingSweep` names the preset to run first -- never a silent registry default);
5. otherwise the registry default ``ahtga.optim.DEFAULTS[name]["lr"]`` (``default``).

The sweep (:func:`lr_sweep`) trains seed 0 for ``sweep_epochs`` per grid point without monitors
and chooses the highest final validation accuracy, ties to the lower validation loss; diverged
points are never chosen.  Each point is recorded in ``OUT/<preset>/<label>/lr_sweep.json`` at
once (atomic), so a killed sweep resumes; one process sweeps a label at a time (its lock
``lr_sweep.lock``; another process waits for the record).
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

from ..optim import LR_GRIDS
from . import distributed as dist_
from . import loop, store
from .config import RunConfig
from .locks import RunLock
from .optimizers import default_lr, resolve_optimizer
from .registry import VARIANT_GRIDS, get_task

__all__ = ["MissingSweep", "SWEEP_SETTING", "lr_decision", "resolve_lr", "known_lr", "needs_sweep",
           "lr_sweep", "sweep_grid", "sweep_setting", "sweep_file", "recorded_choice", "missing_sweep"]


class MissingSweep(LookupError):
    """A preset takes its learning rates from another preset's sweep (``lr_from``) that has not
    been run for this model and data set under this ``--out``."""

    def __str__(self) -> str:
        return str(self.args[0])


#: The config fields a learning-rate choice is tied to: a sweep record stores them
#: (``"setting"``), and a choice made for another task, data set or model is not reused.  The
#: batch size is left out on purpose: the low-data presets reuse ``main``'s choices at a smaller
#: batch (their whole training set is a few batches), as their descriptions say.
SWEEP_SETTING = ("task", "dataset", "model", "model_kwargs")


def sweep_setting(cfg: RunConfig) -> dict:
    """The :data:`SWEEP_SETTING` fields of ``cfg``, as they read back from JSON."""
    return json.loads(json.dumps({f: getattr(cfg, f) for f in SWEEP_SETTING}))


def sweep_file(out: Path, preset: str, label: str) -> Path:
    return Path(out) / preset / label / "lr_sweep.json"


def sweep_grid(cfg: RunConfig, label: str) -> list[float]:
    """The sorted lr grid swept for ``label``: ``cfg.lr_grids[label]``, else the label's own grid
    in ``registry.VARIANT_GRIDS``, else ``optim.LR_GRIDS`` of its registry name."""
    name, _ = resolve_optimizer(label)
    grid = cfg.lr_grids.get(label) or VARIANT_GRIDS.get(label) or LR_GRIDS[name]
    return sorted(float(v) for v in grid)


def _same_setting(rec: dict, setting: dict | None) -> bool:
    """A record without ``"setting"`` (written before it was stored) is taken to match."""
    return setting is None or rec.get("setting") in (None, setting)


def recorded_choice(out: Path, preset: str, label: str, grid: list[float] | None = None,
                    setting: dict | None = None) -> float | None:
    """The lr chosen by a finished sweep of ``preset`` for ``label`` (or for the label's registry
    name, unless the label has its own grid in ``VARIANT_GRIDS`` or ``grid`` is given).  With
    ``grid``, only a sweep of the label itself over that grid counts; with ``setting``, a sweep
    recorded for another setting does not."""
    labels = ([label] if label in VARIANT_GRIDS or grid is not None
              else [label, resolve_optimizer(label)[0]])
    for lab in labels:
        rec = store.read_result(sweep_file(out, preset, lab), what="sweep record")
        if (rec is not None and rec.get("chosen") is not None
                and (grid is None or rec.get("grid") == grid) and _same_setting(rec, setting)):
            return float(rec["chosen"])
    return None


def lr_decision(cfg: RunConfig, label: str, out: Path | None) -> tuple[str, float | None, dict]:
    """``(kind, lr, info)`` by the rule of the module docstring; ``kind`` is ``fixed``,
    ``recorded``, ``sweep`` (lr None), ``missing`` (lr None) or ``default``."""
    if label in cfg.lr_overrides:
        return "fixed", float(cfg.lr_overrides[label]), {"source": "lr_overrides"}
    if cfg.lr > 0:
        return "fixed", float(cfg.lr), {"source": "config lr"}
    setting = sweep_setting(cfg)
    if cfg.lr_from and out is not None:
        own = sweep_grid(cfg, label) if label in cfg.lr_grids else None
        v = recorded_choice(out, cfg.lr_from, label, own, setting)
        if v is not None:
            return "recorded", v, {"source": f"sweep of preset {cfg.lr_from}"}
    if cfg.lr_sweep:
        grid = sweep_grid(cfg, label)
        if out is not None:
            rec = store.read_result(sweep_file(out, cfg.preset, label), what="sweep record")
            if (rec is not None and rec.get("chosen") is not None and rec.get("grid") == grid
                    and _same_setting(rec, setting)):
                return "recorded", float(rec["chosen"]), {
                    "source": f"sweep of preset {cfg.preset}", "grid": rec["grid"],
                    "points": rec["points"], "rule": rec.get("rule"),
                    "at_grid_edge": rec.get("at_grid_edge")}
        return "sweep", None, {"record": out is not None and sweep_file(out, cfg.preset, label).is_file()}
    if cfg.lr_from:
        return "missing", None, {}
    return "default", default_lr(label), {"source": "registry default (no sweep)"}


def missing_sweep(cfg: RunConfig, labels, out: Path | None) -> MissingSweep:
    """The error of a preset whose ``lr_from`` sweep has no record for ``labels``."""
    where = f"under {out}" if out is not None else "(no --out given)"
    return MissingSweep(
        f"preset {cfg.preset!r} takes its learning rates from preset {cfg.lr_from!r}'s sweep "
        f"(lr_from={cfg.lr_from!r}), which has no finished record for {', '.join(labels)} with "
        f"model {cfg.model!r} on {cfg.dataset!r} {where}; run `python -m ahtga.experiments run "
        f"{cfg.lr_from} --scale {cfg.scale} --out {out}` (with the same --set/--data-dir) first, "
        "or give the rates with --set lr=... or lr_overrides")


def resolve_lr(cfg: RunConfig, label: str, out: Path | None) -> tuple[float, dict]:
    """(lr, how it was chosen); runs the sweep when the decision is ``sweep``."""
    kind, lr, info = lr_decision(cfg, label, out)
    if kind == "sweep":
        if out is None:
            raise ValueError(f"preset {cfg.preset!r} sweeps its learning rates (lr_sweep=true) and "
                             "needs an output folder for the sweep record; got out=None")
        rec = lr_sweep(cfg, label, out)
        return float(rec["chosen"]), {"source": f"sweep of preset {cfg.preset}", "grid": rec["grid"],
                                      "points": rec["points"], "rule": rec.get("rule"),
                                      "at_grid_edge": rec.get("at_grid_edge")}
    if kind == "missing":
        raise missing_sweep(cfg, [label], out)
    return lr, info


def known_lr(cfg: RunConfig, label: str, out: Path | None) -> float | None:
    """The lr :func:`resolve_lr` would give when that needs no training; NaN when a sweep of
    this preset is pending and a record exists (unfinished, or over another grid: a stored
    result may be stale); None when there is nothing to compare with (no record at all)."""
    kind, lr, info = lr_decision(cfg, label, out)
    if kind == "sweep":
        return math.nan if info["record"] else None
    return lr


def needs_sweep(cfg: RunConfig, label: str, out: Path) -> bool:
    """Whether :func:`resolve_lr` would run a sweep now."""
    return lr_decision(cfg, label, out)[0] == "sweep"


def lr_sweep(cfg: RunConfig, label: str, out: Path) -> dict:
    """Run (or finish, or read) the label's sweep; returns its record (module docstring)."""
    grid = sweep_grid(cfg, label)
    setting = sweep_setting(cfg)
    path = sweep_file(out, cfg.preset, label)
    lock = RunLock(path.with_suffix(".lock")) if dist_.world_size() == 1 else None
    while lock is not None and not lock.acquire():   # another process sweeps: wait for it
        time.sleep(min(5.0, lock.heartbeat_s))
    try:
        return _lr_sweep(cfg, label, grid, setting, path, lock)
    finally:
        if lock is not None:
            lock.release()


def _lr_sweep(cfg, label, grid, setting, path, lock) -> dict:
    rec = store.read_result(path, what="sweep record") or {}
    if not _same_setting(rec, setting):  # another task, data set or model: start again
        rec = {}
    if rec.get("chosen") is not None and rec.get("grid") == grid:
        return rec
    # unfinished, or over another grid: keep the points the grid shares with the record
    rec = {"grid": grid, "setting": setting, "chosen": None,
           "points": {k: v for k, v in rec.get("points", {}).items() if float(k) in grid}}
    sweep_cfg = dataclasses.replace(cfg, epochs=cfg.sweep_epochs or cfg.epochs, tail_every=0,
                                    dynamics=False, perturbations=(), ood="", checkpoint_every=0)
    data = get_task(cfg.task).prepare(sweep_cfg, 0)
    for lr in grid:
        key = repr(lr)
        if key in rec["points"]:
            continue
        if lock is not None:
            lock.check()
        res = loop.train_run(sweep_cfg, label, 0, lr, data, desc=f"sweep {cfg.preset}/{label} lr={lr:g}")
        fin = res["final"]
        rec["points"][key] = {"val_acc": fin["val_acc"], "val_loss": fin["val_loss"],
                              "diverged": fin["diverged"]}
        if dist_.is_main():
            store.write_json_atomic(path, rec)
    ok = [(float(k), v) for k, v in rec["points"].items()
          if not v["diverged"] and v["val_acc"] is not None]
    if not ok:
        raise RuntimeError(f"every lr of the grid {grid} diverged for {label!r} in preset {cfg.preset!r}")
    best = max(ok, key=lambda kv: (kv[1]["val_acc"],
                                   -(kv[1]["val_loss"] if kv[1]["val_loss"] is not None else math.inf)))
    rec["chosen"] = best[0]
    rec["at_grid_edge"] = best[0] in (grid[0], grid[-1])  # the grid may need widening
    rec["rule"] = "max final validation accuracy, ties -> lower validation loss; seed 0"
    rec["sweep_epochs"] = sweep_cfg.epochs
    if dist_.is_main():
        store.write_json_atomic(path, rec)
    dist_.barrier()
    return rec
