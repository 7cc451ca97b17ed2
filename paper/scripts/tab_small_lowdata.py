"""Low data at the ``small`` scale on MNIST: the ``lowdata_*`` presets measured on a 2-core CPU
and copied to ``paper/measured/small/<preset>/<optimizer>/seed<k>.json`` (provenance in
``paper/measured/README.md``), beside the ``main`` chunk of the same setting.

One tabular per low-data preset (10%, then 1% of the training split), one row per optimizer:
the learning rate (reused from the ``main`` sweep, ``lr_from=main``), test accuracy, the same
for the ``main`` run of ``measured/small/main`` (when present; its training-set size is in the
header), training accuracy (how much of
the small training set was fitted) and test loss; mean and two-sided 95% Student-t interval over
seeds, best mean per column in bold.  A placeholder table when no low-data preset was measured.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_main import tabular  # noqa: E402
from tab_small_noise import main_records  # noqa: E402

COLS = [("test_acc", "test acc.", 4, True, 1.0), ("train_acc", "train acc.", 4, None, 1.0),
        ("test_loss", "test loss", 4, False, 1.0)]


def lowdata_records(measured) -> dict[str, list[dict]]:
    """``{preset: records}`` of the low-data presets under ``MEASURED/small``, largest fraction
    first."""
    groups = C.small_groups(measured, lambda p, rs: C.study_of(p) == "lowdata")
    return {p: groups[p] for p in sorted(groups, key=lambda p: -fraction(groups[p]))}


def fraction(rs) -> float:
    return float(C.get(rs[0], "config.train_fraction") or 0.0)


def steps_text(rs) -> str:
    """The runs' step counts, "/"-joined."""
    return C.joined((C.get(r, "final.steps") for r in rs), "")


def lowdata_label(rs) -> str:
    """``"10\\% of the training split (5100 examples)"``."""
    n = C.get(rs[0], "data.n_train")
    return f"{100 * fraction(rs):g}\\% of the training split" + (f" ({n} examples)" if n else "")


def lowdata_tabular(preset, rs, full) -> str:
    ftab = C.aggregate(full, "main", ["test_acc"]) if full else {}
    eps, steps = C.joined(C.get(r, "config.epochs") for r in rs), steps_text(rs)
    title = f"{lowdata_label(rs)}, {eps} epochs ({steps} steps): {C.tex_escape(C.stamp(rs, preset))}"
    n_full = C.joined((C.get(r, "data.n_train") for r in full), "")
    full_col = (f"main ({n_full} ex.)" if n_full else "main",
                lambda lab: C.fmt_ci((ftab.get(lab) or {}).get("test_acc"), COLS[0][2]))
    return tabular(rs, preset, COLS, with_lr=True, title=title, after={"test_acc": full_col})


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = lowdata_records(a.measured)
    full = main_records(a.measured) if groups else []
    C.write_group_tables(a.out, groups, lambda p, rs: lowdata_tabular(p, rs, full),
                         missing="low data at small scale: measurement not available",
                         missing_report="small-scale low-data runs not available")


if __name__ == "__main__":
    main()
