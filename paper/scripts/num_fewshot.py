"""Numbers quoted in the few-shot paragraph: where AHTGA stands at 1 and 5 shots in each
few-shot preset (rank, best optimizer, 95% intervals over seeds), its cost per epoch
relative to SGD, and, where the runs chose their learning rates by a sweep, the choices and
which of them lie at an edge of their grid."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_fewshot import COLS, describe, fewshot_presets, records  # noqa: E402


def lr_sentence(recs) -> str:
    """The swept learning rates of a preset's runs: each optimizer's choice and grid, and the
    optimizers whose choice is an edge of their grid (where the grid may need widening)."""
    parts, edge = [], []
    for lab in sorted({r["optimizer"] for r in recs}, key=C.order_key):
        ch = [C.get(r, "optimizer_spec.lr_choice") or {} for r in recs if r["optimizer"] == lab]
        ch = [c for c in ch if c.get("grid")]
        if not ch:
            continue
        lr = C.get(next(r for r in recs if r["optimizer"] == lab), "optimizer_spec.lr")
        # runs kept across a widened grid record the old sweep: the widest grid is the latest
        latest = max(ch, key=lambda c: len(c["grid"]))
        grid = latest["grid"]
        parts.append(f"{C.display(lab)} {lr:g} (of {len(grid)} values, {min(grid):g}--{max(grid):g})")
        if latest.get("at_grid_edge"):
            edge.append(C.display(lab))
    if not parts:
        return ""
    tail = (" At an edge of its grid: " + ", ".join(edge) + "." if edge
            else " No choice lies at an edge of its grid.")
    return "Learning rates chosen by the sweep: " + "; ".join(parts) + "." + tail


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = C.by_preset(records(a.results, a.measured))
    M = C.Macros("paper/scripts/num_fewshot.py (from the result files)")
    ps = fewshot_presets(groups)
    M.add("FewshotAvailable", "yes" if ps else "no")
    sentences, setups = [], []
    for p in ps:
        tab = C.aggregate(groups[p], p, [m for m, *_ in COLS])
        setups.append(f"\\texttt{{{C.tex_escape(p)}}} ({C.tex_escape(describe(groups[p]))}; "
                      f"{C.tex_escape(C.stamp(groups[p]))})")
        for shots in ("1", "5"):
            sentences.append(f"\\texttt{{{C.tex_escape(p)}}}, {shots}-shot: " + C.comparison_sentence(
                tab, f"shots.{shots}.test_acc", f"{shots}-shot test accuracy"))
        t = {k: v.get("time_per_epoch", {}).get("mean") for k, v in tab.items()}
        if t.get("ahtga") and t.get("sgd"):
            modes = {C.get(r, "optimizer_spec.kwargs.mode") for r in groups[p] if r["optimizer"] == "ahtga"}
            how = {"rows": "per-query gradients from row groups",
                   "reference": "per-query gradients from batched autograd"}
            why = "; ".join(how.get(m, str(m)) for m in sorted(modes, key=str))
            shared = any(str(r.get("scale")) != "tiny" for r in groups[p])
            sentences.append(f"One AHTGA epoch costs {t['ahtga'] / t['sgd']:.1f} times an SGD epoch "
                             f"here ({why}" + ("; runs shared a 2-core CPU with other runs, so this "
                                              "ratio is indicative only" if shared else "") + ").")
        lrs = lr_sentence(groups[p])
        if lrs:
            sentences.append(lrs)
    M.add("FewshotSetup", "; ".join(setups) if setups else C.NO_RESULTS)
    M.add("FewshotSentences", " ".join(sentences) if sentences else "")
    C.write_text(a.out, M.text())
    C.report(a.out, "; ".join(C.stamp(groups[p], p) for p in ps) if ps else C.NO_RESULTS)


if __name__ == "__main__":
    main()
