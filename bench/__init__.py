"""Benchmarks (``make bench``: every ``bench_*.py`` through ``run_all``) and one-GPU scripts."""
from __future__ import annotations

import json
import pathlib


def save_json(out_dir, name: str, obj, **dumps_kw) -> pathlib.Path:
    """Write ``obj`` as indented JSON to ``out_dir/name`` through a temporary file and a rename
    (a killed benchmark never leaves half a file); ``dumps_kw`` go to ``json.dumps``."""
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, **dumps_kw))
    return tmp.replace(out_dir / name)
