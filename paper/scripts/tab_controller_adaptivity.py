r"""The adaptivity control (the presets of ``presets.ADAPTIVITY``: ``adaptivity`` on MNIST,
``adaptivity_cifar`` and ``adaptivity_fashion`` with the wider clamp under which the controller
operates there): the adaptive run against the same transform with gamma fixed at its mean gamma
for the same seed, and with gamma = 0.  One block per preset; rows: the three
optimizers (mean gamma, test accuracy, loss and accuracy generalization gaps, ECE; mean over
seeds with the 95% t-interval half-width), then the paired differences AHTGA minus each control
(seed by seed, then the t-interval of the differences).  One tabular per scale (tiny:
``RESULTS/experiments``; small: ``paper/measured/small``, "not measured" when absent).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
import num_controller as N  # noqa: E402


def block(recs: list[dict], preset: str, labels: tuple[str, str, str], width: int) -> list[str]:
    """The rows of one adaptivity preset: its three runs, then the paired differences."""
    cols = N.OUTCOMES
    adaptive, matched, zero = labels
    rs = {lab: N.in_preset(recs, preset, lab) for lab in labels}
    if not rs[adaptive]:
        return []
    data = C.joined(C.get(r, "config.dataset") for r in rs[adaptive])
    L = [f"\\multicolumn{{{width}}}{{l}}{{{C.tex_escape(data)} "
         f"(\\texttt{{{C.tex_escape(preset)}}})}} \\\\"]
    for lab in labels:
        if not rs[lab]:
            continue
        row = [N.display(lab), C.fmt_ci(N.cell(rs[lab], "regime.gamma_mean"), 3)]
        row += [C.fmt_ci(N.cell(rs[lab], m), d) for m, _h, d in cols]
        row.append(str(len(rs[lab])))
        L.append(" & ".join(row) + " \\\\")
    for ctrl in (matched, zero):
        if not rs[ctrl]:
            continue
        diffs = [N.paired(rs[adaptive], rs[ctrl], m) for m, _h, _d in cols]
        row = [f"adaptive $-$ {N.display(ctrl)}", ""]
        row += [C.fmt_ci(dc, d) if dc.get("mean") is not None else "--"
                for dc, (_m, _h, d) in zip(diffs, cols)]
        row.append(str(diffs[0].get("n", 0)))
        L.append(" & ".join(row) + " \\\\")
    L.append("\\hline")
    return L


def tabular(recs: list[dict], title: str) -> str:
    head = ["optimizer", "mean $\\gamma$", *[h for _m, h, _d in N.OUTCOMES], "seeds"]
    L = N.table_head(head, title, note="; paired rows: seed-by-seed differences")
    for preset, labels in N.adaptivity_sets().items():
        L += block(recs, preset, labels, len(head))
    L.append("\\end{tabular}")
    return "\n".join(L) + "\n"


def main(argv=None):
    N.write_scale_tables(C.parse_args(__doc__, argv),
                         lambda recs: [r for r in recs if N.is_adaptivity(r["preset"])], tabular,
                         "adaptivity control")


if __name__ == "__main__":
    main()
