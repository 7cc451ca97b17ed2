"""Short CIFAR-10 comparison on one GPU: ResNet-18 (GroupNorm), AHTGA vs SGD vs Adam.

    python -m bench.gpu_cifar --data DIR --out results/gpu_cifar [--seeds 0] [--epochs 3]
    python -m bench.gpu_cifar --smoke --out /tmp/x          # CPU, fake tiny data (for tests)

``--data``: a folder in the official ``cifar-10-batches-py`` layout (or holding it), a folder of
class sub-folders ``train/<class>/*.jpg`` + ``test/...`` (needs Pillow), or an ``.npz`` with
uint8 ``x`` [N, 32, 32, 3] and ``y`` (a stratified 25% of it becomes the test split).  Built
here from ``../shared/data/cifar10``'s JPEG archive with its ``to_official.py``: that copy is
JPEG re-encoded (quality 75), so checksums are recorded but not verified against the official
MD5s, and every result says so in ``data.notes``.

It runs preset ``cifar10`` at scale ``full`` with a few epochs, no sweep (registry-default
learning rates unless ``--set lr_overrides=...``), crop+flip augmentation, cosine schedule, the
tail monitor on a probe batch, and test-time corruptions; one result file per (optimizer, seed)
under ``OUT/cifar10/<optimizer>/seed<k>.json`` as the experiments runner writes them (same
fields; rerunning skips finished runs, a killed run resumes from its last epoch).  At the end it
prints the device name and a table of mean test accuracy/loss and seconds per epoch.

Time: sized for about 8 minutes on one H100-class GPU with the defaults (3 optimizers x 1 seed x
3 epochs on ``--train-examples`` 25000); AHTGA's per-example engine costs more per step than
SGD/Adam, which the table's seconds-per-epoch column shows.  Lower ``--train-examples`` or
``--epochs`` on a slower card.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def _data_overrides(path: str) -> dict:
    p = Path(path).expanduser()
    if p.is_file() and p.suffix == ".npz":
        return {"dataset": "cifar10_npz", "data_dir": str(p)}
    if p.is_dir():
        if any(p.glob("*.npz")) and not (p / "cifar-10-batches-py").is_dir() \
                and not (p / "batches.meta").is_file() and not (p / "train").is_dir():
            return {"dataset": "cifar10_npz", "data_dir": str(p)}
        return {"dataset": "cifar10", "data_dir": str(p)}
    raise SystemExit(f"--data must be a folder or an .npz file; got --data={path!r}, which does not exist")


def _fake_npz(folder: Path, n: int = 100, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    x[..., 0] = np.clip(x[..., 0] // 2 + 12 * y[:, None, None], 0, 255)  # a learnable signal
    path = folder / "fake_cifar.npz"
    np.savez(path, x=x, y=y)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="CIFAR-10 folder or npz (required unless --smoke)")
    ap.add_argument("--out", default="results/gpu_cifar")
    ap.add_argument("--seeds", default="0", help="e.g. 0 or 0-2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train-examples", type=int, default=25000, help="cap on training images (0 = all)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--optimizers", default="sgd,adam,ahtga")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="any other config field (see python -m ahtga.experiments)")
    ap.add_argument("--smoke", action="store_true", help="CPU, fake tiny data, 1 epoch, narrow ResNet")
    args = ap.parse_args(argv)

    from ahtga.experiments.aggregate import aggregate, format_table
    from ahtga.experiments.cli import parse_seeds
    from ahtga.experiments.config import parse_set
    from ahtga.experiments.presets import resolve
    from ahtga.experiments.locks import lock_path, read_lock
    from ahtga.experiments.runner import run_one_status
    from ahtga.experiments.store import result_path

    tmp = None
    ov: dict = {"epochs": args.epochs, "batch_size": args.batch_size, "lr_sweep": False,
                "max_train_examples": args.train_examples, "verify_checksums": False,
                "optimizers": tuple(o.strip() for o in args.optimizers.split(",") if o.strip()),
                "tail_every": 50, "tail_probe": 256, "num_threads": 4, "checkpoint_every": 1,
                "eval_batch_size": 1000, "progress": True}
    if args.smoke:
        tmp = tempfile.TemporaryDirectory()
        ov.update({"dataset": "cifar10_npz", "data_dir": str(_fake_npz(Path(tmp.name))), "epochs": 1,
                   "batch_size": 32, "max_train_examples": 0, "model_kwargs": {"norm": "group", "width": 8, "groups": 4},
                   "tail_every": 100, "tail_probe": 32, "eval_batch_size": 64, "num_threads": 1,
                   "progress": False, "val_fraction": 0.1})
        device = args.device or "cpu"
    else:
        if not args.data:
            ap.error("--data is required (or use --smoke)")
        ov.update(_data_overrides(args.data))
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    ov["device"] = device
    ov.update(parse_set(args.set))
    if device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True   # same setting for every optimizer
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = "cpu"
    print(f"device: {device} ({name})", flush=True)
    cfg = resolve("cifar10", "full", ov)
    out = Path(args.out)
    t0 = time.time()
    try:
        for seed in parse_seeds(args.seeds):
            for lab in cfg.optimizers:
                t = time.time()
                p, status = run_one_status(cfg, lab, seed, out)
                if status == "busy":
                    lock = lock_path(result_path(out, cfg.preset, lab, seed))
                    info = read_lock(lock) or {}
                    print(f"{lab} seed {seed}: busy, not run: {lock} is held by pid {info.get('pid')} "
                          f"on {info.get('host')} (heartbeat {info.get('age_s', float('nan')):.0f} s ago); "
                          "delete it if that process is gone", flush=True)
                    continue
                print(f"{lab} seed {seed}: {status} {p} ({time.time() - t:.1f} s)", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    tab = aggregate(out, "cifar10", ["test_acc", "test_loss", "time_per_epoch", "tail_alpha_final"])
    print(f"\nCIFAR-10 ResNet-18-GN, {cfg.epochs} epoch(s), device {name}; total {time.time() - t0:.0f} s")
    print("(JPEG re-encoded CIFAR-10 copy unless the official batches were given)")
    print(format_table(tab))
    return 0


if __name__ == "__main__":
    sys.exit(main())
