"""Run every CPU benchmark (``bench/bench_*.py``), print their ratios and save JSON.

Each module exposes ``main(out_dir: pathlib.Path) -> dict``; ratios are measured against a
baseline run in the same process, never as absolute time limits.
"""
from __future__ import annotations

import argparse
import importlib
import pathlib
import platform
import sys

import torch
from bench import save_json


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("bench/out"))
    ap.add_argument("--only", nargs="*", default=None, help="module names, e.g. bench_tail")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    here = pathlib.Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if args.only:
        names = [n for n in names if n in args.only]
    summary = {"machine": platform.platform(), "processor": platform.processor(),
               "torch": torch.__version__, "threads": torch.get_num_threads(), "results": {}}
    for name in names:
        print(f"== {name}", flush=True)
        mod = importlib.import_module(f"bench.{name}")
        summary["results"][name] = mod.main(args.out)
    save_json(args.out, "summary.json", summary, default=str)
    print(f"wrote {args.out / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
