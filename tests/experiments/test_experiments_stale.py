"""Runs that cannot go stale (issue 17, part 2): each test reproduces a way a sweep lost or
corrupted results -- a checkpoint resumed under another config, a truncated result file, two
processes on one run, a data set found missing only after training, an ablation without its
sweep record, misspelt optimizers, a CUDA device on a CPU build, the logging window lost at a
checkpoint, tracebacks for user errors."""
import dataclasses
import gzip
import json
import os
import struct
import time
import warnings

import numpy as np
import pytest
import torch

from ahtga.experiments import locks, loop, lr, runner, store
from ahtga.experiments.aggregate import aggregate
from ahtga.experiments.cli import main as cli_main
from ahtga.experiments.locks import RunLock, lock_path
from ahtga.experiments.presets import resolve
from ahtga.experiments.store import checkpoint_path, read_json, result_path
from experiments_kit import kill_on_call

QUICK = {"optimizers": ("sgd",), "epochs": 3, "max_train_examples": 256, "tail_every": 0,
         "lr_sweep": False, "progress": False, "log_every": 2, "model_kwargs": {"hidden": [32]},
         "perturbations": (), "ood": "", "lr_overrides": {"sgd": 0.1, "ahtga": 0.1}}


def _kill_at(monkeypatch, nth):
    """Make ``evaluation.evaluate``'s ``nth`` call raise KeyboardInterrupt; returns the undo."""
    from ahtga.experiments import evaluation
    return kill_on_call(monkeypatch, evaluation, "evaluate", nth)


def test_checkpoint_of_another_config_starts_fresh(tmp_path, monkeypatch):
    """Killed at lr 0.1, rerun with lr 0.05: the old checkpoint must not be resumed."""
    cfg = resolve("main", "tiny", QUICK)
    undo = _kill_at(monkeypatch, 5)          # epoch 3's evaluation, after 2 checkpoints
    with pytest.raises(KeyboardInterrupt):
        runner.run_one(cfg, "sgd", 0, tmp_path / "a")
    undo()
    p = result_path(tmp_path / "a", "main", "sgd", 0)
    assert checkpoint_path(p).is_file()
    changed = dataclasses.replace(cfg, lr_overrides={"sgd": 0.05})
    with pytest.warns(RuntimeWarning, match="checkpoint.*another config.*starting fresh"):
        res = read_json(runner.run_one(changed, "sgd", 0, tmp_path / "a"))
    clean = read_json(runner.run_one(changed, "sgd", 0, tmp_path / "b"))
    assert res["timings"]["resumed_from_epoch"] is None
    assert res["optimizer_spec"]["lr"] == 0.05
    assert res["curves"]["step"]["train_loss"] == pytest.approx(clean["curves"]["step"]["train_loss"], rel=1e-9)
    assert res["final"]["test_acc"] == clean["final"]["test_acc"]


def test_checkpoint_of_other_code_starts_fresh(tmp_path, monkeypatch):
    cfg = resolve("main", "tiny", QUICK)
    undo = _kill_at(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        runner.run_one(cfg, "sgd", 0, tmp_path)
    undo()
    real = store.code_version()
    monkeypatch.setattr(store, "code_version", lambda: {**real, "source_sha256": "0" * 64})
    with pytest.warns(RuntimeWarning, match="checkpoint.*other code.*starting fresh"):
        res = read_json(runner.run_one(cfg, "sgd", 0, tmp_path))
    assert res["timings"]["resumed_from_epoch"] is None


def test_result_files_record_a_source_digest():
    v = store.code_version()
    assert len(v["source_sha256"]) == 64


def test_logging_window_survives_a_checkpoint(tmp_path, monkeypatch):
    """log_every=3 with 4 steps per epoch: a logging window spans the checkpoint."""
    cfg = resolve("main", "tiny", {**QUICK, "log_every": 3})
    ref = read_json(runner.run_one(cfg, "sgd", 1, tmp_path / "ref"))
    undo = _kill_at(monkeypatch, 5)
    with pytest.raises(KeyboardInterrupt):
        runner.run_one(cfg, "sgd", 1, tmp_path / "k")
    undo()
    res = read_json(runner.run_one(cfg, "sgd", 1, tmp_path / "k"))
    assert res["timings"]["resumed_from_epoch"] == 2
    assert res["curves"]["step"]["step"] == ref["curves"]["step"]["step"] == [3, 6, 9, 12]
    assert res["curves"]["step"]["train_loss"] == pytest.approx(ref["curves"]["step"]["train_loss"], rel=1e-9)


def test_truncated_result_is_recomputed_and_skipped_by_aggregate(tmp_path):
    cfg = resolve("main", "tiny", {**QUICK, "epochs": 1})
    p = runner.run_one(cfg, "sgd", 0, tmp_path)
    good = read_json(p)
    p.write_text(p.read_text()[:200])                  # a kill of a non-atomic copy, a full disk
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert aggregate(tmp_path, "main", ["test_acc"]) == {}
    with pytest.warns(RuntimeWarning, match=r"unreadable.*recomput"):
        runner.run_one(cfg, "sgd", 0, tmp_path)
    assert read_json(p)["final"]["test_acc"] == good["final"]["test_acc"]
    # a truncated sweep record is treated as no record (the sweep reruns), not a crash
    rec = tmp_path / "main" / "sgd" / "lr_sweep.json"
    rec.write_text('{"grid": [0.1')
    swept = resolve("main", "tiny", {**QUICK, "epochs": 1, "lr_overrides": {}, "lr_sweep": True,
                                     "lr_grids": {"sgd": [0.1]}})
    with pytest.warns(RuntimeWarning, match="unreadable"):
        assert lr.resolve_lr(swept, "sgd", tmp_path)[0] == 0.1
    assert read_json(rec)["chosen"] == 0.1


def test_temporary_names_are_unique_per_writer(tmp_path, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    store.write_json_atomic(tmp_path / "r.json", {"a": 1})
    store.write_json_atomic(tmp_path / "r.json", {"a": 2})
    store.save_checkpoint_atomic(tmp_path / "c.ckpt", {"a": 1})
    store.save_checkpoint_atomic(tmp_path / "c.ckpt", {"a": 2})
    assert len(set(seen)) == 4 and all(str(os.getpid()) in s for s in seen)
    assert read_json(tmp_path / "r.json") == {"a": 2}


# ----------------------------------------------------------------------------- locks
def test_lock_claim_heartbeat_release(tmp_path):
    path = tmp_path / "x" / "seed0.lock"
    a = RunLock(path, heartbeat_s=0.05, stale_after_s=5.0)
    assert a.acquire()
    info = json.loads(path.read_text())
    assert info["pid"] == os.getpid() and info["token"] == a.token
    b = RunLock(path, heartbeat_s=0.05, stale_after_s=5.0)
    assert not b.acquire()                               # held and alive
    m0 = path.stat().st_mtime
    time.sleep(0.3)
    assert path.stat().st_mtime > m0                     # the heartbeat touches the file
    a.release()
    assert not path.exists() and b.acquire()
    b.release()


def test_stale_lock_is_recovered_and_the_loser_notices(tmp_path):
    path = tmp_path / "seed0.lock"
    dead = RunLock(path, heartbeat_s=0.1, stale_after_s=0.5)
    assert dead.acquire(heartbeat=False)                 # a process killed without cleanup
    old = time.time() - 10
    os.utime(path, (old, old))
    new = RunLock(path, heartbeat_s=0.05, stale_after_s=0.5)
    with pytest.warns(RuntimeWarning, match="stale lock"):
        assert new.acquire()
    assert json.loads(path.read_text())["token"] == new.token
    assert dead.lost()                                   # the old holder would stop at its next check
    new.release()


_HOLD = """
import sys, time
from ahtga.experiments.locks import RunLock
lock = RunLock(sys.argv[1], heartbeat_s=0.05, stale_after_s=300)
assert lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_lock_of_a_killed_process_on_this_machine_is_taken_over_at_once(tmp_path):
    """A run killed by ``timeout`` or SIGKILL leaves its lock; the next claimant on the same
    machine sees its process is gone and takes over without waiting ``stale_after_s``."""
    import signal
    import subprocess
    import sys

    path = tmp_path / "seed0.lock"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        assert not RunLock(path, stale_after_s=300).acquire()     # alive: left to it
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    info = json.loads(path.read_text())
    assert info["pid"] == proc.pid and "boot_id" in info and "pid_ns" in info
    assert time.time() - path.stat().st_mtime < 300                 # fresh: not stale by age
    new = RunLock(path, heartbeat_s=0.05, stale_after_s=300)
    with pytest.warns(RuntimeWarning, match="its process is gone"):
        assert new.acquire()
    assert json.loads(path.read_text())["token"] == new.token
    new.release()


def test_fresh_lock_of_another_machine_is_not_taken_over(tmp_path):
    """The pid of a lock written elsewhere (another boot id) says nothing here: only age counts."""
    path = tmp_path / "seed0.lock"
    other = locks._machine_id()
    other["boot_id"] = "another-boot"
    path.write_text(json.dumps({**other, "pid": 2 ** 22 + 12345, "token": "t", "started_unix": time.time()}))
    assert not locks.holder_gone(locks.read_lock(path))
    assert not RunLock(path, stale_after_s=300).acquire()
    same = {**locks._machine_id(), "pid": 2 ** 22 + 12345}        # same machine, no such pid
    assert locks.holder_gone(same) and not locks.holder_gone({**same, "pid": os.getpid()})


def test_run_held_by_another_process_is_skipped(tmp_path, monkeypatch):
    cfg = resolve("main", "tiny", {**QUICK, "epochs": 1})
    p = result_path(tmp_path, "main", "sgd", 0)
    other = RunLock(lock_path(p), heartbeat_s=0.05, stale_after_s=30)
    assert other.acquire()
    monkeypatch.setattr(loop, "train_run", lambda *a, **k: pytest.fail("must not train"))
    assert runner.run_one(cfg, "sgd", 0, tmp_path) is None   # busy: nothing done here
    assert not p.exists()
    other.release()


# ----------------------------------------------------------------------------- data checks
def _idx(arr):
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.astype(">u1").tobytes()


def _fake_mnist(folder, n=120, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for stem in ("train", "t10k"):
        labs = np.arange(n) % 10
        imgs = rng.integers(0, 256, (n, 28, 28)) * (labs[:, None, None] % 2)
        (folder / f"{stem}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(imgs.astype(np.uint8))))
        (folder / f"{stem}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labs.astype(np.uint8))))


MNIST_QUICK = {**QUICK, "epochs": 1, "verify_checksums": False, "model": "mlp", "model_kwargs": {"hidden": [8]},
               "batch_size": 32, "ood": "fashion_mnist", "perturbations": ("gaussian",)}


def test_missing_ood_set_is_reported_before_training_and_other_results_kept(tmp_path, monkeypatch):
    """The README's small MNIST command with the MNIST folder as --data-dir: Fashion-MNIST is
    not there (MNIST's own files must not be taken for it)."""
    _fake_mnist(tmp_path / "mnist")
    cfg = resolve("main", "small", {**MNIST_QUICK, "data_dir": str(tmp_path / "mnist")})
    order = []
    real = loop.train_run

    def spy(*a, **k):
        order.append("train")
        return real(*a, **k)

    monkeypatch.setattr(loop, "train_run", spy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = read_json(runner.run_one(cfg, "sgd", 0, tmp_path / "out"))
    msgs = [str(w.message) for w in caught if "fashion_mnist" in str(w.message)]
    assert msgs and "not found" in msgs[0] and order == ["train"]
    assert r["final"]["test_acc"] is not None and r["final"]["perturbations"]["gaussian"]["test_acc"] is not None
    assert r["final"]["ood"]["set"] == "fashion_mnist" and r["final"]["ood"]["auroc"] is None
    assert "not found" in r["final"]["ood"]["error"]
    # with Fashion-MNIST beside it (data_dir/fashion_mnist) the AUROC is measured
    _fake_mnist(tmp_path / "mnist" / "fashion_mnist", seed=1)
    cfg2 = dataclasses.replace(cfg, epochs=2)
    r2 = read_json(runner.run_one(cfg2, "sgd", 0, tmp_path / "out"))
    assert 0 <= r2["final"]["ood"]["auroc"] <= 1 and r2["data"]["ood"]["set"] == "fashion_mnist"


def test_missing_main_data_fails_before_anything_trains(tmp_path, monkeypatch):
    cfg = resolve("main", "small", {**MNIST_QUICK, "data_dir": str(tmp_path)})
    monkeypatch.setattr(loop, "train_run", lambda *a, **k: pytest.fail("must not train"))
    with pytest.raises(FileNotFoundError, match="data_dir"):
        runner.run_one(cfg, "sgd", 0, tmp_path / "out")


# ----------------------------------------------------------------------------- learning rates
def test_ablation_without_the_sweep_record_refuses(tmp_path, monkeypatch):
    cfg = resolve("ablate_c1", "tiny", {"progress": False})
    monkeypatch.setattr(loop, "train_run", lambda *a, **k: pytest.fail("must not train"))
    with pytest.raises(runner.MissingSweep, match=r"preset 'main'.*run .*main.* first"):
        runner.run_one(cfg, "ahtga_c1_0.1", 0, tmp_path)


def test_unknown_optimizer_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown optimizer 'sdg'.*valid.*sgd.*ahtga_sign"):
        resolve("main", "tiny", {"optimizers": ("sdg",)})


# ----------------------------------------------------------------------------- command line
def _one_line_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    base = ["run", "main", "--out", str(tmp_path), "--jobs", "1"]
    assert cli_main(base + ["--set", "epoch=1"]) == 2
    assert "Unknown config key: 'epoch'" in _one_line_error(capsys)
    assert cli_main(base + ["--set", "optimizers=sdg"]) == 2
    line = _one_line_error(capsys)
    assert "unknown optimizer 'sdg'" in line and "sgd" in line
    assert cli_main(["run", "nosuch", "--out", str(tmp_path)]) == 2
    assert "unknown preset 'nosuch'" in _one_line_error(capsys)
    assert cli_main(["run", "ablate_c1", "--out", str(tmp_path), "--jobs", "1",
                     "--set", "progress=false"]) == 2
    line = _one_line_error(capsys)
    assert "preset 'main'" in line and "first" in line
    assert cli_main(["run", "main", "--scale", "small", "--out", str(tmp_path), "--data-dir",
                     str(tmp_path / "nothing"), "--set", "lr=0.1"]) == 2
    assert "data_dir" in _one_line_error(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-build message")
def test_cuda_on_a_cpu_build_is_a_clear_error(tmp_path, capsys):
    assert cli_main(["run", "main", "--out", str(tmp_path), "--jobs", "1", "--set", "device=cuda",
                     "--set", "lr=0.1"]) == 2
    line = _one_line_error(capsys)
    assert "device" in line and "cuda" in line and "CUDA" in line
    with pytest.raises(ValueError, match="device"):
        runner.run_one(resolve("main", "tiny", {**QUICK, "device": "cuda"}), "sgd", 0, tmp_path)
