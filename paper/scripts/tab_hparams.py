"""Learning rates used per optimizer (reproducibility): the value each optimizer of the ``main``
preset trained with, how it was chosen (``optimizer_spec.lr_choice``: a sweep over the registry's
grid (five or six points) on seed 0 by final validation accuracy, or a fixed value), the grid, and whether the
choice lies at an edge of the grid.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from fig_main_curves import pick_preset  # noqa: E402


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    preset, rs = pick_preset(C.experiment_records(a.results))
    if not rs:
        C.write_tables(a.out, [C.placeholder_table("learning rates: " + C.NO_RESULTS)])
        C.report(a.out, C.NO_RESULTS)
        return
    L = ["% generated: learning rates of the main comparison", "\\begin{tabular}{llll}", "\\hline",
         "optimizer & lr & chosen by & grid \\\\", "\\hline",
         f"\\multicolumn{{4}}{{l}}{{\\emph{{{C.tex_escape(C.stamp(rs, preset))}}}}} \\\\"]
    for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
        r = min((x for x in rs if x["optimizer"] == lab), key=lambda x: x["seed"])
        spec = r.get("optimizer_spec") or {}
        lc = spec.get("lr_choice") or {}
        grid = lc.get("grid")
        edge = " (edge)" if lc.get("at_grid_edge") else ""
        L.append(f"{C.display(lab)} & {spec.get('lr', float('nan')):g}{edge} & "
                 f"{C.tex_escape(lc.get('source', '?'))} & "
                 f"{', '.join(f'{g:g}' for g in grid) if grid else '--'} \\\\")
    L += ["\\hline", "\\end{tabular}"]
    C.write_tables(a.out, ["\n".join(L)])
    C.report(a.out, C.stamp(rs, preset))


if __name__ == "__main__":
    main()
