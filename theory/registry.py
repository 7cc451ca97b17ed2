"""Every theory check with its statement number (the single list run_all, the tests and proofs/ use).

A check is named by its dotted path ``package.module.function`` (``theory.*`` symbolic,
``sim.theory_checks.*`` simulation).  ``small`` holds keyword arguments for a cheaper run (the
test suite); ``make theory`` runs every check at its default size.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

STATEMENTS = {
    1: "Transform law and exponent rules",
    2: "Hill estimator on Pareto data",
    3: "Stable laws",
    4: "Convergence of AHTGA; clipped-SGD rates",
    5: "Hausdorff-dimension generalization bound",
    6: "Tail index and flatness; linear regression",
}


@dataclass(frozen=True)
class Entry:
    statement: int                 # statement number in proofs/ (1..6)
    check: str                     # dotted path of the check function
    what: str                      # one line for the table
    small: dict = field(default_factory=dict)   # cheaper keyword arguments for tests

    @property
    def kind(self) -> str:
        return "simulation" if self.check.startswith("sim.") else "symbolic"

    def function(self) -> Callable:
        mod, _, name = self.check.rpartition(".")
        return getattr(importlib.import_module(mod), name)


T, S = "theory.", "sim.theory_checks."
CHECKS: tuple[Entry, ...] = (
    Entry(1, T + "transform.check_tail_index_law", "tail index alpha/(1+gamma) and constant of Y"),
    Entry(1, T + "transform.check_exact_exponent", "gamma = alpha/alpha* - 1 maps alpha to alpha*"),
    Entry(1, T + "transform.check_overshoot_condition", "quadratic rule overshoots iff c|alpha-alpha*|alpha* > 1"),
    Entry(1, T + "transform.check_monotonicity", "increasing iff 1+gamma > 0; below target c2 d^2 < 1"),
    Entry(1, T + "transform.check_moments", "E Y^q < inf iff q(1+gamma) < alpha; gamma < alpha/p - 1"),
    Entry(1, S + "check_transform_law_pareto", "Hill on transformed Pareto norms",
          {"n": 20_000, "k": 1_000}),
    Entry(1, S + "check_transform_law_stable", "Hill on |stable| norms, exact rule reaches alpha*",
          {"n": 50_000, "k": 500}),
    Entry(2, T + "hill_pareto.check_spacings_identity", "telescoping of Hill's sum into spacings"),
    Entry(2, T + "hill_pareto.check_gamma_law", "k H ~ Gamma(k, alpha) (Laplace transforms)"),
    Entry(2, T + "hill_pareto.check_hill_moments", "E and Var of alpha_hat on Pareto data"),
    Entry(2, T + "hill_pareto.check_wrong_threshold", "threshold x_(k): E H' = (k-1)/(k alpha)"),
    Entry(2, T + "hill_pareto.check_second_order_biases", "first-order biases of H and M - 2H^2"),
    Entry(2, T + "hill_pareto.check_alpha_hat_asymptotics", "delta method for alpha_hat"),
    Entry(2, T + "hill_pareto.check_double_bootstrap_correction", "k_H/k_Q and the DPDV correction"),
    Entry(2, S + "check_hill_pareto_mean", "Monte Carlo mean of alpha_hat", {"reps": 1_000}),
    Entry(2, S + "check_hill_pareto_variance", "Monte Carlo variance of alpha_hat", {"reps": 1_500}),
    Entry(2, S + "check_hill_wrong_threshold", "Monte Carlo mean of H' (wrong threshold)", {"reps": 1_000}),
    Entry(2, S + "check_hill_second_order_bias", "Hill bias on a Hall-class mixture",
          {"n": 2_000, "k": 100, "reps": 300}),
    Entry(3, T + "stable_laws.check_s0_s1_shift", "S0/S1 characteristic functions; alpha = 2 normal"),
    Entry(3, T + "stable_laws.check_cms_special_cases", "CMS at alpha = 1, 2 (Cauchy, normal)"),
    Entry(3, T + "stable_laws.check_tail_constant", "C_alpha = 2 Gamma(alpha) sin(pi alpha/2)/pi"),
    Entry(3, T + "stable_laws.check_vector_norm_index", "||X|| of iid stable coordinates: index alpha"),
    Entry(3, T + "stable_laws.check_gclt_scaling", "mean of B stable draws: scale B^(1/alpha-1)"),
    Entry(3, S + "check_cms_characteristic_function", "empirical CF of CMS draws", {"n": 50_000}),
    Entry(3, S + "check_stable_tail_constant", "t^alpha P(|X| > t) vs C_alpha", {"n": 500_000, "t": 15.0}),
    Entry(3, S + "check_stable_vector_norm_index", "Hill on norms of stable vectors",
          {"n": 30_000, "d": 10, "k": 500}),
    Entry(3, S + "check_gclt_scaling", "IQR of minibatch means vs B (Pareto noise)", {"reps": 2_000}),
    Entry(4, T + "convergence.check_young_step", "Young's inequality step"),
    Entry(4, T + "convergence.check_minibatch_second_moment", "second moment of a minibatch mean"),
    Entry(4, T + "convergence.check_average_bound", "telescoped bound, optimal step and rate"),
    Entry(4, T + "convergence.check_isotropic_alignment", "isotropic noise: h parallel to grad f"),
    Entry(4, T + "convergence.check_second_moment_condition", "Q finite iff gamma_max < alpha/2 - 1"),
    Entry(4, T + "convergence.check_reductions", "gamma = 0 is SGD; gamma -> -1 normalises"),
    Entry(4, T + "convergence.check_clipping_exponents", "clipped SGD exponents; LP minimax"),
    Entry(4, S + "check_isotropic_alignment_mc", "Monte Carlo: h_perp = 0, kappa > 0", {"n": 50_000}),
    Entry(5, T + "generalization.check_bound_monotone", "bound increasing in d_H = min(alpha, 2)"),
    Entry(5, T + "generalization.check_schedule_implication", "linear schedule: sup is the final target"),
    Entry(6, T + "flatness.check_exit_time_law", "E tau ~ (A/eps)^alpha; Brownian exp(2 dU/eps^2)"),
    Entry(6, T + "flatness.check_levy_constant_matches_tail", "Levy measure tail = C_alpha r^-alpha"),
    Entry(6, T + "flatness.check_linreg_h2", "h(2) and eta_2 = 2b/(sigma^2 (d+b+1))"),
    Entry(6, S + "check_exit_time_level", "simulated E tau at A = 1", {"n_paths": 300}),
    Entry(6, S + "check_exit_time_width", "slope of log E tau in log A", {"n_paths": 400}),
    Entry(6, S + "check_exit_time_depth", "E tau independent of depth", {"n_paths": 300}),
    Entry(6, S + "check_linreg_root_vs_hill", "Hill on SGD iterates vs the root",
          {"n_chains": 30_000, "n_steps": 120, "k": 500}),
    Entry(6, S + "check_linreg_root_at_eta2", "Monte Carlo root at eta_2 is 2", {"n_mc": 200_000}),
    Entry(6, S + "check_linreg_root_decreasing", "root decreasing in eta", {"n_mc": 50_000}),
)


def by_name() -> dict[str, Entry]:
    return {e.check: e for e in CHECKS}
