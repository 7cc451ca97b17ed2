"""Real data at the ``small`` scale: the chunk of the ``main`` preset on MNIST measured on a
2-core CPU and copied to ``paper/measured/small/<preset>/<optimizer>/seed<k>.json`` (the runner's
``--out`` layout; provenance in ``paper/measured/README.md``).

Two tabulars, one row per optimizer, mean and two-sided 95% Student-t interval over seeds
(``ahtga.experiments.aggregate``): (1) the learning rate the equal-budget sweep chose, test
accuracy, test loss, ECE (15 bins) and wall seconds per epoch (training and evaluation; mean only: the
machine was shared, so its spread is load, not the method); (2) accuracy on the corrupted
test inputs (Gaussian noise, blur, contrast) and the max-softmax OOD AUROC.  Best mean per column
in bold (not a significant difference unless the intervals separate).  A placeholder table when
``measured/small`` holds no result files.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

MAIN_COLS = [("test_acc", "test acc.", 4, True, 1.0), ("test_loss", "test loss", 4, False, 1.0),
             ("ece", "ECE", 4, False, 1.0), ("time_per_epoch", "s/epoch", 1, None, 1.0)]
#: columns shown as the mean alone (timings of separate processes on a shared machine)
MEAN_ONLY = ("time_per_epoch",)
ROBUST_COLS = [("perturbations.gaussian.test_acc", "Gaussian noise", 3, True, 1.0),
               ("perturbations.blur.test_acc", "blur", 3, True, 1.0),
               ("perturbations.contrast.test_acc", "contrast", 3, True, 1.0),
               ("ood.auroc", "OOD AUROC", 3, True, 1.0)]


def lr_text(rs, label) -> str:
    lrs = sorted({C.get(r, "optimizer_spec.lr") for r in rs if r["optimizer"] == label} - {None})
    return "/".join(f"{v:g}" for v in lrs) if lrs else "--"


def tabular(rs, preset, cols, *, with_lr: bool, title: str | None = None,
            after: dict | None = None) -> str:
    """One tabular, a row per optimizer. ``title``: a first row spanning the table;
    ``after``: ``{metric: (header, text_of(label))}`` (or a list of such pairs), extra columns
    right after that metric's (not bold, not aggregated here)."""
    # each extra column: (header, text_of); a metric may carry several
    after = {m: (v if isinstance(v, list) else [v]) for m, v in (after or {}).items()}
    table = C.aggregate(rs, preset, [m for m, *_ in cols])
    best = {}
    for m, _h, _d, hb, _s in cols:
        if hb is not None:
            r = C.ranking(table, m, higher=hb)
            if len(r) > 1:
                best[m] = r[0]
    head = ["optimizer"] + (["lr"] if with_lr else [])
    for m, h, *_ in cols:
        head += [h] + [hd for hd, _f in after.get(m, [])]
    head.append("seeds")
    L = ["% generated table: mean $\\pm$ 95% t-interval half-width over seeds",
         "\\begin{tabular}{l" + "c" * (len(head) - 1) + "}", "\\hline"]
    if title is not None:
        L.append(f"\\multicolumn{{{len(head)}}}{{l}}{{\\emph{{{title}}}}} \\\\")
    L += [" & ".join(head) + " \\\\", "\\hline"]
    for lab, cells in table.items():
        row = [C.display(lab)] + ([lr_text(rs, lab)] if with_lr else [])
        for m, _h, d, _hb, sc in cols:
            cell = cells.get(m)
            if m in MEAN_ONLY and cell:   # timings on a shared CPU: an interval would be noise
                cell = {**cell, "half_width": None}
            row.append(C.bold_if(C.fmt_ci(cell, d, scale=sc), best.get(m) == lab))
            row += [f(lab) for _hd, f in after.get(m, [])]
        row.append(C.runs_cell(cells))
        L.append(" & ".join(row) + " \\\\")
    L += ["\\hline", "\\end{tabular}"]
    return "\n".join(L) + "\n"


def main_tables(rs, preset, title: str | None = None) -> list[str]:
    """The main tabular of one preset's records, then the robustness one when the runs
    measured corrupted inputs or OOD detection."""
    parts = [tabular(rs, preset, MAIN_COLS, with_lr=True, title=title)]
    if any(C.get(r, "final.perturbations") or C.get(r, "final.ood") for r in rs):
        parts.append(tabular(rs, preset, ROBUST_COLS, with_lr=False))
    return parts


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    # the ``main`` preset only: the other presets measured at small scale have their own tables
    # (few-shot: tab_fewshot; label noise: tab_small_noise)
    recs = [r for r in C.small_records(a.measured) if r.get("preset") == "main"]
    if not recs:
        C.write_tables(a.out, [C.placeholder_table("MNIST at small scale: measurement not available")])
        C.report(a.out, "small-scale MNIST runs not available")
        return
    parts = [t for preset, rs in C.by_preset(recs).items() for t in main_tables(rs, preset)]
    C.write_tables(a.out, parts)
    C.report(a.out, "measured/small: " + "; ".join(f"{p}: {C.stamp(rs)}" for p, rs in C.by_preset(recs).items()))


if __name__ == "__main__":
    main()
