r"""Numbers of the estimator study quoted in the text (``\atlas...`` macros).

The macros of ``sim.bias.report`` (``bias_numbers.tex``: ``\atlasNref``, ``\atlasReps``,
``\atlasScale``, ``\atlas<Est><Mean|Bias|Rmse>A<alpha>``, win counts against ``hill_db``, the
known points) plus, from its summary, ``\atlasAvailable`` (yes/no), ``\atlasStamp`` (scale and
replications), ``\atlasRbcWinsWhere`` / ``\atlasRbcLosesWhere`` (the (alpha, n) cells where the
bias-reduced Hill ``hill_rbc`` has the lower / higher RMSE than ``hill_db``),
``\atlas<Est>RefA<alpha>`` (the reference values of the known points, from ``sim.bias.report.KNOWN``);
issue 14: ``\atlasSqrtWins`` / ``\atlasSqrtCells`` / ``\atlasSqrtWinsWhere`` (|stable| cells of
the 18-cell grid where ``hill_db_sqrt`` beats ``hill_db``), ``\atlasDefaultBeatsTe`` /
``\atlasDefaultTeCells`` / ``\atlasDefaultLosesTeWhere`` (the default against ``hill_db_te``),
``\atlasTarget{Grid,Abs,ParetoType,Small,Cost}`` (pass / fail / incomplete),
``\atlasSmallWorstRatio`` (largest RMSE ratio to Hill at floor(sqrt(n)) at n = 32..512),
``\atlasSmallMax`` (largest estimate over the true index there), ``\atlasParetoTypeWorstRatio``;
``\atlasBestStable`` / ``\atlasBestOther`` (how many cells each estimator has the lowest RMSE
in, |stable| and the other laws, out of ``\atlasBestStableCells`` / ``\atlasBestOtherCells``),
``\atlasMmoBestWhere`` (the |stable| cells where ``stable_mmo`` is best); the cells where the
default's model choice matters (n = 1e3): ``\atlasCell<Law><Alpha><Estimator>`` = RMSE of
``stable_t_dk`` (Default), ``stable_dk`` (StableDk) and ``hill_db_te`` (Te) on |Student-t(4)|
and |stable| 1.7 and 1.9.  From the design study ``MEASURED/atlas/_stable_t_design.json``
(``sim.stable_t_study``): ``\stLogOdds`` (the coded threshold), ``\stDesignWorstRatio`` (the
coded rule's worst RMSE ratio to the targets' references), ``\stDesignStableOnlyWorstRatio``,
``\stDesign<Cell>`` / ``\stDesign<Cell>StableOnly`` (RMSE with the coded rule / with the
stable model alone) for TFour, SOneSeven, SOneNine at n = 1e3, and the laws outside the atlas
``\stExtra<Law><N>`` (median estimate) with ``\stExtra<Law><N>T`` (share read as Student-t,
percent).  Every macro the text uses is defined even without atlas results (value "n/a"), by
``\providecommand``.
"""
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bias_source as B  # noqa: E402
import common as C  # noqa: E402

#: macros the paper's text quotes; defined as "n/a" when the atlas did not produce them
USED = ["atlasNref", "atlasReps", "atlasScale", "atlasHillDbMeanAOnePointFive",
        "atlasHillDbMeanAOnePointNine", "atlasHillDbMeanATwo", "atlasHillDbSqrtMeanAOnePointFive",
        "atlasHillDbSqrtMeanAOnePointNine", "atlasHillRbcMeanAOnePointFive",
        "atlasHillRbcMeanAOnePointNine", "atlasHillDbSqrtKnownAOnePointFive",
        "atlasHillDbSqrtKnownAOnePointNine", "atlasHillDbSqrtRefAOnePointFive",
        "atlasHillDbSqrtRefAOnePointNine", "atlasHillParetoMeanAOnePointFive",
        "atlasHillParetoExpectedAOnePointFive", "atlasHillRbcRmseWins", "atlasHillRbcBiasWins",
        "atlasHillRbcCells", "atlasHillDbSqrtRmseWins", "atlasHillDbSqrtCells",
        "atlasSqrtWins", "atlasSqrtCells", "atlasSqrtWinsWhere", "atlasDefaultBeatsTe",
        "atlasDefaultTeCells", "atlasDefaultLosesTeWhere", "atlasTargetGrid", "atlasTargetAbs",
        "atlasTargetParetoType", "atlasTargetSmall", "atlasTargetCost", "atlasSmallWorstRatio",
        "atlasSmallMax", "atlasParetoTypeWorstRatio", "atlasBestStable", "atlasBestStableCells",
        "atlasBestOther", "atlasBestOtherCells", "atlasMmoBestWhere", "stLogOdds",
        "stDesignWorstRatio", "stDesignStableOnlyWorstRatio"]
CHOICE_CELLS = (("TFour", "student_t", 4.0), ("SOneSeven", "stable", 1.7), ("SOneNine", "stable", 1.9))
CHOICE_ESTIMATORS = (("Default", "stable_t_dk"), ("StableDk", "stable_dk"), ("Te", "hill_db_te"))
EXTRA = (("Lognormal", "lognormal"), ("Exponential", "exponential"), ("Gauss", "gauss"), ("TTen", "t10"))
EXTRA_N = (("TwoFiftySix", 256), ("Thousand", 1000), ("TenThousand", 10000))
USED += [f"atlasCell{c}{e}" for c, _, _ in CHOICE_CELLS for e, _ in CHOICE_ESTIMATORS]
USED += [f"stDesign{c}{v}" for c, _, _ in CHOICE_CELLS for v in ("", "StableOnly")]
USED += [f"stExtra{law}{n}{v}" for law, _ in EXTRA for n, _ in EXTRA_N for v in ("", "T")]
_NEWCMD = re.compile(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}\s*$")


def where(cells) -> str:
    """``[[alpha, n], ...]`` -> "alpha = 0.5, 0.8 at n = 512; alpha = 1.5 at n = 10000"."""
    if not cells:
        return "no cell"
    by_n = {}
    for a, n in cells:
        by_n.setdefault(int(n), []).append(float(a))
    return "; ".join(f"$\\alpha\\in\\{{{', '.join(f'{x:g}' for x in sorted(v))}\\}}$ at $n={n}$"
                     for n, v in sorted(by_n.items()))


def design(path: pathlib.Path, M) -> None:
    """The ``\\st...`` macros from ``sim.stable_t_study``'s file (nothing when it is absent)."""
    import json

    from ahtga.tail.stable_t import STABLE_LOG_ODDS
    M.add("stLogOdds", f"{STABLE_LOG_ODDS:g}")
    if not path.exists():
        return
    d = json.loads(path.read_text())
    rules = d.get("rules", {})
    coded = rules.get(f"llr>{STABLE_LOG_ODDS:g}")
    only = rules.get("stable_only")
    if coded and only:
        M.add("stDesignWorstRatio", f"{coded['worst_ratio']:.2f}")
        M.add("stDesignStableOnlyWorstRatio", f"{only['worst_ratio']:.2f}")
        for cname, law, alpha in CHOICE_CELLS:
            key = f"{law}_a{alpha:g}_n1000"
            if key in coded["cells"]:
                M.add(f"stDesign{cname}", f"{coded['cells'][key]['rmse']:.2f}")
                M.add(f"stDesign{cname}StableOnly", f"{only['cells'][key]['rmse']:.2f}")
    for lname, law in EXTRA:
        for nname, n in EXTRA_N:
            v = d.get("extra", {}).get(f"{law}_n{n}")
            if v:
                M.add(f"stExtra{lname}{nname}", f"{v['median']:.2f}")
                M.add(f"stExtra{lname}{nname}T", f"{100 * v['branches'].get('student_t', 0.0):.0f}")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    tmp, summary = B.bias_report(a)
    M = C.Macros("paper/scripts/num_bias.py (from sim.bias.report)")
    if tmp is not None:
        with tmp:
            for line in (pathlib.Path(tmp.name) / "bias_numbers.tex").read_text().splitlines():
                m = _NEWCMD.match(line)
                if m:
                    M.add(m.group(1), m.group(2))
    M.add("atlasAvailable", "yes" if summary else "no")
    M.add("atlasStamp", C.tex_escape(C.bias_stamp(summary)))
    wl = (summary or {}).get("win_loss_vs_hill_db", {}).get("hill_rbc")
    M.add("atlasRbcWinsWhere", where(wl["rmse_wins_at"]) if wl else "n/a")
    M.add("atlasRbcLosesWhere", where(wl["rmse_loses_at"]) if wl else "n/a")
    svp = (summary or {}).get("sqrt_vs_paper")
    if svp:
        M.add("atlasSqrtWins", str(svp["sqrt_wins"]))
        M.add("atlasSqrtCells", str(svp["cells"]))
        M.add("atlasSqrtWinsWhere", where(svp["sqrt_wins_at"]))
    tg = (summary or {}).get("targets")
    if tg:
        for name, t in zip(("Grid", "Abs", "ParetoType", "Small", "Cost"), tg):
            M.add(f"atlasTarget{name}", t["verdict"].lower())
        grid = [c for c in tg[0]["cells"] if c["value"] is not None and c["reference"] is not None]
        M.add("atlasDefaultBeatsTe", str(sum(c["value"] < c["reference"] for c in grid)))
        M.add("atlasDefaultTeCells", str(len(grid)))
        M.add("atlasDefaultLosesTeWhere", where([[c["alpha"], c["n"]] for c in grid
                                                if c["value"] >= c["reference"]]))
        small = [c for c in tg[3]["cells"] if c["value"] is not None and c["reference"]]
        if small:
            M.add("atlasSmallWorstRatio", f"{max(c['value'] / c['reference'] for c in small):.2f}")
            M.add("atlasSmallMax", f"{max(c['max_estimate'] / c['alpha'] for c in small):.1f}")
        pt = [c for c in tg[2]["cells"] if c["ratio"] is not None]
        if pt:
            M.add("atlasParetoTypeWorstRatio", f"{max(c['ratio'] for c in pt):.2f}")
    best = (summary or {}).get("best_by_cell")
    if best:
        def counts(rows):
            c = {}
            for r in rows:
                c[r["best"]] = c.get(r["best"], 0) + 1
            return ", ".join(f"\\texttt{{{e.replace('_', chr(92) + '_')}}} {k}"
                             for e, k in sorted(c.items(), key=lambda t: (-t[1], t[0])))
        st = [r for r in best if r["law"] == "stable"]
        M.add("atlasBestStable", counts(st))
        M.add("atlasBestStableCells", str(len(st)))
        M.add("atlasBestOther", counts([r for r in best if r["law"] != "stable"]))
        M.add("atlasBestOtherCells", str(len(best) - len(st)))
        M.add("atlasMmoBestWhere", where([[r["alpha"], r["n"]] for r in st if r["best"] == "stable_mmo"]))
    for kp in (summary or {}).get("known_points", []):
        alpha = C.camel(f"{kp['alpha']:g}")
        M.add(f"atlas{C.camel(kp['estimator'])}RefA{alpha}", f"{kp['reference']:.2f}")
    cells = {(c["estimator"], c["law"], float(c["alpha"]), int(c["n"])): c
             for c in (summary or {}).get("cells", [])}
    for cname, law, alpha in CHOICE_CELLS:
        for ename, est in CHOICE_ESTIMATORS:
            r = (cells.get((est, law, alpha, 1000)) or {}).get("rmse")
            if r is not None:
                M.add(f"atlasCell{cname}{ename}", f"{r:.2f}")
    design(pathlib.Path(a.measured) / "atlas" / "_stable_t_design.json", M)
    lines = [M.text()]
    lines += [f"\\providecommand{{\\{n}}}{{n/a}}" for n in USED if n not in M.names]
    C.write_text(a.out, "\n".join(lines) + "\n")
    C.report(a.out, C.bias_stamp(summary))


if __name__ == "__main__":
    main()
