"""Accuracy, negative log-likelihood, perplexity and the generalization gap.

Conventions: ``logits`` is ``[N, C]`` (unnormalised scores), ``labels`` is ``[N]`` of integer
class indices in ``[0, C)``.  Perplexity is ``exp`` of the mean per-token negative
log-likelihood in nats (Jelinek et al. 1977; the language-modelling convention of Mikolov's PTB
results): ``PPL = exp((1/T) sum_t -log p(w_t | w_<t))``.
"""
from __future__ import annotations

import math

import torch

from .._validation import as_tensor


def _check_logits_labels(logits, labels) -> tuple[torch.Tensor, torch.Tensor]:
    logits = as_tensor("logits", logits)
    if logits.dim() != 2:
        raise ValueError(f"`logits` must have shape [N, C]; got shape {tuple(logits.shape)}")
    labels = torch.as_tensor(labels)
    if labels.dim() != 1 or labels.shape[0] != logits.shape[0]:
        raise ValueError(f"`labels` must have shape [N] with N={logits.shape[0]}; "
                         f"got shape {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"`labels` must hold integer class indices; got dtype {labels.dtype}")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= logits.shape[1]):
        raise ValueError(f"`labels` must lie in [0, {logits.shape[1]}); got min={int(labels.min())}"
                         f", max={int(labels.max())}")
    if logits.shape[0] == 0:
        raise ValueError("`logits` must hold at least one example; got N=0")
    return logits, labels.to(logits.device).long()


def accuracy(logits, labels) -> float:
    """Fraction of rows whose arg-max equals the label (ties: the first maximal index)."""
    logits, labels = _check_logits_labels(logits, labels)
    return float((logits.argmax(dim=1) == labels).double().mean())


def nll(logits, labels) -> float:
    """Mean negative log-likelihood (cross-entropy, nats) of the labels under softmax(logits)."""
    logits, labels = _check_logits_labels(logits, labels)
    return float(torch.nn.functional.cross_entropy(logits.double(), labels))


def perplexity(mean_nll: float) -> float:
    """``exp(mean_nll)`` for a mean per-token NLL in nats; ``inf`` when it overflows."""
    v = float(mean_nll)
    if math.isnan(v) or v < 0:
        raise ValueError(f"`mean_nll` must be a non-negative number of nats; got mean_nll={mean_nll!r}")
    return math.exp(v) if v < 709.0 else math.inf


def generalization_gap(train_value: float, test_value: float, *, kind: str = "loss") -> float:
    """Generalization gap: ``test - train`` for a loss, ``train - test`` for an accuracy.

    Positive means the model does worse on held-out data, whichever ``kind`` is given.
    """
    if kind not in ("loss", "accuracy"):
        raise ValueError(f"`kind` must be one of ['accuracy', 'loss']; got kind={kind!r}")
    a, b = float(train_value), float(test_value)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"`train_value` and `test_value` must be finite; got {a!r}, {b!r}")
    return b - a if kind == "loss" else a - b
