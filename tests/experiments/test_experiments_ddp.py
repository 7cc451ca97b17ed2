"""Data-parallel runner: 2 CPU processes (gloo) on a tiny config give the same metrics and
curves as 1 process on the same global batch, for sgd (DDP) and AHTGA (its own sync), and only
rank 0 writes a result file."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from ahtga.experiments import distributed as D
from ahtga.experiments import evaluation, runner
from ahtga.experiments.presets import resolve
from ahtga.experiments.store import read_json, result_path

CFG = {"optimizers": ("sgd", "ahtga"), "epochs": 2, "max_train_examples": 256, "batch_size": 64,
       "tail_every": 0, "perturbations": (), "ood": "", "lr_sweep": False, "progress": False,
       "log_every": 1, "model_kwargs": {"hidden": [16]}, "checkpoint_every": 1,
       "lr_overrides": {"sgd": 0.1, "ahtga": 0.5},
       # one global batch per tail estimate (AHTGA's default pools 1024 norms: none in 8 steps)
       "ahtga_kwargs": {"pool_size": 64}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update({"RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank),
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    info = D.init_from_env("cpu")
    assert info.world_size == world and info.backend == "gloo"
    cfg = resolve("main", "tiny", CFG)
    sizes = []
    plain = evaluation.per_example_loss

    def spy(out, y):          # batch sizes the model saw (training shards and evaluation)
        sizes.append(int(y.shape[0]))
        return plain(out, y)

    evaluation.per_example_loss = spy
    for lab in cfg.optimizers:
        runner.run_one(cfg, lab, 0, out)
    # each rank trained on its half of every global batch of 64
    assert 32 in sizes and 64 not in sizes, sorted(set(sizes))
    torch.distributed.barrier()  # both ranks are done before either tears gloo down
    torch.distributed.destroy_process_group()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    one = tmp_path_factory.mktemp("one")
    two = tmp_path_factory.mktemp("two")
    cfg = resolve("main", "tiny", CFG)
    for lab in cfg.optimizers:
        runner.run_one(cfg, lab, 0, one)
    mp.start_processes(_worker, args=(2, _free_port(), str(two)), nprocs=2, join=True,
                       start_method="spawn")
    return one, two, cfg


@pytest.mark.parametrize("label", ["sgd", "ahtga"])
def test_two_ranks_match_one_process(runs, label):
    one, two, _ = runs
    a = read_json(result_path(one, "main", label, 0))
    b = read_json(result_path(two, "main", label, 0))
    assert a["run_key"] == b["run_key"]
    fa, fb = a["final"], b["final"]
    for k in ("test_acc", "val_acc", "train_acc"):
        assert fa[k] == pytest.approx(fb[k], abs=1.5 / a["data"]["n_test"]), k  # <= one example
    for k in ("test_loss", "val_loss", "train_loss"):
        assert fa[k] == pytest.approx(fb[k], rel=1e-4), k
    ca, cb = a["curves"]["step"], b["curves"]["step"]
    assert ca["step"] == cb["step"] and len(ca["step"]) == 2 * 4   # 256 train / 64 = 4 steps
    assert ca["train_loss"] == pytest.approx(cb["train_loss"], rel=1e-4)
    if label == "ahtga":   # the tail estimate saw the same global batch in the same order
        assert None not in ca["alpha_hat"] and None not in cb["alpha_hat"]
        assert ca["alpha_hat"] == pytest.approx(cb["alpha_hat"], rel=1e-4)
        assert ca["gamma"] == pytest.approx(cb["gamma"], rel=1e-4)


def test_only_rank0_wrote_one_file_per_run(runs):
    _, two, cfg = runs
    files = sorted(p.relative_to(two).as_posix() for p in two.rglob("*") if p.is_file())
    assert files == [f"main/{lab}/seed0.json" for lab in sorted(cfg.optimizers)]


def test_shard_and_helpers_single_process():
    idx = torch.arange(8)
    assert torch.equal(D.shard(idx), idx) and D.is_main() and D.world_size() == 1
    assert D.init_from_env("cpu").world_size == 1 or os.environ.get("WORLD_SIZE", "1") != "1"
    m = torch.nn.Linear(2, 2)
    assert D.wrap_model(m, "sgd") is m and D.unwrap(m) is m
