"""``python -m ahtga.experiments status OUT``: what every run and sweep under ``OUT`` is doing.

For each ``OUT/<preset>/<label>/`` (runs ``seed<k>``, sweeps ``lr_sweep``), from the files
beside the result (:mod:`.locks`, :mod:`.runner`):

* ``done`` -- the result file exists (a run being recomputed is shown as ``running``);
* ``running`` -- a lock whose heartbeat is younger than ``stale_after_s`` (its host, pid and
  heartbeat age are shown);
* ``stale`` -- a lock without a heartbeat for ``stale_after_s``, or one written on this machine
  by a process that no longer exists (:func:`.locks.holder_gone`): its process died; the next
  command on this ``--out`` takes it over and resumes the run from its checkpoint;
* ``failed`` -- the last attempt raised (``seed<k>.failed``: the error's first line);
* ``interrupted`` -- a checkpoint but no lock: killed between epochs, resumes on the next command.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .locks import STALE_AFTER_S, holder_gone, read_lock
from .store import read_result

__all__ = ["Entry", "scan", "format_status"]


@dataclass
class Entry:
    state: str          # done | running | stale | failed | interrupted
    what: str           # preset/label/seed<k> or preset/label/lr_sweep
    detail: str = ""


def _lock_entry(lock: Path, what: str, stale_after_s: float) -> Entry | None:
    info = read_lock(lock)
    if info is None:
        return None
    age = info["age_s"]
    who = f"pid {info.get('pid')} on {info.get('host')}, heartbeat {age:.0f} s ago"
    if holder_gone(info):
        return Entry("stale", what, who + "; that process is gone")
    return Entry("running" if age < stale_after_s else "stale", what, who)


def scan(out: str | Path, *, stale_after_s: float = STALE_AFTER_S) -> list[Entry]:
    """One :class:`Entry` per run or sweep found under ``out`` (module docstring), sorted."""
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"`out` must be a results folder; got out={str(out)!r}, which does not exist")
    entries: list[Entry] = []
    for d in sorted(p for p in out.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        base = f"{d.parent.name}/{d.name}"
        stems = {re.sub(r"\.(json|lock|failed|ckpt)$", "", f.name) for f in d.iterdir()
                 if re.fullmatch(r"(seed\d+|lr_sweep)\.(json|lock|failed|ckpt)", f.name)}
        for stem in sorted(stems, key=lambda s: (not s.startswith("lr"), int(s[4:]) if s[4:].isdigit() else 0)):
            what = f"{base}/{stem}"
            lock = _lock_entry(d / f"{stem}.lock", what, stale_after_s)
            if lock is not None:
                entries.append(lock)
                continue
            res = d / f"{stem}.json"
            failed = d / f"{stem}.failed"
            if failed.is_file() and (not res.is_file() or failed.stat().st_mtime > res.stat().st_mtime):
                err = (read_result(failed, what="failure record") or {}).get("error", "")
                entries.append(Entry("failed", what, str(err).splitlines()[0] if err else ""))
            elif res.is_file():
                rec = read_result(res, what="sweep record" if stem == "lr_sweep" else "result") or {}
                if stem == "lr_sweep":
                    detail = (f"chosen lr {rec['chosen']:g}" if rec.get("chosen") is not None
                              else f"{len(rec.get('points', {}))} of {len(rec.get('grid', []))} points")
                    entries.append(Entry("done" if rec.get("chosen") is not None else "interrupted",
                                         what, detail))
                else:
                    fin = rec.get("final") or {}
                    acc = fin.get("test_acc")
                    detail = ("diverged" if fin.get("diverged") else
                              f"test_acc {acc:.4f}" if isinstance(acc, (int, float)) else "")
                    entries.append(Entry("done", what, detail))
            elif (d / f"{stem}.ckpt").is_file():
                entries.append(Entry("interrupted", what, "checkpoint, no live process: resumes on the next run"))
    return entries


def format_status(entries: list[Entry]) -> str:
    """A table of the entries and a count per state."""
    if not entries:
        return "(nothing under this folder yet)"
    w = max(len(e.what) for e in entries)
    lines = [f"{e.state:11s} {e.what:{w}s}  {e.detail}".rstrip() for e in entries]
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.state] = counts.get(e.state, 0) + 1
    lines.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)
