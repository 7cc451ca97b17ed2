"""Ablations of AHTGA at the ``small`` scale on MNIST (presets ``ablate_*`` measured on a 2-core
CPU and copied to ``paper/measured/small/<preset>/<variant>/seed<k>.json``; provenance in
``paper/measured/README.md``), in the setting of the ``main`` chunk there.

One tabular per ablation preset, one row per variant: its learning rate, test accuracy, test
loss, expected calibration error (15 bins), the controller's branch and guard shares where the
runs logged them (``final.regime``: steps with alpha < alpha* -- where c2 acts -- and with gamma
at its cap; "--" for runs that predate the log) and the share of steps whose single tail
estimate was clamped; mean and two-sided 95% Student-t interval over seeds, best mean per column in bold.
A placeholder table when no ablation was measured.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_ablations import describe, presets  # noqa: E402
from tab_small_main import tabular  # noqa: E402

COLS = [("test_acc", "test acc.", 4, True, 1.0), ("test_loss", "test loss", 4, False, 1.0),
        ("ece", "ECE", 4, False, 1.0)]


def ablation_records(measured) -> dict[str, list[dict]]:
    """``{preset: records}`` of the ablation presets under ``MEASURED/small``, in the order of
    ``tab_ablations``."""
    groups = C.small_groups(measured, lambda p, rs: C.study_of(p) == "ablation")
    return {p: groups[p] for p in presets(groups)}


def short(text: str) -> str:
    """A preset's description without its parenthesised remarks (the title row of a tabular
    sets the width the table is shrunk to; the caption names the results)."""
    return text.split(" (", 1)[0]


def clamped_text(rs, label) -> str:
    """Share of steps whose single estimate was clamped, over the label's runs."""
    mine = [r for r in rs if r["optimizer"] == label]
    steps = sum(C.get(r, "final.steps") or 0 for r in mine)
    clamped = sum(C.get(r, "final.clamped_steps") or 0 for r in mine)
    return f"{100 * clamped / steps:.0f}\\%" if steps else "--"


def regime_text(rs, label, key) -> str:
    """Mean over the label's runs of a share of ``final.regime`` (the controller's steps with
    alpha < alpha*, the c2 branch, or gamma at its cap), "--" for runs that predate the regime
    log."""
    vals = [C.get(r, "final.regime." + key) for r in rs if r["optimizer"] == label]
    vals = [float(v) for v in vals if v is not None]
    return f"{100 * sum(vals) / len(vals):.0f}\\%" if vals else "--"


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    C.write_group_tables(
        a.out, ablation_records(a.measured),
        lambda p, rs: tabular(rs, p, COLS, with_lr=True,
                              title=C.tex_escape(f"{p}: {short(describe(p))}"),
                              after={"ece": [
                                  ("$\\alpha<\\alpha^*$", lambda lab: regime_text(rs, lab, "below")),
                                  ("$\\gamma$ at cap", lambda lab: regime_text(rs, lab, "cap")),
                                  ("clamped", lambda lab: clamped_text(rs, lab))]}),
        missing="ablations at small scale: measurement not available",
        missing_report="small-scale ablation runs not available")


if __name__ == "__main__":
    main()
