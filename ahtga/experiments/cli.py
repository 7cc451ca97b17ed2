"""Command line: ``python -m ahtga.experiments list | run | run-all | aggregate | status | plot``.

    list [--scale S]                       presets, their studies and optimizers
    run PRESET [--seeds 0-4] [--scale tiny|small|full] [--set key=value ...]
               [--data-dir DIR] [--out DIR] [--force] [--tensorboard DIR]
               [--launcher local|slurm|submitit-local] [--jobs N] [--slurm-... ]
    run-all --scale tiny --out DIR [--presets a,b] [same options as run]
    aggregate PRESET --out DIR [--metrics test_acc,ece,...]
    status OUT [--stale-after S]           done / running (heartbeat age) / stale / failed / checkpointed
    plot OUT PRESET [--png FILE]           loss, accuracy, alpha and gamma curves of a preset

Learning-rate sweeps run first (shared by the seeds and, through ``lr_from``, by later presets),
then every (preset, optimizer, seed) whose result is missing or stale.  Each sweep and each run
is one unit of work for the launcher (:mod:`.launch`): ``--launcher local --jobs N`` (default:
the number of cores, at most 2 at tiny scale) or ``--launcher slurm`` through submitit.  A run
whose lock another live process holds (a second command on the same ``--out``, here or on
another machine) is left to it and reported as ``busy``; a failed run is reported at the end
(exit status 1) without stopping the others.

User errors (an unknown key, preset or optimizer, a bad value, a missing data folder, a device
this torch build lacks, an ``lr_from`` preset whose sweep has not been run) are checked before
anything trains and printed as one line, ``error: ...``, with exit status 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from .aggregate import aggregate, format_table
from .config import SCALES, UnknownConfigKey, parse_set
from .distributed import check_device, init_from_env
from .launch import LAUNCHERS, LocalLauncher, format_failure, make_launcher
from .lr import MissingSweep, lr_sweep, missing_sweep, needs_sweep, resolve_lr
from .presets import PRESETS, default_seeds, presets_at, resolve, run_all_presets
from .registry import VARIANT_FROM_RUN
from .runner import copy_result, run_key, run_one_status, stored_is_current
from .store import result_path

#: Exceptions that are the user's to fix: printed as one ``error:`` line (exit status 2 before
#: any run, one line per failed run after).
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, LookupError, ImportError)


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


# ------------------------------------------------------------------ units of work
def work(kind: str, preset: str, scale: str, overrides: dict, label: str, seed: int, out: str,
         force: bool, copies: tuple = (), tensorboard: str | None = None) -> tuple[str, str, float]:
    """One sweep or run (the launchers' unit of work; module-level so that worker processes and
    submitit can pickle it).  ``copies``: (preset, label) pairs holding the identical run,
    written from this run's result afterwards.  Returns ``(kind, what, seconds)``; ``kind`` is
    ``sweep``, ``run`` (trained here), ``found`` (a current result was there or another process
    wrote it meanwhile), ``copy`` (the identical run of another preset, copied) or ``busy`` (another live process holds the run)."""
    t0 = time.time()
    cfg = resolve(preset, scale, overrides)
    if kind == "sweep":
        lr_sweep(cfg, label, Path(out))
    else:
        src, status = run_one_status(cfg, label, seed, out, force=force, tensorboard=tensorboard)
        kind = {"trained": "run", "current": "found", "copied": "copy", "busy": "busy"}[status]
        for p2, l2 in (copies if src is not None else ()):
            copy_result(src, resolve(p2, scale, overrides), l2, seed, out)
    return kind, f"{preset}/{label}" + ("" if kind == "sweep" else f"/seed{seed}"), time.time() - t0


def _what(u: tuple) -> str:
    return f"{u[0]} {u[1]}/{u[4]}" + ("" if u[0] == "sweep" else f"/seed{u[5]}")


def _execute(launcher, units: list[tuple]) -> list[str]:
    failures: list[str] = []

    def report(u, r):
        k, what, dt = r
        if k == "busy":
            print(f"busy  run   {what} (held by another live process; left to it)", flush=True)
        else:
            print(f"done {k:5s} {what} ({dt:.1f} s)", flush=True)

    def fail(u, e):
        failures.append(format_failure(_what(u), e, USER_ERRORS))

    launcher.run(work, units, report, fail)
    return failures


def preflight(cfg, *, here: bool = True) -> None:
    """Checks that need no training, before any run starts: the device (``here``: the runs
    execute on this machine, not on a scheduler's nodes), and the data folder of a data set that
    does not ship with a dependency."""
    if here:
        check_device(cfg.device)
    if cfg.dataset != "digits" and not (cfg.data_dir and Path(cfg.data_dir).expanduser().exists()):
        raise FileNotFoundError(f"`data_dir` must name the folder holding the {cfg.dataset} files "
                                f"(--data-dir DIR) for preset {cfg.preset!r}; got data_dir="
                                f"{cfg.data_dir!r}" + (", which does not exist" if cfg.data_dir else ""))


def run_presets(names: Sequence[str], scale: str, overrides: dict, out: Path, *,
                seeds: Sequence[int] | None = None, jobs: int = 1, force: bool = False,
                launcher=None, tensorboard: str | None = None) -> int:
    """Sweeps (presets without ``lr_from`` first), then the runs; returns the exit status."""
    out = Path(out)
    t0 = time.time()
    launcher = launcher or make_launcher("local", jobs=jobs, out=out)
    cfgs = {n: resolve(n, scale, overrides) for n in names}
    for c in cfgs.values():
        preflight(c, here=isinstance(launcher, LocalLauncher))
    failures: list[str] = []
    for phase in ("own", "reuse"):
        sweeps = [("sweep", n, scale, overrides, lab, 0, str(out), False)
                  for n, c in cfgs.items() if (not c.lr_from) == (phase == "own")
                  for lab in c.optimizers if needs_sweep(c, lab, out)]
        failures += _execute(launcher, sweeps)

    def stale(path, c, lab) -> bool:
        """A stored result run_one would recompute (planning must count it)."""
        try:
            return not stored_is_current(path, c, lab, out)
        except (OSError, ValueError, RuntimeError, KeyError):
            return True

    no_sweep: dict[str, list[str]] = {}   # preset -> labels whose lr_from record is missing
    # runs whose options come from another run's result (VARIANT_FROM_RUN) are planned and
    # trained after all others, when their sources exist
    for phase in ("independent", "dependent"):
        groups: dict[str, list] = {}   # run_key -> [(preset, label, seed), ...]; the first one trains
        for n, c in cfgs.items():
            for s in (seeds if seeds is not None else default_seeds(n, scale)):
                for lab in c.optimizers:
                    if (lab in VARIANT_FROM_RUN) != (phase == "dependent"):
                        continue
                    p = result_path(out, n, lab, s)
                    if force or not p.is_file() or stale(p, c, lab):
                        try:
                            key = run_key(c, lab, s, resolve_lr(c, lab, out)[0], out=out)
                        except MissingSweep:
                            if lab not in no_sweep.setdefault(n, []):
                                no_sweep[n].append(lab)
                            continue
                        except Exception:  # noqa: BLE001 - let the run itself report the error
                            key = f"{n}/{lab}/{s}"
                        groups.setdefault(key, []).append((n, lab, s))
        runs = [("run", n, scale, overrides, lab, s, str(out), force,
                 tuple((p, l) for p, l, _ in g[1:]), tensorboard)
                for g in groups.values() for (n, lab, s) in g[:1]]
        if phase == "dependent" and not runs:
            break
        # AHTGA runs are the slowest: start them first so the pool ends evenly (stable: preset order)
        runs.sort(key=lambda t: not t[4].startswith("ahtga"))
        n_copies = sum(len(t[8]) for t in runs)
        print(f"{len(runs)} run(s) to do in {len(cfgs)} preset(s) ({n_copies} identical run(s) "
              f"copied, not retrained){' that read other runs' if phase == 'dependent' else ''}, "
              f"{type(launcher).__name__}"
              + (f" with {launcher.jobs} job(s)" if hasattr(launcher, "jobs") else ""), flush=True)
        failures += _execute(launcher, runs)
    for n, labs in no_sweep.items():
        print(f"error: {error_line(missing_sweep(cfgs[n], labs, out))}", file=sys.stderr, flush=True)
    print(f"finished in {time.time() - t0:.1f} s; results under {out}", flush=True)
    if failures:
        print(f"{len(failures)} task(s) failed:", file=sys.stderr)
        for f in failures:
            print(f, file=sys.stderr)
    return 2 if no_sweep else (1 if failures else 0)


# ------------------------------------------------------------------ the command line
def main(argv: Sequence[str] | None = None) -> int:
    """The command line; user errors (:data:`USER_ERRORS`) end in one ``error:`` line and exit
    status 2."""
    try:
        return _main(argv)
    except USER_ERRORS as e:
        print(f"error: {error_line(e)}", file=sys.stderr, flush=True)
        return 2


def _parser() -> argparse.ArgumentParser:
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
        p.add_argument("--force", action="store_true", help="recompute existing results")
        p.add_argument("--tensorboard", default=None, metavar="DIR",
                       help="also log scalars for TensorBoard under DIR (optional package)")
        g = p.add_argument_group("launcher")
        g.add_argument("--launcher", choices=LAUNCHERS, default="local",
                       help="local processes, Slurm jobs through submitit, or submitit's local executor")
        g.add_argument("--jobs", type=int, default=None,
                       help="local: parallel processes (default: cores, <= 2 at tiny)")
        g.add_argument("--slurm-partition", default=None)
        g.add_argument("--slurm-time", type=int, default=240, help="minutes per job")
        g.add_argument("--slurm-cpus", type=int, default=2, help="CPUs per job")
        g.add_argument("--slurm-gpus", type=int, default=0, help="GPUs per job")
        g.add_argument("--slurm-mem", type=float, default=None, help="GB of memory per job")
        g.add_argument("--slurm-array-parallelism", type=int, default=64,
                       help="jobs of the array running at once")
        g.add_argument("--slurm-setup", action="append", default=[], metavar="LINE",
                       help="shell line run before each job (repeatable)")

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
    p_st = sub.add_parser("status", help="which runs are done, running, stale or failed")
    p_st.add_argument("out")
    p_st.add_argument("--stale-after", type=float, default=None,
                      help="seconds without a heartbeat after which a lock is stale")
    p_pl = sub.add_parser("plot", help="curves of a preset to a PNG")
    p_pl.add_argument("out")
    p_pl.add_argument("preset")
    p_pl.add_argument("--png", default=None, help="output file (default: OUT/PRESET/curves.png)")
    return ap


def _main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    if args.cmd == "status":
        from .status import format_status, scan
        kw = {} if args.stale_after is None else {"stale_after_s": args.stale_after}
        print(format_status(scan(args.out, **kw)))
        return 0
    if args.cmd == "plot":
        from .plot import plot_preset
        print(plot_preset(args.out, args.preset, args.png))
        return 0
    jobs = args.jobs or (min(2, os.cpu_count() or 1) if args.scale == "tiny" else 1)
    overrides = parse_set(args.set)
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    first = args.preset if args.cmd == "run" else (run_all_presets(args.scale) or [None])[0]
    dev = resolve(first, args.scale, overrides).device if first in PRESETS else "cpu"
    if init_from_env(dev).world_size > 1:   # under torchrun: every rank runs the same runs in step
        jobs = 1
    slurm = {"partition": args.slurm_partition, "time_min": args.slurm_time, "cpus": args.slurm_cpus,
             "gpus": args.slurm_gpus, "mem_gb": args.slurm_mem,
             "array_parallelism": args.slurm_array_parallelism, "setup": args.slurm_setup}
    launcher = make_launcher(args.launcher, jobs=jobs, out=Path(args.out), slurm=slurm)
    kw = {"jobs": jobs, "force": args.force, "launcher": launcher, "tensorboard": args.tensorboard}
    if args.cmd == "run":
        seeds = parse_seeds(args.seeds) if args.seeds else None
        return run_presets([args.preset], args.scale, overrides, Path(args.out), seeds=seeds, **kw)
    names = presets_at(args.scale) if args.presets else run_all_presets(args.scale)
    if args.presets:
        wanted = [s.strip() for s in args.presets.split(",") if s.strip()]
        bad = [w for w in wanted if w not in names]
        if bad:
            raise ValueError(f"--presets: not available at scale {args.scale}: {bad}; valid: {names}")
        names = [n for n in names if n in wanted]
    return run_presets(names, args.scale, overrides, Path(args.out), **kw)
