"""bench/gpu_cifar.py --smoke: CPU, fake tiny CIFAR-shaped data, writes the runner's result files."""
from bench.gpu_cifar import main
from ahtga.experiments.store import read_json, result_path


def test_gpu_cifar_smoke_writes_results(tmp_path, capsys):
    assert main(["--smoke", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "device: cpu" in out and "ahtga" in out and "test_acc" in out
    for opt in ("sgd", "adam", "ahtga"):
        r = read_json(result_path(tmp_path, "cifar10", opt, 0))
        assert r["config"]["model"] == "resnet18" and r["config"]["model_kwargs"]["norm"] == "group"
        assert r["config"]["augment"] == "crop_flip" and r["config"]["device"] == "cpu"
        assert r["final"]["test_acc"] is not None and r["curves"]["tail"]
        assert any("JPEG" in n for n in r["data"].get("notes", []))


def test_gpu_cifar_says_which_lock_holds_a_busy_run(tmp_path, capsys):
    """A run another live process holds is reported with the lock's path and holder, not as a
    bare ``None`` (what a user saw on a GPU after a killed run), and the other runs go on."""
    from ahtga.experiments.locks import RunLock, lock_path

    held = RunLock(lock_path(result_path(tmp_path, "cifar10", "adam", 0)), heartbeat_s=0.05, stale_after_s=30)
    assert held.acquire()                     # this test's own process: alive
    try:
        assert main(["--smoke", "--out", str(tmp_path), "--optimizers", "sgd,adam"]) == 0
    finally:
        held.release()
    out = capsys.readouterr().out
    assert "adam seed 0: busy, not run:" in out and "seed0.lock" in out and "None" not in out
    assert "sgd seed 0: trained" in out
    assert not result_path(tmp_path, "cifar10", "adam", 0).exists()


def test_gpu_session_script_smoke_runs_every_step_and_packs_the_results(tmp_path):
    """bench/gpu_session.sh with SMOKE=1 (CPU, tiny sizes): the step benchmark and the CIFAR
    comparison both exit 0, and the packed archive holds their result files (and no checkpoint),
    so a lent GPU's time is not spent on a broken script."""
    import os
    import subprocess
    import sys
    import tarfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    archive = tmp_path / "archive"
    (archive / "ptb").mkdir(parents=True)          # a tiny PTB-format copy enables step 3
    words = "the cat sat on a mat and the dog ran to the cat <unk> N".split()
    for part, n in (("train", 400), ("valid", 60), ("test", 60)):
        lines = [" ".join(words[(i + j) % len(words)] for j in range(8)) for i in range(n)]
        (archive / "ptb" / f"ptb.{part}.txt").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "SMOKE": "1", "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(["bash", "bench/gpu_session.sh", str(out), str(archive)],
                       cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    status = (out / "status.txt").read_text()
    assert "gpu_step exit 0" in status and "gpu_cifar exit 0" in status
    assert "ptb exit 0" in status, (out / "ptb.log").read_text()[-3000:]
    for o in ("sgd", "adam", "ahtga"):
        assert {f"./ptb/ptb_lstm/{o}/seed{k}.json" for k in range(3)} <= set(
            tarfile.open(out / "gpu_session.tgz").getnames())
    with tarfile.open(out / "gpu_session.tgz") as t:
        names = set(t.getnames())
    assert "./gpu_step.json" in names and "./status.txt" in names
    assert {f"./cifar/cifar10/{o}/seed0.json" for o in ("sgd", "adam", "ahtga")} <= names
    assert not any(n.endswith(".ckpt") for n in names)
