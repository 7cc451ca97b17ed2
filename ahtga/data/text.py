"""Language-modelling text: Penn Treebank and WikiText-2 (word level), tiny-shakespeare (chars).

Word level (Mikolov's PTB preprocessing; WikiText-2's ``wiki.*.tokens``): each line is split on
whitespace and an ``<eos>`` token appended; the vocabulary is ``<unk>`` (id 0), ``<eos>`` (1),
then the training split's words in order of first appearance (so ids are deterministic);
unknown words of other splits map to ``<unk>`` (both corpora already contain ``<unk>``). Character level: every distinct character of
the whole text, sorted, is one token; the split is the first ``train_fraction`` of the text.

Returned streams are int64 ``[T]``; :func:`batchify` folds a stream into ``[B, T // B]`` columns
and :func:`lm_batch` cuts the ``(input, target)`` pair of length ``bptt`` starting at ``i``
(targets are inputs shifted by one), the usual truncated-BPTT scheme (Zaremba et al. 2014).
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ahtga._validation import check_choice, check_in_range, check_int
from ._common import check_dir, find_file
from .checksums import verify_and_record


@dataclass
class Vocab:
    """Token <-> id map. ``itos`` lists tokens by id; ``unk`` is the id of unknown tokens (or None)."""

    itos: list[str] = field(default_factory=list)
    unk_token: str | None = "<unk>"

    def __post_init__(self):
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def add(self, token: str) -> int:
        if token not in self.stoi:
            self.stoi[token] = len(self.itos)
            self.itos.append(token)
        return self.stoi[token]

    @property
    def unk(self) -> int | None:
        return self.stoi.get(self.unk_token) if self.unk_token is not None else None

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens) -> torch.Tensor:
        unk = self.unk
        ids = []
        for t in tokens:
            i = self.stoi.get(t, unk)
            if i is None:
                raise KeyError(f"token {t!r} is not in the vocabulary and it has no unknown token")
            ids.append(i)
        return torch.tensor(ids, dtype=torch.int64)

    def decode(self, ids) -> list[str]:
        return [self.itos[int(i)] for i in ids]


def word_tokens(text: str, *, eos: str = "<eos>") -> list[str]:
    """Whitespace tokens of each non-empty line followed by ``eos`` (PTB/WikiText convention)."""
    out: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words:
            out.extend(words)
            out.append(eos)
    return out


@dataclass
class TextCorpus:
    """Token streams per split and their vocabulary; ``meta`` holds checksums."""

    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    vocab: Vocab
    meta: dict = field(default_factory=dict)


def _word_corpus(files: dict[str, Path], name: str, verify: bool, keys: dict[str, str]) -> TextCorpus:
    vocab = Vocab(["<unk>", "<eos>"])
    checks, toks = {}, {}
    for split, p in files.items():
        checks[str(p)] = verify_and_record(p, key=keys.get(split), verify=verify)
        toks[split] = word_tokens(p.read_text(encoding="utf-8"))
    for t in toks["train"]:
        vocab.add(t)
    streams = {s: vocab.encode(toks[s]) for s in ("train", "valid", "test")}
    return TextCorpus(**streams, vocab=vocab, meta={"dataset": name, "checksums": checks})


def load_ptb(data_dir, *, verify: bool = True) -> TextCorpus:
    """Penn Treebank (Mikolov's ``ptb.{train,valid,test}.txt``; 10k vocabulary incl. ``<unk>``,
    plus ``<eos>``: 10,000 tokens). ``data_dir`` holds the files or a ``ptb/`` folder with them."""
    root = check_dir("data_dir", data_dir)
    files = {s: find_file("data_dir", root, (f"ptb.{s}.txt",), subdirs=("", "ptb")) for s in ("train", "valid", "test")}
    return _word_corpus(files, "ptb", verify, {s: f"ptb.{s}.txt" for s in files})


def load_wikitext2(data_dir, *, verify: bool = True) -> TextCorpus:
    """WikiText-2 (Merity et al. 2016), word level: ``wiki.{train,valid,test}.tokens`` in
    ``data_dir`` or ``data_dir/wikitext-2``; a ``wikitext-2-v1.zip`` in ``data_dir`` is unpacked
    first (and verified against its MD5)."""
    root = check_dir("data_dir", data_dir)
    z = root / "wikitext-2-v1.zip"
    if z.is_file() and not (root / "wikitext-2").is_dir():
        verify_and_record(z, verify=verify)
        with zipfile.ZipFile(z) as f:
            f.extractall(root)
    files = {s: find_file("data_dir", root, (f"wiki.{s}.tokens",), subdirs=("", "wikitext-2"))
             for s in ("train", "valid", "test")}
    return _word_corpus(files, "wikitext2", False, {})


def load_char_text(path, *, train_fraction: float = 0.9, valid_fraction: float = 0.05,
                   verify: bool = True) -> TextCorpus:
    """Character-level corpus from one text file (tiny-shakespeare: ``input.txt``, 1,115,394
    characters, 65 distinct). Splits are contiguous: the first ``train_fraction``, the next
    ``valid_fraction``, the rest. ``path`` is the file or a folder holding
    ``input.txt`` / ``tinyshakespeare/input.txt``."""
    check_in_range("train_fraction", train_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
    check_in_range("valid_fraction", valid_fraction, 0.0, 1.0 - train_fraction, hi_open=True)
    p = Path(path).expanduser() if path is not None else None
    if p is not None and p.is_dir():
        p = find_file("path", p, ("input.txt",), subdirs=("", "tinyshakespeare"))
    if p is None or not p.is_file():
        raise FileNotFoundError(f"`path` must be a text file or a folder holding input.txt; got path={str(path)!r}")
    key = "tinyshakespeare/input.txt" if p.name == "input.txt" else None
    checks = {str(p): verify_and_record(p, key=key, verify=verify)}
    text = p.read_text(encoding="utf-8")
    vocab = Vocab(sorted(set(text)), unk_token=None)
    ids = vocab.encode(text)
    n1, n2 = int(len(ids) * train_fraction), int(len(ids) * (train_fraction + valid_fraction))
    return TextCorpus(ids[:n1], ids[n1:n2], ids[n2:], vocab,
                      {"dataset": "char:" + p.name, "checksums": checks})


def load_tiny_shakespeare(path, **kwargs) -> TextCorpus:
    """tiny-shakespeare (karpathy/char-rnn), character level; see :func:`load_char_text`."""
    c = load_char_text(path, **kwargs)
    c.meta["dataset"] = "tiny_shakespeare"
    return c


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Fold a token stream ``[T]`` into ``[batch_size, T // batch_size]``: row ``b`` is the ``b``-th
    contiguous chunk; the last ``T mod batch_size`` tokens are dropped."""
    check_int("batch_size", batch_size, min_value=1)
    n = len(stream) // batch_size
    if n < 2:
        raise ValueError(f"`batch_size`={batch_size} leaves fewer than 2 tokens per row of a "
                         f"stream of {len(stream)} tokens")
    return stream[: n * batch_size].reshape(batch_size, n)


def lm_batch(data: torch.Tensor, i: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` of shape ``[B, L]`` with ``L = min(bptt, cols - 1 - i)`` from the output
    of :func:`batchify`: ``inputs = data[:, i:i+L]``, ``targets = data[:, i+1:i+1+L]``."""
    check_int("bptt", bptt, min_value=1)
    check_int("i", i, min_value=0, max_value=data.shape[1] - 2)
    L = min(bptt, data.shape[1] - 1 - i)
    return data[:, i:i + L], data[:, i + 1:i + 1 + L]
