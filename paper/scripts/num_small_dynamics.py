r"""Sentences on the ``dynamics`` preset at the ``small`` scale (MNIST, measured on a 2-core CPU
and copied to ``paper/measured/small/dynamics/``; provenance in ``paper/measured/README.md``).

Macros (all defined whatever exists): ``\SmallDynAvailable`` (yes/no), ``\SmallDynStamp``,
``\SmallDynSentence`` (the range over optimizers of the probe-batch tail index at the start and
the end, the top Hessian eigenvalue and trace, and the final effective rank, with AHTGA's value;
as ``num_experiments``'s dynamics sentences).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402
from num_experiments import dynamics_sentences  # noqa: E402
from tab_dynamics import small_dynamics  # noqa: E402

NAMES = ("SmallDynAvailable", "SmallDynStamp", "SmallDynSentence")


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    M = C.Macros("paper/scripts/num_small_dynamics.py")
    rs = small_dynamics(a.measured)
    if not rs:
        C.write_missing_macros(a.out, M, NAMES, "small-scale dynamics runs not available",
                               na=("SmallDynStamp",))
        return
    M.add("SmallDynAvailable", "yes")
    M.add("SmallDynStamp", C.tex_escape(C.stamp(rs, "dynamics")))
    M.add("SmallDynSentence", " ".join(dynamics_sentences(rs)))
    C.write_text(a.out, M.text())
    C.report(a.out, C.stamp(rs, "dynamics"))


if __name__ == "__main__":
    main()
