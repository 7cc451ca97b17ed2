"""Per-step telemetry of AHTGA, for loggers."""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["StepStats"]


@dataclass(frozen=True)
class StepStats:
    """What one AHTGA step saw and did.

    Floats are NaN where a step did not compute them (a skipped step, or no estimate);
    ``k`` is 0 when no estimate was made or the estimator has no k.

    step : number of completed updates before this step (the schedule's t).
    alpha_hat : the (clamped) tail-index estimate of this step's norms (with
        ``estimate_lag=1``: of the previous step's norms; NaN at step 0).
    alpha : the EMA-smoothed tail index after this step.
    alpha_star : the target alpha*_t of the schedule.
    gamma : the exponent used by the transform.
    k : the number of upper order statistics used by the estimator (k* for hill_db).
    n : number of per-example norms (the global batch under torch.distributed).
    q05, q50, q95, max : quantiles of the per-example gradient norms (linear interpolation).
    clamped : the single estimate was non-finite or outside the clamp range and was clamped.
    gamma_guarded : the exponent rule's guard or bounds changed gamma.
    estimated : a tail estimate was made (False: too few positive norms, alpha kept).
    estimator_warning : the estimator raised a TailWarning (e.g. k* clamped at small n).
    skipped : the step was skipped (NaN/Inf losses, norms or gradients): no parameter changed.
    alpha_transformed : the tail index of the transformed norms ||T(g_i)|| pooled like the
        tracker's (``AHTGA(track_transformed=True)``; NaN otherwise or before the pool fills).
    alpha_star is NaN on a skipped step before a relative target's first reading.
    """
    step: int
    alpha_hat: float
    alpha: float
    alpha_star: float
    gamma: float
    k: int
    n: int
    q05: float
    q50: float
    q95: float
    max: float
    clamped: bool
    gamma_guarded: bool
    skipped: bool
    estimated: bool = True
    estimator_warning: bool = False
    alpha_transformed: float = float("nan")

    def as_dict(self) -> dict:
        """A flat dict of plain Python numbers and bools."""
        return asdict(self)
