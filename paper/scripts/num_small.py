r"""Numbers and generated sentences of the "Real data: MNIST at small scale" subsection, from the
result files in ``paper/measured/small/`` (the runner's layout, see ``tab_small_main.py``) and the
run's provenance file ``paper/measured/small/run_info.json`` (command, wall time, machine).

Macros (all defined whatever exists; "not available" / "n/a" otherwise):
``\SmallAvailable`` (yes/no), ``\SmallStamp``, ``\SmallDataset``, ``\SmallModel``,
``\SmallOptimizers`` (display names), ``\SmallNumOptimizers``, ``\SmallSeeds``,
``\SmallNumSeeds``, ``\SmallEpochs``, ``\SmallBatch``, ``\SmallTrainN``, ``\SmallValN``,
``\SmallTestN``, ``\SmallStepsPerRun``, ``\SmallSweepEpochs`` (with its unit), ``\SmallGridSizes`` (points per
optimizer's lr grid), ``\SmallSweepRule``, ``\SmallEdgeSentence`` (choices at a grid edge),
``\SmallOod``, ``\SmallWallMinutes`` (wall time of the whole chunk, sweeps included, from
run_info.json), ``\SmallRunMinutes`` (sum of the final runs' own wall times), ``\SmallMachine``,
``\SmallDate``, ``\SmallAccSentence``, ``\SmallLossSentence``, ``\SmallEceSentence`` (AHTGA's rank
and the best optimizer, with 95% intervals and whether they overlap), ``\SmallVerdict`` (plainly:
does plain AHTGA beat every baseline on test accuracy, separated by the intervals or not),
``\SmallVariantSentence`` (the AHTGA variants against plain AHTGA), ``\SmallStepRatio`` (AHTGA's
median step time over SGD's, separate processes on a shared CPU).
"""
import json
import math
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

NAMES = ("SmallAvailable", "SmallStamp", "SmallDataset", "SmallModel", "SmallOptimizers",
         "SmallNumOptimizers", "SmallSeeds", "SmallNumSeeds", "SmallEpochs", "SmallBatch",
         "SmallTrainN", "SmallValN", "SmallTestN", "SmallStepsPerRun", "SmallSweepEpochs",
         "SmallGridSizes", "SmallSweepRule", "SmallEdgeSentence", "SmallOod", "SmallWallMinutes",
         "SmallRunMinutes", "SmallMachine", "SmallDate", "SmallAccSentence", "SmallLossSentence",
         "SmallEceSentence", "SmallVerdict", "SmallVariantSentence", "SmallStepRatio")


def verdict(table, metric="test_acc") -> str:
    """Does plain AHTGA beat every baseline (non-AHTGA optimizer) by mean test accuracy, and do the
    95% intervals separate it from the best baseline?"""
    base = [k for k in C.ranking(table, metric) if not C.is_ahtga(k)]
    if "ahtga" not in table or table["ahtga"].get(metric, {}).get("mean") is None or not base:
        return "No comparison of AHTGA with a baseline is available."
    a, bb = table["ahtga"][metric], base[0]
    b = table[bb][metric]
    gap = 100 * (a["mean"] - b["mean"])
    sep = C.overlaps(a, b)
    if a["mean"] > b["mean"]:
        if sep is False:
            return (f"AHTGA beats every baseline here: its mean test accuracy is {gap:.2f} points above the "
                    f"best baseline, {C.display(bb)}, and the 95\\% intervals do not overlap.")
        why = ("a single seed gives no interval" if sep is None else "the 95\\% intervals overlap")
        return (f"AHTGA's mean test accuracy is {gap:.2f} points above the best baseline, "
                f"{C.display(bb)}, but {why}: these seeds do not show that AHTGA beats the baselines.")
    behind = [k for k in base if table[k][metric]["mean"] > a["mean"]]
    tail = ("a single seed gives no interval" if sep is None else
            "the 95\\% intervals overlap, so the data do not separate them" if sep else
            "the 95\\% intervals do not overlap")
    return (f"AHTGA does not beat the baselines here: {len(behind)} of {len(base)} baselines have a "
            f"higher mean test accuracy, the best ({C.display(bb)}) by {-gap:.2f} points, and {tail}.")


def variant_sentence(table, metric="test_acc") -> str:
    if "ahtga" not in table:
        return ""
    a = table["ahtga"][metric]
    out = []
    for lab in [k for k in table if C.is_ahtga(k) and k != "ahtga"]:
        v = table[lab][metric]
        if v.get("mean") is None or a.get("mean") is None:
            continue
        o = C.overlaps(a, v)
        rel = "above" if v["mean"] > a["mean"] else "below"
        out.append(f"{C.display(lab)} reaches {C.fmt_ci(v, 4)} test accuracy, "
                   f"{abs(100 * (v['mean'] - a['mean'])):.2f} points {rel} plain AHTGA"
                   + ("" if o is None else " (intervals overlap)" if o else " (intervals separate)"))
    return ("; ".join(out) + ".") if out else ""


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small.py")
    recs = [r for r in C.small_records(a.measured) if r.get("preset") == "main"]
    info_p = pathlib.Path(a.measured) / "small" / "run_info.json"
    info = json.loads(info_p.read_text()) if info_p.is_file() else {}
    if not recs:
        C.write_missing_macros(a.out, M, NAMES, "small-scale MNIST runs not available",
                               na=[n for n in NAMES if not n.endswith(("Sentence", "Verdict"))])
        return
    cfgs = [r.get("config", {}) for r in recs]
    data = [r.get("data") or {} for r in recs]
    labs = sorted({r["optimizer"] for r in recs}, key=C.order_key)
    table = C.aggregate(recs, "main", ["test_acc", "test_loss", "ece"])
    M.add("SmallAvailable", "yes")
    M.add("SmallStamp", C.tex_escape(C.stamp(recs, "main")))
    M.add("SmallDataset", C.tex_escape(C.joined(c.get("dataset") for c in cfgs)))
    M.add("SmallModel", C.tex_escape(C.joined(c.get("model") for c in cfgs)))
    M.add("SmallOptimizers", ", ".join(C.display(l) for l in labs))
    M.add("SmallNumOptimizers", str(len(labs)))
    M.add("SmallSeeds", C.seeds_text(recs))
    M.add("SmallNumSeeds", str(len({r["seed"] for r in recs})))
    M.add("SmallEpochs", C.joined(c.get("epochs") for c in cfgs))
    M.add("SmallBatch", C.joined(c.get("batch_size") for c in cfgs))
    M.add("SmallTrainN", C.joined(d.get("n_train") for d in data))
    M.add("SmallValN", C.joined(d.get("n_val") for d in data))
    M.add("SmallTestN", C.joined(d.get("n_test") for d in data))
    M.add("SmallStepsPerRun", C.joined(C.get(r, "final.steps") for r in recs))
    se = sorted({int(c.get("sweep_epochs") or c.get("epochs")) for c in cfgs if c.get("epochs")})
    M.add("SmallSweepEpochs", "/".join(map(str, se)) + (" epoch" if se == [1] else " epochs") if se else C.NA)
    grids = {r["optimizer"]: C.get(r, "optimizer_spec.lr_choice.grid") for r in recs}
    sizes = sorted({len(g) for g in grids.values() if g})
    M.add("SmallGridSizes", "--".join(map(str, sizes)) if sizes else C.NA)
    rules = {C.get(r, "optimizer_spec.lr_choice.rule") for r in recs} - {None}
    M.add("SmallSweepRule", C.tex_escape(C.joined(rules, C.NA)))
    edge = sorted({r["optimizer"] for r in recs if C.get(r, "optimizer_spec.lr_choice.at_grid_edge")},
                  key=C.order_key)
    M.add("SmallEdgeSentence", (
        "The sweep chose an edge value of the grid for " + ", ".join(C.display(l) for l in edge)
        + " (the grid may need widening there)." if edge else
        "No sweep chose an edge value of its grid."))
    M.add("SmallOod", C.tex_escape(C.joined([c.get("ood") for c in cfgs], "none")))
    wall = info.get("wall_s")
    M.add("SmallWallMinutes", f"{wall / 60:.0f}" if isinstance(wall, (int, float)) else C.NA)
    tot = [C.get(r, "timings.total_s") for r in recs]
    M.add("SmallRunMinutes", f"{sum(t for t in tot if t) / 60:.0f}" if any(tot) else C.NA)
    M.add("SmallMachine", C.tex_escape(info.get("machine", C.NA)))
    M.add("SmallDate", C.tex_escape(info.get("date", C.NA)))
    M.add("SmallAccSentence", C.comparison_sentence(table, "test_acc", "test accuracy", nd=4))
    M.add("SmallLossSentence", C.comparison_sentence(table, "test_loss", "test loss", higher=False, nd=4))
    M.add("SmallEceSentence", C.comparison_sentence(table, "ece", "ECE", higher=False, nd=4))
    M.add("SmallVerdict", verdict(table))
    M.add("SmallVariantSentence", variant_sentence(table))
    med = {}
    for lab in ("sgd", "ahtga"):
        v = [C.get(r, "timings.step_s_median") for r in recs if r["optimizer"] == lab]
        v = [x for x in v if isinstance(x, (int, float)) and math.isfinite(x)]
        med[lab] = statistics.median(v) if v else None
    M.add("SmallStepRatio", f"{med['ahtga'] / med['sgd']:.1f}" if med["sgd"] and med["ahtga"] else C.NA)
    C.write_text(a.out, M.text())
    C.report(a.out, "measured/small: " + C.stamp(recs, "main"))


if __name__ == "__main__":
    main()
