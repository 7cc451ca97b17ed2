"""Metrics of the experiments: accuracy, perplexity, calibration, generalization gap,
effective rank of per-example gradients, Hessian sharpness and trace, a tail monitor, and the
tail indices of pooled per-example norms and of the minibatch gradient noise.

Every function is pure (arguments in, numbers out) except :class:`TailMonitor`, which holds a
probe batch and a schedule.  Nothing here imports ``ahtga.optim`` or ``ahtga.experiments``.
"""
from .classification import accuracy, generalization_gap, nll, perplexity
from .calibration import expected_calibration_error, reliability_diagram
from .gradient_noise import gradient_tails, minibatch_noise, pooled_norms
from .ood import auroc, max_softmax_scores
from .rank import effective_rank, gram_matrix, gradient_effective_rank
from .sharpness import hessian_top_eigenvalue, hessian_trace, hvp
from .tail_monitor import TailMonitor, probe_per_example

__all__ = [
    "accuracy", "nll", "perplexity", "generalization_gap",
    "expected_calibration_error", "reliability_diagram",
    "auroc", "max_softmax_scores",
    "effective_rank", "gram_matrix", "gradient_effective_rank",
    "hvp", "hessian_top_eigenvalue", "hessian_trace",
    "TailMonitor", "probe_per_example", "gradient_tails", "minibatch_noise", "pooled_norms",
]
