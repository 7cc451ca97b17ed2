r"""The dose-response (the blocks of ``num_controller.dose_sets``: ``dose`` on MNIST, ``dose_cifar``,
``dose_fashion``; one block per preset, headed by its data set and the clamp of the single
estimate): one row per relative target ratio alpha*/ref (and
gamma = 0), all with mean-rescaled coefficients (equal effective step size): the achieved tail
index of the transformed norms (median over the run), test accuracy, loss generalization gap,
ECE and the top Hessian eigenvalue at the end, and (when logged) the mean length of the
parameter step ||theta_{t+1} - theta_t|| -- what mean rescaling does not equalise exactly;
mean over seeds with the 95% t-interval
half-width.  One tabular per scale (tiny: ``RESULTS/experiments``; small:
``paper/measured/small``, "not measured" when absent).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
import num_controller as N  # noqa: E402


#: The column of the step length actually taken (runs logged since ``final.update_norm_mean``
#: exists; the column is left out when no run of the table has it).
STEP_COLUMN = ("update_norm_mean", "mean $\\|\\Delta\\theta\\|$", 4)


def tabular(recs: list[dict], title: str) -> str:
    cols = list(N.DOSE_METRICS)
    if any(C.get(r, "final.update_norm_mean") is not None for r in recs):
        cols.append(STEP_COLUMN)
    head = ["target", "mean $\\gamma$", *[h for _m, h, _d in cols], "seeds"]
    L = N.table_head(head, title)
    for preset in N.dose_sets():
        labs = N.dose_labels(recs, preset)
        if not labs:
            continue
        runs = [r for r in recs if r["preset"] == preset]
        data = C.tex_escape(C.joined(C.get(r, "config.dataset") for r in runs))
        dose = [r for r in runs if r["optimizer"].startswith("ahtga_dose_")]
        L.append(f"\\multicolumn{{{len(head)}}}{{l}}{{{data} (\\texttt{{{C.tex_escape(preset)}}}, "
                 f"clamp {N.clamp_text(dose)})}} \\\\")
        for lab in labs:
            rs = N.in_preset(recs, preset, lab)
            row = [N.display(lab), C.fmt_ci(N.cell(rs, "regime.gamma_mean"), 3)]
            row += [C.fmt_ci(N.cell(rs, m), d) for m, _h, d in cols]
            row.append(str(len(rs)))
            L.append(" & ".join(row) + " \\\\")
        L.append("\\hline")
    L += ["\\end{tabular}"]
    return "\n".join(L) + "\n"


def main(argv=None):
    N.write_scale_tables(C.parse_args(__doc__, argv),
                         lambda recs: [r for r in recs if r["preset"] in N.dose_sets()], tabular,
                         "dose-response")


if __name__ == "__main__":
    main()
