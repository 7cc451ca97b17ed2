"""Every default a reimplementer needs, read from the code (``inspect.signature`` and the package's
default constants), so the table cannot drift from what ``AHTGA(model)`` runs: the optimizer's
arguments, the default exponent rule, the tail tracker, the default estimator and its options
(for the double bootstrap: resamples, first-stage size, k range, rounding and clamping of k*),
the target schedules' parameters, and how non-finite values and zero norms are handled.
Reads no result file.
"""
import inspect
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import common as C  # noqa: E402


def _defaults(obj) -> dict:
    return {n: p.default for n, p in inspect.signature(obj).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _v(x) -> str:
    if isinstance(x, float):
        return f"{x:g}"
    if isinstance(x, (tuple, list)):
        return "(" + ", ".join(_v(y) for y in x) + ")"
    return str(x)


def target_meaning(spec: dict) -> str:
    """Words for a target spec of ``ahtga.control.schedules.make_target``."""
    if spec.get("name") == "relative":
        return (f"alpha* = {_v(spec.get('base'))} x the median of the recent estimates "
                f"after a {_v(spec.get('warmup'))}-step warm-up at gamma = 0")
    return f"{spec.get('name')} schedule"


def rows() -> list[tuple[str, str, str]]:
    """(group, name = value, meaning) for every default, from the code."""
    from ahtga.control import schedules
    from ahtga.optim import ahtga as opt
    import importlib

    from ahtga.tail import api
    dbm = importlib.import_module("ahtga.tail.double_bootstrap")

    A = _defaults(opt.AHTGA.__init__)
    R = []
    add = lambda g, n, v, m: R.append((g, f"{n} = {_v(v)}", m))  # noqa: E731
    g = "optimizer"
    tgt = A["target"] if A["target"] is not None else getattr(opt, "DEFAULT_TARGET", None)
    if isinstance(tgt, dict):
        add(g, "target", tgt.get("name"), "alpha* schedule " + ", ".join(
            f"{k} = {_v(v)}" for k, v in tgt.items() if k != "name") + " (" + target_meaning(tgt) + ")")
    else:
        add(g, "target", tgt, "alpha* (a number: constant target)")
    add(g, "lr", A["lr"], "step size eta")
    b1, b2 = A["betas"]
    add(g, "betas", A["betas"], f"b1 = {b1:g}: momentum m <- b1 m + (1-b1) g (EMA convention); "
        f"b2 = {b2:g}: EMA of the tail estimate")
    add(g, "weight_decay", A["weight_decay"], "decoupled weight decay")
    add(g, "transform", A["transform"], "g_i (||g_i||/m)^gamma (direction-preserving)")
    add(g, "eps", A["eps"], "m = eps + median_j ||g_j|| of the current batch")
    add(g, "estimate_lag", A["estimate_lag"], "0: the exponent uses this step's estimate; 1: earlier steps' only")
    add(g, "median_lag", A["median_lag"], "0: m is this batch's median; 1: the previous step's "
        "(Statement 4 needs both lags = 1)")
    add(g, "rescale", A["rescale"], "no rescaling of the transformed mean")
    add(g, "nonfinite", A["nonfinite"], "a non-finite loss, norm or gradient: warn and skip the step "
        "(no parameter, momentum or schedule update)")
    ex = dict(opt.DEFAULT_EXPONENT)
    g = "exponent rule"
    add(g, "name", ex.pop("name"), "gamma = c1 (a - a*)^2 above a*, -c2 (a - a*)^2 otherwise")
    for k, v in ex.items():
        add(g, k, v, {"gamma_floor": "guard 1 + gamma >= gamma_floor",
                      "gamma_max": "upper bound on gamma"}.get(k, ""))
    g = "tail tracker"
    add(g, "estimator", A["estimator"], "estimator of the tail index of the norms")
    add(g, "alpha_init", A["alpha_init"], "EMA start alpha_0")
    add(g, "alpha_clamp", A["alpha_clamp"], "each estimate clamped into this range (recorded)")
    pool = A.get("pool_size")
    if A["window"] is None and pool is None:
        pool = getattr(opt, "DEFAULT_POOL_SIZE", None)
    if pool is not None and A["window"] is None:
        add(g, "pool_size", pool, "the estimate uses the most recent pool_size positive norms "
            "(of as many steps as that takes), made once the pool is full")
    else:
        add(g, "window", A["window"], "steps whose norms are pooled")
    add(g, "min_samples", A["min_samples"], "fewer positive norms: no estimate, alpha kept")
    add(g, "estimate_every", A["estimate_every"], "estimate every this many steps")
    R.append((g, "zero norms", "excluded from the tail sample (only norms > 0 are pooled)"))
    R.append((g, "non-finite estimate", "ignored: the EMA keeps its value (recorded as clamped)"))
    name = A["estimator"]
    fn = api.ESTIMATORS[name] if hasattr(api, "ESTIMATORS") else None
    if fn is not None:
        opts = _defaults(fn)
        opts.pop("seed", None)
        g = f"estimator {name}"
        for k, v in opts.items():
            if v is not None:
                add(g, k, v, {"n_boot": "double-bootstrap resamples per stage",
                              "k_search": "every k searched at each stage",
                              "cap_n": "from this sample size on, k is capped by the double bootstrap",
                              "r": "Lepski rule's constant"}.get(k, ""))
        if "n_boot" in opts:                    # a double bootstrap runs (alone or as a cap)
            D = _defaults(dbm.double_bootstrap)
            add(g, "eps (n1)", dbm.DEFAULT_EPS, "n1 = floor(n^(1-eps)), n2 = floor(n1^2/n)")
            add(g, "correction", D["correction"], "k* = round(k1^2/k2 c), c of the paper")
            R.append((g, "k range", f"2 <= k < n_s at each stage; k* clamped to [2, n-1]; "
                      f"k2 >= k1: up to {D['max_redraws']} redraws, then k* = floor(sqrt(n))"))
    g = "schedules"
    Rel = _defaults(schedules.RelativeTarget.__init__)
    R.append((g, ", ".join(f"{k} = {_v(v)}" for k, v in Rel.items()),
              "relative: alpha*_t = ref_t x base, ref_t the median of the recent estimates"))
    L = inspect.signature(schedules.LinearTarget.__init__).parameters
    R.append((g, ", ".join(n for n in L if n != "self") + " (required)",
              "linear: alpha*_t = a_min + (a_max - a_min) min(1, t/t_trans)"))
    V = _defaults(schedules.ValidationTarget.__init__)
    R.append((g, ", ".join(f"{k} = {_v(v)}" for k, v in V.items()),
              "validation-driven target: lowers alpha* on a stall, raises it on degradation"))
    return R


def main(argv=None):
    a = C.parse_args(__doc__, argv)
    L = ["% generated from the code's defaults by paper/scripts/tab_defaults.py",
         "\\begin{tabular}{lll}", "\\hline", "part & default & meaning \\\\", "\\hline"]
    last = None
    for grp, nv, meaning in rows():
        L.append(f"{C.tex_escape(grp) if grp != last else ''} & \\texttt{{{C.tex_escape(nv)}}} & "
                 f"{C.tex_escape(meaning)} \\\\")
        last = grp
    L += ["\\hline", "\\end{tabular}"]
    C.write_tables(a.out, ["\n".join(L)])
    C.report(a.out, "defaults from the code")


if __name__ == "__main__":
    main()
