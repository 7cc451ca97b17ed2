"""The common result type of every theory check (symbolic or simulated)."""
from __future__ import annotations

from typing import Any, NamedTuple

import sympy as sp


class CheckResult(NamedTuple):
    """(measured, expected, tolerance, passed).

    Symbolic checks: ``measured`` and ``expected`` are sympy expressions (or small containers of
    them), ``tolerance`` is 0 (exact identity) and ``passed`` says whether
    ``simplify(measured - expected) == 0`` (or the stated relation) holds. Simulation checks:
    floats, with an absolute ``tolerance``.
    """

    measured: Any
    expected: Any
    tolerance: float
    passed: bool


def is_zero(expr) -> bool:
    """True when sympy proves ``expr`` == 0 (simplify, then a rewrite through gamma/exp)."""
    e = sp.simplify(expr)
    if e == 0:
        return True
    e = sp.simplify(sp.expand(sp.gammasimp(sp.expand_trig(e))))
    if e == 0:
        return True
    e = sp.simplify(sp.powsimp(sp.expand_power_base(sp.expand(e), force=True), force=True))
    return e == 0


def exact(measured, expected) -> CheckResult:
    """A symbolic identity check: passed iff ``measured - expected`` simplifies to 0."""
    return CheckResult(measured, expected, 0.0, bool(is_zero(measured - expected)))


def all_exact(pairs) -> CheckResult:
    """Several identities at once: a tuple of measured, a tuple of expected, passed iff all hold."""
    pairs = list(pairs)
    ok = all(is_zero(m - e) for m, e in pairs)
    return CheckResult(tuple(m for m, _ in pairs), tuple(e for _, e in pairs), 0.0, bool(ok))
