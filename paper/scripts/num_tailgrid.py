r"""Sentences of the gradient-tail study (``sections/tailgrid.tex``), from the analysis of
``ahtga.experiments.correlation`` on this build's results (tiny) and on ``MEASURED/tailgrid``
(small, when present; see ``tab_tailgrid.py``).

Macros (all defined whatever exists): ``\TailgridAvailable`` (yes/no: this build has the study),
``\TailgridStamp``, ``\TailgridSetting``, ``\TailgridHeavySentence`` (where the norms and the
noise are heavy-tailed), ``\TailgridTrendSentence`` (Spearman's rho of each index against
lr/batch with its bootstrap interval, and whether "alpha falls as lr/batch grows" holds),
``\TailgridGapSentence`` (rho of each index against the generalization gap, and what the seed's
claim predicts), ``\TailgridCleanSentence`` (the same on the cells without label noise),
``\TailgridProbeShare`` (the study's share of the runs' wall time), ``\TailgridBoot``;
``\TailgridSmallAvailable`` and ``\TailgridSmallSentence`` (the same sentences for each small-scale
group, or "not measured").
"""
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_tailgrid import N_BOOT, SEED, analyses  # noqa: E402

NAMES = ("TailgridAvailable", "TailgridStamp", "TailgridSetting", "TailgridHeavySentence",
         "TailgridTrendSentence", "TailgridGapSentence", "TailgridCleanSentence",
         "TailgridProbeShare", "TailgridBoot", "TailgridSmallAvailable", "TailgridSmallSentence")
INDEX_TEXT = {"norm_alpha_end": "per-example norms", "noise_alpha_end": "noise $|U|$",
              "noise_mmo_alpha_end": "noise (stable index)"}


def _rho(c: dict) -> str:
    if c.get("rho") is None:
        return "not computable (" + C.tex_escape(c.get("note", "too few cells")) + ")"
    iv = (f", 95\\% interval $[{c['lo']:+.2f}, {c['hi']:+.2f}]$" if c.get("lo") is not None
          else ", no interval")
    return f"$\\rho={c['rho']:+.2f}$ ({c['n']} cells{iv})"


def _sign(c: dict) -> str:
    """'below 0' / 'above 0' / 'covers 0' of a bootstrap interval."""
    if c.get("lo") is None:
        return "undetermined"
    return "below 0" if c["hi"] < 0 else "above 0" if c["lo"] > 0 else "covers 0"


def setting(gr: dict) -> str:
    cells = gr["cells"]
    lrs = sorted({c["lr"] for c in cells})
    bs = sorted({c["batch"] for c in cells})
    noise = sorted({round(100 * (c["label_noise"] or 0)) for c in cells})
    seeds = sorted({s for c in cells for s in c["seeds"]})
    return (f"SGD with momentum 0.9 at constant learning rates {'/'.join(f'{v:g}' for v in lrs)}, "
            f"batch sizes {'/'.join(map(str, bs))}, symmetric label noise "
            f"{'/'.join(f'{v}%' for v in noise)} (the noisy cells at the middle batch size); "
            f"{len(cells)} cells, seed{'s' if len(seeds) > 1 else ''} {','.join(map(str, seeds))}")


def heavy_sentence(gr: dict) -> str:
    a = gr["all"]
    cells = gr["cells"]
    mmo = [c for c in cells if c.get("noise_mmo_alpha_end") is not None]
    below = sum(1 for c in mmo if c["noise_mmo_alpha_end"] < 2)
    heavy = [c for c in cells if (c.get("heavy_norm_share") or 0) >= 0.5]
    where = ("; these are the cells " + ", ".join(
        f"batch {c['batch']}, lr {c['lr']:g}, noise {100 * (c['label_noise'] or 0):.0f}\\%"
        for c in heavy)) if 0 < len(heavy) <= 6 else ""
    return (f"At the end of training the per-example norms are heavy-tailed (index $<2$ and the "
            f"power law not rejected, $p\\ge0.1$) in {a['heavy_norm_cells']} of "
            f"{a['heavy_norm_tested']} cells{where}; the noise $|U|$ in {a['heavy_noise_cells']} of "
            f"{a['heavy_noise_tested']}; the stable-law index of the signed noise is below 2 in "
            f"{below} of {len(mmo)} (an index the estimator gives under its own assumption of a "
            f"stable law, which is not tested).")


def trend_sentence(rep: dict) -> str:
    parts, holds, fails = [], [], []
    for ix, text in INDEX_TEXT.items():
        c = rep["correlations"][ix]["lr_over_batch"]
        parts.append(f"{text} {_rho(c)}")
        (holds if _sign(c) == "below 0" else fails).append(text)
    verdict = (f"The claim ``$\\alpha$ falls as lr/batch grows'' (a negative $\\rho$ with the "
               f"interval below 0) holds here for {' and '.join(holds) or 'none of the indices'}"
               + (f", not for {' and '.join(fails)}" if fails and holds else "") + ".")
    return "Against lr/batch: " + "; ".join(parts) + ". " + verdict


def gap_sentence(rep: dict) -> str:
    parts, signs = [], {}
    for ix, text in INDEX_TEXT.items():
        c = rep["correlations"][ix]["gap_loss"]
        parts.append(f"{text} {_rho(c)}")
        signs[text] = _sign(c)
    pos = [t for t, s in signs.items() if s == "above 0"]
    neg = [t for t, s in signs.items() if s == "below 0"]
    verdict = ("The seed's claim (heavier tails generalize better) predicts $\\rho>0$: a lower "
               "index with a smaller gap. ")
    if pos:
        verdict += f"The interval is above 0 for {', '.join(pos)}"
        verdict += (f", and below 0 (the opposite sign) for {', '.join(neg)}." if neg else ".")
    elif neg:
        verdict += (f"The interval is below 0 -- the opposite sign: heavier tails with a larger "
                    f"gap -- for {', '.join(neg)}; it covers 0 for the others." if len(neg) < 3
                    else "The interval is below 0 for every index: the opposite sign, heavier "
                    "tails with a larger gap.")
    else:
        verdict += "Every interval covers 0: these data support no correlation either way."
    return "Against the generalization gap (test minus train loss): " + "; ".join(parts) + ". " + verdict


def group_sentences(gr: dict) -> tuple[str, str, str, str]:
    clean = gr.get("clean")
    clean_s = ("Without the label-noise cells (label noise moves the gap and the tails at "
               "once), as follows. " + gap_sentence(clean) + " " + trend_sentence(clean)) if clean else ""
    return heavy_sentence(gr), trend_sentence(gr["all"]), gap_sentence(gr["all"]), clean_s


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_tailgrid.py")
    found = analyses(a.results, a.measured)
    tiny = [(g, gr) for what, g, gr in found if what == "this build"]
    small = [(g, gr) for what, g, gr in found if what == "measured"]
    M.add("TailgridBoot", str(N_BOOT))
    if tiny:
        g, gr = tiny[0]
        heavy, trend, gap, clean = group_sentences(gr)
        shares = [c["probe_share"] for c in gr["cells"] if c.get("probe_share") is not None]
        M.add("TailgridAvailable", "yes")
        M.add("TailgridStamp", C.tex_escape(g))
        M.add("TailgridSetting", C.tex_escape(setting(gr)))
        M.add("TailgridHeavySentence", heavy)
        M.add("TailgridTrendSentence", trend)
        M.add("TailgridGapSentence", gap)
        M.add("TailgridCleanSentence", clean)
        M.add("TailgridProbeShare", f"{100 * statistics.median(shares):.0f}\\%" if shares else C.NA)
    else:
        M.add("TailgridAvailable", "no")
        for n in NAMES[1:8]:
            M.add(n, C.NA)
    if small:
        sents = []
        for g, gr in small:
            heavy, trend, gap, clean = group_sentences(gr)
            sents.append(f"\\emph{{{C.tex_escape(g)}}} ({C.tex_escape(setting(gr))}). "
                         f"{heavy} {trend} {gap} {clean}")
        M.add("TailgridSmallAvailable", "yes")
        M.add("TailgridSmallSentence", " \\par ".join(sents))
    else:
        M.add("TailgridSmallAvailable", "no")
        M.add("TailgridSmallSentence", "not measured")
    C.write_text(a.out, M.text())
    C.report(a.out, "; ".join(f"{g} ({what})" for what, g, _ in found) or "no results")


if __name__ == "__main__":
    main()
