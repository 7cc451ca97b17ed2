"""GPU CIFAR-10 comparison (``bench/gpu_cifar.py``, runner-format result files under
``paper/measured``): ResNet-18 (GroupNorm), a few epochs, test accuracy, test loss, ECE and
seconds per epoch per optimizer, mean and 95% t-interval over the seeds run; the GPU named.  One
block per setting (:func:`groups`: preset, epochs, training images), each naming the learning
rates and where they came from (``gpu_cifar.py`` does not sweep: registry defaults unless set).
The CIFAR-10 copy used here is JPEG re-encoded (quality 75), so these numbers are not
comparable with published CIFAR-10 results.  A placeholder when no such files are present.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

COLS = [("test_acc", "test acc.", 3, True, 1.0), ("test_loss", "test loss", 3, False, 1.0),
        ("ece", "ECE", 3, False, 1.0), ("time_per_epoch", "s/epoch", 1, None, 1.0)]


def device_of(rs) -> str:
    names = sorted({str((r.get("hardware") or {}).get("device_name") or (r.get("hardware") or {}).get("device"))
                    for r in rs})
    return ", ".join(names)


def groups(runs: list[dict]) -> dict[tuple, list[dict]]:
    """Runs of one setting together, ``(preset, epochs, training images)``, fewest epochs first:
    runs of different lengths are different measurements and are never averaged together."""
    out: dict[tuple, list[dict]] = {}
    for r in runs:
        key = (r["preset"], r.get("config", {}).get("epochs"), (r.get("data") or {}).get("n_train"))
        out.setdefault(key, []).append(r)
    return dict(sorted(out.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2] or 0)))


def lr_text(rs: list[dict]) -> str:
    """``lr: SGD 0.1, AHTGA 1; registry default (no sweep)``: each optimizer's learning rate and
    its source as the result files record it."""
    by: dict[str, set] = {}
    srcs = set()
    for r in rs:
        spec = r.get("optimizer_spec") or {}
        by.setdefault(r["optimizer"], set()).add(spec.get("lr"))
        srcs.add(str((spec.get("lr_choice") or {}).get("source", "not recorded")))
    parts = [f"{C.display(lab, tex=False)} {'/'.join(f'{v:g}' if isinstance(v, (int, float)) else str(v) for v in sorted(by[lab], key=str))}"
             for lab in sorted(by, key=C.order_key)]
    return "lr: " + ", ".join(parts) + "; " + "; ".join(sorted(srcs))


def title_of(key: tuple, rs: list[dict]) -> str:
    preset, epochs, n_train = key
    note = " (JPEG re-encoded CIFAR-10)" if C.jpeg_note(rs) else ""
    return C.tex_escape(f"{preset} on {device_of(rs)}: {epochs} epochs, {n_train} training images, "
                        f"{C.seeds_text(rs)}; {lr_text(rs)}") + note


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    runs = [d for _p, d in C.measured_files(a.measured)["gpu_runs"]]
    if not runs:
        C.write_tables(a.out, [C.placeholder_table("GPU CIFAR-10 runs: measurement not available")])
        C.report(a.out, "GPU CIFAR-10 runs not available")
        return
    blocks = [(title_of(key, rs), C.aggregate(rs, key[0], [m for m, *_ in COLS]))
              for key, rs in groups(runs).items()]
    C.write_tables(a.out, [C.ci_tabular(blocks, COLS)])
    C.report(a.out, "GPU runs: " + device_of(runs))


if __name__ == "__main__":
    main()
