"""Out-of-distribution detection by maximum softmax probability (Hendrycks and Gimpel 2017,
"A Baseline for Detecting Misclassified and Out-of-Distribution Examples", ICLR).

The score of an input is ``max_c softmax(logits)_c``; in-distribution inputs should score
higher.  :func:`auroc` is the area under the ROC curve of separating in- from
out-of-distribution by that score, computed as the Mann-Whitney statistic
``P(s_in > s_out) + 0.5 P(s_in = s_out)`` (ties count one half), 0.5 for chance.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor


def max_softmax_scores(logits) -> torch.Tensor:
    """``max_c softmax(logits)_c`` per row of ``[N, C]`` logits."""
    z = as_tensor("logits", logits)
    if z.dim() != 2:
        raise ValueError(f"`logits` must have shape [N, C]; got shape {tuple(z.shape)}")
    return torch.softmax(z, dim=1).max(dim=1).values


def auroc(scores_in, scores_out) -> float:
    """Area under the ROC curve for "in-distribution scores higher" (ties count 1/2).

    Uses mid-ranks of the pooled scores: ``(R_in - n_in (n_in + 1) / 2) / (n_in n_out)``.
    """
    a = as_tensor("scores_in", scores_in, dtype=torch.float64).reshape(-1)
    b = as_tensor("scores_out", scores_out, dtype=torch.float64).reshape(-1)
    if a.numel() == 0 or b.numel() == 0:
        raise ValueError(f"`scores_in` and `scores_out` must be non-empty; got sizes "
                         f"{a.numel()} and {b.numel()}")
    pooled = torch.cat([a, b.to(a.device)])
    order = torch.argsort(pooled, stable=True)
    sorted_v = pooled[order]
    ranks = torch.empty_like(pooled)
    # mid-ranks for ties (1-based)
    uniq, inverse, counts = torch.unique_consecutive(sorted_v, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    mid = ends - (counts.double() - 1) / 2
    ranks[order] = mid[inverse]
    n_in, n_out = a.numel(), b.numel()
    r_in = ranks[:n_in].sum()
    return float((r_in - n_in * (n_in + 1) / 2) / (n_in * n_out))
