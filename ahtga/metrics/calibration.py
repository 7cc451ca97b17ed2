"""Expected calibration error (ECE) and the data of a reliability diagram.

With the confidence of example i the largest softmax probability ``conf_i = max_c p_ic`` and
its prediction ``yhat_i = argmax_c p_ic``, the unit interval is cut into M equal-width bins
``B_1 = [0, 1/M], B_m = ((m-1)/M, m/M]`` for m = 2..M (every bin right-closed; the left end of the
first is closed so a confidence of exactly 0 is counted).  Then

    ECE = sum_m (|B_m| / n) |acc(B_m) - conf(B_m)|,

``acc(B_m)`` the fraction of correct predictions and ``conf(B_m)`` the mean confidence in the
bin; empty bins contribute nothing.  M = 15 is the default, as in Guo, Pleiss, Sun and
Weinberger (2017), "On Calibration of Modern Neural Networks", ICML (their Eq. 3; the estimator
goes back to Naeini, Cooper and Hauskrecht 2015, AAAI).  A confidence lying exactly on a bin
edge m/M belongs to the bin whose right end it is.  Ties in the arg-max go to the first index.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_int


def _confidences(probs, labels, *, from_logits: bool):
    p = as_tensor("probs", probs, dtype=torch.float64)
    if p.dim() != 2 or p.shape[0] == 0:
        raise ValueError(f"`probs` must have shape [N, C] with N >= 1; got shape {tuple(p.shape)}")
    if from_logits:
        p = torch.softmax(p, dim=1)
    elif bool((p < 0).any()) or bool(((p.sum(1) - 1).abs() > 1e-6).any()):
        raise ValueError("`probs` must be probability rows (non-negative, summing to 1); "
                         "pass from_logits=True for unnormalised scores")
    y = torch.as_tensor(labels)
    if y.dim() != 1 or y.shape[0] != p.shape[0] or y.is_floating_point():
        raise ValueError(f"`labels` must be integer class indices of shape [{p.shape[0]}]; "
                         f"got shape {tuple(y.shape)} dtype {y.dtype}")
    conf, pred = p.max(dim=1)
    correct = (pred == y.to(p.device).long()).double()
    return conf, correct


def _bin_index(conf: torch.Tensor, n_bins: int) -> torch.Tensor:
    # right-closed bins: ceil(conf * M) - 1, with conf = 0 going to bin 0
    idx = torch.ceil(conf * n_bins).long() - 1
    return idx.clamp_(0, n_bins - 1)


def reliability_diagram(probs, labels, *, n_bins: int = 15, from_logits: bool = False) -> dict:
    """Per-bin data of a reliability diagram (see the module docstring for the bins).

    Returns a dict of lists, one entry per bin: ``lower``, ``upper``, ``count``, ``accuracy`` and
    ``confidence`` (``None`` for an empty bin), plus ``n`` and ``n_bins``; JSON-serialisable.
    """
    n_bins = check_int("n_bins", n_bins, min_value=1)
    conf, correct = _confidences(probs, labels, from_logits=from_logits)
    idx = _bin_index(conf, n_bins)
    count = torch.bincount(idx, minlength=n_bins).double()
    acc_sum = torch.bincount(idx, weights=correct, minlength=n_bins)
    conf_sum = torch.bincount(idx, weights=conf, minlength=n_bins)
    out = {"n": int(conf.numel()), "n_bins": n_bins, "lower": [], "upper": [], "count": [],
           "accuracy": [], "confidence": []}
    for m in range(n_bins):
        c = int(count[m])
        out["lower"].append(m / n_bins)
        out["upper"].append((m + 1) / n_bins)
        out["count"].append(c)
        out["accuracy"].append(float(acc_sum[m] / c) if c else None)
        out["confidence"].append(float(conf_sum[m] / c) if c else None)
    return out


def expected_calibration_error(probs, labels, *, n_bins: int = 15, from_logits: bool = False) -> float:
    """ECE with ``n_bins`` equal-width confidence bins (default 15); see the module docstring.

    ``probs``: ``[N, C]`` probabilities (or logits with ``from_logits=True``); ``labels``: ``[N]``.
    """
    d = reliability_diagram(probs, labels, n_bins=n_bins, from_logits=from_logits)
    n = d["n"]
    return float(sum(c / n * abs(a - f) for c, a, f in zip(d["count"], d["accuracy"], d["confidence"])
                     if c))
