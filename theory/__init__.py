"""Machine-checked theory of ahtga: sympy derivations and their checks.

One module per statement group of ``proofs/`` (see ``proofs/README.md``):

- :mod:`theory.transform`      statement 1: transform law, exponent rules, overshoot, moments
- :mod:`theory.hill_pareto`    statement 2: Hill on Pareto data, wrong threshold, second order
- :mod:`theory.stable_laws`    statement 3: stable characteristic functions, CMS, tail constant,
                               norms of stable vectors, generalized-CLT scaling
- :mod:`theory.convergence`    statement 4: AHTGA convergence under a p-th moment, clipped-SGD rates
- :mod:`theory.generalization` statement 5: Hausdorff-dimension bound and target schedules
- :mod:`theory.flatness`       statement 6: exit times (stable and Brownian), width vs sharpness,
                               linear-regression tail index
- :mod:`theory.simulations`    simulation checks of statements 2(d) and 3(f)
- :mod:`theory.mutations`      planted wrong formulas that the checks must catch
- :mod:`theory._moments`       expectations of polynomials in independent vectors (derivations)

Functions named ``derive_*`` / ``*_law`` return sympy objects (or small dicts of them); functions
named ``check_*`` return a :class:`theory._check.CheckResult`. ``theory.registry`` lists every
check (symbolic here, simulation in ``sim.theory_checks`` and ``theory.simulations``) with its
statement number and basis (derivation / algebra on a cited premise / simulation), and
``python -m theory.run_all --out DIR`` runs them all and writes the table the paper includes.
Nothing in ``ahtga`` imports this package.
"""
