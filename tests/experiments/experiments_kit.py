"""Helpers shared by the experiment tests."""
import pytest

from ahtga.experiments import runner
from ahtga.experiments.store import checkpoint_path, read_json, result_path


def kill_on_call(monkeypatch, module, name, nth):
    """Make ``module.name`` raise KeyboardInterrupt on its ``nth`` call; returns the undo."""
    real = getattr(module, name)
    calls = {"n": 0}

    def dying(*a, **k):
        calls["n"] += 1
        if calls["n"] == nth:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)

    monkeypatch.setattr(module, name, dying)
    return lambda: monkeypatch.setattr(module, name, real)


def kill_and_resume(monkeypatch, tmp_path, cfg, label, seed, module, name, nth):
    """Run ``cfg``/``label``/``seed`` once whole (the reference), then again with
    ``module.name`` raising KeyboardInterrupt on its ``nth`` call, check that the killed run left a
    checkpoint and no result, and resume it; the resumed run must remove its checkpoint.
    Returns ``(reference result, resumed result)``."""
    ref = read_json(runner.run_one(cfg, label, seed, tmp_path / "ref"))
    undo = kill_on_call(monkeypatch, module, name, nth)
    out = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        runner.run_one(cfg, label, seed, out)
    p = result_path(out, cfg.preset, label, seed)
    assert not p.exists() and checkpoint_path(p).is_file()
    undo()
    res = read_json(runner.run_one(cfg, label, seed, out))
    assert not checkpoint_path(p).exists()
    return ref, res
