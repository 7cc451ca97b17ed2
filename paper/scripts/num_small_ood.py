r"""Numbers and sentences of the MNIST -> Fashion-MNIST OOD paragraph, from the result files in
``paper/measured/small_ood/`` (see ``tab_small_ood.py``).

Macros (all defined whatever exists): ``\SmallOodAvailable`` (yes/no), ``\SmallOodStamp``,
``\SmallOodOptimizers``, ``\SmallOodNumOptimizers``, ``\SmallOodSeeds``, ``\SmallOodNumSeeds``,
``\SmallOodSet``, ``\SmallOodInN``, ``\SmallOodOutN``, ``\SmallOodAurocSentence`` and
``\SmallOodAccSentence`` (AHTGA's rank and the best optimizer with 95% intervals and whether they
overlap), ``\SmallOodRange`` (lowest and highest single-run AUROC), ``\SmallOodVerdict``
(which pairs of optimizers the 95% intervals of the AUROC separate, if any),
``\SmallOodPerRun`` (each optimizer's lowest and highest single-run AUROC).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_ood import ood_records  # noqa: E402

NAMES = ("SmallOodAvailable", "SmallOodStamp", "SmallOodOptimizers", "SmallOodNumOptimizers",
         "SmallOodSeeds", "SmallOodNumSeeds", "SmallOodSet", "SmallOodInN", "SmallOodOutN",
         "SmallOodAurocSentence", "SmallOodAccSentence", "SmallOodRange", "SmallOodVerdict",
         "SmallOodPerRun")


def verdict(table, metric="ood.auroc") -> str:
    """Which pairs of optimizers the 95% intervals of ``metric`` separate."""
    labs = [k for k in C.ranking(table, metric)]
    pairs = [(x, y) for i, x in enumerate(labs) for y in labs[i + 1:]
             if C.overlaps(table[x][metric], table[y][metric]) is False]
    if any(C.overlaps(table[x][metric], table[y][metric]) is None
           for i, x in enumerate(labs) for y in labs[i + 1:]):
        return "Some optimizers have a single seed, so not every pair can be compared."
    if not pairs:
        return ("No two optimizers are separated by the 95\\% intervals of the AUROC: this chunk "
                "does not rank them on OOD detection.")
    return ("The 95\\% intervals of the AUROC separate " + "; ".join(
        f"{C.display(x)} (higher) from {C.display(y)}" for x, y in pairs) + ".")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_ood.py")
    recs = [r for r in ood_records(a.measured) if r.get("preset") == "main"]
    if not recs:
        C.write_missing_macros(a.out, M, NAMES, "small-scale OOD runs not available",
                               na=[n for n in NAMES if not n.endswith(("Sentence", "Verdict"))])
        return
    labs = sorted({r["optimizer"] for r in recs}, key=C.order_key)
    table = C.aggregate(recs, "main", ["test_acc", "ood.auroc"])
    aurocs = [C.get(r, "final.ood.auroc") for r in recs]
    M.add("SmallOodAvailable", "yes")
    M.add("SmallOodStamp", C.tex_escape(C.stamp(recs, "main")))
    M.add("SmallOodOptimizers", ", ".join(C.display(l) for l in labs))
    M.add("SmallOodNumOptimizers", str(len(labs)))
    M.add("SmallOodSeeds", C.seeds_text(recs))
    M.add("SmallOodNumSeeds", str(len({r["seed"] for r in recs})))
    M.add("SmallOodSet", C.tex_escape(C.joined((C.get(r, "final.ood.set") for r in recs), C.NA)))
    M.add("SmallOodInN", C.joined((C.get(r, "final.ood.n_in") for r in recs), C.NA))
    M.add("SmallOodOutN", C.joined((C.get(r, "final.ood.n_out") for r in recs), C.NA))
    M.add("SmallOodAurocSentence", C.comparison_sentence(table, "ood.auroc", "OOD AUROC", nd=4))
    M.add("SmallOodAccSentence", C.comparison_sentence(table, "test_acc", "MNIST test accuracy",
                                                       nd=4))
    M.add("SmallOodRange", f"{min(aurocs):.3f}--{max(aurocs):.3f}")
    M.add("SmallOodVerdict", verdict(table))
    per = []
    for lab in labs:
        v = [C.get(r, "final.ood.auroc") for r in recs if r["optimizer"] == lab]
        per.append(f"{C.display(lab)} {min(v):.3f}--{max(v):.3f}")
    M.add("SmallOodPerRun", "; ".join(per))
    C.write_text(a.out, M.text())
    C.report(a.out, "measured/small_ood: " + C.stamp(recs, "main"))


if __name__ == "__main__":
    main()
