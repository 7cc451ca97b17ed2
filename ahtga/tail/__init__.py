"""Tail-index estimators (torch, any device; numpy arrays accepted)."""
from .hill import TailWarning, hill, hill_all_k

__all__ = ["TailWarning", "hill", "hill_all_k"]
