"""Numbers quoted in the few-shot paragraph: where AHTGA stands at 1 and 5 shots in each
few-shot preset (rank, best optimizer, 95% intervals over seeds) and its cost per epoch
relative to SGD."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_fewshot import COLS, describe, fewshot_presets, records  # noqa: E402


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
            sentences.append(f"One AHTGA epoch costs {t['ahtga'] / t['sgd']:.1f} times an SGD epoch "
                             f"here ({why}).")
    M.add("FewshotSetup", "; ".join(setups) if setups else C.NO_RESULTS)
    M.add("FewshotSentences", " ".join(sentences) if sentences else "")
    C.write_text(a.out, M.text())
    C.report(a.out, "; ".join(C.stamp(groups[p], p) for p in ps) if ps else C.NO_RESULTS)


if __name__ == "__main__":
    main()
