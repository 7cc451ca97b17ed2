"""CIFAR-10 and CIFAR-100 (Krizhevsky 2009) in the official python layout, plus npz arrays.

Official python layout: ``cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`` and
``cifar-100-python/{train, test, meta}``; each batch is a pickled dict with ``b"data"``
(``N x 3072`` uint8: the red plane, then green, then blue, each 32x32 row-major) and
``b"labels"`` (CIFAR-10) or ``b"fine_labels"``/``b"coarse_labels"`` (CIFAR-100).

The pickles are read with a restricted unpickler that only rebuilds numpy arrays, lists, dicts,
bytes and numbers, so a tampered file cannot run code (``safe=False`` uses plain ``pickle``).

Returned: ``x`` float32 ``[N, 3, 32, 32]`` in ``[0, 1]``, ``y`` int64 ``[N]``. For the class-folder
(JPEG) layout see :func:`load_cifar10_folders`; JPEG copies differ from the original pixels, which
``meta["note"]`` says.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import torch

from ahtga._validation import check_choice
from ._common import ArrayDataset, check_dir, check_file, find_file
from .checksums import verify_and_record

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name} from a CIFAR pickle (only numpy arrays are "
            f"expected); if you trust the file, pass safe=False")


def read_cifar_pickle(path, *, safe: bool = True) -> dict:
    """Load one CIFAR batch; keys are returned as ``str`` (the Python-2 files use bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    u = (_SafeUnpickler if safe else pickle.Unpickler)(io.BytesIO(data), encoding="bytes")
    d = u.load()
    if not isinstance(d, dict):
        raise ValueError(f"{str(path)!r} is not a CIFAR batch: expected a pickled dict, got {type(d).__name__}")
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}


def _decode(names) -> list[str]:
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _images(data: np.ndarray, path) -> torch.Tensor:
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{str(path)!r}: `data` must be N x 3072 uint8; got shape {data.shape}")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)


def load_cifar10(data_dir, split: str = "train", *, verify: bool = True, safe: bool = True) -> ArrayDataset:
    """CIFAR-10 ``split`` ("train": the five data batches, 50k; "test": 10k).

    ``data_dir`` holds ``cifar-10-batches-py/`` (or is that folder itself). Batches are verified
    against the official MD5s when ``verify``.
    """
    check_choice("split", split, ("train", "test"))
    root = check_dir("data_dir", data_dir)
    sub = "" if (root / "batches.meta").is_file() else "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys, checks = [], [], {}
    for n in names:
        p = find_file("data_dir", root, (n,), subdirs=(sub,))
        checks[str(p)] = verify_and_record(p, key=f"cifar-10-batches-py/{n}", verify=verify)
        d = read_cifar_pickle(p, safe=safe)
        xs.append(_images(d["data"], p))
        ys.append(torch.as_tensor(np.asarray(d["labels"], dtype=np.int64)))
    classes = list(CIFAR10_CLASSES)
    meta_p = root / sub / "batches.meta"
    if meta_p.is_file():
        checks[str(meta_p)] = verify_and_record(meta_p, key="cifar-10-batches-py/batches.meta", verify=verify)
        classes = _decode(read_cifar_pickle(meta_p, safe=safe)["label_names"])
    return ArrayDataset(torch.cat(xs), torch.cat(ys), classes,
                        {"dataset": "cifar10", "split": split, "checksums": checks})


def load_cifar100(data_dir, split: str = "train", *, label: str = "fine", verify: bool = True,
                  safe: bool = True) -> ArrayDataset:
    """CIFAR-100 ``split`` with ``label="fine"`` (100 classes) or ``"coarse"`` (20 superclasses).

    ``data_dir`` holds ``cifar-100-python/`` (or is that folder). ``meta["coarse"]`` always holds
    the coarse labels (used by the class-dependent label noise of :mod:`ahtga.data.corruptions`).
    """
    check_choice("split", split, ("train", "test"))
    check_choice("label", label, ("fine", "coarse"))
    root = check_dir("data_dir", data_dir)
    sub = "" if (root / "meta").is_file() and (root / "train").is_file() else "cifar-100-python"
    p = find_file("data_dir", root, (split,), subdirs=(sub,))
    checks = {str(p): verify_and_record(p, key=f"cifar-100-python/{split}", verify=verify)}
    d = read_cifar_pickle(p, safe=safe)
    fine = torch.as_tensor(np.asarray(d["fine_labels"], dtype=np.int64))
    coarse = torch.as_tensor(np.asarray(d["coarse_labels"], dtype=np.int64))
    classes: list[str] = []
    meta_p = root / sub / "meta"
    if meta_p.is_file():
        checks[str(meta_p)] = verify_and_record(meta_p, key="cifar-100-python/meta", verify=verify)
        m = read_cifar_pickle(meta_p, safe=safe)
        classes = _decode(m[f"{label}_label_names"])
    return ArrayDataset(_images(d["data"], p), fine if label == "fine" else coarse, classes,
                        {"dataset": "cifar100", "split": split, "label": label, "coarse": coarse,
                         "checksums": checks})


def load_cifar10_npz(path, *, verify: bool = True) -> ArrayDataset:
    """CIFAR-10 images from an npz with ``x`` (``N x 32 x 32 x 3`` uint8, HWC) and ``y``.

    This is the layout of the lossless 4000-image subset (karpathy/convnetjs's first 4000
    training images). ``path`` is the npz file or a folder holding
    ``cifar10_convnetjs_first4000_lossless.npz``.
    """
    p = Path(path).expanduser() if path is not None else None
    if p is not None and p.is_dir():
        p = find_file("path", p, ("cifar10_convnetjs_first4000_lossless.npz",), subdirs=("", "cifar10"))
    p = check_file("path", p)
    checks = {str(p): verify_and_record(p, verify=verify)}
    with np.load(p, allow_pickle=False) as z:
        if "x" not in z.files or "y" not in z.files:
            raise ValueError(f"{str(p)!r} must hold arrays `x` and `y`; found {z.files}")
        x, y = z["x"], z["y"]
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or len(x) != len(y):
        raise ValueError(f"{str(p)!r}: `x` must be N x 32 x 32 x 3 and `y` of length N; got "
                         f"{x.shape} and {y.shape}")
    xt = torch.from_numpy(x.astype(np.float32) / 255.0).permute(0, 3, 1, 2).contiguous()
    return ArrayDataset(xt, torch.from_numpy(y.astype(np.int64)), list(CIFAR10_CLASSES),
                        {"dataset": "cifar10_npz", "checksums": checks})
