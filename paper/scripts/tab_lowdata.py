"""Low-data regime (presets ``lowdata_*``): test accuracy, test loss and ECE when training on 10%
and 1% of the training split (stratified per seed), mean and 95% t-interval over seeds.  At the
tiny scale 1% of digits is one image per class: AHTGA then pools the norms of its last steps to
reach the sample its estimator needs (a degenerate regime, reported as such).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

COLS = [("test_acc", "test acc.", 3, True, 1.0), ("test_loss", "test loss", 3, False, 1.0),
        ("ece", "ECE", 3, False, 1.0), ("gen_gap_acc", "gen.\\ gap (acc.)", 3, None, 1.0)]


def lowdata_presets(groups):
    ps = [p for p in groups if C.study_of(p) == "lowdata"]
    frac = lambda p: -float(groups[p][0].get("config", {}).get("train_fraction", 0))  # noqa: E731
    return sorted(ps, key=frac)


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = C.by_preset(C.experiment_records(a.results))
    ps = lowdata_presets(groups)
    if not ps:
        C.write_tables(a.out, [C.placeholder_table("low data: " + C.NO_RESULTS)])
        C.report(a.out, C.NO_RESULTS)
        return
    blocks = []
    for p in ps:
        rs = groups[p]
        f = rs[0].get("config", {}).get("train_fraction")
        ntr = rs[0].get("data", {}).get("n_train")
        blocks.append((C.tex_escape(f"{p}: {100 * f:g}% of the training split ({ntr} examples); {C.stamp(rs)}"),
                       C.aggregate(rs, p, [m for m, *_ in COLS])))
    C.write_tables(a.out, [C.ci_tabular(blocks, COLS)])
    C.report(a.out, "; ".join(C.stamp(groups[p], p) for p in ps))


if __name__ == "__main__":
    main()
