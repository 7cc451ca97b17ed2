r"""AHTGA: Adaptive Heavy-Tail Gradient Amplification.

One step, for per-example losses l_1..l_B of a batch:

1. the per-example gradient engine runs one backward and returns the norms ||g_i||
   (gathered over all ranks under ``torch.distributed``, so the estimate and the median use
   the global batch);
2. the tail tracker estimates alpha_hat from the norms pooled over recent steps (default: the
   last ``DEFAULT_POOL_SIZE`` = 1024 positive norms, estimated by ``hill_lepski``, Hill at a k
   chosen by Lepski's rule; ``window=1`` is the source's one-batch estimate), clamps a single
   bad estimate and updates the EMA alpha_t = b2 alpha_{t-1} + (1-b2) alpha_hat;
3. the schedule gives alpha*_t (default ``DEFAULT_TARGET``: 0.9 times the running median of the
   recent estimates, after a 50-step warm-up at gamma = 0; a number is an absolute target),
   the exponent rule gamma_t = rule(alpha_t, alpha*_t);
4. the transform turns norms into coefficients (:mod:`ahtga.control.transforms`) and the engine
   writes the batch gradient g = (1/B) sum_i T(g_i):
   ``"direction"``: T(g_i) = s_i g_i,  s_i = (||g_i|| / (eps + median||g||))^gamma;
   ``"sign"``: T(g_i) = ||g_i|| s_i sign(g_i) (the source's form; about sqrt(d) times larger);
   ``"sign_normalized"``: the sign form divided by sqrt(d) (d = number of parameters);
5. the update, per param group (the functional kernel :func:`ahtga_update`):
   theta <- (1 - lr wd) theta  (decoupled weight decay, if wd > 0),
   m <- b1 m + (1 - b1) g  (m initialised to the first g, as ``torch.optim.SGD`` does),
   theta <- theta - lr m.
   With gamma = 0 and wd = 0 this is exactly ``torch.optim.SGD(momentum=b1, dampening=b1)``.

Two protocols.  ``AHTGA(model, loss_reduction="mean")`` (or ``"sum"``) is a drop-in
torch.optim optimizer: its engine's hooks gather each layer's input and output gradient during
the user's ``loss.backward()`` of the reduced loss and ``step()`` (or ``step(closure)``) turns
them into norms, estimate, gamma and the weighted gradient without a second backward (a mean
only rescales the gathered quantities by B).  Without ``loss_reduction``, ``step(losses)`` takes
the per-example losses and runs one backward itself; it also works with ``loss_reduction`` set.
Both give the same parameters to float tolerance, with both transforms, the lagged estimate,
distributed gathering and checkpoints.  Gradient accumulation over several backwards before a
step is refused (``RuntimeError`` at ``step()``): the per-example set of a step is one
backward's batch.  ``zero_grad()`` drops what earlier backwards gathered.  The step writes
``.grad`` from the per-example quantities, so changes made to ``.grad`` between the backward and
the step (gradient clipping) do not reach the update.

Parameters without a gradient.  As in torch.optim, a parameter with no gradient in a step
(frozen with ``requires_grad_(False)`` after construction, or not in this step's graph, e.g. an
unused branch) has ``.grad = None`` after the engine's write and is untouched: no momentum, no
weight decay, no state created.  A parameter that has a gradient in some examples only (say a
branch taken by part of the batch) gets the ordinary weighted mean over all B examples, the
others contributing zero (their norms do not include it).  ``load_state_dict`` refuses a
checkpoint whose group sizes or buffer shapes differ from this optimizer's parameters, naming
the parameter; ``add_param_group`` validates ``lr``, ``betas``, ``weight_decay`` and that the
parameters are the engine's.

Non-finite values.  A NaN/Inf loss, norm or written gradient skips the whole step with a
``RuntimeWarning`` (``nonfinite="skip"``, the default: no parameter, momentum, schedule step or
estimator seed changes; the returned ``StepStats.skipped`` is True) or raises ``FloatingPointError``
(``nonfinite="raise"``).  Parameters never become NaN through this optimizer.
Why these defaults (the controller study's replay, ``ahtga.experiments`` preset family
``controller``, measures them).  The source estimates on one batch with a double bootstrap and
aims at an absolute alpha* = 1.5.  Per-example norms of a trained classifier have no single
tail index: at a batch of 128 the estimate scatters over an order of magnitude from step to
step, and pooled estimates depend on the pool's size (on MNIST's small CNN the median reading
rose from ~0.6 at n = 128 to ~3.8 at n = 1024 and ~6 at n = 2048 with ``hill_lepski``).  An
absolute 1.5 then lies on one side of nearly every reading: alpha > alpha* in 99% of logged
steps at small scale, gamma at its cap in 74%, the c2 branch and the schedules never ran.
A fixed pool makes the reading comparable between steps, and a target relative to the recent
readings puts it on both sides of alpha*, so both branches of the rule run and gamma stays off
its bounds.  ``target=1.5`` and ``window=1`` restore the source's configuration.

The clamp of a single estimate, ``DEFAULT_ALPHA_CLAMP`` = (0.1, 50), only keeps a wild reading
from dragging the EMA; it must not decide the reading.  With the earlier (0.1, 5) the pooled
norms of the small CNN on CIFAR-10 and Fashion-MNIST read above 5 in 96-97% of steps, the
relative target followed the clamped readings and gamma was constant: the controller did not
adapt.  With (0.1, 50) it operates on MNIST, CIFAR-10 and Fashion-MNIST (both branches in use,
gamma at a bound in 8-14% of steps, never clamped; ``paper/measured/README.md``).  An absolute
target with the unbounded quadratic rule (the source's) then gives huge gamma on light-tailed
norms: pass ``alpha_clamp=(0.1, 5.0)`` with it, as the ``ahtga_source`` ablation does.

Too few norms for the estimator: ``ValueError`` when B * window < min_samples; a transient
shortage of positive norms keeps the previous alpha (see :mod:`ahtga.control.tail_tracker`).

Distributed use (``torchrun``, any backend).  Do not wrap the model in DDP: AHTGA gathers the
per-example norms of all ranks, writes each rank's share (1/B_global) sum_{i local} T(g_i) and
sums the gradients over ranks itself; at construction it broadcasts the parameters and buffers of
rank 0 so all replicas start equal.  Every rank must call ``step`` with its own batch.

Lagged estimate (``estimate_lag=1``).  The tail estimate needs the norms on the host and costs
host time every step (``bench/bench_overhead.py`` times the step with and without the lag).  With ``estimate_lag=1`` step t uses
the EMA alpha_{t-1} (estimates up to step t-1's norms) and the estimate of step t's norms runs on
a background thread while the caller computes the next batch's forward and backward; the
current batch's norms still give the median of the transform.  The step then synchronises with
an accelerator once (one copy of the norms and the finiteness flags to the host, before the
update) instead of three times, and a NaN/Inf loss no longer stops the step before its
backward (the whole step is still skipped, and the pending estimate is kept for the next step).
``StepStats.alpha_hat`` and ``k`` then describe the previous step's norms.  Step 0 uses
alpha_0.  The estimate runs on the CPU whatever ``estimate_device`` says.  Between steps the
background thread owns ``opt.tracker``: read alpha from the returned ``StepStats`` (or from
``state_dict()``).  Results are deterministic and checkpoints resume bit-identically, as with
lag 0.  Measured on one NVIDIA H200 (``bench/gpu_step.py``, ResNet-18 with GroupNorm, batch 128,
2026-12-04, ``paper/measured/gpu_h200/gpu_step.json``), the lag does not pay: 25.5 ms per
direction-form step with it against 22.2 ms without (SGD 8.9 ms).  Why was not profiled; the
background thread shares Python's interpreter lock with the thread that launches the kernels.
It is kept, off by default, for hosts where a synchronisation costs more than there.

Lagged median (``median_lag=1``).  By default the transform's reference scale m is eps plus the
median of the current batch's norms, so every example's weight depends on the whole batch.  With
``median_lag=1`` step t uses eps plus the median of the norms of the previous completed (not
skipped) step; step 0, which has no previous step, uses its own.  With ``estimate_lag=1`` as well
(and ``betas=(0, b2)``, the direction form, ``rescale="none"``) the exponent and the scale of step t
are both computed from earlier batches: the configuration Statement 4 of the paper analyses.
The lagged median is part of the checkpoint.

Checkpoints.  ``state_dict()`` holds the momentum buffers, the param groups and an ``"ahtga"``
entry with the step counter, the EMA, the estimator's window and seed, the schedule, with ``estimate_lag=1`` the norms whose
estimate is pending, and with ``median_lag=1`` the previous step's median;
``load_state_dict`` restores all of it, so a resumed run continues bit-identically on CPU.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Iterable

import torch
import torch.distributed as dist
from torch import nn

from .._validation import check_choice, check_in_range, check_int, check_positive
from ..control.exponents import ExponentRule, make_exponent
from ..control.schedules import TargetSchedule, make_target
from ..control.tail_tracker import TailTracker, estimate_device_for
from ..control.transforms import direction_coefficients, median, sign_coefficients
from ..engine.distributed import allreduce_grads, gather_norms, is_distributed
from ._common import check_state_dict
from ._stats import StepStats

__all__ = ["AHTGA", "ahtga_update", "DEFAULT_EXPONENT", "DEFAULT_TARGET", "DEFAULT_POOL_SIZE",
           "DEFAULT_ALPHA_CLAMP"]

_NAN = float("nan")

#: The default target: 0.9 x the running median of the last 50 estimates, gamma = 0 for the
#: first 50 steps (:class:`ahtga.control.RelativeTarget`).
DEFAULT_TARGET: dict[str, Any] = {"name": "relative", "base": 0.9, "warmup": 50,
                                  "reference": "running", "horizon": 50}

#: The default pool of the tail estimate: the most recent 1024 positive per-example norms.
DEFAULT_POOL_SIZE = 1024

#: The default clamp of a single tail-index estimate (see "Why these defaults"): wide enough that
#: light-tailed norms are read, not pinned, so a relative target can follow them.
DEFAULT_ALPHA_CLAMP: tuple[float, float] = (0.1, 50.0)

#: The default exponent rule: the source's quadratic rule with an upper bound on gamma.
DEFAULT_EXPONENT: dict[str, Any] = {"name": "quadratic", "c1": 0.25, "c2": 0.25,
                                    "gamma_floor": 0.1, "gamma_max": 0.5}


def ahtga_update(params: list[torch.Tensor], grads: list[torch.Tensor],
                 momentum_buffers: list[torch.Tensor | None], *, lr: float, beta1: float,
                 weight_decay: float = 0.0) -> None:
    """The AHTGA parameter update, in place (functional kernel, callable directly in tests).

    For each parameter: theta <- (1 - lr wd) theta if wd > 0; m <- b1 m + (1 - b1) g, or
    m <- g where the buffer is None (first step; the new buffer is stored into
    ``momentum_buffers``); theta <- theta - lr m.
    """
    if not (len(params) == len(grads) == len(momentum_buffers)):
        raise ValueError(f"`params`, `grads` and `momentum_buffers` must have equal lengths; got "
                         f"{len(params)}, {len(grads)}, {len(momentum_buffers)}")
    if not params:
        return
    old = [i for i, b in enumerate(momentum_buffers) if b is not None]
    for i, b in enumerate(momentum_buffers):
        if b is None:
            momentum_buffers[i] = torch.clone(grads[i]).detach()
    if old:
        bufs = [momentum_buffers[i] for i in old]
        torch._foreach_mul_(bufs, beta1)
        torch._foreach_add_(bufs, [grads[i] for i in old], alpha=1.0 - beta1)
    if weight_decay != 0.0:
        torch._foreach_mul_(params, 1.0 - lr * weight_decay)
    torch._foreach_add_(params, momentum_buffers, alpha=-lr)


_dist_active = is_distributed


class AHTGA(torch.optim.Optimizer):
    """Adaptive Heavy-Tail Gradient Amplification (see the module docstring for the step).

    Parameters
    ----------
    model : the ``nn.Module`` whose per-example losses are passed to :meth:`step`.
    lr : learning rate (>= 0); per param group, read every step (works with lr_scheduler).
    betas : (b1, b2) in [0, 1): b1 momentum (per group), b2 the EMA factor of alpha.
    weight_decay : decoupled weight decay (>= 0), per group.
    target : alpha* schedule: a number (constant), a dict spec or a ``TargetSchedule``
        (default None: ``DEFAULT_TARGET``, a :class:`ahtga.control.RelativeTarget` asking for
        tails 10% heavier than the running median of the recent readings; see "Why these
        defaults").
    exponent : the exponent rule: a name ("quadratic": the source rule with c1 = c2 = 0.25,
        gamma_floor = 0.1 and no upper bound; "exact"), a dict spec such as
        ``{"name": "quadratic", "c1": 0.5}`` or an ``ExponentRule``.  Default:
        ``DEFAULT_EXPONENT`` = the source's quadratic rule bounded by gamma_max = 0.5.  The bound
        is this package's guard: light-tailed norms read as alpha far above an absolute alpha*;
        with the earlier clamp 5 the unbounded rule gave gamma ~ 3, which raises the largest
        gradients to about the 4th power of their ratio to the median, and with the clamp 50
        far more (the ablation variants ``ahtga_source`` and ``ahtga_gmax1`` of
        ``ahtga.experiments.presets`` measure the effect).  Pass
        ``"quadratic"`` for the source.
    estimator : a name of ``ahtga.tail.ESTIMATORS`` (default "hill_lepski"; "hill_db" is the
        source's) or a callable.  Not the package's default ``stable_t_dk``: its parametric
        branches fit |symmetric stable| or |Student-t| data, which per-example norms need not
        be, and below n ~ 500 its tests accept light-tailed samples (``ahtga.tail.stable_t``);
        the controller measurements were made with ``hill_lepski``.  A callable is
        ``f(x, *, seed) -> .alpha, .k``.
    estimator_options : keyword options for a named estimator.
    transform : "direction" (default), "sign" or "sign_normalized".
    eps : added to the median norm (>= 0).
    window : steps of norms pooled for the estimate (1: this batch only, the source's choice).
    pool_size : pool by count instead: each estimate uses the most recent ``pool_size`` positive
        norms, of as many steps as that takes, and none is made before the pool is full (see
        :class:`ahtga.control.TailTracker`).  Exclusive with ``window``; when neither is given,
        ``DEFAULT_POOL_SIZE`` (1024: the estimator study's sizes where ``hill_lepski`` is within
        its small-sample targets and n >= 1000).
    track_transformed : also estimate, every step, the tail index of the transformed norms
        ||T(g_i)|| = ||g_i|| s_i (pooled the same way, not smoothed), reported as
        ``StepStats.alpha_transformed``: the index the transform achieved, which the exponent
        rule aims at alpha* (costs a second estimate per step; default False).
    alpha_init : alpha_0 of the EMA (default 2.0).
    alpha_clamp : (lo, hi) range a single estimate is clamped into (default
        ``DEFAULT_ALPHA_CLAMP`` = (0.1, 50); see "Why these defaults").
    min_samples : least number of positive norms the estimate needs (default 32).
    seed : base seed of the estimator's randomness.
    estimate_every : estimate alpha every this many steps only (default 1: every step).
    estimate_device : where the tail estimate runs: "auto" (default: on the CPU for pools of at
        most 65536 norms, one copy instead of dozens of tiny kernels on an accelerator: on one
        H200 the direction-form step took 22.2 ms with it and 27.3 ms with "same",
        ``paper/measured/gpu_h200/gpu_step.json``), "cpu" or "same" (the device of the norms).
    estimate_lag : 0 (default: each step uses the estimate of its own norms) or 1 (each step
        uses the estimate up to the previous step's norms, computed on a background thread while
        the next batch is prepared; see "Lagged estimate" in the module docstring).
    median_lag : 0 (default: the transform's median is the current batch's) or 1 (the previous
        completed step's median; see "Lagged median" in the module docstring).
    mode : the engine's mode, "fast" or "reference".
    batchnorm : the engine's BatchNorm policy, "error" or "batch-stat".
    nonfinite : "skip" (warn and skip the step) or "raise".
    rescale : "none" (default, the source) or "mean": divide every coefficient by the batch mean
        of s_j = (||g_j|| / (eps + median))^gamma, so the transform reweights the examples without
        changing the overall step size (sum_i s_i g_i / sum_j s_j).  Late in training most
        per-example norms are tiny, the median with them, and ratios ||g_i|| / median reach
        10^2-10^3: without rescaling, gamma > 0 then inflates the step by the mean of s.
    params : parameters or param groups to update (default: all of ``model``'s trainable ones).
    engine : an object with the ``PerExampleEngine`` interface, instead of building one.
    loss_reduction : None (default: ``step(per_example_losses)`` runs the backward itself),
        "mean" or "sum": the standard protocol (``loss.backward(); opt.step()`` or
        ``opt.step(closure)`` with the loss reduced that way; see "Two protocols").
    """

    def __init__(self, model: nn.Module, *, lr: float = 1e-2,
                 betas: tuple[float, float] = (0.9, 0.9), weight_decay: float = 0.0,
                 target: Any = None, exponent: Any = None,
                 estimator: str | Callable = "hill_lepski",
                 estimator_options: dict[str, Any] | None = None,
                 transform: str = "direction", eps: float = 1e-8, window: int | None = None,
                 alpha_init: float = 2.0, alpha_clamp: tuple[float, float] = DEFAULT_ALPHA_CLAMP,
                 min_samples: int = 32, seed: int = 0, estimate_every: int = 1,
                 estimate_device: str = "auto", estimate_lag: int = 0, mode: str = "fast",
                 batchnorm: str = "error", nonfinite: str = "skip", rescale: str = "none",
                 params: Iterable | None = None, engine: Any = None,
                 loss_reduction: str | None = None, pool_size: int | None = None,
                 track_transformed: bool = False, median_lag: int = 0):
        if not isinstance(model, nn.Module):
            raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}")
        lr = check_positive("lr", lr, allow_zero=True)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"`betas` must be a pair (b1, b2); got betas={betas!r}") from None
        b1 = check_in_range("betas[0]", b1, 0.0, 1.0, hi_open=True)
        b2 = check_in_range("betas[1]", b2, 0.0, 1.0, hi_open=True)
        weight_decay = check_positive("weight_decay", weight_decay, allow_zero=True)
        self.transform = check_choice("transform", transform,
                                      {"direction", "sign", "sign_normalized"})
        self.eps = check_positive("eps", eps, allow_zero=True)
        self.nonfinite = check_choice("nonfinite", nonfinite, {"skip", "raise"})
        self.rescale = check_choice("rescale", rescale, {"none", "mean"})
        check_choice("mode", mode, {"fast", "reference"})
        if loss_reduction is not None:
            check_choice("loss_reduction", loss_reduction, {"mean", "sum"})
        self.loss_reduction = loss_reduction
        self.last_stats: StepStats | None = None
        self.estimate_lag = check_int("estimate_lag", estimate_lag, min_value=0, max_value=1)
        self.median_lag = check_int("median_lag", median_lag, min_value=0, max_value=1)
        # median_lag=1: the median of the last completed step's norms (float64 0-d tensor on the
        # norms' device, None before the first step) and this step's, committed after its update
        self._median_prev: torch.Tensor | None = None
        self._median_cur: torch.Tensor | None = None
        self.target: TargetSchedule = make_target(DEFAULT_TARGET if target is None else target)
        if window is None and pool_size is None:
            pool_size = DEFAULT_POOL_SIZE
        self.exponent: ExponentRule = make_exponent(DEFAULT_EXPONENT if exponent is None
                                                    else exponent)
        self.tracker = TailTracker(estimator, beta=b2, alpha_init=alpha_init, clamp=alpha_clamp,
                                   window=window, min_samples=min_samples, seed=seed,
                                   estimate_every=estimate_every,
                                   estimator_options=estimator_options,
                                   estimate_device=estimate_device, pool_size=pool_size)
        if not isinstance(track_transformed, bool):
            raise TypeError(f"`track_transformed` must be a bool; got "
                            f"track_transformed={track_transformed!r}")
        # the achieved tail index: the same estimator on the transformed norms, pooled the
        # same way, not smoothed (beta 0) and clamped only to keep it finite
        self.transformed_tracker = None if not track_transformed else TailTracker(
            estimator, beta=0.0, alpha_init=alpha_init, clamp=(1e-3, 1e3), window=window,
            min_samples=min_samples, seed=seed + 1, estimate_every=estimate_every,
            estimator_options=estimator_options, estimate_device=estimate_device,
            pool_size=pool_size)
        if engine is None:
            from ..engine import PerExampleEngine
            engine = PerExampleEngine(model, mode=mode, batchnorm=batchnorm,
                                      loss_reduction=loss_reduction)
        else:
            need = ("params", "backward", "write_weighted_grad", "write_sign_grad", "release")
            if loss_reduction is not None:
                need += ("collect",)
                if getattr(engine, "loss_reduction", loss_reduction) != loss_reduction:
                    raise ValueError(f"`loss_reduction`={loss_reduction!r} but the engine was "
                                     f"built with {engine.loss_reduction!r}")
            for name in need:
                if not hasattr(engine, name):
                    raise TypeError(f"`engine` must have the PerExampleEngine interface; "
                                    f"{type(engine).__name__} lacks {name!r}")
        self.engine = engine
        self.model = model
        defaults = dict(lr=lr, betas=(b1, b2), weight_decay=weight_decay)
        super().__init__(list(engine.params) if params is None else params, defaults)
        self._num_params = sum(p.numel() for p in engine.params)
        self._step = 0
        # estimate_lag=1: the norms of the last completed step whose estimate is pending, the
        # tracker's state before that estimate, and the background job computing it
        self._pending: torch.Tensor | None = None
        self._pending_tracker: dict[str, Any] | None = None
        self._job: Any = None
        self._pool: Any = None
        if _dist_active():
            with torch.no_grad():
                for t in list(model.parameters()) + list(model.buffers()):
                    dist.broadcast(t.data, src=0)

    def add_param_group(self, param_group: dict) -> None:
        """As torch.optim's, then validated: ``lr``, ``betas`` and ``weight_decay`` as in
        ``__init__``, and every parameter covered by the engine (a trainable parameter of
        ``model``); a rejected group is not added."""
        super().add_param_group(param_group)
        g = self.param_groups[-1]
        try:
            check_positive("lr", g["lr"], allow_zero=True)
            try:
                b1, b2 = g["betas"]
            except (TypeError, ValueError):
                raise ValueError(f"`betas` must be a pair (b1, b2); got betas={g['betas']!r}") \
                    from None
            check_in_range("betas[0]", b1, 0.0, 1.0, hi_open=True)
            check_in_range("betas[1]", b2, 0.0, 1.0, hi_open=True)
            check_positive("weight_decay", g["weight_decay"], allow_zero=True)
            covered = {id(p) for p in self.engine.params}
            for p in g["params"]:
                if id(p) not in covered:
                    raise ValueError("`params` must be trainable parameters of `model` covered "
                                     f"by the engine; got a parameter of shape {tuple(p.shape)} "
                                     "that is not")
        except (TypeError, ValueError):
            self.param_groups.pop()
            raise

    # ---------------------------------------------------------------- helpers
    def _peek_target(self, t: int) -> float:
        """alpha*_t without a new reading (a skipped step); NaN where the schedule has none yet
        (a relative target before its first reading)."""
        try:
            return self.target.value(t)
        except RuntimeError:
            return _NAN

    def _target(self, t: int, alpha: float, alpha_hat: float) -> float:
        """Report this step's reading to the schedule, then alpha*_t."""
        self.target.observe(t, alpha, alpha_hat)
        return self.target.value(t)

    def _track_transformed(self, norms_cpu: torch.Tensor, gamma: float) -> float:
        """The tail index of the transformed norms ||T(g_i)|| = ||g_i|| s_i (direction form;
        for the sign forms the same magnitudes, which ignore the sign's sqrt(nnz) factor),
        pooled like the tracker's; NaN when not tracked or no estimate was made."""
        if self.transformed_tracker is None:
            return _NAN
        x = norms_cpu.to(torch.float64)
        ref = None if self._median_prev is None else self._median_prev.to("cpu")
        y = x * direction_coefficients(x, gamma, self.eps, validate=False, median=ref)
        upd = self.transformed_tracker.update(y, checked=True)
        return upd.alpha_hat_raw if upd.estimated else _NAN

    def _skip(self, why: str, t: int, alpha_star: float | None,
              alpha: float | None = None) -> StepStats:
        msg = f"AHTGA step {t} skipped: {why}; no parameter was changed"
        if self.nonfinite == "raise":
            raise FloatingPointError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)
        if alpha_star is None:
            alpha_star = self._peek_target(t)
        return StepStats(step=t, alpha_hat=_NAN, alpha=self.tracker.value if alpha is None else alpha,
                         alpha_star=alpha_star, gamma=_NAN, k=0, n=0, q05=_NAN, q50=_NAN, q95=_NAN,
                         max=_NAN, clamped=False, gamma_guarded=False, skipped=True,
                         estimated=False)

    @staticmethod
    def _all_ok(flag: bool, device: torch.device) -> bool:
        """True on every rank iff ``flag`` holds on every rank."""
        if not _dist_active():
            return flag
        t = torch.tensor([1 if flag else 0], device=device, dtype=torch.int32)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item() == 1)

    def _reduce_grads(self) -> None:
        params = list(self.engine.params)
        # A parameter with a gradient on some rank gets one on every rank (zeros where it had
        # none), so the replicas stay equal; one without a gradient on every rank keeps None.
        some = torch.tensor([p.grad is not None for p in params], dtype=torch.int32,
                            device=params[0].device)
        dist.all_reduce(some, op=dist.ReduceOp.MAX)
        for p, s in zip(params, some.tolist()):
            if s and p.grad is None:
                p.grad = torch.zeros_like(p)
        allreduce_grads(params)

    def _write(self, norms: torch.Tensor, gamma: float, offset: int, local: torch.Tensor) -> None:
        """Coefficients of the global ``norms`` at ``gamma``; this rank's slice, divided by the
        global batch size, written as the batch gradient (then summed over ranks)."""
        B = norms.numel()
        ref = None
        if self.median_lag:
            self._median_cur = median(norms.detach())
            ref = self._median_prev
        if self.transform == "direction":
            coeffs = direction_coefficients(norms, gamma, self.eps, validate=False, median=ref)
        else:
            scale = 1.0 / math.sqrt(self._num_params) if self.transform == "sign_normalized" else 1.0
            coeffs = sign_coefficients(norms, gamma, self.eps, scale=scale, validate=False,
                                       median=ref)
        if self.rescale == "mean":
            s_mean = (coeffs if self.transform == "direction"
                      else direction_coefficients(norms, gamma, self.eps, validate=False,
                                                  median=ref)).mean()
            # divide by the mean where it is positive (no host synchronisation)
            coeffs = coeffs / torch.where(s_mean > 0, s_mean, torch.ones_like(s_mean))
        coeffs = (coeffs[offset:offset + local.numel()] / B).to(local.device)
        try:
            if self.transform == "direction":
                self.engine.write_weighted_grad(coeffs)
            else:
                self.engine.write_sign_grad(coeffs)
        finally:
            self.engine.release()
        if _dist_active():
            self._reduce_grads()

    def _grouped_grads(self) -> tuple[list, list[torch.Tensor]]:
        groups = []
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            groups.append((group, ps, [p.grad for p in ps]))
        return groups, [g for _, _, gs in groups for g in gs]

    @staticmethod
    def _finite_flags(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
        """One float64 flag on ``device``: 1 iff every tensor is finite (a few kernels: one stack
        of the per-tensor norms, not one copy each)."""
        if not tensors:
            return torch.ones(1, dtype=torch.float64, device=device)
        gnorms = torch._foreach_norm(tensors)
        if len({(n.dtype, n.device) for n in gnorms}) > 1:  # mixed dtypes or devices
            gnorms = [n.to(device, torch.float64) for n in gnorms]
        return torch.isfinite(torch.stack(gnorms)).all().to(device=device,
                                                            dtype=torch.float64).reshape(1)

    def _update(self, groups: list) -> None:
        for group, ps, gs in groups:
            bufs = [self.state[p].get("momentum_buffer") for p in ps]
            ahtga_update(ps, gs, bufs, lr=float(group["lr"]), beta1=group["betas"][0],
                         weight_decay=group["weight_decay"])
            for p, b in zip(ps, bufs):
                self.state[p]["momentum_buffer"] = b

    @staticmethod
    def _quantiles(norms_cpu: torch.Tensor) -> list[float]:
        return torch.quantile(norms_cpu.to(torch.float64),
                              torch.tensor([0.05, 0.5, 0.95, 1.0], dtype=torch.float64)).tolist()

    # ---------------------------------------------------------------- step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """As torch.optim's; with the standard protocol it also drops the per-example
        quantities gathered by backwards since the last step (a new step starts)."""
        super().zero_grad(set_to_none)
        if self.loss_reduction is not None and hasattr(self.engine, "discard"):
            self.engine.discard()

    def step(self, closure: Any = None):  # type: ignore[override]
        """One AHTGA step.

        * ``step()`` (standard protocol, ``loss_reduction`` set): after ``loss.backward()`` of
          the mean- or sum-reduced loss; the per-example quantities were gathered during that
          backward (no second one). Returns ``StepStats``.
        * ``step(closure)``: as torch.optim: ``closure()`` (zero_grad, forward, backward,
          returning the loss) runs with grad enabled, then the step as above; returns the
          closure's loss.
        * ``step(losses)`` with per-example losses [B] (not reduced; with graph): runs the
          backward itself (do not call ``losses.backward()``); returns ``StepStats``.

        ``last_stats`` holds the ``StepStats`` of the last step in every case.
        """
        if isinstance(closure, torch.Tensor):
            self.last_stats = self._take_step(closure)
            return self.last_stats
        if closure is not None and not callable(closure):
            raise TypeError("`closure` must be a callable (torch.optim's closure) or a tensor of "
                            f"per-example losses; got {type(closure).__name__}")
        if self.loss_reduction is None:
            raise RuntimeError(
                "AHTGA.step() without per-example losses is the standard protocol: build the "
                "optimizer with loss_reduction='mean' (or 'sum', as your loss is reduced), then "
                "loss.backward(); opt.step(); or call opt.step(per_example_losses)")
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.last_stats = self._take_step(None)
        return self.last_stats if closure is None else loss

    def _take_step(self, losses: torch.Tensor | None) -> StepStats:
        """The step from per-example ``losses`` or (None) from what the engine gathered."""
        if losses is None:
            pass
        elif not isinstance(losses, torch.Tensor) or losses.ndim != 1 or losses.numel() == 0:
            raise ValueError("`losses` must be a non-empty 1-d tensor of per-example losses [B] "
                             f"(reduction='none'); got {type(losses).__name__} of shape "
                             f"{tuple(getattr(losses, 'shape', ()))}")
        elif not losses.requires_grad:
            raise ValueError("`losses` must require grad (compute them from the model's output "
                             "outside torch.no_grad)")
        t = self._step
        if self.estimate_lag:
            return self._step_lagged(losses, t)
        if losses is not None and not self._all_ok(bool(torch.isfinite(losses.detach()).all()),
                                                   losses.device):
            self.engine.release()   # drop what the engine recorded during this forward
            return self._skip("NaN or Inf in the per-example losses (on some rank)", t, None)

        local = self._local_norms(losses)
        norms, offset = gather_norms(local, return_offset=True)
        B = norms.numel()
        # The estimate needs the norms on the host anyway (when it runs on the CPU): copy them
        # once and check them there (one synchronisation for both).
        on_cpu = estimate_device_for(norms.device, B * self.tracker.window,
                                     self.tracker.estimate_device).type == "cpu"
        est_in = norms.to("cpu") if on_cpu else norms   # the estimate's input
        if not bool(torch.isfinite(est_in).all()):
            self.engine.release()
            return self._skip("NaN or Inf in the per-example gradient norms", t, None)
        snapshot = self._snapshot()
        try:
            upd = self.tracker.update(est_in, checked=True)
            alpha_star = self._target(t, upd.alpha, upd.alpha_hat)
        except (ValueError, RuntimeError):
            self._restore(snapshot)
            self.engine.release()
            raise
        gamma, guarded = self.exponent.compute(upd.alpha, alpha_star)
        self._write(norms, gamma, offset, local)

        with torch.no_grad():
            groups, all_grads = self._grouped_grads()
            norms_cpu = est_in if on_cpu else norms.to("cpu")
            q = self._quantiles(norms_cpu)
            if all_grads and self._finite_flags(all_grads, all_grads[0].device).item() != 1.0:
                self._restore(snapshot)
                return self._skip("NaN or Inf in the written batch gradient", t, alpha_star)
            self._update(groups)
        a_tr = self._track_transformed(norms_cpu, gamma)
        self._commit_median()
        self._step += 1
        return StepStats(step=t, alpha_hat=upd.alpha_hat, alpha=upd.alpha, alpha_star=alpha_star,
                         gamma=gamma, k=upd.k, n=B, q05=q[0], q50=q[1], q95=q[2], max=q[3],
                         clamped=upd.clamped, gamma_guarded=guarded, skipped=False,
                         estimated=upd.estimated, estimator_warning=upd.warned,
                         alpha_transformed=a_tr)

    def _commit_median(self) -> None:
        """After a completed step: its median becomes the next step's reference scale."""
        if self.median_lag and self._median_cur is not None:
            self._median_prev, self._median_cur = self._median_cur, None

    def _snapshot(self) -> tuple[dict, dict]:
        """The tracker's and the schedule's state, to undo a step that is skipped."""
        return self.tracker.state_dict(), self.target.state_dict()

    def _restore(self, snapshot: tuple[dict, dict]) -> None:
        self.tracker.load_state_dict(snapshot[0])
        self.target.load_state_dict(snapshot[1])

    # ---------------------------------------------------------------- lagged estimate
    def _start_estimate(self) -> None:
        """Start the estimate of the pending norms on the background thread."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ahtga-estimate")
        self._job = self._pool.submit(self.tracker.update, self._pending, checked=True)

    def _finish_estimate(self):
        """The tracker update of the pending norms (None before the first completed step)."""
        if self._pending is None:
            return None
        job, self._job = self._job, None
        try:
            return self.tracker.update(self._pending, checked=True) if job is None else job.result()
        except BaseException:
            self.tracker.load_state_dict(self._pending_tracker)  # as if it never ran
            raise

    def _drop_estimate(self) -> None:
        """Wait for a running estimate and undo it (the pending norms stay pending)."""
        job, self._job = self._job, None
        if job is not None:
            try:
                job.result()
            except Exception:  # noqa: BLE001 - undone below; the next step recomputes it
                pass
        if self._pending_tracker is not None:
            self.tracker.load_state_dict(self._pending_tracker)

    def _local_norms(self, losses: torch.Tensor | None) -> torch.Tensor:
        """This rank's per-example gradient norms: the engine's backward of ``losses``, or
        (standard protocol, ``losses`` None) what it gathered during the user's backward."""
        return (self.engine.collect() if losses is None
                else self.engine.backward(losses)).detach()

    def _step_lagged(self, losses: torch.Tensor | None, t: int) -> StepStats:
        if losses is None:   # (non-finite losses show in the norms)
            dev = self.engine.params[0].device
            loss_ok = torch.ones(1, dtype=torch.float64, device=dev)
        else:
            dev = losses.device
            loss_ok = torch.isfinite(losses.detach()).all().to(torch.float64).reshape(1)
        local = self._local_norms(losses)
        norms, offset = gather_norms(local, return_offset=True)
        B = norms.numel()
        try:
            self.tracker.check_batch(B)
        except ValueError:
            self.engine.release()
            raise
        try:  # the estimate of the previous step's norms, made while this batch was prepared
            upd = self._finish_estimate()
        except BaseException:
            self.engine.release()
            raise
        alpha = self.tracker.value if upd is None else upd.alpha
        target_state = self.target.state_dict()
        alpha_star = self._target(t, alpha, _NAN if upd is None else upd.alpha_hat)
        gamma, guarded = self.exponent.compute(alpha, alpha_star)
        self._write(norms, gamma, offset, local)
        with torch.no_grad():
            groups, all_grads = self._grouped_grads()
            flags = [loss_ok.to(norms.device), self._finite_flags(all_grads, norms.device)]
            # the step's one synchronisation: the norms and the finiteness flags to the host
            host = torch.cat([norms.to(torch.float64), *flags]).to("cpu")
            norms_cpu = host[:B].to(norms.dtype)
            ok = bool((host[B:] == 1.0).all()) and bool(torch.isfinite(norms_cpu).all())
            if not self._all_ok(ok, dev):
                self._drop_estimate()  # restores the tracker; the same estimate is redone next
                self.target.load_state_dict(target_state)
                if self._pending is not None:
                    self._start_estimate()
                return self._skip("NaN or Inf in the per-example losses, gradient norms or "
                                  "written batch gradient", t, alpha_star, alpha)
            q = self._quantiles(norms_cpu)
            self._update(groups)
        a_tr = self._track_transformed(norms_cpu, gamma)
        self._commit_median()
        self._step += 1
        self._pending, self._pending_tracker = norms_cpu, self.tracker.state_dict()
        self._start_estimate()
        if upd is None:
            return StepStats(step=t, alpha_hat=_NAN, alpha=alpha, alpha_star=alpha_star,
                             gamma=gamma, k=0, n=B, q05=q[0], q50=q[1], q95=q[2], max=q[3],
                             clamped=False, gamma_guarded=guarded, skipped=False, estimated=False,
                             alpha_transformed=a_tr)
        return StepStats(step=t, alpha_hat=upd.alpha_hat, alpha=upd.alpha, alpha_star=alpha_star,
                         gamma=gamma, k=upd.k, n=B, q05=q[0], q50=q[1], q95=q[2], max=q[3],
                         clamped=upd.clamped, gamma_guarded=guarded, skipped=False,
                         estimated=upd.estimated, estimator_warning=upd.warned,
                         alpha_transformed=a_tr)

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        pending = self._pending is not None   # the tracker as it was before the pending estimate
        sd["ahtga"] = {"step": self._step,
                       "tracker": self._pending_tracker if pending else self.tracker.state_dict(),
                       "target": self.target.state_dict()}
        if self.transformed_tracker is not None:
            sd["ahtga"]["transformed_tracker"] = self.transformed_tracker.state_dict()
        if pending:
            sd["ahtga"]["pending_norms"] = self._pending.clone()
        if self._median_prev is not None:
            sd["ahtga"]["median_prev"] = self._median_prev.detach().to("cpu").clone()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        sd = dict(state_dict)
        if "ahtga" not in sd:
            raise ValueError("`state_dict` lacks the 'ahtga' entry: not an AHTGA checkpoint")
        extra = sd.pop("ahtga")
        check_state_dict(self, sd, {id(p): n for n, p in self.model.named_parameters()})
        self._drop_estimate()
        super().load_state_dict(sd)
        self._step = int(extra["step"])
        self.tracker.load_state_dict(extra["tracker"])
        self.target.load_state_dict(extra["target"])
        if self.transformed_tracker is not None and "transformed_tracker" in extra:
            self.transformed_tracker.load_state_dict(extra["transformed_tracker"])
        m_prev = extra.get("median_prev")
        self._median_cur = None
        self._median_prev = None if m_prev is None else torch.as_tensor(
            m_prev, dtype=torch.float64).to(self.engine.params[0].device)
        pending = extra.get("pending_norms")
        if pending is not None and not self.estimate_lag:
            # a lagged run resumed without the lag: fold the pending norms in now
            self.tracker.update(pending, checked=True)
            pending = None
        self._pending = None if pending is None else pending.detach().to("cpu").clone()
        self._pending_tracker = None if pending is None else self.tracker.state_dict()
