"""Optional path to pretrained Hugging Face ``transformers`` sequence classifiers (BERT-Base for
GLUE). ``transformers`` is imported only when a function here is called.

:class:`HFClassifier` wraps ``AutoModelForSequenceClassification`` with the call signature of
:class:`ahtga.models.BertClassifier` (``input_ids, segment_ids, attention_mask -> logits``), so the
runner treats both alike. The token ids must come from the pretrained model's own tokenizer
(``transformers.AutoTokenizer``), not from :class:`ahtga.data.BasicTokenizer`.
"""
from __future__ import annotations

import torch
from torch import nn


def require_transformers():
    try:
        import transformers
    except ImportError as e:
        raise ImportError("this model needs the optional `transformers` package: `pip install transformers`") from e
    return transformers


class HFClassifier(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, segment_ids=None, attention_mask=None) -> torch.Tensor:
        return self.model(input_ids=input_ids, token_type_ids=segment_ids, attention_mask=attention_mask).logits


def build_hf_classifier(pretrained: str | None = None, num_classes: int = 2, *, config=None, **kwargs) -> HFClassifier:
    """A classifier from ``pretrained`` (a model name or local folder, loaded with
    ``from_pretrained``) or, with ``config`` (a ``transformers.PretrainedConfig``), randomly
    initialised from that configuration (used by the tests with a tiny BERT config)."""
    tf = require_transformers()
    if (pretrained is None) == (config is None):
        raise ValueError(f"pass exactly one of `pretrained` or `config`; got pretrained={pretrained!r}, "
                         f"config={'given' if config is not None else None}")
    if config is not None:
        config.num_labels = num_classes
        m = tf.AutoModelForSequenceClassification.from_config(config)
    else:
        m = tf.AutoModelForSequenceClassification.from_pretrained(pretrained, num_labels=num_classes, **kwargs)
    return HFClassifier(m)


def tiny_bert_config(vocab_size: int = 100, **overrides):
    """A tiny ``BertConfig`` (2 layers, 32 hidden, 2 heads) for tests without downloads."""
    tf = require_transformers()
    cfg = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
               intermediate_size=64, max_position_embeddings=64)
    cfg.update(overrides)
    return tf.BertConfig(**cfg)
