"""Task ``glue``: GLUE text classification (SST-2, MRPC, RTE) from the official TSV files.

Data, splits and tokenisation: :mod:`ahtga.experiments.glue` (``test_*`` = the official dev
split; every run needs ``--data-dir``).  Inputs are packed ``[N, 3, max_len]`` (ids, segments,
mask), so batching, monitors, evaluation and the classification end-of-run metrics are those of
``classification``; corruptions, OOD sets and image augmentation are refused.

Models.
* Default: :class:`ahtga.models.BertClassifier` trained from scratch (``model="bert"``,
  ``model_kwargs`` for its size; ``vocab_size`` and ``max_len`` are filled in).  It is made of
  ``nn.Embedding``, ``nn.LayerNorm`` and ``nn.Linear`` only, every one called with the batch in
  dim 0, so AHTGA's per-example gradients go through the engine's fast rules (``mode="fast"``);
  the padding mask only changes the forward pass, the per-example gradients stay exact (checked
  against ``torch.func`` in the tests).
* ``hf_model=NAME`` (needs the optional ``transformers`` package): ``NAME`` (a Hugging Face model
  name or a local folder written by ``save_pretrained``) is loaded with
  ``AutoModelForSequenceClassification.from_pretrained`` and fine-tuned (``model`` becomes
  ``hf_classifier``; ``model_kwargs`` go to ``from_pretrained``).  :class:`HFInputs` passes
  explicit ``position_ids`` ``arange(T)`` expanded to ``[B, T]`` for models with absolute
  positions (BERT's family): the default ``[1, T]`` position table would put a batch of 1 in dim 0
  of the position embedding, which the fast engine refuses.  Measured (tiny BERT config,
  transformers 5.24.0): with expanded positions the fast engine's per-example gradients match
  ``torch.func``'s to 3e-7 relative error, but its first-step verification (per-example
  gradients must sum to the batch gradient, to a relative 1e-3 with no absolute floor) fails on
  the attention *key* biases, whose gradient is identically zero (softmax is invariant to adding
  ``q . b_k`` to every score of a query): both sides are rounding noise of norm ~1e-12.  So GLUE
  runs with ``hf_model`` set default AHTGA to ``mode="reference"`` (:func:`adjust`; recorded in
  the config's ``ahtga_kwargs``).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from ...models import build_model
from .. import glue as G
from ..registry import register_task
from .classification import Classification

#: ``model_type`` of Hugging Face models whose positions are ``arange(T)`` (passed expanded).
ABSOLUTE_POSITION_TYPES = ("bert", "electra", "albert", "ernie", "megatron-bert", "roformer")


def adjust(cfg, overrides: dict | None = None):
    """Defaults that follow from ``hf_model`` (called by ``presets.resolve`` last): with a
    pretrained model the model is ``hf_classifier`` (``model_kwargs`` only as given in
    ``overrides``, for ``from_pretrained``) and AHTGA uses ``mode="reference"`` unless
    ``ahtga_kwargs`` names a mode (see the module docstring for why)."""
    if cfg.task != "glue" or not cfg.hf_model:
        return cfg
    ov = overrides or {}
    ak = dict(cfg.ahtga_kwargs)
    ak.setdefault("mode", "reference")
    return dataclasses.replace(cfg, model="hf_classifier", model_kwargs=dict(ov.get("model_kwargs", {})),
                               ahtga_kwargs=ak)


class PackedInputs(nn.Module):
    """``x [B, 3, T]`` (ids, segments, mask) -> ``model(ids, segments, mask)``; the wrapped model
    is ``self.model`` (parameter names gain a ``model.`` prefix)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[1] != 3:
            raise ValueError(f"`x` must be packed GLUE inputs of shape [B, 3, T]; got shape {tuple(x.shape)}")
        return self.model(x[:, 0], x[:, 1], x[:, 2])


class HFInputs(nn.Module):
    """A Hugging Face sequence classifier on packed inputs (``model`` = the ``transformers``
    module): explicit ``[B, T]`` ``position_ids`` for absolute-position models (see the module
    docstring), ``token_type_ids`` only where the model has more than one segment type."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        c = model.config
        self.positions = getattr(c, "model_type", "") in ABSOLUTE_POSITION_TYPES
        self.segments = int(getattr(c, "type_vocab_size", 1) or 1) > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids, seg, mask = x[:, 0], x[:, 1], x[:, 2]
        kw = {"attention_mask": mask}
        if self.segments:
            kw["token_type_ids"] = seg
        if self.positions:
            kw["position_ids"] = torch.arange(ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
        return self.model(input_ids=ids, **kw).logits


def build(cfg, data) -> nn.Module:
    """The model of a GLUE run on packed inputs (see the module docstring)."""
    if cfg.hf_model:
        from ...models.hf import build_hf_classifier
        hf = build_hf_classifier(cfg.hf_model, data.num_classes, **cfg.model_kwargs)
        return HFInputs(hf.model)
    o = G.options(cfg)
    kw: dict[str, Any] = {"vocab_size": int(data.info["vocab_size"]), "num_classes": data.num_classes,
                          "max_len": o["max_len"]}
    kw.update(cfg.model_kwargs)
    return PackedInputs(build_model(cfg.model, **kw))


@register_task("glue")
class Glue(Classification):
    def adjust(self, cfg, overrides):
        return adjust(cfg, overrides)

    def check(self, cfg) -> None:
        G.check(cfg)

    def prepare(self, cfg, seed: int):
        return G.prepare(cfg, seed)

    def build_model(self, cfg, data):
        return build(cfg, data)
