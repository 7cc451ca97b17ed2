"""The cells of the bias atlas, their seeds, their data and their file names.

A cell is (estimator, law, alpha, n). Its R replications r = 0..R-1 read the data of
``(law, alpha, n, r)``: the same draws for every estimator (common random numbers, so estimators
are compared on identical samples) and for every scale (a quick run's replications are the
first ones of a full run). Seeds come from ``numpy.random.SeedSequence`` over integer codes of the
cell, so they are deterministic, independent of the order cells run in, and recorded in each
result file:

    data seed      = SeedSequence([BASE_SEED, law code, round(1e4 alpha), n, r])
    estimator seed = first 32-bit word of SeedSequence([BASE_SEED, law code, round(1e4 alpha), n,
                                                        r, crc32(estimator name)])

Laws (see :mod:`sim.sources`): ``stable`` = |symmetric alpha-stable| (S1, scale 1; signed for
estimators that take signed data), ``pareto`` = exact Pareto with tail index alpha (random sign
for signed estimators), ``student_t`` = |Student-t| with df = alpha (second-order rho = -2/alpha).
Drawn here (Pareto-type laws on which Hill is nearly unbiased, random sign for signed
estimators): ``frechet`` = Frechet, X = (-log U)^(-1/alpha), P(X > x) = 1 - exp(-x^-alpha)
(rho = -1); ``burr`` = Burr XII with P(X > x) = (1 + x^2)^(-alpha/2), X = (U^(-2/alpha) - 1)^(1/2)
(tail index alpha, rho = -2/alpha).
Target of the bias: the tail index alpha, except stable alpha = 2 (the Gaussian), whose Hill-sense
tail index is infinite: there the atlas reports what estimators read and, by convention, bias
and RMSE against the stable index 2 (marked ``target_convention = "stable index"`` in the files).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ahtga._validation import check_choice

from ..sources import law_rvs

BASE_SEED = 20240611
ALPHAS = (0.5, 0.8, 1.0, 1.2, 1.5, 1.7, 1.8, 1.9, 1.95, 2.0)
NS = (128, 512, 1_000, 10_000, 100_000)
LAWS = ("stable", "pareto", "student_t", "frechet", "burr")
_LAW_CODE = {"stable": 1, "pareto": 2, "student_t": 3, "frechet": 4, "burr": 5}
# issue 14's grids
TARGET_ALPHAS = (1.0, 1.2, 1.5, 1.7, 1.8, 1.9)          # |stable|, against hill_db_te
TARGET_NS = (1_000, 10_000, 100_000)
SMALL_NS = (32, 64, 128, 256, 512)                       # one AHTGA batch
PARETO_TYPE = (("pareto", 0.9), ("student_t", 4.0), ("frechet", 1.5), ("burr", 1.5))


@dataclass(frozen=True)
class Scale:
    """Which cells a scale runs, and how many replications each.

    ``grid`` is a tuple of (law, alphas, ns) or (law, alphas, ns, reps) blocks; the cells are
    the union of their products (crossed with the estimators); a block's ``reps`` overrides the
    scale's for its cells.
    """
    name: str
    reps: int                                            # replications per cell (default)
    grid: tuple[tuple, ...]
    note: str                                            # what was left out, for the report

    def law_cells(self) -> list[tuple[str, float, int]]:
        return list(self.reps_by_cell())

    def reps_by_cell(self) -> dict[tuple[str, float, int], int]:
        out = {}
        for block in self.grid:
            law, alphas, ns = block[:3]
            reps = block[3] if len(block) > 3 else self.reps
            for a in alphas:
                for n in ns:
                    out.setdefault((law, float(a), int(n)), reps)
        return out


SCALES = {
    # Issue 14's grids at the replications it asks for, plus the older coverage: |stable| at
    # every alpha for n in {1e3, 1e4} (40 replications) and n = 1e5 (8), n in {128, 512} (40);
    # the Pareto-type laws at n in {1e3, 1e4} (40); small samples n = 32..512 on |stable| 1.5
    # and Pareto 1, 1.5, 2 (200). Resumable; dominated by the three double bootstraps at n = 1e5
    # (run it in the background with `nice`).
    "full": Scale("full", 40, (
        ("stable", ALPHAS, (1_000, 10_000)),
        ("stable", ALPHAS, (100_000,), 8),
        ("stable", ALPHAS, (128, 512)),
        ("pareto", (0.5, 0.9, 1.0, 1.5, 2.0), (1_000, 10_000)),
        ("student_t", (1.0, 2.0, 4.0), (1_000, 10_000)),
        ("frechet", (1.5,), (1_000, 10_000)),
        ("burr", (1.5,), (1_000, 10_000)),
        ("stable", (1.5,), SMALL_NS, 200),
        ("pareto", (1.0, 1.5, 2.0), SMALL_NS, 200),
    ), "stable: every alpha at n in {128, 512, 1e3, 1e4} (40 replications) and n = 1e5 (8); "
       "pareto, student_t, frechet, burr at n in {1e3, 1e4} (40); small samples n = 32..512 on "
       "stable 1.5 and pareto 1, 1.5, 2 (200)"),
    # For `make all` (about 5 minutes on 2 cores shared with other jobs, measured): the same
    # grids with fewer replications, n = 1e5 only at alpha in {1.5, 1.9}.
    "quick": Scale("quick", 10, (
        ("stable", TARGET_ALPHAS + (2.0,), (1_000, 10_000)),
        ("stable", (1.5, 1.9), (100_000,), 2),
        ("pareto", (0.9,), (10_000,)),
        ("student_t", (4.0,), (10_000,)),
        ("frechet", (1.5,), (10_000,)),
        ("burr", (1.5,), (10_000,)),
        ("stable", (1.5,), SMALL_NS, 40),
        ("pareto", (1.0, 1.5, 2.0), SMALL_NS, 40),
    ), "stable: alpha in {1, 1.2, 1.5, 1.7, 1.8, 1.9, 2} at n in {1e3, 1e4} (10 replications), "
       "alpha in {1.5, 1.9} at n = 1e5 (2); pareto 0.9, student_t 4, frechet 1.5, burr 1.5 at "
       "n = 1e4 (10); small samples n = 32..512 on stable 1.5 and pareto 1, 1.5, 2 (40)"),
}


@dataclass(frozen=True)
class Cell:
    estimator: str
    law: str
    alpha: float
    n: int

    @property
    def relpath(self) -> str:
        """``<estimator>/<law>_a<alpha>_n<n>.json``, e.g. ``hill_db/stable_a1.95_n100000.json``."""
        return f"{self.estimator}/{self.law}_a{self.alpha:g}_n{self.n}.json"


def target(law: str, alpha: float) -> tuple[float, str]:
    """The value a bias is measured against, and its convention."""
    if law == "stable" and alpha >= 2.0:
        return 2.0, "stable index"          # Gaussian: Hill-sense index is infinite
    return float(alpha), "tail index"


def _codes(law: str, alpha: float, n: int, rep: int) -> list[int]:
    check_choice("law", law, set(LAWS))
    return [BASE_SEED, _LAW_CODE[law], int(round(alpha * 10_000)), int(n), int(rep)]


def data_seed(law: str, alpha: float, n: int, rep: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(_codes(law, alpha, n, rep))


def estimator_seed(estimator: str, law: str, alpha: float, n: int, rep: int) -> int:
    codes = _codes(law, alpha, n, rep) + [zlib.crc32(estimator.encode())]
    return int(np.random.SeedSequence(codes).generate_state(1, dtype=np.uint32)[0])


def draw(law: str, alpha: float, n: int, rep: int) -> np.ndarray:
    """The signed sample of replication ``rep`` (take ``abs`` for positive-data estimators)."""
    rng = np.random.default_rng(data_seed(law, alpha, n, rep))
    if law in ("frechet", "burr"):
        u = 1.0 - rng.random(n)                          # in (0, 1]
        with np.errstate(divide="ignore"):
            if law == "frechet":                         # u = 1: x = inf -> the largest float
                x = np.minimum((-np.log(u)) ** (-1.0 / alpha), np.finfo(float).max)
            else:                                        # u = 1: x = 0 -> the smallest positive
                x = np.maximum(np.sqrt(u ** (-2.0 / alpha) - 1.0), np.finfo(float).tiny)
        return np.where(rng.random(n) < 0.5, -x, x)
    return law_rvs(law, alpha, size=n, signed=True, rng=rng)
