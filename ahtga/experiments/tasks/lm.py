"""Task ``lm``: next-token language modelling on a corpus (PTB, WikiText-2, tiny-shakespeare).

Data: the corpus's train/valid/test token streams cut into non-overlapping sequences of
``seq_len`` tokens (:func:`ahtga.experiments._data.prepare_lm`).  An example is a sequence and
its loss the mean token loss (stateless truncated BPTT, so per-example gradients are defined per
sequence); batching, monitors and evaluation are those of ``classification``.  The end-of-run
metrics are mean token NLL, next-token accuracy and perplexity per split
(``studies.final_lm``); no calibration, corruptions or OOD.
"""
from __future__ import annotations

from typing import Any

from ...models import build_model
from .. import studies
from .._data import prepare_lm
from ..registry import register_task
from .classification import Classification


@register_task("lm")
class LanguageModel(Classification):
    def check(self, cfg) -> None:
        if cfg.perturbations or cfg.ood:
            raise ValueError("`perturbations` and `ood` are image evaluations and do not apply to "
                             f"task='lm'; got perturbations={tuple(cfg.perturbations)!r}, ood={cfg.ood!r}")

    def prepare(self, cfg, seed: int):
        return prepare_lm(cfg, seed)

    def build_model(self, cfg, data):
        """``vocab_size`` (and the Transformer's ``max_len``) filled in; ``model_kwargs`` win."""
        kw: dict[str, Any] = {"vocab_size": data.num_classes}
        if cfg.model == "transformer_lm":
            kw["max_len"] = max(cfg.seq_len, 256)
        kw.update(cfg.model_kwargs)
        return build_model(cfg.model, **kw)

    def final_metrics(self, cfg, model, data, device, *, seed, curves, engine) -> dict:
        return studies.final_lm(cfg, model, data, device, seed=seed, curves=curves, engine=engine)
