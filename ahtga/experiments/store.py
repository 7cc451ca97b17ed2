"""Result files and checkpoints: atomic writes, provenance (code version, hardware), paths.

Layout: ``OUT/<preset>/<optimizer>/seed<k>.json`` holds one finished run; beside it
``seed<k>.ckpt`` holds the checkpoint of an unfinished one (deleted when the result is written).
Every write goes to a temporary name unique to the writer (``<name>.<pid>.<random>.tmp``) first
and is moved into place with ``os.replace``, which is atomic on POSIX file systems: a reader
sees either the old file or the complete new one, an exception or a kill mid-write leaves no
partial result, and two processes writing the same file never share a temporary name (a stray
``.tmp`` is ignored).  A result or record that cannot be parsed anyway (copied by hand, a full
disk, a file system without atomic rename) is read as missing, with a warning
(:func:`read_result`), so the run is recomputed instead of blocking the preset.

``code_version()`` records ``git describe``, the commit and ``source_sha256``, a digest of every
``.py`` file of the installed ``ahtga`` package: checkpoints are bound to it (a checkpoint of
other code is not resumed).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import subprocess
import uuid
import warnings
from pathlib import Path
from typing import Any

import torch


#: Version of the result-file layout written now.  1 (no ``schema_version`` key): few-shot
#: results held AHTGA's EMA alpha under ``final.tail_alpha_*``, the key every other task uses
#: for the tail monitor's probe-batch estimate; 2: ``tail_alpha_*`` is the tail monitor's for
#: every task and AHTGA's EMA alpha is ``final.ahtga_alpha_start``/``ahtga_alpha_final``.
#: :func:`upgrade_result` reads version 1 as version 2.
SCHEMA_VERSION = 2


def upgrade_result(res: dict) -> dict:
    """A result dict in the current layout (:data:`SCHEMA_VERSION`); version 1 few-shot results
    have their ``tail_alpha_*`` moved to ``ahtga_alpha_*`` (the tail monitor was off there).
    Other version 1 results gain null ``ahtga_alpha_*`` (not recorded then)."""
    if res.get("schema_version", 1) >= SCHEMA_VERSION or not isinstance(res.get("final"), dict):
        return res
    res = dict(res)
    fin = dict(res["final"])
    if (res.get("config") or {}).get("task") == "fewshot":
        fin["ahtga_alpha_start"] = fin.pop("tail_alpha_start", None)
        fin["ahtga_alpha_final"] = fin.pop("tail_alpha_final", None)
        fin["tail_alpha_start"] = fin["tail_alpha_final"] = None
    else:
        fin.setdefault("ahtga_alpha_start", None)
        fin.setdefault("ahtga_alpha_final", None)
    res["final"], res["schema_version"] = fin, SCHEMA_VERSION
    return res


def result_path(out: str | os.PathLike, preset: str, optimizer: str, seed: int) -> Path:
    """``OUT/<preset>/<optimizer>/seed<k>.json``."""
    return Path(out) / preset / optimizer / f"seed{int(seed)}.json"


def checkpoint_path(result: Path) -> Path:
    """The checkpoint beside a result file: ``seed<k>.ckpt``."""
    return result.with_suffix(".ckpt")


def _jsonable(x: Any) -> Any:
    """Replace NaN/Inf floats by None and tuples by lists, recursively (strict JSON)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, torch.Tensor):
        return _jsonable(x.tolist())
    if hasattr(x, "item") and callable(x.item):  # numpy scalars
        return _jsonable(x.item())
    return x


def tmp_path(path: str | os.PathLike) -> Path:
    """A temporary name beside ``path`` that no other writer uses: ``<name>.<pid>.<hex>.tmp``."""
    path = Path(path)
    return path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Serialise first (so a bad object raises before anything is written), then write to a
    writer-unique temporary name, fsync and ``os.replace``."""
    path = Path(path)
    text = json.dumps(_jsonable(obj), indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as f:
        return json.load(f)


def read_result(path: str | os.PathLike, *, what: str = "result") -> dict | None:
    """The JSON object at ``path``; None when there is no file, and None with a RuntimeWarning
    (``unreadable <what> file ...; treating it as missing``) when it cannot be parsed or is not
    a JSON object, so the caller recomputes it.  Result files (``what="result"``) are returned
    in the current layout (:func:`upgrade_result`)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        obj = read_json(path)
    except (ValueError, UnicodeDecodeError) as e:   # JSONDecodeError is a ValueError
        warnings.warn(f"{path}: unreadable {what} file ({type(e).__name__}: {e}); treating it as "
                      "missing and recomputing it", RuntimeWarning, stacklevel=2)
        return None
    if not isinstance(obj, dict):
        warnings.warn(f"{path}: unreadable {what} file (not a JSON object); treating it as "
                      "missing and recomputing it", RuntimeWarning, stacklevel=2)
        return None
    return upgrade_result(obj) if what == "result" else obj


def save_checkpoint_atomic(path: str | os.PathLike, state: dict) -> Path:
    """``torch.save`` to a writer-unique temporary name, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """The checkpoint at ``path``, or None if there is none (or, with a warning, if it cannot be
    read: the run then starts fresh)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - a corrupt checkpoint: restart
        warnings.warn(f"{path}: unreadable checkpoint ({type(e).__name__}: {e}); starting fresh",
                      RuntimeWarning, stacklevel=2)
        return None


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """sha256 over the relative path and bytes of every ``.py`` file of the ``ahtga`` package
    (sorted by path): what a checkpoint is bound to besides the config."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``git describe --always --dirty`` and the commit hash of the package's repository when it
    is a git checkout (else None), the installed package version and :func:`source_digest`."""
    from ahtga import __version__

    info: dict[str, Any] = {"package": __version__, "git_describe": None, "git_commit": None,
                            "source_sha256": source_digest()}
    root = Path(__file__).resolve().parents[2]
    try:
        def git(*args):
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()
        info["git_commit"] = git("rev-parse", "HEAD") or None
        info["git_describe"] = git("describe", "--always", "--dirty") or None
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def hardware(device: str | torch.device = "cpu") -> dict:
    """Machine, Python/torch versions, thread count and the accelerator's name."""
    dev = torch.device(device)
    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "device": str(dev), "device_name": None}
    if dev.type == "cuda" and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name(dev)
        info["cuda"] = torch.version.cuda
    return info
