"""Bias atlas table: "bias / RMSE" per estimator and alpha, one block per law at its reference n.

Written by ``sim.bias.report`` from ``RESULTS/bias``; a placeholder table without atlas results.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bias_source as B  # noqa: E402
import common as C  # noqa: E402


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    tmp, summary = B.bias_report(a)
    if tmp is None:
        C.write_tables(a.out, [C.placeholder_table("bias atlas: " + C.NO_RESULTS)])
    else:
        with tmp:
            text = (pathlib.Path(tmp.name) / "tab_bias_atlas.tex").read_text()
        # the estimator names make the header wide: set it in a smaller size
        C.write_text(a.out, "{\\footnotesize\\setlength{\\tabcolsep}{3pt}\n\\begin{adjustbox}{max width=\\linewidth}\n"
                     + text.rstrip() + "\n\\end{adjustbox}}\n")
    C.report(a.out, C.bias_stamp(summary))


if __name__ == "__main__":
    main()
