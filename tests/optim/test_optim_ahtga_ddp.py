"""AHTGA on 2 gloo ranks with split batches equals one process on the global batch."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ahtga.optim.ahtga import AHTGA
from optim_ahtga_kit import LoopEngine, batches, fixed_k_hill, mlp, per_example_loss

SPLIT = (24, 16)          # unequal shares exercise the padded all_gather
STEPS = 4


def _opt(model, kind):
    kw = dict(lr=0.1, betas=(0.8, 0.9), exponent="exact", target=1.4, estimator=fixed_k_hill(8),
              transform="direction" if kind != "sign" else "sign_normalized")
    if kind == "standard":             # loss.mean().backward(); opt.step()
        return AHTGA(model, loss_reduction="mean", **kw)
    if kind in ("fast", "fast_lag"):   # fast_lag: the lagged estimate, on a thread per rank
        return AHTGA(model, mode="fast", estimate_lag=int(kind == "fast_lag"), **kw)
    return AHTGA(model, engine=LoopEngine(model), **kw)


def _train(model, opt, rank=None, kind=None):
    stats = []
    for x, y in batches(STEPS, sum(SPLIT), seed=9):
        if rank is not None:
            lo = sum(SPLIT[:rank])
            x, y = x[lo:lo + SPLIT[rank]], y[lo:lo + SPLIT[rank]]
        if kind == "standard":
            opt.zero_grad()
            per_example_loss(model, x, y).mean().backward()
            stats.append(opt.step().as_dict())
        else:
            stats.append(opt.step(per_example_loss(model, x, y)).as_dict())
    return stats


def _worker(rank, world, init_file, out_dir, kinds):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        for kind in kinds:     # one spawn for all variants: starting processes is the slow part
            model = mlp(seed=100 + rank)   # different inits: AHTGA broadcasts rank 0's
            opt = _opt(model, kind)
            stats = _train(model, opt, rank, kind)
            torch.save({"params": [p.detach() for p in model.parameters()], "stats": stats},
                       os.path.join(out_dir, f"{kind}-rank{rank}.pt"))
        dist.barrier()  # both ranks are past every collective before either tears gloo down
    finally:
        dist.destroy_process_group()


def _kinds():
    try:
        import ahtga.engine  # noqa: F401
        return ["loop", "fast", "fast_lag", "sign", "standard"]
    except ImportError:
        return ["loop", "sign"]


def test_two_gloo_ranks_equal_one_process(tmp_path):
    kinds = _kinds()
    mp.spawn(_worker, args=(2, str(tmp_path / "rendezvous"), str(tmp_path), kinds), nprocs=2,
             join=True)
    for kind in kinds:
        model = mlp(seed=100)
        ref_stats = _train(model, _opt(model, kind), kind=kind)
        ref = [p.detach() for p in model.parameters()]
        outs = [torch.load(tmp_path / f"{kind}-rank{r}.pt") for r in range(2)]
        for out in outs:
            for p, q in zip(out["params"], ref):
                torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
            for s, r in zip(out["stats"], ref_stats):
                assert s["n"] == r["n"] == sum(SPLIT)
                for key in ("alpha_hat", "alpha", "gamma", "q50", "max"):
                    assert s[key] == pytest.approx(r[key], rel=1e-5, nan_ok=True)  # lag: step 0
        # both ranks hold identical replicas
        for p, q in zip(outs[0]["params"], outs[1]["params"]):
            assert torch.equal(p, q)
