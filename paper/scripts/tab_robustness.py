"""Robustness tables. (a) Label noise: test accuracy (clean test labels) per optimizer under
symmetric and asymmetric noise on 20% and 40% of the training labels (presets ``noise_*``).
(b) Inputs: test accuracy of the ``main`` runs on corrupted test images (Gaussian noise
sigma 0.3, blur sigma 1 px, contrast x0.4) and the AUROC of max-softmax OOD detection against the
run's OOD set (``final.ood.set``: pixel-permuted test images at the tiny scale).  Mean and 95%
t-interval over seeds.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from fig_main_curves import pick_preset  # noqa: E402

NOISE = ["noise_sym20", "noise_sym40", "noise_asym20", "noise_asym40"]
NOISE_HEAD = {"noise_sym20": "sym.\\ 20\\%", "noise_sym40": "sym.\\ 40\\%",
              "noise_asym20": "asym.\\ 20\\%", "noise_asym40": "asym.\\ 40\\%"}
INPUTS = [("test_acc", "clean", 3, True, 1.0), ("perturbations.gaussian.test_acc", "noise", 3, True, 1.0),
          ("perturbations.blur.test_acc", "blur", 3, True, 1.0),
          ("perturbations.contrast.test_acc", "contrast", 3, True, 1.0),
          ("ood.auroc", "OOD AUROC", 3, True, 1.0)]


def noise_table(recs):
    """``{optimizer: {preset: cell}}`` of test accuracy over the label-noise presets present."""
    groups = C.by_preset(recs)
    present = [p for p in NOISE if p in groups] + sorted(
        p for p in groups if C.study_of(p) == "robustness" and p not in NOISE)
    merged = {}
    for p in present:
        for lab, cells in C.aggregate(groups[p], p, ["test_acc"]).items():
            merged.setdefault(lab, {})[p] = cells["test_acc"]
    return present, {k: merged[k] for k in sorted(merged, key=C.order_key)}, \
        [r for p in present for r in groups[p]]


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    recs = C.experiment_records(a.results)
    present, ntab, nrecs = noise_table(recs)
    parts, what = [], []
    if present:
        cols = [(p, NOISE_HEAD.get(p, C.tex_escape(p)), 3, True, 1.0) for p in present]
        parts.append(C.ci_tabular([(C.tex_escape("label noise, test accuracy: " + C.stamp(nrecs)), ntab)], cols))
        what.append("label noise: " + C.stamp(nrecs))
    else:
        parts.append(C.placeholder_table("label noise: " + C.NO_RESULTS))
    preset, rs = pick_preset(recs)
    rs = [r for r in rs if (r.get("final") or {}).get("perturbations") or (r.get("final") or {}).get("ood")]
    if rs:
        ood = sorted({str(r["final"].get("ood", {}).get("set")) for r in rs if r["final"].get("ood")})
        title = C.tex_escape(f"{preset}: corrupted test inputs and OOD ({'/'.join(ood) or 'none'}): {C.stamp(rs)}")
        parts.append(C.ci_tabular([(title, C.aggregate(rs, preset, [m for m, *_ in INPUTS]))], INPUTS))
        what.append("inputs: " + C.stamp(rs, preset))
    else:
        parts.append(C.placeholder_table("corruptions and OOD: " + C.NO_RESULTS))
    C.write_tables(a.out, parts)
    C.report(a.out, "; ".join(what) or C.NO_RESULTS)


if __name__ == "__main__":
    main()
