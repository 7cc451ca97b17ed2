"""One entry point for the runner: ``load_dataset(name, split, data_dir=...)`` for image
classification sets and ``load_corpus(name, data_dir)`` for language-model text.

Unknown names raise an error listing the valid ones.
"""
from __future__ import annotations

from typing import Callable

from ._common import ArrayDataset
from .cifar import load_cifar10, load_cifar100, load_cifar10_npz
from .digits import load_digits
from .folders import load_cifar10_folders
from .mnist import load_fashion_mnist, load_mnist
from .text import TextCorpus, load_ptb, load_tiny_shakespeare, load_wikitext2


def _needs_dir(fn):
    def load(split, data_dir, **kw):
        return fn(data_dir, split, **kw)
    load.__doc__ = fn.__doc__
    return load


def _npz(split, data_dir, **kw):
    if split != "train":
        raise ValueError(f"`split` must be 'train' for cifar10_npz (the lossless subset holds "
                         f"training images only); got split={split!r}")
    return load_cifar10_npz(data_dir, **kw)


DATASETS: dict[str, Callable[..., ArrayDataset]] = {
    "digits": lambda split, data_dir=None, **kw: load_digits(split, **kw),
    "mnist": _needs_dir(load_mnist),
    "fashion_mnist": _needs_dir(load_fashion_mnist),
    "cifar10": _needs_dir(load_cifar10),
    "cifar10_folders": _needs_dir(load_cifar10_folders),
    "cifar10_npz": _npz,
    "cifar100": _needs_dir(load_cifar100),
}

CORPORA: dict[str, Callable[..., TextCorpus]] = {
    "ptb": load_ptb,
    "wikitext2": load_wikitext2,
    "tiny_shakespeare": load_tiny_shakespeare,
}


def load_dataset(name: str, split: str = "train", *, data_dir=None, **kwargs) -> ArrayDataset:
    """Load image-classification data set ``name`` (a key of :data:`DATASETS`)."""
    if name not in DATASETS:
        raise ValueError(f"`name` must be one of {sorted(DATASETS)}; got name={name!r}")
    return DATASETS[name](split, data_dir, **kwargs)


def load_corpus(name: str, *, data_dir=None, **kwargs) -> TextCorpus:
    """Load language-model corpus ``name`` (a key of :data:`CORPORA`)."""
    if name not in CORPORA:
        raise ValueError(f"`name` must be one of {sorted(CORPORA)}; got name={name!r}")
    return CORPORA[name](data_dir, **kwargs)
