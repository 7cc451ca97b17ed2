"""The one registration point for per-example rules of the fast engine.

A rule turns what the engine recorded for one call of a layer into that call's share of the
per-example gradients of the layer's parameters. Every built-in rule (Linear, Conv1d/2d,
Embedding, LayerNorm/RMSNorm, GroupNorm, BatchNorm) is registered here the same way a user's
rule is::

    from ahtga.engine import Materialised, RuleContext, register_rule

    @register_rule(MyScale)                  # MyScale.forward(x) = x * self.s
    def my_scale(ctx: RuleContext):
        if not ctx.module.s.requires_grad:
            return []
        g_i = (ctx.input * ctx.grad_output).reshape(ctx.batch, -1, ctx.module.s.numel()).sum(1)
        return [Materialised(ctx.module.s, g_i)]

One signature: ``rule(ctx) -> list[Contribution]`` (see :class:`RuleContext`). A rule may
return :class:`~ahtga.engine.hooks.Materialised` per-example gradients ``[B, *param.shape]``
(simplest), or a :class:`~ahtga.engine.hooks.FactorContribution` /
:class:`~ahtga.engine.hooks.Contribution` that computes norms and weighted sums without
materialising them. Row ``i`` of ``ctx.grad_output`` must be ``d loss_i / d output_i``: the layer
may not mix examples (unless its rule documents a convention, as BatchNorm's does).

A registered type's rule is used for instances whose class is the type itself or a subclass
that keeps the type's ``forward`` (a subclass with its own ``forward`` needs its own rule, or
gets the fallback). Modules without a rule that own trainable parameters use the exact
per-layer ``torch.func`` fallback (:mod:`ahtga.engine.fallback`) with a one-time warning.
Registering a type again replaces its rule (``replace=True`` is required, so a typo cannot
silently override a built-in).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["RuleContext", "Rule", "register_rule", "rule_for", "registered_types"]


@dataclass
class RuleContext:
    """What the engine hands a rule for one call of one layer.

    module : the layer.
    input : its first positional input (detached; unchanged since the forward).
    grad_output : gradient of the summed losses with respect to its (tensor) output; row i
        belongs to example i. (With a mean-reduced loss on the standard protocol it is scaled by
        1/B; the engine rescales the results, so a rule never needs to know.)
    batch : B, the number of examples (dim 0 of ``input`` and ``grad_output``).
    budget : bound on the elements a rule should materialise at once (``chunk_elems``).
    cache_left : one-element list shared by the layers of one backward: elements of
        per-example gradients that may still be kept (see ``FactorContribution``).
    conv_strategy : the engine's convolution strategy ("auto", "unfold", "grouped",
        "mixed").
    stats : what the registration's ``forward_stats`` took from the forward, or None.
    extra : what the registration's ``forward_check`` returned at the forward, or None.
    """
    module: nn.Module
    input: torch.Tensor
    grad_output: torch.Tensor
    batch: int
    budget: int = 2 ** 25
    cache_left: list = field(default_factory=lambda: [0])
    conv_strategy: str = "auto"
    stats: Any = None
    extra: Any = None


@dataclass(frozen=True)
class Rule:
    """A registered rule and its options (see :func:`register_rule`)."""
    module_type: type
    fn: Callable[[RuleContext], list]
    forward_stats: Callable[[nn.Module, torch.Tensor], Any] | None = None
    forward_check: Callable[[nn.Module, Any], Any] | None = None
    hook_without_params: bool = False


_RULES: dict[type, Rule] = {}


def register_rule(*module_types: type, forward_stats=None, forward_check=None,
                  hook_without_params: bool = False, replace: bool = False):
    """Decorator: register ``fn(ctx: RuleContext) -> list[Contribution]`` for ``module_types``.

    forward_stats : optional ``f(module, output) -> Any`` run at the forward (e.g. statistics a
        rule can reuse from the output's autograd node; must not hold the graph); passed as
        ``ctx.stats``.
    forward_check : optional ``f(module, engine) -> Any`` run at the engine's construction (for
        each module of the type) and at every forward; it may raise to refuse the module (e.g.
        BatchNorm with batch statistics under ``batchnorm="error"``); its result at the
        forward is passed as ``ctx.extra``.
    hook_without_params : hook the module even when it has no trainable parameter of its own
        (so ``forward_check`` sees every forward).
    replace : allow replacing an already registered type's rule.
    """
    if not module_types or not all(isinstance(t, type) and issubclass(t, nn.Module)
                                   for t in module_types):
        raise TypeError("register_rule needs one or more nn.Module subclasses; got "
                        f"{module_types!r}")

    def deco(fn):
        if not callable(fn):
            raise TypeError(f"a rule must be callable; got {fn!r}")
        for t in module_types:
            if t in _RULES and not replace:
                raise ValueError(f"a rule for {t.__name__} is already registered "
                                 f"({_RULES[t].fn.__qualname__}); pass replace=True to replace it")
        for t in module_types:
            _RULES[t] = Rule(t, fn, forward_stats, forward_check, hook_without_params)
        return fn

    return deco


def rule_for(module: nn.Module) -> Rule | None:
    """The rule used for ``module``: the registration of the nearest class in its MRO whose
    ``forward`` it still uses, or None (fallback)."""
    for cls in type(module).__mro__:
        rule = _RULES.get(cls)
        if rule is not None:
            return rule if type(module).forward is cls.forward else None
    return None


def registered_types() -> list[type]:
    """The module types with a registered rule."""
    return list(_RULES)
