"""The loop logs ||theta_{t+1} - theta_t|| at every logged step (``curves.step.update_norm``) and
its mean (``final.update_norm_mean``): what an "equal effective step size" claim is checked
against."""
import math

import pytest
import torch

from ahtga.experiments import evaluation, loop, runner
from ahtga.experiments.presets import resolve
from ahtga.experiments.store import read_json

from experiments_kit import kill_and_resume

QUICK = {"epochs": 2, "max_train_examples": 128, "batch_size": 32, "tail_every": 0,
         "dynamics": False, "lr_sweep": False, "lr_from": "", "progress": False, "log_every": 1,
         "perturbations": (), "ood": "", "model_kwargs": {"hidden": [16]}}


def _run(out, label, lr, **over):
    cfg = resolve("main", "tiny", {**QUICK, "optimizers": (label,), "lr": lr, **over})
    return read_json(runner.run_one(cfg, label, 0, out))


def test_update_norm_is_logged_and_scales_with_lr(tmp_path):
    a = _run(tmp_path / "a", "sgd", 0.05)
    b = _run(tmp_path / "b", "sgd", 0.10)
    na, nb = a["curves"]["step"]["update_norm"], b["curves"]["step"]["update_norm"]
    assert len(na) == len(a["curves"]["step"]["step"]) == a["final"]["steps"] == 8
    assert all(v is not None and math.isfinite(v) and v > 0 for v in na)
    # the first step of momentum SGD moves by lr * g (same init, same batch): twice the lr, twice
    # the step; later steps differ because the trajectories differ
    assert nb[0] == pytest.approx(2 * na[0], rel=1e-5)
    assert a["final"]["update_norm_mean"] == pytest.approx(sum(na) / len(na))


def test_update_norm_of_ahtga_and_only_at_logged_steps(tmp_path):
    r = _run(tmp_path, "ahtga", 0.05, log_every=3)
    s = r["curves"]["step"]
    assert s["step"] == [3, 6, 8]                      # every 3rd step and the last
    assert len(s["update_norm"]) == 3 and all(v > 0 for v in s["update_norm"])


def test_update_norm_helper_measures_the_whole_change():
    p1, p2 = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([{"params": [p1]}, {"params": [p2]}], lr=1.0)
    before = loop._snapshot(opt)
    with torch.no_grad():
        p1 += torch.tensor([3.0, 0.0, 0.0])
        p2 += torch.tensor([0.0, 4.0])
    assert loop._update_norm(opt, before) == pytest.approx(5.0)
    assert loop._update_norm(opt, None) is None


def test_update_norm_resumes_exactly(tmp_path, monkeypatch):
    cfg = resolve("main", "tiny", {**QUICK, "epochs": 6, "optimizers": ("ahtga",), "lr": 0.05,
                                   "log_every": 2})
    ref, res = kill_and_resume(monkeypatch, tmp_path, cfg, "ahtga", 0, evaluation, "evaluate", 7)
    assert res["timings"]["resumed_from_epoch"] == 3
    assert res["curves"]["step"]["update_norm"] == ref["curves"]["step"]["update_norm"]
    assert res["final"]["update_norm_mean"] == ref["final"]["update_norm_mean"]
