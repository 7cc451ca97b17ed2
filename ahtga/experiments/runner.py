"""One (preset, optimizer, seed) run end to end: skip, claim, resume, train, write.

:func:`run_one`:
1. keep a stored result that is readable and current (same config, optimizer options and, when
   known without training, learning rate: :func:`stored_is_current`); a truncated file is read
   as missing (``store.read_result``) and a stale one recomputed, each with a warning;
2. check the device and the optimizer label, then resolve the learning rate
   (:func:`ahtga.experiments.lr.resolve_lr`; an ``lr_from`` preset without its sweep record is a
   :class:`~ahtga.experiments.lr.MissingSweep`);
3. claim the run's lock (:mod:`.locks`; a run another live process holds is left to it and
   ``run_one`` returns None), re-check the result; when another preset under the same ``OUT``
   holds a finished result of the same label and seed with this run's :func:`run_key` (the same
   run, made by an earlier command), copy it (:func:`identical_result`, :func:`copy_result`:
   ``reused_from`` names it) instead of training it again; else prepare the data (every data set the run
   needs, before training: ``Task.prepare``) and train it with the one loop
   (:func:`ahtga.experiments.loop.train_run`), resuming from its checkpoint only when that
   checkpoint is bound to this exact run and code (:func:`binding_of`);
4. write the result atomically (``schema_version`` :data:`store.SCHEMA_VERSION`) and delete the
   checkpoint; an exception leaves ``seed<k>.failed`` (the error) beside it instead.

Under ``torchrun`` (several processes) the training batches are sharded, baselines are wrapped
in DDP and only rank 0 writes files (:mod:`.distributed`); there every rank runs the same runs,
so no lock is taken.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import traceback
import warnings
from pathlib import Path

import torch

from . import distributed as dist_
from . import loop, store
from .config import RunConfig, to_dict
from .locks import LockLost, RunLock, lock_path
from .lr import MissingSweep, known_lr, resolve_lr  # noqa: F401 (MissingSweep re-exported)
from .optimizers import (MissingSource, default_options, optimizer_kwargs,  # noqa: F401
                         resolve_optimizer, run_source)
from .registry import VARIANT_FROM_RUN, get_task

__all__ = ["run_one", "run_one_status", "run_key", "binding_of", "prepare", "copy_result", "identical_result", "same_defaults", "stored_is_current",
           "failed_path", "MissingSweep", "MissingSource"]


def prepare(cfg: RunConfig, seed: int):
    """The data of one run (``Task.prepare`` of ``cfg.task``)."""
    return get_task(cfg.task).prepare(cfg, seed)


# ----------------------------------------------------------------------------- identity
_KEY_IGNORES = ("preset", "optimizers", "lr", "lr_overrides", "lr_from", "lr_sweep", "sweep_epochs",
                "progress", "lr_grids")


def run_key(cfg: RunConfig, label: str, seed: int, lr: float, *, out: str | Path | None = None
            ) -> str:
    """sha256 of everything that determines a run's numbers: the config without the fields that
    only name or schedule it (``_KEY_IGNORES``), the optimizer's registry name and kwargs, the
    resolved lr and the seed.  Two presets that contain the same run (the plain ``ahtga`` row of
    every ablation equals ``ablate_*``'s baseline) share the key, so it is trained once.
    ``out``: the results folder, which resolves options read from another run
    (``optimizers.run_source``; a missing source is a ``MissingSource``)."""
    d = {k: v for k, v in to_dict(cfg).items() if k not in _KEY_IGNORES}
    blob = json.dumps({"config": d, "optimizer": resolve_optimizer(label)[0],
                       "kwargs": optimizer_kwargs(cfg, label, out=out, seed=seed), "lr": float(lr),
                       "seed": int(seed)},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def binding_of(cfg: RunConfig, label: str, seed: int, lr: float, *,
               out: str | Path | None = None) -> dict:
    """What a checkpoint is bound to: the run's :func:`run_key` (its whole resolved config, the
    optimizer and its options, the learning rate and the seed) and the package's source digest
    (``store.code_version()["source_sha256"]``)."""
    return {"run_key": run_key(cfg, label, seed, lr, out=out),
            "source_sha256": store.code_version().get("source_sha256")}


def _norm(x):
    return json.loads(json.dumps(x, sort_keys=True, default=str))


def _matches(stored: dict, cfg: RunConfig, label: str, lr: float | None = None,
             out: Path | None = None) -> bool:
    """Whether a stored result was made with this config, these optimizer options and (when
    given) this learning rate.  ``lr_grids`` only acts through the learning rate it chooses, so
    it is compared as that learning rate.  Options read from another run are resolved under
    ``out`` for the stored seed (a source that is missing or changed: not current)."""
    def no_grids(c):
        return {k: v for k, v in c.items() if k != "lr_grids"}

    try:
        kwargs = optimizer_kwargs(cfg, label, out=out, seed=stored.get("seed"))
        same = (_norm(no_grids(stored["config"])) == _norm(no_grids(to_dict(cfg)))
                and _norm(stored["optimizer_spec"]["kwargs"]) == _norm(kwargs)
                and same_defaults(stored, label, kwargs))
        if same and lr is not None:  # (NaN: a pending choice, never equal)
            same = float(stored["optimizer_spec"]["lr"]) == float(lr)
        return same
    except (LookupError, TypeError, ValueError):   # (a missing source: MissingSource)
        return False


def same_defaults(stored: dict, label: str, kwargs: dict) -> bool:
    """Whether the optimizer defaults a stored result recorded (``optimizer_spec.defaults``) are
    today's (:func:`optimizers.default_options`) for every option both know: a changed default
    makes the result stale; an option added since (or removed) does not, since the value that
    run used cannot be told from its absence.  A result written before defaults were recorded
    (no ``defaults``) is taken to match -- such files cannot tell."""
    rec = stored.get("optimizer_spec", {}).get("defaults")
    if rec is None:
        return True
    now = _norm(default_options(label, kwargs))
    rec = _norm(rec)
    return all(rec[k] == now[k] for k in set(rec) & set(now))


def stored_is_current(path: Path, cfg: RunConfig, label: str, out: Path) -> bool:
    """Whether the stored result at ``path`` can be kept for this run: readable (a truncated
    file is not, with a warning), same config and optimizer options, and the same lr when that
    is known without training (a missing sweep record does not start a sweep just to decide)."""
    stored = store.read_result(path)
    return stored is not None and _matches(stored, cfg, label, known_lr(cfg, label, out), out)


def _current(path: Path, cfg: RunConfig, label: str, out: Path, force: bool, *, say: bool) -> bool:
    if force or not path.is_file():
        return False
    stored = store.read_result(path)                 # an unreadable file warns and is missing
    if stored is None:
        return False
    if _matches(stored, cfg, label, known_lr(cfg, label, out), out):
        return True
    if say:
        warnings.warn(f"{path}: stored config, optimizer options or learning rate differ from "
                      "this run's; recomputing it", RuntimeWarning, stacklevel=3)
    return False


def failed_path(result: Path) -> Path:
    """``seed<k>.failed``: the error of the last attempt of a run that raised (JSON)."""
    return Path(result).with_suffix(".failed")


# ----------------------------------------------------------------------------- one run
def run_one(cfg: RunConfig, label: str, seed: int, out: str | Path, *, force: bool = False,
            tensorboard: str | None = None) -> Path | None:
    """Run (or skip, when its current result exists) one (preset, optimizer, seed); returns the
    result path, or None when another live process holds the run's lock (module docstring).
    ``tensorboard``: a folder for TensorBoard scalars of this run (optional)."""
    return run_one_status(cfg, label, seed, out, force=force, tensorboard=tensorboard)[0]


def run_one_status(cfg: RunConfig, label: str, seed: int, out: str | Path, *, force: bool = False,
                   tensorboard: str | None = None) -> tuple[Path | None, str]:
    """:func:`run_one` with what happened: ``trained`` (by this call), ``current`` (a current
    result was there, or another process wrote it meanwhile), ``copied`` (the identical run of
    another preset under ``out``: :func:`identical_result`) or ``busy`` (path None)."""
    out = Path(out)
    path = store.result_path(out, cfg.preset, label, seed)
    if _current(path, cfg, label, out, force, say=True):
        return path, "current"
    dist_.check_device(cfg.device)
    resolve_optimizer(label)
    get_task(cfg.task).check_optimizer(cfg, label)
    lock = RunLock(lock_path(path)) if dist_.world_size() == 1 else None
    if lock is not None and not lock.acquire():
        return None, "busy"
    try:
        if lock is not None and _current(path, cfg, label, out, force, say=False):
            return path, "current"                       # finished by another process meanwhile
        src = None if force else identical_result(cfg, label, seed, out)
        if src is not None:
            return copy_result(src, cfg, label, seed, out), "copied"
        return _run_locked(cfg, label, seed, out, path, lock, tensorboard), "trained"
    except Exception as e:
        if dist_.is_main() and not isinstance(e, LockLost):
            store.write_json_atomic(failed_path(path), {
                "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                "host": socket.gethostname(), "pid": os.getpid(), "failed_unix": time.time()})
        raise
    finally:
        if lock is not None:
            lock.release()


def _run_locked(cfg, label, seed, out, path, lock, tensorboard) -> Path:
    t0 = time.time()
    torch.set_num_threads(cfg.num_threads)
    lr, lr_info = resolve_lr(cfg, label, out)
    options = optimizer_kwargs(cfg, label, out=out, seed=seed)   # MissingSource before any data
    data = prepare(cfg, seed)
    ckpt = store.checkpoint_path(path)
    tb = str(Path(tensorboard) / cfg.preset / label / f"seed{seed}") if tensorboard else None
    res = loop.train_run(cfg, label, seed, lr, data, ckpt=ckpt,
                         binding=binding_of(cfg, label, seed, lr, out=out), lock=lock,
                         tensorboard=tb, options=options)
    if lock is not None:
        lock.check()
    result = {
        "schema_version": store.SCHEMA_VERSION,
        "preset": cfg.preset, "optimizer": label, "seed": int(seed), "scale": cfg.scale,
        "run_key": run_key(cfg, label, seed, lr, out=out),
        "config": to_dict(cfg),
        "optimizer_spec": {"name": resolve_optimizer(label)[0], "lr": lr,
                           "kwargs": options, "defaults": default_options(label, options),
                           "lr_choice": lr_info,
                           **({"options_from": run_source(cfg, label, seed, out)[1]}
                              if label in VARIANT_FROM_RUN else {})},
        "code_version": store.code_version(), "data": data.info,
        "hardware": store.hardware(cfg.device),
        "timings": {**res["timings"], "started_unix": t0, "finished_unix": time.time()},
        "curves": res["curves"], "final": res["final"],
    }
    if dist_.is_main():
        store.write_json_atomic(path, result)
        ckpt.unlink(missing_ok=True)
        failed_path(path).unlink(missing_ok=True)
    dist_.barrier()
    return path


def identical_result(cfg: RunConfig, label: str, seed: int, out: str | Path) -> Path | None:
    """A finished result ``OUT/<other preset>/<label>/seed<k>.json`` whose stored ``run_key``
    equals this run's (:func:`run_key`: the same config apart from the fields that only name or
    schedule it, the same optimizer options, lr and seed -- so the same numbers) and whose
    recorded optimizer defaults, if any, are today's (:func:`same_defaults`), else None.
    Results copied from elsewhere (``reused_from``) and unreadable files (with
    :func:`store.read_result`'s warning) are passed over; when the
    learning rate or an option read from another run cannot be resolved yet, None."""
    out = Path(out)
    try:
        key = run_key(cfg, label, seed, resolve_lr(cfg, label, out)[0], out=out)
    except (LookupError, ValueError):        # MissingSweep / MissingSource: the run will say so
        return None
    kwargs = optimizer_kwargs(cfg, label, out=out, seed=seed)
    own = store.result_path(out, cfg.preset, label, seed)
    for cand in sorted(out.glob(f"*/{label}/seed{int(seed)}.json")):
        if cand == own:
            continue
        stored = store.read_result(cand)             # an unreadable file warns and is None
        if (stored and stored.get("run_key") == key and "reused_from" not in stored
                and same_defaults(stored, label, kwargs)):
            return cand
    return None


def copy_result(src: Path, cfg: RunConfig, label: str, seed: int, out: str | Path) -> Path:
    """Write ``src``'s result as this (preset, label, seed)'s, with this preset's config and a
    ``reused_from`` note; only valid when both have the same :func:`run_key`."""
    res = store.read_json(src)
    res.update({"preset": cfg.preset, "optimizer": label, "config": to_dict(cfg),
                "reused_from": str(src)})
    dst = store.result_path(out, cfg.preset, label, seed)
    if dist_.is_main():
        store.write_json_atomic(dst, res)
    dist_.barrier()
    return dst
