"""MNIST and Fashion-MNIST from the official IDX files (gzipped or not).

IDX format (LeCun et al.): a 4-byte magic ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian
uint32 sizes, then the values in row-major order, big-endian. Type codes: 0x08 uint8, 0x09 int8,
0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. Images are ``idx3`` (N, 28, 28) uint8,
labels ``idx1`` (N,) uint8.

Returned: ``x`` float32 ``[N, 1, 28, 28]`` in ``[0, 1]`` (pixel / 255), ``y`` int64 ``[N]``.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch

from ahtga._validation import check_choice
from ._common import ArrayDataset, check_dir, find_file
from .checksums import verify_and_record

_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

MNIST_CLASSES = tuple(str(i) for i in range(10))
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (``.gz`` decompressed on the fly) into a numpy array of its shape."""
    p = Path(path)
    with (gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")) as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{str(p)!r} is not an IDX file: bad magic {data[:4].hex()!r} "
                         f"(expected 0000 + type code + ndim)")
    dtype, ndim = np.dtype(_IDX_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"{str(p)!r}: IDX header says shape {shape} ({expected} bytes of data) "
                         f"but the file holds {len(data) - header}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _load_idx_pair(data_dir, split: str, subdirs, key_prefix: str, verify: bool, classes,
                   name: str) -> ArrayDataset:
    check_choice("split", split, ("train", "test"))
    root = check_dir("data_dir", data_dir)
    stem = "train" if split == "train" else "t10k"
    out, checks = [], {}
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        fname = f"{stem}-{kind}"
        p = find_file("data_dir", root, (fname + ".gz", fname), subdirs=subdirs)
        key = key_prefix + p.name
        checks[str(p)] = verify_and_record(p, key=key, verify=verify)
        out.append(read_idx(p))
    images, labels = out
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{name} {split}: images of shape {images.shape} do not match labels "
                         f"of shape {labels.shape}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return ArrayDataset(x, y, list(classes), {"dataset": name, "split": split, "checksums": checks})


def load_mnist(data_dir, split: str = "train", *, verify: bool = True) -> ArrayDataset:
    """MNIST ``split`` ("train": 60k, "test": 10k) from ``data_dir``.

    Looks for ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` in ``data_dir``,
    ``data_dir/mnist`` or ``data_dir/MNIST/raw``. With ``verify`` the files are checked against
    the official MD5s (of the gz file or of its decompressed content).
    """
    return _load_idx_pair(data_dir, split, ("", "mnist", "MNIST/raw"), "", verify,
                          MNIST_CLASSES, "mnist")


def load_fashion_mnist(data_dir, split: str = "train", *, verify: bool = True) -> ArrayDataset:
    """Fashion-MNIST (Xiao et al. 2017), same layout and file names as MNIST.

    Looks in ``data_dir``, ``data_dir/fashion_mnist``, ``data_dir/fashion-mnist`` and
    ``data_dir/FashionMNIST/raw`` (Debian's ``dataset-fashion-mnist`` installs the gz files in
    ``/usr/share/datasets/fashion-mnist``). Only the gz files' MD5s are known; uncompressed files
    are read unverified and their SHA256 recorded.
    """
    return _load_idx_pair(data_dir, split, ("", "fashion_mnist", "fashion-mnist", "FashionMNIST/raw"),
                          "fashion/", verify, FASHION_MNIST_CLASSES, "fashion_mnist")
