r"""The adaptivity control (preset ``adaptivity``): AHTGA against the same transform with gamma
fixed at the adaptive run's mean gamma for the same seed, and with gamma = 0.  Rows: the three
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


def tabular(recs: list[dict], title: str) -> str:
    cols = N.OUTCOMES
    head = ["optimizer", "mean $\\gamma$", *[h for _m, h, _d in cols], "seeds"]
    L = N.table_head(head, title, note="; paired rows: seed-by-seed differences")
    rs = {lab: N.in_preset(recs, "adaptivity", lab) for lab in N.ADAPT}
    for lab in N.ADAPT:
        if not rs[lab]:
            continue
        row = [N.display(lab), C.fmt_ci(N.cell(rs[lab], "regime.gamma_mean"), 3)]
        row += [C.fmt_ci(N.cell(rs[lab], m), d) for m, _h, d in cols]
        row.append(str(len(rs[lab])))
        L.append(" & ".join(row) + " \\\\")
    L.append("\\hline")
    for ctrl in ("ahtga_gamma_matched", "ahtga_gamma0"):
        if not rs["ahtga"] or not rs[ctrl]:
            continue
        diffs = [N.paired(rs["ahtga"], rs[ctrl], m) for m, _h, _d in cols]
        row = [f"AHTGA $-$ {N.display(ctrl)}", ""]
        row += [C.fmt_ci(dc, d) if dc.get("mean") is not None else "--"
                for dc, (_m, _h, d) in zip(diffs, cols)]
        row.append(str(diffs[0].get("n", 0)))
        L.append(" & ".join(row) + " \\\\")
    L += ["\\hline", "\\end{tabular}"]
    return "\n".join(L) + "\n"


def main(argv=None):
    N.write_scale_tables(C.parse_args(__doc__, argv),
                         lambda recs: [r for r in recs if r["preset"] == "adaptivity"], tabular,
                         "adaptivity control")


if __name__ == "__main__":
    main()
