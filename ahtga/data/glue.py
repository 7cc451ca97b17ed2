"""GLUE tasks from their official TSV files (Wang et al. 2019), with a basic word tokenizer.

Supported tasks and columns (read by header name, so column order does not matter):

======  ==================================  =========================  =====================
task    files                               text column(s)             label column, values
======  ==================================  =========================  =====================
SST-2   ``SST-2/{train,dev,test}.tsv``      ``sentence``               ``label``: 0, 1
MRPC    ``MRPC/{train,dev,test}.tsv``       ``#1 String``, ``#2 String`` ``Quality``: 0, 1
RTE     ``RTE/{train,dev,test}.tsv``        ``sentence1``, ``sentence2`` ``label``: entailment=0,
                                                                       not_entailment=1
======  ==================================  =========================  =====================

Files are tab separated with no quoting (MRPC sentences contain quote characters). Test files
carry no labels: their ``labels`` are -1.

Tokenisation (:class:`BasicTokenizer`): lower-case, split punctuation from words, split on
whitespace; a vocabulary from the training split keeps words seen at least ``min_freq`` times
(ids: 0 ``[PAD]``, 1 ``[UNK]``, 2 ``[CLS]``, 3 ``[SEP]``, then by decreasing frequency, ties by
first appearance). Encoded pairs follow BERT: ``[CLS] a [SEP] b [SEP]`` with segment ids 0 for the
first part and 1 for the second, truncated to ``max_len`` (longest part first), padded with 0.
"""
from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from dataclasses import dataclass, field

import torch

from ahtga._validation import check_choice, check_int
from ._common import check_dir, find_file
from .checksums import verify_and_record

GLUE_TASKS = {
    "sst2": {"folder": "SST-2", "text": ("sentence",), "label": "label", "map": {"0": 0, "1": 1}},
    "mrpc": {"folder": "MRPC", "text": ("#1 String", "#2 String"), "label": "Quality",
             "map": {"0": 0, "1": 1}},
    "rte": {"folder": "RTE", "text": ("sentence1", "sentence2"), "label": "label",
            "map": {"entailment": 0, "not_entailment": 1}},
}

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")


class BasicTokenizer:
    """Lower-cased word/punctuation tokens and a frequency-ranked vocabulary (see module doc)."""

    def __init__(self, vocab: list[str]):
        self.itos = list(vocab)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.pad, self.unk, self.cls, self.sep = (self.stoi[s] for s in SPECIALS)

    @staticmethod
    def split(text: str) -> list[str]:
        return _TOKEN.findall(text.lower())

    @classmethod
    def fit(cls, texts, *, min_freq: int = 1, max_size: int | None = None) -> "BasicTokenizer":
        check_int("min_freq", min_freq, min_value=1)
        counts: Counter = Counter()
        for t in texts:
            counts.update(cls.split(t))
        words = [w for w, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_freq]
        if max_size is not None:
            words = words[: check_int("max_size", max_size, min_value=0)]
        return cls(list(SPECIALS) + words)

    def __len__(self) -> int:
        return len(self.itos)

    def ids(self, text: str) -> list[int]:
        return [self.stoi.get(w, self.unk) for w in self.split(text)]

    def encode(self, a: str, b: str | None = None, *, max_len: int = 128):
        """``(input_ids, segment_ids, attention_mask)`` int64 tensors of length ``max_len``."""
        check_int("max_len", max_len, min_value=3 if b is None else 4)
        ta, tb = self.ids(a), (self.ids(b) if b is not None else None)
        room = max_len - (2 if tb is None else 3)
        if tb is None:
            ta = ta[:room]
        else:
            while len(ta) + len(tb) > room:
                (ta if len(ta) >= len(tb) else tb).pop()
        ids = [self.cls] + ta + [self.sep]
        seg = [0] * len(ids)
        if tb is not None:
            ids += tb + [self.sep]
            seg += [1] * (len(tb) + 1)
        mask = [1] * len(ids)
        pad = max_len - len(ids)
        return (torch.tensor(ids + [self.pad] * pad), torch.tensor(seg + [0] * pad),
                torch.tensor(mask + [0] * pad))


@dataclass
class GlueSplit:
    """Raw texts (``text_b`` None for single-sentence tasks) and int64 labels (-1 if unlabelled)."""

    task: str
    split: str
    text_a: list[str]
    text_b: list[str] | None
    labels: torch.Tensor
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.text_a)

    def encode(self, tokenizer: BasicTokenizer, *, max_len: int = 128) -> dict[str, torch.Tensor]:
        """Stacked ``input_ids``, ``segment_ids``, ``attention_mask`` ``[N, max_len]`` and ``labels``."""
        enc = [tokenizer.encode(a, None if self.text_b is None else self.text_b[i], max_len=max_len)
               for i, a in enumerate(self.text_a)]
        if enc:
            ids, seg, mask = (torch.stack(t) for t in zip(*enc))
        else:
            ids = seg = mask = torch.zeros(0, max_len, dtype=torch.int64)
        return {"input_ids": ids, "segment_ids": seg, "attention_mask": mask, "labels": self.labels}


def load_glue(data_dir, task: str, split: str = "train", *, verify: bool = True) -> GlueSplit:
    """Read ``split`` ("train", "dev", "test") of GLUE ``task`` ("sst2", "mrpc", "rte").

    ``data_dir`` is the GLUE root (holding ``SST-2/`` ...) or the task folder itself.
    """
    check_choice("task", task, tuple(GLUE_TASKS))
    check_choice("split", split, ("train", "dev", "test"))
    spec = GLUE_TASKS[task]
    root = check_dir("data_dir", data_dir)
    p = find_file("data_dir", root, (f"{split}.tsv",), subdirs=(spec["folder"], ""))
    checks = {str(p): verify_and_record(p, verify=verify)}
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with open(p, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise ValueError(f"{str(p)!r} is empty")
    header = [h.lstrip("\ufeff") for h in rows[0]]
    missing = [c for c in spec["text"] if c not in header]
    if missing:
        raise ValueError(f"{str(p)!r}: missing column(s) {missing} for task {task!r}; header is {header}")
    cols = [header.index(c) for c in spec["text"]]
    lab = header.index(spec["label"]) if spec["label"] in header else None
    texts: list[list[str]] = [[] for _ in cols]
    labels = []
    for n, r in enumerate(rows[1:], start=2):
        if not r or all(not c for c in r):
            continue
        if len(r) < len(header):
            raise ValueError(f"{str(p)!r} line {n}: {len(r)} fields, header has {len(header)}")
        for t, c in zip(texts, cols):
            t.append(r[c])
        if lab is None:
            labels.append(-1)
        else:
            v = r[lab].strip()
            if v not in spec["map"]:
                raise ValueError(f"{str(p)!r} line {n}: label {v!r} not in {sorted(spec['map'])}")
            labels.append(spec["map"][v])
    return GlueSplit(task, split, texts[0], texts[1] if len(texts) > 1 else None,
                     torch.tensor(labels, dtype=torch.int64),
                     {"dataset": f"glue/{task}", "checksums": checks})
