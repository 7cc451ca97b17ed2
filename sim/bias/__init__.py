"""The estimator bias atlas: bias, sd and RMSE of every registered tail-index estimator over
stable, Pareto and Student-t laws, alpha in {0.5, ..., 2} and n in {128, ..., 1e5}.

    python -m sim.bias run --scale quick|full --out DIR [--estimators ...] [--workers N]
    python -m sim.bias report --results DIR --out paper/generated

See :mod:`sim.bias.cells` (grid, seeds, conventions), :mod:`sim.bias.run` (resumable runner)
and :mod:`sim.bias.report` (figure, table, LaTeX macros, summary JSON).
"""
from .cells import ALPHAS, LAWS, NS, SCALES, Cell

__all__ = ["ALPHAS", "LAWS", "NS", "SCALES", "Cell"]
