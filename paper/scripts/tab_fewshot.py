"""Few-shot episodes (study ``fewshot``, e.g. ``fewshot_tiny``): mean test accuracy over held-out
test episodes at 1 and 5 shots, the 1-shot test loss and seconds per epoch, as mean and 95%
t-interval over seeds (the interval is over seeds, not over episodes).  An example, for AHTGA,
is one query of an episode (per-query gradients: ``RowGroupEngine`` for ProtoNet, batched
autograd for FOMAML).  Reads ``RESULTS/experiments`` (the build's runs) and the few-shot presets
measured at ``small`` scale in ``MEASURED/small`` (e.g. ``fewshot_omniglot``), when present.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

COLS = [("shots.1.test_acc", "1-shot acc.", 3, True, 1.0),
        ("shots.5.test_acc", "5-shot acc.", 3, True, 1.0),
        ("test_loss", "1-shot loss", 3, False, 1.0),
        ("time_per_epoch", "s / epoch", 2, None, 1.0)]


def fewshot_presets(groups):
    return sorted(p for p in groups if C.study_of(p) == "fewshot")


def records(results, measured) -> list[dict]:
    """The build's runs plus the measured small-scale few-shot runs."""
    recs = C.experiment_records(results)
    if measured:
        recs += [r for r in C.load_records(pathlib.Path(measured) / "small")
                 if C.study_of(r.get("preset", "")) == "fewshot"]
    return recs


def describe(recs) -> str:
    fs = recs[0].get("config", {}).get("fewshot", {}) or {}
    return (f"{fs.get('method', '?')}, {fs.get('ways', '?')}-way, trained {fs.get('shots', '?')}-shot "
            f"with {fs.get('queries', '?')} queries per class, {fs.get('test_episodes', '?')} test episodes")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    groups = C.by_preset(records(a.results, a.measured))
    ps = fewshot_presets(groups)
    if not ps:
        C.write_tables(a.out, [C.placeholder_table("few-shot: " + C.NO_RESULTS)])
        C.report(a.out, C.NO_RESULTS)
        return
    blocks = [(C.tex_escape(f"{p}: {describe(groups[p])}; {C.stamp(groups[p])}"),
               C.aggregate(groups[p], p, [m for m, *_ in COLS])) for p in ps]
    C.write_tables(a.out, [C.ci_tabular(blocks, COLS)])
    C.report(a.out, "; ".join(C.stamp(groups[p], p) for p in ps))


if __name__ == "__main__":
    main()
