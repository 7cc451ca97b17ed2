r"""Numbers quoted in the text that come from the code's defaults (not from results): the target
target (``\DefaultTargetText``), the learning-rate grids' sizes, the momentum conventions and the sharpness ceilings they
imply.  Macros: ``\DefaultTargetText``, ``\DefaultGammaMax``, ``\LrGridText`` (e.g. "six-point" or
"five- to six-point"), ``\SgdMomentum``, ``\AhtgaBetaOne``, ``\SgdSharpCeil`` and
``\AhtgaSharpCeil``: on a quadratic with curvature lambda, heavy-ball momentum
(b <- mu b + g, theta <- theta - lr b, torch's SGD) is stable iff lr lambda < 2 (1 + mu), and the
EMA form of AHTGA (m <- beta m + (1 - beta) g, theta <- theta - lr m) is heavy ball with step
lr (1 - beta), so stable iff lr lambda < 2 (1 + beta)/(1 - beta) (for a transform weight of 1).
Reads no result file.
"""
import inspect
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402

_WORDS = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def grid_text(sizes) -> str:
    """'six-point' when every grid has six points, 'five- to six-point' when they range 5..6."""
    lo, hi = min(sizes), max(sizes)
    w = lambda n: _WORDS.get(n, str(n))  # noqa: E731
    return f"{w(lo)}-point" if lo == hi else f"{w(lo)}- to {w(hi)}-point"


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    from ahtga.optim import ahtga as opt, registry
    A = {n: p.default for n, p in inspect.signature(opt.AHTGA.__init__).parameters.items()}
    beta1 = float(A["betas"][0])
    mu = float(registry.DEFAULTS["sgd"]["momentum"])
    M = C.Macros("paper/scripts/num_defaults.py (from the code's defaults)")
    tgt = A["target"] if A["target"] is not None else opt.DEFAULT_TARGET
    if isinstance(tgt, dict) and tgt.get("name") == "relative":
        text = (f"relative: $\\alpha^*_t$ is {tgt['base']:g} times the median of the recent estimates, "
                f"after a {tgt['warmup']}-step warm-up at $\\gamma=0$")
    elif isinstance(tgt, dict):
        text = f"the {tgt.get('name')} schedule"
    else:
        text = f"the constant $\\alpha^*={float(tgt):g}$"
    M.add("DefaultTargetText", text)
    M.add("DefaultGammaMax", f"{float(opt.DEFAULT_EXPONENT['gamma_max']):g}")
    M.add("LrGridText", grid_text([len(g) for g in registry.LR_GRIDS.values()]))
    M.add("SgdMomentum", f"{mu:g}")
    M.add("AhtgaBetaOne", f"{beta1:g}")
    M.add("SgdSharpCeil", f"{2 * (1 + mu):g}")
    M.add("AhtgaSharpCeil", f"{2 * (1 + beta1) / (1 - beta1):g}")
    C.write_text(a.out, M.text())
    C.report(a.out, "defaults from the code")


if __name__ == "__main__":
    main()
