"""mini-ImageNet (Vinyals et al. 2016) with the split CSVs of Ravi and Larochelle (2017).

Layout: ``data_dir/{train,val,test}.csv`` with header ``filename,label`` (e.g.
``n0153282900000005.jpg,n01532829``) and the images in ``data_dir/images/`` (64 / 16 / 20
classes, 600 images each, usually 84x84). Images are decoded lazily with Pillow (optional
dependency) and resized to ``size``. Labels index the split's sorted class ids (wnids).
"""
from __future__ import annotations

import csv
from typing import Callable

import torch
from torch.utils.data import Dataset

from ahtga._validation import check_choice
from ._common import check_dir, find_file
from .folders import decode_image


class MiniImageNet(Dataset):
    """Lazy mini-ImageNet split: ``ds[i] = (x float32 [3, H, W] in [0, 1], label)``;
    ``targets`` int64 ``[N]``; ``classes`` the wnids."""

    def __init__(self, data_dir, split: str = "train", *, size: tuple[int, int] | None = (84, 84),
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        check_choice("split", split, ("train", "val", "test"))
        root = check_dir("data_dir", data_dir)
        csv_path = find_file("data_dir", root, (f"{split}.csv",), subdirs=("", "split", "splits"))
        with open(csv_path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows or [c.strip() for c in rows[0][:2]] != ["filename", "label"]:
            raise ValueError(f"{str(csv_path)!r} must start with the header `filename,label`; "
                             f"got {rows[0] if rows else 'an empty file'}")
        rows = [r for r in rows[1:] if r]
        self.classes = sorted({r[1] for r in rows})
        index = {c: i for i, c in enumerate(self.classes)}
        img_dir = root / "images" if (root / "images").is_dir() else root
        self.files = [img_dir / r[0] for r in rows]
        missing = [str(p) for p in self.files[:1000] if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"{len(missing)} image(s) named in {str(csv_path)!r} are missing "
                                    f"under {str(img_dir)!r}, e.g. {missing[0]!r}")
        self.targets = torch.tensor([index[r[1]] for r in rows], dtype=torch.int64)
        self.size, self.transform = size, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):
        x = decode_image(self.files[i], mode="RGB", size=self.size)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.targets[i])
