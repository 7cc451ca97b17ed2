"""Tail index of per-example gradient norms during training, for any optimizer.

Every ``every`` steps the monitor computes the per-example gradient norms ``||g_i||`` of a fixed
probe batch (one backward through ``ahtga.engine.PerExampleEngine``) at the current parameters
and estimates their tail index with ``ahtga.tail.estimate`` (default: :data:`NORM_ESTIMATOR`,
``hill_lepski``, AHTGA's estimator -- not the package default ``stable_t_dk``, whose parametric
branches are for |symmetric stable| or |Student-t| data, which gradient norms need not be, and
read small light-tailed samples as one of them; the experiments pass their config's ``tail_estimator``).  The probe batch is fixed so that changes over training reflect the
model, not the sample.  The measurement leaves the model's ``.grad`` as it found them (saved and
restored), so it can sit between optimizer steps of any optimizer.

A note on reading the numbers: a probe of B examples gives B norms; with B = 256 the estimate
has the small-sample bias and variance of the estimator at n = 256 (see the bias atlas); compare
optimizers at equal B.  Light tails read as large alpha (Gaussian-like norms give alpha >> 2).
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch

from .._validation import check_int

#: The monitor's estimator when none is named (module docstring).
NORM_ESTIMATOR = "hill_lepski"


def probe_per_example(model: torch.nn.Module, loss_fn: Callable, inputs: torch.Tensor,
                      targets: torch.Tensor, *, engine=None, want_grads: bool = False):
    """Per-example gradient norms ``[B]`` (and, with ``want_grads``, the per-example gradients
    ``{name: [B, ...]}``) of ``loss_fn(model(inputs), targets)`` at the current parameters.

    Uses ``engine`` (an ``ahtga.engine.PerExampleEngine`` already hooked on ``model``, e.g. the
    optimizer's) or a temporary one whose hooks are removed afterwards.  The engine is released
    afterwards and the parameters' ``.grad`` are left as they were, so this can run between the
    steps of any optimizer.  Any *other* engine hooked on the model records this forward too:
    pass that engine here (or release it) so no stale record reaches its next backward.
    """
    from ..engine import PerExampleEngine  # imported late: metrics do not need the engine

    params = [p for p in model.parameters() if p.requires_grad]
    saved = [None if p.grad is None else p.grad.detach().clone() for p in params]
    own = engine is None
    if own:
        engine = PerExampleEngine(model, verify=False)
    try:
        losses = loss_fn(model(inputs), targets)
        if losses.dim() != 1:
            raise ValueError(f"`loss_fn` must return per-example losses of shape [B]; "
                             f"got shape {tuple(losses.shape)}")
        norms = engine.backward(losses).detach()
        grads = engine.per_example_grads() if want_grads else None
    finally:
        if own:
            engine.remove()
        else:
            engine.release()
        for p, g in zip(params, saved):
            p.grad = g
    return norms, grads


class TailMonitor:
    """Periodic tail-index measurement on a fixed probe batch.

    Parameters
    ----------
    model: the ``torch.nn.Module`` being trained.
    loss_fn: ``loss_fn(outputs, targets) -> Tensor[B]`` per-example losses (``reduction="none"``).
    inputs, targets: the probe batch (kept; moved to the model's device by the caller).
    every: measure when ``step % every == 0``.
    estimator: a name in ``ahtga.tail.ESTIMATORS`` (None: :data:`NORM_ESTIMATOR`, module
        docstring); ``estimator_options`` are passed through.
    seed: base seed of the estimator's resampling (``seed + step`` at each measurement).
    engine: a ``PerExampleEngine`` already hooked on ``model`` (the optimizer's, for AHTGA) to
        reuse; by default a temporary engine is made for each measurement.
    """

    def __init__(self, model: torch.nn.Module, loss_fn: Callable, inputs: torch.Tensor,
                 targets: torch.Tensor, *, every: int = 50, estimator: str | None = None,
                 seed: int = 0, estimator_options: dict | None = None, engine=None):
        self.model = model
        self.loss_fn = loss_fn
        self.inputs = inputs
        self.targets = targets
        self.every = check_int("every", every, min_value=1)
        self.estimator = NORM_ESTIMATOR if estimator is None else estimator
        self.seed = check_int("seed", seed)
        self.options = dict(estimator_options or {})
        self.engine = engine
        if inputs.shape[0] < 8:
            raise ValueError(f"`inputs` must hold at least 8 probe examples for a tail estimate; "
                             f"got {inputs.shape[0]}")
        self.history: list[dict] = []

    def norms(self) -> torch.Tensor:
        """Per-example gradient norms of the probe batch at the current parameters."""
        return probe_per_example(self.model, self.loss_fn, self.inputs, self.targets,
                                 engine=self.engine)[0]

    def measure(self, step: int) -> dict:
        """Measure now; returns ``{"step", "alpha", "k", "estimator", "q50", "max"}``."""
        from ..tail import estimate

        norms = self.norms().double()
        pos = norms[norms > 0]
        rec = {"step": int(step), "estimator": self.estimator, "n": int(norms.numel()),
               "q50": float(norms.median()), "max": float(norms.max()), "alpha": None, "k": None}
        if pos.numel() >= 8:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est = estimate(pos, self.estimator, seed=self.seed + int(step), **self.options)
            a = float(est.alpha)
            rec["alpha"] = a if a == a and a != float("inf") else None  # JSON: no NaN/Inf
            rec["k"] = None if est.k is None else int(est.k)
        self.history.append(rec)
        return rec

    def maybe_measure(self, step: int) -> dict | None:
        """:meth:`measure` when ``step % every == 0``, else ``None``."""
        return self.measure(step) if int(step) % self.every == 0 else None
