"""Result files and checkpoints: atomic writes, provenance (code version, hardware), paths.

Layout: ``OUT/<preset>/<optimizer>/seed<k>.json`` holds one finished run; beside it
``seed<k>.ckpt`` holds the checkpoint of an unfinished one (deleted when the result is written).
Every write goes to ``<name>.tmp`` first and is moved into place with ``os.replace``, which is
atomic on POSIX file systems: a reader sees either the old file or the complete new one, and an
exception or a kill mid-write leaves no partial result (a stray ``.tmp`` is ignored and
overwritten next time).
"""
from __future__ import annotations

import functools
import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch


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


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Serialise first (so a bad object raises before anything is written), then tmp + replace."""
    path = Path(path)
    text = json.dumps(_jsonable(obj), indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as f:
        return json.load(f)


def save_checkpoint_atomic(path: str | os.PathLike, state: dict) -> Path:
    """``torch.save`` to ``<path>.tmp``, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """The checkpoint at ``path``, or None if there is none (or it cannot be read)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception:  # a corrupt checkpoint (should not happen with atomic writes): restart
        return None


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """``git describe --always --dirty`` and the commit hash of the package's repository when it
    is a git checkout, else the installed package version only."""
    from ahtga import __version__

    info: dict[str, Any] = {"package": __version__, "git_describe": None, "git_commit": None}
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
