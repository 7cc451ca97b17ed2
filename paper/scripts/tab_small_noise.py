"""Label noise at the ``small`` scale on MNIST: the ``noise_*`` presets measured on a 2-core CPU
and copied to ``paper/measured/small/<preset>/<optimizer>/seed<k>.json`` (provenance in
``paper/measured/README.md``), beside the clean-label ``main`` chunk of the same setting.

One tabular per noise preset, one row per optimizer: the learning rate (reused from the clean
chunk's sweep, ``lr_from=main``), test accuracy on the clean test labels, the same for the
clean-label run of ``measured/small/main`` (when present), training accuracy on the noisy
training labels (how much of the noise was fitted) and test loss; mean and two-sided 95%
Student-t interval over seeds, best mean per column in bold.  A placeholder table when no
noise preset was measured.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_robustness import NOISE_HEAD  # noqa: E402
from tab_small_main import tabular  # noqa: E402

COLS = [("test_acc", "test acc.", 4, True, 1.0), ("train_acc", "train acc. (noisy)", 4, None, 1.0),
        ("test_loss", "test loss", 4, False, 1.0)]


def noise_records(measured) -> dict[str, list[dict]]:
    """``{preset: records}`` of the label-noise presets under ``MEASURED/small``."""
    groups = C.small_groups(measured, lambda p, rs: C.study_of(p) == "robustness")
    return {p: groups[p] for p in sorted(groups)}


def main_records(measured) -> list[dict]:
    """The ``main`` chunk under ``MEASURED/small`` (the clean-label, full-data reference)."""
    return C.small_groups(measured, lambda p, rs: p == "main").get("main", [])


def noise_tabular(preset, rs, clean) -> str:
    ctab = C.aggregate(clean, "main", ["test_acc"]) if clean else {}
    title = (f"{NOISE_HEAD.get(preset, C.tex_escape(preset))} label noise: "
             f"{C.tex_escape(C.stamp(rs, preset))}")
    clean_col = ("clean labels",
                 lambda lab: C.fmt_ci((ctab.get(lab) or {}).get("test_acc"), COLS[0][2]))
    return tabular(rs, preset, COLS, with_lr=True, title=title, after={"test_acc": clean_col})


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = noise_records(a.measured)
    clean = main_records(a.measured) if groups else []
    C.write_group_tables(a.out, groups, lambda p, rs: noise_tabular(p, rs, clean),
                         missing="label noise at small scale: measurement not available",
                         missing_report="small-scale label-noise runs not available")


if __name__ == "__main__":
    main()
