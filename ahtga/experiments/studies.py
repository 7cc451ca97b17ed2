"""What a run measures besides its loss: monitors during training and metrics at the end.

During training (:class:`EpochProbes`):
* tail monitor (every optimizer): tail index of the per-example gradient norms of a fixed probe
  batch of ``tail_probe`` training examples, every ``tail_every`` steps, at step 0 and at the
  end (``ahtga.metrics.TailMonitor``);
* under ``dynamics``: entropy effective rank of the per-example gradient covariance of a fixed
  batch of ``eff_rank_batch`` training examples, at step 0 and after every epoch.
* gradient-tail study (``tail_pool`` > 0; :class:`PooledTails`): at step 0 and at
  ``tail_pool_points`` evenly spaced steps up to the last (round(j T / P), j = 1..P, T the run's
  steps; a diverged run measures where it stopped), on a fixed set of ``tail_pool`` training
  examples (all of them when there are fewer), ``ahtga.metrics.gradient_tails``: the tail index
  of the pooled per-example norms and of the minibatch gradient noise (``tail_noise_batches``
  minibatches of the run's ``batch_size``, reference = the probe set's mean gradient,
  ``tail_noise_samples`` coordinates kept), ``stable_mmo`` on the signed noise and the package's
  estimator :data:`STUDY_ESTIMATOR` (``hill_lepski``, the package default when the study was
  first measured, pinned so results stay comparable) on the norms and on |U| -- not ``tail_estimator``, which
  stays the per-batch monitor's; and the power-law goodness-of-fit test (``tail_gof_boot``
  bootstrap samples, on at most 2000 values of each, x_min scanned over at most
  :data:`GOF_EXACT_MAX` candidate tails, a geometric grid above: the test's cost is quadratic
  in that number) at every ``tail_gof_every``-th measurement and at the last (only the last
  when 0).  Records in ``curves.tail_pool`` (one flat dict per measurement, carried by
  checkpoints like the tail curve), summarised in ``final.tail_pool`` (:func:`pooled_summary`).

Language models (``task="lm"``): final losses are mean token NLLs with their perplexities
(train/val/test), next-token accuracy; no calibration, corruptions or OOD.

At the end (:func:`final_classification`; language models :func:`final_lm`): loss and accuracy on train (labels as trained on, and clean
labels when noise was added), validation and test; the generalization gap (test - train loss;
train - test accuracy); ECE with ``calibration_bins`` bins and the reliability-diagram data on
the test set; test accuracy under each corruption in ``perturbations``; max-softmax OOD AUROC on
the set named by ``ood``; under ``dynamics`` the Hessian's top eigenvalue (power iteration) and
trace (Hutchinson) of the mean training loss on ``hessian_batch`` fixed training examples.

Corruptions (applied to the raw test images, then the training standardisation; severities
fixed here so results compare across runs; images in [0, 1]): ``gaussian``: additive N(0, 0.3^2)
noise, clipped to [0, 1]; ``blur``: Gaussian blur with sigma 1 pixel (radius 3); ``contrast``:
``(x - m) 0.4 + m`` with m the image mean.  These are ``ahtga.data``'s ``gaussian_noise``,
``gaussian_blur`` and ``contrast``.

OOD sets:
* ``permuted`` (the tiny choice, no extra data): the test images with one fixed random
  permutation of pixel positions (seed 0).  Pixel statistics are kept, spatial structure is
  destroyed, so a detector cannot win by intensity alone;
* ``uniform``: i.i.d. uniform pixels over the test images' range;
* ``mnist`` (for digits runs; needs ``data_dir`` with MNIST's IDX files): MNIST test digits
  average-pooled to 8x8, each rescaled to maximum 1 like digits -- the issue's digits -> MNIST;
* ``fashion_mnist`` (for MNIST runs): Fashion-MNIST's test files in a sub-folder of ``data_dir``
  (``fashion_mnist``, ``fashion-mnist``, ``FashionMNIST``) or a sibling folder of those names;
  ``data_dir`` itself only when the run's data set is not MNIST (MNIST's files have the same
  names: taking them for Fashion-MNIST would measure MNIST against itself).
The OOD set is loaded with the run's data, before training (:func:`load_ood`): a set that cannot
be found is reported then, and the run records ``final.ood = {"set", "auroc": null, "error"}``
beside its other results.
"""
from __future__ import annotations

import math
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from .. import data as D
from ..metrics import (TailMonitor, auroc, expected_calibration_error, generalization_gap,
                       gradient_effective_rank, gram_matrix, hessian_top_eigenvalue, hessian_trace,
                       max_softmax_scores, perplexity, probe_per_example, reliability_diagram)
from ..metrics import gradient_tails
from .config import RunConfig
from .evaluation import evaluate, fixed_indices, loss_acc, per_example_loss, predict
from .registry import get_task

PERTURBATIONS = {"gaussian": {"sigma": 0.3}, "blur": {"sigma": 1.0}, "contrast": {"factor": 0.4}}
OOD_SETS = ("permuted", "uniform", "mnist", "fashion_mnist")
#: The gradient-tail study's estimator on the norms and on |U| (pinned, not ``ahtga.tail.DEFAULT``).
STUDY_ESTIMATOR = "hill_lepski"


#: What :func:`pooled_summary` condenses (start, end, median over the measurements).
POOL_KEYS = ("norm_alpha", "norm_gof_p", "noise_mmo_alpha", "noise_alpha", "noise_gof_p")
#: Heavy-tailed: the default estimator's index below this and the power law not rejected.
HEAVY_ALPHA, GOF_LEVEL = 2.0, 0.1
#: Candidate x_min of the study's goodness-of-fit scans (``gof_test(exact_max=...)``).
GOF_EXACT_MAX = 250
#: Offset of the gradient-tail study's probe rows from the tail monitor's (``fixed_indices``).
_POOL_SEED = 3


def _flat(rec: dict, step: int, seconds: float) -> dict:
    """One flat JSON record of a :func:`~ahtga.metrics.gradient_tails` measurement."""
    nm, nz = rec["norms"], rec["noise"]
    out = {"step": int(step), "n_norms": nm["n"], "norm_median": nm["median"],
           "estimator": nm["estimates"][0]["estimator"], "norm_alpha": nm["estimates"][0]["alpha"],
           "norm_k": nm["estimates"][0]["k"], "n_noise": nz["n"], "noise_batch": nz["batch_size"],
           "noise_mmo_alpha": nz["estimates"][0]["alpha"], "noise_alpha": nz["estimates"][1]["alpha"],
           "noise_k": nz["estimates"][1]["k"]}
    gof_s = 0.0
    for part, g in (("norm", nm.get("gof")), ("noise", nz.get("gof"))):
        g = g or {}
        out[f"{part}_gof_p"] = g.get("p_value")
        out[f"{part}_gof_alpha"] = g.get("alpha")
        out[f"{part}_gof_light"] = g.get("light")
        gof_s += g.get("seconds", 0.0)
    out["gof_s"], out["seconds"] = gof_s, seconds
    return out


class PooledTails:
    """The gradient-tail study of one run (module docstring): its schedule and its measurements.
    Holds no state but the probe set; what it measured lives in ``curves["tail_pool"]``."""

    def __init__(self, cfg: RunConfig, model, data, seed: int, device, *, engine=None):
        self.cfg, self.model, self.seed, self.engine = cfg, model, int(seed), engine
        n = data.train_x.shape[0]
        idx = fixed_indices(n, cfg.tail_pool, seed + _POOL_SEED)
        self.x, self.y = data.train_x[idx].to(device), data.train_y[idx].to(device)
        total = get_task(cfg.task).steps_per_epoch(cfg, data) * cfg.epochs
        p = cfg.tail_pool_points
        self.total = total
        self.points = sorted({round(j * total / p) for j in range(1, p + 1)} - {0})

    def due(self, step: int) -> bool:
        return step in self.points

    def measure(self, step: int, *, last: bool = False) -> dict:
        cfg = self.cfg
        j = self.points.index(step) + 1 if step in self.points else 0
        every = cfg.tail_gof_every
        gof = cfg.tail_gof_boot if (last or (every and j % every == 0)) else None
        t0 = time.perf_counter()
        rec = gradient_tails(self.model, per_example_loss, self.x, self.y,
                             batch_size=min(cfg.batch_size, self.x.shape[0]),
                             n_batches=cfg.tail_noise_batches, estimators=(STUDY_ESTIMATOR,),
                             seed=1_000_003 * self.seed + int(step),
                             max_noise_samples=cfg.tail_noise_samples, gof_boot=gof,
                             gof_exact_max=GOF_EXACT_MAX,
                             engine=self.engine)
        return _flat(rec, step, time.perf_counter() - t0)


def pooled_summary(records: list[dict]) -> dict | None:
    """``final.tail_pool``: for each of :data:`POOL_KEYS` its value at the first and at the last
    measurement that has one (``_start``, ``_end``) and the median over all measurements that
    have one (``_median``); ``heavy_norm`` / ``heavy_noise``: at the last measurement, the
    default estimator's index on the norms / on |U| below 2 and the power-law fit not rejected
    (p >= 0.1; None without a test); ``n_norms``, ``n_noise``, ``noise_batch``, ``points``,
    ``seconds`` (all measurements) and ``gof_s`` (their goodness-of-fit tests)."""
    if not records:
        return None
    out: dict[str, Any] = {}
    for k in POOL_KEYS:
        vals = [r.get(k) for r in records if r.get(k) is not None]
        out[f"{k}_start"] = vals[0] if vals else None
        out[f"{k}_end"] = vals[-1] if vals else None
        out[f"{k}_median"] = float(statistics.median(vals)) if vals else None
    last = records[-1]
    for part, key in (("norm", "norm_alpha"), ("noise", "noise_alpha")):
        a, pv = last.get(key), last.get(f"{part}_gof_p")
        out[f"heavy_{part}"] = (None if a is None or pv is None
                                else bool(a < HEAVY_ALPHA and pv >= GOF_LEVEL))
    out.update({"n_norms": last.get("n_norms"), "n_noise": last.get("n_noise"),
                "noise_batch": last.get("noise_batch"), "estimator": last.get("estimator"),
                "points": len(records), "last_step": last["step"],
                "seconds": float(sum(r.get("seconds", 0.0) for r in records)),
                "gof_s": float(sum(r.get("gof_s", 0.0) for r in records))})
    return out


class EpochProbes:
    """Tail monitor, gradient-tail study and effective rank on fixed training batches (see the
    module docstring)."""

    def __init__(self, cfg: RunConfig, model, data, seed: int, device, *, engine=None):
        self.cfg, self.model, self.device, self.engine = cfg, model, device, engine
        n = data.train_x.shape[0]
        self.monitor = None
        if cfg.tail_every and n >= 16:
            idx = fixed_indices(n, cfg.tail_probe, seed)
            self.monitor = TailMonitor(model, per_example_loss,
                                       data.train_x[idx].to(device), data.train_y[idx].to(device),
                                       every=cfg.tail_every, estimator=cfg.tail_estimator, seed=seed,
                                       engine=engine)
        self.pool = None
        if cfg.tail_pool and n >= 16:
            self.pool = PooledTails(cfg, model, data, seed, device, engine=engine)
        self.rank_batch = None
        if cfg.dynamics and n >= 2:
            idx = fixed_indices(n, cfg.eff_rank_batch, seed + 1)
            self.rank_batch = (data.train_x[idx].to(device), data.train_y[idx].to(device))

    def _record(self, rec, curves):
        curves["tail"].append({k: rec[k] for k in ("step", "alpha", "k", "q50", "max")})

    def load_history(self, curves):
        if self.monitor is not None:
            self.monitor.history = list(curves["tail"])

    def at_start(self, curves):
        if self.monitor is not None:
            self._record(self.monitor.measure(0), curves)
        if self.pool is not None:
            curves.setdefault("tail_pool", []).append(self.pool.measure(0))
        curves.setdefault("eff_rank_start", self.effective_rank())

    def after_step(self, step: int, curves):
        if self.monitor is not None:
            rec = self.monitor.maybe_measure(step)
            if rec is not None:
                self._record(rec, curves)
        if self.pool is not None and self.pool.due(step):
            curves.setdefault("tail_pool", []).append(
                self.pool.measure(step, last=step == self.pool.total))

    def at_end(self, step: int, curves):
        if self.monitor is not None and (not curves["tail"] or curves["tail"][-1]["step"] != step):
            self._record(self.monitor.measure(step), curves)
        if self.pool is not None:
            recs = curves.setdefault("tail_pool", [])
            if not recs or recs[-1]["step"] != step:    # stopped early (diverged)
                recs.append(self.pool.measure(step, last=True))

    def effective_rank(self) -> float | None:
        if self.rank_batch is None:
            return None
        x, y = self.rank_batch
        _, grads = probe_per_example(self.model, per_example_loss, x, y, engine=self.engine,
                                     want_grads=True)
        return gradient_effective_rank(gram_matrix(grads))


def _logits(model, x, cfg, device):
    return predict(model, x, cfg.eval_batch_size, device)


def _corrupt(name: str, x: torch.Tensor, seed: int) -> torch.Tensor:

    o = PERTURBATIONS[name]
    if name == "gaussian":
        return D.gaussian_noise(x, o["sigma"], seed=seed)
    if name == "blur":
        return D.gaussian_blur(x, o["sigma"])
    return D.contrast(x, o["factor"])


def _ood_inputs(kind: str, cfg: RunConfig, data, seed: int) -> torch.Tensor:
    raw = data.raw_test_x
    if kind == "permuted":
        flat = raw.reshape(raw.shape[0], -1)
        perm = torch.randperm(flat.shape[1], generator=torch.Generator().manual_seed(0))
        return flat[:, perm].reshape(raw.shape)
    if kind == "uniform":
        g = torch.Generator().manual_seed(seed)
        lo, hi = float(raw.min()), float(raw.max())
        return lo + (hi - lo) * torch.rand(raw.shape, generator=g)
    if kind == "mnist":
        m = D.load_mnist(cfg.data_dir, "test").x.float()
        if m.dim() == 3:
            m = m[:, None]
        m = F.adaptive_avg_pool2d(m, raw.shape[-2:])
        m = m / m.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12) * float(raw.max())
        return m.reshape(m.shape[0], *raw.shape[1:])
    if kind == "fashion_mnist":
        f = D.load_fashion_mnist(_fashion_root(cfg), "test", verify=cfg.verify_checksums).x.float()
        return f.reshape(f.shape[0], *raw.shape[1:])
    raise ValueError(f"`ood` must be one of {list(OOD_SETS)} or empty; got ood={kind!r}")


_FASHION_DIRS = ("fashion_mnist", "fashion-mnist", "FashionMNIST")


def _fashion_root(cfg: RunConfig) -> Path:
    """The folder holding Fashion-MNIST's test files (see the module docstring)."""
    if not cfg.data_dir:
        raise FileNotFoundError("OOD set 'fashion_mnist' not found: no `data_dir` given")
    root = Path(cfg.data_dir).expanduser()
    cands = [root / d for d in _FASHION_DIRS] + [root.parent / d for d in _FASHION_DIRS]
    if cfg.dataset != "mnist":
        cands.insert(0, root)
    names = ("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte")
    for c in cands:
        for sub in ("", "raw"):
            if any((c / sub / n).is_file() for n in names):
                return c / sub
    raise FileNotFoundError(
        f"OOD set 'fashion_mnist' not found: no t10k-images-idx3-ubyte[.gz] in "
        f"{', '.join(str(c) for c in cands)}" + (" (data_dir itself holds MNIST's files of the same "
                                                 "names)" if cfg.dataset == "mnist" else ""))


def load_ood(cfg: RunConfig, data, seed: int) -> None:
    """Load the OOD inputs named by ``cfg.ood`` into ``data.ood_raw`` (raw, before
    standardisation) and record ``data.info["ood"]``; when the set cannot be found or read,
    warn now and leave ``data.ood_error`` (the reason) for :func:`final_classification`."""
    if cfg.ood not in OOD_SETS:
        raise ValueError(f"`ood` must be one of {list(OOD_SETS)} or empty; got ood={cfg.ood!r}")
    data.ood_raw, data.ood_error = None, None
    try:
        data.ood_raw = _ood_inputs(cfg.ood, cfg, data, seed)
        data.info["ood"] = {"set": cfg.ood, "n": int(data.ood_raw.shape[0])}
    except (OSError, ValueError) as e:     # missing files, checksum mismatch, unreadable file
        data.ood_error = f"{type(e).__name__}: {e}"
        data.info["ood"] = {"set": cfg.ood, "error": data.ood_error}
        warnings.warn(f"ood={cfg.ood!r}: {e}; the run records its other results and "
                      "final.ood.auroc = null", RuntimeWarning, stacklevel=2)


def final_classification(cfg: RunConfig, model, data, device, *, seed: int, curves: dict,
                         engine=None) -> dict[str, Any]:
    """The end-of-run metrics of a classification run (module docstring); ``engine``: a
    per-example engine hooked on the model (AHTGA's), released after the Hessian probes'
    forward passes."""
    out: dict[str, Any] = {}
    tr_logits = _logits(model, data.train_x, cfg, device)
    out["train_loss"], out["train_acc"] = loss_acc(tr_logits, data.train_y)
    if cfg.label_noise > 0:
        out["train_loss_clean"], out["train_acc_clean"] = loss_acc(tr_logits, data.train_y_clean)
    out["val_loss"], out["val_acc"] = loss_acc(_logits(model, data.val_x, cfg, device), data.val_y)
    te_logits = _logits(model, data.test_x, cfg, device)
    out["test_loss"], out["test_acc"] = loss_acc(te_logits, data.test_y)
    ok = all(v is not None for v in (out["train_loss"], out["test_loss"]))
    out["gen_gap_loss"] = generalization_gap(out["train_loss"], out["test_loss"]) if ok else None
    out["gen_gap_acc"] = generalization_gap(out["train_acc"], out["test_acc"], kind="accuracy")
    if bool(torch.isfinite(te_logits).all()):
        out["ece"] = expected_calibration_error(te_logits, data.test_y, n_bins=cfg.calibration_bins,
                                                from_logits=True)
        out["reliability"] = reliability_diagram(te_logits, data.test_y, n_bins=cfg.calibration_bins,
                                                 from_logits=True)
    else:
        out["ece"], out["reliability"] = None, None
    if cfg.perturbations:
        out["perturbations"] = {}
        for name in cfg.perturbations:
            if name not in PERTURBATIONS:
                raise ValueError(f"`perturbations` entries must be in {sorted(PERTURBATIONS)}; got {name!r}")
            xc = data.standardise(_corrupt(name, data.raw_test_x, seed))
            l, a = loss_acc(_logits(model, xc, cfg, device), data.test_y)
            out["perturbations"][name] = {"test_loss": l, "test_acc": a, **PERTURBATIONS[name]}
    if cfg.ood and getattr(data, "ood_raw", None) is None:
        out["ood"] = {"set": cfg.ood, "auroc": None,
                      "error": getattr(data, "ood_error", None) or "OOD set not loaded"}
    elif cfg.ood:
        xo = data.standardise(data.ood_raw)
        s_in = max_softmax_scores(te_logits)
        s_out = max_softmax_scores(_logits(model, xo, cfg, device))
        out["ood"] = {"set": cfg.ood, "auroc": auroc(s_in, s_out), "n_in": int(s_in.numel()),
                      "n_out": int(s_out.numel()), "msp_in_mean": float(s_in.mean()),
                      "msp_out_mean": float(s_out.mean())}
    if cfg.tail_pool:
        out["tail_pool"] = pooled_summary(curves.get("tail_pool", []))
    if cfg.dynamics:
        _end_dynamics(out, cfg, model, data, device, seed, engine, curves)
    return out


def _sharpness(cfg, model, data, device, seed) -> dict:
    idx = fixed_indices(data.train_x.shape[0], cfg.hessian_batch, seed + 2)
    x, y = data.train_x[idx].to(device), data.train_y[idx].to(device)
    was = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    f = lambda: per_example_loss(model(x), y).mean()  # noqa: E731
    try:  # the math attention kernel has a double backward (the fused ones do not)
        with sdpa_kernel(SDPBackend.MATH):
            top = hessian_top_eigenvalue(f, params, iters=cfg.hessian_iters, tol=1e-3, seed=seed)
            tr = hessian_trace(f, params, samples=cfg.hutchinson_samples, seed=seed)
    finally:
        model.train(was)
    bad = not (math.isfinite(top["eigenvalue"]) and math.isfinite(tr["trace"]))
    return {"hessian_top": None if bad else top["eigenvalue"], "hessian_top_iters": top["iterations"],
            "hessian_top_converged": top["converged"], "hessian_trace": None if bad else tr["trace"],
            "hessian_trace_stderr": tr["stderr"], "hessian_batch": int(x.shape[0])}


def final_lm(cfg, model, data, device, *, seed, curves, engine) -> dict[str, Any]:
    """Language models: mean token NLL, next-token accuracy and perplexity exp(NLL) on each
    split, the generalization gap of the NLL; the dynamics probes as for classification."""

    out: dict[str, Any] = {}
    for split, x, y in (("train", data.train_x, data.train_y), ("val", data.val_x, data.val_y),
                        ("test", data.test_x, data.test_y)):
        l, a = evaluate(model, x, y, cfg.eval_batch_size, device)
        out[f"{split}_loss"], out[f"{split}_acc"] = l, a
        out[f"{split}_ppl"] = perplexity(l) if l is not None else None
    ok = out["train_loss"] is not None and out["test_loss"] is not None
    out["gen_gap_loss"] = generalization_gap(out["train_loss"], out["test_loss"]) if ok else None
    if cfg.tail_pool:
        out["tail_pool"] = pooled_summary(curves.get("tail_pool", []))
    if cfg.dynamics:
        _end_dynamics(out, cfg, model, data, device, seed, engine, curves)
    return out


def _end_dynamics(out: dict, cfg, model, data, device, seed, engine, curves) -> None:
    """Hessian top eigenvalue and trace at the end of training (the engine's stored tensors are
    released even if they fail) and the last effective rank of the per-example gradients."""
    try:
        out.update(_sharpness(cfg, model, data, device, seed))
    finally:
        if engine is not None:
            engine.release()
    out["eff_rank_final"] = curves["epoch"]["eff_rank"][-1] if curves["epoch"]["eff_rank"] else None
