"""Main comparison table: test accuracy, test loss and ECE (15 bins) per optimizer, mean and 95%
t-interval over seeds, one block per preset of the ``main`` study that has results (the ``tiny``
digits run; at other scales MNIST, Fashion-MNIST, CIFAR-10 -- the JPEG re-encoded copy here --
and the language models, whose block gives test perplexity and next-token accuracy instead).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

CLS = [("test_acc", "test acc.", 3, True, 1.0), ("test_loss", "test loss", 3, False, 1.0),
       ("ece", "ECE", 3, False, 1.0), ("gen_gap_loss", "gen.\\ gap (loss)", 3, None, 1.0)]
LM = [("test_ppl", "test ppl.", 1, False, 1.0), ("test_loss", "test NLL", 3, False, 1.0),
      ("test_acc", "next-token acc.", 3, True, 1.0), ("gen_gap_loss", "gen.\\ gap (NLL)", 3, None, 1.0)]


def blocks(recs):
    out = []
    for preset, rs in C.by_preset(recs).items():
        if C.study_of(preset) != "main":
            continue
        lm = rs[0].get("config", {}).get("task") == "lm"
        cols = LM if lm else CLS
        title = C.tex_escape(f"{preset}: {C.stamp(rs)}") + (" (JPEG re-encoded copy)" if C.jpeg_note(rs) else "")
        out.append((title, C.aggregate(rs, preset, [m for m, *_ in cols]), cols))
    return out


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    recs = C.experiment_records(a.results)
    bl = blocks(recs)
    if not bl:
        C.write_tables(a.out, [C.placeholder_table("main comparison: " + C.NO_RESULTS)])
        C.report(a.out, C.NO_RESULTS)
        return
    parts = []
    for cols in (CLS, LM):
        sel = [(t, tab) for t, tab, c in bl if c is cols]
        if sel:
            parts.append(C.ci_tabular(sel, cols))
    C.write_tables(a.out, parts)
    C.report(a.out, "; ".join(t for t, _tab, _c in bl))


if __name__ == "__main__":
    main()
