"""Omniglot (Lake, Salakhutdinov, Tenenbaum 2015): the npz layout and the 20 one-shot runs.

npz layout (``images_background.npz``: 964 characters, ``images_evaluation.npz``: 659): arrays
``images`` bool ``[C, 20, 105, 105]`` (20 drawers per character) and ``labels`` int ``[C, 20]``.
Pixel convention as in the original PNGs: ``True``/1.0 is white paper, ``False``/0.0 is ink
(``invert=True`` flips to ink = 1).

One-shot runs (``one_shot_all_runs.zip``, from brendenlake/omniglot): folders ``runNN/`` with
``training/classKK.png`` (one image of each of 20 characters), ``test/itemKK.png`` (20 query
images) and ``class_labels.txt`` whose lines read ``runNN/test/itemKK.png runNN/training/classJJ.png``
(the query and its true class). Images are 105x105 1-bit PNGs, decoded by :mod:`ahtga.data.png`
(no Pillow needed).
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ._common import ArrayDataset, check_file, find_file
from .checksums import verify_and_record
from .png import decode_png


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    if size is None or tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="area")


def load_omniglot_npz(path, *, size: tuple[int, int] | None = (28, 28), invert: bool = False,
                      verify: bool = True, chunk: int = 2048) -> ArrayDataset:
    """Omniglot characters from the npz layout: ``x`` float32 ``[C*20, 1, H, W]``, ``y`` int64.

    ``path`` is the npz file (or a folder holding ``images_background.npz``). ``size`` resizes by
    area averaging (28x28 is the usual few-shot resolution; ``None`` keeps 105x105, which needs
    ~0.85 GB for the background set). ``y`` are the file's labels (character ids).
    """
    p = Path(path).expanduser() if path is not None else None
    if p is not None and p.is_dir():
        p = find_file("path", p, ("images_background.npz",), subdirs=("", "omniglot"))
    p = check_file("path", p)
    checks = {str(p): verify_and_record(p, verify=verify)}
    with np.load(p, allow_pickle=False) as z:
        if "images" not in z.files or "labels" not in z.files:
            raise ValueError(f"{str(p)!r} must hold arrays `images` and `labels`; found {z.files}")
        images, labels = z["images"], z["labels"]
    if images.ndim != 4 or labels.shape != images.shape[:2]:
        raise ValueError(f"{str(p)!r}: `images` must be [C, drawers, H, W] and `labels` [C, drawers]; "
                         f"got {images.shape} and {labels.shape}")
    flat = images.reshape(-1, 1, *images.shape[2:])
    parts = []
    for s in range(0, len(flat), chunk):
        xb = torch.from_numpy(flat[s:s + chunk].astype(np.float32))
        parts.append(_resize(1.0 - xb if invert else xb, size))
    x = torch.cat(parts) if parts else torch.zeros(0, 1, *(size or images.shape[2:]))
    y = torch.from_numpy(labels.reshape(-1).astype(np.int64))
    return ArrayDataset(x, y, [], {"dataset": "omniglot", "checksums": checks, "invert": invert})


@dataclass
class OneShotRun:
    """One 20-way one-shot run: ``support`` ``[W, 1, H, W]`` with ``support_y = arange(W)`` (class
    order = ``training/classKK.png`` order) and ``query`` ``[Q, 1, H, W]`` with true ``query_y``."""

    name: str
    support: torch.Tensor
    support_y: torch.Tensor
    query: torch.Tensor
    query_y: torch.Tensor


def load_one_shot_runs(path, *, size: tuple[int, int] | None = None, invert: bool = False,
                       verify: bool = True) -> list[OneShotRun]:
    """Lake et al.'s one-shot classification runs from their zip (see the module docstring).

    ``path`` is the zip or a folder holding ``one_shot_all_runs.zip``. Pixel values 1.0 = paper.
    """
    p = Path(path).expanduser() if path is not None else None
    if p is not None and p.is_dir():
        p = find_file("path", p, ("one_shot_all_runs.zip", "all_runs.zip"), subdirs=("", "omniglot"))
    p = check_file("path", p)
    verify_and_record(p, verify=verify)

    def img(z: zipfile.ZipFile, name: str) -> torch.Tensor:
        a = decode_png(z.read(name)).astype(np.float32)
        if a.ndim == 3:
            a = a[..., 0]
        a = a / max(1.0, float(a.max())) if a.max() > 1 else a
        t = torch.from_numpy(1.0 - a if invert else a)[None, None]
        return _resize(t, size)[0]

    runs = []
    with zipfile.ZipFile(p) as z:
        names = set(z.namelist())
        run_dirs = sorted({n.split("/")[0] for n in names if n.endswith("class_labels.txt")})
        if not run_dirs:
            raise ValueError(f"{str(p)!r} holds no runNN/class_labels.txt")
        for rd in run_dirs:
            lines = [ln.split() for ln in z.read(f"{rd}/class_labels.txt").decode().splitlines() if ln.strip()]
            train = sorted(n for n in names if n.startswith(f"{rd}/training/") and n.endswith(".png"))
            index = {n: i for i, n in enumerate(train)}
            q_names, q_labels = [], []
            for parts in lines:
                if len(parts) != 2 or parts[1] not in index:
                    raise ValueError(f"{str(p)!r} {rd}/class_labels.txt: bad line {' '.join(parts)!r}")
                q_names.append(parts[0])
                q_labels.append(index[parts[1]])
            runs.append(OneShotRun(
                rd, torch.stack([img(z, n) for n in train]), torch.arange(len(train)),
                torch.stack([img(z, n) for n in q_names]), torch.tensor(q_labels, dtype=torch.int64)))
    return runs
