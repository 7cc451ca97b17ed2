"""Where are the gradients heavy-tailed?  Two measurements at the current parameters, for any
optimizer, leaving the model's ``.grad`` as it found them.

* **Per-example gradient norms, pooled** (:func:`pooled_norms`): ||g_i|| of every example of a
  probe set (in chunks through the per-example engine), so one estimate sees n >= 1000 norms
  instead of one batch.  This is the quantity AHTGA's tracker reads.
* **Minibatch gradient noise** (:func:`minibatch_noise`), as Simsekli, Sagun and Gurbuzbalaban
  (ICML 2019, "A tail-index analysis of stochastic gradient noise in deep neural networks")
  measured it: U_b = g_b - g_ref for minibatches b of size ``batch_size`` drawn from the probe
  set, g_ref the mean gradient of the whole probe set (the full gradient when the probe set is
  the training set, else a large-batch gradient); the coordinates of all U_b are pooled into
  one sample.  Their estimator is the stable-law one of Mohammadi, Mohammadpour and Ogata
  (``stable_mmo``, signed data); the positive-data estimators run on |U|.

:func:`gradient_tails` runs both and returns a JSON-able record.  Reading the numbers: a tail
index below 2 from ``stable_mmo`` says the noise is not Gaussian only if a stable law fits at
all (the estimator assumes one); the Hill-type estimators on |U| and on the norms assume a
power-law tail, which the goodness-of-fit p-value of :mod:`ahtga.tail` tests where available.
Per-example gradients of a finite data set have no true tail: these are descriptions of the
empirical distribution at the sizes measured, comparable across settings at equal n.
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Callable, Sequence

import torch

from .._validation import check_int
from .tail_monitor import probe_per_example

__all__ = ["pooled_norms", "minibatch_noise", "gradient_tails"]

#: The fewest values the goodness-of-fit subsample may hold (``gof_max_n``).
MIN_GOF_N = 50


def _check_probe(inputs: torch.Tensor, targets: torch.Tensor) -> int:
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("`inputs` and `targets` must be tensors; got "
                        f"{type(inputs).__name__} and {type(targets).__name__}")
    n = int(inputs.shape[0])
    if int(targets.shape[0]) != n:
        raise ValueError(f"`inputs` and `targets` must hold the same number of examples; got "
                         f"{n} and {int(targets.shape[0])}")
    return n


def pooled_norms(model: torch.nn.Module, loss_fn: Callable, inputs: torch.Tensor,
                 targets: torch.Tensor, *, chunk: int = 256) -> torch.Tensor:
    """Per-example gradient norms ``[N]`` of every example of the probe set at the current
    parameters (``loss_fn(outputs, targets) -> [B]`` per-example losses), ``chunk`` examples
    per backward.  ``.grad`` is left as it was."""
    n = _check_probe(inputs, targets)
    chunk = check_int("chunk", chunk, min_value=1)
    out = [probe_per_example(model, loss_fn, inputs[i:i + chunk], targets[i:i + chunk])[0]
           for i in range(0, n, chunk)]
    return torch.cat(out).detach()


def _flat_grad(params: list[torch.Tensor], loss: torch.Tensor) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat([torch.zeros(p.numel(), device=p.device, dtype=p.dtype) if g is None
                      else g.reshape(-1) for p, g in zip(params, grads)])


def _draw(n: int, b: int, gen: torch.Generator) -> torch.Tensor:
    """``b`` distinct indices of ``range(n)``, uniformly.  Rejection (draw b with replacement,
    keep them when all differ: O(b), not the O(n) of a permutation) only while b^2 <= n, where a
    draw is accepted with probability about exp(-b^2 / 2n) >= 0.6; beyond that the acceptance
    vanishes (b = 256 of n = 1146: about e^-28), so the first b of a permutation."""
    if b * b > n:
        return torch.randperm(n, generator=gen)[:b]
    while True:
        idx = torch.randint(0, n, (b,), generator=gen)
        if idx.unique().numel() == b:
            return idx


def minibatch_noise(model: torch.nn.Module, loss_fn: Callable, inputs: torch.Tensor,
                    targets: torch.Tensor, *, batch_size: int, n_batches: int, seed: int = 0,
                    ref_chunk: int = 512) -> torch.Tensor:
    """Noise vectors ``[n_batches, d]``: minibatch mean gradient minus the probe set's mean
    gradient, for ``n_batches`` minibatches of ``batch_size`` distinct examples each (uniform,
    independent between minibatches; ``torch.Generator`` seeded with ``seed``).  ``d`` is the
    number of trainable parameters.  ``.grad`` is untouched (``torch.autograd.grad``)."""
    n = _check_probe(inputs, targets)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    n_batches = check_int("n_batches", n_batches, min_value=1)
    if batch_size > n:
        raise ValueError(f"`batch_size` must be <= the probe set's {n} examples; "
                         f"got batch_size={batch_size}")
    params = [p for p in model.parameters() if p.requires_grad]
    ref = None
    for i in range(0, n, ref_chunk):   # mean gradient of the probe set, in chunks
        losses = loss_fn(model(inputs[i:i + ref_chunk]), targets[i:i + ref_chunk])
        g = _flat_grad(params, losses.sum()).detach()
        ref = g if ref is None else ref + g
    ref = ref / n
    gen = torch.Generator().manual_seed(int(seed))
    rows = []
    for _ in range(n_batches):
        idx = _draw(n, batch_size, gen).to(inputs.device)
        losses = loss_fn(model(inputs[idx]), targets[idx])
        rows.append(_flat_grad(params, losses.mean()).detach() - ref)
    return torch.stack(rows)


def _safe_estimate(x: torch.Tensor, estimator: str | None, seed: int) -> dict:
    from ..tail import estimate

    kw = {} if estimator is None else {"estimator": estimator}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            est = estimate(x, seed=seed, **kw)
        except ValueError as err:
            return {"estimator": estimator, "alpha": None, "k": None, "error": str(err)}
    a = float(est.alpha)
    return {"estimator": est.estimator, "alpha": a if math.isfinite(a) else None,
            "k": None if est.k is None else int(est.k)}


def _gof(x: torch.Tensor, n_boot: int, seed: int, max_n: int, exact_max: int) -> dict:
    """Clauset-Shalizi-Newman test (``ahtga.tail.gof.gof_test``) on a seeded random subsample of
    at most ``max_n`` of the positive values ``x``, as a JSON-able dict with its wall time."""
    from ..tail.gof import gof_test

    gen = torch.Generator().manual_seed(int(seed) + 2)
    sub = x[torch.randperm(x.numel(), generator=gen)[:max_n]] if x.numel() > max_n else x
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = gof_test(sub, n_boot=n_boot, seed=seed, exact_max=exact_max, warn=False)
    except ValueError as err:
        return {"p_value": None, "alpha": None, "n": int(sub.numel()), "error": str(err),
                "seconds": time.perf_counter() - t0}
    a = r.fit.alpha
    return {"p_value": r.p_value, "alpha": a if math.isfinite(a) else None, "xmin": r.fit.xmin,
            "n_tail": r.fit.n_tail, "n": int(sub.numel()), "n_boot": int(n_boot),
            "light": any(m.startswith("light tail") for m in r.warnings),
            "seconds": time.perf_counter() - t0}


def gradient_tails(model: torch.nn.Module, loss_fn: Callable, inputs: torch.Tensor,
                   targets: torch.Tensor, *, batch_size: int, n_batches: int = 16,
                   estimators: Sequence[str | None] = (None,), seed: int = 0,
                   max_noise_samples: int = 200_000, gof_boot: int | None = None,
                   gof_max_n: int = 2000, gof_exact_max: int | None = None, engine=None) -> dict:
    """Both measurements at the current parameters, as a JSON-able dict:

    ``norms``: n, median, and one estimate per entry of ``estimators`` (None = the package's
    default estimator) on the pooled positive per-example norms;
    ``noise``: n (pooled coordinates in a seeded random order, subsampled to at most
    ``max_noise_samples``), ``stable_mmo`` on the signed coordinates, and each of ``estimators`` on |U| > 0.

    With ``gof_boot`` (an int >= 0; None = no test), each part also gets ``gof``: the power-law
    goodness-of-fit test of :mod:`ahtga.tail.gof` with ``gof_boot`` bootstrap samples (seeded by
    ``seed``; 0 = the fit and the likelihood-ratio comparisons without a p-value) on the
    positive norms and on |U|, each a seeded random subsample of at most ``gof_max_n`` values
    (the test's x_min scan is quadratic in n up to ``gof_exact_max`` candidates, by default
    the test's own ``EXACT_MAX``; above it a geometric grid of tail sizes): ``p_value``, the fit's
    ``alpha``, ``xmin``, ``n_tail``, ``n``, ``light`` (the test's light-tail warning) and its
    wall time ``seconds``.  ``engine``: a per-example engine already hooked on the model (e.g.
    AHTGA's), used for the norms and released after the noise's forward passes, which its hooks
    record too.
    """
    if gof_boot is not None:
        gof_boot = check_int("gof_boot", gof_boot, min_value=0)
        gof_max_n = check_int("gof_max_n", gof_max_n, min_value=MIN_GOF_N)
        if gof_exact_max is None:
            from ..tail.gof import EXACT_MAX as gof_exact_max
        gof_exact_max = check_int("gof_exact_max", gof_exact_max, min_value=1)
    max_noise_samples = check_int("max_noise_samples", max_noise_samples, min_value=1)
    n = _check_probe(inputs, targets)
    chunk = 256
    norms = torch.cat([probe_per_example(model, loss_fn, inputs[i:i + chunk], targets[i:i + chunk],
                                         engine=engine)[0] for i in range(0, n, chunk)])
    norms = norms.detach().double().cpu()
    pos = norms[(norms > 0) & torch.isfinite(norms)]
    rec: dict = {"norms": {"n": int(pos.numel()),
                           "median": float(pos.median()) if pos.numel() else None,
                           "estimates": [_safe_estimate(pos, e, seed) for e in estimators]}}
    try:
        noise = minibatch_noise(model, loss_fn, inputs, targets, batch_size=batch_size,
                                n_batches=n_batches, seed=seed).double().cpu().reshape(-1)
    finally:
        if engine is not None:
            engine.release()
    noise = noise[(noise != 0) & torch.isfinite(noise)]
    # a seeded shuffle (and subsample): the coordinates of one minibatch's noise are dependent
    # (one large gradient moves them all), and stable_mmo sums consecutive values in blocks
    gen = torch.Generator().manual_seed(int(seed) + 1)
    noise = noise[torch.randperm(noise.numel(), generator=gen)[:max_noise_samples]]
    absn = noise.abs()
    rec["noise"] = {"n": int(noise.numel()), "batch_size": int(batch_size),
                    "n_batches": int(n_batches),
                    "estimates": [_safe_estimate(noise, "stable_mmo", seed)]
                    + [_safe_estimate(absn, e, seed) for e in estimators]}
    if gof_boot is not None:
        rec["norms"]["gof"] = _gof(pos, gof_boot, seed, gof_max_n, gof_exact_max)
        rec["noise"]["gof"] = _gof(absn, gof_boot, seed, gof_max_n, gof_exact_max)
    return rec
