"""Shared pieces of the loaders: the in-memory dataset, path checks and file look-up.

Conventions used by every loader in :mod:`ahtga.data`:

* images are ``float32`` tensors in ``[0, 1]`` with layout ``[N, C, H, W]`` (channels first),
  unless a loader says otherwise; no mean/std normalisation is applied by a loader (use
  :func:`ahtga.data.normalize` with the constants in :mod:`ahtga.data.stats`);
* class labels are ``int64`` tensors of shape ``[N]`` with values ``0 .. num_classes - 1``;
* token ids are ``int64``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch.utils.data import Dataset


@dataclass
class ArrayDataset(Dataset):
    """Examples held in memory as tensors.

    ``x``: inputs, first dimension ``N``; ``y``: int64 labels ``[N]`` (or any per-example
    tensor); ``classes``: class names, index = label; ``meta``: provenance (source files, the
    checksums verified, notes such as "JPEG re-encoded"). ``ds[i]`` returns ``(x[i], y[i])``.
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: Sequence[str] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"`x` and `y` must have the same length; got {len(self.x)} and {len(self.y)}")

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    @property
    def num_classes(self) -> int:
        """``len(classes)`` when names are known, else ``max(y) + 1``."""
        if len(self.classes):
            return len(self.classes)
        return int(self.y.max()) + 1 if len(self.y) else 0

    def subset(self, index) -> "ArrayDataset":
        """A new dataset with the examples at ``index`` (tensor, list or slice)."""
        index = torch.as_tensor(index) if not isinstance(index, slice) else index
        return ArrayDataset(self.x[index], self.y[index], list(self.classes), dict(self.meta))


def check_dir(name: str, path: str | os.PathLike | None) -> Path:
    """Return ``Path(path)`` if it is an existing directory, else raise naming ``name``."""
    if path is None:
        raise ValueError(f"`{name}` is required: pass the folder that holds the data files "
                         f"(on the command line: --data-dir DIR); got {name}=None")
    p = Path(path).expanduser()
    if not p.is_dir():
        what = "is a file, not a folder" if p.exists() else "does not exist"
        raise FileNotFoundError(f"`{name}` must be an existing folder; got {name}={str(path)!r}, "
                                f"which {what}")
    return p


def check_file(name: str, path: str | os.PathLike | None) -> Path:
    """Return ``Path(path)`` if it is an existing file, else raise naming ``name``."""
    if path is None:
        raise ValueError(f"`{name}` is required; got {name}=None")
    p = Path(path).expanduser()
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise FileNotFoundError(f"`{name}` must be an existing file; got {name}={str(path)!r}, which {what}")
    return p


def find_file(arg: str, root: Path, names: Sequence[str], *, subdirs: Sequence[str] = ("",)) -> Path:
    """First existing ``root/sub/name`` over ``subdirs`` x ``names``; the error lists all tried."""
    tried = []
    for sub in subdirs:
        for n in names:
            p = root / sub / n if sub else root / n
            tried.append(str(p))
            if p.is_file():
                return p
    raise FileNotFoundError(f"no data file found under `{arg}`={str(root)!r}; looked for: "
                            + ", ".join(tried))
