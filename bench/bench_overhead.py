"""Host-side overhead of a step: ResNet-18-GN at sizes so small that each op costs its dispatch.

On the H200 the SGD step of ResNet-18-GN at batch 128 takes 9.3 ms of wall time for far less
GPU work: the step is bound by what the host does per operator (Python, autograd, dispatcher,
kernel launch), and so are the engine's per-layer rules. This benchmark measures that host cost
on the CPU, where it can be measured at every change: the same network and step functions as
``bench/gpu_step.py`` at width 4, 8x8 inputs and batch 32 on one thread (the convolutions are
then a few microseconds each), with the GPU's defaults: the engine's ``conv_strategy="mixed"``
(its "auto" choice on CUDA) and ``torch.optim.SGD(foreach=True)``.

Printed and saved per method: the median step time over ``rounds`` x ``block`` steps (the
rounds interleave the methods), its ratio to SGD's in the same process, and the number of
ATen operators one step dispatches (all, and "kernel-like": without views, detaches and
allocations, i.e. roughly the GPU kernels it would launch).
It is a proxy, not a GPU measurement: launch latency, the autograd device thread and
host-device synchronisation are not in it.
"""
from __future__ import annotations

import collections
import pathlib
import statistics
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from bench.gpu_step import build_model, make_method
from bench import save_json

METHODS = ("sgd", "engine_direction", "engine_sign", "ahtga_direction", "ahtga_direction_lag",
           "ahtga_sign", "ahtga_sign_lag")
_META = {"view", "_unsafe_view", "permute", "transpose", "t", "expand", "slice", "select",
         "detach", "unsqueeze", "squeeze", "as_strided", "unfold", "alias", "split",
         "split_with_sizes", "_reshape_alias", "new_empty", "empty", "unbind", "lift_fresh",
         "_record_function_enter_new", "_record_function_exit"}


class _Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def _build(name: str, *, batch=32, width=4, size=8):
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, size, size, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    return make_method(name, build_model(width), x, y, None, conv_strategy="mixed",
                       foreach=True)


#: the lagged estimate at the GPU benchmark's batch size, where the estimate costs more
LAG_METHODS = ("sgd", "ahtga_direction", "ahtga_direction_lag")


def _measure(methods, batch: int, rounds: int, block: int, warmup: int):
    """Median seconds per step and ATen operator counts of each method, one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fns = {m: _build(m, batch=batch) for m in methods}
        counts = {}
        for m, fn in fns.items():
            for _ in range(warmup):
                fn()
            with _Count() as c:
                fn()
            counts[m] = c.counts
        times = {m: [] for m in methods}
        for _ in range(rounds):
            for m, fn in fns.items():
                for _ in range(block):
                    t0 = time.perf_counter()
                    fn()
                    times[m].append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return {m: statistics.median(v) for m, v in times.items()}, counts


def main(out_dir: pathlib.Path | None = None, *, methods=METHODS, rounds: int = 6,
         block: int = 10, warmup: int = 5, lag_batch: int | None = 128) -> dict:
    """All methods are built first; then each of ``rounds`` rounds runs ``block`` consecutive
    steps of every method in turn, so drift of the machine's speed hits all of them alike.
    ``lag_batch``: also time ``LAG_METHODS`` at that batch size (None: skip).  The operator
    counts are those of the calling thread: with ``estimate_lag=1`` the estimate's CPU
    operators run on the background thread and are not counted."""
    med, counts = _measure(methods, 32, rounds, block, warmup)
    out = {"setting": "ResNet-18-GN width 4, 8x8, batch 32, 1 thread, conv_strategy=mixed, "
                      f"SGD foreach; median of {rounds} rounds of {block} steps per method",
           "methods": {}}
    base = med["sgd"]
    print(f"{'method':20s} {'ms/step':>8s} {'x SGD':>6s} {'ops':>6s} {'kernel-like':>11s}")
    for m in methods:
        t = med[m]
        ops = sum(counts[m].values())
        kern = sum(v for k, v in counts[m].items() if k not in _META)
        out["methods"][m] = {"median_s": t, "ratio_to_sgd": t / base, "ops": ops,
                             "kernel_like_ops": kern,
                             "top_ops": dict(counts[m].most_common())}
        print(f"{m:20s} {t * 1e3:8.2f} {t / base:6.2f} {ops:6d} {kern:11d}")
    if lag_batch:
        lm, _ = _measure(LAG_METHODS, lag_batch, rounds, block, warmup)
        out["lag"] = {"batch": lag_batch,
                      "methods": {m: {"median_s": lm[m], "ratio_to_sgd": lm[m] / lm["sgd"]}
                                  for m in LAG_METHODS}}
        print(f"batch {lag_batch}: " + ", ".join(f"{m} {lm[m] * 1e3:.2f} ms ({lm[m] / lm['sgd']:.2f}x)"
                                                 for m in LAG_METHODS))
    if out_dir is not None:
        save_json(out_dir, "bench_overhead.json", out)
    return out


if __name__ == "__main__":
    main(pathlib.Path("bench/out"))
