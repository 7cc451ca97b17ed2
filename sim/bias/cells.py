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
for signed estimators), ``student_t`` = |Student-t| with df = alpha.
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
ALPHAS = (0.5, 0.8, 1.0, 1.2, 1.5, 1.8, 1.9, 1.95, 2.0)
NS = (128, 512, 1_000, 10_000, 100_000)
LAWS = ("stable", "pareto", "student_t")
_LAW_CODE = {"stable": 1, "pareto": 2, "student_t": 3}


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
    # Everything: 3 laws x 9 alphas x 5 n, 100 replications (about 4,500 s of CPU, i.e. ~40 min
    # on 2 free cores; dominated by the two double bootstraps at n = 1e5, ~0.7 s per estimate).
    "full": Scale("full", 100, tuple((law, ALPHAS, NS) for law in LAWS), "all cells, 100 replications"),
    # For `make all` (~3 min on 2 cores shared with other jobs, measured; ~230 s of CPU): stable over all alphas at n = 512 and 1e4, Pareto
    # and Student-t at 4 alphas and n = 1e4 (20 replications); the two reference cells at
    # n = 1e5 (stable alpha 1.5 and 1.9) with 10 replications.
    "quick": Scale("quick", 20, (
        ("stable", ALPHAS, (512, 10_000)),
        ("stable", (1.5, 1.9), (100_000,), 10),
        ("pareto", (0.5, 1.0, 1.5, 2.0), (10_000,)),
        ("student_t", (0.5, 1.0, 1.5, 2.0), (10_000,)),
    ), "stable: all alphas at n in {512, 1e4} (20 replications) and alpha in {1.5, 1.9} at "
       "n = 1e5 (10 replications); pareto and student_t: alpha in {0.5, 1, 1.5, 2} at n = 1e4 "
       "(20 replications); n = 128 and 1e3 only at the full scale"),
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
    return law_rvs(law, alpha, size=n, signed=True, rng=rng)
