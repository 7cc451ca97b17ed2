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
