"""Command line: ``python -m ahtga.tail FILE [--estimator NAME] [--k K] [--seed S] [--json]``.

FILE is .npy, .csv (comma-separated, one or more columns; all numeric cells are used) or
whitespace-separated text.  Estimators that take positive data (all but ``stable_mmo``) get
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

from .api import ESTIMATORS, SIGNED, estimate


def load(path: pathlib.Path) -> np.ndarray:
    """Read a 1-d float array from .npy, .csv or whitespace-separated text."""
    if not path.exists():
        raise ValueError(f"FILE not found: {str(path)!r}")
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif path.suffix.lower() == ".csv":
            arr = np.genfromtxt(path, delimiter=",", dtype=np.float64)
            if arr.ndim and np.isnan(arr).any():       # a header row or empty cells
                arr = np.genfromtxt(path, delimiter=",", dtype=np.float64, skip_header=1)
        else:
            arr = np.loadtxt(path, dtype=np.float64, ndmin=1)
    except ValueError as e:
        raise ValueError(f"could not read numbers from FILE {str(path)!r}: {e}") from None
    arr = np.asarray(arr, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"FILE {str(path)!r} holds no values")
    return arr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ahtga.tail",
                                 description="Estimate the tail index alpha of a sample.")
    ap.add_argument("file", type=pathlib.Path, help=".npy, .csv or whitespace-separated text")
    ap.add_argument("--estimator", default="hill_db", help=f"one of {', '.join(sorted(ESTIMATORS))}")
    ap.add_argument("--k", type=int, default=None, help="number of order statistics (fixed-k estimators)")
    ap.add_argument("--seed", type=int, default=None, help="seed of the double bootstrap")
    ap.add_argument("--json", action="store_true", help="end with one JSON line")
    args = ap.parse_args(argv)
    try:
        if args.estimator not in ESTIMATORS:
            raise ValueError(f"unknown estimator {args.estimator!r}; valid names: "
                             f"{', '.join(sorted(ESTIMATORS))}")
        x = load(args.file)
        if args.estimator not in SIGNED:
            x = np.abs(x)
            zeros = int((x == 0).sum())
            if zeros:
                print(f"note: dropped {zeros} zero value(s)", file=sys.stderr)
                x = x[x > 0]
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
    except (ValueError, TypeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    k_txt = "-" if res.k is None else str(res.k)
    print(f"estimator: {res.estimator}")
    print(f"n: {x.size}")
    print(f"alpha: {res.alpha:.6g}")
    print(f"k: {k_txt}")
    if args.json:
        out = {"alpha": res.alpha if math.isfinite(res.alpha) else None, "alpha_is_inf": math.isinf(res.alpha),
               "k": res.k, "estimator": res.estimator, "n": int(x.size), "file": str(args.file),
               "seed": args.seed}
        print(json.dumps(out))
    return 0


def _options(name):
    from .api import estimator_options
    return estimator_options(name)


if __name__ == "__main__":
    sys.exit(main())
