"""Bias atlas by law: bias against alpha for Pareto, |Student-t| and |stable| data, per estimator.

Drawn by ``sim.bias.report`` (the atlas's own plotting code) from ``RESULTS/bias``; a placeholder
when the atlas has not been run.
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
        C.placeholder_figure(a.out, "bias atlas: " + C.NO_RESULTS)
    else:
        with tmp:
            C.copy_atomic(pathlib.Path(tmp.name) / "fig_bias_atlas_laws.pdf", a.out)
    C.report(a.out, C.bias_stamp(summary))


if __name__ == "__main__":
    main()
