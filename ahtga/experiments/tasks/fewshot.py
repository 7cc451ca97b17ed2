"""Task ``fewshot``: episodic training (Prototypical Networks, first-order MAML) in the one loop.

Data, per-query losses and metrics: :mod:`ahtga.experiments.fewshot` (an example is a query of an
episode).  A step takes ``meta_batch`` training episodes drawn from the run's generator; an
epoch is ``episodes_per_epoch / meta_batch`` steps.  AHTGA needs ``ahtga_kwargs`` ``mode="rows"``
(ProtoNet: every query gets its own copy of the support rows and
:class:`ahtga.engine.RowGroupEngine` sums their fast-rule gradients per query) or
``mode="reference"`` (batched autograd; FOMAML): a query's loss depends on the support rows, so
the plain per-layer rules do not apply and are refused.  Every epoch evaluates the fixed
validation episodes; the test episodes are evaluated once, at the end.  One process only (no
torchrun); no tail monitor (its probe batch is not a set of episodes).
"""
from __future__ import annotations

from typing import Any

from ...data import ArrayDataset, Episode, EpisodeSampler
from ...engine.grouped import RowGroupEngine
from ...models import build_model
from .. import fewshot as FS
from ..optimizers import optimizer_kwargs, resolve_optimizer
from ..registry import Task, register_task
from .classification import model_takes


def _to(ep, device):
    if device.type == "cpu":
        return ep
    return Episode(ep.support_x.to(device), ep.support_y.to(device), ep.query_x.to(device),
                   ep.query_y.to(device), ep.classes)


@register_task("fewshot")
class Fewshot(Task):
    distributed = False
    epoch_keys = ("train_acc",)

    def check(self, cfg) -> None:
        FS.options(cfg)
        if cfg.eval_every != 1:
            raise ValueError("`eval_every` applies to task='classification', 'lm' and 'glue' (few-shot "
                             f"runs validate on episodes every epoch); got eval_every={cfg.eval_every!r} "
                             "with task='fewshot'")

    def prepare(self, cfg, seed: int):
        return FS.prepare(cfg, seed)

    def build_model(self, cfg, data):
        """``protonet`` (default backbone Conv-4) for ``method=protonet``; for ``fomaml`` any
        classifier taking ``num_classes`` (a ``ways``-way head).  ``in_channels`` and
        ``image_size`` are filled in; ``model_kwargs`` win."""
        o = data.opts
        kw: dict[str, Any] = {"in_channels": data.input_shape[0]}
        if cfg.model in ("protonet", "conv4") or model_takes(cfg.model, "image_size"):
            kw["image_size"] = data.input_shape[-1]
        if o["method"] == "fomaml":
            if cfg.model == "protonet":
                raise ValueError("`model` must be a classifier (e.g. conv4) for fewshot.method=fomaml; "
                                 "got model='protonet'")
            kw["num_classes"] = o["ways"]
        elif cfg.model != "protonet":
            raise ValueError(f"`model` must be 'protonet' for fewshot.method=protonet; got model={cfg.model!r}")
        kw.update(cfg.model_kwargs)
        return build_model(cfg.model, **kw)

    def check_optimizer(self, cfg, label: str) -> None:
        self._rows_mode(cfg, label)

    def optimizer_extras(self, cfg, label: str, model) -> dict:
        return {"engine": RowGroupEngine(model), "mode": "fast"} if self._rows_mode(cfg, label) else {}

    def _rows_mode(self, cfg, label: str) -> bool:
        """Whether AHTGA runs on the row-group engine (refusing modes episodes cannot use)."""
        if resolve_optimizer(label)[0] != "ahtga":
            return False
        mode = optimizer_kwargs(cfg, label).get("mode", "fast")
        if mode not in ("reference", "rows"):
            raise ValueError("AHTGA on episodes needs `ahtga_kwargs` mode='rows' or 'reference' (a "
                             "query's loss depends on the support rows, so the plain fast per-layer "
                             f"rules do not apply); got mode={mode!r}")
        method = FS.options(cfg)["method"]
        if mode == "rows" and method != "protonet":
            raise ValueError("AHTGA mode='rows' is implemented for fewshot.method='protonet'; "
                             f"got method={method!r} (use mode='reference')")
        return mode == "rows"

    def to_device(self, data, device):
        if device.type == "cpu":
            return data

        def mv(d):
            return None if d is None else ArrayDataset(d.x.to(device), d.y.to(device))
        runs = data.oneshot_runs
        if runs:
            for r in runs:
                r.support, r.support_y = r.support.to(device), r.support_y.to(device)
                r.query, r.query_y = r.query.to(device), r.query_y.to(device)
        return FS.FewshotData(mv(data.train), mv(data.val), mv(data.test), data.opts, data.info, runs)

    def steps_per_epoch(self, cfg, data) -> int:
        return data.opts["episodes_per_epoch"] // data.opts["meta_batch"]

    def batches(self, cfg, data, gen, device):
        o = data.opts
        sampler = EpisodeSampler(data.train, ways=o["ways"], shots=o["shots"], queries=o["queries"],
                                 episodes=1)
        for _ in range(self.steps_per_epoch(cfg, data)):
            yield [_to(sampler.sample(gen), device) for _ in range(o["meta_batch"])], o

    def losses(self, model, batch, opt):
        episodes, o = batch
        engine = getattr(opt, "engine", None)
        if isinstance(engine, RowGroupEngine):
            losses, correct, row_losses, groups = FS.protonet_rows(model, episodes)
            engine.set_rows(row_losses, groups)
        else:
            losses, correct = FS.episode_losses(model, episodes, o)
        return losses, {"train_acc": float(correct.mean())}

    def eval_due(self, cfg, epoch: int) -> bool:
        return True

    def evaluate(self, cfg, model, data, device, probes, epoch: int) -> dict:
        o = data.opts
        if data.val is None:
            return {}
        v = FS.evaluate_episodes(model, data.val, o, shots=o["shots"], episodes=o["val_episodes"],
                                 seed=FS.VAL_SEED + o["shots"])
        return {"val_loss": v["loss"], "val_acc": v["acc"]}

    def final_metrics(self, cfg, model, data, device, *, seed, curves, engine) -> dict:
        return FS.final_metrics(cfg, model, data, curves)
