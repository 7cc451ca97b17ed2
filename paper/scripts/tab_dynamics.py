"""Dynamics at the end of training per optimizer (``dynamics`` preset): tail index of the
per-example gradient norms at the start and the end (probe batch, Hill with double-bootstrap k),
entropy effective rank of the per-example gradient covariance, top Hessian eigenvalue (power
iteration with Hessian-vector products) and Hessian trace (Hutchinson) of the mean training loss
on a fixed batch.  Mean and 95% t-interval over seeds.  One block for this build's runs and,
when measured, one for the small-scale runs under ``paper/measured/small/dynamics/``.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

COLS = [("tail_alpha_start", "$\\hat\\alpha$ start", 2, None, 1.0),
        ("tail_alpha_final", "$\\hat\\alpha$ end", 2, None, 1.0),
        ("eff_rank_final", "eff.\\ rank", 1, None, 1.0),
        ("hessian_top", "$\\lambda_{\\max}(H)$", 2, None, 1.0),
        ("hessian_trace", "$\\mathrm{tr}\\,H$", 1, None, 1.0),
        ("test_acc", "test acc.", 3, True, 1.0)]


def small_dynamics(measured) -> list[dict]:
    """The ``dynamics`` runs under ``MEASURED/small``."""
    return C.small_groups(measured, lambda p, _rs: p == "dynamics").get("dynamics", [])


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    rs = C.by_preset(C.experiment_records(a.results)).get("dynamics", [])
    small = small_dynamics(a.measured)
    if not rs and not small:
        C.write_tables(a.out, [C.placeholder_table("dynamics: " + C.NO_RESULTS)])
        C.report(a.out, C.NO_RESULTS)
        return
    blocks = []
    for recs in (rs, small):  # this build's runs, then the measured small-scale ones
        if recs:
            tab = C.aggregate(recs, "dynamics", [m for m, *_ in COLS])
            blocks.append((C.tex_escape("dynamics: " + C.stamp(recs)), tab))
    C.write_tables(a.out, [C.ci_tabular(blocks, COLS)])
    C.report(a.out, "; ".join(C.stamp(recs, "dynamics") for recs in (rs, small) if recs))


if __name__ == "__main__":
    main()
