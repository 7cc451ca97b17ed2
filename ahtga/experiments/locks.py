"""Per-run locks: several processes, on one machine or many sharing a file system, split a sweep
without training a run twice or resuming each other's checkpoints.

A lock is a small JSON file beside the run's result (``seed<k>.lock``, ``lr_sweep.lock``) holding
the claimant's host, pid, start time and a random ``token``.

* **claim** -- created with ``O_CREAT | O_EXCL``: of several processes exactly one succeeds;
* **heartbeat** -- while held, a daemon thread touches the file (its mtime) every
  ``heartbeat_s`` seconds, after checking the token is still its own;
* **stale-lock recovery** -- a lock whose mtime is older than ``stale_after_s`` belongs to a
  process that died without releasing it (killed, machine lost).  So does, at once, a lock
  written on this machine (same host name, kernel boot id and pid namespace, all recorded in
  the lock) by a process that no longer exists: a run killed by ``timeout`` or Ctrl-C is
  resumed by the next command without waiting ``stale_after_s``.  A claimant moves a stale
  lock aside with ``os.rename`` to a name of its own (one rename of a given file succeeds),
  warns ``stale lock ...; taking over`` and claims afresh.  If the file it moved turns out to
  have been refreshed in between (a live holder), it moves it back and does not claim;
* **lost lock** -- :meth:`RunLock.lost` tells the holder its token is gone from the file (its
  lock was taken over after a pause longer than ``stale_after_s``); the training loop checks it
  at every epoch end and stops (:class:`LockLost`) instead of writing over the new holder.

The mtime is the file server's clock: on a shared file system ``stale_after_s`` must exceed
the clock skew between machines plus the longest pause of a live process (default 300 s, with
a heartbeat every 15 s).  A lock is released (deleted) when its run ends, failed or not; a
failed run's error is recorded beside it (``seed<k>.failed``, see ``runner``).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
import warnings
from pathlib import Path

from .._validation import check_positive

#: Defaults of :class:`RunLock` (seconds).
HEARTBEAT_S = 15.0
STALE_AFTER_S = 300.0


class LockLost(RuntimeError):
    """This process's lock on a run was taken over by another process (see the module doc)."""


def _machine_id() -> dict:
    """What identifies this machine's process table: the host name, the kernel's boot id and
    this process's pid namespace (the last two on Linux only; absent elsewhere)."""
    out = {"host": socket.gethostname()}
    try:
        out["boot_id"] = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        out["pid_ns"] = os.readlink("/proc/self/ns/pid")
    except OSError:
        pass
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):   # exists but is not ours, or cannot tell: alive
        return True
    return True


def holder_gone(info: dict) -> bool:
    """True when the lock ``info`` (:func:`read_lock`) was written in this machine's process
    table (same host, boot id and pid namespace) by a process that no longer exists.  False
    when that cannot be known (another machine, a lock without those fields, not Linux)."""
    me = _machine_id()
    if "boot_id" not in me or any(info.get(k) != me[k] for k in ("host", "boot_id", "pid_ns")):
        return False
    pid = info.get("pid")
    return isinstance(pid, int) and pid > 0 and pid != os.getpid() and not _pid_alive(pid)


def lock_path(result: str | os.PathLike) -> Path:
    """The lock beside a result file: ``seed<k>.json`` -> ``seed<k>.lock``."""
    return Path(result).with_suffix(".lock")


def read_lock(path: str | os.PathLike) -> dict | None:
    """The lock's JSON with ``age_s`` (seconds since its last heartbeat) added; None when
    there is no lock (or it vanished while being read)."""
    path = Path(path)
    try:
        age = time.time() - path.stat().st_mtime
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        info = json.loads(text)
    except ValueError:          # being written this instant, or a foreign file
        info = {}
    if not isinstance(info, dict):
        info = {}
    info["age_s"] = age
    return info


class RunLock:
    """An exclusive claim on one run (see the module docstring).  Use :meth:`acquire` /
    :meth:`release`, or ``with RunLock(p) as held:`` (``held`` is the result of acquire)."""

    def __init__(self, path: str | os.PathLike, *, heartbeat_s: float = HEARTBEAT_S,
                 stale_after_s: float = STALE_AFTER_S):
        check_positive("heartbeat_s", heartbeat_s)
        check_positive("stale_after_s", stale_after_s)
        if stale_after_s <= heartbeat_s:
            raise ValueError(f"`stale_after_s` must exceed `heartbeat_s`; got stale_after_s="
                             f"{stale_after_s!r} with heartbeat_s={heartbeat_s!r}")
        self.path = Path(path)
        self.heartbeat_s = float(heartbeat_s)
        self.stale_after_s = float(stale_after_s)
        self.token = uuid.uuid4().hex
        self.held = False
        self._lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ claim
    def _create(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as f:
            json.dump({**_machine_id(), "pid": os.getpid(), "token": self.token,
                       "started_unix": time.time()}, f)
        return True

    def _stale(self, info: dict) -> bool:
        return info.get("age_s", float("inf")) >= self.stale_after_s or holder_gone(info)

    def _take_over_stale(self) -> None:
        """Move a stale lock aside (see the module docstring); returns when it is gone."""
        aside = self.path.with_name(f"{self.path.name}.{self.token}.stale")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:       # another claimant moved it first
            return
        info = read_lock(aside) or {}
        gone = holder_gone(info)
        if not gone and info.get("age_s", float("inf")) < self.stale_after_s:
            os.rename(aside, self.path)     # refreshed meanwhile, or not the one we judged: live
            return
        why = ("its process is gone" if gone else
               f"no heartbeat for {info.get('age_s', float('nan')):.0f} s")
        warnings.warn(f"{self.path}: stale lock of pid {info.get('pid')} on {info.get('host')} "
                      f"({why}); taking over", RuntimeWarning, stacklevel=3)
        aside.unlink(missing_ok=True)

    def acquire(self, *, heartbeat: bool = True) -> bool:
        """Claim the lock; False when a live process holds it.  ``heartbeat=False`` (tests)
        claims without starting the heartbeat thread."""
        if self.held:
            return True
        for _ in range(3):
            if self._create():
                self.held, self._lost = True, False
                if heartbeat:
                    self._stop.clear()
                    self._thread = threading.Thread(target=self._beat, daemon=True,
                                                    name=f"lock-heartbeat {self.path.name}")
                    self._thread.start()
                return True
            info = read_lock(self.path)
            if info is None:            # released between our attempts: try again
                continue
            if not self._stale(info):
                return False
            self._take_over_stale()
        return False

    # ------------------------------------------------------------------ hold
    def _owned(self) -> bool:
        info = read_lock(self.path)
        return info is not None and info.get("token") == self.token

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if not self._owned():
                self._lost = True
                return
            try:
                os.utime(self.path)
            except FileNotFoundError:
                self._lost = True
                return

    def lost(self) -> bool:
        """True when this process claimed the lock and its token is no longer in the file."""
        if self._lost:
            return True
        if self.held and not self._owned():
            self._lost = True
        return self._lost

    def check(self) -> None:
        """Raise :class:`LockLost` when :meth:`lost`."""
        if self.lost():
            raise LockLost(f"{self.path}: this run's lock was taken over by another process "
                           "(it saw no heartbeat for stale_after_s); stopping without writing")

    def release(self) -> None:
        """Stop the heartbeat and delete the lock if it is still this process's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self.held and self._owned():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
