r"""Sentences of the small-scale label-noise paragraph, from ``paper/measured/small/noise_*``
(see ``tab_small_noise.py``).

Macros (all defined whatever exists): ``\SmallNoiseAvailable`` (yes/no), ``\SmallNoiseStamp``,
``\SmallNoiseSentence`` (per noise preset: where AHTGA stands by clean test accuracy, the best
optimizer, 95% intervals and whether they overlap), ``\SmallNoiseDrop`` (per optimizer, the mean
test accuracy lost against the clean-label ``main`` runs, in points), ``\SmallNoisePlateau`` (per
optimizer, how many runs ended with a training loss within 0.01 of ln C, the loss of the uniform
prediction over C classes: runs that never left the starting plateau), ``\SmallNoiseSteps``.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_robustness import NOISE_HEAD  # noqa: E402
from tab_small_noise import noise_records  # noqa: E402

NAMES = ("SmallNoiseAvailable", "SmallNoiseStamp", "SmallNoiseSentence", "SmallNoiseDrop",
         "SmallNoisePlateau", "SmallNoiseSteps")
PLATEAU_TOL = 0.01


def plateau_text(rs) -> str:
    """``"SGD 2 of 3, ..."``: runs whose final training loss is within PLATEAU_TOL of ln C."""
    import math

    out = []
    for lab in sorted({r["optimizer"] for r in rs}, key=C.order_key):
        mine = [r for r in rs if r["optimizer"] == lab]
        stuck = 0
        for r in mine:
            c, tl = C.get(r, "data.num_classes"), C.get(r, "final.train_loss")
            if c and tl is not None and abs(tl - math.log(c)) < PLATEAU_TOL:
                stuck += 1
        out.append(f"{C.display(lab)} {stuck} of {len(mine)}")
    return ", ".join(out)


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_noise.py")
    groups = noise_records(a.measured)
    if not groups:
        for n in NAMES:
            M.add(n, "no" if n == "SmallNoiseAvailable" else C.NA
                  if n in ("SmallNoiseStamp", "SmallNoiseSteps") else "")
        C.write_text(a.out, M.text())
        C.report(a.out, "small-scale label-noise runs not available")
        return
    clean = [r for r in C.load_records(pathlib.Path(a.measured) / "small")
             if r.get("preset") == "main"]
    ctab = C.aggregate(clean, "main", ["test_acc"]) if clean else {}
    sents, drops, plateaus = [], [], []
    for p, rs in groups.items():
        tab = C.aggregate(rs, p, ["test_acc"])
        head = NOISE_HEAD.get(p, C.tex_escape(p))
        sents.append(f"With {head} label noise: "
                     + C.comparison_sentence(tab, "test_acc", "test accuracy", nd=4))
        parts = []
        for lab, cells in tab.items():
            m, c = cells["test_acc"].get("mean"), (ctab.get(lab) or {}).get("test_acc", {}).get("mean")
            if m is not None and c is not None:
                parts.append(f"{C.display(lab)} {100 * (c - m):.1f}")
        if parts:
            drops.append(f"{head}: " + ", ".join(parts))
        plateaus.append(f"{head}: " + plateau_text(rs))
    M.add("SmallNoiseAvailable", "yes")
    M.add("SmallNoiseStamp", C.tex_escape("; ".join(C.stamp(rs, p) for p, rs in groups.items())))
    M.add("SmallNoiseSentence", " ".join(sents))
    M.add("SmallNoiseDrop", "; ".join(drops) if drops else C.NA)
    M.add("SmallNoisePlateau", "; ".join(plateaus))
    steps = sorted({C.get(r, "final.steps") for rs in groups.values() for r in rs} - {None})
    M.add("SmallNoiseSteps", "/".join(map(str, steps)) if steps else C.NA)
    C.write_text(a.out, M.text())
    C.report(a.out, "; ".join(C.stamp(rs, p) for p, rs in groups.items()))


if __name__ == "__main__":
    main()
