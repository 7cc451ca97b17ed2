"""Image classification on other data sets at the ``small`` scale: the presets of the ``main``
study other than ``main`` itself (e.g. ``main_fashion``: Fashion-MNIST with the small CNN),
measured on a 2-core CPU and copied to ``paper/measured/small/<preset>/<optimizer>/seed<k>.json``
(provenance in ``paper/measured/README.md``).

Per preset, the two tabulars of ``tab_small_main`` (learning rate from the preset's own
equal-budget sweep, test accuracy, test loss, ECE, seconds per epoch; then corrupted-input
accuracy and OOD AUROC when measured), under a title row with the preset, data set, model and
seeds.  A placeholder table when no such preset was measured.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from tab_small_main import main_tables  # noqa: E402


def dataset_records(measured) -> dict[str, list[dict]]:
    """``{preset: records}`` of the classification presets of the ``main`` study other than
    ``main`` (language models have ``tab_small_lm``)."""
    groups = C.small_groups(measured, lambda p, rs: p != "main" and C.study_of(p) == "main"
                            and C.get(rs[0], "config.task") in (None, "classification"))
    return {p: groups[p] for p in sorted(groups)}


def title(p, rs) -> str:
    data = C.joined(C.get(r, "config.dataset") for r in rs)
    model = C.joined(C.get(r, "config.model") for r in rs)
    n = C.joined(C.get(r, "data.n_train") for r in rs)
    return C.tex_escape(f"{C.stamp(rs, p)}; {data}, {model}, {n} training images")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    C.write_group_tables(a.out, dataset_records(a.measured),
                         lambda p, rs: main_tables(rs, p, title(p, rs)),
                         missing="other data sets at small scale: measurement not available",
                         missing_report="small-scale runs on other data sets not available")


if __name__ == "__main__":
    main()
