"""Command line: ``python -m ahtga.experiments list | run | run-all | aggregate``.

    list [--scale S]                       presets, their studies and optimizers
    run PRESET [--seeds 0-4] [--scale tiny|small|full] [--set key=value ...]
               [--data-dir DIR] [--out DIR] [--jobs N] [--force]
    run-all --scale tiny --out DIR [--jobs N] [--presets a,b] [--set ...] [--data-dir DIR]
    aggregate PRESET --out DIR [--metrics test_acc,ece,...]

Runs are independent processes (``--jobs``, default: the number of CPU cores, at most 2 at tiny
scale), each with ``num_threads`` torch threads.  Learning-rate sweeps run first (they are
shared by the seeds and, through ``lr_from``, by later presets), then every
(preset, optimizer, seed) whose result file is missing.  A failed run is reported at the end
(exit status 1) without stopping the others.  A run whose lock another live process holds
(``locks``: a second command on the same ``--out``, here or on another machine) is left to it
and reported as ``busy``.

User errors (an unknown key, preset or optimizer, a bad value, a missing data folder, a device
this torch build lacks, an ``lr_from`` preset whose sweep has not been run) are checked before
anything trains and printed as one line, ``error: ...``, with exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

from .aggregate import aggregate, format_table
from .config import SCALES, UnknownConfigKey, parse_set
from .distributed import check_device, init_from_env
from .lr import MissingSweep, lr_sweep, missing_sweep, needs_sweep, resolve_lr
from .presets import PRESETS, default_seeds, presets_at, resolve, run_all_presets
from .runner import copy_result, run_key, run_one, stored_is_current
from .store import result_path

#: Exceptions that are the user's to fix: printed as one ``error:`` line (exit status 2 before
#: any run, one line per failed run after).
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, LookupError)


def error_line(e: BaseException) -> str:
    """One line for a user error (a KeyError's message without repr quotes)."""
    msg = e.args[0] if isinstance(e, KeyError) and not isinstance(e, UnknownConfigKey) and e.args else str(e)
    return " ".join(str(msg).split())


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0..4]; ``"0,2,5"`` -> [0, 2, 5]; ``"3"`` -> [3]."""
    out: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if not part:
                continue
            if "-" in part[1:]:
                a, b = part.split("-", 1) if not part.startswith("-") else (part, "")
                a, b = int(a), int(b)
                if b < a:
                    raise ValueError
                out.extend(range(a, b + 1))
            else:
                out.append(int(part))
    except ValueError:
        raise ValueError(f"--seeds must look like 0-4 or 0,2,5; got {text!r}") from None
    if not out or any(s < 0 for s in out):
        raise ValueError(f"--seeds must name non-negative seeds; got {text!r}")
    return sorted(set(out))


def _overrides(args) -> dict:
    ov = parse_set(args.set)
    if getattr(args, "data_dir", None):
        ov["data_dir"] = args.data_dir
    return ov


# ------------------------------------------------------------------ tasks (run in workers)
def _task(kind: str, preset: str, scale: str, overrides: dict, label: str, seed: int,
          out: str, force: bool, copies: tuple = ()) -> tuple[str, str, int, float]:
    """One sweep or run; ``copies``: (preset, label) pairs holding the identical run, written
    from this run's result afterwards."""
    t0 = time.time()
    cfg = resolve(preset, scale, overrides)
    if kind == "sweep":
        lr_sweep(cfg, label, Path(out))
    else:
        src = run_one(cfg, label, seed, out, force=force)
        if src is None:   # another live process holds this run
            kind = "busy"
        for p2, l2 in (copies if src is not None else ()):
            copy_result(src, resolve(p2, scale, overrides), l2, seed, out)
    return kind, f"{preset}/{label}" + ("" if kind == "sweep" else f"/seed{seed}"), seed, time.time() - t0


def _failure(t: tuple, e: BaseException) -> str:
    what = f"{t[0]} {t[1]}/{t[4]}" + ("" if t[0] == "sweep" else f"/seed{t[5]}")
    if isinstance(e, USER_ERRORS):
        return f"error: {what}: {error_line(e)}"
    return f"{what}:\n" + "".join(traceback.format_exception(type(e), e, e.__traceback__))


def _report(k: str, what: str, dt: float) -> None:
    if k == "busy":
        print(f"busy  run   {what} (held by another live process; left to it)", flush=True)
    else:
        print(f"done {k:5s} {what} ({dt:.1f} s)", flush=True)


def _execute(tasks: list[tuple], jobs: int) -> list[str]:
    failures = []
    if not tasks:
        return failures
    if jobs <= 1:
        for t in tasks:
            try:
                _report(*_drop_seed(_task(*t)))
            except Exception as e:  # noqa: BLE001 - report and go on
                failures.append(_failure(t, e))
        return failures
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as ex:
        futs = {ex.submit(_task, *t): t for t in tasks}
        for f in as_completed(futs):
            t = futs[f]
            try:
                _report(*_drop_seed(f.result()))
            except Exception as e:  # noqa: BLE001
                failures.append(_failure(t, e))
    return failures


def _drop_seed(r: tuple) -> tuple:
    k, what, _, dt = r
    return k, what, dt


def preflight(cfg) -> None:
    """Checks that need no training, before any run starts: the device, and the data folder of
    a data set that does not ship with a dependency."""
    check_device(cfg.device)
    if cfg.dataset != "digits" and not (cfg.data_dir and Path(cfg.data_dir).expanduser().exists()):
        raise FileNotFoundError(f"`data_dir` must name the folder holding the {cfg.dataset} files "
                                f"(--data-dir DIR) for preset {cfg.preset!r}; got data_dir="
                                f"{cfg.data_dir!r}" + (", which does not exist" if cfg.data_dir else ""))


def run_presets(names: Sequence[str], scale: str, overrides: dict, out: Path, *,
                seeds: Sequence[int] | None = None, jobs: int = 1, force: bool = False) -> int:
    """Sweeps (presets without ``lr_from`` first), then the runs; returns the exit status."""
    out = Path(out)
    t0 = time.time()
    cfgs = {n: resolve(n, scale, overrides) for n in names}
    for c in cfgs.values():
        preflight(c)
    failures: list[str] = []
    for phase in ("own", "reuse"):
        sweeps = [("sweep", n, scale, overrides, lab, 0, str(out), False)
                  for n, c in cfgs.items() if (not c.lr_from) == (phase == "own")
                  for lab in c.optimizers if needs_sweep(c, lab, out)]
        failures += _execute(sweeps, jobs)
    def stale(path, c, lab) -> bool:
        """A stored result run_one would recompute (planning must count it)."""
        try:
            return not stored_is_current(path, c, lab, out)
        except (OSError, ValueError, RuntimeError, KeyError):
            return True

    groups: dict[str, list] = {}   # run_key -> [(preset, label, seed), ...]; the first one trains
    no_sweep: dict[str, list[str]] = {}   # preset -> labels whose lr_from record is missing
    for n, c in cfgs.items():
        for s in (seeds if seeds is not None else default_seeds(n, scale)):
            for lab in c.optimizers:
                p = result_path(out, n, lab, s)
                if force or not p.is_file() or stale(p, c, lab):
                    try:
                        key = run_key(c, lab, s, resolve_lr(c, lab, out)[0])
                    except MissingSweep:
                        if lab not in no_sweep.setdefault(n, []):
                            no_sweep[n].append(lab)
                        continue
                    except Exception:  # noqa: BLE001 - let the run itself report the error
                        key = f"{n}/{lab}/{s}"
                    groups.setdefault(key, []).append((n, lab, s))
    for n, labs in no_sweep.items():
        print(f"error: {error_line(missing_sweep(cfgs[n], labs, out))}", file=sys.stderr, flush=True)
    runs = [("run", n, scale, overrides, lab, s, str(out), force, tuple((p, l) for p, l, _ in g[1:]))
            for g in groups.values() for (n, lab, s) in g[:1]]
    # AHTGA runs are the slowest: start them first so the pool ends evenly (stable: preset order)
    runs.sort(key=lambda t: not t[4].startswith("ahtga"))
    n_copies = sum(len(t[-1]) for t in runs)
    print(f"{len(runs)} run(s) to do in {len(cfgs)} preset(s) ({n_copies} identical run(s) "
          f"copied, not retrained), {jobs} job(s)", flush=True)
    failures += _execute(runs, jobs)
    print(f"finished in {time.time() - t0:.1f} s; results under {out}", flush=True)
    if failures:
        print(f"{len(failures)} task(s) failed:", file=sys.stderr)
        for f in failures:
            print(f, file=sys.stderr)
    return 2 if no_sweep else (1 if failures else 0)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; user errors (:data:`USER_ERRORS`) end in one ``error:`` line and exit
    status 2."""
    try:
        return _main(argv)
    except USER_ERRORS as e:
        print(f"error: {error_line(e)}", file=sys.stderr, flush=True)
        return 2


def _main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ahtga.experiments", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_list = sub.add_parser("list", help="list presets")
    p_list.add_argument("--scale", choices=SCALES, default=None)

    def common(p):
        p.add_argument("--scale", choices=SCALES, default="tiny")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config field (repeatable)")
        p.add_argument("--data-dir", default=None, help="folder with the data files (small/full)")
        p.add_argument("--out", default="results/experiments", help="results folder")
        p.add_argument("--jobs", type=int, default=None, help="parallel runs (default: cores, <= 2 at tiny)")
        p.add_argument("--force", action="store_true", help="recompute existing results")

    p_run = sub.add_parser("run", help="run one preset")
    p_run.add_argument("preset")
    p_run.add_argument("--seeds", default=None, help="e.g. 0-4 or 0,2 (default: the preset's)")
    common(p_run)
    p_all = sub.add_parser("run-all", help="run every preset available at a scale")
    p_all.add_argument("--presets", default=None, help="comma-separated subset")
    common(p_all)
    p_agg = sub.add_parser("aggregate", help="print mean and 95%% t-interval over seeds")
    p_agg.add_argument("preset")
    p_agg.add_argument("--out", default="results/experiments")
    p_agg.add_argument("--metrics", default="test_acc,test_loss,ece,gen_gap_loss")
    args = ap.parse_args(argv)

    if args.cmd == "list":
        for n, p in PRESETS.items():
            if args.scale and args.scale not in p.scales:
                continue
            opts = resolve(n, next(iter(p.scales))).optimizers
            print(f"{n:18s} [{p.study}] scales={','.join(p.scales)} "
                  f"seeds(tiny)={list(default_seeds(n, 'tiny')) if 'tiny' in p.scales else '-'}\n"
                  f"{'':18s} {p.description}\n{'':18s} optimizers: {', '.join(opts)}")
        return 0
    if args.cmd == "aggregate":
        print(format_table(aggregate(args.out, args.preset, args.metrics.split(","))))
        return 0
    jobs = args.jobs or (min(2, os.cpu_count() or 1) if args.scale == "tiny" else 1)
    overrides = _overrides(args)
    first = args.preset if args.cmd == "run" else (run_all_presets(args.scale) or [None])[0]
    dev = resolve(first, args.scale, overrides).device if first in PRESETS else "cpu"
    if init_from_env(dev).world_size > 1:   # under torchrun: every rank runs the same runs in step
        jobs = 1
    if args.cmd == "run":
        seeds = parse_seeds(args.seeds) if args.seeds else None
        return run_presets([args.preset], args.scale, overrides, Path(args.out), seeds=seeds,
                           jobs=jobs, force=args.force)
    names = presets_at(args.scale) if args.presets else run_all_presets(args.scale)
    if args.presets:
        wanted = [s.strip() for s in args.presets.split(",") if s.strip()]
        bad = [w for w in wanted if w not in names]
        if bad:
            raise ValueError(f"--presets: not available at scale {args.scale}: {bad}; valid: {names}")
        names = [n for n in names if n in wanted]
    return run_presets(names, args.scale, overrides, Path(args.out), jobs=jobs, force=args.force)
