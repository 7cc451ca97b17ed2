"""Named experiment presets and the optimizer variants they compare.

A preset overrides only what differs from the scale defaults (``config.SCALE_DEFAULTS``): a
``common`` dict for every scale and one dict per scale it supports.  ``--set`` overrides last.
``seeds`` gives the default seeds per scale.  ``python -m ahtga.experiments list`` prints them.

Optimizer labels.  A label in a config's ``optimizers`` is a registry name of
``ahtga.optim.build_optimizer`` or a key of :data:`VARIANTS`, which maps it to a registry name
and keyword arguments (the ablations compare AHTGA variants side by side); the result files use
the label: ``OUT/<preset>/<label>/seed<k>.json``.  :data:`VARIANT_GRIDS` gives a learning-rate
grid for a variant whose scale differs from its base optimizer's (the raw sign form).

Tiny scale (``run-all --scale tiny``; scikit-learn digits, MLP 64-128-10, 20 epochs of batch 64,
about 19 steps per epoch).  ``main`` sweeps each optimizer's lr over ``LR_GRIDS`` (seed 0,
10 epochs, chosen by validation accuracy) and every other preset reuses those choices
(``lr_from="main"``; AHTGA variants reuse AHTGA's).  A run that two presets share exactly
(``runner.run_key``: e.g. the plain ``ahtga`` row of each ablation and ``main``'s) is trained once
and copied, with ``reused_from`` naming the source.  Studies:
* main comparison -- ``main``: all optimizers, seeds 0-2.  Every tiny run also measures
  test-time input corruptions (Gaussian noise, blur, contrast) and max-softmax OOD detection
  against pixel-permuted digits (the tiny OOD choice; see ``studies.py``): evaluation only, so
  the robustness-to-inputs study reads ``main``;
* robustness to label noise -- ``noise_sym20``, ``noise_sym40``, ``noise_asym20``, ``noise_asym40``;
* dynamics -- ``dynamics``: tail index of the per-example gradient norms every 5 steps for every
  optimizer, effective rank per epoch, Hessian top eigenvalue and trace at the end;
* ablations -- ``ablate_target`` (fixed vs adaptive alpha*), ``ablate_transform`` (direction vs
  sign forms vs the exact exponent), ``ablate_c1``, ``ablate_c2``, ``ablate_beta2``,
  ``ablate_estimator``;
* low data -- ``lowdata_10`` and ``lowdata_1`` (10% and 1% of the training split; 1% of digits
  is 10 images, one per class, so a batch is the whole set: AHTGA pools the norms of its last 4
  steps (``window=4``) to have the 32 its estimator needs -- a degenerate regime, reported as such).
Small scale: MNIST / Fashion-MNIST (IDX files under ``--data-dir``), CIFAR-10 (python batches or
the npz of uint8 x/y), Penn Treebank (LSTM) and tiny-shakespeare (character Transformer).
Few-shot episodes (``task="fewshot"``, :mod:`ahtga.experiments.fewshot`; study ``fewshot``):
``fewshot_tiny`` (digits, classes 0-4 train / 5-9 test, 5-way, trained 1-shot with 7 queries per class (35 per-example losses per step), tested 1- and
5-shot; Prototypical Networks on a 32-channel Conv-4 with GroupNorm at 16x16; registry default
learning rates, no sweep; not part of ``run-all`` unless ``run_all`` is set) and
``fewshot_omniglot`` (small scale: Omniglot npz under ``--data-dir``, background -> train,
evaluation -> test, 5-way 1-shot training, 1/5-shot tests and Lake's 20 one-shot runs;
64-channel Conv-4 at 28x28; lr sweep over 2 epochs).  ``fewshot_tiny_fomaml`` is the same
digits setting with first-order MAML.  An example is a query (see the fewshot module): AHTGA
gets exact per-query gradients from :class:`ahtga.engine.RowGroupEngine` (``ahtga_kwargs``
``mode="rows"``) for ProtoNet and from the batched-autograd reference for FOMAML.  Full scale: the source proposal's CIFAR-10
ResNet-18 (GroupNorm) setting for GPUs (several GPUs: ``torchrun``, see
:mod:`ahtga.experiments.distributed`).
GLUE text classification (``task="glue"``, :mod:`ahtga.experiments.glue`), small scale only and
not part of ``run-all``: ``glue_sst2`` (SST-2, 20000 training sentences, 3 epochs) and
``glue_mrpc`` (MRPC pairs, 10 epochs; ``--set dataset=rte`` for RTE), a 2-layer width-128
BERT-style encoder (PyTorch's default initialisation, see :mod:`ahtga.models.bert`) trained from
scratch on BasicTokenizer ids, lr swept per optimizer on a
held-out 15% of train.tsv.  GLUE files are not available offline here: these presets need
``--data-dir`` with the official TSVs and say so when they are absent.  Test metrics are on the
official dev split (GLUE test labels are hidden).  ``--set hf_model=NAME`` (optional
``transformers``) fine-tunes a pretrained model instead (AHTGA then in ``mode="reference"``).
"""
from __future__ import annotations

from .config import FIELDS, SCALES, RunConfig, SCALE_DEFAULTS, apply_overrides, unknown_key_error
from .optimizers import check_labels
from .registry import (PRESETS, SEEDS, VARIANT_GRIDS, VARIANTS, Preset, RunSource, get_task,
                       load_plugins, make_preset, register_preset, register_variant)

__all__ = ["PRESETS", "VARIANTS", "VARIANT_GRIDS", "ADAPTIVITY", "Preset", "resolve", "default_seeds",
           "presets_at", "run_all_presets", "check_optimizers"]

MAIN = ("sgd", "adam", "clipped_sgd", "normalized_sgd", "tailopt", "signsgd", "signum",
        "ahtga", "ahtga_sign", "ahtga_source", "ahtga_rescaled")
ROBUST = ("sgd", "adam", "clipped_sgd", "tailopt", "ahtga")

# label -> (registry name, kwargs); the source's sign form takes steps about sqrt(d) times
# AHTGA's direction form (d ~ 1e4 parameters at tiny scale), so it has its own lr grid
register_variant("ahtga_sign", "ahtga", {"transform": "sign_normalized"})
register_variant("ahtga_sign_raw", "ahtga", {"transform": "sign"},
                 grid=(0.03, 0.01, 0.003, 0.001, 0.0003))
register_variant("ahtga_exact", "ahtga", {"exponent": "exact"})
# Targets in relative units (issue 15): alpha* = ratio x a reference read by the tracker (see
# ahtga.control.RelativeTarget); plain ``ahtga`` is ratio 0.9 to the running median of the last
# 50 estimates (ahtga.optim.DEFAULT_TARGET).  The warm-up (gamma = 0) and the horizon are the
# default's, so the variants differ from plain ahtga only in the ratio's schedule/reference.
_REL = {"name": "relative", "warmup": 50, "horizon": 50}
# a constant target: ratio 0.9 to the median of the warm-up's estimates, fixed afterwards
register_variant("ahtga_fixed", "ahtga", {"target": {**_REL, "base": 0.9, "reference": "warmup"}})
# a linear ramp of the ratio, heavier than the reading at the start (0.7) to lighter (1.1) at
# step 200 (about 12 of the 20 tiny epochs; at small scale the ramp ends within the 1st epoch)
register_variant("ahtga_linear", "ahtga", {"target": {**_REL, "reference": "running", "base": {
    "name": "linear", "a_min": 0.7, "a_max": 1.1, "t_trans": 200}}})
# The validation rule on a relative base: its offsets are added to the ratio (alpha* = ref x
# max(alpha_min, 0.9 + offset)), so delta = 0.1 moves the target by 10% of the reference and the
# offset bounds +-0.5 keep the ratio in [0.4, 1.4] -- the same units as the other ratios, where
# the absolute rule's delta = 0.1 was a step of the index itself.  One report per epoch:
# 1146 // 64 = 17 steps per epoch at tiny scale (at small scale reports are per epoch too).
register_variant("ahtga_validation", "ahtga", {"target": {**_REL, "reference": "running", "base": {
    "name": "validation", "base": 0.9, "eval_frequency": 17}}})
# the source's absolute target 1.5 with the package's other defaults (pooled hill_lepski,
# bounded quadratic rule), for comparison with the relative default
register_variant("ahtga_abs15", "ahtga", {"target": 1.5})
register_variant("ahtga_gamma0", "ahtga", {"exponent": {"name": "fixed", "gamma": 0.0}})
# a wider clamp of the single estimate: light-tailed norms (readings above 5) are not pinned at
# the clamp, so the relative target can follow them (small-scale CIFAR-10 read >5 in 97% of steps)
# (the default since 2026-12-04; the variant's runs predate it and keep their label)
register_variant("ahtga_clamp50", "ahtga", {"alpha_clamp": (0.1, 50.0)})
# the earlier default clamp (0.1, 5), explicitly: the configuration of every AHTGA run made before
# 2026-12-04 that did not set a clamp
register_variant("ahtga_clamp5", "ahtga", {"alpha_clamp": (0.1, 5.0)})


def _matched_gamma(result: dict) -> dict:
    """A fixed exponent at the mean gamma of an adaptive AHTGA result (``final.regime``: the
    mean over all its steps, the warm-up's gamma = 0 included)."""
    if result["final"].get("diverged"):
        raise ValueError("that run diverged")
    regime = result["final"].get("regime")
    if not regime or regime.get("gamma_mean") is None:
        raise ValueError("its final.regime has no gamma_mean (not an AHTGA run, or written before "
                         "the regime was logged)")
    return {"exponent": {"name": "fixed", "gamma": float(regime["gamma_mean"])}}


# the adaptivity control: AHTGA's transform with gamma fixed at the adaptive run's mean gamma
# (same preset, same seed), so only the adaptation of gamma differs
register_variant("ahtga_gamma_matched", "ahtga", {},
                 from_run=RunSource("ahtga", _matched_gamma, "gamma (the mean gamma of its run)"))
# the same control where the controller operates with the wider clamp (CIFAR-10, Fashion-MNIST:
# with the default clamp it is pinned there): gamma fixed at ahtga_clamp50's mean gamma
register_variant("ahtga_clamp50_gamma_matched", "ahtga", {"alpha_clamp": (0.1, 50.0)},
                 from_run=RunSource("ahtga_clamp50", _matched_gamma,
                                    "gamma (the mean gamma of its run)"))
#: The adaptivity presets: preset -> (the adaptive label, its gamma-matched control, gamma = 0).
#: On CIFAR-10 and Fashion-MNIST the earlier default clamp (0.1, 5) pinned plain AHTGA (readings
#: above 5 in 96-97% of steps, see paper/measured/README.md), so the adaptive run there is
#: ``ahtga_clamp50`` (measured before (0.1, 50) became the default; the same configuration as
#: today's ``ahtga``).  ``gamma = 0`` does not read the clamp.
_CLAMP50_CONTROL = ("ahtga_clamp50", "ahtga_clamp50_gamma_matched", "ahtga_gamma0")
ADAPTIVITY = {"adaptivity": ("ahtga", "ahtga_gamma_matched", "ahtga_gamma0"),
              "adaptivity_cifar": _CLAMP50_CONTROL, "adaptivity_fashion": _CLAMP50_CONTROL}
# the source's full configuration: the unbounded quadratic rule, absolute alpha* = 1.5, a
# one-batch estimate (window=1) by the double bootstrap (hill_db); the clamp (0.1, 5) it was
# measured with (the default before the clamp became (0.1, 50)): the unbounded rule at an absolute
# target turns light-tailed readings up to 50 into gamma in the hundreds
register_variant("ahtga_source", "ahtga", {"exponent": "quadratic", "target": 1.5, "window": 1,
                                           "estimator": "hill_db", "alpha_clamp": (0.1, 5.0)})
register_variant("ahtga_gmax1", "ahtga", {"exponent": {"name": "quadratic", "gamma_max": 1.0}})
# coefficients divided by their batch mean: reweighting without step-size inflation
register_variant("ahtga_rescaled", "ahtga", {"rescale": "mean"})
for _c in (0.1, 0.5, 1.0):
    register_variant(f"ahtga_c1_{_c}", "ahtga", {"exponent": {"name": "quadratic", "c1": _c,
                                                              "gamma_max": 0.5}})
    register_variant(f"ahtga_c2_{_c}", "ahtga", {"exponent": {"name": "quadratic", "c2": _c,
                                                              "gamma_max": 0.5}})
for _b in (0.5, 0.99):
    register_variant(f"ahtga_b2_{_b}", "ahtga", {"betas": (0.9, _b)})
#: The dose-response ratios alpha* / ref (ref: the running median of the recent readings):
#: below 1 asks for heavier tails than read, above 1 for lighter.
DOSE_RATIOS = (0.6, 0.75, 0.9, 1.0, 1.2, 1.5)
for _r in DOSE_RATIOS:
    # coefficients divided by their batch mean (rescale="mean"): every ratio takes the same
    # effective step size, so the ratios differ in the weighting's shape, not its scale
    register_variant(f"ahtga_dose_{_r}", "ahtga", {"rescale": "mean", "target": {
        **_REL, "base": _r, "reference": "running"}})
_DOSE_OPTIMIZERS = ("ahtga_gamma0",) + tuple(f"ahtga_dose_{r}" for r in DOSE_RATIOS)
ESTIMATOR_VARIANTS = ("hill", "hill_db_sqrt", "hill_rbc", "moment", "pickands")
for _e in ESTIMATOR_VARIANTS:
    register_variant(f"ahtga_est_{_e}", "ahtga", {"estimator": _e})

_SEEDS = SEEDS
_REUSE = {"lr_from": "main"}
# the MNIST setting of `main` at small scale: every preset that reuses its learning rates
# (lr_from="main") trains the same model on the same data (checked by the preset tests)
_SMALL_MNIST = {"dataset": "mnist", "model": "small_cnn", "model_kwargs": {}}
# the CPU-sized CIFAR-10 setting of `main_cifar` (the small CNN of the MNIST runs on 10000
# training images; the JPEG copy of ../shared fails the official checksums, hence
# verify_checksums=False there: say so beside any number); Fashion-MNIST as in `main_fashion`, and
# on the same 10000 training images (the controller's regime runs of `main_fashion` were made so)
_SMALL_CIFAR = {"dataset": "cifar10", "model": "small_cnn", "model_kwargs": {},
                "max_train_examples": 10000, "verify_checksums": False, "ood": "permuted"}
_SMALL_FASHION = {"dataset": "fashion_mnist", "model": "small_cnn", "model_kwargs": {}}
_SMALL_FASHION_10K = {**_SMALL_FASHION, "max_train_examples": 10000}
#: the test-time input corruptions of the main comparisons
_CORRUPT = ("gaussian", "blur", "contrast")


_p = make_preset


FEWSHOT_OPTIMIZERS = ("sgd", "adam", "clipped_sgd", "normalized_sgd", "tailopt", "signsgd", "signum",
                      "ahtga")
_FEWSHOT = {"task": "fewshot", "model": "protonet", "optimizers": FEWSHOT_OPTIMIZERS,
            # ProtoNet: exact per-query gradients from an expanded batch (RowGroupEngine);
            # FOMAML below keeps the batched-autograd reference
            "ahtga_kwargs": {"mode": "rows"}, "perturbations": (), "ood": "", "tail_every": 0,
            "lr_schedule": "constant"}
_FEWSHOT_TINY = {**_FEWSHOT, "dataset": "digits", "lr_sweep": False, "checkpoint_every": 0,
                 "epochs": 3, "log_every": 5,
                 "model_kwargs": {"backbone": "conv4", "hidden": 32, "norm": "group"},
                 "fewshot": {"method": "protonet", "ways": 5, "shots": 1, "queries": 7,
                             "test_shots": [1, 5], "episodes_per_epoch": 20, "val_episodes": 20,
                             "test_episodes": 100, "image_size": 16, "train_classes": 5}}

GLUE_OPTIMIZERS = ("sgd", "adam", "clipped_sgd", "tailopt", "ahtga")
_GLUE = {"task": "glue", "model": "bert", "optimizers": GLUE_OPTIMIZERS, "lr_sweep": True,
         "perturbations": (), "ood": "", "augment": "", "num_threads": 2, "eval_batch_size": 256,
         "warmup_steps": 100,
         # init="torch": BERT's N(0, 0.02) leaves SGD-type optimizers at the constant predictor
         # from scratch (ahtga.models.bert)
         "model_kwargs": {"dim": 128, "depth": 2, "heads": 4, "dropout": 0.1, "init": "torch"}}


for _preset in [
    _p("main", "main", "all optimizers; accuracy, calibration, curves, corruptions, OOD",
       common={"optimizers": MAIN, "lr_sweep": True, "perturbations": _CORRUPT},
       tiny={"sweep_epochs": 0},   # sweep runs as long as the runs they choose for
       small={**_SMALL_MNIST, "ood": "fashion_mnist"},
       full={}),
    _p("main_fashion", "main", "all optimizers on Fashion-MNIST (small CNN)",
       common={"optimizers": MAIN, "lr_sweep": True, "perturbations": _CORRUPT},
       small=_SMALL_FASHION),
    # the CPU-sized CIFAR-10 comparison (ResNet-18 is the `cifar10` preset's, for a GPU; the
    # setting: _SMALL_CIFAR)
    _p("main_cifar", "main", "CIFAR-10 with the small CNN (CPU-sized comparison)",
       common={"optimizers": ROBUST, "lr_sweep": True, "perturbations": _CORRUPT},
       small=_SMALL_CIFAR),
    _p("cifar10", "main", "CIFAR-10, ResNet-18 with GroupNorm (JPEG re-encoded copy here)",
       common={"optimizers": ("sgd", "adam", "clipped_sgd", "tailopt", "ahtga", "ahtga_sign"),
               "lr_sweep": True, "dataset": "cifar10", "model": "resnet18",
               "model_kwargs": {"norm": "group"}, "perturbations": _CORRUPT},
       small={"epochs": 15, "batch_size": 128, "num_threads": 2, "sweep_epochs": 3,
              "max_train_examples": 10000, "verify_checksums": False, "augment": "crop_flip"},
       full={"epochs": 200, "augment": "crop_flip"}),
    *[_p(f"noise_{kind[:3] if kind == 'symmetric' else 'asym'}{int(r * 100)}", "robustness",
         f"{kind} label noise, {int(r * 100)}% of training labels",
         common={"optimizers": ROBUST, "label_noise": r, "label_noise_kind": kind, **_REUSE},
         tiny={}, small=_SMALL_MNIST,
         full={"dataset": "cifar10"}, seeds=_SEEDS)
      for kind in ("symmetric", "asymmetric") for r in (0.2, 0.4)],
    _p("dynamics", "dynamics", "tail index of gradient norms over training (all optimizers), "
       "effective rank per epoch, Hessian top eigenvalue and trace at the end",
       common={"optimizers": MAIN, "dynamics": True, **_REUSE},
       tiny={"tail_every": 5}, small=_SMALL_MNIST,
       full={"dataset": "cifar10", "hessian_batch": 512}),
    _p("ptb_lstm", "main", "Penn Treebank word-level LM, 2-layer LSTM; perplexity "
       "(an example = a sequence of seq_len tokens, stateless BPTT)",
       common={"task": "lm", "dataset": "ptb", "model": "lstm_lm", "seq_len": 35,
               "optimizers": ("sgd", "adam", "clipped_sgd", "tailopt", "ahtga"), "lr_sweep": True,
               "perturbations": (), "ood": "", "lr_schedule": "cosine"},
       small={"model_kwargs": {"emb_dim": 200, "hidden": 200, "layers": 2}, "epochs": 6,
              "batch_size": 32, "sweep_epochs": 1, "tail_every": 200, "eval_batch_size": 256},
       full={"model_kwargs": {"emb_dim": 650, "hidden": 650, "layers": 2, "dropout": 0.5},
             "epochs": 39, "batch_size": 64, "sweep_epochs": 6}),
    _p("shakespeare_char", "main", "tiny-shakespeare character-level LM, small Transformer",
       common={"task": "lm", "dataset": "tinyshakespeare", "model": "transformer_lm", "seq_len": 64,
               "optimizers": ("sgd", "adam", "clipped_sgd", "tailopt", "ahtga"), "lr_sweep": True,
               "perturbations": (), "ood": ""},
       small={"model_kwargs": {"dim": 128, "depth": 2, "heads": 4}, "epochs": 2, "batch_size": 32,
              "sweep_epochs": 1, "tail_every": 200, "eval_batch_size": 256, "max_train_examples": 8000}),
    _p("ablate_target", "ablation", "alpha* in relative units: running reference (plain ahtga), "
       "fixed warm-up reference, linear ramp of the ratio, validation-driven ratio; and the "
       "source's absolute alpha* = 1.5",
       common={"optimizers": ("ahtga", "ahtga_fixed", "ahtga_linear", "ahtga_validation",
                              "ahtga_abs15"), **_REUSE},
       tiny={}, small=_SMALL_MNIST),
    _p("adaptivity", "controller", "the adaptivity control: AHTGA against the same transform with "
       "gamma fixed at the adaptive run's mean gamma for the same seed (ahtga_gamma_matched, "
       "trained after ahtga) and with gamma = 0 (ahtga_gamma0); lr of AHTGA's main sweep",
       common={"optimizers": ("ahtga", "ahtga_gamma_matched", "ahtga_gamma0"), **_REUSE},
       tiny={}, small=_SMALL_MNIST),
    *[_p(name, "controller", f"the adaptivity control on {what} where the controller operates "
         "(ahtga_clamp50: with the default clamp it is pinned there) against gamma fixed at that "
         "run's mean gamma for the same seed and gamma = 0; lr of AHTGA's sweep in "
         f"{src} (the setting of {src}'s small runs)",
         common={"optimizers": ADAPTIVITY[name], "lr_from": src, "perturbations": _CORRUPT},
         small=small)
      for name, what, src, small in (
          ("adaptivity_cifar", "CIFAR-10 (small CNN, 10000 images)", "main_cifar", _SMALL_CIFAR),
          ("adaptivity_fashion", "Fashion-MNIST (small CNN, 10000 images)", "main_fashion",
           _SMALL_FASHION_10K))],
    _p("dose", "controller", "dose-response: the relative target ratio alpha*/ref over "
       + ", ".join(str(r) for r in DOSE_RATIOS) + " (ref: running median of the readings) and "
       "gamma = 0, all with rescale='mean' (coefficients divided by their batch mean, so the "
       "effective step size is equal across ratios); achieved tail index of the transformed "
       "norms, accuracy, gap, ECE, Hessian top eigenvalue",
       common={"optimizers": _DOSE_OPTIMIZERS, "dynamics": True, **_REUSE},
       tiny={"tail_every": 0}, small={**_SMALL_MNIST, "tail_every": 0}),
    *[_p(name, "controller", f"dose-response on {what}: the relative target ratio over "
         + ", ".join(str(r) for r in DOSE_RATIOS) + " and gamma = 0, rescale='mean', as `dose`; "
         f"lr of AHTGA's sweep in {src} (the setting of {src}'s small runs)",
         common={"optimizers": _DOSE_OPTIMIZERS, "dynamics": True, "lr_from": src,
                 "perturbations": _CORRUPT},
         small={**small, "tail_every": 0})
      for name, what, src, small in (
          ("dose_cifar", "CIFAR-10 (small CNN, 10000 images)", "main_cifar", _SMALL_CIFAR),
          ("dose_fashion", "Fashion-MNIST (small CNN, 10000 images)", "main_fashion",
           _SMALL_FASHION_10K))],
    _p("ablate_transform", "ablation", "direction-preserving vs sign forms vs exact exponent "
       "(and gamma = 0, plain momentum SGD through the same code path)",
       common={"optimizers": ("ahtga", "ahtga_source", "ahtga_gmax1", "ahtga_rescaled", "ahtga_sign",
                              "ahtga_sign_raw", "ahtga_exact", "ahtga_gamma0"),
               **_REUSE, "lr_sweep": True},
       tiny={}, small=_SMALL_MNIST),
    _p("ablate_c1", "ablation", "sensitivity to c1 of the quadratic exponent rule",
       common={"optimizers": ("ahtga_c1_0.1", "ahtga", "ahtga_c1_0.5", "ahtga_c1_1.0"), **_REUSE},
       tiny={}, small=_SMALL_MNIST),
    _p("ablate_c2", "ablation", "sensitivity to c2 of the quadratic exponent rule",
       common={"optimizers": ("ahtga_c2_0.1", "ahtga", "ahtga_c2_0.5", "ahtga_c2_1.0"), **_REUSE},
       tiny={}, small=_SMALL_MNIST),
    _p("ablate_beta2", "ablation", "sensitivity to beta2 (EMA of the tail index)",
       common={"optimizers": ("ahtga_b2_0.5", "ahtga", "ahtga_b2_0.99"), **_REUSE},
       tiny={}, small=_SMALL_MNIST),
    _p("ablate_estimator", "ablation", "tail-index estimator inside AHTGA",
       common={"optimizers": ("ahtga",) + tuple(f"ahtga_est_{e}" for e in ESTIMATOR_VARIANTS),
               **_REUSE},
       tiny={}, small=_SMALL_MNIST),
    _p("lowdata_10", "lowdata", "10% of the training split (stratified, per seed)",
       common={"optimizers": ROBUST, "train_fraction": 0.1, **_REUSE},
       tiny={"epochs": 60, "batch_size": 32, "tail_every": 10}, small=_SMALL_MNIST,
       full={"dataset": "cifar10"}),
    _p("lowdata_1", "lowdata", "1% of the training split (stratified, per seed)",
       common={"optimizers": ROBUST, "train_fraction": 0.01, **_REUSE},
       tiny={"epochs": 200, "batch_size": 32, "tail_every": 0, "ahtga_kwargs": {"window": 4}},
       small=_SMALL_MNIST,
       full={"dataset": "cifar10"}),
    _p("fewshot_tiny", "fewshot", "few-shot digits: Prototypical Networks (Conv-4, GroupNorm), "
       "5-way, trained 1-shot, tested 1/5-shot on held-out classes 5-9",
       # a 1-epoch sweep on seed 0 gives every optimizer the same lr budget; part of run-all
       tiny={**_FEWSHOT_TINY, "lr_sweep": True, "sweep_epochs": 1},
       seeds={"tiny": (0, 1, 2)}),
    _p("fewshot_tiny_fomaml", "fewshot", "few-shot digits: first-order MAML (Conv-4, GroupNorm), "
       "5-way, trained 1-shot, tested 1/5-shot on held-out classes 5-9",
       tiny={**_FEWSHOT_TINY, "model": "conv4", "ahtga_kwargs": {"mode": "reference"},
             "fewshot": {**_FEWSHOT_TINY["fewshot"], "method": "fomaml", "inner_lr": 0.4}},
       seeds={"tiny": (0,)}, run_all=False),
    _p("fewshot_omniglot", "fewshot", "Omniglot (npz under --data-dir): Prototypical Networks, "
       "Conv-4 (GroupNorm), 5-way trained 1-shot, tested 1/5-shot on the evaluation alphabets "
       "and on Lake's 20-way one-shot runs",
       small={**_FEWSHOT, "dataset": "omniglot", "lr_sweep": True, "sweep_epochs": 2,
              "epochs": 10, "num_threads": 2, "log_every": 20,
              "model_kwargs": {"backbone": "conv4", "hidden": 64, "norm": "group"},
              "fewshot": {"method": "protonet", "ways": 5, "shots": 1, "queries": 15,
                          "test_shots": [1, 5], "episodes_per_epoch": 200, "val_episodes": 100,
                          "test_episodes": 600, "image_size": 28, "val_classes": 64}},
       seeds={"small": (0, 1, 2)}),
    _p("glue_sst2", "main", "GLUE SST-2 (TSV files under --data-dir; none ship here), BERT-style "
       "encoder from scratch (2 layers, width 128, BasicTokenizer); test = the official dev split",
       small={**_GLUE, "dataset": "sst2", "glue": {"max_len": 64, "min_freq": 2}, "epochs": 3,
              "batch_size": 32, "sweep_epochs": 1, "max_train_examples": 20000, "tail_every": 200,
              "log_every": 20},
       seeds={"small": (0, 1, 2)}, run_all=False),
    _p("glue_mrpc", "main", "GLUE MRPC sentence pairs (TSV files under --data-dir; none ship here), "
       "BERT-style encoder from scratch; test = the official dev split (--set dataset=rte for RTE)",
       small={**_GLUE, "dataset": "mrpc", "glue": {"max_len": 128}, "epochs": 10, "batch_size": 32,
              "sweep_epochs": 3, "tail_every": 50, "log_every": 10},
       seeds={"small": (0, 1, 2)}, run_all=False),
]:
    register_preset(_preset)
load_plugins()   # task modules may register presets of their own


def _check_keys(d: dict, where: str) -> None:
    for k in d:
        if k not in FIELDS:
            raise unknown_key_error(k)


def resolve(name: str, scale: str = "tiny", overrides: dict | None = None) -> RunConfig:
    """The config of preset ``name`` at ``scale`` with ``overrides`` (from ``--set``) applied."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
    if scale not in SCALES:
        raise ValueError(f"`scale` must be one of {list(SCALES)}; got scale={scale!r}")
    p = PRESETS[name]
    if scale not in p.scales:
        raise ValueError(f"preset {name!r} has no {scale!r} version; it has: {', '.join(p.scales)}")
    cfg = RunConfig(preset=name, scale=scale)
    for layer in (SCALE_DEFAULTS[scale], p.common, p.scales[scale], overrides or {}):
        _check_keys(layer, name)
        cfg = apply_overrides(cfg, layer)
    task = get_task(cfg.task)
    cfg = task.adjust(cfg, overrides)   # e.g. glue: hf_model -> its model and AHTGA's engine mode
    task.check(cfg)
    check_optimizers(cfg.optimizers)
    return cfg


#: Every label a registry name of ``ahtga.optim`` or a key of :data:`VARIANTS` (ValueError
#: naming the unknown label and the valid ones).
check_optimizers = check_labels


def default_seeds(name: str, scale: str) -> tuple[int, ...]:
    return tuple(PRESETS[name].seeds.get(scale, (0,)))


def presets_at(scale: str) -> list[str]:
    """Names of the presets with a version at ``scale``, in run order (``main`` first)."""
    return [n for n, p in PRESETS.items() if scale in p.scales]


def run_all_presets(scale: str) -> list[str]:
    """The presets ``run-all --scale`` runs: :func:`presets_at` less those with ``run_all=False``
    (run them by name)."""
    return [n for n in presets_at(scale) if PRESETS[n].run_all]
