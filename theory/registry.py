"""Every theory check with its statement number (the single list run_all, the tests and proofs/ use).

A check is named by its dotted path ``package.module.function`` (``theory.*`` symbolic,
``sim.theory_checks.*`` simulation).  ``small`` holds keyword arguments for a cheaper run (the
test suite); ``make theory`` runs every check at its default size.

``basis`` says what a check establishes (a column of the table ``make theory`` writes):

- ``derivation``: the check computes what the statement asserts from the definitions (sympy
  integrates, solves, expands or differentiates; it never compares two typed-in formulas);
- ``algebra on a cited premise``: the check verifies the algebra that follows from a published
  result used as stated (named in the entry's ``premise``); the premise itself is not checked;
- ``simulation``: a seeded Monte Carlo measurement against the closed form the theory module
  derives, with a tolerance chosen so that a 10% error in that closed form fails (docstrings).
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


DERIVED, CITED, SIMULATED = "derivation", "algebra on a cited premise", "simulation"


@dataclass(frozen=True)
class Entry:
    statement: int                 # statement number in proofs/ (1..6)
    check: str                     # dotted path of the check function
    what: str                      # one line for the table
    small: dict = field(default_factory=dict)   # cheaper keyword arguments for tests
    premise: str = ""              # the cited result, for basis "algebra on a cited premise"

    def __post_init__(self):
        if self.kind == "simulation" and self.premise:
            raise ValueError(f"simulation check {self.check!r} takes no `premise`; got {self.premise!r}")

    @property
    def kind(self) -> str:
        return "simulation" if self.check.startswith(("sim.", "theory.simulations.")) else "symbolic"

    @property
    def basis(self) -> str:
        if self.kind == "simulation":
            return SIMULATED
        return CITED if self.premise else DERIVED

    def function(self) -> Callable:
        mod, _, name = self.check.rpartition(".")
        return getattr(importlib.import_module(mod), name)


T, S, X = "theory.", "sim.theory_checks.", "theory.simulations."
HAAN = "second-order representation of the log-excesses (de Haan and Ferreira 2006, Thm 3.2.5)"
CHECKS: tuple[Entry, ...] = (
    Entry(1, T + "transform.check_tail_index_law", "tail index alpha/(1+gamma) and constant of Y"),
    Entry(1, T + "transform.check_exact_exponent", "gamma = alpha/alpha* - 1 maps alpha to alpha*"),
    Entry(1, T + "transform.check_overshoot_condition", "quadratic rule overshoots iff c|alpha-alpha*|alpha* > 1"),
    Entry(1, T + "transform.check_monotonicity", "increasing iff 1+gamma > 0; below target c2 d^2 < 1"),
    Entry(1, T + "transform.check_moments", "E Y^q < inf iff q(1+gamma) < alpha (1+gamma > 0 needed)"),
    Entry(1, S + "check_transform_law_pareto", "Hill on transformed Pareto norms",
          {"n": 20_000, "k": 1_000}),
    Entry(1, S + "check_transform_law_stable", "Hill on |stable| norms, exact rule reaches alpha*",
          {"n": 1_000_000, "k": 2_000}),
    Entry(2, T + "hill_pareto.check_spacings_identity", "telescoping of Hill's sum into spacings"),
    Entry(2, T + "hill_pareto.check_gamma_law", "k H ~ Gamma(k, alpha) (Laplace transforms)"),
    Entry(2, T + "hill_pareto.check_hill_moments", "E and Var of alpha_hat on Pareto data"),
    Entry(2, T + "hill_pareto.check_wrong_threshold", "threshold x_(k): E H' = (k-1)/(k alpha), k > 2"),
    Entry(2, T + "hill_pareto.check_moment_statistic_exact", "finite k: E[M - 2H^2] = -2/(k alpha^2)"),
    Entry(2, T + "hill_pareto.check_second_order_biases", "first-order biases of H and M - 2H^2",
          premise=HAAN),
    Entry(2, T + "hill_pareto.check_alpha_hat_asymptotics", "delta method for alpha_hat", premise=HAAN),
    Entry(2, T + "hill_pareto.check_double_bootstrap_correction", "k_H/k_Q and the DPDV correction",
          premise=HAAN),
    Entry(2, S + "check_hill_pareto_mean", "Monte Carlo mean of alpha_hat", {"reps": 1_000}),
    Entry(2, S + "check_hill_pareto_variance", "Monte Carlo variance of alpha_hat", {"reps": 1_500}),
    Entry(2, S + "check_hill_wrong_threshold", "Monte Carlo mean of H' (wrong threshold)", {"reps": 1_000}),
    Entry(2, X + "check_moment_statistic_pareto", "Monte Carlo mean of M - 2H^2 at k = 10", {"reps": 20_000}),
    Entry(2, S + "check_hill_second_order_bias", "Hill bias on a Hall-class mixture",
          {"n": 2_000, "k": 100, "reps": 300}),
    Entry(3, T + "stable_laws.check_s0_s1_shift", "S0/S1 characteristic functions; alpha = 2 normal"),
    Entry(3, T + "stable_laws.check_cms_special_cases", "CMS at alpha = 1, 2 (Cauchy, normal)"),
    Entry(3, T + "stable_laws.check_tail_constant", "C_alpha = 2 Gamma(alpha) sin(pi alpha/2)/pi",
          premise="Samorodnitsky and Taqqu (1994) Property 1.2.15; Bergstrom's density series"),
    Entry(3, T + "stable_laws.check_vector_norm_index", "||X|| of iid stable coordinates: d C_alpha t^-alpha",
          premise="one big jump for subexponential sums (Embrechts, Klueppelberg, Mikosch 1997, Cor. 1.3.2)"),
    Entry(3, T + "stable_laws.check_gclt_scaling", "mean of B stable draws: scale B^(1/alpha-1)"),
    Entry(3, T + "stable_laws.check_one_big_jump", "fixed B: ||sum of B iid vectors|| ~ B P(||v|| > x)"),
    Entry(3, S + "check_cms_characteristic_function", "empirical CF of CMS draws", {"n": 50_000}),
    Entry(3, S + "check_stable_tail_constant", "t^alpha P(|X| > t) vs C_alpha", {"n": 500_000, "t": 15.0}),
    Entry(3, S + "check_stable_vector_norm_index", "index of ||X|| from two tail levels",
          {"n": 1_000_000}),
    Entry(3, S + "check_stable_vector_norm_constant", "t^alpha P(||X|| > t) vs d C_alpha", {"n": 1_000_000}),
    Entry(3, X + "check_one_big_jump_minibatch", "index of ||batch mean||, transformed, B = 8",
          {"n_batches": 500_000, "x1": 10.0, "x2": 100.0}),
    Entry(3, X + "check_one_big_jump_constant", "P(||batch mean|| > x) vs B C' (Bx)^-a'",
          {"n_batches": 500_000, "x": 30.0}),
    Entry(3, S + "check_gclt_scaling", "IQR of minibatch means vs B (Pareto noise)", {"reps": 2_000}),
    Entry(4, T + "convergence.check_remainder_interpolation", "remainder <= K ||step||^p, K = (L/2)^(p-1)(2G)^(2-p)"),
    Entry(4, T + "convergence.check_young_step", "Young's inequality step"),
    Entry(4, T + "convergence.check_minibatch_second_moment", "second moment of a minibatch mean (derived)"),
    Entry(4, T + "convergence.check_moment_condition", "Q_p finite iff gamma_max < alpha/p - 1; Jensen"),
    Entry(4, T + "convergence.check_average_bound", "p-th moment bound, eta*, rate T^(-(p-1)/p)"),
    Entry(4, T + "convergence.check_isotropic_alignment", "isotropic noise: h parallel to grad f"),
    Entry(4, T + "convergence.check_clipping_exponents", "clipped SGD exponents; LP minimax; vs (4b)",
          premise="three-term bound of clipped SGD (Zhang et al. 2020)"),
    Entry(4, S + "check_isotropic_alignment_mc", "Monte Carlo: h_perp = 0, kappa > 0", {"n": 50_000}),
    Entry(5, T + "generalization.check_bound_monotone", "bound increasing in d_H = min(alpha, 2)",
          premise="form of the Hausdorff-dimension bound (Simsekli et al. 2020)"),
    Entry(5, T + "generalization.check_schedule_implication", "linear schedule: sup is the final target",
          premise="countable stability of Hausdorff dimension; the bound of Simsekli et al. (2020)"),
    Entry(5, T + "generalization.check_improvement_factor", "bound shrinks by at most sqrt(alpha*/2)",
          premise="form of the Hausdorff-dimension bound (Simsekli et al. 2020)"),
    Entry(6, T + "flatness.check_exit_time_law", "E tau ~ (A/eps)^alpha from the Levy measure",
          premise="first-exit law of Imkeller and Pavlyukevich (2006)"),
    Entry(6, T + "flatness.check_brownian_exit_time", "Brownian: exit-time ODE solved; log E tau ~ 2 dU/eps^2"),
    Entry(6, T + "flatness.check_width_vs_sharpness", "width vs curvature at fixed width / fixed depth",
          premise="first-exit law of Imkeller and Pavlyukevich (2006)"),
    Entry(6, T + "flatness.check_levy_constant_matches_tail", "Levy measure tail = C_alpha r^-alpha"),
    Entry(6, T + "flatness.check_linreg_h2", "h(2) (expanded with Gaussian moments) and eta_2"),
    Entry(6, S + "check_exit_time_level", "simulated E tau at A/eps = 20", {"n_paths": 1_500}),
    Entry(6, S + "check_exit_time_width", "slope of log E tau in log A (A = 1, 3)", {"n_paths": 800}),
    Entry(6, S + "check_exit_time_depth", "E tau independent of depth", {"n_paths": 300}),
    Entry(6, S + "check_linreg_root_vs_hill", "Hill on SGD iterates vs the root",
          {"n_chains": 30_000, "n_steps": 120, "k": 500}),
    Entry(6, S + "check_linreg_root_at_eta2", "Monte Carlo root at eta_2 is 2", {"n_mc": 200_000}),
    Entry(6, S + "check_linreg_root_decreasing", "root decreasing in eta", {"n_mc": 50_000}),
)


def by_name() -> dict[str, Entry]:
    return {e.check: e for e in CHECKS}
