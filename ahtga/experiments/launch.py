"""Where the units of work run: processes on this machine, or jobs on a scheduler.

The unit of work is one learning-rate sweep of a (preset, optimizer) or one
(preset, optimizer, seed) run (``cli.work``), written atomically and guarded by its own lock
(:mod:`.locks`), so a rerun, a second launcher or a second machine on the same ``--out`` never
trains the same run twice: it finds the result, or the live lock and leaves the run to its
holder (reported ``busy``).

* ``local`` (:class:`LocalLauncher`): ``--jobs N`` worker processes on this machine (spawned,
  one ``num_threads`` torch pool each), or the calling process itself with ``--jobs 1``.  A
  worker exits within about a second of its launcher's death (``kill``, a cancelled batch job,
  a closed terminal): it watches its parent process, so no orphan keeps training, holding a
  lock and using the CPU after the command that started it is gone (its run resumes from the
  last checkpoint on the next launch, the lock being taken over once stale);
* ``slurm`` (:class:`SubmititLauncher`): one Slurm job per unit through ``submitit`` (optional
  package: ``pip install 'ahtga[slurm]'``), submitted as a job array of at most
  ``--slurm-array-parallelism`` running at once; ``--slurm-partition``, ``--slurm-time``
  (minutes), ``--slurm-cpus`` (per task), ``--slurm-gpus`` (per node), ``--slurm-mem`` and
  ``--slurm-setup`` (shell lines run first, e.g. ``source .venv/bin/activate``).  The command
  waits for the jobs and prints each result as it comes; job logs and pickles go to
  ``OUT/.submitit/``;
* ``submitit-local``: the same submitit code path with its local executor (jobs are processes of
  this machine): what the tests run, and a way to check a setup before using the cluster.

Multi-GPU data parallelism inside one run stays ``torchrun`` (:mod:`.distributed`).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Sequence

from .._validation import check_choice, check_int

__all__ = ["LAUNCHERS", "LocalLauncher", "SubmititLauncher", "make_launcher"]

LAUNCHERS = ("local", "slurm", "submitit-local")

#: ``report(unit, result)`` for a finished unit, ``fail(unit, exception_or_text)`` for a failed one.
Report = Callable[[tuple, tuple], None]
Fail = Callable[[tuple, object], None]


#: Seconds between a worker's checks that its launcher is alive.
PARENT_POLL_S = 0.5


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: a daemon thread that ends this process when the launcher ``parent``
    is gone (the worker is then re-parented, so ``os.getppid()`` changes)."""
    def watch():
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(PARENT_POLL_S)
    threading.Thread(target=watch, name="ahtga-parent-watch", daemon=True).start()


class LocalLauncher:
    """``jobs`` processes on this machine (``jobs == 1``: in the calling process)."""

    def __init__(self, jobs: int = 1):
        self.jobs = check_int("jobs", jobs, min_value=1)

    def run(self, fn, units: Sequence[tuple], report: Report, fail: Fail) -> None:
        if not units:
            return
        if self.jobs == 1:
            for u in units:
                try:
                    report(u, fn(*u))
                except Exception as e:  # noqa: BLE001 - report and go on
                    fail(u, e)
            return
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=mp.get_context("spawn"),
                                 initializer=_exit_with_parent, initargs=(os.getpid(),)) as ex:
            futs = {ex.submit(fn, *u): u for u in units}
            for f in as_completed(futs):
                try:
                    report(futs[f], f.result())
                except Exception as e:  # noqa: BLE001
                    fail(futs[f], e)


class SubmititLauncher:
    """One submitit job per unit (module docstring); ``cluster``: ``slurm`` or ``local``."""

    def __init__(self, folder: str | Path, *, cluster: str = "slurm", partition: str | None = None,
                 time_min: int = 240, cpus: int = 2, gpus: int = 0, mem_gb: float | None = None,
                 array_parallelism: int = 64, setup: Sequence[str] = ()):
        check_choice("cluster", cluster, ("slurm", "local"))
        try:
            import submitit
        except ImportError as e:
            raise ImportError("--launcher slurm needs the optional `submitit` package: "
                              "pip install 'ahtga[slurm]'") from e
        self.submitit = submitit
        self.folder = Path(folder)
        self.executor = submitit.AutoExecutor(folder=str(self.folder / "%j"), cluster=cluster)
        params = {"timeout_min": check_int("slurm_time", time_min, min_value=1),
                  "cpus_per_task": check_int("slurm_cpus", cpus, min_value=1),
                  "gpus_per_node": check_int("slurm_gpus", gpus, min_value=0),
                  "slurm_array_parallelism": check_int("slurm_array_parallelism", array_parallelism,
                                                       min_value=1),
                  "name": "ahtga"}
        if partition:
            params["slurm_partition"] = partition
        if mem_gb:
            params["mem_gb"] = mem_gb
        if setup:
            params["slurm_setup"] = list(setup)
        if cluster == "local":
            params = {k: v for k, v in params.items() if not k.startswith("slurm_")}
        self.executor.update_parameters(**params)

    def run(self, fn, units: Sequence[tuple], report: Report, fail: Fail) -> None:
        if not units:
            return
        with self.executor.batch():
            jobs = [self.executor.submit(fn, *u) for u in units]
        print(f"submitted {len(jobs)} job(s) (ids {jobs[0].job_id} ...); logs under {self.folder}",
              flush=True)
        for u, job in zip(units, jobs):
            try:
                report(u, job.result())
            except Exception as e:  # noqa: BLE001 - the job's error (a FailedJobError holds its traceback)
                fail(u, e if not isinstance(e, self.submitit.core.utils.FailedJobError)
                     else f"job {job.job_id} failed:\n{e}")


def make_launcher(kind: str, *, jobs: int, out: Path, slurm: dict | None = None):
    """The launcher named ``kind`` (one of :data:`LAUNCHERS`)."""
    check_choice("launcher", kind, LAUNCHERS)
    if kind == "local":
        return LocalLauncher(jobs)
    opts = dict(slurm or {})
    return SubmititLauncher(Path(out) / ".submitit", cluster="slurm" if kind == "slurm" else "local",
                            **opts)


def format_failure(what: str, e: object, user_errors: tuple) -> str:
    """One line for a user error, the traceback (or the job's text) otherwise."""
    if isinstance(e, user_errors):
        return f"error: {what}: {' '.join(str(e.args[0] if isinstance(e, KeyError) and e.args else e).split())}"
    if isinstance(e, BaseException):
        return f"{what}:\n" + "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return f"{what}: {e}"
