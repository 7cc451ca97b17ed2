"""bench/gpu_step.py runs on CPU with --smoke and writes its table as JSON; mixed precision."""
from __future__ import annotations

import json
import math
import pathlib
import sys

import torch

from ahtga.engine import PerExampleEngine, per_example_grads, per_example_norms
from engine_models import ce, mlp


def test_engine_gpu_step_smoke(tmp_path):
    root = str(pathlib.Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import gpu_step

    out = tmp_path / "gpu_step.json"
    res = gpu_step.main(["--smoke", "--steps", "2", "--out", str(out)])  # the default methods
    saved = json.loads(out.read_text())
    assert saved["device"].startswith("CPU")
    for name in ("sgd", "engine_direction", "engine_sign", "reference"):
        r = saved["results"][name]
        assert "error" not in r, r
        assert r["median_s"] > 0 and math.isfinite(r["time_ratio"])
    assert res["results"]["sgd"]["time_ratio"] == 1.0
    # the CUDA-graph rows are for CUDA only: left out of the CPU defaults, a clear error if asked
    assert not any(m.endswith("_graph") for m in saved["config"]["methods"])
    bad = gpu_step.main(["--smoke", "--steps", "1", "--methods", "sgd", "sgd_graph"])
    assert "CUDA graphs need a CUDA device" in bad["results"]["sgd_graph"]["error"]


def test_engine_bfloat16_norms_in_float32():
    """A bfloat16 model: norms come back in float32, close to a float64 reference."""
    torch.manual_seed(0)
    model = mlp()
    ref_model = mlp().double()
    ref_model.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    model = model.to(torch.bfloat16)
    ref_model.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 12, generator=g)
    y = torch.randint(0, 3, (6,), generator=g)
    eng = PerExampleEngine(model)
    norms = eng.backward(ce(model(x.to(torch.bfloat16)).float(), y))
    assert norms.dtype == torch.float32
    ref = per_example_norms(per_example_grads(ref_model, lambda o, t: ce(o, t).sum(),
                                              x.double(), y))
    torch.testing.assert_close(norms.double(), ref, rtol=5e-2, atol=0)


def test_bench_overhead_counts_ops_and_times_in_one_process(tmp_path):
    """bench/bench_overhead.py: every method timed against SGD in the same process, and its
    operator counts are those of one step (the engine dispatches more than SGD, and the count
    sees the per-layer GroupNorm rule: one extra native_group_norm_backward per GroupNorm)."""
    root = str(pathlib.Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import bench_overhead

    res = bench_overhead.main(tmp_path, methods=("sgd", "engine_direction"), rounds=1, block=2,
                              warmup=3, lag_batch=48)
    lag = res["lag"]
    assert lag["batch"] == 48 and set(lag["methods"]) == set(bench_overhead.LAG_METHODS)
    assert all(math.isfinite(v["ratio_to_sgd"]) and v["median_s"] > 0 for v in lag["methods"].values())
    assert (tmp_path / "bench_overhead.json").is_file()
    m = res["methods"]
    assert m["sgd"]["ratio_to_sgd"] == 1.0 and math.isfinite(m["engine_direction"]["ratio_to_sgd"])
    assert m["engine_direction"]["ops"] > m["sgd"]["ops"] >= m["sgd"]["kernel_like_ops"] > 0
    gn = 2 * m["sgd"]["top_ops"]["native_group_norm_backward"]
    assert m["engine_direction"]["top_ops"]["native_group_norm_backward"] == gn


def test_engine_bench_cost_smoke(tmp_path):
    """bench/bench_cost.py counts the GPU benchmark's step on the CPU: the direction engine
    does about SGD's matmul work (one backward, no second weight-gradient pass) and moves
    more bytes; the JSON is written."""
    root = str(pathlib.Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import bench_cost

    out = tmp_path / "cost.json"
    res = bench_cost.cli(["--batch", "8", "--width", "4", "--size", "8", "--methods",
                          "engine_direction", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert list(saved["results"]) == ["sgd", "engine_direction"]
    q = res["results"]["engine_direction"]["ratio"]
    assert res["results"]["sgd"]["ratio"]["ops"] == 1.0
    assert 0.9 < q["matmul_flops"] < 1.3, q
    assert q["bytes_moved"] > 1.0 and q["ops"] > 1.0 and q["peak_live_bytes"] > 0.9, q


def test_bench_lstm_smoke(tmp_path):
    """bench/bench_lstm.py at tiny sizes: all three methods time a step, ratios to SGD are
    written, and the routing to the generic fallback is undone afterwards."""
    root = str(pathlib.Path(__file__).resolve().parents[2])
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench import bench_lstm
    from ahtga.engine import lstm as lstm_rule

    real = lstm_rule.supported
    res = bench_lstm.main(["--out", str(tmp_path), "--rounds", "1", "--vocab", "30", "--hidden", "6",
                           "--batch", "4", "--seq", "5"])
    saved = json.loads((tmp_path / "bench_lstm.json").read_text())
    assert set(saved["seconds"]) == {"sgd", "ahtga", "ahtga_generic"}
    assert saved["ratio_to_sgd"]["sgd"] == 1.0 and res["speedup_over_generic"] > 0
    assert lstm_rule.supported is real
