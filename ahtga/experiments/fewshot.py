"""Few-shot episodes: their data, per-query losses and metrics (Prototypical Networks and
first-order MAML).  The task that trains them with any registered optimizer through the one
training loop is :mod:`ahtga.experiments.tasks.fewshot`.

What an *example* is.  AHTGA needs one loss per example.  Here an example is a **query** of an
episode: its loss is the cross-entropy of that query's prediction, where the prediction uses
the episode's support set as context (ProtoNet: the class prototypes; FOMAML: the parameters
adapted on the support set).  A step on ``meta_batch`` episodes of ``ways`` x ``queries`` queries
has ``B = meta_batch * ways * queries`` per-example losses ``l_i``, and ``g_i = d l_i / d theta``
is the full derivative, *including* the path through the support embeddings (ProtoNet) -- so
``sum_i g_i / B`` is exactly the mean-loss gradient the baselines take.  Because a query's loss
depends on other rows of the batch (the support), the plain per-layer hook rules do not apply.
``ahtga_kwargs`` ``mode="rows"`` (ProtoNet presets): every query gets its own copy of the support
rows and :class:`ahtga.engine.RowGroupEngine` sums the rows' fast-rule gradients per query
(:func:`protonet_rows`); exact, and on Omniglot (5-way 1-shot, 15 queries per class, Conv-4-64,
2-core CPU) 0.85 s per step against 6.6 s for ``mode="reference"`` (batched autograd over the
losses, one backward per query), with the same training curve (10 episodes: equal train loss
and validation accuracy); plain SGD takes 0.085 s.  FOMAML uses ``mode="reference"``.  A run
asking for the plain fast engine is refused.  FOMAML treats the inner gradients as constants (``theta' = theta - a * stopgrad(g_S)``),
so ``g_i`` is the query gradient at ``theta'``, as in Finn et al. 2017 sec. 5.2.

Data (``dataset``):
* ``digits`` (scikit-learn's 10 classes; the ``tiny`` default): classes ``0 .. train_classes-1``
  train, the rest test (class-disjoint); validation episodes come from a stratified
  ``val_fraction`` of the training classes' images held out (the same classes: with 10 classes
  there is none to spare); images upsampled (bilinear) to ``image_size`` so Conv-4's four 2x2
  pools fit;
* ``omniglot`` (the npz layout under ``--data-dir``, :func:`ahtga.data.load_omniglot_npz`, ink = 1,
  area-resized to ``image_size``): ``images_background`` characters train (``val_classes`` of
  them, chosen with split seed 0, held out for validation episodes), ``images_evaluation`` test;
  no rotation augmentation.  When ``one_shot_all_runs.zip`` is found in the data folder, the
  final metrics add Lake et al.'s 20 runs of 20-way 1-shot classification
  (``final.oneshot_runs_acc``, their mean; error rate = 1 - acc).
Inputs are standardised with one global mean and standard deviation of the training images.

Episodes: :class:`ahtga.data.EpisodeSampler` (``ways``-way ``shots``-shot, ``queries`` per class).
Training episodes are drawn with the run's seed; validation and test episodes are fixed sets
(seeds 10_001 and 20_001 plus the shot count), the same for every run seed and optimizer, so
optimizers are compared on the same test episodes.  An epoch is ``episodes_per_epoch`` training
episodes (``episodes_per_epoch / meta_batch`` steps).

Evaluation: query accuracy per test episode, averaged over ``test_episodes`` episodes, with the
95% interval ``1.96 s / sqrt(n)`` over episodes (s the sample standard deviation; the usual
few-shot report, e.g. Vinyals et al. 2016, Snell et al. 2017).  The model is trained at
``shots`` and evaluated at every count in ``test_shots``; ``final.test_acc`` is at ``shots``.

Result file: the runner's layout and keys.  ``final`` holds ``test_acc``, ``test_acc_ci95``
(half-width), ``test_acc_std``, ``test_loss``, ``test_episodes``, ``test_acc_episodes`` (the
per-episode accuracies), ``shots`` (``{"1": {"test_acc", "test_acc_ci95", "test_loss"}, ...}``),
``val_acc``/``val_loss`` (mean over the validation episodes), ``train_acc``/``train_loss`` (the
final model on ``val_episodes`` fixed training episodes, seed ``TRAIN_SEED``; the running means
during training are ``curves.epoch.train_acc``/``train_loss``), ``gen_gap_*``, ``fewshot`` (the resolved episode options) and the loop's keys of
every task (``diverged``, ``steps``, ``skipped_steps``, ``clamped_steps``, ``time_per_epoch``,
``tail_alpha_*`` -- null, the tail monitor is off for episodes -- and ``ahtga_alpha_*``, AHTGA's
EMA alpha); the classification-only keys (``ece``, ``reliability``, ``perturbations``, ``ood``)
are null/empty.  Result files written before schema version 2 held AHTGA's EMA alpha under
``tail_alpha_*``; ``store.upgrade_result`` moves it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.func import functional_call

from .. import data as D
from .._validation import check_choice, check_int, check_positive
from ..data import Episode, EpisodeSampler
from ..models.fewshot import maml_adapt, prototypical_logits
from ._data import tensor_digest
from .config import RunConfig

#: Episode options (``RunConfig.fewshot`` is merged over these; unknown keys are an error).
FEWSHOT_DEFAULTS: dict[str, Any] = {
    "method": "protonet",        # protonet | fomaml
    "ways": 5,                   # classes per training and test episode
    "shots": 1,                  # support examples per class in training episodes
    "queries": 15,               # query examples per class (training, validation, test)
    "test_shots": [1, 5],        # shot counts evaluated at the end (``shots`` is always added)
    "episodes_per_epoch": 100,   # training episodes per epoch
    "meta_batch": 1,             # episodes per optimizer step
    "val_episodes": 50,          # fixed validation episodes (each epoch)
    "test_episodes": 600,        # fixed test episodes per shot count (at the end)
    "image_size": 28,            # images resized to image_size x image_size
    "train_classes": 5,          # digits: classes 0..train_classes-1 train, the rest test
    "val_classes": 64,           # omniglot: background characters held out for validation
    "inner_lr": 0.4,             # fomaml: inner SGD step size
    "inner_steps": 1,            # fomaml: inner steps (training and evaluation)
    "oneshot_runs": True,        # omniglot: evaluate Lake's 20 one-shot runs when the zip exists
}

#: Seeds of the fixed validation, test and (end-of-run) training episodes (plus the shot count).
VAL_SEED, TEST_SEED, TRAIN_SEED = 10_001, 20_001, 30_001


def options(cfg: RunConfig) -> dict[str, Any]:
    """``FEWSHOT_DEFAULTS`` updated by ``cfg.fewshot``, checked (errors name the key and value)."""
    unknown = sorted(set(cfg.fewshot) - set(FEWSHOT_DEFAULTS))
    if unknown:
        raise KeyError(f"unknown fewshot option(s) {unknown}; valid: {', '.join(FEWSHOT_DEFAULTS)}")
    o = {**FEWSHOT_DEFAULTS, **cfg.fewshot}
    check_choice("fewshot.method", o["method"], ("protonet", "fomaml"))
    for k in ("ways", "shots", "queries", "episodes_per_epoch", "meta_batch", "val_episodes",
              "test_episodes", "image_size", "train_classes", "inner_steps"):
        check_int(f"fewshot.{k}", o[k], min_value=1)
    check_int("fewshot.val_classes", o["val_classes"], min_value=0)
    check_positive("fewshot.inner_lr", o["inner_lr"])
    ts = o["test_shots"]
    ts = [ts] if isinstance(ts, int) else list(ts)
    for s in ts:
        check_int("fewshot.test_shots", s, min_value=1)
    o["test_shots"] = sorted(set(ts) | {o["shots"]})
    if o["episodes_per_epoch"] % o["meta_batch"]:
        raise ValueError(f"`fewshot.episodes_per_epoch` must be a multiple of `fewshot.meta_batch`; "
                         f"got {o['episodes_per_epoch']} and {o['meta_batch']}")
    return o


# ----------------------------------------------------------------------------- data
@dataclass
class FewshotData:
    """Class-disjoint sources of one run (ArrayDatasets, standardised) and provenance."""
    train: Any
    val: Any
    test: Any
    opts: dict
    info: dict = field(default_factory=dict)
    oneshot_runs: list | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if tuple(x.shape[-2:]) == (size, size):
        return x
    mode = "area" if x.shape[-1] > size else "bilinear"
    kw = {} if mode == "area" else {"align_corners": False}
    return F.interpolate(x, size=(size, size), mode=mode, **kw)


def _find(data_dir: str | None, names: tuple[str, ...]) -> Path | None:
    if not data_dir:
        return None
    for sub in ("", "omniglot"):
        for n in names:
            p = Path(data_dir).expanduser() / sub / n
            if p.is_file():
                return p
    return None


def prepare(cfg: RunConfig, seed: int) -> FewshotData:
    """Load the episode sources of ``cfg.dataset`` (see the module docstring)."""
    o = options(cfg)
    size = o["image_size"]
    runs = None
    if cfg.dataset == "digits":
        ds = D.load_digits("all")
        x, y = _resize(ds.x.float(), size), ds.y.long()
        n_cls = int(y.max()) + 1
        if not 1 <= o["train_classes"] < n_cls:
            raise ValueError(f"`fewshot.train_classes` must be in [1, {n_cls - 1}] for digits; "
                             f"got {o['train_classes']}")
        tr_mask = y < o["train_classes"]
        xt, yt = x[tr_mask], y[tr_mask]
        test = D.ArrayDataset(x[~tr_mask], y[~tr_mask])
        if cfg.val_fraction > 0:
            tr, va = D.stratified_split(yt, cfg.val_fraction, seed=0)
            train, val = D.ArrayDataset(xt[tr], yt[tr]), D.ArrayDataset(xt[va], yt[va])
        else:
            train, val = D.ArrayDataset(xt, yt), None
        files = {"source": "sklearn.datasets.load_digits"}
    elif cfg.dataset == "omniglot":
        bg = _find(cfg.data_dir, ("images_background.npz",))
        ev = _find(cfg.data_dir, ("images_evaluation.npz",))
        if bg is None or ev is None:
            raise FileNotFoundError(f"`data_dir` must hold images_background.npz and images_evaluation.npz "
                                    f"for dataset=omniglot; got data_dir={cfg.data_dir!r}")
        back = D.load_omniglot_npz(bg, size=(size, size), invert=True, verify=cfg.verify_checksums)
        test = D.load_omniglot_npz(ev, size=(size, size), invert=True, verify=cfg.verify_checksums)
        chars = torch.unique(back.y)
        g = torch.Generator().manual_seed(0)
        held = chars[torch.randperm(len(chars), generator=g)[:o["val_classes"]]]
        is_val = torch.isin(back.y, held)
        train = D.ArrayDataset(back.x[~is_val], back.y[~is_val])
        val = D.ArrayDataset(back.x[is_val], back.y[is_val]) if o["val_classes"] else None
        files = {"background": dict(back.meta), "evaluation": dict(test.meta)}
        z = _find(cfg.data_dir, ("one_shot_all_runs.zip", "all_runs.zip")) if o["oneshot_runs"] else None
        if z is not None:
            runs = D.load_one_shot_runs(z, size=(size, size), invert=True, verify=cfg.verify_checksums)
            files["oneshot_runs"] = str(z)
    else:
        raise ValueError(f"`dataset` must be one of ['digits', 'omniglot'] for task=fewshot; "
                         f"got dataset={cfg.dataset!r}")
    mean, std = train.x.mean(), train.x.std()
    std = std if float(std) > 0 else torch.ones(())

    def st(d):
        return None if d is None else D.ArrayDataset((d.x - mean) / std, d.y)

    train, val, test = st(train), st(val), st(test)
    if runs is not None:
        for r in runs:
            r.support, r.query = (r.support - mean) / std, (r.query - mean) / std
    info = {"dataset": cfg.dataset, "data_dir": cfg.data_dir, "files": files, "task": "fewshot",
            "n_train": int(len(train)), "n_val": int(len(val)) if val is not None else 0,
            "n_test": int(len(test)),
            "classes_train": int(len(torch.unique(train.y))),
            "classes_val": int(len(torch.unique(val.y))) if val is not None else 0,
            "classes_test": int(len(torch.unique(test.y))),
            "input_shape": list(train.x.shape[1:]),
            "sha256_train": tensor_digest(train.x, train.y),
            "sha256_val": tensor_digest(val.x, val.y) if val is not None else None,
            "sha256_test": tensor_digest(test.x, test.y),
            "normalization": {"mean": float(mean), "std": float(std)},
            "oneshot_runs": len(runs) if runs is not None else 0}
    if cfg.dataset == "digits":
        info["notes"] = ["validation episodes use held-out images of the training classes"]
    return FewshotData(train, val, test, o, info, runs)


# ----------------------------------------------------------------------------- losses
def episode_losses(model, episodes, opts: dict, *, train: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-query losses ``[sum of queries]`` (concatenated over ``episodes``) and per-query
    correctness (float ``[same]``).  ``train=False`` detaches the losses (evaluation)."""
    losses, correct = [], []
    for ep in episodes:
        if opts["method"] == "protonet":
            z = model.embed(torch.cat([ep.support_x, ep.query_x]))
            s, q = z[:len(ep.support_x)], z[len(ep.support_x):]
            logits = prototypical_logits(s, ep.support_y, q, ep.ways)
        else:
            params = {k: v for k, v in model.named_parameters() if v.requires_grad}
            with torch.enable_grad():
                p = maml_adapt(model, params, ep.support_x, ep.support_y, inner_lr=opts["inner_lr"],
                               steps=opts["inner_steps"], first_order=True)
            logits = functional_call(model, p, (ep.query_x,))
        li = F.cross_entropy(logits, ep.query_y, reduction="none")
        losses.append(li if train else li.detach())
        correct.append((logits.detach().argmax(1) == ep.query_y).double())
    return torch.cat(losses), torch.cat(correct)


def protonet_rows(model, episodes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prototypical-Networks step on an expanded batch for :class:`ahtga.engine.RowGroupEngine`.

    Every query ``q`` of every episode gets its own copy of the episode's support rows: the
    embedding network runs once on ``[x_q, support_x]`` for all queries (``Q (1 + S)`` rows), the
    head's Jacobian ``w_{q,r} = d l_q / d z_r`` is taken on detached embeddings (cheap), and row
    ``r`` of group ``q`` gets the pseudo-loss ``L_r = <z_r, w_{q,r}>``, so that the rows of group
    ``q`` sum to the exact per-query gradient ``d l_q / d theta`` (query and support paths).
    Returns ``(losses [Q], correct [Q], row_losses [R], groups [R])``; ``losses`` (with graph) are
    the per-query cross-entropies the optimizer reports, the same values as
    :func:`episode_losses`.
    """
    losses, correct, rows, groups = [], [], [], []
    xs = []
    for ep in episodes:
        S, Q = len(ep.support_x), len(ep.query_x)
        xs.append(torch.cat([ep.query_x.unsqueeze(1),
                             ep.support_x.unsqueeze(0).expand(Q, *ep.support_x.shape)], dim=1)
                  .reshape(Q * (1 + S), *ep.query_x.shape[1:]))
    z_all = model.embed(torch.cat(xs))        # one forward: the engine needs the whole batch
    offset = start = 0
    for ep in episodes:
        S, Q = len(ep.support_x), len(ep.query_x)
        z = z_all[start:start + Q * (1 + S)]
        start += Q * (1 + S)
        zz = z.view(Q, 1 + S, -1)
        zq, zs = zz[:, 0], zz[0, 1:]                     # the copies are equal: take one
        with torch.enable_grad():
            dq = zq.detach().requires_grad_(True)
            ds = zs.detach().requires_grad_(True)
            lq = F.cross_entropy(prototypical_logits(ds, ep.support_y, dq, ep.ways), ep.query_y,
                                 reduction="none")
            eye = torch.eye(Q, dtype=lq.dtype, device=lq.device)
            jq, js = torch.autograd.grad(lq, (dq, ds), grad_outputs=eye, is_grads_batched=True)
        w = torch.cat([jq[torch.arange(Q), torch.arange(Q)].unsqueeze(1), js], dim=1)  # [Q, 1+S, D]
        rows.append((zz * w.detach()).sum(-1).reshape(-1))
        groups.append(torch.arange(offset, offset + Q, device=z.device).repeat_interleave(1 + S))
        logits = prototypical_logits(zs, ep.support_y, zq, ep.ways)
        losses.append(F.cross_entropy(logits, ep.query_y, reduction="none"))
        correct.append((logits.detach().argmax(1) == ep.query_y).double())
        offset += Q
    return torch.cat(losses), torch.cat(correct), torch.cat(rows), torch.cat(groups)


def interval95(accs: list[float]) -> tuple[float, float, float]:
    """(mean, 1.96 s / sqrt(n), s) of per-episode accuracies (s with n - 1 degrees of freedom)."""
    n = len(accs)
    t = torch.tensor(accs, dtype=torch.float64)
    mean = float(t.mean())
    sd = float(t.std(unbiased=True)) if n > 1 else 0.0
    return mean, 1.96 * sd / math.sqrt(n), sd


def evaluate_episodes(model, source, opts: dict, *, shots: int, episodes: int, seed: int
                      ) -> dict[str, Any]:
    """Mean query accuracy/loss over ``episodes`` fixed ``ways``-way ``shots``-shot episodes of
    ``source`` (seed ``seed``), with the 95% interval over episodes."""
    sampler = EpisodeSampler(source, ways=opts["ways"], shots=shots, queries=opts["queries"],
                             episodes=episodes, seed=seed)
    was = model.training
    model.eval()
    accs, losses = [], []
    grad = opts["method"] == "fomaml"
    with torch.set_grad_enabled(grad):
        for ep in sampler:
            li, ci = episode_losses(model, [ep], opts, train=False)
            accs.append(float(ci.mean()))
            losses.append(float(li.double().mean()))
    model.train(was)
    mean, ci95, sd = interval95(accs)
    loss = sum(losses) / len(losses)
    return {"acc": mean, "acc_ci95": ci95, "acc_std": sd, "loss": loss if math.isfinite(loss) else None,
            "episodes": len(accs), "acc_episodes": accs}


def evaluate_oneshot_runs(model, runs, opts: dict) -> dict[str, Any]:
    """Lake et al.'s 20-way 1-shot runs: prototypes = the 20 training images (ProtoNet) or
    adaptation on them (FOMAML, which needs a 20-way head: skipped unless ``ways == 20``)."""
    if opts["method"] == "fomaml" and opts["ways"] != len(runs[0].support_y):
        return {"acc": None, "note": "fomaml head has a different number of ways"}
    accs = []
    was = model.training
    model.eval()
    with torch.set_grad_enabled(opts["method"] == "fomaml"):
        for r in runs:
            ep = Episode(r.support, r.support_y, r.query, r.query_y, list(range(len(r.support_y))))
            _, ci = episode_losses(model, [ep], opts, train=False)
            accs.append(float(ci.mean()))
    model.train(was)
    mean, ci95, sd = interval95(accs)
    return {"acc": mean, "acc_ci95": ci95, "runs": len(accs), "acc_runs": accs}


# ----------------------------------------------------------------------------- metrics
def final_metrics(cfg, model, data: FewshotData, curves: dict) -> dict[str, Any]:
    """Test accuracy (with its 95% interval over episodes) at every ``test_shots``; see the
    module docstring for the keys.  The last epoch's ``test_loss``/``test_acc`` curve entries
    are set to the final test values (test episodes are evaluated once, at the end)."""
    o = data.opts
    shots = {}
    for k in o["test_shots"]:
        r = evaluate_episodes(model, data.test, o, shots=k, episodes=o["test_episodes"],
                              seed=TEST_SEED + k)
        shots[str(k)] = r
    main = shots[str(o["shots"])]
    e = curves["epoch"]
    # the final model on fixed training episodes, as classification's train_* are the final
    # model on the training set (the running means during training are curves.epoch.train_*)
    tr = evaluate_episodes(model, data.train, o, shots=o["shots"], episodes=o["val_episodes"],
                           seed=TRAIN_SEED + o["shots"])
    train_loss, train_acc = tr["loss"], tr["acc"]
    val_loss = e["val_loss"][-1] if e["val_loss"] else None
    val_acc = e["val_acc"][-1] if e["val_acc"] else None
    fin: dict[str, Any] = {
        "test_acc": main["acc"], "test_acc_ci95": main["acc_ci95"], "test_acc_std": main["acc_std"],
        "test_loss": main["loss"], "test_episodes": main["episodes"],
        "test_acc_episodes": main["acc_episodes"],
        "shots": {k: {"test_acc": r["acc"], "test_acc_ci95": r["acc_ci95"], "test_loss": r["loss"]}
                  for k, r in shots.items()},
        "val_acc": val_acc, "val_loss": val_loss, "train_acc": train_acc, "train_loss": train_loss,
        "gen_gap_loss": (main["loss"] - train_loss) if main["loss"] is not None and train_loss is not None else None,
        "gen_gap_acc": (train_acc - main["acc"]) if train_acc is not None else None,
        "ece": None, "reliability": None, "perturbations": {}, "ood": None,
        "fewshot": {k: v for k, v in o.items()},
    }
    if e["epoch"]:
        e["test_acc"][-1], e["test_loss"][-1] = main["acc"], main["loss"]
    if data.oneshot_runs:
        r = evaluate_oneshot_runs(model, data.oneshot_runs, o)
        fin["oneshot_runs_acc"] = r["acc"]
        fin["oneshot_runs_ci95"] = r.get("acc_ci95")
        fin["oneshot_runs_acc_runs"] = r.get("acc_runs")
    return fin
