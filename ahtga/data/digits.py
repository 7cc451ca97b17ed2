"""scikit-learn's digits (UCI optical digits, 1797 images of 8x8, 10 classes): the ``tiny`` default.

Installed with scikit-learn (imported only when called), so it needs no data folder. Pixels are
0..16 in the source; returned ``x`` is float32 ``[N, 1, 8, 8]`` = value / 16, ``y`` int64.
``split`` "train"/"test" comes from a stratified, seeded split (``test_fraction`` of each class,
rounded, goes to test), the same on every machine since it uses only torch's generator.
"""
from __future__ import annotations

import torch

from ahtga._validation import check_choice, check_in_range, check_int
from ._common import ArrayDataset


def stratified_split(y: torch.Tensor, test_fraction: float, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted ``(train_idx, test_idx)``: round(test_fraction * n_c) examples of each class to test."""
    check_in_range("test_fraction", test_fraction, 0.0, 1.0, hi_open=True)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    tr, te = [], []
    for c in torch.unique(y).tolist():
        idx = torch.nonzero(y == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = int(round(test_fraction * len(idx)))
        te.append(idx[:k]); tr.append(idx[k:])
    return torch.sort(torch.cat(tr)).values, torch.sort(torch.cat(te)).values


def load_digits(split: str = "train", *, test_fraction: float = 0.25, seed: int = 0) -> ArrayDataset:
    """The digits ``split`` ("train", "test" or "all"); see the module docstring."""
    check_choice("split", split, ("train", "test", "all"))
    try:
        from sklearn.datasets import load_digits as _sk
    except ImportError as e:  # pragma: no cover
        raise ImportError("the digits data set ships with scikit-learn: `pip install scikit-learn`") from e
    d = _sk()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    ds = ArrayDataset(x, y, [str(i) for i in range(10)], {"dataset": "digits", "split": split,
                                                          "source": "sklearn.datasets.load_digits"})
    if split == "all":
        return ds
    tr, te = stratified_split(y, test_fraction, seed=seed)
    out = ds.subset(tr if split == "train" else te)
    out.meta.update({"split": split, "test_fraction": test_fraction, "seed": seed})
    return out
