r"""Sentences of the small-scale paragraph on other data sets (``tab_small_datasets.py``).

Macros (all defined whatever exists): ``\SmallDataAvailable`` (yes/no), ``\SmallDataStamp``,
``\SmallDataSentence`` (per preset: its data set, where AHTGA stands by test accuracy and by
ECE, the best optimizer, 95% intervals and whether they overlap; the optimizers whose sweep
chose an edge of its grid).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_datasets import dataset_records  # noqa: E402

NAMES = ("SmallDataAvailable", "SmallDataStamp", "SmallDataSentence")


def sentence(p, rs) -> str:
    tab = C.aggregate(rs, p, ["test_acc", "ece"])
    data = C.tex_escape(C.joined(C.get(r, "config.dataset") for r in rs))
    s = (f"\\texttt{{{C.tex_escape(p)}}} ({data}): "
         + C.comparison_sentence(tab, "test_acc", "test accuracy", nd=4) + " "
         + C.comparison_sentence(tab, "ece", "ECE", higher=False, nd=4))
    if any(C.get(r, "config.dataset") == "cifar10" for r in rs):
        n = C.joined(C.get(r, "data.n_train") for r in rs)
        ep = C.joined(C.get(r, "config.epochs") for r in rs)
        s += (f" CIFAR-10 here is the JPEG re-encoded copy (quality 75), {n} training images and "
              f"{ep} epochs on a CPU: far from convergence and not comparable with published "
              "CIFAR-10 numbers.")
    edge = sorted({r["optimizer"] for r in rs
                   if C.get(r, "optimizer_spec.lr_choice.at_grid_edge")}, key=C.order_key)
    if edge:
        s += (" The sweep chose an edge value of the grid for "
              + ", ".join(C.display(lab) for lab in edge) + ".")
    return s


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_datasets.py")
    groups = dataset_records(a.measured)
    if not groups:
        C.write_missing_macros(a.out, M, NAMES, "small-scale runs on other data sets not available",
                               na=("SmallDataStamp",))
        return
    M.add("SmallDataAvailable", "yes")
    M.add("SmallDataStamp", C.tex_escape(C.stamps(groups)))
    M.add("SmallDataSentence", " ".join(sentence(p, rs) for p, rs in groups.items()))
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamps(groups))


if __name__ == "__main__":
    main()
