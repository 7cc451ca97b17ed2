"""Task ``classification``: supervised classification of arrays (images or features).

Data: :func:`ahtga.experiments._data.prepare` (splits, low-data subsets, label noise,
standardisation) plus the OOD set named by ``ood`` (:func:`ahtga.experiments.studies.load_ood`),
both before training.  A step: ``batch_size`` examples of a seeded permutation of the training
set (the last partial batch dropped, so every tail estimate sees the same batch size),
optionally augmented (``augment``), sharded across ranks under torchrun; an example's loss is
its cross-entropy.  Monitors: ``studies.EpochProbes`` (tail monitor, effective rank).  An
evaluation epoch measures validation and test loss/accuracy (and the effective rank under
``dynamics``); the end-of-run metrics are ``studies.final_classification``.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import torch

from ...data import random_crop_flip
from ...models import MODELS, build_model
from .. import distributed as dist_
from .. import evaluation, studies
from .._data import prepare as prepare_arrays
from ..registry import Task, register_task


def model_takes(model: str, arg: str) -> bool:
    factory = MODELS.get(model)
    try:
        return factory is not None and arg in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False


@register_task("classification")
class Classification(Task):
    def check(self, cfg) -> None:
        for name in cfg.perturbations:
            if name not in studies.PERTURBATIONS:
                raise ValueError(f"`perturbations` entries must be in {sorted(studies.PERTURBATIONS)}; "
                                 f"got {name!r}")
        if cfg.ood and cfg.ood not in studies.OOD_SETS:
            raise ValueError(f"`ood` must be one of {list(studies.OOD_SETS)} or empty; got ood={cfg.ood!r}")

    def prepare(self, cfg, seed: int):
        data = prepare_arrays(cfg, seed)
        if cfg.ood:
            studies.load_ood(cfg, data, seed)
        return data

    def build_model(self, cfg, data):
        """``build_model(cfg.model, ...)`` with the data's shape filled in: ``mlp`` gets
        ``in_features``; image models ``in_channels`` and, where they take it, ``image_size``;
        all ``num_classes``.  ``model_kwargs`` win."""
        shape = data.input_shape
        kw: dict[str, Any] = {"num_classes": data.num_classes}
        if cfg.model == "mlp":
            kw["in_features"] = math.prod(shape)
        elif len(shape) == 3:
            kw["in_channels"] = shape[0]
            if model_takes(cfg.model, "image_size"):
                kw["image_size"] = tuple(shape[1:])
        kw.update(cfg.model_kwargs)
        return build_model(cfg.model, **kw)

    def to_device(self, data, device):
        # small data sets fit on the accelerator: no per-step copies (evaluation streams batches)
        data.train_on_device = ((data.train_x, data.train_y) if device.type == "cpu"
                                else (data.train_x.to(device), data.train_y.to(device)))
        return data

    def steps_per_epoch(self, cfg, data) -> int:
        return data.train_x.shape[0] // min(cfg.batch_size, data.train_x.shape[0])

    def batches(self, cfg, data, gen, device):
        x_all, y_all = getattr(data, "train_on_device", None) or (data.train_x, data.train_y)
        n = x_all.shape[0]
        bs = min(cfg.batch_size, n)
        perm = torch.randperm(n, generator=gen)
        augment = random_crop_flip if cfg.augment == "crop_flip" else None
        for b in range(n // bs):
            idx = perm[b * bs:(b + 1) * bs].to(x_all.device)
            xb, yb = x_all[idx], y_all[idx]
            if augment is not None:
                xb = augment(xb, generator=gen)  # CPU generator: same draws on any device
            if dist_.is_distributed():  # this rank's slice of the (augmented) global batch
                xb, yb = dist_.shard(xb), dist_.shard(yb)
            yield xb, yb

    def losses(self, model, batch, opt):
        xb, yb = batch
        return evaluation.per_example_loss(model(xb), yb), {}

    def probes(self, cfg, model, data, seed, device, engine):
        return studies.EpochProbes(cfg, model, data, seed, device, engine=engine)

    def evaluate(self, cfg, model, data, device, probes, epoch: int) -> dict:
        vl, va = evaluation.evaluate(model, data.val_x, data.val_y, cfg.eval_batch_size, device)
        tl, ta = evaluation.evaluate(model, data.test_x, data.test_y, cfg.eval_batch_size, device)
        return {"val_loss": vl, "val_acc": va, "test_loss": tl, "test_acc": ta,
                "eff_rank": probes.effective_rank()}

    def final_metrics(self, cfg, model, data, device, *, seed, curves, engine) -> dict:
        return studies.final_classification(cfg, model, data, device, seed=seed, curves=curves,
                                            engine=engine)
