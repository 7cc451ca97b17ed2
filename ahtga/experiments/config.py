"""The configuration of one run: a dataclass with a comment on every field.

A run's config is resolved in layers, each overriding only what it names:
``RunConfig()`` defaults  <-  ``SCALE_DEFAULTS[scale]``  <-  the preset's common overrides  <-
the preset's overrides for that scale  <-  ``--set key=value`` from the command line.
Any key that is not a field is an error, ``Unknown config key: 'name'`` (with the valid keys),
at every layer, so a misspelt option never passes silently.

``--set`` values are strings coerced by the field's declared type: ``int``, ``float``, ``bool``
(true/false/1/0/yes/no/on/off), ``str``, optional types (``none`` or ``null`` -> None),
``tuple[str, ...]`` (comma-separated, empty string -> empty tuple) and ``dict`` (JSON).
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any

from .._validation import check_choice, check_in_range, check_int
from .registry import task_names

SCALES = ("tiny", "small", "full")


@dataclass
class RunConfig:
    # --- identity ---
    preset: str = "custom"              # name of the preset that produced this config (recorded)
    scale: str = "tiny"                 # tiny (sklearn digits, minutes on 2 cores) | small (offline real data) | full (GPUs)
    task: str = "classification"        # a registered task (experiments.tasks): classification | lm (next-token language modelling) | fewshot (episodes) | glue (GLUE TSV text classification)
    # --- data ---
    dataset: str = "digits"             # digits | mnist | fashion_mnist | cifar10 | cifar10_npz | ptb | tinyshakespeare | sst2 | mrpc | rte (task=glue)
    data_dir: str | None = None         # folder holding the dataset's files (needed for all but digits)
    val_fraction: float = 0.15          # fraction of the training split held out (stratified) for validation
    test_fraction: float = 0.25         # digits only: fraction of the 1797 images used as the test split
    train_fraction: float = 1.0         # low-data: fraction of the remaining training set kept (stratified)
    label_noise: float = 0.0            # fraction of training labels corrupted (validation and test stay clean)
    label_noise_kind: str = "symmetric" # symmetric (uniform over other classes) | asymmetric (class k -> fixed other class)
    normalize: bool = True              # standardise inputs with training-set mean/std per channel
    seq_len: int = 35                   # lm: tokens per training sequence (BPTT length)
    max_train_examples: int = 0         # cap on training examples after splitting (0 = no cap); for quick runs
    verify_checksums: bool = True       # check official digests of data files (off for re-encoded copies); sha256 recorded either way
    augment: str = ""                   # training augmentation: "" (none) | crop_flip (pad 4, random crop, mirror; images only)
    # --- model ---
    model: str = "mlp"                  # a name for ahtga.models.build_model
    model_kwargs: dict = field(default_factory=dict)  # keyword arguments of build_model (JSON with --set)
    # --- optimisation ---
    optimizers: tuple = ("sgd", "adam", "ahtga")  # labels: registry names or entries of presets.VARIANTS
    optimizer_kwargs: dict = field(default_factory=dict)  # extra kwargs passed to every optimizer
    ahtga_kwargs: dict = field(default_factory=dict)  # extra kwargs for AHTGA and its variants only (e.g. window)
    lr: float = 0.0                     # learning rate for every optimizer; 0 = per-optimizer default or sweep
    lr_overrides: dict = field(default_factory=dict)  # {label: lr} fixed per optimizer label (wins over all)
    lr_sweep: bool = False              # choose each optimizer's lr from optim.LR_GRIDS by validation loss
    lr_grids: dict = field(default_factory=dict)  # {label: [lr, ...]} this label's sweep grid (else VARIANT_GRIDS / LR_GRIDS)
    lr_from: str = ""                   # reuse the lr choices recorded by this preset's sweep under the same --out
    sweep_epochs: int = 0               # epochs of each sweep run (0 = same as epochs)
    epochs: int = 20                    # passes over the training set
    batch_size: int = 64                # examples per step
    lr_schedule: str = "cosine"         # constant | cosine (decay to 0 over the run, per step)
    warmup_steps: int = 0               # linear warm-up steps before the schedule
    # --- logging and evaluation ---
    eval_batch_size: int = 1024         # examples per forward pass at evaluation
    eval_every: int = 1                 # epochs between validation/test evaluations (and after the last); classification and lm
    log_every: int = 10                 # steps between logged training-loss / step-time points
    tail_every: int = 20                # steps between tail-monitor measurements (0 = off)
    tail_probe: int = 256               # probe-batch size of the tail monitor (fixed training examples)
    tail_estimator: str = "hill_db"     # estimator name in ahtga.tail.ESTIMATORS used by the monitor
    tail_pool: int = 0                  # gradient-tail study (studies.PooledTails): examples in its fixed probe set (0 = off; at most the training set)
    tail_pool_points: int = 4           # its measurements: step 0 and this many evenly spaced steps up to the last
    tail_gof_every: int = 1             # its goodness-of-fit test at every this-many-th measurement and at the last (0 = the last only)
    tail_gof_boot: int = 50             # bootstrap samples of that test's p-value (0 = fit without a p-value)
    tail_noise_batches: int = 16        # minibatches of batch_size whose gradient noise is pooled per measurement
    tail_noise_samples: int = 50000     # noise coordinates kept (seeded subsample): estimates compare at equal n
    calibration_bins: int = 15          # bins of the expected calibration error
    perturbations: tuple = ()           # test-set corruptions evaluated at the end: gaussian, blur, contrast
    ood: str = ""                       # OOD set for max-softmax detection at the end ("" = none; see studies.py)
    dynamics: bool = False              # at the end: Hessian top eigenvalue + trace; per epoch: effective rank
    eff_rank_batch: int = 64            # batch size of the per-example-gradient Gram matrix
    hessian_batch: int = 256            # examples in the loss whose Hessian is probed
    hessian_iters: int = 30             # power-iteration steps for the top eigenvalue
    hutchinson_samples: int = 20        # Rademacher probes of Hutchinson's trace estimate
    # --- execution ---
    device: str = "cpu"                 # torch device, e.g. cpu or cuda
    num_threads: int = 1                # torch intra-op threads (run-all uses one process per core)
    checkpoint_every: int = 1           # epochs between checkpoints of an unfinished run (0 = never)
    progress: bool = True               # show a tqdm bar per run
    # --- few-shot episodes (task=fewshot only) ---
    fewshot: dict = field(default_factory=dict)  # episode options merged over experiments.fewshot.FEWSHOT_DEFAULTS (JSON with --set)
    # --- GLUE text classification (task=glue only) ---
    glue: dict = field(default_factory=dict)  # options merged over experiments.glue.GLUE_DEFAULTS: max_len, min_freq, max_vocab (JSON with --set)
    hf_model: str = ""                  # a pretrained transformers model name or save_pretrained folder to fine-tune ("" = BertClassifier from scratch)


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}

# What every preset inherits at each scale before its own overrides.
SCALE_DEFAULTS: dict[str, dict[str, Any]] = {
    "tiny": {"dataset": "digits", "model": "mlp", "model_kwargs": {"hidden": [128]},
             "epochs": 20, "batch_size": 64, "tail_every": 10, "tail_probe": 256,
             "perturbations": ("gaussian", "blur", "contrast"), "ood": "permuted"},
    "small": {"dataset": "mnist", "model": "mlp", "model_kwargs": {"hidden": [512, 256]},
              "epochs": 10, "batch_size": 128, "tail_every": 100, "tail_probe": 512,
              "lr_sweep": True, "sweep_epochs": 2, "num_threads": 2},
    "full": {"dataset": "cifar10", "model": "resnet18", "model_kwargs": {"norm": "group"},
             "epochs": 200, "batch_size": 128, "tail_every": 200, "tail_probe": 1024,
             "lr_sweep": True, "sweep_epochs": 20, "device": "cuda", "eval_batch_size": 1000},
}


class UnknownConfigKey(KeyError):
    """A key that is not a field of :class:`RunConfig` (a KeyError with a readable message)."""

    def __str__(self) -> str:
        return str(self.args[0])


def unknown_key_error(key: str) -> UnknownConfigKey:
    return UnknownConfigKey(f"Unknown config key: {key!r}; valid keys: {', '.join(sorted(FIELDS))}")


def _resolved_type(name: str):
    return typing.get_type_hints(RunConfig)[name]


def coerce(key: str, text: str) -> Any:
    """Convert the string ``text`` to the declared type of field ``key`` (see module docstring)."""
    if key not in FIELDS:
        raise unknown_key_error(key)
    tp = _resolved_type(key)
    args = typing.get_args(tp)
    optional = type(None) in args
    if optional:
        if text.strip().lower() in ("none", "null"):
            return None
        tp = next(a for a in args if a is not type(None))
    origin = typing.get_origin(tp) or tp
    s = text.strip()
    try:
        if origin is bool:
            low = s.lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError("not a boolean")
        if origin is int:
            return int(s)
        if origin is float:
            return float(s)
        if origin is str:
            return text
        if origin is tuple:
            return tuple(p.strip() for p in s.split(",") if p.strip())
        if origin is dict:
            v = json.loads(s) if s else {}
            if not isinstance(v, dict):
                raise ValueError("not a JSON object")
            return v
    except ValueError as e:
        raise ValueError(f"--set {key}={text!r}: cannot convert to {tp.__name__ if hasattr(tp, '__name__') else tp}"
                         f" ({e})") from None
    raise TypeError(f"field {key!r} has an unsupported type {tp!r}")  # pragma: no cover


def parse_set(items) -> dict[str, Any]:
    """``["k=v", ...]`` -> ``{k: coerced v}``; a missing ``=`` or an unknown key is an error."""
    out: dict[str, Any] = {}
    for item in items or ():
        if "=" not in item:
            raise ValueError(f"--set expects key=value; got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = coerce(k.strip(), v)
    return out


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """A new config with ``overrides`` applied; unknown keys raise ``Unknown config key``."""
    for k in overrides:
        if k not in FIELDS:
            raise unknown_key_error(k)
    vals = {k: tuple(v) if isinstance(v, list) and _resolved_type(k) is tuple else v
            for k, v in overrides.items()}
    return validate(dataclasses.replace(cfg, **vals))


def validate(cfg: RunConfig) -> RunConfig:
    """Range and choice checks of a config (errors name the field and value); the task's own
    checks run once the whole config is resolved (``presets.resolve``)."""
    check_choice("scale", cfg.scale, SCALES)
    check_choice("task", cfg.task, task_names())
    check_choice("label_noise_kind", cfg.label_noise_kind, ("symmetric", "asymmetric"))
    check_choice("lr_schedule", cfg.lr_schedule, ("constant", "cosine"))
    check_choice("augment", cfg.augment, ("", "crop_flip"))
    check_in_range("val_fraction", cfg.val_fraction, 0.0, 1.0, hi_open=True)
    check_in_range("test_fraction", cfg.test_fraction, 0.0, 1.0, lo_open=True, hi_open=True)
    check_in_range("train_fraction", cfg.train_fraction, 0.0, 1.0, lo_open=True)
    check_in_range("label_noise", cfg.label_noise, 0.0, 1.0, hi_open=True)
    check_in_range("lr", cfg.lr, 0.0, float("inf"))
    for name in ("epochs", "batch_size", "eval_batch_size", "eval_every", "log_every", "calibration_bins",
                 "eff_rank_batch", "hessian_batch", "hessian_iters", "hutchinson_samples",
                 "num_threads", "seq_len"):
        check_int(name, getattr(cfg, name), min_value=1)
    for name in ("tail_every", "checkpoint_every", "sweep_epochs", "warmup_steps", "max_train_examples"):
        check_int(name, getattr(cfg, name), min_value=0)
    check_int("tail_probe", cfg.tail_probe, min_value=8)
    for name in ("tail_pool", "tail_gof_boot", "tail_gof_every"):
        check_int(name, getattr(cfg, name), min_value=0)
    for name in ("tail_pool_points", "tail_noise_batches"):
        check_int(name, getattr(cfg, name), min_value=1)
    check_int("tail_noise_samples", cfg.tail_noise_samples, min_value=100)
    if not cfg.optimizers:
        raise ValueError("`optimizers` must name at least one optimizer; got optimizers=()")
    if not isinstance(cfg.lr_grids, dict):
        raise ValueError(f"`lr_grids` must map optimizer labels to lists of learning rates; got "
                         f"lr_grids={cfg.lr_grids!r}")
    for lab, grid in cfg.lr_grids.items():
        ok = (isinstance(grid, (list, tuple)) and len(grid) > 0
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                      and math.isfinite(v) for v in grid))
        if not ok:
            raise ValueError(f"`lr_grids[{lab!r}]` must be a non-empty list of positive finite "
                             f"learning rates; got {grid!r}")
    return cfg


#: Fields added after result files existed: left out of :func:`to_dict` while they hold their
#: default, so the recorded config, ``runner.run_key`` and the stored-result check of every
#: earlier run stay unchanged.
OMIT_IF_DEFAULT = ("fewshot", "glue", "hf_model", "lr_grids", "eval_every", "tail_pool",
                   "tail_pool_points", "tail_gof_every", "tail_gof_boot", "tail_noise_batches",
                   "tail_noise_samples")


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """JSON-ready dict of the config (tuples as lists; ``OMIT_IF_DEFAULT`` fields left out while
    they hold their default)."""
    out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()}
    for k in OMIT_IF_DEFAULT:
        f = FIELDS[k]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if out.get(k) == default:
            out.pop(k)
    return out
