"""MNIST -> Fashion-MNIST out-of-distribution detection at the ``small`` scale, from the result
files in ``paper/measured/small_ood/main/<optimizer>/seed<k>.json`` (the runner's ``--out``
layout; provenance in ``paper/measured/README.md``).

One row per optimizer: the learning rate (taken from the MNIST sweep of ``measured/small``),
MNIST test accuracy, the AUROC of the maximum softmax probability for telling the 10,000
Fashion-MNIST test images from the 10,000 MNIST test images, and the mean maximum softmax
probability on each set; mean and two-sided 95% Student-t interval over seeds, best mean per
column in bold (not a significant difference unless the intervals separate).  A placeholder
table when the folder holds no result files.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_main import tabular  # noqa: E402

COLS = [("test_acc", "MNIST test acc.", 4, True, 1.0),
        ("ood.auroc", "AUROC", 4, True, 1.0),
        ("ood.msp_in_mean", "MSP (MNIST)", 3, None, 1.0),
        ("ood.msp_out_mean", "MSP (Fashion)", 3, False, 1.0)]


def ood_records(measured) -> list[dict]:
    """Result files of the Fashion-MNIST OOD chunk (``MEASURED/small_ood``)."""
    return [r for r in C.load_records(pathlib.Path(measured) / "small_ood")
            if C.get(r, "final.ood.auroc") is not None]


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    recs = ood_records(a.measured)
    if not recs:
        C.write_tables(a.out, [C.placeholder_table(
            "MNIST to Fashion-MNIST OOD: measurement not available")])
        C.report(a.out, "small-scale OOD runs not available")
        return
    parts = [tabular(rs, preset, COLS, with_lr=True) for preset, rs in C.by_preset(recs).items()]
    C.write_tables(a.out, parts)
    C.report(a.out, "measured/small_ood: " + C.stamp(recs, "main"))


if __name__ == "__main__":
    main()
