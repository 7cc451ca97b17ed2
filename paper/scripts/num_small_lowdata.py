r"""Sentences of the small-scale low-data paragraph, from ``paper/measured/small/lowdata_*``
(see ``tab_small_lowdata.py``).

Macros (all defined whatever exists): ``\SmallLowAvailable`` (yes/no), ``\SmallLowStamp``,
``\SmallLowSentence`` (per preset: where AHTGA stands by test accuracy, the best optimizer, 95%
intervals and whether they overlap), ``\SmallLowDrop`` (per preset and optimizer, the mean test
accuracy lost against the ``main`` runs of ``measured/small``, in points), ``\SmallLowMainN``
(training examples of those runs), ``\SmallLowSetting`` (per preset:
fraction, training examples, epochs and steps), ``\SmallLowControls`` (the control runs under
``paper/measured/small_controls/<tag>/lowdata_*/``, as for label noise; empty when none).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from num_small_noise import controls_text  # noqa: E402
from tab_small_lowdata import fraction, lowdata_label, lowdata_records, steps_text  # noqa: E402
from tab_small_noise import main_records  # noqa: E402

NAMES = ("SmallLowAvailable", "SmallLowStamp", "SmallLowSentence", "SmallLowDrop",
         "SmallLowMainN", "SmallLowSetting", "SmallLowControls")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_lowdata.py")
    groups = lowdata_records(a.measured)
    if not groups:
        C.write_missing_macros(a.out, M, NAMES, "small-scale low-data runs not available",
                               na=("SmallLowStamp", "SmallLowMainN"))
        return
    full = main_records(a.measured)
    ftab = C.aggregate(full, "main", ["test_acc"]) if full else {}
    sents, drops, settings = [], [], []
    for p, rs in groups.items():
        tab = C.aggregate(rs, p, ["test_acc"])
        head = f"{100 * fraction(rs):g}\\% of the data"
        sents.append(f"With {head}: " + C.comparison_sentence(tab, "test_acc", "test accuracy", nd=4))
        parts = []
        for lab, cells in tab.items():
            m = cells["test_acc"].get("mean")
            c = (ftab.get(lab) or {}).get("test_acc", {}).get("mean")
            if m is not None and c is not None:
                parts.append(f"{C.display(lab)} {100 * (c - m):.1f}")
        if parts:
            drops.append(f"{head}: " + ", ".join(parts))
        settings.append(f"{lowdata_label(rs)}, {C.joined(C.get(r, 'config.epochs') for r in rs)} "
                        f"epochs of batch {C.get(rs[0], 'config.batch_size')} ({steps_text(rs)} steps)")
    M.add("SmallLowAvailable", "yes")
    M.add("SmallLowStamp", C.tex_escape(C.stamps(groups)))
    M.add("SmallLowSentence", " ".join(sents))
    M.add("SmallLowDrop", "; ".join(drops) if drops else C.NA)
    M.add("SmallLowMainN", C.joined((C.get(r, "data.n_train") for r in full), C.NA))
    M.add("SmallLowSetting", "; ".join(settings))
    ctrl = controls_text(a.measured, groups, plateau=False,
                         label=lambda p: f"{100 * fraction(groups[p]):g}\\% of the data")
    if ctrl:   # why a control at a tenth of the learning rate
        ctrl += (" (AHTGA's momentum averages gradients, so SGD with momentum 0.9 at a tenth of "
                 "AHTGA's learning rate takes steps of the same size; see the label-noise "
                 "paragraph.)")
    M.add("SmallLowControls", ctrl)
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamps(groups))


if __name__ == "__main__":
    main()
