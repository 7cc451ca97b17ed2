r"""Sentences of the small-scale ablation paragraph, from ``paper/measured/small/ablate_*`` (see
``tab_small_ablations.py``).

Macros (all defined whatever exists): ``\SmallAblAvailable`` (yes/no), ``\SmallAblStamp``,
``\SmallAblSentence`` (per preset: the best and worst variant by mean test accuracy with 95%
intervals and whether they separate; where plain AHTGA and, when present, the gamma = 0 control
-- the same code path without the transform -- stand, and whether their intervals overlap).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_ablations import ablation_records  # noqa: E402

NAMES = ("SmallAblAvailable", "SmallAblStamp", "SmallAblSentence")


def sentence(p, rs) -> str:
    tab = C.aggregate(rs, p, ["test_acc"])
    r = C.ranking(tab, "test_acc")
    if not r:
        return ""
    cell = lambda lab: C.fmt_ci(tab[lab]["test_acc"], 4)  # noqa: E731
    s = f"\\texttt{{{C.tex_escape(p)}}}: best {C.display(r[0])} ({cell(r[0])})"
    if len(r) > 1:
        o = C.overlaps(tab[r[0]]["test_acc"], tab[r[-1]]["test_acc"])
        s += (f", worst {C.display(r[-1])} ({cell(r[-1])})"
              + ("" if o is None else ", intervals overlap" if o else ", intervals separate"))
    if "ahtga" in r:
        s += f"; plain AHTGA ranks {r.index('ahtga') + 1} of {len(r)}"
        if "ahtga_gamma0" in r:
            o = C.overlaps(tab["ahtga"]["test_acc"], tab["ahtga_gamma0"]["test_acc"])
            rel = ("above" if tab["ahtga"]["test_acc"]["mean"] > tab["ahtga_gamma0"]["test_acc"]["mean"]
                   else "below")
            s += (f", {rel} the $\\gamma=0$ control ({cell('ahtga_gamma0')})"
                  + ("" if o is None else ", intervals overlap" if o else ", intervals separate"))
    return s + "."


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_ablations.py")
    groups = ablation_records(a.measured)
    if not groups:
        C.write_missing_macros(a.out, M, NAMES, "small-scale ablation runs not available",
                               na=("SmallAblStamp",))
        return
    M.add("SmallAblAvailable", "yes")
    M.add("SmallAblStamp", C.tex_escape(C.stamps(groups)))
    M.add("SmallAblSentence", " ".join(s for s in (sentence(p, rs) for p, rs in groups.items()) if s))
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamps(groups))


if __name__ == "__main__":
    main()
