r"""Sentences of the small-scale label-noise paragraph, from ``paper/measured/small/noise_*``
(see ``tab_small_noise.py``).

Macros (all defined whatever exists): ``\SmallNoiseAvailable`` (yes/no), ``\SmallNoiseStamp``,
``\SmallNoiseSentence`` (per noise preset: where AHTGA stands by clean test accuracy, the best
optimizer, 95% intervals and whether they overlap), ``\SmallNoiseDrop`` (per optimizer, the mean
test accuracy lost against the clean-label ``main`` runs, in points), ``\SmallNoisePlateau`` (per
optimizer, how many runs ended with a training loss within 0.01 of ln C, the loss of the uniform
prediction over C classes: runs that never left the starting plateau), ``\SmallNoiseSteps``,
``\SmallNoiseControls`` (the control runs under ``paper/measured/small_controls/<tag>/<preset>/``:
per optimizer and learning rate, mean and 95% interval of the test accuracy and the plateau
count; empty when there are none).
"""
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_robustness import NOISE_HEAD  # noqa: E402
from tab_small_noise import main_records, noise_records  # noqa: E402

NAMES = ("SmallNoiseAvailable", "SmallNoiseStamp", "SmallNoiseSentence", "SmallNoiseDrop",
         "SmallNoisePlateau", "SmallNoiseSteps", "SmallNoiseControls")
PLATEAU_TOL = 0.01


def noise_label(preset: str) -> str:
    return f"{NOISE_HEAD.get(preset, C.tex_escape(preset))} noise"


def controls_text(measured, groups, label=noise_label, plateau: bool = True) -> str:
    """One clause per (control folder, preset, optimizer): its lr (and its epochs when they
    differ from the preset's runs), test accuracy and (``plateau``) plateau count, from
    ``MEASURED/small_controls/<tag>/<preset>/<optimizer>/seed<k>.json``; then how the best control
    of the same length compares with AHTGA's runs of the preset.  ``label(preset)`` names a
    preset when there are several ("40\\% symmetric noise")."""
    root = pathlib.Path(measured) / "small_controls"
    out, cands = [], []
    for tag in sorted(p for p in root.glob("*") if p.is_dir()):
        for p, rs in C.by_preset(C.load_records(tag)).items():
            if p not in groups:
                continue
            main_eps = {C.get(r, "config.epochs") for r in groups[p]}
            for lab, cells in C.aggregate(rs, p, ["test_acc"]).items():
                mine = [r for r in rs if r["optimizer"] == lab]
                lrs = "/".join(sorted({f"{C.get(r, 'optimizer_spec.lr'):g}" for r in mine}))
                eps = {C.get(r, "config.epochs") for r in mine}
                same = eps == main_eps
                name = f"{C.display(lab)} at lr {lrs}" + (
                    "" if same else ", " + "/".join(map(str, sorted(eps))) + " epochs")
                where = f"{label(p)}, " if len(groups) > 1 else ""
                out.append(f"{where}{name}: {C.fmt_ci(cells['test_acc'], 3)}"
                           + (f", on the plateau in {stuck(mine)} of {len(mine)} runs"
                              if plateau else ""))
                if cells["test_acc"].get("mean") is not None:
                    key = None if same else tuple(sorted(eps))
                    cands.append((p, key, lab, name, cells["test_acc"],
                                  [C.get(r, "final.test_acc") for r in mine]))
    if not out:
        return ""
    text = "Control runs: " + "; ".join(out) + "."
    for p, key in sorted({(c[0], c[1]) for c in cands}, key=lambda t: (t[0], t[1] or ())):
        if key is None:   # the chunk's own length: compare with the chunk's AHTGA runs
            ah = C.aggregate(groups[p], p, ["test_acc"]).get("ahtga", {}).get("test_acc", {})
            ah_runs = [C.get(r, "final.test_acc") for r in groups[p] if r["optimizer"] == "ahtga"]
            others = [c for c in cands if c[0] == p and c[1] is None]
            what = "The best control of the same length"
        else:             # another length: compare with AHTGA's control runs of that length
            mine = [c for c in cands if c[0] == p and c[1] == key and c[2] == "ahtga"]
            if not mine:
                continue
            ah, ah_runs = mine[0][4], mine[0][5]
            others = [c for c in cands if c[0] == p and c[1] == key and c[2] != "ahtga"]
            what = f"At {'/'.join(map(str, key))} epochs the best other optimizer"
        if ah.get("mean") is None or not others:
            continue
        _, _, _, name, best, runs = max(others, key=lambda c: c[4]["mean"])
        o = C.overlaps(best, ah)
        rel = "above" if best["mean"] > ah["mean"] else "below"
        tail = ("" if o is None else "; the 95\\% intervals overlap" if o
                else "; the 95\\% intervals do not overlap")
        if o and rel == "above" and min(runs) > max(ah_runs):  # overlapping, yet every run above
            tail += f", but each of its {len(runs)} runs is above each of AHTGA's {len(ah_runs)}"
        where = f"With {label(p)}: " if len(groups) > 1 else ""
        text += (f" {where}{what[0].lower() if where else what[0]}{what[1:]}, {name} "
                 f"({C.fmt_ci(best, 3)}), is {rel} AHTGA ({C.fmt_ci(ah, 3)}){tail}.")
    return text


def stuck(rs) -> int:
    """How many of the runs ended with a training loss within PLATEAU_TOL of ln C."""
    n = 0
    for r in rs:
        c, tl = C.get(r, "data.num_classes"), C.get(r, "final.train_loss")
        if c and tl is not None and abs(tl - math.log(c)) < PLATEAU_TOL:
            n += 1
    return n


def plateau_text(rs) -> str:
    """``"SGD 2 of 3, ..."``: per optimizer, the runs left on the starting plateau."""
    labs = sorted({r["optimizer"] for r in rs}, key=C.order_key)
    mine = {lab: [r for r in rs if r["optimizer"] == lab] for lab in labs}
    return ", ".join(f"{C.display(lab)} {stuck(mine[lab])} of {len(mine[lab])}" for lab in labs)


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_noise.py")
    groups = noise_records(a.measured)
    if not groups:
        C.write_missing_macros(a.out, M, NAMES, "small-scale label-noise runs not available",
                               na=("SmallNoiseStamp", "SmallNoiseSteps"))
        return
    clean = main_records(a.measured)
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
    M.add("SmallNoiseStamp", C.tex_escape(C.stamps(groups)))
    M.add("SmallNoiseSentence", " ".join(sents))
    M.add("SmallNoiseDrop", "; ".join(drops) if drops else C.NA)
    M.add("SmallNoisePlateau", "; ".join(plateaus))
    M.add("SmallNoiseControls", controls_text(a.measured, groups))
    M.add("SmallNoiseSteps", C.joined((C.get(r, "final.steps") for rs in groups.values() for r in rs),
                                      C.NA))
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamps(groups))


if __name__ == "__main__":
    main()
