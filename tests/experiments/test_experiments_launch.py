"""Sweeps that scale out (issue 17, part 3) and progress a person can follow (part 4):
submitit's local executor runs the same code path as Slurm, two commands on one --out train
each run once, ``status`` and ``plot`` read an output folder."""
import json
import os
import re
import subprocess
import sys
import time

import pytest

from ahtga.experiments import locks
from ahtga.experiments.cli import main as cli_main
from ahtga.experiments.cli import run_presets
from ahtga.experiments.launch import LocalLauncher, make_launcher
from ahtga.experiments.status import scan
from ahtga.experiments.store import read_json, result_path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAST = {"optimizers": ("sgd", "adam"), "epochs": 1, "max_train_examples": 128, "tail_every": 0,
        "lr_sweep": False, "progress": False, "model_kwargs": {"hidden": [16]}, "perturbations": (),
        "ood": "", "lr_overrides": {"sgd": 0.1, "adam": 0.001}}
SETS = ["--set", "optimizers=sgd,adam", "--set", "epochs=1", "--set", "max_train_examples=128",
        "--set", "tail_every=0", "--set", "lr_sweep=false", "--set", "progress=false",
        "--set", 'model_kwargs={"hidden": [16]}', "--set", "perturbations=", "--set", "ood=",
        "--set", 'lr_overrides={"sgd": 0.1, "adam": 0.001}']


@pytest.mark.slow
def test_submitit_local_executor_runs_the_sweep(tmp_path, capsys):
    """The Slurm launcher's code path with submitit's local executor (a job = a process)."""
    pytest.importorskip("submitit")
    launcher = make_launcher("submitit-local", jobs=1, out=tmp_path,
                             slurm={"time_min": 10, "cpus": 1})
    fast = {**FAST, "optimizers": ("sgd",)}
    assert run_presets(["main"], "tiny", fast, tmp_path, seeds=[0], launcher=launcher) == 0
    out = capsys.readouterr().out
    assert "submitted 1 job(s)" in out and out.count("done run") == 1
    for lab in ("sgd",):
        r = read_json(result_path(tmp_path, "main", lab, 0))
        assert r["final"]["test_acc"] is not None and r["optimizer_spec"]["lr"] == FAST["lr_overrides"][lab]
    assert any((tmp_path / ".submitit").rglob("*_result.pkl"))
    # a rerun through the launcher finds everything current: nothing is submitted
    assert run_presets(["main"], "tiny", fast, tmp_path, seeds=[0], launcher=launcher) == 0
    assert "0 run(s) to do" in capsys.readouterr().out


def test_unknown_launcher_and_bad_jobs_are_named(tmp_path):
    with pytest.raises(ValueError, match="launcher"):
        make_launcher("pbs", jobs=1, out=tmp_path)
    with pytest.raises(ValueError, match="jobs"):
        LocalLauncher(0)


@pytest.mark.slow
def test_two_commands_on_one_out_train_each_run_once(tmp_path):
    """Two identical commands started together: every run is trained by exactly one of them
    (the other finds it running -- busy -- or finished)."""
    cmd = [sys.executable, "-m", "ahtga.experiments", "run", "main", "--seeds", "0-1",
           "--out", str(tmp_path), "--jobs", "1", *SETS, "--set", "optimizers=sgd"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    trained = [m for o, _ in outs for m in re.findall(r"done run\s+(\S+)", o)]
    assert sorted(trained) == ["main/sgd/seed0", "main/sgd/seed1"]
    for lab in ("sgd",):
        for s in (0, 1):
            p = result_path(tmp_path, "main", lab, s)
            assert p.is_file() and not p.with_suffix(".lock").exists()


def test_status_reports_done_running_stale_failed_and_interrupted(tmp_path, capsys):
    d = tmp_path / "main" / "sgd"
    d.mkdir(parents=True)
    (d / "seed0.json").write_text(json.dumps({"final": {"test_acc": 0.9}}))
    live = locks.RunLock(d / "seed1.lock", heartbeat_s=0.05, stale_after_s=30)
    assert live.acquire()
    dead = locks.RunLock(d / "seed2.lock", heartbeat_s=0.05, stale_after_s=30)
    assert dead.acquire(heartbeat=False)
    old = time.time() - 3600
    os.utime(d / "seed2.lock", (old, old))
    (d / "seed3.failed").write_text(json.dumps({"error": "ValueError: bad\nmore"}))
    (d / "seed4.ckpt").write_bytes(b"x")
    gone = {**locks._machine_id(), "pid": 2 ** 22 + 12345, "token": "t"}   # no such process here
    (d / "seed5.lock").write_text(json.dumps(gone))                      # fresh heartbeat
    try:
        entries = {e.what: e for e in scan(tmp_path, stale_after_s=600)}
        states = {k: e.state for k, e in entries.items()}
        assert states == {"main/sgd/seed0": "done", "main/sgd/seed1": "running",
                          "main/sgd/seed2": "stale", "main/sgd/seed3": "failed",
                          "main/sgd/seed4": "interrupted", "main/sgd/seed5": "stale"}
        assert "that process is gone" in entries["main/sgd/seed5"].detail
        assert cli_main(["status", str(tmp_path)]) == 0
        text = capsys.readouterr().out
        assert re.search(r"running\s+main/sgd/seed1\s+pid \d+ on \S+, heartbeat \d+ s ago", text)
        assert "failed      main/sgd/seed3  ValueError: bad" in text
        assert "1 done, 1 failed, 1 interrupted, 1 running, 2 stale" in text
    finally:
        live.release()
    assert cli_main(["status", str(tmp_path / "nothing")]) == 2


def test_plot_draws_a_png_of_a_preset(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from ahtga.experiments.plot import curve_means

    over = {**FAST, "optimizers": ("sgd", "ahtga"), "log_every": 2, "lr_overrides": {"sgd": 0.1, "ahtga": 0.1}}
    assert run_presets(["main"], "tiny", over, tmp_path, seeds=[0, 1]) == 0
    capsys.readouterr()
    assert cli_main(["plot", str(tmp_path), "main"]) == 0
    png = tmp_path / "main" / "curves.png"
    assert capsys.readouterr().out.strip() == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from ahtga.experiments.aggregate import load_results
    res = load_results(tmp_path, "main")
    gamma = curve_means(res, "step", "gamma")
    assert set(gamma) == {"ahtga"}                      # only AHTGA logs gamma
    a0 = [r for r in res if r["optimizer"] == "ahtga" and r["seed"] == 0][0]["curves"]["step"]["train_loss"]
    a1 = [r for r in res if r["optimizer"] == "ahtga" and r["seed"] == 1][0]["curves"]["step"]["train_loss"]
    assert curve_means(res, "step", "train_loss")["ahtga"][1] == pytest.approx([(u + v) / 2 for u, v in zip(a0, a1)])
    assert cli_main(["plot", str(tmp_path), "noise_sym20"]) == 2


def test_tensorboard_logs_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    over = {**FAST, "optimizers": ("ahtga",), "log_every": 2, "lr_overrides": {"ahtga": 0.1}}
    assert run_presets(["main"], "tiny", over, tmp_path / "out", seeds=[0],
                       tensorboard=str(tmp_path / "tb")) == 0
    runs = list((tmp_path / "tb" / "main" / "ahtga" / "seed0").glob("events.*"))
    assert runs
    acc = EventAccumulator(str(runs[0].parent))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "ahtga/alpha", "ahtga/gamma", "eval/val_acc"} <= tags
    r = read_json(result_path(tmp_path / "out", "main", "ahtga", 0))
    assert [e.value for e in acc.Scalars("train/loss")] == pytest.approx(r["curves"]["step"]["train_loss"])
