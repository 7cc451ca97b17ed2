r"""Sentences of the small-scale language-model paragraph, from ``paper/measured/small`` (the
presets with ``task="lm"``; see ``tab_small_lm.py``).

Macros (all defined whatever exists): ``\SmallLmAvailable`` (yes/no), ``\SmallLmStamp``,
``\SmallLmSetting`` (per preset: sequences, tokens, epochs, steps), ``\SmallLmSentence`` (per
preset: where AHTGA stands by test perplexity, the best optimizer, 95% intervals and whether they
overlap), ``\SmallLmTailSentence`` (per preset: the tail index of the per-example gradient norms
of the probe batch at the start and end of AHTGA's runs, mean over seeds),
``\SmallLmControls`` (the control runs under ``paper/measured/small_controls/<tag>/<preset>/``,
e.g. AHTGA with gamma = 0: the same code path without the transform; empty when none).
"""
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from num_small_noise import controls_text  # noqa: E402
from tab_small_lm import lm_records, setting  # noqa: E402

NAMES = ("SmallLmAvailable", "SmallLmStamp", "SmallLmSetting", "SmallLmSentence",
         "SmallLmTailSentence", "SmallLmControls")


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return statistics.mean(vals) if vals else None


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_lm.py")
    groups = lm_records(a.measured)
    if not groups:
        C.write_missing_macros(a.out, M, NAMES, "small-scale language-model runs not available",
                               na=("SmallLmStamp",))
        return
    sents, tails = [], []
    for p, rs in groups.items():
        tab = C.aggregate(rs, p, ["test_ppl"])
        sents.append(f"{C.tex_escape(p)}: " + C.comparison_sentence(
            tab, "test_ppl", "test perplexity", higher=False, nd=2))
        ah = [r for r in rs if r["optimizer"] == "ahtga"]
        a0 = _mean([C.get(r, "final.tail_alpha_start") for r in ah])
        a1 = _mean([C.get(r, "final.tail_alpha_final") for r in ah])
        if a0 is not None and a1 is not None:
            tails.append(f"{C.tex_escape(p)}: the probe batch's per-example gradient norms read "
                         f"$\\hat\\alpha={a0:.1f}$ at the start and {a1:.1f} at the end of "
                         f"AHTGA's runs (mean over {len(ah)} seed{'' if len(ah) == 1 else 's'})")
    M.add("SmallLmAvailable", "yes")
    M.add("SmallLmStamp", C.tex_escape(C.stamps(groups)))
    M.add("SmallLmSetting", C.tex_escape("; ".join(setting(rs) for rs in groups.values())))
    M.add("SmallLmSentence", " ".join(sents))
    M.add("SmallLmTailSentence", ("; ".join(tails) + ".") if tails else "")
    ctrl = controls_text(a.measured, groups, plateau=False, label=C.tex_escape)
    # controls_text compares test accuracies: say so, since the table ranks by perplexity
    if ctrl and "\\gamma=0" in ctrl:
        ctrl += (" AHTGA with $\\gamma=0$ is momentum SGD in the averaging convention: at ten times "
                 "SGD's learning rate it takes SGD's steps once its momentum buffer has filled, but "
                 "the buffer starts at the first gradient, so its first steps are up to ten times "
                 "larger.")
    M.add("SmallLmControls", ctrl.replace("Control runs:", "Control runs (next-token test "
                                          "accuracy):", 1) if ctrl else "")
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamps(groups))


if __name__ == "__main__":
    main()
