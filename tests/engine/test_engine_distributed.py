"""Two CPU processes (gloo): gathered norms and all-reduced weighted grads == one process."""
from __future__ import annotations

import os
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ahtga.engine import PerExampleEngine
from ahtga.engine.distributed import allreduce_grads, gather_norms, is_distributed

SIZES = (6, 4)  # unequal local batches


def _setup():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.GroupNorm(2, 4),
                                torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 16, 3))
    model = model.double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(sum(SIZES), 2, 4, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (sum(SIZES),), generator=g)
    return model, x, y


def _losses(model, x, y):
    return torch.nn.functional.cross_entropy(model(x), y, reduction="none")


def _worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    try:
        torch.set_num_threads(1)
        model, x, y = _setup()
        lo = sum(SIZES[:rank])
        xs, ys = x[lo:lo + SIZES[rank]], y[lo:lo + SIZES[rank]]
        eng = PerExampleEngine(model)
        local = eng.backward(_losses(model, xs, ys))
        glob, off = gather_norms(local, return_offset=True)
        w = glob / glob.sum()  # coefficients computed on the global batch
        eng.write_weighted_grad(w[off:off + SIZES[rank]])
        allreduce_grads(eng.params)
        torch.save({"norms": glob, "offset": off, "dist": is_distributed(),
                    "grads": [p.grad for p in model.parameters()]},
                   os.path.join(out_dir, f"rank{rank}.pt"))
        dist.barrier()  # both ranks are past every collective before either tears gloo down
    finally:
        dist.destroy_process_group()


def test_engine_two_process_gloo_equals_single_process():
    with tempfile.TemporaryDirectory() as d:
        init = os.path.join(d, "init")
        mp.spawn(_worker, args=(2, init, d), nprocs=2, join=True)
        res = [torch.load(os.path.join(d, f"rank{r}.pt")) for r in range(2)]
    model, x, y = _setup()
    eng = PerExampleEngine(model)
    norms = eng.backward(_losses(model, x, y))
    eng.write_weighted_grad(norms / norms.sum())
    assert not is_distributed()
    assert [r["offset"] for r in res] == [0, SIZES[0]]
    for r in res:
        assert r["dist"]
        torch.testing.assert_close(r["norms"], norms, rtol=1e-12, atol=0)
        for gr, p in zip(r["grads"], model.parameters()):
            torch.testing.assert_close(gr, p.grad, rtol=1e-10, atol=1e-14)


def test_engine_distributed_helpers_single_process():
    t = torch.tensor([1.0, 2.0])
    assert gather_norms(t) is t
    assert gather_norms(t, return_offset=True)[1] == 0
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    allreduce_grads([p])
    assert torch.equal(p.grad, torch.ones(2))
