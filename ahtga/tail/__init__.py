"""Tail-index estimators (torch, any device; numpy arrays accepted).

Hill (one k, all k), the default ``stable_t_dk`` (|symmetric stable| or |Student-t|, whichever
passes its test, by likelihood when both do, else Hill at the Drees-Kaufmann k; ``stable_t``),
``stable_dk`` (the stable model alone; ``stable_fit``),
``hill_lepski`` (Hill at a k chosen by Lepski's rule, capped by the double bootstrap at large n;
AHTGA's estimator), double bootstrap for k (Danielsson et al. 2001), Pickands, moment
(Dekkers-Einmahl-de Haan), kernel type (Groeneboom-Lopuhaa-de Wolf), the stable estimator of
Mohammadi-Mohammadpour-Ogata, a reduced-bias Hill, an EMA tracker, and ``estimate`` with the
``ESTIMATORS`` registry.  Command line: ``python -m ahtga.tail FILE``.
"""
from .api import DEFAULT, ESTIMATORS, MIN_N, SIGNED, TailEstimate, estimate, estimator_options
from .double_bootstrap import DoubleBootstrapResult, double_bootstrap
from .ema import EMATracker
from .hill import TailWarning, hill, hill_all_k
from .lepski import hill_lepski
from .others import kernel_type, moment, pickands, stable_mmo
from .rbc import hill_rbc
from .stable_fit import hill_dk, stable_dk, stable_quantile_fit
from .stable_t import stable_t_dk, student_t_fit

__all__ = ["TailWarning", "hill", "hill_all_k", "double_bootstrap", "DoubleBootstrapResult",
           "pickands", "moment", "kernel_type", "stable_mmo", "hill_rbc", "hill_lepski", "stable_dk", "stable_t_dk", "student_t_fit", "stable_quantile_fit", "hill_dk", "DEFAULT", "EMATracker",
           "TailEstimate", "estimate", "ESTIMATORS", "MIN_N", "SIGNED", "estimator_options"]
