"""Command line of the bias atlas (``python -m sim.bias run|report``)."""
from __future__ import annotations

import argparse
import json
import os
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.bias", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run or resume the atlas (one JSON file per cell)")
    r.add_argument("--scale", choices=["quick", "full"], default="quick")
    r.add_argument("--out", required=True)
    r.add_argument("--estimators", nargs="*", default=None,
                   help="names from ahtga.tail.ESTIMATORS (default: all registered)")
    r.add_argument("--laws", nargs="*", default=None, help="subset of stable pareto student_t")
    r.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    r.add_argument("--options", default="{}",
                   help='JSON {"estimator": {option: value}} passed to ahtga.tail.estimate')
    r.add_argument("--no-progress", action="store_true")
    p = sub.add_parser("report", help="figure, table, LaTeX macros and summary from the results")
    p.add_argument("--results", required=True)
    p.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if a.cmd == "run":
        from .run import run

        info = run(a.out, scale=a.scale, estimators=a.estimators, workers=a.workers,
                   options=json.loads(a.options), laws=a.laws, progress=not a.no_progress)
        print(f"bias atlas ({a.scale}): {info['ran_cells']} cells run, {info['skipped_cells']} "
              f"already done, {info['wall_seconds']:.1f} s; estimators: {', '.join(info['estimators'])}")
    else:
        from .report import report

        files = report(a.results, a.out)
        for f in files:
            print(f"wrote {f}")
        targets = [f for f in files if f.name == "atlas_targets.txt"]
        if targets:
            print(targets[0].read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
