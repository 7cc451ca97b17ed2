"""Ablations of AHTGA (presets ``ablate_*``): fixed vs adaptive alpha*; direction-preserving vs
sign forms vs the exact exponent (and gamma = 0, momentum SGD through the same code); c1, c2 and
beta2 of the exponent rule and the EMA; the tail-index estimator inside AHTGA.  Test accuracy,
test loss and ECE, mean and 95% t-interval over seeds; best mean per block in bold.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

ORDER = ["ablate_target", "ablate_transform", "ablate_c1", "ablate_c2", "ablate_beta2",
         "ablate_estimator"]
COLS = [("test_acc", "test acc.", 3, True, 1.0), ("test_loss", "test loss", 3, False, 1.0),
        ("ece", "ECE", 3, False, 1.0)]


def presets(groups):
    return [p for p in ORDER if p in groups] + sorted(
        p for p in groups if C.study_of(p) == "ablation" and p not in ORDER)


def describe(preset: str) -> str:
    try:
        from ahtga.experiments.presets import PRESETS
        return PRESETS[preset].description
    except (ImportError, KeyError):
        return preset


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = C.by_preset(C.experiment_records(a.results))
    ps = presets(groups)
    if not ps:
        C.write_tables(a.out, [C.placeholder_table("ablations: " + C.NO_RESULTS)])
        C.report(a.out, C.NO_RESULTS)
        return
    blocks = [(C.tex_escape(f"{p}: {describe(p)}"), C.aggregate(groups[p], p, [m for m, *_ in COLS]))
              for p in ps]
    C.write_tables(a.out, [C.ci_tabular(blocks, COLS)])
    C.report(a.out, "; ".join(C.stamp(groups[p], p) for p in ps))


if __name__ == "__main__":
    main()
