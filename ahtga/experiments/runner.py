"""Train one (preset, optimizer, seed) run and write its result file; resume, skip, sweep.

One run:
1. resolve the learning rate (``lr_overrides`` > ``lr`` > a recorded sweep choice > a sweep now
   when ``lr_sweep`` > the registry default ``ahtga.optim.DEFAULTS[name]["lr"]``);
2. prepare the data (``_data.prepare``) and build model and optimizer under ``torch.manual_seed``;
3. train ``epochs`` passes with seeded batch order; every step ``ahtga.optim.train_step`` (AHTGA
   receives per-example losses, the rest their mean); log the training loss, step time, lr and
   AHTGA's telemetry every ``log_every`` steps, the tail monitor every ``tail_every`` steps,
   validation and test loss/accuracy (and the effective rank under ``dynamics``) every
   ``eval_every`` epochs and after the last (null curve entries in between);
4. checkpoint every ``checkpoint_every`` epochs (atomic), so a killed run resumes from its last
   finished epoch with the same batch order;
5. final metrics (``studies.final_metrics``) and the result file, written atomically; the
   checkpoint is then deleted.  A result that exists is never recomputed (``force`` aside).

A run whose training loss becomes NaN or Inf stops there and is recorded with
``final.diverged = true`` (its accuracy is still measured at the parameters it stopped at).

``task="fewshot"`` runs are prepared and trained by :mod:`ahtga.experiments.fewshot` (episodes)
and written here like every other run.  ``task="glue"`` runs (GLUE TSV text classification) are
prepared and their models built by :mod:`ahtga.experiments.glue` and trained by this loop.  Under ``torchrun`` (several processes) the training
batches are sharded, baselines are wrapped in DDP and only rank 0 writes files: see
:mod:`ahtga.experiments.distributed`.
"""
from __future__ import annotations

import math
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from . import distributed as dist_
from . import evaluation, store
from ._data import Prepared, prepare as _prepare_arrays
from .config import RunConfig, to_dict
from .evaluation import evaluate, loss_acc, per_example_loss, predict  # noqa: F401 (re-exported)
from .locks import LockLost, RunLock, lock_path


class MissingSweep(LookupError):
    """A preset takes its learning rates from another preset's sweep (``lr_from``) that has not
    been run for this model and data set under this ``--out``."""

    def __str__(self) -> str:
        return str(self.args[0])


def check_device(device: str) -> None:
    """Refuse a device this torch build cannot use, before any data is loaded or trained."""
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


def prepare(cfg: RunConfig, seed: int):
    """The data of one run: ``fewshot.prepare`` for ``task="fewshot"``, ``glue.prepare`` for
    ``task="glue"``, else ``_data.prepare`` plus the OOD set named by ``ood`` (loaded here,
    before training: a set that cannot be found is reported now, with a warning, and the run
    records ``final.ood.auroc = null`` with the reason beside its other results)."""
    if cfg.task == "fewshot":
        from . import fewshot
        return fewshot.prepare(cfg, seed)
    if cfg.task == "glue":
        from . import glue
        return glue.prepare(cfg, seed)
    data = _prepare_arrays(cfg, seed)
    if cfg.ood:
        from .studies import load_ood
        load_ood(cfg, data, seed)
    return data


# ----------------------------------------------------------------------------- optimizers
def resolve_optimizer(label: str) -> tuple[str, dict]:
    """(registry name, kwargs) of an optimizer label: an entry of ``presets.VARIANTS`` or a
    plain registry name with no extra kwargs; an unknown label is a ValueError naming the valid
    ones."""
    from ..optim import OPTIMIZERS
    from .presets import VARIANTS

    if label in VARIANTS:
        name, kw = VARIANTS[label]
        return name, dict(kw)
    if label not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {label!r} in `optimizers`; valid: the registry names "
                         f"{', '.join(sorted(OPTIMIZERS))} and the variants {', '.join(sorted(VARIANTS))}")
    return label, {}


def make_optimizer(cfg: RunConfig, label: str, model: torch.nn.Module, lr: float, seed: int,
                   **extra):
    """The label's optimizer; ``extra`` keyword options (e.g. an ``engine``) override the rest."""
    from ..optim import build_optimizer

    name, kw = resolve_optimizer(label)
    kw = {**cfg.optimizer_kwargs, **(cfg.ahtga_kwargs if name == "ahtga" else {}), **kw, "lr": lr,
          **extra}
    if name == "ahtga":
        kw.setdefault("seed", seed)
    return build_optimizer(name, model, **kw)


def default_lr(label: str) -> float:
    """The registry's default lr (``ahtga.optim.DEFAULTS[name]["lr"]``) of the label's optimizer."""
    from ..optim import DEFAULTS

    name, _ = resolve_optimizer(label)
    if "lr" not in DEFAULTS.get(name, {}):
        raise KeyError(f"no default learning rate for optimizer {name!r} in ahtga.optim.DEFAULTS; "
                       f"set one with --set lr=... or lr_overrides")
    return float(DEFAULTS[name]["lr"])


def _sweep_file(out: Path, preset: str, label: str) -> Path:
    return Path(out) / preset / label / "lr_sweep.json"


def sweep_grid(cfg: RunConfig, label: str) -> list[float]:
    """The sorted lr grid swept for ``label``: ``cfg.lr_grids[label]``, else the label's own grid
    in ``presets.VARIANT_GRIDS``, else ``optim.LR_GRIDS`` of its registry name."""
    from ..optim import LR_GRIDS
    from .presets import VARIANT_GRIDS

    name, _ = resolve_optimizer(label)
    grid = cfg.lr_grids.get(label) or VARIANT_GRIDS.get(label) or LR_GRIDS[name]
    return sorted(float(v) for v in grid)


def _own_grid(cfg: RunConfig, label: str) -> list[float] | None:
    """The label's sweep grid when the config gives it one (``lr_grids``), else None: a choice
    recorded by another preset counts only if it was made over that grid."""
    return sweep_grid(cfg, label) if label in cfg.lr_grids else None


#: The config fields a learning-rate choice is tied to: a sweep record stores them
#: (``"setting"``), and a choice made for another task, data set or model is not reused.  The
#: batch size is left out on purpose: the low-data presets reuse ``main``'s choices at a smaller
#: batch (their whole training set is a few batches), as their descriptions say.
SWEEP_SETTING = ("task", "dataset", "model", "model_kwargs")


def sweep_setting(cfg: RunConfig) -> dict:
    """The :data:`SWEEP_SETTING` fields of ``cfg``, as they read back from JSON."""
    import json
    return json.loads(json.dumps({f: getattr(cfg, f) for f in SWEEP_SETTING}))


def _same_setting(rec: dict, setting: dict | None) -> bool:
    """A record without ``"setting"`` (written before it was stored) is taken to match."""
    return setting is None or rec.get("setting") in (None, setting)


def _recorded_choice(out: Path, preset: str, label: str, grid: list[float] | None = None,
                     setting: dict | None = None) -> float | None:
    """The lr chosen by a finished sweep of ``preset`` for ``label`` (or for the label's
    registry name, so ablation variants of AHTGA reuse AHTGA's choice -- except variants with their
    own grid in ``presets.VARIANT_GRIDS``). With ``grid``, only a sweep of the label itself over
    that grid counts (a sweep over another grid is not this config's choice).  With ``setting``
    (:func:`sweep_setting`), a sweep recorded for another setting does not count."""
    from .presets import VARIANT_GRIDS

    labels = ([label] if label in VARIANT_GRIDS or grid is not None
              else [label, resolve_optimizer(label)[0]])
    for lab in labels:
        rec = store.read_result(_sweep_file(out, preset, lab), what="sweep record")
        if rec is not None:
            if (rec.get("chosen") is not None and (grid is None or rec.get("grid") == grid)
                    and _same_setting(rec, setting)):
                return float(rec["chosen"])
    return None


def lr_sweep(cfg: RunConfig, label: str, out: Path) -> dict:
    """Train one run (seed 0, ``sweep_epochs``, no monitors) per lr of ``sweep_grid`` and
    choose the lr with the highest final validation accuracy, ties broken by the lower
    validation loss; diverged runs are never chosen.  Each finished grid point is recorded in
    ``OUT/<preset>/<label>/lr_sweep.json`` at once (atomic), so a killed sweep resumes."""
    grid = sweep_grid(cfg, label)
    setting = sweep_setting(cfg)
    path = _sweep_file(out, cfg.preset, label)
    lock = RunLock(path.with_suffix(".lock")) if dist_.world_size() == 1 else None
    while lock is not None and not lock.acquire():   # another process sweeps: wait for it
        time.sleep(min(5.0, lock.heartbeat_s))
    try:
        return _lr_sweep(cfg, label, out, grid, setting, path, lock)
    finally:
        if lock is not None:
            lock.release()


def _lr_sweep(cfg, label, out, grid, setting, path, lock) -> dict:
    rec = store.read_result(path, what="sweep record") or {}
    if not _same_setting(rec, setting):  # another task, data set or model: start again
        rec = {}
    if rec.get("chosen") is not None and rec.get("grid") == grid:
        return rec
    # unfinished, or over another grid: keep the points the grid shares with the record
    rec = {"grid": grid, "setting": setting, "chosen": None,
           "points": {k: v for k, v in rec.get("points", {}).items() if float(k) in grid}}
    sweep_cfg = _replace(cfg, epochs=cfg.sweep_epochs or cfg.epochs, tail_every=0, dynamics=False,
                         perturbations=(), ood="", checkpoint_every=0)
    data = prepare(sweep_cfg, 0)
    for lr in grid:
        key = repr(lr)
        if key in rec["points"]:
            continue
        if lock is not None:
            lock.check()
        res = train_run(sweep_cfg, label, 0, lr, data, desc=f"sweep {cfg.preset}/{label} lr={lr:g}")
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


def known_lr(cfg: RunConfig, label: str, out: Path | None) -> float | None:
    """The lr :func:`resolve_lr` would give, when that needs no training (an override, a fixed
    lr, a finished sweep over the current grid); NaN when this preset's sweep record for the
    label is over another grid or unfinished (the choice may change: a stored result is stale);
    None when there is no sweep record at all (nothing to compare with)."""
    if label in cfg.lr_overrides or cfg.lr > 0 or out is None:
        return resolve_lr(cfg, label, out)[0]
    if cfg.lr_from:
        v = _recorded_choice(out, cfg.lr_from, label, _own_grid(cfg, label), sweep_setting(cfg))
        if v is not None:
            return v
    if cfg.lr_sweep:
        v = _recorded_choice(out, cfg.preset, label, sweep_grid(cfg, label), sweep_setting(cfg))
        if v is None and _sweep_file(out, cfg.preset, label).is_file():
            return math.nan
        return v
    if cfg.lr_from:
        return None
    return resolve_lr(cfg, label, out)[0]


def resolve_lr(cfg: RunConfig, label: str, out: Path | None) -> tuple[float, dict]:
    """(lr, how it was chosen) -- see the module docstring for the order."""
    if label in cfg.lr_overrides:
        return float(cfg.lr_overrides[label]), {"source": "lr_overrides"}
    if cfg.lr > 0:
        return float(cfg.lr), {"source": "config lr"}
    if out is not None and cfg.lr_from:
        v = _recorded_choice(out, cfg.lr_from, label, _own_grid(cfg, label), sweep_setting(cfg))
        if v is not None:
            return v, {"source": f"sweep of preset {cfg.lr_from}"}
    if out is not None and cfg.lr_sweep:
        rec = lr_sweep(cfg, label, out)
        return float(rec["chosen"]), {"source": f"sweep of preset {cfg.preset}", "grid": rec["grid"],
                                      "points": rec["points"], "rule": rec.get("rule"),
                                      "at_grid_edge": rec.get("at_grid_edge")}
    if cfg.lr_from:
        raise missing_sweep(cfg, [label], out)
    return default_lr(label), {"source": "registry default (no sweep)"}


def missing_sweep(cfg: RunConfig, labels, out: Path | None) -> MissingSweep:
    """The error of a preset whose ``lr_from`` sweep has no record for ``labels``."""
    where = f"under {out}" if out is not None else "(no --out given)"
    return MissingSweep(
        f"preset {cfg.preset!r} takes its learning rates from preset {cfg.lr_from!r}'s sweep "
        f"(lr_from={cfg.lr_from!r}), which has no finished record for {', '.join(labels)} with "
        f"model {cfg.model!r} on {cfg.dataset!r} {where}; run `python -m ahtga.experiments run "
        f"{cfg.lr_from} --scale {cfg.scale} --out {out}` (with the same --set/--data-dir) first, "
        "or give the rates with --set lr=... or lr_overrides")


def _replace(cfg: RunConfig, **kw) -> RunConfig:
    import dataclasses
    return dataclasses.replace(cfg, **kw)


# ----------------------------------------------------------------------------- model
def build(cfg: RunConfig, data: Prepared) -> torch.nn.Module:
    """``ahtga.models.build_model(cfg.model, ...)`` with the data's shape filled in: ``mlp`` gets
    ``in_features`` (flattened size); image models get ``in_channels`` and, where they take it,
    ``image_size``; all get ``num_classes``; language models get ``vocab_size`` (and the
    Transformer ``max_len``).  ``model_kwargs`` win over these."""
    import inspect

    from ..models import MODELS, build_model

    if cfg.task == "glue":  # packed token inputs; BertClassifier or a transformers model
        from . import glue
        return glue.build(cfg, data)
    shape = data.input_shape
    kw: dict[str, Any] = {"num_classes": data.num_classes}
    if cfg.task == "lm":
        kw = {"vocab_size": data.num_classes}
        if cfg.model == "transformer_lm":
            kw["max_len"] = max(cfg.seq_len, 256)
    elif cfg.model == "mlp":
        kw["in_features"] = math.prod(shape)
    elif len(shape) == 3:
        kw["in_channels"] = shape[0]
        factory = MODELS.get(cfg.model)
        try:
            params = inspect.signature(factory).parameters if factory is not None else {}
        except (TypeError, ValueError):
            params = {}
        if "image_size" in params:
            kw["image_size"] = tuple(shape[1:])
    kw.update(cfg.model_kwargs)
    return build_model(cfg.model, **kw)


def _lr_factor(cfg: RunConfig, step: int, total: int) -> float:
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return 1.0
    t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


_STAT_KEYS = ("alpha_hat", "alpha", "alpha_star", "gamma", "k", "skipped")


def timed_step(opt, losses, mean_loss: float, state: dict, device, t0: float):
    """One optimizer step of a training loop (``ahtga.optim.train_step``) on ``losses`` whose
    mean is ``mean_loss``; returns ``(stats, seconds since t0)``, or None after setting
    ``state["diverged"]`` when the loss or a gradient is not finite.  Counts skipped and
    clamped steps in ``state``."""
    from ..optim import train_step

    if not math.isfinite(mean_loss):
        state["diverged"] = True
        return None
    try:
        stats = _stats_dict(train_step(opt, losses))
    except FloatingPointError:  # non-finite gradient: the step was not taken
        state["diverged"] = True
        return None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    dt = time.perf_counter() - t0
    state["skipped"] += int(bool(stats.get("skipped", False)))
    state["clamped"] += int(bool(stats.get("clamped", False)))
    return stats, dt


def binding_of(cfg: RunConfig, label: str, seed: int, lr: float) -> dict:
    """What a checkpoint is bound to: the run's :func:`run_key` (its whole resolved config, the
    optimizer and its options, the learning rate and the seed) and the package's source digest
    (``store.code_version()["source_sha256"]``)."""
    return {"run_key": run_key(cfg, label, seed, lr),
            "source_sha256": store.code_version().get("source_sha256")}


def restore_checkpoint(ckpt: Path | None, model, opt, gen, binding: dict | None = None
                       ) -> tuple[dict, dict] | None:
    """Load the checkpoint at ``ckpt`` (if there is one) into the model, the optimizer, the data
    generator and torch's RNG; returns its ``(curves, state)``, or None.  With ``binding``
    (:func:`binding_of`), a checkpoint written for another config or other code (or before
    checkpoints carried a binding) is deleted with a RuntimeWarning and the run starts fresh."""
    ck = store.load_checkpoint(ckpt) if ckpt is not None else None
    if ck is None:
        return None
    if binding is not None and ck.get("binding") != binding:
        old = ck.get("binding") or {}
        why = ("another config (settings, optimizer options, learning rate or seed)"
               if old.get("run_key") != binding["run_key"] else "other code (the ahtga sources changed)")
        warnings.warn(f"{ckpt}: checkpoint of epoch {ck.get('state', {}).get('epoch')} was written "
                      f"for {why}; starting fresh", RuntimeWarning, stacklevel=2)
        Path(ckpt).unlink(missing_ok=True)
        return None
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    if ck.get("optimizer_extra") is not None and hasattr(opt, "load_extra_state"):
        opt.load_extra_state(ck["optimizer_extra"])
    gen.set_state(ck["generator"])
    torch.set_rng_state(ck["torch_rng"])
    return ck["curves"], ck["state"]


def save_checkpoint(ckpt: Path | None, cfg: RunConfig, state: dict, model, opt, gen,
                    curves: dict, binding: dict | None = None) -> None:
    """Write the run's checkpoint atomically after every ``checkpoint_every``-th epoch (not after
    the last one, nor after a divergence; on the main rank only), with its ``binding``."""
    if (ckpt is None or not cfg.checkpoint_every or state["epoch"] % cfg.checkpoint_every
            or state["epoch"] >= cfg.epochs or state["diverged"] or not dist_.is_main()):
        return
    store.save_checkpoint_atomic(ckpt, {
        "model": model.state_dict(), "optimizer": opt.state_dict(),
        "optimizer_extra": opt.extra_state_dict() if hasattr(opt, "extra_state_dict") else None,
        "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
        "curves": curves, "state": state, "binding": binding})


def close_epoch(curves: dict, state: dict, t_ep: float, train_loss_sum: float, n: int) -> dict:
    """End an epoch of a training loop: add its training time (since ``t_ep``) and count to
    ``state``, append epoch, step and mean training loss to ``curves["epoch"]``; returns that
    dict for the loop's own keys."""
    state["train_s"] += time.perf_counter() - t_ep
    state["epoch"] += 1
    e = curves["epoch"]
    e["epoch"].append(state["epoch"])
    e["step"].append(state["step"])
    e["train_loss"].append(train_loss_sum / n if n else None)
    return e


def record_step(curves: dict, step: int, train_loss: float, step_time: float, lr: float,
                stats: dict) -> None:
    """Append one logged step (means over the logging window) to ``curves["step"]``; AHTGA's
    statistics (``_STAT_KEYS``) are null for other optimizers and where not finite."""
    s = curves["step"]
    s["step"].append(step)
    s["train_loss"].append(train_loss)
    s["step_time"].append(step_time)
    s["lr"].append(lr)
    for k in _STAT_KEYS:
        v = stats.get(k)
        s[k].append(None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v)


def _stats_dict(stats: Any) -> dict:
    if stats is None:
        return {}
    if hasattr(stats, "as_dict"):
        stats = stats.as_dict()
    return stats if isinstance(stats, dict) else {}


# ----------------------------------------------------------------------------- training
def train_run(cfg: RunConfig, label: str, seed: int, lr: float, data: Prepared, *,
              ckpt: Path | None = None, desc: str = "", binding: dict | None = None,
              lock: RunLock | None = None) -> dict:
    """Train and evaluate one run; returns the ``curves``, ``final`` and ``timings`` parts.

    Tail-estimator warnings (``TailWarning``: clamped k, infinite estimates) and AHTGA's
    "step skipped" warnings are silenced here and counted instead: ``final.skipped_steps`` and
    ``final.clamped_steps`` (steps whose single estimate AHTGA clamped)."""
    import warnings

    from ..tail import TailWarning

    if cfg.task == "fewshot":
        from . import fewshot
        return fewshot.train_run(cfg, label, seed, lr, data, ckpt=ckpt, desc=desc, binding=binding,
                                 lock=lock)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TailWarning)
        warnings.filterwarnings("ignore", message="AHTGA step", category=RuntimeWarning)
        return _train_run(cfg, label, seed, lr, data, ckpt=ckpt, desc=desc, binding=binding,
                          lock=lock)


def _train_run(cfg, label, seed, lr, data, *, ckpt, desc, binding, lock) -> dict:
    from tqdm.auto import tqdm

    from .studies import EpochProbes, final_metrics

    t_start = time.perf_counter()
    c_start = time.process_time()
    torch.set_num_threads(cfg.num_threads)
    check_device(cfg.device)
    device = dist_.device_for(cfg.device)
    torch.manual_seed(seed)
    model = build(cfg, data).to(device)
    opt = make_optimizer(cfg, label, model, lr, seed)
    net = dist_.wrap_model(model, resolve_optimizer(label)[0])  # DDP for baselines under torchrun
    base_lrs = [g["lr"] for g in opt.param_groups]
    n = data.train_x.shape[0]
    bs = min(cfg.batch_size, n)
    steps_per_epoch = n // bs  # drop the last partial batch: equal batch sizes for tail estimates
    total = steps_per_epoch * cfg.epochs
    gen = torch.Generator().manual_seed(seed)
    probes = EpochProbes(cfg, model, data, seed, device, engine=getattr(opt, "engine", None))
    curves = {"step": {k: [] for k in ("step", "train_loss", "step_time", "lr", *_STAT_KEYS)},
              "epoch": {k: [] for k in ("epoch", "step", "train_loss", "val_loss", "val_acc",
                                        "test_loss", "test_acc", "epoch_time", "eff_rank")},
              "tail": []}
    state = {"epoch": 0, "step": 0, "diverged": False, "train_s": 0.0, "eval_s": 0.0,
             "skipped": 0, "clamped": 0, "window": [0.0, 0.0, 0]}
    resumed_from = None
    restored = restore_checkpoint(ckpt, model, opt, gen, binding)
    if restored is not None:
        curves, state = restored
        probes.load_history(curves)
        resumed_from = state["epoch"]
    if state["epoch"] == 0 and state["step"] == 0:
        probes.at_start(curves)

    bar = tqdm(total=total, initial=state["step"], desc=desc or f"{cfg.preset}/{label}/seed{seed}",
               disable=not cfg.progress or not dist_.is_main(), leave=False, mininterval=1.0,
               dynamic_ncols=True)
    x_all, y_all = data.train_x, data.train_y
    if device.type != "cpu":  # small data sets fit on the accelerator: no per-step copies
        x_all, y_all = x_all.to(device), y_all.to(device)
    augment = None
    if cfg.augment == "crop_flip":
        from ..data import random_crop_flip
        augment = random_crop_flip
    win_loss, win_time, win_n = state.get("window", (0.0, 0.0, 0))   # the logging window
    while state["epoch"] < cfg.epochs and not state["diverged"]:
        t_ep = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        ep_loss, ep_n = 0.0, 0
        model.train()
        for b in range(steps_per_epoch):
            idx = perm[b * bs:(b + 1) * bs]
            idx = idx.to(x_all.device)
            xb, yb = x_all[idx], y_all[idx]
            if augment is not None:
                xb = augment(xb, generator=gen)  # CPU generator: same draws on any device
            if dist_.is_distributed():  # this rank's slice of the (augmented) global batch
                xb, yb = dist_.shard(xb), dist_.shard(yb)
            f = _lr_factor(cfg, state["step"], total)
            for g, base in zip(opt.param_groups, base_lrs):
                g["lr"] = base * f
            t0 = time.perf_counter()
            losses = per_example_loss(net(xb), yb)
            mean_loss = dist_.global_mean(losses.detach())
            done = timed_step(opt, losses, mean_loss, state, device, t0)
            if done is None:
                break
            stats, dt = done
            state["step"] += 1
            win_loss += mean_loss
            win_time += dt
            win_n += 1
            ep_loss += mean_loss
            ep_n += 1
            if state["step"] % cfg.log_every == 0 or state["step"] == total:
                record_step(curves, state["step"], win_loss / win_n, win_time / win_n,
                            opt.param_groups[0]["lr"], stats)
                win_loss, win_time, win_n = 0.0, 0.0, 0
            probes.after_step(state["step"], curves)
            bar.update(1)
        e = close_epoch(curves, state, t_ep, ep_loss, ep_n)
        t_ev = time.perf_counter()
        if (state["epoch"] % cfg.eval_every == 0 or state["epoch"] >= cfg.epochs
                or state["diverged"]):
            vl, va = evaluation.evaluate(model, data.val_x, data.val_y, cfg.eval_batch_size, device)
            tl, ta = evaluation.evaluate(model, data.test_x, data.test_y, cfg.eval_batch_size, device)
            rank = probes.effective_rank()
            _report_validation(opt, state, vl)
            bar.set_postfix(val_acc=f"{va:.3f}" if va is not None else "-", refresh=False)
        else:  # not an evaluation epoch (eval_every): null entries keep the curves aligned
            vl = va = tl = ta = rank = None
        e["val_loss"].append(vl)
        e["val_acc"].append(va)
        e["test_loss"].append(tl)
        e["test_acc"].append(ta)
        e["eff_rank"].append(rank)
        state["eval_s"] += time.perf_counter() - t_ev
        e["epoch_time"].append(time.perf_counter() - t_ep)
        state["window"] = [win_loss, win_time, win_n]
        if lock is not None:
            lock.check()
        save_checkpoint(ckpt, cfg, state, model, opt, gen, curves, binding)
    bar.close()
    probes.at_end(state["step"], curves)
    t_fin = time.perf_counter()
    final = final_metrics(cfg, model, data, device, seed=seed, curves=curves,
                          engine=getattr(opt, "engine", None))
    final["diverged"] = bool(state["diverged"])
    final["steps"] = state["step"]
    final["skipped_steps"] = state.get("skipped", 0)
    final["clamped_steps"] = state.get("clamped", 0)
    epochs_run = max(1, len(curves["epoch"]["epoch"]))
    step_times = [t for t in curves["step"]["step_time"] if t is not None]
    timings = {"total_s": time.perf_counter() - t_start,
               "cpu_s": time.process_time() - c_start,  # this process's CPU time (load-independent)
               "train_s": state["train_s"],
               "eval_s": state["eval_s"], "final_metrics_s": time.perf_counter() - t_fin,
               "train_s_per_epoch": state["train_s"] / epochs_run,
               "step_s_median": float(torch.tensor(step_times).median()) if step_times else None,
               "resumed_from_epoch": resumed_from}
    return {"curves": curves, "final": final, "timings": timings}


def _report_validation(opt, state: dict, val_loss: float | None) -> None:
    """Feed a validation-driven alpha* schedule (``ValidationTarget.report``) when present, at
    most once per ``eval_frequency`` steps (the schedule refuses closer reports)."""
    target = getattr(opt, "target", None)
    if val_loss is None or target is None or not hasattr(target, "report"):
        return
    step, last = state["step"], state.get("last_report")
    if last is not None and step - last < getattr(target, "eval_frequency", 0):
        return
    target.report(step, val_loss)
    state["last_report"] = step


# ----------------------------------------------------------------------------- one result
_KEY_IGNORES = ("preset", "optimizers", "lr", "lr_overrides", "lr_from", "lr_sweep", "sweep_epochs",
                "progress", "lr_grids")


def run_key(cfg: RunConfig, label: str, seed: int, lr: float) -> str:
    """sha256 of everything that determines a run's numbers: the config without the fields that
    only name or schedule it (``_KEY_IGNORES``), the optimizer's registry name and kwargs, the
    resolved lr and the seed.  Two presets that contain the same run (the plain ``ahtga`` row of
    every ablation equals ``ablate_*``'s baseline) share the key, so it is trained once."""
    import hashlib
    import json

    d = {k: v for k, v in to_dict(cfg).items() if k not in _KEY_IGNORES}
    name, kw = resolve_optimizer(label)
    kw = {**cfg.optimizer_kwargs, **(cfg.ahtga_kwargs if name == "ahtga" else {}), **kw}
    blob = json.dumps({"config": d, "optimizer": name, "kwargs": kw, "lr": float(lr), "seed": int(seed)},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


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


def _optimizer_kwargs(cfg: RunConfig, label: str) -> dict:
    name, kw = resolve_optimizer(label)
    return {**cfg.optimizer_kwargs, **(cfg.ahtga_kwargs if name == "ahtga" else {}), **kw}


def _matches(stored: dict, cfg: RunConfig, label: str, lr: float | None = None) -> bool:
    """Whether a stored result was made with this config, these optimizer options and (when
    given) this learning rate, so a result left by an edited preset or an older sweep choice is
    recomputed, not silently reused. ``lr_grids`` only acts through the learning rate it chooses,
    so it is compared as that learning rate."""
    import json

    def norm(x):
        return json.loads(json.dumps(x, sort_keys=True, default=str))

    def no_grids(c):
        return {k: v for k, v in c.items() if k != "lr_grids"}

    try:
        same = (norm(no_grids(stored["config"])) == norm(no_grids(to_dict(cfg)))
                and norm(stored["optimizer_spec"]["kwargs"]) == norm(_optimizer_kwargs(cfg, label)))
        if same and lr is not None:  # (NaN: a pending choice, never equal)
            same = float(stored["optimizer_spec"]["lr"]) == float(lr)
        return same
    except (KeyError, TypeError, ValueError):
        return False


def stored_is_current(path: Path, cfg: RunConfig, label: str, out: Path) -> bool:
    """Whether the stored result at ``path`` can be kept for this run: readable (a truncated
    file is not, with a warning), same config and optimizer options, and the same lr when that
    is known without training (a missing sweep record does not start a sweep just to decide)."""
    stored = store.read_result(path)
    return stored is not None and _matches(stored, cfg, label, known_lr(cfg, label, out))


def failed_path(result: Path) -> Path:
    """``seed<k>.failed``: the error of the last attempt of a run that raised (JSON)."""
    return Path(result).with_suffix(".failed")


def _current(path: Path, cfg: RunConfig, label: str, out: Path, force: bool, *, say: bool) -> bool:
    if force or not path.is_file():
        return False
    stored = store.read_result(path)                 # an unreadable file warns and is missing
    if stored is None:
        return False
    if _matches(stored, cfg, label, known_lr(cfg, label, out)):
        return True
    if say:
        warnings.warn(f"{path}: stored config, optimizer options or learning rate differ from "
                      "this run's; recomputing it", RuntimeWarning, stacklevel=3)
    return False


def run_one(cfg: RunConfig, label: str, seed: int, out: str | Path, *, force: bool = False
            ) -> Path | None:
    """Run (or skip, when its current result exists) one (preset, optimizer, seed); returns the
    result path, or None when another live process holds the run's lock (it is training it).

    Order: the device and the learning rate are checked first (``MissingSweep`` for an
    ``lr_from`` preset without its sweep), then the run's lock is claimed (``locks.RunLock``;
    not under torchrun, where every rank runs the same runs), the result re-checked, the data
    prepared (every data set the run needs, OOD set included, before training), and the run
    trained from its checkpoint when that checkpoint is bound to this exact run and code.  An
    exception leaves ``seed<k>.failed`` (the error) beside the result; success removes it."""
    out = Path(out)
    path = store.result_path(out, cfg.preset, label, seed)
    if _current(path, cfg, label, out, force, say=True):
        return path
    check_device(cfg.device)
    resolve_optimizer(label)
    lock = RunLock(lock_path(path)) if dist_.world_size() == 1 else None
    if lock is not None and not lock.acquire():
        return None
    try:
        if lock is not None and _current(path, cfg, label, out, force, say=False):
            return path                                  # finished by another process meanwhile
        return _run_locked(cfg, label, seed, out, path, lock)
    except Exception as e:
        if dist_.is_main() and not isinstance(e, LockLost):
            import socket
            import traceback
            store.write_json_atomic(failed_path(path), {
                "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(),
                "host": socket.gethostname(), "pid": __import__("os").getpid(),
                "failed_unix": time.time()})
        raise
    finally:
        if lock is not None:
            lock.release()


def _run_locked(cfg: RunConfig, label: str, seed: int, out: Path, path: Path,
                lock: RunLock | None) -> Path:
    t0 = time.time()
    torch.set_num_threads(cfg.num_threads)
    lr, lr_info = resolve_lr(cfg, label, out)
    data = prepare(cfg, seed)
    ckpt = store.checkpoint_path(path)
    res = train_run(cfg, label, seed, lr, data, ckpt=ckpt, binding=binding_of(cfg, label, seed, lr),
                    lock=lock)
    if lock is not None:
        lock.check()
    name, kw = resolve_optimizer(label)
    result = {
        "preset": cfg.preset, "optimizer": label, "seed": int(seed), "scale": cfg.scale,
        "run_key": run_key(cfg, label, seed, lr),
        "config": to_dict(cfg),
        "optimizer_spec": {"name": name, "lr": lr,
                           "kwargs": {**cfg.optimizer_kwargs,
                                      **(cfg.ahtga_kwargs if name == "ahtga" else {}), **kw},
                           "lr_choice": lr_info},
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
