"""Turn a config into tensors: load (through ``ahtga.data``), split, subsample, corrupt, normalise.

Splits.  The train/validation/test split is fixed (split seed 0) for every run seed, so seeds
vary initialisation, batch order, label noise and low-data subsets, never the test set:
* ``digits`` (scikit-learn's 1797 8x8 images): a stratified ``test_fraction`` test split, then a
  stratified ``val_fraction`` of the rest for validation;
* ``mnist``, ``fashion_mnist``, ``cifar10`` (official python batches, or class folders of
  images as a fall-back): the official test split; validation is a stratified ``val_fraction``
  of the official training split;
* ``cifar10_npz`` (an ``.npz`` of uint8 ``x`` [N, 32, 32, 3] and ``y``): stratified test and
  validation splits as for digits.
Then, with the run's seed: the low-data subset (``ahtga.data.stratified_subset``:
``train_fraction`` of each class, at least one), the cap ``max_train_examples``, and label noise on the training labels only
(validation and test labels stay clean): ``symmetric`` flips exactly round(rate n) labels to
a uniformly drawn different class, ``asymmetric`` flips round(rate n_c) examples of each mapped
class c to a fixed other class (see ``_flips``; ``ahtga.data.corruptions``).  Inputs are standardised per channel with the
training split's mean and standard deviation.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import data as D
from .config import RunConfig


@dataclass
class Prepared:
    """Tensors of one run, plus provenance."""
    train_x: torch.Tensor
    train_y: torch.Tensor          # possibly noisy labels (what the optimizer sees)
    train_y_clean: torch.Tensor    # the true labels of the same examples
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    info: dict[str, Any] = field(default_factory=dict)   # checksums, sizes, notes
    raw_test_x: torch.Tensor | None = None  # test inputs before standardisation (for corruptions)
    mean: Any = 0.0                         # standardisation: (x - mean) / std
    std: Any = 1.0
    ood_raw: torch.Tensor | None = None     # OOD inputs before standardisation (``ood``; studies.load_ood)
    ood_error: str | None = None            # why the OOD set could not be loaded (then ood_raw is None)
    train_on_device: tuple | None = None    # (train_x, train_y) on the training device (Task.to_device)

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the training split's standardisation to raw inputs (e.g. corrupted test images)."""
        return (x - self.mean) / self.std

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train_x.shape[1:])


def tensor_digest(*ts: torch.Tensor) -> str:
    """sha256 of the raw bytes of the tensors (contiguous, CPU), to record what a run saw."""
    h = hashlib.sha256()
    for t in ts:
        t = t.detach().cpu().contiguous()
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _load_splits(cfg: RunConfig):
    """(train ArrayDataset, test ArrayDataset or None)."""
    name = cfg.dataset
    v = {"verify": cfg.verify_checksums}
    if name == "digits":
        return (D.load_digits("train", test_fraction=cfg.test_fraction, seed=0),
                D.load_digits("test", test_fraction=cfg.test_fraction, seed=0))
    if name == "cifar10":
        try:
            return (D.load_dataset("cifar10", "train", data_dir=cfg.data_dir, **v),
                    D.load_dataset("cifar10", "test", data_dir=cfg.data_dir, **v))
        except FileNotFoundError:  # class folders of images (e.g. the JPEG archive unpacked)
            return (D.load_dataset("cifar10_folders", "train", data_dir=cfg.data_dir),
                    D.load_dataset("cifar10_folders", "test", data_dir=cfg.data_dir))
    if name == "cifar10_npz":
        p = Path(cfg.data_dir or "")
        if p.is_dir():
            cands = sorted(p.glob("*.npz"))
            if len(cands) != 1:
                raise FileNotFoundError(f"`data_dir` must hold exactly one .npz for dataset=cifar10_npz; "
                                        f"got data_dir={cfg.data_dir!r} with {len(cands)}")
            p = cands[0]
        return D.load_dataset("cifar10_npz", "train", data_dir=p, **v), None
    return (D.load_dataset(name, "train", data_dir=cfg.data_dir, **v),
            D.load_dataset(name, "test", data_dir=cfg.data_dir, **v))


def _flips(dataset: str) -> dict[int, int]:
    """Asymmetric-noise class mapping: MNIST's (2->7, 3->8, 7->1, 5<->6) for digit data sets,
    CIFAR-10's (truck->automobile, bird->airplane, deer->horse, cat<->dog) otherwise."""
    return dict(D.CIFAR10_FLIPS if dataset.startswith("cifar10") else D.MNIST_FLIPS)


def _standardise(train_x, *others):
    dims = [0] + list(range(2, train_x.dim())) if train_x.dim() >= 3 else [0]
    mean = train_x.mean(dim=dims, keepdim=True)
    std = train_x.std(dim=dims, keepdim=True)
    if train_x.dim() < 3:  # flat features: one global scale keeps constant pixels harmless
        mean, std = train_x.mean(), train_x.std()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return [(t - mean) / std for t in (train_x, *others)], (mean, std)


def _windows(stream: torch.Tensor, L: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping windows of L+1 tokens: inputs ``[N, L]``, next-token targets ``[N, L]``."""
    n = (stream.numel() - 1) // L
    if n < 1:
        raise ValueError(f"`seq_len`={L} is longer than the token stream ({stream.numel()} tokens)")
    x = stream[: n * L].reshape(n, L)
    y = stream[1: n * L + 1].reshape(n, L)
    return x.long(), y.long()


def prepare_lm(cfg: RunConfig, seed: int) -> Prepared:
    """Language modelling: the corpus's train/valid/test token streams (``ahtga.data.load_corpus``)
    cut into non-overlapping sequences of ``seq_len`` tokens with their next-token targets.  An
    example is a sequence, its loss the mean token loss; batches are shuffled sequences and no
    hidden state is carried between batches (stateless truncated BPTT, so per-example gradients
    are defined per sequence).  ``train_fraction`` / ``max_train_examples`` keep a seeded random
    subset of training sequences; label noise and standardisation do not apply."""
    name = {"tinyshakespeare": "tiny_shakespeare"}.get(cfg.dataset, cfg.dataset)
    if name not in D.CORPORA:
        raise ValueError(f"`dataset` must be one of {sorted(D.CORPORA)} for task=lm; got dataset={cfg.dataset!r}")
    path = cfg.data_dir
    if name == "tiny_shakespeare" and path and Path(path).is_dir():
        cand = [p for p in (Path(path) / "input.txt", Path(path) / "tinyshakespeare" / "input.txt") if p.is_file()]
        path = str(cand[0]) if cand else path
    corpus = D.load_corpus(name, data_dir=path, verify=cfg.verify_checksums)
    x, y = _windows(corpus.train, cfg.seq_len)
    vx, vy = _windows(corpus.valid, cfg.seq_len)
    tx, ty = _windows(corpus.test, cfg.seq_len)
    g = torch.Generator().manual_seed(seed)
    keep = x.shape[0]
    if cfg.train_fraction < 1.0:
        keep = max(1, int(round(cfg.train_fraction * keep)))
    if cfg.max_train_examples:
        keep = min(keep, cfg.max_train_examples)
    if keep < x.shape[0]:
        idx = torch.sort(torch.randperm(x.shape[0], generator=g)[:keep]).values
        x, y = x[idx], y[idx]
    info = {"dataset": cfg.dataset, "data_dir": cfg.data_dir, "files": dict(corpus.meta),
            "vocab_size": len(corpus.vocab), "seq_len": cfg.seq_len, "n_train": int(x.shape[0]),
            "n_val": int(vx.shape[0]), "n_test": int(tx.shape[0]),
            "sha256_train": tensor_digest(x, y), "sha256_val": tensor_digest(vx, vy),
            "sha256_test": tensor_digest(tx, ty)}
    return Prepared(x, y, y.clone(), vx, vy, tx, ty, len(corpus.vocab), info, raw_test_x=tx)


def subset_train(cfg, x: torch.Tensor, y: torch.Tensor, seed: int):
    """The training rows a run uses: a stratified ``train_fraction`` (seeded), then at most
    ``max_train_examples`` rows chosen by a seeded permutation, kept in their original order."""
    if cfg.train_fraction < 1.0:
        keep = D.stratified_subset(y, cfg.train_fraction, seed=seed)
        x, y = x[keep], y[keep]
    if cfg.max_train_examples and x.shape[0] > cfg.max_train_examples:
        keep = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:cfg.max_train_examples]
        keep = torch.sort(keep).values
        x, y = x[keep], y[keep]
    return x, y


def prepare(cfg: RunConfig, seed: int) -> Prepared:
    """Load and prepare the data of one run (see the module docstring)."""
    train, test = _load_splits(cfg)
    info: dict[str, Any] = {}
    x, y = train.x.float(), train.y.long()
    if test is None:
        rest, te = D.stratified_split(y, cfg.test_fraction, seed=0)
        test_x, test_y = x[te], y[te]
        x, y = x[rest], y[rest]
    else:
        test_x, test_y = test.x.float(), test.y.long()
    num_classes = int(max(getattr(train, "num_classes", 0), int(y.max()) + 1, int(test_y.max()) + 1))
    if cfg.val_fraction > 0:
        tr, va = D.stratified_split(y, cfg.val_fraction, seed=0)
        val_x, val_y = x[va], y[va]
        x, y = x[tr], y[tr]
    else:
        val_x, val_y = x[:0], y[:0]
    x, y = subset_train(cfg, x, y, seed)
    y_clean = y.clone()
    if cfg.label_noise > 0:
        if cfg.label_noise_kind == "symmetric":
            y, _ = D.symmetric_label_noise(y, cfg.label_noise, num_classes, seed=seed)
        else:
            y, _ = D.asymmetric_label_noise(y, cfg.label_noise, _flips(cfg.dataset), seed=seed)
            info["asymmetric_flips"] = {str(k): v for k, v in _flips(cfg.dataset).items()}
    raw_test_x = test_x
    mean, std = 0.0, 1.0
    if cfg.normalize:
        (x, val_x, test_x), (mean, std) = _standardise(x, val_x, test_x)
    meta = dict(getattr(train, "meta", {}) or {})
    info.update({
        "dataset": cfg.dataset, "data_dir": cfg.data_dir, "files": meta,
        "n_train": int(x.shape[0]), "n_val": int(val_x.shape[0]), "n_test": int(test_x.shape[0]),
        "num_classes": num_classes, "input_shape": list(x.shape[1:]),
        "label_noise_realised": float((y != y_clean).double().mean()) if y.numel() else 0.0,
        "sha256_train": tensor_digest(x, y), "sha256_val": tensor_digest(val_x, val_y),
        "sha256_test": tensor_digest(test_x, test_y),
        "normalization": None if not cfg.normalize else {"mean": mean.flatten().tolist(),
                                                        "std": std.flatten().tolist()},
    })
    notes = []
    if cfg.dataset.startswith("cifar10"):
        notes.append("CIFAR-10 here: the offline copy is JPEG re-encoded (quality 75) unless the "
                     "lossless npz subset is used; accuracies run slightly below published ones")
    if notes:
        info["notes"] = notes
    return Prepared(x, y, y_clean, val_x, val_y, test_x, test_y, num_classes, info,
                    raw_test_x=raw_test_x, mean=mean, std=std)
