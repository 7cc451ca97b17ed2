"""One-GPU step cost of AHTGA vs SGD: ResNet-18 (GroupNorm) on CIFAR-shaped random batches.

    python -m bench.gpu_step --out gpu_step.json            # GPU: B=128, 20 timed steps
    python -m bench.gpu_step --smoke --out /tmp/smoke.json  # CPU, tiny sizes (for tests)

Methods (each a full training step: forward, per-example work, gradient, parameter update):

* ``sgd``: ``torch.optim.SGD`` (momentum 0.9) on ``cross_entropy(...).mean()``.
* ``reference``: ``torch.func`` per-example gradients (``vmap(grad)``, chunk ``--ref-chunk``),
  their norms, coefficients ``s_i = (||g_i|| / median)^gamma`` (gamma = 0.2), the weighted
  mean written to ``.grad``, SGD update.
* ``engine_direction`` / ``engine_sign``: ``PerExampleEngine`` norms + the same coefficients +
  ``write_weighted_grad`` / ``write_sign_grad`` (``c_i = ||g_i|| s_i``), SGD update: the
  engine's cost without the tail estimator.
* ``ahtga_direction`` / ``ahtga_sign``: the ``ahtga.optim.AHTGA`` optimizer's ``step(losses)``
  with its defaults (double-bootstrap Hill estimate every step, on the CPU:
  ``estimate_device="auto"``), if that module imports; ``ahtga_direction_devest`` is the same
  with the estimate on the GPU (``estimate_device="same"``, the behaviour before that option);
  ``ahtga_direction_lag`` / ``ahtga_sign_lag`` use ``estimate_lag=1`` (the estimate of a step's
  norms runs on a background thread during the next step; one host synchronisation per step).

``engine_direction_grouped`` / ``_nocache`` / ``_nostream`` are ``engine_direction`` with
``conv_strategy="grouped"`` / ``cache_elems=0`` / ``stream=False``; ``engine_sign_grouped``
likewise. The grouped rows are run by default: on the CPU the grouped path moves 1.86x SGD's
bytes against 2.45x for unfold's im2col copy (``bench/bench_cost.py``, batch 32), and which is
faster on a GPU depends on cuDNN's grouped weight-gradient kernels. ``*_graph`` (CUDA only, run
by default there: ``sgd_graph``, ``engine_direction_graph``, ``engine_sign_graph``) is the
method's whole step captured in one CUDA graph and replayed: it shows what the host-side
overhead of each step costs (ratios are still to the eager ``sgd``).

Timing: CUDA events around each step, median of ``--steps`` after ``--warmup`` steps; on CPU
``time.perf_counter``. Peak memory: ``torch.cuda.max_memory_allocated`` over the timed
steps (statistics reset after the warm-up, whose peak, with cudnn.benchmark's trial
workspaces, is kept too); each method is built fresh (model, optimizer, data) after freeing
the previous one, so each peak counts that method's model, optimizer state and activations.
Random normal inputs (not zeros). Ratios are to ``sgd`` in the same process. The table is
printed and written as JSON (atomically) to ``--out``.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import platform
import statistics
import sys
import time
import traceback

import torch
import torch.nn.functional as F

TARGETS = {"direction_time": 1.3, "sign_time": 2.5, "direction_memory": 1.5}
DEFAULT_METHODS = ("sgd", "engine_direction", "engine_direction_grouped", "engine_sign",
                   "engine_sign_grouped", "ahtga_direction", "ahtga_direction_lag",
                   "ahtga_direction_devest", "ahtga_sign", "ahtga_sign_lag", "reference")
#: whole steps captured in one CUDA graph: what the host-side overhead costs (experimental)
GRAPH_METHODS = ("sgd_graph", "engine_direction_graph", "engine_sign_graph")


def build_model(width: int, num_classes: int = 10):
    from ahtga.models.resnet import resnet18
    return resnet18(num_classes, stem="cifar", norm="group", width=width)


def coefficients(norms, gamma=0.2, eps=1e-8):
    return (norms / (eps + norms.median())) ** gamma


def cuda_graphed(step, warmup: int = 3):
    """``step`` captured whole in one CUDA graph (PyTorch's "whole-network capture"): ``warmup``
    eager steps on a side stream (the engine verifies and plans on its first two calls), then
    one captured step; returns the graph's ``replay``. Inputs, parameters, gradients and the
    optimizer's state are the static tensors the capture saw."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup):
            step()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph.replay


def make_method(name, model, x, y, ref_chunk, *, conv_strategy=None, foreach=None):
    """A zero-argument training step for method ``name``. ``conv_strategy`` overrides the
    engine's (default: its "auto"); ``foreach`` is passed to ``torch.optim.SGD``. A name ending
    in ``_graph`` is that method captured in a CUDA graph (CUDA only; see ``cuda_graphed``)."""
    if name.endswith("_graph"):
        if x.device.type != "cuda":
            raise RuntimeError(f"{name}: CUDA graphs need a CUDA device; got {x.device}")
        return cuda_graphed(make_method(name[:-len("_graph")], model, x, y, ref_chunk,
                                        conv_strategy=conv_strategy, foreach=foreach))
    b = x.shape[0]
    if name.startswith("ahtga"):
        from ahtga.engine import PerExampleEngine
        from ahtga.optim.ahtga import AHTGA
        opt = AHTGA(model, lr=1e-3, transform=name.split("_")[1],
                    estimate_device="same" if name.endswith("devest") else "auto",
                    estimate_lag=int(name.endswith("_lag")),
                    engine=PerExampleEngine(model, conv_strategy=conv_strategy)
                    if conv_strategy else None)

        def step():
            opt.zero_grad(set_to_none=True)
            opt.step(F.cross_entropy(model(x), y, reduction="none"))
        return step

    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, foreach=foreach)
    if name == "sgd":
        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step
    if name == "reference":
        from ahtga.engine import per_example_grads, per_example_norms

        def step():
            opt.zero_grad(set_to_none=True)
            grads = per_example_grads(model, lambda o, t: F.cross_entropy(o, t), x, y,
                                      chunk_size=ref_chunk)
            norms = per_example_norms(grads)
            w = coefficients(norms) / b
            for n, p in model.named_parameters():
                p.grad = torch.tensordot(w.to(grads[n].dtype), grads[n], 1)
            del grads
            opt.step()
        return step
    from ahtga.engine import PerExampleEngine
    eng = PerExampleEngine(model, conv_strategy="grouped" if name.endswith("grouped")
                           else conv_strategy or "auto",
                           cache_elems=0 if name.endswith("nocache") else 2 ** 25,
                           stream=not name.endswith("nostream"))

    def step():
        opt.zero_grad(set_to_none=True)
        norms = eng.backward(F.cross_entropy(model(x), y, reduction="none"))
        s = coefficients(norms)
        if name.startswith("engine_direction"):
            eng.write_weighted_grad(s / b)
        else:
            eng.write_sign_grad(norms * s / b)
        eng.release()
        opt.step()
    return step


def run_method(name, args, device):
    torch.manual_seed(0)
    g = torch.Generator(device="cpu").manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size, generator=g).to(device)
    y = torch.randint(0, 10, (args.batch,), generator=g).to(device)
    model = build_model(args.width).to(device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    step = make_method(name, model, x, y, args.ref_chunk)
    trace = []
    for _ in range(args.warmup):
        step()
        if cuda:
            trace.append(round(torch.cuda.memory_allocated() / 2 ** 20))
    if trace:
        print(f"    {name}: MiB allocated after each warm-up step {trace}", flush=True)
    peak_warm = None
    if cuda:
        torch.cuda.synchronize()
        peak_warm = torch.cuda.max_memory_allocated()  # includes cudnn.benchmark's trials
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated() if cuda else None
    del step, model, x, y
    gc.collect()
    if cuda:
        torch.cuda.empty_cache()
    return {"median_s": statistics.median(times), "min_s": min(times), "peak_bytes": peak,
            "peak_bytes_incl_warmup": peak_warm}


def profile(name, args, device):
    """Print the operators that took the most time in 3 steps of ``name``."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as prof_ctx
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    model = build_model(args.width).to(device)
    step = make_method(name, model, x, y, args.ref_chunk)
    for _ in range(3):
        step()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with prof_ctx(activities=acts) as p:
        for _ in range(3):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"profile of {name} (3 steps):")
    print(p.key_averages().table(sort_by=key, row_limit=30))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=pathlib.Path, default=None, help="JSON output path")
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny sizes (a few seconds)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--ref-chunk", type=int, default=None,
                    help="torch.func chunk size for the reference (default: whole batch)")
    ap.add_argument("--methods", nargs="*", default=None,
                    help="default: " + " ".join(DEFAULT_METHODS) + " (and, on CUDA, "
                    + " ".join(GRAPH_METHODS) + ")")
    ap.add_argument("--profile", default=None, metavar="METHOD",
                    help="also print a torch.profiler table of 3 steps of METHOD")
    args = ap.parse_args(argv)
    if args.smoke:
        args.batch, args.steps, args.warmup, args.width, args.size = 32, 3, 1, 8, 8
        device = torch.device("cpu")
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if args.methods is None:
        args.methods = list(DEFAULT_METHODS) + (list(GRAPH_METHODS) if device.type == "cuda"
                                                else [])
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        dev_name = torch.cuda.get_device_name(device)
    else:
        dev_name = f"CPU ({platform.processor() or platform.machine()}, " \
                   f"{torch.get_num_threads()} threads)"
    print(f"device: {dev_name}; torch {torch.__version__}; batch {args.batch}, width "
          f"{args.width}, {args.size}x{args.size}, median of {args.steps} after {args.warmup} "
          "warm-up", flush=True)
    results = {}
    for name in args.methods:
        t0 = time.time()
        try:
            results[name] = run_method(name, args, device)
        except Exception as err:  # noqa: BLE001 - report and go on with the other methods
            traceback.print_exc()
            results[name] = {"error": f"{type(err).__name__}: {err}"[:500]}
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(f"  {name}: done in {time.time() - t0:.1f} s", flush=True)
    base = results.get("sgd", {})
    for r in results.values():
        if "median_s" in r and "median_s" in base:
            r["time_ratio"] = r["median_s"] / base["median_s"]
            if r.get("peak_bytes") and base.get("peak_bytes"):
                r["memory_ratio"] = r["peak_bytes"] / base["peak_bytes"]
    print(f"{'method':26s} {'ms/step':>9s} {'x SGD':>7s} {'peak MiB':>9s} {'mem x SGD':>9s}")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:26s} ERROR {r['error'][:100]}")
            continue
        mem = f"{r['peak_bytes'] / 2 ** 20:9.0f}" if r.get("peak_bytes") else f"{'-':>9s}"
        mr = f"{r['memory_ratio']:9.2f}" if "memory_ratio" in r else f"{'-':>9s}"
        print(f"{name:26s} {r['median_s'] * 1e3:9.2f} {r.get('time_ratio', float('nan')):7.2f} "
              f"{mem} {mr}")
    if args.profile:
        profile(args.profile, args, device)
    out = {"device": dev_name, "torch": torch.__version__, "config": vars(args) | {
        "out": str(args.out)}, "targets": TARGETS, "results": results,
        "host": platform.node() and platform.platform()}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(json.dumps(out, indent=2))
        os.replace(tmp, args.out)
        print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
