"""GLUE text classification in the runner (``task="glue"``): SST-2 (single sentence) and the pair
tasks MRPC and RTE, from the official GLUE TSV files (Wang et al. 2019; ``ahtga.data.load_glue``).

Data (``dataset`` = ``sst2`` | ``mrpc`` | ``rte``, files under ``data_dir``: the GLUE root holding
``SST-2/train.tsv`` ... or the task folder itself).  No GLUE file ships with the package and none
can be downloaded here: every GLUE run needs ``--data-dir``.
* Splits.  GLUE's test labels are hidden (scored only by the GLUE server), so the *test* metrics
  of a result (``final.test_acc`` ...) are measured on the **official dev split** (``dev.tsv``),
  as is usual in papers that report GLUE dev results; the *validation* split (what the
  learning-rate sweep chooses by) is a stratified ``val_fraction`` of ``train.tsv`` held out with
  split seed 0, the same for every run seed.  ``test.tsv`` is never read.
* Then, with the run's seed, as for the other classification data sets (``_data.prepare``): the
  low-data subset ``train_fraction``, the cap ``max_train_examples`` and label noise on the
  training labels only.
* Tokenisation.  From-scratch models: :class:`ahtga.data.BasicTokenizer` (lower-cased words and
  punctuation) with a vocabulary fitted on the training part after the validation hold-out (so no
  held-out or dev text enters it), words seen at least ``glue.min_freq`` times, at most
  ``glue.max_vocab`` words (0 = all).  Pretrained models (``hf_model``): that model's own
  tokenizer (``transformers.AutoTokenizer``).  Pairs are ``[CLS] a [SEP] b [SEP]`` with segment
  ids 0/1, truncated to ``glue.max_len`` tokens (longest part first) and padded to it; the
  attention mask marks the padding (keys at padded positions are masked in every attention).
* One input tensor.  An example is packed as ``x[i] = stack(input_ids, segment_ids,
  attention_mask)``, int64 ``[3, max_len]``, so the runner's batching, evaluation, tail monitor
  and calibration code handle GLUE like any classification data; :class:`PackedInputs` unpacks
  it for the model.  Input standardisation, corruptions and OOD sets do not apply (a run that
  asks for ``perturbations`` or ``ood`` is refused).

Models (``BertClassifier`` from scratch, or ``hf_model``) and the training are the task's:
:mod:`ahtga.experiments.tasks.glue`.

Options (``RunConfig.glue``, merged over :data:`GLUE_DEFAULTS`; unknown keys are an error):
``max_len`` (tokens per example), ``min_freq``, ``max_vocab``.
"""
from __future__ import annotations

from typing import Any

import torch

from .. import data as D
from .._validation import check_int
from ..data.glue import GLUE_TASKS
from ._data import Prepared, subset_train, tensor_digest
from .config import RunConfig

#: Options of ``RunConfig.glue``.
GLUE_DEFAULTS: dict[str, Any] = {
    "max_len": 128,     # tokens per example after truncation, padded to this length
    "min_freq": 1,      # BasicTokenizer: keep words seen at least this often in the training part
    "max_vocab": 0,     # BasicTokenizer: at most this many words (most frequent first); 0 = all
}


def tasks() -> tuple[str, ...]:
    return tuple(GLUE_TASKS)


def options(cfg: RunConfig) -> dict[str, Any]:
    """``GLUE_DEFAULTS`` updated by ``cfg.glue``, checked (errors name the key and value)."""
    unknown = sorted(set(cfg.glue) - set(GLUE_DEFAULTS))
    if unknown:
        raise KeyError(f"unknown glue option(s) {unknown}; valid: {', '.join(GLUE_DEFAULTS)}")
    o = {**GLUE_DEFAULTS, **cfg.glue}
    check_int("glue.max_len", o["max_len"], min_value=4)
    check_int("glue.min_freq", o["min_freq"], min_value=1)
    check_int("glue.max_vocab", o["max_vocab"], min_value=0)
    return o


def _missing_files_error(cfg: RunConfig, err: Exception | None = None) -> FileNotFoundError:
    folder = GLUE_TASKS[cfg.dataset]["folder"]
    return FileNotFoundError(
        f"GLUE task {cfg.dataset!r} needs its official TSV files: pass --data-dir DIR (or --set "
        f"data_dir=DIR), the GLUE root holding {folder}/train.tsv and {folder}/dev.tsv or the "
        f"{folder} folder itself; GLUE files do not ship with ahtga and cannot be downloaded here; "
        f"got data_dir={cfg.data_dir!r}" + (f" ({err})" if err is not None else ""))


def check(cfg: RunConfig) -> None:
    """Refuse settings that do not apply to text (errors name the field and value)."""
    if cfg.dataset not in tasks():
        raise ValueError(f"`dataset` must be one of {list(tasks())} for task=glue; got dataset={cfg.dataset!r}")
    if cfg.perturbations:
        raise ValueError(f"`perturbations` are image corruptions and do not apply to task=glue; "
                         f"got perturbations={tuple(cfg.perturbations)!r}")
    if cfg.ood:
        raise ValueError(f"`ood` sets are image sets and do not apply to task=glue; got ood={cfg.ood!r}")
    if cfg.augment:
        raise ValueError(f"`augment` is an image augmentation and does not apply to task=glue; "
                         f"got augment={cfg.augment!r}")
    options(cfg)


# ----------------------------------------------------------------------------- data
def _encode_basic(split, tok, max_len: int) -> tuple[torch.Tensor, int]:
    enc = split.encode(tok, max_len=max_len)
    x = torch.stack([enc["input_ids"], enc["segment_ids"], enc["attention_mask"]], 1)
    # examples cut by truncation: full length = [CLS] + tokens (+ [SEP] + tokens) + [SEP]
    n_cut = 0
    for i, a in enumerate(split.text_a):
        n = len(tok.split(a)) + 2
        if split.text_b is not None:
            n += len(tok.split(split.text_b[i])) + 1
        n_cut += int(n > max_len)
    return x, n_cut


def _encode_hf(split, tok, max_len: int) -> tuple[torch.Tensor, int]:
    args = (list(split.text_a),) if split.text_b is None else (list(split.text_a), list(split.text_b))
    full = tok(*args, truncation=False, padding=False)["input_ids"]
    n_cut = sum(int(len(f) > max_len) for f in full)
    enc = tok(*args, truncation=True, padding="max_length", max_length=max_len, return_tensors="pt")
    ids = enc["input_ids"].long()
    seg = enc["token_type_ids"].long() if "token_type_ids" in enc else torch.zeros_like(ids)
    return torch.stack([ids, seg, enc["attention_mask"].long()], 1), n_cut


def prepare(cfg: RunConfig, seed: int):
    """Load, split, tokenise and pack the data of one GLUE run (see the module docstring);
    returns an ``_data.Prepared`` whose ``test_*`` hold the official dev split."""
    check(cfg)
    o = options(cfg)
    if not cfg.data_dir:
        raise _missing_files_error(cfg)
    try:
        train = D.load_glue(cfg.data_dir, cfg.dataset, "train", verify=cfg.verify_checksums)
        dev = D.load_glue(cfg.data_dir, cfg.dataset, "dev", verify=cfg.verify_checksums)
    except FileNotFoundError as e:
        raise _missing_files_error(cfg, e) from None
    y = train.labels
    idx = torch.arange(len(train))
    if cfg.val_fraction > 0:
        tr, va = D.stratified_split(y, cfg.val_fraction, seed=0)
    else:
        tr, va = idx, idx[:0]

    def sub(split, rows):
        rows = [int(i) for i in rows]
        return D.GlueSplit(split.task, split.split, [split.text_a[i] for i in rows],
                           None if split.text_b is None else [split.text_b[i] for i in rows],
                           split.labels[rows], split.meta)

    tr_split, va_split = sub(train, tr), sub(train, va)
    L = o["max_len"]
    if cfg.hf_model:
        from ..models.hf import require_transformers
        tf = require_transformers()
        tok = tf.AutoTokenizer.from_pretrained(cfg.hf_model)
        encode = _encode_hf
        vocab_size = len(tok)
        tok_info = {"tokenizer": f"transformers.AutoTokenizer({cfg.hf_model!r})",
                    "transformers_version": tf.__version__}
    else:
        texts = list(tr_split.text_a) + (list(tr_split.text_b) if tr_split.text_b is not None else [])
        tok = D.BasicTokenizer.fit(texts, min_freq=o["min_freq"], max_size=o["max_vocab"] or None)
        encode = _encode_basic
        vocab_size = len(tok)
        tok_info = {"tokenizer": "ahtga.data.BasicTokenizer (fitted on the training part)"}
    x, cut_tr = encode(tr_split, tok, L)
    val_x, _ = encode(va_split, tok, L)
    test_x, cut_te = encode(dev, tok, L)
    y, val_y, test_y = tr_split.labels.long(), va_split.labels.long(), dev.labels.long()
    if bool((test_y < 0).any()):
        raise ValueError(f"the dev split of GLUE task {cfg.dataset!r} has unlabelled rows; got data_dir={cfg.data_dir!r}")
    num_classes = len(set(D.GLUE_TASKS[cfg.dataset]["map"].values()))
    x, y = subset_train(cfg, x, y, seed)
    y_clean = y.clone()
    info: dict[str, Any] = {}
    if cfg.label_noise > 0:
        if cfg.label_noise_kind != "symmetric":
            raise ValueError(f"`label_noise_kind` must be 'symmetric' for task=glue (two classes: "
                             f"asymmetric flips need a class map); got label_noise_kind={cfg.label_noise_kind!r}")
        y, _ = D.symmetric_label_noise(y, cfg.label_noise, num_classes, seed=seed)
    info.update({
        "dataset": cfg.dataset, "task": "glue", "data_dir": cfg.data_dir,
        "files": {"train": dict(train.meta), "dev": dict(dev.meta)},
        "glue": o, "vocab_size": int(vocab_size), **tok_info,
        "n_train": int(x.shape[0]), "n_val": int(val_x.shape[0]), "n_test": int(test_x.shape[0]),
        "num_classes": num_classes, "input_shape": list(x.shape[1:]),
        "truncated_train_frac": cut_tr / max(1, len(tr_split)),
        "truncated_test_frac": cut_te / max(1, len(dev)),
        "label_noise_realised": float((y != y_clean).double().mean()) if y.numel() else 0.0,
        "majority_test_acc": float(torch.bincount(test_y, minlength=num_classes).max()) / max(1, len(test_y)),
        "sha256_train": tensor_digest(x, y), "sha256_val": tensor_digest(val_x, val_y),
        "sha256_test": tensor_digest(test_x, test_y), "normalization": None,
        "notes": ["test_* metrics are on GLUE's official dev split (dev.tsv): GLUE test labels are "
                  "hidden; validation (the lr sweep's criterion) is a stratified val_fraction of "
                  "train.tsv held out with split seed 0"],
    })
    return Prepared(x, y, y_clean, val_x, val_y, test_x, test_y, num_classes, info, raw_test_x=test_x)
