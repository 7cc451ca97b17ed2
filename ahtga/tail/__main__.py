"""Command line: ``python -m ahtga.tail FILE [--estimator NAME] [--k K] [--seed S] [--json]``
``[--column C | --pool]``.

FILE is .npy, .csv (comma-separated, optional header row) or whitespace-separated text, read
by :func:`ahtga.tail.loader.load`: a file with several columns needs ``--column`` (index or
header name) or ``--pool``; a cell that cannot be read is reported with its line.

``--gof`` adds the Clauset-Shalizi-Newman test (:mod:`ahtga.tail.gof`); ``--jitter`` adds
U(-1/2, 1/2) to every value (integer counts; seeded by ``--seed``); ``--plot OUT.png`` draws the
Hill plot, the survival function and a Pareto QQ plot (:mod:`ahtga.tail.plot`).  Warnings on
stderr name the problem: ``integer data``, ``ties``, ``light tail`` (an estimate above 5, a
stable fit at alpha = 2, or the test's verdict with ``--gof``).  Estimators that take positive data (all but ``stable_mmo``) get
absolute values; exact zeros are dropped for them (with a note on stderr).  Prints the
estimate and k; with ``--json`` the last line is one JSON object with ``alpha``, ``k``,
``estimator``, ``n`` and ``file``.  Errors go to stderr with exit code 2.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys
import warnings

import numpy as np

from .api import DEFAULT, ESTIMATORS, MIN_N, SIGNED, estimate
from .loader import load

SEED_MAX = 2 ** 64 - 1
LIGHT_ALPHA = 5.0          # above this an estimate is flagged as a possible light tail


def _seed(text: str) -> int:
    """argparse type of --seed: an integer in [0, 2**64 - 1] (torch's generator range)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64 - 1]; got {text!r}") from None
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**64 - 1]; got {text!r}")
    return v


def _epilog() -> str:
    rows = "\n".join(f"  {name:<16s} {MIN_N.get(name, 2)}" for name in sorted(ESTIMATORS))
    return ("smallest sample each estimator accepts (n, after dropping zeros):\n" + rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ahtga.tail",
                                 description="Estimate the tail index alpha of a sample.",
                                 epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=pathlib.Path, help=".npy, .csv or whitespace-separated text")
    ap.add_argument("--estimator", default=DEFAULT, help=f"one of {', '.join(sorted(ESTIMATORS))}")
    ap.add_argument("--k", type=int, default=None, help="number of order statistics (fixed-k estimators)")
    ap.add_argument("--seed", type=_seed, default=None,
                    help="seed of the random estimators, an integer in [0, 2**64 - 1]")
    ap.add_argument("--column", default=None,
                    help="the column to read from a file with several (0-based index or CSV header name)")
    ap.add_argument("--pool", action="store_true", help="use every cell of a file with several columns")
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    ap.add_argument("--gof", action="store_true",
                    help="also test whether the tail is a power law at all (Clauset-Shalizi-Newman: "
                         "x_min by KS, bootstrap p-value, likelihood ratios against lognormal, "
                         "exponential and stretched exponential; ahtga.tail.gof)")
    ap.add_argument("--n-boot", type=int, default=200, dest="n_boot",
                    help="synthetic samples of the --gof p-value (default 200; 0 skips it)")
    ap.add_argument("--jitter", action="store_true",
                    help="add U(-1/2, 1/2) to every value (seeded by --seed) before estimating: "
                         "the continuous approximation of integer counts, which also breaks ties")
    ap.add_argument("--plot", type=pathlib.Path, default=None, metavar="OUT.png",
                    help="draw the Hill plot (95%% band, chosen k), the log-log survival function "
                         "with the fitted tail and a Pareto QQ plot into one figure")
    args = ap.parse_args(argv)
    try:
        if args.estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {args.estimator!r}; valid names: "
                             f"{', '.join(sorted(ESTIMATORS))}")
        if args.column is not None and args.pool:
            raise ValueError("pass either --column or --pool, not both")
        x = load(args.file, column=args.column, pool=args.pool)
        if args.estimator not in SIGNED:
            x = np.abs(x)
            zeros = int((x == 0).sum())
            if zeros:
                print(f"note: dropped {zeros} zero value(s)", file=sys.stderr)
                x = x[x > 0]
        if args.jitter:
            from .gof import jitter_integers
            before = x.size
            x = jitter_integers(x, seed=args.seed)
            if x.size < before:
                print(f"note: --jitter dropped {before - x.size} value(s) that became <= 0",
                      file=sys.stderr)
        elif args.estimator not in SIGNED:
            from .gof import input_problems
            for msg in input_problems(x):
                print(f"warning: {msg}", file=sys.stderr)
        options = {}
        if args.k is not None:
            if args.k is not None and "k" not in _options(args.estimator):
                raise ValueError(f"--k is not an option of estimator {args.estimator!r}")
            options["k"] = args.k
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = estimate(x, args.estimator, seed=args.seed, **options)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        if math.isfinite(res.alpha) and res.alpha > LIGHT_ALPHA and not args.gof:
            print(f"warning: light tail? alpha = {res.alpha:.3g} > {LIGHT_ALPHA:g}: exponential and "
                  "Gaussian tails read as a large alpha that grows with n; check with --gof",
                  file=sys.stderr)
        elif res.diagnostics.get("gaussian") and not args.gof:
            model = ("the stable law at alpha = 2" if res.diagnostics.get("branch") == "stable"
                     else "a Student-t at its largest nu")
            print(f"warning: light tail? the sample fits {model} (a Gaussian); check with --gof",
                  file=sys.stderr)
        gof = None
        if args.gof:
            if args.estimator in SIGNED:
                raise ValueError("--gof fits the tail of |x|; use it with an estimator of positive data")
            from .gof import gof_test
            gof = gof_test(x, n_boot=args.n_boot, seed=args.seed, warn=False)
            for msg in gof.warnings:
                if not msg.startswith(("integer data", "ties")):      # printed above
                    print(f"warning: {msg}", file=sys.stderr)
        if args.plot is not None:
            if args.estimator in SIGNED:
                raise ValueError("--plot draws the tail of |x|; use it with an estimator of positive data")
            from .plot import tail_figure
            tail_figure(x, res, args.plot)
    except (ValueError, TypeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    k_txt = "-" if res.k is None else str(res.k)
    print(f"estimator: {res.estimator}")
    print(f"n: {x.size}")
    print(f"alpha: {res.alpha:.6g}")
    print(f"k: {k_txt}")
    if gof is not None:
        f = gof.fit
        p_txt = "-" if gof.p_value is None else f"{gof.p_value:.3g} ({gof.n_boot} synthetic samples)"
        print(f"power-law tail: x_min {f.xmin:.6g}, n_tail {f.n_tail}, alpha {f.alpha:.6g}, KS D {f.D:.4g}, "
              f"p-value {p_txt}")
        for name, c in gof.comparisons.items():
            verdict = ("power law" if c["R"] > 0 else name) if c["p"] < 0.1 else "undecided"
            print(f"  vs {name}: R {c['R']:.4g}, normalised {c['R_normalized']:.3g}, p {c['p']:.3g} -> {verdict}")
    if args.plot is not None:
        print(f"plot: {args.plot}")
    if args.json:
        out = {"alpha": res.alpha if math.isfinite(res.alpha) else None, "alpha_is_inf": math.isinf(res.alpha),
               "k": res.k, "estimator": res.estimator, "n": int(x.size), "file": str(args.file),
               "seed": args.seed}
        if gof is not None:
            out["gof"] = gof.as_dict()
        print(json.dumps(out))
    return 0


def _options(name):
    from .api import estimator_options
    return estimator_options(name)


if __name__ == "__main__":
    sys.exit(main())
