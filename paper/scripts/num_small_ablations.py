r"""Sentences of the small-scale ablation paragraph, from ``paper/measured/small/ablate_*`` (see
``tab_small_ablations.py``).

Macros (all defined whatever exists): ``\SmallAblAvailable`` (yes/no), ``\SmallAblStamp``,
``\SmallAblSentence`` (per preset: the best and worst variant by mean test accuracy with 95%
intervals and whether they separate; where plain AHTGA and, when present, the gamma = 0 control
-- the same code path without the transform -- stand, and whether their intervals overlap);
``\SmallAblRegimeSentence`` (over plain AHTGA's logged steps in these runs, one run per seed:
the share with the smoothed tail index above the target -- the branch of the exponent rule
that uses c1; c2 acts in the others -- and the share with gamma at its largest value in the
run, i.e. at the cap when one is set; empty without step curves); ``\SmallAblEstimatorSentence``
(``ablate_estimator``: per variant, the median smoothed tail index and the mean gamma over the
logged steps of its runs; empty when not measured); ``\SmallAblDefaultsSentence`` (which presets
were run with the current defaults -- their runs log ``final.regime`` and plain AHTGA's clamp
(``common.clamp_of``) is today's -- and which predate them).
"""
import statistics
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_ablations import ablation_records  # noqa: E402

NAMES = ("SmallAblAvailable", "SmallAblStamp", "SmallAblSentence", "SmallAblRegimeSentence",
         "SmallAblEstimatorSentence", "SmallAblDefaultsSentence")


def sentence(p, rs) -> str:
    tab = C.aggregate(rs, p, ["test_acc"])
    r = C.ranking(tab, "test_acc")
    if not r:
        return ""
    by_seed: dict = {}
    for x in rs:
        by_seed.setdefault(x["seed"], set()).add(C.get(x, "final.test_acc"))
    if len(r) > 1 and all(len(v) == 1 for v in by_seed.values()):
        return (f"\\texttt{{{C.tex_escape(p)}}}: all {len(r)} variants reached the same test "
                f"accuracy in each seed ({C.fmt_ci(tab[r[0]]['test_acc'], 4)}).")
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


def logged(rs) -> bool:
    """Whether a preset's runs logged the controller's regime (``final.regime``): they were made
    with the package's current defaults (pooled estimate, relative target); runs without it
    predate those defaults (absolute target 1.5, one-batch double bootstrap)."""
    return any(isinstance(C.get(r, "final.regime"), dict) for r in rs)


def clamps(rs) -> set:
    """The clamps of the single estimate that plain AHTGA's runs of a preset used."""
    return {C.clamp_of(r) for r in rs if r["optimizer"] == "ahtga"}


def defaults_sentence(groups) -> str:
    """Which ablation presets were run with the current defaults and which predate them: the
    earliest (no regime logged: absolute target, one-batch double bootstrap) or the relative
    target and pooled estimate with the earlier clamp (0.1, 5) of the single estimate."""
    now = C.current_clamp()
    new = [p for p, rs in groups.items() if logged(rs) and clamps(rs) == {now}]
    mid = [p for p, rs in groups.items() if logged(rs) and p not in new]
    old = [p for p, rs in groups.items() if not logged(rs)]
    name = lambda ps: ", ".join(f"\\texttt{{{C.tex_escape(p)}}}" for p in ps)  # noqa: E731
    parts = []
    if new:
        parts.append(f"Run with the package's current defaults (the controller's regime logged, "
                     f"so the table gives each variant's share of steps below the target and at "
                     f"the $\\gamma$ cap): {name(new)}.")
    if mid:
        cl = C.joined(C.clamp_text(c) for p in mid for c in clamps(groups[p]) if c)
        parts.append(f"Run with the relative target and the pooled estimate (the regime logged, "
                     f"so the table gives the shares below the target and at the $\\gamma$ cap) "
                     f"but the earlier clamp {cl} of the single estimate: {name(mid)}.")
    if old:
        parts.append(f"Run with the earliest defaults (absolute target $\\alpha^*=1.5$, a "
                     f"one-batch double bootstrap; no regime logged) and kept for the record, "
                     f"not rerun yet: {name(old)}; their plain \\ahtga{{}} row is that "
                     f"configuration, not today's.")
    return " ".join(parts)


def regime_sentence(groups) -> str:
    """Where plain AHTGA's exponent rule ran (see the module docstring): from ``final.regime`` in
    the presets that logged it, one sentence per clamp of the single estimate (today's default
    first), from the step curves in the earliest ones."""
    parts = []
    by_clamp: dict = {}      # plain AHTGA is the same run in every preset of one clamp: one per seed
    for rs in (rs for rs in groups.values() if logged(rs)):
        for r in rs:
            if r["optimizer"] == "ahtga" and isinstance(C.get(r, "final.regime"), dict):
                by_clamp.setdefault(C.clamp_of(r), {})[r["seed"]] = r
    now = C.current_clamp()
    for clamp in sorted(by_clamp, key=lambda c: (c != now, str(c))):   # today's default first
        new = by_clamp[clamp]
        sh = {k: [float(C.get(r, "final.regime." + k)) for r in new.values()]
              for k in ("above", "below", "cap", "floor")}
        pct = lambda k: f"{100 * statistics.mean(sh[k]):.0f}\\%"  # noqa: E731
        parts.append(f"With the relative target and the pooled estimate (clamp {C.clamp_text(clamp)}"
                     f"{', today' + chr(39) + 's default' if clamp == now else ''}) plain AHTGA "
                     f"({len(new)} runs, all steps) had the "
                     f"smoothed index above its target in {pct('above')} of the steps and below "
                     f"it (where $c_2$ acts) in {pct('below')}, with $\\gamma$ at its cap in "
                     f"{pct('cap')} and at its floor in {pct('floor')}.")
    runs = {}
    for rs in (rs for rs in groups.values() if not logged(rs)):
        for r in rs:
            if r["optimizer"] == "ahtga":
                runs.setdefault(r["seed"], r)  # identical across these presets: one run per seed
    above = cap = n = 0
    top = None
    for r in runs.values():
        st = C.get(r, "curves.step") or {}
        g, al, tg = st.get("gamma") or [], st.get("alpha") or [], st.get("alpha_star") or []
        rows = [(x, y, z) for x, y, z in zip(g, al, tg) if None not in (x, y, z)]
        if not rows:
            continue
        gmax = max(x for x, _, _ in rows)
        top = gmax if top is None else max(top, gmax)
        n += len(rows)
        above += sum(y > z for _, y, z in rows)
        cap += sum(x >= gmax - 1e-9 for x, _, _ in rows)
    if n:
        parts.append(f"{'With the earliest defaults, over' if by_clamp else 'Over'} plain AHTGA's {n} "
                     f"logged steps ({len(runs)} runs), the smoothed tail index "
                     f"was above the target in {100 * above / n:.0f}\\% of them (the exponent "
                     f"rule's $c_1$ branch; $c_2$ acts only in the others), and $\\gamma$ sat at "
                     f"its largest value, {top:g}, in {100 * cap / n:.0f}\\%.")
    return " ".join(parts)


def estimator_sentence(groups) -> str:
    """Per variant of ``ablate_estimator``: median smoothed alpha, mean gamma (logged steps)."""
    rs = groups.get("ablate_estimator") or []
    parts = []
    for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
        al, g = [], []
        for r in rs:
            if r["optimizer"] == lab:
                st = C.get(r, "curves.step") or {}
                al += [v for v in st.get("alpha") or [] if v is not None]
                g += [v for v in st.get("gamma") or [] if v is not None]
        if al and g:
            parts.append(f"{C.display(lab)} {statistics.median(al):.2f} "
                         f"(${statistics.mean(g):+.2f}$)")
    if not parts:
        return ""
    return ("Median smoothed tail index over the logged steps (mean $\\gamma$ in brackets), "
            "per estimator: " + "; ".join(parts) + ".")


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
    M.add("SmallAblRegimeSentence", regime_sentence(groups))
    M.add("SmallAblEstimatorSentence", estimator_sentence(groups))
    M.add("SmallAblDefaultsSentence", defaults_sentence(groups))
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamps(groups))


if __name__ == "__main__":
    main()
