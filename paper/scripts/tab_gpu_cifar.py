"""GPU CIFAR-10 comparison (``bench/gpu_cifar.py``, runner-format result files under
``paper/measured``): ResNet-18 (GroupNorm), a few epochs, test accuracy, test loss, ECE and
seconds per epoch per optimizer, mean and 95% t-interval over the seeds run; the GPU named.  The
CIFAR-10 copy used here is JPEG re-encoded (quality 75), so these numbers are not comparable
with published CIFAR-10 results.  A placeholder when no such files are present.
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


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    runs = [d for _p, d in C.measured_files(a.measured)["gpu_runs"]]
    if not runs:
        C.write_tables(a.out, [C.placeholder_table("GPU CIFAR-10 runs: measurement not available")])
        C.report(a.out, "GPU CIFAR-10 runs not available")
        return
    blocks = []
    for preset, rs in C.by_preset(runs).items():
        epochs = sorted({r.get("config", {}).get("epochs") for r in rs})
        n_train = sorted({(r.get("data") or {}).get("n_train") for r in rs}, key=str)
        note = " (JPEG re-encoded CIFAR-10)" if C.jpeg_note(rs) else ""
        title = C.tex_escape(f"{preset} on {device_of(rs)}: {'/'.join(map(str, epochs))} epochs, "
                             f"{'/'.join(map(str, n_train))} training images, {C.seeds_text(rs)}") + note
        blocks.append((title, C.aggregate(rs, preset, [m for m, *_ in COLS])))
    C.write_tables(a.out, [C.ci_tabular(blocks, COLS)])
    C.report(a.out, "GPU runs: " + device_of(runs))


if __name__ == "__main__":
    main()
