"""Writes ``ahtga/tail/_stable_density.py``: the log density of |X|, X symmetric alpha-stable
(S1, scale 1: characteristic function exp(-|t|^alpha)), on a grid of alpha and log x, for the
likelihood of the stable law in :func:`ahtga.tail.stable_fit.stable_dk`'s model check.

The density of X is f(x) = (1/pi) int_0^inf cos(t x) exp(-t^alpha) dt; |X| has 2 f(x).  Each
value is that Fourier integral by QUADPACK's QAWF (``scipy.integrate.quad`` with a cosine weight)
where it exceeds ``QUAD_FLOOR``, and beyond, where the integral's absolute error would dominate,
the first terms of the series (30 below alpha = 1, 3 above) in x^(-k alpha - 1)
(f(x) ~ (1/pi) sum_k (-1)^(k+1) Gamma(k alpha + 1) / k! sin(k pi alpha / 2) x^(-k alpha - 1),
Zolotarev 1986, Thm 2.4.2; convergent for alpha < 1, asymptotic above).  The two agree to
``SWITCH_TOL`` (relative) where the switch happens, which ``write`` checks.  alpha = 2 is the
normal law N(0, 2), exactly.  Grid: ``ALPHAS`` of ``sim.stable_table`` (0.60..2.00 by 0.02);
log x in [``LOGX_LO``, ``LOGX_HI``] by ``LOGX_STEP``.  Outside it the reader uses the density
at 0 (below) and the leading power-law term (above).

Run: ``python -m sim.stable_density`` (a few seconds); the test suite checks the written table
against scipy's ``levy_stable.pdf`` in the body and checks that it integrates to 1.
"""
from __future__ import annotations

import math
import pathlib
import time

import numpy as np
from scipy import integrate, special

from .stable_table import ALPHAS, rows_text, write_module

LOGX_LO, LOGX_HI, LOGX_STEP = -8.0, 12.0, 0.1
QUAD_FLOOR = 1e-8
SWITCH_TOL = 1e-3
TARGET = pathlib.Path(__file__).resolve().parents[1] / "ahtga" / "tail" / "_stable_density.py"


def logx_grid() -> np.ndarray:
    return np.round(np.arange(LOGX_LO, LOGX_HI + LOGX_STEP / 2, LOGX_STEP), 6)


def series_terms(alpha: float) -> int:
    """Terms kept: 30 where the series converges (alpha < 1), 3 where it is only asymptotic."""
    return 30 if alpha < 1 else 3


def series(alpha: float, x: np.ndarray, terms: int | None = None) -> np.ndarray:
    """The density of X (not |X|) from the first ``terms`` terms of the large-x series."""
    terms = series_terms(alpha) if terms is None else terms
    out = np.zeros_like(x, dtype=float)
    for k in range(1, terms + 1):
        c = (-1) ** (k + 1) * math.exp(special.gammaln(k * alpha + 1) - special.gammaln(k + 1)) \
            * math.sin(k * math.pi * alpha / 2) / math.pi
        out += c * x ** (-k * alpha - 1)
    return out


def quad(alpha: float, x: float) -> float:
    """The density of X at x >= 0 by the Fourier integral: QAWF from x >= 1, a plain adaptive
    quadrature on [0, T] (exp(-T^alpha) = 1e-300) below, where QAWF's cycles are too long."""
    if x == 0:
        return special.gamma(1 + 1 / alpha) / math.pi
    if x >= 1:
        v, _ = integrate.quad(lambda t: math.exp(-t ** alpha), 0, math.inf, weight="cos",
                              wvar=x, limlst=200)
    else:
        T = 690.0 ** (1 / alpha)
        v, _ = integrate.quad(lambda t: math.cos(t * x) * math.exp(-t ** alpha), 0, T,
                              limit=2000, epsabs=1e-15, epsrel=1e-10)
    return v / math.pi


def converged(alpha: float, x: float, tol: float = 1e-6) -> bool:
    """The first two omitted terms of the series are each under ``tol`` of the kept sum at x
    (two, because one vanishes where sin(k pi alpha / 2) = 0; for the asymptotic series,
    alpha >= 1, the first omitted term is the size of the error)."""
    m = series_terms(alpha)
    parts = [series(alpha, np.array([x]), j)[0] for j in (m, m + 1, m + 2)]
    full = parts[0]
    return full > 0 and max(abs(parts[1] - parts[0]), abs(parts[2] - parts[1])) < tol * full


def log_density_row(alpha: float, lx: np.ndarray) -> tuple[np.ndarray, float]:
    """log of the density of |X| on ``exp(lx)``, and the relative gap between the integral and
    the series at the switch (the first x where the series has converged or the integral is
    under ``QUAD_FLOOR``, after which QAWF's absolute error would dominate)."""
    x = np.exp(lx)
    if alpha >= 2:
        return math.log(2) - x * x / 4 - 0.5 * math.log(4 * math.pi), 0.0
    f = np.empty_like(x)
    gap = None
    for i, xi in enumerate(x):
        xi = float(xi)
        if gap is None:
            q = quad(alpha, xi)
            ok = converged(alpha, xi)
            if q > QUAD_FLOOR and not ok:
                f[i] = q
                continue
            if not ok:
                raise ArithmeticError(f"alpha={alpha}: at x={xi:.3g} the integral is {q:.2e} and "
                                      "the series has not converged")
            f[i] = series(alpha, np.array([xi]))[0]
            gap = abs(q - f[i]) / f[i]
            continue
        f[i] = series(alpha, np.array([xi]))[0]
    if np.any(f <= 0):
        raise ArithmeticError(f"non-positive density at alpha={alpha}")
    return np.log(2 * f), 0.0 if gap is None else gap


def table() -> tuple[np.ndarray, np.ndarray, float]:
    lx = logx_grid()
    rows, worst = [], 0.0
    for a in ALPHAS:
        row, gap = log_density_row(float(a), lx)
        rows.append(row)
        worst = max(worst, gap)
    return lx, np.array(rows), worst


def write(path=TARGET) -> pathlib.Path:
    t0 = time.perf_counter()
    lx, L, worst = table()
    if worst > SWITCH_TOL:
        raise ArithmeticError(f"the integral and the series differ by {worst:.2e} at the switch")
    rows = rows_text(L)
    text = (f'"""Generated by ``python -m sim.stable_density`` (do not edit).\n\n'
            "log density of |X|, X symmetric alpha-stable (S1, scale 1): ``LOGF[i][j]`` at\n"
            '``ALPHAS[i]`` and x = exp(``LOGX_LO`` + j ``LOGX_STEP``) (module docstring of\n'
            f'``sim.stable_density``; largest relative gap integral/series at the switch {worst:.1e})."""\n'
            f"ALPHAS = ({', '.join(f'{a:g}' for a in ALPHAS)})\n"
            f"LOGX_LO, LOGX_STEP, LOGX_N = {LOGX_LO!r}, {LOGX_STEP!r}, {len(lx)}\n"
            f"LOGF = (\n{rows},\n)\n")
    return write_module(path, text, t0, f" (switch gap {worst:.1e})")


if __name__ == "__main__":
    write()
