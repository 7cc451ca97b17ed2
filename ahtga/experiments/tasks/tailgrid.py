"""Presets of the gradient-tail study (issue 15, part 1): where are gradients heavy-tailed, and
does the tail index track generalization?

SGD with momentum 0.9 (the package's ``sgd``) over a learning-rate x batch-size grid, with the
gradient-tail study of :class:`ahtga.experiments.studies.PooledTails` switched on (``tail_pool``):
the tail index of the pooled per-example norms and of the minibatch gradient noise, with the
power-law goodness-of-fit test, over training.  :mod:`ahtga.experiments.correlation` reads the
results.

How the grid maps onto the registry.  A cell is (data, batch size, label noise, lr).  Batch size
and label noise are config fields, so each (data, batch, noise) is one preset; the learning rate
is per optimizer label (``lr_overrides``), so the four learning rates are four labels of one
preset -- ``sgd_x0.25``, ``sgd_x0.5``, ``sgd_x1``, ``sgd_x2``, the package's ``sgd`` at that
multiple of the data set's base lr (:data:`BASE_LR`).  The runner then resumes cell by cell
(one result file per preset/label/seed) and a preset's labels share its data.

* Base lr: the SGD lr that ``main``'s sweep chose -- 0.1 at tiny scale (digits MLP), 0.03 on
  MNIST with the small CNN (``paper/measured/small/main``); CIFAR-10 with the small CNN has no
  sweep of its own and takes MNIST's 0.03; the character LM takes ``shakespeare_char``'s 0.1.
* Constant lr (no cosine decay, no sweep): the grid IS the lr variation, and a decayed lr would
  make lr/batch at the end of training zero in every cell.
* Equal epochs in every cell (so equal examples seen and equal compute per cell; a larger batch
  takes fewer steps).  Equal steps would instead give the large batches several times more
  passes over the data, which moves the generalization gap for a reason other than the noise.
* Label noise (symmetric) 0 / 20 / 40% at the middle batch size (all four lrs).
* Batch sizes: tiny {16, 64, 256} (digits has 1146 training images), small {32, 128, 512};
  the character LM {8, 32, 128} around ``shakespeare_char``'s 32.
* Tiny (digits MLP, 10 epochs, one seed at tiny scale to keep ``make experiments`` within about
  two minutes for the family; the probe set is the whole digits training split, 1146 images,
  as the issue's n >= 1000 needs): the full 4 x 3 grid at 0% noise and 4 lrs at 20 / 40%.
* Small (MNIST and CIFAR-10 small CNN on 20000 / 10000 training images, 3 epochs; the character
  LM on 8000 sequences, 2 epochs), 3 seeds, the probe set 1024 training examples.
"""
from __future__ import annotations

from ..registry import make_preset, register_preset, register_variant

#: Learning-rate multipliers of the grid (labels ``sgd_x<m>``).
LR_MULTIPLIERS = (0.25, 0.5, 1.0, 2.0)
#: The SGD lr the grid is centred on, per (data family, scale) (module docstring).
BASE_LR = {("mnist", "tiny"): 0.1, ("mnist", "small"): 0.03, ("cifar", "small"): 0.03,
           ("char", "small"): 0.1}
#: Batch sizes per (data family, scale); the middle one carries the label-noise cells.
BATCHES = {("mnist", "tiny"): (16, 64, 256), ("mnist", "small"): (32, 128, 512),
           ("cifar", "small"): (32, 128, 512), ("char", "small"): (8, 32, 128)}
NOISE_LEVELS = (0.2, 0.4)
LABELS = tuple(f"sgd_x{m:g}" for m in LR_MULTIPLIERS)

for _lab in LABELS:
    register_variant(_lab, "sgd")


def _lrs(family: str, scale: str) -> dict:
    base = BASE_LR[(family, scale)]
    return {lab: base * m for lab, m in zip(LABELS, LR_MULTIPLIERS)}


# what every cell shares: the study on, SGD at fixed lrs, no image extras of the main study
_COMMON = {"optimizers": LABELS, "lr_sweep": False, "lr_schedule": "constant", "tail_every": 0,
           "perturbations": (), "ood": "", "tail_gof_boot": 50, "tail_noise_batches": 16,
           "tail_noise_samples": 50000}
_TINY = {"epochs": 10, "tail_pool": 2000, "tail_pool_points": 2, "tail_gof_every": 0,
         "tail_gof_boot": 20, "lr_overrides": _lrs("mnist", "tiny"), "checkpoint_every": 0}
# small: 5 measurements (step 0 and every quarter), the goodness-of-fit test at 0, 1/2 and the
# end, 8 noise minibatches: one measurement of the small CNN costs about as much as ~3000
# examples' forward and backward passes (time it from final.tail_pool.seconds)
# validation and test are evaluated after the last epoch only (eval_every = 3 >= epochs): the
# study reads final metrics, and per-epoch evaluation took a third of a small MNIST run
_SMALL_BASE = {"tail_pool": 1024, "tail_pool_points": 4, "tail_gof_every": 2, "num_threads": 1,
               "epochs": 3, "tail_noise_batches": 8, "eval_every": 3}
_SMALL = {"mnist": {**_SMALL_BASE, "dataset": "mnist", "model": "small_cnn", "model_kwargs": {},
                    "max_train_examples": 20000, "lr_overrides": _lrs("mnist", "small")},
          "cifar": {**_SMALL_BASE, "dataset": "cifar10", "model": "small_cnn", "model_kwargs": {},
                    "max_train_examples": 10000, "verify_checksums": False,
                    "lr_overrides": _lrs("cifar", "small")},
          "char": {**_SMALL_BASE, "task": "lm", "dataset": "tinyshakespeare",
                   "model": "transformer_lm", "seq_len": 64, "epochs": 2,
                   "model_kwargs": {"dim": 128, "depth": 2, "heads": 4}, "eval_batch_size": 256,
                   "max_train_examples": 8000, "lr_overrides": _lrs("char", "small")}}
SEEDS = {"tiny": (0,), "small": (0, 1, 2)}


def _presets():
    """(name, description, tiny overrides or None, small overrides or None) of every cell group."""
    out = []
    for i in range(3):
        bt, bs = BATCHES[("mnist", "tiny")][i], BATCHES[("mnist", "small")][i]
        out.append((f"tailgrid_b{i + 1}", f"gradient-tail study: SGD lr grid x4 at batch {bt} "
                    f"(tiny, digits MLP) / {bs} (small, MNIST small CNN)",
                    {**_TINY, "batch_size": bt}, {**_SMALL["mnist"], "batch_size": bs}))
    for r in NOISE_LEVELS:
        bt, bs = BATCHES[("mnist", "tiny")][1], BATCHES[("mnist", "small")][1]
        out.append((f"tailgrid_noise{int(r * 100)}", f"gradient-tail study: SGD lr grid x4, "
                    f"{int(r * 100)}% symmetric label noise, batch {bt} (tiny) / {bs} (small)",
                    {**_TINY, "batch_size": bt, "label_noise": r},
                    {**_SMALL["mnist"], "batch_size": bs, "label_noise": r}))
    for i, b in enumerate(BATCHES[("cifar", "small")]):
        out.append((f"tailgrid_cifar_b{i + 1}", f"gradient-tail study: SGD lr grid x4, CIFAR-10 "
                    f"small CNN, batch {b}", None, {**_SMALL["cifar"], "batch_size": b}))
    for r in NOISE_LEVELS:
        b = BATCHES[("cifar", "small")][1]
        out.append((f"tailgrid_cifar_noise{int(r * 100)}", f"gradient-tail study: SGD lr grid x4, "
                    f"CIFAR-10 small CNN, {int(r * 100)}% symmetric label noise, batch {b}", None,
                    {**_SMALL["cifar"], "batch_size": b, "label_noise": r}))
    for i, b in enumerate(BATCHES[("char", "small")]):
        out.append((f"tailgrid_char_b{i + 1}", f"gradient-tail study: SGD lr grid x4, "
                    f"tiny-shakespeare character Transformer, batch {b}", None,
                    {**_SMALL["char"], "batch_size": b}))
    return out


#: Names of the presets of the family, in run order.
PRESET_NAMES = []
for _name, _desc, _tiny, _small in _presets():
    register_preset(make_preset(_name, "tailgrid", _desc, common=_COMMON, tiny=_tiny, small=_small,
                                seeds={s: SEEDS[s] for s in ("tiny", "small")
                                       if (_tiny if s == "tiny" else _small) is not None}))
    PRESET_NAMES.append(_name)
