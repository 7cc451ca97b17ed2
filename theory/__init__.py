"""Machine-checked theory of ahtga: sympy derivations and their checks.

One module per statement group of ``proofs/`` (see ``proofs/README.md``):

- :mod:`theory.transform`      statement 1: transform law, exponent rules, overshoot, moments
- :mod:`theory.hill_pareto`    statement 2: Hill on Pareto data, wrong threshold, second order
- :mod:`theory.stable_laws`    statement 3: stable characteristic functions, CMS, tail constant,
                               norms of stable vectors, generalized-CLT scaling
- :mod:`theory.convergence`    statement 4: AHTGA convergence, clipped-SGD rate exponents
- :mod:`theory.generalization` statement 5: Hausdorff-dimension bound and target schedules
- :mod:`theory.flatness`       statement 6: exit times, linear-regression tail index

Functions named ``derive_*`` / ``*_law`` return sympy objects (or small dicts of them); functions
named ``check_*`` return a :class:`theory._check.CheckResult`. ``theory.registry`` lists every
check (symbolic here, simulation in ``sim.theory_checks``) with its statement number, and
``python -m theory.run_all --out DIR`` runs them all and writes the table the paper includes.
Nothing in ``ahtga`` imports this package.
"""
