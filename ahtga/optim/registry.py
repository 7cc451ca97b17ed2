"""One name per optimizer: factories, documented defaults, learning-rate grids, one train step.

``build_optimizer(name, model_or_params, **options)`` builds any registered optimizer;
``OPTIMIZERS[name]`` is the same factory. Options not given take the values in
``DEFAULTS[name]`` (then the class's own defaults). An unknown name raises ``ValueError``
listing the valid names; an unknown option raises ``TypeError`` naming it and listing the valid
ones; options that define a registered variant (e.g. ``outer`` of ``tailopt_biclip``) cannot be
overridden (build the base ``tailopt`` instead).

| name            | class                        | defaults here                         |
|-----------------|------------------------------|---------------------------------------|
| sgd             | torch.optim.SGD              | lr 0.1, momentum 0.9 (heavy ball)     |
| adam            | torch.optim.Adam             | lr 1e-3 (betas 0.9/0.999, eps 1e-8)   |
| clipped_sgd     | ClippedSGD                   | lr 0.1, momentum 0.9, max_norm 1.0    |
| normalized_sgd  | NormalizedSGD                | lr 0.01, beta 0.9                     |
| signsgd         | SignSGD                      | lr 1e-3                               |
| signum          | Signum                       | lr 1e-3, beta 0.9                     |
| tailopt         | TailOPT (Adam outer, BiClip) | lr 1e-3, lower 1e-4, upper 1, K = 1   |
| tailopt_biclip  | TailOPT, outer "avg"         | lr 0.1 (BiClip-SGD when K = 1)        |
| tailopt_adagrad | TailOPT, outer "adagrad"     | lr 0.1, lower 1e-4, upper 1, K = 1    |
| tailopt_rmsprop | TailOPT, outer "rmsprop"     | lr 1e-3, lower 1e-4, upper 1, K = 1   |
| tailopt_bi2clip | TailOPT, outer "biclip"      | lr 1 (outer), inner_lr 0.1, K = 4,    |
|                 | (Bi2Clip, Algorithm 4)       | inner = outer thresholds [1e-4, 1]    |
| ahtga           | AHTGA (lazy import)          | lr 1.0; everything else its own       |

Adam's defaults are Kingma and Ba (2015, ICLR) and torch's; SGD's momentum 0.9 is the usual
heavy-ball value (Sutskever, Martens, Dahl, Hinton 2013, ICML). Note the momentum conventions:
torch's SGD and ClippedSGD use the heavy-ball buffer ``b = mu b + g`` (steady-state step
``lr/(1 - mu)`` times the gradient), while AHTGA, NormalizedSGD and Signum use the EMA
``m = beta m + (1 - beta) g``; at momentum 0.9 an EMA learning rate of 1.0 matches a heavy-ball
learning rate of 0.1, which is why the grids differ (AHTGA's registry default lr 1.0 is the
EMA equivalent of SGD's 0.1 for its direction form; its "sign" form takes steps about sqrt(d)
times larger and needs a far smaller lr, "sign_normalized" does not). Each method's other defaults and sources
are in its module docstring. The TailOPT variants (Adam/Adagrad/RMSProp outer with BiClip
inner; Bi2Clip) differ only in the fixed ``outer``; Bi2Clip is registered with K = 4 local steps
because with one local step it collapses to BiClip-SGD (see ``ahtga.optim.tailopt``); its
``lr`` is the outer rate (1 = apply the clipped round displacement as is), and its K, inner_lr
and outer thresholds are OUR choices (the paper's experiment values could not be read).

``LR_GRIDS[name]``: five to six learning rates, half-decade (factor ~3) steps around the default, for
the experiments' equal-budget sweep (ours, not from the papers; widen a grid when the best value
lands on its edge).
"""
from __future__ import annotations

import inspect
import math
import sys
from typing import Any, Callable

import torch
from torch import nn
from torch.optim import Optimizer

from ahtga.optim.clipped_sgd import ClippedSGD, global_grad_norm
from ahtga.optim.normalized_sgd import NormalizedSGD
from ahtga.optim.sign import SignSGD, Signum
from ahtga.optim.tailopt import TailOPT

__all__ = ["OPTIMIZERS", "DEFAULTS", "LR_GRIDS", "REFERENCES", "build_optimizer", "train_step",
           "optimizer_options", "effective_defaults"]


def _load_ahtga():
    from ahtga.optim.ahtga import AHTGA  # lazy: a missing or broken file cannot break baselines
    return AHTGA


class _Factory:
    """Builds one registered optimizer from a model (or parameters) and keyword options."""

    def __init__(self, name: str, target: Callable[[], type], *, defaults: dict,
                 fixed: dict | None = None, needs_model: bool = False):
        self.name = name
        self._target = target
        self.defaults = dict(defaults)
        self.fixed = dict(fixed or {})
        self.needs_model = needs_model

    @property
    def cls(self) -> type:
        return self._target()

    def keywords(self) -> list[inspect.Parameter]:
        """The class's ``__init__`` keyword parameters after ``self`` and the first (the model or
        the parameters), fixed options included."""
        sig = inspect.signature(self.cls.__init__)
        return [p for p in sig.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)][2:]

    def options(self) -> list[str]:
        """Option names the optimizer accepts (its ``__init__`` keywords after the first)."""
        return [p.name for p in self.keywords() if p.name not in self.fixed]

    def __call__(self, model_or_params, **options: Any) -> Optimizer:
        valid = self.options()
        fixed = sorted(set(options) & set(self.fixed))
        if fixed:
            raise TypeError(f"option(s) {fixed} are fixed by the registered variant {self.name!r}"
                            f" ({self.fixed}); build the base optimizer to change them")
        unknown = sorted(set(options) - set(valid))
        if unknown:
            raise TypeError(f"unknown option(s) {unknown} for optimizer {self.name!r}; valid "
                            f"options: {', '.join(valid)}")
        kwargs = {**self.defaults, **self.fixed, **options}
        if self.needs_model:
            if not isinstance(model_or_params, nn.Module):
                raise TypeError(f"optimizer {self.name!r} needs the model (a torch.nn.Module) to "
                                f"compute per-example gradients; got "
                                f"{type(model_or_params).__name__}")
            return self.cls(model_or_params, **kwargs)
        return self.cls(_as_params(model_or_params), **kwargs)

    def __repr__(self) -> str:
        return f"<optimizer factory {self.name!r}>"


def _as_params(model_or_params):
    if isinstance(model_or_params, nn.Module):
        params = [p for p in model_or_params.parameters() if p.requires_grad]
        if not params:
            raise ValueError("`model_or_params` has no trainable parameters (requires_grad=True)")
        return params
    if isinstance(model_or_params, torch.Tensor):
        return [model_or_params]
    return list(model_or_params)


_SPECS = [
    _Factory("sgd", lambda: torch.optim.SGD, defaults=dict(lr=0.1, momentum=0.9)),
    _Factory("adam", lambda: torch.optim.Adam, defaults=dict(lr=1e-3)),
    _Factory("clipped_sgd", lambda: ClippedSGD,
             defaults=dict(lr=0.1, momentum=0.9, max_norm=1.0)),
    _Factory("normalized_sgd", lambda: NormalizedSGD, defaults=dict(lr=0.01, beta=0.9)),
    _Factory("signsgd", lambda: SignSGD, defaults=dict(lr=1e-3)),
    _Factory("signum", lambda: Signum, defaults=dict(lr=1e-3, beta=0.9)),
    _Factory("tailopt", lambda: TailOPT, defaults=dict(lr=1e-3)),
    _Factory("tailopt_biclip", lambda: TailOPT, defaults=dict(lr=0.1), fixed=dict(outer="avg")),
    _Factory("tailopt_adagrad", lambda: TailOPT, defaults=dict(lr=0.1),
             fixed=dict(outer="adagrad")),
    _Factory("tailopt_rmsprop", lambda: TailOPT, defaults=dict(lr=1e-3),
             fixed=dict(outer="rmsprop")),
    _Factory("tailopt_bi2clip", lambda: TailOPT,
             defaults=dict(lr=1.0, inner_lr=0.1, local_steps=4, outer_lower=1e-4, outer_upper=1.0),
             fixed=dict(outer="biclip")),
    _Factory("ahtga", _load_ahtga, defaults=dict(lr=1.0), needs_model=True),
]

#: name -> factory ``(model_or_params, **options) -> Optimizer``
OPTIMIZERS: dict[str, _Factory] = {f.name: f for f in _SPECS}
#: name -> the options the registry passes unless overridden
DEFAULTS: dict[str, dict] = {f.name: {**f.defaults, **f.fixed} for f in _SPECS}

# Widened after the tiny sweep chose an edge value (SGD 0.3, Adam and signSGD 1e-2,
# normalized SGD 0.1): each grid now extends a half-decade beyond it.
_SGD_GRID = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)
_ADAM_GRID = (3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4)
#: name -> learning rates for the fair-comparison sweep
LR_GRIDS: dict[str, tuple[float, ...]] = {
    "sgd": _SGD_GRID,
    "adam": _ADAM_GRID,
    "clipped_sgd": _SGD_GRID,
    "normalized_sgd": (0.3, 0.1, 0.03, 0.01, 0.003, 0.001),
    "signsgd": _ADAM_GRID,
    "signum": _ADAM_GRID,
    "tailopt": _ADAM_GRID,
    "tailopt_biclip": (1.0, 0.3, 0.1, 0.03, 0.01),
    "tailopt_adagrad": (1.0, 0.3, 0.1, 0.03, 0.01),
    "tailopt_rmsprop": _ADAM_GRID,
    "tailopt_bi2clip": (3.0, 1.0, 0.3, 0.1, 0.03),
    "ahtga": (3.0, 1.0, 0.3, 0.1, 0.03, 0.01),
}

#: name -> the publication the method comes from
REFERENCES: dict[str, str] = {
    "sgd": "Robbins & Monro 1951; Polyak 1964 (heavy ball); torch.optim.SGD",
    "adam": "Kingma & Ba 2015, ICLR; torch.optim.Adam",
    "clipped_sgd": "Pascanu, Mikolov, Bengio 2013, ICML; Zhang et al. 2020, NeurIPS",
    "normalized_sgd": "Cutkosky & Mehta 2020, ICML; Hubler, Fatkhullin, He 2024, arXiv:2410.13849",
    "signsgd": "Bernstein, Wang, Azizzadenesheli, Anandkumar 2018, ICML (Algorithm 1)",
    "signum": "Bernstein, Wang, Azizzadenesheli, Anandkumar 2018, ICML (Algorithm 2)",
    "tailopt": "Lee, Zaheer, Li 2025, ICML, arXiv:2502.04164 (adaptive outer + BiClip inner)",
    "tailopt_biclip": "Lee, Zaheer, Li 2025, ICML, arXiv:2502.04164 (BiClip, averaging outer)",
    "tailopt_adagrad": "Lee, Zaheer, Li 2025, ICML, arXiv:2502.04164 (Adagrad outer + BiClip)",
    "tailopt_rmsprop": "Lee, Zaheer, Li 2025, ICML, arXiv:2502.04164 (RMSProp outer + BiClip)",
    "tailopt_bi2clip": "Lee, Zaheer, Li 2025, ICML, arXiv:2502.04164 (Bi2Clip, Algorithm 4)",
    "ahtga": "this package (ahtga.optim.ahtga)",
}


def _plain(value) -> bool:
    """A JSON-plain value (numbers, strings, None, and lists/tuples/dicts of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def effective_defaults(name: str, given=()) -> dict[str, Any]:
    """The value ``build_optimizer(name, ...)`` uses for every option not in ``given``: the
    class's keyword defaults, with the registry's ``DEFAULTS`` (and fixed options) over them; for
    AHTGA the module defaults its ``None`` options stand for (``DEFAULT_TARGET``,
    ``DEFAULT_EXPONENT``, and ``DEFAULT_POOL_SIZE`` when ``window`` is not given either).  Only
    JSON-plain values are returned (an option whose default is an object is left out), so a
    result file can record them and a later run can tell whether a default has changed since."""
    f = _factory(name)
    out = {p.name: p.default for p in f.keywords() if p.default is not p.empty}
    out.update(f.defaults)
    out.update(f.fixed)
    if name == "ahtga":
        from ahtga.optim import ahtga as mod
        if out.get("target") is None:
            out["target"] = dict(mod.DEFAULT_TARGET)
        if out.get("exponent") is None:
            out["exponent"] = dict(mod.DEFAULT_EXPONENT)
        if out.get("pool_size") is None and "window" not in given:
            out["pool_size"] = mod.DEFAULT_POOL_SIZE
    return {k: v for k, v in out.items() if k not in given and _plain(v)}


def optimizer_options(name: str) -> list[str]:
    """The option names ``build_optimizer(name, ...)`` accepts."""
    return _factory(name).options()


def _factory(name: str) -> _Factory:
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; valid names: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name]


def build_optimizer(name: str, model_or_params, **options: Any) -> Optimizer:
    """Build the optimizer registered as ``name`` for a model or an iterable of parameters.

    ``model_or_params``: an ``nn.Module`` (its trainable parameters; required by ``ahtga``),
    an iterable of tensors or of parameter-group dicts.
    """
    return _factory(name)(model_or_params, **options)


def _is_ahtga(optimizer) -> bool:
    mod = sys.modules.get("ahtga.optim.ahtga")
    cls = getattr(mod, "AHTGA", None) if mod is not None else None
    return cls is not None and isinstance(optimizer, cls)


def train_step(optimizer: Optimizer, losses: torch.Tensor) -> dict[str, float]:
    """One uniform training step for any registered optimizer; returns step statistics.

    ``losses``: per-example losses ``[B]`` still attached to the graph (a 0-d loss is accepted
    by the baselines). AHTGA: ``optimizer.step(losses)`` (it runs the backward itself) and the
    result is ``{"loss": mean loss, **StepStats.as_dict()}``. Every other optimizer:
    ``zero_grad``, ``losses.mean().backward()``, ``step()``, returning ``{"loss": mean loss,
    "grad_norm": L2 norm of the mini-batch gradient over the optimizer's parameters (before any
    clipping)}``.

    Raises ``FloatingPointError`` (before touching the parameters) when the mean loss or the
    gradient norm is NaN or Inf, so a diverged run stops instead of writing NaN weights.
    """
    if not isinstance(losses, torch.Tensor):
        raise TypeError(f"`losses` must be a torch.Tensor of per-example losses; got "
                        f"{type(losses).__name__}")
    if _is_ahtga(optimizer):
        if losses.ndim != 1:
            raise ValueError(f"`losses` must have shape [B] (per-example losses) for AHTGA; got "
                             f"shape {tuple(losses.shape)}")
        stats = optimizer.step(losses)
        out = {"loss": float(losses.detach().mean())}
        out.update(stats.as_dict())
        return out
    if losses.ndim > 1:
        raise ValueError(f"`losses` must be a scalar or have shape [B]; got shape "
                         f"{tuple(losses.shape)}")
    if losses.numel() == 0:
        raise ValueError("`losses` is empty (a batch of size 0)")
    loss = losses.mean()
    value = float(loss.detach())
    if not math.isfinite(value):
        raise FloatingPointError(f"train_step: the mean loss is {value}; the step was not taken")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    gnorm = float(global_grad_norm(grads))
    if not math.isfinite(gnorm):
        raise FloatingPointError(f"train_step: the gradient norm is {gnorm}; the step was not "
                                 "taken and the parameters are unchanged")
    optimizer.step()
    return {"loss": value, "grad_norm": gnorm}
