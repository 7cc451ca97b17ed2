r"""Numbers and generated sentences of the experiments sections (``\newcommand`` macros).

Everything is computed from the result files; the text quotes these macros and never a typed
number.  Claims are phrased by the data: a "best" optimizer is the best *mean* over seeds, and
every comparison sentence says whether the 95% t-intervals of AHTGA and the best overlap.

Macros (all defined whatever results exist; "no results ..." otherwise):
``\ExpAvailable`` (yes/no), ``\ExpScale``, ``\ExpData``, ``\ExpNumRuns``, ``\ExpNumPresets``;
``\Stamp<Study>`` for Main, Robustness, Dynamics, Ablation, Lowdata;
main: ``\BestMainOptimizer``, ``\BestMainAcc``, ``\AhtgaAccMain``, ``\AhtgaRankMain``,
``\NumOptimizersMain``, ``\SeedsMain``, ``\AhtgaFailedMain`` (AHTGA seeds that diverged or
ended above ``FAILED_LOSS``), ``\AhtgaMeanGammaMain`` / ``\AhtgaMaxGammaMain`` (its exponent over
logged steps), ``\MainAccSentence``, ``\MainLossSentence``,
``\MainEceSentence``, ``\AhtgaStepRatioMain``;
robustness: ``\NoiseSentence``, ``\InputsSentence``, ``\OodSentence``;
dynamics: ``\DynamicsTailSentence``, ``\DynamicsSharpnessSentence``, ``\DynamicsRankSentence``;
``\AblationSentence``, ``\LowdataSentence``;
limitations: ``\BestPerStudy`` (the best mean test accuracy per preset with its interval),
``\AhtgaBestCount`` / ``\ComparisonCount`` (presets where plain AHTGA has the best mean test
accuracy / presets comparing it with another optimizer), ``\AhtgaBehindCount`` (presets where
the best optimizer's interval lies entirely above AHTGA's), ``\FailedRunsSentence`` (runs that
diverged or ended with a test loss above ``FAILED_LOSS``), ``\AhtgaClampedShare`` (share of
AHTGA's steps whose estimate hit the clamp, main preset), ``\LrEdgeSentence``.
"""
import math
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

FAILED_LOSS = 10.0   # a test cross-entropy above 10 nats: far above chance (ln 10 ~ 2.3 for 10 classes)
STUDIES = {"Main": "main", "Robustness": "robustness", "Dynamics": "dynamics",
           "Ablation": "ablation", "Lowdata": "lowdata"}


def _join(items, empty="none"):
    items = [i for i in items if i]
    return "; ".join(items) if items else empty


def failed(r) -> bool:
    f = r.get("final") or {}
    tl = f.get("test_loss")
    return bool(f.get("diverged") or tl is None or not math.isfinite(tl) or tl > FAILED_LOSS)


def failed_count(rs) -> tuple[int, int]:
    return sum(failed(r) for r in rs), len(rs)


def main_macros(M, groups):
    rs = groups.get("main") or []
    if not rs:
        M.add("SourceRuleSentence", "")
        for n in ("AhtgaFailedMain", "AhtgaMeanGammaMain", "AhtgaMaxGammaMain", "BestMainOptimizer", "BestMainAcc", "AhtgaAccMain", "AhtgaRankMain",
                  "NumOptimizersMain", "SeedsMain", "AhtgaStepRatioMain"):
            M.add(n, "n/a")
        for n in ("MainAccSentence", "MainLossSentence", "MainEceSentence"):
            M.add(n, f"The main comparison has {C.NO_RESULTS}.")
        return
    tab = C.aggregate(rs, "main", ["test_acc", "test_loss", "ece"])
    rank = C.ranking(tab, "test_acc")
    M.add("BestMainOptimizer", C.display(rank[0]) if rank else "n/a")
    M.add("BestMainAcc", C.fmt_ci(tab[rank[0]]["test_acc"]) if rank else "n/a")
    M.add("AhtgaAccMain", C.fmt_ci(tab.get("ahtga", {}).get("test_acc")))
    M.add("AhtgaRankMain", f"{rank.index('ahtga') + 1} of {len(rank)}" if "ahtga" in rank else "n/a")
    M.add("NumOptimizersMain", len(tab))
    M.add("SeedsMain", len({r["seed"] for r in rs}))
    M.add("MainAccSentence", C.comparison_sentence(tab, "test_acc", "test accuracy"))
    M.add("MainLossSentence", C.comparison_sentence(tab, "test_loss", "test loss", higher=False))
    M.add("MainEceSentence", C.comparison_sentence(tab, "ece", "expected calibration error", higher=False))
    st = {}
    for lab in ("sgd", "ahtga"):
        v = [r["timings"]["step_s_median"] for r in rs if r["optimizer"] == lab
             and (r.get("timings") or {}).get("step_s_median")]
        st[lab] = statistics.mean(v) if v else None
    n_fail, n_all = failed_count([r for r in rs if r["optimizer"] == "ahtga"])
    M.add("AhtgaFailedMain", f"{n_fail} of {n_all}")
    g = [v for r in rs if r["optimizer"] == "ahtga"
         for v in (r.get("curves", {}).get("step", {}).get("gamma") or []) if v is not None]
    M.add("AhtgaMeanGammaMain", f"{statistics.mean(g):.2f}" if g else "n/a")
    M.add("AhtgaMaxGammaMain", f"{max(g):.2f}" if g else "n/a")
    if "ahtga_source" in tab and "ahtga" in tab:
        ns, nt = failed_count([r for r in rs if r["optimizer"] == "ahtga_source"])
        M.add("SourceRuleSentence", f"The source's unbounded rule (\\texttt{{ahtga\\_source}}) reaches a test "
              f"accuracy of {C.fmt_ci(tab['ahtga_source']['test_acc'])} with {ns} of {nt} seeds failed, "
              f"against {C.fmt_ci(tab['ahtga']['test_acc'])} and {n_fail} of {n_all} for the bounded "
              f"default.")
    else:
        M.add("SourceRuleSentence", "")
    if "ahtga_rescaled" in tab and "ahtga" in tab:
        nr, nrt = failed_count([r for r in rs if r["optimizer"] == "ahtga_rescaled"])
        M.add("RescaledSentence", "Dividing the coefficients by their batch mean "
              "(\\texttt{ahtga\\_rescaled}: the examples are reweighted but the step is not inflated) "
              f"gives {C.fmt_ci(tab['ahtga_rescaled']['test_acc'])} with {nr} of {nrt} seeds failed.")
    else:
        M.add("RescaledSentence", "")
    M.add("AhtgaStepRatioMain", f"{st['ahtga'] / st['sgd']:.1f}" if st["sgd"] and st["ahtga"] else "n/a")


def robustness_macros(M, groups):
    sents = []
    for p in ("noise_sym20", "noise_sym40", "noise_asym20", "noise_asym40"):
        if p in groups:
            tab = C.aggregate(groups[p], p, ["test_acc"])
            sents.append(f"\\texttt{{{C.tex_escape(p)}}}: " + C.comparison_sentence(tab, "test_acc", "test accuracy"))
    M.add("NoiseSentence", " ".join(sents) if sents else f"Label noise: {C.NO_RESULTS}.")
    rs = [r for r in groups.get("main", []) if (r.get("final") or {}).get("perturbations")]
    sents = []
    if rs:
        names = sorted({k for r in rs for k in r["final"]["perturbations"]})
        for k in names:
            m = f"perturbations.{k}.test_acc"
            tab = C.aggregate(rs, "main", [m])
            sents.append(f"{k}: " + C.comparison_sentence(tab, m, "accuracy on corrupted inputs"))
    M.add("InputsSentence", " ".join(sents) if sents else f"Input corruptions: {C.NO_RESULTS}.")
    rs = [r for r in groups.get("main", []) if (r.get("final") or {}).get("ood")]
    if rs:
        tab = C.aggregate(rs, "main", ["ood.auroc"])
        sets = "/".join(sorted({r["final"]["ood"]["set"] for r in rs}))
        M.add("OodSentence", f"OOD set \\texttt{{{C.tex_escape(sets)}}}: "
              + C.comparison_sentence(tab, "ood.auroc", "max-softmax AUROC"))
    else:
        M.add("OodSentence", f"OOD detection: {C.NO_RESULTS}.")


def dynamics_sentences(rs, preset: str = "dynamics") -> tuple[str, str, str]:
    """(tail, sharpness, rank) sentences of a dynamics preset's records: the range of each
    end-of-training measurement over the optimizers, and AHTGA's value."""
    tab = C.aggregate(rs, preset, ["tail_alpha_start", "tail_alpha_final", "hessian_top",
                                   "hessian_trace", "eff_rank_final"])

    def spread(metric, what, nd=2):
        r = C.ranking(tab, metric, higher=False)
        if not r:
            return f"{what}: not measured."
        lo, hi = r[0], r[-1]
        if abs(tab[hi][metric]["mean"] - tab[lo][metric]["mean"]) < 1e-9:
            return (f"{what} is {C.fmt_ci(tab[lo][metric], nd)} for every optimizer "
                    f"(same initialisation and probe batch per seed).")
        s = (f"{what} ranges from {C.fmt_ci(tab[lo][metric], nd)} ({C.display(lo)}) to "
             f"{C.fmt_ci(tab[hi][metric], nd)} ({C.display(hi)})")
        if "ahtga" in tab and tab["ahtga"].get(metric, {}).get("mean") is not None:
            s += f"; AHTGA's is {C.fmt_ci(tab['ahtga'][metric], nd)}"
        return s + "."

    return (spread("tail_alpha_start", "At step 0 the probe-batch tail index") + " "
            + spread("tail_alpha_final", "At the end of training it"),
            spread("hessian_top", "The top Hessian eigenvalue at the end") + " "
            + spread("hessian_trace", "The Hessian trace", 1),
            spread("eff_rank_final", "The final effective rank of the per-example gradients", 1))


def dynamics_macros(M, groups):
    rs = groups.get("dynamics") or []
    names = ("DynamicsTailSentence", "DynamicsSharpnessSentence", "DynamicsRankSentence")
    if not rs:
        for n in names:
            M.add(n, f"The dynamics study has {C.NO_RESULTS}.")
        return
    for n, text in zip(names, dynamics_sentences(rs)):
        M.add(n, text)


def variants_sentence(groups, presets):
    sents = []
    for p in presets:
        tab = C.aggregate(groups[p], p, ["test_acc"])
        r = C.ranking(tab, "test_acc")
        if not r:
            continue
        s = (f"\\texttt{{{C.tex_escape(p)}}}: best mean test accuracy {C.display(r[0])} "
             f"({C.fmt_ci(tab[r[0]]['test_acc'])})")
        if r[-1] != r[0]:
            o = C.overlaps(tab[r[0]]["test_acc"], tab[r[-1]]["test_acc"])
            s += (f", worst {C.display(r[-1])} ({C.fmt_ci(tab[r[-1]]['test_acc'])})"
                  + ("" if o is None else ", intervals overlap" if o else ", intervals separate"))
        sents.append(s)
    return _join(sents, f"{C.NO_RESULTS}") + "."


def limitation_macros(M, groups):
    best, n_cmp, n_best, n_behind = [], 0, 0, 0
    for p in sorted(groups, key=lambda p: (list(STUDIES.values()).index(C.study_of(p))
                                           if C.study_of(p) in STUDIES.values() else 9, p)):
        tab = C.aggregate(groups[p], p, ["test_acc"])
        r = C.ranking(tab, "test_acc")
        if not r:
            continue
        best.append(f"\\texttt{{{C.tex_escape(p)}}} {C.display(r[0])} ({C.fmt_ci(tab[r[0]]['test_acc'])})")
        if "ahtga" in r and len(r) > 1 and any(not C.is_ahtga(x) for x in r):
            n_cmp += 1
            n_best += r[0] == "ahtga"
            a, b = tab["ahtga"]["test_acc"], tab[r[0]]["test_acc"]
            n_behind += bool(r[0] != "ahtga" and a.get("hi") is not None and b.get("lo") is not None
                             and b["lo"] > a["hi"])
    M.add("BestPerStudy", _join(best, C.NO_RESULTS))
    M.add("ComparisonCount", n_cmp)
    M.add("AhtgaBestCount", n_best)
    M.add("AhtgaBehindCount", n_behind)
    fails = {}
    for p, rs in groups.items():
        for r in rs:
            bad = failed(r)
            key = (r["optimizer"], p)
            tot, nb = fails.get(key, (0, 0))
            fails[key] = (tot + 1, nb + bool(bad))
    per_opt = {}
    for (o, p), (tot, nb) in fails.items():
        t, n, ps = per_opt.get(o, (0, 0, 0))
        per_opt[o] = (t + tot, n + nb, ps + bool(nb))
    items = [f"{C.display(o)} {n} of {t} (in {ps} preset{'s' if ps != 1 else ''})"
             for o, (t, n, ps) in sorted(per_opt.items(), key=lambda kv: C.order_key(kv[0])) if n]
    ok = [C.display(o) for o, (t, n, ps) in sorted(per_opt.items(), key=lambda kv: C.order_key(kv[0]))
          if not n and not C.is_ahtga(o)]
    M.add("FailedRunsSentence", (f"Runs that diverged or ended with a test loss above {FAILED_LOSS:g} "
                                 f"nats, per optimizer (result files; a run shared by several presets counts in each): " + _join(items, "none") + "."
                                 + (f" No run of {', '.join(ok)} failed." if ok else "")))
    rs = [r for r in groups.get("main", []) if r["optimizer"] == "ahtga"]
    steps = sum((r.get("final") or {}).get("steps", 0) for r in rs)
    clamped = sum((r.get("final") or {}).get("clamped_steps", 0) for r in rs)
    M.add("AhtgaClampedShare", f"{100 * clamped / steps:.0f}\\%" if steps else "n/a")
    edge = []
    for r in groups.get("main", []):
        lc = (r.get("optimizer_spec") or {}).get("lr_choice") or {}
        if lc.get("at_grid_edge") and r["seed"] == min(x["seed"] for x in groups["main"]):
            edge.append(C.display(r["optimizer"]))
    M.add("LrEdgeSentence", ("The learning rate chosen by the sweep lies at an edge of its grid for: "
                             + ", ".join(sorted(set(edge))) + " (the grid may need widening)."
                             if edge else "No chosen learning rate lies at an edge of its grid."))


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    recs = C.experiment_records(a.results)
    groups = C.by_preset(recs)
    M = C.Macros("paper/scripts/num_experiments.py")
    M.add("ExpAvailable", "yes" if recs else "no")
    M.add("ExpScale", C.tex_escape(C.scale_text(recs)) if recs else "none")
    M.add("ExpData", C.tex_escape(C.dataset_text(recs)) if recs else "none")
    M.add("ExpNumRuns", len(recs))
    M.add("ExpNumPresets", len(groups))
    for name, study in STUDIES.items():
        rs = [r for p, g in groups.items() if C.study_of(p) == study for r in g]
        M.add(f"Stamp{name}", C.tex_escape(C.stamp(rs)))
    main_macros(M, groups)
    robustness_macros(M, groups)
    dynamics_macros(M, groups)
    abl = [p for p in groups if C.study_of(p) == "ablation"]
    M.add("AblationSentence", variants_sentence(groups, sorted(abl)))
    low = [p for p in groups if C.study_of(p) == "lowdata"]
    sents = []
    for p in sorted(low):
        tab = C.aggregate(groups[p], p, ["test_acc"])
        sents.append(f"\\texttt{{{C.tex_escape(p)}}}: " + C.comparison_sentence(tab, "test_acc", "test accuracy"))
    M.add("LowdataSentence", " ".join(sents) if sents else f"Low data: {C.NO_RESULTS}.")
    limitation_macros(M, groups)
    M.add("JpegCaveatApplies", "yes" if C.jpeg_note(recs) else "no")
    C.write_text(a.out, M.text())
    C.report(a.out, f"{len(recs)} runs in {len(groups)} presets ({C.scale_text(recs)} scale)")


if __name__ == "__main__":
    main()
