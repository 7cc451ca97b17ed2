"""Cost of one AHTGA step on the LSTM language model relative to SGD, in the same process.

The model of preset ``ptb_lstm`` at scale ``small`` (``ahtga.models.lm.LSTMLM``: embedding,
2 x 200 LSTM, head over a 10,000-word vocabulary) on random token batches of 32 sequences of 35
steps. Methods, each a full training step through ``ahtga.optim.train_step``:

* ``sgd``: ``torch.optim.SGD`` with momentum;
* ``ahtga``: the AHTGA optimizer, whose engine computes the LSTM's per-example gradients batched
  by recomputing its unrolled layers (``ahtga.engine.lstm``);
* ``ahtga_generic``: the same with the generic ``torch.func`` fallback for the LSTM (what the
  engine did before ``ahtga.engine.lstm``; without a batching rule for the fused LSTM kernel
  it runs the layer once per example).

Rounds interleave the methods so that load from other processes hits them alike; the median
seconds per step and the ratio to ``sgd`` are printed and written as ``bench_lstm.json``.

    python -m bench.bench_lstm [--out bench/out] [--rounds 3] [--vocab 10000] [--hidden 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

import torch
import torch.nn.functional as F

from bench import save_json


def make_steps(*, vocab: int, hidden: int, layers: int, batch: int, seq: int, seed: int = 0):
    from ahtga.engine import lstm as lstm_rule
    from ahtga.models.lm import LSTMLM
    from ahtga.optim import build_optimizer, train_step

    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab, (batch, seq + 1), generator=g)
    x, y = ids[:, :-1], ids[:, 1:]
    torch.manual_seed(seed)
    models = {n: LSTMLM(vocab, emb_dim=hidden, hidden=hidden, layers=layers)
              for n in ("sgd", "ahtga", "ahtga_generic")}
    for m in models.values():
        m.load_state_dict(models["sgd"].state_dict())
    opts = {n: build_optimizer("sgd" if n == "sgd" else "ahtga", m, lr=0.01) for n, m in models.items()}
    real = lstm_rule.supported

    def step(name):
        m = models[name]
        losses = F.cross_entropy(m(x).transpose(1, 2), y, reduction="none").mean(1)
        if name == "ahtga_generic":
            lstm_rule.supported = lambda *a, **k: False       # route the LSTM to the fallback
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")               # the fallback's one-time warnings
                train_step(opts[name], losses)
        finally:
            lstm_rule.supported = real

    return {n: (lambda n=n: step(n)) for n in models}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="folder for bench_lstm.json (default: print only)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=35)
    a = ap.parse_args(argv)
    for name in ("rounds", "vocab", "hidden", "layers", "batch", "seq"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be >= 1; got {getattr(a, name)}")
    steps = make_steps(vocab=a.vocab, hidden=a.hidden, layers=a.layers, batch=a.batch, seq=a.seq)
    for fn in steps.values():           # warm-up (the optimizers' first step, allocations)
        fn()
    times = {n: [] for n in steps}
    for _ in range(a.rounds):
        for n, fn in steps.items():
            t0 = time.perf_counter()
            fn()
            times[n].append(time.perf_counter() - t0)
    med = {n: statistics.median(v) for n, v in times.items()}
    res = {"threads": torch.get_num_threads(), "torch": torch.__version__, "rounds": a.rounds,
           "config": {k: getattr(a, k) for k in ("vocab", "hidden", "layers", "batch", "seq")},
           "seconds": med, "ratio_to_sgd": {n: med[n] / med["sgd"] for n in med},
           "speedup_over_generic": med["ahtga_generic"] / med["ahtga"]}
    print(f"LSTM LM V={a.vocab} H={a.hidden}x{a.layers} B={a.batch} T={a.seq}, {res['threads']} thread(s): "
          + "  ".join(f"{n} {med[n]:.3f} s ({res['ratio_to_sgd'][n]:.2f}x)" for n in med)
          + f"; batched LSTM rule {res['speedup_over_generic']:.2f}x faster than the generic fallback")
    if a.out:
        save_json(a.out, "bench_lstm.json", res)
    return res


if __name__ == "__main__":
    main()
    sys.exit(0)
