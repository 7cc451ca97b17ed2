"""The one training loop: epochs, steps, logging, evaluation and checkpoints for every task.

:func:`train_run` trains one run of any registered task (``registry.get_task(cfg.task)``) with
the task's hooks for what differs (data, model, batches, per-example losses, evaluation, final
metrics) and does the rest the same way for all:

1. seed torch with the run's seed, build the model and the label's optimizer
   (``optimizers.make_optimizer`` with the task's extras); under torchrun wrap baselines in DDP;
2. every epoch: the task's batches from a CPU generator seeded with the run's seed; each step
   sets the learning rate (``warmup_steps`` linear warm-up, then ``lr_schedule``), calls
   ``ahtga.optim.train_step`` (AHTGA receives the per-example losses, the rest their mean),
   stops at a non-finite loss or gradient (``final.diverged``), and logs the means over the
   last ``log_every`` steps (training loss, step time, lr, AHTGA's telemetry) and, for the
   logged step itself, ``update_norm`` = ||theta_{t+1} - theta_t|| (the whole parameter change:
   what "equal effective step size" can be checked against; ``final.update_norm_mean`` is its
   mean over the logged steps);
3. after an evaluation epoch (``Task.eval_due``) the task's validation/test metrics, fed to a
   validation-driven alpha* schedule when the optimizer has one;
4. a checkpoint every ``checkpoint_every`` epochs (not after the last): model, optimizer, data
   generator, torch RNG, curves and the loop state (logging window included), bound to the
   run (``binding``: a checkpoint of another config or other code is not resumed);
5. with a run lock (``locks.RunLock``), a lock taken over by another process stops the run at
   the next epoch end (``LockLost``) before it writes anything;
6. ``final``: the task's metrics plus, for every task, ``diverged``, ``steps``,
   ``skipped_steps``, ``clamped_steps``, ``time_per_epoch`` (mean wall time of an epoch,
   evaluation included), ``tail_alpha_start``/``tail_alpha_final`` (the tail monitor's probe
   batch estimate, first and last; null when the monitor is off) and
   ``ahtga_alpha_start``/``ahtga_alpha_final`` (AHTGA's EMA tail index after its first and
   last step; null for other optimizers) and ``regime`` (below; null for other optimizers).

The controller's regime.  For an optimizer whose step statistics carry ``alpha``,
``alpha_star`` and ``gamma`` (AHTGA and its variants), every step -- not only the logged ones --
is added to an :class:`ahtga.control.RegimeCounter` kept in the checkpointed loop state, so a
resumed run reports the same shares as an uninterrupted one.  ``final.regime`` holds its
``shares()`` (``steps``, the branch shares ``above`` / ``below`` / ``equal`` of alpha against
alpha*, the guard shares ``cap`` / ``floor``, ``clamped``, ``estimated``, ``gamma_mean``,
``alpha_mean``, ``alpha_star_mean``, ``alpha_transformed_mean``) plus the achieved tail index of
the transformed norms: ``alpha_transformed_median`` (median over the steps that estimated it)
and ``alpha_transformed_final`` (the last such step's).  The experiments build AHTGA with
``track_transformed=True`` (:mod:`.optimizers`); ``alpha_transformed`` is also in the logged
step curves (:data:`STAT_KEYS`).

Tail-estimator warnings (``TailWarning``) and AHTGA's "step skipped" warnings are silenced here
and counted instead (``final.skipped_steps``, ``final.clamped_steps``).  Progress: a tqdm bar per
run (``progress``) with the last logged loss, alpha and gamma, and optional TensorBoard scalars
(``tensorboard`` directory, ``torch.utils.tensorboard``).
"""
from __future__ import annotations

import math
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from ..control import RegimeCounter
from ..optim import train_step
from ..tail import TailWarning
from . import distributed as dist_
from . import store
from .config import RunConfig
from .optimizers import make_optimizer, resolve_optimizer
from .progress import Progress
from .registry import get_task

__all__ = ["train_run", "lr_factor", "STAT_KEYS", "restore_checkpoint", "save_checkpoint"]

#: AHTGA's step statistics logged in ``curves.step`` (null for other optimizers).
STAT_KEYS = ("alpha_hat", "alpha", "alpha_star", "gamma", "k", "skipped", "alpha_transformed")
#: The step statistics that make an optimizer's step count in the regime (``final.regime``).
_REGIME_NEEDS = ("alpha", "alpha_star", "gamma")
_EPOCH_KEYS = ("epoch", "step", "train_loss", "val_loss", "val_acc", "test_loss", "test_acc",
               "epoch_time", "eff_rank")


def lr_factor(cfg: RunConfig, step: int, total: int) -> float:
    """Multiplier of the base lr at ``step`` of ``total``: linear warm-up over ``warmup_steps``,
    then 1 (``constant``) or half a cosine from 1 to 0 over the remaining steps (``cosine``)."""
    if cfg.warmup_steps and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.lr_schedule == "constant":
        return 1.0
    t = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def _finite(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def _stats_dict(stats: Any) -> dict:
    if stats is None:
        return {}
    if hasattr(stats, "as_dict"):
        stats = stats.as_dict()
    return stats if isinstance(stats, dict) else {}


# ----------------------------------------------------------------------------- checkpoints
def restore_checkpoint(ckpt: Path | None, model, opt, gen, binding: dict | None = None
                       ) -> tuple[dict, dict] | None:
    """Load the checkpoint at ``ckpt`` (if there is one) into the model, the optimizer, the data
    generator and torch's RNG; returns its ``(curves, state)``, or None.  With ``binding``
    (``runner.binding_of``), a checkpoint written for another config or other code (or before
    checkpoints carried a binding) is deleted with a RuntimeWarning and the run starts fresh."""
    ck = store.load_checkpoint(ckpt) if ckpt is not None else None
    if ck is None:
        return None
    if binding is not None and ck.get("binding") != binding:
        old = ck.get("binding") or {}
        why = ("another config (settings, optimizer options, learning rate or seed)"
               if old.get("run_key") != binding.get("run_key") else "other code (the ahtga sources changed)")
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


# ----------------------------------------------------------------------------- one step
def _step(opt, losses, mean_loss: float, state: dict, device, t0: float, regime: dict):
    """One ``train_step``; ``(stats, seconds since t0)``, or None after setting
    ``state["diverged"]`` when the loss or a gradient is not finite.  A step whose statistics
    carry alpha, alpha* and gamma goes into the regime counter ``regime["counter"]`` (made on
    the first such step) and its finite ``alpha_transformed`` into
    ``state["alpha_transformed"]``."""
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
    if all(k in stats for k in _REGIME_NEEDS):
        if regime["counter"] is None:
            regime["counter"] = RegimeCounter()
        regime["counter"].add(stats)
        a_tr = _finite(stats.get("alpha_transformed"))
        if a_tr is not None and not stats.get("skipped", False):
            state["alpha_transformed"].append(float(a_tr))
    state["skipped"] += int(bool(stats.get("skipped", False)))
    state["clamped"] += int(bool(stats.get("clamped", False)))
    a = _finite(stats.get("alpha"))
    if a is not None:
        if state["ahtga_alpha_start"] is None:
            state["ahtga_alpha_start"] = float(a)
        state["ahtga_alpha_final"] = float(a)
    return stats, time.perf_counter() - t0


def _snapshot(opt) -> list[torch.Tensor]:
    """Copies of the optimizer's parameters before a logged step (for :func:`_update_norm`)."""
    return [p.detach().clone() for g in opt.param_groups for p in g["params"]]


def _update_norm(opt, before: list[torch.Tensor] | None) -> float | None:
    """The Euclidean norm of the whole parameter change of the step just taken,
    ||theta_{t+1} - theta_t|| over every parameter of every group (lr, momentum, weight decay
    and the optimizer's transform included); None without a snapshot."""
    if before is None:
        return None
    params = [p.detach() for g in opt.param_groups for p in g["params"]]
    total = sum(float((p - b).double().pow(2).sum()) for p, b in zip(params, before))
    return _finite(math.sqrt(total))


def _mean_finite(values) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _report_validation(opt, state: dict, val_loss: float | None) -> None:
    """Feed a validation-driven alpha* schedule (``ValidationTarget.report``, directly or as a
    relative target's base) when present, at most once per ``eval_frequency`` steps (the
    schedule refuses closer reports)."""
    target = getattr(opt, "target", None)
    if val_loss is None or target is None or not hasattr(target, "report"):
        return
    step, last = state["step"], state.get("last_report")
    # a relative target forwards reports to its validation-driven base, which sets the cadence
    freq = getattr(target, "eval_frequency", None)
    if freq is None:
        freq = getattr(getattr(target, "base", None), "eval_frequency", 0)
    if last is not None and step - last < freq:
        return
    target.report(step, val_loss)
    state["last_report"] = step


def _regime_final(counter: RegimeCounter | None, achieved: list[float]) -> dict | None:
    """``final.regime`` (module docstring): the counter's shares plus the median and the last
    value of the achieved index ``achieved``; None when no step was counted (not AHTGA)."""
    if counter is None:
        return None
    out = {k: _finite(v) for k, v in counter.shares().items()}
    out["alpha_transformed_median"] = statistics.median(achieved) if achieved else None
    out["alpha_transformed_final"] = achieved[-1] if achieved else None
    return out


# ----------------------------------------------------------------------------- the loop
def train_run(cfg: RunConfig, label: str, seed: int, lr: float, data, *,
              ckpt: Path | None = None, desc: str = "", binding: dict | None = None,
              lock=None, tensorboard: str | None = None, options: dict | None = None) -> dict:
    """Train and evaluate one run; returns ``{"curves", "final", "timings"}`` (module doc).
    ``options``: the optimizer's resolved options (``optimizers.optimizer_kwargs`` with the
    results folder and seed; needed by variants whose options come from another run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TailWarning)
        warnings.filterwarnings("ignore", message="AHTGA step", category=RuntimeWarning)
        return _train_run(cfg, label, seed, lr, data, ckpt=ckpt, desc=desc, binding=binding,
                          lock=lock, tensorboard=tensorboard, options=options)


def _train_run(cfg, label, seed, lr, data, *, ckpt, desc, binding, lock, tensorboard,
               options) -> dict:
    task = get_task(cfg.task)
    task.check_optimizer(cfg, label)
    if dist_.is_distributed() and not task.distributed:
        raise NotImplementedError(f"task={cfg.task!r} runs in one process; start it without torchrun")
    t_start, c_start = time.perf_counter(), time.process_time()
    torch.set_num_threads(cfg.num_threads)
    dist_.check_device(cfg.device)
    device = dist_.device_for(cfg.device)
    data = task.to_device(data, device)
    torch.manual_seed(seed)
    model = task.build_model(cfg, data).to(device)
    opt = make_optimizer(cfg, label, model, lr, seed, options=options,
                         **task.optimizer_extras(cfg, label, model))
    net = dist_.wrap_model(model, resolve_optimizer(label)[0])  # DDP for baselines under torchrun
    engine = getattr(opt, "engine", None)
    base_lrs = [g["lr"] for g in opt.param_groups]
    steps_per_epoch = task.steps_per_epoch(cfg, data)
    total = steps_per_epoch * cfg.epochs
    gen = torch.Generator().manual_seed(seed)
    probes = task.probes(cfg, model, data, seed, device, engine)
    curves = {"step": {k: [] for k in ("step", "train_loss", "step_time", "lr", *STAT_KEYS,
                                       "update_norm")},
              "epoch": {k: [] for k in (*_EPOCH_KEYS, *task.epoch_keys)}, "tail": []}
    state = {"epoch": 0, "step": 0, "diverged": False, "train_s": 0.0, "eval_s": 0.0,
             "skipped": 0, "clamped": 0, "window": [0.0, 0.0, 0],
             "ahtga_alpha_start": None, "ahtga_alpha_final": None,
             "regime": None, "alpha_transformed": []}
    resumed_from = None
    restored = restore_checkpoint(ckpt, model, opt, gen, binding)
    if restored is not None:
        curves, state = restored
        probes.load_history(curves)
        resumed_from = state["epoch"]
    state.setdefault("alpha_transformed", [])
    # a checkpoint of a run started before update norms were logged: nulls keep the curves aligned
    curves["step"].setdefault("update_norm", [None] * len(curves["step"]["step"]))
    regime = {"counter": None}   # the RegimeCounter; its state travels in state["regime"]
    if state.get("regime") is not None:
        regime["counter"] = RegimeCounter()
        regime["counter"].load_state_dict(state["regime"])
    if state["epoch"] == 0 and state["step"] == 0:
        probes.at_start(curves)
    bar = Progress(total=total, initial=state["step"], desc=desc or f"{cfg.preset}/{label}/seed{seed}",
                   enabled=cfg.progress and dist_.is_main(), tensorboard=tensorboard if dist_.is_main() else None)
    win_loss, win_time, win_n = state.get("window", (0.0, 0.0, 0))   # the logging window
    while state["epoch"] < cfg.epochs and not state["diverged"]:
        t_ep = time.perf_counter()
        ep_loss, ep_n, ep_extra = 0.0, 0, {k: 0.0 for k in task.epoch_keys}
        model.train()
        for batch in task.batches(cfg, data, gen, device):
            f = lr_factor(cfg, state["step"], total)
            for g, base in zip(opt.param_groups, base_lrs):
                g["lr"] = base * f
            logs = (state["step"] + 1) % cfg.log_every == 0 or state["step"] + 1 == total
            before = _snapshot(opt) if logs else None
            t0 = time.perf_counter()
            losses, extra = task.losses(net, batch, opt)
            mean_loss = dist_.global_mean(losses.detach())
            done = _step(opt, losses, mean_loss, state, device, t0, regime)
            if done is None:
                break
            stats, dt = done
            state["step"] += 1
            win_loss, win_time, win_n = win_loss + mean_loss, win_time + dt, win_n + 1
            ep_loss, ep_n = ep_loss + mean_loss, ep_n + 1
            for k in ep_extra:
                ep_extra[k] += float(extra[k])
            if state["step"] % cfg.log_every == 0 or state["step"] == total:
                s = curves["step"]
                for k, v in (("step", state["step"]), ("train_loss", win_loss / win_n),
                             ("step_time", win_time / win_n), ("lr", opt.param_groups[0]["lr"])):
                    s[k].append(v)
                for k in STAT_KEYS:
                    s[k].append(_finite(stats.get(k)))
                s["update_norm"].append(_update_norm(opt, before))
                bar.log(state["step"], s)
                win_loss, win_time, win_n = 0.0, 0.0, 0
            probes.after_step(state["step"], curves)
            bar.update(1)
        # close the epoch
        state["train_s"] += time.perf_counter() - t_ep
        state["epoch"] += 1
        e = curves["epoch"]
        e["epoch"].append(state["epoch"])
        e["step"].append(state["step"])
        e["train_loss"].append(ep_loss / ep_n if ep_n else None)
        for k in task.epoch_keys:
            e[k].append(ep_extra[k] / ep_n if ep_n else None)
        t_ev = time.perf_counter()
        if task.eval_due(cfg, state["epoch"]) or state["diverged"]:
            ev = task.evaluate(cfg, model, data, device, probes, state["epoch"])
            _report_validation(opt, state, ev.get("val_loss"))
            bar.epoch(state["epoch"], ev)
        else:  # not an evaluation epoch (eval_every): null entries keep the curves aligned
            ev = {}
        for k in ("val_loss", "val_acc", "test_loss", "test_acc", "eff_rank"):
            e[k].append(ev.get(k))
        state["eval_s"] += time.perf_counter() - t_ev
        e["epoch_time"].append(time.perf_counter() - t_ep)
        state["window"] = [win_loss, win_time, win_n]
        if regime["counter"] is not None:
            state["regime"] = regime["counter"].state_dict()
        if lock is not None:
            lock.check()
        save_checkpoint(ckpt, cfg, state, model, opt, gen, curves, binding)
    bar.close()
    probes.at_end(state["step"], curves)
    t_fin = time.perf_counter()
    final = task.final_metrics(cfg, model, data, device, seed=seed, curves=curves, engine=engine)
    tail = [r["alpha"] for r in curves["tail"] if r["alpha"] is not None]
    epoch_times = curves["epoch"]["epoch_time"]
    final.update({
        "diverged": bool(state["diverged"]), "steps": state["step"],
        "skipped_steps": state.get("skipped", 0), "clamped_steps": state.get("clamped", 0),
        "time_per_epoch": sum(epoch_times) / max(1, len(epoch_times)),
        "tail_alpha_start": curves["tail"][0]["alpha"] if curves["tail"] else None,
        "tail_alpha_final": tail[-1] if tail else None,
        "ahtga_alpha_start": state.get("ahtga_alpha_start"),
        "ahtga_alpha_final": state.get("ahtga_alpha_final"),
        "regime": _regime_final(regime["counter"], state.get("alpha_transformed", [])),
        "update_norm_mean": _mean_finite(curves["step"]["update_norm"])})
    epochs_run = max(1, len(curves["epoch"]["epoch"]))
    step_times = [t for t in curves["step"]["step_time"] if t is not None]
    timings = {"total_s": time.perf_counter() - t_start,
               "cpu_s": time.process_time() - c_start,  # this process's CPU time (load-independent)
               "train_s": state["train_s"], "eval_s": state["eval_s"],
               "final_metrics_s": time.perf_counter() - t_fin,
               "train_s_per_epoch": state["train_s"] / epochs_run,
               "step_s_median": float(torch.tensor(step_times).median()) if step_times else None,
               "resumed_from_epoch": resumed_from}
    return {"curves": curves, "final": final, "timings": timings}
