r"""The controller's regime in every chunk (preset x AHTGA variant), the table the results
section opens with: per chunk the shares of steps with alpha above / below / equal to alpha*,
with gamma at the exponent rule's cap or floor and with the single estimate clamped, the mean
gamma and the achieved tail index of the transformed norms (median over the run), each a mean
over seeds with its 95% t-interval half-width (``num_controller``); the column "clamp" is the
upper end of the clamp of the single estimate the chunk ran with (``common.clamp_of``: 5 before
the default became 50).  Presets holding the
identical runs share a row.  One tabular at the tiny scale (``RESULTS/experiments``) and one at
the small scale (``paper/measured/small``; "not measured" when absent).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
import num_controller as N  # noqa: E402


def presets_text(presets: list[str]) -> str:
    return C.tex_escape(", ".join(presets) if len(presets) <= 3
                        else ", ".join(presets[:3]) + f" +{len(presets) - 3}")


def tabular(recs: list[dict], title: str) -> str:
    head = ["variant", "presets", "clamp", *[h for _k, h, _d, _s in N.REGIME_COLS], "seeds"]
    L = N.table_head(head, title, text_cols=2)
    for lab, presets, rs in N.chunks(recs):
        clamp = C.joined(f"{c[1]:g}" for c in (C.clamp_of(r) for r in rs) if c is not None)
        row = [N.display(lab), presets_text(presets), clamp]
        for k, _h, d, s in N.REGIME_COLS:
            row.append(C.fmt_ci(N.cell(rs, k), d, scale=s))
        row.append(str(len(rs)))
        L.append(" & ".join(row) + " \\\\")
    L += ["\\hline", "\\end{tabular}"]
    return "\n".join(L) + "\n"


def main(argv=None):
    N.write_scale_tables(C.parse_args(__doc__, argv),
                         lambda recs: [r for r in recs if isinstance(C.get(r, "final.regime"), dict)],
                         tabular, "regime")


if __name__ == "__main__":
    main()
