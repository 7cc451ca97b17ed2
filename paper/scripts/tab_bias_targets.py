"""Issue 14's grids for the default estimator (``ahtga.tail.DEFAULT``, ``stable_t_dk``), the
previous ones (``stable_dk``, the stable model alone, and ``hill_lepski``, AHTGA's): RMSE against the double bootstraps
on |stable| data (alpha in {1, 1.2, 1.5, 1.7, 1.8, 1.9} x n in {1e3, 1e4, 1e5}), on Pareto-type
laws, and against Hill at k = floor(sqrt(n)) on small samples (largest estimate too), with each
target's verdict, all from ``sim.bias.report``'s summary; a placeholder without atlas results.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bias_source as B  # noqa: E402
import common as C  # noqa: E402

from ahtga.tail import DEFAULT  # noqa: E402

COLS = (DEFAULT, "stable_dk", "hill_lepski", "hill_db_te", "hill_db", "hill_db_sqrt")


def _tt(name: str) -> str:
    return "\\texttt{" + name.replace("_", "\\_") + "}"


def _f(v, nd=3):
    return "--" if v is None else f"{v:.{nd}f}"


def table(summary) -> str:
    cells = {(c["estimator"], c["law"], float(c["alpha"]), int(c["n"])): c for c in summary["cells"]}
    tg = summary["targets"]
    L = ["\\begin{tabular}{llr" + "r" * len(COLS) + "}", "\\hline",
         "law & $\\alpha$ & $n$ & " + " & ".join(_tt(e) for e in COLS) + " \\\\", "\\hline"]
    rows = [("stable", c["alpha"], c["n"]) for c in tg[0]["cells"]]
    rows += [(c["law"], c["alpha"], c["n"]) for c in tg[2]["cells"]]
    for law, a, n in rows:
        vals = [(cells.get((e, law, float(a), int(n))) or {}).get("rmse") for e in COLS]
        present = [v for v in vals if v is not None]
        best = min(present) if present else None
        txt = [("\\textbf{" + _f(v) + "}") if v is not None and v == best else _f(v) for v in vals]
        L.append(f"{law.replace('_', '-')} & {a:g} & {n} & " + " & ".join(txt) + " \\\\")
    ncol = 3 + len(COLS)
    L += ["\\hline", f"\\multicolumn{{{ncol}}}{{l}}{{small samples: RMSE of {_tt(DEFAULT)} / Hill at "
          "$k=\\lfloor\\sqrt n\\rfloor$, largest estimate} \\\\", "\\hline"]
    for c in tg[3]["cells"]:
        L.append(f"{c['law']} & {c['alpha']:g} & {c['n']} & {_f(c['value'])} & {_f(c['reference'])} & "
                 f"max {_f(c['max_estimate'], 2)}" + " &" * (len(COLS) - 3) + " \\\\")
    L += ["\\hline", f"\\multicolumn{{{ncol}}}{{l}}{{targets of {_tt(DEFAULT)}: " + "; ".join(
        f"({i + 1}) {t['verdict'].lower()}" for i, t in enumerate(tg)) + "} \\\\", "\\hline",
        "\\end{tabular}"]
    return "\n".join(L) + "\n"


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    tmp, summary = B.bias_report(a)
    if tmp is None or "targets" not in summary:
        C.write_tables(a.out, [C.placeholder_table("bias atlas targets: " + C.NO_RESULTS)])
    else:
        with tmp:
            C.write_text(a.out, "{\\footnotesize\\setlength{\\tabcolsep}{3pt}\n\\begin{adjustbox}"
                         "{max width=\\linewidth}\n" + table(summary) + "\\end{adjustbox}}\n")
    C.report(a.out, C.bias_stamp(summary))


if __name__ == "__main__":
    main()
