"""Planted wrong formulas: each must make the checks it names fail (``make theory`` and the tests).

A mutation replaces one function of a ``theory`` module (the statement's formula or a derivation
step that the checks read at call time) by a wrong version for the duration of the run, runs the
named checks, and restores it.  A check "catches" a mutation when it reports ``passed = False``
or raises (``theory.run_all`` records an exception as a failure).  ``slow`` mutations need the
default (``make theory``) size of a simulation check for their power; the test suite runs the
others.  Run them with ``python -m theory.run_all --out DIR --mutations``.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Callable

import sympy as sp

from .registry import by_name


@dataclass(frozen=True)
class Mutation:
    name: str                                  # what is planted, in words
    target: str                                # "module:function" replaced during the run
    wrong: Callable[[Callable], Callable]      # original function -> wrong version
    checks: tuple[str, ...]                    # dotted names that must fail
    slow: bool = False                         # needs the default size (not run by the test suite)
    kwargs: dict = field(default_factory=dict)  # per-check keyword arguments (sizes)


@contextlib.contextmanager
def planted(mutation: Mutation):
    """Replace ``mutation.target`` by the wrong version (clearing the caches of derivations), then restore."""
    mod_name, _, attr = mutation.target.partition(":")
    mod = importlib.import_module(mod_name)
    original = getattr(mod, attr)
    _clear_caches()
    setattr(mod, attr, mutation.wrong(original))
    try:
        yield
    finally:
        setattr(mod, attr, original)
        _clear_caches()


def _clear_caches():
    from . import hill_pareto, stable_laws, transform
    for f in (transform.derive_transformed_survival, hill_pareto.derive_hill_moments,
              hill_pareto.derive_moment_statistic_exact, stable_laws.derive_one_big_jump_bounds):
        f.cache_clear()


def _scale_key(key, factor):
    def wrap(orig):
        def f(*a, **k):
            out = dict(orig(*a, **k))
            out[key] = out[key] * factor
            return out
        return f
    return wrap


def _times(factor):
    return lambda orig: (lambda *a, **k: orig(*a, **k) * factor)


T, S, X = "theory.", "sim.theory_checks.", "theory.simulations."
MUTATIONS: tuple[Mutation, ...] = (
    Mutation("transform law: index alpha/(1+gamma) off by 10%", "theory.transform:derive_transformed_survival",
             _scale_key("index", sp.Rational(11, 10)),
             (T + "transform.check_tail_index_law", T + "transform.check_exact_exponent",
              S + "check_transform_law_stable")),
    Mutation("Hill mean k alpha/(k-2) instead of k alpha/(k-1)", "theory.hill_pareto:derive_hill_moments",
             lambda orig: (lambda: {**orig(), "mean": orig()["mean"] * (sp.Symbol("k", positive=True) - 1)
                                    / (sp.Symbol("k", positive=True) - 2)}),
             (T + "hill_pareto.check_hill_moments", S + "check_hill_pareto_mean")),
    Mutation("finite-k E[M - 2H^2] stated as its limit 0", "theory.hill_pareto:derive_moment_statistic_exact",
             lambda orig: (lambda: {**orig(), "EQ": sp.Integer(0)}),
             (T + "hill_pareto.check_moment_statistic_exact", X + "check_moment_statistic_pareto")),
    Mutation("norm of a stable vector: constant C instead of d C", "theory.stable_laws:derive_vector_norm_tail",
             lambda orig: (lambda: {**orig(), "norm_constant": orig()["norm_constant"] / sp.Symbol("d", positive=True)}),
             (T + "stable_laws.check_vector_norm_index", S + "check_stable_vector_norm_constant"),
             kwargs={S + "check_stable_vector_norm_constant": {"n": 200_000}}),
    Mutation("one big jump: the sum's constant without the factor B", "theory.stable_laws:derive_one_big_jump_bounds",
             lambda orig: (lambda B_: {**orig(B_), "lower0": sp.Integer(1), "upper0": sp.Integer(1)}),
             (T + "stable_laws.check_one_big_jump", X + "check_one_big_jump_constant"),
             kwargs={X + "check_one_big_jump_constant": {"n_batches": 200_000, "x": 30.0}}),
    Mutation("minibatch second moment with 1/B^2", "theory.convergence:minibatch_second_moment",
             lambda orig: (lambda H2, S_, B: H2 + (S_ - H2) / B ** 2),
             (T + "convergence.check_minibatch_second_moment",)),
    Mutation("p-th moment rate: remainder eta^2 instead of eta^p", "theory.convergence:derive_average_bound",
             lambda orig: (lambda p_=None: orig(sp.Integer(2)) if p_ is None else orig(sp.Integer(2))),
             (T + "convergence.check_average_bound", T + "convergence.check_clipping_exponents")),
    Mutation("Brownian exit law exp(Delta U/eps^2) instead of exp(2 Delta U/eps^2)", "theory.flatness:brownian_log_rate",
             lambda orig: (lambda dU_, eps_: dU_ / eps_ ** 2),
             (T + "flatness.check_brownian_exit_time",)),
    Mutation("exit time: elasticity 1.1 alpha in the width", "theory.flatness:derive_exit_time",
             lambda orig: (lambda a_=None, b_=None: orig(a_, b_) * (a_ * b_) ** (sp.Symbol("alpha", positive=True) / 20)),
             (T + "flatness.check_exit_time_law",)),
    Mutation("exit time level 10% high", "theory.flatness:exit_time_symmetric", _times(1.1),
             (S + "check_exit_time_level",), slow=True),
    Mutation("exit time: elasticity 1.1 alpha (simulated slope)", "theory.flatness:derive_exit_time",
             lambda orig: (lambda a_=None, b_=None: orig(a_, b_) * (a_ * b_) ** (sp.Symbol("alpha", positive=True) / 20)),
             (S + "check_exit_time_width",), slow=True),
    Mutation("stable vector norm index 10% high", "theory.stable_laws:derive_vector_norm_tail",
             _scale_key("norm_index", sp.Rational(11, 10)),
             (T + "stable_laws.check_vector_norm_index", S + "check_stable_vector_norm_index"),
             kwargs={S + "check_stable_vector_norm_index": {"n": 2_000_000}}),
)


def run_mutations(*, small: bool = False, only: str | None = None) -> list[dict]:
    """Run every mutation (``small``: skip the slow ones); one record per mutation with, per check,
    whether it failed (True = caught)."""
    reg = by_name()
    out = []
    for mut in MUTATIONS:
        if (small and mut.slow) or (only is not None and not any(only in c for c in mut.checks)):
            continue
        failed, errors = {}, {}
        with planted(mut):
            for name in mut.checks:
                if name not in reg:
                    raise KeyError(f"mutation {mut.name!r} names an unregistered check {name!r}")
                try:
                    res = reg[name].function()(**mut.kwargs.get(name, {}))
                    failed[name] = not res.passed
                except Exception as exc:                           # a raise is a reported failure
                    failed[name] = True
                    errors[name] = f"{type(exc).__name__}: {exc}"
        out.append({"name": mut.name, "target": mut.target, "failed": failed, "errors": errors,
                    "caught": all(failed.values())})
    return out
